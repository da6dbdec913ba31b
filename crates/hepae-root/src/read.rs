//! Columnar basket reading: locate, decompress and decode every basket of a
//! branch straight into one typed buffer plus per-entry offsets.

use crate::compress;
use crate::cursor::{Cursor, DResult, DecodeError};
use crate::error::{Error, ErrorKind, Result};
use crate::file::{read_key_header, RootFile};
use crate::tree::{Branch, Interpretation, Layout, Tree};
use crate::types::{DType, Values};
use rayon::prelude::*;

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

/// A decoded basket: values and, for arrays, the value count of each entry.
struct Chunk {
    values: Values,
    counts: Option<Vec<u32>>,
    entries: usize,
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

impl RootFile {
    /// Reads and decodes one numeric branch of a tree.
    pub fn read_branch(&self, tree: &Tree, branch: &Branch) -> Result<Column> {
        let mut cols = self.read_branches(tree, &[branch])?;
        Ok(cols.remove(0))
    }

    /// Reads several branches, decoding all their baskets in parallel.
    pub fn read_branches(&self, tree: &Tree, branches: &[&Branch]) -> Result<Vec<Column>> {
        let mut jobs: Vec<(usize, Source)> = Vec::new();
        let mut specs = Vec::with_capacity(branches.len());
        for (bi, b) in branches.iter().enumerate() {
            let what = format!("tree {}, branch {}", tree.path, b.path);
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
            specs.push((dtype, layout, what));
            for &(first, seek, bytes) in &b.baskets.external {
                jobs.push((bi, Source::External { first, seek, bytes }));
            }
            for (first, basket) in &b.baskets.embedded {
                jobs.push((
                    bi,
                    Source::Embedded {
                        first: *first,
                        basket,
                    },
                ));
            }
        }
        let decoded: Vec<Result<(usize, i64, Chunk)>> = jobs
            .par_iter()
            .map(|(bi, src)| {
                let (dtype, layout, what) = &specs[*bi];
                let (first, chunk) = self
                    .decode_source(src, *dtype, *layout)
                    .map_err(|e| e.at(what.clone()))?;
                Ok((*bi, first, chunk))
            })
            .collect();
        let mut per_branch: Vec<Vec<(i64, Chunk)>> =
            (0..branches.len()).map(|_| Vec::new()).collect();
        for d in decoded {
            let (bi, first, chunk) = d?;
            per_branch[bi].push((first, chunk));
        }
        let mut out = Vec::with_capacity(branches.len());
        for (bi, mut chunks) in per_branch.into_iter().enumerate() {
            let (dtype, layout, what) = &specs[bi];
            chunks.sort_by_key(|(f, _)| *f);
            let mut expected = 0i64;
            for (first, c) in &chunks {
                if *first != expected {
                    return Err(Error::new(
                        ErrorKind::Malformed,
                        self.path(),
                        format!("baskets do not cover the entries: a basket starts at entry {first}, expected {expected}"),
                    )
                    .at(what.clone()));
                }
                expected += c.entries as i64;
            }
            let want = branches[bi].entries.max(0);
            if expected != want {
                return Err(Error::new(
                    ErrorKind::Malformed,
                    self.path(),
                    format!("baskets hold {expected} entries but the branch has {want}"),
                )
                .at(what.clone()));
            }
            out.push(assemble(*dtype, *layout, chunks));
        }
        Ok(out)
    }

    fn decode_source(&self, src: &Source, dtype: DType, layout: Layout) -> Result<(i64, Chunk)> {
        match src {
            Source::External { first, seek, bytes } => {
                let (data, offsets, nev) = self.load_basket(*seek, *bytes)?;
                let chunk = decode(&data, offsets.as_deref(), nev, dtype, layout).map_err(|e| {
                    Error::new(
                        ErrorKind::Malformed,
                        self.path(),
                        format!("basket at byte {seek}: {e}"),
                    )
                })?;
                Ok((*first, chunk))
            }
            Source::Embedded { first, basket } => {
                let chunk = decode(
                    &basket.data,
                    basket.offsets.as_deref(),
                    basket.nev_buf as usize,
                    dtype,
                    layout,
                )
                .map_err(|e| {
                    Error::new(
                        ErrorKind::Malformed,
                        self.path(),
                        format!("embedded basket: {e}"),
                    )
                })?;
                Ok((*first, chunk))
            }
        }
    }

