//! Errors of validation; each names the file and keeps its cause.

use std::path::Path;

/// Errors of validation.
#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    /// Bad input tables or options (the message names the file and column).
    #[error("{0}")]
    Input(String),
    /// Assembling the statistics table failed.
    #[error("{what}: {source}")]
    Arrow {
        /// Which table.
        what: &'static str,
        /// arrow's error.
        #[source]
        source: arrow_schema::ArrowError,
    },
    /// Reading or writing a table or file failed.
    #[error(transparent)]
    Table(#[from] hepae_table::TableError),
    /// The model directory named by `--model` is unusable.
    #[error(transparent)]
    Model(#[from] hepae_model::ModelError),
    /// A plot could not be drawn.
    #[error(transparent)]
    Plot(#[from] hepae_plot::PlotError),
}

impl ValidateError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> ValidateError {
        // One owner for file errors: the table crate's.
        ValidateError::Table(hepae_table::TableError::io(path, source))
    }
}

/// Result of this crate.
pub type Result<T> = std::result::Result<T, ValidateError>;
