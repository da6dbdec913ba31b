//! Comparison histograms drawn the way physicists show them in talks: step
//! outlines that stay visible under each other, log-y when the spectrum
//! falls over two decades, under- and overflow folded into the edge bins, a
//! ratio panel with statistical error bars below, and the legend in its own
//! strip above the axes so that it never covers data.

use crate::{draw_err, ensure_font, fmt_tick, Drawn, PlotError, PALETTE};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// How one series of a histogram plot is drawn.
#[derive(Debug, Clone, Copy)]
pub enum Draw<'a> {
    /// A light opaque fill under a solid outline: the reference sample, or
    /// one layer of a stack (drawn largest first).
    Filled,
    /// A solid step outline.
    Step,
    /// A dashed step outline: stays visible on top of an identical one.
    Dashed,
    /// Markers with statistical error bars (data to be fitted).
    Points,
    /// A smooth curve (a fit); the series' `counts` are its expected counts
    /// per bin, used by the ratio panel.
    Curve(&'a [(f64, f64)]),
}

/// One series: a label and its counts in the plot's equal bins.
#[derive(Debug, Clone, Copy)]
pub struct HistSeries<'a> {
    /// Legend label.
    pub label: &'a str,
    /// Counts (or weights) per bin.
    pub counts: &'a [f64],
    /// How it is drawn.
    pub draw: Draw<'a>,
    /// Whether the ratio panel shows it (divided by the reference).
    pub in_ratio: bool,
}

/// Choice of the y scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogY {
    /// Log when the counts span two decades or more ([`spans_decades`]).
    Auto,
    /// Always log.
    On,
    /// Always linear.
    Off,
}

/// A histogram comparison with a ratio panel.
#[derive(Debug, Clone, Copy)]
pub struct HistPlot<'a> {
    /// Title above the legend.
    pub title: &'a str,
    /// x-axis label, with units.
    pub x_label: &'a str,
    /// y-axis label of the upper panel.
    pub y_label: &'a str,
    /// Lower edge of the first bin.
    pub lo: f64,
    /// Upper edge of the last bin.
    pub hi: f64,
    /// The series; all have the same number of bins.
    pub series: &'a [HistSeries<'a>],
    /// Index of the series every other is divided by in the ratio panel.
    pub reference: usize,
    /// y-axis label of the ratio panel (e.g. "restored / original").
    pub ratio_label: &'a str,
    /// y scale of the upper panel.
    pub log_y: LogY,
}

/// Counts of `values` in `bins` equal bins on [lo, hi), with values below
/// `lo` added to the first bin and values at or above `hi` to the last, so
/// that no entry leaves the plot. NaN is not counted.
pub fn fill_folded(values: &[f64], lo: f64, hi: f64, bins: usize) -> Vec<f64> {
    let mut counts = vec![0.0; bins];
    if bins == 0 {
        return counts;
    }
    let w = (hi - lo) / bins as f64;
    for &v in values.iter().filter(|v| !v.is_nan()) {
        let i = ((v - lo) / w).floor().clamp(0.0, (bins - 1) as f64);
        counts[i as usize] += 1.0;
    }
    counts
}

/// True when the positive counts of all series span at least `decades`
/// decades (largest over smallest positive bin).
pub fn spans_decades(series: &[&[f64]], decades: f64) -> bool {
    let pos = series.iter().flat_map(|s| s.iter()).filter(|c| **c > 0.0);
    let (min, max) = pos.fold((f64::INFINITY, 0.0f64), |(a, b), &c| (a.min(c), b.max(c)));
    max > 0.0 && max / min >= 10f64.powf(decades)
}

/// Per-bin ratio `num / den` with the numerator's Poisson error sqrt(num)/den;
/// `None` where the denominator is empty.
pub fn ratio(num: &[f64], den: &[f64]) -> Vec<Option<(f64, f64)>> {
    num.iter()
        .zip(den)
        .map(|(&n, &d)| (d > 0.0).then(|| (n / d, n.max(0.0).sqrt() / d)))
        .collect()
}

/// Draws `plot` to a PNG or SVG file (by extension).
pub fn hist_plot(path: &Path, plot: &HistPlot) -> Result<(), PlotError> {
    ensure_font()?;
    check(plot).map_err(|e| draw_err(path, e))?;
    let size = (900, 720);
    if path.extension().is_some_and(|e| e == "svg") {
        draw(SVGBackend::new(path, size).into_drawing_area(), plot).map_err(|e| draw_err(path, e))
    } else {
        draw(BitMapBackend::new(path, size).into_drawing_area(), plot)
            .map_err(|e| draw_err(path, e))
    }
}

