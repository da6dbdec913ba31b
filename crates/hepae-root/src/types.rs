//! Numeric element types and typed column buffers.

use std::ops::{Range, RangeInclusive};

/// Element type of a numeric branch, as stored (big-endian) in ROOT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DType {
    /// 1-byte boolean.
    Bool,
    /// signed 8-bit.
    I8,
    /// signed 16-bit.
    I16,
    /// signed 32-bit.
    I32,
    /// signed 64-bit.
    I64,
    /// unsigned 8-bit.
    U8,
    /// unsigned 16-bit.
    U16,
    /// unsigned 32-bit.
    U32,
    /// unsigned 64-bit.
    U64,
    /// 32-bit float.
    F32,
    /// 64-bit float.
    F64,
}

impl DType {
    /// Bytes per value on disk.
    pub fn size(self) -> usize {
        match self {
            DType::Bool | DType::I8 | DType::U8 => 1,
            DType::I16 | DType::U16 => 2,
            DType::I32 | DType::U32 | DType::F32 => 4,
            DType::I64 | DType::U64 | DType::F64 => 8,
        }
    }

    /// Short name (numpy style).
    pub fn name(self) -> &'static str {
        match self {
            DType::Bool => "bool",
            DType::I8 => "int8",
            DType::I16 => "int16",
            DType::I32 => "int32",
            DType::I64 => "int64",
            DType::U8 => "uint8",
            DType::U16 => "uint16",
            DType::U32 => "uint32",
            DType::U64 => "uint64",
            DType::F32 => "float32",
            DType::F64 => "float64",
        }
    }

    /// True for integer and boolean types.
    pub fn is_integer(self) -> bool {
        !matches!(self, DType::F32 | DType::F64)
    }

    /// From ROOT's EDataType code (TStreamerElement / TLeafElement fType).
    pub fn from_root_code(code: i32) -> Option<DType> {
        Some(match code {
            1 => DType::I8,
            2 => DType::I16,
            3 | 6 => DType::I32,
            4 | 16 => DType::I64,
            5 => DType::F32,
            8 => DType::F64,
            11 => DType::U8,
            12 => DType::U16,
            13 | 15 => DType::U32,
            14 | 17 => DType::U64,
            18 => DType::Bool,
            _ => return None,
        })
    }

    /// From a C++ type name as used in `vector<T>` class names.
    pub fn from_cpp(name: &str) -> Option<DType> {
        Some(match name.trim() {
            "bool" | "Bool_t" => DType::Bool,
            "char" | "Char_t" | "signed char" | "int8_t" => DType::I8,
            "unsigned char" | "UChar_t" | "uint8_t" => DType::U8,
            "short" | "Short_t" | "int16_t" => DType::I16,
            "unsigned short" | "UShort_t" | "uint16_t" => DType::U16,
            "int" | "Int_t" | "int32_t" => DType::I32,
            "unsigned int" | "UInt_t" | "uint32_t" | "unsigned" => DType::U32,
            "long" | "Long_t" | "long long" | "Long64_t" | "int64_t" => DType::I64,
            "unsigned long" | "ULong_t" | "unsigned long long" | "ULong64_t" | "uint64_t" => {
                DType::U64
            }
            "float" | "Float_t" => DType::F32,
            "double" | "Double_t" => DType::F64,
            _ => return None,
        })
    }
}

/// A typed, flat buffer of decoded values.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub enum Values {
    Bool(Vec<bool>),
    I8(Vec<i8>),
    I16(Vec<i16>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    U8(Vec<u8>),
    U16(Vec<u16>),
    U32(Vec<u32>),
    U64(Vec<u64>),
    F32(Vec<f32>),
    F64(Vec<f64>),
}

/// Applies an expression to the inner vector of any [`Values`] variant.
#[macro_export]
macro_rules! with_values {
    ($v:expr, $x:ident => $body:expr) => {
        match $v {
            $crate::Values::Bool($x) => $body,
            $crate::Values::I8($x) => $body,
            $crate::Values::I16($x) => $body,
            $crate::Values::I32($x) => $body,
            $crate::Values::I64($x) => $body,
            $crate::Values::U8($x) => $body,
            $crate::Values::U16($x) => $body,
            $crate::Values::U32($x) => $body,
            $crate::Values::U64($x) => $body,
            $crate::Values::F32($x) => $body,
            $crate::Values::F64($x) => $body,
        }
    };
}

