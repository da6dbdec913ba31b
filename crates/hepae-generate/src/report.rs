//! `report/index.html`: the metrics tables beside the baselines, and one
//! histogram per observable with a generated / MC ratio panel.

use crate::error::Result;
use crate::metrics::binning;
use crate::run::{Histograms, Summary};
use hepae_plot::{fill_folded, hist_plot, Draw, HistPlot, HistSeries, LogY};
use std::fmt::Write as _;
use std::path::Path;

/// The samples drawn in the histograms (the perturbed ground truth is in the tables only).
const DRAWN: [&str; 3] = ["generator", "gaussian", "column_resampling"];

fn tables(s: &Summary) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# hepae event generation: {}\n\nTrained on {} events of {}, compared with {} held-out MC events it never saw. Training took {:.1} s; generation runs at {:.0} events/s ({} events, prior sampling, decoding and physical decoding).\n",
        serde_json::to_value(s.model).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default(),
        s.train_events,
        if s.processes.is_empty() { "every process".to_string() } else { s.processes.join(", ") },
        s.holdout_events,
        s.train_seconds,
        s.events_per_second,
        s.speed_events
    );
    md += "## Summary\n\n| sample | events | physical before repair | classifier AUC | mean W1/std | correlation distance |\n|---|---|---|---|---|---|\n";
    for m in &s.samples {
        let _ = writeln!(
            md,
            "| {} | {} | {:.2}% | {:.3} +- {:.3} | {:.4} | {:.3} |",
            m.name,
            m.events,
            100.0 * m.physical_before_repair,
            m.classifier.auc,
            m.classifier.auc_error,
            m.mean_wasserstein_over_std,
            m.correlation_distance
        );
    }
    md += "\nAUC 0.5: a classifier cannot tell the sample from held-out MC. The correlation distance is the Frobenius norm of the difference of the observables' correlation matrices. The mean W1/std runs over the observables every sample fills.\n\n";
    for m in s.samples.iter().filter(|m| !m.empty_observables.is_empty()) {
        let _ = writeln!(
            md,
            "- {} never fills: {} (its W1 is undefined there).",
            m.name,
            m.empty_observables.join(", ")
        );
    }
    md += "\n## Per observable: W1/std, KS, chi2/ndf\n\n| observable |";
    for m in &s.samples {
        let _ = write!(md, " {} |", m.name);
    }
    md += "\n|---|";
    md += &"---|".repeat(s.samples.len());
    md.push('\n');
    for (k, d) in s.samples[0].distances.iter().enumerate() {
        let _ = write!(md, "| {} |", d.name);
        for m in &s.samples {
            let x = &m.distances[k];
            let _ = write!(
                md,
                " {:.3} / {:.3} / {:.2} |",
                x.wasserstein_over_std, x.ks, x.chi2_ndf
            );
        }
        md.push('\n');
    }
    md
}

/// Writes the histograms and the page into `dir`.
pub(crate) fn write(dir: &Path, s: &Summary, hists: &Histograms) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| hepae_table::TableError::io(dir, e))?;
    let mut extra = String::from("<h2>Distributions</h2>\n");
    let (mc_label, mc) = &hists[0];
    for (k, o) in mc.iter().enumerate() {
        let (lo, hi, bins) = binning(o, &o.values);
        let counts: Vec<(String, Vec<f64>)> = std::iter::once((mc_label.clone(), o))
            .chain(
                hists[1..]
                    .iter()
                    .filter(|(n, _)| DRAWN.contains(&n.as_str()))
                    .map(|(n, obs)| (n.clone(), &obs[k])),
            )
            .map(|(n, obs)| (n, fill_folded(&obs.values, lo, hi, bins)))
            .collect();
        let series: Vec<HistSeries> = counts
            .iter()
            .enumerate()
            .map(|(i, (label, c))| HistSeries {
                label,
                counts: c,
                draw: match i {
                    0 => Draw::Filled,
                    1 => Draw::Step,
                    _ => Draw::Dashed,
                },
                in_ratio: i > 0,
            })
            .collect();
        let title = format!("{}: generated vs held-out MC", o.name);
        let plot = HistPlot {
            title: &title,
            x_label: &o.label,
            y_label: "events / bin",
            lo,
            hi,
            series: &series,
            reference: 0,
            ratio_label: "sample / MC",
            log_y: LogY::Auto,
        };
        let file = format!("hist_{}.png", o.name);
        hist_plot(&dir.join(&file), &plot)?;
        let _ = writeln!(extra, "<figure><img src=\"{file}\" alt=\"{file}\" width=\"600\"><figcaption>{}</figcaption></figure>", o.name);
    }
    extra += hepae_plot::IMAGE_CHECK;
    let page = hepae_plot::markdown_page(&tables(s), "hepae event generation", &extra);
    hepae_table::write_bytes_atomic(&dir.join("index.html"), page.as_bytes())?;
    Ok(())
}
