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
    // 3 x 4000 background + 1500 signal events; 25 x 25 cells + event, process, is_signal, weight.
    assert_eq!(rmm.num_rows(), 13_500);
    assert_eq!(rmm.num_columns(), 625 + 4);
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
    // Left out of training, a process scores higher against the rest.
    let lo = s["sensitivity"]["left_out"].as_array().unwrap();
    let names: Vec<&str> = lo.iter().map(|l| l["process"].as_str().unwrap()).collect();
    assert_eq!(names, ["qcd", "ttbar", "wjets"]);
    let higher = lo
        .iter()
        .filter(|l| l["ratio_left_out"].as_f64() > l["ratio_nominal"].as_f64())
        .count();
    assert!(higher >= 2, "{lo:?}");
    assert!(root
        .join("anomaly/sensitivity/without_qcd/model/model.bpk")
        .is_file());
    // The compared beta-VAE beside the nominal AE, with its KL and sum scores.
    let models = &s["models"];
    assert_eq!(
        models["nominal"]["reconstruction"]["zprime"],
        s["rocs"][0]["auc"]
    );
    for score in ["reconstruction", "kl", "sum"] {
        let auc = models["beta_vae"][score]["zprime"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&auc), "{score}: {auc}");
    }
    // Per-layer activations recorded with the model, its AUC beside the others.
    let cfg = json(&root.join("anomaly/models/ae_tanh_sigmoid/model/config.json"));
    let m = &cfg["config"]["model"];
    assert_eq!(m["activations"], serde_json::json!(["tanh", "leaky_relu"]));
    assert_eq!(
        (m["output_activation"].as_str(), m["leaky_slope"].as_f64()),
        (Some("sigmoid"), Some(0.2))
    );
    let auc = models["ae_tanh_sigmoid"]["reconstruction"]["zprime"].as_f64();
    assert!(auc > Some(0.8), "{auc:?}");
    let html = std::fs::read_to_string(root.join("anomaly/report/index.html")).unwrap();
    for needle in [
        "ae_tanh_sigmoid (reconstruction)",
        "Models side by side",
        "beta_vae (kl)",
        "Sensitivity checks",
        "left out",
    ] {
        assert!(html.contains(needle), "report lacks {needle}");
    }
}

/// `hepae rmm` of the shipped ttbar slice (background) and Z' slice (`signal`
/// is its sample suffix, e.g. `:signal:weight=0.5`) with jets, b-jets,
/// electrons and muons, and `extra` flags, into `out`.
fn darkmachines_rmm(out: &Path, signal: &str, extra: &[&str]) -> std::process::Output {
    let bkg = format!("{}:ttbar", data_file("darkmachines/ttbar_slice.csv"));
    let sig = format!(
        "{}:Zp_01{signal}",
        data_file("darkmachines/Zp_01_slice.csv")
    );
    let mut args = vec!["rmm", "--sample", &bkg, "--sample", &sig];
    args.extend(["--types", "jets,bjets,electrons,muons"]);
    args.extend_from_slice(extra);
    args.extend(["--out", out.to_str().unwrap()]);
    ok(&args)
}

