//! Per-column normalisation fitted on the training data and saved with the model.

use serde::{Deserialize, Serialize};

/// How a column is scaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Scaling {
    /// (x - min) / (max - min) into [0, 1]; constant columns map to 0.
    #[default]
    MinMax,
    /// (x - mean) / std; constant columns map to 0.
    Standard,
    /// No scaling.
    None,
}

/// Fitted parameters of one column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnNorm {
    /// Column name.
    pub name: String,
    /// Apply `ln(x - log_offset)` before scaling (`log_offset` = min - 1 so values stay >= 1).
    pub log: bool,
    /// Shift used by the log transform.
    pub log_offset: f64,
    /// Subtracted after the log transform.
    pub shift: f64,
    /// Divisor after the shift (1 for constant columns, so they never produce NaN).
    pub scale: f64,
}

/// Normalisation of all columns, in input order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Normalizer {
    /// Scaling kind.
    pub scaling: Scaling,
    /// One entry per column.
    pub columns: Vec<ColumnNorm>,
}

impl Normalizer {
    /// Fits on a row-major `rows x names.len()` matrix. `log_columns` get a log transform first.
    pub fn fit(
        data: &[f32],
        names: &[String],
        scaling: Scaling,
        log_columns: &[String],
    ) -> Normalizer {
        let n = names.len();
        let rows = data.len() / n.max(1);
        let mut columns = Vec::with_capacity(n);
        for (j, name) in names.iter().enumerate() {
            let log = log_columns.iter().any(|c| c == name);
            let raw = || (0..rows).map(|i| data[i * n + j] as f64);
            let log_offset = if log {
                raw().fold(f64::INFINITY, f64::min) - 1.0
            } else {
                0.0
            };
            let t = |x: f64| if log { (x - log_offset).ln() } else { x };
            let (shift, scale) = match scaling {
                Scaling::MinMax => {
                    let (lo, hi) = raw()
                        .map(t)
                        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
                            (a.min(x), b.max(x))
                        });
                    let range = hi - lo;
                    (
                        if lo.is_finite() { lo } else { 0.0 },
                        if range > 0.0 { range } else { 1.0 },
                    )
                }
                Scaling::Standard => {
                    let mean = raw().map(t).sum::<f64>() / rows.max(1) as f64;
                    let var =
                        raw().map(|x| (t(x) - mean).powi(2)).sum::<f64>() / rows.max(1) as f64;
                    let sd = var.sqrt();
                    (mean, if sd > 0.0 { sd } else { 1.0 })
                }
                Scaling::None => (0.0, 1.0),
            };
            columns.push(ColumnNorm {
                name: name.clone(),
                log,
                log_offset,
                shift,
                scale,
            });
        }
        Normalizer { scaling, columns }
    }

    /// Normalises a row-major matrix in place.
    pub fn apply(&self, data: &mut [f32]) {
        let n = self.columns.len();
        for row in data.chunks_exact_mut(n) {
            for (x, c) in row.iter_mut().zip(&self.columns) {
                let mut v = *x as f64;
                if c.log {
                    // Values below the fitted minimum are clamped into the log's domain.
                    v = (v - c.log_offset).max(f64::MIN_POSITIVE).ln();
                }
                *x = ((v - c.shift) / c.scale) as f32;
            }
        }
    }

    /// Inverse of [`apply`](Self::apply), in place.
    pub fn invert(&self, data: &mut [f32]) {
        let n = self.columns.len();
        for row in data.chunks_exact_mut(n) {
            for (x, c) in row.iter_mut().zip(&self.columns) {
                let mut v = *x as f64 * c.scale + c.shift;
                if c.log {
                    v = v.exp() + c.log_offset;
                }
                *x = v as f32;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minmax_maps_to_unit_interval_and_constant_columns_to_zero() {
        let names = vec!["a".to_string(), "c".to_string()];
        let data = vec![1.0, 5.0, 3.0, 5.0, 5.0, 5.0];
        let n = Normalizer::fit(&data, &names, Scaling::MinMax, &[]);
        let mut x = data.clone();
        n.apply(&mut x);
        assert_eq!(x, vec![0.0, 0.0, 0.5, 0.0, 1.0, 0.0]);
        n.invert(&mut x);
        assert_eq!(x, data);
    }

    #[test]
    fn standard_and_log_round_trip() {
        let names = vec!["pt".to_string()];
        let data = vec![10.0f32, 100.0, 1000.0, 20.0];
        let n = Normalizer::fit(&data, &names, Scaling::Standard, &names);
        let mut x = data.clone();
        n.apply(&mut x);
        let mean: f32 = x.iter().sum::<f32>() / 4.0;
        assert!(mean.abs() < 1e-6);
        assert!(x.iter().all(|v| v.is_finite()));
        n.invert(&mut x);
        for (a, b) in x.iter().zip(&data) {
            assert!((a - b).abs() / b < 1e-5, "{a} vs {b}");
        }
    }
}
