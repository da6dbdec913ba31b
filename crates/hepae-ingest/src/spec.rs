//! Parsing of column and cut specifications given on the command line or in YAML.

use crate::IngestError;

/// A requested column: output name, and optionally the exact branch to read
/// (`pt=recoPFJets_ak5PFJets__RECO.obj.pt_`); otherwise it is derived from the
/// collection name.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnSpec {
    /// Output column name.
    pub name: String,
    /// Explicit branch name or path.
    pub branch: Option<String>,
}

impl std::str::FromStr for ColumnSpec {
    type Err = IngestError;
    fn from_str(s: &str) -> Result<Self, IngestError> {
        let s = s.trim();
        let (name, branch) = match s.split_once('=') {
            Some((n, b)) => (n.trim(), Some(b.trim().to_string())),
            None => (s, None),
        };
        if name.is_empty() || branch.as_deref() == Some("") {
            return Err(IngestError::Invalid(format!(
                "bad column '{s}': expected NAME or NAME=BRANCH"
            )));
        }
        Ok(ColumnSpec {
            name: name.to_string(),
            branch,
        })
    }
}

/// An inclusive range cut `COLUMN:MIN:MAX`; an empty bound is open.
#[derive(Debug, Clone, PartialEq)]
pub struct Cut {
    /// Column the cut applies to.
    pub column: String,
    /// Lower bound (inclusive).
    pub lo: f64,
    /// Upper bound (inclusive).
    pub hi: f64,
    /// The cut as written.
    pub text: String,
}

impl Cut {
    /// The kept values, bounds included.
    pub fn range(&self) -> std::ops::RangeInclusive<f64> {
        self.lo..=self.hi
    }

    /// Whether `x` passes (NaN never does).
    pub fn keeps(&self, x: f64) -> bool {
        self.range().contains(&x)
    }
}

impl std::str::FromStr for Cut {
    type Err = IngestError;
    fn from_str(s: &str) -> Result<Self, IngestError> {
        let bad = |why: &str| {
            IngestError::Invalid(format!(
                "bad cut '{s}': {why} (expected COLUMN:MIN:MAX, e.g. pt:1:8000)"
            ))
        };
        let parts: Vec<&str> = s.split(':').collect();
        if parts.len() != 3 || parts[0].trim().is_empty() {
            return Err(bad("wrong number of fields"));
        }
        let num = |t: &str, open: f64| -> Result<f64, IngestError> {
            let t = t.trim();
            if t.is_empty() {
                return Ok(open);
            }
            let v: f64 = t
                .parse()
                .map_err(|_| bad(&format!("'{t}' is not a number")))?;
            if v.is_nan() {
                return Err(bad("NaN bound"));
            }
            Ok(v)
        };
        let lo = num(parts[1], f64::NEG_INFINITY)?;
        let hi = num(parts[2], f64::INFINITY)?;
        if lo > hi {
            return Err(bad("minimum above maximum"));
        }
        Ok(Cut {
            column: parts[0].trim().to_string(),
            lo,
            hi,
            text: s.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cuts() {
        let c: Cut = "pt:1:8000".parse().unwrap();
        assert_eq!((c.column.as_str(), c.lo, c.hi), ("pt", 1.0, 8000.0));
        let c: Cut = "mass:0.001:".parse().unwrap();
        assert_eq!(c.hi, f64::INFINITY);
        assert!("pt:5:1".parse::<Cut>().is_err());
        assert!("pt:a:1".parse::<Cut>().is_err());
        assert!("pt:1".parse::<Cut>().is_err());
    }

    #[test]
    fn parses_columns() {
        let c: ColumnSpec = "pt=recoPFJets_ak5PFJets__RECO.obj.pt_".parse().unwrap();
        assert_eq!(
            c.branch.as_deref(),
            Some("recoPFJets_ak5PFJets__RECO.obj.pt_")
        );
        let c: ColumnSpec = "eta".parse().unwrap();
        assert_eq!((c.name.as_str(), c.branch), ("eta", None));
        assert!("=x".parse::<ColumnSpec>().is_err());
    }
}
