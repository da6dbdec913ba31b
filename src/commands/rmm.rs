//! `hepae rmm` and `hepae anomaly`.

use anyhow::{bail, Context, Result};
use clap::Args;
use hepae_rmm::{AnomalyOptions, ObjectType, RmmConfig, Sample};
use std::path::PathBuf;

#[derive(Args)]
pub struct RmmArgs {
    /// Sample FILE:PROCESS (background) or FILE:PROCESS:signal, with an
    /// optional `:weight=W` per event (repeatable). FILE is a ROOT file or a
    /// Dark Machines challenge CSV (`.csv`, its event weights by default).
    #[arg(long = "sample", required = true)]
    samples: Vec<String>,
    /// Tree name.
    #[arg(long, default_value = "Events")]
    tree: String,
    /// Object types in matrix order (jets, bjets, muons, electrons, photons).
    #[arg(long, value_delimiter = ',')]
    types: Vec<String>,
    /// Objects per type: one number, or per type as in the Oslo thesis,
    /// e.g. `jets=6,bjets=6,electrons=5,muons=5` (types not named get none).
    #[arg(long)]
    n: Option<hepae_rmm::rmm::Multiplicity>,
    /// Collision energy sqrt(s) in GeV.
    #[arg(long)]
    sqrt_s: Option<f64>,
    /// Lower-triangle rapidity form as in the Oslo thesis, cosh(dy) - 1 (default: Chekanov's code, cosh(dy/2) - 1).
    #[arg(long)]
    thesis_rapidity: bool,
    /// Output Parquet (one row per event).
    #[arg(long, short)]
    out: PathBuf,
    /// b-tag score above which a jet is a b-jet (default: any non-zero value, a 0/1 flag).
    #[arg(long)]
    btag_threshold: Option<f64>,
    /// Event selection condition, e.g. `n_leptons >= 3`, `met > 50` (repeatable, all required).
    #[arg(long = "select")]
    selection: Vec<String>,
    /// Event quantities carried beside the cells as `q_NAME` columns (met,
    /// ht, m_ll, m_lll, n_leptons, ...), plotted per process in the signal
    /// regions by `hepae anomaly`.
    #[arg(long = "quantities", value_delimiter = ',')]
    quantities: Vec<String>,
    /// Also every signal sample with its objects' pT and MET scaled by each
    /// K (processes `NAME_pt_xK`), e.g. `1.5,3,5`: `hepae anomaly` reports
    /// the AUC against K.
    #[arg(long = "pt-scales", value_delimiter = ',')]
    pt_scales: Vec<f64>,
    /// Also draw the RMM of the first event of the first sample as a heat map (PNG or SVG).
    #[arg(long)]
    heatmap: Option<PathBuf>,
}

/// `FILE:PROCESS[:signal][:weight=W]`.
pub fn parse_sample(s: &str) -> Result<Sample> {
    let usage = || format!("--sample '{s}': expected FILE:PROCESS[:signal][:weight=W]");
    let mut rest = s;
    let mut weight = None;
    if let Some((head, w)) = rest.rsplit_once(":weight=") {
        let w: f64 = w
            .parse()
            .map_err(|_| anyhow::anyhow!("{}: weight '{w}' is not a number", usage()))?;
        if !w.is_finite() || w < 0.0 {
            bail!("{}: weight {w} must be finite and >= 0", usage());
        }
        weight = Some(w);
        rest = head;
    }
    let (rest, signal) = match rest.strip_suffix(":signal") {
        Some(r) => (r, true),
        None => (rest, false),
    };
    match rest.rsplit_once(':') {
        Some((path, process)) if !path.is_empty() && !process.is_empty() => {
            Ok(Sample::new(PathBuf::from(path), process, signal, weight))
        }
        _ => bail!("{}", usage()),
    }
}

fn object_type(s: &str) -> Result<ObjectType> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).with_context(|| {
        format!("unknown object type '{s}' (jets, bjets, muons, electrons, photons)")
    })
}

