//! Mass-peak fits: a Gaussian on an exponential background, fitted by
//! Levenberg-Marquardt (rmpfit, a port of CMPFIT) to a histogram with
//! Poisson errors; parameter uncertainties come from the fit covariance.

use rmpfit::{MPFitter, MPPar, MPResult};
use serde::{Deserialize, Serialize};

/// A fixed-binning histogram.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    /// Lower edge.
    pub lo: f64,
    /// Upper edge.
    pub hi: f64,
    /// Counts per bin.
    pub counts: Vec<f64>,
}

impl Histogram {
    /// Fills `bins` equal bins on [lo, hi) with the finite values inside.
    pub fn fill(values: &[f64], lo: f64, hi: f64, bins: usize) -> Histogram {
        let mut counts = vec![0.0; bins];
        let w = (hi - lo) / bins as f64;
        for &v in values {
            if v >= lo && v < hi {
                let i = (((v - lo) / w) as usize).min(bins - 1);
                counts[i] += 1.0;
            }
        }
        Histogram { lo, hi, counts }
    }

    /// Bin width.
    pub fn width(&self) -> f64 {
        (self.hi - self.lo) / self.counts.len() as f64
    }

    /// Bin centres.
    pub fn centers(&self) -> Vec<f64> {
        let w = self.width();
        (0..self.counts.len())
            .map(|i| self.lo + (i as f64 + 0.5) * w)
            .collect()
    }
}

/// Result of one peak fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeakFit {
    /// Window name (`W`, `top`).
    pub window: String,
    /// Window edges.
    pub lo: f64,
    /// Upper window edge.
    pub hi: f64,
    /// Bins.
    pub bins: usize,
    /// Entries in the window.
    pub entries: u64,
    /// Fitted peak position.
    pub mean: f64,
    /// Its 1-sigma uncertainty.
    pub mean_err: f64,
    /// Fitted Gaussian width.
    pub sigma: f64,
    /// Its 1-sigma uncertainty.
    pub sigma_err: f64,
    /// Gaussian amplitude (counts per bin at the peak).
    pub amplitude: f64,
    /// Background amplitude at the lower edge.
    pub background: f64,
    /// Background slope (1/GeV): A exp(-slope (m - lo)).
    pub background_slope: f64,
    /// chi2 of the fit.
    pub chi2: f64,
    /// Degrees of freedom.
    pub ndf: usize,
    /// Whether the fit converged.
    pub converged: bool,
    /// True when the mean or width ended on its limit (no peak in the window;
    /// its uncertainty is then meaningless).
    pub at_limit: bool,
}

/// Fewest entries in a window for a fit to be attempted.
pub const MIN_FIT_ENTRIES: u64 = 50;

/// Gaussian peak plus exponential background; `p` = [N, mean, sigma, A, slope].
pub fn model(p: &[f64], m: f64, lo: f64) -> f64 {
    p[0] * (-0.5 * ((m - p[1]) / p[2]).powi(2)).exp() + p[3] * (-p[4] * (m - lo)).exp()
}

struct Fitter {
    x: Vec<f64>,
    y: Vec<f64>,
    e: Vec<f64>,
    lo: f64,
    pars: Vec<MPPar>,
}

impl MPFitter for Fitter {
    fn eval(&mut self, p: &[f64], dev: &mut [f64]) -> MPResult<()> {
        for (((d, x), y), e) in dev.iter_mut().zip(&self.x).zip(&self.y).zip(&self.e) {
            *d = (y - model(p, *x, self.lo)) / e;
        }
        Ok(())
    }
    fn number_of_points(&self) -> usize {
        self.x.len()
    }
    fn parameters(&self) -> Option<&[MPPar]> {
        Some(&self.pars)
    }
}

fn limits(lo: Option<f64>, hi: Option<f64>) -> MPPar {
    MPPar {
        limited_low: lo.is_some(),
        limit_low: lo.unwrap_or(0.0),
        limited_up: hi.is_some(),
        limit_up: hi.unwrap_or(0.0),
        ..Default::default()
    }
}

