//! The report directory: plots (PNG and SVG), `stats.parquet`, `report.md`,
//! `summary.json` and a self-contained `index.html`.

use crate::fit::{model, Histogram};
use crate::stats::quantile_sorted;
use crate::{Result, Summary, ValidateError};
use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray, UInt64Array};
use arrow_schema::{DataType, Field, Schema};
use hepae_plot::{box_plot, line_plot, BoxItem, Series};
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

fn io(p: &Path, e: impl std::fmt::Display) -> ValidateError {
    ValidateError::Io(format!("{}: {e}", p.display()))
}

/// Histogram as a step outline.
fn steps(h: &Histogram) -> Vec<(f64, f64)> {
    let w = h.width();
    let mut pts = Vec::with_capacity(2 * h.counts.len());
    for (i, c) in h.counts.iter().enumerate() {
        let x = h.lo + i as f64 * w;
        pts.push((x, *c));
        pts.push((x + w, *c));
    }
    pts
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
        draw(&p).map_err(|e| io(&p, e))?;
        plots.push(format!("{stem}.{ext}"));
    }
    Ok(())
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
        let _ = writeln!(
            md,
            "\n## Mass-peak fits (Gaussian + exponential background)\n"
        );
        let _ = writeln!(
            md,
            "| window | sample | mean (GeV) | sigma (GeV) | chi2/ndf | entries |"
        );
        let _ = writeln!(md, "|---|---|---:|---:|---:|---:|");
        for f in &s.fits {
            let p = &f.fit;
            if !p.converged {
                let _ = writeln!(
                    md,
                    "| {} [{}, {}] | {} | not fitted | | | {} |",
                    p.window, p.lo, p.hi, f.sample, p.entries
                );
                continue;
            }
            let _ = writeln!(
                md,
                "| {} [{}, {}] | {} | {:.2} ± {:.2} | {:.2} ± {:.2} | {:.1}/{} | {} |",
                p.window,
                p.lo,
                p.hi,
                f.sample,
                p.mean,
                p.mean_err,
                p.sigma,
                p.sigma_err,
                p.chi2,
                p.ndf,
                p.entries
            );
        }
    }
    md
}

/// Marks on `<body>` how many images loaded and which did not, so a headless
/// browser's DOM dump shows whether the report renders completely
/// (`scripts/check-report`).
const IMAGE_CHECK: &str = "<script>window.addEventListener('load', () => {\
const imgs = Array.from(document.images);\
const bad = imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src'));\
document.body.dataset.imagesLoaded = String(imgs.length - bad.length);\
document.body.dataset.imagesTotal = String(imgs.length);\
document.body.dataset.imagesBroken = bad.join(' ');});</script>\n";

/// Minimal Markdown-table-to-HTML for the report (our tables only).
fn html(s: &Summary, md: &str) -> String {
    let esc = |t: &str| {
        t.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let mut body = String::new();
    let mut in_table = false;
    for line in md.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            body += &format!("<h2>{}</h2>\n", esc(h));
        } else if let Some(h) = line.strip_prefix("# ") {
            body += &format!("<h1>{}</h1>\n", esc(h));
        } else if line.starts_with('|') {
            let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
            if cells
                .iter()
                .all(|c| c.starts_with("---") || c.starts_with("---:"))
            {
                continue;
            }
            let tag = if in_table { "td" } else { "th" };
            if !in_table {
                body += "<table>\n";
                in_table = true;
            }
            body += "<tr>";
            for c in cells {
                body += &format!("<{tag}>{}</{tag}>", esc(&c.replace('`', "")));
            }
            body += "</tr>\n";
        } else {
            if in_table {
                body += "</table>\n";
                in_table = false;
            }
            if !line.trim().is_empty() {
                body += &format!("<p>{}</p>\n", esc(&line.replace('`', "")));
            }
        }
    }
    if in_table {
        body += "</table>\n";
    }
    body += "<h2>Plots</h2>\n";
    for p in s.plots.iter().filter(|p| p.ends_with(".png")) {
        let svg = p.replace(".png", ".svg");
        body += &format!(
            "<figure><a href=\"{svg}\"><img src=\"{p}\" alt=\"{p}\" width=\"720\"></a><figcaption>{p} (<a href=\"{svg}\">SVG</a>)</figcaption></figure>\n"
        );
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>hepae validation</title>\n<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #bbb;padding:3px 8px;text-align:right}}th{{background:#eee}}figure{{display:inline-block;margin:8px}}</style></head>\n<body>\n{body}{IMAGE_CHECK}</body></html>\n"
    )
}