/// The maximal runs of `true` in a row mask, as index ranges.
pub fn kept_runs(keep: &[bool]) -> Vec<Range<usize>> {
    let mut runs = Vec::new();
    let mut i = 0;
    while let Some(a) = keep[i..].iter().position(|k| *k).map(|a| a + i) {
        let b = keep[a..]
            .iter()
            .position(|k| !*k)
            .map_or(keep.len(), |b| b + a);
        runs.push(a..b);
        i = b;
    }
    runs
}

impl Values {
    /// Removes every value, keeping the buffer.
    pub(crate) fn clear(&mut self) {
        match self {
            Values::Bool(v) => v.clear(),
            Values::I8(v) => v.clear(),
            Values::I16(v) => v.clear(),
            Values::I32(v) => v.clear(),
            Values::I64(v) => v.clear(),
            Values::U8(v) => v.clear(),
            Values::U16(v) => v.clear(),
            Values::U32(v) => v.clear(),
            Values::U64(v) => v.clear(),
            Values::F32(v) => v.clear(),
            Values::F64(v) => v.clear(),
        }
    }

    /// Empty buffer of a type.
    pub fn empty(dtype: DType, capacity: usize) -> Values {
        match dtype {
            DType::Bool => Values::Bool(Vec::with_capacity(capacity)),
            DType::I8 => Values::I8(Vec::with_capacity(capacity)),
            DType::I16 => Values::I16(Vec::with_capacity(capacity)),
            DType::I32 => Values::I32(Vec::with_capacity(capacity)),
            DType::I64 => Values::I64(Vec::with_capacity(capacity)),
            DType::U8 => Values::U8(Vec::with_capacity(capacity)),
            DType::U16 => Values::U16(Vec::with_capacity(capacity)),
            DType::U32 => Values::U32(Vec::with_capacity(capacity)),
            DType::U64 => Values::U64(Vec::with_capacity(capacity)),
            DType::F32 => Values::F32(Vec::with_capacity(capacity)),
            DType::F64 => Values::F64(Vec::with_capacity(capacity)),
        }
    }

    /// Element type.
    pub fn dtype(&self) -> DType {
        match self {
            Values::Bool(_) => DType::Bool,
            Values::I8(_) => DType::I8,
            Values::I16(_) => DType::I16,
            Values::I32(_) => DType::I32,
            Values::I64(_) => DType::I64,
            Values::U8(_) => DType::U8,
            Values::U16(_) => DType::U16,
            Values::U32(_) => DType::U32,
            Values::U64(_) => DType::U64,
            Values::F32(_) => DType::F32,
            Values::F64(_) => DType::F64,
        }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        with_values!(self, v => v.len())
    }

    /// True when there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Value `i` widened to f64 (for statistics and cuts).
    pub fn get_f64(&self, i: usize) -> f64 {
        match self {
            Values::Bool(v) => v[i] as u8 as f64,
            Values::I8(v) => v[i] as f64,
            Values::I16(v) => v[i] as f64,
            Values::I32(v) => v[i] as f64,
            Values::I64(v) => v[i] as f64,
            Values::U8(v) => v[i] as f64,
            Values::U16(v) => v[i] as f64,
            Values::U32(v) => v[i] as f64,
            Values::U64(v) => v[i] as f64,
            Values::F32(v) => v[i] as f64,
            Values::F64(v) => v[i],
        }
    }

    /// Clears `keep[i]` where value `i` (widened to f64 as [`Values::get_f64`]
    /// does) lies outside `range`; NaN is outside every range.
    pub fn retain_in_range(&self, range: &RangeInclusive<f64>, keep: &mut [bool]) {
        fn go<T: Copy>(v: &[T], keep: &mut [bool], f: impl Fn(T) -> f64, r: &RangeInclusive<f64>) {
            for (k, &x) in keep.iter_mut().zip(v) {
                *k &= r.contains(&f(x));
            }
        }
        match self {
            Values::Bool(v) => go(v, keep, |x| x as u8 as f64, range),
            Values::I8(v) => go(v, keep, |x| x as f64, range),
            Values::I16(v) => go(v, keep, |x| x as f64, range),
            Values::I32(v) => go(v, keep, |x| x as f64, range),
            Values::I64(v) => go(v, keep, |x| x as f64, range),
            Values::U8(v) => go(v, keep, |x| x as f64, range),
            Values::U16(v) => go(v, keep, |x| x as f64, range),
            Values::U32(v) => go(v, keep, |x| x as f64, range),
            Values::U64(v) => go(v, keep, |x| x as f64, range),
            Values::F32(v) => go(v, keep, |x| x as f64, range),
            Values::F64(v) => go(v, keep, |x| x, range),
        }
    }

