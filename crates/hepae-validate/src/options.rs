//! What validation is asked to do (`ValidateOptions`, also the pipeline's
//! `validate:` section) and what it reports (`Summary`).

use crate::{BoxStats, PeakFit, SignalChoice};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// A mass window for a peak fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// Name (`W`, `top`).
    pub name: String,
    /// Lower edge (GeV).
    pub lo: f64,
    /// Upper edge (GeV).
    pub hi: f64,
}

impl std::str::FromStr for Window {
    type Err = String;
    /// `NAME:LO:HI`, e.g. `W:50:110`.
    fn from_str(s: &str) -> std::result::Result<Window, String> {
        let parts: Vec<&str> = s.split(':').collect();
        let num = |v: &str| {
            v.trim()
                .parse::<f64>()
                .map_err(|_| format!("window '{s}': '{v}' is not a number"))
        };
        match parts[..] {
            [name, lo, hi] => {
                let (lo, hi) = (num(lo)?, num(hi)?);
                if lo >= hi || lo.is_nan() || hi.is_nan() {
                    return Err(format!("window '{s}': needs LO < HI"));
                }
                Ok(Window {
                    name: name.to_string(),
                    lo,
                    hi,
                })
            }
            _ => Err(format!("window '{s}': expected NAME:LO:HI")),
        }
    }
}

/// Options of `validate` (also the `validate:` section of a pipeline).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ValidateOptions {
    /// PCA components; default: the model's latent dimension.
    pub latent: Option<usize>,
    /// Trained model directory: its normalisation for PCA, its latent
    /// dimension and its loss curve.
    pub model: Option<PathBuf>,
    /// Column holding the jet mass.
    pub mass_column: String,
    /// Peak-fit windows.
    pub windows: Vec<Window>,
    /// Bin width of the peak-fit histograms (GeV).
    pub fit_bin_width: f64,
    /// Peak shapes the fits may use: `auto` (Gaussian and Crystal Ball, the
    /// better fit wins), `gaussian` or `crystal_ball`.
    pub fit_signal: SignalChoice,
    /// Bins of the per-variable histograms.
    pub hist_bins: usize,
}

impl Default for ValidateOptions {
    fn default() -> Self {
        ValidateOptions {
            latent: None,
            model: None,
            mass_column: "mass".into(),
            windows: vec![
                Window {
                    name: "W".into(),
                    lo: 50.0,
                    hi: 110.0,
                },
                Window {
                    name: "top".into(),
                    lo: 130.0,
                    hi: 220.0,
                },
            ],
            fit_bin_width: 2.0,
            fit_signal: SignalChoice::Auto,
            hist_bins: 100,
        }
    }
}

/// One row of the statistics table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatRow {
    /// `ae` (the restored table) or `pca`.
    pub method: String,
    /// Variable.
    pub variable: String,
    /// `residual` or `response`.
    pub quantity: String,
    /// Values with x = 0, left out of the response.
    pub zero_denominators: u64,
    /// Box statistics.
    #[serde(flatten)]
    pub stats: BoxStats,
}

/// One peak fit of one sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitRow {
    /// `original`, `ae` or `pca`.
    pub sample: String,
    /// The fit.
    #[serde(flatten)]
    pub fit: PeakFit,
}

/// Everything `validate` computed (`summary.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// hepae version.
    pub hepae_version: String,
    /// Original table.
    pub original: String,
    /// Restored table.
    pub restored: String,
    /// Rows compared.
    pub rows: u64,
    /// Variables compared, in table order.
    pub variables: Vec<String>,
    /// Largest |x_hat - x| per variable (restored table).
    pub max_abs_residual: Vec<(String, f64)>,
    /// Box statistics of residual and response, restored and PCA.
    pub stats: Vec<StatRow>,
    /// PCA components used (None: no PCA baseline).
    pub pca_components: Option<usize>,
    /// Fraction of the normalised variance the PCA components keep.
    pub pca_explained_variance: Option<f64>,
    /// Raw float32 bytes of the original table.
    pub raw_float32_bytes: u64,
    /// gzip -9 bytes of it.
    pub gzip9_bytes: u64,
    /// raw / gzip -9.
    pub gzip9_ratio: f64,
    /// Peak fits.
    pub fits: Vec<FitRow>,
    /// Plot files, relative to the report directory.
    pub plots: Vec<String>,
}

impl Summary {
    /// Statistics rows of one method (`ae`, `pca`) and quantity (`residual`, `response`).
    pub fn rows(&self, method: &str, quantity: &str) -> Vec<&StatRow> {
        self.stats
            .iter()
            .filter(|r| r.method == method && r.quantity == quantity)
            .collect()
    }
}
