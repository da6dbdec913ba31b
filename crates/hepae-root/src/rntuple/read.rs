//! Reading one branch of an RNTuple: its pages located cluster by cluster,
//! checked, decompressed and decoded in parallel, then assembled with the
//! per-entry offsets of its collection.

use super::meta::{Descriptor, PageDesc};
use super::page::{zeros, Encoding};
use super::view::FieldPlan;
use crate::compress;
use crate::cursor::{derr, DResult};
use crate::file::RootFile;
use crate::read::Column;
use crate::types::{DType, Values};
use rayon::prelude::*;

/// One page to decode: where, how many elements, which encoding.
struct Job {
    page: PageDesc,
    enc: Encoding,
}

/// Per cluster: leading zero elements (deferred columns), then pages.
struct Part {
    zeros: u64,
    pages: std::ops::Range<usize>,
}

/// Reads a branch: the collection's offsets first, then its values.
pub(crate) fn read(
    file: &RootFile,
    d: &Descriptor,
    plan: &FieldPlan,
    parallel: bool,
) -> DResult<Column> {
    let entries: Vec<u64> = d.clusters.iter().map(|c| c.entries).collect();
    let (offsets, items) = match &plan.collection {
        Some(reps) => {
            let index = read_column(file, d, reps, &entries, DType::U64, parallel)?;
            let Values::U64(index) = index else {
                unreachable!("read as u64")
            };
            let (o, items) = global_offsets(&index, &entries)?;
            (Some(o), items)
        }
        None => (None, entries.clone()),
    };
    if plan.cardinality {
        let o = offsets.expect("a cardinality has a collection");
        let counts = o.windows(2).map(|w| w[1] - w[0]);
        let values = match plan.dtype {
            DType::U64 => Values::U64(counts.collect()),
            _ => Values::U32(counts.map(|c| c as u32).collect()),
        };
        return Ok(Column {
            values,
            offsets: None,
        });
    }
    let expected: Vec<u64> = items.iter().map(|&n| n * plan.repeat).collect();
    let values = read_column(file, d, &plan.values, &expected, plan.dtype, parallel)?;
    let offsets = match (offsets, plan.repeat) {
        (Some(o), _) => Some(o),
        (None, 1) => None,
        (None, r) => Some((0..=d.entries).map(|e| e * r).collect()),
    };
    Ok(Column { values, offsets })
}

/// Cluster-relative end offsets into global ones (entries + 1, from 0), and
/// the number of items in each cluster.
fn global_offsets(index: &[u64], entries: &[u64]) -> DResult<(Vec<u64>, Vec<u64>)> {
    let mut out = Vec::with_capacity(index.len() + 1);
    out.push(0u64);
    let mut items = Vec::with_capacity(entries.len());
    let mut at = 0usize;
    for &n in entries {
        let base = *out.last().expect("starts with 0");
        let mut prev = 0;
        for &v in &index[at..at + n as usize] {
            if v < prev {
                return derr(format!("collection offsets decrease ({prev} then {v})"));
            }
            prev = v;
            out.push(base + v);
        }
        items.push(prev);
        at += n as usize;
    }
    Ok((out, items))
}

/// The elements of one column (any of its representations) over all
/// clusters, `expected[c]` in cluster `c`, as `dtype`.
fn read_column(
    file: &RootFile,
    d: &Descriptor,
    reps: &[usize],
    expected: &[u64],
    dtype: DType,
    parallel: bool,
) -> DResult<Values> {
    let mut jobs: Vec<Job> = Vec::new();
    let mut parts: Vec<Part> = Vec::with_capacity(d.clusters.len());
    // Elements before this index are zeros without pages (a deferred column).
    let deferred = d.columns[reps[0]].first_element.max(0) as u64;
    let mut start = 0u64;
    for (ci, cl) in d.clusters.iter().enumerate() {
        // The representation active in this cluster; none listed: a column
        // added later, all zeros here.
        let active = reps
            .iter()
            .filter_map(|&r| cl.columns.get(r).map(|range| (r, range)))
            .find(|(_, range)| !range.suppressed);
        let first_job = jobs.len();
        let mut have = 0u64;
        // Where the active representation's pages start (its element offset).
        let mut first = None;
        if let Some((r, range)) = active {
            let enc = d.columns[r].encoding();
            for p in &range.pages {
                have += p.elements;
                jobs.push(Job { page: *p, enc });
            }
            first = (have > 0).then_some((r, range.first));
        } else if reps.iter().any(|&r| cl.columns.get(r).is_some()) {
            return derr(format!(
                "cluster {ci}: every representation of column {} is suppressed",
                reps[0]
            ));
        }
        let zeros = expected[ci]
            .checked_sub(have)
            .filter(|&z| start + z <= deferred.max(start));
        let Some(zeros) = zeros else {
            return derr(format!(
                "cluster {ci}: column {} has {have} elements, its field needs {}",
                reps[0], expected[ci]
            ));
        };
        if let Some((r, at)) = first.filter(|&(_, at)| at != start + zeros) {
            return derr(format!(
                "cluster {ci}: column {r} starts at element {at}, its field at {}",
                start + zeros
            ));
        }
        parts.push(Part {
            zeros,
            pages: first_job..jobs.len(),
        });
        start += expected[ci];
    }
    // Where each page's elements go in the column.
    let mut at = Vec::with_capacity(jobs.len());
    let mut pos = 0usize;
    for p in &parts {
        pos += p.zeros as usize;
        for j in &jobs[p.pages.clone()] {
            at.push(pos);
            pos += j.page.elements as usize;
        }
    }
    let natural = jobs.iter().all(|j| j.enc.dtype().is_ok_and(|t| t == dtype));
    if !natural {
        return read_cast(file, &jobs, &parts, dtype, parallel);
    }
    // Zero-filled once, so deferred ranges need nothing more; each page is
    // decoded through per-thread scratch buffers straight into its slice.
    let out: Values;
    macro_rules! fill {
        ($var:ident, $t:ty, $zero:expr) => {{
            let mut v: Vec<$t> = vec![$zero; pos];
            fill_slices(file, &jobs, &at, &mut v, parallel, |x| match x {
                Values::$var(s) => s,
                _ => unreachable!("pages decode to the column's type"),
            })?;
            out = Values::$var(v);
        }};
    }
    crate::decode::each_dtype!(dtype, fill);
    Ok(out)
}

