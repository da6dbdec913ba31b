//! The search's figures of merit per signal: SIC and signal efficiency at
//! the Dark Machines background efficiencies, significances in the signal
//! regions, and the Z_A scan over the score cut, with their plots.

use crate::stats::{
    at_background_efficiency, sic_curve, significance, za_scan, SicPoint, Significance,
};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The Dark Machines challenge's background efficiencies.
pub const EPS_B: [f64; 3] = [1e-2, 1e-3, 1e-4];
/// Cuts in the Z_A scan.
const SCAN_STEPS: usize = 100;

/// Figures of merit of one signal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Merit {
    /// Signal process.
    pub signal: String,
    /// SIC and eps_S at eps_B = 1e-2, 1e-3, 1e-4 (absent where the
    /// held-out background is too small to reach eps_B).
    pub sic: Vec<Option<SicPoint>>,
    /// s, b, Z and Z_A above median x (1 + i/5), i = 1, 2, 3.
    pub signal_regions: Vec<Significance>,
    /// The best Z_A over the scan.
    pub best: Option<Significance>,
    /// Z_A against the score cut.
    pub scan: Vec<Significance>,
    /// Per signal region, Z_A against a MET cut (GeV) inside it (RMM tables).
    pub met_scans: Vec<Vec<(f64, Significance)>>,
}

/// MET cuts of the scan inside a signal region, GeV.
const MET_CUTS: [f64; 11] = [
    0.0, 25.0, 50.0, 75.0, 100.0, 150.0, 200.0, 250.0, 300.0, 400.0, 500.0,
];

/// Z_A of the events above `score_cut` with MET at or above each cut; events are
/// (score, weight, MET in GeV).
pub fn met_scan(
    sig: &[(f64, f64, f64)],
    bkg: &[(f64, f64, f64)],
    score_cut: f64,
    b_scale: f64,
) -> Vec<(f64, Significance)> {
    MET_CUTS
        .iter()
        .map(|&m| {
            let above = |e: &[(f64, f64, f64)]| -> Vec<(f64, f64)> {
                e.iter().filter(|x| x.2 >= m).map(|x| (x.0, x.1)).collect()
            };
            (
                m,
                significance(&above(sig), &above(bkg), score_cut, b_scale),
            )
        })
        .collect()
}

/// Merits of one signal's `(score, weight)` events against the held-out
/// background; background weights are scaled by `b_scale` so that b is
/// the whole background's expected yield.
pub fn merit(
    signal: &str,
    sig: &[(f64, f64)],
    bkg: &[(f64, f64)],
    roc_points: &[(f64, f64)],
    median: f64,
    b_scale: f64,
) -> Merit {
    let (scan, best) = za_scan(sig, bkg, b_scale, SCAN_STEPS);
    Merit {
        signal: signal.into(),
        sic: EPS_B
            .iter()
            .map(|&e| at_background_efficiency(roc_points, e))
            .collect(),
        signal_regions: (1..=3)
            .map(|i| significance(sig, bkg, median * (1.0 + i as f64 / 5.0), b_scale))
            .collect(),
        best,
        scan,
        met_scans: Vec::new(),
    }
}

/// `sic.png` / `.svg` (SIC against eps_B) and `za_scan.png` / `.svg`.
pub fn plots(out: &Path, merits: &[Merit], rocs: &[crate::anomaly::Roc]) -> crate::Result<()> {
    let sics: Vec<Vec<(f64, f64)>> = rocs.iter().map(|r| sic_curve(&r.points)).collect();
    let series: Vec<hepae_plot::Series> = rocs
        .iter()
        .zip(&sics)
        .map(|(r, p)| hepae_plot::Series {
            label: &r.signal,
            points: p,
        })
        .collect();
    let scans: Vec<Vec<(f64, f64)>> = merits
        .iter()
        .map(|m| m.scan.iter().map(|s| (s.cut, s.z_asimov)).collect())
        .collect();
    let scan_series: Vec<hepae_plot::Series> = merits
        .iter()
        .zip(&scans)
        .map(|(m, p)| hepae_plot::Series {
            label: &m.signal,
            points: p,
        })
        .collect();
    for ext in ["png", "svg"] {
        hepae_plot::line_plot(
            &out.join(format!("sic.{ext}")),
            "significance improvement eps_S / sqrt(eps_B)",
            "background efficiency eps_B",
            "SIC",
            &series,
            false,
        )?;
        hepae_plot::line_plot(
            &out.join(format!("za_scan.{ext}")),
            "Asimov significance against the score cut",
            "anomaly score cut",
            "Z_A",
            &scan_series,
            false,
        )?;
    }
    Ok(())
}

/// The summary as printed by `hepae anomaly` and the pipeline: AUC, signal
/// region counts, SIC, significances and the best cut.
pub fn summary_lines(s: &crate::AnomalySummary) -> Vec<String> {
    let mut out = vec![format!(
        "trained on {} background events ({} features); {} held out; median score {:.4e}",
        s.train_events, s.features, s.test_events, s.background_median
    )];
    for r in &s.rocs {
        out.push(format!(
            "  AUC {} vs SM background: {:.4} (score: {})",
            r.signal,
            r.auc,
            s.score.name()
        ));
    }
    if s.auc_by_score.len() > 1 {
        for (kind, aucs) in &s.auc_by_score {
            let a: Vec<String> = aucs.iter().map(|(p, v)| format!("{p} {v:.4}")).collect();
            out.push(format!("    AUC by {kind}: {}", a.join(", ")));
        }
    }
    for sr in &s.signal_regions {
        let counts: Vec<String> = sr.counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
        out.push(format!(
            "  score > median x {:.1}: {}",
            1.0 + sr.i as f64 / 5.0,
            counts.join(", ")
        ));
    }
    for m in &s.merits {
        let sic: Vec<String> = EPS_B
            .iter()
            .zip(&m.sic)
            .map(|(e, p)| match p {
                Some(p) => format!("SIC({e:.0e}) {:.2} (eps_S {:.3})", p.sic, p.eps_s),
                None => format!("SIC({e:.0e}) n/a (too few background events)"),
            })
            .collect();
        out.push(format!("  {}: {}", m.signal, sic.join(", ")));
        for (i, r) in m.signal_regions.iter().enumerate() {
            out.push(format!(
                "    SR{}: s {:.3} +- {:.3}, b {:.3} +- {:.3}, Z {:.4}, Z_A {:.4} +- {:.4}",
                i + 1,
                r.s.sum,
                r.s.error,
                r.b.sum,
                r.b.error,
                r.z,
                r.z_asimov,
                r.z_asimov_error
            ));
        }
        if let Some(b) = &m.best {
            out.push(format!(
                "    best cut {:.4e}: s {:.3}, b {:.3} ({} events), Z_A {:.4} +- {:.4}",
                b.cut, b.s.sum, b.b.sum, b.b.events, b.z_asimov, b.z_asimov_error
            ));
        }
    }
    out
}
