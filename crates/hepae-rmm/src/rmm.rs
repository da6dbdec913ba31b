//! The Rapidity-Mass Matrix of one event (S. V. Chekanov, Map2RMM /
//! RMM4PYTHIA `projectevent`): a (1 + T*N) square matrix over MET and the N
//! leading objects of each of T types, all cells dimensionless.

use serde::{Deserialize, Serialize};

/// An object type of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectType {
    /// Jets (without the b-tagged ones when `bjets` is also a type).
    Jets,
    /// b-tagged jets.
    Bjets,
    /// Muons.
    Muons,
    /// Electrons.
    Electrons,
    /// Photons.
    Photons,
}

impl ObjectType {
    /// Short label used in column names (`j1`, `b2`, `mu1`, `e1`, `ph1`).
    pub fn label(self) -> &'static str {
        match self {
            ObjectType::Jets => "j",
            ObjectType::Bjets => "b",
            ObjectType::Muons => "mu",
            ObjectType::Electrons => "e",
            ObjectType::Photons => "ph",
        }
    }
}

/// How the lower triangle's rapidity term is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RapidityForm {
    /// C * (cosh(dy / 2) - 1), as in Chekanov's code (default).
    #[default]
    Code,
    /// C * (cosh(dy) - 1), as written in the Oslo thesis.
    Thesis,
}

/// Matrix layout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RmmConfig {
    /// Object types in matrix order (default T5: jets, b-jets, muons, electrons, photons).
    pub types: Vec<ObjectType>,
    /// Objects per type (default 10): one number for every type, or a map
    /// such as `{jets: 6, bjets: 6, electrons: 5, muons: 5}` (a type the map
    /// leaves out gets none).
    pub n: Multiplicity,
    /// Collision energy sqrt(s) in GeV.
    pub sqrt_s: f64,
    /// Lower-triangle rapidity form.
    pub rapidity: RapidityForm,
    /// Jet column that marks b-tagged jets (non-zero = tagged).
    pub btag_column: String,
    /// b-tag score above which a jet is a b-jet (e.g. 0.8 for a CSV or
    /// DeepJet working point); default: any non-zero value (a 0/1 flag).
    pub btag_threshold: Option<f64>,
}

impl RmmConfig {
    /// Whether a jet with b-tag value `v` is a b-jet.
    pub fn is_btagged(&self, v: f64) -> bool {
        match self.btag_threshold {
            Some(t) => v > t,
            None => v != 0.0,
        }
    }
}

impl Default for RmmConfig {
    fn default() -> Self {
        RmmConfig {
            types: vec![
                ObjectType::Jets,
                ObjectType::Bjets,
                ObjectType::Muons,
                ObjectType::Electrons,
                ObjectType::Photons,
            ],
            n: Multiplicity::All(10),
            sqrt_s: 13_000.0,
            rapidity: RapidityForm::Code,
            btag_column: "btag".into(),
            btag_threshold: None,
        }
    }
}

/// Objects per type in the matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Multiplicity {
    /// The same number for every type.
    All(usize),
    /// Per type (missing types: 0).
    PerType(std::collections::BTreeMap<ObjectType, usize>),
}

impl std::str::FromStr for Multiplicity {
    type Err = String;
    /// `6`, or `jets=6,bjets=6,electrons=5,muons=5`.
    fn from_str(s: &str) -> Result<Multiplicity, String> {
        if let Ok(n) = s.trim().parse() {
            return Ok(Multiplicity::All(n));
        }
        let mut map = std::collections::BTreeMap::new();
        for part in s.split(',').filter(|p| !p.trim().is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| format!("--n '{part}': expected N or TYPE=N,..."))?;
            let t: ObjectType = serde_json::from_value(serde_json::Value::String(k.trim().into()))
                .map_err(|_| {
                    format!("--n: unknown type '{k}' (jets, bjets, muons, electrons, photons)")
                })?;
            let n = v
                .trim()
                .parse()
                .map_err(|_| format!("--n '{part}': '{v}' is not a count"))?;
            map.insert(t, n);
        }
        Ok(Multiplicity::PerType(map))
    }
}

