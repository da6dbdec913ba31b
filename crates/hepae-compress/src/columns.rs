//! The numeric column types the codec models, and conversions between
//! Arrow columns and exact f64 values.

use crate::quant;
use arrow_array::types::*;
use arrow_array::{ArrayRef, BooleanArray, PrimitiveArray};
use arrow_schema::DataType;
use std::sync::Arc;

/// Lower-case name of a numeric Arrow type (`float32`, `int64`, `bool`), if the
/// autoencoder can model it.
pub fn dtype_name(dt: &DataType) -> Option<&'static str> {
    Some(match dt {
        DataType::Float32 => "float32",
        DataType::Float64 => "float64",
        DataType::Int8 => "int8",
        DataType::Int16 => "int16",
        DataType::Int32 => "int32",
        DataType::Int64 => "int64",
        DataType::UInt8 => "uint8",
        DataType::UInt16 => "uint16",
        DataType::UInt32 => "uint32",
        DataType::UInt64 => "uint64",
        DataType::Boolean => "bool",
        _ => return None,
    })
}

/// Output representation of a modelled dtype.
pub(crate) fn out_kind(dtype: &str) -> quant::OutKind {
    use quant::OutKind::*;
    let int = |min: f64, max: f64| Int { min, max };
    match dtype {
        "float32" => F32,
        "float64" => F64,
        "int8" => int(i8::MIN as f64, i8::MAX as f64),
        "int16" => int(i16::MIN as f64, i16::MAX as f64),
        "int32" => int(i32::MIN as f64, i32::MAX as f64),
        "int64" => int(i64::MIN as f64, i64::MAX as f64),
        "uint8" => int(0.0, u8::MAX as f64),
        "uint16" => int(0.0, u16::MAX as f64),
        "uint32" => int(0.0, u32::MAX as f64),
        "uint64" => int(0.0, u64::MAX as f64),
        "bool" => int(0.0, 1.0),
        _ => F64,
    }
}

/// Exact values of a numeric column as f64 (64-bit integers beyond 2^53 are
/// reported by the caller's range check).
pub(crate) fn column_f64(a: &ArrayRef) -> Option<Vec<f64>> {
    hepae_table::numeric_f64(a)
}

/// Builds a column of `dtype` from values already representable in it.
pub(crate) fn array_from_f64(dtype: &str, v: &[f64]) -> Option<ArrayRef> {
    macro_rules! prim {
        ($t:ty, $n:ty) => {
            Arc::new(PrimitiveArray::<$t>::from_iter_values(
                v.iter().map(|x| *x as $n),
            )) as ArrayRef
        };
    }
    Some(match dtype {
        "float32" => prim!(Float32Type, f32),
        "float64" => prim!(Float64Type, f64),
        "int8" => prim!(Int8Type, i8),
        "int16" => prim!(Int16Type, i16),
        "int32" => prim!(Int32Type, i32),
        "int64" => prim!(Int64Type, i64),
        "uint8" => prim!(UInt8Type, u8),
        "uint16" => prim!(UInt16Type, u16),
        "uint32" => prim!(UInt32Type, u32),
        "uint64" => prim!(UInt64Type, u64),
        "bool" => Arc::new(BooleanArray::from_iter(v.iter().map(|x| Some(*x != 0.0)))),
        _ => return None,
    })
}
