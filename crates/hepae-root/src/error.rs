//! Errors that name the file and the object they concern.

use std::path::PathBuf;

/// What went wrong, for callers that react differently to each case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The file could not be opened or read.
    Io,
    /// The file does not start with the ROOT magic bytes.
    NotRoot,
    /// A record points past the end of the file (truncated or damaged file).
    Truncated,
    /// A record could not be decoded.
    Malformed,
    /// No tree of that name.
    TreeNotFound,
    /// No branch of that name.
    BranchNotFound,
    /// The branch exists but its type cannot be decoded as numbers.
    Unsupported,
}

/// An error with the file, the object (tree/branch/key) and what happened.
#[derive(Debug, Clone)]
pub struct Error {
    /// Category of the failure.
    pub kind: ErrorKind,
    /// The file concerned.
    pub file: PathBuf,
    /// The object inside the file, e.g. `tree Events, branch Jet_pt`.
    pub object: Option<String>,
    /// What happened.
    pub message: String,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, file: &std::path::Path, message: impl Into<String>) -> Self {
        Error {
            kind,
            file: file.to_path_buf(),
            object: None,
            message: message.into(),
        }
    }

    pub(crate) fn at(mut self, object: impl Into<String>) -> Self {
        self.object = Some(object.into());
        self
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(o) = &self.object {
            write!(f, ": {o}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for Error {}

/// Result with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
