//! Mass-peak fits: a Gaussian or double-sided Crystal Ball peak on an
//! exponential or Bernstein (order 1-4) background, fitted by
//! Levenberg-Marquardt (rmpfit, a port of CMPFIT) to a histogram with
//! Poisson errors. Every allowed signal x background pair is fitted and the
//! one with the lowest AIC (chi2 + 2 x parameters) is reported, so the
//! background gets as many parameters as the data ask for and no more.
//! Parameter uncertainties come from the fit covariance.

use crate::shapes::{Background, Shape, Signal, SignalChoice, BACKGROUNDS};
use rmpfit::{MPConfig, MPFitter, MPPar, MPResult};
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

/// One model tried on a window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// `signal + background`, e.g. `crystal_ball + bernstein3`.
    pub model: String,
    /// chi2 of its fit (NaN when it failed).
    pub chi2: f64,
    /// Degrees of freedom.
    pub ndf: usize,
    /// chi2 + 2 x parameters.
    pub aic: f64,
    /// Whether the mean or width ended on a limit.
    pub at_limit: bool,
}

/// Result of one peak fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeakFit {
    /// Window name (`W`, `top`).
    pub window: String,
    /// Fit range: lower edge.
    pub lo: f64,
    /// Fit range: upper edge.
    pub hi: f64,
    /// Bins.
    pub bins: usize,
    /// Entries in the window.
    pub entries: u64,
    /// The chosen signal shape (`gaussian`, `crystal_ball`), empty without a fit.
    pub signal: String,
    /// The chosen background (`exponential`, `bernstein1`..`bernstein4`).
    pub background: String,
    /// Fitted peak position.
    pub mean: f64,
    /// Its 1-sigma uncertainty.
    pub mean_err: f64,
    /// Fitted core width.
    pub sigma: f64,
    /// Its 1-sigma uncertainty.
    pub sigma_err: f64,
    /// Peak amplitude (counts per bin at the peak).
    pub amplitude: f64,
    /// All parameters of the chosen model, in [`PeakFit::param_names`] order.
    pub params: Vec<f64>,
    /// Their 1-sigma uncertainties.
    pub param_errors: Vec<f64>,
    /// Parameter names.
    pub param_names: Vec<String>,
    /// chi2 of the fit.
    pub chi2: f64,
    /// Degrees of freedom.
    pub ndf: usize,
    /// Whether a fit converged.
    pub converged: bool,
    /// True when the mean or width ended on its limit (no peak in the window;
    /// its uncertainty is then meaningless).
    pub at_limit: bool,
    /// Why there is no fit (too few entries, or no model converged).
    pub note: Option<String>,
    /// Every model tried, with its fit quality.
    pub candidates: Vec<Candidate>,
}

impl PeakFit {
    /// The fitted model's expected counts per bin at `m` (NaN without a fit).
    pub fn curve(&self, m: f64) -> f64 {
        match self.shape() {
            Some(s) => s.eval(&self.params, m),
            None => f64::NAN,
        }
    }

    /// The chosen shape, when there is a fit.
    pub fn shape(&self) -> Option<Shape> {
        let signal = match self.signal.as_str() {
            "gaussian" => Signal::Gaussian,
            "crystal_ball" => Signal::CrystalBall,
            _ => return None,
        };
        let background = BACKGROUNDS
            .into_iter()
            .find(|b| b.name() == self.background)?;
        Some(Shape {
            signal,
            background,
            lo: self.lo,
            hi: self.hi,
        })
    }
}

/// Fewest entries in a window for a fit to be attempted.
pub const MIN_FIT_ENTRIES: u64 = 50;

struct Fitter<'a> {
    x: &'a [f64],
    y: &'a [f64],
    e: &'a [f64],
    shape: Shape,
    pars: Vec<MPPar>,
}

