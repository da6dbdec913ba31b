//! Errors of compression and decompression.

use std::path::Path;

/// Errors of compression and decompression.
#[derive(Debug, thiserror::Error)]
pub enum CompressError {
    /// Bad input table or options.
    #[error("{0}")]
    Input(String),
    /// A missing, corrupt or mismatched artifact or model.
    #[error("{0}")]
    Artifact(String),
    /// Reading or writing failed.
    #[error("{0}")]
    Io(String),
    /// Reading or writing a table or file failed.
    #[error(transparent)]
    Table(#[from] hepae_table::TableError),
    /// The model directory does not describe a usable network.
    #[error(transparent)]
    Model(#[from] hepae_model::ModelError),
}

impl CompressError {
    pub(crate) fn io(path: &Path, e: impl std::fmt::Display) -> CompressError {
        CompressError::Io(format!("{}: {e}", path.display()))
    }
}

/// Result of this crate.
pub type Result<T> = std::result::Result<T, CompressError>;
