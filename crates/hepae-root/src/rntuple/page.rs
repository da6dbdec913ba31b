//! Column element encodings: one decompressed page into typed values.

use crate::cursor::{derr, DResult};
use crate::types::{DType, Values};

/// A column type of the format (spec table "Column Description").
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Encoding {
    pub kind: u16,
    pub bits: u16,
    pub range: Option<(f64, f64)>,
}

/// Names of the column types, for messages and `hepae inspect`.
pub(crate) fn kind_name(kind: u16) -> &'static str {
    const NAMES: [&str; 30] = [
        "Bit",
        "Byte",
        "Char",
        "Int8",
        "UInt8",
        "Int16",
        "UInt16",
        "Int32",
        "UInt32",
        "Int64",
        "UInt64",
        "Real16",
        "Real32",
        "Real64",
        "Index32",
        "Index64",
        "Switch",
        "SplitInt16",
        "SplitUInt16",
        "SplitInt32",
        "SplitUInt32",
        "SplitInt64",
        "SplitUInt64",
        "SplitReal16",
        "SplitReal32",
        "SplitReal64",
        "SplitIndex32",
        "SplitIndex64",
        "Real32Trunc",
        "Real32Quant",
    ];
    NAMES.get(kind as usize).copied().unwrap_or("unknown")
}

impl Encoding {
    /// The type values decode to, before any widening to the field's type.
    pub fn dtype(&self) -> DResult<DType> {
        Ok(match self.kind {
            0x00 => DType::Bool,
            0x01 | 0x02 | 0x04 => DType::U8,
            0x03 => DType::I8,
            0x05 | 0x11 => DType::I16,
            0x06 | 0x12 => DType::U16,
            0x07 | 0x13 => DType::I32,
            0x08 | 0x14 => DType::U32,
            0x09 | 0x15 => DType::I64,
            0x0A | 0x16 | 0x0E | 0x0F | 0x1A | 0x1B => DType::U64,
            0x0B | 0x17 | 0x0C | 0x18 | 0x1C | 0x1D => DType::F32,
            0x0D | 0x19 => DType::F64,
            k => {
                return derr(format!(
                    "column type {} (0x{k:02x}) cannot be read as numbers",
                    kind_name(k)
                ))
            }
        })
    }

    /// Checks the bit width the column declares against its type.
    pub fn check(&self) -> DResult<()> {
        let ok = match self.kind {
            0x00 => self.bits == 1,
            0x1C => (10..=31).contains(&self.bits),
            0x1D => (1..=32).contains(&self.bits) && self.range.is_some(),
            0x0E | 0x1A => self.bits == 32,
            0x0F | 0x1B => self.bits == 64,
            k => {
                self.dtype()
                    .is_ok_and(|d| d.size() * 8 == self.bits as usize)
                    || k == 0x0B
                    || k == 0x17
            }
        };
        let ok = ok && (!matches!(self.kind, 0x0B | 0x17) || self.bits == 16);
        if !ok {
            return derr(format!(
                "column type {} with {} bits on storage is not valid",
                kind_name(self.kind),
                self.bits
            ));
        }
        Ok(())
    }

    /// Stored as the little-endian values of [`Encoding::dtype`] themselves.
    pub fn is_plain(&self) -> bool {
        matches!(self.kind, 0x01..=0x0A | 0x0C | 0x0D | 0x0F)
    }

    /// Bytes of a page of `n` elements.
    pub fn page_bytes(&self, n: u64) -> u64 {
        (n * self.bits as u64).div_ceil(8)
    }

