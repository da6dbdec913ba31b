//! `decompress` of a structure-coded artifact: tables, labels and escapes
//! first, then every block in parallel, each column in coding order, and
//! the restored table's checksum before anything is returned.

use super::bits::{unzstd, Reader};
use super::column::{decode_column, Column};
use super::encode::{block_digest, table_digest};
use super::entropy::{bucket_bits, LookupModel, Table};
use super::format::{Store, StructManifest, PASSTHROUGH, STREAMS};
use super::labels::{event_starts, read_runs};
use super::source::cast_of;
use super::walk::Block;
use crate::{CompressError, Result};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{Field, Schema};
use rayon::prelude::*;
use std::path::Path;
use std::sync::Arc;

/// One decoded block, per column in its output type (float32, float64,
/// exact integers; other columns empty), and the block's digest.
type Decoded = (Vec<Vec<f32>>, Vec<Vec<f64>>, Vec<Vec<i64>>, [u8; 16]);

/// Per coded column: its models and where the residual models start.
struct Models {
    models: Vec<LookupModel>,
    offset: usize,
}

fn section<'a>(m: &StructManifest, bytes: &'a [u8], name: &str) -> Result<&'a [u8]> {
    let s = m.sections.get(name).ok_or_else(|| {
        CompressError::Artifact(format!("{STREAMS}: manifest lists no '{name}' section"))
    })?;
    let end = s
        .offset
        .checked_add(s.bytes)
        .filter(|&e| e <= bytes.len() as u64);
    end.map(|e| &bytes[s.offset as usize..e as usize])
        .ok_or_else(|| {
            CompressError::Artifact(format!("{STREAMS}: section '{name}' lies outside the file"))
        })
}

fn read_models(m: &StructManifest, bytes: &[u8]) -> Result<Vec<Models>> {
    let rows = (m.rows as usize).min(m.block_rows as usize);
    let t = unzstd(section(m, bytes, "tables")?, 1 << 28, "tables")?;
    let mut r = Reader::new(&t, "tables");
    m.coded
        .iter()
        .map(|c| {
            let mut models = Vec::new();
            if c.kinds {
                let k = Table::read(&mut r)?;
                if k.probs.len() != 3 || k.probs[0].len() != 3 {
                    return Err(CompressError::Artifact(
                        "tables: sign table is not 3 x 3".into(),
                    ));
                }
                models.extend(k.lookup_models(bucket_bits(3, rows)));
            }
            let offset = models.len();
            let t = Table::read(&mut r)?;
            if t.probs.len() != c.contexts as usize || t.probs[0].len() != c.alphabet as usize {
                return Err(CompressError::Artifact(format!(
                    "tables: column {} has {} x {} residual probabilities, manifest says {} x {}",
                    c.index,
                    t.probs.len(),
                    t.probs[0].len(),
                    c.contexts,
                    c.alphabet
                )));
            }
            models.extend(t.lookup_models(bucket_bits(c.alphabet as usize, rows)));
            Ok(Models { models, offset })
        })
        .collect()
}

/// Per coded column, (row, exact value) sorted by row.
fn read_escapes(m: &StructManifest, bytes: &[u8]) -> Result<Vec<Vec<(usize, f64)>>> {
    let e = unzstd(section(m, bytes, "escapes")?, 1 << 32, "escapes")?;
    let mut r = Reader::new(&e, "escapes");
    let mut out = Vec::new();
    for _ in &m.coded {
        let n = r.varint()? as usize;
        let mut row = 0u64;
        let mut v = Vec::with_capacity(n.min(1 << 20));
        for _ in 0..n {
            row = row.saturating_add(r.varint()?);
            let b = r.take(8)?;
            if row >= m.rows {
                return Err(CompressError::Artifact(
                    "escapes: a row beyond the table".into(),
                ));
            }
            v.push((
                row as usize,
                f64::from_le_bytes(b.try_into().expect("8 bytes")),
            ));
        }
        out.push(v);
    }
    Ok(out)
}

