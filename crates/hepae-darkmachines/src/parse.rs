//! One challenge CSV line into an [`Event`].

use crate::object::ObjectType;

/// The challenge's limit on objects per event.
pub const MAX_OBJECTS: usize = 20;

/// One physics object, in the file's units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Object {
    /// Type.
    pub kind: ObjectType,
    /// Charge: -1 or +1 for leptons, 0 otherwise.
    pub charge: i8,
    /// Energy.
    pub e: f64,
    /// Transverse momentum.
    pub pt: f64,
    /// Pseudorapidity.
    pub eta: f64,
    /// Azimuth.
    pub phi: f64,
}

/// One event line.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// `event_ID`.
    pub id: i64,
    /// `process_ID`.
    pub process: String,
    /// `event_weight`.
    pub weight: f64,
    /// Missing transverse energy.
    pub met: f64,
    /// Its azimuth.
    pub met_phi: f64,
    /// Objects in file order.
    pub objects: Vec<Object>,
}

/// Why a line is not an event: the 1-based field, what it holds, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct LineError {
    /// 1-based `;`-separated field.
    pub field: usize,
    /// What the field holds.
    pub name: String,
    /// What is wrong.
    pub message: String,
}

fn bad(field: usize, name: impl Into<String>, message: impl Into<String>) -> LineError {
    LineError {
        field,
        name: name.into(),
        message: message.into(),
    }
}

fn number<T: std::str::FromStr + Into<f64> + Copy>(
    text: &str,
    field: usize,
    name: impl Fn() -> String,
) -> Result<T, LineError> {
    let v: T = text
        .trim()
        .parse()
        .map_err(|_| bad(field, name(), format!("'{text}' is not a number")))?;
    if !v.into().is_finite() {
        return Err(bad(field, name(), format!("'{text}' is not finite")));
    }
    Ok(v)
}

const HEADER: [&str; 5] = ["event_ID", "process_ID", "event_weight", "MET", "METphi"];

/// Parses one line (without its newline). The trailing `;` is optional.
pub fn parse_line(line: &str) -> Result<Event, LineError> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let line = line.strip_suffix(';').unwrap_or(line);
    let mut fields = line.split(';');
    let mut head = [""; 5];
    for (i, slot) in head.iter_mut().enumerate() {
        *slot = fields.next().ok_or_else(|| {
            bad(
                i + 1,
                HEADER[i],
                "missing: the line has fewer than 5 fields",
            )
        })?;
    }
    let id = head[0]
        .trim()
        .parse::<i64>()
        .map_err(|_| bad(1, HEADER[0], format!("'{}' is not an integer", head[0])))?;
    let process = head[1].trim();
    if process.is_empty() {
        return Err(bad(2, HEADER[1], "empty"));
    }
    let mut event = Event {
        id,
        process: process.to_string(),
        weight: number::<f64>(head[2], 3, || HEADER[2].into())?,
        met: number::<f64>(head[3], 4, || HEADER[3].into())?,
        met_phi: number::<f64>(head[4], 5, || HEADER[4].into())?,
        objects: Vec::new(),
    };
    for (k, text) in fields.enumerate() {
        let field = k + 6;
        if k == MAX_OBJECTS {
            return Err(bad(
                field,
                format!("object {}", k + 1),
                format!("more than {MAX_OBJECTS} objects"),
            ));
        }
        event.objects.push(parse_object(text, field, k + 1)?);
    }
    Ok(event)
}

fn parse_object(text: &str, field: usize, n: usize) -> Result<Object, LineError> {
    let parts: Vec<&str> = text.split(',').collect();
    if parts.len() != 5 {
        return Err(bad(
            field,
            format!("object {n}"),
            format!(
                "'{text}' has {} comma-separated values, expected 5 (obj,E,pt,eta,phi)",
                parts.len()
            ),
        ));
    }
    let (kind, charge) = ObjectType::from_id(parts[0].trim()).ok_or_else(|| {
        bad(
            field,
            format!("object {n} type"),
            format!("unknown object '{}' (j, b, e-, e+, m-, m+, g)", parts[0]),
        )
    })?;
    let names = ["E", "pt", "eta", "phi"];
    let mut v = [0f64; 4];
    for i in 0..4 {
        v[i] = number::<f64>(parts[i + 1], field, || format!("object {n} {}", names[i]))?;
    }
    Ok(Object {
        kind,
        charge,
        e: v[0],
        pt: v[1],
        eta: v[2],
        phi: v[3],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_with_two_objects() {
        let e = parse_line(
            "7;ttbar;41.5;7641.39;-2.74;b,92479.9,20502.6,2.18,-0.66;m+,1e3,900,0.5,3.1;",
        )
        .unwrap();
        assert_eq!(e.id, 7);
        assert_eq!(e.process, "ttbar");
        assert_eq!(e.weight, 41.5);
        assert_eq!(e.objects.len(), 2);
        assert_eq!(e.objects[1].kind, ObjectType::Muon);
        assert_eq!(e.objects[1].charge, 1);
        assert_eq!(e.objects[1].pt, 900.0);
    }

    #[test]
    fn bad_lines_name_their_field() {
        let cases = [
            ("1;p;1;2", 5, "fewer than 5"),
            ("x;p;1;2;3;", 1, "not an integer"),
            ("1;p;1;abc;3;", 4, "not a number"),
            ("1;p;1;nan;3;", 4, "not finite"),
            ("1;p;1;2;3;q,1,2,3,4;", 6, "unknown object"),
            ("1;p;1;2;3;j,1,2,3;", 6, "expected 5"),
            ("1;p;1;2;3;j,1,2,3,4;j,1,x,3,4;", 7, "not a number"),
        ];
        for (line, field, what) in cases {
            let err = parse_line(line).unwrap_err();
            assert_eq!(err.field, field, "{line}");
            assert!(err.message.contains(what), "{line}: {err:?}");
        }
        let many = format!("1;p;1;2;3;{}", "j,1,2,3,4;".repeat(21));
        let err = parse_line(&many).unwrap_err();
        assert_eq!(
            (err.field, err.message.contains("more than 20")),
            (26, true)
        );
    }
}
