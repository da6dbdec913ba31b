//! Error-bounded residual coding.
//!
//! For a value `x` with decoder output `x_hat`, compression stores an integer
//! code `q`; decompression returns a point of a grid around `x_hat`, in the
//! column's dtype: `x_hat + q * step` under an absolute bound, `x_hat * g^q`
//! (constant relative spacing) under a purely relative one, and exactly 0 for
//! the code [`ZERO`]. The grid depends only on `x_hat` and the bound (both
//! known to the decoder), and the reconstruction uses only IEEE add,
//! multiply, divide, rounding and casts, so it is the same on every machine.
//! Compression picks the code nearest zero whose reconstruction meets the
//! bound (small codes compress well) and checks it; a value no code can
//! restore (NaN, f32 rounding at the edge) is stored exactly as an escape.

use serde::{Deserialize, Serialize};

/// A per-value error bound: `|x' - x| <= abs` and `|x' - x| <= rel * |x|`
/// (each when set; both must hold when both are set).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bound {
    /// Absolute bound, in the column's units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abs: Option<f64>,
    /// Relative bound (fraction of |x|).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rel: Option<f64>,
}

/// Shrinks the absolute step a little below 2 * abs so the interval of
/// acceptable codes is always wider than one.
const ABS_STEP: f64 = 2.0 * (1.0 - 1.0 / 4096.0);

impl Bound {
    /// Combines two bounds on the same column (the tighter of each kind).
    pub fn merge(self, other: Bound) -> Bound {
        let min = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Bound {
            abs: min(self.abs, other.abs),
            rel: min(self.rel, other.rel),
        }
    }

    /// Checks the values are usable; `what` names the column in errors.
    pub fn validate(&self, what: &str) -> Result<(), String> {
        if self.abs.is_none() && self.rel.is_none() {
            return Err(format!("bound on '{what}': give abs and/or rel"));
        }
        if let Some(a) = self.abs {
            if !(a.is_finite() && a > 0.0) {
                return Err(format!(
                    "bound on '{what}': abs must be a positive number, got {a} (for exact values use lossless)"
                ));
            }
        }
        if let Some(r) = self.rel {
            if !(r.is_finite() && r > 0.0 && r < 1.0) {
                return Err(format!(
                    "bound on '{what}': rel must be in (0, 1), got {r} (for exact values use lossless)"
                ));
            }
        }
        Ok(())
    }

    /// Allowed |x' - x| for the true value `x`.
    pub fn tolerance(&self, x: f64) -> f64 {
        let a = self.abs.unwrap_or(f64::INFINITY);
        let r = self.rel.map_or(f64::INFINITY, |r| r * x.abs());
        a.min(r)
    }

    /// Quantisation step, from what the decoder knows (`x_hat`).
    pub fn step(&self, x_hat: f64) -> f64 {
        let a = self.abs.map_or(f64::INFINITY, |a| ABS_STEP * a);
        // rel * |x_hat| keeps the acceptable interval at least one code wide
        // while |x_hat| <= 2 |x|; worse predictions fall back to escapes.
        let r = self.rel.map_or(f64::INFINITY, |r| r * x_hat.abs());
        a.min(r)
    }
}

impl std::str::FromStr for Bound {
    type Err = String;
    /// `abs:1e-3`, `rel:1e-3`, or both: `abs:1e-3,rel:1e-2`.
    fn from_str(s: &str) -> Result<Bound, String> {
        let mut b = Bound::default();
        for part in s.split(',') {
            let (kind, v) = part
                .split_once(':')
                .ok_or_else(|| format!("bound '{s}': expected abs:VALUE or rel:VALUE"))?;
            let v: f64 = v
                .trim()
                .parse()
                .map_err(|_| format!("bound '{s}': '{v}' is not a number"))?;
            match kind.trim() {
                "abs" => b.abs = Some(v),
                "rel" => b.rel = Some(v),
                k => return Err(format!("bound '{s}': unknown kind '{k}' (abs, rel)")),
            }
        }
        Ok(b)
    }
}

/// How a column's values are represented on output.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OutKind {
    /// 32-bit float.
    F32,
    /// 64-bit float.
    F64,
    /// Integer (or bool) with its range: rounded to nearest, then clamped.
    Int {
        /// Smallest representable value.
        min: f64,
        /// Largest representable value.
        max: f64,
    },
}

/// Code for "exactly zero": under a relative bound nothing else is allowed
/// at 0, and zeros are common (energies of absent jet constituents).
pub const ZERO: i32 = i32::MIN;

/// Log-grid codes in `FLIP +- MAX_LOG_CODE` start from `-x_hat` instead of
/// `x_hat`: a prediction of the wrong sign still gets a code, not an escape.
const FLIP: i32 = 1 << 30;
const MAX_LOG_CODE: i32 = 1 << 29;

/// The grid of values the codes of one value point to.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Grid {
    /// `x_hat + q * step`.
    Linear(f64),
    /// `x_hat * ratio^q`: constant relative spacing, so a relative bound is
    /// met however far the prediction is off (only its sign matters).
    Log(f64),
}

