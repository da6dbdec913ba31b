//! The structure codec (`hepae compress` without `--model`): every value
//! within its bound, edge cases, determinism across thread counts,
//! corrupted artifacts, and no loss against a per-column entropy coder.

mod common;
use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{ArrayRef, Float32Array, Float64Array, Int64Array, RecordBatch, UInt8Array};
use arrow_schema::{Field, Schema};
use common::*;
use hepae_compress::codec::grid::Grid;
use hepae_compress::Bound;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn write(path: &Path, cols: Vec<(&str, ArrayRef)>) {
    let fields: Vec<Field> = cols
        .iter()
        .map(|(n, a)| Field::new(*n, a.data_type().clone(), false))
        .collect();
    let b = RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        cols.into_iter().map(|c| c.1).collect(),
    )
    .unwrap();
    hepae_table::write_parquet_atomic(&b, path, &[], 1).unwrap();
}

fn f32s(b: &RecordBatch, c: &str) -> Vec<f32> {
    b.column_by_name(c)
        .unwrap()
        .as_primitive::<Float32Type>()
        .values()
        .to_vec()
}

/// Compresses and decompresses `table` with `bounds`; returns the restored table.
fn round_trip(dir: &Path, table: &Path, bounds: &[&str]) -> RecordBatch {
    let art = dir.join("t.hepae");
    let mut args = vec!["compress", "--data", s(table), "--out", s(&art)];
    for b in bounds {
        args.extend(["--bound", b]);
    }
    ok(&args);
    let out = dir.join("restored.parquet");
    ok(&["decompress", s(&art), "--out", s(&out)]);
    hepae_table::read_parquet(&out).unwrap()
}

/// A value of each awkward kind, repeated with noise.
fn awkward(n: usize) -> Vec<f32> {
    let special = [
        0.0,
        -0.0,
        -3.5,
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        1e-42,
        3e38,
        -1e-30,
        1.0,
    ];
    (0..n)
        .map(|i| {
            let x = special[i % special.len()];
            if i % 3 == 0 {
                x
            } else {
                ((i as f32) * 0.618).sin() * 1e3
            }
        })
        .collect()
}

#[test]
fn every_value_meets_its_bound_on_edge_cases() {
    let dir = tempfile::tempdir().unwrap();
    let n = 5000;
    let a = awkward(n);
    let b: Vec<f64> = (0..n).map(|i| (i as f64 * 0.37).cos() * 50.0).collect();
    let ints: Vec<i64> = (0..n as i64)
        .map(|i| match i % 4 {
            0 => i64::MIN,
            1 => i64::MAX,
            _ => i * 7 - 900,
        })
        .collect();
    let bytes: Vec<u8> = (0..n).map(|i| (i * 31 % 256) as u8).collect();
    let event: Vec<i64> = (0..n as i64).map(|i| i / 4).collect();
    // Finer than float32 resolves: most grid points round off the bound,
    // so these values must be stored exactly.
    let fine: Vec<f32> = (0..n).map(|i| 1e6 + i as f32 * 0.37).collect();
    // float64 beyond the exponents the grid covers (subnormal, near the top).
    let wide: Vec<f64> = (0..n)
        .map(|i| match i % 3 {
            0 => 1e-310 * (i + 1) as f64,
            1 => 1.5e308,
            _ => -(i as f64),
        })
        .collect();
    let table = dir.path().join("t.parquet");
    write(
        &table,
        vec![
            ("wide", Arc::new(Float64Array::from(wide.clone()))),
            ("a", Arc::new(Float32Array::from(a.clone()))),
            ("b", Arc::new(Float64Array::from(b.clone()))),
            ("c", Arc::new(Float32Array::from(vec![42.5f32; n]))),
            ("i", Arc::new(Int64Array::from(ints.clone()))),
            ("u", Arc::new(UInt8Array::from(bytes.clone()))),
            ("event", Arc::new(Int64Array::from(event.clone()))),
            ("fine", Arc::new(Float32Array::from(fine.clone()))),
        ],
    );
    let r = round_trip(
        dir.path(),
        &table,
        &[
            "a:rel:1e-3",
            "b:abs:1e-2",
            "c:rel:1e-2",
            "fine:abs:1e-3",
            "wide:rel:1e-3",
        ],
    );
    let rw = r
        .column_by_name("wide")
        .unwrap()
        .as_primitive::<Float64Type>();
    for (x, y) in wide.iter().zip(rw.values()) {
        assert!((y - x).abs() <= 1e-3 * x.abs(), "{x} -> {y}");
    }
    for (x, y) in fine.iter().zip(f32s(&r, "fine")) {
        assert!(((y - x).abs() as f64) <= 1e-3, "{x} -> {y}");
    }
    for (x, y) in a.iter().zip(f32s(&r, "a")) {
        if x.is_nan() {
            assert!(y.is_nan());
        } else if x.is_infinite() {
            assert_eq!(*x, y);
        } else {
            assert!(
                ((y - x).abs() as f64) <= 1e-3 * x.abs() as f64,
                "{x} -> {y}"
            );
        }
    }
    let rb = r.column_by_name("b").unwrap().as_primitive::<Float64Type>();
    for (x, y) in b.iter().zip(rb.values()) {
        assert!((y - x).abs() <= 1e-2, "{x} -> {y}");
    }
    assert!(f32s(&r, "c").iter().all(|v| (v - 42.5).abs() <= 0.425));
    let ri = r.column_by_name("i").unwrap().as_primitive::<Int64Type>();
    assert_eq!(ri.values().to_vec(), ints);
    let ru = r.column_by_name("u").unwrap().as_primitive::<UInt8Type>();
    assert_eq!(ru.values().to_vec(), bytes);
    let re = r
        .column_by_name("event")
        .unwrap()
        .as_primitive::<Int64Type>();
    assert_eq!(re.values().to_vec(), event);
}

