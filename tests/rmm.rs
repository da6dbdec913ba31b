//! RMM features and anomaly detection end to end on slices of the Pythia samples.

mod common;
use common::*;
use std::path::Path;

#[test]
fn rmm_anomaly_pipeline_separates_zprime_from_sm() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/rmm-anomaly.yaml"),
    )
    .unwrap()
    .replace("epochs: 20", "epochs: 4");
    // The shipped slices (scripts/make-test-data) instead of the full samples.
    let yaml = ["ttbar", "wjets", "qcd", "zprime2tev_signal"]
        .iter()
        .fold(yaml, |y, s| {
            y.replace(
                &format!("$HEPAE_DATA/pythia/rmm_{s}.root"),
                &data_file(&format!("pythia/rmm_{s}_slice.root")),
            )
        });
    assert!(!yaml.contains("HEPAE_DATA"), "every sample replaced");
    let p = dir.path().join("rmm.yaml");
    std::fs::write(
        &p,
        format!("{yaml}out: {}\n", dir.path().join("out").display()),
    )
    .unwrap();
    let o = hepae(&["run", p.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    let root = dir.path().join("out/rmm-anomaly");
    assert!(root.join("rmm/rmm_event0.png").is_file());
    for f in [
        "scores.parquet",
        "roc.png",
        "roc.svg",
        "scores.png",
        "model/model.bpk",
    ] {
        assert!(root.join("anomaly").join(f).is_file(), "{f}");
    }
    let rmm = hepae_table::read_parquet(&root.join("rmm/rmm.parquet")).unwrap();
    // 3 x 4000 background + 1500 signal events; 25 x 25 cells + event, process, is_signal.
    assert_eq!(rmm.num_rows(), 13_500);
    assert_eq!(rmm.num_columns(), 625 + 3);
    assert_eq!(rmm.schema().field(0).name(), "met");
    assert_eq!(rmm.schema().field(26).name(), "eT_j1");
    let s = json(&root.join("anomaly/summary.json"));
    assert_eq!(s["features"], 625);
    let (train, test) = (
        s["train_events"].as_u64().unwrap(),
        s["test_events"].as_u64().unwrap(),
    );
    assert_eq!(train + test, 12_000);
    assert!((2_200..2_600).contains(&test), "20% held out: {test}");
    let auc = s["rocs"][0]["auc"].as_f64().unwrap();
    assert_eq!(s["rocs"][0]["signal"], "zprime");
    assert!(auc > 0.75, "AUC {auc}");
    // Tighter signal regions keep fewer events of every process.
    let srs = s["signal_regions"].as_array().unwrap();
    assert_eq!(srs.len(), 3);
    for proc_ in ["ttbar", "wjets", "qcd", "zprime"] {
        let c: Vec<f64> = srs
            .iter()
            .map(|r| r["counts"][proc_].as_f64().unwrap())
            .collect();
        assert!(c[0] >= c[1] && c[1] >= c[2], "{proc_}: {c:?}");
    }
    // The scores file agrees with the summary: the median of held-out background scores.
    let py = r#"
import sys, pyarrow.parquet as pq, numpy as np
t = pq.read_table(sys.argv[1]).to_pydict()
s = np.array(t["score"]); split = np.array(t["split"])
b = np.sort(s[split == "test"])
print(b[len(b) // 2])
"#;
    let median: f64 = run_python(py, &[root.join("anomaly/scores.parquet").to_str().unwrap()])
        .trim()
        .parse()
        .unwrap();
    assert_eq!(median, s["background_median"].as_f64().unwrap());
}
