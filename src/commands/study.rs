//! `hepae study`: the model study grid on one table.

use anyhow::Result;
use clap::Args;
use hepae_pipeline::study::StudySection;
use hepae_train::TrainConfig;
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Args)]
pub struct StudyArgs {
    /// Input table (Parquet from `hepae ingest`).
    #[arg(long)]
    data: PathBuf,
    /// YAML with `study:` and optionally `train:`, the base of every run
    /// (the keys of a pipeline's sections; see docs/pipeline.md).
    #[arg(long)]
    config: PathBuf,
    /// Output directory: table.md, table.parquet, summary.json,
    /// correlation.png and runs/.
    #[arg(short, long)]
    out: PathBuf,
}

/// The study file: a pipeline's `train:` and `study:` sections.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StudyFile {
    #[serde(default)]
    train: TrainConfig,
    study: StudySection,
}

pub fn run(a: &StudyArgs) -> Result<()> {
    let f: StudyFile = hepae_pipeline::read_yaml(&a.config)?;
    let table = hepae_pipeline::study_table(&a.data, &f.train, &f.study, &a.out)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    print!("{table}");
    eprintln!("study of {} in {}", a.data.display(), a.out.display());
    Ok(())
}
