//! Columnar basket reading: locate, decompress and decode every basket of a
//! branch straight into one typed buffer plus per-entry offsets.

use crate::compress;
use crate::cursor::{Cursor, DResult, DecodeError};
use crate::decode::*;
use crate::error::{Error, ErrorKind, Result};
use crate::file::{read_key_header, RootFile};
use crate::tree::{Branch, Interpretation, Layout, Tree};
use crate::types::{DType, Values};
use rayon::prelude::*;
use std::borrow::Cow;

/// The decoded contents of one branch.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// All values, entries concatenated.
    pub values: Values,
    /// For array layouts, `entries + 1` offsets into `values`; `None` for scalars.
    pub offsets: Option<Vec<u64>>,
}

impl Column {
    /// Number of entries (events).
    pub fn entries(&self) -> usize {
        match &self.offsets {
            Some(o) => o.len() - 1,
            None => self.values.len(),
        }
    }

    /// Number of values in entry `i`.
    pub fn count(&self, i: usize) -> usize {
        match &self.offsets {
            Some(o) => (o[i + 1] - o[i]) as usize,
            None => 1,
        }
    }
}

/// One unit of work: a basket located in the file or embedded in the tree.
enum Source<'a> {
    External {
        first: i64,
        seek: i64,
        bytes: i32,
    },
    Embedded {
        first: i64,
        basket: &'a crate::streamed::EmbeddedBasket,
    },
}

impl Source<'_> {
    /// First entry of the basket.
    fn first(&self) -> i64 {
        match self {
            Source::External { first, .. } | Source::Embedded { first, .. } => *first,
        }
    }
}

impl RootFile {
    /// Reads and decodes one numeric branch of a tree.
    pub fn read_branch(&self, tree: &Tree, branch: &Branch) -> Result<Column> {
        let mut cols = self.read_branches(tree, &[branch])?;
        Ok(cols.remove(0))
    }

    /// Reads several branches, decoding each branch's baskets in parallel.
    ///
    /// Branch by branch, so that one branch's decompressed baskets are freed
    /// before the next is decompressed and the allocator hands the same warm
    /// pages back instead of fresh ones.
    pub fn read_branches(&self, tree: &Tree, branches: &[&Branch]) -> Result<Vec<Column>> {
        self.read_branches_with(tree, branches, true)
    }

    /// [`RootFile::read_branch`] with the baskets decoded one after another on
    /// the calling thread: for callers that already read many branches in
    /// parallel, where nested basket tasks would let a waiting thread start
    /// yet another branch and hold many decoded branches at once.
    pub fn read_branch_sequential(&self, tree: &Tree, branch: &Branch) -> Result<Column> {
        let mut cols = self.read_branches_with(tree, &[branch], false)?;
        Ok(cols.remove(0))
    }

