//! `compress` with the structure codec: plan on a sample, count every
//! block's symbols, choose contexts and tables, then code the blocks in
//! parallel and write the artifact.

use super::bits::{put_varint, zigzag, zstd};
use super::entropy::{EncModel, Encoder, Table};
use super::format::{CodedColumn, ColumnInfo, Section, Store};
use super::grid::{POS, ZERO};
use super::labels::{event_starts, write_runs};
use super::plan::{plan, residual_symbol, restore_row};
use super::source::Raw;
use super::walk::{Block, Row, Settled};
use crate::{CompressError, CompressOptions, Result};
use arrow_array::RecordBatch;
use rayon::prelude::*;
use std::ops::Range;

/// Rows per independently coded block of a table of `rows` rows: 65,536,
/// or for smaller tables a power of two (at least 4,096) that makes about
/// four blocks, so that they too decode in parallel.
pub fn block_rows(rows: usize) -> usize {
    (rows / 4).next_power_of_two().clamp(1 << 12, 1 << 16)
}

/// What a walk does with each symbol.
pub(crate) enum Sink {
    /// Counts, per kind context x kind and per residual context x symbol.
    Count {
        kind: Vec<Vec<u64>>,
        code: Vec<Vec<u64>>,
        code_pred: Vec<Vec<u64>>,
    },
    /// Queues symbols for the stream; overflow residuals as varints.
    Code {
        enc: Encoder,
        overflow: Vec<u8>,
        offset: usize,
        contexts: u8,
    },
}

impl Sink {
    fn count(c: &CodedColumn) -> Sink {
        Sink::Count {
            kind: vec![vec![0; 3]; 3],
            code: vec![vec![0; c.alphabet as usize]; 8],
            code_pred: vec![vec![0; c.alphabet as usize]; 8],
        }
    }

    fn kind(&mut self, ctx: usize, kind: u8) {
        match self {
            Sink::Count { kind: k, .. } => k[ctx][kind as usize] += 1,
            Sink::Code { enc, .. } => enc.push(ctx, kind as u32),
        }
    }

    fn residual(&mut self, c: &CodedColumn, row: &Row, r: i64) {
        let z = zigzag(r);
        let s = residual_symbol(c, z);
        let ctx = row.ctx;
        match self {
            Sink::Count {
                code, code_pred, ..
            } => {
                code[row.ctx_res][s as usize] += 1;
                code_pred[row.ctx_pred][s as usize] += 1;
            }
            Sink::Code {
                enc,
                overflow,
                offset,
                contexts,
            } => {
                let ctx = if *contexts > 1 { ctx } else { 0 };
                enc.push(*offset + ctx, s);
                if s + 1 == c.alphabet {
                    put_varint(overflow, z - s as u64);
                }
            }
        }
    }
}

/// One column of one block after a walk.
pub(crate) struct Walked {
    sink: Sink,
    escapes: Vec<(u64, f64)>,
    max_abs_error: f64,
}

/// Walks every coded column of block `rows` with the encoder's side.
fn walk_block(
    coded: &[CodedColumn],
    raws: &[Option<Raw>],
    first: &[bool],
    rows: Range<usize>,
    ncols: usize,
    mut sink: impl FnMut(&CodedColumn) -> Sink,
) -> Result<(Block, Vec<Walked>)> {
    let start = rows.start;
    let mut block = Block::new(first[rows].to_vec(), ncols);
    let mut out = Vec::with_capacity(coded.len());
    for c in coded {
        let raw = raws[c.index].as_ref().expect("coded columns are numeric");
        let mut w = Walked {
            sink: sink(c),
            escapes: Vec::new(),
            max_abs_error: 0.0,
        };
        block.walk(c, |row| {
            let gi = start + row.i;
            let (code, value) = restore_row(raw, c, gi);
            let settled = code;
            let (kind, q) = match code {
                Some(k) => {
                    w.max_abs_error = w.max_abs_error.max((value - raw.f64(gi)).abs());
                    (k.kind, k.code)
                }
                None => {
                    w.escapes.push((gi as u64, value));
                    (if c.kinds { row.pred_kind } else { POS }, row.pred_code)
                }
            };
            if c.kinds {
                w.sink.kind(row.kind_ctx, kind);
            }
            let r = if kind == ZERO {
                0
            } else {
                q.wrapping_sub(row.pred_code)
            };
            if kind != ZERO {
                w.sink.residual(c, &row, r);
            }
            Ok(Settled {
                value,
                res: r,
                code: settled,
            })
        })?;
        out.push(w);
    }
    Ok((block, out))
}

