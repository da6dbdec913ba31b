//! Decoding one coded column of one block.
//!
//! When a column's contexts do not depend on its own values (the usual
//! case), every symbol is decoded first in one tight loop, so the rANS
//! lanes overlap; when its prediction does not either, codes and values
//! then follow column-wide. Otherwise the walk settles row by row. Every
//! path computes predictions and contexts with the walk's own functions,
//! so the encoder's numbers come out.

use super::bits::{unzigzag, Reader};
use super::entropy::{Decoder, LookupModel, LANES};
use super::format::CodedColumn;
use super::grid::{Code, Grid, NEG, POS, ZERO};
use super::walk::{bucket_of, Block, CodeCache, Contexts, Prepared, Settled, NO_KEY};
use crate::{CompressError, Result};

/// What decoding one column of one block needs.
pub struct Column<'a> {
    /// The column.
    pub c: &'a CodedColumn,
    /// Its models: sign contexts first, residual contexts from `offset`.
    pub models: &'a [LookupModel],
    /// Where the residual models start.
    pub offset: usize,
    /// The block's rANS stream and overflow bytes of the column.
    pub stream: (&'a [u8], &'a [u8]),
    /// The block's escapes of the column: (table row, exact value).
    pub escapes: &'a [(usize, f64)],
    /// Table row of the block's first row.
    pub start: usize,
    /// The output cast.
    pub cast: fn(f64) -> f64,
    /// The column as errors name it.
    pub what: &'a str,
}

/// Decodes column `col.c` into `block`; returns its codes when it is an
/// integer column.
pub fn decode_column(block: &mut Block, col: &Column) -> Result<Option<Vec<i64>>> {
    let c = col.c;
    let mut dec = Decoder::new(col.stream.0, col.what)?;
    let mut ovf = Reader::new(col.stream.1, col.what);
    let p = block.prepare(c);
    let codes = match block.contexts(c, &p) {
        Some(Contexts { ctx, pred }) => {
            let (kinds, res) = symbols(col, &ctx, &mut dec, &mut ovf)?;
            match pred {
                Some(pred) => column_wide(block, col, &pred, &kinds, &res),
                None => by_row(block, col, p, |i, _| Ok((kinds[i], res[i])))?,
            }
        }
        None => by_row(block, col, p, |_, row| {
            next_symbol(col, row.kind_ctx, row.ctx, &mut dec, &mut ovf)
        })?,
    };
    if !dec.finished() {
        return Err(CompressError::Artifact(format!(
            "{}: corrupt stream (it does not end where it should)",
            col.what
        )));
    }
    Ok((c.grid == Grid::Int).then_some(codes))
}

/// The next row's sign and code residual from the stream (the residual
/// context `ctx` is ignored with one context).
#[inline]
fn next_symbol(
    col: &Column,
    kind_ctx: usize,
    ctx: usize,
    dec: &mut Decoder,
    ovf: &mut Reader,
) -> Result<(u8, i64)> {
    let c = col.c;
    let kind = if c.kinds {
        dec.symbol(&col.models[kind_ctx]) as u8
    } else {
        POS
    };
    if kind == ZERO {
        return Ok((ZERO, 0));
    }
    let ctx = if c.contexts > 1 { ctx } else { 0 };
    let s = dec.symbol(&col.models[col.offset + ctx]);
    Ok((kind, residual_of(c, s, ovf)?))
}

/// The code residual of residual symbol `s`: the alphabet's last symbol
/// takes the rest of the residual from the overflow bytes.
#[inline]
fn residual_of(c: &CodedColumn, s: u32, ovf: &mut Reader) -> Result<i64> {
    let mut z = s as u64;
    if s + 1 == c.alphabet {
        z = z.wrapping_add(ovf.varint()?);
    }
    Ok(unzigzag(z))
}

