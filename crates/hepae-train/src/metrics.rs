//! Test-set metrics of a trained network: what the model studies compare
//! on rows it never saw.

use crate::model::AutoEncoder;
use crate::trainer::{mean_loss, mix};
use crate::TrainError;
use burn::prelude::*;
use hepae_model::{ModelDir, Normalizer, TrainConfig};
use serde::{Deserialize, Serialize};

/// Lower quartile, median and upper quartile.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Quartiles {
    /// 25th percentile.
    pub q1: f64,
    /// Median.
    pub median: f64,
    /// 75th percentile.
    pub q3: f64,
}

impl Quartiles {
    /// Of `v` (linear interpolation between order statistics; NaN when empty).
    pub fn of(mut v: Vec<f64>) -> Quartiles {
        v.sort_by(f64::total_cmp);
        let at = |p: f64| {
            if v.is_empty() {
                return f64::NAN;
            }
            let x = p * (v.len() - 1) as f64;
            let (lo, hi) = (x.floor() as usize, x.ceil() as usize);
            v[lo] + (v[hi] - v[lo]) * (x - lo as f64)
        };
        Quartiles {
            q1: at(0.25),
            median: at(0.5),
            q3: at(0.75),
        }
    }
}

/// One input column on the test rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariableMetrics {
    /// Column.
    pub name: String,
    /// Mean squared error in the normalised space the loss sees.
    pub mse: f64,
    /// Residual, reconstructed - original, in the column's units.
    pub residual: Quartiles,
    /// Response, (reconstructed - original) / original, over non-zero originals.
    pub response: Quartiles,
}

/// `metrics.json`: the network on the test rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestMetrics {
    /// Test rows.
    pub rows: usize,
    /// Mean squared error over rows and columns, normalised space.
    pub mse: f64,
    /// Its square root.
    pub rmse: f64,
    /// Per input column.
    pub variables: Vec<VariableMetrics>,
    /// 100 (mean reconstructed mass - mean mass) / mean mass, when an input
    /// column is named `mass`.
    pub mass_difference_percent: Option<f64>,
}

/// Metrics of `model` on `raw` (row-major, original units, `names` columns),
/// reconstructing from the latent mean (no sampling).
pub fn test_metrics(
    model: &AutoEncoder,
    norm: &Normalizer,
    names: &[String],
    raw: &[f32],
    device: &Device,
) -> TestMetrics {
    let n = names.len();
    let rows = raw.len() / n;
    let mut x = raw.to_vec();
    norm.apply(&mut x);
    let mut rec = Vec::with_capacity(x.len());
    for chunk in x.chunks(4096 * n) {
        let t = Tensor::<2>::from_data(
            TensorData::new(chunk.to_vec(), [chunk.len() / n, n]),
            device,
        );
        let r = model.forward(t, false).reconstruction.into_data();
        rec.extend(r.try_to_vec::<f32>().expect("f32 reconstruction"));
    }
    let per: Vec<f64> = (0..n)
        .map(|j| {
            let sq = (0..rows).map(|r| ((rec[r * n + j] - x[r * n + j]) as f64).powi(2));
            sq.sum::<f64>() / rows.max(1) as f64
        })
        .collect();
    let mut back = rec.clone();
    norm.invert(&mut back);
    let variables = (0..n)
        .map(|j| {
            let pairs = (0..rows).map(|r| (raw[r * n + j] as f64, back[r * n + j] as f64));
            VariableMetrics {
                name: names[j].clone(),
                mse: per[j],
                residual: Quartiles::of(pairs.clone().map(|(a, b)| b - a).collect()),
                response: Quartiles::of(
                    pairs
                        .filter(|p| p.0 != 0.0)
                        .map(|(a, b)| (b - a) / a)
                        .collect(),
                ),
            }
        })
        .collect();
    let mse = per.iter().sum::<f64>() / n.max(1) as f64;
    let mass_difference_percent = names.iter().position(|c| c == "mass").map(|j| {
        let mean = |v: &[f32]| (0..rows).map(|r| v[r * n + j] as f64).sum::<f64>() / rows as f64;
        let (m, mh) = (mean(raw), mean(&back));
        100.0 * (mh - m) / m
    });
    TestMetrics {
        rows,
        mse,
        rmse: mse.sqrt(),
        variables,
        mass_difference_percent,
    }
}

/// The validation loss of `model` after `epoch` (VAE latents drawn from
/// their own seed), `None` without validation rows.
pub(crate) fn validation_loss(
    model: &AutoEncoder,
    cfg: &TrainConfig,
    xv: &[f32],
    n: usize,
    epoch: usize,
    device: &Device,
) -> Option<f64> {
    if xv.is_empty() {
        return None;
    }
    // Every epoch reseeds the training draws, so these never shift them.
    device.seed(mix(cfg.seed ^ 0x7A11_DA7E, epoch as u64));
    Some(mean_loss(&model.valid(), cfg, xv, n, device))
}

/// Writes `metrics.json` of the test rows `test` (original units), or
/// removes a stale one when there are none.
pub(crate) fn write_metrics(
    dir: &ModelDir,
    model: &AutoEncoder,
    norm: &Normalizer,
    names: &[String],
    test: &[f32],
    device: &Device,
) -> Result<(), TrainError> {
    let path = dir.metrics();
    if test.is_empty() {
        let _ = std::fs::remove_file(&path);
        return Ok(());
    }
    let m = test_metrics(&model.valid(), norm, names, test, device);
    Ok(hepae_table::write_json_atomic(&m, &path)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quartiles_interpolate_like_numpy() {
        // numpy.percentile([1, 2, 4, 8, 16], [25, 50, 75]) = 2, 4, 8
        let q = Quartiles::of(vec![16.0, 1.0, 4.0, 2.0, 8.0]);
        assert_eq!((q.q1, q.median, q.q3), (2.0, 4.0, 8.0));
        // [1, 2, 3, 4]: 1.75, 2.5, 3.25
        let q = Quartiles::of(vec![4.0, 3.0, 2.0, 1.0]);
        assert_eq!((q.q1, q.median, q.q3), (1.75, 2.5, 3.25));
        assert!(Quartiles::of(Vec::new()).median.is_nan());
    }
}
