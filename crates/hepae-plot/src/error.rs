//! Plotting failures; each names the output file and keeps plotters' error.

use std::path::Path;

/// Plotting failures.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// No usable font was found.
    #[error("no TrueType font found for plot text: install fonts-dejavu-core or set HEPAE_FONT to a .ttf file")]
    NoFont,
    /// Drawing or writing the file failed.
    #[error("{path}: {source}")]
    Draw {
        /// Output file.
        path: String,
        /// plotters' error, or what does not fit in the plot's data.
        #[source]
        source: DrawFailure,
    },
}

/// Why drawing failed (plotters' errors are generic over the backend).
pub type DrawFailure = Box<dyn std::error::Error + Send + Sync>;

/// Result of the drawing helpers.
pub(crate) type Drawn = Result<(), DrawFailure>;

pub(crate) fn draw_err(path: &Path, source: DrawFailure) -> PlotError {
    PlotError::Draw {
        path: path.display().to_string(),
        source,
    }
}
