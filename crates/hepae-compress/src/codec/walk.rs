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
pub const NO_KEY: i64 = i64::MIN;

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
            Feature::Same(j) => self.values[j].clone(),
            Feature::Abs(j) => self.values[j].iter().map(|v| v.abs()).collect(),
            Feature::Prev(j) => (0..n)
                .map(|i| {
                    if self.first[i] {
                        0.0
                    } else {
                        self.values[j][i - 1]
                    }
                })
                .collect(),
            Feature::First => self.first.iter().map(|&f| f as u8 as f64).collect(),
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

    /// The predictor of `c` split for the row loop: the terms before its
    /// first term on `c` itself summed over every row at once (the same
    /// additions in the same order as per row), the rest kept per row.
    pub fn prepare(&mut self, c: &CodedColumn) -> Prepared {
        let own =
            |f: &Feature| matches!(f, Feature::Prev(j) | Feature::LogPrev(j) if *j == c.index);
        let terms = &c.predictor.terms;
        let split = terms
            .iter()
            .position(|(f, _)| own(f))
            .unwrap_or(terms.len());
        let pre = self.precomputed(c);
        let mut head = vec![c.predictor.intercept; self.first.len()];
        for (t, &(_, w)) in terms[..split].iter().enumerate() {
            let x = pre[t]
                .as_ref()
                .expect("terms before the first own term are precomputed");
            head.iter_mut().zip(x.iter()).for_each(|(h, x)| *h += w * x);
        }
        let tail = terms[split..]
            .iter()
            .zip(&pre[split..])
            .map(|(&(f, w), x)| {
                let t = match (f, x) {
                    (_, Some(x)) => Tail::Column(x.clone()),
                    (Feature::Prev(_), None) => Tail::OwnPrev,
                    _ => Tail::OwnLogPrev,
                };
                (t, w)
            })
            .collect();
        Prepared { head, tail }
    }

    /// Per row, the sign and residual contexts of column `c`, when they do
    /// not depend on values of `c` itself (else `None`: the walk finds
    /// them row by row); with them the predicted codes, when the
    /// prediction does not either.
    pub fn contexts(&self, c: &CodedColumn, p: &Prepared) -> Option<Contexts> {
        let by_value = (c.kinds && !c.log_target) || (c.contexts > 1 && !c.pred_edges.is_empty());
        let n = p.head.len();
        let mut ctx = Vec::with_capacity(n);
        if p.tail.is_empty() {
            let mut pred = Vec::with_capacity(n);
            for i in 0..n {
                let r = c.row(i, p.head[i], self.first[i], self.bucket[i]);
                ctx.push((r.kind_ctx as u8, r.ctx as u8));
                pred.push(r.pred_code);
            }
            return Some(Contexts {
                ctx,
                pred: Some(pred),
            });
        }
        if by_value {
            return None;
        }
        // Neither context reads the prediction (a sign context from the
        // previous column alone, no predicted-code quartiles), so none is
        // computed: 0 stands in for both.
        for i in 0..n {
            let prev = self.bucket[i];
            let kind = c.kind_context(0.0, prev == 3) as u8;
            let (res, _, _) = c.residual_context(0, self.first[i], prev);
            ctx.push((kind, res as u8));
        }
        Some(Contexts { ctx, pred: None })
    }

    /// Stores column `c` settled outside a walk: its restored values, the
    /// codes they came from ([`NO_KEY`] for zeros and escapes) and each
    /// row's residual-size bucket ([`bucket_of`]).
    pub fn set_column(
        &mut self,
        c: &CodedColumn,
        values: Vec<f64>,
        keys: Vec<i64>,
        bucket: Vec<u8>,
    ) {
        self.values[c.index] = values;
        self.keys[c.index] = keys;
        self.bucket = bucket;
    }

    /// Walks column `c`: `side` settles each row.
    pub fn walk(
        &mut self,
        c: &CodedColumn,
        side: impl FnMut(Row) -> Result<Settled>,
    ) -> Result<()> {
        let p = self.prepare(c);
        self.walk_prepared(c, p, side)
    }

    /// [`Block::walk`] with the predictor already prepared.
    pub fn walk_prepared(
        &mut self,
        c: &CodedColumn,
        p: Prepared,
        mut side: impl FnMut(Row) -> Result<Settled>,
    ) -> Result<()> {
        let n = self.first.len();
        let Prepared { head, tail } = p;
        let wants_log = tail.iter().any(|t| matches!(t.0, Tail::OwnLogPrev));
        let mut values = vec![f64::NAN; n];
        let mut keys = vec![NO_KEY; n];
        let mut bucket = vec![0u8; n];
        let mut logs = CodeCache::new();
        let (mut prev_v, mut prev_log) = (0.0, 0.0);
        let (first, prev_bucket) = (&self.first[..], &self.bucket[..]);
        for i in 0..n {
            let start = first[i];
            if start {
                (prev_v, prev_log) = (0.0, 0.0);
            }
            let mut vhat = head[i];
            for (t, w) in &tail {
                let x = match t {
                    Tail::Column(x) => x[i],
                    Tail::OwnPrev => prev_v,
                    Tail::OwnLogPrev => prev_log,
                };
                vhat += w * x;
            }
            let row = c.row(i, vhat, start, prev_bucket[i]);
            let Settled {
                value: v,
                res: r,
                code,
            } = side(row)?;
            values[i] = v;
            let key = code.filter(|k| k.kind != ZERO).map_or(NO_KEY, |k| k.code);
            keys[i] = key;
            bucket[i] = bucket_of(r, v);
            prev_v = v;
            if wants_log {
                prev_log = if key == NO_KEY {
                    log2_abs(v)
                } else {
                    logs.get(key, || log2_abs(v))
                };
            }
        }
        self.values[c.index] = values;
        self.keys[c.index] = keys;
        self.bucket = bucket;
        Ok(())
    }
}

