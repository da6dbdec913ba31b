//! zstd Parquet and JSON output written atomically (temp file, then rename),
//! so that a failed run never leaves a half-written file.

use crate::atomic::write_file_atomic;
use crate::error::{Result, TableError};
use arrow_array::{ArrayRef, RecordBatch, RecordBatchReader};
use arrow_schema::{DataType, Schema, SchemaRef};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::arrow_writer::{
    compute_leaves, ArrowColumnChunk, ArrowColumnWriter, ArrowRowGroupWriterFactory,
};
use parquet::arrow::{add_encoded_arrow_schema_to_metadata, ArrowSchemaConverter};
use parquet::basic::{Compression, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use rayon::prelude::*;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Default zstd level: on float physics data levels above 1 shrink files by
/// well under 1% at a third more CPU time (measured on the HEP1 stand-in).
pub const DEFAULT_ZSTD_LEVEL: i32 = 1;

/// How a table is encoded in Parquet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParquetOptions {
    /// zstd level.
    pub zstd_level: i32,
    /// Dictionary encoding: pays off for small integer alphabets (residual
    /// codes), not for continuous physics values.
    pub dictionary: bool,
    /// BYTE_STREAM_SPLIT for floating-point columns: groups exponent bytes so
    /// zstd finds them (smaller latent files).
    pub byte_stream_split: bool,
}

impl ParquetOptions {
    /// Plain encoding, zstd at `zstd_level`.
    pub fn zstd(zstd_level: i32) -> ParquetOptions {
        ParquetOptions {
            zstd_level,
            dictionary: false,
            byte_stream_split: false,
        }
    }
}

/// Writes `batch` as zstd Parquet (level `zstd_level`) at `path` with key/value metadata.
/// Columns are encoded and compressed in parallel (one rayon task per column
/// and row group); the bytes do not depend on the thread count.
pub fn write_parquet_atomic(
    batch: &RecordBatch,
    path: &Path,
    metadata: &[(String, String)],
    zstd_level: i32,
) -> Result<()> {
    write_parquet_atomic_with(batch, path, metadata, &ParquetOptions::zstd(zstd_level))
}

/// [`write_parquet_atomic`] for a table held in parts of one schema (e.g. one
/// per input file): the file is the same as for the parts concatenated, up to
/// where pages end.
pub fn write_parquet_parts_atomic(
    parts: &[RecordBatch],
    path: &Path,
    metadata: &[(String, String)],
    zstd_level: i32,
) -> Result<()> {
    write_atomic(parts, path, metadata, &ParquetOptions::zstd(zstd_level))
}

/// The Parquet file [`write_parquet_atomic`] would write, in memory (for size baselines).
pub fn parquet_bytes(batch: &RecordBatch, options: &ParquetOptions) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    write_parquet(std::slice::from_ref(batch), &mut buf, &[], options)
        .map_err(|e| TableError::parquet(Path::new("(in-memory Parquet)"), e))?;
    Ok(buf)
}

/// [`write_parquet_atomic`] with explicit encoding options.
pub fn write_parquet_atomic_with(
    batch: &RecordBatch,
    path: &Path,
    metadata: &[(String, String)],
    options: &ParquetOptions,
) -> Result<()> {
    write_atomic(std::slice::from_ref(batch), path, metadata, options)
}

fn write_atomic(
    parts: &[RecordBatch],
    path: &Path,
    metadata: &[(String, String)],
    options: &ParquetOptions,
) -> Result<()> {
    write_file_atomic(path, |w| write_parquet(parts, w, metadata, options))
}

const ROW_GROUP_ROWS: usize = 1 << 20;

/// Rows handed to a column writer at once (a multiple of its 1024-row batches).
const WRITE_SLICE_ROWS: usize = 1 << 16;

/// Parquet leaf columns an Arrow type becomes (one per primitive inside it).
fn leaf_count(dt: &DataType) -> usize {
    match dt {
        DataType::Struct(fields) => fields.iter().map(|f| leaf_count(f.data_type())).sum(),
        DataType::List(f)
        | DataType::LargeList(f)
        | DataType::ListView(f)
        | DataType::LargeListView(f)
        | DataType::FixedSizeList(f, _)
        | DataType::Map(f, _) => leaf_count(f.data_type()),
        DataType::Dictionary(_, v) => leaf_count(v),
        DataType::RunEndEncoded(_, v) => leaf_count(v.data_type()),
        _ => 1,
    }
}

