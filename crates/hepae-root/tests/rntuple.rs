//! Every RNTuple field that uproot reads as numbers (tests/fixtures/golden/
//! rntuple__*.json, made by scripts/golden) reads identically: the SHA-256
//! of all values and of all per-entry counts. Fields uproot cannot read are
//! not offered as numbers either, and nothing is read that uproot did not
//! check.

mod common;
use common::*;
use hepae_root::{Interpretation, RootFile, Values};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::PathBuf;

fn fixtures() -> Vec<(PathBuf, Value)> {
    let mut out: Vec<(PathBuf, Value)> = std::fs::read_dir(fixtures_dir())
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
        let (file, tree) = open_fixture(&g);
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
            assert_sequential_same(&file, &tree, b, &col, &what);
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

/// Every numeric branch of the RNTuples `names` in the file at `path`,
/// read, or the first error.
fn read_all(
    path: &std::path::Path,
    names: &[String],
) -> Result<Vec<(String, hepae_root::Column)>, hepae_root::Error> {
    let file = RootFile::open(path)?;
    let mut out = Vec::new();
    for name in names {
        let tree = file.tree(name)?;
        for b in &tree.branches {
            if matches!(b.interpretation, Interpretation::Numeric { .. }) {
                out.push((
                    format!("{}:{}", tree.name, b.path),
                    file.read_branch(&tree, b)?,
                ));
            }
        }
    }
    Ok(out)
}

/// Random truncations and byte flips of the small files: a clean error, or
/// the very values of the intact file (a flip where nothing reads it), and
/// never a panic.
#[test]
fn damaged_rntuples_give_errors_or_identical_values() {
    let dir = data_dir().join("rntuple");
    let tmp = tempfile_dir();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let (mut errors, mut same) = (0usize, 0usize);
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        if bytes.len() > 8000 {
            continue;
        }
        let names: Vec<String> = RootFile::open(&path)
            .unwrap()
            .tree_keys()
            .iter()
            .map(|k| k.path.clone())
            .collect();
        let clean = read_all(&path, &names).unwrap_or_else(|e| panic!("{e}"));
        // The 100M-entry file would make each trial a 200 MB read.
        if clean.iter().map(|c| c.1.values.len()).sum::<usize>() > 1_000_000 {
            continue;
        }
        for trial in 0..60 {
            let mut b = bytes.clone();
            let mut change = String::new();
            if trial % 3 == 0 {
                let n = next() as usize % b.len();
                b.truncate(n);
                change = format!("truncated to {n}");
            } else {
                let i = next() as usize % b.len();
                let bit = next() % 8;
                b[i] ^= 1 << bit;
                change += &format!("bit {bit} of byte {i} flipped");
            }
            let p = tmp.join(format!("t{trial}.root"));
            std::fs::write(&p, &b).unwrap();
            let got = std::panic::catch_unwind(|| read_all(&p, &names));
            let what = format!("{} trial {trial} ({change})", path.display());
            match got {
                Err(_) => panic!("{what}: panicked"),
                Ok(Err(e)) => {
                    assert!(
                        e.to_string().contains(&*p.to_string_lossy()),
                        "{what}: error without the file: {e}"
                    );
                    errors += 1;
                }
                Ok(Ok(cols)) => {
                    let differs: Vec<&String> = cols
                        .iter()
                        .zip(&clean)
                        .filter(|(a, b)| format!("{a:?}") != format!("{b:?}"))
                        .map(|(a, _)| &a.0)
                        .collect();
                    assert!(
                        cols.len() == clean.len() && differs.is_empty(),
                        "{what}: values of {differs:?} differ without an error"
                    );
                    same += 1;
                }
            }
        }
    }
    eprintln!("{errors} clean errors, {same} identical reads");
    assert!(
        errors > 300 && same > 10,
        "{errors} errors, {same} identical"
    );
}

fn tempfile_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("hepae-rntuple-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Every single-byte flip of a small file: the anchor, the header and
/// footer envelopes and the pages are each caught by their XXH3 checksum.
#[test]
fn every_checksum_catches_a_flip() {
    let path = data_dir().join("rntuple/test_int_float_rntuple_v1-0-0-0.root");
    let bytes = std::fs::read(&path).unwrap();
    let names = vec!["ntuple".to_string()];
    let tmp = tempfile_dir().join("flip.root");
    let mut seen = std::collections::BTreeMap::<&str, usize>::new();
    for i in 0..bytes.len() {
        let mut b = bytes.clone();
        b[i] ^= 0x10;
        std::fs::write(&tmp, &b).unwrap();
        let Err(e) = read_all(&tmp, &names) else {
            continue;
        };
        let e = e.to_string();
        for what in [
            "anchor checksum",
            "header envelope checksum",
            "footer envelope checksum",
            "page list envelope checksum",
            "page checksum",
        ] {
            if e.contains(what) {
                *seen.entry(what).or_default() += 1;
            }
        }
    }
    assert_eq!(seen.len(), 5, "checksums that caught a flip: {seen:?}");
}