/// The digest of a restored block: XXH3-128 of every coded and label
/// column in table order, as its output values' little-endian bytes.
/// Float32 columns already cast may be passed in `f32_out` (empty
/// vectors are cast here).
pub(crate) fn block_digest(
    columns: &[ColumnInfo],
    values: &[Vec<f64>],
    f32_out: &[Vec<f32>],
) -> [u8; 16] {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    // Bytes go through a small buffer: per-value updates cost more than
    // the hashing.
    let mut buf = [0u8; 4096];
    let mut feed =
        |h: &mut xxhash_rust::xxh3::Xxh3, words: &mut dyn Iterator<Item = [u8; 8]>, w: usize| {
            let mut n = 0;
            for b in words {
                buf[n..n + w].copy_from_slice(&b[..w]);
                n += w;
                if n + 8 > buf.len() {
                    h.update(&buf[..n]);
                    n = 0;
                }
            }
            h.update(&buf[..n]);
        };
    for (i, c) in columns.iter().enumerate() {
        let f32s = |v: f32| {
            let b = v.to_le_bytes();
            [b[0], b[1], b[2], b[3], 0, 0, 0, 0]
        };
        match (c.store, c.dtype.as_str()) {
            (Store::Passthrough, _) => {}
            (_, "float32") if f32_out.get(i).is_some_and(|v| !v.is_empty()) => {
                feed(&mut h, &mut f32_out[i].iter().map(|&v| f32s(v)), 4)
            }
            (_, "float32") => feed(&mut h, &mut values[i].iter().map(|&v| f32s(v as f32)), 4),
            (_, "float64") => feed(&mut h, &mut values[i].iter().map(|v| v.to_le_bytes()), 8),
            _ => feed(
                &mut h,
                &mut values[i].iter().map(|&v| (v as i64).to_le_bytes()),
                8,
            ),
        }
    }
    h.digest128().to_le_bytes()
}

/// The table's checksum: XXH3-128 of its blocks' digests in order, as hex.
pub(crate) fn table_digest(blocks: &[u8]) -> String {
    format!("{:032x}", xxhash_rust::xxh3::xxh3_128(blocks))
}

/// Chooses 1 or 8 residual contexts by total cost (symbols + table bytes)
/// and whether signs are coded; returns the column's tables.
fn choose_tables(
    c: &mut CodedColumn,
    kind: &[Vec<u64>],
    code: &[Vec<u64>],
    code_pred: &[Vec<u64>],
) -> (Option<Table>, Table) {
    let one: Vec<u64> = (0..code[0].len())
        .map(|s| code.iter().map(|c| c[s]).sum())
        .collect();
    let t1 = Table::from_counts(std::slice::from_ref(&one));
    let t8 = Table::from_counts(code);
    let size = |t: &Table| {
        let mut b = Vec::new();
        t.write(&mut b);
        // An estimate to choose by (level 19 writes the chosen one): large
        // alphabets made the estimates cost more than the coding.
        zstd(&b, 3).len() as f64 * 8.0
    };
    let c1 = t1.cost_bits(std::slice::from_ref(&one)) + size(&t1);
    let c8 = t8.cost_bits(code) + size(&t8);
    let tp = Table::from_counts(code_pred);
    let cp = if c.pred_edges.is_empty() {
        f64::INFINITY
    } else {
        tp.cost_bits(code_pred) + size(&tp)
    };
    let table = if cp < c8.min(c1) {
        c.contexts = 8;
        tp
    } else if c8 < c1 {
        c.contexts = 8;
        c.pred_edges.clear();
        t8
    } else {
        c.contexts = 1;
        c.pred_edges.clear();
        t1
    };
    c.kinds = kind.iter().any(|k| k[ZERO as usize] + k[2] > 0);
    (c.kinds.then(|| Table::from_counts(kind)), table)
}