/// The restored table of an artifact (manifest and files already checked).
pub fn restore_struct(dir: &Path, m: &StructManifest) -> Result<RecordBatch> {
    let path = dir.join(STREAMS);
    let bytes = std::fs::read(&path).map_err(|e| CompressError::io(&path, e))?;
    let rows = m.rows as usize;
    let per = m.block_rows as usize;
    if !(1..=1 << 20).contains(&per) {
        return Err(CompressError::Artifact(format!(
            "{STREAMS}: blocks of {} rows",
            m.block_rows
        )));
    }
    let models = read_models(m, &bytes)?;
    let escapes = read_escapes(m, &bytes)?;
    let l = unzstd(section(m, &bytes, "labels")?, rows * 24 + 64, "labels")?;
    let mut lr = Reader::new(&l, "labels");
    let label_idx: Vec<usize> = (0..m.columns.len())
        .filter(|&i| m.columns[i].store == Store::Label)
        .collect();
    let labels: Vec<Vec<i64>> = label_idx
        .iter()
        .map(|_| read_runs(&mut lr, rows))
        .collect::<Result<_>>()?;
    let first = event_starts(&labels, rows, per);
    let index = unzstd(section(m, &bytes, "index")?, 1 << 30, "index")?;
    let body = section(m, &bytes, "blocks")?;
    let nblocks = rows.div_ceil(per);
    let mut ir = Reader::new(&index, "index");
    let mut spans = Vec::with_capacity(nblocks);
    let mut at = 0usize;
    for _ in 0..nblocks {
        let mut cols = Vec::with_capacity(m.coded.len());
        for _ in &m.coded {
            let (s, o) = (ir.varint()? as usize, ir.varint()? as usize);
            let end = at
                .checked_add(s)
                .and_then(|x| x.checked_add(o))
                .filter(|&e| e <= body.len());
            let end = end.ok_or_else(|| {
                CompressError::Artifact(format!("{STREAMS}: block index points outside"))
            })?;
            cols.push((&body[at..at + s], &body[at + s..end]));
            at = end;
        }
        spans.push(cols);
    }
    let decoded: Vec<Decoded> = spans
        .par_iter()
        .enumerate()
        .map(|(b, cols)| {
            let r = b * per..((b + 1) * per).min(rows);
            decode_block(m, &models, &escapes, &labels, &label_idx, &first, r, cols)
        })
        .collect::<Result<_>>()?;
    let mut all = Vec::new();
    for d in &decoded {
        all.extend_from_slice(&d.3);
    }
    let sha = table_digest(&all);
    if sha != m.table_xxh3 {
        return Err(CompressError::Artifact(format!(
            "{}: the restored table's checksum {sha} differs from the manifest's {} (corrupt streams)",
            dir.display(),
            m.table_xxh3
        )));
    }
    assemble(dir, m, decoded, &labels, &label_idx)
}

#[allow(clippy::too_many_arguments)]
fn decode_block(
    m: &StructManifest,
    models: &[Models],
    escapes: &[Vec<(usize, f64)>],
    labels: &[Vec<i64>],
    label_idx: &[usize],
    first: &[bool],
    r: std::ops::Range<usize>,
    cols: &[(&[u8], &[u8])],
) -> Result<Decoded> {
    let start = r.start;
    let mut block = Block::new(first[r.clone()].to_vec(), m.columns.len());
    let mut ints = vec![Vec::new(); m.columns.len()];
    for (k, c) in m.coded.iter().enumerate() {
        let what = format!("{STREAMS}: column '{}'", m.columns[c.index].name);
        let esc = &escapes[k];
        let from = esc.partition_point(|x| x.0 < start);
        let to = esc.partition_point(|x| x.0 < r.end);
        let input = Column {
            c,
            models: &models[k].models,
            offset: models[k].offset,
            stream: cols[k],
            escapes: &esc[from..to],
            start,
            cast: cast_of(&m.columns[c.index].dtype),
            what: &what,
        };
        if let Some(codes) = decode_column(&mut block, &input)? {
            ints[c.index] = codes;
        }
    }
    for (li, &i) in label_idx.iter().enumerate() {
        block.values[i] = labels[li][r.clone()].iter().map(|&v| v as f64).collect();
    }
    // Only the output types are kept: half the memory of f64 for float32.
    let mut f32s = vec![Vec::new(); m.columns.len()];
    let mut f64s = vec![Vec::new(); m.columns.len()];
    for c in &m.coded {
        if m.columns[c.index].dtype == "float32" {
            f32s[c.index] = block.values[c.index].iter().map(|&x| x as f32).collect();
        }
    }
    let digest = block_digest(&m.columns, &block.values, &f32s);
    for c in &m.coded {
        if m.columns[c.index].dtype == "float64" {
            f64s[c.index] = std::mem::take(&mut block.values[c.index]);
        }
    }
    Ok((f32s, f64s, ints, digest))
}

