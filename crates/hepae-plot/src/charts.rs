//! Line plots, box plots and heat maps, and the font they need.

use crate::error::{draw_err, Drawn, PlotError};
use plotters::prelude::*;
use std::path::Path;
use std::sync::OnceLock;

const FONT_PATHS: [&str; 6] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/Library/Fonts/Arial.ttf",
    "C:\\Windows\\Fonts\\arial.ttf",
];

/// Registers a system font as "sans-serif" once per process.
pub fn ensure_font() -> Result<(), PlotError> {
    static FONT: OnceLock<bool> = OnceLock::new();
    let ok = *FONT.get_or_init(|| {
        let mut candidates: Vec<String> = std::env::var("HEPAE_FONT").into_iter().collect();
        candidates.extend(FONT_PATHS.iter().map(|s| s.to_string()));
        for c in candidates {
            if let Ok(bytes) = std::fs::read(&c) {
                // plotters keeps a 'static reference to the font data.
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
                    return true;
                }
            }
        }
        false
    });
    if ok {
        Ok(())
    } else {
        Err(PlotError::NoFont)
    }
}

/// One line of a line plot.
pub struct Series<'a> {
    /// Legend label.
    pub label: &'a str,
    /// Points.
    pub points: &'a [(f64, f64)],
}

pub(crate) const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// Short tick labels: plain for moderate magnitudes, scientific otherwise.
pub(crate) fn fmt_tick(v: f64) -> String {
    let a = v.abs();
    // Tick positions are sums of steps: a zero tick can come out as 1e-17.
    if a < 1e-12 {
        "0".into()
    } else if (1e-2..1e5).contains(&a) {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        format!("{v:.1e}")
    }
}

/// Draws line series (log-scaled y when `log_y`) to a PNG or SVG file.
pub fn line_plot(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    log_y: bool,
) -> Result<(), PlotError> {
    ensure_font()?;
    let svg = path.extension().is_some_and(|e| e == "svg");
    if svg {
        let root = SVGBackend::new(path, (900, 560)).into_drawing_area();
        draw_lines(root, title, x_label, y_label, series, log_y).map_err(|e| draw_err(path, e))
    } else {
        let root = BitMapBackend::new(path, (900, 560)).into_drawing_area();
        draw_lines(root, title, x_label, y_label, series, log_y).map_err(|e| draw_err(path, e))
    }
}

