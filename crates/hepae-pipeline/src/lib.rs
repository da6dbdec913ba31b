//! # hepae-pipeline
//!
//! `hepae run pipelines/NAME.yaml`: the stages ingest -> preprocess -> train
//! -> compress -> decompress -> validate, each writing into
//! `OUT/NAME/STAGE/` with a `stage.json` that records the hash of its
//! configuration and of its inputs. A re-run skips every stage whose hash
//! did not change, and says so.

#![warn(missing_docs)]

pub mod config;
mod preprocess;
mod stages;

pub use config::{Dataset, Pipeline};
pub use stages::{run, RunOptions, Stage, StageOutcome};

use std::path::Path;

/// Errors of a pipeline run.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// Bad pipeline or dataset file.
    #[error("{0}")]
    Config(String),
    /// A stage failed.
    #[error("stage {stage}: {message}")]
    Stage {
        /// Stage name.
        stage: String,
        /// What went wrong.
        message: String,
    },
}

/// Result of this crate.
pub type Result<T> = std::result::Result<T, PipelineError>;

/// Reads a strict YAML file, naming the file, line and column on errors.
pub fn read_yaml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| PipelineError::Config(format!("{}: {e}", path.display())))?;
    serde_saphyr::from_str(&text).map_err(|e| {
        PipelineError::Config(format!(
            "{}: {e}\nhint: every key is listed in docs/pipeline.md (and `hepae run --help`)",
            path.display()
        ))
    })
}

/// Expands `$HEPAE_DATA` (default `../shared/data`) in a path.
pub fn expand_data(s: &str) -> String {
    let data = std::env::var("HEPAE_DATA").unwrap_or_else(|_| "../shared/data".into());
    s.replace("${HEPAE_DATA}", &data)
        .replace("$HEPAE_DATA", &data)
}

/// Trains on a table and plots the loss curve into the model directory
/// (`loss.png`); shared by `hepae train` and the train stage.
pub fn train_with_plot(
    data: &hepae_train::Matrix,
    cfg: &hepae_train::TrainConfig,
    out: &Path,
    resume: bool,
) -> std::result::Result<hepae_train::TrainOutcome, hepae_train::TrainError> {
    let opts = hepae_train::RunOptions {
        resume,
        progress: true,
        stop_after: None,
    };
    let outcome = hepae_train::train(data, cfg, out, &opts)?;
    let points: Vec<(f64, f64)> = outcome
        .history
        .iter()
        .map(|h| (h.epoch as f64, h.loss))
        .collect();
    let png = out.join("loss.png");
    let series = [hepae_plot::Series {
        label: "train",
        points: &points,
    }];
    if let Err(e) = hepae_plot::line_plot(&png, "training loss", "epoch", "loss", &series, true) {
        // The model is trained and saved; a missing font must not lose it.
        eprintln!("warning: loss plot not written: {e}");
    }
    Ok(outcome)
}
