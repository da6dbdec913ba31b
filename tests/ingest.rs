//! End-to-end tests of `hepae inspect` and `hepae ingest` on the shared real files.

mod common;
use common::*;
use serde_json::Value;

#[test]
fn inspect_lists_every_file_in_the_shared_data() {
    let mut n = 0;
    for dir in ["cms-opendata", "root-formats", "pythia"] {
        for entry in std::fs::read_dir(data().join(dir)).unwrap() {
            let p = entry.unwrap().path();
            if p.extension().is_some_and(|e| e == "root") {
                let out = ok(&["inspect", p.to_str().unwrap(), "--json"]);
                let v: Value = serde_json::from_slice(&out.stdout).unwrap();
                assert!(
                    !v["trees"].as_array().unwrap().is_empty(),
                    "{}: no tree listed",
                    p.display()
                );
                assert!(
                    v["errors"].as_array().unwrap().is_empty(),
                    "{}: {}",
                    p.display(),
                    v["errors"]
                );
                // The text form must work too.
                let text = ok(&["inspect", p.to_str().unwrap()]);
                assert!(String::from_utf8_lossy(&text.stdout).contains("entries"));
                n += 1;
            }
        }
    }
    assert!(n >= 20, "only {n} files inspected");
}

fn branch<'a>(v: &'a Value, tree: &str, path: &str) -> &'a Value {
    let t = v["trees"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == tree)
        .expect("tree listed");
    t["branches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["path"] == path)
        .unwrap_or_else(|| panic!("{path} not listed"))
}

#[test]
fn inspect_reports_types_layouts_and_counters() {
    let nano = ok(&[
        "inspect",
        &data_file("cms-opendata/nanoAOD_2015_CMS_Open_Data_ttbar.root"),
        "--json",
    ]);
    let v: Value = serde_json::from_slice(&nano.stdout).unwrap();
    let b = branch(&v, "Events", "Jet_pt");
    assert_eq!(
        (
            b["dtype"].as_str(),
            b["layout"].as_str(),
            b["counter"].as_str(),
            b["entries"].as_i64()
        ),
        (Some("float32"), Some("jagged"), Some("nJet"), Some(200))
    );
    assert_eq!(branch(&v, "Events", "nJet")["dtype"], "uint32");
    let atlas = ok(&[
        "inspect",
        &data_file("root-formats/atlas_physlite_100events.root"),
        "--tree",
        "CollectionTree",
        "--json",
    ]);
    let v: Value = serde_json::from_slice(&atlas.stdout).unwrap();
    let b = branch(&v, "CollectionTree", "AnalysisJetsAuxDyn.pt");
    assert_eq!(
        (b["type"].as_str(), b["jagged"].as_bool()),
        (Some("std::vector<float>"), Some(true))
    );
    // Branches that cannot be decoded are listed with the reason.
    let b = branch(&v, "CollectionTree", "AnalysisJetsAux.");
    assert_eq!(b["decodable"], false);
    assert!(b["note"].as_str().unwrap().contains("cannot decode"), "{b}");
    let delphes = ok(&[
        "inspect",
        &data_file("root-formats/delphes_10events.root"),
        "--json",
    ]);
    let v: Value = serde_json::from_slice(&delphes.stdout).unwrap();
    let b = branch(&v, "Delphes", "Jet/Jet.PT");
    assert_eq!(
        (b["dtype"].as_str(), b["counter"].as_str()),
        (Some("float32"), Some("Jet_"))
    );
}

