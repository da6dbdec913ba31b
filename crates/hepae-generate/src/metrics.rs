//! Physics observables of an events table and the distances between two
//! samples of them: 1-D Wasserstein, Kolmogorov-Smirnov, histogram
//! chi2/ndf, and the Frobenius norm of the correlation-matrix difference.

use crate::error::Result;
use crate::features::column;
use arrow_array::RecordBatch;
use hepae_darkmachines::{ObjectType, Slots, OBJECT_TYPES};
use serde::Serialize;

/// One observable per event (NaN where it is undefined, e.g. the second jet
/// of a one-jet event).
#[derive(Debug, Clone)]
pub struct Observable {
    /// Name (`jet1_pt`, `MET`, `m_jj`, ...).
    pub name: String,
    /// Axis label with units.
    pub label: String,
    /// Integer-valued (binned at integers).
    pub discrete: bool,
    /// One value per event.
    pub values: Vec<f64>,
}

struct Slot {
    pt: Vec<f64>,
    eta: Vec<f64>,
    phi: Vec<f64>,
    e: Vec<f64>,
}

fn slot(batch: &RecordBatch, t: ObjectType, i: usize) -> Result<Slot> {
    let q = |n: &str| column(batch, &format!("{}{i}_{n}", t.prefix()));
    Ok(Slot {
        pt: q("pt")?,
        eta: q("eta")?,
        phi: q("phi")?,
        e: q("E")?,
    })
}

/// The observables for the types the generator models: counts,
/// leading and second object pT, eta, phi, E per type, MET, HT (scalar sum
/// of jet and b-jet pT), and m and delta-R of the two leading jets (jets and
/// b-jets together). Counts are capped at the slots, as generated.
pub fn observables(batch: &RecordBatch, slots: &Slots) -> Result<Vec<Observable>> {
    let rows = batch.num_rows();
    let mut out = Vec::new();
    let mut jets: Vec<Vec<(f64, f64, f64, f64)>> = vec![Vec::new(); rows];
    for t in OBJECT_TYPES.into_iter().filter(|t| slots.of(*t) > 0) {
        let cap = slots.of(t) as f64;
        let n: Vec<f64> = column(batch, &format!("n_{}", t.plural()))?
            .into_iter()
            .map(|c| c.min(cap))
            .collect();
        for i in 1..=slots.of(t) {
            let s = slot(batch, t, i)?;
            let present = |r: usize| n[r] >= i as f64;
            if t == ObjectType::Jet || t == ObjectType::BJet {
                for (r, j) in jets.iter_mut().enumerate().filter(|(r, _)| present(*r)) {
                    j.push((s.pt[r], s.eta[r], s.phi[r], s.e[r]));
                }
            }
            if i > 2 {
                continue;
            }
            for (q, v, unit) in [
                ("pt", &s.pt, " [GeV]"),
                ("eta", &s.eta, ""),
                ("phi", &s.phi, ""),
                ("E", &s.e, " [GeV]"),
            ] {
                let name = format!("{}{i}_{q}", t.prefix());
                out.push(Observable {
                    label: format!("{name}{unit}"),
                    name,
                    discrete: false,
                    values: (0..rows)
                        .map(|r| if present(r) { v[r] } else { f64::NAN })
                        .collect(),
                });
            }
        }
        out.insert(
            0,
            Observable {
                name: format!("n_{}", t.plural()),
                label: format!("number of {}", t.plural()),
                discrete: true,
                values: n,
            },
        );
    }
    let met = column(batch, "MET")?;
    out.push(Observable {
        name: "MET".into(),
        label: "MET [GeV]".into(),
        discrete: false,
        values: met,
    });
    out.extend(jet_observables(&mut jets));
    Ok(out)
}