pub fn run_rmm(a: &RmmArgs) -> Result<()> {
    let mut cfg = RmmConfig::default();
    if !a.types.is_empty() {
        cfg.types = a
            .types
            .iter()
            .map(|t| object_type(t))
            .collect::<Result<_>>()?;
    }
    if let Some(n) = &a.n {
        cfg.n = n.clone();
    }
    if let Some(s) = a.sqrt_s {
        cfg.sqrt_s = s;
    }
    if a.btag_threshold.is_some() {
        cfg.btag_threshold = a.btag_threshold;
    }
    if a.thesis_rapidity {
        cfg.rapidity = hepae_rmm::RapidityForm::Thesis;
    }
    let samples = a
        .samples
        .iter()
        .map(|s| parse_sample(s))
        .collect::<Result<Vec<_>>>()?;
    if let Some(k) = a.pt_scales.iter().find(|k| !k.is_finite() || **k <= 0.0) {
        bail!("--pt-scales: {k} is not a positive scale");
    }
    let samples = hepae_rmm::with_pt_scaled_signals(&samples, &a.pt_scales);
    let t0 = std::time::Instant::now();
    let selection = hepae_rmm::select::parse_selection("--select", &a.selection, &cfg.types)
        .map_err(anyhow::Error::msg)?;
    let quantities = hepae_rmm::select::parse_quantities("--quantities", &a.quantities, &cfg.types)
        .map_err(anyhow::Error::msg)?;
    let (batch, flows) =
        hepae_rmm::rmm_table_selected(&samples, &a.tree, &cfg, &selection, &quantities)?;
    for line in hepae_rmm::select::cut_flow_lines(&flows) {
        eprintln!("{line}");
    }
    let meta = vec![("hepae.rmm".to_string(), serde_json::to_string(&cfg)?)];
    hepae_table::write_parquet_atomic(&batch, &a.out, &meta, hepae_table::DEFAULT_ZSTD_LEVEL)?;
    if let Some(h) = &a.heatmap {
        hepae_rmm::heatmap_of_event(&batch, &cfg, 0, h, "RMM of one event")
            .map_err(anyhow::Error::msg)?;
    }
    let side = hepae_rmm::rmm::size(&cfg);
    eprintln!(
        "wrote {} events x {side}x{side} RMM cells to {} in {:.1} s",
        batch.num_rows(),
        a.out.display(),
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

#[derive(Args)]
pub struct AnomalyArgs {
    /// RMM table (from `hepae rmm`).
    #[arg(long)]
    data: PathBuf,
    /// Output directory (model, scores.parquet, summary.json, plots).
    #[arg(long, short)]
    out: PathBuf,
    #[command(flatten)]
    train: super::train::TrainFlags,
    /// Seed of the 80/20 background split.
    #[arg(long, default_value_t = 0)]
    split_seed: u64,
    /// Column with per-event weights (default: `weight`, which `hepae rmm` writes).
    #[arg(long)]
    weight_column: Option<String>,
    /// Anomaly score: reconstruction (MSE), or for vae/beta_vae models kl or sum.
    #[arg(long, default_value = "reconstruction")]
    score: hepae_rmm::score::ScoreKind,
    /// Train every event at weight 1 (default: the event-weighted loss
    /// when the table has weights).
    #[arg(long)]
    unweighted_loss: bool,
    /// Also retrain once per background process without it and report how
    /// it scores (the leave-one-out sensitivity check).
    #[arg(long)]
    leave_one_out: bool,
}

pub fn run_anomaly(a: &AnomalyArgs) -> Result<()> {
    let cfg = a.train.config()?;
    let table = hepae_table::read_parquet(&a.data)?;
    let opts = AnomalyOptions {
        seed: a.split_seed,
        weight_column: a.weight_column.clone(),
        score: a.score,
        weighted_loss: !a.unweighted_loss,
        leave_one_out: a.leave_one_out,
        ..Default::default()
    };
    let s = hepae_rmm::anomaly::run(&table, &cfg, &opts, &a.out)?;
    print_anomaly(&s);
    eprintln!("outputs: {}", a.out.display());
    Ok(())
}

pub fn print_anomaly(s: &hepae_rmm::AnomalySummary) {
    for line in hepae_rmm::merit::summary_lines(s) {
        eprintln!("{line}");
    }
}
