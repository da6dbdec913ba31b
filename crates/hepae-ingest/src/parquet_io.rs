//! zstd Parquet and JSON output written atomically (temp file, then rename),
//! so that a failed run never leaves a half-written file.

use crate::{IngestError, Result};
use arrow_array::{RecordBatch, RecordBatchReader};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use std::path::{Path, PathBuf};

fn tmp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

/// Writes `batch` as zstd Parquet at `path` with key/value metadata.
pub fn write_parquet_atomic(
    batch: &RecordBatch,
    path: &Path,
    metadata: &[(String, String)],
) -> Result<()> {
    let io = |e: &dyn std::fmt::Display| IngestError::Io(format!("{}: {e}", path.display()));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| io(&e))?;
    }
    let tmp = tmp_path(path);
    let result = (|| -> Result<()> {
        let f = std::fs::File::create(&tmp).map_err(|e| io(&e))?;
        let kv = metadata
            .iter()
            .map(|(k, v)| parquet::file::metadata::KeyValue::new(k.clone(), v.clone()))
            .collect();
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(
                ZstdLevel::try_new(3).expect("valid level"),
            ))
            // Dictionaries do not pay off on continuous physics values.
            .set_dictionary_enabled(false)
            .set_max_row_group_row_count(Some(1 << 20))
            .set_key_value_metadata(Some(kv))
            .build();
        let mut w = ArrowWriter::try_new(f, batch.schema(), Some(props)).map_err(|e| io(&e))?;
        w.write(batch).map_err(|e| io(&e))?;
        w.close().map_err(|e| io(&e))?;
        Ok(())
    })();
    match result {
        Ok(()) => std::fs::rename(&tmp, path).map_err(|e| io(&e)),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Writes pretty JSON atomically.
pub fn write_json_atomic(value: &impl serde::Serialize, path: &Path) -> Result<()> {
    let io = |e: &dyn std::fmt::Display| IngestError::Io(format!("{}: {e}", path.display()));
    let text = serde_json::to_string_pretty(value).map_err(|e| io(&e))?;
    let tmp = tmp_path(path);
    std::fs::write(&tmp, text + "\n").map_err(|e| io(&e))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(&e)
    })
}

/// Reads a whole Parquet file into one batch.
pub fn read_parquet(path: &Path) -> Result<RecordBatch> {
    let io = |e: &dyn std::fmt::Display| IngestError::Io(format!("{}: {e}", path.display()));
    let f = std::fs::File::open(path).map_err(|e| io(&e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(f)
        .map_err(|e| io(&e))?
        .with_batch_size(1 << 20)
        .build()
        .map_err(|e| io(&e))?;
    let schema = reader.schema();
    let batches: Vec<RecordBatch> = reader
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| io(&e))?;
    arrow_select_concat(&schema, &batches).map_err(|e| io(&e))
}

fn arrow_select_concat(
    schema: &arrow_schema::SchemaRef,
    batches: &[RecordBatch],
) -> std::result::Result<RecordBatch, arrow_schema::ArrowError> {
    if batches.len() == 1 {
        return Ok(batches[0].clone());
    }
    arrow_select::concat::concat_batches(schema, batches)
}
