//! Errors of training; each names the file and keeps its cause.

use std::path::{Path, PathBuf};

/// Errors of the training stage.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// Bad input data.
    #[error("{0}")]
    Input(String),
    /// Bad configuration.
    #[error("{0}")]
    Config(String),
    /// Reading or writing a model, checkpoint or history file failed.
    #[error("{}: {source}", path.display())]
    File {
        /// File or directory concerned.
        path: PathBuf,
        /// The cause: the operating system's, serde's or burn's recorder error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Reading or writing a table or file failed.
    #[error(transparent)]
    Table(#[from] hepae_table::TableError),
    /// The model directory does not describe a usable network.
    #[error(transparent)]
    Model(#[from] hepae_model::ModelError),
    /// The loss became NaN or infinite.
    #[error("{0}")]
    Diverged(String),
    /// The run was stopped after the given epoch (its checkpoint allows `--resume`).
    #[error("stopped after epoch {0}")]
    Interrupted(usize),
}

/// A failure on `path`; burn's recorder errors come as their debug text.
pub(crate) fn io_err(
    path: &Path,
    e: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> TrainError {
    TrainError::File {
        path: path.to_path_buf(),
        source: e.into(),
    }
}
