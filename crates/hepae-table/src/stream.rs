//! A Parquet file written one batch (row group) at a time, for tables too
//! large to hold in memory; it appears under its name only when finished.

use crate::atomic::tmp_path;
use crate::error::{Result, TableError};
use crate::parquet::{properties, ParquetOptions};
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

/// Streams record batches of one schema into a zstd Parquet file. Each
/// [`write`](ParquetStream::write) becomes one row group; [`finish`]
/// renames the temporary file into place. Dropping it unfinished removes
/// the temporary file, so a failed run leaves nothing under the name.
///
/// [`finish`]: ParquetStream::finish
pub struct ParquetStream {
    path: PathBuf,
    tmp: PathBuf,
    writer: Option<ArrowWriter<BufWriter<File>>>,
}

impl ParquetStream {
    /// Opens a temporary file beside `path` for a table of `schema`.
    pub fn create(
        path: &Path,
        schema: SchemaRef,
        metadata: &[(String, String)],
        zstd_level: i32,
    ) -> Result<ParquetStream> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| TableError::io(dir, e))?;
        }
        let tmp = tmp_path(path);
        let props = properties(&schema, metadata, &ParquetOptions::zstd(zstd_level))
            .map_err(|e| TableError::parquet(path, e))?;
        let file = File::create(&tmp).map_err(|e| TableError::io(&tmp, e))?;
        let writer =
            ArrowWriter::try_new(BufWriter::with_capacity(1 << 20, file), schema, Some(props))
                .map_err(|e| TableError::parquet(path, e))?;
        Ok(ParquetStream {
            path: path.to_path_buf(),
            tmp,
            writer: Some(writer),
        })
    }

    /// Appends `batch` as one row group.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let w = self.writer.as_mut().expect("open until finish");
        w.write(batch)
            .map_err(|e| TableError::parquet(&self.path, e))?;
        w.flush().map_err(|e| TableError::parquet(&self.path, e))
    }

    /// Writes the footer and renames the file into place.
    pub fn finish(mut self) -> Result<()> {
        let w = self.writer.take().expect("open until finish");
        w.close().map_err(|e| TableError::parquet(&self.path, e))?;
        std::fs::rename(&self.tmp, &self.path).map_err(|e| TableError::io(&self.path, e))
    }
}

impl Drop for ParquetStream {
    fn drop(&mut self) {
        if self.writer.is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}
