//! Bad input gives a one-line error naming the file and tree/branch, exit code 2,
//! and no output file.

mod common;
use common::*;
use std::path::Path;

/// Runs an ingest that must fail; checks exit code, message and that nothing was written.
fn fails(args: &[&str], out: &Path, must_mention: &[&str]) -> String {
    let o = hepae(args);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(2), "args {args:?}: stderr {err}");
    assert_eq!(
        err.trim().lines().count(),
        1,
        "one-line error expected, got:\n{err}"
    );
    assert!(err.starts_with("error: "), "{err}");
    for m in must_mention {
        assert!(err.contains(m), "error should mention '{m}': {err}");
    }
    assert!(!out.exists(), "output written despite the error: {err}");
    let dir = out.parent().unwrap();
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(leftovers.is_empty(), "files left behind: {leftovers:?}");
    err
}

#[test]
fn bad_inputs_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let outdir = dir.path().join("out");
    std::fs::create_dir(&outdir).unwrap();
    let out = outdir.join("jets.parquet");
    let o = out.to_str().unwrap();
    let nano = data_file("cms-opendata/nanoAOD_2015_CMS_Open_Data_ttbar.root");

    // Missing file.
    let missing = dir.path().join("nope.root");
    fails(
        &ingest_args(missing.to_str().unwrap(), "Events", "Jet", "pt", o),
        &out,
        &["nope.root", "cannot open"],
    );

    // Not a ROOT file.
    let text = dir.path().join("notes.root");
    std::fs::write(&text, "this is not a ROOT file\n").unwrap();
    fails(
        &ingest_args(text.to_str().unwrap(), "Events", "Jet", "pt", o),
        &out,
        &["notes.root", "not a ROOT file"],
    );

    // Truncated to half its size.
    let bytes = std::fs::read(&nano).unwrap();
    let half = dir.path().join("half.root");
    std::fs::write(&half, &bytes[..bytes.len() / 2]).unwrap();
    fails(
        &ingest_args(half.to_str().unwrap(), "Events", "Jet", "pt", o),
        &out,
        &["half.root", "truncated"],
    );
    let o2 = hepae(&["inspect", half.to_str().unwrap()]);
    assert_eq!(o2.status.code(), Some(2));

    // Missing tree: the error lists the trees there are.
    fails(
        &ingest_args(&nano, "Evts", "Jet", "pt", o),
        &out,
        &["nanoAOD_2015", "Evts", "Events"],
    );

    // Missing branch.
    fails(
        &ingest_args(&nano, "Events", "Jet", "pt,bogus", o),
        &out,
        &["nanoAOD_2015", "tree Events", "Jet_bogus", "bogus"],
    );

    // Unsupported branch type (a string leaf).
    let zmumu = data_file("cms-opendata/uproot-Zmumu.root");
    fails(
        &ingest_args(&zmumu, "events", "x", "t=Type", o),
        &out,
        &["uproot-Zmumu.root", "tree events", "branch Type", "string"],
    );

    // Empty selection: nothing passes the cuts.
    let mut a = ingest_args(&nano, "Events", "Jet", "pt,mass", o);
    a.extend(["--cut", "pt:100000:200000"]);
    fails(&a, &out, &["empty selection"]);

    // A per-event branch asked as an object column.
    fails(
        &ingest_args(&nano, "Events", "Jet", "pt,met=MET_pt", o),
        &out,
        &["MET_pt"],
    );

    // A glob that matches nothing.
    let g = dir.path().join("*.nothing");
    fails(
        &ingest_args(g.to_str().unwrap(), "Events", "Jet", "pt", o),
        &out,
        &["no files match"],
    );

    // A cut on an unknown column, and a malformed cut.
    let mut a = ingest_args(&nano, "Events", "Jet", "pt", o);
    a.extend(["--cut", "foo:1:2"]);
    fails(&a, &out, &["foo"]);
    let mut a = ingest_args(&nano, "Events", "Jet", "pt", o);
    a.extend(["--cut", "pt:x:2"]);
    fails(&a, &out, &["bad cut"]);
}

