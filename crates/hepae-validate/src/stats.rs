//! Box statistics as in the Baler thesis tables: quartiles, whiskers at
//! Q1 - 1.5 IQR and Q3 + 1.5 IQR, and the values outside them.

use serde::{Deserialize, Serialize};

/// Box statistics of one distribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoxStats {
    /// Values used.
    pub n: u64,
    /// Mean.
    pub mean: f64,
    /// Median.
    pub median: f64,
    /// First quartile.
    pub q1: f64,
    /// Third quartile.
    pub q3: f64,
    /// Lower whisker: Q1 - 1.5 IQR.
    pub whisker_lo: f64,
    /// Upper whisker: Q3 + 1.5 IQR.
    pub whisker_hi: f64,
    /// Values outside the whiskers.
    pub outliers: u64,
    /// Outliers as a percentage of `n`.
    pub outlier_pct: f64,
}

/// Quantile `p` of sorted values, linear interpolation between order
/// statistics (numpy's default, Hyndman-Fan type 7).
pub fn quantile_sorted(v: &[f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let h = (v.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(v.len() - 1);
    v[lo] + (h - lo as f64) * (v[hi] - v[lo])
}

/// Box statistics of `values` (sorted in place; NaN must have been removed).
pub fn box_stats(values: &mut [f64]) -> BoxStats {
    values.sort_unstable_by(|a, b| a.total_cmp(b));
    let n = values.len();
    let q1 = quantile_sorted(values, 0.25);
    let q3 = quantile_sorted(values, 0.75);
    let iqr = q3 - q1;
    let (lo, hi) = (q1 - 1.5 * iqr, q3 + 1.5 * iqr);
    let outliers = values.iter().filter(|v| **v < lo || **v > hi).count() as u64;
    BoxStats {
        n: n as u64,
        mean: values.iter().sum::<f64>() / n.max(1) as f64,
        median: quantile_sorted(values, 0.5),
        q1,
        q3,
        whisker_lo: lo,
        whisker_hi: hi,
        outliers,
        outlier_pct: if n > 0 {
            100.0 * outliers as f64 / n as f64
        } else {
            0.0
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_box() {
        // 1..=9 and 100: Q1 = 3.25, median 5.5, Q3 = 7.75 (type 7), IQR 4.5,
        // whiskers -3.5 and 14.5, one outlier (100), mean 14.5.
        let mut v: Vec<f64> = (1..=9).map(f64::from).chain([100.0]).collect();
        v.reverse();
        let b = box_stats(&mut v);
        assert_eq!(b.n, 10);
        assert_eq!(b.q1, 3.25);
        assert_eq!(b.median, 5.5);
        assert_eq!(b.q3, 7.75);
        assert_eq!(b.whisker_lo, -3.5);
        assert_eq!(b.whisker_hi, 14.5);
        assert_eq!(b.outliers, 1);
        assert_eq!(b.outlier_pct, 10.0);
        assert_eq!(b.mean, 14.5);
    }

    #[test]
    fn outliers_on_both_sides_and_constant_data() {
        // 0 x 8, -5, 5: Q1 = Q3 = 0, whiskers 0: two outliers.
        let mut v = vec![0.0; 8];
        v.extend([-5.0, 5.0]);
        let b = box_stats(&mut v);
        assert_eq!((b.q1, b.q3, b.outliers), (0.0, 0.0, 2));
        assert_eq!(b.outlier_pct, 20.0);
        let mut c = vec![2.0; 5];
        let b = box_stats(&mut c);
        assert_eq!((b.median, b.outliers), (2.0, 0));
    }
}