/// The artifact's parts, ready to write.
pub(crate) struct Coded {
    pub coded: Vec<CodedColumn>,
    pub streams: Vec<u8>,
    pub sections: std::collections::BTreeMap<String, Section>,
    pub table_xxh3: String,
    /// Rows per block ([`block_rows`]).
    pub block_rows: usize,
}

/// Codes every coded and label column of `batch`.
pub(crate) fn encode(
    batch: &RecordBatch,
    opts: &CompressOptions,
    data: &std::path::Path,
) -> Result<(Vec<ColumnInfo>, Coded)> {
    let raws: Vec<Option<Raw>> = batch.columns().iter().map(Raw::of).collect();
    let p = plan(batch, &raws, opts, data)?;
    let (columns, mut coded) = (p.columns, p.coded);
    let rows = batch.num_rows();
    let ncols = columns.len();
    let label_idx: Vec<usize> = (0..ncols)
        .filter(|&i| columns[i].store == Store::Label)
        .collect();
    let labels: Vec<Vec<i64>> = label_idx
        .iter()
        .map(|&i| {
            let r = raws[i].as_ref().expect("labels are integers");
            (0..rows).map(|k| r.i64(k)).collect()
        })
        .collect();
    let per = block_rows(rows);
    let first = event_starts(&labels, rows, per);
    let blocks: Vec<Range<usize>> = (0..rows.div_ceil(per))
        .map(|b| b * per..((b + 1) * per).min(rows))
        .collect();
    // Pass 1: counts. Signs may be coded only where the full table has them.
    let mut probe = coded.clone();
    probe.iter_mut().for_each(|c| {
        c.kinds = matches!(c.grid, super::grid::Grid::Rel { .. });
        c.contexts = 8;
    });
    let counted: Vec<Vec<Walked>> = blocks
        .par_iter()
        .map(|r| walk_block(&probe, &raws, &first, r.clone(), ncols, Sink::count).map(|x| x.1))
        .collect::<Result<_>>()?;
    let mut tables = Vec::new();
    for (k, c) in coded.iter_mut().enumerate() {
        let mut kind = vec![vec![0u64; 3]; 3];
        let mut code = vec![vec![0u64; c.alphabet as usize]; 8];
        let mut code_pred = code.clone();
        for b in &counted {
            if let Sink::Count {
                kind: bk,
                code: bc,
                code_pred: bp,
            } = &b[k].sink
            {
                add(&mut kind, bk);
                add(&mut code, bc);
                add(&mut code_pred, bp);
            }
        }
        tables.push(choose_tables(c, &kind, &code, &code_pred));
    }
    drop(counted);
    let models: Vec<(Vec<EncModel>, usize)> = tables
        .iter()
        .map(|(k, t)| {
            let mut m = k.as_ref().map_or(Vec::new(), |k| k.models());
            let offset = m.len();
            m.extend(t.models());
            (m, offset)
        })
        .collect();
    // Pass 2: streams.
    let coded_ref = &coded;
    let walked: Vec<WalkedBlock> = blocks
        .par_iter()
        .map(|r| {
            let mut col = 0;
            let (mut block, ws) = walk_block(coded_ref, &raws, &first, r.clone(), ncols, |c| {
                let s = Sink::Code {
                    enc: Encoder::default(),
                    overflow: Vec::new(),
                    offset: models[col].1,
                    contexts: c.contexts,
                };
                col += 1;
                s
            })?;
            for (li, &i) in label_idx.iter().enumerate() {
                block.values[i] = labels[li][r.clone()].iter().map(|&v| v as f64).collect();
            }
            let digest = block_digest(&columns, &block.values, &[]);
            let mut streams = Vec::new();
            let mut escapes = Vec::new();
            let mut errs = Vec::new();
            for (k, w) in ws.into_iter().enumerate() {
                if let Sink::Code { enc, overflow, .. } = w.sink {
                    streams.push((enc.finish(&models[k].0), overflow));
                }
                escapes.push(w.escapes);
                errs.push(w.max_abs_error);
            }
            Ok((streams, escapes, errs, digest))
        })
        .collect::<Result<_>>()?;
    let parts = assemble(&mut coded, &tables, &labels, &walked, (rows, per))?;
    Ok((columns, parts))
}

