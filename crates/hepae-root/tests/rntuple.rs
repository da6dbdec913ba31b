//! Every RNTuple field that uproot reads as numbers (tests/fixtures/golden/
//! rntuple__*.json, made by scripts/golden) reads identically: the SHA-256
//! of all values and of all per-entry counts. Fields uproot cannot read are
//! not offered as numbers either, and nothing is read that uproot did not
//! check.

use hepae_root::{Interpretation, RootFile, Values};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::PathBuf;

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data")
}

fn fixtures() -> Vec<(PathBuf, Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/golden");
    let mut out: Vec<(PathBuf, Value)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("rntuple__")
        })
        .map(|p| {
            let g = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
            (p, g)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn sha_values(v: &Values) -> String {
    let mut h = Sha256::new();
    for i in 0..v.len() {
        h.update(v.get_f64(i).to_le_bytes());
    }
    format!("{:x}", h.finalize())
}

fn sha_counts(col: &hepae_root::Column) -> String {
    let mut h = Sha256::new();
    for e in 0..col.entries() {
        h.update((col.count(e) as i64).to_le_bytes());
    }
    format!("{:x}", h.finalize())
}

#[test]
fn every_rntuple_field_matches_uproot() {
    let (mut checked, mut ntuples) = (0usize, 0usize);
    let mut problems = Vec::new();
    for (_, g) in fixtures() {
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
        ntuples += 1;
        let golden = g["branches"].as_object().unwrap();
        for (name, s) in golden {
            let what = format!("{rel}:{}:{name}", tree.name);
            let Some(b) = tree.branch(name) else {
                problems.push(format!("{what}: no such branch"));
                continue;
            };
            let col = match file.read_branch(&tree, b) {
                Ok(c) => c,
                Err(e) => {
                    problems.push(format!("{what}: {e}"));
                    continue;
                }
            };
            let seq = file.read_branch_sequential(&tree, b).unwrap();
            assert!(
                seq == col || format!("{seq:?}") == format!("{col:?}"),
                "{what}: sequential read differs"
            );
            if col.offsets.is_some() != s["jagged"].as_bool().unwrap()
                || col.entries() as i64 != s["entries"].as_i64().unwrap()
                || sha_counts(&col) != s["counts_sha256"].as_str().unwrap()
            {
                problems.push(format!("{what}: per-entry structure differs"));
            } else if sha_values(&col.values) != s["values_sha256"].as_str().unwrap() {
                problems.push(format!(
                    "{what}: values differ (first {:?})",
                    col.values.get_f64(0)
                ));
            } else {
                checked += 1;
            }
        }
        // Nothing is offered as numbers that uproot did not check.
        for b in &tree.branches {
            if matches!(b.interpretation, Interpretation::Numeric { .. })
                && !golden.contains_key(&b.path)
            {
                problems.push(format!(
                    "{rel}:{}:{}: read as numbers, but uproot did not ({})",
                    tree.name, b.path, g["skipped"][&b.path]
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(ntuples >= 28, "only {ntuples} RNTuples");
    eprintln!("{checked} fields of {ntuples} RNTuples match uproot exactly");
}