#[test]
fn one_row_and_empty_tables_round_trip() {
    for n in [1usize, 0] {
        let dir = tempfile::tempdir().unwrap();
        let table = dir.path().join("t.parquet");
        let x: Vec<f32> = (0..n).map(|i| 7.25 + i as f32).collect();
        write(
            &table,
            vec![
                ("x", Arc::new(Float32Array::from(x.clone()))),
                ("k", Arc::new(Int64Array::from(vec![-5i64; n]))),
            ],
        );
        let r = round_trip(dir.path(), &table, &["x:rel:1e-2"]);
        assert_eq!(r.num_rows(), n);
        for (a, b) in x.iter().zip(f32s(&r, "x")) {
            assert!((a - b).abs() <= 0.0725, "{a} -> {b}");
        }
    }
}

/// HEP2 slice jets with per-column bounds at `eps`.
fn hep2(dir: &Path) -> (std::path::PathBuf, Vec<String>) {
    let jets = dir.join("jets.parquet");
    let input = data_file("pythia/hep2_slice_1.root");
    let cols = "pt,eta,phi,mass,emEnergy,hadEnergy,invisibleEnergy,auxiliaryEnergy";
    let mut args = ingest_args(&input, "Events", "GenJetAK8", cols, s(&jets));
    args.extend(["--cut", "pt:1:8000", "--cut", "mass:0.001:800"]);
    ok(&args);
    let bounds = cols
        .split(',')
        .map(|c| match c {
            "eta" | "phi" => format!("{c}:abs:1e-2"),
            _ => format!("{c}:rel:1e-2"),
        })
        .collect();
    (jets, bounds)
}

