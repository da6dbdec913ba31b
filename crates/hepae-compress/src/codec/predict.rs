//! Linear predictors of one column from the values already decoded:
//! other columns of the same row, the previous row of the same event, and
//! whether the row starts an event. Fitted by weighted least squares with
//! forward selection on a sample; evaluated in a fixed order with plain
//! IEEE multiply and add, so both sides compute the same prediction.

use serde::{Deserialize, Serialize};

/// One input of a predictor (column numbers are table positions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Feature {
    /// The column's value in the same row.
    Same(usize),
    /// The column's value in the previous row of the same event (0 at an
    /// event's first row).
    Prev(usize),
    /// 1 at an event's first row, else 0.
    First,
    /// log2 |value| in the same row (0 for zero or non-finite).
    Log(usize),
    /// |value| in the same row.
    Abs(usize),
    /// log2 |value| in the previous row of the same event (0 at its start).
    LogPrev(usize),
}

impl Feature {
    /// The feature from the column values `same` (this row) and `prev`
    /// (previous row of the event, `None` at its start).
    pub fn value(
        self,
        same: impl Fn(usize) -> f64,
        prev: impl Fn(usize) -> Option<f64>,
        first: bool,
    ) -> f64 {
        let log = |v: f64| {
            if v.is_finite() && v != 0.0 {
                super::grid::log2_det(v.abs())
            } else {
                0.0
            }
        };
        match self {
            Feature::Same(j) => same(j),
            Feature::Abs(j) => same(j).abs(),
            Feature::Log(j) => log(same(j)),
            Feature::Prev(j) => prev(j).unwrap_or(0.0),
            Feature::LogPrev(j) => prev(j).map_or(0.0, log),
            Feature::First => first as u8 as f64,
        }
    }
}

/// `intercept + sum(weight * feature)`, terms in order.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Predictor {
    /// Constant term.
    pub intercept: f64,
    /// (feature, weight), evaluated in this order.
    pub terms: Vec<(Feature, f64)>,
}

impl Predictor {
    /// The prediction, with `get` giving each feature's value.
    pub fn eval(&self, get: impl Fn(Feature) -> f64) -> f64 {
        let mut v = self.intercept;
        for &(f, w) in &self.terms {
            v += w * get(f);
        }
        v
    }
}

/// Sampled rows the fits see: `get(feature, i)` for sample row `i`.
pub struct Sample<'a> {
    /// Rows in the sample.
    pub rows: usize,
    /// Feature values.
    pub get: &'a (dyn Fn(Feature, usize) -> f64 + Sync),
}

/// Fits up to `max_terms` features from `candidates` for `target` (values
/// per sample row; non-finite rows ignored) with weights `w`, adding a
/// feature only while it lowers the weighted squared error by over 1%.
pub fn fit(
    s: &Sample,
    target: &[f64],
    w: &[f64],
    candidates: &[Feature],
    max_terms: usize,
) -> Predictor {
    let mut chosen: Vec<Feature> = Vec::new();
    let mut best = solve(s, target, w, &chosen);
    while chosen.len() < max_terms {
        use rayon::prelude::*;
        let trials: Vec<(f64, Feature, (Predictor, f64))> = candidates
            .par_iter()
            .filter(|f| !chosen.contains(f))
            .map(|&f| {
                let mut c = chosen.clone();
                c.push(f);
                let r = solve(s, target, w, &c);
                (r.1, f, r)
            })
            .collect();
        // In candidate order, first of equals: the same on any thread count.
        let trial = trials
            .into_iter()
            .filter(|t| t.0.is_finite())
            .reduce(|a, b| if b.0 < a.0 { b } else { a });
        match trial {
            Some((sse, f, r)) if sse < best.1 * 0.99 => {
                chosen.push(f);
                best = r;
            }
            _ => break,
        }
    }
    snap(s, target, w, best.0)
}

/// Weights within 1e-6 of an integer become that integer (exact relations
/// stay exact), then the intercept is refitted.
fn snap(s: &Sample, target: &[f64], w: &[f64], mut p: Predictor) -> Predictor {
    for t in &mut p.terms {
        let r = t.1.round();
        if (t.1 - r).abs() < 1e-6 {
            t.1 = r;
        }
    }
    p.terms.retain(|t| t.1 != 0.0);
    let (mut num, mut den) = (0.0, 0.0);
    for i in 0..s.rows {
        let r = target[i] - (p.eval(|f| (s.get)(f, i)) - p.intercept);
        if r.is_finite() && w[i] > 0.0 {
            num += w[i] * r;
            den += w[i];
        }
    }
    p.intercept = if den > 0.0 { num / den } else { 0.0 };
    if !p.intercept.is_finite() || p.terms.iter().any(|t| !t.1.is_finite()) {
        return Predictor::default();
    }
    let near = p.intercept.round();
    if (p.intercept - near).abs() < 1e-9 {
        p.intercept = near;
    }
    p
}

