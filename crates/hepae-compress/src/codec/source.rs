//! Typed read access to the columns being coded, without copying them.

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::ArrayRef;
use arrow_schema::DataType;

/// One numeric column's values.
pub enum Raw<'a> {
    /// float32.
    F32(&'a [f32]),
    /// float64.
    F64(&'a [f64]),
    /// Any integer dtype, widened on read.
    Int(Box<dyn Fn(usize) -> i64 + Sync + 'a>),
}

impl<'a> Raw<'a> {
    /// The values of `a`, or `None` for a type the codec does not code
    /// (booleans, text; uint64 beyond int64 goes to passthrough too).
    pub fn of(a: &'a ArrayRef) -> Option<Raw<'a>> {
        macro_rules! int {
            ($t:ty) => {{
                let v = a.as_primitive::<$t>().values();
                Raw::Int(Box::new(move |i| v[i] as i64))
            }};
        }
        Some(match a.data_type() {
            DataType::Float32 => Raw::F32(a.as_primitive::<Float32Type>().values()),
            DataType::Float64 => Raw::F64(a.as_primitive::<Float64Type>().values()),
            DataType::Int8 => int!(Int8Type),
            DataType::Int16 => int!(Int16Type),
            DataType::Int32 => int!(Int32Type),
            DataType::Int64 => int!(Int64Type),
            DataType::UInt8 => int!(UInt8Type),
            DataType::UInt16 => int!(UInt16Type),
            DataType::UInt32 => int!(UInt32Type),
            DataType::UInt64 => {
                let v = a.as_primitive::<UInt64Type>().values();
                if v.iter().any(|&x| x > i64::MAX as u64) {
                    return None;
                }
                Raw::Int(Box::new(move |i| v[i] as i64))
            }
            _ => return None,
        })
    }

    /// True for integer columns.
    pub fn is_int(&self) -> bool {
        matches!(self, Raw::Int(_))
    }

    /// Value `i` as f64 (floats) or exactly as i64 (integers).
    pub fn f64(&self, i: usize) -> f64 {
        match self {
            Raw::F32(v) => v[i] as f64,
            Raw::F64(v) => v[i],
            Raw::Int(f) => f(i) as f64,
        }
    }

    /// Value `i` of an integer column.
    pub fn i64(&self, i: usize) -> i64 {
        match self {
            Raw::Int(f) => f(i),
            _ => self.f64(i) as i64,
        }
    }

    /// The output cast of a restored float value.
    pub fn cast(&self, v: f64) -> f64 {
        match self {
            Raw::F32(_) => v as f32 as f64,
            _ => v,
        }
    }
}

/// The output cast of a float dtype, by name (decoder side).
pub fn cast_of(dtype: &str) -> fn(f64) -> f64 {
    match dtype {
        "float32" => |v| v as f32 as f64,
        _ => |v| v,
    }
}
