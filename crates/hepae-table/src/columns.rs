//! Column views shared by the stages that do arithmetic on tables, the
//! names of the label columns, and the gzip baseline of the Baler thesis.

use arrow_array::{ArrayRef, RecordBatch};

/// Columns that label rows (which event, which input file) rather than
/// describe objects: never modelled, always stored exactly.
pub const LABEL_COLUMNS: [&str; 2] = ["event", "file_index"];

/// The event-number label column.
pub const EVENT: &str = "event";

/// The input-file label column.
pub const FILE_INDEX: &str = "file_index";

/// Values of a numeric or boolean column as f64 (exact up to 2^53), or
/// `None` for other types. Shared by the stages that do arithmetic on tables.
pub fn numeric_f64(a: &ArrayRef) -> Option<Vec<f64>> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::*;
    use arrow_schema::DataType as D;
    macro_rules! p {
        ($t:ty) => {
            a.as_primitive::<$t>()
                .values()
                .iter()
                .map(|v| *v as f64)
                .collect()
        };
    }
    Some(match a.data_type() {
        D::Float32 => p!(Float32Type),
        D::Float64 => p!(Float64Type),
        D::Int8 => p!(Int8Type),
        D::Int16 => p!(Int16Type),
        D::Int32 => p!(Int32Type),
        D::Int64 => p!(Int64Type),
        D::UInt8 => p!(UInt8Type),
        D::UInt16 => p!(UInt16Type),
        D::UInt32 => p!(UInt32Type),
        D::UInt64 => p!(UInt64Type),
        D::Boolean => a
            .as_boolean()
            .iter()
            .map(|v| v.unwrap_or(false) as u8 as f64)
            .collect(),
        _ => return None,
    })
}

/// Bytes of the numeric columns as a row-major float32 table, and of its
/// gzip -9 (libdeflate level 9, gzip container): the baseline of the thesis.
pub fn gzip9_of_raw_float32(batch: &RecordBatch) -> (u64, u64) {
    let cols: Vec<Vec<f64>> = batch.columns().iter().filter_map(numeric_f64).collect();
    let rows = batch.num_rows();
    let mut raw = Vec::with_capacity(rows * cols.len() * 4);
    for i in 0..rows {
        for c in &cols {
            raw.extend((c[i] as f32).to_le_bytes());
        }
    }
    let level = libdeflater::CompressionLvl::new(9).expect("9 is a valid level");
    let mut comp = libdeflater::Compressor::new(level);
    let mut buf = vec![0u8; comp.gzip_compress_bound(raw.len())];
    // The buffer holds the compressor's own bound, so this cannot run out of space.
    let n = comp
        .gzip_compress(&raw, &mut buf)
        .expect("gzip_compress_bound is enough");
    (raw.len() as u64, n as u64)
}
