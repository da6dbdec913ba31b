//! Opening the inputs, and the first pass: the columns the row selection
//! needs, read and cut, and which rows are kept.

use super::*;

/// One input file, opened, with its columns resolved to branches.
pub(crate) struct Input {
    pub(crate) path: PathBuf,
    pub(crate) file: RootFile,
    pub(crate) tree: Tree,
    /// (column name, branch path).
    pub(crate) cols: Vec<(String, String)>,
    /// Value type of each column.
    pub(crate) dtypes: Vec<DType>,
}

pub(crate) fn open_input(spec: &IngestSpec, path: &Path) -> Result<Input> {
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
    pub(crate) fn read(&self, ci: usize, parallel: bool) -> Result<Column> {
        let b = self.tree.branch(&self.cols[ci].1).unwrap();
        Ok(if parallel {
            self.file.read_branch(&self.tree, b)?
        } else {
            self.file.read_branch_sequential(&self.tree, b)?
        })
    }

    /// Checks that column `ci` holds one value per object of `collection`,
    /// with the per-event counts of column 0 (`reference`; `None` for column 0).
    pub(crate) fn check_structure(
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
    pub(crate) fn nonfinite_error(&self, ci: usize, bad: &[usize], offsets: &[u64]) -> IngestError {
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
pub(crate) trait Sink: Sync {
    /// A finished column.
    type Out: Send;
    /// Takes column `index` of the full schema, one array per input file.
    fn column(&self, index: usize, parts: Vec<ArrayRef>) -> Result<Self::Out>;
}

/// Keeps columns as Arrow arrays.
pub(crate) struct Memory;

impl Sink for Memory {
    type Out = Vec<ArrayRef>;
    fn column(&self, _: usize, parts: Vec<ArrayRef>) -> Result<Vec<ArrayRef>> {
        Ok(parts)
    }
}

/// Encodes columns into Parquet column chunks (for the file at the path) as
/// they are finished.
pub(crate) struct Encode<'a>(
    pub(crate) &'a hepae_table::ColumnEncoder,
    pub(crate) &'a Path,
);

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
pub(crate) type Held = Vec<Vec<Option<Values>>>;

/// What [`plan`] decided before the columns are finished.
pub(crate) struct Plan {
    pub(crate) inputs: Vec<Input>,
    /// Per file, the per-event offsets of the collection.
    pub(crate) offsets: Vec<Vec<u64>>,
    /// Per file, the kept rows as index runs.
    pub(crate) runs: Vec<Vec<std::ops::Range<usize>>>,
    /// Full schema: every column, then `event`, `file_index`.
    pub(crate) schema: Arc<Schema>,
    pub(crate) report: IngestReport,
}

/// Opens every input, reads the columns the cuts need (every column when
/// NaN/Inf rows are dropped, since those rows go from all columns), and
/// decides which rows are kept. Also returns the values it read.
pub(crate) fn plan(
    spec: &IngestSpec,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<(Plan, Held)> {
    let inputs = open_inputs(spec)?;
    let names = inputs[0].cols.clone();
    let need = needed_columns(spec, &names)?;
    let mut cols = read_needed(&inputs, &need, progress)?;
    let offsets = file_offsets(spec, &inputs, &mut cols)?;
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
    let nonfinite = drop_nonfinite(spec, &inputs, &cols, &offsets, &mut keeps)?;
    let cut_reports = apply_cuts(spec, &names, &cols, &offsets, &mut keeps);
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
    let (schema, columns) = schema_of(&names, &inputs[0].dtypes);
    let report = IngestReport {
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
    };
    let plan = Plan {
        inputs,
        offsets,
        runs,
        schema,
        report,
    };
    Ok((plan, held))
}

/// Opens every input in parallel; column names and types must agree
/// between files.
fn open_inputs(spec: &IngestSpec) -> Result<Vec<Input>> {
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
    Ok(inputs)
}

/// Which columns must be read before the rows are chosen: the first (for
/// the offsets), those the cuts name, and all of them when NaN/Inf rows go.
fn needed_columns(spec: &IngestSpec, names: &[(String, String)]) -> Result<Vec<bool>> {
    let mut need = vec![false; names.len()];
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
    Ok(need)
}

/// Columns read so far, `[column][file]`.
type Read = Vec<Vec<Option<Column>>>;

/// Reads the needed (file, column) pairs in parallel; errors are reported
/// in file order.
fn read_needed(
    inputs: &[Input],
    need: &[bool],
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<Read> {
    let ncols = need.len();
    let total = (inputs.len() * ncols) as u64;
    let done = AtomicU64::new(0);
    let tick = || progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);
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
    let mut cols: Read = (0..ncols)
        .map(|_| (0..inputs.len()).map(|_| None).collect())
        .collect();
    for (&(fi, ci), c) in jobs.iter().zip(read) {
        cols[ci][fi] = Some(c?);
    }
    Ok(cols)
}

/// Per file, the collection's per-event offsets (from the first column),
/// with every other read column checked against them.
fn file_offsets(spec: &IngestSpec, inputs: &[Input], cols: &mut Read) -> Result<Vec<Vec<u64>>> {
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
    Ok(offsets)
}

/// Non-finite values: fail, or drop the rows and count them. Scanned in
/// parallel, reported in input order.
fn drop_nonfinite(
    spec: &IngestSpec,
    inputs: &[Input],
    cols: &Read,
    offsets: &[Vec<u64>],
    keeps: &mut [Vec<bool>],
) -> Result<u64> {
    let ncols = cols.len();
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
    Ok(nonfinite)
}

/// Applies the cuts in order, recording the rows left after each.
fn apply_cuts(
    spec: &IngestSpec,
    names: &[(String, String)],
    cols: &Read,
    offsets: &[Vec<u64>],
    keeps: &mut [Vec<bool>],
) -> Vec<CutReport> {
    let mut cut_reports = Vec::new();
    for cut in &spec.cuts {
        let idx = names.iter().position(|(n, _)| *n == cut.column);
        let range = cut.range();
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
    cut_reports
}

/// The output schema (every column, then `event`, `file_index`) and the
/// column entries of the report.
fn schema_of(names: &[(String, String)], dtypes: &[DType]) -> (Arc<Schema>, Vec<ColumnReport>) {
    let mut fields: Vec<Field> = names
        .iter()
        .zip(dtypes)
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
    (Arc::new(Schema::new(fields)), columns)
}