/// Decodes every page into its own slice of `out` (`at[i]` onwards).
fn fill_slices<T: Elem>(
    file: &RootFile,
    jobs: &[Job],
    at: &[usize],
    out: &mut [T],
    parallel: bool,
    typed: fn(&Values) -> &Vec<T>,
) -> DResult<()> {
    let mut slices: Vec<&mut [T]> = Vec::with_capacity(jobs.len());
    let mut rest = out;
    let mut consumed = 0usize;
    for (j, &start) in jobs.iter().zip(at) {
        let (_, r) = std::mem::take(&mut rest).split_at_mut(start - consumed);
        let (mine, r) = r.split_at_mut(j.page.elements as usize);
        slices.push(mine);
        rest = r;
        consumed = start + j.page.elements as usize;
    }
    let work = |scratch: &mut (Vec<u8>, Option<Values>),
                (j, slot): (&Job, &mut &mut [T])|
     -> DResult<()> {
        // Plain little-endian pages decompress straight into the column.
        if j.enc.is_plain() && cfg!(target_endian = "little") {
            if let Some(bytes) = T::bytes_mut(slot) {
                let data = page_data(file, j)?;
                return compress::decompress_to_slice(data, bytes).map_err(|e| page_error(j, e.0));
            }
        }
        let (buf, vals) = scratch;
        let v = decode_page(file, j, buf, vals)?;
        slot.copy_from_slice(typed(v));
        Ok(())
    };
    if parallel {
        jobs.par_iter()
            .zip(slices.par_iter_mut())
            .try_for_each_init(|| (Vec::new(), None), work)
    } else {
        let mut scratch = (Vec::new(), None);
        jobs.iter()
            .zip(slices.iter_mut())
            .try_for_each(|x| work(&mut scratch, x))
    }
}

/// The slow path for columns whose pages decode to another type than the
/// field's (a `double` stored as `Real32`, several representations): page
/// by page, cast, then concatenated.
fn read_cast(
    file: &RootFile,
    jobs: &[Job],
    parts: &[Part],
    dtype: DType,
    parallel: bool,
) -> DResult<Values> {
    let decode = |j: &Job| {
        let (mut buf, mut vals) = (Vec::new(), None);
        decode_page(file, j, &mut buf, &mut vals)?;
        cast(vals.take().expect("decoded"), dtype)
    };
    let pages: Vec<Values> = if parallel {
        jobs.par_iter().map(decode).collect::<DResult<_>>()?
    } else {
        jobs.iter().map(decode).collect::<DResult<_>>()?
    };
    let mut out = Values::empty(dtype, 0);
    for p in parts {
        zeros(&mut out, p.zeros as usize);
        for v in &pages[p.pages.clone()] {
            append(&mut out, v);
        }
    }
    Ok(out)
}

/// An error about page `j`, named by its place in the file (formatted only
/// when there is one: pages are the hot path).
fn page_error(j: &Job, what: impl std::fmt::Display) -> crate::cursor::DecodeError {
    crate::cursor::DecodeError(format!("page at byte {}: {what}", j.page.at.offset))
}

/// The compressed bytes of a page, checksum verified.
fn page_data<'f>(file: &'f RootFile, j: &Job) -> DResult<&'f [u8]> {
    let p = &j.page;
    let n_bytes = p.at.size + if p.checksum { 8 } else { 0 };
    let raw = file
        .bytes(p.at.offset, n_bytes as usize)
        .ok_or_else(|| page_error(j, "lies beyond the end of the file: truncated file"))?;
    let (data, sum) = raw.split_at(p.at.size as usize);
    if p.checksum {
        let stored = u64::from_le_bytes(sum.try_into().expect("8 bytes"));
        if xxhash_rust::xxh3::xxh3_64(data) != stored {
            return Err(page_error(
                j,
                "page checksum (XXH3) does not match: damaged file",
            ));
        }
    }
    Ok(data)
}

