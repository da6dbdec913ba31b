//! Linear predictors of one column from the values already decoded:
//! other columns of the same row, the previous row of the same event, and
//! whether the row starts an event. Fitted by weighted least squares with
//! forward selection on a sample; evaluated in a fixed order with plain
//! IEEE multiply and add, so both sides compute the same prediction.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// One input of a predictor (column numbers are table positions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
    /// `sqrt((|a| cosh b)^2 + c^2)` of three columns of the same row: the
    /// energy of a four-vector when they hold its transverse momentum,
    /// pseudorapidity and mass. The fit finds which columns play those
    /// roles (if any do); nothing names them.
    Energy(usize, usize, usize),
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
        let log = log2_abs;
        match self {
            Feature::Same(j) => same(j),
            Feature::Abs(j) => same(j).abs(),
            Feature::Log(j) => log(same(j)),
            Feature::Prev(j) => prev(j).unwrap_or(0.0),
            Feature::LogPrev(j) => prev(j).map_or(0.0, log),
            Feature::First => first as u8 as f64,
            Feature::Energy(a, b, c) => energy(same(a), same(b), same(c)),
        }
    }
}

/// log2 |v| with IEEE operations only, 0 for zero or non-finite `v`.
pub fn log2_abs(v: f64) -> f64 {
    if v.is_finite() && v != 0.0 {
        super::grid::log2_det(v.abs())
    } else {
        0.0
    }
}

/// `sqrt((|pt| cosh eta)^2 + m^2)` with IEEE operations only.
pub fn energy(pt: f64, eta: f64, m: f64) -> f64 {
    energy_with_cosh(pt, cosh_det(eta.abs()), m)
}

/// cosh of a non-negative `x` with IEEE operations only.
pub fn cosh_det(x: f64) -> f64 {
    let e = exp_det(x);
    0.5 * (e + 1.0 / e)
}

/// [`energy`] with `cosh eta` already computed.
pub fn energy_with_cosh(pt: f64, cosh_eta: f64, m: f64) -> f64 {
    let p = pt.abs() * cosh_eta;
    (p * p + m * m).sqrt()
}

/// 1/k for k = 1..=16, the Taylor factors of [`exp_det`].
const INVERSE_FACTORS: [f64; 16] = {
    let mut v = [0.0; 16];
    let mut k = 0;
    while k < 16 {
        v[k] = 1.0 / (k + 1) as f64;
        k += 1;
    }
    v
};

/// e^x with IEEE operations only: x = n ln 2 + r, 2^n exactly and e^r by a
/// fixed Taylor series (|r| <= ln 2 / 2), so both sides agree bit for bit.
pub fn exp_det(x: f64) -> f64 {
    if !x.is_finite() || x.abs() > 700.0 {
        return if x.is_nan() {
            f64::NAN
        } else if x > 0.0 {
            f64::INFINITY
        } else {
            0.0
        };
    }
    let n = (x / std::f64::consts::LN_2).round();
    let r = x - n * std::f64::consts::LN_2;
    let mut s = 1.0;
    for inv in INVERSE_FACTORS.iter().rev() {
        s = 1.0 + s * r * inv;
    }
    s * f64::from_bits(((n as i64 + 1023) as u64) << 52)
}

/// `intercept + sum(weight * feature)`, terms in order.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Predictor {
    /// Constant term.
    pub intercept: f64,
    /// (feature, weight), evaluated in this order.
    pub terms: Vec<(Feature, f64)>,
}

/// Sampled rows the fits see: every candidate feature's value per sample
/// row, computed once (the fits read them many times).
pub struct Sample<'a> {
    /// Rows in the sample.
    pub rows: usize,
    /// Feature values, one per sample row.
    pub columns: &'a HashMap<Feature, Vec<f64>>,
}