fn ingest_hep(name: &str, pattern: &str, coll: &str, out: &std::path::Path) -> Value {
    let glob = data().join(pattern).display().to_string();
    let o = ok(&[
        "ingest",
        "--input",
        &glob,
        "--tree",
        "Events",
        "--collection",
        coll,
        "--cut",
        "pt:1:8000",
        "--cut",
        "mass:0.001:800",
        "--drop-zero-columns",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("before cuts"), "{name}: {stderr}");
    json(&std::path::PathBuf::from(format!("{}.json", out.display())))
}

#[test]
fn ingest_hep1_drops_the_four_zero_columns_and_keeps_integers() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("hep1.parquet");
    let report = ingest_hep("hep1", "pythia/hep1_slice_*.root", "PFJet", &out);
    let facts = json(&fixture("ingest-facts.json"))["hep1"].clone();
    assert_eq!(report["rows_before_cuts"], facts["rows_before_cuts"]);
    assert_eq!(report["rows_after_cuts"], facts["rows_after_cuts"]);
    assert_eq!(report["cuts"][0]["rows_after"], facts["rows_after_pt_cut"]);
    let mut dropped: Vec<String> = report["dropped_zero_columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    dropped.sort();
    assert_eq!(dropped, ["fX", "fY", "fZ", "mPileupEnergy"]);
    assert_eq!(Value::from(dropped.clone()), facts["zero_columns"]);
    let cols = report["columns"].as_array().unwrap();
    assert_eq!(cols.len(), 24);
    assert_eq!(report["inputs"].as_array().unwrap().len(), 2);
    // Independent check of the file itself with pyarrow and polars.
    let py = r#"
import sys, json, pyarrow.parquet as pq, polars as pl, pandas as pd
t = pq.read_table(sys.argv[1]); d = pl.read_parquet(sys.argv[1]); f = pd.read_parquet(sys.argv[1])
print(json.dumps({"rows": t.num_rows, "pandas_rows": len(f), "pandas_int32": str(f["mChargedMultiplicity"].dtype), "schema": {f.name: str(f.type) for f in t.schema},
  "polars": {k: str(v) for k, v in d.schema.items()}, "polars_rows": d.height,
  "sum_pt": float(d["pt"].cast(pl.Float64).sum()), "files": sorted(set(d["file_index"].to_list())),
  "compression": t.schema and pq.ParquetFile(sys.argv[1]).metadata.row_group(0).column(0).compression}))
"#;
    let v: Value = serde_json::from_str(&run_python(py, &[out.to_str().unwrap()])).unwrap();
    assert_eq!(v["rows"], facts["rows_after_cuts"]);
    assert_eq!(v["polars_rows"], facts["rows_after_cuts"]);
    assert_eq!(v["pandas_rows"], facts["rows_after_cuts"]);
    assert_eq!(v["pandas_int32"], "int32");
    assert_eq!(v["compression"], "ZSTD");
    assert_eq!(v["files"], serde_json::json!([0, 1]));
    let schema = v["schema"].as_object().unwrap();
    assert_eq!(schema.len(), 26);
    for c in facts["integer_columns"].as_array().unwrap() {
        assert_eq!(schema[c.as_str().unwrap()], "int32", "{c} must stay int32");
        assert_eq!(v["polars"][c.as_str().unwrap()], "Int32");
    }
    assert_eq!(schema["pt"], "float");
    assert_eq!(schema["event"], "int64");
    assert_eq!(schema["file_index"], "int32");
    let (a, b) = (
        v["sum_pt"].as_f64().unwrap(),
        facts["sum_pt_after_cuts"].as_f64().unwrap(),
    );
    assert!((a - b).abs() <= 1e-9 * b, "sum pt {a} vs uproot {b}");
}

#[test]
fn ingest_hep2_and_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.parquet"), dir.path().join("b.parquet"));
    let ra = ingest_hep("hep2", "pythia/hep2_slice_*.root", "GenJetAK8", &a);
    ingest_hep("hep2", "pythia/hep2_slice_*.root", "GenJetAK8", &b);
    let facts = json(&fixture("ingest-facts.json"))["hep2"].clone();
    assert_eq!(ra["rows_after_cuts"], facts["rows_after_cuts"]);
    assert_eq!(
        ra["columns"].as_array().unwrap().len(),
        8 - facts["zero_columns"].as_array().unwrap().len()
    );
    assert_eq!(
        std::fs::read(&a).unwrap(),
        std::fs::read(&b).unwrap(),
        "same input must give the same bytes"
    );
}