fn check(p: &HistPlot) -> Drawn {
    let bins = p
        .series
        .get(p.reference)
        .ok_or("the reference series does not exist")?
        .counts
        .len();
    if bins == 0 || p.hi <= p.lo || !p.lo.is_finite() || !p.hi.is_finite() {
        return Err(format!("no bins to draw on [{}, {})", p.lo, p.hi).into());
    }
    match p.series.iter().find(|s| s.counts.len() != bins) {
        Some(s) => Err(format!("{}: {} bins, expected {bins}", s.label, s.counts.len()).into()),
        None => Ok(()),
    }
}

fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// An opaque light tint of `c`, so that stacked fills do not darken each other.
fn tint(c: RGBColor) -> RGBColor {
    let t = |v: u8| (0.35 * v as f64 + 0.65 * 255.0) as u8;
    RGBColor(t(c.0), t(c.1), t(c.2))
}

fn draw<DB: DrawingBackend<ErrorType: 'static>>(
    root: DrawingArea<DB, Shift>,
    p: &HistPlot,
) -> Drawn {
    root.fill(&WHITE)?;
    let body = root.titled(p.title, ("sans-serif", 24))?;
    let rows = legend_rows(p);
    let (legend, rest) = body.split_vertically(12 + 24 * rows.len() as u32);
    draw_legend(&legend, p, &rows)?;
    let h = rest.dim_in_pixel().1;
    let (top, bottom) = rest.split_vertically(h * 68 / 100);
    let log = match p.log_y {
        LogY::On => true,
        LogY::Off => false,
        LogY::Auto => spans_decades(&p.series.iter().map(|s| s.counts).collect::<Vec<_>>(), 2.0),
    };
    draw_main(&top, p, log)?;
    draw_ratio(&bottom, p)?;
    Ok(root.present()?)
}

/// Legend entries laid out in rows that fit the width: (series index, x offset).
fn legend_rows(p: &HistPlot) -> Vec<Vec<(usize, i32)>> {
    let mut rows = vec![Vec::new()];
    let mut x = 90;
    for (i, s) in p.series.iter().enumerate() {
        let w = 44 + 8 * s.label.chars().count() as i32;
        if x + w > 880 && x > 90 {
            rows.push(Vec::new());
            x = 90;
        }
        rows.last_mut().unwrap().push((i, x));
        x += w + 18;
    }
    rows
}

fn draw_legend<DB: DrawingBackend<ErrorType: 'static>>(
    area: &DrawingArea<DB, Shift>,
    p: &HistPlot,
    rows: &[Vec<(usize, i32)>],
) -> Drawn {
    for (r, row) in rows.iter().enumerate() {
        let y = 14 + 24 * r as i32;
        for &(i, x) in row {
            let c = color(i);
            let line = |w| PathElement::new(vec![(x, y), (x + 30, y)], c.stroke_width(w));
            match p.series[i].draw {
                Draw::Filled => {
                    area.draw(&Rectangle::new(
                        [(x, y - 7), (x + 30, y + 7)],
                        tint(c).filled(),
                    ))?;
                    area.draw(&line(2))?;
                }
                Draw::Step | Draw::Curve(_) => area.draw(&line(2))?,
                Draw::Dashed => {
                    for k in 0..3 {
                        let x0 = x + 11 * k;
                        area.draw(&PathElement::new(
                            vec![(x0, y), (x0 + 7, y)],
                            c.stroke_width(2),
                        ))?;
                    }
                }
                Draw::Points => {
                    area.draw(&Circle::new((x + 15, y), 4, c.filled()))?;
                }
            }
            area.draw(&Text::new(
                p.series[i].label,
                (x + 38, y - 8),
                ("sans-serif", 15),
            ))?;
        }
    }
    Ok(())
}

/// Outline of a histogram as a path: up and across each bin; empty bins sit on `floor`.
fn steps(lo: f64, w: f64, counts: &[f64], floor: f64) -> Vec<(f64, f64)> {
    let mut pts = vec![(lo, floor)];
    for (i, &c) in counts.iter().enumerate() {
        let y = c.max(floor);
        pts.push((lo + w * i as f64, y));
        pts.push((lo + w * (i + 1) as f64, y));
    }
    pts.push((lo + w * counts.len() as f64, floor));
    pts
}

fn y_range(p: &HistPlot, log: bool) -> (f64, f64, f64) {
    let mut vals: Vec<f64> = p
        .series
        .iter()
        .flat_map(|s| s.counts.iter().copied())
        .collect();
    for s in p.series {
        if let Draw::Curve(pts) = s.draw {
            vals.extend(pts.iter().map(|q| q.1));
        }
    }
    let max = vals
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    let min_pos = vals
        .iter()
        .copied()
        .filter(|v| v.is_finite() && *v > 0.0)
        .fold(f64::INFINITY, f64::min);
    if log {
        let floor = if min_pos.is_finite() {
            min_pos * 0.5
        } else {
            0.1
        };
        (floor, floor, (max * 3.0).max(floor * 10.0))
    } else {
        (0.0, 0.0, if max > 0.0 { max * 1.08 } else { 1.0 })
    }
}

