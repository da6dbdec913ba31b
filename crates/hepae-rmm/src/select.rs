//! Event selections of the search: conditions on object counts and
//! kinematics (`n_leptons >= 3`, `n_bjets >= 1`, `met > 50`,
//! `leading_jet_pt > 200`), evaluated on each event's objects before they
//! fill the matrix, with a cut flow per sample.

use crate::rmm::{invariant_mass, Object, ObjectType};
use serde::{Deserialize, Serialize};

/// An event quantity a condition can test (GeV for energies).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantity {
    /// Objects of one type.
    Count(ObjectType),
    /// Electrons plus muons.
    Leptons,
    /// Missing transverse energy.
    Met,
    /// Scalar sum of jet and b-jet pT.
    Ht,
    /// pT of the leading jet (jets and b-jets together).
    LeadingJetPt,
    /// Invariant mass of the two leading leptons (0 with fewer).
    Mll,
    /// Invariant mass of the three leading leptons (0 with fewer).
    Mlll,
}

/// The names conditions use, with their quantity.
pub const QUANTITIES: [(&str, Quantity); 11] = [
    ("n_jets", Quantity::Count(ObjectType::Jets)),
    ("n_bjets", Quantity::Count(ObjectType::Bjets)),
    ("n_electrons", Quantity::Count(ObjectType::Electrons)),
    ("n_muons", Quantity::Count(ObjectType::Muons)),
    ("n_photons", Quantity::Count(ObjectType::Photons)),
    ("n_leptons", Quantity::Leptons),
    ("met", Quantity::Met),
    ("ht", Quantity::Ht),
    ("leading_jet_pt", Quantity::LeadingJetPt),
    ("m_ll", Quantity::Mll),
    ("m_lll", Quantity::Mlll),
];

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Ge,
    Le,
    Gt,
    Lt,
    Eq,
    Ne,
}

/// One condition, e.g. `n_leptons >= 3`.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// As written.
    pub text: String,
    quantity: Quantity,
    op: Op,
    value: f64,
}

impl std::str::FromStr for Condition {
    type Err = String;
    fn from_str(s: &str) -> Result<Condition, String> {
        let ops = [
            (">=", Op::Ge),
            ("<=", Op::Le),
            ("==", Op::Eq),
            ("!=", Op::Ne),
            (">", Op::Gt),
            ("<", Op::Lt),
        ];
        let (name, op, value) = ops
            .iter()
            .find_map(|(t, op)| s.split_once(t).map(|(a, b)| (a.trim(), *op, b.trim())))
            .ok_or_else(|| {
                format!("'{s}': expected QUANTITY OP NUMBER with OP one of >=, <=, >, <, ==, !=")
            })?;
        let quantity = quantity_named(name).map_err(|e| format!("'{s}': {e}"))?;
        let value: f64 = value
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .ok_or_else(|| format!("'{s}': '{value}' is not a number"))?;
        Ok(Condition {
            text: s.trim().to_string(),
            quantity,
            op,
            value,
        })
    }
}

/// Parses the conditions of `key` (e.g. `rmm.selection`), naming the bad one.
pub fn parse_selection(
    key: &str,
    conditions: &[String],
    types: &[ObjectType],
) -> Result<Vec<Condition>, String> {
    conditions
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let cond: Condition = c.parse().map_err(|e| format!("{key}[{i}]: {e}"))?;
            check_types(cond.quantity, types).map_err(|e| format!("{key}[{i}]: '{c}' {e}"))?;
            Ok(cond)
        })
        .collect()
}

/// The quantity called `name`, or an error listing the known names.
fn quantity_named(name: &str) -> Result<Quantity, String> {
    QUANTITIES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, q)| *q)
        .ok_or_else(|| {
            let names: Vec<&str> = QUANTITIES.iter().map(|(n, _)| *n).collect();
            format!("unknown quantity '{name}' ({})", names.join(", "))
        })
}

/// An error when `q` reads an object type the matrix does not have.
fn check_types(q: Quantity, types: &[ObjectType]) -> Result<(), String> {
    match needs(q).into_iter().find(|t| !types.contains(t)) {
        Some(t) => Err(format!("needs {t:?} among the matrix types").to_lowercase()),
        None => Ok(()),
    }
}

