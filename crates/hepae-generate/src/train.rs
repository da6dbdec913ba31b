//! Training the generator network with hepae-train and loading it back as
//! plain-Rust MLPs for fast sampling.

use crate::config::GenerateConfig;
use crate::error::Result;
use crate::features::FeatureSpace;
use crate::sample::Generator;
use hepae_model::{LossConfig, ModelConfig, ModelKind, Reconstruction, Scaling, TrainConfig};
use hepae_train::{Matrix, RunOptions};
use std::path::Path;

/// The trainer's configuration for a generator.
pub fn train_config(cfg: &GenerateConfig) -> TrainConfig {
    TrainConfig {
        model: ModelConfig {
            kind: cfg.model,
            hidden: cfg.hidden.clone(),
            latent: cfg.latent,
            activation: cfg.activation,
            ..ModelConfig::default()
        },
        loss: LossConfig {
            // Sum over features: the Gaussian log-likelihood's scale against the KL term.
            reconstruction: Reconstruction::MseSum,
            l1: 0.0,
            emd: 0.0,
            beta: cfg.beta,
            alpha: cfg.alpha,
            ..LossConfig::default()
        },
        columns: Vec::new(),
        scaling: Scaling::Standard,
        log_columns: Vec::new(),
        column_scaling: Default::default(),
        // The generation stage holds out its own events for the metrics.
        split: Default::default(),
        epochs: cfg.epochs,
        batch_size: cfg.batch_size,
        lr: cfg.lr,
        lr_patience: (cfg.early_stopping_patience / 2).max(1),
        lr_factor: 0.5,
        min_lr: 1e-6,
        early_stopping_patience: cfg.early_stopping_patience,
        min_delta: 0.0,
        seed: cfg.seed,
        checkpoint_every: 0,
        backend: cfg.backend,
        threads: cfg.threads,
    }
}

/// Trains on `features` (row-major, `rows` events) into `dir` and returns the generator.
pub fn train(
    space: &FeatureSpace,
    features: &[f32],
    rows: usize,
    cfg: &GenerateConfig,
    dir: &Path,
    progress: bool,
) -> Result<Generator> {
    let matrix = Matrix {
        names: space.names.clone(),
        dtypes: vec!["float32".into(); space.len()],
        values: features.to_vec(),
        rows,
    };
    let opts = RunOptions {
        progress,
        ..RunOptions::default()
    };
    hepae_train::train(&matrix, &train_config(cfg), dir, &opts)?;
    let model = hepae_model::load(dir)?;
    let (encoder, decoder) = model.networks(&dir.display().to_string())?;
    Ok(Generator {
        space: space.clone(),
        encoder,
        decoder,
        normalizer: model.normalizer,
        prior_std: if cfg.model == ModelKind::AlphaVae {
            cfg.alpha
        } else {
            1.0
        },
    })
}