macro_rules! draw_series_into {
    ($chart:expr, $p:expr, $floor:expr) => {{
        let p = $p;
        let w = (p.hi - p.lo) / p.series[p.reference].counts.len() as f64;
        for (i, s) in p.series.iter().enumerate() {
            let c = color(i);
            let outline = steps(p.lo, w, s.counts, $floor);
            match s.draw {
                Draw::Filled => {
                    $chart.draw_series(std::iter::once(Polygon::new(
                        outline.clone(),
                        tint(c).filled(),
                    )))?;
                    $chart.draw_series(std::iter::once(PathElement::new(
                        outline,
                        c.stroke_width(2),
                    )))?;
                }
                Draw::Step => {
                    $chart.draw_series(std::iter::once(PathElement::new(
                        outline,
                        c.stroke_width(2),
                    )))?;
                }
                Draw::Dashed => {
                    $chart.draw_series(DashedLineSeries::new(outline, 7, 5, c.stroke_width(2)))?;
                }
                Draw::Points => {
                    for (b, &n) in s.counts.iter().enumerate().filter(|(_, n)| **n > 0.0) {
                        let x = p.lo + w * (b as f64 + 0.5);
                        let e = n.sqrt();
                        $chart.draw_series([PathElement::new(
                            vec![(x, (n - e).max($floor)), (x, n + e)],
                            c.stroke_width(1),
                        )])?;
                        $chart.draw_series([Circle::new((x, n), 3, c.filled())])?;
                    }
                }
                Draw::Curve(pts) => {
                    let pts: Vec<(f64, f64)> =
                        pts.iter().copied().filter(|q| q.1 >= $floor).collect();
                    $chart
                        .draw_series(std::iter::once(PathElement::new(pts, c.stroke_width(2))))?;
                }
            }
        }
    }};
}

fn draw_main<DB: DrawingBackend<ErrorType: 'static>>(
    area: &DrawingArea<DB, Shift>,
    p: &HistPlot,
    log: bool,
) -> Drawn {
    let (floor, y0, y1) = y_range(p, log);
    let mut b = ChartBuilder::on(area);
    b.margin_left(10)
        .margin_right(24)
        .margin_top(4)
        .x_label_area_size(6)
        .y_label_area_size(84);
    let y_desc = if log {
        format!("{} (log scale)", p.y_label)
    } else {
        p.y_label.to_string()
    };
    macro_rules! finish {
        ($chart:expr) => {{
            let mut chart = $chart;
            chart
                .configure_mesh()
                .light_line_style(WHITE)
                .x_label_formatter(&|_| String::new())
                .y_label_formatter(&|v| fmt_tick(*v))
                .y_desc(y_desc.as_str())
                .label_style(("sans-serif", 15))
                .draw()?;
            draw_series_into!(chart, p, floor);
        }};
    }
    if log {
        finish!(b.build_cartesian_2d(p.lo..p.hi, (y0..y1).log_scale())?);
    } else {
        finish!(b.build_cartesian_2d(p.lo..p.hi, y0..y1)?);
    }
    Ok(())
}

/// The ratio panel's y range: every ratio with its error, kept within [0, 3]
/// and always showing 0.8-1.2 around one.
fn ratio_range(points: &[Vec<Option<(f64, f64)>>]) -> (f64, f64) {
    let (mut lo, mut hi) = (0.8f64, 1.2f64);
    for (r, e) in points.iter().flatten().flatten() {
        if r.is_finite() && e.is_finite() {
            lo = lo.min(r - e);
            hi = hi.max(r + e);
        }
    }
    let (lo, hi) = (lo.max(0.0), hi.min(3.0));
    let pad = (hi - lo) * 0.05;
    ((lo - pad).max(0.0), hi + pad)
}

