//! Settings that parse but cannot train, found before anything is written.

use crate::data::Matrix;
use crate::TrainError;
use hepae_model::TrainConfig;

/// The settings that parse but cannot train, each named.
pub(crate) fn check_config(data: &Matrix, cfg: &TrainConfig) -> Result<(), TrainError> {
    if cfg.batch_size == 0 || cfg.lr <= 0.0 || cfg.model.latent == 0 {
        return Err(TrainError::Config(
            "batch_size, lr and latent must be positive".into(),
        ));
    }
    cfg.model
        .layer_activations()
        .map_err(|e| TrainError::Config(format!("model: {e}")))?;
    cfg.split.check().map_err(TrainError::Config)?;
    for (name, s) in &cfg.column_scaling {
        if !data.names.contains(name) {
            return Err(TrainError::Config(format!(
                "column_scaling.{name}: not an input column ({})",
                data.names.join(", ")
            )));
        }
        s.check()
            .map_err(|e| TrainError::Config(format!("column_scaling.{name}: {e}")))?;
    }
    cfg.model
        .kind
        .check(&cfg.model, &cfg.loss)
        .map_err(TrainError::Config)?;
    Ok(())
}
