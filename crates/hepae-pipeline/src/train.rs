//! The train stage's work, shared with `hepae train`.

use std::path::Path;

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
        ..Default::default()
    };
    let outcome = hepae_train::train(data, cfg, out, &opts)?;
    let points: Vec<(f64, f64)> = outcome
        .history
        .iter()
        .map(|h| (h.epoch as f64, h.loss))
        .collect();
    let validation: Vec<(f64, f64)> = outcome
        .history
        .iter()
        .filter_map(|h| h.validation.map(|v| (h.epoch as f64, v)))
        .collect();
    let png = out.join("loss.png");
    let mut series = vec![hepae_plot::Series {
        label: "train",
        points: &points,
    }];
    if !validation.is_empty() {
        series.push(hepae_plot::Series {
            label: "validation",
            points: &validation,
        });
    }
    if let Err(e) = hepae_plot::line_plot(&png, "learning curves", "epoch", "loss", &series, true) {
        // The model is trained and saved; a missing font must not lose it.
        eprintln!("warning: loss plot not written: {e}");
    }
    Ok(outcome)
}