    /// Indices of NaN or infinite values (empty for integer types).
    pub fn nonfinite_indices(&self) -> Vec<usize> {
        fn go<T: Copy>(v: &[T], finite: impl Fn(T) -> bool + Copy) -> Vec<usize> {
            // A branch-free scan first: almost every column is all finite.
            if v.iter().fold(true, |a, &x| a & finite(x)) {
                return Vec::new();
            }
            (0..v.len()).filter(|&i| !finite(v[i])).collect()
        }
        match self {
            Values::F32(v) => go(v, f32::is_finite),
            Values::F64(v) => go(v, f64::is_finite),
            _ => Vec::new(),
        }
    }

    /// Keeps the values in `runs` (ascending, disjoint ranges of indices, as
    /// [`kept_runs`] gives), in place: one block move per run, so a cut that
    /// removes a few rows costs a few `memmove`s, not a test per value.
    pub fn retain_runs(&mut self, runs: &[Range<usize>]) {
        with_values!(self, v => {
            let mut w = 0;
            for r in runs {
                assert!(w <= r.start && r.start <= r.end && r.end <= v.len(), "runs out of order or out of range");
                v.copy_within(r.clone(), w);
                w += r.len();
            }
            v.truncate(w);
        })
    }

    /// True when every value is zero (false for an empty buffer's negation: true).
    pub fn all_zero(&self) -> bool {
        match self {
            Values::Bool(v) => v.iter().all(|x| !*x),
            Values::F32(v) => v.iter().all(|x| *x == 0.0),
            Values::F64(v) => v.iter().all(|x| *x == 0.0),
            Values::I8(v) => v.iter().all(|x| *x == 0),
            Values::I16(v) => v.iter().all(|x| *x == 0),
            Values::I32(v) => v.iter().all(|x| *x == 0),
            Values::I64(v) => v.iter().all(|x| *x == 0),
            Values::U8(v) => v.iter().all(|x| *x == 0),
            Values::U16(v) => v.iter().all(|x| *x == 0),
            Values::U32(v) => v.iter().all(|x| *x == 0),
            Values::U64(v) => v.iter().all(|x| *x == 0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{kept_runs, Values};

    /// Runs and in-place retention agree with filtering value by value,
    /// for masks that start or end either way, are empty, or keep nothing.
    #[test]
    fn retain_runs_equals_filtering_by_mask() {
        let masks: [&[bool]; 6] = [
            &[true, true, false, true, false, false, true],
            &[false, true, true, true, false, true, false],
            &[false, false],
            &[true, true, true],
            &[],
            &[false, true],
        ];
        for keep in masks {
            let runs = kept_runs(keep);
            assert_eq!(
                runs.iter().map(|r| r.len()).sum::<usize>(),
                keep.iter().filter(|k| **k).count()
            );
            let data: Vec<i64> = (0..keep.len() as i64).map(|i| i * 10 - 3).collect();
            let want: Vec<i64> = data
                .iter()
                .zip(keep)
                .filter(|(_, k)| **k)
                .map(|(v, _)| *v)
                .collect();
            let mut v = Values::I64(data);
            v.retain_runs(&runs);
            assert_eq!(v, Values::I64(want), "mask {keep:?}");
        }
        assert_eq!(kept_runs(&[true, false, true, true]), [0..1, 2..4]);
    }

    #[test]
    fn range_cuts_are_inclusive_and_reject_nan() {
        let v = Values::F32(vec![0.5, 1.0, 2.0, f32::NAN, 8000.0, 8000.5]);
        let mut keep = vec![true; 6];
        v.retain_in_range(&(1.0..=8000.0), &mut keep);
        assert_eq!(keep, [false, true, true, false, true, false]);
        // Cuts combine: rows already dropped stay dropped.
        let n = Values::I32(vec![0, 1, 5, 1, 3, 3]);
        n.retain_in_range(&(2.0..=3.0), &mut keep);
        assert_eq!(keep, [false, false, false, false, true, false]);
        let b = Values::Bool(vec![true, false]);
        let mut k = vec![true; 2];
        b.retain_in_range(&(1.0..=1.0), &mut k);
        assert_eq!(k, [true, false]);
    }

    #[test]
    fn nonfinite_indices_find_every_nan_and_inf() {
        let v = Values::F64(vec![1.0, f64::INFINITY, 0.0, f64::NAN, -f64::INFINITY]);
        assert_eq!(v.nonfinite_indices(), [1, 3, 4]);
        assert!(Values::F32(vec![0.0, -1.5, f32::MAX])
            .nonfinite_indices()
            .is_empty());
        assert!(Values::I64(vec![i64::MIN, 0])
            .nonfinite_indices()
            .is_empty());
    }
}
