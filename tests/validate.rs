//! `hepae validate` end to end on the HEP2 stand-in (TTbar AK8 GenJets).

mod common;
use common::*;
use std::path::Path;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `hepae validate --original A --restored B --out O` and any further flags.
fn validate_args<'a>(a: &'a str, b: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["validate", "--original", a, "--restored", b, "--out", out];
    v.extend_from_slice(extra);
    v
}

/// HEP2 stand-in jets of `input` (a file or glob) after the thesis cuts, in `out`.
fn hep2_jets(input: &str, cols: &str, out: &Path) {
    let mut args = ingest_args(input, "Events", "GenJetAK8", cols, s(out));
    args.extend(["--cut", "pt:1:8000", "--cut", "mass:0.001:800"]);
    ok(&args);
}

#[test]
fn self_validation_has_zero_residuals_and_finds_w_and_top_peaks() {
    let dir = tempfile::tempdir().unwrap();
    let jets = dir.path().join("jets.parquet");
    let input = data_file("pythia/hep2_slice_1.root");
    let cols = "pt,eta,phi,mass,emEnergy,hadEnergy,invisibleEnergy,auxiliaryEnergy";
    hep2_jets(&input, cols, &jets);
    let report = dir.path().join("report");
    ok(&validate_args(
        s(&jets),
        s(&jets),
        s(&report),
        &["--latent", "4"],
    ));
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
    let input = data_file("pythia/hep2_slice_1.root");
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
    let o = hepae(&validate_args(s(&a), s(&b), s(&out), &[]));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("column 'mass'") && err.contains("b.parquet"),
        "{err}"
    );
    assert!(!out.exists());
    let o = hepae(&validate_args(
        s(&a),
        s(&a),
        s(&out),
        &["--window", "W:110:50"],
    ));
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("LO < HI"));
}