#[test]
fn ingest_reads_atlas_vectors_and_delphes_split_members() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("atlas.parquet");
    let atlas = data_file("root-formats/atlas_physlite_100events.root");
    let r = ingest_report(&ingest_args(
        &atlas,
        "CollectionTree",
        "AnalysisJetsAuxDyn",
        "pt,eta,phi,m",
        out.to_str().unwrap(),
    ));
    let g = json(&fixture(
        "golden/root-formats__atlas_physlite_100events.root.json",
    ));
    assert_eq!(
        r["rows_after_cuts"],
        g["branches"]["AnalysisJetsAuxDyn.pt"]["count"]
    );
    let out = dir.path().join("delphes.parquet");
    let delphes = data_file("root-formats/delphes_10events.root");
    let r = ingest_report(&ingest_args(
        &delphes,
        "Delphes",
        "Jet",
        "PT,Eta,Mass",
        out.to_str().unwrap(),
    ));
    let g = json(&fixture("golden/root-formats__delphes_10events.root.json"));
    assert_eq!(r["rows_after_cuts"], g["branches"]["Jet/Jet.PT"]["count"]);
    assert_eq!(r["columns"][0]["branch"], "Jet/Jet.PT");
    // Explicit NAME=BRANCH mapping, as AOD manifests use.
    let out = dir.path().join("map.parquet");
    let r = ingest_report(&ingest_args(
        &delphes,
        "Delphes",
        "Jet",
        "pt=Jet.PT,eta=Jet.Eta",
        out.to_str().unwrap(),
    ));
    assert_eq!(r["columns"][0]["name"], "pt");
}

