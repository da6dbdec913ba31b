//! # hepae-ingest
//!
//! Turns an object collection of ROOT trees (NanoAOD `nJet` + `Jet_pt`,
//! ATLAS `AnalysisJetsAuxDyn.pt`, Delphes `Jet.PT`, ...) into a flat table
//! with one row per object, applies inclusive range cuts, optionally drops
//! all-zero columns, and writes zstd-compressed Parquet plus a JSON sidecar.

#![warn(missing_docs)]

mod spec;

pub use spec::{ColumnSpec, Cut};

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{Field, Schema};
use hepae_root::{Column, DType, Interpretation, Layout, RootFile, Tree, Values};
use rayon::prelude::*;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

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
    /// Reading or writing a table file failed.
    #[error(transparent)]
    Table(#[from] hepae_table::TableError),
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
    /// into one table; [`hepae_table::write_parquet_parts_atomic`] writes them as one.
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
        hepae_table::concat(&self.parts[0].schema(), &self.parts).expect("parts share one schema")
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

/// One input file, opened, with its columns resolved to branches.
struct Input {
    path: PathBuf,
    file: RootFile,
    tree: Tree,
    /// (column name, branch path).
    cols: Vec<(String, String)>,
    /// Value type of each column.
    dtypes: Vec<DType>,
}

fn open_input(spec: &IngestSpec, path: &Path) -> Result<Input> {
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
    let dtypes = cols
        .iter()
        .map(|(_, b)| file.value_type(&tree, tree.branch(b).unwrap()))
        .collect::<hepae_root::Result<Vec<_>>>()?;
    Ok(Input {
        path: path.to_path_buf(),
        file,
        tree,
        cols,
        dtypes,
    })
}

impl Input {
    /// Reads column `ci`; `parallel` decodes its baskets in parallel.
    fn read(&self, ci: usize, parallel: bool) -> Result<Column> {
        let b = self.tree.branch(&self.cols[ci].1).unwrap();
        Ok(if parallel {
            self.file.read_branch(&self.tree, b)?
        } else {
            self.file.read_branch_sequential(&self.tree, b)?
        })
    }

    /// Checks that column `ci` holds one value per object of `collection`,
    /// with the per-event counts of column 0 (`reference`; `None` for column 0).
    fn check_structure(
        &self,
        collection: &str,
        ci: usize,
        col: &Column,
        reference: Option<&[u64]>,
    ) -> Result<()> {
        let ok = match (&col.offsets, reference) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(o), Some(r)) => o == r,
        };
        if ok {
            return Ok(());
        }
        Err(IngestError::Invalid(if ci == 0 || reference.is_none() {
            format!(
                "{}: tree {}, branch {}: holds one value per event, not one per object of '{collection}'",
                self.path.display(),
                self.tree.path,
                self.cols[ci].1,
            )
        } else {
            format!(
                "{}: tree {}, branch {}: number of objects per event differs from branch {} (not the same collection?)",
                self.path.display(),
                self.tree.path,
                self.cols[ci].1,
                self.cols[0].1
            )
        }))
    }

    /// The error for NaN/Inf values at `bad` (indices) of column `ci`.
    fn nonfinite_error(&self, ci: usize, bad: &[usize], offsets: &[u64]) -> IngestError {
        let ev = offsets.partition_point(|&o| o <= bad[0] as u64) - 1;
        IngestError::Invalid(format!(
            "{}: tree {}, branch {}: {} NaN/Inf values (first in event {ev}); pass --drop-nonfinite to drop those rows",
            self.path.display(),
            self.tree.path,
            self.cols[ci].1,
            bad.len()
        ))
    }
}

/// Where finished columns go: kept in memory, or encoded for a file.
trait Sink: Sync {
    /// A finished column.
    type Out: Send;
    /// Takes column `index` of the full schema, one array per input file.
    fn column(&self, index: usize, parts: Vec<ArrayRef>) -> Result<Self::Out>;
}

/// Keeps columns as Arrow arrays.
struct Memory;

impl Sink for Memory {
    type Out = Vec<ArrayRef>;
    fn column(&self, _: usize, parts: Vec<ArrayRef>) -> Result<Vec<ArrayRef>> {
        Ok(parts)
    }
}