/// Weighted least squares on `features` (plus an intercept): the predictor
/// and its weighted squared error.
fn solve(s: &Sample, target: &[f64], w: &[f64], features: &[Feature]) -> (Predictor, f64) {
    let p = features.len() + 1;
    let mut a = vec![0.0; p * p];
    let mut b = vec![0.0; p];
    let mut x = vec![0.0; p];
    for i in 0..s.rows {
        x[0] = 1.0;
        for (k, &f) in features.iter().enumerate() {
            x[k + 1] = (s.get)(f, i);
        }
        if w[i] <= 0.0 || !target[i].is_finite() || x.iter().any(|v| !v.is_finite()) {
            continue;
        }
        for r in 0..p {
            b[r] += w[i] * x[r] * target[i];
            for c in 0..p {
                a[r * p + c] += w[i] * x[r] * x[c];
            }
        }
    }
    // A little ridge keeps collinear features solvable.
    for r in 0..p {
        a[r * p + r] += 1e-12 * a[r * p + r].abs().max(1e-300);
    }
    let coef = gauss(a, b, p).unwrap_or_else(|| vec![0.0; p]);
    if coef.iter().any(|c| !c.is_finite()) {
        return (Predictor::default(), f64::INFINITY);
    }
    let pred = Predictor {
        intercept: coef[0],
        terms: features
            .iter()
            .copied()
            .zip(coef[1..].iter().copied())
            .collect(),
    };
    let mut sse = 0.0;
    for i in 0..s.rows {
        let e = target[i] - pred.eval(|f| (s.get)(f, i));
        if e.is_finite() && w[i] > 0.0 {
            sse += w[i] * e * e;
        }
    }
    (pred, sse)
}

/// Solves `a x = b` (p x p) by Gaussian elimination with partial pivoting.
fn gauss(mut a: Vec<f64>, mut b: Vec<f64>, p: usize) -> Option<Vec<f64>> {
    for col in 0..p {
        let piv =
            (col..p).max_by(|&i, &j| a[i * p + col].abs().total_cmp(&a[j * p + col].abs()))?;
        if a[piv * p + col].abs() < 1e-300 {
            return None;
        }
        for c in 0..p {
            a.swap(col * p + c, piv * p + c);
        }
        b.swap(col, piv);
        for r in col + 1..p {
            let f = a[r * p + col] / a[col * p + col];
            for c in col..p {
                a[r * p + c] -= f * a[col * p + c];
            }
            b[r] -= f * b[col];
        }
    }
    let mut x = vec![0.0; p];
    for r in (0..p).rev() {
        let mut v = b[r];
        for c in r + 1..p {
            v -= a[r * p + c] * x[c];
        }
        x[r] = v / a[r * p + r];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_an_exact_sum_and_ignores_noise() {
        let n = 2000;
        let a: Vec<f64> = (0..n).map(|i| ((i * 37) % 11) as f64).collect();
        let b: Vec<f64> = (0..n).map(|i| ((i * 53) % 7) as f64).collect();
        let noise: Vec<f64> = (0..n).map(|i| ((i * 7919) % 13) as f64).collect();
        let y: Vec<f64> = (0..n).map(|i| a[i] + b[i]).collect();
        let cols = [a, b, noise];
        let get = |f: Feature, i: usize| match f {
            Feature::Same(c) => cols[c][i],
            _ => 0.0,
        };
        let s = Sample { rows: n, get: &get };
        let cands = [Feature::Same(0), Feature::Same(1), Feature::Same(2)];
        let p = fit(&s, &y, &vec![1.0; n], &cands, 4);
        let mut terms = p.terms.clone();
        terms.sort_by_key(|t| format!("{:?}", t.0));
        assert_eq!(
            terms,
            vec![(Feature::Same(0), 1.0), (Feature::Same(1), 1.0)]
        );
        assert_eq!(p.intercept, 0.0);
    }
}
