//! Decoding located baskets into typed buffers and per-entry offsets.

use crate::error::{Error, ErrorKind, Result};
use crate::file::RootFile;
use crate::read::*;
use crate::tree::Layout;
use crate::types::{DType, Values};
use rayon::prelude::*;

/// A value type stored big-endian in ROOT.
pub(crate) trait Be: Copy + Send + Sync {
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
pub(crate) fn decode_run<T: Be>(out: &mut [T], bytes: &[u8]) {
    for (o, c) in out.iter_mut().zip(bytes.chunks_exact(T::N)) {
        *o = T::read(c);
    }
}

/// Decodes one basket's values into `out` (exactly its `nvalues` long).
pub(crate) fn decode_basket<T: Be>(out: &mut [T], b: &Located) {
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
pub(crate) fn append_basket<T: Be>(out: &mut Vec<T>, b: &Located) {
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
pub(crate) fn push_offsets(offsets: &mut Vec<u64>, b: &Located, size: usize) {
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
pub(crate) fn fill<T: Be>(out: &mut [T], baskets: &[Located]) {
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
pub(crate) use each_dtype;

pub(crate) fn assemble(dtype: DType, layout: Layout, baskets: &[Located]) -> Column {
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
pub(crate) struct Appender {
    values: Values,
    offsets: Option<Vec<u64>>,
}

impl Appender {
    pub(crate) fn new(dtype: DType, layout: Layout, capacity: usize) -> Appender {
        Appender {
            values: Values::empty(dtype, capacity),
            offsets: (!matches!(layout, Layout::Scalar)).then(|| vec![0]),
        }
    }

    pub(crate) fn push(&mut self, b: &Located) {
        crate::with_values!(&mut self.values, v => append_basket(v, b));
        if let Some(o) = &mut self.offsets {
            push_offsets(o, b, self.values.dtype().size());
        }
    }

    pub(crate) fn finish(self) -> Column {
        Column {
            values: self.values,
            offsets: self.offsets,
        }
    }
}

/// Checks that a branch's baskets, taken in entry order, cover its entries.
pub(crate) struct Cover<'a> {
    file: &'a RootFile,
    what: &'a str,
    expected: i64,
}

impl<'a> Cover<'a> {
    pub(crate) fn new(file: &'a RootFile, what: &'a str) -> Cover<'a> {
        Cover {
            file,
            what,
            expected: 0,
        }
    }

    /// The next basket starts at entry `first` and holds `nev` entries.
    pub(crate) fn next(&mut self, first: i64, nev: usize) -> Result<()> {
        if first != self.expected {
            return Err(self.malformed(format!(
                "baskets do not cover the entries: a basket starts at entry {first}, expected {}",
                self.expected
            )));
        }
        self.expected += nev as i64;
        Ok(())
    }

    pub(crate) fn malformed(&self, why: String) -> Error {
        Error::new(ErrorKind::Malformed, self.file.path(), why).at(self.what.to_string())
    }

    /// The branch has `entries` entries.
    pub(crate) fn end(&self, entries: i64) -> Result<()> {
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