/// The fits of the original W and top peaks describe the data (chi2/ndf <= 2
/// with the model the selection chose), and scipy's curve_fit with the same
/// model, range and binning, started away from hepae's values, finds the same
/// means within their errors.
#[test]
fn peak_fits_describe_the_peaks_and_agree_with_scipy() {
    let dir = tempfile::tempdir().unwrap();
    let jets = dir.path().join("jets.parquet");
    let glob = data().join("pythia/hep2_slice_*.root");
    hep2_jets(glob.to_str().unwrap(), "pt,eta,phi,mass,emEnergy", &jets);
    let report = dir.path().join("report");
    ok(&validate_args(s(&jets), s(&jets), s(&report), &[]));
    let sum = json(&report.join("summary.json"));
    let fits: Vec<serde_json::Value> = sum["fits"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["sample"] == "original")
        .cloned()
        .collect();
    assert_eq!(fits.len(), 2, "W and top");
    for f in &fits {
        let chi2_ndf = f["chi2"].as_f64().unwrap() / f["ndf"].as_f64().unwrap();
        assert!(
            chi2_ndf <= 2.0,
            "{}: chi2/ndf {chi2_ndf} with {} + {}",
            f["window"],
            f["signal"],
            f["background"]
        );
        assert!(f["note"].is_null());
        assert_eq!(
            f["candidates"].as_array().unwrap().len(),
            10,
            "2 signals x 5 backgrounds"
        );
    }
    // Every histogram has a ratio panel; steep spectra are on log-y, flat ones not.
    for (stem, log) in [
        ("hist_pt", true),
        ("hist_emEnergy", true),
        ("hist_eta", false),
        ("hist_phi", false),
    ] {
        let svg = std::fs::read_to_string(report.join(format!("{stem}.svg"))).unwrap();
        assert!(svg.contains("ratio to original"), "{stem}: no ratio panel");
        assert_eq!(
            svg.contains("(log scale)"),
            log,
            "{stem}: log-y should be {log}"
        );
    }
    let pt = std::fs::read_to_string(report.join("hist_pt.svg")).unwrap();
    assert!(pt.contains("pt (GeV)"), "pT axis has units");
    let fit_svg = std::fs::read_to_string(report.join("fit_W.svg")).unwrap();
    assert!(fit_svg.contains("data / fit"));
    let py = r#"
import sys, json, numpy as np, pyarrow.parquet as pq
from math import comb
from scipy.optimize import curve_fit
m = pq.read_table(sys.argv[1]).column("mass").to_numpy().astype(np.float64)
out = []
for f in json.loads(sys.argv[2]):
    lo, hi, bins = f["lo"], f["hi"], f["bins"]
    y, _ = np.histogram(m, bins=bins, range=(lo, hi))
    x = lo + (np.arange(bins) + 0.5) * (hi - lo) / bins
    e = np.sqrt(np.maximum(y, 1))
    cb = f["signal"] == "crystal_ball"
    ns = 7 if cb else 3
    def tail(u, a, n):
        return (n / a) ** n * np.exp(-0.5 * a * a) * (n / a - a + u) ** (-n)
    def signal(x, p):
        t = (x - p[1]) / p[2]
        if not cb:
            return p[0] * np.exp(-0.5 * t * t)
        al, nl, ar, nr = p[3:7]
        core = np.exp(-0.5 * t * t)
        left = tail(-np.minimum(t, -al), al, nl)
        right = tail(np.maximum(t, ar), ar, nr)
        return p[0] * np.where(t < -al, left, np.where(t > ar, right, core))
    def background(x, b):
        if f["background"] == "exponential":
            return b[0] * np.exp(-b[1] * (x - lo))
        k = len(b) - 1; t = (x - lo) / (hi - lo)
        return sum(b[j] * comb(k, j) * t**j * (1 - t) ** (k - j) for j in range(k + 1))
    model = lambda x, *p: signal(x, p) + background(x, p[ns:])
    p_h = np.array(f["params"])
    p0 = p_h.copy(); p0[0] *= 0.9; p0[1] += 1.5; p0[2] *= 1.2; p0[ns:] *= 1.1
    low = [0, lo, (hi - lo) / bins / 4] + ([0.2, 1.01, 0.2, 1.01] if cb else [])
    up = [np.inf, hi, hi - lo] + ([10, 100, 10, 100] if cb else [])
    if f["background"] == "exponential":
        low += [0, -np.inf]; up += [np.inf, np.inf]
    else:
        low += [0] * (len(p_h) - ns); up += [np.inf] * (len(p_h) - ns)
    p0 = np.clip(p0, np.array(low) + 1e-9, np.array(up) - 1e-9)
    p, cov = curve_fit(model, x, y, p0=p0, sigma=e, absolute_sigma=True, bounds=(low, up), maxfev=100000)
    chi2 = float((((y - model(x, *p)) / e) ** 2).sum())
    out.append({"window": f["window"], "mean": float(p[1]), "mean_err": float(np.sqrt(cov[1, 1])), "chi2": chi2})
print(json.dumps(out))
"#;
    let scipy: serde_json::Value = serde_json::from_str(&run_python(
        py,
        &[s(&jets), &serde_json::to_string(&fits).unwrap()],
    ))
    .unwrap();
    for (f, sp) in fits.iter().zip(scipy.as_array().unwrap()) {
        let (m, e) = (f["mean"].as_f64().unwrap(), f["mean_err"].as_f64().unwrap());
        let (ms, es) = (
            sp["mean"].as_f64().unwrap(),
            sp["mean_err"].as_f64().unwrap(),
        );
        assert!(
            (m - ms).abs() <= e.min(es),
            "{}: hepae {m} ± {e}, scipy {ms} ± {es}",
            f["window"]
        );
        assert!(
            (e - es).abs() <= 0.2 * es,
            "{}: errors {e} vs {es}",
            f["window"]
        );
        let (c, cs) = (f["chi2"].as_f64().unwrap(), sp["chi2"].as_f64().unwrap());
        assert!(
            (c - cs).abs() <= 0.02 * cs + 0.5,
            "{}: chi2 {c} vs {cs}",
            f["window"]
        );
    }
}
