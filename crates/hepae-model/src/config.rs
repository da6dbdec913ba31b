//! Training configuration: model, loss, optimiser schedule, backend.

use crate::norm::{ColumnScaling, Scaling};
use serde::{Deserialize, Serialize};

/// Which autoencoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// Plain autoencoder.
    #[default]
    Ae,
    /// Sparse autoencoder by its weights: AE plus lambda * sum|w| over
    /// the weights (`loss.l1`); also spelt `sae_l1_weights`.
    #[serde(alias = "sae_l1_weights")]
    Sae,
    /// Sparse autoencoder by its activations: AE plus lambda (`loss.l1`)
    /// times the mean over rows of sum|h| over the encoder's hidden and
    /// latent units.
    SaeL1Act,
    /// Sparse autoencoder by a KL sparsity term: AE plus beta (`loss.beta`)
    /// times sum_j KL(rho || rho_j) over the encoder's hidden units, rho_j
    /// their mean activation over the batch; needs sigmoid encoder layers.
    SaeKl,
    /// Variational autoencoder (beta = 1).
    Vae,
    /// Beta-VAE (beta from the loss config).
    BetaVae,
    /// alpha-VAE: no KL term; Gaussian noise of standard deviation alpha
    /// (loss config) is added to the latent code in training.
    AlphaVae,
}

impl ModelKind {
    /// True for the variational models.
    pub fn is_variational(self) -> bool {
        matches!(self, ModelKind::Vae | ModelKind::BetaVae)
    }

    /// Why `cfg` cannot train this kind, if it cannot: `sae_kl` needs
    /// sigmoid encoder layers (mean activations in (0, 1)) and 0 < rho < 1.
    pub fn check(self, model: &ModelConfig, loss: &LossConfig) -> Result<(), String> {
        if self != ModelKind::SaeKl {
            return Ok(());
        }
        let acts = model.layer_activations()?;
        if model.hidden.is_empty() || acts.encoder.iter().any(|&a| a != Activation::Sigmoid) {
            return Err(format!(
                "model.kind sae_kl needs sigmoid encoder layers (model.activation or model.activations), has {:?}",
                acts.encoder
            ));
        }
        if !(loss.rho > 0.0 && loss.rho < 1.0) {
            return Err(format!(
                "loss.rho is {}; sae_kl needs 0 < rho < 1",
                loss.rho
            ));
        }
        Ok(())
    }

    /// True for the kinds that draw latent noise in training (the VAEs and the alpha-VAE).
    pub fn noisy_latent(self) -> bool {
        self.is_variational() || self == ModelKind::AlphaVae
    }
}

impl std::str::FromStr for ModelKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "ae" => Ok(ModelKind::Ae),
            "sae" | "sae_l1_weights" => Ok(ModelKind::Sae),
            "sae_l1_act" => Ok(ModelKind::SaeL1Act),
            "sae_kl" => Ok(ModelKind::SaeKl),
            "vae" => Ok(ModelKind::Vae),
            "beta_vae" => Ok(ModelKind::BetaVae),
            "alpha_vae" => Ok(ModelKind::AlphaVae),
            _ => Err(format!(
                "unknown model '{s}' (ae, sae, sae_l1_act, sae_kl, vae, beta_vae, alpha_vae)"
            )),
        }
    }
}

use crate::activation::{Activation, LayerActivations, LEAKY_SLOPE};

/// Network shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// Model kind.
    pub kind: ModelKind,
    /// Encoder widths; the decoder mirrors them (Baler: 200, 100, 50).
    pub hidden: Vec<usize>,
    /// Latent dimension z.
    pub latent: usize,
    /// Activation of every hidden layer, unless `activations` lists them.
    pub activation: Activation,
    /// Per hidden layer: the encoder's (the decoder mirrors them), or the
    /// encoder's then the decoder's; empty = `activation` everywhere.
    pub activations: Vec<Activation>,
    /// Negative slope of every LeakyReLU.
    pub leaky_slope: f32,
    /// Activation of the output layer (`sigmoid` suits min-max inputs).
    pub output_activation: Activation,
}

impl ModelConfig {
    /// The activation after every layer, or why the configuration is wrong.
    pub fn layer_activations(&self) -> Result<LayerActivations, String> {
        LayerActivations::resolve(
            self.hidden.len(),
            self.activation,
            &self.activations,
            self.output_activation,
            self.leaky_slope,
        )
    }
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            kind: ModelKind::Ae,
            hidden: vec![200, 100, 50],
            latent: 15,
            activation: Activation::LeakyRelu,
            activations: Vec::new(),
            leaky_slope: LEAKY_SLOPE,
            output_activation: Activation::Identity,
        }
    }
}

