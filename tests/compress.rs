//! `hepae compress` / `hepae decompress` end to end on the HEP2 stand-in
//! (TTbar AK8 GenJets) and on CMS NanoAOD jets.

mod common;
use arrow_array::cast::AsArray;
use arrow_array::types::Float32Type;
use arrow_array::RecordBatch;
use common::*;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const HEP2_COLS: &str = "pt,eta,phi,mass,emEnergy,hadEnergy,invisibleEnergy,auxiliaryEnergy";

struct Prepared {
    dir: PathBuf,
    jets: PathBuf,
    model: PathBuf,
    /// Trained on the first seven columns only.
    model7: PathBuf,
}

fn train(dir: &Path, jets: &Path, name: &str, yaml: &str) -> PathBuf {
    let cfg = dir.join(format!("{name}.yaml"));
    std::fs::write(&cfg, yaml).unwrap();
    let out = dir.join(name);
    ok(&[
        "train",
        "--data",
        jets.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
    ]);
    out
}

/// HEP2 jets with the thesis cuts and two small trained models, made once per test binary.
fn prepared() -> &'static Prepared {
    static P: OnceLock<Prepared> = OnceLock::new();
    P.get_or_init(|| {
        // Shared by the tests of this binary; under the target dir, not /tmp.
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("compress-tests");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let jets = dir.join("jets.parquet");
        let input = data_file("pythia/hep2_slice_1.root");
        let mut args = ingest_args(&input, "Events", "GenJetAK8", HEP2_COLS, jets.to_str().unwrap());
        args.extend(["--cut", "pt:1:8000", "--cut", "mass:0.001:800"]);
        ok(&args);
        let base = "model:\n  kind: ae\n  hidden: [32, 16]\n  latent: 4\nepochs: 4\nbatch_size: 256\nlr: 0.003\nbackend: cpu\nseed: 7\nlog_columns: [pt]\n";
        let model = train(&dir, &jets, "model", base);
        let model7 = train(
            &dir,
            &jets,
            "model7",
            &format!("{base}columns: [pt, eta, phi, mass, emEnergy, hadEnergy, invisibleEnergy]\n"),
        );
        Prepared {
            dir,
            jets,
            model,
            model7,
        }
    })
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The manifest's entry of column `name`.
fn manifest_column(m: &serde_json::Value, name: &str) -> serde_json::Value {
    m["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("manifest has no column {name}"))
        .clone()
}

/// `hepae compress --data D --model M --out O` and any further flags.
fn compress_args<'a>(
    data: &'a str,
    model: &'a str,
    out: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut v = vec!["compress", "--data", data, "--model", model, "--out", out];
    v.extend_from_slice(extra);
    v
}

fn read(p: &Path) -> RecordBatch {
    hepae_table::read_parquet(p).unwrap()
}

fn f32s(b: &RecordBatch, c: &str) -> Vec<f32> {
    b.column_by_name(c)
        .unwrap_or_else(|| panic!("column {c}"))
        .as_primitive::<Float32Type>()
        .values()
        .to_vec()
}

fn compress(name: &str, extra: &[&str]) -> PathBuf {
    let p = prepared();
    let art = p.dir.join(name);
    ok(&compress_args(s(&p.jets), s(&p.model), s(&art), extra));
    art
}

fn dir_bytes(d: &Path) -> u64 {
    std::fs::read_dir(d)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                dir_bytes(&e.path())
            } else {
                e.metadata().unwrap().len()
            }
        })
        .sum()
}

