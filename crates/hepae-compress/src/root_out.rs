//! The restored table as a flat ROOT TTree, written with oxyroot
//! (uncompressed), or as an RNTuple (hepae-root's writer, zstd pages).

use crate::{CompressError, Result};
use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::RecordBatch;
use arrow_schema::DataType;
use std::path::Path;

/// Writes every column of `batch` as a flat branch of TTree `tree` in `path`
/// (temporary file, then rename). Only numeric and bool columns fit.
pub fn write_root_atomic(batch: &RecordBatch, path: &Path, tree: &str) -> Result<()> {
    let schema = batch.schema();
    for f in schema.fields() {
        if crate::dtype_name(f.data_type()).is_none() {
            return Err(CompressError::Input(format!(
                "{}: column '{}' has type {}, which a flat ROOT branch cannot hold",
                path.display(),
                f.name(),
                f.data_type()
            )));
        }
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| CompressError::io(dir, e))?;
    }
    let tmp = hepae_table::tmp_sibling(path);
    let tmp_s = tmp.to_string_lossy().into_owned();
    let batch = batch.clone();
    let tree = tree.to_string();
    // oxyroot reports some failures by panicking; turn those into errors.
    let written = std::panic::catch_unwind(std::panic::AssertUnwindSafe(
        move || -> std::result::Result<(), String> {
            let mut file = oxyroot::RootFile::create(&tmp_s).map_err(|e| format!("{e:?}"))?;
            let mut t = oxyroot::WriterTree::new(tree);
            for (f, col) in batch.schema().fields().iter().zip(batch.columns()) {
                macro_rules! branch {
                    ($t:ty) => {
                        t.new_branch(
                            f.name(),
                            col.as_primitive::<$t>().values().to_vec().into_iter(),
                        )
                    };
                }
                match f.data_type() {
                    DataType::Float32 => branch!(Float32Type),
                    DataType::Float64 => branch!(Float64Type),
                    DataType::Int8 => branch!(Int8Type),
                    DataType::Int16 => branch!(Int16Type),
                    DataType::Int32 => branch!(Int32Type),
                    DataType::Int64 => branch!(Int64Type),
                    DataType::UInt8 => branch!(UInt8Type),
                    DataType::UInt16 => branch!(UInt16Type),
                    DataType::UInt32 => branch!(UInt32Type),
                    DataType::UInt64 => branch!(UInt64Type),
                    DataType::Boolean => {
                        let v: Vec<bool> = col
                            .as_boolean()
                            .iter()
                            .map(|b| b.unwrap_or(false))
                            .collect();
                        t.new_branch(f.name(), v.into_iter())
                    }
                    _ => unreachable!("checked above"),
                }
            }
            t.write(&mut file).map_err(|e| format!("{e:?}"))?;
            file.close().map_err(|e| format!("{e:?}"))
        },
    ));
    let err = match written {
        Ok(Ok(())) => return std::fs::rename(&tmp, path).map_err(|e| CompressError::io(path, e)),
        Ok(Err(e)) => e,
        Err(p) => p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "oxyroot panicked".into()),
    };
    let _ = std::fs::remove_file(&tmp);
    Err(CompressError::RootWrite {
        path: path.to_path_buf(),
        message: err,
    })
}

/// Writes every column of `batch` as a leaf field of RNTuple `name` in a
/// new ROOT file at `path` (temporary file, then rename).
pub fn write_rntuple_atomic(batch: &RecordBatch, path: &Path, name: &str) -> Result<()> {
    use hepae_root::Values;
    let mut cols = Vec::with_capacity(batch.num_columns());
    for (f, col) in batch.schema().fields().iter().zip(batch.columns()) {
        macro_rules! v {
            ($var:ident, $t:ty) => {
                Values::$var(col.as_primitive::<$t>().values().to_vec())
            };
        }
        let values = match f.data_type() {
            DataType::Float32 => v!(F32, Float32Type),
            DataType::Float64 => v!(F64, Float64Type),
            DataType::Int8 => v!(I8, Int8Type),
            DataType::Int16 => v!(I16, Int16Type),
            DataType::Int32 => v!(I32, Int32Type),
            DataType::Int64 => v!(I64, Int64Type),
            DataType::UInt8 => v!(U8, UInt8Type),
            DataType::UInt16 => v!(U16, UInt16Type),
            DataType::UInt32 => v!(U32, UInt32Type),
            DataType::UInt64 => v!(U64, UInt64Type),
            DataType::Boolean => Values::Bool(
                col.as_boolean()
                    .iter()
                    .map(|b| b.unwrap_or(false))
                    .collect(),
            ),
            t => {
                return Err(CompressError::Input(format!(
                    "{}: column '{}' has type {t}, which an RNTuple leaf field cannot hold",
                    path.display(),
                    f.name()
                )))
            }
        };
        cols.push((f.name().clone(), values));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| CompressError::io(dir, e))?;
    }
    hepae_root::write_rntuple(path, name, &cols).map_err(|e| CompressError::RootWrite {
        path: path.to_path_buf(),
        message: e.message,
    })
}
