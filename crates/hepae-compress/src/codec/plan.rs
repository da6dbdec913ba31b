//! Learning the table's structure on a sample of its rows: which columns
//! are coded, their grids, the coding order, each column's predictor (kept
//! only where it pays for its weights) and its residual alphabet.

use super::format::{CodedColumn, ColumnInfo, Store};
use super::grid::{Code, Grid, POS, ZERO};
use super::predict::{fit, refit_intercept, Feature, Predictor, Sample};
use super::sampled::{energy_candidates, sample, Sampled};
use super::source::Raw;
use super::walk::symbol;
use crate::quant::Bound;
use crate::{dtype_name, CompressError, CompressOptions, Result};
use arrow_array::RecordBatch;
use hepae_table::LABEL_COLUMNS;
use rayon::prelude::*;
use std::path::Path;

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
    coded.par_iter_mut().for_each(|c| {
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
    });
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
    // The orders are fitted in parallel and compared in this order (the
    // first of equals wins), so the plan is the same on any thread count.
    let fits: Vec<Vec<CodedColumn>> = [by_cost, dear, abs_first]
        .into_par_iter()
        .map(|order| fit_order(order, &s, rows))
        .collect();
    let mut best: Option<(f64, Vec<CodedColumn>)> = None;
    for fits in fits {
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
        // Neither fit reads the other's predictor, only which columns come
        // before it: both run at once.
        let (fa, fb) = rayon::join(
            || fitted(&trial, k, s, rows),
            || fitted(&trial, k + 1, s, rows),
        );
        (trial[k], trial[k + 1]) = (fa, fb);
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
    // The column comes in unfitted: its cost is that of no predictor.
    let mut best = c.clone();
    let mut best_cost = cost(c, rows);
    let mut consider = |trial: CodedColumn| {
        let p = &trial.predictor;
        if !p.intercept.is_finite() || p.terms.iter().any(|t| !t.1.is_finite()) {
            return;
        }
        let trial = CodedColumn {
            bits_per_row: sample_bits(&trial, s).0,
            ..trial
        };
        let t = cost(&trial, rows);
        if t < best_cost {
            best_cost = t;
            best = trial;
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
    q.intercept = refit_intercept(s, target, w, &q);
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