    /// Decodes one uncompressed page of `n` elements, appending to `out`
    /// (of [`Encoding::dtype`]).
    pub fn decode(&self, page: &[u8], n: usize, out: &mut Values) -> DResult<()> {
        if page.len() as u64 != self.page_bytes(n as u64) {
            return derr(format!(
                "a page of {n} {} elements has {} bytes, expected {}",
                kind_name(self.kind),
                page.len(),
                self.page_bytes(n as u64)
            ));
        }
        let split = matches!(self.kind, 0x11..=0x1B);
        match (self.kind, out) {
            (0x00, Values::Bool(v)) => {
                v.extend((0..n).map(|i| page[i / 8] >> (i % 8) & 1 == 1));
            }
            (0x01 | 0x02 | 0x04, Values::U8(v)) => v.extend_from_slice(page),
            (0x03, Values::I8(v)) => v.extend(page.iter().map(|&b| b as i8)),
            (0x05, Values::I16(v)) => fixed::<i16, 2>(page, n, false, v),
            (0x11, Values::I16(v)) => {
                let mut raw = Vec::with_capacity(n);
                fixed::<u16, 2>(page, n, true, &mut raw);
                v.extend(raw.iter().map(|&x| unzigzag(x as u64) as i16));
            }
            (0x06 | 0x12, Values::U16(v)) => fixed::<u16, 2>(page, n, split, v),
            (0x07, Values::I32(v)) => fixed::<i32, 4>(page, n, false, v),
            (0x13, Values::I32(v)) => {
                let mut raw = Vec::with_capacity(n);
                fixed::<u32, 4>(page, n, true, &mut raw);
                v.extend(raw.iter().map(|&x| unzigzag(x as u64) as i32));
            }
            (0x08 | 0x14, Values::U32(v)) => fixed::<u32, 4>(page, n, split, v),
            (0x09, Values::I64(v)) => fixed::<i64, 8>(page, n, false, v),
            (0x15, Values::I64(v)) => {
                let mut raw = Vec::with_capacity(n);
                fixed::<u64, 8>(page, n, true, &mut raw);
                v.extend(raw.iter().map(|&x| unzigzag(x)));
            }
            (0x0A | 0x16 | 0x0F | 0x1B, Values::U64(v)) => {
                let start = v.len();
                fixed::<u64, 8>(page, n, split, v);
                if self.kind == 0x1B {
                    undelta(&mut v[start..]);
                }
            }
            (0x0E | 0x1A, Values::U64(v)) => {
                let mut raw = Vec::with_capacity(n);
                fixed::<u32, 4>(page, n, split, &mut raw);
                let start = v.len();
                v.extend(raw.iter().map(|&x| x as u64));
                if self.kind == 0x1A {
                    undelta(&mut v[start..]);
                }
            }
            (0x0B | 0x17, Values::F32(v)) => {
                let mut raw = Vec::with_capacity(n);
                fixed::<u16, 2>(page, n, split, &mut raw);
                v.extend(raw.iter().map(|&h| half::f16::from_bits(h).to_f32()));
            }
            (0x0C | 0x18, Values::F32(v)) => fixed::<f32, 4>(page, n, split, v),
            (0x0D | 0x19, Values::F64(v)) => fixed::<f64, 8>(page, n, split, v),
            (0x1C, Values::F32(v)) => {
                let b = self.bits as u32;
                v.extend(unpack(page, n, b).map(|x| f32::from_bits(x << (32 - b))));
            }
            (0x1D, Values::F32(v)) => {
                let (lo, hi) = self.range.expect("checked: quantised columns have a range");
                let levels = ((1u64 << self.bits) - 1) as f64;
                // The order of operations of ROOT's and uproot's readers.
                v.extend(
                    unpack(page, n, self.bits as u32)
                        .map(|q| (lo + q as f64 * (hi - lo) / levels) as f32),
                );
            }
            (k, o) => {
                return derr(format!(
                    "column type {} cannot decode into {}",
                    kind_name(k),
                    o.dtype().name()
                ))
            }
        }
        Ok(())
    }
}

fn unzigzag(x: u64) -> i64 {
    ((x >> 1) as i64) ^ -((x & 1) as i64)
}

/// Little-endian values of `N` bytes, byte-split (all first bytes, then all
/// second bytes, ...) when `split`.
fn fixed<T: FromLe<N>, const N: usize>(page: &[u8], n: usize, split: bool, out: &mut Vec<T>) {
    out.reserve(n);
    if split {
        out.extend((0..n).map(|i| {
            let mut b = [0u8; N];
            for (k, x) in b.iter_mut().enumerate() {
                *x = page[k * n + i];
            }
            T::from_le(b)
        }));
    } else {
        out.extend(
            page.chunks_exact(N)
                .map(|c| T::from_le(c.try_into().expect("N bytes"))),
        );
    }
}

/// Numbers from little-endian bytes.
trait FromLe<const N: usize> {
    fn from_le(b: [u8; N]) -> Self;
}

macro_rules! from_le {
    ($($t:ty => $n:expr),*) => {$(
        impl FromLe<$n> for $t {
            fn from_le(b: [u8; $n]) -> Self {
                <$t>::from_le_bytes(b)
            }
        }
    )*};
}
from_le!(i16 => 2, u16 => 2, i32 => 4, u32 => 4, i64 => 8, u64 => 8, f32 => 4, f64 => 8);

/// Delta decoding within one page: a running sum.
fn undelta(v: &mut [u64]) {
    let mut acc = 0u64;
    for x in v {
        acc = acc.wrapping_add(*x);
        *x = acc;
    }
}

