//! # hepae-ingest
//!
//! Turns an object collection of ROOT trees (NanoAOD `nJet` + `Jet_pt`,
//! ATLAS `AnalysisJetsAuxDyn.pt`, Delphes `Jet.PT`, ...) into a flat table
//! with one row per object, applies inclusive range cuts, optionally drops
//! all-zero columns, and writes zstd-compressed Parquet plus a JSON sidecar.

#![warn(missing_docs)]

mod parquet_io;
mod spec;

pub use parquet_io::{
    parquet_bytes, read_parquet, read_parquet_schema, write_json_atomic, write_parquet_atomic,
    write_parquet_atomic_with, write_parquet_parts_atomic, ParquetOptions, DEFAULT_ZSTD_LEVEL,
};
pub use spec::{ColumnSpec, Cut};

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{Field, Schema};
use hepae_root::{Column, Interpretation, Layout, RootFile, Tree, Values};
use rayon::prelude::*;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Errors of the ingest stage; each names the file and the tree/branch/column.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Reading the ROOT file failed.
    #[error(transparent)]
    Root(#[from] hepae_root::Error),
    /// A requested column has no branch in the file.
    #[error("{file}: tree {tree}: no branch for column '{column}' of collection '{collection}' (tried {tried})")]
    MissingBranch {
        /// File concerned.
        file: PathBuf,
        /// Tree name.
        tree: String,
        /// Collection prefix.
        collection: String,
        /// Column asked for.
        column: String,
        /// Branch names tried.
        tried: String,
    },
    /// Anything else about the input or the request.
    #[error("{0}")]
    Invalid(String),
    /// Writing output failed.
    #[error("{0}")]
    Io(String),
}

/// Result of this crate.
pub type Result<T> = std::result::Result<T, IngestError>;

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

/// A table in memory: the columns and the report describing them.
pub struct Table {
    /// One Arrow batch per input file, in input order, all with the same
    /// schema (object columns, then `event`, `file_index`); some may be empty.
    /// Kept apart so that each file's buffers are cut in place, never copied
    /// into one table; [`write_parquet_parts_atomic`] writes them as one.
    pub parts: Vec<RecordBatch>,
    /// Report of the stage.
    pub report: IngestReport,
}

impl Table {
    /// Rows over all parts.
    pub fn num_rows(&self) -> usize {
        self.parts.iter().map(|b| b.num_rows()).sum()
    }

    /// Columns of the table.
    pub fn num_columns(&self) -> usize {
        self.parts[0].num_columns()
    }

    /// The parts as one batch (concatenated, unless there is only one).
    pub fn to_batch(&self) -> RecordBatch {
        parquet_io::arrow_select_concat(&self.parts[0].schema(), &self.parts)
            .expect("parts share one schema")
    }
}

/// Resolves each requested column to a branch of the tree.
fn resolve_columns(
    file: &Path,
    tree: &Tree,
    collection: &str,
    columns: &[ColumnSpec],
) -> Result<Vec<(String, String)>> {
    if columns.is_empty() {
        return Ok(default_columns(tree, collection));
    }
    let mut out = Vec::new();
    for c in columns {
        // An explicit branch is recorded as given; a derived one by its path.
        let (cands, given) = match &c.branch {
            Some(b) => (vec![b.clone()], true),
            None => (candidates(collection, &c.name), false),
        };
        let Some(found) = cands.iter().find_map(|n| tree.branch(n).map(|b| (n, b))) else {
            return Err(IngestError::MissingBranch {
                file: file.to_path_buf(),
                tree: tree.path.clone(),
                collection: collection.into(),
                column: c.name.clone(),
                tried: cands.join(", "),
            });
        };
        out.push((
            c.name.clone(),
            if given {
                found.0.clone()
            } else {
                found.1.path.clone()
            },
        ));
    }
    Ok(out)
}

/// Branch names a column may have: NanoAOD `Jet_pt`, ATLAS/Delphes `Jet.pt`.
fn candidates(collection: &str, column: &str) -> Vec<String> {
    vec![
        format!("{collection}_{column}"),
        format!("{collection}.{column}"),
        format!("{collection}/{collection}.{column}"),
    ]
}

