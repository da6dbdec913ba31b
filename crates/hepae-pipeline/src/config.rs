//! The pipeline file and the dataset manifests it can point to. Every
//! section is strict: unknown keys and wrong types are errors with line and
//! column (serde-saphyr).

use hepae_compress::CompressOptions;
use hepae_train::TrainConfig;

use serde::{Deserialize, Serialize};

/// The preprocess section is ingest's options for cuts on a table.
pub use hepae_ingest::Preprocess as PreprocessSection;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// `pipelines/NAME.yaml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pipeline {
    /// Name; default: the file name without `.yaml`. Outputs go to `OUT/NAME/`.
    #[serde(default)]
    pub name: Option<String>,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// Output root (default `out`).
    #[serde(default)]
    pub out: Option<PathBuf>,
    /// Dataset manifest (path relative to the pipeline file) that supplies
    /// the ingest inputs, tree, collection, columns and the cuts.
    #[serde(default)]
    pub dataset: Option<PathBuf>,
    /// What to read (instead of, or overriding, the dataset).
    #[serde(default)]
    pub ingest: Option<IngestSection>,
    /// Cuts and column selection on the flat table.
    #[serde(default)]
    pub preprocess: Option<PreprocessSection>,
    /// Training configuration (every key of `hepae train --config`); needed
    /// by the compression and anomaly chains.
    #[serde(default)]
    pub train: Option<TrainConfig>,
    /// Compression ratios R = features / latent to run (one train ->
    /// validate chain each, in `OUT/NAME/rR/`); empty: `train.model.latent`.
    #[serde(default)]
    pub compression_ratios: Vec<f64>,
    /// Compression options.
    #[serde(default)]
    pub compress: CompressOptions,
    /// Validation options.
    #[serde(default)]
    pub validate: hepae_validate::ValidateOptions,
    /// RMM features: when present the pipeline runs rmm -> anomaly instead
    /// of the compression chain, with `train` as the anomaly model.
    #[serde(default)]
    pub rmm: Option<RmmSection>,
    /// Anomaly-stage options (background split, weights).
    #[serde(default)]
    pub anomaly: hepae_rmm::AnomalyOptions,
    /// The model study: when present the pipeline runs ingest ->
    /// preprocess -> study, with `train` as the base of every run.
    #[serde(default)]
    pub study: Option<crate::study::StudySection>,
    /// Dark Machines CSV input of the generation chain.
    #[serde(default)]
    pub darkmachines: Option<DarkMachinesSection>,
    /// Event generation: when present the pipeline runs ingest (Dark
    /// Machines CSV) -> generate instead of the compression chain.
    #[serde(default)]
    pub generate: Option<hepae_generate::GenerateConfig>,
}

impl Pipeline {
    /// The `train` section, which the compression and anomaly chains need,
    /// its activations checked.
    pub fn train(&self) -> crate::Result<&TrainConfig> {
        let t = self.train.as_ref().ok_or_else(|| {
            crate::PipelineError::Config("the pipeline needs a train section".into())
        })?;
        t.model
            .layer_activations()
            .map_err(|e| crate::PipelineError::Config(format!("train.model: {e}")))?;
        Ok(t)
    }
}

/// What the generation chain's ingest stage reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DarkMachinesSection {
    /// Challenge CSV files (`$HEPAE_DATA` expanded).
    pub inputs: Vec<String>,
    /// Object slots of the events table (default: bjets 4, jets 6,
    /// electrons 2, muons 2, photons 2).
    #[serde(default)]
    pub slots: hepae_darkmachines::Slots,
    /// `GeV` (default) or `MeV`.
    #[serde(default = "default_units")]
    pub units: String,
}

fn default_units() -> String {
    "GeV".into()
}

/// Samples and matrix layout of the RMM stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RmmSection {
    /// Input samples.
    pub samples: Vec<RmmSample>,
    /// Tree name.
    #[serde(default = "default_tree")]
    pub tree: String,
    /// Matrix layout: types, n, sqrt_s, rapidity, btag_column.
    #[serde(default)]
    pub matrix: hepae_rmm::RmmConfig,
    /// Event selection: conditions such as `n_leptons >= 3` or `met > 50`,
    /// all required (see docs/pipeline.md for the quantities).
    #[serde(default)]
    pub selection: Vec<String>,
    /// Event quantities carried beside the cells (`q_met`, ...) and
    /// plotted per process in the signal regions.
    #[serde(default)]
    pub quantities: Vec<String>,
    /// Signal copies with pT and MET scaled by each k (the pT sensitivity
    /// check), processes `NAME_pt_xK`.
    #[serde(default)]
    pub pt_scales: Vec<f64>,
}

/// One RMM input sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RmmSample {
    /// ROOT file or Dark Machines challenge CSV (`$HEPAE_DATA` expanded).
    pub file: String,
    /// Process label.
    pub process: String,
    /// Signal (true) or Standard Model background (false).
    #[serde(default)]
    pub signal: bool,
    /// Per-event weight, cross section x luminosity / events (default: the
    /// file's own `event_weight` for Dark Machines CSV, else 1).
    #[serde(default)]
    pub weight: Option<f64>,
}

/// What `ingest` reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestSection {
    /// ROOT files or globs; `$HEPAE_DATA` is expanded.
    pub inputs: Vec<String>,
    /// Tree name.
    #[serde(default = "default_tree")]
    pub tree: String,
    /// Collection prefix (`Jet`, `GenJetAK8`, ...).
    pub collection: String,
    /// Columns, `NAME` or `NAME=BRANCH`; empty: every array branch of the collection.
    #[serde(default)]
    pub columns: Vec<String>,
    /// Drop rows holding NaN/Inf instead of failing.
    #[serde(default)]
    pub drop_nonfinite: bool,
}

fn default_tree() -> String {
    "Events".into()
}

/// `datasets/NAME.yaml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dataset {
    /// Short name.
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// Where the original data comes from.
    pub source: Source,
    /// Tree of the original files.
    pub tree: String,
    /// Collection name in the original files.
    pub collection: String,
    /// Common prefix of the original branches (documentation).
    #[serde(default)]
    pub branch_prefix: Option<String>,
    /// Column name -> branch in the original files.
    pub columns: BTreeMap<String, String>,
    /// Cuts of the study.
    #[serde(default)]
    pub cuts: Vec<String>,
    /// Drop all-zero columns after cuts.
    #[serde(default)]
    pub drop_zero_columns: bool,
    /// Offline stand-in with the same column names.
    #[serde(default)]
    pub stand_in: Option<StandIn>,
}

/// The public origin of a dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// Publisher and licence.
    pub publisher: String,
    /// Record.
    pub record: String,
    /// Free text.
    #[serde(default)]
    pub note: Option<String>,
    /// Files to fetch (`scripts/fetch-dataset`).
    #[serde(default)]
    pub files: Vec<SourceFile>,
}

/// One original file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceFile {
    /// Download URL.
    pub url: String,
    /// Size in bytes, when known.
    #[serde(default)]
    pub bytes: Option<u64>,
    /// SHA-256 or Adler-32 as published, when known.
    #[serde(default)]
    pub checksum: Option<String>,
}

/// Offline stand-in files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StandIn {
    /// Files (`$HEPAE_DATA` expanded).
    pub files: Vec<String>,
    /// Tree.
    pub tree: String,
    /// Collection prefix.
    pub collection: String,
}
