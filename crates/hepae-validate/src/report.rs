//! The report directory: plots (PNG and SVG), `stats.parquet`, `report.md`,
//! `summary.json` and a self-contained `index.html`.

use crate::fit::Histogram;
use crate::stats::quantile_sorted;
use crate::{Result, Summary, ValidateError};
use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray, UInt64Array};
use arrow_schema::{DataType, Field, Schema};
use hepae_plot::{
    box_plot, fill_folded, hist_plot, line_plot, BoxItem, Draw, HistPlot, HistSeries, LogY, Series,
};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

pub(crate) struct Inputs<'a> {
    pub names: &'a [String],
    pub orig: &'a [Vec<f64>],
    pub rec: &'a [Vec<f64>],
    pub pca: Option<&'a [Vec<f64>]>,
    pub fit_hists: &'a [(String, Histogram)],
    pub loss: Option<&'a Path>,
    pub hist_bins: usize,
}

/// Axis label with units for a jet variable, by the names physicists use:
/// momenta, masses and energies in GeV, angles in rad, multiplicities as counts.
pub(crate) fn axis_label(name: &str) -> String {
    let l = name.to_ascii_lowercase();
    let gev = ["pt", "mass", "m", "e", "met", "ht"].contains(&l.as_str()) || l.ends_with("energy");
    let angle = l == "phi" || l.ends_with("_phi");
    // nConstituents, nJet, mChargedMultiplicity ...
    let count = l.contains("multiplicity")
        || (name.starts_with('n') && name[1..].starts_with(|c: char| c.is_ascii_uppercase()));
    match (gev, angle, count) {
        (true, _, _) => format!("{name} (GeV)"),
        (_, true, _) => format!("{name} (rad)"),
        (_, _, true) => format!("{name} (count)"),
        _ => name.to_string(),
    }
}

/// Both formats of one plot; returns the PNG name.
fn both(
    dir: &Path,
    stem: &str,
    plots: &mut Vec<String>,
    draw: impl Fn(&Path) -> std::result::Result<(), hepae_plot::PlotError>,
) -> Result<()> {
    for ext in ["png", "svg"] {
        let p = dir.join(format!("{stem}.{ext}"));
        draw(&p)?;
        plots.push(format!("{stem}.{ext}"));
    }
    Ok(())
}

/// One peak fit: the histogram as points with errors, the fitted curve, and
/// data / fit below; without a fit the title says why.
fn fit_plot(
    dir: &Path,
    stem: &str,
    plots: &mut Vec<String>,
    fit: &crate::PeakFit,
    sample: &str,
    h: &Histogram,
) -> Result<()> {
    let expected: Vec<f64> = h.centers().iter().map(|m| fit.curve(*m)).collect();
    let curve: Vec<(f64, f64)> = (0..=200)
        .map(|i| {
            let m = h.lo + (h.hi - h.lo) * i as f64 / 200.0;
            (m, fit.curve(m))
        })
        .collect();
    let data_label = format!("{sample}: {} entries", fit.entries);
    let fit_label = format!(
        "{} + {}: mean {:.2} ± {:.2} GeV, chi2/ndf {:.1}/{}",
        fit.signal, fit.background, fit.mean, fit.mean_err, fit.chi2, fit.ndf
    );
    let mut series = vec![HistSeries {
        label: &data_label,
        counts: &h.counts,
        draw: Draw::Points,
        in_ratio: true,
    }];
    if fit.converged {
        series.push(HistSeries {
            label: &fit_label,
            counts: &expected,
            draw: Draw::Curve(&curve),
            in_ratio: true,
        });
    }
    let title = match &fit.note {
        Some(note) => format!(
            "jet mass, {} window ({sample}): not fitted, {note}",
            fit.window
        ),
        None => format!(
            "jet mass, {} window [{}, {}) GeV ({sample})",
            fit.window, fit.lo, fit.hi
        ),
    };
    let plot = HistPlot {
        title: &title,
        x_label: "jet mass (GeV)",
        y_label: "jets / bin",
        lo: h.lo,
        hi: h.hi,
        series: &series,
        reference: series.len() - 1,
        ratio_label: "data / fit",
        log_y: LogY::Off,
    };
    both(dir, stem, plots, |p| hist_plot(p, &plot))
}