/// Every row's sign and residual, decoded ahead of the rows' values from
/// the contexts `ctx` (sign and residual context per row).
fn symbols(
    col: &Column,
    ctx: &[(u8, u8)],
    dec: &mut Decoder,
    ovf: &mut Reader,
) -> Result<(Vec<u8>, Vec<i64>)> {
    let n = ctx.len();
    let (mut kinds, mut res) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let c = col.c;
    let ctx_of = |r: u8| if c.contexts > 1 { r as usize } else { 0 };
    if !c.kinds {
        let model = |r: u8| &col.models[col.offset + ctx_of(r)];
        let mut quads = ctx.chunks_exact(LANES);
        for q in &mut quads {
            res.extend(dec.symbols4([model(q[0].1), model(q[1].1), model(q[2].1), model(q[3].1)]));
        }
        for &(_, r) in quads.remainder() {
            res.push(dec.symbol(model(r)));
        }
        kinds.resize(n, POS);
    } else {
        for &(k, r) in ctx {
            let kind = dec.symbol(&col.models[k as usize]) as u8;
            kinds.push(kind);
            res.push(if kind == ZERO {
                0
            } else {
                dec.symbol(&col.models[col.offset + ctx_of(r)])
            });
        }
    }
    let res = res
        .into_iter()
        .zip(&kinds)
        .map(|(s, &k)| {
            if k == ZERO {
                Ok(0)
            } else {
                residual_of(c, s, ovf)
            }
        })
        .collect::<Result<Vec<i64>>>()?;
    Ok((kinds, res))
}

/// Codes, values and buckets of a column predicted from other columns
/// only: each row stands alone.
fn column_wide(
    block: &mut Block,
    col: &Column,
    pred: &[i64],
    kinds: &[u8],
    res: &[i64],
) -> Vec<i64> {
    let c = col.c;
    let n = kinds.len();
    let mut mags = CodeCache::new();
    let mut codes = Vec::with_capacity(n);
    let mut values = Vec::with_capacity(n);
    let mut keys = Vec::with_capacity(n);
    let mut bucket = Vec::with_capacity(n);
    for i in 0..n {
        let kind = kinds[i];
        let code = if kind == ZERO {
            0
        } else {
            pred[i].wrapping_add(res[i])
        };
        let v = restored(col, Code { kind, code }, &mut mags);
        codes.push(code);
        values.push(v);
        keys.push(if kind == ZERO { NO_KEY } else { code });
        bucket.push(bucket_of(res[i], v));
    }
    for &(row, exact) in col.escapes {
        let i = row - col.start;
        values[i] = exact;
        keys[i] = NO_KEY;
        bucket[i] = bucket_of(res[i], exact);
    }
    block.set_column(c, values, keys, bucket);
    codes
}

/// The walk, each row's symbols from `next` (row number, the row's
/// contexts).
fn by_row(
    block: &mut Block,
    col: &Column,
    p: Prepared,
    mut next: impl FnMut(usize, &super::walk::Row) -> Result<(u8, i64)>,
) -> Result<Vec<i64>> {
    let c = col.c;
    let mut codes = Vec::with_capacity(p.head.len());
    let mut mags = CodeCache::new();
    let mut e = 0;
    block.walk_prepared(c, p, |row| {
        let (kind, res) = next(row.i, &row)?;
        let code = if kind == ZERO {
            0
        } else {
            row.pred_code.wrapping_add(res)
        };
        codes.push(code);
        let settled = Code { kind, code };
        if e < col.escapes.len() && col.escapes[e].0 == col.start + row.i {
            e += 1;
            return Ok(Settled {
                value: col.escapes[e - 1].1,
                res,
                code: None,
            });
        }
        Ok(Settled {
            value: restored(col, settled, &mut mags),
            res,
            code: Some(settled),
        })
    })?;
    Ok(codes)
}

/// The value of `code` as the encoder restored it; magnitudes on a
/// relative grid come from `mags` (the cast is odd, so the sign is apart).
#[inline]
fn restored(col: &Column, code: Code, mags: &mut CodeCache) -> f64 {
    let c = col.c;
    match c.grid {
        Grid::Int => code.code as f64,
        Grid::Rel { .. } if code.kind == ZERO => 0.0,
        Grid::Rel { .. } => {
            let m = mags.get(code.code, || {
                (col.cast)(c.grid.value(Code {
                    kind: POS,
                    code: code.code,
                }))
            });
            if code.kind == NEG {
                -m
            } else {
                m
            }
        }
        g => (col.cast)(g.value(code)),
    }
}
