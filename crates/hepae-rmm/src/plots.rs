//! Plots of the anomaly stage: the score distribution and the carried event
//! quantities in a signal region, each with the SM processes stacked and
//! the signals overlaid, and the ROC curves.

use crate::anomaly::Roc;
use hepae_plot::{Draw, HistPlot, HistSeries, LogY, PlotError};
use std::path::Path;

/// Per-event labels every stacked plot needs.
pub struct Stack<'a> {
    /// Event weights.
    pub weight: &'a [f64],
    /// Process of each event.
    pub process: &'a [String],
    /// Whether each event is signal.
    pub signal: &'a [bool],
}

/// What one stacked plot shows.
struct StackedPlot<'a> {
    title: &'a str,
    x_label: &'a str,
    lo: f64,
    hi: f64,
    bins: usize,
    log_y: LogY,
}

impl Stack<'_> {
    /// Processes in name order, background first then signal.
    fn processes(&self) -> (Vec<&String>, Vec<&String>) {
        let mut procs: Vec<&String> = self.process.iter().collect();
        procs.sort();
        procs.dedup();
        let is_signal =
            |p: &String| (0..self.process.len()).any(|i| self.signal[i] && &self.process[i] == p);
        procs.into_iter().partition(|p| !is_signal(p))
    }

    /// Draws `values` of the included events, weight `w(i)`, as `stem.png`
    /// and `stem.svg`; false (nothing drawn) without background events.
    fn draw(
        &self,
        stem: &Path,
        values: &[f64],
        include: &dyn Fn(usize) -> bool,
        w: &dyn Fn(usize) -> f64,
        p: &StackedPlot,
    ) -> Result<bool, PlotError> {
        let (background, signals) = self.processes();
        let width = (p.hi - p.lo) / p.bins as f64;
        let counts = |name: &String| {
            let mut c = vec![0.0f64; p.bins];
            for i in (0..values.len()).filter(|&i| include(i) && &self.process[i] == name) {
                let b = ((values[i] - p.lo) / width).clamp(0.0, (p.bins - 1) as f64) as usize;
                c[b] += w(i);
            }
            c
        };
        // Cumulative stacks, the full SM first so that each smaller stack is drawn over it.
        let mut stacks: Vec<(String, Vec<f64>)> = Vec::new();
        let mut stack = vec![0.0f64; p.bins];
        for name in &background {
            for (t, c) in stack.iter_mut().zip(counts(name)) {
                *t += c;
            }
            stacks.push((name.to_string(), stack.clone()));
        }
        if stacks.last().is_none_or(|s| s.1.iter().all(|c| *c == 0.0)) {
            return Ok(false);
        }
        stacks.reverse();
        let overlaid: Vec<(String, Vec<f64>)> = signals
            .iter()
            .map(|name| (format!("{name} (signal)"), counts(name)))
            // Signals with no included event stay out of the legend.
            .filter(|(_, c)| c.iter().any(|v| *v != 0.0))
            .collect();
        let mut series: Vec<HistSeries> = stacks
            .iter()
            .map(|(l, c)| HistSeries {
                label: l,
                counts: c,
                draw: Draw::Filled,
                // The stack's layers are not compared: the ratio panel shows signal / SM.
                in_ratio: false,
            })
            .collect();
        series.extend(overlaid.iter().map(|(l, c)| HistSeries {
            label: l,
            counts: c,
            draw: Draw::Step,
            in_ratio: true,
        }));
        let plot = HistPlot {
            title: p.title,
            x_label: p.x_label,
            y_label: "weighted events / bin",
            lo: p.lo,
            hi: p.hi,
            series: &series,
            reference: 0,
            ratio_label: "signal / SM",
            log_y: p.log_y,
        };
        for ext in ["png", "svg"] {
            hepae_plot::hist_plot(&stem.with_extension(ext), &plot)?;
        }
        Ok(true)
    }
}

/// The value below which 99.5% of the included events lie (the plot's
/// upper edge, so a far tail does not squeeze the bulk into one bin).
fn upper_edge(values: &[f64], include: &dyn Fn(usize) -> bool) -> Option<f64> {
    let mut v: Vec<f64> = (0..values.len())
        .filter(|&i| include(i) && values[i].is_finite())
        .map(|i| values[i])
        .collect();
    v.sort_by(f64::total_cmp);
    v.get(v.len().saturating_sub(1) * 995 / 1000).copied()
}

/// `scores.png`/`.svg`: the score of the held-out and signal events.
pub fn score_plot(
    out: &Path,
    score: &[f64],
    st: &Stack,
    eval: &dyn Fn(usize) -> bool,
) -> Result<(), PlotError> {
    let hi = upper_edge(score, eval).unwrap_or(1.0).max(1e-12);
    let p = StackedPlot {
        title: "anomaly score of held-out events: SM stacked, signal overlaid",
        x_label: "anomaly score (reconstruction MSE)",
        lo: 0.0,
        hi,
        bins: 60,
        log_y: LogY::On,
    };
    st.draw(&out.join("scores"), score, eval, &|i| st.weight[i], &p)?;
    Ok(())
}

/// One plot per carried quantity of the events in a signal region (`in_sr`),
/// `sr1_NAME.png`: held-out background weighted up to the whole
/// background (`background_scale`), signal at its own weights. Returns the
/// PNG names drawn.
pub fn region_plots(
    out: &Path,
    carried: &[(String, Vec<f64>)],
    st: &Stack,
    in_sr: &dyn Fn(usize) -> bool,
    background_scale: f64,
    region: &str,
) -> Result<Vec<String>, PlotError> {
    let w = |i: usize| {
        if st.signal[i] {
            st.weight[i]
        } else {
            st.weight[i] * background_scale
        }
    };
    let mut drawn = Vec::new();
    for (name, values) in carried {
        let Some(hi) = upper_edge(values, in_sr) else {
            continue;
        };
        let lo = (0..values.len())
            .filter(|&i| in_sr(i) && values[i].is_finite())
            .map(|i| values[i])
            .fold(0.0, f64::min);
        let title = format!("{name} in {region}: SM stacked, signal overlaid");
        let unit = if name.starts_with("n_") { "" } else { " (GeV)" };
        let x_label = format!("{name}{unit}");
        let p = StackedPlot {
            title: &title,
            x_label: &x_label,
            lo,
            hi: if hi > lo { hi } else { lo + 1.0 },
            bins: 30,
            log_y: LogY::Auto,
        };
        let stem = format!("sr1_{name}");
        if st.draw(&out.join(&stem), values, in_sr, &w, &p)? {
            drawn.push(format!("{stem}.png"));
        }
    }
    Ok(drawn)
}

/// `roc.png`/`.svg`: every signal's ROC against the held-out background.
pub fn roc_plot(out: &Path, rocs: &[Roc]) -> Result<(), PlotError> {
    let labels: Vec<String> = rocs
        .iter()
        .map(|r| format!("{} (AUC {:.3})", r.signal, r.auc))
        .collect();
    let mut series: Vec<hepae_plot::Series> = rocs
        .iter()
        .zip(&labels)
        .map(|(r, l)| hepae_plot::Series {
            label: l,
            points: &r.points,
        })
        .collect();
    let diag = [(0.0, 0.0), (1.0, 1.0)];
    series.push(hepae_plot::Series {
        label: "random",
        points: &diag,
    });
    for ext in ["png", "svg"] {
        hepae_plot::line_plot(
            &out.join(format!("roc.{ext}")),
            "ROC: signal vs held-out SM background",
            "background efficiency",
            "signal efficiency",
            &series,
            false,
        )?;
    }
    Ok(())
}