#[test]
fn bounded_round_trip_keeps_schema_order_and_every_bound() {
    let p = prepared();
    let art = compress(
        "bounded.hepae",
        &[
            "--bound",
            "pt:rel:1e-3",
            "--bound",
            "eta:abs:1e-3",
            "--bound",
            "phi:abs:1e-3",
            "--bound",
            "mass:rel:1e-2",
            "--bound",
            "mass:abs:0.05",
            "--bound",
            "*:abs:0.5",
        ],
    );
    let restored = p.dir.join("bounded.parquet");
    ok(&["decompress", s(&art), "--out", s(&restored)]);
    let a = read(&p.jets);
    let b = read(&restored);
    assert_eq!(a.schema().fields(), b.schema().fields(), "schema differs");
    assert_eq!(a.num_rows(), b.num_rows());
    // Labels are lossless and fix the row order.
    for c in ["event", "file_index"] {
        assert_eq!(
            a.column_by_name(c).unwrap(),
            b.column_by_name(c).unwrap(),
            "{c}"
        );
    }
    let check = |c: &str, abs: f64, rel: f64| {
        let (x, y) = (f32s(&a, c), f32s(&b, c));
        let mut worst = 0f64;
        for (i, (x, y)) in x.iter().zip(&y).enumerate() {
            let (x, y) = (*x as f64, *y as f64);
            let tol = abs.min(rel * x.abs());
            assert!(
                (y - x).abs() <= tol,
                "{c} row {i}: {y} vs {x} breaks the bound {tol}"
            );
            worst = worst.max((y - x).abs());
        }
        worst
    };
    let inf = f64::INFINITY;
    check("pt", 0.5, 1e-3);
    check("eta", 1e-3, inf);
    check("phi", 1e-3, inf);
    check("mass", 0.05, 1e-2);
    for c in [
        "emEnergy",
        "hadEnergy",
        "invisibleEnergy",
        "auxiliaryEnergy",
    ] {
        check(c, 0.5, inf);
    }
    // The manifest's error statistics are the real ones.
    let m = json(&art.join("manifest.json"));
    let col = |n: &str| manifest_column(&m, n);
    let eta_worst = check("eta", 1e-3, inf);
    assert_eq!(col("eta")["max_abs_error"].as_f64().unwrap(), eta_worst);
    assert_eq!(
        col("mass")["bound"],
        serde_json::json!({"abs": 0.05, "rel": 0.5f64.min(1e-2)})
    );
    assert_eq!(col("event")["storage"], "lossless");
    // A 4-epoch model misses most values by more than 1e-3: the residuals do the work.
    assert!(col("eta")["nonzero_codes"].as_u64().unwrap() > 0);
}

#[test]
fn ratios_are_recomputed_from_file_sizes() {
    let p = prepared();
    let art = compress("ratios.hepae", &["--bound", "pt:rel:1e-2"]);
    let m = json(&art.join("manifest.json"));
    let t = read(&p.jets);
    let raw = (t.num_rows() * t.num_columns() * 4) as f64;
    assert_eq!(m["sizes"]["raw_float32"].as_f64().unwrap(), raw);
    let latent = std::fs::metadata(art.join("latent.parquet")).unwrap().len() as f64;
    let total = dir_bytes(&art) as f64;
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs();
    let r = m["ratios"]["R"].as_f64().unwrap();
    let r_star = m["ratios"]["R_star"].as_f64().unwrap();
    assert!(close(r, raw / latent), "R {r} vs {}", raw / latent);
    assert!(close(r_star, raw / total), "R* {r_star} vs {}", raw / total);
    assert_eq!(m["sizes"]["artifact"].as_f64().unwrap(), total);
    // Every file is listed with its real size.
    for (name, f) in m["files"].as_object().unwrap() {
        let len = std::fs::metadata(art.join(name)).unwrap().len();
        assert_eq!(f["bytes"].as_u64().unwrap(), len, "{name}");
    }
    // 8 float columns into 4 latent floats: R is about 2.5 (8 + 2 label columns over 4).
    assert!(r > 1.5, "R = {r}");
    assert!(m["sizes"]["gzip9_raw"].as_u64().unwrap() > 0);
    assert!(m["ratios"]["zstd_parquet"].as_f64().unwrap() > 1.0);
}

#[test]
fn f16_latent_round_trip_and_reported_errors_are_exact() {
    let p = prepared();
    let art = compress("f16.hepae", &["--latent-dtype", "f16"]);
    let restored = p.dir.join("f16.parquet");
    ok(&["decompress", s(&art), "--out", s(&restored)]);
    let a = read(&p.jets);
    let b = read(&restored);
    assert_eq!(a.schema().fields(), b.schema().fields());
    let m = json(&art.join("manifest.json"));
    assert_eq!(m["latent"]["dtype"], "f16");
    let latent = read(&art.join("latent.parquet"));
    assert_eq!(latent.num_columns(), 4);
    assert_eq!(
        latent.schema().field(0).data_type(),
        &arrow_schema::DataType::Float16
    );
    for c in ["pt", "mass"] {
        let worst = f32s(&a, c)
            .iter()
            .zip(f32s(&b, c))
            .map(|(x, y)| (y as f64 - *x as f64).abs())
            .fold(0.0, f64::max);
        let listed = m["columns"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == c)
            .unwrap()["max_abs_error"]
            .as_f64()
            .unwrap();
        assert_eq!(listed, worst, "{c}");
        assert!(
            worst > 0.0,
            "a 4-dimensional latent cannot be exact for {c}"
        );
    }
}

