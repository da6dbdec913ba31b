//! Figures of merit of a search: Z = s / sqrt(b), the Asimov significance
//! Z_A, their statistical errors from the weights, the significance
//! improvement characteristic (SIC) and scans over the score cut.

use serde::{Deserialize, Serialize};

/// s / sqrt(b); 0 when b is not positive.
pub fn z_simple(s: f64, b: f64) -> f64 {
    if b > 0.0 {
        s / b.sqrt()
    } else {
        0.0
    }
}

/// The Asimov median significance of discovery for s signal on b
/// background: sqrt(2 ((s + b) ln(1 + s / b) - s)); 0 when b is not positive.
pub fn z_asimov(s: f64, b: f64) -> f64 {
    if b > 0.0 && s > 0.0 {
        (2.0 * ((s + b) * (s / b).ln_1p() - s)).max(0.0).sqrt()
    } else {
        0.0
    }
}

/// Standard error of Z_A from the statistical errors of the weighted
/// counts (sqrt of the sums of squared weights), propagated to first order.
pub fn z_asimov_error(s: f64, b: f64, s_err: f64, b_err: f64) -> f64 {
    let z = z_asimov(s, b);
    if z == 0.0 {
        return 0.0;
    }
    // dZ/ds = ln(1 + s/b) / Z, dZ/db = (ln(1 + s/b) - s/b) / Z.
    let l = (s / b).ln_1p();
    let (ds, db) = (l / z, (l - s / b) / z);
    ((ds * s_err).powi(2) + (db * b_err).powi(2)).sqrt()
}

/// Weighted counts above a cut, with their statistical errors.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Yield {
    /// Sum of weights.
    pub sum: f64,
    /// sqrt(sum of squared weights).
    pub error: f64,
    /// Events (unweighted).
    pub events: u64,
}

/// The weighted yield of `(score, weight)` pairs above `cut`, scaled by `scale`.
pub fn yield_above(events: &[(f64, f64)], cut: f64, scale: f64) -> Yield {
    let (mut sum, mut sq, mut n) = (0.0, 0.0, 0u64);
    for &(_, w) in events.iter().filter(|e| e.0 > cut) {
        sum += w * scale;
        sq += (w * scale).powi(2);
        n += 1;
    }
    Yield {
        sum,
        error: sq.sqrt(),
        events: n,
    }
}

/// Significance of one signal in one region.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Significance {
    /// Score cut (events above it are in the region).
    pub cut: f64,
    /// Signal yield.
    pub s: Yield,
    /// Background yield.
    pub b: Yield,
    /// s / sqrt(b).
    pub z: f64,
    /// Asimov significance.
    pub z_asimov: f64,
    /// Its statistical error.
    pub z_asimov_error: f64,
}

/// The significance of `signal` over `background` above `cut`; the
/// background weights are scaled by `b_scale` (1 / the held-out share).
pub fn significance(
    signal: &[(f64, f64)],
    background: &[(f64, f64)],
    cut: f64,
    b_scale: f64,
) -> Significance {
    let s = yield_above(signal, cut, 1.0);
    let b = yield_above(background, cut, b_scale);
    Significance {
        cut,
        s,
        b,
        z: z_simple(s.sum, b.sum),
        z_asimov: z_asimov(s.sum, b.sum),
        z_asimov_error: z_asimov_error(s.sum, b.sum, s.error, b.error),
    }
}

/// Z_A at `steps` cuts between the background's 50% and 99.99% quantiles
/// of the score (at least one background event stays above each), and the best.
pub fn za_scan(
    signal: &[(f64, f64)],
    background: &[(f64, f64)],
    b_scale: f64,
    steps: usize,
) -> (Vec<Significance>, Option<Significance>) {
    let mut scores: Vec<f64> = background.iter().map(|e| e.0).collect();
    scores.sort_by(f64::total_cmp);
    if scores.len() < 2 {
        return (Vec::new(), None);
    }
    let q = |p: f64| scores[((scores.len() - 1) as f64 * p) as usize];
    let (lo, hi) = (q(0.5), q(0.9999).min(scores[scores.len() - 2]));
    let scan: Vec<Significance> = (0..steps)
        .map(|k| lo + (hi - lo) * k as f64 / (steps.max(2) - 1) as f64)
        .map(|cut| significance(signal, background, cut, b_scale))
        .collect();
    let best = scan
        .iter()
        .copied()
        .filter(|s| s.b.events > 0)
        .max_by(|a, b| a.z_asimov.total_cmp(&b.z_asimov));
    (scan, best)
}

/// Signal efficiency and SIC at one background efficiency.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SicPoint {
    /// Background efficiency asked for.
    pub eps_b: f64,
    /// Signal efficiency there (linear between ROC points).
    pub eps_s: f64,
    /// eps_s / sqrt(eps_b).
    pub sic: f64,
}

