//! `hepae validate` end to end on the HEP2 stand-in (TTbar AK8 GenJets).

mod common;
use common::*;
use std::path::Path;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn self_validation_has_zero_residuals_and_finds_w_and_top_peaks() {
    let dir = tempfile::tempdir().unwrap();
    let jets = dir.path().join("jets.parquet");
    let input = data_file("pythia/hep2_ttbar13tev_ak8gen_1.root");
    let mut args = ingest_args(
        &input,
        "Events",
        "GenJetAK8",
        "pt,eta,phi,mass,emEnergy,hadEnergy,invisibleEnergy,auxiliaryEnergy",
        s(&jets),
    );
    args.extend(["--cut", "pt:1:8000", "--cut", "mass:0.001:800"]);
    ok(&args);
    let report = dir.path().join("report");
    ok(&[
        "validate",
        "--original",
        s(&jets),
        "--restored",
        s(&jets),
        "--latent",
        "4",
        "--out",
        s(&report),
    ]);
    let sum = json(&report.join("summary.json"));
    for (name, v) in sum["max_abs_residual"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].clone(), p[1].as_f64().unwrap()))
    {
        assert_eq!(v, 0.0, "{name}");
    }
    let stats = sum["stats"].as_array().unwrap();
    assert_eq!(
        stats.len(),
        8 * 2 * 2,
        "8 variables x residual/response x AE/PCA"
    );
    for r in stats.iter().filter(|r| r["method"] == "ae") {
        for k in ["mean", "median", "q1", "q3", "whisker_lo", "whisker_hi"] {
            assert_eq!(
                r[k].as_f64().unwrap(),
                0.0,
                "{} {} {k}",
                r["variable"],
                r["quantity"]
            );
        }
        assert_eq!(r["outliers"], 0);
    }
    // PCA with 4 of 8 components does lose information.
    let pca_mass = stats
        .iter()
        .find(|r| r["method"] == "pca" && r["variable"] == "mass" && r["quantity"] == "residual")
        .unwrap();
    assert!(pca_mass["q3"].as_f64().unwrap() - pca_mass["q1"].as_f64().unwrap() > 0.1);
    // W and top peaks. Generator-level AK8 jets collect underlying-event and
    // radiation energy, so this sample's peaks sit a few GeV above 80.4 and 172.5.
    let fit = |w: &str, sample: &str| {
        sum["fits"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["window"] == w && f["sample"] == sample)
            .unwrap_or_else(|| panic!("no {w} fit of {sample}"))
            .clone()
    };
    let (w, top) = (fit("W", "original"), fit("top", "original"));
    let (wm, tm) = (w["mean"].as_f64().unwrap(), top["mean"].as_f64().unwrap());
    assert!((78.0..92.0).contains(&wm), "W peak at {wm}");
    assert!((168.0..185.0).contains(&tm), "top peak at {tm}");
    for f in [&w, &top] {
        assert!(f["converged"].as_bool().unwrap() && !f["at_limit"].as_bool().unwrap());
        let e = f["mean_err"].as_f64().unwrap();
        assert!(e > 0.0 && e < 2.0, "mean uncertainty {e}");
        assert!(f["sigma"].as_f64().unwrap() > 2.0);
    }
    // Identical tables give identical fits.
    assert_eq!(fit("W", "ae")["mean"], w["mean"]);
    assert_eq!(fit("top", "ae")["sigma"], top["sigma"]);

    // Every file of the report, and every image the HTML links to.
    let html = std::fs::read_to_string(report.join("index.html")).unwrap();
    for p in sum["plots"].as_array().unwrap() {
        let p = p.as_str().unwrap();
        let bytes = std::fs::metadata(report.join(p)).unwrap().len();
        assert!(bytes > 1000, "{p} is {bytes} bytes");
        if p.ends_with(".png") {
            assert!(
                html.contains(&format!("src=\"{p}\"")),
                "{p} not in index.html"
            );
        }
    }
    for stem in [
        "hist_mass",
        "box_response_ae",
        "box_residual_pca",
        "fit_W",
        "fit_top",
    ] {
        assert!(
            report.join(format!("{stem}.png")).is_file()
                && report.join(format!("{stem}.svg")).is_file(),
            "{stem}"
        );
    }
    let md = std::fs::read_to_string(report.join("report.md")).unwrap();
    assert!(md.contains("| mass |") && md.contains("Mass-peak fits"));
    // The statistics table loads in pyarrow and polars with the same numbers.
    let py = r#"
import sys, pyarrow.parquet as pq, polars as pl
t = pq.read_table(sys.argv[1])
p = pl.read_parquet(sys.argv[1])
assert t.num_rows == p.height == 32, (t.num_rows, p.height)
assert t.column_names == p.columns
m = p.filter((pl.col("method") == "pca") & (pl.col("variable") == "mass") & (pl.col("quantity") == "residual"))
print(m["q3"][0] - m["q1"][0])
"#;
    let iqr: f64 = run_python(py, &[s(&report.join("stats.parquet"))])
        .trim()
        .parse()
        .unwrap();
    assert_eq!(
        iqr,
        pca_mass["q3"].as_f64().unwrap() - pca_mass["q1"].as_f64().unwrap()
    );
}

#[test]
fn mismatched_tables_are_refused_without_output() {
    let dir = tempfile::tempdir().unwrap();
    let input = data_file("pythia/hep2_ttbar13tev_ak8gen_1.root");
    let a = dir.path().join("a.parquet");
    let b = dir.path().join("b.parquet");
    ok(&ingest_args(
        &input,
        "Events",
        "GenJetAK8",
        "pt,eta,mass",
        s(&a),
    ));
    ok(&ingest_args(&input, "Events", "GenJetAK8", "pt,eta", s(&b)));
    let out = dir.path().join("report");
    let o = hepae(&[
        "validate",
        "--original",
        s(&a),
        "--restored",
        s(&b),
        "--out",
        s(&out),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("column 'mass'") && err.contains("b.parquet"),
        "{err}"
    );
    assert!(!out.exists());
    let o = hepae(&[
        "validate",
        "--original",
        s(&a),
        "--restored",
        s(&a),
        "--out",
        s(&out),
        "--window",
        "W:110:50",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("LO < HI"));
}
