//! `hepae ingest`: ROOT object collections to Parquet, one row per object.

use anyhow::{bail, Context, Result};
use clap::Args;
use hepae_ingest::{ColumnSpec, Cut, IngestSpec};
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct IngestArgs {
    /// ROOT files or glob patterns (quote globs), read in the order given.
    #[arg(long, short, num_args = 1.., required = true)]
    input: Vec<String>,
    /// Tree name (`Events`, `CollectionTree`, `dir/tree`).
    #[arg(long, default_value = "Events")]
    tree: String,
    /// Collection prefix: `Jet`, `GenJetAK8`, `AnalysisJetsAuxDyn`, Delphes `Jet` (ROOT input).
    #[arg(long)]
    collection: Option<String>,
    /// Input format: `root`, or `darkmachines` (challenge CSV). Default: from
    /// the extension (`.csv` is darkmachines).
    #[arg(long)]
    format: Option<String>,
    /// Dark Machines table layout: `events` (one row per event, object
    /// slots) or `objects` (one row per object).
    #[arg(long, default_value = "events")]
    layout: String,
    /// Dark Machines energies and momenta: `GeV` (default) or `MeV` (the files' units).
    #[arg(long, default_value = "GeV")]
    units: String,
    /// Dark Machines object slots of the events layout, e.g. `jets=6,bjets=4`
    /// (the types not named keep their default: bjets 4, jets 6, electrons 2,
    /// muons 2, photons 2).
    #[arg(long, default_value = "")]
    slots: String,
    /// Dark Machines: count and report bad lines instead of failing on the first.
    #[arg(long)]
    skip_bad_lines: bool,
    /// Comma-separated columns; NAME=BRANCH reads an explicit branch. Default: every array branch of the collection.
    #[arg(long, value_delimiter = ',')]
    columns: Vec<String>,
    /// Inclusive range cut COLUMN:MIN:MAX (repeatable; empty bound = open).
    #[arg(long = "cut")]
    cuts: Vec<String>,
    /// Drop columns that are zero in every row after cuts.
    #[arg(long)]
    drop_zero_columns: bool,
    /// Drop rows holding NaN/Inf (counted in the report) instead of failing.
    #[arg(long)]
    drop_nonfinite: bool,
    /// Output Parquet file; a JSON report is written beside it (`OUT.json`).
    #[arg(long, short)]
    out: PathBuf,
    /// zstd compression level of the Parquet output (1-22).
    #[arg(long, default_value_t = hepae_table::DEFAULT_ZSTD_LEVEL, value_parser = clap::value_parser!(i32).range(1..=22))]
    zstd_level: i32,
    /// Print the time taken by each step.
    #[arg(long, short)]
    verbose: bool,
    /// Process only shard K of N (0-based) of the input file list, for job
    /// arrays; `{shard}` in --out is replaced by K, and `file_index` keeps
    /// each file's position in the whole list. See docs/scaling.md.
    #[arg(long, value_name = "K/N")]
    shard: Option<String>,
}

/// `K/N` -> the contiguous, balanced slice of `n` files that shard K gets.
fn shard_range(s: &str, n: usize) -> Result<(usize, std::ops::Range<usize>)> {
    let (k, total) = s
        .split_once('/')
        .and_then(|(k, t)| {
            Some((
                k.trim().parse::<usize>().ok()?,
                t.trim().parse::<usize>().ok()?,
            ))
        })
        .with_context(|| format!("--shard '{s}': expected K/N with 0 <= K < N"))?;
    if total == 0 || k >= total {
        bail!("--shard '{s}': expected K/N with 0 <= K < N");
    }
    Ok((k, k * n / total..(k + 1) * n / total))
}

fn progress_bar(n: usize, bytes: u64) -> indicatif::ProgressBar {
    if n > 1 || bytes > 64 << 20 {
        let pb = indicatif::ProgressBar::new(n as u64);
        pb.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} reading {pos}/{len} branches [{elapsed}] {wide_bar}",
            )
            .expect("valid template"),
        );
        pb
    } else {
        indicatif::ProgressBar::hidden()
    }
}

