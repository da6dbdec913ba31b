//! Learning the table's structure on a sample of its rows: which columns
//! are coded, their grids, the coding order, each column's predictor (kept
//! only where it pays for its weights) and its residual alphabet.

use super::format::{CodedColumn, ColumnInfo, Store};
use super::grid::{Code, Grid, POS, ZERO};
use super::predict::{fit, Feature, Predictor, Sample};
use super::source::Raw;
use super::walk::symbol;
use crate::quant::Bound;
use crate::{dtype_name, CompressError, CompressOptions, Result};
use arrow_array::RecordBatch;
use hepae_table::LABEL_COLUMNS;
use std::collections::HashMap;
use std::path::Path;

/// Rows the predictors are learned on: a quarter of a small table (its
/// fit is a fixed cost there), between 4096 and 16384.
fn sample_rows(rows: usize) -> usize {
    (rows / 4).clamp(4096, 16384).min(rows)
}
/// Largest residual alphabet.
const MAX_ALPHABET: u64 = 4096;

/// How each column is stored, and the coded columns in coding order.
pub struct Plan {
    /// Table columns in order.
    pub columns: Vec<ColumnInfo>,
    /// Coded columns in coding order (contexts not yet chosen).
    pub coded: Vec<CodedColumn>,
}

/// The bound of column `name` (its own merged with `*`).
fn bound_of(opts: &CompressOptions, name: &str) -> Option<Bound> {
    match (opts.bounds.get(name), opts.bounds.get("*")) {
        (Some(a), Some(b)) => Some(a.merge(*b)),
        (a, b) => a.or(b).copied(),
    }
}

/// Where each column goes; bounded floats get their grid. A float column
/// with neither a bound nor `lossless` is an error naming it.
fn classify(
    batch: &RecordBatch,
    raws: &[Option<Raw>],
    opts: &CompressOptions,
    data: &Path,
) -> Result<(Vec<ColumnInfo>, Vec<CodedColumn>)> {
    let mut infos = Vec::new();
    let mut coded = Vec::new();
    for (i, f) in batch.schema().fields().iter().enumerate() {
        let name = f.name().as_str();
        let dtype =
            dtype_name(f.data_type()).map_or_else(|| f.data_type().to_string(), str::to_string);
        let lossless = opts.lossless.iter().any(|c| c == name);
        let store = match &raws[i] {
            None => Store::Passthrough,
            Some(r) if r.is_int() && LABEL_COLUMNS.contains(&name) => Store::Label,
            Some(r) if r.is_int() => Store::Coded,
            Some(_) if lossless => Store::Passthrough,
            Some(_) => match bound_of(opts, name) {
                Some(_) => Store::Coded,
                None => {
                    return Err(CompressError::Input(format!(
                        "{}: column '{name}' ({dtype}) has no error bound: give --bound {name}:rel:VALUE (or abs), \
                         --bound '*:...' for every float column, or --lossless {name}",
                        data.display()
                    )))
                }
            },
        };
        if store == Store::Coded {
            let int = raws[i].as_ref().is_some_and(|r| r.is_int());
            let bound = if int { None } else { bound_of(opts, name) };
            coded.push(CodedColumn {
                index: i,
                grid: bound.as_ref().map_or(Grid::Int, Grid::for_bound),
                bound,
                predictor: Predictor::default(),
                fallback: 0,
                log_target: false,
                zero_below: 0.0,
                kinds: false,
                contexts: 1,
                pred_edges: Vec::new(),
                alphabet: 2,
                escapes: 0,
                max_abs_error: 0.0,
                bits_per_row: 0.0,
            });
        }
        infos.push(ColumnInfo {
            name: name.to_string(),
            dtype,
            store,
        });
    }
    Ok((infos, coded))
}

/// The code and restored value of row `i` (escapes keep the exact value).
pub fn restore_row(raw: &Raw, c: &CodedColumn, i: usize) -> (Option<Code>, f64) {
    if raw.is_int() {
        let v = raw.i64(i);
        return (Some(Code { kind: POS, code: v }), v as f64);
    }
    let x = raw.f64(i);
    let b = c.bound.expect("bounded float column");
    match c.grid.quantise(x, &b, |v| raw.cast(v)) {
        Some(code) => (Some(code), raw.cast(c.grid.value(code))),
        None => (None, x),
    }
}

/// Sampled rows: codes and values at each row and its predecessor, and
/// every feature a predictor may use.
struct Sampled {
    first: Vec<bool>,
    codes: HashMap<usize, Vec<Option<Code>>>,
    values: HashMap<usize, Vec<f64>>,
    features: HashMap<Feature, Vec<f64>>,
}

