//! `hepae run`: a YAML pipeline, stage by stage.

use anyhow::Result;
use clap::Args;
use hepae_pipeline::{RunOptions, Stage};
use std::path::PathBuf;

/// Keys of a pipeline file (docs/pipeline.md has the full reference).
const KEYS: &str = "\
Pipeline file keys (strict: unknown keys are errors with line and column):
  name, description, out (default out/), dataset (datasets/NAME.yaml)
  ingest:      inputs (globs, $HEPAE_DATA), tree, collection, columns, drop_nonfinite
  preprocess:  cuts [COLUMN:MIN:MAX], drop_zero_columns, drop_columns
  train:       model {kind, hidden, latent, activation, activations, leaky_slope, output_activation},
               loss {reconstruction, l1, emd, beta, alpha, rho}, split {validation, test, seed},
               columns, scaling, log_columns, column_scaling {COLUMN: min_max | standard | none |
               {log10: {shift, scale}} | {linear: {scale, shift}}}, epochs, batch_size, lr, lr_patience,
               lr_factor, min_lr, early_stopping_patience, min_delta, seed, checkpoint_every, backend, threads
  compression_ratios: [R, ...]  one train..validate chain per R = features / latent
  compress:    latent_dtype, bounds {COLUMN: {abs, rel}}, lossless, zstd_level
  validate:    mass_column, windows [{name, lo, hi}], fit_bin_width, fit_signal, hist_bins
  rmm:         samples [{file (ROOT or Dark Machines .csv), process, signal, weight}], tree, selection,
               matrix {types, n (N or {TYPE: N}), sqrt_s, rapidity, btag_column}
               (with rmm the stages are rmm -> anomaly, and train is the anomaly model)
  anomaly:     test_fraction, seed, weight_column, score (reconstruction, kl, sum)
  study:       models [{name, model, loss}], scalings [{name, scaling, column_scaling, log_columns}],
               variables [{name, drop_zero_fraction}], seeds, epochs, rows, split
               (with study the stages are ingest -> preprocess -> study)
  darkmachines: inputs (challenge CSV, $HEPAE_DATA), slots {bjets, jets, electrons, muons, photons}, units
  generate:    processes, model (vae, beta_vae, alpha_vae), hidden, latent, activation, beta, alpha,
               slots, log, epochs, batch_size, lr, early_stopping_patience, holdout, events, seed,
               backend, threads  (with generate the stages are ingest -> generate)
Outputs: OUT/NAME/STAGE/ (with rR/ per ratio), each with stage.json; unchanged stages are skipped.";

#[derive(Args)]
#[command(after_long_help = KEYS)]
pub struct RunArgs {
    /// Pipeline file (pipelines/NAME.yaml).
    pipeline: PathBuf,
    /// Re-run this stage and all later ones (ingest, preprocess, train, compress, decompress, validate; rmm, anomaly; generate).
    #[arg(long)]
    from: Option<Stage>,
    /// Run only this stage; earlier stages must be up to date.
    #[arg(long, conflicts_with = "from")]
    only: Option<Stage>,
    /// Re-run every stage.
    #[arg(long)]
    force: bool,
    /// Override a key of the pipeline file, e.g. `--set train.epochs=30`
    /// or `--set out=/scratch/out` (repeatable; the value is YAML).
    #[arg(long, value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Continue a re-running train stage from its checkpoint (an interrupted
    /// run, or more epochs for a finished one) instead of from scratch.
    #[arg(long)]
    resume: bool,
}

pub fn run(a: &RunArgs) -> Result<()> {
    let t0 = std::time::Instant::now();
    let opts = RunOptions {
        from: a.from,
        only: a.only,
        force: a.force,
        set: a.set.clone(),
        resume: a.resume,
    };
    let (outcomes, reports) = hepae_pipeline::run(&a.pipeline, &opts)?;
    let ran = outcomes.iter().filter(|o| o.ran).count();
    eprintln!(
        "pipeline {}: {ran} stage(s) run, {} up to date, {:.1} s",
        a.pipeline.display(),
        outcomes.len() - ran,
        t0.elapsed().as_secs_f64()
    );
    for r in reports {
        println!("report: {}", r.display());
    }
    Ok(())
}
