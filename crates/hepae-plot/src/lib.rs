//! # hepae-plot
//!
//! Plots of hepae results with plotters, as PNG or SVG (by file extension),
//! and the Markdown-to-HTML renderer of the reports that show them.
//! Text uses a TrueType font found on the system (DejaVu Sans, Liberation,
//! Arial...) or named by `HEPAE_FONT`; no font is bundled.

#![warn(missing_docs)]

mod charts;
mod error;
mod hist;
mod markdown;

pub use charts::{box_plot, ensure_font, heatmap, line_plot, BoxItem, Series};
pub use error::{DrawFailure, PlotError};
pub use hist::{fill_folded, hist_plot, ratio, spans_decades, Draw, HistPlot, HistSeries, LogY};
pub use markdown::{escape_html, markdown_body, markdown_page, IMAGE_CHECK};

pub(crate) use charts::{fmt_tick, PALETTE};
pub(crate) use error::{draw_err, Drawn};