impl RmmConfig {
    /// Objects of type `t` in the matrix.
    pub fn n_of(&self, t: ObjectType) -> usize {
        match &self.n {
            Multiplicity::All(n) => *n,
            Multiplicity::PerType(m) => m.get(&t).copied().unwrap_or(0),
        }
    }

    /// Matrix row of each slot's type and rank: (type index, 0-based rank),
    /// for rows 1.. (row 0 is MET).
    fn slots(&self) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for (t, ty) in self.types.iter().enumerate() {
            out.extend((0..self.n_of(*ty)).map(|k| (t, k)));
        }
        out
    }

    /// First matrix row of type index `t`.
    fn offset(&self, t: usize) -> usize {
        1 + self.types[..t]
            .iter()
            .map(|ty| self.n_of(*ty))
            .sum::<usize>()
    }
}

/// The constant C of the rapidity cells.
pub const C_RAPIDITY: f64 = 0.15;

/// A reconstructed object (GeV).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Object {
    /// Transverse momentum.
    pub pt: f64,
    /// Pseudorapidity.
    pub eta: f64,
    /// Azimuth.
    pub phi: f64,
    /// Mass.
    pub mass: f64,
}

#[derive(Debug, Clone, Copy, Default)]
struct P4 {
    e: f64,
    px: f64,
    py: f64,
    pz: f64,
}

impl Object {
    fn p4(&self) -> P4 {
        let (px, py, pz) = (
            self.pt * self.phi.cos(),
            self.pt * self.phi.sin(),
            self.pt * self.eta.sinh(),
        );
        let p2 = px * px + py * py + pz * pz;
        P4 {
            e: (p2 + self.mass * self.mass).sqrt(),
            px,
            py,
            pz,
        }
    }
}

impl P4 {
    /// Transverse energy E * pT / |p| (ROOT's TLorentzVector::Et).
    fn et(&self) -> f64 {
        let pt2 = self.px * self.px + self.py * self.py;
        let p2 = pt2 + self.pz * self.pz;
        if p2 > 0.0 {
            self.e * (pt2 / p2).sqrt()
        } else {
            0.0
        }
    }
    fn rapidity(&self) -> f64 {
        0.5 * ((self.e + self.pz) / (self.e - self.pz)).ln()
    }
    fn plus(&self, o: &P4) -> P4 {
        P4 {
            e: self.e + o.e,
            px: self.px + o.px,
            py: self.py + o.py,
            pz: self.pz + o.pz,
        }
    }
    fn mass(&self) -> f64 {
        (self.e * self.e - self.px * self.px - self.py * self.py - self.pz * self.pz)
            .max(0.0)
            .sqrt()
    }
    fn mass_with(&self, o: &P4) -> f64 {
        self.plus(o).mass()
    }
}

/// Invariant mass of a set of objects (GeV).
pub fn invariant_mass(objects: &[Object]) -> f64 {
    objects
        .iter()
        .fold(P4::default(), |s, o| s.plus(&o.p4()))
        .mass()
}

/// Matrix side 1 + the sum of the objects per type (1 + T*N for one N).
pub fn size(cfg: &RmmConfig) -> usize {
    1 + cfg.types.iter().map(|t| cfg.n_of(*t)).sum::<usize>()
}

/// Labels of the matrix rows: `MET`, then `j1..jN`, `b1..`, ...
pub fn labels(cfg: &RmmConfig) -> Vec<String> {
    let mut l = vec!["MET".to_string()];
    for t in &cfg.types {
        for k in 1..=cfg.n_of(*t) {
            l.push(format!("{}{k}", t.label()));
        }
    }
    l
}

