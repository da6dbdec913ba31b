//! What to read (`IngestSpec`) and what was read (the JSON report).

use super::*;

/// What to read.
#[derive(Debug, Clone)]
pub struct IngestSpec {
    /// ROOT files, read in this order.
    pub inputs: Vec<PathBuf>,
    /// Tree name (`Events`, `CollectionTree`, `dir/tree`).
    pub tree: String,
    /// Collection prefix (`Jet`, `GenJetAK8`, `AnalysisJetsAuxDyn`).
    pub collection: String,
    /// Columns; empty means every numeric branch of the collection.
    pub columns: Vec<ColumnSpec>,
    /// Inclusive range cuts, applied in order.
    pub cuts: Vec<Cut>,
    /// Drop columns that are zero in every row after cuts.
    pub drop_zero_columns: bool,
    /// Drop rows with NaN/Inf (reported) instead of failing.
    pub drop_nonfinite: bool,
    /// `file_index` of the first input: a shard of a larger file list keeps
    /// the indices the files have in the whole list.
    pub first_file_index: i32,
}

/// Per-file facts.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    /// Path as given.
    pub path: String,
    /// Events (tree entries) in the file.
    pub events: u64,
    /// Objects (rows) before cuts.
    pub rows: u64,
}

/// One column of the output.
#[derive(Debug, Clone, Serialize)]
pub struct ColumnReport {
    /// Output column name.
    pub name: String,
    /// Branch it was read from.
    pub branch: String,
    /// Arrow/numpy type name.
    pub dtype: String,
}

/// One line of the cut flow.
#[derive(Debug, Clone, Serialize)]
pub struct CutReport {
    /// The cut as written (`pt:1:8000`).
    pub cut: String,
    /// Rows left after this cut.
    pub rows_after: u64,
}

/// Everything the ingest stage did, written as the JSON sidecar.
#[derive(Debug, Clone, Serialize)]
pub struct IngestReport {
    /// hepae version that wrote the file.
    pub hepae_version: String,
    /// Tree read.
    pub tree: String,
    /// Collection read.
    pub collection: String,
    /// Input files.
    pub inputs: Vec<FileReport>,
    /// Output columns (after dropping).
    pub columns: Vec<ColumnReport>,
    /// Rows before cuts.
    pub rows_before_cuts: u64,
    /// Rows dropped because a value was NaN or infinite.
    pub rows_nonfinite_dropped: u64,
    /// Cut flow.
    pub cuts: Vec<CutReport>,
    /// Rows after all cuts.
    pub rows_after_cuts: u64,
    /// Columns removed because they were zero in every row.
    pub dropped_zero_columns: Vec<String>,
}
