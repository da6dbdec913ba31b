//! The restored table as a flat ROOT TTree, written with oxyroot
//! (uncompressed), or as an RNTuple (hepae-root's writer, zstd pages).

use crate::{CompressError, Result};
use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::RecordBatch;
use arrow_schema::DataType;
use hepae_root::Values;
use std::path::Path;

/// Every column of `batch` as a typed buffer; a column that no flat ROOT
/// leaf can hold is an error naming it (`what`: the kind of leaf).
fn columns(batch: &RecordBatch, path: &Path, what: &str) -> Result<Vec<(String, Values)>> {
    let mut out = Vec::with_capacity(batch.num_columns());
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
                    "{}: column '{}' has type {t}, which {what} cannot hold",
                    path.display(),
                    f.name()
                )))
            }
        };
        out.push((f.name().clone(), values));
    }
    Ok(out)
}

fn create_parent(path: &Path) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| CompressError::io(dir, e))?;
    }
    Ok(())
}

/// Writes every column of `batch` as a flat branch of TTree `tree` in `path`
/// (temporary file, then rename). Only numeric and bool columns fit.
pub fn write_root_atomic(batch: &RecordBatch, path: &Path, tree: &str) -> Result<()> {
    let cols = columns(batch, path, "a flat ROOT branch")?;
    create_parent(path)?;
    let tmp = hepae_table::tmp_sibling(path);
    let tmp_s = tmp.to_string_lossy().into_owned();
    let tree = tree.to_string();
    // oxyroot reports some failures by panicking; turn those into errors.
    let written = std::panic::catch_unwind(std::panic::AssertUnwindSafe(
        move || -> std::result::Result<(), String> {
            let mut file = oxyroot::RootFile::create(&tmp_s).map_err(|e| format!("{e:?}"))?;
            let mut t = oxyroot::WriterTree::new(tree);
            for (name, v) in cols {
                match v {
                    Values::F32(v) => t.new_branch(name, v.into_iter()),
                    Values::F64(v) => t.new_branch(name, v.into_iter()),
                    Values::I8(v) => t.new_branch(name, v.into_iter()),
                    Values::I16(v) => t.new_branch(name, v.into_iter()),
                    Values::I32(v) => t.new_branch(name, v.into_iter()),
                    Values::I64(v) => t.new_branch(name, v.into_iter()),
                    Values::U8(v) => t.new_branch(name, v.into_iter()),
                    Values::U16(v) => t.new_branch(name, v.into_iter()),
                    Values::U32(v) => t.new_branch(name, v.into_iter()),
                    Values::U64(v) => t.new_branch(name, v.into_iter()),
                    Values::Bool(v) => t.new_branch(name, v.into_iter()),
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
    let cols = columns(batch, path, "an RNTuple leaf field")?;
    let file_name = path
        .file_name()
        .map_or("restored.root".into(), |n| n.to_string_lossy());
    let bytes = hepae_root::rntuple_file(&file_name, name, &cols).map_err(|message| {
        CompressError::RootWrite {
            path: path.to_path_buf(),
            message,
        }
    })?;
    create_parent(path)?;
    hepae_table::write_bytes_atomic(path, &bytes)?;
    Ok(())
}