fn with_threads(threads: &str, args: &[&str]) {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_hepae"))
        .env("RAYON_NUM_THREADS", threads)
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn artifacts_and_decoding_are_the_same_on_one_and_two_threads() {
    let dir = tempfile::tempdir().unwrap();
    let (jets, bounds) = hep2(dir.path());
    let mut outs = Vec::new();
    for t in ["1", "2"] {
        let art = dir.path().join(format!("a{t}.hepae"));
        let mut args = vec!["compress", "--data", s(&jets), "--out", s(&art)];
        for b in &bounds {
            args.extend(["--bound", b.as_str()]);
        }
        with_threads(t, &args);
        let out = dir.path().join(format!("r{t}.parquet"));
        with_threads(t, &["decompress", s(&art), "--out", s(&out)]);
        outs.push((
            std::fs::read(art.join("streams.bin")).unwrap(),
            hepae_table::read_parquet(&out).unwrap(),
        ));
    }
    assert!(
        outs[0].0 == outs[1].0,
        "streams differ between thread counts"
    );
    // The same table; only the metadata's artifact path differs.
    assert_eq!(outs[0].1.columns(), outs[1].1.columns());
    assert_eq!(outs[0].1.schema().fields(), outs[1].1.schema().fields());
    // The restored HEP2 jets meet every bound.
    let orig = hepae_table::read_parquet(&jets).unwrap();
    for c in ["pt", "mass", "emEnergy", "eta"] {
        for (x, y) in f32s(&orig, c).iter().zip(f32s(&outs[0].1, c)) {
            let tol = if c == "eta" {
                1e-2
            } else {
                1e-2 * x.abs() as f64
            };
            assert!(((y - x).abs() as f64) <= tol, "{c}: {x} -> {y}");
        }
    }
}

fn fails(args: &[&str], needles: &[&str]) {
    let o = hepae(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    for n in needles {
        assert!(err.contains(n), "'{n}' not in: {err}");
    }
}

#[test]
fn corrupted_truncated_and_mismatched_artifacts_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (jets, bounds) = hep2(dir.path());
    let art = dir.path().join("a.hepae");
    let mut args = vec!["compress", "--data", s(&jets), "--out", s(&art)];
    for b in &bounds {
        args.extend(["--bound", b.as_str()]);
    }
    ok(&args);
    let out = dir.path().join("r.parquet");
    let copy = |name: &str| {
        let d = dir.path().join(name);
        std::fs::create_dir_all(&d).unwrap();
        for f in ["manifest.json", "streams.bin"] {
            std::fs::copy(art.join(f), d.join(f)).unwrap();
        }
        d
    };
    // A flipped byte: the file checksum catches it.
    let d = copy("flipped");
    let mut b = std::fs::read(d.join("streams.bin")).unwrap();
    let mid = b.len() - 100;
    b[mid] ^= 0x10;
    std::fs::write(d.join("streams.bin"), &b).unwrap();
    fails(
        &["decompress", s(&d), "--out", s(&out)],
        &["streams.bin", "checksum mismatch"],
    );
    // The same flip with the file checksum forged: the table checksum catches it.
    let mpath = d.join("manifest.json");
    let mut m = json(&mpath);
    m["files"]["streams.bin"]["sha256"] = hepae_compress::manifest::sha256_hex(&b).into();
    std::fs::write(&mpath, serde_json::to_string(&m).unwrap()).unwrap();
    // Either the table checksum or a stream that no longer parses
    // (an overflow varint cut short) names the damage.
    let o = hepae(&["decompress", s(&d), "--out", s(&out)]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("restored table's checksum") || err.contains("streams.bin: column"),
        "{err}"
    );
    // Streams that decode, but not to the table the manifest names: the
    // table checksum refuses them.
    let d = copy("forged");
    let mpath = d.join("manifest.json");
    let mut m = json(&mpath);
    m["table_xxh3"] = "0".repeat(32).into();
    std::fs::write(&mpath, serde_json::to_string(&m).unwrap()).unwrap();
    fails(
        &["decompress", s(&d), "--out", s(&out)],
        &["restored table's checksum"],
    );
    // Truncated.
    let d = copy("truncated");
    let b = std::fs::read(d.join("streams.bin")).unwrap();
    std::fs::write(d.join("streams.bin"), &b[..b.len() / 2]).unwrap();
    fails(
        &["decompress", s(&d), "--out", s(&out)],
        &["streams.bin", "truncated or replaced"],
    );
    // Another format version.
    let d = copy("version");
    let mpath = d.join("manifest.json");
    let mut m = json(&mpath);
    m["format_version"] = 7.into();
    std::fs::write(&mpath, serde_json::to_string(&m).unwrap()).unwrap();
    fails(
        &["decompress", s(&d), "--out", s(&out)],
        &["format version 7"],
    );
    assert!(!out.exists());
    // A float column without a bound names it; nothing is written.
    let art2 = dir.path().join("b.hepae");
    fails(
        &[
            "compress",
            "--data",
            s(&jets),
            "--out",
            s(&art2),
            "--bound",
            "pt:rel:1e-2",
        ],
        &["jets.parquet", "'eta'", "no error bound"],
    );
    assert!(!art2.exists());
}

/// Order-0 entropy (bits) of the codes the codec's grid gives `x`.
fn code_entropy(x: &[f32], b: &Bound) -> f64 {
    let g = Grid::for_bound(b);
    let mut h: HashMap<(u8, i64), u64> = HashMap::new();
    for &v in x {
        let c = g.quantise(v as f64, b, |y| y as f32 as f64).unwrap();
        *h.entry((c.kind, c.code)).or_default() += 1;
    }
    let n = x.len() as f64;
    h.values().map(|&c| c as f64 * (n / c as f64).log2()).sum()
}

#[test]
fn unrelated_columns_cost_no_more_than_a_per_column_entropy_coder() {
    let dir = tempfile::tempdir().unwrap();
    let n = 200_000;
    let mut state = 0x9e3779b97f4a7c15u64;
    let mut rnd = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let x: Vec<f32> = (0..n)
        .map(|_| (-(rnd().max(1e-12)).ln() * 30.0) as f32)
        .collect();
    let y: Vec<f32> = (0..n).map(|_| (rnd() * 6.0 - 3.0) as f32).collect();
    let table = dir.path().join("t.parquet");
    write(
        &table,
        vec![
            ("x", Arc::new(Float32Array::from(x.clone()))),
            ("y", Arc::new(Float32Array::from(y.clone()))),
        ],
    );
    let art = dir.path().join("t.hepae");
    ok(&[
        "compress",
        "--data",
        s(&table),
        "--out",
        s(&art),
        "--bound",
        "x:rel:1e-2",
        "--bound",
        "y:abs:1e-3",
    ]);
    let rel = Bound {
        abs: None,
        rel: Some(1e-2),
    };
    let abs = Bound {
        abs: Some(1e-3),
        rel: None,
    };
    let ideal = code_entropy(&x, &rel) + code_entropy(&y, &abs);
    let m = json(&art.join("manifest.json"));
    let coded = (m["sizes"]["streams"].as_u64().unwrap() + m["sizes"]["tables"].as_u64().unwrap())
        as f64
        * 8.0;
    assert!(
        coded <= ideal * 1.01 + 8.0 * 4096.0,
        "coded {coded} bits, per-column entropy {ideal} bits"
    );
}

#[test]
fn an_energy_sum_is_learned_from_momentum_pseudorapidity_and_mass() {
    // e1 + e2 is the four-vector energy of (pt, eta, mass), as PF and
    // generator jets' energy fractions are; no column is named anywhere.
    let dir = tempfile::tempdir().unwrap();
    let n = 60_000;
    let mut state = 0x2545f4914f6cdd1du64;
    let mut rnd = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let (mut pt, mut eta, mut mass, mut e1, mut e2) = (vec![], vec![], vec![], vec![], vec![]);
    for _ in 0..n {
        let p = 30.0 - (rnd().max(1e-12)).ln() * 80.0;
        let h = rnd() * 5.0 - 2.5;
        let m = p * (0.05 + 0.15 * rnd());
        let (p, h, m) = (p as f32 as f64, h as f32 as f64, m as f32 as f64);
        let e = ((p * h.cosh()).powi(2) + m * m).sqrt();
        let a = e * (0.1 + 0.8 * rnd());
        pt.push(p as f32);
        eta.push(h as f32);
        mass.push(m as f32);
        e1.push(a as f32);
        e2.push((e - a) as f32);
    }
    let table = dir.path().join("t.parquet");
    let col = |v: &Vec<f32>| -> ArrayRef { Arc::new(Float32Array::from(v.clone())) };
    write(
        &table,
        vec![
            ("pt", col(&pt)),
            ("eta", col(&eta)),
            ("mass", col(&mass)),
            ("e1", col(&e1)),
            ("e2", col(&e2)),
        ],
    );
    let bounds = [
        "pt:rel:1e-2",
        "mass:rel:1e-2",
        "e1:rel:1e-2",
        "e2:rel:1e-2",
        "eta:abs:1e-2",
    ];
    let back = round_trip(dir.path(), &table, &bounds);
    for (name, v) in [("e1", &e1), ("e2", &e2)] {
        let w = f32s(&back, name);
        assert!(v
            .iter()
            .zip(&w)
            .all(|(a, b)| (a - b).abs() as f64 <= 1e-2 * a.abs() as f64 * (1.0 + 1e-6)));
    }
    let m = json(&dir.path().join("t.hepae").join("manifest.json"));
    let names: Vec<String> = m["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    let energy_coded: Vec<(String, f64)> = m["coded"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["predictor"]["terms"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t[0].get("energy").is_some())
        })
        .map(|c| {
            (
                names[c["index"].as_u64().unwrap() as usize].clone(),
                c["bits_per_row"].as_f64().unwrap(),
            )
        })
        .collect();
    // The energy coded last is the sum minus the other: about a code step.
    assert!(
        energy_coded
            .iter()
            .any(|(n, b)| (n == "e1" || n == "e2") && *b < 3.0),
        "{energy_coded:?}"
    );
}
