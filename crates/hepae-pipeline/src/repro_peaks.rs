//! The jet-mass peak table of the reproduction report (thesis Figures
//! 24-25): each sample's fitted W and top peaks, and how far the
//! reconstruction's peaks moved from the original's.

use crate::repro::{err, f, figure_name, thesis, PEAKS};
use crate::Result;
use serde_json::Value;
use std::fmt::Write as _;
use std::path::Path;

/// A fit's (mean, error) or (sigma, error), when it converged.
fn pair(x: &Value, a: &str, b: &str) -> Option<(f64, f64)> {
    Some((f(&x[a])?, f(&x[b])?))
}

/// The shift columns of a reconstruction's fit against the original's:
/// mean difference (GeV), the same in units of the combined fit error, and
/// the width ratio minus one (%).
fn shift_cells(x: &Value, original: Option<&Value>) -> [String; 3] {
    let none = || ["".to_string(), "".to_string(), "".to_string()];
    let Some(o) = original else {
        return none();
    };
    let (Some((m, e)), Some((mo, eo))) = (pair(x, "mean", "mean_err"), pair(o, "mean", "mean_err"))
    else {
        return none();
    };
    let d = m - mo;
    let width = match (f(&x["sigma"]), f(&o["sigma"])) {
        (Some(s), Some(so)) if so != 0.0 => format!("{:+.1}", 100.0 * (s / so - 1.0)),
        _ => "n/a".into(),
    };
    let combined = (e * e + eo * eo).sqrt();
    let z = if combined > 0.0 && combined.is_finite() {
        format!("{:+.1}", d / combined)
    } else {
        "n/a".into()
    };
    [format!("{d:+.2}"), z, width]
}

/// Thesis Figures 24-25: the jet-mass peak fits and their plots, for the
/// variant in `dir` (compression ratio `r`), figures named after `tag`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn peaks_table(
    md: &mut String,
    dir: &Path,
    r: Option<f64>,
    s: &Value,
    label: &str,
    tag: &str,
    dest: &Path,
    name: &str,
) -> Result<()> {
    let fits = s["fits"].as_array().cloned().unwrap_or_default();
    if !fits.iter().any(|x| f(&x["mean"]).is_some()) {
        return Ok(());
    }
    let _ = writeln!(
        md,
        "### Jet-mass peaks{name} (thesis Figures 24-25)\n\nGaussian or Crystal Ball peak on \
         an exponential or Bernstein background chosen by AIC, Poisson errors (rmpfit). \
         Reference: PDG mass. The thesis shows its fits in figures only, with no \
         tabulated values; it saw the original's peaks at W {} and top {} GeV. The last \
         three columns compare each reconstruction's peak with the original's: the mean's \
         shift in GeV and in units of the two fits' combined error, and the width's change.\n",
        thesis()["mass_peaks"]["peaks_seen_in_original_GeV"]["W"],
        thesis()["mass_peaks"]["peaks_seen_in_original_GeV"]["top"]
    );
    let _ = writeln!(
        md,
        "| peak | sample | entries | mean (GeV) | sigma (GeV) | chi2/ndf | reference (GeV) | mean - original (GeV) | in fit errors | sigma vs original (%) |\n|---|---|---|---|---|---|---|---|---|---|"
    );
    for x in &fits {
        let window = x["window"].as_str().unwrap_or("?");
        let reference = PEAKS
            .iter()
            .find(|p| p.0 == window)
            .map_or("".into(), |p| p.1.to_string());
        let pm = |a: &str, b: &str| match pair(x, a, b) {
            Some((m, e)) => format!("{m:.2} ± {e:.2}"),
            None => "not fitted".into(),
        };
        let chi = match (f(&x["chi2"]), f(&x["ndf"])) {
            (Some(c), Some(n)) if n > 0.0 => format!("{:.2}", c / n),
            _ => "n/a".into(),
        };
        let flag = if x["at_limit"].as_bool() == Some(true) {
            " (at a limit)"
        } else {
            ""
        };
        let sample = x["sample"].as_str().unwrap_or("?");
        let original = fits
            .iter()
            .find(|o| o["window"] == x["window"] && o["sample"] == "original")
            .filter(|_| sample != "original");
        let [d, z, w] = shift_cells(x, original);
        let _ = writeln!(
            md,
            "| {window} | {sample} | {} | {}{flag} | {} | {chi} | {reference} | {d} | {z} | {w} |",
            x["entries"],
            pm("mean", "mean_err"),
            pm("sigma", "sigma_err"),
        );
    }
    let _ = writeln!(md);
    for w in ["W", "top"] {
        let src = dir.join(format!("validate/report/fit_{w}.png"));
        if src.exists() {
            let file = figure_name(tag, r, &format!("fit_{w}"));
            std::fs::copy(&src, dest.join(&file)).map_err(|e| err(&src, e))?;
            let _ = writeln!(md, "![{label} {w} fit{name}]({file})\n");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconstructed_peaks_are_compared_with_the_original() {
        let fit = |sample: &str, mean: f64, err: f64, sigma: f64| {
            serde_json::json!({"window": "W", "sample": sample, "entries": 100,
                "mean": mean, "mean_err": err, "sigma": sigma, "sigma_err": 0.1,
                "chi2": 12.0, "ndf": 10.0})
        };
        let s = serde_json::json!({"fits": [
            fit("original", 80.0, 0.3, 4.0),
            fit("ae", 80.5, 0.4, 4.2),
            {"window": "top", "sample": "pca", "entries": 3},
        ]});
        // No fit plots there, so nothing is copied.
        let dir = Path::new("/nonexistent/hepae-peaks-test");
        let mut md = String::new();
        peaks_table(&mut md, dir, Some(1.6), &s, "HEP2", "hep2", dir, "").unwrap();
        let row = |start: &str| {
            md.lines()
                .find(|l| l.starts_with(start))
                .unwrap()
                .to_string()
        };
        // 0.5 GeV over an error of sqrt(0.3^2 + 0.4^2) = 0.5: one error; 5% wider.
        assert!(
            row("| W | ae |").ends_with("| 80.4 | +0.50 | +1.0 | +5.0 |"),
            "{md}"
        );
        assert!(
            row("| W | original |").ends_with("| 80.4 |  |  |  |"),
            "{md}"
        );
        assert!(row("| top | pca |").contains("not fitted"), "{md}");
    }
}