fn stats_batch(s: &Summary) -> std::result::Result<RecordBatch, arrow_schema::ArrowError> {
    let st = &s.stats;
    let f = |g: fn(&crate::StatRow) -> f64| -> ArrayRef {
        Arc::new(Float64Array::from_iter_values(st.iter().map(g)))
    };
    let u = |g: fn(&crate::StatRow) -> u64| -> ArrayRef {
        Arc::new(UInt64Array::from_iter_values(st.iter().map(g)))
    };
    let t = |g: fn(&crate::StatRow) -> &str| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(st.iter().map(g)))
    };
    let schema = Schema::new(vec![
        Field::new("method", DataType::Utf8, false),
        Field::new("variable", DataType::Utf8, false),
        Field::new("quantity", DataType::Utf8, false),
        Field::new("n", DataType::UInt64, false),
        Field::new("zero_denominators", DataType::UInt64, false),
        Field::new("mean", DataType::Float64, false),
        Field::new("median", DataType::Float64, false),
        Field::new("q1", DataType::Float64, false),
        Field::new("q3", DataType::Float64, false),
        Field::new("whisker_lo", DataType::Float64, false),
        Field::new("whisker_hi", DataType::Float64, false),
        Field::new("outliers", DataType::UInt64, false),
        Field::new("outlier_pct", DataType::Float64, false),
    ]);
    RecordBatch::try_new(
        Arc::new(schema),
        vec![
            t(|r| &r.method),
            t(|r| &r.variable),
            t(|r| &r.quantity),
            u(|r| r.stats.n),
            u(|r| r.zero_denominators),
            f(|r| r.stats.mean),
            f(|r| r.stats.median),
            f(|r| r.stats.q1),
            f(|r| r.stats.q3),
            f(|r| r.stats.whisker_lo),
            f(|r| r.stats.whisker_hi),
            u(|r| r.stats.outliers),
            f(|r| r.stats.outlier_pct),
        ],
    )
}

fn g(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v.abs() >= 1e4 || v.abs() < 1e-3 {
        format!("{v:.3e}")
    } else {
        format!("{v:.4}")
    }
}

/// Markdown tables: statistics per method and quantity, then the peak fits.
fn markdown(s: &Summary) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# hepae validation\n");
    let _ = writeln!(
        md,
        "Original `{}` vs restored `{}`: {} rows, {} variables. gzip -9 of the raw float32 table: ratio {:.3}.",
        s.original,
        s.restored,
        s.rows,
        s.variables.len(),
        s.gzip9_ratio
    );
    if let (Some(k), Some(e)) = (s.pca_components, s.pca_explained_variance) {
        let _ = writeln!(
            md,
            "PCA baseline: {k} components, {:.2}% of the normalised variance.",
            100.0 * e
        );
    }
    for method in ["ae", "pca"] {
        for q in ["response", "residual"] {
            let rows = s.rows(method, q);
            if rows.is_empty() {
                continue;
            }
            let _ = writeln!(
                md,
                "\n## {} {q}\n",
                if method == "ae" {
                    "Restored (AE)"
                } else {
                    "PCA"
                }
            );
            let _ = writeln!(md, "| variable | mean | median | Q1 | Q3 | whisker low | whisker high | outliers | outliers % | x = 0 |");
            let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            for r in rows {
                let b = &r.stats;
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {} | {} | {} | {} | {} | {:.2} | {} |",
                    r.variable,
                    g(b.mean),
                    g(b.median),
                    g(b.q1),
                    g(b.q3),
                    g(b.whisker_lo),
                    g(b.whisker_hi),
                    b.outliers,
                    b.outlier_pct,
                    r.zero_denominators
                );
            }
        }
    }
    if !s.fits.is_empty() {
        let _ = writeln!(md, "\n## Mass-peak fits\n");
        let _ = writeln!(
            md,
            "Each window is fitted with a Gaussian and a double-sided Crystal Ball peak on an exponential and on Bernstein backgrounds of order 1-4; the lowest AIC (chi2 + 2 x parameters) is shown. Mean and width are the peak's core.\n"
        );
        let _ = writeln!(
            md,
            "| window | fit range (GeV) | sample | model | mean (GeV) | sigma (GeV) | chi2/ndf | entries |"
        );
        let _ = writeln!(md, "|---|---|---|---|---:|---:|---:|---:|");
        for f in &s.fits {
            let p = &f.fit;
            let head = format!("| {} | [{}, {}) | {} |", p.window, p.lo, p.hi, f.sample);
            match &p.note {
                Some(note) => {
                    let _ = writeln!(md, "{head} not fitted: {note} | | | | {} |", p.entries);
                }
                None => {
                    let _ = writeln!(
                        md,
                        "{head} {} + {} | {:.2} ± {:.2} | {:.2} ± {:.2} | {:.2} ({:.1}/{}) | {} |",
                        p.signal,
                        p.background,
                        p.mean,
                        p.mean_err,
                        p.sigma,
                        p.sigma_err,
                        p.chi2 / p.ndf as f64,
                        p.chi2,
                        p.ndf,
                        p.entries
                    );
                }
            }
        }
    }
    md
}