/// Reads, checks, decompresses (into `buf`) and decodes (into `vals`, whose
/// buffer is reused from page to page) one page.
fn decode_page<'v>(
    file: &RootFile,
    j: &Job,
    buf: &mut Vec<u8>,
    vals: &'v mut Option<Values>,
) -> DResult<&'v Values> {
    let p = &j.page;
    let data = page_data(file, j)?;
    let len = j.enc.page_bytes(p.elements) as usize;
    compress::decompress_into(data, len, buf).map_err(|e| page_error(j, e.0))?;
    let dtype = j.enc.dtype()?;
    if vals.as_ref().is_none_or(|v| v.dtype() != dtype) {
        *vals = Some(Values::empty(dtype, p.elements as usize));
    }
    let v = vals.as_mut().expect("set above");
    v.clear();
    j.enc.decode(buf, p.elements as usize, v)?;
    Ok(v)
}

/// Column element types; plain numbers can be filled as bytes.
trait Elem: Copy + Send {
    /// The slice's bytes, for types where every byte pattern is a value.
    fn bytes_mut(s: &mut [Self]) -> Option<&mut [u8]>;
}

macro_rules! plain {
    ($($t:ty),*) => {$(
        impl Elem for $t {
            fn bytes_mut(s: &mut [Self]) -> Option<&mut [u8]> {
                let n = std::mem::size_of_val(s);
                // SAFETY: a plain number type has no invalid bit patterns
                // and u8 has alignment 1, so its bytes may be written freely.
                Some(unsafe { std::slice::from_raw_parts_mut(s.as_mut_ptr().cast::<u8>(), n) })
            }
        }
    )*};
}
plain!(i8, u8, i16, u16, i32, u32, i64, u64, f32, f64);

impl Elem for bool {
    fn bytes_mut(_: &mut [Self]) -> Option<&mut [u8]> {
        None
    }
}

fn append(out: &mut Values, v: &Values) {
    macro_rules! ext {
        ($($var:ident),*) => {
            match (out, v) {
                $((Values::$var(o), Values::$var(x)) => o.extend_from_slice(x),)*
                _ => unreachable!("pages are cast to the column's type"),
            }
        };
    }
    ext!(Bool, I8, I16, I32, I64, U8, U16, U32, U64, F32, F64)
}

/// Widens (or narrows, as the C++ field's type does) decoded values to the
/// field's type.
pub(crate) fn cast(v: Values, to: DType) -> DResult<Values> {
    if v.dtype() == to {
        return Ok(v);
    }
    macro_rules! to_num {
        ($src:expr) => {{
            let s = $src;
            match to {
                DType::I8 => Values::I8(s.iter().map(|&x| x as i8).collect()),
                DType::I16 => Values::I16(s.iter().map(|&x| x as i16).collect()),
                DType::I32 => Values::I32(s.iter().map(|&x| x as i32).collect()),
                DType::I64 => Values::I64(s.iter().map(|&x| x as i64).collect()),
                DType::U8 => Values::U8(s.iter().map(|&x| x as u8).collect()),
                DType::U16 => Values::U16(s.iter().map(|&x| x as u16).collect()),
                DType::U32 => Values::U32(s.iter().map(|&x| x as u32).collect()),
                DType::U64 => Values::U64(s.iter().map(|&x| x as u64).collect()),
                DType::F32 => Values::F32(s.iter().map(|&x| x as f32).collect()),
                DType::F64 => Values::F64(s.iter().map(|&x| x as f64).collect()),
                DType::Bool => Values::Bool(s.iter().map(|&x| x != 0).collect()),
            }
        }};
    }
    let from = v.dtype();
    let float_into_int = matches!(from, DType::F32 | DType::F64) && to.is_integer();
    if float_into_int {
        return derr(format!(
            "a {} column cannot be read as {}",
            from.name(),
            to.name()
        ));
    }
    Ok(match v {
        Values::Bool(s) => to_num!(s.iter().map(|&b| b as u8).collect::<Vec<u8>>()),
        Values::I8(s) => to_num!(s),
        Values::I16(s) => to_num!(s),
        Values::I32(s) => to_num!(s),
        Values::I64(s) => to_num!(s),
        Values::U8(s) => to_num!(s),
        Values::U16(s) => to_num!(s),
        Values::U32(s) => to_num!(s),
        Values::U64(s) => to_num!(s),
        Values::F32(s) => match to {
            DType::F64 => Values::F64(s.iter().map(|&x| x as f64).collect()),
            _ => unreachable!("float into int rejected above"),
        },
        Values::F64(s) => match to {
            DType::F32 => Values::F32(s.iter().map(|&x| x as f32).collect()),
            _ => unreachable!("float into int rejected above"),
        },
    })
}