/// Reconstruction term.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Reconstruction {
    /// Mean over batch and features.
    Mse,
    /// Baler thesis MSE_SUM: sum over features, mean over the batch.
    #[default]
    MseSum,
}

/// Loss terms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LossConfig {
    /// Reconstruction term.
    pub reconstruction: Reconstruction,
    /// Weight of the L1 penalty: on all weights (`sae`; thesis lambda 1e-3)
    /// or on the activations (`sae_l1_act`).
    pub l1: f64,
    /// Weight of the per-column 1-D Wasserstein (EMD) term; 0 disables it.
    pub emd: f64,
    /// KL weight for VAEs (1 for `vae`; beta for `beta_vae`) and of the
    /// sparsity term of `sae_kl`.
    pub beta: f64,
    /// Standard deviation of the latent noise of `alpha_vae`.
    pub alpha: f64,
    /// Target mean activation of `sae_kl`'s hidden units.
    pub rho: f64,
}

impl Default for LossConfig {
    fn default() -> Self {
        LossConfig {
            reconstruction: Reconstruction::MseSum,
            l1: 1e-3,
            emd: 0.0,
            beta: 1.0,
            alpha: 0.2,
            rho: 0.05,
        }
    }
}

/// Where to train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum BackendKind {
    /// A wgpu GPU adapter if one exists, else the CPU.
    #[default]
    Auto,
    /// wgpu (WGSL shaders): GPUs, or Mesa lavapipe on CPU-only machines.
    Wgpu,
    /// burn's flex CPU backend.
    Cpu,
}

impl std::str::FromStr for BackendKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(BackendKind::Auto),
            "wgpu" => Ok(BackendKind::Wgpu),
            "cpu" => Ok(BackendKind::Cpu),
            _ => Err(format!("unknown backend '{s}' (auto, wgpu, cpu)")),
        }
    }
}

/// Shares of the rows held out of training, drawn per row from the seed.
/// The default holds out nothing (the Baler thesis' offline setting).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Split {
    /// Share of the rows for validation.
    pub validation: f64,
    /// Share of the rows for the test metrics.
    pub test: f64,
    /// Seed of the draw.
    pub seed: u64,
}

impl Split {
    /// Why the shares are not usable, if they are not.
    pub fn check(&self) -> Result<(), String> {
        let ok = |f: f64| f.is_finite() && (0.0..1.0).contains(&f);
        if !ok(self.validation) || !ok(self.test) || self.validation + self.test >= 1.0 {
            return Err(format!(
                "split: validation {} and test {} must be shares in [0, 1) that leave rows to train on",
                self.validation, self.test
            ));
        }
        Ok(())
    }
}

/// Everything a training run needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Network.
    pub model: ModelConfig,
    /// Loss.
    pub loss: LossConfig,
    /// Input columns; empty = every numeric column except `event`, `file_index`.
    pub columns: Vec<String>,
    /// Scaling fitted on the data.
    pub scaling: Scaling,
    /// Columns log-transformed before scaling.
    pub log_columns: Vec<String>,
    /// Columns scaled their own way instead of by `scaling`.
    pub column_scaling: std::collections::BTreeMap<String, ColumnScaling>,
    /// Rows held out of training: validation (watched by early stopping
    /// and the LR schedule) and test (scored once, into `metrics.json`).
    pub split: Split,
    /// Maximum epochs.
    pub epochs: usize,
    /// Batch size.
    pub batch_size: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// ReduceLROnPlateau patience in epochs (factor 0.5).
    pub lr_patience: usize,
    /// LR reduction factor.
    pub lr_factor: f64,
    /// Lower bound of the learning rate.
    pub min_lr: f64,
    /// Early-stopping patience in epochs.
    pub early_stopping_patience: usize,
    /// Minimum loss improvement that resets the patience counters.
    pub min_delta: f64,
    /// Seed for initialisation, shuffling and VAE sampling.
    pub seed: u64,
    /// Write a checkpoint every N epochs (0: only at the end).
    pub checkpoint_every: usize,
    /// Backend.
    pub backend: BackendKind,
    /// CPU threads for training (0: every core). Each step splits its batch
    /// into this many row blocks (at least 128 rows each), one per thread; the
    /// result is repeatable for a given value, and differs between values only
    /// by float rounding.
    pub threads: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            model: ModelConfig::default(),
            loss: LossConfig::default(),
            columns: Vec::new(),
            scaling: Scaling::MinMax,
            log_columns: Vec::new(),
            column_scaling: Default::default(),
            split: Split::default(),
            epochs: 1000,
            batch_size: 512,
            lr: 1e-3,
            lr_patience: 50,
            lr_factor: 0.5,
            min_lr: 1e-6,
            early_stopping_patience: 100,
            min_delta: 0.0,
            seed: 0,
            checkpoint_every: 10,
            backend: BackendKind::Auto,
            threads: 0,
        }
    }
}