    fn read_branches_with(
        &self,
        tree: &Tree,
        branches: &[&Branch],
        parallel: bool,
    ) -> Result<Vec<Column>> {
        let specs = branches
            .iter()
            .map(|b| self.readable(tree, b))
            .collect::<Result<Vec<_>>>()?;
        if let Some(d) = &tree.ntuple {
            let one = |(b, (_, _, what)): (&&Branch, &(DType, Layout, String))| {
                let plan = b
                    .ntuple
                    .as_ref()
                    .expect("readable RNTuple branches have a plan");
                crate::rntuple::read(self, d, plan, parallel).map_err(|e| {
                    Error::new(ErrorKind::Malformed, self.path(), e.0).at(what.clone())
                })
            };
            // Pages are small and decoded straight into their columns, so
            // the fields are read side by side too (no barrier per field).
            return if parallel {
                branches.par_iter().zip(&specs).map(one).collect()
            } else {
                branches.iter().zip(&specs).map(one).collect()
            };
        }
        let mut out = Vec::with_capacity(branches.len());
        for (b, (dtype, layout, what)) in branches.iter().zip(&specs) {
            let mut jobs: Vec<Source> = Vec::new();
            for &(first, seek, bytes) in &b.baskets.external {
                jobs.push(Source::External { first, seek, bytes });
            }
            for (first, basket) in &b.baskets.embedded {
                jobs.push(Source::Embedded {
                    first: *first,
                    basket,
                });
            }
            if parallel {
                // Decompress and index the branch's baskets in parallel, then
                // decode them into one preallocated buffer, in parallel too.
                let mut baskets = jobs
                    .par_iter()
                    .map(|src| self.locate(src, *dtype, *layout, None))
                    .collect::<Result<Vec<Located>>>()
                    .map_err(|e| e.at(what.clone()))?;
                baskets.sort_by_key(|b| b.first);
                let mut cover = Cover::new(self, what);
                for b in &baskets {
                    cover.next(b.first, b.nev)?;
                }
                cover.end(b.entries)?;
                out.push(assemble(*dtype, *layout, &baskets));
            } else {
                // One basket at a time through one reused buffer, appended to
                // the column as it goes: no basket outlives its decoding.
                jobs.sort_by_key(Source::first);
                let mut scratch = Vec::new();
                let mut cover = Cover::new(self, what);
                let mut col = Appender::new(*dtype, *layout, self.value_bound(&jobs, *dtype));
                for src in &jobs {
                    let b = self
                        .locate(src, *dtype, *layout, Some(&mut scratch))
                        .map_err(|e| e.at(what.clone()))?;
                    cover.next(b.first, b.nev)?;
                    col.push(&b);
                }
                cover.end(b.entries)?;
                out.push(col.finish());
            }
        }
        Ok(out)
    }

    /// The value type of a branch this reader can decode, or the error that
    /// reading it would give (unsupported type, split object, baskets in
    /// another file), without reading any basket.
    pub fn value_type(&self, tree: &Tree, branch: &Branch) -> Result<DType> {
        self.readable(tree, branch).map(|(dtype, _, _)| dtype)
    }