/// Encodes columns into Parquet column chunks (for the file at the path) as
/// they are finished.
struct Encode<'a>(&'a hepae_table::ColumnEncoder, &'a Path);

impl Sink for Encode<'_> {
    type Out = hepae_table::EncodedField;
    fn column(&self, index: usize, parts: Vec<ArrayRef>) -> Result<Self::Out> {
        let refs: Vec<&ArrayRef> = parts.iter().collect();
        self.0.encode(index, &refs).map_err(|e| {
            IngestError::Io(format!(
                "{}: encoding column {index}: {e}",
                self.1.display()
            ))
        })
    }
}

/// Per column, per file: the values already read (and cut) by [`plan`].
type Held = Vec<Vec<Option<Values>>>;

/// What [`plan`] decided before the columns are finished.
struct Plan {
    inputs: Vec<Input>,
    /// Per file, the per-event offsets of the collection.
    offsets: Vec<Vec<u64>>,
    /// Per file, the kept rows as index runs.
    runs: Vec<Vec<std::ops::Range<usize>>>,
    /// Full schema: every column, then `event`, `file_index`.
    schema: Arc<Schema>,
    report: IngestReport,
}

/// Opens every input, reads the columns the cuts need (every column when
/// NaN/Inf rows are dropped, since those rows go from all columns), and
/// decides which rows are kept. Also returns the values it read.
fn plan(spec: &IngestSpec, progress: &(dyn Fn(u64, u64) + Sync)) -> Result<(Plan, Held)> {
    if spec.inputs.is_empty() {
        return Err(IngestError::Invalid("no input files".into()));
    }
    let inputs = spec
        .inputs
        .par_iter()
        .map(|p| open_input(spec, p))
        .collect::<Vec<Result<_>>>()
        .into_iter()
        .collect::<Result<Vec<Input>>>()?;
    // Column names and types must agree between files.
    for inp in inputs.iter().skip(1) {
        let same = inp
            .cols
            .iter()
            .map(|c| &c.0)
            .eq(inputs[0].cols.iter().map(|c| &c.0))
            && inp.dtypes == inputs[0].dtypes;
        if !same {
            return Err(IngestError::Invalid(format!(
                "{}: columns or types differ from {}",
                inp.path.display(),
                inputs[0].path.display()
            )));
        }
    }
    let names = inputs[0].cols.clone();
    let ncols = names.len();
    let mut need = vec![false; ncols];
    need[0] = true;
    for cut in &spec.cuts {
        match names.iter().position(|(n, _)| *n == cut.column) {
            Some(i) => need[i] = true,
            None if cut.column == "event" || cut.column == "file_index" => {}
            None => {
                return Err(IngestError::Invalid(format!(
                    "cut '{}': no column '{}' (columns: {})",
                    cut.text,
                    cut.column,
                    names
                        .iter()
                        .map(|c| c.0.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )))
            }
        }
    }
    if spec.drop_nonfinite {
        need.fill(true);
    }
    let total = (inputs.len() * ncols) as u64;
    let done = AtomicU64::new(0);
    let tick = || progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);
    // Read per (file, column), in parallel; errors reported in file order.
    let jobs: Vec<(usize, usize)> = (0..inputs.len())
        .flat_map(|fi| (0..ncols).filter(|ci| need[*ci]).map(move |ci| (fi, ci)))
        .collect();
    let read: Vec<Result<Column>> = jobs
        .par_iter()
        .map(|&(fi, ci)| {
            let c = inputs[fi].read(ci, true);
            tick();
            c
        })
        .collect();
    let mut cols: Vec<Vec<Option<Column>>> = (0..ncols)
        .map(|_| (0..inputs.len()).map(|_| None).collect())
        .collect();
    for (&(fi, ci), c) in jobs.iter().zip(read) {
        cols[ci][fi] = Some(c?);
    }
    let mut offsets = Vec::with_capacity(inputs.len());
    for (fi, inp) in inputs.iter().enumerate() {
        let c0 = cols[0][fi].as_mut().unwrap();
        inp.check_structure(&spec.collection, 0, c0, None)?;
        offsets.push(c0.offsets.take().unwrap());
        for (ci, per_file) in cols.iter().enumerate().skip(1) {
            if let Some(c) = &per_file[fi] {
                inp.check_structure(&spec.collection, ci, c, Some(&offsets[fi]))?;
            }
        }
    }
    let reports: Vec<FileReport> = inputs
        .iter()
        .zip(&offsets)
        .map(|(inp, o)| FileReport {
            path: inp.path.display().to_string(),
            events: inp.tree.entries.max(0) as u64,
            rows: *o.last().unwrap(),
        })
        .collect();
    let rows_before: u64 = reports.iter().map(|r| r.rows).sum();
    let mut keeps: Vec<Vec<bool>> = reports
        .iter()
        .map(|r| vec![true; r.rows as usize])
        .collect();
    // Non-finite values: fail, or drop and report. Scanned in parallel,
    // reported in input order.
    let mut nonfinite = 0u64;
    let bad: Vec<Vec<Option<Vec<usize>>>> = (0..inputs.len())
        .into_par_iter()
        .map(|fi| {
            (0..ncols)
                .into_par_iter()
                .map(|ci| cols[ci][fi].as_ref().map(|c| c.values.nonfinite_indices()))
                .collect()
        })
        .collect();
    for (fi, bad_cols) in bad.into_iter().enumerate() {
        for (ci, b) in bad_cols.into_iter().enumerate() {
            let Some(b) = b.filter(|b| !b.is_empty()) else {
                continue;
            };
            if !spec.drop_nonfinite {
                return Err(inputs[fi].nonfinite_error(ci, &b, &offsets[fi]));
            }
            for i in b {
                if keeps[fi][i] {
                    keeps[fi][i] = false;
                    nonfinite += 1;
                }
            }
        }
    }
    let mut cut_reports = Vec::new();
    for cut in &spec.cuts {
        let idx = names.iter().position(|(n, _)| *n == cut.column);
        let range = cut.lo..=cut.hi;
        keeps
            .par_iter_mut()
            .enumerate()
            .for_each(|(fi, keep)| match idx {
                Some(i) => cols[i][fi]
                    .as_ref()
                    .unwrap()
                    .values
                    .retain_in_range(&range, keep),
                None if cut.column == "event" => {
                    let o = &offsets[fi];
                    for e in 0..o.len() - 1 {
                        if !range.contains(&(e as f64)) {
                            keep[o[e] as usize..o[e + 1] as usize].fill(false);
                        }
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
    let runs: Vec<_> = keeps.par_iter().map(|k| hepae_root::kept_runs(k)).collect();
    // What has been read is cut now (the file's columns may depend on it).
    let mut held: Held = cols
        .into_iter()
        .map(|per_file| per_file.into_iter().map(|c| c.map(|c| c.values)).collect())
        .collect();
    held.par_iter_mut().for_each(|per_file| {
        for (v, r) in per_file.iter_mut().zip(&runs) {
            if let Some(v) = v {
                v.retain_runs(r);
            }
        }
    });
    let mut fields: Vec<Field> = names
        .iter()
        .zip(&inputs[0].dtypes)
        .map(|((n, _), d)| Field::new(n, arrow_type(*d), false))
        .collect();
    fields.push(Field::new("event", arrow_schema::DataType::Int64, false));
    fields.push(Field::new(
        "file_index",
        arrow_schema::DataType::Int32,
        false,
    ));
    let columns = names
        .iter()
        .zip(&fields)
        .map(|((n, b), f)| ColumnReport {
            name: n.clone(),
            branch: b.clone(),
            dtype: f.data_type().to_string(),
        })
        .collect();
    let plan = Plan {
        inputs,
        offsets,
        runs,
        schema: Arc::new(Schema::new(fields)),
        report: IngestReport {
            hepae_version: env!("CARGO_PKG_VERSION").into(),
            tree: spec.tree.clone(),
            collection: spec.collection.clone(),
            inputs: reports,
            columns,
            rows_before_cuts: rows_before,
            rows_nonfinite_dropped: nonfinite,
            cuts: cut_reports,
            rows_after_cuts: rows_after,
            dropped_zero_columns: Vec::new(),
        },
    };
    Ok((plan, held))
}

/// Runs one task per column of the full schema on rayon's pool, started in
/// `order`: read (if not yet read), check, cut, test for all-zero, hand to
/// `sink`. Each result (`None` for a dropped all-zero column) goes to `emit`
/// as soon as it is finished. Each column's buffers are freed once the sink
/// has taken them, so the whole table is never held in memory at once.
fn run_columns<S: Sink>(
    spec: &IngestSpec,
    plan: &Plan,
    held: Held,
    sink: &S,
    progress: &(dyn Fn(u64, u64) + Sync),
    order: &[usize],
    emit: &(dyn Fn(usize, Result<Option<S::Out>>) + Sync),
) {
    let ncols = plan.inputs[0].cols.len();
    let nfiles = plan.inputs.len();
    let total = (nfiles * ncols) as u64;
    let already = held.iter().flatten().filter(|v| v.is_some()).count() as u64;
    let done = AtomicU64::new(already);
    let (inputs, offsets, runs) = (&plan.inputs, &plan.offsets, &plan.runs);
    // Columns left to read keep the threads busy on their own when there are
    // enough of them; then each is read on one thread, which also bounds how
    // many decoded columns are alive at once.
    let to_read = held
        .iter()
        .filter(|h| h.iter().any(|v| v.is_none()))
        .count();
    let nested = to_read < 2 * rayon::current_num_threads();
    let slots: Vec<Mutex<Option<Vec<Option<Values>>>>> =
        held.into_iter().map(|h| Mutex::new(Some(h))).collect();
    let column = |ci: usize| -> Result<Option<S::Out>> {
        let held = slots[ci]
            .lock()
            .expect("no task panicked")
            .take()
            .expect("each column runs once");
        let mut parts = Vec::with_capacity(nfiles);
        for (fi, h) in held.into_iter().enumerate() {
            // Held values were cut when the rows were chosen.
            let v = match h {
                Some(v) => v,
                None => {
                    let c = inputs[fi].read(ci, nested)?;
                    progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);
                    inputs[fi].check_structure(&spec.collection, ci, &c, Some(&offsets[fi]))?;
                    // Reached only when NaN/Inf fail the run (else all were read).
                    let bad = c.values.nonfinite_indices();
                    if !bad.is_empty() {
                        return Err(inputs[fi].nonfinite_error(ci, &bad, &offsets[fi]));
                    }
                    let mut v = c.values;
                    v.retain_runs(&runs[fi]);
                    v
                }
            };
            parts.push(v);
        }
        if spec.drop_zero_columns && parts.iter().all(|v| v.all_zero()) {
            return Ok(None);
        }
        sink.column(ci, parts.into_iter().map(to_arrow).collect())
            .map(Some)
    };
    let extra = |k: usize| -> Result<Option<S::Out>> {
        let parts: Vec<ArrayRef> = (0..nfiles)
            .map(|fi| -> ArrayRef {
                if k == 0 {
                    Arc::new(arrow_array::Int64Array::from(kept_events(
                        &offsets[fi],
                        &runs[fi],
                    )))
                } else {
                    let n = runs[fi].iter().map(|r| r.len()).sum();
                    Arc::new(arrow_array::Int32Array::from(vec![
                        spec.first_file_index
                            + fi as i32;
                        n
                    ]))
                }
            })
            .collect();
        sink.column(ncols + k, parts).map(Some)
    };
    // Tasks start in `order` (not rayon's halving of the index range), so
    // they also finish about in that order.
    let next = AtomicUsize::new(0);
    rayon::scope(|s| {
        for _ in 0..rayon::current_num_threads() {
            s.spawn(|_| {
                while let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                    emit(
                        i,
                        if i < ncols {
                            column(i)
                        } else {
                            extra(i - ncols)
                        },
                    );
                }
            });
        }
    });
}

/// [`run_columns`] in column order, all results collected; the first error
/// in column order is returned.
fn finish<S: Sink>(
    spec: &IngestSpec,
    plan: &Plan,
    held: Held,
    sink: &S,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<Vec<Option<S::Out>>> {
    let n = plan.schema.fields().len();
    let results = Mutex::new(Vec::with_capacity(n));
    let order: Vec<usize> = (0..n).collect();
    run_columns(spec, plan, held, sink, progress, &order, &|i, r| {
        results.lock().expect("no task panicked").push((i, r));
    });
    let mut results = results.into_inner().expect("no task panicked");
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// The event number of every kept row.
fn kept_events(offsets: &[u64], runs: &[std::ops::Range<usize>]) -> Vec<i64> {
    let mut out = Vec::with_capacity(runs.iter().map(|r| r.len()).sum());
    let mut e = 0;
    for r in runs {
        for row in r.clone() {
            while offsets[e + 1] as usize <= row {
                e += 1;
            }
            out.push(e as i64);
        }
    }
    out
}

/// Records the columns found all zero (`zero`, one per object column) as
/// dropped and keeps only the others' reports.
fn drop_columns(report: &mut IngestReport, zero: &[bool]) -> Result<()> {
    report.dropped_zero_columns = report
        .columns
        .iter()
        .zip(zero)
        .filter(|(_, z)| **z)
        .map(|(c, _)| c.name.clone())
        .collect();
    if report.dropped_zero_columns.len() == report.columns.len() {
        return Err(IngestError::Invalid(
            "empty selection: every column is all zero".into(),
        ));
    }
    let mut z = zero.iter();
    report.columns.retain(|_| !*z.next().unwrap());
    Ok(())
}

/// Records which columns were dropped and keeps only the others' reports.
fn settle<T>(report: &mut IngestReport, done: Vec<Option<T>>) -> Result<Vec<(usize, T)>> {
    let zero: Vec<bool> = done.iter().map(|d| d.is_none()).collect();
    drop_columns(report, &zero[..report.columns.len()])?;
    Ok(done
        .into_iter()
        .enumerate()
        .filter_map(|(i, d)| d.map(|d| (i, d)))
        .collect())
}

/// Reads all inputs (in parallel, output in input order), flattens, cuts,
/// and keeps the table in memory. `progress(done, total)` is called as
/// branches are read.
pub fn ingest(spec: &IngestSpec, progress: &(dyn Fn(u64, u64) + Sync)) -> Result<Table> {
    let (mut plan, held) = plan(spec, progress)?;
    let done = finish(spec, &plan, held, &Memory, progress)?;
    let kept = settle(&mut plan.report, done)?;
    let schema = Arc::new(Schema::new(
        kept.iter()
            .map(|(i, _)| plan.schema.field(*i).clone())
            .collect::<Vec<_>>(),
    ));
    let mut per_file: Vec<Vec<ArrayRef>> = vec![Vec::new(); plan.inputs.len()];
    for (_, parts) in kept {
        for (f, a) in per_file.iter_mut().zip(parts) {
            f.push(a);
        }
    }
    let parts = per_file
        .into_iter()
        .map(|arrays| {
            RecordBatch::try_new(Arc::clone(&schema), arrays)
                .map_err(|e| IngestError::Invalid(e.to_string()))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Table {
        parts,
        report: plan.report,
    })
}

/// [`ingest`] straight to a zstd Parquet file at `path` (level
/// `zstd_level`), with the report as key/value metadata `hepae.ingest`.
/// Each column is encoded as soon as it is read and cut, and the file is
/// written while later columns are still being encoded, so the table is
/// never held in memory whole. Written to a temporary file and renamed, so
/// a failure leaves no output.
pub fn ingest_to_parquet(
    spec: &IngestSpec,
    path: &Path,
    zstd_level: i32,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<IngestReport> {
    match streamed(spec, path, zstd_level, progress, true)? {
        Some(report) => Ok(report),
        // A column guessed to hold values was all zero: do it again, writing
        // only once every column is known.
        None => Ok(streamed(spec, path, zstd_level, progress, false)?.expect("nothing is guessed")),
    }
}

/// The file's columns must be known before it is written, and with
/// `--drop-zero-columns` that is only known once a column is read. So the
/// columns likely to be all zero (ROOT compressed them 8x or more; or, when
/// not `guess`, every column) run first, then the file is begun on the guess
/// that every other column holds values, and written as they finish. Returns
/// `None`, leaving no file, when the guess was wrong.
fn streamed(
    spec: &IngestSpec,
    path: &Path,
    zstd_level: i32,
    progress: &(dyn Fn(u64, u64) + Sync),
    guess: bool,
) -> Result<Option<IngestReport>> {
    let (plan, held) = plan(spec, progress)?;
    let ncols = plan.inputs[0].cols.len();
    let n = ncols + 2;
    let first: Vec<bool> = (0..n)
        .map(|ci| {
            ci < ncols
                && spec.drop_zero_columns
                && (!guess
                    || plan.inputs.iter().all(|inp| {
                        let b = inp.tree.branch(&inp.cols[ci].1).unwrap();
                        b.zip_bytes > 0 && b.tot_bytes >= 8 * b.zip_bytes
                    }))
        })
        .collect();
    let order: Vec<usize> = (0..n)
        .filter(|i| first[*i])
        .chain((0..n).filter(|i| !first[*i]))
        .collect();
    let encoder = hepae_table::ColumnEncoder::new(
        Arc::clone(&plan.schema),
        plan.report.rows_after_cuts as usize,
        &hepae_table::ParquetOptions::zstd(zstd_level),
    )
    .map_err(|e| IngestError::Io(format!("{}: {e}", path.display())))?;
    let plan = &plan;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::scope(|ts| {
        let sink = Encode(&encoder, path);
        ts.spawn(move || {
            run_columns(spec, plan, held, &sink, progress, &order, &|i, r| {
                // The receiver outlives the tasks (it drains the channel).
                let _ = tx.send((i, r));
            })
        });
        let mut received = 0;
        let mut failure: Option<(usize, IngestError)> = None;
        // Keeps the first error in column order, whatever order tasks end in.
        let note = |failure: &mut Option<(usize, IngestError)>, i: usize, e| {
            if failure.as_ref().is_none_or(|(j, _)| i < *j) {
                *failure = Some((i, e));
            }
        };
        // The columns run first decide which columns the file has.
        let mut zero = vec![false; n];
        let mut early = Vec::new();
        let mut pending = first.iter().filter(|f| **f).count();
        while pending > 0 {
            let (i, r) = rx.recv().expect("a result for every column");
            received += 1;
            pending -= first[i] as usize;
            match r {
                Ok(Some(f)) => early.push((i, f)),
                Ok(None) => zero[i] = true,
                Err(e) => note(&mut failure, i, e),
            }
        }
        let mut report = plan.report.clone();
        let mut wrong_guess = false;
        // `None`: no file was begun.
        let mut written = None;
        if failure.is_none() {
            drop_columns(&mut report, &zero[..ncols])?;
            let kept: Vec<usize> = (0..n).filter(|i| !zero[*i]).collect();
            let meta = vec![(
                "hepae.ingest".to_string(),
                serde_json::to_string(&report).map_err(|e| IngestError::Io(e.to_string()))?,
            )];
            let rest = std::iter::from_fn(|| {
                while received < n && failure.is_none() && !wrong_guess {
                    let (i, r) = rx.recv().expect("a result for every column");
                    received += 1;
                    match r {
                        Ok(Some(f)) => return Some((i, f)),
                        Ok(None) => wrong_guess = true,
                        Err(e) => note(&mut failure, i, e),
                    }
                }
                None
            });
            written = Some(hepae_table::write_file_atomic(path, |w| {
                encoder.write_fields(&kept, early.into_iter().chain(rest), w, &meta)
            }));
        }
        while received < n {
            if let (i, Err(e)) = rx.recv().expect("a result for every column") {
                note(&mut failure, i, e);
            }
            received += 1;
        }
        if failure.is_some() || wrong_guess {
            // Not reached with a file written (one of its columns would be
            // missing), but a failed run must leave none.
            if let Some(Ok(())) = written {
                let _ = std::fs::remove_file(path);
            }
            return match failure {
                Some((_, e)) => Err(e),
                None => Ok(None),
            };
        }
        written.expect("no failure, so the file was begun")?;
        Ok(Some(report))
    })
}

/// Arrow type of a ROOT value type.
fn arrow_type(d: DType) -> arrow_schema::DataType {
    to_arrow(Values::empty(d, 0)).data_type().clone()
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