/// Every array-valued numeric branch named after the collection.
fn default_columns(tree: &Tree, collection: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for b in &tree.branches {
        let Interpretation::Numeric { layout, .. } = &b.interpretation else {
            continue;
        };
        if matches!(layout, Layout::Scalar) {
            continue;
        }
        for sep in ["_", "."] {
            if let Some(rest) = b.name.strip_prefix(&format!("{collection}{sep}")) {
                out.push((rest.to_string(), b.path.clone()));
                break;
            }
        }
    }
    out
}

/// One file's resolved (column, branch) names, decoded columns and event count.
type FileData = (Vec<(String, String)>, Vec<Column>, u64);

fn read_file(spec: &IngestSpec, path: &Path) -> Result<FileData> {
    let file = RootFile::open(path)?;
    let tree = file.tree(&spec.tree)?;
    let cols = resolve_columns(path, &tree, &spec.collection, &spec.columns)?;
    if cols.is_empty() {
        return Err(IngestError::Invalid(format!(
            "{}: tree {}: empty selection: no array branches found for collection '{}'",
            path.display(),
            tree.path,
            spec.collection
        )));
    }
    let branches: Vec<_> = cols.iter().map(|(_, b)| tree.branch(b).unwrap()).collect();
    let data = file.read_branches(&tree, &branches)?;
    // All columns must share the per-event structure of the collection.
    let reference = data[0].offsets.as_ref().ok_or_else(|| {
        IngestError::Invalid(format!(
            "{}: tree {}, branch {}: holds one value per event, not one per object of '{}'",
            path.display(),
            tree.path,
            cols[0].1,
            spec.collection
        ))
    })?;
    for (i, d) in data.iter().enumerate().skip(1) {
        match &d.offsets {
            Some(o) if o == reference => {}
            _ => {
                return Err(IngestError::Invalid(format!(
                    "{}: tree {}, branch {}: number of objects per event differs from branch {} (not the same collection?)",
                    path.display(),
                    tree.path,
                    cols[i].1,
                    cols[0].1
                )))
            }
        }
    }
    Ok((cols, data, tree.entries.max(0) as u64))
}