    fn readable(&self, tree: &Tree, b: &Branch) -> Result<(DType, Layout, String)> {
        let what = if tree.ntuple.is_some() {
            format!("RNTuple {}, field {}", tree.path, b.path)
        } else {
            format!("tree {}, branch {}", tree.path, b.path)
        };
        let (dtype, layout) = match &b.interpretation {
            Interpretation::Numeric { dtype, layout } => (*dtype, *layout),
            Interpretation::Unsupported(why) => {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    self.path(),
                    format!("unsupported branch type: {why}"),
                )
                .at(what))
            }
            Interpretation::Container => {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    self.path(),
                    "this branch is a split object; read its sub-branches",
                )
                .at(what))
            }
        };
        if !b.baskets.file_name.is_empty() {
            return Err(Error::new(
                ErrorKind::Unsupported,
                self.path(),
                format!("baskets stored in another file ({})", b.baskets.file_name),
            )
            .at(what));
        }
        Ok((dtype, layout, what))
    }

    /// Decompresses one basket (into `scratch` when given, else into a buffer
    /// of its own) and finds the byte span of every entry's values.
    fn locate<'s>(
        &self,
        src: &Source<'s>,
        dtype: DType,
        layout: Layout,
        scratch: Option<&'s mut Vec<u8>>,
    ) -> Result<Located<'s>> {
        let (first, data, offsets, nev, what) = match src {
            Source::External { first, seek, bytes } => {
                let (data, offsets, nev) = match scratch {
                    Some(buf) => {
                        let (offsets, nev) = self.load_basket_into(*seek, *bytes, buf)?;
                        let buf: &'s Vec<u8> = buf;
                        (Cow::Borrowed(buf.as_slice()), offsets, nev)
                    }
                    None => {
                        let mut buf = Vec::new();
                        let (offsets, nev) = self.load_basket_into(*seek, *bytes, &mut buf)?;
                        (Cow::Owned(buf), offsets, nev)
                    }
                };
                (
                    *first,
                    data,
                    offsets.map(Cow::Owned),
                    nev,
                    format!("basket at byte {seek}"),
                )
            }
            Source::Embedded { first, basket } => (
                *first,
                Cow::Borrowed(basket.data.as_slice()),
                basket.offsets.as_deref().map(Cow::Borrowed),
                basket.nev_buf as usize,
                "embedded basket".to_string(),
            ),
        };
        let spans = index(&data, offsets.as_deref(), nev, dtype, layout)
            .map_err(|e| Error::new(ErrorKind::Malformed, self.path(), format!("{what}: {e}")))?;
        let nvalues = match &spans {
            Spans::Contiguous { values, .. } => *values,
            Spans::Entries(v) => {
                v.iter().map(|&(a, b)| (b - a) as usize).sum::<usize>() / dtype.size()
            }
        };
        Ok(Located {
            first,
            data,
            nev,
            spans,
            nvalues,
        })
    }

    /// An upper bound on the values in `jobs` (their uncompressed sizes over
    /// the value size), to reserve a column once; 0 where a key is unreadable
    /// (reading the basket then reports it).
    fn value_bound(&self, jobs: &[Source], dtype: DType) -> usize {
        let bytes: usize = jobs
            .iter()
            .map(|src| match src {
                Source::External { seek, bytes, .. } => self
                    .slice(*seek, (*bytes).max(0) as usize, "basket key")
                    .ok()
                    .and_then(|head| read_key_header(&mut Cursor::at(head, 0)).ok())
                    .map_or(0, |k| k.objlen.max(0) as usize),
                Source::Embedded { basket, .. } => basket.data.len(),
            })
            .sum();
        bytes / dtype.size()
    }

    /// Reads a basket key and decompresses the basket into `data`, which ends
    /// up holding the entries' bytes; returns (entry byte offsets, entry count).
    fn load_basket_into(
        &self,
        seek: i64,
        bytes: i32,
        data: &mut Vec<u8>,
    ) -> Result<(Option<Vec<i32>>, usize)> {
        let what = format!("basket at byte {seek}");
        let head = self.slice(
            seek,
            (bytes.max(0) as usize).min(self.len().saturating_sub(seek.max(0) as usize)),
            &what,
        )?;
        let parsed = (|| -> DResult<_> {
            let mut c = Cursor::at(head, 0);
            let k = read_key_header(&mut c)?;
            c.seek(
                (k.keylen as usize)
                    .checked_sub(19)
                    .ok_or_else(|| DecodeError("basket key too short".into()))?,
            )?;
            let _v = c.u16()?;
            let _bufsize = c.i32()?;
            let _nev_buf_size = c.i32()?;
            let nev_buf = c.i32()?;
            let last = c.i32()?;
            Ok((k, nev_buf, last))
        })();
        let (k, nev_buf, last) = parsed
            .map_err(|e| Error::new(ErrorKind::Malformed, self.path(), format!("{what}: {e}")))?;
        if k.nbytes != bytes {
            return Err(Error::new(
                ErrorKind::Malformed,
                self.path(),
                format!(
                    "{what}: key says {} bytes, branch index says {bytes}",
                    k.nbytes
                ),
            ));
        }
        let keylen = k.keylen as i64;
        let raw = self.slice(
            seek + keylen,
            (k.nbytes as i64 - keylen).max(0) as usize,
            &what,
        )?;
        compress::decompress_into(raw, k.objlen.max(0) as usize, data)
            .map_err(|e| Error::new(ErrorKind::Malformed, self.path(), format!("{what}: {e}")))?;
        let border = (last as i64 - keylen) as usize;
        if border > data.len() || nev_buf < 0 {
            return Err(Error::new(
                ErrorKind::Malformed,
                self.path(),
                format!("{what}: data length {border} exceeds the basket"),
            ));
        }
        let nev = nev_buf as usize;
        let offsets = if border != data.len() {
            let tail = &data[border..];
            if tail.len() < 4 * (nev + 1) {
                return Err(Error::new(
                    ErrorKind::Malformed,
                    self.path(),
                    format!("{what}: entry offset table too short"),
                ));
            }
            let mut offs: Vec<i32> = tail[4..4 + 4 * nev]
                .chunks_exact(4)
                .map(|c| i32::from_be_bytes(c.try_into().unwrap()) - keylen as i32)
                .collect();
            offs.push(border as i32);
            Some(offs)
        } else {
            None
        };
        data.truncate(border);
        Ok((offsets, nev))
    }
}