pub(crate) fn write(out: &Path, s: &mut Summary, inp: &Inputs) -> Result<()> {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "report".into());
    let tmp = out.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| io(&tmp, e))?;
    let r = write_into(&tmp, s, inp);
    if let Err(e) = r {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    if out.exists() {
        if !out.join("summary.json").is_file() {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(ValidateError::Input(format!(
                "{}: exists and is not a hepae report; refusing to replace it",
                out.display()
            )));
        }
        std::fs::remove_dir_all(out).map_err(|e| io(out, e))?;
    }
    std::fs::rename(&tmp, out).map_err(|e| io(out, e))
}

fn write_into(dir: &Path, s: &mut Summary, inp: &Inputs) -> Result<()> {
    let mut plots = Vec::new();
    // Per-variable distributions: original, restored, PCA.
    for (j, name) in inp.names.iter().enumerate() {
        let mut sorted = inp.orig[j].clone();
        sorted.sort_unstable_by(|a, b| a.total_cmp(b));
        let (lo, mut hi) = (
            quantile_sorted(&sorted, 0.001),
            quantile_sorted(&sorted, 0.999),
        );
        if hi <= lo {
            hi = lo + 1.0;
        }
        let hist = |v: &[f64]| steps(&Histogram::fill(v, lo, hi, inp.hist_bins));
        let h_o = hist(&inp.orig[j]);
        let h_r = hist(&inp.rec[j]);
        let h_p = inp.pca.map(|p| hist(&p[j]));
        let mut series = vec![
            Series {
                label: "original",
                points: &h_o,
            },
            Series {
                label: "restored (AE)",
                points: &h_r,
            },
        ];
        if let Some(h) = &h_p {
            series.push(Series {
                label: "PCA",
                points: h,
            });
        }
        both(dir, &format!("hist_{name}"), &mut plots, |p| {
            line_plot(p, name, name, "entries", &series, false)
        })?;
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
    // Peak fits: histograms with the fitted curves.
    let mut windows: Vec<&str> = s.fits.iter().map(|f| f.fit.window.as_str()).collect();
    windows.dedup();
    for w in windows {
        let mut owned: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
        for (f, (sample, h)) in s
            .fits
            .iter()
            .zip(inp.fit_hists)
            .filter(|(f, _)| f.fit.window == w)
        {
            owned.push((format!("{sample} histogram"), steps(h)));
            if f.fit.converged {
                let p = [
                    f.fit.amplitude,
                    f.fit.mean,
                    f.fit.sigma,
                    f.fit.background,
                    f.fit.background_slope,
                ];
                let curve = (0..=200)
                    .map(|i| {
                        let m = h.lo + (h.hi - h.lo) * i as f64 / 200.0;
                        (m, model(&p, m, h.lo))
                    })
                    .collect();
                owned.push((
                    format!(
                        "{sample} fit: {:.1} ± {:.1} GeV",
                        f.fit.mean, f.fit.mean_err
                    ),
                    curve,
                ));
            }
        }
        let series: Vec<Series> = owned
            .iter()
            .map(|(l, p)| Series {
                label: l,
                points: p,
            })
            .collect();
        both(dir, &format!("fit_{w}"), &mut plots, |p| {
            line_plot(
                p,
                &format!("jet mass, {w} window"),
                "mass (GeV)",
                "entries / bin",
                &series,
                false,
            )
        })?;
    }
    // Training loss.
    if let Some(loss) = inp.loss {
        let b = hepae_ingest::read_parquet(loss).map_err(|e| ValidateError::Io(e.to_string()))?;
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
        let series = [Series {
            label: "training loss",
            points: &pts,
        }];
        both(dir, "loss", &mut plots, |p| {
            line_plot(p, "training loss", "epoch", "loss", &series, true)
        })?;
    }
    s.plots = plots;
    let batch = stats_batch(s).map_err(|e| io(dir, e))?;
    hepae_ingest::write_parquet_atomic(&batch, &dir.join("stats.parquet"), &[], 3)
        .map_err(|e| ValidateError::Io(e.to_string()))?;
    let md = markdown(s);
    std::fs::write(dir.join("report.md"), &md).map_err(|e| io(dir, e))?;
    std::fs::write(dir.join("index.html"), html(s, &md)).map_err(|e| io(dir, e))?;
    hepae_ingest::write_json_atomic(s, &dir.join("summary.json"))
        .map_err(|e| ValidateError::Io(e.to_string()))?;
    Ok(())
}
