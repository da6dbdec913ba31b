//! # hepae-compress
//!
//! Turns a trained autoencoder into real compression. `compress` writes an
//! artifact directory:
//!
//! ```text
//! jets.hepae/
//!   manifest.json         columns, dtypes, normalisation, model config, sizes, ratios, checksums
//!   latent.parquet        latent space (f32, f16 or bf16), zstd
//!   residuals.parquet     integer residual codes of error-bounded columns, zstd
//!   escapes.parquet       values stored exactly where no code meets the bound
//!   passthrough.parquet   lossless columns (event, file_index, chosen ones)
//!   model/                config.json, normalizer.json, model.bpk (burn), model.safetensors
//! ```
//!
//! `decompress` rebuilds the table with the original names, order and dtypes
//! as Parquet or as a ROOT TTree.

#![warn(missing_docs)]

pub mod codec;
mod columns;
mod compress;
mod decompress;
mod error;
mod latent;
pub mod manifest;
pub mod quant;
mod root_out;
mod write;

pub use codec::{compress_struct, compress_struct_table, restore_struct, StructManifest};
pub use columns::dtype_name;
pub use compress::{compress, Codec, CompressOptions};
pub use decompress::{decompress, restore, restore_any, write_restored};
pub use error::{CompressError, Result};
pub use latent::LatentDType;
pub use manifest::{read_manifest, Manifest};
pub use quant::Bound;
pub use root_out::{write_rntuple_atomic, write_root_atomic};

pub(crate) use columns::{array_from_f64, column_f64, out_kind};
