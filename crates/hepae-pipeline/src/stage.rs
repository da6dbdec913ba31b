//! The pipeline's stages and their names.

/// The stages, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// ROOT -> flat Parquet.
    Ingest,
    /// Cuts and column choices.
    Preprocess,
    /// Autoencoder training.
    Train,
    /// Table + model -> artifact.
    Compress,
    /// Artifact -> restored table.
    Decompress,
    /// Report.
    Validate,
    /// Events -> Rapidity-Mass Matrices.
    Rmm,
    /// Anomaly model and scores.
    Anomaly,
    /// VAE event generator, generated events and their metrics.
    Generate,
    /// The model study grid.
    Study,
}

impl Stage {
    /// All stages in order.
    pub const ALL: [Stage; 10] = [
        Stage::Ingest,
        Stage::Preprocess,
        Stage::Train,
        Stage::Compress,
        Stage::Decompress,
        Stage::Validate,
        Stage::Rmm,
        Stage::Anomaly,
        Stage::Generate,
        Stage::Study,
    ];
    /// Lower-case name (also the output directory).
    pub fn name(self) -> &'static str {
        match self {
            Stage::Ingest => "ingest",
            Stage::Preprocess => "preprocess",
            Stage::Train => "train",
            Stage::Compress => "compress",
            Stage::Decompress => "decompress",
            Stage::Validate => "validate",
            Stage::Rmm => "rmm",
            Stage::Anomaly => "anomaly",
            Stage::Generate => "generate",
            Stage::Study => "study",
        }
    }
}

impl std::str::FromStr for Stage {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Stage, String> {
        Stage::ALL
            .into_iter()
            .find(|st| st.name() == s)
            .ok_or_else(|| {
                format!("unknown stage '{s}' (ingest, preprocess, train, compress, decompress, validate, rmm, anomaly, generate)")
            })
    }
}
