//! A table's numeric columns as the row-major f32 matrix the networks see.

use crate::columns::LABEL_COLUMNS;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::DataType;

/// Why a table cannot become a matrix; each names the column (and row).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MatrixError {
    /// No numeric non-label column.
    #[error("no numeric columns to train on")]
    NoColumns,
    /// A requested column is absent.
    #[error("no column '{0}'")]
    MissingColumn(String),
    /// A column has nulls.
    #[error("column '{column}' has {count} null values")]
    Nulls {
        /// Column name.
        column: String,
        /// Null count.
        count: usize,
    },
    /// A column is not numeric.
    #[error("column '{column}' has non-numeric type {dtype}")]
    NonNumeric {
        /// Column name.
        column: String,
        /// Its Arrow type.
        dtype: String,
    },
    /// NaN or infinity.
    #[error("column '{column}' row {row}: value {value} is not finite")]
    NonFinite {
        /// Column name.
        column: String,
        /// Row index.
        row: usize,
        /// The value.
        value: f32,
    },
}

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

/// Builds the matrix from a record batch; rejects NaN/Inf naming the column and row.
pub fn from_batch(batch: &RecordBatch, columns: &[String]) -> Result<Matrix, MatrixError> {
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
        return Err(MatrixError::NoColumns);
    }
    let rows = batch.num_rows();
    let n = names.len();
    let mut values = vec![0f32; rows * n];
    let mut dtypes = Vec::with_capacity(n);
    for (j, name) in names.iter().enumerate() {
        let idx = schema
            .index_of(name)
            .map_err(|_| MatrixError::MissingColumn(name.clone()))?;
        let col = batch.column(idx);
        if col.null_count() > 0 {
            return Err(MatrixError::Nulls {
                column: name.clone(),
                count: col.null_count(),
            });
        }
        let v = as_f32(col).ok_or_else(|| MatrixError::NonNumeric {
            column: name.clone(),
            dtype: col.data_type().to_string(),
        })?;
        if let Some(i) = v.iter().position(|x| !x.is_finite()) {
            return Err(MatrixError::NonFinite {
                column: name.clone(),
                row: i,
                value: v[i],
            });
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