/// Marks on `<body>` how many images loaded and which did not, so a headless
/// browser's DOM dump shows whether the report renders completely
/// (`scripts/check-report`).
/// Minimal Markdown-table-to-HTML for the report (our tables only).
/// The report page: the Markdown tables, then every plot (PNG linking its SVG).
fn html(s: &Summary, md: &str) -> String {
    let mut extra = String::from("<h2>Plots</h2>\n");
    for p in s.plots.iter().filter(|p| p.ends_with(".png")) {
        let svg = p.replace(".png", ".svg");
        extra += &format!(
            "<figure><a href=\"{svg}\"><img src=\"{p}\" alt=\"{p}\" width=\"720\"></a><figcaption>{p} (<a href=\"{svg}\">SVG</a>)</figcaption></figure>\n"
        );
    }
    extra += hepae_plot::IMAGE_CHECK;
    hepae_plot::markdown_page(md, "hepae validation", &extra)
}

pub(crate) fn write(out: &Path, s: &mut Summary, inp: &Inputs) -> Result<()> {
    if out.exists() && !out.join("summary.json").is_file() {
        return Err(ValidateError::Input(format!(
            "{}: exists and is not a hepae report; refusing to replace it",
            out.display()
        )));
    }
    hepae_table::write_dir_atomic(out, |tmp| write_into(tmp, s, inp))
}

/// The histogram range of a variable: its 0.1% to 99.9% quantiles, and for
/// integer variables bins of whole units centred on the integers.
fn hist_range(orig: &[f64], max_bins: usize) -> (f64, f64, usize) {
    let mut sorted = orig.to_vec();
    sorted.sort_unstable_by(|a, b| a.total_cmp(b));
    let (lo, mut hi) = (
        quantile_sorted(&sorted, 0.001),
        quantile_sorted(&sorted, 0.999),
    );
    if hi <= lo {
        hi = lo + 1.0;
    }
    let integral = orig.iter().all(|v| !v.is_finite() || v.fract() == 0.0);
    if !integral || max_bins == 0 {
        return (lo, hi, max_bins);
    }
    let (a, b) = (lo.floor(), hi.ceil());
    let values = (b - a) as usize + 1;
    let per_bin = values.div_ceil(max_bins);
    let bins = values.div_ceil(per_bin);
    (a - 0.5, a - 0.5 + (bins * per_bin) as f64, bins)
}

/// Original (filled), restored (dashed) and PCA (solid) of one variable, with
/// the ratio to the original below.
fn variable_plot(
    dir: &Path,
    plots: &mut Vec<String>,
    name: &str,
    orig: &[f64],
    rec: &[f64],
    pca: Option<&[f64]>,
    max_bins: usize,
) -> Result<()> {
    let (lo, hi, bins) = hist_range(orig, max_bins);
    // Under- and overflow are folded into the edge bins: no entry leaves the plot.
    let h_o = fill_folded(orig, lo, hi, bins);
    let h_r = fill_folded(rec, lo, hi, bins);
    let h_p = pca.map(|p| fill_folded(p, lo, hi, bins));
    let mut series = vec![
        HistSeries {
            label: "original",
            counts: &h_o,
            draw: Draw::Filled,
            in_ratio: true,
        },
        HistSeries {
            label: "restored (AE)",
            counts: &h_r,
            draw: Draw::Dashed,
            in_ratio: true,
        },
    ];
    if let Some(h) = &h_p {
        series.push(HistSeries {
            label: "PCA",
            counts: h,
            draw: Draw::Step,
            in_ratio: true,
        });
    }
    let x_label = axis_label(name);
    let plot = HistPlot {
        title: name,
        x_label: &x_label,
        y_label: "entries / bin",
        lo,
        hi,
        series: &series,
        reference: 0,
        ratio_label: "ratio to original",
        log_y: LogY::Auto,
    };
    both(dir, &format!("hist_{name}"), plots, |p| hist_plot(p, &plot))
}

