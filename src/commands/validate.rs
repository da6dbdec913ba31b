//! `hepae validate`.

use anyhow::Result;
use clap::Args;
use hepae_validate::{SignalChoice, ValidateOptions, Window};
use std::path::PathBuf;

#[derive(Args)]
pub struct ValidateArgs {
    /// Original table (Parquet).
    #[arg(long)]
    original: PathBuf,
    /// Restored table (from `hepae decompress`).
    #[arg(long)]
    restored: PathBuf,
    /// Report directory (index.html, summary.json, stats.parquet, report.md, plots).
    #[arg(long, short)]
    out: PathBuf,
    /// Model directory: normalisation and latent dimension for the PCA baseline, loss curve.
    #[arg(long)]
    model: Option<PathBuf>,
    /// PCA components (default: the model's latent dimension; no PCA without either).
    #[arg(long)]
    latent: Option<usize>,
    /// Jet-mass column for the peak fits.
    #[arg(long, default_value = "mass")]
    mass_column: String,
    /// Peak-fit window NAME:LO:HI in GeV (repeatable; default W:50:110 and top:130:220).
    #[arg(long = "window")]
    windows: Vec<Window>,
    /// Bin width of the peak-fit histograms (GeV).
    #[arg(long, default_value_t = 2.0)]
    fit_bin_width: f64,
    /// Peak shapes of the fits: auto (Gaussian and Crystal Ball, the better
    /// fit wins), gaussian or crystal_ball.
    #[arg(long, default_value = "auto")]
    fit_signal: SignalChoice,
}

pub fn run(a: &ValidateArgs) -> Result<()> {
    let mut opts = ValidateOptions {
        latent: a.latent,
        model: a.model.clone(),
        mass_column: a.mass_column.clone(),
        fit_bin_width: a.fit_bin_width,
        fit_signal: a.fit_signal,
        ..Default::default()
    };
    if !a.windows.is_empty() {
        opts.windows = a.windows.clone();
    }
    let s = hepae_validate::validate(&a.original, &a.restored, &a.out, &opts)?;
    eprintln!(
        "validated {} rows x {} variables; gzip -9 ratio of the raw table {:.3}",
        s.rows,
        s.variables.len(),
        s.gzip9_ratio
    );
    for r in s.stats.iter().filter(|r| r.quantity == "response") {
        eprintln!(
            "  {:<4} response {:<16} median {:>10.3e}  IQR [{:.3e}, {:.3e}]  outliers {:.2}%",
            r.method, r.variable, r.stats.median, r.stats.q1, r.stats.q3, r.stats.outlier_pct
        );
    }
    for f in &s.fits {
        let p = &f.fit;
        if let Some(note) = &p.note {
            eprintln!("  fit {:<4} {:<8} not fitted: {note}", p.window, f.sample);
            continue;
        }
        eprintln!(
            "  fit {:<4} {:<8} mean {:7.2} ± {:.2} GeV  sigma {:6.2} ± {:.2}  chi2/ndf {:.1}/{}  {} + {} on [{}, {})",
            p.window, f.sample, p.mean, p.mean_err, p.sigma, p.sigma_err, p.chi2, p.ndf, p.signal, p.background, p.lo, p.hi
        );
    }
    eprintln!("report: {}", a.out.join("index.html").display());
    Ok(())
}
