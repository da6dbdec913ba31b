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

mod error;
pub mod fit;
mod options;
pub mod pca;
mod report;
mod run;
pub mod shapes;
pub mod stats;

pub use error::{Result, ValidateError};
pub use fit::{fit_peak, PeakFit};
pub use options::{FitRow, StatRow, Summary, ValidateOptions, Window};
pub use run::validate;
pub use shapes::SignalChoice;
pub use stats::{box_stats, BoxStats};
