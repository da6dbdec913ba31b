//! RNTuples through the whole tool: `hepae ingest` of the NanoAOD and
//! DoubleMu RNTuples against uproot (golden SHA-256 of every column), cuts,
//! `hepae rmm` on an RNTuple against the same events as a TTree, and bad
//! input.

mod common;
use common::*;
use sha2::{Digest, Sha256};
use std::path::Path;

const NANO: &str =
    "rntuple/cmsopendata2015_ttbar_19980_NANOAOD_RNTupleImporter_rntuple_v1-0-0-1.root";
const MUONS: &str = "rntuple/Run2012BC_DoubleMuParked_Muons_1000evts_rntuple_v1-0-0-0.root";

const PHYSLITE: &str = "rntuple/uproot-physlite-rntuple_v1-0-0-0.root";

fn golden(file: &str, tree: &str) -> serde_json::Value {
    let name = file.trim_start_matches("rntuple/");
    json(&fixture(&format!("golden/rntuple__{name}__{tree}.json")))
}

fn sha<T: Copy>(v: &[T], bytes: impl Fn(T) -> [u8; 8]) -> String {
    let mut h = Sha256::new();
    for &x in v {
        h.update(bytes(x));
    }
    format!("{:x}", h.finalize())
}

/// Ingests `collection` of RNTuple `tree` with `columns` and checks every
/// column and the per-event counts against uproot's digests of the fields
/// named `{collection}{sep}{column}`.
fn ingest_matches_uproot(file: &str, tree: &str, collection: &str, sep: &str, columns: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("objects.parquet");
    let input = data_file(file);
    let cols = columns.join(",");
    ok(&ingest_args(
        &input,
        tree,
        collection,
        &cols,
        out.to_str().unwrap(),
    ));
    let g = golden(file, tree);
    for c in columns {
        let v = parquet_column(&out, c);
        let want = &g["branches"][format!("{collection}{sep}{c}")];
        assert_eq!(
            sha(&v, f64::to_le_bytes),
            want["values_sha256"].as_str().unwrap(),
            "{file}: {collection}_{c} differs from uproot"
        );
    }
    // Objects per event, events without objects included.
    let entries = g["entries"].as_u64().unwrap() as usize;
    let mut counts = vec![0i64; entries];
    for e in parquet_column(&out, "event") {
        counts[e as usize] += 1;
    }
    let want = &g["branches"][format!("{collection}{sep}{}", columns[0])]["counts_sha256"];
    assert_eq!(
        sha(&counts, i64::to_le_bytes),
        want.as_str().unwrap(),
        "{file}: counts"
    );
}

#[test]
fn ingest_of_nanoaod_doublemu_and_physlite_rntuples_matches_uproot() {
    ingest_matches_uproot(NANO, "Events", "Jet", "_", &["pt", "eta", "phi", "mass"]);
    ingest_matches_uproot(
        MUONS,
        "Events",
        "Muon",
        "_",
        &["pt", "eta", "phi", "mass", "charge"],
    );
    // ATLAS PHYSLITE as RNTuples: `AnalysisJetsAuxDyn:pt` fields.
    ingest_matches_uproot(
        PHYSLITE,
        "EventData",
        "AnalysisJetsAuxDyn",
        ":",
        &["pt", "eta", "phi", "m"],
    );
}

#[test]
fn cuts_on_an_rntuple_keep_exactly_the_rows_in_range() {
    let dir = tempfile::tempdir().unwrap();
    let all = dir.path().join("all.parquet");
    let cut = dir.path().join("cut.parquet");
    let input = data_file(NANO);
    ok(&ingest_args(
        &input,
        "Events",
        "Jet",
        "pt,eta",
        all.to_str().unwrap(),
    ));
    let mut args = ingest_args(&input, "Events", "Jet", "pt,eta", cut.to_str().unwrap());
    args.extend(["--cut", "pt:30:8000"]);
    ok(&args);
    let (pt, eta) = (parquet_column(&all, "pt"), parquet_column(&all, "eta"));
    let keep: Vec<usize> = (0..pt.len())
        .filter(|&i| (30.0..=8000.0).contains(&pt[i]))
        .collect();
    assert!(keep.len() > 10 && keep.len() < pt.len());
    assert_eq!(
        parquet_column(&cut, "pt"),
        keep.iter().map(|&i| pt[i]).collect::<Vec<_>>()
    );
    assert_eq!(
        parquet_column(&cut, "eta"),
        keep.iter().map(|&i| eta[i]).collect::<Vec<_>>()
    );
}