fn add(into: &mut [Vec<u64>], from: &[Vec<u64>]) {
    for (a, b) in into.iter_mut().zip(from) {
        for (x, y) in a.iter_mut().zip(b) {
            *x += y;
        }
    }
}

type WalkedBlock = (
    Vec<(Vec<u8>, Vec<u8>)>,
    Vec<Vec<(u64, f64)>>,
    Vec<f64>,
    [u8; 16],
);

/// Lays out `streams.bin`: tables, labels, escapes, block index, blocks;
/// fills each column's statistics.
fn assemble(
    coded: &mut [CodedColumn],
    tables: &[(Option<Table>, Table)],
    labels: &[Vec<i64>],
    walked: &[WalkedBlock],
    (rows, block_rows): (usize, usize),
) -> Result<Coded> {
    let mut sections = std::collections::BTreeMap::new();
    let mut streams = Vec::new();
    let mut put = |name: &str, bytes: Vec<u8>, streams: &mut Vec<u8>| {
        sections.insert(
            name.to_string(),
            Section {
                offset: streams.len() as u64,
                bytes: bytes.len() as u64,
            },
        );
        streams.extend(bytes);
    };
    let mut t = Vec::new();
    for (k, tab) in tables {
        if let Some(k) = k {
            k.write(&mut t);
        }
        tab.write(&mut t);
    }
    put("tables", zstd(&t, 19), &mut streams);
    let mut l = Vec::new();
    for v in labels {
        write_runs(v, &mut l);
    }
    put("labels", zstd(&l, 19), &mut streams);
    let mut e = Vec::new();
    let mut index = Vec::new();
    let mut body = Vec::new();
    for (k, c) in coded.iter_mut().enumerate() {
        let esc: Vec<&(u64, f64)> = walked.iter().flat_map(|b| b.1[k].iter()).collect();
        put_varint(&mut e, esc.len() as u64);
        let mut prev = 0;
        for &&(row, v) in &esc {
            put_varint(&mut e, row - prev);
            e.extend(v.to_le_bytes());
            prev = row;
        }
        c.escapes = esc.len() as u64;
        c.max_abs_error = walked.iter().map(|b| b.2[k]).fold(0.0, f64::max);
        let bytes: usize = walked.iter().map(|b| b.0[k].0.len() + b.0[k].1.len()).sum();
        c.bits_per_row = (bytes as f64 * 8.0 + esc.len() as f64 * 80.0) / rows.max(1) as f64;
    }
    for b in walked {
        for (s, o) in &b.0 {
            put_varint(&mut index, s.len() as u64);
            put_varint(&mut index, o.len() as u64);
            body.extend_from_slice(s);
            body.extend_from_slice(o);
        }
    }
    put("escapes", zstd(&e, 19), &mut streams);
    put("index", zstd(&index, 19), &mut streams);
    put("blocks", body, &mut streams);
    let mut all = Vec::new();
    for b in walked {
        all.extend_from_slice(&b.3);
    }
    if coded.iter().any(|c| c.alphabet < 2) {
        return Err(CompressError::Artifact("internal: empty alphabet".into()));
    }
    Ok(Coded {
        coded: coded.to_vec(),
        streams,
        sections,
        table_xxh3: table_digest(&all),
        block_rows,
    })
}
