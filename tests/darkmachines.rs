//! The Dark Machines CSV reader: golden values from pandas
//! (scripts/golden-darkmachines), hand-written lines, units, layouts,
//! every bad-line class, and the CSV writer's round trip.

mod common;
use common::parquet_column as column;
use common::*;
use hepae_table::numeric_f64;

fn close(a: f64, b: f64, what: &str) {
    let tol = 1e-6 * a.abs().max(b.abs()).max(1.0);
    assert!((a - b).abs() <= tol, "{what}: hepae {a} vs pandas {b}");
}

#[test]
fn events_layout_matches_pandas_golden_values() {
    let golden = json(&fixture("darkmachines_golden.json"));
    let dir = tempfile::tempdir().unwrap();
    for (rel, g) in golden.as_object().unwrap() {
        let out = dir.path().join("events.parquet");
        ok(&csv_ingest(&data_file(rel), out.to_str().unwrap(), &[]));
        let report = json(&dir.path().join("events.parquet.json"));
        assert_eq!(report["events"], g["events"], "{rel}");
        assert_eq!(report["objects"], g["objects"], "{rel}");
        let cols = g["columns"].as_object().unwrap();
        assert!(cols.len() > 60, "{rel}: golden columns");
        for (name, want) in cols {
            let v = column(&out, name);
            let idx = (0..v.len()).map(|i| i as f64);
            let got_sum: f64 = v.iter().sum();
            let got_weighted: f64 = idx.zip(&v).map(|(i, x)| i * x).sum();
            // float32 storage: sums agree to float32 precision.
            let tol = |w: f64| 1e-6 * w.abs().max(1.0) * (v.len() as f64).sqrt();
            let (ws, ww) = (
                want["sum"].as_f64().unwrap(),
                want["weighted_by_row"].as_f64().unwrap(),
            );
            assert!(
                (got_sum - ws).abs() <= tol(ws) + 1e-3,
                "{rel} {name}: sum {got_sum} vs {ws}"
            );
            assert!(
                (got_weighted - ww).abs() <= tol(ww) * v.len() as f64 + 1e-3,
                "{rel} {name}: weighted {got_weighted} vs {ww}"
            );
            close(
                v[0],
                want["first"].as_f64().unwrap(),
                &format!("{rel} {name} first"),
            );
            close(
                *v.last().unwrap(),
                want["last"].as_f64().unwrap(),
                &format!("{rel} {name} last"),
            );
        }
    }
}

#[test]
fn objects_layout_counts_every_object_with_its_charge() {
    let golden = json(&fixture("darkmachines_golden.json"));
    let rel = "darkmachines/Zp_01_slice.csv";
    let g = &golden[rel];
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("objects.parquet");
    ok(&[
        "ingest",
        "--input",
        &data_file(rel),
        "--layout",
        "objects",
        "--out",
        out.to_str().unwrap(),
    ]);
    let b = hepae_table::read_parquet(&out).unwrap();
    assert_eq!(b.num_rows() as u64, g["objects"].as_u64().unwrap());
    use arrow_array::cast::AsArray;
    let kind = b.column_by_name("type").unwrap().as_string::<i32>().clone();
    let pt = column(&out, "pt");
    let charge = column(&out, "charge");
    for t in ["bjet", "jet", "electron", "muon", "photon"] {
        let rows: Vec<usize> = (0..b.num_rows()).filter(|&r| kind.value(r) == t).collect();
        assert_eq!(
            rows.len() as u64,
            g[format!("{t}_objects")].as_u64().unwrap(),
            "{t}"
        );
        let s: f64 = rows.iter().map(|&r| pt[r]).sum();
        let want = g[format!("{t}_pt_sum")].as_f64().unwrap();
        assert!(
            (s - want).abs() < 1e-5 * want.max(1.0),
            "{t}: pt sum {s} vs {want}"
        );
        let q: f64 = rows.iter().map(|&r| charge[r]).sum();
        assert_eq!(
            q as i64,
            g[format!("{t}_charge_sum")].as_i64().unwrap(),
            "{t} charge"
        );
    }
}

const LINES: &str = "\
11;ttbar;41.5;7641.39;-2.74;j,60000,50000,0.5,1.0;b,92000,20000,2.1,-0.6;j,140000,130000,0.3,1.9;e-,30000,25000,-1.2,0.1;\n\
12;ttbar;41.5;1000;0.5;m+,40000,39000,0.2,-3.0;g,26000,25500,0.1,2.0;\n\
\n\
13;wjets;2.25;50000;3.1;\n";