/// Writer properties for `options`, with the key/value `metadata` and the
/// exact Arrow types of `schema` (int16, uint64, ...) for Arrow-based readers.
pub(crate) fn properties(
    schema: &Schema,
    metadata: &[(String, String)],
    options: &ParquetOptions,
) -> std::result::Result<WriterProperties, ParquetError> {
    let kv = metadata
        .iter()
        .map(|(k, v)| parquet::file::metadata::KeyValue::new(k.clone(), v.clone()))
        .collect();
    let mut builder = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(options.zstd_level)?))
        .set_dictionary_enabled(options.dictionary)
        .set_key_value_metadata(Some(kv));
    if options.byte_stream_split {
        for f in schema.fields() {
            if f.data_type().is_floating() {
                builder = builder.set_column_encoding(
                    parquet::schema::types::ColumnPath::from(f.name().as_str()),
                    parquet::basic::Encoding::BYTE_STREAM_SPLIT,
                );
            }
        }
    }
    let mut props = builder.build();
    add_encoded_arrow_schema_to_metadata(schema, &mut props);
    Ok(props)
}

/// A Parquet file writer for `schema` (converted as `props` asks) onto `out`.
fn file_writer<W: std::io::Write + Send>(
    schema: &Schema,
    props: WriterProperties,
    out: W,
) -> std::result::Result<SerializedFileWriter<W>, ParquetError> {
    let parquet_schema = ArrowSchemaConverter::new()
        .with_coerce_types(props.coerce_types())
        .convert(schema)?;
    SerializedFileWriter::new(out, parquet_schema.root_schema_ptr(), Arc::new(props))
}

/// One field's encoded column chunks: per row group, one per Parquet leaf.
pub struct EncodedField(Vec<Vec<ArrowColumnChunk>>);

/// Encodes the fields of a table one at a time, in any order and from any
/// thread, then writes the fields chosen at the end as one Parquet file.
/// This lets a column be encoded (and its buffers freed) as soon as it is
/// read, before it is known which columns the file will hold.
pub struct ColumnEncoder {
    schema: SchemaRef,
    options: ParquetOptions,
    rows: usize,
    /// Per field, its leaf writers for each row group (taken by `encode`).
    writers: Vec<Mutex<Option<Vec<Vec<ArrowColumnWriter>>>>>,
}

impl ColumnEncoder {
    /// An encoder for a table of `schema` with `rows` rows in all.
    pub fn new(
        schema: SchemaRef,
        rows: usize,
        options: &ParquetOptions,
    ) -> std::result::Result<ColumnEncoder, ParquetError> {
        // Only hands out column writers; the chunks go to the real file later.
        let sink = file_writer(&schema, properties(&schema, &[], options)?, std::io::sink())?;
        let factory = ArrowRowGroupWriterFactory::new(&sink, Arc::clone(&schema));
        let groups = rows.div_ceil(ROW_GROUP_ROWS).max(1);
        let mut per_field: Vec<Vec<Vec<ArrowColumnWriter>>> = schema
            .fields()
            .iter()
            .map(|_| Vec::with_capacity(groups))
            .collect();
        for g in 0..groups {
            let mut ws = factory.create_column_writers(g)?.into_iter();
            for (field, slot) in schema.fields().iter().zip(&mut per_field) {
                let n = leaf_count(field.data_type());
                let leaves: Vec<_> = ws.by_ref().take(n).collect();
                if leaves.len() != n {
                    return Err(ParquetError::General(format!(
                        "column '{}': fewer Parquet column writers than leaves",
                        field.name()
                    )));
                }
                slot.push(leaves);
            }
            if ws.next().is_some() {
                return Err(ParquetError::General(
                    "more Parquet column writers than leaves in the schema".into(),
                ));
            }
        }
        Ok(ColumnEncoder {
            schema,
            options: *options,
            rows,
            writers: per_field.into_iter().map(|w| Mutex::new(Some(w))).collect(),
        })
    }