impl Sampled {
    fn fits(&self) -> Sample<'_> {
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

fn sample(
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

/// Entropy in bits of a histogram (summed in symbol order).
fn entropy(h: &[u64]) -> f64 {
    let n: u64 = h.iter().sum();
    h.iter()
        .filter(|&&c| c > 0)
        .map(|&c| c as f64 * (n as f64 / c as f64).log2())
        .sum::<f64>()
}

/// Bits per row of column `c` under its predictor on the sample, and the
/// residual symbols (zigzag) it gives.
fn sample_bits(c: &CodedColumn, s: &Sampled) -> (f64, Vec<u64>) {
    let codes = &s.codes[&c.index];
    let n = codes.len();
    let mut kinds = [0u64; 12];
    let mut kind_ctx = [0u64; 3];
    let mut res = vec![0u64; MAX_ALPHABET as usize];
    let mut zs = Vec::with_capacity(n);
    let vhats = s.fits().predictions(&c.predictor);
    for (code, &vhat) in codes.iter().zip(&vhats) {
        // The sample does not track the previous column's zeros.
        let kc = c.kind_context(vhat, false);
        let pc = c.predict(vhat);
        let (kind, r) = match code {
            Some(k) if k.kind == ZERO => (ZERO, None),
            Some(k) => (k.kind, Some(k.code.wrapping_sub(pc))),
            None => (POS, Some(0)),
        };
        kinds[kc * 4 + kind as usize] += 1;
        kind_ctx[kc] += 1;
        if let Some(r) = r {
            let z = super::bits::zigzag(r);
            zs.push(z);
            res[z.min(MAX_ALPHABET - 1) as usize] += 1;
        }
    }
    let kind_bits = if c.kinds {
        entropy(&kinds) - entropy(&kind_ctx)
    } else {
        0.0
    };
    let overflow: f64 = zs
        .iter()
        .filter(|&&z| z >= MAX_ALPHABET - 1)
        .map(|&z| 8.0 * (1.0 + (64 - z.leading_zeros()) as f64 / 7.0).floor())
        .sum();
    ((kind_bits + entropy(&res) + overflow) / n.max(1) as f64, zs)
}

/// Grid details of one column learned from the sample: the fallback code
/// (median), the zero threshold and whether signs are coded.
fn grid_details(c: &mut CodedColumn, s: &Sampled) {
    let codes = &s.codes[&c.index];
    let mut nz: Vec<i64> = codes
        .iter()
        .flatten()
        .filter(|k| k.kind != ZERO)
        .map(|k| k.code)
        .collect();
    nz.sort_unstable();
    c.fallback = nz.get(nz.len() / 2).copied().unwrap_or(0);
    if let Grid::Rel { .. } = c.grid {
        c.kinds = codes.iter().flatten().any(|k| k.kind != POS);
        let min_pos = s.values[&c.index]
            .iter()
            .filter(|v| v.is_finite() && **v != 0.0)
            .fold(f64::INFINITY, |m, v| m.min(v.abs()));
        c.zero_below = if min_pos.is_finite() {
            min_pos / 2.0
        } else {
            0.0
        };
    }
}

/// The coding order (cheapest columns first, by the entropy of their
/// codes) with each column's predictor, grid details and alphabet.
pub fn plan(
    batch: &RecordBatch,
    raws: &[Option<Raw>],
    opts: &CompressOptions,
    data: &Path,
) -> Result<Plan> {
    let (columns, mut coded) = classify(batch, raws, opts, data)?;
    let s = sample(batch, raws, &columns, &coded);
    for c in &mut coded {
        grid_details(c, &s);
        c.predictor = Predictor {
            intercept: Some(c.grid.value(Code {
                kind: POS,
                code: c.fallback,
            }))
            .filter(|v| v.is_finite())
            .unwrap_or(0.0),
            terms: Vec::new(),
        };
        c.bits_per_row = sample_bits(c, &s).0;
    }
    let rows = batch.num_rows() as f64;
    // Candidate orders: cheapest first, dearest first (every column can
    // lean on the expensive ones), absolute-grid columns first; the order
    // whose sample cost is lowest wins.
    let mut by_cost = coded.clone();
    by_cost.sort_by(|a, b| {
        a.bits_per_row
            .total_cmp(&b.bits_per_row)
            .then(a.index.cmp(&b.index))
    });
    let mut dear = by_cost.clone();
    dear.reverse();
    let mut abs_first = by_cost.clone();
    abs_first.sort_by_key(|c| !matches!(c.grid, Grid::Abs { .. }));
    let mut best: Option<(f64, Vec<CodedColumn>)> = None;
    for order in [by_cost, dear, abs_first] {
        let fits = fit_order(order, &s, rows);
        let total: f64 = fits.iter().map(|c| cost(c, rows)).sum();
        if best.as_ref().is_none_or(|b| total < b.0) {
            best = Some((total, fits));
        }
    }
    let coded = refine_order(best.map(|b| b.1).unwrap_or_default(), &coded, &s, rows);
    Ok(Plan { columns, coded })
}

/// Sample cost of a fitted column over the whole table, its weights
/// included.
fn cost(c: &CodedColumn, rows: f64) -> f64 {
    c.bits_per_row * rows + 64.0 * c.predictor.terms.len() as f64
}

/// One pass of adjacent swaps, from the end: a swap changes only the two
/// columns' fits (every other column sees the same decoded set), so each
/// costs two fits. It lets, say, the largest part of a sum come last.
fn refine_order(
    mut coded: Vec<CodedColumn>,
    unfitted: &[CodedColumn],
    s: &Sampled,
    rows: f64,
) -> Vec<CodedColumn> {
    let fresh = |c: &CodedColumn| unfitted.iter().find(|u| u.index == c.index).cloned();
    for k in (0..coded.len().saturating_sub(1)).rev() {
        let mut trial = coded.clone();
        trial.swap(k, k + 1);
        // Refitted from scratch: the old fits may read each other.
        let (Some(a), Some(b)) = (fresh(&trial[k]), fresh(&trial[k + 1])) else {
            continue;
        };
        (trial[k], trial[k + 1]) = (a, b);
        trial[k] = fitted(&trial, k, s, rows);
        trial[k + 1] = fitted(&trial, k + 1, s, rows);
        let before = cost(&coded[k], rows) + cost(&coded[k + 1], rows);
        if cost(&trial[k], rows) + cost(&trial[k + 1], rows) < before {
            coded = trial;
        }
    }
    coded
}

/// Column `k` of `order` with its best predictor, alphabet and edges.
fn fitted(order: &[CodedColumn], k: usize, s: &Sampled, rows: f64) -> CodedColumn {
    let mut c = best_predictor(order, k, s, rows);
    let (_, zs) = sample_bits(&c, s);
    c.alphabet = alphabet(zs);
    c.pred_edges = quartiles(predicted_codes(&c, s));
    c
}

/// Each column's best predictor from the columns before it in `order`,
/// and its alphabet.
fn fit_order(mut coded: Vec<CodedColumn>, s: &Sampled, rows: f64) -> Vec<CodedColumn> {
    for k in 0..coded.len() {
        coded[k] = fitted(&coded, k, s, rows);
    }
    coded
}

/// The cheapest of: no predictor, a linear one in value space, and (on
/// relative grids) one of log2 |value| from logs and magnitudes; a
/// predictor must pay for its weights (8 bytes each) over the whole table.
fn best_predictor(coded: &[CodedColumn], k: usize, s: &Sampled, rows: f64) -> CodedColumn {
    let c = &coded[k];
    let target = &s.values[&c.index];
    let sample = s.fits();
    let cost = |b: f64, terms: usize| b * rows + 64.0 * terms as f64;
    let mut best = c.clone();
    let mut best_cost = cost(c.bits_per_row, 0);
    let mut consider = |trial: CodedColumn| {
        let p = &trial.predictor;
        if !p.intercept.is_finite() || p.terms.iter().any(|t| !t.1.is_finite()) {
            return;
        }
        let (bits, _) = sample_bits(&trial, s);
        let t = cost(bits, trial.predictor.terms.len());
        if t < best_cost {
            best_cost = t;
            best = CodedColumn {
                bits_per_row: bits,
                ..trial
            };
        }
    };
    // Value space.
    let mut cands: Vec<Feature> = coded[..k].iter().map(|c| Feature::Same(c.index)).collect();
    cands.extend([Feature::Prev(c.index), Feature::First]);
    if let Grid::Rel { .. } = c.grid {
        cands.extend(energy_candidates(&coded[..k], target, s));
    }
    let w: Vec<f64> = match c.grid {
        Grid::Rel { .. } => relative_weights(target),
        _ => vec![1.0; target.len()],
    };
    let mut trial = c.clone();
    trial.predictor = fit(&sample, target, &w, &cands, 4);
    // Fits on restored (rounded) inputs shrink the weights of an exact
    // relation (errors in the variables): offer its whole-number form too.
    if let Some(p) = whole_weights(&trial.predictor, &sample, target, &w) {
        let mut whole = trial.clone();
        whole.predictor = p;
        consider(whole);
    }
    consider(trial);
    // Log space, on relative grids.
    if let Grid::Rel { .. } = c.grid {
        let mut cands: Vec<Feature> = coded[..k]
            .iter()
            .flat_map(|e| match e.grid {
                Grid::Rel { .. } => vec![Feature::Log(e.index)],
                _ => vec![Feature::Same(e.index), Feature::Abs(e.index)],
            })
            .collect();
        cands.extend([Feature::LogPrev(c.index), Feature::First]);
        let lt: Vec<f64> = target
            .iter()
            .map(|y| {
                if *y != 0.0 && y.is_finite() {
                    y.abs().log2()
                } else {
                    f64::NAN
                }
            })
            .collect();
        let w = vec![1.0; lt.len()];
        let mut trial = c.clone();
        trial.log_target = true;
        trial.predictor = fit(&sample, &lt, &w, &cands, 5);
        consider(trial);
    }
    best
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
fn energy_candidates(before: &[CodedColumn], target: &[f64], s: &Sampled) -> Vec<Feature> {
    let known: Vec<usize> = before.iter().map(|c| c.index).collect();
    let mut scored: Vec<(f64, Feature)> = energy_triples(before)
        .into_iter()
        .filter(|f| matches!(f, Feature::Energy(a, b, c) if [a, b, c].iter().all(|j| known.contains(j))))
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

/// `p` with every weight within 0.1 of a non-zero integer rounded to it
/// and the intercept refitted; `None` when nothing rounds.
fn whole_weights(p: &Predictor, s: &Sample, target: &[f64], w: &[f64]) -> Option<Predictor> {
    let near = |x: f64| x.round() != 0.0 && (x - x.round()).abs() < 0.1 && x != x.round();
    if !p.terms.iter().any(|t| near(t.1)) {
        return None;
    }
    let mut q = p.clone();
    for t in &mut q.terms {
        if near(t.1) {
            t.1 = t.1.round();
        }
    }
    q.intercept = 0.0;
    let (mut num, mut den) = (0.0, 0.0);
    for (i, v) in s.predictions(&q).into_iter().enumerate() {
        let r = target[i] - v;
        if r.is_finite() && w[i] > 0.0 {
            num += w[i] * r;
            den += w[i];
        }
    }
    q.intercept = if den > 0.0 { num / den } else { 0.0 };
    q.intercept.is_finite().then_some(q)
}

/// Least-squares weights for relative errors, 1/y^2, with |y| floored at
/// a tenth of the median |y|: otherwise the few values near zero, whose
/// relative error no predictor fixes, outweigh every other row and no
/// feature ever seems to help. Zeros (coded as signs) weigh nothing.
fn relative_weights(target: &[f64]) -> Vec<f64> {
    let mut mags: Vec<f64> = target
        .iter()
        .filter(|y| y.is_finite() && **y != 0.0)
        .map(|y| y.abs())
        .collect();
    mags.sort_by(f64::total_cmp);
    let floor = mags.get(mags.len() / 2).map_or(0.0, |m| 0.1 * m);
    target
        .iter()
        .map(|y| {
            if *y == 0.0 {
                0.0
            } else {
                1.0 / y.abs().max(floor).powi(2)
            }
        })
        .collect()
}

/// The predicted codes of the sample rows.
fn predicted_codes(c: &CodedColumn, s: &Sampled) -> Vec<i64> {
    s.fits()
        .predictions(&c.predictor)
        .into_iter()
        .map(|v| c.predict(v))
        .collect()
}

/// The three quartile edges of `v` (empty when they do not split it).
fn quartiles(mut v: Vec<i64>) -> Vec<i64> {
    v.sort_unstable();
    if v.is_empty() {
        return Vec::new();
    }
    let e: Vec<i64> = [1, 2, 3].iter().map(|q| v[v.len() * q / 4]).collect();
    if e[0] == e[2] {
        Vec::new()
    } else {
        e
    }
}

/// Symbols covering 99.9% of the sample's residuals, plus the overflow mark.
fn alphabet(mut zs: Vec<u64>) -> u32 {
    zs.sort_unstable();
    let q = zs
        .get(zs.len().saturating_sub(1) * 999 / 1000)
        .copied()
        .unwrap_or(0);
    (q + 2).clamp(2, MAX_ALPHABET) as u32
}

/// The residual symbol of zigzag value `z` in column `c`'s alphabet.
pub fn residual_symbol(c: &CodedColumn, z: u64) -> u32 {
    symbol(z, c.alphabet)
}
