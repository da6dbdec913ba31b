//! Errors of reading model files; each names the file and keeps its cause.

use std::path::{Path, PathBuf};

/// What went wrong with a model directory or its weights.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// File concerned.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A JSON file (configuration, normaliser) does not parse.
    #[error("{}: {source}", path.display())]
    Json {
        /// File concerned.
        path: PathBuf,
        /// serde_json's error.
        #[source]
        source: serde_json::Error,
    },
    /// A safetensors file does not parse or cannot be written.
    #[error("{}: {source}", path.display())]
    SafeTensors {
        /// File concerned.
        path: PathBuf,
        /// safetensors' error.
        #[source]
        source: safetensors::SafeTensorError,
    },
    /// The files parse but do not describe a usable network.
    #[error("{what}: {message}")]
    Invalid {
        /// What was read (a file or directory).
        what: String,
        /// What does not fit.
        message: String,
    },
}

impl ModelError {
    /// An I/O error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> ModelError {
        ModelError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// An inconsistent network description.
    pub fn invalid(what: impl std::fmt::Display, message: impl Into<String>) -> ModelError {
        ModelError::Invalid {
            what: what.to_string(),
            message: message.into(),
        }
    }
}

/// Result of this crate.
pub type Result<T> = std::result::Result<T, ModelError>;
