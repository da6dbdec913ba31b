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

/// A column's own scaling (`column_scaling` in the training config),
/// in place of the table-wide one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ColumnScaling {
    /// (x - min) / (max - min), fitted.
    MinMax,
    /// (x - mean) / std, fitted.
    Standard,
    /// No scaling.
    None,
    /// log10(x + shift) / scale, fixed (the GSoC 2021 pT and E scalings).
    Log10 {
        /// Added before the logarithm.
        #[serde(default)]
        shift: f64,
        /// Divisor after it.
        #[serde(default = "one")]
        scale: f64,
    },
    /// (x + shift) / scale, fixed (eta / 5, phi / 3).
    Linear {
        /// Divisor.
        #[serde(default = "one")]
        scale: f64,
        /// Added first.
        #[serde(default)]
        shift: f64,
    },
}

fn one() -> f64 {
    1.0
}

impl ColumnScaling {
    /// Why the fixed parameters cannot scale, if they cannot.
    pub fn check(&self) -> Result<(), String> {
        match *self {
            ColumnScaling::Log10 { shift, scale } | ColumnScaling::Linear { scale, shift }
                if !(shift.is_finite() && scale.is_finite() && scale != 0.0) =>
            {
                Err(format!(
                    "shift {shift} and scale {scale} must be finite, scale non-zero"
                ))
            }
            _ => Ok(()),
        }
    }
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
    /// Apply `log10(x - log_offset)` before scaling (a fixed `log10` scaling).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub log10: bool,
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
        Self::fit_with(data, names, scaling, log_columns, &Default::default())
    }

    /// [`Normalizer::fit`] with the columns in `own` scaled their own way.
    pub fn fit_with(
        data: &[f32],
        names: &[String],
        scaling: Scaling,
        log_columns: &[String],
        own: &std::collections::BTreeMap<String, ColumnScaling>,
    ) -> Normalizer {
        let n = names.len();
        let rows = data.len() / n.max(1);
        let mut columns = Vec::with_capacity(n);
        for (j, name) in names.iter().enumerate() {
            let fixed = |log10, log_offset, shift, scale| ColumnNorm {
                name: name.clone(),
                log: false,
                log_offset,
                shift,
                scale,
                log10,
            };
            let scaling = match own.get(name) {
                Some(&ColumnScaling::Log10 { shift, scale }) => {
                    columns.push(fixed(true, -shift, 0.0, scale));
                    continue;
                }
                Some(&ColumnScaling::Linear { scale, shift }) => {
                    columns.push(fixed(false, 0.0, -shift, scale));
                    continue;
                }
                Some(ColumnScaling::MinMax) => Scaling::MinMax,
                Some(ColumnScaling::Standard) => Scaling::Standard,
                Some(ColumnScaling::None) => Scaling::None,
                None => scaling,
            };
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
                log10: false,
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
                } else if c.log10 {
                    // Outside the domain: NaN, which training reports by column.
                    v = (v - c.log_offset).log10();
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
                } else if c.log10 {
                    v = 10f64.powf(v) + c.log_offset;
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

    /// The GSoC 2021 four-momentum normalisation as configuration:
    /// log10(pT - 1.3) / 1.8, log10(E + 1) / 1.2, eta / 5, phi / 3; other
    /// columns keep the fitted min-max.
    #[test]
    fn gsoc_normalisation_is_its_formula_and_round_trips() {
        let names: Vec<String> = ["pt", "E", "eta", "phi", "m"].map(String::from).into();
        let own = std::collections::BTreeMap::from([
            (
                "pt".to_string(),
                ColumnScaling::Log10 {
                    shift: -1.3,
                    scale: 1.8,
                },
            ),
            (
                "E".to_string(),
                ColumnScaling::Log10 {
                    shift: 1.0,
                    scale: 1.2,
                },
            ),
            (
                "eta".to_string(),
                ColumnScaling::Linear {
                    scale: 5.0,
                    shift: 0.0,
                },
            ),
            (
                "phi".to_string(),
                ColumnScaling::Linear {
                    scale: 3.0,
                    shift: 0.0,
                },
            ),
        ]);
        let data: Vec<f32> = vec![
            25.0, 140.0, -1.7, 3.1, 10.0, //
            812.5, 2104.0, 0.25, -0.4, 30.0, //
            1.31, 0.0, 2.4, -3.05, 20.0,
        ];
        let n = Normalizer::fit_with(&data, &names, Scaling::MinMax, &[], &own);
        let mut x = data.clone();
        n.apply(&mut x);
        for r in 0..3 {
            let v = |j: usize| data[r * 5 + j] as f64;
            let want = [
                (v(0) - 1.3).log10() / 1.8,
                (v(1) + 1.0).log10() / 1.2,
                v(2) / 5.0,
                v(3) / 3.0,
                (v(4) - 10.0) / 20.0,
            ];
            for j in 0..5 {
                assert_eq!(x[r * 5 + j], want[j] as f32, "row {r} column {}", names[j]);
            }
        }
        n.invert(&mut x);
        for (a, b) in x.iter().zip(&data) {
            // The normalised values are float32: a few ulps at most.
            assert!(
                (a - b).abs() <= 4.0 * f32::EPSILON * b.abs().max(1.0),
                "{a} vs {b}"
            );
        }
        let bad = ColumnScaling::Linear {
            scale: 0.0,
            shift: 1.0,
        };
        assert!(bad.check().unwrap_err().contains("scale non-zero"));
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