/// Object types quantity `q` reads.
fn needs(q: Quantity) -> Vec<ObjectType> {
    match q {
        Quantity::Count(t) => vec![t],
        Quantity::Leptons | Quantity::Mll | Quantity::Mlll => {
            vec![ObjectType::Electrons, ObjectType::Muons]
        }
        Quantity::Ht | Quantity::LeadingJetPt => vec![ObjectType::Jets],
        Quantity::Met => vec![],
    }
}

/// Prefix of the table columns that carry event quantities beside the
/// matrix cells (`q_met`, `q_m_ll`, ...); they are not features.
pub const CARRIED_PREFIX: &str = "q_";

/// Parses the event quantities of `key` (e.g. `rmm.quantities`) to carry
/// beside the cells, naming a bad one: (column name, quantity).
pub fn parse_quantities(
    key: &str,
    names: &[String],
    types: &[ObjectType],
) -> Result<Vec<(String, Quantity)>, String> {
    names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let q = quantity_named(n).map_err(|e| format!("{key}[{i}]: {e}"))?;
            check_types(q, types).map_err(|e| format!("{key}[{i}]: '{n}' {e}"))?;
            Ok((format!("{CARRIED_PREFIX}{n}"), q))
        })
        .collect()
}

impl Condition {
    /// Whether an event passes.
    pub fn pass(&self, met: f64, objects: &[Vec<Object>], types: &[ObjectType]) -> bool {
        let x = quantity(self.quantity, met, objects, types);
        match self.op {
            Op::Ge => x >= self.value,
            Op::Le => x <= self.value,
            Op::Gt => x > self.value,
            Op::Lt => x < self.value,
            Op::Eq => x == self.value,
            Op::Ne => x != self.value,
        }
    }
}

fn of<'a>(t: ObjectType, objects: &'a [Vec<Object>], types: &[ObjectType]) -> &'a [Object] {
    types
        .iter()
        .position(|x| *x == t)
        .map_or(&[], |k| objects[k].as_slice())
}

/// The value of `q` for one event.
pub fn quantity(q: Quantity, met: f64, objects: &[Vec<Object>], types: &[ObjectType]) -> f64 {
    let jets = || {
        of(ObjectType::Jets, objects, types)
            .iter()
            .chain(of(ObjectType::Bjets, objects, types))
    };
    let leptons = || {
        let mut l: Vec<Object> = of(ObjectType::Electrons, objects, types)
            .iter()
            .chain(of(ObjectType::Muons, objects, types))
            .copied()
            .collect();
        l.sort_by(|a, b| b.pt.total_cmp(&a.pt));
        l
    };
    match q {
        Quantity::Count(t) => of(t, objects, types).len() as f64,
        Quantity::Leptons => leptons().len() as f64,
        Quantity::Met => met,
        Quantity::Ht => jets().map(|o| o.pt).sum(),
        Quantity::LeadingJetPt => jets().map(|o| o.pt).fold(0.0, f64::max),
        Quantity::Mll => {
            let l = leptons();
            if l.len() < 2 {
                0.0
            } else {
                invariant_mass(&l[..2])
            }
        }
        Quantity::Mlll => {
            let l = leptons();
            if l.len() < 3 {
                0.0
            } else {
                invariant_mass(&l[..3])
            }
        }
    }
}

/// Events of one sample after each condition, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CutFlow {
    /// Process label.
    pub process: String,
    /// Events read.
    pub events: u64,
    /// Their summed weight.
    pub weighted: f64,
    /// After each cut: (condition, events, summed weight).
    pub steps: Vec<(String, u64, f64)>,
}

impl CutFlow {
    /// An empty flow for `conditions`.
    pub fn new(process: &str, conditions: &[Condition]) -> CutFlow {
        CutFlow {
            process: process.into(),
            events: 0,
            weighted: 0.0,
            steps: conditions
                .iter()
                .map(|c| (c.text.clone(), 0, 0.0))
                .collect(),
        }
    }

