//! The in-memory table and the Arrow form of ROOT value buffers.

use super::*;

/// A table in memory: the columns and the report describing them.
pub struct Table {
    /// One Arrow batch per input file, in input order, all with the same
    /// schema (object columns, then `event`, `file_index`); some may be empty.
    /// Kept apart so that each file's buffers are cut in place, never copied
    /// into one table; [`hepae_table::write_parquet_parts_atomic`] writes them as one.
    pub parts: Vec<RecordBatch>,
    /// Report of the stage.
    pub report: IngestReport,
}

impl Table {
    /// Rows over all parts.
    pub fn num_rows(&self) -> usize {
        self.parts.iter().map(|b| b.num_rows()).sum()
    }

    /// Columns of the table.
    pub fn num_columns(&self) -> usize {
        self.parts[0].num_columns()
    }

    /// The parts as one batch (concatenated, unless there is only one).
    pub fn to_batch(&self) -> RecordBatch {
        hepae_table::concat(&self.parts[0].schema(), &self.parts).expect("parts share one schema")
    }
}

/// Arrow type of a ROOT value type.
pub(crate) fn arrow_type(d: DType) -> arrow_schema::DataType {
    to_arrow(Values::empty(d, 0)).data_type().clone()
}

/// Arrow array of a value buffer, keeping its exact type.
pub fn to_arrow(v: Values) -> ArrayRef {
    use arrow_array::*;
    match v {
        Values::Bool(x) => Arc::new(BooleanArray::from(x)),
        Values::I8(x) => Arc::new(Int8Array::from(x)),
        Values::I16(x) => Arc::new(Int16Array::from(x)),
        Values::I32(x) => Arc::new(Int32Array::from(x)),
        Values::I64(x) => Arc::new(Int64Array::from(x)),
        Values::U8(x) => Arc::new(UInt8Array::from(x)),
        Values::U16(x) => Arc::new(UInt16Array::from(x)),
        Values::U32(x) => Arc::new(UInt32Array::from(x)),
        Values::U64(x) => Arc::new(UInt64Array::from(x)),
        Values::F32(x) => Arc::new(Float32Array::from(x)),
        Values::F64(x) => Arc::new(Float64Array::from(x)),
    }
}