#[test]
fn hand_written_lines_give_known_slots_in_gev_and_mev() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("three.csv");
    std::fs::write(&csv, LINES).unwrap();
    let out = dir.path().join("ev.parquet");
    ok(&csv_ingest(
        csv.to_str().unwrap(),
        out.to_str().unwrap(),
        &["--slots", "jets=2,bjets=1"],
    ));
    assert_eq!(column(&out, "event_ID"), [11.0, 12.0, 13.0]);
    assert_eq!(column(&out, "weight"), [41.5, 41.5, 2.25]);
    assert_eq!(column(&out, "n_jets"), [2.0, 0.0, 0.0]);
    assert_eq!(column(&out, "n_bjets"), [1.0, 0.0, 0.0]);
    // Jets in descending pT, in GeV; absent slots are zeros.
    assert_eq!(column(&out, "jet1_pt"), [130.0, 0.0, 0.0]);
    assert_eq!(column(&out, "jet2_pt"), [50.0, 0.0, 0.0]);
    assert_eq!(column(&out, "jet2_E"), [60.0, 0.0, 0.0]);
    assert_eq!(
        column(&out, "jet1_eta")
            .iter()
            .map(|x| *x as f32)
            .collect::<Vec<_>>(),
        [0.3f32, 0.0, 0.0]
    );
    assert_eq!(column(&out, "electron1_charge"), [-1.0, 0.0, 0.0]);
    assert_eq!(column(&out, "muon1_charge"), [0.0, 1.0, 0.0]);
    assert_eq!(column(&out, "photon1_pt"), [0.0, 25.5, 0.0]);
    assert_eq!(
        column(&out, "MET")
            .iter()
            .map(|x| *x as f32)
            .collect::<Vec<_>>(),
        [7.64139f32, 1.0, 50.0]
    );
    let report = json(&dir.path().join("ev.parquet.json"));
    assert_eq!(report["files"][0]["blank_lines"], 1);
    assert_eq!(report["processes"]["wjets"], 1);
    let mev = dir.path().join("mev.parquet");
    ok(&csv_ingest(
        csv.to_str().unwrap(),
        mev.to_str().unwrap(),
        &["--units", "MeV"],
    ));
    assert_eq!(column(&mev, "jet1_pt")[0], 130000.0);
    assert_eq!(column(&mev, "MET")[2], 50000.0);
}

#[test]
fn every_bad_line_class_names_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let good = "1;p;1;2;3;j,1,2,3,4;\n";
    let many = format!("1;p;1;2;3;{}\n", "j,1,2,3,4;".repeat(21));
    let cases = [
        ("1;p;1;2\n", "field 5 (METphi)", "fewer than 5"),
        ("1;p;1;2;3;j,1,2,3;\n", "field 6 (object 1)", "expected 5"),
        (
            "1;p;1;2;3;x,1,2,3,4;\n",
            "field 6 (object 1 type)",
            "unknown object 'x'",
        ),
        ("1;p;1;abc;3;\n", "field 4 (MET)", "not a number"),
        (
            "1;p;1;2;3;j,1,inf,3,4;\n",
            "field 6 (object 1 pt)",
            "not finite",
        ),
        (many.as_str(), "field 26 (object 21)", "more than 20"),
    ];
    for (bad, field, what) in cases {
        let csv = dir.path().join("bad.csv");
        std::fs::write(&csv, format!("{good}{good}{bad}{good}")).unwrap();
        let out = dir.path().join("bad.parquet");
        let o = hepae(&[
            "ingest",
            "--input",
            csv.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{bad}: {err}");
        assert!(
            err.contains("bad.csv:3:") && err.contains(field) && err.contains(what),
            "{bad}: {err}"
        );
        assert!(!out.exists(), "no output after a bad line");
        // --skip-bad-lines counts it and keeps the rest.
        ok(&csv_ingest(
            csv.to_str().unwrap(),
            out.to_str().unwrap(),
            &["--skip-bad-lines"],
        ));
        let report = json(&dir.path().join("bad.parquet.json"));
        assert_eq!(report["files"][0]["bad_lines"], 1, "{bad}");
        assert_eq!(report["events"], 3, "{bad}");
        assert!(report["files"][0]["first_bad_lines"][0]
            .as_str()
            .unwrap()
            .contains(field));
        std::fs::remove_file(&out).unwrap();
    }
}

#[test]
fn csv_writer_round_trips_the_events_layout() {
    let dir = tempfile::tempdir().unwrap();
    let src = data_file("darkmachines/ttbar_slice.csv");
    let ev = dir.path().join("ev.parquet");
    ok(&csv_ingest(
        &src,
        ev.to_str().unwrap(),
        &[
            "--slots",
            "jets=20,bjets=20,electrons=20,muons=20,photons=20",
        ],
    ));
    let batch = hepae_table::read_parquet(&ev).unwrap();
    let csv = dir.path().join("back.csv");
    hepae_darkmachines::write_csv(&batch, hepae_darkmachines::Units::GeV, &csv).unwrap();
    let back = dir.path().join("back.parquet");
    ok(&csv_ingest(
        csv.to_str().unwrap(),
        back.to_str().unwrap(),
        &[
            "--slots",
            "jets=20,bjets=20,electrons=20,muons=20,photons=20",
        ],
    ));
    let again = hepae_table::read_parquet(&back).unwrap();
    assert_eq!(again.num_rows(), batch.num_rows());
    for f in batch.schema().fields() {
        let (Some(a), Some(b)) = (
            numeric_f64(batch.column_by_name(f.name()).unwrap()),
            numeric_f64(again.column_by_name(f.name()).unwrap()),
        ) else {
            continue;
        };
        for (x, y) in a.iter().zip(&b) {
            assert!(
                (x - y).abs() <= 1e-6 * x.abs().max(1e-3),
                "{}: {x} vs {y}",
                f.name()
            );
        }
    }
}
