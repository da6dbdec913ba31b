//! Errors of compression and decompression.

use std::path::{Path, PathBuf};

/// Errors of compression and decompression.
#[derive(Debug, thiserror::Error)]
pub enum CompressError {
    /// Bad input table or options (the message names the file and column).
    #[error("{0}")]
    Input(String),
    /// A missing, corrupt or mismatched artifact or model.
    #[error("{0}")]
    Artifact(String),
    /// Assembling an Arrow table failed.
    #[error("{what}: {source}")]
    Arrow {
        /// Which table.
        what: &'static str,
        /// arrow's error.
        #[source]
        source: arrow_schema::ArrowError,
    },
    /// oxyroot could not write the ROOT file (it reports by message or panic).
    #[error("{}: writing ROOT: {message}", path.display())]
    RootWrite {
        /// File concerned.
        path: PathBuf,
        /// oxyroot's message.
        message: String,
    },
    /// Reading or writing a table or file failed.
    #[error(transparent)]
    Table(#[from] hepae_table::TableError),
    /// The model directory does not describe a usable network.
    #[error(transparent)]
    Model(#[from] hepae_model::ModelError),
}

impl CompressError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> CompressError {
        // One owner for file errors: the table crate's.
        CompressError::Table(hepae_table::TableError::io(path, source))
    }

    pub(crate) fn arrow(what: &'static str, source: arrow_schema::ArrowError) -> CompressError {
        CompressError::Arrow { what, source }
    }
}

/// Result of this crate.
pub type Result<T> = std::result::Result<T, CompressError>;
