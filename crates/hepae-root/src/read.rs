//! Columnar basket reading: locate, decompress and decode every basket of a
//! branch straight into one typed buffer plus per-entry offsets.

use crate::compress;
use crate::cursor::{Cursor, DResult, DecodeError};
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
enum Spans {
    Contiguous { per_entry: usize, values: usize },
    Entries(Vec<(u32, u32)>),
}

/// A decompressed, indexed basket.
struct Located<'s> {
    first: i64,
    data: Cow<'s, [u8]>,
    nev: usize,
    spans: Spans,
    nvalues: usize,
}

/// Checks a basket's bytes against its layout and indexes its entries.
fn index(
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

/// A value type stored big-endian in ROOT.
trait Be: Copy + Send + Sync {
    const N: usize;
    fn read(b: &[u8]) -> Self;
}

macro_rules! be_num {
    ($($t:ty),*) => {$(
        impl Be for $t {
            const N: usize = std::mem::size_of::<$t>();
            #[inline(always)]
            fn read(b: &[u8]) -> Self {
                <$t>::from_be_bytes(b.try_into().unwrap())
            }
        }
    )*};
}
be_num!(i8, u8, i16, u16, i32, u32, i64, u64, f32, f64);

impl Be for bool {
    const N: usize = 1;
    #[inline(always)]
    fn read(b: &[u8]) -> Self {
        b[0] != 0
    }
}

#[inline]
fn decode_run<T: Be>(out: &mut [T], bytes: &[u8]) {
    for (o, c) in out.iter_mut().zip(bytes.chunks_exact(T::N)) {
        *o = T::read(c);
    }
}

/// Decodes one basket's values into `out` (exactly its `nvalues` long).
fn decode_basket<T: Be>(out: &mut [T], b: &Located) {
    match &b.spans {
        Spans::Contiguous { values, .. } => decode_run(out, &b.data[..values * T::N]),
        Spans::Entries(spans) => {
            let mut k = 0;
            for &(a, e) in spans {
                let n = (e - a) as usize / T::N;
                decode_run(&mut out[k..k + n], &b.data[a as usize..e as usize]);
                k += n;
            }
        }
    }
}

/// Appends one basket's values to `out` (no zero-filling first).
fn append_basket<T: Be>(out: &mut Vec<T>, b: &Located) {
    let run = |out: &mut Vec<T>, bytes: &[u8]| out.extend(bytes.chunks_exact(T::N).map(T::read));
    match &b.spans {
        Spans::Contiguous { values, .. } => run(out, &b.data[..values * T::N]),
        Spans::Entries(spans) => {
            for &(a, e) in spans {
                run(out, &b.data[a as usize..e as usize]);
            }
        }
    }
}

/// Appends one basket's entry ends (in values) to `offsets`.
fn push_offsets(offsets: &mut Vec<u64>, b: &Located, size: usize) {
    let mut last = *offsets.last().expect("offsets start with 0");
    match &b.spans {
        Spans::Contiguous { per_entry, .. } => {
            for _ in 0..b.nev {
                last += *per_entry as u64;
                offsets.push(last);
            }
        }
        Spans::Entries(spans) => {
            for &(a, e) in spans {
                last += ((e - a) as usize / size) as u64;
                offsets.push(last);
            }
        }
    }
}

/// Decodes every basket into its own slice of `out`, in parallel.
fn fill<T: Be>(out: &mut [T], baskets: &[Located]) {
    let mut slices = Vec::with_capacity(baskets.len());
    let mut rest = out;
    for b in baskets {
        let (a, r) = rest.split_at_mut(b.nvalues);
        slices.push(a);
        rest = r;
    }
    slices
        .into_par_iter()
        .zip(baskets.par_iter())
        .for_each(|(s, b)| decode_basket(s, b));
}

/// Every values-buffer type, for code written once for all of them.
macro_rules! each_dtype {
    ($dtype:expr, $m:ident) => {
        match $dtype {
            DType::Bool => $m!(Bool, bool, false),
            DType::I8 => $m!(I8, i8, 0),
            DType::U8 => $m!(U8, u8, 0),
            DType::I16 => $m!(I16, i16, 0),
            DType::U16 => $m!(U16, u16, 0),
            DType::I32 => $m!(I32, i32, 0),
            DType::U32 => $m!(U32, u32, 0),
            DType::I64 => $m!(I64, i64, 0),
            DType::U64 => $m!(U64, u64, 0),
            DType::F32 => $m!(F32, f32, 0.0),
            DType::F64 => $m!(F64, f64, 0.0),
        }
    };
}

fn assemble(dtype: DType, layout: Layout, baskets: &[Located]) -> Column {
    let total: usize = baskets.iter().map(|b| b.nvalues).sum();
    macro_rules! build {
        ($var:ident, $t:ty, $zero:expr) => {{
            let mut v: Vec<$t> = vec![$zero; total];
            fill(&mut v, baskets);
            Values::$var(v)
        }};
    }
    let values = each_dtype!(dtype, build);
    let offsets = (!matches!(layout, Layout::Scalar)).then(|| {
        let mut o = Vec::with_capacity(baskets.iter().map(|b| b.nev).sum::<usize>() + 1);
        o.push(0);
        for b in baskets {
            push_offsets(&mut o, b, dtype.size());
        }
        o
    });
    Column { values, offsets }
}

/// A column built one basket at a time.
struct Appender {
    values: Values,
    offsets: Option<Vec<u64>>,
}

impl Appender {
    fn new(dtype: DType, layout: Layout, capacity: usize) -> Appender {
        Appender {
            values: Values::empty(dtype, capacity),
            offsets: (!matches!(layout, Layout::Scalar)).then(|| vec![0]),
        }
    }

    fn push(&mut self, b: &Located) {
        crate::with_values!(&mut self.values, v => append_basket(v, b));
        if let Some(o) = &mut self.offsets {
            push_offsets(o, b, self.values.dtype().size());
        }
    }

    fn finish(self) -> Column {
        Column {
            values: self.values,
            offsets: self.offsets,
        }
    }
}

/// Checks that a branch's baskets, taken in entry order, cover its entries.
struct Cover<'a> {
    file: &'a RootFile,
    what: &'a str,
    expected: i64,
}

impl<'a> Cover<'a> {
    fn new(file: &'a RootFile, what: &'a str) -> Cover<'a> {
        Cover {
            file,
            what,
            expected: 0,
        }
    }

    /// The next basket starts at entry `first` and holds `nev` entries.
    fn next(&mut self, first: i64, nev: usize) -> Result<()> {
        if first != self.expected {
            return Err(self.malformed(format!(
                "baskets do not cover the entries: a basket starts at entry {first}, expected {}",
                self.expected
            )));
        }
        self.expected += nev as i64;
        Ok(())
    }

    fn malformed(&self, why: String) -> Error {
        Error::new(ErrorKind::Malformed, self.file.path(), why).at(self.what.to_string())
    }

    /// The branch has `entries` entries.
    fn end(&self, entries: i64) -> Result<()> {
        let want = entries.max(0);
        if self.expected != want {
            return Err(self.malformed(format!(
                "baskets hold {} entries but the branch has {want}",
                self.expected
            )));
        }
        Ok(())
    }
}
