//! # hepae-train
//!
//! Baler-style autoencoders trained with burn: `ae`, `sae` (L1 on the
//! weights, applied), `vae` and `beta_vae`; MSE / MSE_SUM, EMD and KL losses;
//! min-max or standard scaling with optional log columns; Adam with
//! ReduceLROnPlateau and early stopping, on a held-out validation split when
//! there is one; test-set metrics; checkpoints with exact resume. Runs on
//! a wgpu GPU (or Mesa lavapipe) or on burn's flex CPU backend.

#![warn(missing_docs)]

pub mod bench;
mod checks;
pub mod data;
mod error;
mod files;
pub mod loss;
pub mod metrics;
pub mod model;
pub mod split;
mod step;
mod trainer;

// The configuration and normaliser are model-file concepts owned by hepae-model.
pub use data::{load_parquet, Matrix};
pub use error::TrainError;
pub use files::{load_model, write_history, LoadedModel};
pub use hepae_model::{config, norm};
pub use hepae_model::{
    Activation, BackendKind, LossConfig, ModelConfig, ModelDir, ModelKind, ModelMeta, NamedTensor,
    Normalizer, Reconstruction, Scaling, Split, TrainConfig, LEAKY_SLOPE,
};
pub use metrics::TestMetrics;
pub use model::AutoEncoder;
pub use trainer::{mix, select_device, train, EpochRecord, RunOptions, TrainOutcome};

/// burn seeds its CPU random generator process-wide: unit tests that seed it
/// hold this lock so that they do not draw from each other's sequence.
#[cfg(test)]
pub(crate) static RNG_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