pub fn run(a: &IngestArgs) -> Result<()> {
    let mut inputs = hepae_ingest::expand_inputs(&a.input)?;
    if super::ingest_dm::is_darkmachines(a.format.as_deref(), &inputs)? {
        return super::ingest_dm::run(&super::ingest_dm::DmArgs {
            inputs,
            out: a.out.clone(),
            layout: &a.layout,
            units: &a.units,
            slots: &a.slots,
            skip_bad_lines: a.skip_bad_lines,
            zstd_level: a.zstd_level,
        });
    }
    let collection = a
        .collection
        .clone()
        .context("--collection is required for ROOT input (e.g. --collection Jet)")?;
    let mut first_file_index = 0;
    let mut out = a.out.clone();
    if let Some(s) = &a.shard {
        let (k, range) = shard_range(s, inputs.len())?;
        if range.is_empty() {
            bail!(
                "--shard {s}: no files for this shard ({} input files)",
                inputs.len()
            );
        }
        first_file_index = range.start as i32;
        inputs = inputs[range].to_vec();
        out = PathBuf::from(a.out.to_string_lossy().replace("{shard}", &k.to_string()));
    }
    let columns = a
        .columns
        .iter()
        .filter(|c| !c.trim().is_empty())
        .map(|c| c.parse::<ColumnSpec>())
        .collect::<Result<Vec<_>, _>>()?;
    let cuts = a
        .cuts
        .iter()
        .map(|c| c.parse::<Cut>())
        .collect::<Result<Vec<_>, _>>()?;
    let spec = IngestSpec {
        inputs: inputs.clone(),
        tree: a.tree.clone(),
        collection,
        columns,
        cuts,
        drop_zero_columns: a.drop_zero_columns,
        drop_nonfinite: a.drop_nonfinite,
        first_file_index,
    };
    let bytes: u64 = inputs
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let pb = progress_bar(inputs.len(), bytes);
    let t0 = std::time::Instant::now();
    let report = hepae_ingest::ingest_to_parquet(&spec, &out, a.zstd_level, &|done, total| {
        pb.set_length(total);
        pb.set_position(done);
    });
    pb.finish_and_clear();
    let report = report?;
    let r = &report;
    if a.verbose {
        // Reading, cutting and encoding overlap (column by column), so only
        // the total is meaningful.
        eprintln!(
            "timing: read+flatten+cuts+parquet write {:.3} s",
            t0.elapsed().as_secs_f64()
        );
    }
    let sidecar = sidecar_path(&out);
    hepae_table::write_json_atomic(r, &sidecar)?;
    let events: u64 = r.inputs.iter().map(|f| f.events).sum();
    eprintln!(
        "read {} file(s): {events} events, {} {} objects before cuts",
        r.inputs.len(),
        r.rows_before_cuts,
        r.collection
    );
    if r.rows_nonfinite_dropped > 0 {
        eprintln!(
            "  dropped {} rows holding NaN/Inf",
            r.rows_nonfinite_dropped
        );
    }
    for c in &r.cuts {
        eprintln!("  cut {:<24} -> {} rows", c.cut, c.rows_after);
    }
    if !r.dropped_zero_columns.is_empty() {
        eprintln!(
            "  dropped all-zero columns: {}",
            r.dropped_zero_columns.join(", ")
        );
    }
    eprintln!(
        "wrote {} rows x {} columns to {} (report: {})",
        r.rows_after_cuts,
        r.columns.len() + 2,
        out.display(),
        sidecar.display()
    );
    Ok(())
}

/// `jets.parquet` -> `jets.parquet.json`.
pub(crate) fn sidecar_path(out: &Path) -> PathBuf {
    let mut s = out.as_os_str().to_owned();
    s.push(".json");
    PathBuf::from(s)
}
