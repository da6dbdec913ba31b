//! The column-by-column pass: every kept column read, checked, cut,
//! tested for zero and encoded, in memory or streamed into Parquet.

use super::*;

/// Runs one task per column of the full schema on rayon's pool, started in
/// `order`: read (if not yet read), check, cut, test for all-zero, hand to
/// `sink`. Each result (`None` for a dropped all-zero column) goes to `emit`
/// as soon as it is finished. Each column's buffers are freed once the sink
/// has taken them, so the whole table is never held in memory at once.
pub(crate) fn run_columns<S: Sink>(
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
pub(crate) fn finish<S: Sink>(
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
pub(crate) fn kept_events(offsets: &[u64], runs: &[std::ops::Range<usize>]) -> Vec<i64> {
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
pub(crate) fn drop_columns(report: &mut IngestReport, zero: &[bool]) -> Result<()> {
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
pub(crate) fn settle<T>(
    report: &mut IngestReport,
    done: Vec<Option<T>>,
) -> Result<Vec<(usize, T)>> {
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
pub(crate) fn streamed(
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
