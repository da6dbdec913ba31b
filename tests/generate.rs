//! `hepae generate`: a toy with known correlations, the physical-event
//! constraints on what is generated, bad configurations, and the
//! generate-ttbar pipeline on the shipped ttbar slice.

mod common;
use common::parquet_column as column;
use common::*;
use std::fmt::Write as _;
use std::path::Path;

/// Two jets per event whose etas are anti-correlated and whose pTs are
/// correlated, plus MET tied to the leading jet: structure that column
/// resampling destroys and a generator should keep.
fn toy_csv(path: &Path, events: usize) {
    let mut rng = hepae_generate::Rng::new(5, 0);
    let mut text = String::new();
    for i in 0..events {
        let pt1 = 1000.0 * (4.0 + 0.4 * rng.normal()).exp();
        let pt2 = pt1 * (0.3 + 0.6 * rng.uniform());
        let eta1 = (rng.normal()).clamp(-2.5, 2.5);
        let eta2 = (-0.8 * eta1 + 0.3 * rng.normal()).clamp(-2.5, 2.5);
        let phi1 = std::f64::consts::PI * (2.0 * rng.uniform() - 1.0);
        let phi2 = hepae_generate::wrap_phi(phi1 + std::f64::consts::PI + 0.3 * rng.normal());
        let met = 0.2 * pt1 * (1.0 + 0.2 * rng.normal()).abs();
        let e = |pt: f64, eta: f64| (pt * eta.cosh()).hypot(0.1 * pt);
        let _ = writeln!(
            text,
            "{i};toy;1.5;{met};{};j,{},{pt1},{eta1},{phi1};j,{},{pt2},{eta2},{phi2};",
            hepae_generate::wrap_phi(phi1 + 3.0),
            e(pt1, eta1),
            e(pt2, eta2)
        );
    }
    std::fs::write(path, text).unwrap();
}