/// The NanoAOD RNTuple's objects and MET written as a TTree by uproot: the
/// RMM of both files must be the same, cell for cell.
#[test]
fn rmm_of_an_rntuple_equals_rmm_of_the_same_events_as_a_ttree() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("same_events_ttree.root");
    run_python(
        r#"
import sys, uproot, awkward as ak
t = uproot.open(sys.argv[1])["Events"]
out = {}
for c in ["Jet", "Muon", "Electron", "Photon"]:
    a = t.arrays([f"{c}_{k}" for k in ["pt", "eta", "phi", "mass"]])
    out[c] = ak.zip({k[len(c) + 1:]: a[k] for k in a.fields})
out["MET_pt"] = t["MET_pt"].array()
out["MET_phi"] = t["MET_phi"].array()
with uproot.recreate(sys.argv[2]) as f:
    f["Events"] = out
"#,
        &[&data_file(NANO), tree.to_str().unwrap()],
    );
    let rmm = |input: &Path, out: &Path| {
        ok(&[
            "rmm",
            "--sample",
            &format!("{}:ttbar", input.display()),
            "--types",
            "jets,electrons,muons,photons",
            "--out",
            out.to_str().unwrap(),
        ]);
        hepae_table::read_parquet(out).unwrap()
    };
    let a = rmm(Path::new(&data_file(NANO)), &dir.path().join("a.parquet"));
    let b = rmm(&tree, &dir.path().join("b.parquet"));
    assert_eq!(a.num_rows(), 10);
    assert_eq!(a.schema(), b.schema());
    for (i, f) in a.schema().fields().iter().enumerate() {
        if f.name() == "file" || f.name() == "sample_file" {
            continue;
        }
        assert_eq!(a.column(i), b.column(i), "column {}", f.name());
    }
}

#[test]
fn damaged_rntuples_are_named_errors_with_exit_2_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(data_file(MUONS)).unwrap();
    let out = dir.path().join("muons.parquet");
    let cases = [
        (
            "truncated.root",
            bytes[..bytes.len() * 2 / 3].to_vec(),
            "truncated",
        ),
        (
            "flipped.root",
            {
                // A byte in the middle of the first page's compressed data.
                let mut b = bytes.clone();
                b[1000] ^= 0x55;
                b
            },
            "checksum",
        ),
    ];
    for (name, b, needle) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, b).unwrap();
        let o = hepae(&ingest_args(
            p.to_str().unwrap(),
            "Events",
            "Muon",
            "pt,eta",
            out.to_str().unwrap(),
        ));
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(name) && err.contains(needle), "{name}: {err}");
        assert!(!out.exists(), "{name}: output written");
    }
}

/// `hepae decompress --rntuple`: the restored table as an RNTuple that
/// uproot reads back value for value (and so does hepae's own reader).
#[test]
fn decompress_writes_an_rntuple_that_uproot_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let jets = dir.path().join("jets.parquet");
    nano_jets("pt,eta,phi,mass,nConstituents", &jets);
    let art = dir.path().join("jets.hepae");
    ok(&[
        "compress",
        "--data",
        jets.to_str().unwrap(),
        "--out",
        art.to_str().unwrap(),
        "--bound",
        "pt:rel:1e-3",
        "--bound",
        "eta:abs:1e-3",
        "--bound",
        "phi:abs:1e-3",
        "--bound",
        "mass:rel:1e-3",
        "--lossless",
        "nConstituents",
    ]);
    let parquet = dir.path().join("restored.parquet");
    let root = dir.path().join("restored.root");
    ok(&[
        "decompress",
        art.to_str().unwrap(),
        "--out",
        parquet.to_str().unwrap(),
    ]);
    ok(&[
        "decompress",
        art.to_str().unwrap(),
        "--out",
        root.to_str().unwrap(),
        "--rntuple",
        "--tree",
        "Jets",
    ]);
    let out = run_python(
        r#"
import sys, uproot, pyarrow.parquet as pq, numpy as np
f = uproot.open(sys.argv[1])
assert f.classnames() == {"Jets;1": "ROOT::RNTuple"}, f.classnames()
t = f["Jets"]
p = pq.read_table(sys.argv[2])
assert sorted(t.keys()) == sorted(p.column_names), (t.keys(), p.column_names)
for c in p.column_names:
    a, b = t[c].array(library="np"), p[c].to_numpy()
    assert a.dtype == b.dtype and np.array_equal(a, b), c
print(t.num_entries)
"#,
        &[root.to_str().unwrap(), parquet.to_str().unwrap()],
    );
    let rows: usize = out.trim().parse().unwrap();
    assert_eq!(rows, parquet_column(&parquet, "pt").len());
    // hepae reads its own RNTuple like any other.
    let o = ok(&["inspect", root.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("RNTuple Jets"));
    // --rntuple needs a .root name: exit 2, nothing written.
    let bad = dir.path().join("restored.parquet2");
    let o = hepae(&[
        "decompress",
        art.to_str().unwrap(),
        "--out",
        bad.to_str().unwrap(),
        "--rntuple",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!bad.exists());
}
