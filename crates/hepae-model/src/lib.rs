//! # hepae-model
//!
//! Trained-model files without burn, so that compression, decompression,
//! validation and anomaly scoring never link the training stack: the model
//! directory layout, the training configuration it records, the fitted
//! normaliser, F32 safetensors weights, and the deterministic plain-Rust
//! MLP whose outputs are bit-identical on any machine and thread count.

#![warn(missing_docs)]

pub mod activation;
pub mod config;
mod dir;
mod error;
pub mod mlp;
pub mod norm;
mod tensors;

pub use activation::{Activation, LayerActivations, LEAKY_SLOPE};
pub use config::{
    BackendKind, LossConfig, ModelConfig, ModelKind, Reconstruction, Split, TrainConfig,
};
pub use dir::{layer_names, load, load_description, Model, ModelDir, ModelMeta};
pub use error::{ModelError, Result};
pub use mlp::Mlp;
pub use norm::{ColumnNorm, ColumnScaling, Normalizer, Scaling};
pub use tensors::{read_safetensors, safetensors_bytes, NamedTensor};
