//! `hepae train` end to end on real CMS jets.

mod common;
use common::*;

#[test]
fn train_writes_model_loss_history_and_plot() {
    let dir = tempfile::tempdir().unwrap();
    let jets = dir.path().join("jets.parquet");
    nano_jets("pt,eta,phi,mass,nConstituents", &jets);
    let model = dir.path().join("model");
    let cfg = dir.path().join("train.yaml");
    std::fs::write(&cfg, "model:\n  kind: sae\n  hidden: [32, 16]\n  latent: 3\nepochs: 12\nbatch_size: 64\nlr: 0.003\nbackend: cpu\n").unwrap();
    let o = ok(&[
        "train",
        "--data",
        jets.to_str().unwrap(),
        "--out",
        model.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
        "--epochs",
        "15",
    ]);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("15 epochs"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for f in [
        "model.bpk",
        "config.json",
        "normalizer.json",
        "loss.parquet",
        "loss.png",
    ] {
        assert!(model.join(f).exists(), "{f} missing");
    }
    let meta = json(&model.join("config.json"));
    assert_eq!(meta["config"]["model"]["kind"], "sae");
    assert_eq!(
        meta["columns"],
        serde_json::json!(["pt", "eta", "phi", "mass", "nConstituents"])
    );
    let py = r#"
import sys, json, pyarrow.parquet as pq
t = pq.read_table(sys.argv[1]).to_pydict()
print(json.dumps(t))
"#;
    let h: serde_json::Value = serde_json::from_str(&run_python(
        py,
        &[model.join("loss.parquet").to_str().unwrap()],
    ))
    .unwrap();
    assert_eq!(
        h["epoch"].as_array().unwrap().len(),
        16,
        "epoch 0 plus 15 epochs"
    );
    let loss: Vec<f64> = h["loss"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert!(loss.last().unwrap() < &(loss[0] / 2.0), "{loss:?}");
    assert_eq!(h["lr"][0], 0.003);
}

#[test]
fn bad_training_config_is_rejected_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.yaml");
    std::fs::write(&cfg, "epochs: 3\nmodel:\n  kind: ae\n  latnet: 4\n").unwrap();
    let out = dir.path().join("m");
    let o = hepae(&[
        "train",
        "--data",
        "unused.parquet",
        "--out",
        out.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("bad.yaml") && err.contains("latnet") && err.contains('4'),
        "{err}"
    );
    assert!(!out.exists());
    // Missing input table.
    let o = hepae(&[
        "train",
        "--data",
        "/nonexistent/jets.parquet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent/jets.parquet"));
    assert!(!out.exists());
    // Settings that parse but cannot train: checked before anything is written.
    let jets = dir.path().join("jets.parquet");
    nano_jets("pt,eta,phi,mass", &jets);
    for (yaml, needle) in [
        (
            "model: {kind: sae_kl}\n",
            "sae_kl needs sigmoid encoder layers",
        ),
        (
            "model: {kind: sae_kl, activation: sigmoid}\nloss: {rho: 1.5}\n",
            "loss.rho is 1.5",
        ),
        (
            "split: {validation: 0.7, test: 0.4}\n",
            "leave rows to train on",
        ),
        (
            "model: {hidden: [8, 4], activations: [tanh]}\n",
            "activations lists 1 layers",
        ),
        (
            "column_scaling: {ptt: standard}\n",
            "column_scaling.ptt: not an input column",
        ),
        (
            "column_scaling: {pt: {log10: {shift: -1.0e6}}}\n",
            "column 'pt' of training row 0 normalises to NaN",
        ),
    ] {
        std::fs::write(&cfg, yaml).unwrap();
        let o = hepae(&[
            "train",
            "--data",
            jets.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--config",
            cfg.to_str().unwrap(),
        ]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{yaml}: {err}");
        assert!(err.contains(needle), "{yaml}: {err}");
        assert!(!out.exists(), "{yaml}");
    }
}
