//! Every branch in tests/fixtures/golden (made by scripts/golden with uproot)
//! must read identically: values, per-entry counts and entry structure.

mod common;
use common::*;
use hepae_root::Values;
use serde_json::Value;

fn as_f64(v: &Value) -> f64 {
    match v {
        Value::String(s) => s.parse().unwrap(),
        other => other.as_f64().unwrap(),
    }
}

fn close(a: f64, b: f64, what: &str) {
    let tol = 1e-9 * a.abs().max(b.abs()).max(1.0);
    assert!(
        (a - b).abs() <= tol || (a.is_nan() && b.is_nan()),
        "{what}: got {a}, uproot {b}"
    );
}

fn dtype_name(v: &Values) -> &'static str {
    v.dtype().name()
}

#[test]
fn all_golden_branches_match_uproot() {
    let mut checked = 0usize;
    let mut files = 0usize;
    for entry in std::fs::read_dir(fixtures_dir()).unwrap() {
        let path = entry.unwrap().path();
        // RNTuples have their own, exact test (tests/rntuple.rs).
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("rntuple__")
        {
            continue;
        }
        let g: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let rel = g["file"].as_str().unwrap();
        let (file, tree) = open_fixture(&g);
        files += 1;
        for (name, s) in g["branches"].as_object().unwrap() {
            let what = format!("{rel}:{name}");
            let b = tree
                .branch(name)
                .unwrap_or_else(|| panic!("{what}: branch not found"));
            let col = file.read_branch(&tree, b).unwrap_or_else(|e| panic!("{e}"));
            assert_sequential_same(&file, &tree, b, &col, &what);
            let dt = s["dtype"].as_str().unwrap();
            assert_eq!(dtype_name(&col.values), dt, "{what}: dtype");
            assert_eq!(
                col.entries() as i64,
                s["entries"].as_i64().unwrap(),
                "{what}: entries"
            );
            assert_eq!(
                col.values.len() as i64,
                s["count"].as_i64().unwrap(),
                "{what}: count"
            );
            assert_eq!(
                col.offsets.is_some(),
                s["jagged"].as_bool().unwrap(),
                "{what}: jagged"
            );
            let n = col.values.len();
            let mut sum = 0.0;
            let mut weighted = 0.0;
            let mut count_checksum = 0i64;
            let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
            let mut k = 0usize;
            for e in 0..col.entries() {
                let c = col.count(e);
                count_checksum += e as i64 * c as i64;
                for _ in 0..c {
                    let x = col.values.get_f64(k);
                    sum += x;
                    weighted += e as f64 * x;
                    lo = lo.min(x);
                    hi = hi.max(x);
                    k += 1;
                }
            }
            assert_eq!(k, n);
            assert_eq!(
                count_checksum,
                s["count_checksum"].as_i64().unwrap(),
                "{what}: per-entry counts"
            );
            close(sum, as_f64(&s["sum"]), &format!("{what}: sum"));
            close(
                weighted,
                as_f64(&s["weighted_sum"]),
                &format!("{what}: entry-weighted sum"),
            );
            if n > 0 {
                close(lo, as_f64(&s["min"]), &format!("{what}: min"));
                close(hi, as_f64(&s["max"]), &format!("{what}: max"));
            }
            for (i, v) in s["first"].as_array().unwrap().iter().enumerate() {
                assert_eq!(col.values.get_f64(i), as_f64(v), "{what}: value {i}");
            }
            let last = s["last"].as_array().unwrap();
            for (j, v) in last.iter().enumerate() {
                assert_eq!(
                    col.values.get_f64(n - last.len() + j),
                    as_f64(v),
                    "{what}: value {}",
                    n - last.len() + j
                );
            }
            checked += 1;
        }
    }
    assert!(files >= 15, "only {files} fixture files found");
    assert!(checked > 300, "only {checked} branches checked");
    eprintln!("{checked} branches in {files} files match uproot");
}
