//! `hepae train`: fit an autoencoder to a Parquet table.

use anyhow::Result;
use clap::Args;
use hepae_train::{BackendKind, ModelKind, TrainConfig};
use std::path::PathBuf;

/// The training configuration flags shared by `hepae train` and `hepae
/// anomaly`: a YAML file, then single keys overriding it.
#[derive(Args)]
pub struct TrainFlags {
    /// YAML training configuration (see docs/pipeline.md); flags override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Model kind: ae, sae, sae_l1_act, sae_kl, vae, beta_vae, alpha_vae.
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
}

impl TrainFlags {
    /// The configuration: the YAML file (or the defaults), then each flag given.
    pub fn config(&self) -> Result<TrainConfig> {
        let mut cfg: TrainConfig = match &self.config {
            Some(p) => hepae_pipeline::read_yaml(p)?,
            None => TrainConfig::default(),
        };
        let set = |slot: &mut usize, v: Option<usize>| {
            if let Some(v) = v {
                *slot = v;
            }
        };
        set(&mut cfg.model.latent, self.latent);
        set(&mut cfg.epochs, self.epochs);
        set(&mut cfg.batch_size, self.batch_size);
        set(&mut cfg.threads, self.threads);
        if let Some(v) = self.model {
            cfg.model.kind = v;
        }
        if let Some(v) = self.lr {
            cfg.lr = v;
        }
        if let Some(v) = self.backend {
            cfg.backend = v;
        }
        if let Some(v) = self.seed {
            cfg.seed = v;
        }
        Ok(cfg)
    }
}

#[derive(Args)]
pub struct TrainArgs {
    /// Input table (Parquet from `hepae ingest`).
    #[arg(long)]
    data: PathBuf,
    /// Output model directory.
    #[arg(long, short)]
    out: PathBuf,
    #[command(flatten)]
    train: TrainFlags,
    /// Continue from the last checkpoint in --out.
    #[arg(long)]
    resume: bool,
}

pub fn run(a: &TrainArgs) -> Result<()> {
    let cfg = a.train.config()?;
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
    if let Some(v) = last.validation {
        eprintln!("validation loss {v:.4e}");
    }
    let metrics = hepae_train::ModelDir(a.out.clone()).metrics();
    if let Ok(text) = std::fs::read_to_string(&metrics) {
        let m: hepae_train::TestMetrics = serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("{}: {e}", metrics.display()))?;
        eprintln!(
            "test rows {}: MSE {:.4e}, RMSE {:.4e} (normalised; per variable in {})",
            m.rows,
            m.mse,
            m.rmse,
            metrics.display()
        );
    }
    Ok(())
}
