//! Errors of table I/O; each names the file and keeps its cause.

use std::path::{Path, PathBuf};

/// What went wrong reading or writing a table, a JSON or a YAML file.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// Opening, reading, writing or renaming a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// File concerned.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// Parquet decoding or encoding failed.
    #[error("{}: {source}", path.display())]
    Parquet {
        /// File concerned.
        path: PathBuf,
        /// parquet's error.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// Arrow could not combine or convert the data.
    #[error("{}: {source}", path.display())]
    Arrow {
        /// File concerned.
        path: PathBuf,
        /// arrow's error.
        #[source]
        source: arrow_schema::ArrowError,
    },
    /// JSON encoding failed.
    #[error("{}: {source}", path.display())]
    Json {
        /// File concerned.
        path: PathBuf,
        /// serde_json's error.
        #[source]
        source: serde_json::Error,
    },
    /// A YAML file does not parse or has a wrong or unknown key.
    #[error("{}: {source}", path.display())]
    Yaml {
        /// File concerned.
        path: PathBuf,
        /// The parser's error, with line and column (boxed: it is large).
        #[source]
        source: Box<serde_saphyr::Error>,
    },
    /// The writer of an atomic file failed.
    #[error("{}: {source}", path.display())]
    Write {
        /// File concerned.
        path: PathBuf,
        /// The writer's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl TableError {
    /// An I/O error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> TableError {
        TableError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// A Parquet error on `path`.
    pub fn parquet(path: &Path, source: parquet::errors::ParquetError) -> TableError {
        TableError::Parquet {
            path: path.to_path_buf(),
            source,
        }
    }

    /// An Arrow error on `path`.
    pub fn arrow(path: &Path, source: arrow_schema::ArrowError) -> TableError {
        TableError::Arrow {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Result of this crate.
pub type Result<T> = std::result::Result<T, TableError>;
