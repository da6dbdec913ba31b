//! `report/index.html` of the anomaly stage: AUC (by every score), SIC at
//! the Dark Machines background efficiencies, signal-region significances,
//! the best Z_A cut, and the stage's plots.

use crate::merit::EPS_B;
use crate::AnomalySummary;
use std::fmt::Write as _;
use std::path::Path;

/// The plots the stage draws beside the report (PNG, in the stage folder).
const PLOTS: [&str; 4] = ["roc.png", "scores.png", "sic.png", "za_scan.png"];

fn markdown(s: &AnomalySummary) -> String {
    let mut md = format!(
        "# hepae anomaly search\n\nAutoencoder trained on {} background events ({} features); {} held-out background events; score `{}`; background median score {:.4e}. b is the whole background's expected yield (held-out weights x {:.3}).\n\n## AUC\n\n| signal | AUC |",
        s.train_events, s.features, s.test_events, s.score.name(), s.background_median, s.background_scale
    );
    let kinds: Vec<&String> = s.auc_by_score.keys().collect();
    for k in &kinds {
        let _ = write!(md, " AUC ({k}) |");
    }
    md += "\n|---|---|";
    md += &"---|".repeat(kinds.len());
    md.push('\n');
    for r in &s.rocs {
        let _ = write!(md, "| {} | {:.4} |", r.signal, r.auc);
        for k in &kinds {
            let v = s.auc_by_score[*k]
                .get(&r.signal)
                .copied()
                .unwrap_or(f64::NAN);
            let _ = write!(md, " {v:.4} |");
        }
        md.push('\n');
    }
    md += "\n## SIC = eps_S / sqrt(eps_B) (Dark Machines figures of merit)\n\n| signal |";
    for e in EPS_B {
        let _ = write!(md, " eps_S at {e:.0e} | SIC at {e:.0e} |");
    }
    md += "\n|---|";
    md += &"---|---|".repeat(EPS_B.len());
    md.push('\n');
    for m in &s.merits {
        let _ = write!(md, "| {} |", m.signal);
        for p in &m.sic {
            match p {
                Some(p) => {
                    let _ = write!(md, " {:.4} | {:.3} |", p.eps_s, p.sic);
                }
                None => md += " n/a | n/a |",
            }
        }
        md.push('\n');
    }
    md += "\nn/a: the held-out background is too small to reach that eps_B.\n\n## Significance\n\n| signal | region | score cut | s | b | Z = s/sqrt(b) | Z_A |\n|---|---|---|---|---|---|---|\n";
    for m in &s.merits {
        let rows = m.signal_regions.iter().enumerate().map(|(i, r)| {
            (
                format!("SR{} (median x {:.1})", i + 1, 1.0 + (i + 1) as f64 / 5.0),
                r,
            )
        });
        for (name, r) in rows.chain(m.best.iter().map(|b| ("best Z_A cut".to_string(), b))) {
            let _ = writeln!(
                md,
                "| {} | {name} | {:.4e} | {:.4} +- {:.4} | {:.4} +- {:.4} ({} events) | {:.4} | {:.4} +- {:.4} |",
                m.signal, r.cut, r.s.sum, r.s.error, r.b.sum, r.b.error, r.b.events, r.z, r.z_asimov, r.z_asimov_error
            );
        }
    }
    md += "\n## Z_A against a MET cut inside each signal region\n\n| signal | region | MET >= (GeV) | s | b (events) | Z_A |\n|---|---|---|---|---|---|\n";
    for m in &s.merits {
        for (i, scan) in m.met_scans.iter().enumerate() {
            for (met, r) in scan.iter().filter(|(_, r)| r.b.events > 0) {
                let _ = writeln!(
                    md,
                    "| {} | SR{} | {met} | {:.4} | {:.4} ({}) | {:.4} +- {:.4} |",
                    m.signal,
                    i + 1,
                    r.s.sum,
                    r.b.sum,
                    r.b.events,
                    r.z_asimov,
                    r.z_asimov_error
                );
            }
        }
    }
    md + &models(s) + &sensitivity(&s.sensitivity)
}

/// AUC per signal of every model and score, side by side.
fn models(s: &AnomalySummary) -> String {
    if s.models.len() < 2 {
        return String::new();
    }
    let mut cols: Vec<(&String, &String)> = Vec::new();
    for (m, by_score) in &s.models {
        cols.extend(by_score.keys().map(|k| (m, k)));
    }
    let mut md = String::from("\n## Models side by side (AUC)\n\n| signal |");
    for (m, k) in &cols {
        let _ = write!(md, " {m} ({k}) |");
    }
    md += "\n|---|";
    md += &"---|".repeat(cols.len());
    md.push('\n');
    for r in &s.rocs {
        let _ = write!(md, "| {} |", r.signal);
        for (m, k) in &cols {
            let v = s.models[*m][*k].get(&r.signal).copied().unwrap_or(f64::NAN);
            let _ = write!(md, " {v:.4} |");
        }
        md.push('\n');
    }
    md
}

/// The sensitivity sections (only the checks that ran).
fn sensitivity(s: &crate::sensitivity::Sensitivity) -> String {
    let mut md = String::from("\n## Sensitivity checks\n");
    if !s.pt_scaled.is_empty() {
        md += "\nSignal objects' pT and MET scaled by k: a harder signal should stand out more.\n\n| signal | k | AUC |\n|---|---|---|\n";
        for p in &s.pt_scaled {
            let _ = writeln!(md, "| {} | {} | {:.4} |", p.signal, p.k, p.auc);
        }
    }
    if let Some(sh) = &s.shuffled {
        let _ = write!(
            md,
            "\nHeld-out background with each event's matrix cells shuffled: median score {:.4e} -> {:.4e}; AUC of the shuffled events against the originals {:.4} (0.5 would mean the score ignores the matrix structure).\n",
            sh.median_score, sh.median_shuffled, sh.auc
        );
    }
    if !s.left_out.is_empty() {
        md += "\nOne background process left out of training: its held-out events should score higher than the rest of the held-out background.\n\n| process | median score / rest, nominal | median score / rest, left out | AUC vs rest, left out |\n|---|---|---|---|\n";
        for l in &s.left_out {
            let _ = writeln!(
                md,
                "| {} | {:.3} | {:.3} | {:.4} |",
                l.process, l.ratio_nominal, l.ratio_left_out, l.auc_left_out
            );
        }
    }
    md
}

/// Writes `out/report/index.html`; the plots stay in `out`.
pub fn write(out: &Path, s: &AnomalySummary) -> crate::Result<()> {
    let dir = out.join("report");
    std::fs::create_dir_all(&dir).map_err(|e| hepae_table::TableError::io(&dir, e))?;
    let mut extra = String::from("<h2>Plots</h2>\n");
    for p in PLOTS {
        let _ = writeln!(extra, "<figure><img src=\"../{p}\" alt=\"{p}\" width=\"720\"><figcaption>{p}</figcaption></figure>");
    }
    if !s.sr_plots.is_empty() {
        extra += "<h2>Event quantities in SR1, per process</h2>\n";
    }
    for p in &s.sr_plots {
        let _ = writeln!(extra, "<figure><img src=\"../{p}\" alt=\"{p}\" width=\"720\"><figcaption>{p}</figcaption></figure>");
    }
    extra += hepae_plot::IMAGE_CHECK;
    let page = hepae_plot::markdown_page(&markdown(s), "hepae anomaly search", &extra);
    hepae_table::write_bytes_atomic(&dir.join("index.html"), page.as_bytes())?;
    Ok(())
}
