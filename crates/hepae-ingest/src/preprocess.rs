//! Cuts, all-zero columns and column drops on a flat table that is already
//! Parquet (the pipeline's preprocess stage): the same `Cut` and the same
//! predicate as the cuts applied while reading ROOT files.

use crate::Cut;
use arrow_array::{Array, BooleanArray, RecordBatch};
use serde::{Deserialize, Serialize};

/// Cuts and column choices applied to the ingested table.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preprocess {
    /// Inclusive range cuts `COLUMN:MIN:MAX`.
    #[serde(default)]
    pub cuts: Vec<String>,
    /// Drop columns that are zero in every row after the cuts.
    #[serde(default)]
    pub drop_zero_columns: bool,
    /// Columns to drop.
    #[serde(default)]
    pub drop_columns: Vec<String>,
}

/// What preprocessing did.
#[derive(Debug, Clone, Serialize)]
pub struct PreprocessReport {
    /// Rows in.
    pub rows_before: u64,
    /// Rows after each cut, in order.
    pub cuts: Vec<(String, u64)>,
    /// All-zero columns dropped.
    pub dropped_zero_columns: Vec<String>,
    /// Columns dropped by request.
    pub dropped_columns: Vec<String>,
    /// Rows out.
    pub rows_after: u64,
}

fn invalid(m: String) -> crate::IngestError {
    crate::IngestError::Invalid(m)
}

/// Applies the section to a batch.
pub fn apply(
    batch: &RecordBatch,
    s: &Preprocess,
) -> crate::Result<(RecordBatch, PreprocessReport)> {
    let mut b = batch.clone();
    let rows_before = b.num_rows() as u64;
    let mut cuts = Vec::new();
    for text in &s.cuts {
        let cut: Cut = text.parse()?;
        let col = b.column_by_name(&cut.column).ok_or_else(|| {
            invalid(format!(
                "cut '{text}': no column '{}' in the table",
                cut.column
            ))
        })?;
        let v = hepae_table::numeric_f64(col).ok_or_else(|| {
            invalid(format!(
                "cut '{text}': column '{}' is not numeric",
                cut.column
            ))
        })?;
        let mask = BooleanArray::from_iter(v.iter().map(|x| Some(cut.keeps(*x))));
        b = arrow_select::filter::filter_record_batch(&b, &mask)
            .map_err(|e| invalid(format!("cut '{text}': {e}")))?;
        cuts.push((text.clone(), b.num_rows() as u64));
    }
    let mut dropped_zero_columns = Vec::new();
    let mut keep = Vec::new();
    for (i, f) in b.schema().fields().iter().enumerate() {
        let label = hepae_table::LABEL_COLUMNS.contains(&f.name().as_str());
        if s.drop_columns.iter().any(|c| c == f.name()) {
            continue;
        }
        if s.drop_zero_columns && !label {
            if let Some(v) = hepae_table::numeric_f64(b.column(i)) {
                if b.column(i).null_count() == 0 && v.iter().all(|x| *x == 0.0) {
                    dropped_zero_columns.push(f.name().clone());
                    continue;
                }
            }
        }
        keep.push(i);
    }
    for c in &s.drop_columns {
        if b.schema().index_of(c).is_err() {
            return Err(invalid(format!(
                "drop_columns: no column '{c}' in the table"
            )));
        }
    }
    let out = b
        .project(&keep)
        .map_err(|e| invalid(format!("columns: {e}")))?;
    let report = PreprocessReport {
        rows_before,
        cuts,
        dropped_zero_columns,
        dropped_columns: s.drop_columns.clone(),
        rows_after: out.num_rows() as u64,
    };
    Ok((out, report))
}