#[test]
fn nonfinite_values_are_an_error_unless_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("nan.root");
    run_python(
        r#"
import sys, uproot, numpy as np, awkward as ak
nan, inf = float("nan"), float("inf")
pt = ak.Array([[10.0, nan], [30.0], [40.0, 50.0, inf]])
eta = ak.Array([[0.1, 0.2], [nan], [0.3, 0.4, 0.5]])
m = ak.Array([[1.0, 2.0], [3.0], [4.0, 5.0, 6.0]])
jets = ak.zip({"pt": pt, "eta": eta, "m": m})
with uproot.recreate(sys.argv[1]) as f:
    f.mktree("Events", {"Jet": jets.type}).extend({"Jet": jets})
"#,
        &[root.to_str().unwrap()],
    );
    let outdir = dir.path().join("out");
    std::fs::create_dir(&outdir).unwrap();
    let out = outdir.join("j.parquet");
    let o = out.to_str().unwrap();
    let r = root.to_str().unwrap();
    fails(
        &ingest_args(r, "Events", "Jet", "pt", o),
        &out,
        &["nan.root", "Jet_pt", "2 NaN/Inf", "event 0"],
    );
    // A column read after the cut columns (here not the first) is checked too.
    fails(
        &ingest_args(r, "Events", "Jet", "m,eta", o),
        &out,
        &["nan.root", "Jet_eta", "1 NaN/Inf", "event 1"],
    );
    let mut a = ingest_args(r, "Events", "Jet", "m,pt,eta", o);
    a.push("--drop-nonfinite");
    ok(&a);
    let rep = json(&outdir.join("j.parquet.json"));
    assert_eq!(rep["rows_before_cuts"], 6);
    // Rows 1 and 5 (pt) and 2 (eta) go from every column.
    assert_eq!(rep["rows_nonfinite_dropped"], 3);
    assert_eq!(rep["rows_after_cuts"], 3);
    let m = run_python(
        "import sys, pyarrow.parquet as pq; print(pq.read_table(sys.argv[1]).column('m').to_pylist())",
        &[o],
    );
    assert_eq!(m.trim(), "[1.0, 4.0, 5.0]");
}

#[test]
fn subdirectory_trees_bool_and_integer_arrays() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("sub.root");
    // uproot writes the file; hepae must read it back exactly.
    run_python(
        r#"
import sys, uproot, numpy as np, awkward as ak
with uproot.recreate(sys.argv[1], compression=uproot.ZSTD(3)) as f:
    f.mkdir("calib")
    jets = ak.zip({"pt": ak.Array([[1.5, 2.5], [], [3.5]]),
                   "good": ak.Array([[True, False], [], [True]]),
                   "nconst": ak.values_astype(ak.Array([[3, -4], [], [7]]), np.int16),
                   "id": ak.unflatten(np.array([2**63 + 5, 1, 9], dtype=np.uint64), [2, 0, 1])})
    f["calib"].mktree("jets", {"Jet": jets.type}).extend({"Jet": jets})
"#,
        &[root.to_str().unwrap()],
    );
    let out = dir.path().join("j.parquet");
    ok(&[
        "ingest",
        "--input",
        root.to_str().unwrap(),
        "--tree",
        "calib/jets",
        "--collection",
        "Jet",
        "--out",
        out.to_str().unwrap(),
    ]);
    let py = r#"
import sys, json, pyarrow.parquet as pq
t = pq.read_table(sys.argv[1])
print(json.dumps({"schema": {f.name: str(f.type) for f in t.schema}, "data": t.to_pydict()}))
"#;
    let v: serde_json::Value =
        serde_json::from_str(&run_python(py, &[out.to_str().unwrap()])).unwrap();
    assert_eq!(v["schema"]["good"], "bool");
    assert_eq!(v["schema"]["nconst"], "int16");
    assert_eq!(v["schema"]["id"], "uint64");
    assert_eq!(v["data"]["pt"], serde_json::json!([1.5, 2.5, 3.5]));
    assert_eq!(v["data"]["good"], serde_json::json!([true, false, true]));
    assert_eq!(v["data"]["nconst"], serde_json::json!([3, -4, 7]));
    assert_eq!(
        v["data"]["id"],
        serde_json::json!([9223372036854775813u64, 1, 9])
    );
    assert_eq!(v["data"]["event"], serde_json::json!([0, 0, 2]));
}