/// Dark Machines CSV samples: weights from the files, and the figures of
/// merit (weighted AUC, SIC at eps_B = 1e-2, s, b, Z, Z_A in SR1) against
/// numpy on the written scores.
#[test]
fn darkmachines_samples_give_weighted_figures_of_merit_that_numpy_confirms() {
    let dir = tempfile::tempdir().unwrap();
    let rmm = dir.path().join("rmm.parquet");
    darkmachines_rmm(
        &rmm,
        ":signal",
        &[
            "--n",
            "4",
            "--quantities",
            "met,ht,n_leptons",
            "--pt-scales",
            "3",
        ],
    );
    let t = hepae_table::read_parquet(&rmm).unwrap();
    // 4000 ttbar, 1000 Zp_01 and their 1000 copies at 3 x pT.
    assert_eq!(t.num_rows(), 6000);
    // Carried quantities beside the cells: MET in GeV is the met cell x sqrt(s).
    let col = |n: &str| hepae_table::numeric_f64(t.column_by_name(n).unwrap()).unwrap();
    let (q_met, met_cell) = (col("q_met"), col("met"));
    assert!(q_met
        .iter()
        .zip(&met_cell)
        .all(|(q, c)| (q - c * 13000.0).abs() <= 1e-5 * q.max(1.0)));
    assert!(col("q_n_leptons")
        .iter()
        .all(|n| *n >= 0.0 && n.fract() == 0.0));
    assert!(col("q_ht").iter().any(|h| *h > 100.0));
    let w = hepae_table::numeric_f64(t.column_by_name("weight").unwrap()).unwrap();
    // The stand-ins' event_weight: 41.5 for ttbar, 0.02 for Z'.
    assert_eq!((w[0], w[4999], w[5999]), (41.5, 0.02, 0.02));
    let out = dir.path().join("anomaly");
    ok(&anomaly_args(&rmm, &out, &[]));
    let s = json(&out.join("summary.json"));
    // The carried quantities are not features: 4 types x 4 slots + MET = 17 x 17 cells.
    assert_eq!(s["features"], 17 * 17);
    let sr: Vec<&str> = s["sr_plots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(sr, ["sr1_met.png", "sr1_ht.png", "sr1_n_leptons.png"]);
    assert!(sr.iter().all(|p| out.join(p).is_file()));
    // A harder signal stands out more; shuffled cells change the scores.
    let pt = s["sensitivity"]["pt_scaled"].as_array().unwrap();
    assert_eq!(pt.len(), 2);
    assert_eq!(
        (pt[0]["k"].as_f64(), pt[1]["k"].as_f64()),
        (Some(1.0), Some(3.0))
    );
    assert!(pt[1]["auc"].as_f64() > pt[0]["auc"].as_f64(), "{pt:?}");
    let sh = &s["sensitivity"]["shuffled"];
    assert!((sh["auc"].as_f64().unwrap() - 0.5).abs() > 0.05, "{sh}");
    let m = &s["merits"][0];
    assert_eq!(m["signal"], "Zp_01");
    assert!(
        m["sic"][2].is_null(),
        "800 held-out events cannot reach eps_B = 1e-4"
    );
    assert!(out.join("sic.png").is_file() && out.join("za_scan.png").is_file());
    // Z_A against MET inside each region: the 0 GeV cut is the region itself,
    // and tighter MET cuts keep less signal.
    let scans = m["met_scans"].as_array().unwrap();
    assert_eq!(scans.len(), 3);
    for (r, scan) in m["signal_regions"].as_array().unwrap().iter().zip(scans) {
        let scan = scan.as_array().unwrap();
        assert_eq!(scan.len(), 11);
        assert_eq!(scan[0][1]["s"], r["s"]);
        let s: Vec<f64> = scan
            .iter()
            .map(|p| p[1]["s"]["sum"].as_f64().unwrap())
            .collect();
        assert!(s.windows(2).all(|w| w[0] >= w[1]), "{s:?}");
    }
    let html = std::fs::read_to_string(out.join("report/index.html")).unwrap();
    for needle in [
        "SIC at 1e-2",
        "best Z_A cut",
        "Zp_01",
        "../roc.png",
        "../za_scan.png",
        "../sr1_ht.png",
    ] {
        assert!(html.contains(needle), "report lacks {needle}");
    }
    let py = r#"
import sys, json, numpy as np, pyarrow.parquet as pq
t = pq.read_table(sys.argv[1]).to_pydict()
s = np.array(t["score"]); w = np.array(t["weight"]); split = np.array(t["split"])
zp = np.array(t["process"]) == "Zp_01"
b, wb = s[split == "test"], w[split == "test"]
g, wg = s[zp], w[zp]
# Weighted AUC: P(signal > background), ties half.
gt = (g[:, None] > b[None, :]) + 0.5 * (g[:, None] == b[None, :])
auc = (wg[:, None] * wb[None, :] * gt).sum() / (wg.sum() * wb.sum())
# ROC by descending cut, then eps_S at eps_B = 1e-2 by linear interpolation.
order = np.argsort(-np.concatenate([b, g]), kind="stable")
allw = np.concatenate([wb / wb.sum(), np.zeros_like(wg)])[order]
alls = np.concatenate([np.zeros_like(wb), wg / wg.sum()])[order]
eb, es = np.concatenate([[0], np.cumsum(allw)]), np.concatenate([[0], np.cumsum(alls)])
eps_s = np.interp(1e-2, eb, es)
med = np.sort(b)[len(b) // 2]
cut = med * 1.2
scale = w[split != "signal"].sum() / wb.sum()
sv, bv = wg[g > cut].sum(), wb[b > cut].sum() * scale
za = np.sqrt(2 * ((sv + bv) * np.log1p(sv / bv) - sv))
print(json.dumps({"auc": auc, "eps_s": eps_s, "s": sv, "b": bv, "z": sv / np.sqrt(bv), "za": za}))
"#;
    let v: serde_json::Value = serde_json::from_str(&run_python(
        py,
        &[out.join("scores.parquet").to_str().unwrap()],
    ))
    .unwrap();
    let close = |a: &serde_json::Value, b: &serde_json::Value, what: &str| {
        let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
        assert!(
            (a - b).abs() <= 1e-9 * b.abs().max(1.0),
            "{what}: hepae {a} numpy {b}"
        );
    };
    close(&s["rocs"][0]["auc"], &v["auc"], "weighted AUC");
    close(&m["sic"][0]["eps_s"], &v["eps_s"], "eps_S at eps_B 1e-2");
    let sr1 = &m["signal_regions"][0];
    close(&sr1["s"]["sum"], &v["s"], "SR1 s");
    close(&sr1["b"]["sum"], &v["b"], "SR1 b");
    close(&sr1["z"], &v["z"], "SR1 Z");
    close(&sr1["z_asimov"], &v["za"], "SR1 Z_A");
}

/// Selections with their cut flow, the VAE's KL and sum scores, and the
/// errors for a bad condition or a KL score without a VAE.
#[test]
fn selections_vae_scores_and_their_errors() {
    let dir = tempfile::tempdir().unwrap();
    let rmm = dir.path().join("rmm.parquet");
    let r = darkmachines_rmm(
        &rmm,
        ":signal:weight=0.5",
        &[
            "--n",
            "jets=4,bjets=2,electrons=2,muons=2",
            "--select",
            "n_leptons >= 1",
            "--select",
            "met > 30",
        ],
    );
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        err.contains("cut flow ttbar: 4000 events") && err.contains("n_leptons >= 1"),
        "{err}"
    );
    let t = hepae_table::read_parquet(&rmm).unwrap();
    // 1 + 4 + 2 + 2 + 2 = 11: 121 cells.
    assert_eq!(t.num_columns(), 121 + 4);
    let w = hepae_table::numeric_f64(t.column_by_name("weight").unwrap()).unwrap();
    assert_eq!(
        *w.last().unwrap(),
        0.5,
        "the sample's weight overrides the file's"
    );
    let kept = t.num_rows();
    assert!(kept > 500 && kept < 2500, "{kept} events pass");
    let bkg = format!("{}:ttbar", data_file("darkmachines/ttbar_slice.csv"));
    let bad = hepae(&[
        "rmm",
        "--sample",
        &bkg,
        "--select",
        "n_leptons >> 2",
        "--out",
        rmm.to_str().unwrap(),
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--select[0]: 'n_leptons >> 2'"));
    let out = dir.path().join("vae");
    ok(&anomaly_args(
        &rmm,
        &out,
        &["--model", "beta_vae", "--score", "sum"],
    ));
    let s = json(&out.join("summary.json"));
    assert_eq!(s["score"], "sum");
    let by = s["auc_by_score"].as_object().unwrap();
    assert_eq!(
        by.keys().collect::<Vec<_>>(),
        ["kl", "reconstruction", "sum"]
    );
    assert_eq!(by["sum"]["Zp_01"], s["rocs"][0]["auc"]);
    let ae = hepae(&[
        "anomaly",
        "--data",
        rmm.to_str().unwrap(),
        "--out",
        dir.path().join("ae").to_str().unwrap(),
        "--epochs",
        "1",
        "--backend",
        "cpu",
        "--score",
        "kl",
    ]);
    assert_eq!(ae.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&ae.stderr).contains("anomaly.score: kl needs a vae"));
    assert!(!dir.path().join("ae").exists(), "no output after the error");
}

/// `hepae anomaly` on `data` into `out`, 3 CPU epochs, plus `extra`.
fn anomaly_args<'a>(data: &'a Path, out: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec![
        "anomaly",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--epochs",
        "3",
        "--backend",
        "cpu",
    ];
    a.extend_from_slice(extra);
    a
}

/// A b-tag threshold above every score leaves no b-jets; the flag default tags some.
#[test]
fn the_btag_threshold_splits_jets_from_bjets() {
    let dir = tempfile::tempdir().unwrap();
    let sample = format!("{}:ttbar", data_file("pythia/rmm_ttbar_slice.root"));
    let bjet_sum = |extra: &[&str]| {
        let out = dir.path().join("b.parquet");
        let mut a = vec![
            "rmm",
            "--sample",
            &sample,
            "--types",
            "jets,bjets",
            "--n",
            "2",
            "--out",
            out.to_str().unwrap(),
        ];
        a.extend_from_slice(extra);
        ok(&a);
        parquet_column(&out, "eT_b1")
            .iter()
            .filter(|v| **v > 0.0)
            .count()
    };
    let flagged = bjet_sum(&[]);
    assert!(flagged > 1000, "{flagged} events with a b-jet");
    assert_eq!(bjet_sum(&["--btag-threshold", "1e9"]), 0);
}

/// Mean score of the held-out events of `process` in `scores.parquet`.
fn mean_test_score(scores: &Path, process: &str) -> f64 {
    use arrow_array::cast::AsArray;
    let t = hepae_table::read_parquet(scores).unwrap();
    let score = hepae_table::numeric_f64(t.column_by_name("score").unwrap()).unwrap();
    let proc_ = t.column_by_name("process").unwrap().as_string::<i32>();
    let split = t.column_by_name("split").unwrap().as_string::<i32>();
    let v: Vec<f64> = (0..t.num_rows())
        .filter(|&i| proc_.value(i) == process && split.value(i) == "test")
        .map(|i| score[i])
        .collect();
    assert!(!v.is_empty(), "no held-out {process} events");
    v.iter().sum::<f64>() / v.len() as f64
}

/// Training on the weighted loss fits the heavily weighted process better
/// than unweighted training does; `--unweighted-loss` turns it off.
#[test]
fn the_weighted_loss_fits_the_heavy_process_better() {
    let dir = tempfile::tempdir().unwrap();
    let rmm = dir.path().join("rmm.parquet");
    let qcd = format!("{}:qcd:weight=1", data_file("pythia/rmm_qcd_slice.root"));
    let tt = format!(
        "{}:ttbar:weight=100",
        data_file("pythia/rmm_ttbar_slice.root")
    );
    let zp = format!(
        "{}:zprime:signal",
        data_file("pythia/rmm_zprime2tev_signal_slice.root")
    );
    ok(&[
        "rmm",
        "--sample",
        &qcd,
        "--sample",
        &tt,
        "--sample",
        &zp,
        "--out",
        rmm.to_str().unwrap(),
    ]);
    let mut ratio = Vec::new();
    for (name, extra) in [
        ("weighted", vec![]),
        ("unweighted", vec!["--unweighted-loss"]),
    ] {
        let out = dir.path().join(name);
        ok(&anomaly_args(&rmm, &out, &extra));
        let s = json(&out.join("summary.json"));
        assert_eq!(s["weighted_loss"], name == "weighted", "{name}");
        let scores = out.join("scores.parquet");
        ratio.push(mean_test_score(&scores, "ttbar") / mean_test_score(&scores, "qcd"));
    }
    assert!(
        ratio[0] < 0.9 * ratio[1],
        "ttbar/qcd score ratio weighted {} vs unweighted {}",
        ratio[0],
        ratio[1]
    );
}
