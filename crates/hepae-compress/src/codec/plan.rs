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

/// Rows the predictors are learned on.
const SAMPLE_ROWS: usize = 16384;
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

/// Sampled rows: codes and values at each row and its predecessor.
struct Sampled {
    first: Vec<bool>,
    codes: HashMap<usize, Vec<Option<Code>>>,
    values: HashMap<usize, Vec<f64>>,
    prev: HashMap<usize, Vec<f64>>,
}

fn sample(
    batch: &RecordBatch,
    raws: &[Option<Raw>],
    infos: &[ColumnInfo],
    coded: &[CodedColumn],
) -> Sampled {
    let rows = batch.num_rows();
    let n = rows.min(SAMPLE_ROWS);
    let idx: Vec<usize> = (0..n).map(|s| s * rows / n.max(1)).collect();
    let labels: Vec<&Raw> = infos
        .iter()
        .enumerate()
        .filter(|(_, c)| c.store == Store::Label)
        .filter_map(|(i, _)| raws[i].as_ref())
        .collect();
    let first = idx
        .iter()
        .map(|&r| r == 0 || labels.iter().any(|l| l.i64(r) != l.i64(r - 1)))
        .collect();
    let mut s = Sampled {
        first,
        codes: HashMap::new(),
        values: HashMap::new(),
        prev: HashMap::new(),
    };
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
        s.codes.insert(c.index, codes);
        s.values.insert(c.index, values);
        s.prev.insert(c.index, prev);
    }
    s
}

/// Entropy in bits of a histogram.
fn entropy(h: &HashMap<u64, u64>) -> f64 {
    let n: u64 = h.values().sum();
    h.values()
        .map(|&c| c as f64 * (n as f64 / c as f64).log2())
        .sum::<f64>()
}

/// Bits per row of column `c` under its predictor on the sample, and the
/// residual symbols (zigzag) it gives.
fn sample_bits(c: &CodedColumn, s: &Sampled) -> (f64, Vec<u64>) {
    let codes = &s.codes[&c.index];
    let n = codes.len();
    let get = |f: Feature, i: usize| feature(s, f, i);
    let mut kinds: HashMap<u64, u64> = HashMap::new();
    let mut kind_ctx: HashMap<u64, u64> = HashMap::new();
    let mut res: HashMap<u64, u64> = HashMap::new();
    let mut zs = Vec::with_capacity(n);
    for (i, code) in codes.iter().enumerate() {
        let vhat = c.predictor.eval(|f| get(f, i));
        // The sample does not track the previous column's zeros.
        let kc = c.kind_context(vhat, false) as u64;
        let pc = c.predict(vhat);
        let (kind, r) = match code {
            Some(k) if k.kind == ZERO => (ZERO, None),
            Some(k) => (k.kind, Some(k.code.wrapping_sub(pc))),
            None => (POS, Some(0)),
        };
        *kinds.entry(kc * 4 + kind as u64).or_default() += 1;
        *kind_ctx.entry(kc).or_default() += 1;
        if let Some(r) = r {
            let z = super::bits::zigzag(r);
            zs.push(z);
            *res.entry(z.min(MAX_ALPHABET - 1)).or_default() += 1;
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

fn feature(s: &Sampled, f: Feature, i: usize) -> f64 {
    let first = s.first[i];
    f.value(
        |j| s.values[&j][i],
        |j| (!first).then(|| s.prev[&j][i]),
        first,
    )
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
        let fitted = fit_order(order, &s, rows);
        let total: f64 = fitted
            .iter()
            .map(|c| c.bits_per_row * rows + 64.0 * c.predictor.terms.len() as f64)
            .sum();
        if best.as_ref().is_none_or(|b| total < b.0) {
            best = Some((total, fitted));
        }
    }
    let coded = best.map(|b| b.1).unwrap_or_default();
    Ok(Plan { columns, coded })
}

/// Each column's best predictor from the columns before it in `order`,
/// and its alphabet.
fn fit_order(mut coded: Vec<CodedColumn>, s: &Sampled, rows: f64) -> Vec<CodedColumn> {
    for k in 0..coded.len() {
        coded[k] = best_predictor(&coded, k, s, rows);
        let (_, zs) = sample_bits(&coded[k], s);
        coded[k].alphabet = alphabet(zs);
        coded[k].pred_edges = quartiles(predicted_codes(&coded[k], s));
    }
    coded
}

/// The cheapest of: no predictor, a linear one in value space, and (on
/// relative grids) one of log2 |value| from logs and magnitudes; a
/// predictor must pay for its weights (8 bytes each) over the whole table.
fn best_predictor(coded: &[CodedColumn], k: usize, s: &Sampled, rows: f64) -> CodedColumn {
    let c = &coded[k];
    let target = &s.values[&c.index];
    let get = |f: Feature, i: usize| feature(s, f, i);
    let sample = Sample {
        rows: target.len(),
        get: &get,
    };
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
    let w: Vec<f64> = match c.grid {
        Grid::Rel { .. } => target
            .iter()
            .map(|y| if *y == 0.0 { 0.0 } else { 1.0 / (y * y) })
            .collect(),
        _ => vec![1.0; target.len()],
    };
    let mut trial = c.clone();
    trial.predictor = fit(&sample, target, &w, &cands, 4);
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

/// The predicted codes of the sample rows.
fn predicted_codes(c: &CodedColumn, s: &Sampled) -> Vec<i64> {
    (0..s.first.len())
        .map(|i| c.predict(c.predictor.eval(|f| feature(s, f, i))))
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
