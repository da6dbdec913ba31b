//! Events-layout columns <-> the generator's feature vector, and the
//! physical decoding of a generated vector.
//!
//! Per event: log MET, cos and sin of METphi, the object count of each type
//! (capped at its slots), then per slot: log pT for the leading object of a
//! type and the log-pT gap to the one before for the others, atanh(eta /
//! acceptance), cos phi, sin phi, log(1 + m) and, for leptons, the charge.
//! Absent slots are zeros. Decoding fills only the slots of present objects,
//! and these hold by construction: MET = exp(f) > 0; pT = exp(f) > 0 and
//! descending within a type (each gap is |f| >= 0); |eta| = acceptance *
//! |tanh f| below the acceptance; phi = atan2 in (-pi, pi]; E =
//! sqrt((pT cosh eta)^2 + m^2) >= pT cosh eta with m >= 0. Only an object
//! count outside [0, slots] is repaired (clamped).

use crate::error::{GenerateError, Result};
use arrow_array::RecordBatch;
use hepae_darkmachines::{Event, Object, ObjectType, Slots, OBJECT_TYPES};

/// Quantities of one object slot in the feature vector.
const SLOT_FEATURES: [&str; 5] = ["logpt", "atanh_eta", "cosphi", "sinphi", "logm"];

/// MET and pT below this (GeV) are taken as this in logs.
const FLOOR: f64 = 1e-3;

/// The feature layout of one generator.
#[derive(Debug, Clone)]
pub struct FeatureSpace {
    /// Slots modelled per type.
    pub slots: Slots,
    /// log(E, pT, MET) or raw values.
    pub log: bool,
    /// |eta| acceptance per type (from the training events, just above
    /// their largest |eta|).
    pub eta_max: [f64; 5],
    /// Feature names, in order.
    pub names: Vec<String>,
}

/// Why a generated event was repaired.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Repairs {
    /// An object count outside [0, slots] (rounded then clamped).
    pub count: bool,
    /// |eta| beyond the acceptance (clamped).
    pub eta: bool,
    /// Objects of one type not in descending pT (sorted).
    pub order: bool,
    /// A non-positive pT or MET (raw features only; set to its minimum).
    pub positive: bool,
}

impl Repairs {
    /// Whether anything was repaired.
    pub fn any(&self) -> bool {
        self.count || self.eta || self.order || self.positive
    }
}

/// A column of the events layout as f64 (counts and charges included).
pub(crate) fn column(batch: &RecordBatch, name: &str) -> Result<Vec<f64>> {
    let col = batch
        .column_by_name(name)
        .ok_or_else(|| GenerateError::Input(format!("the events table has no column '{name}'")))?;
    hepae_table::numeric_f64(col)
        .ok_or_else(|| GenerateError::Input(format!("column '{name}' is not numeric")))
}

fn log_or(log: bool, x: f64) -> f64 {
    if log {
        x.ln_1p()
    } else {
        x
    }
}

impl FeatureSpace {
    /// The layout for `slots`; `eta_max` bounds |eta| per type.
    pub fn new(slots: Slots, log: bool, eta_max: [f64; 5]) -> FeatureSpace {
        let mut names = vec![
            "log_MET".to_string(),
            "cos_METphi".into(),
            "sin_METphi".into(),
        ];
        // Raw features keep the pT order by gaps too, but in GeV.
        if !log {
            names[0] = "MET".into();
        }
        for t in OBJECT_TYPES.into_iter().filter(|t| slots.of(*t) > 0) {
            names.push(format!("n_{}", t.plural()));
        }
        for t in OBJECT_TYPES {
            for i in 1..=slots.of(t) {
                for q in SLOT_FEATURES {
                    let q = if i > 1 && q == "logpt" {
                        "logpt_gap"
                    } else {
                        q
                    };
                    let q = if log {
                        q.to_string()
                    } else {
                        q.replace("log", "")
                    };
                    names.push(format!("{}{i}_{q}", t.prefix()));
                }
                if t.charged() {
                    names.push(format!("{}{i}_charge", t.prefix()));
                }
            }
        }
        FeatureSpace {
            slots,
            log,
            eta_max,
            names,
        }
    }

    /// Number of features.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when there are none (never: MET is always modelled).
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The features of every event of an events-layout table, row-major.
    pub fn encode(&self, batch: &RecordBatch) -> Result<Vec<f32>> {
        let rows = batch.num_rows();
        let n = self.len();
        let mut out = vec![0f32; rows * n];
        let met = column(batch, "MET")?;
        let met_phi = column(batch, "METphi")?;
        for r in 0..rows {
            out[r * n] = if self.log {
                met[r].max(FLOOR).ln()
            } else {
                met[r]
            } as f32;
            out[r * n + 1] = met_phi[r].cos() as f32;
            out[r * n + 2] = met_phi[r].sin() as f32;
        }
        let mut j = 3;
        let mut counts = Vec::new();
        for t in OBJECT_TYPES.into_iter().filter(|t| self.slots.of(*t) > 0) {
            let c = column(batch, &format!("n_{}", t.plural()))?;
            let cap = self.slots.of(t) as f64;
            for r in 0..rows {
                out[r * n + j] = c[r].min(cap) as f32;
            }
            counts.push((t, c));
            j += 1;
        }
        for (t, c) in &counts {
            let lim = self.eta_max[t.index()];
            let mut prev = vec![0f64; rows];
            for i in 1..=self.slots.of(*t) {
                let q = |name: &str| column(batch, &format!("{}{i}_{name}", t.prefix()));
                let (e, pt, eta, phi) = (q("E")?, q("pt")?, q("eta")?, q("phi")?);
                let charge = if t.charged() {
                    Some(q("charge")?)
                } else {
                    None
                };
                for r in 0..rows {
                    if c[r] < i as f64 {
                        continue;
                    }
                    let p = pt[r] * eta[r].cosh();
                    let m = (e[r] * e[r] - p * p).max(0.0).sqrt();
                    let base = r * n + j;
                    let lp = if self.log {
                        pt[r].max(FLOOR).ln()
                    } else {
                        pt[r]
                    };
                    // The leading object's log pT, then the gap below the previous one.
                    let pt_f = if i == 1 { lp } else { prev[r] - lp };
                    prev[r] = lp;
                    let eta_f = (eta[r] / lim).clamp(-0.999_999, 0.999_999).atanh();
                    let v = [pt_f, eta_f, phi[r].cos(), phi[r].sin(), log_or(self.log, m)];
                    for (k, x) in v.into_iter().enumerate() {
                        out[base + k] = x as f32;
                    }
                    if let Some(ch) = &charge {
                        out[base + 5] = ch[r].signum() as f32;
                    }
                }
                j += 5 + t.charged() as usize;
            }
        }
        Ok(out)
    }

