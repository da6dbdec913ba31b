//! `hepae bench-train` (hidden): time training steps for scripts/bench-train.

use anyhow::Result;
use clap::Args;

#[derive(Args)]
pub struct BenchTrainArgs {
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

pub fn run(a: &BenchTrainArgs) -> Result<()> {
    let mut cfg = hepae_train::TrainConfig::default();
    cfg.model.kind = hepae_train::ModelKind::Sae;
    cfg.backend = a.backend;
    cfg.threads = a.threads;
    let t = hepae_train::bench::bench_steps(&cfg, 24, a.warmup, a.steps);
    println!("{}", serde_json::to_string(&t)?);
    Ok(())
}
