//! The sample the plan learns on: every coded column's codes and restored
//! values at sampled rows and their predecessors, and every feature a
//! predictor may read, computed once (the fits read them many times).

use super::format::{CodedColumn, ColumnInfo, Store};
use super::grid::{Code, Grid};
use super::plan::restore_row;
use super::predict::{Feature, Sample};
use super::source::Raw;
use arrow_array::RecordBatch;
use std::collections::HashMap;

/// Rows the predictors are learned on: a quarter of a small table (its
/// fit is a fixed cost there), between 4096 and 16384.
fn sample_rows(rows: usize) -> usize {
    (rows / 4).clamp(4096, 16384).min(rows)
}

/// Sampled rows: codes and values at each row and its predecessor, and
/// every feature a predictor may use.
pub(super) struct Sampled {
    /// Whether each sampled row starts an event.
    pub first: Vec<bool>,
    /// Codes per coded column (`None`: an exact escape).
    pub codes: HashMap<usize, Vec<Option<Code>>>,
    /// Restored values per coded column.
    pub values: HashMap<usize, Vec<f64>>,
    /// Every feature a predictor may read.
    pub features: HashMap<Feature, Vec<f64>>,
}

impl Sampled {
    /// The sample as the fits see it.
    pub fn fits(&self) -> Sample<'_> {
        Sample {
            rows: self.first.len(),
            columns: &self.features,
        }
    }
}

/// Every feature of the coded columns, per sample row (computed once: the
/// fits read them many times).
fn features(
    first: &[bool],
    values: &HashMap<usize, Vec<f64>>,
    prev: &HashMap<usize, Vec<f64>>,
    coded: &[CodedColumn],
) -> HashMap<Feature, Vec<f64>> {
    use rayon::prelude::*;
    let mut all = vec![Feature::First];
    for &j in values.keys() {
        all.extend([
            Feature::Same(j),
            Feature::Abs(j),
            Feature::Log(j),
            Feature::Prev(j),
            Feature::LogPrev(j),
        ]);
    }
    // Dense views: no hashing per row.
    let width = values.keys().max().map_or(0, |m| m + 1);
    let (vals, prevs) = (dense(values, width), dense(prev, width));
    let mut out: HashMap<Feature, Vec<f64>> = all
        .into_par_iter()
        .map(|f| {
            let col = (0..first.len())
                .map(|i| {
                    let start = first[i];
                    f.value(|j| vals[j][i], |j| (!start).then(|| prevs[j][i]), start)
                })
                .collect();
            (f, col)
        })
        .collect();
    out.extend(energy_columns(&vals, coded));
    out
}

/// Column `j`'s values at position `j` (empty where none).
fn dense(h: &HashMap<usize, Vec<f64>>, width: usize) -> Vec<&[f64]> {
    (0..width)
        .map(|j| h.get(&j).map_or(&[][..], |v| v.as_slice()))
        .collect()
}

/// The columns of every [`Feature::Energy`] triple, with each cosh column
/// computed once: the same operations, in the same order, as
/// [`super::predict::energy`] makes per row.
fn energy_columns(vals: &[&[f64]], coded: &[CodedColumn]) -> Vec<(Feature, Vec<f64>)> {
    use rayon::prelude::*;
    let triples = energy_triples(coded);
    let mut cosh: HashMap<usize, Vec<f64>> = HashMap::new();
    for f in &triples {
        if let Feature::Energy(_, b, _) = *f {
            cosh.entry(b).or_insert_with(|| {
                vals[b]
                    .iter()
                    .map(|x| super::predict::cosh_det(x.abs()))
                    .collect()
            });
        }
    }
    triples
        .into_par_iter()
        .map(|f| {
            let Feature::Energy(a, b, c) = f else {
                unreachable!("energy triples only")
            };
            let col = (0..vals[a].len())
                .map(|i| super::predict::energy_with_cosh(vals[a][i], cosh[&b][i], vals[c][i]))
                .collect();
            (f, col)
        })
        .collect()
}

pub(super) fn sample(
    batch: &RecordBatch,
    raws: &[Option<Raw>],
    infos: &[ColumnInfo],
    coded: &[CodedColumn],
) -> Sampled {
    let rows = batch.num_rows();
    let n = sample_rows(rows);
    let idx: Vec<usize> = (0..n).map(|s| s * rows / n.max(1)).collect();
    let labels: Vec<&Raw> = infos
        .iter()
        .enumerate()
        .filter(|(_, c)| c.store == Store::Label)
        .filter_map(|(i, _)| raws[i].as_ref())
        .collect();
    let first: Vec<bool> = idx
        .iter()
        .map(|&r| r == 0 || labels.iter().any(|l| l.i64(r) != l.i64(r - 1)))
        .collect();
    let (mut codes_of, mut values_of, mut prev_of) =
        (HashMap::new(), HashMap::new(), HashMap::new());
    for c in coded {
        let raw = raws[c.index].as_ref().expect("coded columns are numeric");
        let (codes, values): (Vec<_>, Vec<_>) = idx.iter().map(|&r| restore_row(raw, c, r)).unzip();
        let prev = idx
            .iter()
            .map(|&r| {
                if r == 0 {
                    0.0
                } else {
                    restore_row(raw, c, r - 1).1
                }
            })
            .collect();
        codes_of.insert(c.index, codes);
        values_of.insert(c.index, values);
        prev_of.insert(c.index, prev);
    }
    Sampled {
        features: features(&first, &values_of, &prev_of, coded),
        first,
        codes: codes_of,
        values: values_of,
    }
}

/// Every [`Feature::Energy`] of the coded columns: a relative-grid column
/// as the transverse momentum, an absolute-grid one as the pseudorapidity,
/// another relative-grid one as the mass.
fn energy_triples(coded: &[CodedColumn]) -> Vec<Feature> {
    let rel: Vec<usize> = coded
        .iter()
        .filter(|c| matches!(c.grid, Grid::Rel { .. }))
        .map(|c| c.index)
        .collect();
    let abs = coded
        .iter()
        .filter(|c| matches!(c.grid, Grid::Abs { .. }))
        .map(|c| c.index);
    let mut out = Vec::new();
    for b in abs {
        for &a in &rel {
            out.extend(
                rel.iter()
                    .filter(|&&m| m != a)
                    .map(|&m| Feature::Energy(a, b, m)),
            );
        }
    }
    out
}

/// Energy features the value-space fit of `target` may try: of the
/// triples among `before` (columns decoded earlier), the six whose values
/// correlate best with the target's (the rest would only slow the fit).
pub(super) fn energy_candidates(
    before: &[CodedColumn],
    target: &[f64],
    s: &Sampled,
) -> Vec<Feature> {
    let mut scored: Vec<(f64, Feature)> = energy_triples(before)
        .into_iter()
        .map(|f| (correlation(&s.features[&f], target).abs(), f))
        .filter(|(r, _)| r.is_finite())
        .collect();
    // Highest first; equal scores in triple order (the same on every run).
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().take(6).map(|(_, f)| f).collect()
}

/// Pearson correlation over the rows where both are finite.
fn correlation(x: &[f64], y: &[f64]) -> f64 {
    let pairs: Vec<(f64, f64)> = x
        .iter()
        .zip(y)
        .filter(|(a, b)| a.is_finite() && b.is_finite())
        .map(|(a, b)| (*a, *b))
        .collect();
    let n = pairs.len() as f64;
    let (mx, my) = pairs
        .iter()
        .fold((0.0, 0.0), |m, p| (m.0 + p.0 / n, m.1 + p.1 / n));
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in &pairs {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    sxy / (sxx * syy).sqrt()
}
