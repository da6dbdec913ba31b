//! hepae reads Parquet whatever wrote it: pyarrow and polars files in every
//! common codec, with and without dictionary encoding, in several row groups.

mod common;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int32Type, Int64Type};
use common::*;
use parquet::file::reader::{FileReader, SerializedFileReader};

const ROWS: usize = 10_000;

/// Writes one file per (writer, codec, dictionary) and prints their names.
/// The values are exact in binary, so both sides compute them identically.
const WRITE: &str = r#"
import sys, numpy as np, pyarrow as pa, pyarrow.parquet as pq, polars as pl
out, n = sys.argv[1], int(sys.argv[2])
i = np.arange(n)
cols = {
    "pt": (i * 0.25).astype(np.float32),
    "eta": (i % 1000) / 8.0 - 60.0,
    "n": (i % 7).astype(np.int32),
    "event": (i // 3).astype(np.int64),
}
t = pa.table(cols)
names = []
for codec in ["snappy", "gzip", "lz4", "lz4_raw", "brotli", "zstd", "none"]:
    for dic in [True, False]:
        p = f"{out}/pyarrow-{codec}-{'dict' if dic else 'plain'}.parquet"
        pq.write_table(t, p, compression=codec, use_dictionary=dic, row_group_size=3000)
        names.append(p)
df = pl.DataFrame(cols)
for codec in ["snappy", "gzip", "lz4", "brotli", "zstd", "uncompressed"]:
    p = f"{out}/polars-{codec}.parquet"
    df.write_parquet(p, compression=codec, row_group_size=3000)
    names.append(p)
# pandas' default: snappy, with its own metadata.
p = f"{out}/pandas-default.parquet"
t.to_pandas().to_parquet(p)
names.append(p)
for p in names:
    print(p, pq.ParquetFile(p).metadata.num_row_groups)
"#;

#[test]
fn reads_pyarrow_and_polars_parquet_in_every_codec() {
    let dir = tempfile::tempdir().unwrap();
    let listing = run_python(WRITE, &[dir.path().to_str().unwrap(), &ROWS.to_string()]);
    let mut codecs = std::collections::BTreeSet::new();
    let mut files = 0;
    for line in listing.lines() {
        let parts: Vec<&str> = line.split(' ').collect();
        let (path, groups) = (parts[0], parts[1]);
        // The codec as the file's footer names it (pyarrow calls LZ4_RAW "LZ4").
        let footer = SerializedFileReader::new(std::fs::File::open(path).unwrap()).unwrap();
        let codec = format!(
            "{:?}",
            footer.metadata().row_group(0).column(0).compression()
        );
        codecs.insert(codec.clone());
        if !path.contains("pandas") {
            assert_eq!(groups, "4", "{path}: 10000 rows in row groups of 3000");
        }
        let b = hepae_table::read_parquet(std::path::Path::new(path))
            .unwrap_or_else(|e| panic!("{path} ({codec}): {e}"));
        assert_eq!(b.num_rows(), ROWS, "{path}");
        let col = |name: &str| {
            b.column_by_name(name)
                .unwrap_or_else(|| panic!("{path}: no {name}"))
                .clone()
        };
        let pt = col("pt");
        let eta = col("eta");
        let n = col("n");
        let event = col("event");
        let (pt, eta) = (
            pt.as_primitive::<Float32Type>(),
            eta.as_primitive::<Float64Type>(),
        );
        let (n, event) = (
            n.as_primitive::<Int32Type>(),
            event.as_primitive::<Int64Type>(),
        );
        for i in 0..ROWS {
            assert_eq!(pt.value(i), i as f32 * 0.25, "{path}: pt[{i}]");
            assert_eq!(
                eta.value(i),
                (i % 1000) as f64 / 8.0 - 60.0,
                "{path}: eta[{i}]"
            );
            assert_eq!(n.value(i), (i % 7) as i32, "{path}: n[{i}]");
            assert_eq!(event.value(i), (i / 3) as i64, "{path}: event[{i}]");
        }
        files += 1;
    }
    assert_eq!(files, 21);
    let want = [
        "SNAPPY",
        "GZIP",
        "LZ4_RAW",
        "BROTLI",
        "ZSTD",
        "UNCOMPRESSED",
    ];
    for c in want {
        assert!(
            codecs
                .iter()
                .any(|k| k == c || k.starts_with(&format!("{c}("))),
            "no file written with {c}: {codecs:?}"
        );
    }
}

/// The Hadoop-framed LZ4 codec (thrift `LZ4`, the one older Spark and
/// parquet-mr files carry): pyarrow 26 writes only LZ4_RAW, so parquet-rs
/// writes this file and pyarrow confirms it holds the same values.
#[test]
fn reads_hadoop_framed_lz4() {
    use arrow_array::{ArrayRef, Float32Array, Int64Array, RecordBatch};
    use parquet::arrow::ArrowWriter;
    use parquet::basic::Compression;
    use parquet::file::properties::WriterProperties;
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hadoop-lz4.parquet");
    let pt: Vec<f32> = (0..ROWS).map(|i| i as f32 * 0.25).collect();
    let event: Vec<i64> = (0..ROWS).map(|i| (i / 3) as i64).collect();
    let batch = RecordBatch::try_from_iter([
        ("pt", Arc::new(Float32Array::from(pt.clone())) as ArrayRef),
        (
            "event",
            Arc::new(Int64Array::from(event.clone())) as ArrayRef,
        ),
    ])
    .unwrap();
    let props = WriterProperties::builder()
        .set_compression(Compression::LZ4)
        .set_max_row_group_row_count(Some(3000))
        .build();
    let mut w = ArrowWriter::try_new(
        std::fs::File::create(&path).unwrap(),
        batch.schema(),
        Some(props),
    )
    .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let footer = SerializedFileReader::new(std::fs::File::open(&path).unwrap()).unwrap();
    assert_eq!(footer.metadata().num_row_groups(), 4);
    assert_eq!(
        footer.metadata().row_group(0).column(0).compression(),
        Compression::LZ4
    );
    let b = hepae_table::read_parquet(&path).unwrap();
    assert_eq!(
        b.column(0).as_primitive::<Float32Type>().values().to_vec(),
        pt
    );
    assert_eq!(
        b.column(1).as_primitive::<Int64Type>().values().to_vec(),
        event
    );
    let py = "import sys, pyarrow.parquet as pq; t = pq.read_table(sys.argv[1]); print(t.num_rows, float(t['pt'].to_numpy().astype('f8').sum()))";
    let out = run_python(py, &[path.to_str().unwrap()]);
    let want = pt.iter().map(|v| *v as f64).sum::<f64>();
    assert_eq!(out.trim(), format!("{ROWS} {want:?}"));
}

/// The reported failure: `hepae train` on a pandas (snappy) file.
#[test]
fn trains_on_a_pandas_snappy_file() {
    let dir = tempfile::tempdir().unwrap();
    run_python(WRITE, &[dir.path().to_str().unwrap(), "2000"]);
    let data = dir.path().join("pandas-default.parquet");
    let model = dir.path().join("model");
    let cfg = dir.path().join("train.yaml");
    std::fs::write(
        &cfg,
        "model:\n  kind: ae\n  hidden: [8]\n  latent: 2\nepochs: 1\nbatch_size: 256\nbackend: cpu\n",
    )
    .unwrap();
    ok(&[
        "train",
        "--data",
        data.to_str().unwrap(),
        "--out",
        model.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
    ]);
    assert!(model.join("model.bpk").is_file());
    let norm = std::fs::read_to_string(model.join("normalizer.json")).unwrap();
    assert!(norm.contains("\"pt\""), "{norm}");
}
