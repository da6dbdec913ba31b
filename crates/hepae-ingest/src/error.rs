//! Errors of the ingest stage.

use std::path::PathBuf;

/// Errors of the ingest stage; each names the file and the tree/branch/column.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Reading the ROOT file failed.
    #[error(transparent)]
    Root(#[from] hepae_root::Error),
    /// A requested column has no branch in the file.
    #[error("{file}: tree {tree}: no branch for column '{column}' of collection '{collection}' (tried {tried})")]
    MissingBranch {
        /// File concerned.
        file: PathBuf,
        /// Tree name.
        tree: String,
        /// Collection prefix.
        collection: String,
        /// Column asked for.
        column: String,
        /// Branch names tried.
        tried: String,
    },
    /// Anything else about the input or the request.
    #[error("{0}")]
    Invalid(String),
    /// Writing output failed.
    #[error("{0}")]
    Io(String),
    /// Reading or writing a table file failed.
    #[error(transparent)]
    Table(#[from] hepae_table::TableError),
}

/// Result of this crate.
pub type Result<T> = std::result::Result<T, IngestError>;