fn write_into(dir: &Path, s: &mut Summary, inp: &Inputs) -> Result<()> {
    let mut plots = Vec::new();
    // Per-variable distributions: original, restored, PCA.
    for (j, name) in inp.names.iter().enumerate() {
        let pca = inp.pca.map(|p| p[j].as_slice());
        variable_plot(
            dir,
            &mut plots,
            name,
            &inp.orig[j],
            &inp.rec[j],
            pca,
            inp.hist_bins,
        )?;
    }
    // Box plots of response and residual, per method.
    for method in ["ae", "pca"] {
        for q in ["response", "residual"] {
            let rows = s.rows(method, q);
            if rows.is_empty() {
                continue;
            }
            let items: Vec<BoxItem> = rows
                .iter()
                .map(|r| BoxItem {
                    label: &r.variable,
                    lo: r.stats.whisker_lo,
                    q1: r.stats.q1,
                    median: r.stats.median,
                    q3: r.stats.q3,
                    hi: r.stats.whisker_hi,
                })
                .collect();
            let title = format!("{q} ({})", if method == "ae" { "restored" } else { "PCA" });
            both(dir, &format!("box_{q}_{method}"), &mut plots, |p| {
                box_plot(p, &title, q, &items)
            })?;
        }
    }
    // Peak fits: one plot per window and sample, data with the fitted curve
    // and data / fit below.
    for (f, (sample, h)) in s.fits.iter().zip(inp.fit_hists) {
        let stem = if sample == "original" {
            format!("fit_{}", f.fit.window)
        } else {
            format!("fit_{}_{sample}", f.fit.window)
        };
        fit_plot(dir, &stem, &mut plots, &f.fit, sample, h)?;
    }
    // Training loss.
    if let Some(loss) = inp.loss {
        let b = hepae_table::read_parquet(loss)?;
        use arrow_array::cast::AsArray;
        use arrow_array::types::{Float64Type, Int64Type};
        let e = b.column(0).as_primitive::<Int64Type>();
        let l = b.column(1).as_primitive::<Float64Type>();
        let pts: Vec<(f64, f64)> = e
            .values()
            .iter()
            .zip(l.values())
            .map(|(e, l)| (*e as f64, *l))
            .collect();
        // The validation loss beside it when the run held rows out.
        let val: Vec<(f64, f64)> = match b.column_by_name("validation") {
            Some(v) => {
                let v = v.as_primitive::<Float64Type>();
                (0..v.len())
                    .filter(|&i| arrow_array::Array::is_valid(v, i))
                    .map(|i| (e.value(i) as f64, v.value(i)))
                    .collect()
            }
            None => Vec::new(),
        };
        let mut series = vec![Series {
            label: "training loss",
            points: &pts,
        }];
        if !val.is_empty() {
            series.push(Series {
                label: "validation loss",
                points: &val,
            });
        }
        both(dir, "loss", &mut plots, |p| {
            line_plot(p, "learning curves", "epoch", "loss", &series, true)
        })?;
    }
    s.plots = plots;
    let batch = stats_batch(s).map_err(|source| ValidateError::Arrow {
        what: "stats.parquet",
        source,
    })?;
    hepae_table::write_parquet_atomic(&batch, &dir.join("stats.parquet"), &[], 3)?;
    let md = markdown(s);
    let (md_path, html_path) = (dir.join("report.md"), dir.join("index.html"));
    std::fs::write(&md_path, &md).map_err(|e| ValidateError::io(&md_path, e))?;
    std::fs::write(&html_path, html(s, &md)).map_err(|e| ValidateError::io(&html_path, e))?;
    hepae_table::write_json_atomic(s, &dir.join("summary.json"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_variables_get_bins_centred_on_integers() {
        let v: Vec<f64> = (0..5000).map(|i| (1 + i % 35) as f64).collect();
        let (lo, hi, bins) = hist_range(&v, 100);
        assert_eq!((lo, hi, bins), (0.5, 35.5, 35));
        // Too many values for one bin each: whole numbers of units per bin.
        let v: Vec<f64> = (0..100_000).map(|i| (i % 1001) as f64).collect();
        let (lo, hi, bins) = hist_range(&v, 100);
        // 0..999 within the quantiles: 1000 values, 10 per bin.
        assert_eq!((lo, hi, bins), (-0.5, 999.5, 100));
        // Real-valued variables keep the requested bins.
        let v: Vec<f64> = (0..1000).map(|i| i as f64 * 0.37).collect();
        assert_eq!(hist_range(&v, 100).2, 100);
    }

    #[test]
    fn axis_labels_carry_units() {
        assert_eq!(axis_label("pt"), "pt (GeV)");
        assert_eq!(
            axis_label("mChargedHadronEnergy"),
            "mChargedHadronEnergy (GeV)"
        );
        assert_eq!(axis_label("phi"), "phi (rad)");
        assert_eq!(axis_label("nConstituents"), "nConstituents (count)");
        assert_eq!(axis_label("mMuonMultiplicity"), "mMuonMultiplicity (count)");
        assert_eq!(axis_label("eta"), "eta");
    }
}
