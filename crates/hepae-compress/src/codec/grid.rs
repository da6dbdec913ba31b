//! Prediction-independent integer grids of bounded columns.
//!
//! Every value becomes an integer code on a grid fixed by its column's bound
//! alone, so predictions work on codes that are known before any predictor
//! is chosen, and decoding is exact integer arithmetic plus a few IEEE
//! operations in a fixed order (no libm): the same on every machine.
//! - absolute bound: `x' = q * step`;
//! - relative bound: a sign (zero, positive, negative) and `x' = 2^(j / k)`,
//!   `k` grid points per octave;
//! - integers: the value itself.
//!
//! A value no code restores within its bound (NaN, Inf, float32 rounding at
//! an edge, exponents out of range) is stored exactly as an escape.

use crate::quant::Bound;
use serde::{Deserialize, Serialize};

/// The grid of one coded column.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Grid {
    /// Exact integers.
    Int,
    /// `x' = q * step`.
    Abs {
        /// Grid spacing (a little under twice the absolute bound).
        step: f64,
    },
    /// `x' = sign * 2^(j / k)`.
    Rel {
        /// Grid points per octave.
        k: u32,
    },
}

/// Kind of a value on a relative grid.
pub const ZERO: u8 = 0;
/// A positive value.
pub const POS: u8 = 1;
/// A negative value.
pub const NEG: u8 = 2;

/// One quantised value: its kind (relative grids) and code.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Code {
    /// [`ZERO`], [`POS`] or [`NEG`]; always [`POS`] off relative grids.
    pub kind: u8,
    /// Integer code (unused for zeros).
    pub code: i64,
}

impl Grid {
    /// The grid a bound implies; a column with both bounds uses the
    /// relative grid, and values that break the absolute one escape.
    pub fn for_bound(b: &Bound) -> Grid {
        match b.rel {
            Some(r) => {
                // Neighbouring points 2^(1/k) apart keep the worst relative
                // error sqrt(2^(1/k)) - 1 just under r.
                let k = (std::f64::consts::LN_2 / (2.0 * (1.0 + r * 0.999).ln())).ceil();
                Grid::Rel {
                    k: k.clamp(1.0, 1e7) as u32,
                }
            }
            None => Grid::Abs {
                step: 2.0 * b.abs.unwrap_or(1.0) * (1.0 - 1.0 / 1024.0),
            },
        }
    }

    /// The value of a code, as the decoder computes it (before the output cast).
    pub fn value(&self, c: Code) -> f64 {
        match *self {
            Grid::Int => c.code as f64,
            Grid::Abs { step } => c.code as f64 * step,
            Grid::Rel { k } => match c.kind {
                ZERO => 0.0,
                NEG => -exp2_code(c.code, k),
                _ => exp2_code(c.code, k),
            },
        }
    }

    /// The code whose value (cast by `cast`) meets `bound` at `x`, or `None`
    /// (an escape).
    pub fn quantise(&self, x: f64, bound: &Bound, cast: impl Fn(f64) -> f64) -> Option<Code> {
        if !x.is_finite() {
            return None;
        }
        let ok = |c: Code| {
            let v = cast(self.value(c));
            v.is_finite() && (v - x).abs() <= bound.tolerance(x)
        };
        let try_codes = |kind: u8, q: f64| {
            if q.is_nan() || q.abs() >= 4e15 {
                return None;
            }
            let q = q as i64;
            [q, q - 1, q + 1]
                .into_iter()
                .map(|code| Code { kind, code })
                .find(|&c| ok(c))
        };
        match *self {
            Grid::Int => None,
            Grid::Abs { step } => try_codes(POS, round(x / step)),
            Grid::Rel { k } => {
                if x == 0.0 {
                    return Some(Code {
                        kind: ZERO,
                        code: 0,
                    });
                }
                let kind = if x > 0.0 { POS } else { NEG };
                try_codes(kind, round(x.abs().log2() * k as f64))
            }
        }
    }

    /// The predicted code of a predicted value `v` (deterministic: no libm),
    /// `fallback` when `v` says nothing (not finite, or zero on a log grid).
    pub fn predict(&self, v: f64, fallback: i64) -> i64 {
        if !v.is_finite() {
            return fallback;
        }
        let q = match *self {
            Grid::Int => round(v),
            Grid::Abs { step } => round(v / step),
            Grid::Rel { k } => {
                if v == 0.0 {
                    return fallback;
                }
                log2_code(v.abs(), k)
            }
        };
        code_or(q, fallback)
    }
}

/// `round(log2_det(x) * k)` for a positive finite `x`. libm's log2 (within
/// a few ulp, far below the margin) settles it unless its product lies
/// within 1e-4 of a rounding edge; only then is the exact series needed.
/// The result is the series' on every platform, at a fraction of its cost.
fn log2_code(x: f64, k: u32) -> f64 {
    let q = x.log2() * k as f64;
    if q.abs() < 1e12 {
        let d = q - q as i64 as f64;
        if (d.abs() - 0.5).abs() > 1e-4 {
            return round(q);
        }
    }
    round(log2_det(x) * k as f64)
}

/// `q.round()` (halves away from zero) without the libm call on the hot
/// path: the fraction `q - trunc(q)` is exact below 2^52. A zero may lose
/// its sign, which no code sees.
#[inline]
pub fn round(q: f64) -> f64 {
    if q.abs() < 4.5e15 {
        let t = q as i64 as f64;
        let d = q - t;
        if d >= 0.5 {
            t + 1.0
        } else if d <= -0.5 {
            t - 1.0
        } else {
            t
        }
    } else {
        q.round()
    }
}

