//! Loading the ingest table into a row-major f32 matrix.

use crate::TrainError;
use std::path::Path;

/// The matrix view is owned by hepae-table.
pub use hepae_table::{from_batch, Matrix, LABEL_COLUMNS};

/// Reads `columns` (all numeric non-label columns when empty) of a Parquet table.
pub fn load_parquet(path: &Path, columns: &[String]) -> Result<Matrix, TrainError> {
    let batch = hepae_table::read_parquet(path)?;
    from_batch(&batch, columns).map_err(|e| TrainError::Input(format!("{}: {e}", path.display())))
}
