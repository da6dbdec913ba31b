//! Peak and background shapes of the mass fits. A model's parameters are
//! the signal's, then the background's:
//! - Gaussian: N, mean, sigma;
//! - double-sided Crystal Ball: N, mean, sigma, alpha_L, n_L, alpha_R, n_R
//!   (a Gaussian core with power-law tails beyond alpha sigma on each side);
//! - exponential: A, slope, as A exp(-slope (m - lo));
//! - Bernstein polynomial of order k: c_0..c_k >= 0 on t = (m - lo)/(hi - lo),
//!   sum_j c_j C(k, j) t^j (1 - t)^(k - j), so c_j is about the background
//!   at t = j/k and non-negative coefficients keep it positive.

use serde::{Deserialize, Serialize};

/// Signal shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Gaussian.
    Gaussian,
    /// Double-sided Crystal Ball.
    CrystalBall,
}

/// Which signal shapes a fit may use (`validate.fit_signal`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalChoice {
    /// Both; the better fit (AIC) wins.
    #[default]
    Auto,
    /// A Gaussian only.
    Gaussian,
    /// A double-sided Crystal Ball only.
    CrystalBall,
}

impl std::str::FromStr for SignalChoice {
    type Err = String;
    /// The YAML names: `auto`, `gaussian`, `crystal_ball`.
    fn from_str(s: &str) -> Result<Self, String> {
        serde_json::from_value(serde_json::Value::String(s.to_string()))
            .map_err(|_| format!("'{s}': expected auto, gaussian or crystal_ball"))
    }
}

impl SignalChoice {
    /// The shapes this choice allows.
    pub fn shapes(self) -> &'static [Signal] {
        match self {
            SignalChoice::Auto => &[Signal::Gaussian, Signal::CrystalBall],
            SignalChoice::Gaussian => &[Signal::Gaussian],
            SignalChoice::CrystalBall => &[Signal::CrystalBall],
        }
    }
}

/// Background shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Background {
    /// A exp(-slope (m - lo)).
    Exponential,
    /// Bernstein polynomial of the given order (1-4).
    Bernstein(usize),
}

/// The backgrounds every fit tries, simplest first.
pub const BACKGROUNDS: [Background; 5] = [
    Background::Exponential,
    Background::Bernstein(1),
    Background::Bernstein(2),
    Background::Bernstein(3),
    Background::Bernstein(4),
];

/// A signal plus background model on a window [lo, hi].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    /// Signal shape.
    pub signal: Signal,
    /// Background shape.
    pub background: Background,
    /// Window's lower edge.
    pub lo: f64,
    /// Window's upper edge.
    pub hi: f64,
}

impl Signal {
    /// Parameter count.
    pub fn n(self) -> usize {
        match self {
            Signal::Gaussian => 3,
            Signal::CrystalBall => 7,
        }
    }

    /// Name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Signal::Gaussian => "gaussian",
            Signal::CrystalBall => "crystal_ball",
        }
    }

    fn param_names(self) -> &'static [&'static str] {
        match self {
            Signal::Gaussian => &["N", "mean", "sigma"],
            Signal::CrystalBall => &["N", "mean", "sigma", "alpha_L", "n_L", "alpha_R", "n_R"],
        }
    }
}

impl Background {
    /// Parameter count.
    pub fn n(self) -> usize {
        match self {
            Background::Exponential => 2,
            Background::Bernstein(k) => k + 1,
        }
    }

    /// Name in reports (`exponential`, `bernstein3`).
    pub fn name(self) -> String {
        match self {
            Background::Exponential => "exponential".into(),
            Background::Bernstein(k) => format!("bernstein{k}"),
        }
    }
}

impl Shape {
    /// All parameters.
    pub fn n_params(&self) -> usize {
        self.signal.n() + self.background.n()
    }

