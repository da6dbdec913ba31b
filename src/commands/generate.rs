//! `hepae generate`: train a VAE event generator on Dark Machines events,
//! sample it and compare it with held-out MC and two baselines.

use anyhow::Result;
use clap::Args;
use hepae_generate::{GenerateConfig, GenerateOptions};
use hepae_model::ModelKind;
use std::path::PathBuf;

#[derive(Args)]
pub struct GenerateArgs {
    /// Events-layout Parquet table (`hepae ingest --format darkmachines`).
    #[arg(long)]
    data: PathBuf,
    /// Output directory: generated.parquet, generated.csv, model/, summary.json, report/.
    #[arg(long, short)]
    out: PathBuf,
    /// YAML generator configuration (the `generate:` keys of docs/pipeline.md); flags override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Generator: vae, beta_vae, alpha_vae.
    #[arg(long)]
    model: Option<ModelKind>,
    /// process_ID to train on (repeatable; default: every event).
    #[arg(long = "process")]
    processes: Vec<String>,
    /// Events to generate (default: as many as held out).
    #[arg(long)]
    events: Option<usize>,
    /// Maximum training epochs.
    #[arg(long)]
    epochs: Option<usize>,
    /// Object slots modelled, e.g. `jets=4,bjets=2` (others keep the config's).
    #[arg(long)]
    slots: Option<String>,
    /// Seed of the split, training and sampling.
    #[arg(long)]
    seed: Option<u64>,
}

pub fn run(a: &GenerateArgs) -> Result<()> {
    let mut cfg: GenerateConfig = match &a.config {
        Some(p) => hepae_pipeline::read_yaml(p)?,
        None => GenerateConfig::default(),
    };
    if let Some(m) = a.model {
        cfg.model = m;
    }
    if !a.processes.is_empty() {
        cfg.processes = a.processes.clone();
    }
    if let Some(n) = a.events {
        cfg.events = n;
    }
    if let Some(n) = a.epochs {
        cfg.epochs = n;
    }
    if let Some(s) = a.seed {
        cfg.seed = s;
    }
    if let Some(s) = &a.slots {
        cfg.slots = cfg.slots.with(s).map_err(anyhow::Error::msg)?;
    }
    let summary = hepae_generate::run(&GenerateOptions {
        data: a.data.clone(),
        out: a.out.clone(),
        config: cfg,
        progress: true,
    })?;
    print_summary(&summary, &a.out);
    Ok(())
}

fn print_summary(s: &hepae_generate::Summary, out: &std::path::Path) {
    eprintln!(
        "trained {:?} on {} events in {:.1} s; {} held out; generation {:.0} events/s",
        s.model, s.train_events, s.train_seconds, s.holdout_events, s.events_per_second
    );
    eprintln!(
        "{:<24} {:>9} {:>16} {:>11} {:>11}",
        "sample", "physical", "classifier AUC", "W1/std", "corr dist"
    );
    for m in &s.samples {
        eprintln!(
            "{:<24} {:>8.2}% {:>9.3}+-{:.3} {:>11.4} {:>11.3}",
            m.name,
            100.0 * m.physical_before_repair,
            m.classifier.auc,
            m.classifier.auc_error,
            m.mean_wasserstein_over_std,
            m.correlation_distance
        );
    }
    eprintln!(
        "wrote {} (report: {})",
        out.display(),
        out.join("report/index.html").display()
    );
}