#[test]
fn root_output_and_safetensors_read_back_in_python() {
    let p = prepared();
    let art = compress("root.hepae", &["--bound", "mass:abs:0.01"]);
    let parquet = p.dir.join("root.parquet");
    let root = p.dir.join("root.root");
    ok(&["decompress", s(&art), "--out", s(&parquet)]);
    ok(&["decompress", s(&art), "--out", s(&root), "--tree", "Jets"]);
    // uproot reads the TTree with the same values and types as the Parquet.
    let py = r#"
import sys, uproot, numpy as np, pyarrow.parquet as pq
t = pq.read_table(sys.argv[2])
tree = uproot.open(sys.argv[1])["Jets"]
assert tree.num_entries == t.num_rows, (tree.num_entries, t.num_rows)
assert list(tree.keys()) == t.column_names, (tree.keys(), t.column_names)
for name in t.column_names:
    a = tree[name].array(library="np")
    b = t[name].to_numpy()
    assert a.dtype == b.dtype, (name, a.dtype, b.dtype)
    assert np.array_equal(a, b), name
print("ok", tree.num_entries)
"#;
    let out = run_python(py, &[s(&root), s(&parquet)]);
    assert!(out.starts_with("ok "), "{out}");
    // The safetensors copy, read with a plain JSON + numpy parser, decodes the
    // stored latent space to the restored values of the unbounded columns.
    let py = r#"
import sys, json, struct, numpy as np, pyarrow.parquet as pq
art = sys.argv[1]
raw = open(art + "/model/model.safetensors", "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
head = json.loads(raw[8:8 + n])
def t(name):
    h = head[name]; a, b = h["data_offsets"]
    assert h["dtype"] == "F32"
    return np.frombuffer(raw[8 + n + a:8 + n + b], dtype="<f4").reshape(h["shape"]).astype(np.float64)
m = json.load(open(art + "/manifest.json"))
z = np.column_stack([c.to_numpy() for c in pq.read_table(art + "/latent.parquet").columns]).astype(np.float64)
h = z
layers = m["model"]["decoder_layers"]
for i, l in enumerate(layers):
    h = h @ t(l + ".weight").T + t(l + ".bias")
    if i + 1 < len(layers):
        h = np.where(h < 0, 0.01 * h, h)
norm = m["normalizer"]["columns"]
out = pq.read_table(sys.argv[2])
worst = 0.0
for j, c in enumerate(norm):
    if c["name"] == "mass":
        continue
    # Compare in normalised units, where float32 rounding is ~1e-7 of the range.
    r = out[c["name"]].to_numpy().astype(np.float64)
    if c["log"]:
        r = np.log(r - c["log_offset"])
    r = (r - c["shift"]) / c["scale"]
    worst = max(worst, float(np.max(np.abs(h[:, j] - r))))
print(worst)
"#;
    let worst: f64 = run_python(py, &[s(&art), s(&parquet)])
        .trim()
        .parse()
        .unwrap();
    assert!(
        worst < 1e-5,
        "numpy decoder differs from hepae's by {worst} (normalised units)"
    );
}

/// Copies an artifact directory for one corruption case.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let t = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &t);
        } else {
            std::fs::copy(e.path(), t).unwrap();
        }
    }
}

/// `hepae decompress DIR --out OUT` fails (exit 2) naming every needle, and writes nothing.
fn decompress_fails(dir: &Path, out: &Path, needles: &[&str]) {
    fails_with(&["decompress", s(dir), "--out", s(out)], needles, out);
}

fn fails_with(args: &[&str], needles: &[&str], no_output: &Path) {
    let o = hepae(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: '{n}' not in: {err}");
    }
    assert!(!no_output.exists(), "{} was written", no_output.display());
    let parent = no_output.parent().unwrap();
    let stray: Vec<_> = std::fs::read_dir(parent)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(stray.is_empty(), "temporary files left: {stray:?}");
}