/// The residual-size context a row gives the next column: 3 for a zero
/// value, else 0, 1 or 2 for a residual of 0, 1-2 or more.
#[inline]
pub fn bucket_of(res: i64, value: f64) -> u8 {
    let a = res.unsigned_abs();
    if value == 0.0 {
        3
    } else {
        (a != 0) as u8 + (a > 2) as u8
    }
}

/// Per-row contexts of a column known before its values.
pub struct Contexts {
    /// Sign and residual context per row.
    pub ctx: Vec<(u8, u8)>,
    /// Predicted codes, when the prediction reads no value of the column.
    pub pred: Option<Vec<i64>>,
}

/// A column's predictor ready for its rows: the terms up to the first
/// one on the column itself, summed per row, and the rest.
pub struct Prepared {
    /// Intercept plus the leading terms, per row.
    pub head: Vec<f64>,
    tail: Vec<(Tail, f64)>,
}

/// A predictor term the row loop adds itself.
enum Tail {
    /// A feature computed for every row beforehand.
    Column(Arc<Vec<f64>>),
    /// The column's own value in the previous row of the event.
    OwnPrev,
    /// log2 of its own |value| there.
    OwnLogPrev,
}

impl CodedColumn {
    /// The contexts and predicted code of row `i` from its prediction
    /// `vhat` (both sides call this one function).
    #[inline]
    fn row(&self, i: usize, vhat: f64, first: bool, prev_bucket: u8) -> Row {
        let kind_ctx = self.kind_context(vhat, prev_bucket == 3);
        let pred_code = self.predict(vhat);
        let (ctx, ctx_res, ctx_pred) = self.residual_context(pred_code, first, prev_bucket);
        Row {
            i,
            kind_ctx,
            pred_kind: [ZERO, POS, NEG][kind_ctx],
            pred_code,
            ctx,
            ctx_res,
            ctx_pred,
        }
    }
}

impl CodedColumn {
    /// The residual context of a row with predicted code `pred_code`, and
    /// both candidates it is chosen from: (context, residual-size context,
    /// predicted-code quartile context).
    #[inline]
    fn residual_context(
        &self,
        pred_code: i64,
        first: bool,
        prev_bucket: u8,
    ) -> (usize, usize, usize) {
        let start = first as usize * 4;
        let ctx_res = start + prev_bucket as usize;
        let ctx_pred = start
            + self
                .pred_edges
                .iter()
                .filter(|e| **e < pred_code)
                .count()
                .min(3);
        let ctx = match (self.contexts > 1, self.pred_edges.is_empty()) {
            (false, _) => 0,
            (true, true) => ctx_res,
            (true, false) => ctx_pred,
        };
        (ctx, ctx_res, ctx_pred)
    }
}

/// A direct-mapped memo of one number per code: consecutive codes never
/// collide, so a column's few thousand live codes are each computed once.
/// Its slots are allocated on first use: a column that never asks pays
/// nothing.
pub struct CodeCache {
    tags: Vec<i64>,
    vals: Vec<f64>,
}

impl CodeCache {
    const SLOTS: usize = 4096;

    /// An empty cache.
    pub fn new() -> CodeCache {
        CodeCache {
            tags: Vec::new(),
            vals: Vec::new(),
        }
    }

    /// The number of `code`, from `f` the first time (`code` is not [`NO_KEY`]).
    #[inline]
    pub fn get(&mut self, code: i64, f: impl FnOnce() -> f64) -> f64 {
        if self.tags.is_empty() {
            self.tags = vec![NO_KEY; Self::SLOTS];
            self.vals = vec![0.0; Self::SLOTS];
        }
        let s = code as usize & (Self::SLOTS - 1);
        if self.tags[s] != code {
            self.tags[s] = code;
            self.vals[s] = f();
        }
        self.vals[s]
    }
}

impl Default for CodeCache {
    fn default() -> Self {
        Self::new()
    }
}

/// Residual -> symbol (the last symbol of the alphabet marks an overflow).
pub fn symbol(z: u64, alphabet: u32) -> u32 {
    z.min(alphabet as u64 - 1) as u32
}
