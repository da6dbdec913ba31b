//! The files of a trained model that burn reads or writes: the weights
//! for resuming (burnpack), their F32 safetensors export, the loss history.

use crate::error::io_err;
use crate::model::AutoEncoder;
use crate::trainer::EpochRecord;
use crate::TrainError;
use burn::prelude::*;
use burn::store::ModuleRecord;
use hepae_model::{ModelDir, ModelMeta, Normalizer};
use std::path::Path;
use std::sync::Arc;

/// Writes the loss history as Parquet (epoch, loss, lr, and validation:
/// null without validation rows).
pub fn write_history(path: &Path, history: &[EpochRecord]) -> Result<(), TrainError> {
    use arrow_array::{Float64Array, Int64Array, RecordBatch};
    use arrow_schema::{DataType, Field, Schema};
    let schema = Arc::new(Schema::new(vec![
        Field::new("epoch", DataType::Int64, false),
        Field::new("loss", DataType::Float64, false),
        Field::new("lr", DataType::Float64, false),
        Field::new("validation", DataType::Float64, true),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from_iter_values(
                history.iter().map(|h| h.epoch as i64),
            )),
            Arc::new(Float64Array::from_iter_values(
                history.iter().map(|h| h.loss),
            )),
            Arc::new(Float64Array::from_iter_values(history.iter().map(|h| h.lr))),
            Arc::new(Float64Array::from_iter(
                history.iter().map(|h| h.validation),
            )),
        ],
    )
    .map_err(|e| io_err(path, e))?;
    hepae_table::write_parquet_atomic(&batch, path, &[], 3).map_err(TrainError::from)
}

/// A trained model read back from its directory.
pub struct LoadedModel {
    /// The network (on the CPU device).
    pub model: AutoEncoder,
    /// Its description.
    pub meta: ModelMeta,
    /// The fitted normalisation.
    pub normalizer: Normalizer,
}

/// Loads `model.bpk`, `config.json` and `normalizer.json` from a model directory.
pub fn load_model(dir: &Path, device: &Device) -> Result<LoadedModel, TrainError> {
    let d = ModelDir(dir.to_path_buf());
    let (meta, normalizer) = hepae_model::load_description(dir)?;
    let record =
        ModuleRecord::load(d.weights()).map_err(|e| io_err(&d.weights(), format!("{e:?}")))?;
    let model = AutoEncoder::with_noise(
        &meta.config.model,
        meta.columns.len(),
        meta.config.loss.alpha,
        device,
    )
    .try_load_record(record)
    .map_err(|e| {
        io_err(
            &d.weights(),
            format!("weights do not fit the configured network: {e:?}"),
        )
    })?;
    Ok(LoadedModel {
        model,
        meta,
        normalizer,
    })
}

/// The final weights as F32 safetensors, which inference (compression,
/// validation, anomaly scoring) reads without burn.
pub(crate) fn write_exported(dir: &ModelDir, model: &AutoEncoder) -> Result<(), TrainError> {
    let meta = std::collections::HashMap::from([(
        "producer".to_string(),
        format!("hepae {}", env!("CARGO_PKG_VERSION")),
    )]);
    let path = dir.exported();
    let bytes = hepae_model::safetensors_bytes(&model.export_tensors(), meta)
        .map_err(|e| io_err(&path, e))?;
    hepae_table::write_bytes_atomic(&path, &bytes).map_err(TrainError::from)
}