/// Shards of a file list, concatenated in shard order, are the unsharded table.
#[test]
fn shards_concatenate_to_the_whole_table() {
    let dir = tempfile::tempdir().unwrap();
    let pattern = format!("{}/pythia/hep1_*.root", data().display());
    let base = |extra: &[&str], out: &str| {
        let mut a = vec![
            "ingest",
            "--input",
            pattern.as_str(),
            "--collection",
            "PFJet",
            "--columns",
            "pt,eta,mass",
        ];
        a.extend(extra);
        a.extend(["--out", out]);
        ok(&a);
    };
    let shard = dir.path().join("jets-{shard}.parquet");
    let all = dir.path().join("all.parquet");
    base(&["--shard", "0/2"], shard.to_str().unwrap());
    base(&["--shard", "1/2"], shard.to_str().unwrap());
    base(&[], all.to_str().unwrap());
    let py = r#"
import sys, pyarrow as pa, pyarrow.parquet as pq
parts = [pq.read_table(p) for p in sys.argv[1:3]]
whole = pq.read_table(sys.argv[3])
assert pa.concat_tables(parts).equals(whole)
print(sorted(set(parts[0]["file_index"].to_pylist())), sorted(set(parts[1]["file_index"].to_pylist())))
"#;
    let s0 = dir.path().join("jets-0.parquet");
    let s1 = dir.path().join("jets-1.parquet");
    let out = run_python(
        py,
        &[
            s0.to_str().unwrap(),
            s1.to_str().unwrap(),
            all.to_str().unwrap(),
        ],
    );
    assert_eq!(out.trim(), "[0] [1]");
    let o = hepae(&[
        "ingest",
        "--input",
        &pattern,
        "--collection",
        "PFJet",
        "--shard",
        "3/2",
        "--out",
        "x.parquet",
    ]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn cuts_on_event_and_file_index_select_whole_events_and_files() {
    let dir = tempfile::tempdir().unwrap();
    let nano = data_file("cms-opendata/nanoAOD_2015_CMS_Open_Data_ttbar.root");
    let rows = |extra: &[&str], name: &str| -> u64 {
        let out = dir.path().join(name);
        let mut args = ingest_args(&nano, "Events", "Jet", "pt,eta", out.to_str().unwrap());
        args.extend_from_slice(extra);
        ingest_report(&args)["rows_after_cuts"].as_u64().unwrap()
    };
    let all = rows(&[], "all.parquet");
    let g = json(&fixture(
        "golden/cms-opendata__nanoAOD_2015_CMS_Open_Data_ttbar.root.json",
    ));
    assert_eq!(all, g["branches"]["Jet_pt"]["count"].as_u64().unwrap());
    let first = rows(&["--cut", "event:0:99"], "first.parquet");
    let second = rows(&["--cut", "event:100:199"], "second.parquet");
    assert!(first > 0 && second > 0, "{first} {second}");
    assert_eq!(first + second, all);
    // Two files: file_index 1 selects exactly the second file's objects.
    let files = [
        data_file("pythia/hep2_slice_1.root"),
        data_file("pythia/hep2_slice_2.root"),
    ];
    let both = dir.path().join("both.parquet");
    let r = ingest_report(&[
        "ingest",
        "--input",
        &files[0],
        &files[1],
        "--collection",
        "GenJetAK8",
        "--columns",
        "pt",
        "--cut",
        "file_index:1:1",
        "--out",
        both.to_str().unwrap(),
    ]);
    let alone = dir.path().join("alone.parquet");
    let s = ingest_report(&ingest_args(
        &files[1],
        "Events",
        "GenJetAK8",
        "pt",
        alone.to_str().unwrap(),
    ));
    assert_eq!(r["rows_after_cuts"], s["rows_after_cuts"]);
    assert!(r["rows_before_cuts"].as_u64() > s["rows_before_cuts"].as_u64());
}

/// `--drop-zero-columns` decides on the rows after cuts. The file is begun
/// before every column is read, on the guess that columns ROOT could not
/// compress well hold values; here one (random values, all in rows the cut
/// removes) turns out all zero, so the run must start over and still drop it,
/// and keep the exact values of the others.
#[test]
fn a_column_zero_only_after_cuts_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("cutzero.root");
    run_python(
        r#"
import sys, uproot, numpy as np, awkward as ak
rng = np.random.default_rng(7)
counts = rng.integers(0, 6, 4000)
pt = rng.uniform(0.0, 100.0, counts.sum()).astype(np.float32)
x = np.where(pt < 50.0, rng.normal(size=pt.size), 0.0).astype(np.float32)
jets = ak.zip({"pt": ak.unflatten(pt, counts), "x": ak.unflatten(x, counts)})
with uproot.recreate(sys.argv[1]) as f:
    f.mktree("Events", {"Jet": jets.type}).extend({"Jet": jets})
"#,
        &[root.to_str().unwrap()],
    );
    let r = root.to_str().unwrap();
    let out = dir.path().join("j.parquet");
    let o = out.to_str().unwrap();
    let mut a = ingest_args(r, "Events", "Jet", "x,pt", o);
    a.extend(["--cut", "pt:50:100", "--drop-zero-columns"]);
    ok(&a);
    let rep = json(&dir.path().join("j.parquet.json"));
    assert_eq!(rep["dropped_zero_columns"], serde_json::json!(["x"]));
    // The abandoned first attempt leaves no temporary file.
    let mut files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(files, ["cutzero.root", "j.parquet", "j.parquet.json"]);
    let check = run_python(
        r#"
import sys, uproot, numpy as np, awkward as ak, pyarrow.parquet as pq
t = pq.read_table(sys.argv[2])
pt = ak.flatten(uproot.open(sys.argv[1])["Events"]["Jet_pt"].array()).to_numpy()
keep = (pt >= 50) & (pt <= 100)
print(t.column_names, np.array_equal(t.column("pt").to_numpy(), pt[keep]))
"#,
        &[r, o],
    );
    assert_eq!(check.trim(), "['pt', 'event', 'file_index'] True");
}
