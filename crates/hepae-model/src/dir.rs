//! The model directory `hepae train` writes, and loading it without burn.

use crate::config::TrainConfig;
use crate::error::{ModelError, Result};
use crate::mlp::Mlp;
use crate::norm::Normalizer;
use crate::tensors::{read_safetensors, NamedTensor};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Paths inside a model directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelDir(pub PathBuf);

impl ModelDir {
    /// Training configuration and input columns (JSON, [`ModelMeta`]).
    pub fn config(&self) -> PathBuf {
        self.0.join("config.json")
    }
    /// Fitted normalisation (JSON).
    pub fn normalizer(&self) -> PathBuf {
        self.0.join("normalizer.json")
    }
    /// Final weights as burn writes them (burnpack), for resuming training.
    pub fn weights(&self) -> PathBuf {
        self.0.join("model.bpk")
    }
    /// The same final weights as F32 safetensors: what inference reads.
    pub fn exported(&self) -> PathBuf {
        self.0.join("model.safetensors")
    }
    /// Loss history (Parquet: epoch, loss, lr, validation).
    pub fn loss(&self) -> PathBuf {
        self.0.join("loss.parquet")
    }
    /// Test-set metrics of a run with a test split (JSON).
    pub fn metrics(&self) -> PathBuf {
        self.0.join("metrics.json")
    }
    /// Checkpoint directory.
    pub fn checkpoint(&self) -> PathBuf {
        self.0.join("checkpoint")
    }
}

/// The saved description of a trained model: config plus input columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMeta {
    /// hepae version that trained it.
    pub hepae_version: String,
    /// Training configuration.
    pub config: TrainConfig,
    /// Input column names.
    pub columns: Vec<String>,
    /// Arrow types of the input columns.
    pub dtypes: Vec<String>,
    /// Rows trained on.
    pub rows: usize,
}

/// Encoder and decoder layer names of an exported network with `hidden`
/// hidden layers, in forward order.
pub fn layer_names(hidden: usize) -> (Vec<String>, Vec<String>) {
    let mut enc: Vec<String> = (0..hidden).map(|i| format!("encoder.{i}")).collect();
    enc.push("latent".into());
    let mut dec: Vec<String> = (0..hidden).map(|i| format!("decoder.{i}")).collect();
    dec.push("output".into());
    (enc, dec)
}

/// A trained model as inference sees it.
#[derive(Debug, Clone)]
pub struct Model {
    /// Its description.
    pub meta: ModelMeta,
    /// The fitted normalisation.
    pub normalizer: Normalizer,
    /// The exported weights.
    pub tensors: Vec<NamedTensor>,
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| ModelError::io(path, e))?;
    serde_json::from_str(&text).map_err(|source| ModelError::Json {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads `config.json` and `normalizer.json` of a model directory (what a
/// model is, without its weights) and checks that they agree.
pub fn load_description(dir: &Path) -> Result<(ModelMeta, Normalizer)> {
    let d = ModelDir(dir.to_path_buf());
    let meta: ModelMeta = read_json(&d.config())?;
    let normalizer: Normalizer = read_json(&d.normalizer())?;
    activations(&meta.config.model, &d.config().display().to_string())?;
    if normalizer.columns.len() != meta.columns.len() {
        return Err(ModelError::invalid(
            dir.display(),
            format!(
                "normalizer has {} columns, config {}",
                normalizer.columns.len(),
                meta.columns.len()
            ),
        ));
    }
    Ok((meta, normalizer))
}

/// Reads `config.json`, `normalizer.json` and `model.safetensors` of a model
/// directory and checks that they describe one network.
pub fn load(dir: &Path) -> Result<Model> {
    let d = ModelDir(dir.to_path_buf());
    let (meta, normalizer) = load_description(dir)?;
    if !d.exported().is_file() && d.weights().is_file() {
        return Err(ModelError::invalid(
            dir.display(),
            "model.safetensors is missing (trained by an older hepae, which wrote only model.bpk): train it again",
        ));
    }
    let tensors = read_safetensors(&d.exported())?;
    Ok(Model {
        meta,
        normalizer,
        tensors,
    })
}

impl Model {
    /// The log-variance head of a variational model (encoder then `logvar`),
    /// or `None` for the other kinds.
    pub fn logvar_head(&self, what: &str) -> Result<Option<Mlp>> {
        let cfg = &self.meta.config.model;
        if !cfg.kind.is_variational() {
            return Ok(None);
        }
        let (mut enc, _) = layer_names(cfg.hidden.len());
        *enc.last_mut().expect("the latent layer") = "logvar".into();
        let acts = activations(cfg, what)?;
        Mlp::from_tensors(
            &self.tensors,
            &enc,
            &acts.encoder_layers(),
            acts.leaky_slope,
            what,
        )
        .map(Some)
    }

    /// The encoder and decoder as deterministic MLPs, checked against the
    /// configured input columns; `what` names the source in errors.
    pub fn networks(&self, what: &str) -> Result<(Mlp, Mlp)> {
        let cfg = &self.meta.config.model;
        let (enc, dec) = layer_names(cfg.hidden.len());
        let acts = activations(cfg, what)?;
        let slope = acts.leaky_slope;
        let encoder = Mlp::from_tensors(&self.tensors, &enc, &acts.encoder_layers(), slope, what)?;
        let decoder = Mlp::from_tensors(&self.tensors, &dec, &acts.decoder_layers(), slope, what)?;
        let n = self.meta.columns.len();
        if encoder.inputs() != n || decoder.outputs() != n {
            return Err(ModelError::invalid(
                what,
                format!(
                    "weights take {} inputs but config.json lists {n} columns",
                    encoder.inputs()
                ),
            ));
        }
        Ok((encoder, decoder))
    }
}

/// The layers' activations of `cfg`, its error naming `what`.
fn activations(cfg: &crate::ModelConfig, what: &str) -> Result<crate::LayerActivations> {
    cfg.layer_activations()
        .map_err(|e| ModelError::invalid(what, format!("config model: {e}")))
}