/// `n` values of `bits` bits each from a little-endian bit stream.
fn unpack(page: &[u8], n: usize, bits: u32) -> impl Iterator<Item = u32> + '_ {
    let mask = if bits == 32 {
        u32::MAX
    } else {
        (1u32 << bits) - 1
    };
    (0..n).map(move |i| {
        let bit = i * bits as usize;
        let (byte, shift) = (bit / 8, bit % 8);
        let mut w = [0u8; 8];
        let end = (byte + 8).min(page.len());
        w[..end - byte].copy_from_slice(&page[byte..end]);
        (u64::from_le_bytes(w) >> shift) as u32 & mask
    })
}

/// A zero-filled run of `n` elements (deferred columns before their first
/// element), appended to `out`.
pub(crate) fn zeros(out: &mut Values, n: usize) {
    match out {
        Values::Bool(v) => v.resize(v.len() + n, false),
        Values::I8(v) => v.resize(v.len() + n, 0),
        Values::I16(v) => v.resize(v.len() + n, 0),
        Values::I32(v) => v.resize(v.len() + n, 0),
        Values::I64(v) => v.resize(v.len() + n, 0),
        Values::U8(v) => v.resize(v.len() + n, 0),
        Values::U16(v) => v.resize(v.len() + n, 0),
        Values::U32(v) => v.resize(v.len() + n, 0),
        Values::U64(v) => v.resize(v.len() + n, 0),
        Values::F32(v) => v.resize(v.len() + n, 0.0),
        Values::F64(v) => v.resize(v.len() + n, 0.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(kind: u16, bits: u16) -> Encoding {
        Encoding {
            kind,
            bits,
            range: None,
        }
    }

    #[test]
    fn split_zigzag_and_delta_decode_by_hand() {
        // SplitInt32 of [1, -1, -2]: zigzag [2, 1, 3], bytes split by position.
        let page = [2, 1, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let mut v = Values::empty(DType::I32, 3);
        enc(0x13, 32).decode(&page, 3, &mut v).unwrap();
        assert_eq!(v, Values::I32(vec![1, -1, -2]));
        // SplitIndex32 of deltas [3, 0, 2]: offsets [3, 3, 5].
        let page = [3, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let mut v = Values::empty(DType::U64, 3);
        enc(0x1A, 32).decode(&page, 3, &mut v).unwrap();
        assert_eq!(v, Values::U64(vec![3, 3, 5]));
        // Bits, least significant first: 0b0000_0101 -> true, false, true.
        let mut v = Values::empty(DType::Bool, 3);
        enc(0x00, 1).decode(&[0b101], 3, &mut v).unwrap();
        assert_eq!(v, Values::Bool(vec![true, false, true]));
    }

    #[test]
    fn truncated_and_quantised_floats() {
        // Real32Trunc with 12 bits keeps sign, exponent and 3 mantissa bits:
        // 1.5 = 0x3FC00000, whose top 12 bits are 0x3FC.
        let mut v = Values::empty(DType::F32, 2);
        // Two 12-bit values 0x3FC, 0x3FC packed little-endian: 24 bits.
        enc(0x1C, 12)
            .decode(&[0xFC, 0xC3, 0x3F], 2, &mut v)
            .unwrap();
        assert_eq!(v, Values::F32(vec![1.5, 1.5]));
        // Real32Quant, 8 bits over [-1, 1]: 0 -> -1, 255 -> 1, 51 -> -0.6.
        let q = Encoding {
            kind: 0x1D,
            bits: 8,
            range: Some((-1.0, 1.0)),
        };
        let mut v = Values::empty(DType::F32, 3);
        q.decode(&[0, 255, 51], 3, &mut v).unwrap();
        assert_eq!(
            v,
            Values::F32(vec![-1.0, 1.0, (-1.0 + 51.0 * 2.0 / 255.0) as f32])
        );
    }

    #[test]
    fn unknown_types_and_bad_widths_are_named() {
        let e = enc(0x30, 32).dtype().unwrap_err().0;
        assert!(e.contains("unknown (0x30)"), "{e}");
        let e = enc(0x10, 96).dtype().unwrap_err().0;
        assert!(e.contains("Switch"), "{e}");
        let e = enc(0x0C, 16).check().unwrap_err().0;
        assert!(e.contains("Real32 with 16 bits"), "{e}");
        assert!(enc(0x1C, 9).check().is_err());
        assert!(
            enc(0x1D, 8).check().is_err(),
            "a quantised column needs its range"
        );
        // A page whose size does not fit its element count.
        let mut v = Values::empty(DType::F32, 2);
        assert!(enc(0x0C, 32).decode(&[0; 7], 2, &mut v).is_err());
    }
}
