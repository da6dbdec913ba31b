//! `hepae`: ROOT-aware autoencoder compression and anomaly detection for HEP.

mod compress_cmd;
mod inspect;
mod rmm_cmd;
mod run_cmd;
mod train_cmd;
mod validate_cmd;

// Large column buffers are allocated and freed per basket; mimalloc reuses
// them where glibc would unmap and page-fault them in again.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use hepae_ingest::{ColumnSpec, Cut, IngestSpec};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "hepae",
    version,
    about = "ROOT-aware autoencoder compression and anomaly detection for HEP data"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the trees of a ROOT file and, per tree, every branch with its type,
    /// layout, counter and entry count (like uproot's `show()`).
    Inspect(inspect::InspectArgs),
    /// Flatten an object collection (jets, muons, ...) of ROOT trees into
    /// zstd Parquet with one row per object.
    Ingest(IngestArgs),
    /// Train an autoencoder (ae, sae, vae, beta_vae) on a Parquet table.
    Train(train_cmd::TrainArgs),
    /// Compress a Parquet table with a trained model into an artifact directory
    /// (latent space, model, residuals for error bounds, lossless columns).
    Compress(compress_cmd::CompressArgs),
    /// Rebuild the original table from an artifact, as Parquet or ROOT (`.root`).
    Decompress(compress_cmd::DecompressArgs),
    /// Judge a compression: residual/response statistics and outliers, PCA and
    /// gzip baselines, W/top mass-peak fits, plots, index.html, summary.json.
    Validate(validate_cmd::ValidateArgs),
    /// Run a YAML pipeline (ingest -> preprocess -> train -> compress ->
    /// decompress -> validate); stages whose inputs and config did not change are skipped.
    Run(run_cmd::RunArgs),
    /// Turn events into Rapidity-Mass Matrices (one row per event).
    Rmm(rmm_cmd::RmmArgs),
    /// Train an autoencoder on SM background RMMs and score every event (ROC, AUC).
    Anomaly(rmm_cmd::AnomalyArgs),
    /// Reports built from pipeline outputs (`report repro`: HEP1/HEP2 beside
    /// the Baler thesis tables).
    Report {
        #[command(subcommand)]
        kind: ReportKind,
    },
    /// Check a dataset manifest (datasets/NAME.yaml) and print it as JSON.
    Dataset(DatasetArgs),
    /// Time training steps of the thesis network (for scripts/bench-train).
    #[command(hide = true)]
    BenchTrain(BenchTrainArgs),
}

#[derive(Subcommand)]
enum ReportKind {
    /// Our HEP1/HEP2 results beside the Baler thesis (cuts, R and R*, gzip,
    /// final losses, outlier shares, W/top fits) as report.md + report.html.
    Repro {
        /// Output directory of the hep1 pipeline (e.g. out/hep1).
        #[arg(long)]
        hep1: Option<PathBuf>,
        /// Output directory of the hep2 pipeline (e.g. out/hep2).
        #[arg(long)]
        hep2: Option<PathBuf>,
        /// Report directory (replaced).
        #[arg(long, short, default_value = "out/repro")]
        out: PathBuf,
        /// Text printed under the title (e.g. the commands that made the outputs).
        #[arg(long)]
        note: Option<String>,
    },
}

#[derive(Args)]
struct DatasetArgs {
    /// Dataset manifest (datasets/NAME.yaml).
    manifest: PathBuf,
}

#[derive(Args)]
struct BenchTrainArgs {
    /// Backend: auto, wgpu, cpu.
    #[arg(long, default_value = "cpu")]
    backend: hepae_train::BackendKind,
    /// Timed steps.
    #[arg(long, default_value_t = 200)]
    steps: usize,
    /// Untimed warm-up steps.
    #[arg(long, default_value_t = 20)]
    warmup: usize,
    /// CPU threads (0: every core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
}

fn bench_train(a: &BenchTrainArgs) -> Result<()> {
    let mut cfg = hepae_train::TrainConfig::default();
    cfg.model.kind = hepae_train::ModelKind::Sae;
    cfg.backend = a.backend;
    cfg.threads = a.threads;
    let t = hepae_train::bench::bench_steps(&cfg, 24, a.warmup, a.steps);
    println!("{}", serde_json::to_string(&t)?);
    Ok(())
}

#[derive(Args)]
struct IngestArgs {
    /// ROOT files or glob patterns (quote globs), read in the order given.
    #[arg(long, short, num_args = 1.., required = true)]
    input: Vec<String>,
    /// Tree name (`Events`, `CollectionTree`, `dir/tree`).
    #[arg(long, default_value = "Events")]
    tree: String,
    /// Collection prefix: `Jet`, `GenJetAK8`, `AnalysisJetsAuxDyn`, Delphes `Jet`.
    #[arg(long)]
    collection: String,
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A panic anywhere (ours or a dependency's) becomes a one-line error, exit 2.
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(|| match cli.command {
        Command::Inspect(a) => inspect::run(&a),
        Command::Ingest(a) => ingest(&a),
        Command::Train(a) => train_cmd::run(&a),
        Command::Compress(a) => compress_cmd::run_compress(&a),
        Command::Decompress(a) => compress_cmd::run_decompress(&a),
        Command::Validate(a) => validate_cmd::run(&a),
        Command::Run(a) => run_cmd::run(&a),
        Command::Rmm(a) => rmm_cmd::run_rmm(&a),
        Command::Anomaly(a) => rmm_cmd::run_anomaly(&a),
        Command::Report {
            kind:
                ReportKind::Repro {
                    hep1,
                    hep2,
                    out,
                    note,
                },
        } => {
            let md = hepae_pipeline::repro::repro(
                hep1.as_deref(),
                hep2.as_deref(),
                &out,
                note.as_deref(),
            )?;
            println!("report: {} (and report.html)", md.display());
            Ok(())
        }
        Command::Dataset(a) => {
            let d: hepae_pipeline::Dataset = hepae_pipeline::read_yaml(&a.manifest)?;
            println!("{}", serde_json::to_string_pretty(&d)?);
            Ok(())
        }
        Command::BenchTrain(a) => bench_train(&a),
    });
    match result {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            eprintln!("error: {}", one_line(&e));
            ExitCode::from(2)
        }
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            eprintln!("error: internal failure: {msg}");
            ExitCode::from(2)
        }
    }
}

/// The error and its causes on one line, each cause once: a message that
/// already quotes its cause (ours name the file, then the cause) is not
/// followed by it again.
fn one_line(e: &anyhow::Error) -> String {
    let mut out = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !out.contains(&c) {
            out.push_str(": ");
            out.push_str(&c);
        }
    }
    out
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

fn ingest(a: &IngestArgs) -> Result<()> {
    let mut inputs = hepae_ingest::expand_inputs(&a.input).map_err(anyhow::Error::msg)?;
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
        collection: a.collection.clone(),
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
fn sidecar_path(out: &Path) -> PathBuf {
    let mut s = out.as_os_str().to_owned();
    s.push(".json");
    PathBuf::from(s)
}
