//! Errors of the RMM and anomaly stages; each keeps its cause.

/// What went wrong building matrices or scoring events.
#[derive(Debug, thiserror::Error)]
pub enum RmmError {
    /// Bad samples, options or table contents.
    #[error("{0}")]
    Input(String),
    /// Reading a ROOT file failed.
    #[error(transparent)]
    Root(#[from] hepae_root::Error),
    /// Reading a Dark Machines CSV file failed.
    #[error(transparent)]
    DarkMachines(#[from] hepae_darkmachines::DarkMachinesError),
    /// Reading or writing a table failed.
    #[error(transparent)]
    Table(#[from] hepae_table::TableError),
    /// A table column cannot feed the network.
    #[error(transparent)]
    Matrix(#[from] hepae_table::MatrixError),
    /// Training the anomaly model failed.
    #[error(transparent)]
    Train(#[from] hepae_train::TrainError),
    /// The trained model cannot be read back.
    #[error(transparent)]
    Model(#[from] hepae_model::ModelError),
    /// Drawing a plot failed.
    #[error(transparent)]
    Plot(#[from] hepae_plot::PlotError),
    /// Arrow could not build the output table.
    #[error(transparent)]
    Arrow(#[from] arrow_schema::ArrowError),
}

impl From<String> for RmmError {
    fn from(s: String) -> RmmError {
        RmmError::Input(s)
    }
}

impl From<&str> for RmmError {
    fn from(s: &str) -> RmmError {
        RmmError::Input(s.to_string())
    }
}

/// Result of this crate.
pub type Result<T> = std::result::Result<T, RmmError>;