fn jet_observables(jets: &mut [Vec<(f64, f64, f64, f64)>]) -> Vec<Observable> {
    let (mut ht, mut mjj, mut drjj) = (Vec::new(), Vec::new(), Vec::new());
    for j in jets.iter_mut() {
        j.sort_by(|a, b| b.0.total_cmp(&a.0));
        ht.push(j.iter().map(|o| o.0).sum());
        if j.len() < 2 {
            mjj.push(f64::NAN);
            drjj.push(f64::NAN);
            continue;
        }
        let p =
            |o: &(f64, f64, f64, f64)| [o.3, o.0 * o.2.cos(), o.0 * o.2.sin(), o.0 * o.1.sinh()];
        let (a, b) = (p(&j[0]), p(&j[1]));
        let s: Vec<f64> = (0..4).map(|k| a[k] + b[k]).collect();
        mjj.push(
            (s[0] * s[0] - s[1] * s[1] - s[2] * s[2] - s[3] * s[3])
                .max(0.0)
                .sqrt(),
        );
        let dphi = crate::features::wrap_phi(j[0].2 - j[1].2);
        drjj.push(((j[0].1 - j[1].1).powi(2) + dphi * dphi).sqrt());
    }
    let obs = |name: &str, label: &str, values| Observable {
        name: name.into(),
        label: label.into(),
        discrete: false,
        values,
    };
    vec![
        obs("HT", "HT [GeV]", ht),
        obs("m_jj", "m_jj of the two leading jets [GeV]", mjj),
        obs("dR_jj", "delta-R of the two leading jets", drjj),
    ]
}

/// Distances between a sample and the reference for one observable.
#[derive(Debug, Clone, Serialize)]
pub struct Distance {
    /// Observable.
    pub name: String,
    /// 1-D Wasserstein distance.
    pub wasserstein: f64,
    /// The same over the reference's standard deviation.
    pub wasserstein_over_std: f64,
    /// Kolmogorov-Smirnov statistic.
    pub ks: f64,
    /// Histogram chi2 / ndf.
    pub chi2_ndf: f64,
}

fn finite_sorted(v: &[f64]) -> Vec<f64> {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    s.sort_by(f64::total_cmp);
    s
}

/// W1 and KS of two sorted samples, walking their merged empirical CDFs.
pub fn wasserstein_ks(a: &[f64], b: &[f64]) -> (f64, f64) {
    if a.is_empty() || b.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j) = (0, 0);
    let (mut w, mut ks) = (0.0f64, 0.0f64);
    let mut x = a[0].min(b[0]);
    while i < a.len() || j < b.len() {
        let next = match (a.get(i), b.get(j)) {
            (Some(p), Some(q)) => p.min(*q),
            (Some(p), None) => *p,
            (None, Some(q)) => *q,
            (None, None) => break,
        };
        let d = (i as f64 / na - j as f64 / nb).abs();
        w += d * (next - x);
        x = next;
        while a.get(i) == Some(&next) {
            i += 1;
        }
        while b.get(j) == Some(&next) {
            j += 1;
        }
        ks = ks.max((i as f64 / na - j as f64 / nb).abs());
    }
    (w, ks)
}

/// Binning of an observable: integers for counts, else 40 bins over the
/// reference's 0.5-99.5% quantiles.
pub fn binning(o: &Observable, reference: &[f64]) -> (f64, f64, usize) {
    let s = finite_sorted(reference);
    if s.is_empty() {
        return (0.0, 1.0, 1);
    }
    if o.discrete {
        let hi = s[s.len() - 1].max(0.0);
        return (-0.5, hi + 0.5, hi as usize + 1);
    }
    let q = |p: f64| s[((s.len() - 1) as f64 * p) as usize];
    let (lo, hi) = (q(0.005), q(0.995));
    if hi > lo {
        (lo, hi, 40)
    } else {
        (lo - 0.5, lo + 0.5, 1)
    }
}

/// chi2/ndf of two histograms, each normalised to unit area.
pub fn chi2_ndf(a: &[f64], b: &[f64]) -> f64 {
    let (na, nb): (f64, f64) = (a.iter().sum(), b.iter().sum());
    if na == 0.0 || nb == 0.0 {
        return f64::NAN;
    }
    let (mut chi2, mut bins) = (0.0, 0usize);
    for (x, y) in a.iter().zip(b) {
        if x + y > 0.0 {
            chi2 += (x / na - y / nb).powi(2) / (x / (na * na) + y / (nb * nb));
            bins += 1;
        }
    }
    chi2 / (bins.max(2) - 1) as f64
}