fn draw_lines<DB: DrawingBackend<ErrorType: 'static>>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    log_y: bool,
) -> Drawn {
    root.fill(&WHITE)?;
    let pts = series.iter().flat_map(|s| s.points.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    for &(x, y) in pts {
        if !x.is_finite() || !y.is_finite() || (log_y && y <= 0.0) {
            continue;
        }
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if !x0.is_finite() {
        return Err("nothing to plot".into());
    }
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    if y1 <= y0 {
        y1 = y0 * 1.1 + 1e-12;
    }
    let mut chart = ChartBuilder::on(&root);
    chart
        .caption(title, ("sans-serif", 26))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(80);
    macro_rules! finish {
        ($c:expr) => {{
            let mut c = $c;
            c.configure_mesh()
                .x_desc(x_label)
                .y_desc(y_label)
                .label_style(("sans-serif", 15))
                .x_label_formatter(&|v| fmt_tick(*v))
                .y_label_formatter(&|v| fmt_tick(*v))
                .light_line_style(WHITE)
                .draw()?;
            for (i, s) in series.iter().enumerate() {
                let color = PALETTE[i % PALETTE.len()];
                c.draw_series(LineSeries::new(
                    s.points
                        .iter()
                        .copied()
                        .filter(|p| p.0.is_finite() && p.1.is_finite() && (!log_y || p.1 > 0.0)),
                    color.stroke_width(2),
                ))?
                .label(s.label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
            }
            c.configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .label_font(("sans-serif", 15))
                .draw()?;
        }};
    }
    if log_y {
        finish!(chart.build_cartesian_2d(x0..x1, (y0 * 0.8..y1 * 1.25).log_scale())?);
    } else {
        let pad = (y1 - y0) * 0.05;
        finish!(chart.build_cartesian_2d(x0..x1, (y0 - pad)..(y1 + pad))?);
    }
    Ok(root.present()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_png_and_svg_line_plots() {
        let dir = std::env::temp_dir().join(format!("hepae-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pts: Vec<(f64, f64)> = (1..=50).map(|i| (i as f64, 1.0 / i as f64)).collect();
        for name in ["loss.png", "loss.svg"] {
            let p = dir.join(name);
            line_plot(
                &p,
                "training loss",
                "epoch",
                "loss",
                &[Series {
                    label: "train",
                    points: &pts,
                }],
                true,
            )
            .unwrap();
            let bytes = std::fs::read(&p).unwrap();
            assert!(bytes.len() > 1000, "{name}: {} bytes", bytes.len());
            if name.ends_with(".png") {
                assert_eq!(&bytes[1..4], b"PNG");
            } else {
                assert!(String::from_utf8_lossy(&bytes).contains("training loss"));
            }
        }
        if std::env::var_os("HEPAE_KEEP_PLOTS").is_none() {
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }
}

/// One box of a box plot: quartiles, median and whisker ends.
#[derive(Debug, Clone, Copy)]
pub struct BoxItem<'a> {
    /// Category label under the box.
    pub label: &'a str,
    /// Lower whisker end.
    pub lo: f64,
    /// First quartile.
    pub q1: f64,
    /// Median.
    pub median: f64,
    /// Third quartile.
    pub q3: f64,
    /// Upper whisker end.
    pub hi: f64,
}

/// Draws one box per item (PNG or SVG by extension), as in the Baler thesis'
/// response and residual figures.
pub fn box_plot(
    path: &Path,
    title: &str,
    y_label: &str,
    items: &[BoxItem],
) -> Result<(), PlotError> {
    ensure_font()?;
    if path.extension().is_some_and(|e| e == "svg") {
        let root = SVGBackend::new(path, (900, 560)).into_drawing_area();
        draw_boxes(root, title, y_label, items).map_err(|e| draw_err(path, e))
    } else {
        let root = BitMapBackend::new(path, (900, 560)).into_drawing_area();
        draw_boxes(root, title, y_label, items).map_err(|e| draw_err(path, e))
    }
}

fn draw_boxes<DB: DrawingBackend<ErrorType: 'static>>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    y_label: &str,
    items: &[BoxItem],
) -> Drawn {
    root.fill(&WHITE)?;
    let finite = items
        .iter()
        .flat_map(|b| [b.lo, b.hi])
        .filter(|v| v.is_finite());
    let (mut y0, mut y1) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    if !y0.is_finite() {
        return Err("nothing to plot".into());
    }
    if y1 <= y0 {
        y0 -= 1e-12_f64.max(y0.abs() * 1e-3);
        y1 += 1e-12_f64.max(y1.abs() * 1e-3);
    }
    let pad = (y1 - y0) * 0.05;
    let n = items.len();
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 26))
        .margin(16)
        .x_label_area_size(60)
        .y_label_area_size(80)
        .build_cartesian_2d(-0.5f64..n as f64 - 0.5, y0 - pad..y1 + pad)?;
    let label = |v: &f64| {
        let i = v.round();
        if (v - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < n {
            items[i as usize].label.to_string()
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .x_labels(n.max(1))
        .x_label_formatter(&label)
        .y_label_formatter(&|v| fmt_tick(*v))
        .y_desc(y_label)
        .label_style(("sans-serif", 14))
        .light_line_style(WHITE)
        .draw()?;
    let color = PALETTE[0];
    for (i, b) in items.iter().enumerate() {
        let x = i as f64;
        let w = 0.3;
        let style = color.stroke_width(2);
        let lines = vec![
            vec![(x, b.lo), (x, b.q1)],
            vec![(x, b.q3), (x, b.hi)],
            vec![(x - w / 2.0, b.lo), (x + w / 2.0, b.lo)],
            vec![(x - w / 2.0, b.hi), (x + w / 2.0, b.hi)],
            vec![(x - w, b.median), (x + w, b.median)],
        ];
        chart.draw_series(lines.into_iter().map(|l| PathElement::new(l, style)))?;
        chart.draw_series(std::iter::once(Rectangle::new(
            [(x - w, b.q1), (x + w, b.q3)],
            color.mix(0.25).filled(),
        )))?;
    }
    Ok(root.present()?)
}

/// Draws a square matrix (row-major `values`, side `labels.len()`) as a heat
/// map, row 0 at the top; zero cells stay white, others shade with
/// sqrt(value / max) so small cells remain visible.
pub fn heatmap(
    path: &Path,
    title: &str,
    labels: &[String],
    values: &[f64],
) -> Result<(), PlotError> {
    ensure_font()?;
    let side = labels.len();
    if values.len() != side * side || side == 0 {
        return Err(draw_err(path, "heat map needs side^2 values".into()));
    }
    let draw = |root: DrawingArea<_, plotters::coord::Shift>| -> Drawn {
        draw_heat(root, title, labels, values)
    };
    if path.extension().is_some_and(|e| e == "svg") {
        draw(SVGBackend::new(path, (900, 900)).into_drawing_area()).map_err(|e| draw_err(path, e))
    } else {
        draw_heat(
            BitMapBackend::new(path, (900, 900)).into_drawing_area(),
            title,
            labels,
            values,
        )
        .map_err(|e| draw_err(path, e))
    }
}

fn draw_heat<DB: DrawingBackend<ErrorType: 'static>>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    labels: &[String],
    values: &[f64],
) -> Drawn {
    root.fill(&WHITE)?;
    let n = labels.len();
    let max = values
        .iter()
        .cloned()
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    // Long labels (column names) get room on the y axis as "NAME i" and
    // are numbered on the x axis, where they would overlap.
    let longest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0) as u32;
    let long = longest > 6;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 24))
        .margin(12)
        .x_label_area_size(50)
        .y_label_area_size(if long { 30 + 7 * longest } else { 60 })
        .build_cartesian_2d(-0.5f64..n as f64 - 0.5, n as f64 - 0.5..-0.5f64)?;
    let step = n.div_ceil(26).max(1);
    let at = |v: &f64| {
        let i = v.round() as usize;
        let on = (v - v.round()).abs() < 1e-6 && v.round() >= 0.0 && i < n;
        (on && i.is_multiple_of(step)).then_some(i)
    };
    let y_lab = |v: &f64| match at(v) {
        Some(i) if long => format!("{} {i}", labels[i]),
        Some(i) => labels[i].clone(),
        None => String::new(),
    };
    let x_lab = |v: &f64| match at(v) {
        Some(i) if long => i.to_string(),
        Some(i) => labels[i].clone(),
        None => String::new(),
    };
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(n)
        .y_labels(n)
        .x_label_formatter(&x_lab)
        .y_label_formatter(&y_lab)
        .label_style(("sans-serif", 11))
        .draw()?;
    chart.draw_series((0..n * n).filter(|k| values[*k] != 0.0).map(|k| {
        let (r, c) = ((k / n) as f64, (k % n) as f64);
        let t = if max > 0.0 {
            (values[k].abs() / max).sqrt().min(1.0)
        } else {
            0.0
        };
        // White -> dark blue.
        let color = RGBColor(
            (235.0 - 200.0 * t) as u8,
            (240.0 - 170.0 * t) as u8,
            (255.0 - 90.0 * t) as u8,
        );
        Rectangle::new([(c - 0.5, r - 0.5), (c + 0.5, r + 0.5)], color.filled())
    }))?;
    Ok(root.present()?)
}
