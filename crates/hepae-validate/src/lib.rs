//! # hepae-validate
//!
//! The physics judgement of a compression, in the form of the Baler thesis:
//! per-variable residual (x_hat - x) and response ((x_hat - x) / x) box
//! statistics with outlier counts, a PCA baseline at the same latent
//! dimension, the gzip -9 ratio of the raw table, fits of the W and top
//! jet-mass peaks (Gaussian or Crystal Ball on an exponential or Bernstein
//! background, chosen by fit quality), plots with ratio panels,
//! `index.html`, `summary.json`.

#![warn(missing_docs)]

pub mod fit;
pub mod pca;
mod report;
pub mod shapes;
pub mod stats;

use arrow_array::RecordBatch;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub use fit::{fit_peak, PeakFit};
pub use shapes::SignalChoice;
pub use stats::{box_stats, BoxStats};

/// Errors of validation.
#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    /// Bad input tables or options.
    #[error("{0}")]
    Input(String),
    /// Writing the report failed.
    #[error("{0}")]
    Io(String),
    /// Reading or writing a table or file failed.
    #[error(transparent)]
    Table(#[from] hepae_table::TableError),
}

/// Result of this crate.
pub type Result<T> = std::result::Result<T, ValidateError>;

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

/// Numeric non-label column names, in table order.
fn numeric_columns(b: &RecordBatch) -> Vec<String> {
    b.schema()
        .fields()
        .iter()
        .filter(|f| !hepae_table::LABEL_COLUMNS.contains(&f.name().as_str()))
        .filter(|f| f.data_type().is_numeric() || f.data_type() == &arrow_schema::DataType::Boolean)
        .map(|f| f.name().clone())
        .collect()
}

fn exact_columns(b: &RecordBatch, names: &[String]) -> Vec<Vec<f64>> {
    names
        .iter()
        .map(|n| {
            let c = b.column_by_name(n).expect("checked");
            hepae_table::numeric_f64(c).unwrap_or_default()
        })
        .collect()
}

/// Residual and response statistics of `rec` against `orig` for each variable.
fn compare(method: &str, names: &[String], orig: &[Vec<f64>], rec: &[Vec<f64>]) -> Vec<StatRow> {
    use rayon::prelude::*;
    names
        .par_iter()
        .enumerate()
        .flat_map_iter(|(j, name)| {
            let (x, y) = (&orig[j], &rec[j]);
            let mut res: Vec<f64> = x.iter().zip(y).map(|(a, b)| b - a).collect();
            let mut zero = 0u64;
            let mut resp: Vec<f64> = x
                .iter()
                .zip(y)
                .filter_map(|(a, b)| {
                    if *a == 0.0 {
                        zero += 1;
                        None
                    } else {
                        Some((b - a) / a)
                    }
                })
                .collect();
            res.retain(|v| v.is_finite());
            resp.retain(|v| v.is_finite());
            [
                StatRow {
                    method: method.into(),
                    variable: name.clone(),
                    quantity: "residual".into(),
                    zero_denominators: 0,
                    stats: box_stats(&mut res),
                },
                StatRow {
                    method: method.into(),
                    variable: name.clone(),
                    quantity: "response".into(),
                    zero_denominators: zero,
                    stats: box_stats(&mut resp),
                },
            ]
        })
        .collect()
}