/// Reads all inputs (in parallel, output in input order), flattens, cuts.
pub fn ingest(spec: &IngestSpec, on_file_done: &(dyn Fn(&Path) + Sync)) -> Result<Table> {
    if spec.inputs.is_empty() {
        return Err(IngestError::Invalid("no input files".into()));
    }
    let per_file: Vec<Result<_>> = spec
        .inputs
        .par_iter()
        .map(|p| {
            let r = read_file(spec, p);
            on_file_done(p);
            r
        })
        .collect();
    let mut files = Vec::with_capacity(per_file.len());
    for r in per_file {
        files.push(r?);
    }
    // Column names and types must agree between files.
    let (names, first_data, _) = &files[0];
    for (k, (n, d, _)) in files.iter().enumerate().skip(1) {
        let same = n.iter().map(|c| &c.0).eq(names.iter().map(|c| &c.0))
            && d.iter()
                .map(|c| c.values.dtype())
                .eq(first_data.iter().map(|c| c.values.dtype()));
        if !same {
            return Err(IngestError::Invalid(format!(
                "{}: columns or types differ from {}",
                spec.inputs[k].display(),
                spec.inputs[0].display()
            )));
        }
    }
    let names: Vec<(String, String)> = names.clone();
    let mut reports = Vec::new();
    for (fi, (_, data, nevents)) in files.iter().enumerate() {
        reports.push(FileReport {
            path: spec.inputs[fi].display().to_string(),
            events: *nevents,
            rows: *data[0].offsets.as_ref().unwrap().last().unwrap(),
        });
    }
    let rows_before: u64 = reports.iter().map(|r| r.rows).sum();
    // Row selection per file; nothing is copied until the final columns are built.
    let mut keeps: Vec<Vec<bool>> = reports
        .iter()
        .map(|r| vec![true; r.rows as usize])
        .collect();
    // Non-finite values: fail, or drop and report.
    let mut nonfinite = 0u64;
    // Scanned in parallel (file x column); reported in input order.
    let bad_all: Vec<Vec<Vec<usize>>> = files
        .par_iter()
        .map(|(_, data, _)| {
            data.par_iter()
                .map(|c| c.values.nonfinite_indices())
                .collect()
        })
        .collect();
    for (fi, ((_, data, _), bad_cols)) in files.iter().zip(bad_all).enumerate() {
        for (ci, (c, bad)) in data.iter().zip(bad_cols).enumerate() {
            let Some(&first) = bad.first() else { continue };
            if !spec.drop_nonfinite {
                let offsets = c.offsets.as_ref().unwrap();
                let ev = offsets.partition_point(|&o| o <= first as u64) - 1;
                return Err(IngestError::Invalid(format!(
                    "{}: tree {}, branch {}: {} NaN/Inf values (first in event {ev}); pass --drop-nonfinite to drop those rows",
                    spec.inputs[fi].display(),
                    spec.tree,
                    names[ci].1,
                    bad.len()
                )));
            }
            for i in bad {
                if keeps[fi][i] {
                    keeps[fi][i] = false;
                    nonfinite += 1;
                }
            }
        }
    }
    let events: Vec<Vec<i64>> = files
        .par_iter()
        .map(|(_, data, _)| {
            let offsets = data[0].offsets.as_ref().unwrap();
            let mut ev = Vec::with_capacity(*offsets.last().unwrap() as usize);
            for e in 0..offsets.len() - 1 {
                ev.extend(std::iter::repeat_n(
                    e as i64,
                    (offsets[e + 1] - offsets[e]) as usize,
                ));
            }
            ev
        })
        .collect();
    let mut cut_reports = Vec::new();
    for cut in &spec.cuts {
        let idx = names.iter().position(|(n, _)| *n == cut.column);
        if idx.is_none() && cut.column != "event" && cut.column != "file_index" {
            return Err(IngestError::Invalid(format!(
                "cut '{}': no column '{}' (columns: {})",
                cut.text,
                cut.column,
                names
                    .iter()
                    .map(|c| c.0.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let range = cut.lo..=cut.hi;
        keeps
            .par_iter_mut()
            .enumerate()
            .for_each(|(fi, keep)| match idx {
                Some(i) => files[fi].1[i].values.retain_in_range(&range, keep),
                None if cut.column == "event" => {
                    for (k, &e) in keep.iter_mut().zip(&events[fi]) {
                        *k &= range.contains(&(e as f64));
                    }
                }
                None => {
                    if !range.contains(&((spec.first_file_index + fi as i32) as f64)) {
                        keep.fill(false);
                    }
                }
            });
        cut_reports.push(CutReport {
            cut: cut.text.clone(),
            rows_after: keeps.iter().flatten().filter(|k| **k).count() as u64,
        });
    }
    let rows_after = keeps.iter().flatten().filter(|k| **k).count() as u64;
    if rows_after == 0 {
        return Err(IngestError::Invalid(format!(
            "empty selection: none of the {rows_before} {} objects pass the cuts",
            spec.collection
        )));
    }
    // Cut each file's buffers in place: no second copy of the table is made.
    let mut files: Vec<Vec<Values>> = files
        .into_iter()
        .map(|(_, data, _)| data.into_iter().map(|c| c.values).collect())
        .collect();
    files
        .par_iter_mut()
        .zip(&keeps)
        .for_each(|(cols, keep)| cols.par_iter_mut().for_each(|v| v.retain_mask(keep)));
    let mut dropped = Vec::new();
    let mut zero = vec![false; names.len()];
    if spec.drop_zero_columns {
        zero = (0..names.len())
            .into_par_iter()
            .map(|ci| files.iter().all(|f| f[ci].all_zero()))
            .collect();
        dropped = names
            .iter()
            .zip(&zero)
            .filter(|(_, z)| **z)
            .map(|((n, _), _)| n.clone())
            .collect();
        if dropped.len() == names.len() {
            return Err(IngestError::Invalid(
                "empty selection: every column is all zero".into(),
            ));
        }
    }
    let mut fields = Vec::new();
    let mut col_reports = Vec::new();
    for (((n, b), z), v) in names.iter().zip(&zero).zip(&files[0]) {
        if *z {
            continue;
        }
        let dtype = to_arrow(Values::empty(v.dtype(), 0)).data_type().clone();
        col_reports.push(ColumnReport {
            name: n.clone(),
            branch: b.clone(),
            dtype: dtype.to_string(),
        });
        fields.push(Field::new(n, dtype, false));
    }
    fields.push(Field::new("event", arrow_schema::DataType::Int64, false));
    fields.push(Field::new(
        "file_index",
        arrow_schema::DataType::Int32,
        false,
    ));
    let schema = Arc::new(Schema::new(fields));
    let mut parts = Vec::with_capacity(files.len());
    for (fi, ((cols, ev), keep)) in files.into_iter().zip(events).zip(&keeps).enumerate() {
        let mut arrays: Vec<ArrayRef> = cols
            .into_iter()
            .zip(&zero)
            .filter(|(_, z)| !**z)
            .map(|(v, _)| to_arrow(v))
            .collect();
        let event: Vec<i64> = ev
            .iter()
            .zip(keep)
            .filter(|(_, k)| **k)
            .map(|(e, _)| *e)
            .collect();
        let n = event.len();
        arrays.push(Arc::new(arrow_array::Int64Array::from(event)));
        arrays.push(Arc::new(arrow_array::Int32Array::from(vec![
            spec.first_file_index
                + fi as i32;
            n
        ])));
        parts.push(
            RecordBatch::try_new(Arc::clone(&schema), arrays)
                .map_err(|e| IngestError::Invalid(e.to_string()))?,
        );
    }
    Ok(Table {
        parts,
        report: IngestReport {
            hepae_version: env!("CARGO_PKG_VERSION").into(),
            tree: spec.tree.clone(),
            collection: spec.collection.clone(),
            inputs: reports,
            columns: col_reports,
            rows_before_cuts: rows_before,
            rows_nonfinite_dropped: nonfinite,
            cuts: cut_reports,
            rows_after_cuts: rows_after,
            dropped_zero_columns: dropped,
        },
    })
}

/// Arrow array of a value buffer, keeping its exact type.
pub fn to_arrow(v: Values) -> ArrayRef {
    use arrow_array::*;
    match v {
        Values::Bool(x) => Arc::new(BooleanArray::from(x)),
        Values::I8(x) => Arc::new(Int8Array::from(x)),
        Values::I16(x) => Arc::new(Int16Array::from(x)),
        Values::I32(x) => Arc::new(Int32Array::from(x)),
        Values::I64(x) => Arc::new(Int64Array::from(x)),
        Values::U8(x) => Arc::new(UInt8Array::from(x)),
        Values::U16(x) => Arc::new(UInt16Array::from(x)),
        Values::U32(x) => Arc::new(UInt32Array::from(x)),
        Values::U64(x) => Arc::new(UInt64Array::from(x)),
        Values::F32(x) => Arc::new(Float32Array::from(x)),
        Values::F64(x) => Arc::new(Float64Array::from(x)),
    }
}

/// Values of a numeric or boolean column as f64 (exact up to 2^53), or
/// `None` for other types. Shared by the stages that do arithmetic on tables.
pub fn numeric_f64(a: &ArrayRef) -> Option<Vec<f64>> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::*;
    use arrow_schema::DataType as D;
    macro_rules! p {
        ($t:ty) => {
            a.as_primitive::<$t>()
                .values()
                .iter()
                .map(|v| *v as f64)
                .collect()
        };
    }
    Some(match a.data_type() {
        D::Float32 => p!(Float32Type),
        D::Float64 => p!(Float64Type),
        D::Int8 => p!(Int8Type),
        D::Int16 => p!(Int16Type),
        D::Int32 => p!(Int32Type),
        D::Int64 => p!(Int64Type),
        D::UInt8 => p!(UInt8Type),
        D::UInt16 => p!(UInt16Type),
        D::UInt32 => p!(UInt32Type),
        D::UInt64 => p!(UInt64Type),
        D::Boolean => a
            .as_boolean()
            .iter()
            .map(|v| v.unwrap_or(false) as u8 as f64)
            .collect(),
        _ => return None,
    })
}

/// Expands glob patterns (each pattern's matches sorted, so every job of an
/// array sees the same list); plain paths are kept as given, and missing ones
/// fail later with their name. A pattern matching nothing is an error.
pub fn expand_inputs(patterns: &[String]) -> std::result::Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in patterns {
        if p.contains(['*', '?', '[']) {
            let mut hits: Vec<PathBuf> = glob::glob(p)
                .map_err(|e| format!("bad glob pattern '{p}': {e}"))?
                .filter_map(|r| r.ok())
                .collect();
            if hits.is_empty() {
                return Err(format!("{p}: no files match this pattern"));
            }
            hits.sort();
            out.extend(hits);
        } else {
            out.push(PathBuf::from(p));
        }
    }
    Ok(out)
}
