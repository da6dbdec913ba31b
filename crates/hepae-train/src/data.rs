//! Loading the ingest table into a row-major f32 matrix.

use crate::TrainError;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::DataType;
use std::path::Path;

/// A table as the networks see it.
#[derive(Debug, Clone)]
pub struct Matrix {
    /// Column names, in order.
    pub names: Vec<String>,
    /// Arrow type of each column in the source table (to restore it later).
    pub dtypes: Vec<String>,
    /// Row-major values.
    pub values: Vec<f32>,
    /// Number of rows.
    pub rows: usize,
}

impl Matrix {
    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.names.len()
    }
}

/// Columns that label rows rather than describe objects.
pub const LABEL_COLUMNS: [&str; 2] = ["event", "file_index"];

fn as_f32(a: &ArrayRef) -> Option<Vec<f32>> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::*;
    macro_rules! prim {
        ($t:ty) => {
            a.as_primitive::<$t>()
                .values()
                .iter()
                .map(|v| *v as f32)
                .collect()
        };
    }
    Some(match a.data_type() {
        DataType::Float32 => a.as_primitive::<Float32Type>().values().to_vec(),
        DataType::Float64 => prim!(Float64Type),
        DataType::Int8 => prim!(Int8Type),
        DataType::Int16 => prim!(Int16Type),
        DataType::Int32 => prim!(Int32Type),
        DataType::Int64 => prim!(Int64Type),
        DataType::UInt8 => prim!(UInt8Type),
        DataType::UInt16 => prim!(UInt16Type),
        DataType::UInt32 => prim!(UInt32Type),
        DataType::UInt64 => prim!(UInt64Type),
        DataType::Boolean => a
            .as_boolean()
            .iter()
            .map(|v| v.unwrap_or(false) as u8 as f32)
            .collect(),
        _ => return None,
    })
}

/// Reads `columns` (all numeric non-label columns when empty) of a Parquet table.
pub fn load_parquet(path: &Path, columns: &[String]) -> Result<Matrix, TrainError> {
    let batch = hepae_ingest::read_parquet(path).map_err(|e| TrainError::Input(e.to_string()))?;
    from_batch(&batch, columns).map_err(|e| TrainError::Input(format!("{}: {e}", path.display())))
}

/// Builds the matrix from a record batch; rejects NaN/Inf naming the column and row.
pub fn from_batch(batch: &RecordBatch, columns: &[String]) -> Result<Matrix, String> {
    let schema = batch.schema();
    let names: Vec<String> = if columns.is_empty() {
        schema
            .fields()
            .iter()
            .filter(|f| {
                !LABEL_COLUMNS.contains(&f.name().as_str())
                    && (f.data_type().is_numeric() || f.data_type() == &DataType::Boolean)
            })
            .map(|f| f.name().clone())
            .collect()
    } else {
        columns.to_vec()
    };
    if names.is_empty() {
        return Err("no numeric columns to train on".into());
    }
    let rows = batch.num_rows();
    let n = names.len();
    let mut values = vec![0f32; rows * n];
    let mut dtypes = Vec::with_capacity(n);
    for (j, name) in names.iter().enumerate() {
        let idx = schema
            .index_of(name)
            .map_err(|_| format!("no column '{name}'"))?;
        let col = batch.column(idx);
        if col.null_count() > 0 {
            return Err(format!(
                "column '{name}' has {} null values",
                col.null_count()
            ));
        }
        let v = as_f32(col)
            .ok_or_else(|| format!("column '{name}' has non-numeric type {}", col.data_type()))?;
        if let Some(i) = v.iter().position(|x| !x.is_finite()) {
            return Err(format!(
                "column '{name}' row {i}: value {} is not finite",
                v[i]
            ));
        }
        dtypes.push(col.data_type().to_string());
        for (i, x) in v.into_iter().enumerate() {
            values[i * n + j] = x;
        }
    }
    Ok(Matrix {
        names,
        dtypes,
        values,
        rows,
    })
}
