//! Loading the ingest table into a row-major f32 matrix.

use crate::TrainError;
use std::path::Path;

/// The matrix view is owned by hepae-table.
pub use hepae_table::{from_batch, Matrix, LABEL_COLUMNS};

/// Event weights scaled to mean 1 over `rows` rows (so the weighted loss
/// keeps the unweighted one's scale and learning rates carry over);
/// `None` without weights. Weights must be finite, >= 0 and not all zero.
pub fn unit_mean_weights(w: Option<&[f64]>, rows: usize) -> Result<Option<Vec<f32>>, TrainError> {
    let Some(w) = w else { return Ok(None) };
    if w.len() != rows {
        return Err(TrainError::Input(format!(
            "{} event weights for {rows} rows",
            w.len()
        )));
    }
    if let Some(i) = w.iter().position(|v| !v.is_finite() || *v < 0.0) {
        return Err(TrainError::Input(format!(
            "event weight of row {i} is {}: weights must be finite and >= 0",
            w[i]
        )));
    }
    let mean = w.iter().sum::<f64>() / rows as f64;
    if mean <= 0.0 {
        return Err(TrainError::Input("every event weight is 0".into()));
    }
    Ok(Some(w.iter().map(|v| (v / mean) as f32).collect()))
}

/// Reads `columns` (all numeric non-label columns when empty) of a Parquet table.
pub fn load_parquet(path: &Path, columns: &[String]) -> Result<Matrix, TrainError> {
    let batch = hepae_table::read_parquet(path)?;
    from_batch(&batch, columns).map_err(|e| TrainError::Input(format!("{}: {e}", path.display())))
}
