//! The challenge's object identifiers and the physics types they map to.

/// A physics object type, in the challenge files' order within an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectType {
    /// `b`: b-tagged jet.
    BJet,
    /// `j`: jet.
    Jet,
    /// `e-`, `e+`: electron or positron.
    Electron,
    /// `m-`, `m+`: muon or antimuon.
    Muon,
    /// `g`: photon.
    Photon,
}

/// Every type, in the order objects appear in an event line.
pub const OBJECT_TYPES: [ObjectType; 5] = [
    ObjectType::BJet,
    ObjectType::Jet,
    ObjectType::Electron,
    ObjectType::Muon,
    ObjectType::Photon,
];

impl ObjectType {
    /// Parses an object identifier into its type and charge (0 for neutral).
    pub fn from_id(id: &str) -> Option<(ObjectType, i8)> {
        Some(match id {
            "j" => (ObjectType::Jet, 0),
            "b" => (ObjectType::BJet, 0),
            "e-" => (ObjectType::Electron, -1),
            "e+" => (ObjectType::Electron, 1),
            "m-" => (ObjectType::Muon, -1),
            "m+" => (ObjectType::Muon, 1),
            "g" => (ObjectType::Photon, 0),
            _ => return None,
        })
    }

    /// The identifier written for this type and charge.
    pub fn id(self, charge: i8) -> &'static str {
        match (self, charge >= 0) {
            (ObjectType::Jet, _) => "j",
            (ObjectType::BJet, _) => "b",
            (ObjectType::Electron, false) => "e-",
            (ObjectType::Electron, true) => "e+",
            (ObjectType::Muon, false) => "m-",
            (ObjectType::Muon, true) => "m+",
            (ObjectType::Photon, _) => "g",
        }
    }

    /// Column prefix of its slots: `jet` gives `jet1_pt`.
    pub fn prefix(self) -> &'static str {
        match self {
            ObjectType::Jet => "jet",
            ObjectType::BJet => "bjet",
            ObjectType::Electron => "electron",
            ObjectType::Muon => "muon",
            ObjectType::Photon => "photon",
        }
    }

    /// Plural name: the slot key (`jets: 6`) and the count column (`n_jets`).
    pub fn plural(self) -> &'static str {
        match self {
            ObjectType::Jet => "jets",
            ObjectType::BJet => "bjets",
            ObjectType::Electron => "electrons",
            ObjectType::Muon => "muons",
            ObjectType::Photon => "photons",
        }
    }

    /// Charged leptons carry a charge column.
    pub fn charged(self) -> bool {
        matches!(self, ObjectType::Electron | ObjectType::Muon)
    }

    /// Index in [`OBJECT_TYPES`].
    pub fn index(self) -> usize {
        self as usize
    }
}