impl Bound {
    fn grid(&self, x_hat: f64) -> Grid {
        match (self.abs, self.rel) {
            // Spacing 2 * rel (1 - 1/64) is below ln((1 + rel) / (1 - rel)),
            // the width of the allowed interval in log space.
            (None, Some(r)) => Grid::Log(1.0 + 2.0 * r * (1.0 - 1.0 / 64.0)),
            _ => Grid::Linear(self.step(x_hat)),
        }
    }
}

/// `g^k` by repeated squaring: plain IEEE multiplications (and one division)
/// in a fixed order, so every machine gets the same bits (unlike `powi`).
fn pow_int(g: f64, k: i32) -> f64 {
    let mut n = k.unsigned_abs();
    let (mut base, mut acc) = (g, 1.0f64);
    while n > 0 {
        if n & 1 == 1 {
            acc *= base;
        }
        base *= base;
        n >>= 1;
    }
    if k < 0 {
        1.0 / acc
    } else {
        acc
    }
}

/// The value decompression produces from a decoder output and a code
/// (`bound` is the column's bound; `None`: no residuals, the output as is).
pub fn reconstruct(x_hat: f32, q: i32, bound: Option<&Bound>, kind: OutKind) -> f64 {
    let xh = x_hat as f64;
    let v = match bound {
        _ if q == 0 => xh,
        None => xh,
        Some(_) if q == ZERO => 0.0,
        Some(b) => match b.grid(xh) {
            Grid::Linear(step) => xh + q as f64 * step,
            Grid::Log(g) if q > FLIP - MAX_LOG_CODE => -xh * pow_int(g, q - FLIP),
            Grid::Log(g) => xh * pow_int(g, q),
        },
    };
    match kind {
        OutKind::F32 => v as f32 as f64,
        OutKind::F64 => v,
        // Integers are rounded to nearest (never truncated) into their range.
        OutKind::Int { min, max } => {
            let r = v.round();
            if r.is_nan() {
                0.0
            } else {
                r.clamp(min, max)
            }
        }
    }
}

/// What compression stores for one value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Code {
    /// Residual code.
    Q(i32),
    /// The value itself, stored exactly.
    Escape,
}