/// Distances of `sample` to `reference` for one observable.
pub fn distance(o: &Observable, reference: &[f64], sample: &[f64]) -> Distance {
    let (a, b) = (finite_sorted(reference), finite_sorted(sample));
    let (w, ks) = wasserstein_ks(&a, &b);
    let mean = a.iter().sum::<f64>() / a.len().max(1) as f64;
    let std = (a.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / a.len().max(1) as f64).sqrt();
    let (lo, hi, bins) = binning(o, reference);
    let ha = hepae_plot::fill_folded(&a, lo, hi, bins);
    let hb = hepae_plot::fill_folded(&b, lo, hi, bins);
    Distance {
        name: o.name.clone(),
        wasserstein: w,
        wasserstein_over_std: if std > 0.0 { w / std } else { w },
        ks,
        chi2_ndf: chi2_ndf(&ha, &hb),
    }
}

/// Pearson correlation matrix of the observables (NaN counted as 0, the
/// events layout's padding), over the columns `keep`.
pub fn correlation(obs: &[Observable], keep: &[usize]) -> Vec<f64> {
    let rows = obs.first().map_or(0, |o| o.values.len());
    let val = |k: usize, r: usize| {
        let v = obs[k].values[r];
        if v.is_finite() {
            v
        } else {
            0.0
        }
    };
    let stats: Vec<(f64, f64)> = keep
        .iter()
        .map(|&k| {
            let m = (0..rows).map(|r| val(k, r)).sum::<f64>() / rows.max(1) as f64;
            let s = ((0..rows).map(|r| (val(k, r) - m).powi(2)).sum::<f64>() / rows.max(1) as f64)
                .sqrt();
            (m, s)
        })
        .collect();
    let n = keep.len();
    let mut c = vec![0f64; n * n];
    for a in 0..n {
        for b in 0..=a {
            let (ma, sa) = stats[a];
            let (mb, sb) = stats[b];
            let cov = (0..rows)
                .map(|r| (val(keep[a], r) - ma) * (val(keep[b], r) - mb))
                .sum::<f64>()
                / rows.max(1) as f64;
            let v = if sa > 0.0 && sb > 0.0 {
                cov / (sa * sb)
            } else {
                0.0
            };
            c[a * n + b] = v;
            c[b * n + a] = v;
        }
    }
    c
}

/// Frobenius norm of the difference of two matrices.
pub fn frobenius(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        .sqrt()
}

/// Columns with spread in the reference: the ones correlations are defined for.
pub fn varying(obs: &[Observable]) -> Vec<usize> {
    (0..obs.len())
        .filter(|&k| {
            let v: Vec<f64> = obs[k]
                .values
                .iter()
                .map(|x| if x.is_finite() { *x } else { 0.0 })
                .collect();
            v.iter().any(|x| *x != v[0])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wasserstein_of_a_shift_is_the_shift() {
        let a: Vec<f64> = (0..100).map(|i| i as f64).collect();
        let b: Vec<f64> = a.iter().map(|x| x + 2.5).collect();
        let (w, ks) = wasserstein_ks(&a, &b);
        assert!((w - 2.5).abs() < 1e-9, "{w}");
        assert!((ks - 0.03).abs() < 1e-9, "{ks}");
        assert_eq!(wasserstein_ks(&a, &a), (0.0, 0.0));
    }

    #[test]
    fn chi2_of_equal_shapes_is_zero() {
        assert_eq!(chi2_ndf(&[10.0, 20.0, 30.0], &[1.0, 2.0, 3.0]), 0.0);
        // One bin off by its own error in each sample: chi2 > 0.
        assert!(chi2_ndf(&[100.0, 100.0], &[150.0, 50.0]) > 5.0);
    }
}