    /// Encodes field `index` from its parts (in row order, `rows` in all),
    /// cutting row groups every 2^20 rows across part boundaries.
    pub fn encode(
        &self,
        index: usize,
        parts: &[&ArrayRef],
    ) -> std::result::Result<EncodedField, ParquetError> {
        let field = self.schema.field(index);
        let groups = self.writers[index]
            .lock()
            .map_err(|_| ParquetError::General("column writer lock poisoned".into()))?
            .take()
            .ok_or_else(|| {
                ParquetError::General(format!("column '{}' encoded twice", field.name()))
            })?;
        let total: usize = parts.iter().map(|a| a.len()).sum();
        if total != self.rows {
            return Err(ParquetError::General(format!(
                "column '{}': {total} rows, the table has {}",
                field.name(),
                self.rows
            )));
        }
        let mut out = Vec::with_capacity(groups.len());
        let mut start = 0;
        for mut ws in groups {
            let len = ROW_GROUP_ROWS.min(self.rows - start);
            let mut offset = 0;
            let mut wrote = false;
            for a in parts {
                let (lo, hi) = (start.max(offset), (start + len).min(offset + a.len()));
                let mut at = lo;
                // Written in slices: the writer's level and index buffers grow
                // with what one call gets (8 bytes a row), so slices keep them
                // small and warm. An empty table still gets one empty write.
                while at < hi || (self.rows == 0 && !wrote) {
                    let n = WRITE_SLICE_ROWS.min(hi.saturating_sub(at));
                    let leaves = compute_leaves(field, &a.slice(at - offset, n))?;
                    if leaves.len() != ws.len() {
                        // Never write a file with a column silently missing.
                        return Err(ParquetError::General(format!(
                            "column '{}': {} Parquet leaves but {} column writers",
                            field.name(),
                            leaves.len(),
                            ws.len()
                        )));
                    }
                    for (w, leaf) in ws.iter_mut().zip(leaves) {
                        w.write(&leaf)?;
                    }
                    wrote = true;
                    at += n;
                }
                offset += a.len();
            }
            out.push(
                ws.into_iter()
                    .map(|w| w.close())
                    .collect::<std::result::Result<Vec<_>, _>>()?,
            );
            start += len;
        }
        Ok(EncodedField(out))
    }

    /// Writes a Parquet file holding the fields `kept` (indices into the
    /// schema, ascending), with key/value `metadata`, from `fields` as they
    /// arrive, in any order: the first row group's chunks are appended as
    /// soon as every earlier column's are, so the file is written while later
    /// columns are still being encoded. Fails if `fields` ends before every
    /// kept field came, or brings one not kept.
    pub fn write_fields<W: std::io::Write + Send>(
        &self,
        kept: &[usize],
        fields: impl Iterator<Item = (usize, EncodedField)>,
        out: W,
        metadata: &[(String, String)],
    ) -> std::result::Result<(), ParquetError> {
        if kept.windows(2).any(|w| w[0] >= w[1])
            || kept.iter().any(|i| *i >= self.schema.fields().len())
        {
            return Err(ParquetError::General("kept fields out of order".into()));
        }
        let schema = Schema::new_with_metadata(
            kept.iter()
                .map(|i| self.schema.field(*i).clone())
                .collect::<Vec<_>>(),
            self.schema.metadata().clone(),
        );
        let props = properties(&schema, metadata, &self.options)?;
        let mut writer = file_writer(&schema, props, out)?;
        // Per kept field, its chunks of the row groups after the first.
        let mut later: Vec<Option<std::vec::IntoIter<Vec<ArrowColumnChunk>>>> =
            kept.iter().map(|_| None).collect();
        let mut waiting = std::collections::BTreeMap::new();
        let mut next = 0;
        let mut rg = writer.next_row_group()?;
        for (i, field) in fields {
            let p = kept.binary_search(&i).map_err(|_| {
                ParquetError::General(format!("column {i} is not one of the file's"))
            })?;
            waiting.insert(p, field);
            while let Some(field) = waiting.remove(&next) {
                let mut groups = field.0.into_iter();
                for chunk in groups
                    .next()
                    .ok_or_else(|| ParquetError::General("a column with no row group".into()))?
                {
                    chunk.append_to_row_group(&mut rg)?;
                }
                later[next] = Some(groups);
                next += 1;
            }
        }
        if next != kept.len() {
            return Err(ParquetError::General(format!(
                "{} of {} columns encoded",
                next,
                kept.len()
            )));
        }
        rg.close()?;
        for _ in 1..self.rows.div_ceil(ROW_GROUP_ROWS).max(1) {
            let mut rg = writer.next_row_group()?;
            for groups in later.iter_mut().flatten() {
                for chunk in groups.next().ok_or_else(|| {
                    ParquetError::General("a column with too few row groups".into())
                })? {
                    chunk.append_to_row_group(&mut rg)?;
                }
            }
            rg.close()?;
        }
        writer.close()?;
        Ok(())
    }
}