/// Picks the code for `x` (the exact original value) given `x_hat`.
pub fn encode(x: f64, x_hat: f32, bound: &Bound, kind: OutKind) -> Code {
    let tol = bound.tolerance(x);
    let fits = |q: i32| (reconstruct(x_hat, q, Some(bound), kind) - x).abs() <= tol;
    if !x.is_finite() {
        return Code::Escape;
    }
    if fits(0) {
        return Code::Q(0);
    }
    let xh = x_hat as f64;
    let found = match bound.grid(xh) {
        Grid::Linear(s) if s.is_finite() && s > 0.0 => {
            let lo = ((x - tol - xh) / s).ceil();
            let hi = ((x + tol - xh) / s).floor();
            let nearest_zero = if lo > 0.0 {
                lo
            } else if hi < 0.0 {
                hi
            } else {
                0.0
            };
            [nearest_zero, ((x - xh) / s).round()]
                .into_iter()
                .filter(|q| q.abs() <= i32::MAX as f64)
                .map(|q| q as i32)
                .find(|&q| fits(q))
        }
        Grid::Linear(_) => None,
        Grid::Log(g) if xh != 0.0 && x != 0.0 && xh.is_finite() => {
            let flip = (x < 0.0) != (xh < 0.0);
            let k = ((x / xh).abs().ln() / g.ln()).round();
            let mut ks = [k - 1.0, k, k + 1.0];
            ks.sort_by(|a, b| a.abs().total_cmp(&b.abs()));
            ks.into_iter()
                .filter(|k| k.abs() < MAX_LOG_CODE as f64)
                .map(|k| if flip { k as i32 + FLIP } else { k as i32 })
                .find(|&q| q != 0 && fits(q))
        }
        Grid::Log(_) => None,
    };
    match found {
        Some(q) => Code::Q(q),
        None if x == 0.0 && fits(ZERO) => Code::Q(ZERO),
        None => Code::Escape,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_merges_bounds() {
        let b: Bound = "abs:1e-3,rel:0.01".parse().unwrap();
        assert_eq!(
            b,
            Bound {
                abs: Some(1e-3),
                rel: Some(0.01)
            }
        );
        let m = b.merge("abs:1e-4".parse().unwrap());
        assert_eq!(m.abs, Some(1e-4));
        assert_eq!(m.rel, Some(0.01));
        assert!("abs".parse::<Bound>().is_err());
        assert!("abz:1".parse::<Bound>().is_err());
        assert!("rel:2".parse::<Bound>().unwrap().validate("pt").is_err());
        assert!("abs:0".parse::<Bound>().unwrap().validate("pt").is_err());
    }

    #[test]
    fn integers_round_to_nearest_not_truncate() {
        let k = OutKind::Int {
            min: i32::MIN as f64,
            max: i32::MAX as f64,
        };
        assert_eq!(reconstruct(2.7, 0, None, k), 3.0);
        assert_eq!(reconstruct(-2.7, 0, None, k), -3.0);
        assert_eq!(reconstruct(2.4, 0, None, k), 2.0);
        let u8k = OutKind::Int {
            min: 0.0,
            max: 255.0,
        };
        assert_eq!(reconstruct(-0.7, 0, None, u8k), 0.0);
        assert_eq!(reconstruct(300.0, 0, None, u8k), 255.0);
    }

    /// Every value of a sweep meets its bound after reconstruction.
    #[test]
    fn codes_meet_bounds_on_every_value() {
        let bounds = [
            Bound {
                abs: Some(1e-3),
                rel: None,
            },
            Bound {
                abs: None,
                rel: Some(1e-3),
            },
            Bound {
                abs: Some(0.5),
                rel: Some(1e-2),
            },
            Bound {
                abs: Some(1e-9),
                rel: None,
            },
        ];
        for (k, b) in bounds.iter().enumerate() {
            let mut escapes = 0;
            let mut total = 0;
            for kind in [OutKind::F32, OutKind::F64] {
                for i in 0..20_000 {
                    // Values over many magnitudes, signs and a poor predictor.
                    let x = ((i as f64 * 0.7371).sin() * 10f64.powi(i % 7 - 2)) as f32 as f64;
                    let x_hat = (x * (1.0 + 0.3 * (i as f64 * 1.3).cos()) + 0.01) as f32;
                    total += 1;
                    match encode(x, x_hat, b, kind) {
                        Code::Q(q) => {
                            let r = reconstruct(x_hat, q, Some(b), kind);
                            assert!(
                                (r - x).abs() <= b.tolerance(x),
                                "x {x} x_hat {x_hat} q {q} -> {r} violates {b:?}"
                            );
                        }
                        Code::Escape => escapes += 1,
                    }
                }
            }
            // Escapes are the exception (values near zero under a rel bound),
            // except where codes would pass 2^31 steps (abs 1e-9 on values up to 1e4).
            if k < 3 {
                assert!(escapes * 20 < total, "{b:?}: {escapes} escapes of {total}");
            }
        }
    }

    #[test]
    fn values_already_within_bound_get_code_zero_and_nan_escapes() {
        let b = Bound {
            abs: Some(0.1),
            rel: None,
        };
        assert_eq!(encode(1.0, 1.05, &b, OutKind::F32), Code::Q(0));
        assert_eq!(encode(f64::NAN, 1.0, &b, OutKind::F32), Code::Escape);
        let r = Bound {
            abs: None,
            rel: Some(1e-3),
        };
        // A relative bound at x = 0 allows only 0 itself: the zero code.
        assert_eq!(encode(0.0, 0.3, &r, OutKind::F32), Code::Q(ZERO));
        assert_eq!(reconstruct(0.3, ZERO, Some(&r), OutKind::F32), 0.0);
        assert_eq!(encode(0.0, 0.0, &r, OutKind::F32), Code::Q(0));
    }

    /// Under a relative bound every non-zero finite value gets a code, however
    /// poor the prediction (wrong sign and orders of magnitude included), and
    /// the codes stay small when the prediction is good.
    #[test]
    fn relative_bound_log_grid_never_escapes() {
        for rel in [1e-2, 1e-3, 1e-5] {
            let b = Bound {
                abs: None,
                rel: Some(rel),
            };
            for kind in [OutKind::F32, OutKind::F64] {
                for i in 0..20_000 {
                    let x = ((i as f64 * 0.7371).sin() * 10f64.powi(i % 9 - 3)) as f32 as f64;
                    let x_hat = match i % 4 {
                        0 => (x * 1.004) as f32,
                        1 => (-x * 3.0) as f32,
                        2 => (x * 1e-4 + 1e-9) as f32,
                        _ => 1.0,
                    };
                    let q = match encode(x, x_hat, &b, kind) {
                        Code::Q(q) => q,
                        Code::Escape => panic!("escape for x {x}, x_hat {x_hat}, rel {rel}"),
                    };
                    let r = reconstruct(x_hat, q, Some(&b), kind);
                    assert!(
                        (r - x).abs() <= rel * x.abs(),
                        "x {x} x_hat {x_hat} q {q} -> {r}"
                    );
                    if i % 4 == 0 && rel >= 1e-3 {
                        assert!(q.abs() <= 2, "0.4% off at rel {rel} took code {q}");
                    }
                }
            }
        }
        // Sign flips are codes near FLIP, not escapes.
        let b = Bound {
            abs: None,
            rel: Some(1e-2),
        };
        let Code::Q(q) = encode(5.0, -5.0, &b, OutKind::F32) else {
            panic!("escape")
        };
        assert_eq!(q, FLIP);
        assert_eq!(pow_int(1.5, 3), 3.375);
        assert_eq!(pow_int(2.0, -2), 0.25);
    }
}