impl Sample<'_> {
    /// The values of feature `f` (a feature the sample lacks is a bug).
    pub fn col(&self, f: Feature) -> &[f64] {
        &self.columns[&f]
    }

    /// The predictions of `p` for every sample row, in the predictor's
    /// own order (intercept, then each term), as the walk computes them.
    pub fn predictions(&self, p: &Predictor) -> Vec<f64> {
        let mut v = vec![p.intercept; self.rows];
        for &(f, w) in &p.terms {
            for (y, x) in v.iter_mut().zip(self.col(f)) {
                *y += w * x;
            }
        }
        v
    }
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
    let g = Gram::new(s, target, w, candidates);
    let mut chosen: Vec<usize> = Vec::new();
    let mut best = g.solve(&chosen);
    // The best pair first: two features may only help together (a sum
    // minus one of its parts), which one-at-a-time selection never sees.
    if max_terms >= 2 {
        let pair = (0..candidates.len())
            .flat_map(|a| (a + 1..candidates.len()).map(move |b| vec![a, b]))
            .map(|k| (g.solve(&k), k))
            .filter(|t| t.0 .1.is_finite())
            .reduce(|a, b| if b.0 .1 < a.0 .1 { b } else { a });
        if let Some((r, k)) = pair.filter(|p| p.0 .1 < best.1 * 0.99 * 0.99) {
            chosen = k;
            best = r;
        }
    }
    while chosen.len() < max_terms {
        // In candidate order, first of equals: the same on any thread count.
        let trial = (0..candidates.len())
            .filter(|k| !chosen.contains(k))
            .map(|k| {
                let mut c = chosen.clone();
                c.push(k);
                (g.solve(&c), k)
            })
            .filter(|t| t.0 .1.is_finite())
            .reduce(|a, b| if b.0 .1 < a.0 .1 { b } else { a });
        match trial {
            Some((r, k)) if r.1 < best.1 * 0.99 => {
                chosen.push(k);
                best = r;
            }
            _ => break,
        }
    }
    // An exact relation of several features (a sum of parts) only shows
    // when all are in: prune from the whole set as well, keep the better.
    if let Some((k, r)) = backward(&g, candidates.len(), max_terms) {
        if r.1 < best.1 * 0.99 {
            chosen = k;
            best = r;
        }
    }
    let p = Predictor {
        intercept: 0.0,
        terms: chosen
            .iter()
            .zip(&best.0)
            .map(|(&k, &b)| (candidates[k], b))
            .collect(),
    };
    snap(s, target, w, p)
}

/// The weights of a fit's features and its weighted squared error.
type Fit = (Vec<f64>, f64);

/// Backward elimination: from every candidate, drop the one whose loss
/// raises the error least until `max_terms` remain (first of equals).
fn backward(g: &Gram, n: usize, max_terms: usize) -> Option<(Vec<usize>, Fit)> {
    if n <= max_terms {
        return None;
    }
    let mut kept: Vec<usize> = (0..n).collect();
    while kept.len() > max_terms {
        let (drop, _) = (0..kept.len())
            .map(|d| {
                let mut k = kept.clone();
                k.remove(d);
                (d, g.solve(&k).1)
            })
            .filter(|t| t.1.is_finite())
            .reduce(|a, b| if b.1 < a.1 { b } else { a })?;
        kept.remove(drop);
    }
    let r = g.solve(&kept);
    r.1.is_finite().then_some((kept, r))
}

/// Weighted means and centred cross products of the candidates and the
/// target over the rows where all are finite: every least-squares fit of
/// a subset of candidates is read off it without another pass.
struct Gram {
    /// Candidates, then the target.
    n: usize,
    /// Centred weighted cross products, n+1 x n+1.
    c: Vec<f64>,
}

impl Gram {
    fn new(s: &Sample, target: &[f64], w: &[f64], candidates: &[Feature]) -> Gram {
        let mut cols: Vec<&[f64]> = candidates.iter().map(|&f| s.col(f)).collect();
        cols.push(target);
        let n = candidates.len();
        let used: Vec<usize> = (0..s.rows)
            .filter(|&i| w[i] > 0.0 && cols.iter().all(|c| c[i].is_finite()))
            .collect();
        let sw: f64 = used.iter().map(|&i| w[i]).sum();
        let mean: Vec<f64> = cols
            .iter()
            .map(|c| used.iter().map(|&i| w[i] * c[i]).sum::<f64>() / sw.max(1e-300))
            .collect();
        let mut c = vec![0.0; (n + 1) * (n + 1)];
        let mut x = vec![0.0; n + 1];
        for &i in &used {
            for (k, col) in cols.iter().enumerate() {
                x[k] = col[i] - mean[k];
            }
            for a in 0..=n {
                let wa = w[i] * x[a];
                for b in a..=n {
                    c[a * (n + 1) + b] += wa * x[b];
                }
            }
        }
        for a in 0..=n {
            for b in 0..a {
                c[a * (n + 1) + b] = c[b * (n + 1) + a];
            }
        }
        Gram { n, c }
    }

