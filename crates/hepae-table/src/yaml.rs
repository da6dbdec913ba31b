//! Strict YAML: unknown keys are errors that name the file, line and column.

use crate::error::{Result, TableError};
use std::path::Path;

/// Reads a YAML file into `T`, whose serde derive decides what is strict
/// (`deny_unknown_fields`); errors name the file, line and column.
pub fn read_yaml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| TableError::io(path, e))?;
    serde_saphyr::from_str(&text).map_err(|source| TableError::Yaml {
        path: path.to_path_buf(),
        source: Box::new(source),
    })
}
