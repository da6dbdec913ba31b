//! Whether the events of a table are possible events.

use crate::error::Result;
use crate::features::column;
use arrow_array::RecordBatch;
use hepae_darkmachines::{Slots, OBJECT_TYPES};

/// Relative slack of the E >= pT cosh(eta) check (float32 storage).
const MASSLESS_SLACK: f64 = 1e-5;

/// Events that violate a constraint: a count outside [0, slots] or not an
/// integer, a present object with pT <= 0, |eta| beyond `eta_max`, phi
/// outside [-pi, pi], E < pT cosh(eta), objects of a type not in descending
/// pT, or MET < 0.
pub fn unphysical_events(batch: &RecordBatch, slots: &Slots, eta_max: &[f64; 5]) -> Result<usize> {
    let rows = batch.num_rows();
    let mut bad = vec![false; rows];
    let met = column(batch, "MET")?;
    for r in 0..rows {
        bad[r] |= met[r] < 0.0;
    }
    let pi = std::f64::consts::PI + 1e-6;
    for t in OBJECT_TYPES.into_iter().filter(|t| slots.of(*t) > 0) {
        let n = column(batch, &format!("n_{}", t.plural()))?;
        let cap = slots.of(t) as f64;
        let mut prev = vec![f64::INFINITY; rows];
        for i in 1..=slots.of(t) {
            let q = |name: &str| column(batch, &format!("{}{i}_{name}", t.prefix()));
            let (e, pt, eta, phi) = (q("E")?, q("pt")?, q("eta")?, q("phi")?);
            for r in 0..rows {
                let count = n[r].min(cap);
                bad[r] |= count < 0.0 || count.fract() != 0.0;
                if count < i as f64 {
                    continue;
                }
                let massless = pt[r] * eta[r].cosh();
                bad[r] |= pt[r] <= 0.0
                    || eta[r].abs() > eta_max[t.index()] + 1e-6
                    || phi[r].abs() > pi
                    || e[r] < massless * (1.0 - MASSLESS_SLACK)
                    || pt[r] > prev[r];
                prev[r] = pt[r];
            }
        }
    }
    Ok(bad.iter().filter(|b| **b).count())
}