#[test]
fn corrupt_or_mismatched_artifacts_are_refused() {
    let p = prepared();
    let good = compress("good.hepae", &["--bound", "eta:abs:1e-3"]);
    let other = p.dir.join("seven.hepae");
    ok(&compress_args(s(&p.jets), s(&p.model7), s(&other), &[]));
    let work = tempfile::tempdir().unwrap();
    let case = |name: &str| {
        let d = work.path().join(name);
        copy_dir(&good, &d);
        d
    };
    let out = work.path().join("restored.parquet");

    let d = case("missing");
    std::fs::remove_file(d.join("latent.parquet")).unwrap();
    decompress_fails(&d, &out, &["latent.parquet", "missing"]);

    let d = case("flipped");
    let f = d.join("residuals.parquet");
    let mut bytes = std::fs::read(&f).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&f, bytes).unwrap();
    decompress_fails(&d, &out, &["residuals.parquet", "checksum mismatch"]);

    let d = case("version");
    let mpath = d.join("manifest.json");
    let mut m = json(&mpath);
    m["format_version"] = 99.into();
    m["hepae_version"] = "9.9.9".into();
    std::fs::write(&mpath, serde_json::to_string(&m).unwrap()).unwrap();
    decompress_fails(
        &d,
        &out,
        &["format version 99", "hepae 9.9.9", "reads version 2"],
    );

    // The 7-input model's weights in place of the 8-input one, checksums made to match.
    let d = case("width");
    let st = "model/model.safetensors";
    std::fs::copy(other.join(st), d.join(st)).unwrap();
    let mut m2 = json(&d.join("manifest.json"));
    m2["files"][st] = json(&other.join("manifest.json"))["files"][st].clone();
    std::fs::write(d.join("manifest.json"), serde_json::to_string(&m2).unwrap()).unwrap();
    decompress_fails(&d, &out, &["outputs 7 columns", "8 inputs"]);

    decompress_fails(&p.model, &out, &["manifest.json", "not a hepae artifact"]);

    // Compressing a table that lacks a model input names the column; no artifact appears.
    let narrow = work.path().join("narrow.parquet");
    let input = data_file("pythia/hep2_slice_1.root");
    ok(&ingest_args(
        &input,
        "Events",
        "GenJetAK8",
        "pt,eta,phi",
        s(&narrow),
    ));
    let art = work.path().join("narrow.hepae");
    fails_with(
        &compress_args(s(&narrow), s(&p.model), s(&art), &[]),
        &["takes column 'mass'", "narrow.parquet"],
        &art,
    );
    fails_with(
        &compress_args(s(&p.jets), s(&p.model), s(&art), &["--bound", "pt:rel:3"]),
        &["rel must be in (0, 1)"],
        &art,
    );
    fails_with(
        &compress_args(s(&p.jets), s(&p.model), s(&art), &["--bound", "ptt:abs:1"]),
        &["'ptt'"],
        &art,
    );
}

