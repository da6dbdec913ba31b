//! The one pass both sides make over a block, column by column in coding
//! order: predict each value from what is already decoded, pick the
//! contexts, and let the side (encoder or decoder) settle the symbol.

use super::format::CodedColumn;
use super::grid::{Code, NEG, POS, ZERO};
use super::predict::{cosh_det, energy_with_cosh, log2_abs, Feature};
use crate::Result;
use std::sync::Arc;

/// What a side settles for one row.
#[derive(Debug, Clone, Copy)]
pub struct Settled {
    /// The restored value (after the output cast).
    pub value: f64,
    /// Code residual against the prediction.
    pub res: i64,
    /// Its code, `None` for a value stored exactly (an escape).
    pub code: Option<Code>,
}

/// Memo key of a row whose value is not a function of its code alone.
const NO_KEY: i64 = i64::MIN;

/// What a side sees of one row before its value is settled.
#[derive(Debug, Clone, Copy)]
pub struct Row {
    /// Row within the block.
    pub i: usize,
    /// Context of the sign symbol: 0 predicted zero, 1 positive, 2 negative.
    pub kind_ctx: usize,
    /// The sign the prediction implies.
    pub pred_kind: u8,
    /// Predicted code.
    pub pred_code: i64,
    /// Context of the residual symbol.
    pub ctx: usize,
    /// The residual-size context (counted when choosing).
    pub ctx_res: usize,
    /// The predicted-code quartile context (counted when choosing).
    pub ctx_pred: usize,
}

/// Decoded values of one block (table positions; uncoded columns empty).
pub struct Block {
    /// Event starts of the block's rows.
    pub first: Vec<bool>,
    /// Values as restored (after the output cast), per table column.
    pub values: Vec<Vec<f64>>,
    /// Per table column and row, the code its value was restored from
    /// (on a relative grid the code fixes |value|), or [`NO_KEY`]: zeros
    /// and escapes.
    keys: Vec<Vec<i64>>,
    /// Residual size bucket of the column coded last, per row.
    bucket: Vec<u8>,
    /// Features of decoded columns already computed for this block (they
    /// never change once their columns are decoded; several predictors
    /// often read the same log2 |pt|).
    cache: std::collections::HashMap<Feature, Arc<Vec<f64>>>,
}

impl Block {
    /// An empty block of `columns` table columns.
    pub fn new(first: Vec<bool>, columns: usize) -> Block {
        let n = first.len();
        Block {
            first,
            values: vec![Vec::new(); columns],
            keys: vec![Vec::new(); columns],
            bucket: vec![0; n],
            cache: Default::default(),
        }
    }

    fn feature(&self, f: Feature, i: usize) -> f64 {
        let first = self.first[i];
        f.value(
            |j| self.values[j][i],
            |j| (!first).then(|| self.values[j][i - 1]),
            first,
        )
    }

    /// Per term of `c`'s predictor, the feature's value in every row when
    /// it does not depend on `c` itself (computed once, not per row).
    fn precomputed(&mut self, c: &CodedColumn) -> Vec<Option<Arc<Vec<f64>>>> {
        let own =
            |f: &Feature| matches!(f, Feature::Prev(j) | Feature::LogPrev(j) if *j == c.index);
        let mut out = Vec::with_capacity(c.predictor.terms.len());
        for (f, _) in &c.predictor.terms {
            if own(f) {
                out.push(None);
                continue;
            }
            if !self.cache.contains_key(f) {
                let v = self.feature_column(*f);
                self.cache.insert(*f, Arc::new(v));
            }
            out.push(self.cache.get(f).cloned());
        }
        out
    }