impl MPFitter for Fitter<'_> {
    fn eval(&mut self, p: &[f64], dev: &mut [f64]) -> MPResult<()> {
        for (((d, x), y), e) in dev.iter_mut().zip(self.x).zip(self.y).zip(self.e) {
            *d = (y - self.shape.eval(p, *x)) / e;
        }
        Ok(())
    }
    fn number_of_points(&self) -> usize {
        self.x.len()
    }
    fn parameters(&self) -> Option<&[MPPar]> {
        Some(&self.pars)
    }
    fn config(&self) -> MPConfig {
        MPConfig {
            max_iter: 500,
            ..MPConfig::default()
        }
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

/// The parameter limits of `shape` on histogram `h`.
fn parameter_limits(shape: &Shape, h: &Histogram) -> Vec<MPPar> {
    let (lo, hi) = (h.lo, h.hi);
    let mut pars = vec![
        limits(Some(0.0), None),
        limits(Some(lo), Some(hi)),
        limits(Some(h.width() / 4.0), Some(hi - lo)),
    ];
    if shape.signal == Signal::CrystalBall {
        for _ in 0..2 {
            pars.push(limits(Some(0.2), Some(10.0)));
            pars.push(limits(Some(1.01), Some(100.0)));
        }
    }
    match shape.background {
        Background::Exponential => pars.extend([limits(Some(0.0), None), limits(None, None)]),
        Background::Bernstein(k) => pars.extend((0..=k).map(|_| limits(Some(0.0), None))),
    }
    pars
}

/// A first guess of a Gaussian on an exponential background: the background
/// from the window edges, the peak from what is left. Returns
/// [N, mean, sigma, A, slope].
fn first_guess(h: &Histogram) -> Vec<f64> {
    let (x, y, bins) = (h.centers(), &h.counts, h.counts.len());
    let k = 3.min(bins);
    let yl = y[..k].iter().sum::<f64>() / k as f64;
    let yr = y[bins - k..].iter().sum::<f64>() / k as f64;
    let (xl, xr) = (x[k / 2], x[bins - 1 - k / 2]);
    let slope = if yl > 0.0 && yr > 0.0 {
        (yl / yr).ln() / (xr - xl)
    } else {
        0.0
    };
    let a = yl.max(0.0) * (slope * (xl - h.lo)).exp();
    let resid: Vec<f64> = x
        .iter()
        .zip(y)
        .map(|(m, c)| c - a * (-slope * (m - h.lo)).exp())
        .collect();
    let imax = (0..bins)
        .max_by(|&i, &j| resid[i].total_cmp(&resid[j]))
        .unwrap_or(0);
    vec![
        resid[imax].max(1.0),
        x[imax],
        (h.hi - h.lo) / 10.0,
        a.max(0.0),
        slope,
    ]
}

/// Starting values for `shape` from a fitted (or guessed) Gaussian +
/// exponential `base`: its peak, and its background sampled at the
/// Bernstein control points.
fn start(shape: &Shape, base: &[f64]) -> Vec<f64> {
    let mut p = base[..3].to_vec();
    if shape.signal == Signal::CrystalBall {
        p.extend([1.5, 5.0, 1.5, 5.0]);
    }
    let exp_bkg = |m: f64| base[3] * (-base[4] * (m - shape.lo)).exp();
    match shape.background {
        Background::Exponential => p.extend([base[3], base[4]]),
        Background::Bernstein(k) => p.extend(
            (0..=k)
                .map(|j| exp_bkg(shape.lo + (shape.hi - shape.lo) * j as f64 / k as f64).max(0.0)),
        ),
    }
    p
}

/// One fit of `shape`: parameters, their errors and chi2, or None.
fn fit_shape(
    shape: Shape,
    h: &Histogram,
    x: &[f64],
    e: &[f64],
    p0: Vec<f64>,
) -> Option<(Vec<f64>, Vec<f64>, f64)> {
    let mut p = p0;
    let mut f = Fitter {
        x,
        y: &h.counts,
        e,
        shape,
        pars: parameter_limits(&shape, h),
    };
    let s = f.mpfit(&mut p).ok()?;
    (s.best_norm.is_finite()).then_some((p, s.xerror, s.best_norm))
}

fn at_limit(p: &[f64], h: &Histogram) -> bool {
    let (lo, hi) = (h.lo, h.hi);
    [
        p[1] - lo,
        hi - p[1],
        p[2] - h.width() / 4.0,
        (hi - lo) - p[2],
    ]
    .iter()
    .any(|d| d.abs() <= 1e-6 * (hi - lo))
}

/// A result without a fit, with the reason.
fn no_fit(
    window: &str,
    h: &Histogram,
    entries: u64,
    note: String,
    candidates: Vec<Candidate>,
) -> PeakFit {
    PeakFit {
        window: window.into(),
        lo: h.lo,
        hi: h.hi,
        bins: h.counts.len(),
        entries,
        signal: String::new(),
        background: String::new(),
        mean: f64::NAN,
        mean_err: f64::NAN,
        sigma: f64::NAN,
        sigma_err: f64::NAN,
        amplitude: f64::NAN,
        params: Vec::new(),
        param_errors: Vec::new(),
        param_names: Vec::new(),
        chi2: f64::NAN,
        ndf: h.counts.len().saturating_sub(5),
        converged: false,
        at_limit: false,
        note: Some(note),
        candidates,
    }
}

/// A converged fit of one model.
struct Fitted {
    shape: Shape,
    params: Vec<f64>,
    errors: Vec<f64>,
    chi2: f64,
    aic: f64,
    at_limit: bool,
}

/// Fits every allowed model to `h` and returns the best one with every
/// candidate's quality: fits inside their limits beat fits on a limit, then
/// the lower AIC wins.
fn select_model(h: &Histogram, signal: SignalChoice) -> (Option<Fitted>, Vec<Candidate>) {
    let (lo, hi, bins) = (h.lo, h.hi, h.counts.len());
    let x = h.centers();
    let e: Vec<f64> = h.counts.iter().map(|c| c.max(1.0).sqrt()).collect();
    // The Gaussian + exponential fit seeds every other model.
    let guess = first_guess(h);
    let seed = Shape {
        signal: Signal::Gaussian,
        background: Background::Exponential,
        lo,
        hi,
    };
    let base = fit_shape(seed, h, &x, &e, guess.clone()).map_or(guess, |r| r.0);
    let mut best: Option<Fitted> = None;
    let mut candidates = Vec::new();
    for &sig in signal.shapes() {
        for background in BACKGROUNDS {
            let shape = Shape {
                signal: sig,
                background,
                lo,
                hi,
            };
            let ndf = bins.saturating_sub(shape.n_params());
            if ndf == 0 {
                continue;
            }
            let model = format!("{} + {}", sig.name(), background.name());
            let Some((params, errors, chi2)) = fit_shape(shape, h, &x, &e, start(&shape, &base))
            else {
                candidates.push(Candidate {
                    model,
                    chi2: f64::NAN,
                    ndf,
                    aic: f64::NAN,
                    at_limit: false,
                });
                continue;
            };
            let aic = chi2 + 2.0 * shape.n_params() as f64;
            let lim = at_limit(&params, h);
            candidates.push(Candidate {
                model,
                chi2,
                ndf,
                aic,
                at_limit: lim,
            });
            if best
                .as_ref()
                .is_none_or(|b| (lim, aic) < (b.at_limit, b.aic))
            {
                best = Some(Fitted {
                    shape,
                    params,
                    errors,
                    chi2,
                    aic,
                    at_limit: lim,
                });
            }
        }
    }
    (best, candidates)
}

/// Fits the peak in `values` within [lo, hi) using `bins` bins, trying every
/// background and the signal shapes `signal` allows (the best by AIC, as `select_model` chooses).
pub fn fit_peak(
    values: &[f64],
    window: &str,
    lo: f64,
    hi: f64,
    bins: usize,
    signal: SignalChoice,
) -> (PeakFit, Histogram) {
    let h = Histogram::fill(values, lo, hi, bins);
    let entries = h.counts.iter().sum::<f64>() as u64;
    if entries < MIN_FIT_ENTRIES {
        let note =
            format!("{entries} entries in [{lo}, {hi}); a fit needs at least {MIN_FIT_ENTRIES}");
        return (no_fit(window, &h, entries, note, Vec::new()), h);
    }
    let (best, candidates) = select_model(&h, signal);
    let Some(b) = best else {
        let note = format!("no model converged on {entries} entries in [{lo}, {hi})");
        return (no_fit(window, &h, entries, note, candidates), h);
    };
    let fit = PeakFit {
        window: window.into(),
        lo,
        hi,
        bins,
        entries,
        signal: b.shape.signal.name().into(),
        background: b.shape.background.name(),
        mean: b.params[1],
        mean_err: b.errors[1],
        sigma: b.params[2],
        sigma_err: b.errors[2],
        amplitude: b.params[0],
        param_names: b.shape.param_names(),
        ndf: bins - b.shape.n_params(),
        params: b.params,
        param_errors: b.errors,
        chi2: b.chi2,
        converged: true,
        at_limit: b.at_limit,
        note: None,
        candidates,
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

    fn gauss(s: &mut u64) -> f64 {
        let (u1, u2) = (uniform(s), uniform(s));
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    #[test]
    fn recovers_a_w_peak_on_exponential_background() {
        let mut s = 42u64;
        let mut v = Vec::new();
        for _ in 0..20_000 {
            v.push(80.4 + 8.0 * gauss(&mut s));
        }
        for _ in 0..40_000 {
            v.push(30.0 - 40.0 * uniform(&mut s).ln());
        }
        let (f, h) = fit_peak(&v, "W", 50.0, 110.0, 60, SignalChoice::Gaussian);
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
        assert_eq!(f.candidates.len(), 5, "exponential and Bernstein 1-4");
        // At the mean the curve is the peak amplitude on top of the background.
        let bkg = f.shape().unwrap().background_at(&f.params[3..], f.mean);
        assert!((f.curve(f.mean) - f.amplitude - bkg).abs() < 1e-9 * f.amplitude);
    }

    /// A peak on a falling quadratic background is not described by an
    /// exponential; the selection must pick a Bernstein polynomial of order >= 2.
    #[test]
    fn picks_a_polynomial_background_when_the_data_ask_for_it() {
        let mut s = 7u64;
        let mut v = Vec::new();
        for _ in 0..30_000 {
            v.push(175.0 + 7.0 * gauss(&mut s));
        }
        // Background density (1 - t)^2 + 0.6 on [130, 220), by rejection.
        let mut n = 0;
        while n < 200_000 {
            let t = uniform(&mut s);
            if uniform(&mut s) * 1.6 < (1.0 - t).powi(2) + 0.6 {
                v.push(130.0 + 90.0 * t);
                n += 1;
            }
        }
        let (f, _) = fit_peak(&v, "top", 130.0, 220.0, 45, SignalChoice::Gaussian);
        assert!(f.converged && !f.at_limit, "{f:?}");
        assert!(f.background.starts_with("bernstein"), "{}", f.background);
        assert!(f.background != "bernstein1", "{}", f.background);
        assert!(
            (f.mean - 175.0).abs() < 3.0 * f.mean_err,
            "{} +- {}",
            f.mean,
            f.mean_err
        );
        assert!(f.chi2 / (f.ndf as f64) < 2.0, "{}", f.chi2 / f.ndf as f64);
    }

    #[test]
    fn too_few_entries_say_how_many_are_needed() {
        let v: Vec<f64> = (0..12).map(|i| 60.0 + i as f64).collect();
        let (f, _) = fit_peak(&v, "W", 50.0, 110.0, 30, SignalChoice::Auto);
        assert!(!f.converged);
        assert_eq!(f.entries, 12);
        assert_eq!(
            f.note.as_deref(),
            Some("12 entries in [50, 110); a fit needs at least 50")
        );
    }
}