#[test]
fn integer_columns_round_or_stay_exact() {
    let dir = tempfile::tempdir().unwrap();
    let jets = dir.path().join("jets.parquet");
    nano_jets("pt,eta,mass,nConstituents,jetId", &jets);
    let model = train(
        dir.path(),
        &jets,
        "model",
        "model:\n  hidden: [16]\n  latent: 2\nepochs: 2\nbatch_size: 128\nbackend: cpu\n",
    );
    let art = dir.path().join("a.hepae");
    ok(&compress_args(
        s(&jets),
        s(&model),
        s(&art),
        &["--bound", "nConstituents:abs:0.4", "--lossless", "jetId"],
    ));
    let restored = dir.path().join("r.parquet");
    ok(&["decompress", s(&art), "--out", s(&restored)]);
    let a = read(&jets);
    let b = read(&restored);
    assert_eq!(a.schema().fields(), b.schema().fields());
    // abs 0.4 on an integer column leaves only the exact value; lossless is exact by construction.
    for c in ["nConstituents", "jetId"] {
        let (x, y) = (a.column_by_name(c).unwrap(), b.column_by_name(c).unwrap());
        assert!(x.data_type().is_integer(), "{c}: {}", x.data_type());
        assert_eq!(x, y, "{c}");
    }
    let m = json(&art.join("manifest.json"));
    let storage: Vec<_> = m["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["storage"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(storage.contains(&("jetId".into(), "lossless".into())));
    assert!(storage.contains(&("nConstituents".into(), "model".into())));
}

#[test]
fn bf16_latent_and_options_from_yaml() {
    let p = prepared();
    let cfg = p.dir.join("compress.yaml");
    std::fs::write(
        &cfg,
        "latent_dtype: bf16\nbounds:\n  mass: {abs: 0.5}\n  '*': {rel: 0.05}\nlossless: [phi]\nzstd_level: 3\n",
    )
    .unwrap();
    let art = compress("bf16.hepae", &["--config", s(&cfg)]);
    let restored = p.dir.join("bf16.parquet");
    ok(&["decompress", s(&art), "--out", s(&restored)]);
    let m = json(&art.join("manifest.json"));
    assert_eq!(m["latent"]["dtype"], "bf16");
    let latent = read(&art.join("latent.parquet"));
    let f = latent.schema().field(0).clone();
    assert_eq!(f.data_type(), &arrow_schema::DataType::UInt16);
    assert_eq!(
        f.metadata().get("hepae.dtype").map(String::as_str),
        Some("bfloat16")
    );
    let col = |n: &str| manifest_column(&m, n);
    assert_eq!(
        col("mass")["bound"],
        serde_json::json!({"abs": 0.5, "rel": 0.05})
    );
    assert_eq!(col("phi")["storage"], "lossless");
    let (a, b) = (read(&p.jets), read(&restored));
    assert_eq!(f32s(&a, "phi"), f32s(&b, "phi"), "lossless column changed");
    for (x, y) in f32s(&a, "mass").iter().zip(f32s(&b, "mass")) {
        let (x, y) = (*x as f64, y as f64);
        assert!(
            (y - x).abs() <= 0.5f64.min(0.05 * x.abs()),
            "mass {y} vs {x}"
        );
    }
    for (x, y) in f32s(&a, "pt").iter().zip(f32s(&b, "pt")) {
        assert!(
            (y as f64 - *x as f64).abs() <= 0.05 * (*x as f64).abs(),
            "pt {y} vs {x}"
        );
    }
    // Unknown keys in the options file are refused with their line.
    std::fs::write(&cfg, "latent_dtype: f16\nbound: {}\n").unwrap();
    // A directory of its own: other tests write artifacts into p.dir meanwhile.
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("never.hepae");
    fails_with(
        &[
            "compress",
            "--data",
            s(&p.jets),
            "--model",
            s(&p.model),
            "--out",
            s(&out),
            "--config",
            s(&cfg),
        ],
        &["compress.yaml", "line 2", "unknown field `bound`"],
        &out,
    );
}

/// 8-bit latent codes: the stored latent is a quarter of f32's, relative
/// bounds (log grid, zero code) still hold on every value, and zeros stay 0.
#[test]
fn q8_latent_with_relative_bounds_on_every_column() {
    let p = prepared();
    let art = compress(
        "q8.hepae",
        &["--latent-dtype", "q8", "--bound", "*:rel:1e-3"],
    );
    let restored = p.dir.join("q8.parquet");
    ok(&["decompress", s(&art), "--out", s(&restored)]);
    let m = json(&art.join("manifest.json"));
    assert_eq!(m["latent"]["dtype"], "q8");
    let quant = m["latent"]["quant"].as_array().unwrap();
    assert_eq!(quant.len(), 4, "one [lo, step] per latent dimension");
    let latent = read(&art.join("latent.parquet"));
    assert_eq!(
        latent.schema().field(0).data_type(),
        &arrow_schema::DataType::UInt8
    );
    let (a, b) = (read(&p.jets), read(&restored));
    let mut zeros = 0;
    for c in m["columns"].as_array().unwrap() {
        if c["storage"] == "lossless" {
            continue;
        }
        let name = c["name"].as_str().unwrap();
        for (x, y) in f32s(&a, name).iter().zip(f32s(&b, name)) {
            let (x, y) = (*x as f64, y as f64);
            assert!((y - x).abs() <= 1e-3 * x.abs(), "{name}: {y} vs {x}");
            zeros += (x == 0.0) as usize;
        }
        assert_eq!(c["escapes"], 0, "{name}: the log grid needs no escapes");
    }
    assert!(
        zeros > 1000,
        "the energies hold zeros ({zeros}): the zero code is exercised"
    );
}