/// Fits the peak in `values` within [lo, hi) using `bins` bins.
pub fn fit_peak(
    values: &[f64],
    window: &str,
    lo: f64,
    hi: f64,
    bins: usize,
) -> (PeakFit, Histogram) {
    let h = Histogram::fill(values, lo, hi, bins);
    let x = h.centers();
    let y = h.counts.clone();
    let entries = y.iter().sum::<f64>() as u64;
    // Starting values: background from the window edges, peak from what is left.
    let k = 3.min(bins);
    let yl = y[..k].iter().sum::<f64>() / k as f64;
    let yr = y[bins - k..].iter().sum::<f64>() / k as f64;
    let (xl, xr) = (x[k / 2], x[bins - 1 - k / 2]);
    let slope = if yl > 0.0 && yr > 0.0 {
        (yl / yr).ln() / (xr - xl)
    } else {
        0.0
    };
    let a = yl.max(0.0) * (slope * (xl - lo)).exp();
    let resid: Vec<f64> = x
        .iter()
        .zip(&y)
        .map(|(m, c)| c - a * (-slope * (m - lo)).exp())
        .collect();
    let imax = (0..bins)
        .max_by(|&i, &j| resid[i].total_cmp(&resid[j]))
        .unwrap_or(0);
    let mut p = vec![
        resid[imax].max(1.0),
        x[imax],
        (hi - lo) / 10.0,
        a.max(0.0),
        slope,
    ];
    let mut f = Fitter {
        e: y.iter().map(|c| c.max(1.0).sqrt()).collect(),
        x,
        y,
        lo,
        pars: vec![
            limits(Some(0.0), None),
            limits(Some(lo), Some(hi)),
            limits(Some(h.width() / 4.0), Some(hi - lo)),
            limits(Some(0.0), None),
            limits(None, None),
        ],
    };
    // A handful of entries cannot constrain five parameters: report no fit.
    let status = if entries < MIN_FIT_ENTRIES {
        Err(rmpfit::MPError::Empty)
    } else {
        f.mpfit(&mut p)
    };
    let ndf = bins.saturating_sub(5);
    let fit = match status {
        Ok(s) => PeakFit {
            window: window.into(),
            lo,
            hi,
            bins,
            entries,
            mean: p[1],
            mean_err: s.xerror[1],
            sigma: p[2],
            sigma_err: s.xerror[2],
            amplitude: p[0],
            background: p[3],
            background_slope: p[4],
            chi2: s.best_norm,
            ndf,
            converged: true,
            at_limit: [
                p[1] - lo,
                hi - p[1],
                p[2] - h.width() / 4.0,
                (hi - lo) - p[2],
            ]
            .iter()
            .any(|d| d.abs() <= 1e-6 * (hi - lo)),
        },
        Err(_) => PeakFit {
            window: window.into(),
            lo,
            hi,
            bins,
            entries,
            mean: f64::NAN,
            mean_err: f64::NAN,
            sigma: f64::NAN,
            sigma_err: f64::NAN,
            amplitude: f64::NAN,
            background: f64::NAN,
            background_slope: f64::NAN,
            chi2: f64::NAN,
            ndf,
            converged: false,
            at_limit: false,
        },
    };
    (fit, h)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SplitMix64 uniform in (0, 1).
    fn uniform(state: &mut u64) -> f64 {
        *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64 + 1e-300
    }

    #[test]
    fn recovers_a_w_peak_on_exponential_background() {
        let mut s = 42u64;
        let mut v = Vec::new();
        for _ in 0..20_000 {
            // Box-Muller.
            let (u1, u2) = (uniform(&mut s), uniform(&mut s));
            let g = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
            v.push(80.4 + 8.0 * g);
        }
        for _ in 0..40_000 {
            v.push(30.0 - 40.0 * uniform(&mut s).ln());
        }
        let (f, h) = fit_peak(&v, "W", 50.0, 110.0, 60);
        assert!(f.converged && !f.at_limit);
        assert_eq!(h.counts.len(), 60);
        assert!(f.mean_err > 0.0 && f.mean_err < 1.0, "{f:?}");
        assert!(
            (f.mean - 80.4).abs() < 2.0 * f.mean_err,
            "mean {} +- {} (true 80.4)",
            f.mean,
            f.mean_err
        );
        assert!((f.sigma - 8.0).abs() < 3.0 * f.sigma_err, "{f:?}");
        let chi2_ndf = f.chi2 / f.ndf as f64;
        assert!(chi2_ndf < 2.0, "chi2/ndf {chi2_ndf}");
    }
}