    /// Reads a basket key and returns (data bytes, entry byte offsets, entry count).
    fn load_basket(&self, seek: i64, bytes: i32) -> Result<(Vec<u8>, Option<Vec<i32>>, usize)> {
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
        let data = compress::decompress(raw, k.objlen.max(0) as usize)
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
        let mut data = data;
        data.truncate(border);
        Ok((data, offsets, nev))
    }
}

/// Decodes one basket's bytes into typed values and per-entry counts.
fn decode(
    data: &[u8],
    offsets: Option<&[i32]>,
    nev: usize,
    dtype: DType,
    layout: Layout,
) -> DResult<Chunk> {
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
            let mut values = Values::empty(dtype, nev * per);
            values.extend_be(&data[..need]);
            let counts = if per > 1 || matches!(layout, Layout::Fixed(_)) {
                Some(vec![per as u32; nev])
            } else {
                None
            };
            Ok(Chunk {
                values,
                counts,
                entries: nev,
            })
        }
        (Layout::Jagged { .. }, None) if nev == 0 => Ok(Chunk {
            values: Values::empty(dtype, 0),
            counts: Some(Vec::new()),
            entries: 0,
        }),
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
            let mut values = Values::empty(dtype, (data.len() / size).max(1));
            let mut counts = Vec::with_capacity(nev);
            for i in 0..nev {
                let (a, b) = (offs[i], offs[i + 1]);
                if a < 0 || b < a || b as usize > data.len() {
                    return Err(DecodeError(format!(
                        "entry {i}: byte range {a}..{b} outside the basket ({} bytes)",
                        data.len()
                    )));
                }
                let entry = &data[a as usize..b as usize];
                if entry.is_empty() {
                    counts.push(0);
                    continue;
                }
                if entry.len() < header {
                    return Err(DecodeError(format!(
                        "entry {i}: {} bytes, shorter than its {header}-byte header",
                        entry.len()
                    )));
                }
                let body = &entry[header..];
                if !body.len().is_multiple_of(size) {
                    return Err(DecodeError(format!(
                        "entry {i}: {} bytes is not a whole number of {}",
                        body.len(),
                        dtype.name()
                    )));
                }
                let n = body.len() / size;
                if header == 10 {
                    let declared = i32::from_be_bytes(entry[6..10].try_into().unwrap());
                    if declared as usize != n {
                        return Err(DecodeError(format!(
                            "entry {i}: vector says {declared} elements, bytes hold {n}"
                        )));
                    }
                }
                values.extend_be(body);
                counts.push(n as u32);
            }
            Ok(Chunk {
                values,
                counts: Some(counts),
                entries: nev,
            })
        }
    }
}

fn assemble(dtype: DType, layout: Layout, chunks: Vec<(i64, Chunk)>) -> Column {
    let total: usize = chunks.iter().map(|(_, c)| c.values.len()).sum();
    let mut values = Values::empty(dtype, total);
    let array = !matches!(layout, Layout::Scalar);
    let mut offsets = if array { Some(vec![0u64]) } else { None };
    for (_, c) in chunks {
        if let (Some(o), Some(counts)) = (offsets.as_mut(), c.counts.as_ref()) {
            let mut last = *o.last().unwrap();
            o.reserve(counts.len());
            for &n in counts {
                last += n as u64;
                o.push(last);
            }
        }
        values.append(c.values);
    }
    Column { values, offsets }
}
