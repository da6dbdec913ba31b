//! The `generate` configuration (YAML `generate:` section).

use hepae_darkmachines::Slots;
use hepae_model::{Activation, BackendKind, ModelKind};
use serde::{Deserialize, Serialize};

/// How a generator is trained and sampled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GenerateConfig {
    /// process_IDs trained on; empty = every event of the table.
    pub processes: Vec<String>,
    /// `vae`, `beta_vae` or `alpha_vae`.
    pub model: ModelKind,
    /// Encoder widths; the decoder mirrors them.
    pub hidden: Vec<usize>,
    /// Latent dimension.
    pub latent: usize,
    /// Hidden activation.
    pub activation: Activation,
    /// KL weight of `beta_vae`.
    pub beta: f64,
    /// Latent noise standard deviation of `alpha_vae` (training and sampling)
    /// and of the perturbed-ground-truth baseline.
    pub alpha: f64,
    /// Object slots per type the generator models (at most the table's).
    pub slots: Slots,
    /// Model E, pT and MET as logarithms (pT = exp(f) is positive by construction).
    pub log: bool,
    /// Maximum epochs.
    pub epochs: usize,
    /// Batch size.
    pub batch_size: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Early-stopping patience in epochs.
    pub early_stopping_patience: usize,
    /// Share of the events held out for the metrics (never trained on).
    pub holdout: f64,
    /// Events generated; 0 = as many as held out.
    pub events: usize,
    /// Seed of the split, the training and the sampling.
    pub seed: u64,
    /// Training backend.
    pub backend: BackendKind,
    /// CPU threads (0: every core).
    pub threads: usize,
}

impl Default for GenerateConfig {
    fn default() -> Self {
        GenerateConfig {
            processes: Vec::new(),
            // beta = 1 blurs the events (classifier AUC 0.96 on the ttbar
            // stand-in, against 0.68 at beta = 0.3): see docs/benchmarks.md.
            model: ModelKind::BetaVae,
            hidden: vec![256, 128],
            latent: 24,
            activation: Activation::LeakyRelu,
            beta: 0.3,
            alpha: 0.2,
            slots: Slots {
                bjets: 2,
                jets: 4,
                electrons: 1,
                muons: 1,
                photons: 1,
            },
            log: true,
            epochs: 200,
            batch_size: 256,
            lr: 1e-3,
            early_stopping_patience: 20,
            holdout: 0.3,
            events: 0,
            seed: 1,
            backend: BackendKind::Cpu,
            threads: 0,
        }
    }
}

impl GenerateConfig {
    /// Rejects settings no run can use.
    pub fn check(&self) -> Result<(), String> {
        if !matches!(
            self.model,
            ModelKind::Vae | ModelKind::BetaVae | ModelKind::AlphaVae
        ) {
            return Err(format!(
                "generate.model: {:?} is not a generator (vae, beta_vae, alpha_vae)",
                self.model
            ));
        }
        if !(0.0..1.0).contains(&self.holdout) || self.holdout <= 0.0 {
            return Err(format!(
                "generate.holdout: {} must be in (0, 1)",
                self.holdout
            ));
        }
        if self.latent == 0 || self.batch_size == 0 || self.epochs == 0 {
            return Err("generate: latent, batch_size and epochs must be positive".into());
        }
        if self.alpha.is_nan() || self.alpha <= 0.0 {
            return Err(format!("generate.alpha: {} must be positive", self.alpha));
        }
        Ok(())
    }
}