fn draw_ratio<DB: DrawingBackend<ErrorType: 'static>>(
    area: &DrawingArea<DB, Shift>,
    p: &HistPlot,
) -> Drawn {
    let den = p.series[p.reference].counts;
    let w = (p.hi - p.lo) / den.len() as f64;
    let others: Vec<usize> = (0..p.series.len())
        .filter(|&i| i != p.reference && p.series[i].in_ratio)
        .collect();
    let points: Vec<Vec<Option<(f64, f64)>>> = others
        .iter()
        .map(|&i| ratio(p.series[i].counts, den))
        .collect();
    let (r0, r1) = ratio_range(&points);
    let mut chart = ChartBuilder::on(area)
        .margin_left(10)
        .margin_right(24)
        .margin_bottom(6)
        .x_label_area_size(50)
        .y_label_area_size(84)
        .build_cartesian_2d(p.lo..p.hi, r0..r1)?;
    chart
        .configure_mesh()
        .light_line_style(WHITE)
        .y_labels(5)
        .x_label_formatter(&|v| fmt_tick(*v))
        .y_label_formatter(&|v| fmt_tick(*v))
        .x_desc(p.x_label)
        .y_desc(p.ratio_label)
        .label_style(("sans-serif", 15))
        .draw()?;
    // The reference's own statistical uncertainty as a grey band around one.
    let band = den
        .iter()
        .enumerate()
        .filter(|(_, d)| **d > 0.0)
        .map(|(b, d)| {
            let x = p.lo + w * b as f64;
            let e = 1.0 / d.sqrt();
            Rectangle::new(
                [(x, (1.0 - e).max(r0)), (x + w, (1.0 + e).min(r1))],
                RGBColor(200, 200, 200).mix(0.6).filled(),
            )
        });
    chart.draw_series(band)?;
    chart.draw_series(std::iter::once(PathElement::new(
        vec![(p.lo, 1.0), (p.hi, 1.0)],
        BLACK.stroke_width(1),
    )))?;
    for (k, &i) in others.iter().enumerate() {
        let c = color(i);
        // Neighbouring series are shifted a little so that their bars stay apart.
        let shift = w * 0.15 * (k as f64 - (others.len() as f64 - 1.0) / 2.0);
        for (b, rp) in points[k].iter().enumerate() {
            let Some((r, e)) = *rp else { continue };
            let x = p.lo + w * (b as f64 + 0.5) + shift;
            let (ylo, yhi) = ((r - e).max(r0), (r + e).min(r1));
            if ylo < yhi {
                chart.draw_series([PathElement::new(
                    vec![(x, ylo), (x, yhi)],
                    c.stroke_width(1),
                )])?;
            }
            if (r0..=r1).contains(&r) {
                chart.draw_series([Circle::new((x, r), 3, c.filled())])?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_under_and_overflow_into_the_edge_bins() {
        let v = [
            -5.0,
            0.0,
            0.49,
            0.5,
            0.99,
            1.0,
            7.0,
            f64::NAN,
            f64::NEG_INFINITY,
            f64::INFINITY,
        ];
        // Bins [0, 0.5) and [0.5, 1): -5, -inf, 0, 0.49 low; 0.5, 0.99, 1, 7, +inf high.
        assert_eq!(fill_folded(&v, 0.0, 1.0, 2), vec![4.0, 5.0]);
    }

    #[test]
    fn log_scale_from_two_decades() {
        assert!(spans_decades(&[&[1000.0, 50.0, 10.0]], 2.0));
        assert!(!spans_decades(&[&[1000.0, 50.0, 11.0], &[0.0, 20.0]], 2.0));
        assert!(!spans_decades(&[&[0.0, 0.0]], 2.0));
    }

    #[test]
    fn ratio_carries_the_numerator_error() {
        let r = ratio(&[4.0, 9.0, 1.0], &[2.0, 9.0, 0.0]);
        assert_eq!(r[0], Some((2.0, 1.0)));
        assert_eq!(r[1], Some((1.0, 1.0 / 3.0)));
        assert_eq!(r[2], None);
    }

    #[test]
    fn draws_png_and_svg_with_a_ratio_panel() {
        let dir = std::env::temp_dir().join(format!("hepae-hist-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let a: Vec<f64> = (0..40).map(|i| 1e4 * (-(i as f64) / 6.0).exp()).collect();
        let b: Vec<f64> = a.iter().map(|v| v * 1.05).collect();
        let series = [
            HistSeries {
                label: "original",
                counts: &a,
                draw: Draw::Filled,
                in_ratio: true,
            },
            HistSeries {
                label: "restored (AE)",
                counts: &b,
                draw: Draw::Dashed,
                in_ratio: true,
            },
        ];
        let plot = HistPlot {
            title: "jet pT",
            x_label: "pT (GeV)",
            y_label: "jets / bin",
            lo: 0.0,
            hi: 400.0,
            series: &series,
            reference: 0,
            ratio_label: "restored / original",
            log_y: LogY::Auto,
        };
        for name in ["h.png", "h.svg"] {
            hist_plot(&dir.join(name), &plot).unwrap();
        }
        let svg = std::fs::read_to_string(dir.join("h.svg")).unwrap();
        for text in [
            "restored / original",
            "pT (GeV)",
            "jets / bin (log scale)",
            "restored (AE)",
        ] {
            assert!(svg.contains(text), "{text} missing from the SVG");
        }
        let bad = HistPlot {
            reference: 5,
            ..plot
        };
        assert!(hist_plot(&dir.join("bad.png"), &bad).is_err());
        if std::env::var_os("HEPAE_KEEP_PLOTS").is_none() {
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }
}
