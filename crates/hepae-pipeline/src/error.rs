//! Errors of a pipeline run; a stage's failure keeps its own error.

/// Errors of a pipeline run.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// Bad pipeline or dataset file.
    #[error("{0}")]
    Config(String),
    /// A stage failed.
    #[error("stage {stage}: {source}")]
    Stage {
        /// Stage name.
        stage: String,
        /// The stage's error.
        #[source]
        source: StageFailure,
    },
    /// Reading or writing a table or file failed.
    #[error(transparent)]
    Table(#[from] hepae_table::TableError),
}

/// Result of this crate.
pub type Result<T> = std::result::Result<T, PipelineError>;

/// Why a stage's work failed: the stage crate's own error, cause kept.
pub type StageFailure = Box<dyn std::error::Error + Send + Sync>;
