//! The train / validation / test split: each row drawn from the split's
//! seed alone, so the parts are disjoint and the same on every run.

use crate::data::{unit_mean_weights, Matrix};
use crate::trainer::mix;
use crate::TrainError;
use hepae_model::{Split, TrainConfig};

/// Where one row goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Trained on.
    Train,
    /// Watched by early stopping and the learning-rate schedule.
    Validation,
    /// Scored once at the end.
    Test,
}

/// The part of each of `rows` rows: row `i` draws u = mix(seed, i) / 2^64,
/// test below `test`, validation below `test + validation`.
pub fn parts(rows: usize, s: &Split) -> Vec<Part> {
    (0..rows)
        .map(|i| {
            let u = (mix(s.seed ^ 0x5EED_5B17, i as u64) >> 11) as f64 / (1u64 << 53) as f64;
            if u < s.test {
                Part::Test
            } else if u < s.test + s.validation {
                Part::Validation
            } else {
                Part::Train
            }
        })
        .collect()
}

/// The rows of part `p`, in order.
pub fn rows_of(parts: &[Part], p: Part) -> Vec<usize> {
    (0..parts.len()).filter(|&i| parts[i] == p).collect()
}

/// The row-major values of `rows` of an `n`-column matrix.
pub fn gather(values: &[f32], n: usize, rows: &[usize]) -> Vec<f32> {
    let mut out = Vec::with_capacity(rows.len() * n);
    for &r in rows {
        out.extend_from_slice(&values[r * n..(r + 1) * n]);
    }
    out
}

/// The rows of a run by part (row-major, original units) and the
/// training rows' loss weights.
pub(crate) struct Held {
    /// Rows trained on.
    pub train: Vec<f32>,
    /// Validation rows.
    pub validation: Vec<f32>,
    /// Test rows.
    pub test: Vec<f32>,
    /// Loss weights of the training rows, scaled to mean 1.
    pub weights: Option<Vec<f32>>,
}

impl Held {
    /// Splits `data` (and its row weights `w`) by `cfg.split`.
    pub fn new(data: &Matrix, w: Option<&[f64]>, cfg: &TrainConfig) -> Result<Held, TrainError> {
        let n = data.cols();
        let p = parts(data.rows, &cfg.split);
        let train = rows_of(&p, Part::Train);
        if train.is_empty() {
            return Err(TrainError::Input(format!(
                "the split leaves none of the {} rows to train on",
                data.rows
            )));
        }
        // Every weight is checked, then the training rows' are kept.
        unit_mean_weights(w, data.rows)?;
        let tw: Option<Vec<f64>> = w.map(|w| train.iter().map(|&r| w[r]).collect());
        let weights = unit_mean_weights(tw.as_deref(), train.len())?;
        let whole = train.len() == data.rows;
        Ok(Held {
            train: if whole {
                data.values.clone()
            } else {
                gather(&data.values, n, &train)
            },
            validation: gather(&data.values, n, &rows_of(&p, Part::Validation)),
            test: gather(&data.values, n, &rows_of(&p, Part::Test)),
            weights,
        })
    }
}

/// An error naming the first column whose normalised training values are
/// not finite (a fixed log10 scaling outside its domain, say).
pub(crate) fn check_normalised(x: &[f32], names: &[String]) -> Result<(), TrainError> {
    let n = names.len();
    match x.iter().position(|v| !v.is_finite()) {
        Some(i) => Err(TrainError::Input(format!(
            "column '{}' of training row {} normalises to {} (check its column_scaling)",
            names[i % n],
            i / n,
            x[i]
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_split_is_disjoint_seeded_and_near_its_shares() {
        let s = Split {
            validation: 0.15,
            test: 0.1,
            seed: 3,
        };
        let p = parts(20_000, &s);
        assert_eq!(p, parts(20_000, &s), "same seed, same split");
        let (tr, va, te) = (
            rows_of(&p, Part::Train),
            rows_of(&p, Part::Validation),
            rows_of(&p, Part::Test),
        );
        // Each row is in exactly one part.
        assert_eq!(tr.len() + va.len() + te.len(), 20_000);
        assert!(va.iter().all(|r| !tr.contains(r) && !te.contains(r)));
        // Shares within 4 sigma of binomial draws.
        let near = |k: usize, f: f64| (k as f64 - 20_000.0 * f).abs() < 4.0 * (20_000.0 * f).sqrt();
        assert!(
            near(va.len(), 0.15) && near(te.len(), 0.1),
            "{} {}",
            va.len(),
            te.len()
        );
        let other = parts(
            20_000,
            &Split {
                seed: 4,
                ..s.clone()
            },
        );
        assert_ne!(p, other, "another seed, another split");
        // A first n rows keep their parts when the table grows.
        assert_eq!(parts(100, &s), p[..100]);
        let none = parts(50, &Split::default());
        assert!(none.iter().all(|&x| x == Part::Train));
        assert_eq!(
            gather(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2, &[2, 0]),
            [5.0, 6.0, 1.0, 2.0]
        );
    }
}