    /// Parameter names, signal first.
    pub fn param_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .signal
            .param_names()
            .iter()
            .map(|s| s.to_string())
            .collect();
        match self.background {
            Background::Exponential => v.extend(["A".to_string(), "slope".to_string()]),
            Background::Bernstein(k) => v.extend((0..=k).map(|j| format!("c{j}"))),
        }
        v
    }

    /// Expected counts per bin at `m`: signal plus background.
    pub fn eval(&self, p: &[f64], m: f64) -> f64 {
        self.signal_at(p, m) + self.background_at(&p[self.signal.n()..], m)
    }

    /// The signal part at `m`.
    pub fn signal_at(&self, p: &[f64], m: f64) -> f64 {
        let t = (m - p[1]) / p[2];
        match self.signal {
            Signal::Gaussian => p[0] * (-0.5 * t * t).exp(),
            Signal::CrystalBall => p[0] * crystal_ball(t, p[3], p[4], p[5], p[6]),
        }
    }

    /// The background part at `m`; `b` holds the background's parameters only.
    pub fn background_at(&self, b: &[f64], m: f64) -> f64 {
        match self.background {
            Background::Exponential => b[0] * (-b[1] * (m - self.lo)).exp(),
            Background::Bernstein(_) => bernstein(b, (m - self.lo) / (self.hi - self.lo)),
        }
    }
}

/// Double-sided Crystal Ball in units t = (m - mean)/sigma, 1 at t = 0; the
/// tails are continuous with the core in value and slope at -alpha_L and alpha_R.
pub fn crystal_ball(t: f64, al: f64, nl: f64, ar: f64, nr: f64) -> f64 {
    let tail = |u: f64, a: f64, n: f64| {
        let a = a.abs();
        (n / a).powf(n) * (-0.5 * a * a).exp() * (n / a - a + u).powf(-n)
    };
    if t < -al.abs() {
        tail(-t, al, nl)
    } else if t > ar.abs() {
        tail(t, ar, nr)
    } else {
        (-0.5 * t * t).exp()
    }
}

/// sum_j c_j C(k, j) t^j (1 - t)^(k - j) with k = c.len() - 1.
pub fn bernstein(c: &[f64], t: f64) -> f64 {
    let k = c.len().saturating_sub(1);
    let mut binom = 1.0;
    let mut sum = 0.0;
    for (j, cj) in c.iter().enumerate() {
        sum += cj * binom * t.powi(j as i32) * (1.0 - t).powi((k - j) as i32);
        binom = binom * (k - j) as f64 / (j + 1) as f64;
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bernstein_values() {
        // Constant coefficients reproduce the constant (partition of unity).
        assert!((bernstein(&[3.0, 3.0, 3.0, 3.0], 0.37) - 3.0).abs() < 1e-12);
        // Order 2, c = (1, 0, 0): (1 - t)^2.
        assert!((bernstein(&[1.0, 0.0, 0.0], 0.25) - 0.5625).abs() < 1e-12);
        // Order 1, c = (0, 2): 2 t.
        assert_eq!(bernstein(&[0.0, 2.0], 0.5), 1.0);
    }

    #[test]
    fn crystal_ball_tails_join_the_core() {
        for (al, nl) in [(1.5, 5.0), (0.8, 2.0)] {
            let eps = 1e-7;
            let inner = crystal_ball(-al + eps, al, nl, 2.0, 3.0);
            let outer = crystal_ball(-al - eps, al, nl, 2.0, 3.0);
            assert!(
                (inner - outer).abs() < 1e-6,
                "value jumps at -alpha: {inner} {outer}"
            );
            let slope_in = (crystal_ball(-al + 2.0 * eps, al, nl, 2.0, 3.0) - inner) / eps;
            let slope_out = (outer - crystal_ball(-al - 2.0 * eps, al, nl, 2.0, 3.0)) / eps;
            assert!(
                (slope_in - slope_out).abs() < 1e-4,
                "{slope_in} {slope_out}"
            );
        }
        // Power-law tails fall slower than the Gaussian.
        assert!(crystal_ball(5.0, 1.5, 5.0, 1.5, 5.0) > (-12.5f64).exp());
        assert_eq!(crystal_ball(0.0, 1.5, 5.0, 1.5, 5.0), 1.0);
    }

    #[test]
    fn names_and_counts() {
        let s = Shape {
            signal: Signal::CrystalBall,
            background: Background::Bernstein(3),
            lo: 50.0,
            hi: 110.0,
        };
        assert_eq!(s.n_params(), 11);
        assert_eq!(s.param_names()[1], "mean");
        assert_eq!(s.param_names()[10], "c3");
        assert_eq!(s.background.name(), "bernstein3");
    }
}