/// Builds the output table in the original column order and dtypes,
/// the columns in parallel.
fn assemble(
    dir: &Path,
    m: &StructManifest,
    decoded: Vec<Decoded>,
    labels: &[Vec<i64>],
    label_idx: &[usize],
) -> Result<RecordBatch> {
    let passthrough = if m.files.contains_key(PASSTHROUGH) {
        Some(hepae_table::read_parquet(&dir.join(PASSTHROUGH))?)
    } else {
        None
    };
    let arrays = (0..m.columns.len())
        .into_par_iter()
        .map(|i| column(dir, m, i, &decoded, passthrough.as_ref(), labels, label_idx))
        .collect::<Result<Vec<ArrayRef>>>()?;
    let fields: Vec<Field> = m
        .columns
        .iter()
        .zip(&arrays)
        .map(|(c, a)| Field::new(c.name.clone(), a.data_type().clone(), a.null_count() > 0))
        .collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
        .map_err(|e| CompressError::arrow("restored table", e))
}

/// Table column `i` from the decoded blocks, the labels or the
/// passthrough table.
fn column(
    dir: &Path,
    m: &StructManifest,
    i: usize,
    decoded: &[Decoded],
    passthrough: Option<&RecordBatch>,
    labels: &[Vec<i64>],
    label_idx: &[usize],
) -> Result<ArrayRef> {
    let c = &m.columns[i];
    let bad = |what: &str| {
        CompressError::Artifact(format!("{}: column '{}': {what}", dir.display(), c.name))
    };
    let rows = m.rows as usize;
    Ok(match c.store {
        Store::Passthrough => {
            let p = passthrough.ok_or_else(|| bad("passthrough.parquet missing"))?;
            let a = p
                .column_by_name(&c.name)
                .ok_or_else(|| bad("not in passthrough.parquet"))?
                .clone();
            if a.len() != rows {
                return Err(bad("passthrough rows differ"));
            }
            a
        }
        Store::Label => {
            let li = label_idx.iter().position(|&x| x == i).expect("label");
            array_from_i64(&c.dtype, &labels[li]).ok_or_else(|| bad("unsupported dtype"))?
        }
        Store::Coded if c.dtype == "float32" => {
            let mut v = Vec::with_capacity(rows);
            decoded.iter().for_each(|d| v.extend_from_slice(&d.0[i]));
            Arc::new(arrow_array::Float32Array::from(v))
        }
        Store::Coded if is_float(&c.dtype) => {
            let mut v = Vec::with_capacity(rows);
            decoded.iter().for_each(|d| v.extend_from_slice(&d.1[i]));
            Arc::new(arrow_array::Float64Array::from(v))
        }
        Store::Coded => {
            let mut v = Vec::with_capacity(rows);
            decoded.iter().for_each(|d| v.extend_from_slice(&d.2[i]));
            array_from_i64(&c.dtype, &v).ok_or_else(|| bad("unsupported dtype"))?
        }
    })
}

fn is_float(dtype: &str) -> bool {
    matches!(dtype, "float32" | "float64")
}

/// An integer column of `dtype` from exact values: 64-bit ones directly,
/// narrower ones (exact in f64) through the shared builder.
fn array_from_i64(dtype: &str, v: &[i64]) -> Option<ArrayRef> {
    Some(match dtype {
        "int64" => Arc::new(arrow_array::Int64Array::from(v.to_vec())),
        "uint64" => Arc::new(arrow_array::UInt64Array::from_iter_values(
            v.iter().map(|x| *x as u64),
        )),
        _ => crate::array_from_f64(dtype, &v.iter().map(|x| *x as f64).collect::<Vec<_>>())?,
    })
}