/// Where one basket's values are: one contiguous run (scalars, fixed arrays)
/// or one byte span per entry (variable-size arrays, headers skipped).
pub(crate) enum Spans {
    Contiguous { per_entry: usize, values: usize },
    Entries(Vec<(u32, u32)>),
}

/// A decompressed, indexed basket.
pub(crate) struct Located<'s> {
    pub(crate) first: i64,
    pub(crate) data: Cow<'s, [u8]>,
    pub(crate) nev: usize,
    pub(crate) spans: Spans,
    pub(crate) nvalues: usize,
}

/// Checks a basket's bytes against its layout and indexes its entries.
pub(crate) fn index(
    data: &[u8],
    offsets: Option<&[i32]>,
    nev: usize,
    dtype: DType,
    layout: Layout,
) -> DResult<Spans> {
    let size = dtype.size();
    match (layout, offsets) {
        (Layout::Scalar, _) | (Layout::Fixed(_), None) => {
            let per = match layout {
                Layout::Fixed(n) => n,
                _ => 1,
            };
            let need = nev * per * size;
            if data.len() < need {
                return Err(DecodeError(format!(
                    "{} bytes for {nev} entries of {per} x {}",
                    data.len(),
                    dtype.name()
                )));
            }
            Ok(Spans::Contiguous {
                per_entry: per,
                values: nev * per,
            })
        }
        (Layout::Jagged { .. }, None) if nev == 0 => Ok(Spans::Entries(Vec::new())),
        (Layout::Jagged { .. }, None) => Err(DecodeError(
            "variable-size branch basket has no entry offsets".into(),
        )),
        (Layout::Jagged { header } | Layout::Fixed(header), Some(offs)) => {
            let header = if matches!(layout, Layout::Fixed(_)) {
                0
            } else {
                header
            };
            if offs.len() != nev + 1 {
                return Err(DecodeError(format!(
                    "{} entry offsets for {nev} entries",
                    offs.len()
                )));
            }
            let mut spans = Vec::with_capacity(nev);
            for i in 0..nev {
                let (a, b) = (offs[i], offs[i + 1]);
                if a < 0 || b < a || b as usize > data.len() {
                    return Err(DecodeError(format!(
                        "entry {i}: byte range {a}..{b} outside the basket ({} bytes)",
                        data.len()
                    )));
                }
                let (a, b) = (a as usize, b as usize);
                if a == b {
                    spans.push((a as u32, a as u32));
                    continue;
                }
                if b - a < header {
                    return Err(DecodeError(format!(
                        "entry {i}: {} bytes, shorter than its {header}-byte header",
                        b - a
                    )));
                }
                let body = b - a - header;
                if !body.is_multiple_of(size) {
                    return Err(DecodeError(format!(
                        "entry {i}: {body} bytes is not a whole number of {}",
                        dtype.name()
                    )));
                }
                if header == 10 {
                    let declared = i32::from_be_bytes(data[a + 6..a + 10].try_into().unwrap());
                    if declared as usize != body / size {
                        return Err(DecodeError(format!(
                            "entry {i}: vector says {declared} elements, bytes hold {}",
                            body / size
                        )));
                    }
                }
                spans.push(((a + header) as u32, b as u32));
            }
            Ok(Spans::Entries(spans))
        }
    }
}
