//! Helpers shared by the end-to-end tests of the `hepae` binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The test data shipped in the repository (`tests/data`, made by
/// `scripts/make-test-data`): the tests never need `$HEPAE_DATA`.
pub fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

pub fn data_file(rel: &str) -> String {
    let p = data().join(rel);
    assert!(
        p.exists(),
        "test data missing: {} (shipped in tests/data; rebuild with scripts/make-test-data)",
        p.display()
    );
    p.display().to_string()
}

pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

pub fn hepae(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hepae"))
        .args(args)
        .output()
        .expect("run hepae")
}

pub fn ok(args: &[&str]) -> Output {
    let out = hepae(args);
    assert!(
        out.status.success(),
        "hepae {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The Python interpreter with uproot/pyarrow/polars (`scripts/test` sets it up).
pub fn python() -> String {
    std::env::var("HEPAE_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Runs a Python snippet; fails the test with its output if it fails.
pub fn run_python(code: &str, args: &[&str]) -> String {
    let out = Command::new(python())
        .arg("-c")
        .arg(code)
        .args(args)
        .output()
        .expect("python3 must be installed (run scripts/test, which prepares it)");
    assert!(
        out.status.success(),
        "python failed (run scripts/test to install uproot, pyarrow and polars):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Arguments of `hepae ingest` for one Dark Machines CSV input, plus `extra`.
pub fn csv_ingest<'a>(input: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec!["ingest", "--input", input, "--out", out];
    a.extend_from_slice(extra);
    a
}

/// One numeric column of a Parquet file, as f64.
pub fn parquet_column(path: &Path, name: &str) -> Vec<f64> {
    let b = hepae_table::read_parquet(path).unwrap();
    let col = b
        .column_by_name(name)
        .unwrap_or_else(|| panic!("{}: no column {name}", path.display()));
    hepae_table::numeric_f64(col).unwrap()
}

pub fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Arguments of `hepae ingest` for one input, tree, collection, column list and output.
pub fn ingest_args<'a>(
    input: &'a str,
    tree: &'a str,
    coll: &'a str,
    cols: &'a str,
    out: &'a str,
) -> Vec<&'a str> {
    vec![
        "ingest",
        "--input",
        input,
        "--tree",
        tree,
        "--collection",
        coll,
        "--columns",
        cols,
        "--out",
        out,
    ]
}

/// Runs `hepae ingest` (which must succeed) and returns its JSON report (`OUT.json`).
pub fn ingest_report(args: &[&str]) -> serde_json::Value {
    ok(args);
    let out = args[args.iter().position(|a| *a == "--out").expect("--out") + 1];
    json(Path::new(&format!("{out}.json")))
}

/// Ingests the jets with pt > 15 GeV of the shipped CMS ttbar NanoAOD file into `out`.
pub fn nano_jets(cols: &str, out: &Path) {
    let nano = data_file("cms-opendata/nanoAOD_2015_CMS_Open_Data_ttbar.root");
    let mut args = ingest_args(&nano, "Events", "Jet", cols, out.to_str().unwrap());
    args.extend(["--cut", "pt:15:8000"]);
    ok(&args);
}
