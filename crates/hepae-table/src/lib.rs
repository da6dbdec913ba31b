//! # hepae-table
//!
//! The table I/O every stage shares: Parquet read (every common codec) and
//! zstd write with atomic renames, column-at-a-time Parquet encoding, JSON
//! and strict YAML files, numeric column views and the label-column names.

#![warn(missing_docs)]

mod atomic;
mod columns;
mod error;
mod matrix;
mod parquet;
mod stream;
mod yaml;

pub use atomic::{
    tmp_sibling, write_bytes_atomic, write_dir_atomic, write_file_atomic, write_json_atomic,
};
pub use columns::{gzip9_of_raw_float32, numeric_f64, EVENT, FILE_INDEX, LABEL_COLUMNS};
pub use error::{Result, TableError};
pub use matrix::{from_batch, Matrix, MatrixError};
pub use parquet::{
    concat, parquet_bytes, read_parquet, read_parquet_schema, write_parquet_atomic,
    write_parquet_atomic_with, write_parquet_parts_atomic, ColumnEncoder, EncodedField,
    ParquetOptions, DEFAULT_ZSTD_LEVEL,
};
pub use stream::ParquetStream;
pub use yaml::read_yaml;