    /// One generated feature vector as a physical event (in GeV), and what
    /// had to be repaired.
    pub fn decode(&self, f: &[f32], id: i64, process: &str, weight: f64) -> (Event, Repairs) {
        let mut rep = Repairs::default();
        let g = |k: usize| f[k] as f64;
        let met = if self.log {
            g(0).exp()
        } else {
            rep.positive |= g(0) < 0.0;
            g(0).max(0.0)
        };
        let mut event = Event {
            id,
            process: process.to_string(),
            weight,
            met,
            met_phi: wrap_phi(g(2).atan2(g(1))),
            objects: Vec::new(),
        };
        let mut j = 3;
        let mut counts = [0usize; 5];
        for t in OBJECT_TYPES.into_iter().filter(|t| self.slots.of(*t) > 0) {
            let cap = self.slots.of(t);
            let x = g(j).round();
            rep.count |= x < 0.0 || x > cap as f64;
            counts[t.index()] = x.clamp(0.0, cap as f64) as usize;
            j += 1;
        }
        for t in OBJECT_TYPES {
            let mut objs: Vec<Object> = Vec::new();
            for i in 0..self.slots.of(t) {
                let width = 5 + t.charged() as usize;
                if i < counts[t.index()] {
                    let prev = objs.last().map(|o| o.pt);
                    objs.push(self.decode_object(t, &f[j..j + width], prev, &mut rep));
                }
                j += width;
            }
            if objs.windows(2).any(|w| w[0].pt < w[1].pt) {
                rep.order = true;
                objs.sort_by(|a, b| b.pt.total_cmp(&a.pt));
            }
            event.objects.extend(objs);
        }
        (event, rep)
    }

    /// One object; `prev` is the pT of the object of its type before it.
    fn decode_object(
        &self,
        kind: ObjectType,
        f: &[f32],
        prev: Option<f64>,
        rep: &mut Repairs,
    ) -> Object {
        let g = |k: usize| f[k] as f64;
        let pt = match (self.log, prev) {
            (true, None) => g(0).exp(),
            (true, Some(p)) => p * (-g(0).abs()).exp(),
            (false, None) => {
                rep.positive |= g(0) <= 0.0;
                g(0).max(FLOOR)
            }
            (false, Some(p)) => {
                rep.positive |= g(0) >= p;
                (p - g(0).abs()).max(FLOOR)
            }
        };
        let lim = self.eta_max[kind.index()];
        let eta = lim * g(1).tanh();
        rep.eta |= eta.abs() >= lim;
        let m = if self.log {
            g(4).max(0.0).exp_m1()
        } else {
            g(4).max(0.0)
        };
        let p = pt * eta.cosh();
        Object {
            kind,
            charge: if kind.charged() {
                if g(5) < 0.0 {
                    -1
                } else {
                    1
                }
            } else {
                0
            },
            e: (p * p + m * m).sqrt(),
            pt,
            eta,
            phi: wrap_phi(g(3).atan2(g(2))),
        }
    }
}

/// phi in (-pi, pi].
pub fn wrap_phi(phi: f64) -> f64 {
    let two_pi = 2.0 * std::f64::consts::PI;
    let mut p = phi % two_pi;
    if p > std::f64::consts::PI {
        p -= two_pi;
    }
    if p <= -std::f64::consts::PI {
        p += two_pi;
    }
    p
}

/// Largest |eta| per type among the present objects of `batch` (the
/// detector acceptance the generator must respect), for the given slots.
pub fn eta_acceptance(batch: &RecordBatch, slots: &Slots) -> Result<[f64; 5]> {
    let mut lim = [0.0f64; 5];
    for t in OBJECT_TYPES {
        if slots.of(t) == 0 {
            continue;
        }
        let c = column(batch, &format!("n_{}", t.plural()))?;
        for i in 1..=slots.of(t) {
            let eta = column(batch, &format!("{}{i}_eta", t.prefix()))?;
            for (r, e) in eta.iter().enumerate() {
                if c[r] >= i as f64 {
                    lim[t.index()] = lim[t.index()].max(e.abs());
                }
            }
        }
        // Just above the largest |eta| seen, so that atanh(eta / lim) is finite.
        lim[t.index()] = if lim[t.index()] == 0.0 {
            5.0
        } else {
            lim[t.index()] * 1.001
        };
    }
    Ok(lim)
}
