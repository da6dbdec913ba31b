//! Errors of the generation stage.

/// What went wrong; each names the file or the option concerned.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// Reading or writing a table file failed.
    #[error(transparent)]
    Table(#[from] hepae_table::TableError),
    /// Writing challenge CSV failed.
    #[error(transparent)]
    DarkMachines(#[from] hepae_darkmachines::DarkMachinesError),
    /// Training the generator failed.
    #[error(transparent)]
    Train(#[from] hepae_train::TrainError),
    /// Reading the trained network failed.
    #[error(transparent)]
    Model(#[from] hepae_model::ModelError),
    /// Drawing a plot failed.
    #[error(transparent)]
    Plot(#[from] hepae_plot::PlotError),
    /// The input table cannot be used (missing column, no events of the process).
    #[error("{0}")]
    Input(String),
    /// A bad option.
    #[error("{0}")]
    Config(String),
}

/// Result of this crate.
pub type Result<T> = std::result::Result<T, GenerateError>;
