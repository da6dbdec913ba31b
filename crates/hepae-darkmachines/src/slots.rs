//! How many objects of each type the events layout keeps.

use crate::object::{ObjectType, OBJECT_TYPES};
use serde::{Deserialize, Serialize};

/// Slots per object type in the events layout (the leading N by pT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Slots {
    /// b-jets.
    pub bjets: usize,
    /// Jets.
    pub jets: usize,
    /// Electrons and positrons.
    pub electrons: usize,
    /// Muons and antimuons.
    pub muons: usize,
    /// Photons.
    pub photons: usize,
}

impl Default for Slots {
    /// Enough for all but the rarest events of the challenge's SM processes.
    fn default() -> Self {
        Slots {
            bjets: 4,
            jets: 6,
            electrons: 2,
            muons: 2,
            photons: 2,
        }
    }
}

impl Slots {
    /// Slots of type `t`.
    pub fn of(&self, t: ObjectType) -> usize {
        match t {
            ObjectType::BJet => self.bjets,
            ObjectType::Jet => self.jets,
            ObjectType::Electron => self.electrons,
            ObjectType::Muon => self.muons,
            ObjectType::Photon => self.photons,
        }
    }

    fn get_mut(&mut self, t: ObjectType) -> &mut usize {
        match t {
            ObjectType::BJet => &mut self.bjets,
            ObjectType::Jet => &mut self.jets,
            ObjectType::Electron => &mut self.electrons,
            ObjectType::Muon => &mut self.muons,
            ObjectType::Photon => &mut self.photons,
        }
    }
}

impl std::str::FromStr for Slots {
    type Err = String;
    /// `jets=6,bjets=4`: the types named change, the others keep their default.
    fn from_str(s: &str) -> Result<Slots, String> {
        Slots::default().with(s)
    }
}

impl Slots {
    /// These slots with the types named in `TYPE=N,...` changed.
    pub fn with(self, s: &str) -> Result<Slots, String> {
        let mut slots = self;
        for part in s.split(',').filter(|p| !p.trim().is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| format!("slots '{part}': expected TYPE=N"))?;
            let t = OBJECT_TYPES
                .into_iter()
                .find(|t| t.plural() == k.trim())
                .ok_or_else(|| {
                    format!("slots: unknown type '{k}' (bjets, jets, electrons, muons, photons)")
                })?;
            let n: usize = v
                .trim()
                .parse()
                .map_err(|_| format!("slots '{part}': '{v}' is not a count"))?;
            if n > crate::parse::MAX_OBJECTS {
                return Err(format!(
                    "slots '{part}': at most {} per type",
                    crate::parse::MAX_OBJECTS
                ));
            }
            *slots.get_mut(t) = n;
        }
        Ok(slots)
    }
}
