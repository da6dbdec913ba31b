//! What the golden tests of TTrees and RNTuples share: where the data and
//! fixtures are, opening a fixture's tree, and the sequential-read check.

#![allow(dead_code)] // each test binary uses its own part

use hepae_root::{Branch, Column, RootFile, Tree};
use serde_json::Value;
use std::path::PathBuf;

/// The test data shipped in the repository (`tests/data`).
pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data")
}

/// The golden fixtures (`tests/fixtures/golden`, made by scripts/golden).
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/golden")
}

/// The file and tree of fixture `g`, with its entry count checked.
pub fn open_fixture(g: &Value) -> (RootFile, Tree) {
    let rel = g["file"].as_str().unwrap();
    let file = RootFile::open(data_dir().join(rel)).unwrap_or_else(|e| panic!("{e}"));
    let tree = file
        .tree(g["tree"].as_str().unwrap())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        tree.entries,
        g["entries"].as_i64().unwrap(),
        "{rel}: entries"
    );
    (file, tree)
}

/// The one-basket (one-page)-at-a-time reader gives the very same column.
pub fn assert_sequential_same(file: &RootFile, tree: &Tree, b: &Branch, col: &Column, what: &str) {
    let seq = file
        .read_branch_sequential(tree, b)
        .unwrap_or_else(|e| panic!("{e}"));
    // (`==` alone would fail on NaN; the Debug text compares it too.)
    assert!(
        seq == *col || format!("{seq:?}") == format!("{col:?}"),
        "{what}: sequential read differs"
    );
}