fn corr(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

const TOY_CONFIG: &str = "model: beta_vae\nbeta: 0.3\nhidden: [64, 32]\nlatent: 6\nslots: {bjets: 0, jets: 2, electrons: 0, muons: 0, photons: 0}\nepochs: 60\nbatch_size: 128\nearly_stopping_patience: 10\nholdout: 0.3\nseed: 3\nbackend: cpu\n";

#[test]
fn the_generator_keeps_the_toys_correlations_and_makes_physical_events() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("toy.csv");
    toy_csv(&csv, 4000);
    let table = dir.path().join("toy.parquet");
    ok(&csv_ingest(
        csv.to_str().unwrap(),
        table.to_str().unwrap(),
        &[],
    ));
    let cfg = dir.path().join("gen.yaml");
    std::fs::write(&cfg, TOY_CONFIG).unwrap();
    let out = dir.path().join("gen");
    let t = table.to_str().unwrap();
    ok(&[
        "generate",
        "--data",
        t,
        "--out",
        out.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
    ]);
    let s = json(&out.join("summary.json"));
    let sample = |name: &str| {
        s["samples"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .unwrap()
            .clone()
    };
    let (gen, resampled) = (sample("generator"), sample("column_resampling"));
    let d = |m: &serde_json::Value| m["correlation_distance"].as_f64().unwrap();
    assert!(
        d(&gen) < 0.7 * d(&resampled),
        "correlation distance {} vs resampling {}",
        d(&gen),
        d(&resampled)
    );
    // The anti-correlation of the two etas (-0.93 in the toy) survives; resampling loses it.
    let g = out.join("generated.parquet");
    let rho = corr(&column(&g, "jet1_eta"), &column(&g, "jet2_eta"));
    let mc = corr(&column(&table, "jet1_eta"), &column(&table, "jet2_eta"));
    assert!(
        mc < -0.85 && rho < -0.6,
        "corr(eta1, eta2): generated {rho}, MC {mc}"
    );
    assert!(
        gen["physical_before_repair"].as_f64().unwrap() >= 0.99,
        "{gen}"
    );
    assert_eq!(gen["physical_after_repair"].as_f64().unwrap(), 1.0);
    assert_eq!(
        s["holdout_events"].as_u64().unwrap() + s["train_events"].as_u64().unwrap(),
        4000
    );
    assert_physical(&g, "jet", 2);
    // generated.csv reads back as the same events.
    let back = dir.path().join("back.parquet");
    ok(&csv_ingest(
        out.join("generated.csv").to_str().unwrap(),
        back.to_str().unwrap(),
        &["--slots", "jets=2,bjets=0,electrons=0,muons=0,photons=0"],
    ));
    let (a, b) = (column(&g, "jet2_pt"), column(&back, "jet2_pt"));
    assert_eq!(a.len(), b.len());
    assert!(a
        .iter()
        .zip(&b)
        .all(|(x, y)| (x - y).abs() <= 1e-5 * x.max(1.0)));
    assert!(out.join("report/index.html").is_file() && out.join("report/hist_m_jj.png").is_file());
}

/// Counts are integers in [0, slots]; present objects have pT > 0, descend
/// in pT, |phi| <= pi and E >= pT cosh(eta); absent slots are empty.
fn assert_physical(table: &Path, prefix: &str, slots: usize) {
    let n = column(table, &format!("n_{prefix}s"));
    let mut prev = vec![f64::INFINITY; n.len()];
    for i in 1..=slots {
        let q = |x: &str| column(table, &format!("{prefix}{i}_{x}"));
        let (e, pt, eta, phi) = (q("E"), q("pt"), q("eta"), q("phi"));
        for r in 0..n.len() {
            assert!(
                n[r].fract() == 0.0 && (0.0..=slots as f64).contains(&n[r]),
                "row {r}: count {}",
                n[r]
            );
            if n[r] >= i as f64 {
                assert!(
                    pt[r] > 0.0 && pt[r] <= prev[r],
                    "row {r} slot {i}: pt {} after {}",
                    pt[r],
                    prev[r]
                );
                assert!(
                    phi[r].abs() <= std::f64::consts::PI + 1e-6,
                    "row {r}: phi {}",
                    phi[r]
                );
                assert!(
                    e[r] >= pt[r] * eta[r].cosh() * (1.0 - 1e-5),
                    "row {r}: E {} < pT cosh eta",
                    e[r]
                );
                prev[r] = pt[r];
            } else {
                assert_eq!(
                    (e[r], pt[r], eta[r], phi[r]),
                    (0.0, 0.0, 0.0, 0.0),
                    "row {r}: absent slot {i} filled"
                );
            }
        }
    }
}

#[test]
fn bad_generator_configurations_exit_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("ev.parquet");
    ok(&csv_ingest(
        &data_file("darkmachines/Zp_01_slice.csv"),
        table.to_str().unwrap(),
        &["--slots", "jets=3"],
    ));
    let t = table.to_str().unwrap();
    let out = dir.path().join("gen");
    let o = out.to_str().unwrap();
    for (args, what) in [
        (vec!["--model", "ae"], "is not a generator"),
        (vec!["--slots", "jets=4"], "generate.slots.jets = 4"),
        (
            vec!["--process", "nope", "--slots", "jets=2"],
            "no events of process",
        ),
    ] {
        let mut a = vec!["generate", "--data", t, "--out", o, "--epochs", "1"];
        a.extend(args);
        let r = hepae(&a);
        let err = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(2), "{a:?}: {err}");
        assert!(err.contains(what), "{a:?}: {err}");
        assert!(!out.exists(), "no output after an error");
    }
    let cfg = dir.path().join("bad.yaml");
    std::fs::write(&cfg, "latnet: 3\n").unwrap();
    let r = hepae(&[
        "generate",
        "--data",
        t,
        "--out",
        o,
        "--config",
        cfg.to_str().unwrap(),
    ]);
    assert_eq!(r.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&r.stderr).contains("latnet"),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
}

#[test]
fn the_generate_ttbar_pipeline_runs_on_the_shipped_slice() {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let input = format!(
        "darkmachines.inputs=[\"{}\"]",
        data_file("darkmachines/ttbar_slice.csv")
    );
    let out = format!("out={}", dir.path().display());
    let pipeline = root.join("pipelines/generate-ttbar.yaml");
    ok(&[
        "run",
        pipeline.to_str().unwrap(),
        "--set",
        &input,
        "--set",
        &out,
        "--set",
        "generate.epochs=40",
    ]);
    let gen = dir.path().join("generate-ttbar/generate");
    let s = json(&gen.join("summary.json"));
    assert_eq!(
        s["train_events"].as_u64().unwrap() + s["holdout_events"].as_u64().unwrap(),
        4000
    );
    let m = &s["samples"][0];
    assert_eq!(m["name"], "generator");
    assert!(m["physical_before_repair"].as_f64().unwrap() >= 0.99, "{m}");
    for t in ["bjet", "jet"] {
        assert_physical(
            &gen.join("generated.parquet"),
            t,
            if t == "jet" { 4 } else { 2 },
        );
    }
    let html = std::fs::read_to_string(gen.join("report/index.html")).unwrap();
    let images = html.matches("<img src=").count();
    assert!(images >= 30, "{images} plots");
    for name in ["hist_MET.png", "hist_n_jets.png", "hist_dR_jj.png"] {
        assert!(
            html.contains(name) && gen.join("report").join(name).is_file(),
            "{name}"
        );
    }
    // A re-run is up to date.
    let again = ok(&[
        "run",
        pipeline.to_str().unwrap(),
        "--set",
        &input,
        "--set",
        &out,
        "--set",
        "generate.epochs=40",
    ]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("up to date"));
}
