//! Errors of the Dark Machines reader and writer.

use std::path::PathBuf;

/// What went wrong; each names the file and, for bad lines, the line and field.
#[derive(Debug, thiserror::Error)]
pub enum DarkMachinesError {
    /// A line that is not a challenge event.
    #[error("{}:{line}: field {field} ({name}): {message}", path.display())]
    BadLine {
        /// File concerned.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// 1-based `;`-separated field number.
        field: usize,
        /// What the field holds (`MET`, `object 3 pt`, ...).
        name: String,
        /// What is wrong with it.
        message: String,
    },
    /// A table handed to the writer lacks a column or has a wrong type.
    #[error("{}: column '{column}': {message}", path.display())]
    Column {
        /// File being written.
        path: PathBuf,
        /// Column concerned.
        column: String,
        /// What is wrong.
        message: String,
    },
    /// A bad option (slot list, units, layout).
    #[error("{0}")]
    Invalid(String),
    /// Reading or writing a file failed.
    #[error(transparent)]
    Table(#[from] hepae_table::TableError),
}

/// Result of this crate.
pub type Result<T> = std::result::Result<T, DarkMachinesError>;