/// Writes `parts` (one schema) as one Parquet table: each field is encoded
/// by its own rayon task (its leaves, level and index buffers as large as the
/// column, built and freed inside the task); the bytes do not depend on the
/// thread count.
fn write_parquet<W: std::io::Write + Send>(
    parts: &[RecordBatch],
    out: W,
    metadata: &[(String, String)],
    options: &ParquetOptions,
) -> std::result::Result<(), ParquetError> {
    let schema = parts[0].schema();
    if parts.iter().any(|p| p.schema() != schema) {
        return Err(ParquetError::General(
            "table parts with different schemas".into(),
        ));
    }
    let rows: usize = parts.iter().map(|p| p.num_rows()).sum();
    let encoder = ColumnEncoder::new(Arc::clone(&schema), rows, options)?;
    let fields = (0..schema.fields().len())
        .into_par_iter()
        .map(|i| {
            let arrays: Vec<&ArrayRef> = parts.iter().map(|p| p.column(i)).collect();
            encoder.encode(i, &arrays).map(|e| (i, e))
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let all: Vec<usize> = (0..schema.fields().len()).collect();
    encoder.write_fields(&all, fields.into_iter(), out, metadata)
}

/// The Arrow schema of a Parquet file, read from its footer only.
pub fn read_parquet_schema(path: &Path) -> Result<arrow_schema::SchemaRef> {
    let f = std::fs::File::open(path).map_err(|e| TableError::io(path, e))?;
    let b =
        ParquetRecordBatchReaderBuilder::try_new(f).map_err(|e| TableError::parquet(path, e))?;
    Ok(b.schema().clone())
}

/// Reads a whole Parquet file into one batch.
pub fn read_parquet(path: &Path) -> Result<RecordBatch> {
    let f = std::fs::File::open(path).map_err(|e| TableError::io(path, e))?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(f).map_err(|e| TableError::parquet(path, e))?;
    // The file's key/value metadata (hepae.rmm, hepae.darkmachines, ...) joins
    // the schema's, which holds only what the embedded Arrow schema had.
    let mut meta = builder.schema().metadata().clone();
    for kv in builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .into_iter()
        .flatten()
    {
        if let (false, Some(v)) = (kv.key == "ARROW:schema", &kv.value) {
            if !meta.contains_key(&kv.key) {
                meta.insert(kv.key.clone(), v.clone());
            }
        }
    }
    let reader = builder
        .with_batch_size(1 << 20)
        .build()
        .map_err(|e| TableError::parquet(path, e))?;
    let schema = Arc::new(reader.schema().as_ref().clone().with_metadata(meta));
    let batches: Vec<RecordBatch> = reader
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| TableError::arrow(path, e))?;
    concat(&schema, &batches).map_err(|e| TableError::arrow(path, e))
}

/// Batches of one schema as one batch; a single batch is returned as is.
pub fn concat(
    schema: &arrow_schema::SchemaRef,
    batches: &[RecordBatch],
) -> std::result::Result<RecordBatch, arrow_schema::ArrowError> {
    // The file's schema carries its key/value metadata; the reader's batches do not.
    if batches.len() == 1 {
        return batches[0].clone().with_schema(schema.clone());
    }
    arrow_select::concat::concat_batches(schema, batches)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::builder::{Float32Builder, ListBuilder};
    use arrow_array::{ArrayRef, Float64Array, Int32Array, StructArray};
    use arrow_schema::{Field, Fields};

    /// Key/value metadata written with a table comes back in its schema.
    #[test]
    fn key_value_metadata_round_trips() {
        let dir = std::env::temp_dir().join(format!("hepae-kv-{}", std::process::id()));
        let path = dir.join("t.parquet");
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Float64, false)]));
        let col: ArrayRef = Arc::new(Float64Array::from(vec![1.0, 2.0]));
        let batch = RecordBatch::try_new(schema, vec![col]).unwrap();
        write_parquet_atomic(
            &batch,
            &path,
            &[("hepae.test".into(), "{\"a\": 1}".into())],
            1,
        )
        .unwrap();
        let back = read_parquet(&path).unwrap();
        assert_eq!(
            back.schema()
                .metadata()
                .get("hepae.test")
                .map(String::as_str),
            Some("{\"a\": 1}")
        );
        assert_eq!(back.num_rows(), 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Nested columns become several Parquet leaves; each must reach its own
    /// writer in the per-column parallel encode and come back unchanged.
    #[test]
    fn nested_columns_round_trip_through_the_parallel_writer() {
        let mut list = ListBuilder::new(Float32Builder::new());
        for i in 0..5 {
            for j in 0..i {
                list.values().append_value(j as f32 * 0.5);
            }
            list.append(true);
        }
        let fields = Fields::from(vec![
            Field::new("a", DataType::Float64, false),
            Field::new("b", DataType::Int32, false),
        ]);
        let strukt = StructArray::new(
            fields,
            vec![
                Arc::new(Float64Array::from(vec![1.5, -2.0, 0.0, 3.25, 9.0])) as ArrayRef,
                Arc::new(Int32Array::from(vec![7, 8, 9, 10, 11])),
            ],
            None,
        );
        let batch = RecordBatch::try_from_iter(vec![
            (
                "n",
                Arc::new(Int32Array::from(vec![0, 1, 2, 3, 4])) as ArrayRef,
            ),
            ("list", Arc::new(list.finish()) as ArrayRef),
            ("s", Arc::new(strukt) as ArrayRef),
        ])
        .unwrap();
        assert_eq!(leaf_count(batch.schema().field(2).data_type()), 2);
        let path =
            std::env::temp_dir().join(format!("hepae-nested-{}.parquet", std::process::id()));
        write_parquet_atomic(&batch, &path, &[], 1).unwrap();
        let back = read_parquet(&path);
        std::fs::remove_file(&path).unwrap();
        assert_eq!(back.unwrap(), batch);
    }

    /// Parts (one per input file) are written as one table: the same rows,
    /// with row groups cut across part boundaries, and empty parts skipped.
    #[test]
    fn parts_are_written_as_one_table_across_row_groups() {
        let part = |lo: i32, n: usize| {
            let mut list = ListBuilder::new(Float32Builder::new());
            for i in 0..n {
                for j in 0..i % 3 {
                    list.values().append_value(j as f32);
                }
                list.append(true);
            }
            RecordBatch::try_from_iter(vec![
                (
                    "n",
                    Arc::new(Int32Array::from_iter_values(lo..lo + n as i32)) as ArrayRef,
                ),
                ("list", Arc::new(list.finish()) as ArrayRef),
            ])
            .unwrap()
        };
        // 1.3 M rows: the first row group (2^20 rows) ends inside the third part.
        let parts = vec![part(0, 600_000), part(600_000, 0), part(600_000, 700_000)];
        let path = std::env::temp_dir().join(format!("hepae-parts-{}.parquet", std::process::id()));
        write_parquet_parts_atomic(&parts, &path, &[], 1).unwrap();
        let meta = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&path).unwrap())
            .unwrap()
            .metadata()
            .clone();
        let groups: Vec<i64> = meta.row_groups().iter().map(|g| g.num_rows()).collect();
        assert_eq!(groups, vec![1 << 20, 1_300_000 - (1 << 20)]);
        let back = read_parquet(&path).unwrap();
        let whole = concat(&parts[0].schema(), &parts).unwrap();
        assert_eq!(back, whole);
        // Parts of another schema are refused.
        let other = RecordBatch::try_from_iter(vec![(
            "m",
            Arc::new(Int32Array::from(vec![1])) as ArrayRef,
        )])
        .unwrap();
        let err = write_parquet_parts_atomic(&[parts[0].clone(), other], &path, &[], 1);
        std::fs::remove_file(&path).unwrap();
        assert!(err.is_err());
    }
}