/// Column names, row-major: `met`, `mT_X`, `eT_X` / `deT_X`, `m_X_Y`, `hL_X`, `h_X_Y`.
pub fn column_names(cfg: &RmmConfig) -> Vec<String> {
    let l = labels(cfg);
    let slots = cfg.slots();
    let s = l.len();
    let mut out = Vec::with_capacity(s * s);
    for r in 0..s {
        for c in 0..s {
            out.push(match (r, c) {
                (0, 0) => "met".to_string(),
                (0, c) => format!("mT_{}", l[c]),
                (r, 0) => format!("hL_{}", l[r]),
                (r, c) if r == c => {
                    if slots[r - 1].1 == 0 {
                        format!("eT_{}", l[r])
                    } else {
                        format!("deT_{}", l[r])
                    }
                }
                (r, c) if r < c => format!("m_{}_{}", l[r], l[c]),
                (r, c) => format!("h_{}_{}", l[r], l[c]),
            });
        }
    }
    out
}

/// Fills the matrix (row-major, `size(cfg)^2` values) for one event.
/// `objects[t]` holds the objects of `cfg.types[t]`; they are pT-ordered here
/// and cut to the type's count; missing objects leave zeros.
pub fn matrix(met: f64, met_phi: f64, objects: &[Vec<Object>], cfg: &RmmConfig) -> Vec<f64> {
    let s = size(cfg);
    let rs = cfg.sqrt_s;
    let mut m = vec![0.0; s * s];
    // Slot -> four-vector, by type and pT.
    let mut slots: Vec<Option<P4>> = vec![None; s];
    for (t, objs) in objects.iter().enumerate().take(cfg.types.len()) {
        let mut sorted = objs.clone();
        sorted.sort_by(|a, b| b.pt.total_cmp(&a.pt));
        let first = cfg.offset(t);
        for (k, o) in sorted.iter().take(cfg.n_of(cfg.types[t])).enumerate() {
            slots[first + k] = Some(o.p4());
        }
    }
    let rank = cfg.slots();
    let (mex, mey) = (met * met_phi.cos(), met * met_phi.sin());
    m[0] = met / rs;
    for i in 1..s {
        let Some(a) = slots[i] else { continue };
        let et = a.et();
        // First row: transverse mass with MET.
        let mt2 = (et + met).powi(2) - (a.px + mex).powi(2) - (a.py + mey).powi(2);
        m[i] = mt2.max(0.0).sqrt() / rs;
        // Diagonal: ET of the leading object, else the ET imbalance with the previous one.
        m[i * s + i] = if rank[i - 1].1 == 0 {
            et / rs
        } else {
            let prev = slots[i - 1]
                .expect("pT-ordered slots fill from the first")
                .et();
            (prev - et) / (prev + et)
        };
        // First column: rapidity of the object.
        let y = a.rapidity();
        m[i * s] = C_RAPIDITY * (y.cosh() - 1.0);
        for j in i + 1..s {
            let Some(b) = slots[j] else { continue };
            // Upper triangle: invariant mass; lower: rapidity difference.
            m[i * s + j] = a.mass_with(&b) / rs;
            let dy = b.rapidity() - y;
            let arg = match cfg.rapidity {
                RapidityForm::Code => dy / 2.0,
                RapidityForm::Thesis => dy,
            };
            m[j * s + i] = C_RAPIDITY * (arg.cosh() - 1.0);
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Independent arithmetic for one event: jets (100, 0, 0, 10) and
    /// (50, 1, pi/2, 5), a muon (30, -0.5, pi, 0.105), MET 40 at phi = -pi/2.
    #[test]
    fn two_jets_one_muon_and_met_by_hand() {
        let cfg = RmmConfig {
            types: vec![ObjectType::Jets, ObjectType::Muons],
            n: Multiplicity::All(2),
            sqrt_s: 13_000.0,
            ..Default::default()
        };
        // Given in reverse pT order to check the ordering.
        let j2 = Object {
            pt: 50.0,
            eta: 1.0,
            phi: std::f64::consts::FRAC_PI_2,
            mass: 5.0,
        };
        let j1 = Object {
            pt: 100.0,
            eta: 0.0,
            phi: 0.0,
            mass: 10.0,
        };
        let mu = Object {
            pt: 30.0,
            eta: -0.5,
            phi: std::f64::consts::PI,
            mass: 0.105,
        };
        let m = matrix(
            40.0,
            -std::f64::consts::FRAC_PI_2,
            &[vec![j2, j1], vec![mu]],
            &cfg,
        );
        let s = 5; // MET, j1, j2, mu1, mu2
        assert_eq!(m.len(), 25);
        let at = |r: usize, c: usize| m[r * s + c];
        let close = |a: f64, b: f64, what: &str| {
            assert!(
                (a - b).abs() < 1e-12 * b.abs().max(1.0),
                "{what}: {a} vs {b}"
            )
        };
        let rs = 13_000.0;
        // j1: p = (100, 0, 0), E = sqrt(100^2 + 10^2); ET = E (pz = 0).
        let e1 = (100.0f64 * 100.0 + 100.0).sqrt();
        // j2: p = (0, 50, 50 sinh 1), E = sqrt(50^2 + (50 sinh 1)^2 + 25); ET = E * 50 / |p|.
        let pz2 = 50.0 * 1.0f64.sinh();
        let p2 = (2500.0 + pz2 * pz2).sqrt();
        let e2 = (p2 * p2 + 25.0).sqrt();
        let et2 = e2 * 50.0 / p2;
        // muon: p = (-30, 0, 30 sinh(-0.5)).
        let pz3 = 30.0 * (-0.5f64).sinh();
        let p3 = (900.0 + pz3 * pz3).sqrt();
        let e3 = (p3 * p3 + 0.105 * 0.105).sqrt();
        let et3 = e3 * 30.0 / p3;
        // MET vector (0, -40).
        close(at(0, 0), 40.0 / rs, "met");
        close(
            at(0, 1),
            (((e1 + 40.0).powi(2) - 100.0f64.powi(2) - 40.0f64.powi(2)).sqrt()) / rs,
            "mT_j1",
        );
        close(
            at(0, 2),
            (((et2 + 40.0).powi(2) - 0.0 - (50.0f64 - 40.0).powi(2)).sqrt()) / rs,
            "mT_j2",
        );
        close(
            at(0, 3),
            (((et3 + 40.0).powi(2) - 30.0f64.powi(2) - 40.0f64.powi(2)).sqrt()) / rs,
            "mT_mu1",
        );
        close(at(1, 1), e1 / rs, "eT_j1");
        close(at(2, 2), (e1 - et2) / (e1 + et2), "deT_j2");
        close(at(3, 3), et3 / rs, "eT_mu1");
        // Invariant masses.
        let m12 = ((e1 + e2).powi(2) - 100.0f64.powi(2) - 50.0f64.powi(2) - pz2 * pz2).sqrt();
        close(at(1, 2), m12 / rs, "m_j1_j2");
        let m13 = ((e1 + e3).powi(2) - 70.0f64.powi(2) - pz3 * pz3).sqrt();
        close(at(1, 3), m13 / rs, "m_j1_mu1");
        // Rapidities.
        let y1 = 0.0;
        let y2 = 0.5 * ((e2 + pz2) / (e2 - pz2)).ln();
        let y3 = 0.5 * ((e3 + pz3) / (e3 - pz3)).ln();
        close(at(1, 0), 0.15 * (f64::cosh(y1) - 1.0), "hL_j1");
        close(at(2, 0), 0.15 * (y2.cosh() - 1.0), "hL_j2");
        close(at(3, 0), 0.15 * (y3.cosh() - 1.0), "hL_mu1");
        close(at(2, 1), 0.15 * (((y2 - y1) / 2.0).cosh() - 1.0), "h_j2_j1");
        close(
            at(3, 2),
            0.15 * (((y3 - y2) / 2.0).cosh() - 1.0),
            "h_mu1_j2",
        );
        // The missing second muon: its row and column are zero.
        for k in 0..s {
            assert_eq!(at(4, k), 0.0);
            assert_eq!(at(k, 4), 0.0);
        }
        // Thesis form of the lower triangle.
        let t = matrix(
            40.0,
            -std::f64::consts::FRAC_PI_2,
            &[vec![j1, j2], vec![mu]],
            &RmmConfig {
                rapidity: RapidityForm::Thesis,
                ..cfg.clone()
            },
        );
        close(
            t[2 * s + 1],
            0.15 * ((y2 - y1).cosh() - 1.0),
            "thesis h_j2_j1",
        );
        assert_eq!(t[..5], m[..5]);
    }

    #[test]
    fn names_and_size() {
        let cfg = RmmConfig::default();
        assert_eq!(size(&cfg), 51);
        let n = column_names(&cfg);
        assert_eq!(n.len(), 51 * 51);
        assert_eq!(n[0], "met");
        assert_eq!(n[1], "mT_j1");
        assert_eq!(n[51 + 1], "eT_j1");
        assert_eq!(n[2 * 51 + 2], "deT_j2");
        assert_eq!(n[51 + 31], "m_j1_e1");
        assert_eq!(n[21 * 51], "hL_mu1");
        assert_eq!(n[31 * 51 + 2], "h_e1_j2");
        let mut sorted = n.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), n.len(), "names are unique");
    }

    #[test]
    fn per_type_counts_give_the_thesis_layout() {
        let cfg = RmmConfig {
            types: vec![
                ObjectType::Jets,
                ObjectType::Bjets,
                ObjectType::Electrons,
                ObjectType::Muons,
            ],
            n: "jets=6,bjets=6,electrons=5,muons=5".parse().unwrap(),
            ..RmmConfig::default()
        };
        assert_eq!(size(&cfg), 23);
        let names = column_names(&cfg);
        assert_eq!(names.len(), 529);
        let l = labels(&cfg);
        assert_eq!(
            (
                l[6].as_str(),
                l[7].as_str(),
                l[13].as_str(),
                l[17].as_str(),
                l[18].as_str(),
                l[22].as_str()
            ),
            ("j6", "b1", "e1", "e5", "mu1", "mu5")
        );
        // The leading object of each type has eT on the diagonal, the others deT.
        assert_eq!(names[7 * 23 + 7], "eT_b1");
        assert_eq!(names[8 * 23 + 8], "deT_b2");
        assert_eq!(names[13 * 23 + 13], "eT_e1");
        assert_eq!(names[18 * 23 + 18], "eT_mu1");
        assert_eq!(names[23 + 18], "m_j1_mu1");
        // One muon lands in row 18 and the leading jet's ET on the diagonal.
        let objs = vec![
            vec![Object {
                pt: 100.0,
                eta: 0.0,
                phi: 0.0,
                mass: 0.0,
            }],
            vec![],
            vec![],
            vec![Object {
                pt: 50.0,
                eta: 0.0,
                phi: 1.0,
                mass: 0.0,
            }],
        ];
        let m = matrix(10.0, 0.0, &objs, &cfg);
        assert!((m[18 * 23 + 18] - 50.0 / 13000.0).abs() < 1e-12);
        assert!((m[23 + 1] - 100.0 / 13000.0).abs() < 1e-12);
        assert_eq!(m[7 * 23 + 7], 0.0);
        assert!("jets=6,gluons=2"
            .parse::<Multiplicity>()
            .unwrap_err()
            .contains("unknown type 'gluons'"));
        let all: Multiplicity = serde_json::from_str("6").unwrap();
        assert_eq!(all, Multiplicity::All(6));
    }
}
