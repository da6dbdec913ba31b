//! `hepae train`: fit an autoencoder to a Parquet table.

use anyhow::Result;
use clap::Args;
use hepae_train::{BackendKind, ModelKind, TrainConfig};
use std::path::PathBuf;

#[derive(Args)]
pub struct TrainArgs {
    /// Input table (Parquet from `hepae ingest`).
    #[arg(long)]
    data: PathBuf,
    /// Output model directory.
    #[arg(long, short)]
    out: PathBuf,
    /// YAML training configuration (see docs/pipeline.md); flags override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Model kind: ae, sae, vae, beta_vae.
    #[arg(long)]
    model: Option<ModelKind>,
    /// Latent dimension.
    #[arg(long)]
    latent: Option<usize>,
    /// Maximum number of epochs.
    #[arg(long)]
    epochs: Option<usize>,
    /// Batch size.
    #[arg(long)]
    batch_size: Option<usize>,
    /// Adam learning rate.
    #[arg(long)]
    lr: Option<f64>,
    /// Backend: auto (GPU if present), wgpu, cpu.
    #[arg(long)]
    backend: Option<BackendKind>,
    /// Random seed.
    #[arg(long)]
    seed: Option<u64>,
    /// CPU training threads (0: every core); see `threads` in docs/pipeline.md.
    #[arg(long)]
    threads: Option<usize>,
    /// Continue from the last checkpoint in --out.
    #[arg(long)]
    resume: bool,
}

/// Reads a strict YAML training config, reporting line and column on errors.
pub fn read_config(path: &std::path::Path) -> Result<TrainConfig> {
    Ok(hepae_pipeline::read_yaml(path)?)
}

pub fn run(a: &TrainArgs) -> Result<()> {
    let mut cfg = match &a.config {
        Some(p) => read_config(p)?,
        None => TrainConfig::default(),
    };
    if let Some(v) = a.model {
        cfg.model.kind = v;
    }
    if let Some(v) = a.latent {
        cfg.model.latent = v;
    }
    if let Some(v) = a.epochs {
        cfg.epochs = v;
    }
    if let Some(v) = a.batch_size {
        cfg.batch_size = v;
    }
    if let Some(v) = a.lr {
        cfg.lr = v;
    }
    if let Some(v) = a.backend {
        cfg.backend = v;
    }
    if let Some(v) = a.seed {
        cfg.seed = v;
    }
    if let Some(v) = a.threads {
        cfg.threads = v;
    }
    let data = hepae_train::load_parquet(&a.data, &cfg.columns)?;
    eprintln!(
        "training {:?} on {} rows x {} columns ({} -> {} latent), up to {} epochs",
        cfg.model.kind,
        data.rows,
        data.cols(),
        data.cols(),
        cfg.model.latent,
        cfg.epochs
    );
    let out = hepae_pipeline::train_with_plot(&data, &cfg, &a.out, a.resume)?;
    let last = out.history.last().expect("at least one epoch");
    if out.resumed_from > 0 {
        eprintln!("resumed after epoch {}", out.resumed_from);
    }
    eprintln!(
        "{} epochs on {}{}: loss {:.4e} -> {:.4e}; model in {} (loss history: {})",
        last.epoch,
        out.device,
        if out.stopped_early {
            ", stopped early"
        } else {
            ""
        },
        out.history[0].loss,
        last.loss,
        a.out.display(),
        a.out.join("loss.parquet").display()
    );
    Ok(())
}