/// Validates `restored` against `original`, writing the report into `out`
/// (a new directory, renamed into place when complete).
pub fn validate(
    original: &Path,
    restored: &Path,
    out: &Path,
    opts: &ValidateOptions,
) -> Result<Summary> {
    let read =
        |p: &Path| hepae_table::read_parquet(p).map_err(|e| ValidateError::Input(e.to_string()));
    let a = read(original)?;
    let b = read(restored)?;
    if a.num_rows() != b.num_rows() {
        return Err(ValidateError::Input(format!(
            "{} has {} rows but {} has {}",
            restored.display(),
            b.num_rows(),
            original.display(),
            a.num_rows()
        )));
    }
    let names: Vec<String> = numeric_columns(&a);
    if names.is_empty() {
        return Err(ValidateError::Input(format!(
            "{}: no numeric columns to compare",
            original.display()
        )));
    }
    for n in &names {
        if b.column_by_name(n).is_none() {
            return Err(ValidateError::Input(format!(
                "{}: column '{n}' of {} is missing",
                restored.display(),
                original.display()
            )));
        }
    }
    let orig = exact_columns(&a, &names);
    let rec = exact_columns(&b, &names);
    for (n, c) in names.iter().zip(&rec) {
        if let Some(i) = c.iter().position(|v| !v.is_finite()) {
            return Err(ValidateError::Input(format!(
                "{}: column '{n}' row {i} is not finite",
                restored.display()
            )));
        }
    }
    let mut stats = compare("ae", &names, &orig, &rec);
    let max_abs_residual = names
        .iter()
        .enumerate()
        .map(|(j, n)| {
            let m = orig[j]
                .iter()
                .zip(&rec[j])
                .map(|(x, y)| (y - x).abs())
                .fold(0.0, f64::max);
            (n.clone(), m)
        })
        .collect();

    // PCA baseline on the normalised variables at the latent dimension.
    let model = match &opts.model {
        Some(m) => Some(
            hepae_model::load_description(m)
                .map_err(|e| ValidateError::Input(format!("model: {e}")))?,
        ),
        None => None,
    };
    let k = opts
        .latent
        .or(model.as_ref().map(|(meta, _)| meta.config.model.latent));
    let mut pca_cols: Option<Vec<Vec<f64>>> = None;
    let mut explained = None;
    if let Some(k) = k {
        let d = names.len();
        let mut x32: Vec<f32> = (0..a.num_rows())
            .flat_map(|i| orig.iter().map(move |c| c[i] as f32))
            .collect();
        let norm = match &model {
            Some((_, n)) if n.columns.iter().map(|c| &c.name).eq(names.iter()) => n.clone(),
            _ => hepae_model::Normalizer::fit(&x32, &names, hepae_model::Scaling::MinMax, &[]),
        };
        norm.apply(&mut x32);
        let x: Vec<f64> = x32.iter().map(|v| *v as f64).collect();
        let p = pca::Pca::fit(&x, d);
        let total: f64 = p.variances.iter().map(|v| v.max(0.0)).sum();
        explained = Some(if total > 0.0 {
            p.variances.iter().take(k).map(|v| v.max(0.0)).sum::<f64>() / total
        } else {
            1.0
        });
        let mut y: Vec<f32> = p.reconstruct(&x, k).iter().map(|v| *v as f32).collect();
        norm.invert(&mut y);
        let cols: Vec<Vec<f64>> = (0..d)
            .map(|j| (0..a.num_rows()).map(|i| y[i * d + j] as f64).collect())
            .collect();
        stats.extend(compare("pca", &names, &orig, &cols));
        pca_cols = Some(cols);
    }

    let (raw, gz) = hepae_table::gzip9_of_raw_float32(&a);

    // Peak fits on the mass column.
    let mut fits = Vec::new();
    let mut fit_hists = Vec::new();
    if let Some(mj) = names.iter().position(|n| *n == opts.mass_column) {
        for w in &opts.windows {
            let bins = (((w.hi - w.lo) / opts.fit_bin_width).round() as usize).max(6);
            let mut samples = vec![("original", &orig[mj]), ("ae", &rec[mj])];
            if let Some(p) = &pca_cols {
                samples.push(("pca", &p[mj]));
            }
            for (name, v) in samples {
                let (f, h) = fit_peak(v, &w.name, w.lo, w.hi, bins, opts.fit_signal);
                fit_hists.push((name.to_string(), h));
                fits.push(FitRow {
                    sample: name.into(),
                    fit: f,
                });
            }
        }
    }

    let mut summary = Summary {
        hepae_version: env!("CARGO_PKG_VERSION").into(),
        original: original.display().to_string(),
        restored: restored.display().to_string(),
        rows: a.num_rows() as u64,
        variables: names.clone(),
        max_abs_residual,
        stats,
        pca_components: k,
        pca_explained_variance: explained,
        raw_float32_bytes: raw,
        gzip9_bytes: gz,
        gzip9_ratio: raw as f64 / gz.max(1) as f64,
        fits,
        plots: Vec::new(),
    };
    let loss = opts
        .model
        .as_ref()
        .map(|m| hepae_model::ModelDir(m.clone()).loss())
        .filter(|p| p.is_file());
    report::write(
        out,
        &mut summary,
        &report::Inputs {
            names: &names,
            orig: &orig,
            rec: &rec,
            pca: pca_cols.as_deref(),
            fit_hists: &fit_hists,
            loss: loss.as_deref(),
            hist_bins: opts.hist_bins,
        },
    )?;
    Ok(summary)
}
