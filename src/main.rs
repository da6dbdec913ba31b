//! `hepae`: ROOT-aware autoencoder compression and anomaly detection for HEP.

mod commands;

// Large column buffers are allocated and freed per basket; mimalloc reuses
// them where glibc would unmap and page-fault them in again.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};
use commands::*;
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
    Ingest(ingest::IngestArgs),
    /// Train a VAE event generator on Dark Machines events, generate events
    /// and compare them with held-out MC and two baselines.
    Generate(generate::GenerateArgs),
    /// Train an autoencoder (ae, sae, sae_l1_act, sae_kl, vae, beta_vae,
    /// alpha_vae) on a Parquet table.
    Train(train::TrainArgs),
    /// Compress a Parquet table with a trained model into an artifact directory
    /// (latent space, model, residuals for error bounds, lossless columns).
    Compress(compress::CompressArgs),
    /// Rebuild the original table from an artifact, as Parquet or ROOT (`.root`).
    Decompress(compress::DecompressArgs),
    /// Judge a compression: residual/response statistics and outliers, PCA and
    /// gzip baselines, W/top mass-peak fits, plots, index.html, summary.json.
    Validate(validate::ValidateArgs),
    /// Run a YAML pipeline (ingest -> preprocess -> train -> compress ->
    /// decompress -> validate); stages whose inputs and config did not change are skipped.
    Run(run::RunArgs),
    /// Turn events into Rapidity-Mass Matrices (one row per event).
    Rmm(rmm::RmmArgs),
    /// Train an autoencoder on SM background RMMs and score every event (ROC, AUC).
    Anomaly(rmm::AnomalyArgs),
    /// Run a model study: variable sets x models x scalings x seeds on one
    /// table, judged on held-out test rows (table.md, table.parquet).
    Study(study::StudyArgs),
    /// Reports built from pipeline outputs (`report repro`: HEP1/HEP2 beside
    /// the Baler thesis tables).
    Report {
        #[command(subcommand)]
        kind: report::ReportKind,
    },
    /// Check a dataset manifest (datasets/NAME.yaml) and print it as JSON.
    Dataset(dataset::DatasetArgs),
    /// Time training steps of the thesis network (for scripts/bench-train).
    #[command(hide = true)]
    BenchTrain(bench_train::BenchTrainArgs),
    /// Read branches into memory, timed (for scripts/bench-rntuple).
    #[command(hide = true)]
    BenchRead(bench_read::BenchReadArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A panic anywhere (ours or a dependency's) becomes a one-line error, exit 2.
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(|| match cli.command {
        Command::Inspect(a) => inspect::run(&a),
        Command::Ingest(a) => ingest::run(&a),
        Command::Generate(a) => generate::run(&a),
        Command::Train(a) => train::run(&a),
        Command::Compress(a) => compress::run_compress(&a),
        Command::Decompress(a) => compress::run_decompress(&a),
        Command::Validate(a) => validate::run(&a),
        Command::Run(a) => run::run(&a),
        Command::Rmm(a) => rmm::run_rmm(&a),
        Command::Anomaly(a) => rmm::run_anomaly(&a),
        Command::Study(a) => study::run(&a),
        Command::Report { kind } => report::run(&kind),
        Command::Dataset(a) => dataset::run(&a),
        Command::BenchTrain(a) => bench_train::run(&a),
        Command::BenchRead(a) => bench_read::run(&a),
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