/// Signal efficiency at background efficiency `eps_b` on a ROC given as
/// (eps_B, eps_S) points with eps_B rising; `None` when the background's
/// statistics cannot resolve it (its first step is above `eps_b`).
pub fn at_background_efficiency(points: &[(f64, f64)], eps_b: f64) -> Option<SicPoint> {
    let first_step = points.iter().map(|p| p.0).find(|&b| b > 0.0)?;
    if first_step > eps_b {
        return None;
    }
    let k = points.iter().position(|p| p.0 >= eps_b)?;
    let (b0, s0) = points[k.saturating_sub(1)];
    let (b1, s1) = points[k];
    let eps_s = if b1 > b0 {
        s0 + (s1 - s0) * (eps_b - b0) / (b1 - b0)
    } else {
        s1
    };
    Some(SicPoint {
        eps_b,
        eps_s,
        sic: eps_s / eps_b.sqrt(),
    })
}

/// The SIC curve eps_S / sqrt(eps_B) along the ROC (points with eps_B > 0).
pub fn sic_curve(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    points
        .iter()
        .filter(|p| p.0 > 0.0)
        .map(|&(b, s)| (b, s / b.sqrt()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn z_and_asimov_z_by_hand() {
        assert_eq!(z_simple(10.0, 100.0), 1.0);
        // s = 10, b = 100: 2 (110 ln 1.1 - 10) = 0.96825 -> Z_A = 0.98399
        let za = z_asimov(10.0, 100.0);
        assert!((za - (2.0f64 * (110.0 * 1.1f64.ln() - 10.0)).sqrt()).abs() < 1e-12);
        assert!((za - 0.98399).abs() < 1e-5, "{za}");
        // s << b: Z_A -> s / sqrt(b).
        assert!((z_asimov(1.0, 1e6) - 1e-3).abs() < 1e-8);
        // s = b = 5: sqrt(2 (10 ln 2 - 5)) = 1.9654 (Z = 2.236 overstates it).
        assert!((z_asimov(5.0, 5.0) - 1.96544).abs() < 1e-4);
        assert_eq!(z_asimov(3.0, 0.0), 0.0);
    }

    #[test]
    fn asimov_error_matches_a_numerical_derivative() {
        let (s, b, es, eb) = (20.0, 50.0, 3.0, 4.0);
        let h = 1e-6;
        let ds = (z_asimov(s + h, b) - z_asimov(s - h, b)) / (2.0 * h);
        let db = (z_asimov(s, b + h) - z_asimov(s, b - h)) / (2.0 * h);
        let want = ((ds * es).powi(2) + (db * eb).powi(2)).sqrt();
        assert!((z_asimov_error(s, b, es, eb) - want).abs() < 1e-6);
    }

    #[test]
    fn sic_at_fixed_background_efficiency_on_a_known_toy() {
        // Background uniform on [0, 1), signal uniform on [0.5, 1.5): a cut at
        // 1 - eps_B keeps eps_B of the background and (0.5 + eps_B) of the signal.
        let n = 100_000;
        let bkg: Vec<(f64, f64)> = (0..n).map(|i| (i as f64 / n as f64, 1.0)).collect();
        let sig: Vec<(f64, f64)> = (0..n).map(|i| (0.5 + i as f64 / n as f64, 1.0)).collect();
        let (_, points) = crate::anomaly::roc(&bkg, &sig);
        for eps_b in [1e-2, 1e-3, 1e-4] {
            let p = at_background_efficiency(&points, eps_b).unwrap();
            assert!((p.eps_s - (0.5 + eps_b)).abs() < 2e-5, "{p:?}");
            assert!(
                (p.sic - (0.5 + eps_b) / eps_b.sqrt()).abs() < 2e-3 * p.sic,
                "{p:?}"
            );
        }
        // 10 background events cannot resolve 1e-3.
        let few: Vec<(f64, f64)> = (0..10).map(|i| (i as f64 / 10.0, 1.0)).collect();
        let (_, pts) = crate::anomaly::roc(&few, &sig);
        assert!(at_background_efficiency(&pts, 1e-3).is_none());
    }

    #[test]
    fn the_scan_finds_the_cut_with_the_best_asimov_z() {
        let bkg: Vec<(f64, f64)> = (0..10_000).map(|i| (i as f64 / 10_000.0, 1.0)).collect();
        let sig: Vec<(f64, f64)> = (0..100).map(|i| (0.9 + i as f64 / 1000.0, 1.0)).collect();
        let (scan, best) = za_scan(&sig, &bkg, 1.0, 200);
        let best = best.unwrap();
        assert!(scan.iter().all(|s| s.z_asimov <= best.z_asimov));
        // All signal lies above 0.9, with 1000 background events there.
        assert!((best.cut - 0.9).abs() < 0.01, "{best:?}");
        assert!(best.s.sum > 95.0);
    }
}