    /// Feature `f` in every row. The costly functions of one column (log2,
    /// cosh) are evaluated once per distinct code: the same numbers as per
    /// row, since equal codes restore equal magnitudes.
    fn feature_column(&self, f: Feature) -> Vec<f64> {
        let n = self.first.len();
        match f {
            Feature::Log(j) => self.memo_column(j, log2_abs),
            Feature::LogPrev(j) => {
                let l = self.memo_column(j, log2_abs);
                (0..n)
                    .map(|i| if self.first[i] { 0.0 } else { l[i - 1] })
                    .collect()
            }
            Feature::Energy(a, b, c) => {
                let ch = self.memo_column(b, |v| cosh_det(v.abs()));
                let (va, vc) = (&self.values[a], &self.values[c]);
                (0..n)
                    .map(|i| energy_with_cosh(va[i], ch[i], vc[i]))
                    .collect()
            }
            _ => (0..n).map(|i| self.feature(f, i)).collect(),
        }
    }

    /// `f(value)` of column `j` in every row, `f` even (f(v) = f(-v)),
    /// evaluated once per distinct code while the codes span a range of
    /// at most twice the block's rows, else per row.
    fn memo_column(&self, j: usize, f: impl Fn(f64) -> f64) -> Vec<f64> {
        let (vals, keys) = (&self.values[j], &self.keys[j]);
        let live = || keys.iter().copied().filter(|&k| k != NO_KEY);
        let (lo, hi) = (live().min(), live().max());
        let span = match (lo, hi) {
            (Some(lo), Some(hi)) => hi
                .checked_sub(lo)
                .filter(|&s| (s as u64) < 2 * vals.len() as u64),
            _ => None,
        };
        let Some(span) = span else {
            return vals.iter().map(|&v| f(v)).collect();
        };
        let lo = lo.expect("a live key");
        let mut memo = vec![f64::NAN; span as usize + 1];
        let mut done = vec![false; span as usize + 1];
        vals.iter()
            .zip(keys)
            .map(|(&v, &k)| {
                if k == NO_KEY {
                    return f(v);
                }
                let at = (k - lo) as usize;
                if !done[at] {
                    memo[at] = f(v);
                    done[at] = true;
                }
                memo[at]
            })
            .collect()
    }

    #[allow(clippy::needless_range_loop)]
    /// Walks column `c`: `side` settles each row.
    pub fn walk(
        &mut self,
        c: &CodedColumn,
        mut side: impl FnMut(Row) -> Result<Settled>,
    ) -> Result<()> {
        let n = self.first.len();
        self.values[c.index] = vec![f64::NAN; n];
        self.keys[c.index] = vec![NO_KEY; n];
        let mut bucket = vec![0u8; n];
        let pre = self.precomputed(c);
        for i in 0..n {
            // The predictor's own order: intercept, then each term.
            let mut vhat = c.predictor.intercept;
            for (t, &(f, w)) in c.predictor.terms.iter().enumerate() {
                let x = match &pre[t] {
                    Some(v) => v[i],
                    None => self.feature(f, i),
                };
                vhat += w * x;
            }
            let kind_ctx = c.kind_context(vhat, self.bucket[i] == 3);
            let pred_code = c.predict(vhat);
            let start = self.first[i] as usize * 4;
            let ctx_res = start + self.bucket[i] as usize;
            let ctx_pred = start + c.pred_edges.partition_point(|e| *e < pred_code).min(3);
            let ctx = match (c.contexts > 1, c.pred_edges.is_empty()) {
                (false, _) => 0,
                (true, true) => ctx_res,
                (true, false) => ctx_pred,
            };
            let row = Row {
                i,
                kind_ctx,
                pred_kind: [ZERO, POS, NEG][kind_ctx],
                pred_code,
                ctx,
                ctx_res,
                ctx_pred,
            };
            let Settled {
                value: v,
                res: r,
                code,
            } = side(row)?;
            self.values[c.index][i] = v;
            if let Some(k) = code.filter(|k| k.kind != ZERO) {
                self.keys[c.index][i] = k.code;
            }
            bucket[i] = match r.unsigned_abs() {
                _ if v == 0.0 => 3,
                0 => 0,
                1..=2 => 1,
                _ => 2,
            };
        }
        self.bucket = bucket;
        Ok(())
    }
}

/// Residual -> symbol (the last symbol of the alphabet marks an overflow).
pub fn symbol(z: u64, alphabet: u32) -> u32 {
    z.min(alphabet as u64 - 1) as u32
}
