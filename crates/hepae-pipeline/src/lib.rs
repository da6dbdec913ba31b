//! # hepae-pipeline
//!
//! `hepae run pipelines/NAME.yaml`: the stages ingest -> preprocess -> train
//! -> compress -> decompress -> validate, each writing into
//! `OUT/NAME/STAGE/` with a `stage.json` that records the hash of its
//! configuration and of its inputs. A re-run skips every stage whose hash
//! did not change, and says so.

#![warn(missing_docs)]

mod anomaly_chain;
pub mod config;
mod error;
mod generate_chain;
mod load;
pub mod repro;
mod repro_peaks;
mod stage;
mod stages;
pub mod study;
mod study_chain;
mod train;

pub use config::{Dataset, Pipeline};
pub use error::{PipelineError, Result, StageFailure};
pub use load::{expand_data, load_pipeline, read_yaml};
pub use stage::Stage;
pub use stages::{run, RunOptions, StageOutcome};
pub use study_chain::study_table;
pub use train::train_with_plot;
