//! `hepae run` end to end: the quickstart pipeline on CMS NanoAOD, stage
//! skipping, --only/--from/--force, strict YAML, and the thesis pipelines.

mod common;
use common::*;
use std::path::{Path, PathBuf};

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The quickstart pipeline with its outputs redirected into `dir`.
fn quickstart_in(dir: &Path, extra: &str) -> PathBuf {
    let text = std::fs::read_to_string(repo("pipelines/quickstart.yaml")).unwrap();
    let p = dir.join("quickstart.yaml");
    std::fs::write(
        &p,
        format!("{text}out: {}\n{extra}", dir.join("out").display()),
    )
    .unwrap();
    p
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn run_ok(args: &[&str]) -> String {
    let o = hepae(args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    stderr(&o)
}

fn key(dir: &Path) -> String {
    json(&dir.join("stage.json"))["key"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn quickstart_runs_then_skips_then_reruns_what_changed() {
    let dir = tempfile::tempdir().unwrap();
    let p = quickstart_in(dir.path(), "");
    let ps = p.to_str().unwrap();
    let o = hepae(&["run", ps]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    let root = dir.path().join("out/quickstart");
    let stages = [
        "ingest",
        "preprocess",
        "train",
        "compress",
        "decompress",
        "validate",
    ];
    for s in stages {
        assert!(
            root.join(s).join("stage.json").is_file(),
            "{s}: no stage.json"
        );
    }
    let report = root.join("validate/report/index.html");
    assert!(report.is_file());
    assert!(String::from_utf8_lossy(&o.stdout).contains(&format!("report: {}", report.display())));
    assert!(err.contains("6 stage(s) run, 0 up to date"), "{err}");
    // The chain is the real one: restored table, bounds from the YAML.
    let m = json(&root.join("compress/jets.hepae/manifest.json"));
    // The structure codec: pt coded under its bound, nConstituents exact.
    let coded = |name: &str| {
        let i = m["columns"]
            .as_array()
            .unwrap()
            .iter()
            .position(|c| c["name"] == name)
            .unwrap();
        (
            m["columns"][i].clone(),
            m["coded"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["index"] == i)
                .unwrap()
                .clone(),
        )
    };
    assert_eq!(m["format_version"], 4);
    assert_eq!(coded("pt").1["bound"]["rel"], 1e-3);
    let (nc, ncc) = coded("nConstituents");
    assert_eq!(nc["store"], "coded");
    assert_eq!(ncc["grid"]["kind"], "int");
    let summary = json(&root.join("validate/report/summary.json"));
    assert_eq!(
        summary["rows"],
        json(&root.join("preprocess/report.json"))["rows_after"]
    );

    // Second run: nothing to do, and it says so.
    let keys: Vec<String> = stages.iter().map(|s| key(&root.join(s))).collect();
    let err = run_ok(&["run", ps]);
    assert!(err.contains("0 stage(s) run, 6 up to date"), "{err}");
    assert_eq!(err.matches("up to date, skipped").count(), 6, "{err}");

    // A changed bound re-runs compress and what follows, not training.
    let p2 = quickstart_in(dir.path(), "");
    let text = std::fs::read_to_string(&p2)
        .unwrap()
        .replace("rel: 1.0e-3", "rel: 1.0e-2");
    std::fs::write(&p2, text).unwrap();
    let err = run_ok(&["run", ps]);
    assert!(err.contains("3 stage(s) run, 3 up to date"), "{err}");
    for (s, k) in stages.iter().zip(&keys).take(3) {
        assert_eq!(&key(&root.join(s)), k, "{s} should not have re-run");
    }
    assert_ne!(key(&root.join("compress")), keys[3]);

    // --only and --from force just what they name.
    let err = run_ok(&["run", ps, "--only", "validate"]);
    assert!(err.contains("1 stage(s) run, 5 up to date"), "{err}");
    let err = run_ok(&["run", ps, "--from", "train"]);
    assert!(err.contains("4 stage(s) run, 2 up to date"), "{err}");
    let err = run_ok(&["run", ps, "--force"]);
    assert!(err.contains("6 stage(s) run, 0 up to date"), "{err}");
}

#[test]
fn resume_continues_a_train_stage_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let p = quickstart_in(dir.path(), "");
    let ps = p.to_str().unwrap();
    run_ok(&["run", ps, "--set", "train.epochs=3"]);
    let train = dir.path().join("out/quickstart/train");
    // More epochs for the finished run: it continues from epoch 3.
    let err = run_ok(&["run", ps, "--resume", "--set", "train.epochs=6"]);
    assert!(err.contains("resumed after epoch 3"), "{err}");
    let resumed = std::fs::read(train.join("model.safetensors")).unwrap();
    let epochs = |d: &Path| {
        let b = hepae_table::read_parquet(&d.join("loss.parquet")).unwrap();
        b.num_rows()
    };
    // Epoch 0 is the loss before training.
    assert_eq!(epochs(&train), 7);
    // The same six epochs from scratch give the same weights, bit for bit.
    let err = run_ok(&["run", ps, "--from", "train", "--set", "train.epochs=6"]);
    assert!(!err.contains("resumed"), "{err}");
    assert_eq!(
        std::fs::read(train.join("model.safetensors")).unwrap(),
        resumed
    );
    assert_eq!(epochs(&train), 7);
}

#[test]
fn strict_yaml_errors_name_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "typo.yaml",
            "name: x\ntrian: {}\n",
            vec![
                "typo.yaml",
                "line 2 column 1",
                "unknown field `trian`",
                "docs/pipeline.md",
            ],
        ),
        (
            "type.yaml",
            "train:\n  epochs: many\ningest: {inputs: [a.root], collection: Jet}\n",
            vec!["type.yaml", "line 2", "epochs"],
        ),
        (
            "missing.yaml",
            "name: x\ningest: {inputs: [a.root], collection: Jet}\n",
            vec!["missing.yaml", "train"],
        ),
        (
            "generate.yaml",
            "name: g\ngenerate: {epochs: 1}\n",
            vec!["needs a darkmachines section"],
        ),
        (
            "nested.yaml",
            "train: {model: {kind: ae, hiden: [3]}}\ningest: {inputs: [a.root], collection: Jet}\n",
            vec!["nested.yaml", "line 1", "unknown field `hiden`"],
        ),
        (
            "acts.yaml",
            "train: {model: {hidden: [4, 2], activations: [tanh, relu, elu]}}\ningest: {inputs: [a.root], collection: Jet}\n",
            vec!["acts.yaml", "train.model: activations lists 3 layers", "give 2 (mirrored) or 4"],
        ),
        (
            "ratio.yaml",
            "train: {}\ncompression_ratios: [0.5]\ningest: {inputs: [a.root], collection: Jet}\n",
            vec!["ratio.yaml", "compression_ratios: 0.5"],
        ),
    ];
    for (name, text, needles) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        let o = hepae(&["run", p.to_str().unwrap()]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{name}: {err}");
        for n in needles {
            assert!(err.contains(n), "{name}: '{n}' not in: {err}");
        }
        assert!(!dir.path().join("out").exists(), "{name}: output written");
    }
}

#[test]
fn thesis_pipelines_hold_the_thesis_configuration() {
    for (file, ratios, emd) in [("hep1", vec![1.6, 6.0], 0.0), ("hep2", vec![1.6, 4.0], 1.0)] {
        let path = repo(&format!("pipelines/{file}.yaml"));
        let p: hepae_pipeline::Pipeline = hepae_pipeline::read_yaml(&path).unwrap();
        let t = p.train().unwrap();
        assert_eq!(t.model.hidden, vec![200, 100, 50], "{file}");
        assert_eq!((t.batch_size, t.lr, t.epochs), (512, 1e-3, 1000), "{file}");
        assert_eq!(
            (t.lr_patience, t.early_stopping_patience),
            (50, 100),
            "{file}"
        );
        // Baler computed its L1 term but never applied it: the thesis numbers
        // are those of a plain AE (see the comment in the pipeline file).
        assert_eq!((t.loss.l1, t.loss.emd), (0.0, emd), "{file}");
        assert_eq!(t.model.kind, hepae_train::ModelKind::Ae);
        assert_eq!(p.compression_ratios, ratios);
        // The dataset manifest it names parses and points at the stand-in.
        let ds: hepae_pipeline::Dataset =
            hepae_pipeline::read_yaml(&path.parent().unwrap().join(p.dataset.as_ref().unwrap()))
                .unwrap();
        assert_eq!(ds.cuts, vec!["pt:1:8000", "mass:0.001:800"]);
        // The full stand-ins live in $HEPAE_DATA (never committed); the
        // shipped slices are cut from exactly these files.
        let slicer = std::fs::read_to_string(repo("scripts/make-test-data")).unwrap();
        for f in &ds.stand_in.as_ref().unwrap().files {
            let rel = f
                .strip_prefix("$HEPAE_DATA/")
                .unwrap_or_else(|| panic!("{f}"));
            assert!(
                slicer.contains(&format!("\"{rel}\"")),
                "{file}: no slice of {rel}"
            );
        }
    }
    // Quickstart: every key known, real data present.
    let q: hepae_pipeline::Pipeline =
        hepae_pipeline::read_yaml(&repo("pipelines/quickstart.yaml")).unwrap();
    assert!(q.ingest.unwrap().inputs[0].contains("cms-opendata"));
}

/// `--set` overrides reach the stages (and stay strict), and `hepae report
/// repro` turns the outputs into tables that carry the artifact's numbers.
#[test]
fn set_overrides_and_the_reproduction_report() {
    let dir = tempfile::tempdir().unwrap();
    let p = quickstart_in(dir.path(), "");
    let ps = p.to_str().unwrap();
    let o = hepae(&["run", ps, "--set", "train.epochz=3"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("unknown field `epochz`"),
        "{}",
        stderr(&o)
    );
    let o = hepae(&["run", ps, "--set", "train.epochs"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("expected KEY=VALUE"), "{}", stderr(&o));
    assert!(
        !dir.path().join("out").exists(),
        "a refused run wrote output"
    );

    run_ok(&[
        "run",
        ps,
        "--set",
        "train.epochs=3",
        "--set",
        "compression_ratios=[1.6]",
        // The thesis report tabulates the autoencoder codec's R and R*.
        "--set",
        "compress.codec=autoencoder",
    ]);
    let root = dir.path().join("out/quickstart");
    let r = root.join("r1.6");
    assert_eq!(json(&r.join("train/stage.json"))["config"]["epochs"], 3);
    // 6 features at R = 1.6 -> latent 4.
    assert_eq!(
        json(&r.join("train/config.json"))["config"]["model"]["latent"],
        4
    );

    let out = dir.path().join("repro");
    // The HEP2 reproduction report of pipeline output `root`, written to `out`.
    let repro_report = |root: &std::path::Path, out: &std::path::Path| {
        let o = hepae(&[
            "report",
            "repro",
            "--hep2",
            root.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        std::fs::read_to_string(out.join("report.md")).unwrap()
    };
    let md = repro_report(&root, &out);
    let m = json(&r.join("compress/jets.hepae/manifest.json"));
    let rows = json(&root.join("preprocess/report.json"))["rows_after"].clone();
    let row = md
        .lines()
        .find(|l| l.starts_with("| 1.6 | 4 | 3 (3) |"))
        .unwrap_or_else(|| panic!("no R = 1.6 row in\n{md}"));
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    let wall = json(&r.join("train/stage.json"))["seconds"]
        .as_f64()
        .unwrap();
    assert_eq!(cells[4], format!("{wall:.0}"), "train wall time");
    assert_eq!(
        cells[7],
        format!("{:.2}", m["ratios"]["R"].as_f64().unwrap())
    );
    assert_eq!(
        cells[8],
        format!("{:.2}", m["ratios"]["R_star"].as_f64().unwrap())
    );
    assert_eq!(cells[9], "1.55", "thesis R* of HEP2 at R = 1.6");
    // Thesis values beside ours (datasets/reference/baler_thesis.json):
    // Table 2's jets after cuts, Table 3's L1 loss at R = 1.6, Table 6's
    // outlier shares of pt.
    assert!(
        md.contains(&format!("| after cuts | {rows} | 493080 |")),
        "{md}"
    );
    assert_eq!(cells[6], "6.340e-3 (L1)", "thesis Table 3, HEP2 R = 1.6");
    let pt = md
        .lines()
        .find(|l| l.starts_with("| pt |"))
        .unwrap_or_else(|| panic!("no pt outlier row in\n{md}"));
    let pt: Vec<&str> = pt.split('|').map(str::trim).collect();
    assert_eq!((pt[3], pt[5]), ("7.00", "10.45"), "thesis Table 6");
    assert!(md.contains("| nConstituents |"), "{md}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("<table>") && html.contains("hep2_r1.6_loss.png"));
    assert!(out.join("hep2_r1.6_loss.png").is_file());

    // A ratio still training (a long run resumed across sessions): its
    // row says where its checkpoint stands, and the rest is reported.
    let busy = root.join("r9/train");
    std::fs::create_dir_all(busy.join("checkpoint")).unwrap();
    std::fs::copy(r.join("train/config.json"), busy.join("config.json")).unwrap();
    std::fs::write(busy.join("checkpoint/state.json"), r#"{"epoch": 7}"#).unwrap();
    let md = repro_report(&root, &out);
    assert!(
        md.contains("| 9.0 | 4 | 7 (3), still training (from its checkpoint) |"),
        "{md}"
    );
    assert!(md.contains("| 1.6 | 4 | 3 (3) |"), "{md}");
    std::fs::remove_dir_all(root.join("r9")).unwrap();

    // A directory that is no pipeline output: clear error, no report.
    let o = hepae(&[
        "report",
        "repro",
        "--hep1",
        dir.path().to_str().unwrap(),
        "--out",
        dir.path().join("bad").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("preprocess/report.json"),
        "{}",
        stderr(&o)
    );
    assert!(!dir.path().join("bad").exists());
}

/// A tiny study grid (2 models x 2 scalings x 2 seeds) on the shipped HEP2
/// slice: one table row per cell, with mean and std over the seeds equal
/// to those of the runs' own test metrics, and a variable set that drops
/// sparse columns.
#[test]
fn study_grid_tabulates_every_cell_over_its_seeds() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        r#"name: tiny
out: {out}
ingest: {{inputs: ["{input}"], tree: Events, collection: GenJetAK8, columns: [pt, eta, phi, mass, auxiliaryEnergy]}}
preprocess: {{cuts: ["pt:1:8000"]}}
train: {{model: {{hidden: [16, 8], latent: 2}}, loss: {{reconstruction: mse, l1: 0.0}}, epochs: 2, batch_size: 256, backend: cpu}}
study:
  rows: 3000
  seeds: [1, 2]
  variables:
    - {{name: all}}
    - {{name: dense, drop_zero_fraction: 0.5}}
  models:
    - {{name: ae, model: {{kind: ae, hidden: [16, 8], latent: 2}}}}
    - {{name: l1act, model: {{kind: sae_l1_act, hidden: [16, 8], latent: 2}}, loss: {{reconstruction: mse, l1: 1.0e-3}}}}
  scalings:
    - {{name: mm, scaling: min_max}}
    - {{name: lin, scaling: min_max, column_scaling: {{eta: {{linear: {{scale: 5}}}}, phi: {{linear: {{scale: 3}}}}}}}}
"#,
        out = dir.path().join("out").display(),
        input = data_file("pythia/hep2_slice_1.root"),
    );
    let p = dir.path().join("tiny.yaml");
    std::fs::write(&p, yaml).unwrap();
    run_ok(&["run", p.to_str().unwrap()]);
    let study = dir.path().join("out/tiny/study");
    let t = hepae_table::read_parquet(&study.join("table.parquet")).unwrap();
    assert_eq!(t.num_rows(), 2 * 2 * 2, "variable sets x models x scalings");
    assert!(study.join("correlation.png").is_file());
    let s = json(&study.join("summary.json"));
    let cells = s["cells"].as_array().unwrap();
    // auxiliaryEnergy is mostly zero: the dense set drops it.
    assert_eq!(cells[0]["columns"].as_array().unwrap().len(), 5);
    assert_eq!(cells[4]["columns"].as_array().unwrap().len(), 4);
    for c in cells {
        let run = |seed: u64| {
            let d = study.join(format!(
                "runs/{}/{}/{}/seed{seed}/metrics.json",
                c["variables"].as_str().unwrap(),
                c["model"].as_str().unwrap(),
                c["scaling"].as_str().unwrap()
            ));
            json(&d)["mse"].as_f64().unwrap()
        };
        let (a, b) = (run(1), run(2));
        // Each seed's model also compressed the rows: R* is their mean.
        let r_star = |seed: u64| {
            let d = study.join(format!(
                "runs/{}/{}/{}/seed{seed}/table.hepae/manifest.json",
                c["variables"].as_str().unwrap(),
                c["model"].as_str().unwrap(),
                c["scaling"].as_str().unwrap()
            ));
            json(&d)["ratios"]["R_star"].as_f64().unwrap()
        };
        let rs = (r_star(1) + r_star(2)) / 2.0;
        assert!((c["r_star"]["mean"].as_f64().unwrap() - rs).abs() <= 1e-12 * rs);
        assert!(c["compress_seconds"]["mean"].as_f64().unwrap() > 0.0);
        assert!(c["decompress_seconds"]["mean"].as_f64().unwrap() > 0.0);
        let mean = (a + b) / 2.0;
        let std = ((a - mean).powi(2) + (b - mean).powi(2)).sqrt();
        assert!((c["mse"]["mean"].as_f64().unwrap() - mean).abs() <= 1e-12 * mean);
        assert!((c["mse"]["std"].as_f64().unwrap() - std).abs() <= 1e-9 * mean);
        assert!(a != b, "two seeds, two runs");
    }
    let md = std::fs::read_to_string(study.join("table.md")).unwrap();
    let ours = md.split("\n\n").next().unwrap();
    assert_eq!(ours.lines().count(), 2 + 8);
    // The GSoC 2021 tables beside ours: AE 24D, MSE 7e-06 (Table 6.3).
    assert!(md.contains("| 6.3 | 24 | AE_24D | 7e-6 |"), "{md}");
    assert!(md.contains("| dense (4) | l1act | lin | 2 |"), "{md}");
}

/// `hepae study` on a table: one cell over three seeds, and a grid
/// without models is an error before anything is written.
#[test]
fn study_command_runs_a_grid_on_a_table() {
    let dir = tempfile::tempdir().unwrap();
    let jets = dir.path().join("jets.parquet");
    let input = data_file("pythia/hep2_slice_1.root");
    let mut args = ingest_args(
        &input,
        "Events",
        "GenJetAK8",
        "pt,eta,phi,mass",
        jets.to_str().unwrap(),
    );
    args.extend(["--cut", "pt:1:8000"]);
    ok(&args);
    let cfg = dir.path().join("study.yaml");
    std::fs::write(
        &cfg,
        "train: {epochs: 2, batch_size: 256, backend: cpu}\nstudy:\n  rows: 2000\n  models: [{name: ae, model: {hidden: [8], latent: 2}}]\n",
    )
    .unwrap();
    let out = dir.path().join("study");
    let o = ok(&[
        "study",
        "--data",
        jets.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(table.contains("| all (4) | ae | default | 3 |"), "{table}");
    let s = json(&out.join("summary.json"));
    assert_eq!(s["cells"][0]["seeds"], serde_json::json!([1, 2, 3]));
    assert!(s["cells"][0]["mse"]["std"].as_f64().unwrap() > 0.0);
    std::fs::write(&cfg, "study: {models: []}\n").unwrap();
    let bad = dir.path().join("bad");
    let o = hepae(&[
        "study",
        "--data",
        jets.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("study: needs at least one model"),
        "{}",
        stderr(&o)
    );
    assert!(!bad.exists());
}
