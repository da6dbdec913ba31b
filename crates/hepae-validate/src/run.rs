//! `validate`: original and restored tables -> statistics, baselines, fits
//! and the report.

use crate::options::{FitRow, StatRow, Summary, ValidateOptions};
use crate::{box_stats, fit, fit_peak, pca, report, Result, ValidateError};
use arrow_array::RecordBatch;
use std::path::Path;

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
    let a = hepae_table::read_parquet(original)?;
    let b = hepae_table::read_parquet(restored)?;
    let names = comparable_columns(original, restored, &a, &b)?;
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
        .zip(orig.iter().zip(&rec))
        .map(|(n, (o, r))| {
            let m = o
                .iter()
                .zip(r)
                .map(|(x, y)| (y - x).abs())
                .fold(0.0, f64::max);
            (n.clone(), m)
        })
        .collect();
    let model = match &opts.model {
        Some(m) => Some(hepae_model::load_description(m)?),
        None => None,
    };
    let k = opts
        .latent
        .or(model.as_ref().map(|(meta, _)| meta.config.model.latent));
    let pca = k.map(|k| pca_baseline(&names, &orig, k, model.as_ref().map(|m| &m.1)));
    if let Some(p) = &pca {
        stats.extend(compare("pca", &names, &orig, &p.cols));
    }
    let (raw, gz) = hepae_table::gzip9_of_raw_float32(&a);
    let (fits, fit_hists) = peak_fits(opts, &names, &orig, &rec, pca.as_ref().map(|p| &p.cols));
    let mut summary = Summary {
        hepae_version: env!("CARGO_PKG_VERSION").into(),
        original: original.display().to_string(),
        restored: restored.display().to_string(),
        rows: a.num_rows() as u64,
        variables: names.clone(),
        max_abs_residual,
        stats,
        pca_components: k,
        pca_explained_variance: pca.as_ref().map(|p| p.explained),
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
            pca: pca.as_ref().map(|p| p.cols.as_slice()),
            fit_hists: &fit_hists,
            loss: loss.as_deref(),
            hist_bins: opts.hist_bins,
        },
    )?;
    Ok(summary)
}

/// The numeric columns of `original`, each present in `restored`, with
/// the same number of rows.
fn comparable_columns(
    original: &Path,
    restored: &Path,
    a: &RecordBatch,
    b: &RecordBatch,
) -> Result<Vec<String>> {
    if a.num_rows() != b.num_rows() {
        return Err(ValidateError::Input(format!(
            "{} has {} rows but {} has {}",
            restored.display(),
            b.num_rows(),
            original.display(),
            a.num_rows()
        )));
    }
    let names: Vec<String> = numeric_columns(a);
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
    Ok(names)
}

/// The PCA reconstruction at `k` components and its explained variance.
struct PcaBaseline {
    cols: Vec<Vec<f64>>,
    explained: f64,
}

/// PCA on the normalised variables (the model's normaliser when it covers
/// exactly these columns, min-max otherwise) at `k` components.
fn pca_baseline(
    names: &[String],
    orig: &[Vec<f64>],
    k: usize,
    model_norm: Option<&hepae_model::Normalizer>,
) -> PcaBaseline {
    let d = names.len();
    let rows = orig.first().map_or(0, |c| c.len());
    let mut x32: Vec<f32> = (0..rows)
        .flat_map(|i| orig.iter().map(move |c| c[i] as f32))
        .collect();
    let norm = match model_norm {
        Some(n) if n.columns.iter().map(|c| &c.name).eq(names.iter()) => n.clone(),
        _ => hepae_model::Normalizer::fit(&x32, names, hepae_model::Scaling::MinMax, &[]),
    };
    norm.apply(&mut x32);
    let x: Vec<f64> = x32.iter().map(|v| *v as f64).collect();
    let p = pca::Pca::fit(&x, d);
    let total: f64 = p.variances.iter().map(|v| v.max(0.0)).sum();
    let explained = if total > 0.0 {
        p.variances.iter().take(k).map(|v| v.max(0.0)).sum::<f64>() / total
    } else {
        1.0
    };
    let mut y: Vec<f32> = p.reconstruct(&x, k).iter().map(|v| *v as f32).collect();
    norm.invert(&mut y);
    let cols = (0..d)
        .map(|j| (0..rows).map(|i| y[i * d + j] as f64).collect())
        .collect();
    PcaBaseline { cols, explained }
}

/// Peak fits of the mass column in every window, for the original, the
/// reconstruction and PCA; also the fitted histograms.
fn peak_fits(
    opts: &ValidateOptions,
    names: &[String],
    orig: &[Vec<f64>],
    rec: &[Vec<f64>],
    pca: Option<&Vec<Vec<f64>>>,
) -> (Vec<FitRow>, Vec<(String, fit::Histogram)>) {
    let mut fits = Vec::new();
    let mut fit_hists = Vec::new();
    let Some(mj) = names.iter().position(|n| *n == opts.mass_column) else {
        return (fits, fit_hists);
    };
    for w in &opts.windows {
        let bins = (((w.hi - w.lo) / opts.fit_bin_width).round() as usize).max(6);
        let mut samples = vec![("original", &orig[mj]), ("ae", &rec[mj])];
        if let Some(p) = pca {
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
    (fits, fit_hists)
}