/// `q` as a code when it is one (finite, within +-4e15), else `fallback`.
pub fn code_or(q: f64, fallback: i64) -> i64 {
    if q.abs() < 4e15 {
        q as i64
    } else {
        fallback
    }
}

/// `2^(j / k)` with IEEE operations only: the fraction by a fixed Taylor
/// series of e^u, the octave by an exact power of two. The fractions of
/// the last `k` used are kept per thread (the same numbers, computed once).
pub fn exp2_code(j: i64, k: u32) -> f64 {
    use std::cell::RefCell;
    thread_local! {
        static OCTAVE: RefCell<(u32, Vec<f64>)> = const { RefCell::new((0, Vec::new())) };
    }
    let kk = k as i64;
    let (e, f) = (j.div_euclid(kk), j.rem_euclid(kk));
    if !(-1022..=1023).contains(&e) {
        return f64::NAN;
    }
    let s = OCTAVE.with(|t| {
        let mut t = t.borrow_mut();
        if t.0 != k {
            *t = (k, (0..kk).map(|f| octave_fraction(f, kk)).collect());
        }
        t.1[f as usize]
    });
    s * f64::from_bits(((e + 1023) as u64) << 52)
}

/// `2^(f / k)` for `0 <= f < k`: e^u on [0, ln 2) by 17 Taylor terms
/// (error near 1e-16).
fn octave_fraction(f: i64, k: i64) -> f64 {
    let u = (f as f64 / k as f64) * std::f64::consts::LN_2;
    let mut s = 1.0;
    for n in (1..=17).rev() {
        s = 1.0 + s * u / n as f64;
    }
    s
}

/// 1 / (2n + 1) for n = 0..12: IEEE division is correctly rounded, so
/// these are the values the series divided out per call before.
const ODD_RECIPROCALS: [f64; 12] = {
    let mut r = [0.0; 12];
    let mut n = 0;
    while n < 12 {
        r[n] = 1.0 / (2 * n + 1) as f64;
        n += 1;
    }
    r
};

/// log2 of a positive finite `x` with IEEE operations only (exponent bits,
/// then the atanh series of the mantissa), for predictions both sides make.
pub fn log2_det(x: f64) -> f64 {
    let bits = x.to_bits();
    let mut e = ((bits >> 52) & 0x7ff) as i64;
    let mut m = f64::from_bits((bits & ((1u64 << 52) - 1)) | (1023u64 << 52));
    if e == 0 {
        // Subnormal: scale into the normal range first.
        return log2_det(x * f64::from_bits((1023u64 + 64) << 52)) - 64.0;
    }
    e -= 1023;
    if m > std::f64::consts::SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut t = 0.0;
    for r in ODD_RECIPROCALS.iter().rev() {
        t = r + s2 * t;
    }
    e as f64 + 2.0 * s * t / std::f64::consts::LN_2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_exp2_and_log2_match_libm() {
        for j in -2000..2000 {
            let want = 2f64.powf(j as f64 / 35.0);
            let got = exp2_code(j, 35);
            assert!((got / want - 1.0).abs() < 1e-14, "{j}: {got} vs {want}");
        }
        for x in [1e-300, 1e-5, 0.3, 1.0, 1.4, 2.0, 7.5, 1e10, 3e300] {
            assert!((log2_det(x) - x.log2()).abs() < 1e-12, "{x}");
        }
        // The fast path agrees with the series, edges included.
        let mut x = 1e-6;
        while x < 1e7 {
            for k in [35, 347, 3466] {
                assert_eq!(log2_code(x, k), (log2_det(x) * k as f64).round(), "{x} {k}");
                let edge = 2f64.powf(((log2_det(x) * k as f64).floor() + 0.5) / k as f64);
                assert_eq!(
                    log2_code(edge, k),
                    (log2_det(edge) * k as f64).round(),
                    "{edge} {k}"
                );
            }
            x *= 1.0007;
        }
    }

    #[test]
    fn fast_round_is_rounding_half_away_from_zero() {
        let mut x = -3e6;
        while x < 3e6 {
            for q in [x, x + 0.5, x - 0.5, x + 0.4999999999999999, -x - 0.5] {
                assert_eq!(round(q), q.round(), "{q}");
            }
            x += 0.37 + x.abs() * 1e-3;
        }
        for q in [
            4.4e15 + 0.5,
            5e15,
            -9e18,
            1e300,
            f64::INFINITY,
            0.49999999999999994,
        ] {
            assert_eq!(round(q), q.round(), "{q}");
        }
        assert!(round(f64::NAN).is_nan());
    }

    #[test]
    fn relative_grid_meets_the_bound_within_one_step() {
        let b = Bound {
            abs: None,
            rel: Some(1e-2),
        };
        let g = Grid::for_bound(&b);
        assert_eq!(g, Grid::Rel { k: 35 });
        let mut misses = 0;
        for i in 0..100_000 {
            let x = (i as f64 * 0.7311).sin() * 1e3;
            match g.quantise(x, &b, |v| v as f32 as f64) {
                Some(c) => {
                    let v = g.value(c) as f32 as f64;
                    assert!((v - x).abs() <= 1e-2 * x.abs(), "{x} -> {v}");
                }
                None => misses += 1,
            }
        }
        assert_eq!(misses, 0);
        assert_eq!(g.quantise(f64::NAN, &b, |v| v), None);
    }
}