    /// Counts one event; returns whether it passes every condition.
    pub fn count(
        &mut self,
        conditions: &[Condition],
        weight: f64,
        met: f64,
        objects: &[Vec<Object>],
        types: &[ObjectType],
    ) -> bool {
        self.events += 1;
        self.weighted += weight;
        for (k, c) in conditions.iter().enumerate() {
            if !c.pass(met, objects, types) {
                return false;
            }
            self.steps[k].1 += 1;
            self.steps[k].2 += weight;
        }
        true
    }
}

/// The cut flows as text: per sample, events (and weight) after each cut.
pub fn cut_flow_lines(flows: &[CutFlow]) -> Vec<String> {
    let mut out = Vec::new();
    for f in flows.iter().filter(|f| !f.steps.is_empty()) {
        out.push(format!(
            "cut flow {}: {} events (weight {:.4})",
            f.process, f.events, f.weighted
        ));
        for (cut, n, w) in &f.steps {
            out.push(format!("  {cut:<24} {n:>9} ({w:.4})"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(pt: f64, eta: f64, phi: f64) -> Object {
        Object {
            pt,
            eta,
            phi,
            mass: 0.0,
        }
    }

    #[test]
    fn conditions_parse_and_evaluate() {
        let types = [
            ObjectType::Jets,
            ObjectType::Bjets,
            ObjectType::Electrons,
            ObjectType::Muons,
        ];
        let objs = vec![
            vec![o(250.0, 0.0, 0.0), o(40.0, 1.0, 1.0)],
            vec![o(300.0, 0.5, 2.0)],
            vec![o(30.0, 0.0, 0.0)],
            vec![o(20.0, 0.0, std::f64::consts::PI)],
        ];
        let c = |s: &str| s.parse::<Condition>().unwrap();
        assert!(c("n_leptons >= 2").pass(60.0, &objs, &types));
        assert!(!c("n_leptons>=3").pass(60.0, &objs, &types));
        assert!(c("n_bjets == 1").pass(60.0, &objs, &types));
        assert!(
            c("met > 50").pass(60.0, &objs, &types) && !c("met > 60").pass(60.0, &objs, &types)
        );
        // The leading jet counts b-jets too; HT sums both.
        assert_eq!(quantity(Quantity::LeadingJetPt, 0.0, &objs, &types), 300.0);
        assert_eq!(quantity(Quantity::Ht, 0.0, &objs, &types), 590.0);
        // Two massless back-to-back leptons of 30 and 20 GeV: m = 2 sqrt(30 * 20).
        assert!((quantity(Quantity::Mll, 0.0, &objs, &types) - 2.0 * 600f64.sqrt()).abs() < 1e-9);
        assert_eq!(quantity(Quantity::Mlll, 0.0, &objs, &types), 0.0);
    }

    #[test]
    fn bad_conditions_name_the_key_and_the_problem() {
        let types = [ObjectType::Jets, ObjectType::Muons];
        let bad = |s: &str| {
            parse_selection("rmm.selection", &["met > 1".into(), s.into()], &types).unwrap_err()
        };
        assert!(bad("n_gluons > 2")
            .contains("rmm.selection[1]: 'n_gluons > 2': unknown quantity 'n_gluons'"));
        assert!(bad("met ~ 3").contains("expected QUANTITY OP NUMBER"));
        assert!(bad("met > lots").contains("'lots' is not a number"));
        assert!(bad("n_leptons >= 3").contains("needs electrons among the matrix types"));
        assert_eq!(
            parse_selection("k", &["n_muons >= 1".into()], &types)
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn the_cut_flow_counts_each_step() {
        let types = [ObjectType::Jets];
        let conds = parse_selection(
            "k",
            &["n_jets >= 1".into(), "leading_jet_pt > 100".into()],
            &types,
        )
        .unwrap();
        let mut flow = CutFlow::new("p", &conds);
        let events = [
            vec![vec![]],
            vec![vec![o(50.0, 0.0, 0.0)]],
            vec![vec![o(150.0, 0.0, 0.0)]],
        ];
        let passed: Vec<bool> = events
            .iter()
            .map(|e| flow.count(&conds, 2.0, 0.0, e, &types))
            .collect();
        assert_eq!(passed, [false, false, true]);
        assert_eq!((flow.events, flow.steps[0].1, flow.steps[1].1), (3, 2, 1));
        assert_eq!(flow.steps[1].2, 2.0);
    }
}