    fn at(&self, a: usize, b: usize) -> f64 {
        self.c[a * (self.n + 1) + b]
    }

    /// Weights of the candidates `k` (the intercept is refitted later) and
    /// the weighted squared error; errors below 1e-12 of the target's
    /// spread are exact relations and count as zero.
    fn solve(&self, k: &[usize]) -> Fit {
        let p = k.len();
        let yy = self.at(self.n, self.n);
        let mut a = vec![0.0; p * p];
        let mut b = vec![0.0; p];
        for (r, &kr) in k.iter().enumerate() {
            b[r] = self.at(kr, self.n);
            for (c, &kc) in k.iter().enumerate() {
                a[r * p + c] = self.at(kr, kc);
            }
            // A little ridge keeps collinear features solvable.
            a[r * p + r] += 1e-12 * a[r * p + r].abs().max(1e-300);
        }
        let Some(coef) = gauss(a, b.clone(), p) else {
            return (vec![0.0; p], f64::INFINITY);
        };
        let explained: f64 = coef.iter().zip(&b).map(|(c, b)| c * b).sum();
        let sse = (yy - explained).max(0.0);
        let sse = if sse <= 1e-12 * yy { 0.0 } else { sse };
        (coef, if yy.is_finite() { sse } else { f64::INFINITY })
    }
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
    p.intercept = refit_intercept(s, target, w, &p);
    if !p.intercept.is_finite() || p.terms.iter().any(|t| !t.1.is_finite()) {
        return Predictor::default();
    }
    let near = p.intercept.round();
    if (p.intercept - near).abs() < 1e-9 {
        p.intercept = near;
    }
    p
}

/// The intercept that, with `p`'s terms, minimises the weighted squared
/// error: the weighted mean of what the terms leave (0 with no weight).
pub fn refit_intercept(s: &Sample, target: &[f64], w: &[f64], p: &Predictor) -> f64 {
    let (mut num, mut den) = (0.0, 0.0);
    for (i, v) in s.predictions(p).into_iter().enumerate() {
        let r = target[i] - (v - p.intercept);
        if r.is_finite() && w[i] > 0.0 {
            num += w[i] * r;
            den += w[i];
        }
    }
    if den > 0.0 {
        num / den
    } else {
        0.0
    }
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
    fn deterministic_exp_and_energy_match_libm() {
        for i in -3000..3000 {
            let x = i as f64 / 97.0;
            assert!((exp_det(x) / x.exp() - 1.0).abs() < 1e-14, "{x}");
        }
        assert_eq!(exp_det(800.0), f64::INFINITY);
        assert_eq!(exp_det(-800.0), 0.0);
        let e = energy(50.0, -1.2, 10.0);
        let want = ((50.0 * 1.2f64.cosh()).powi(2) + 100.0).sqrt();
        assert!((e / want - 1.0).abs() < 1e-14);
    }

    #[test]
    fn finds_an_exact_sum_and_ignores_noise() {
        let n = 2000;
        let a: Vec<f64> = (0..n).map(|i| ((i * 37) % 11) as f64).collect();
        let b: Vec<f64> = (0..n).map(|i| ((i * 53) % 7) as f64).collect();
        let noise: Vec<f64> = (0..n).map(|i| ((i * 7919) % 13) as f64).collect();
        let y: Vec<f64> = (0..n).map(|i| a[i] + b[i]).collect();
        let columns = [a, b, noise]
            .into_iter()
            .enumerate()
            .map(|(c, v)| (Feature::Same(c), v))
            .collect();
        let s = Sample {
            rows: n,
            columns: &columns,
        };
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
