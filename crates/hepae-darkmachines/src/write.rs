//! The events layout back to challenge CSV (MeV, objects in file order).

use crate::error::{DarkMachinesError, Result};
use crate::layout::slots_of;
use crate::object::{ObjectType, OBJECT_TYPES};
use crate::read::Units;
use arrow_array::cast::AsArray;
use arrow_array::RecordBatch;
use std::fmt::Write as _;
use std::path::Path;

struct Source<'a> {
    batch: &'a RecordBatch,
    path: &'a Path,
}

impl Source<'_> {
    fn column(&self, name: &str) -> Result<Vec<f64>> {
        let missing = |message: &str| DarkMachinesError::Column {
            path: self.path.to_path_buf(),
            column: name.into(),
            message: message.into(),
        };
        let col = self
            .batch
            .column_by_name(name)
            .ok_or_else(|| missing("missing"))?;
        hepae_table::numeric_f64(col).ok_or_else(|| missing("not numeric"))
    }
}

struct Slot {
    kind: ObjectType,
    values: [Vec<f64>; 4],
    charge: Option<Vec<f64>>,
}

/// Writes an events-layout table as challenge CSV at `path` (atomically);
/// `units` are the table's, and the file is in MeV. A table without
/// `event_ID` or `process_ID` gets 1-based ids and `generated`.
pub fn write_csv(batch: &RecordBatch, units: Units, path: &Path) -> Result<()> {
    let src = Source { batch, path };
    let to_mev = 1.0 / units.scale();
    let rows = batch.num_rows();
    let ids = src
        .column("event_ID")
        .unwrap_or_else(|_| (1..=rows).map(|i| i as f64).collect());
    let process = batch
        .column_by_name("process_ID")
        .and_then(|c| c.as_string_opt::<i32>().cloned());
    let weight = src.column("weight")?;
    let met = src.column("MET")?;
    let met_phi = src.column("METphi")?;
    let have = slots_of(&batch.schema());
    let mut types = Vec::new();
    for t in OBJECT_TYPES {
        let count = src.column(&format!("n_{}", t.plural()))?;
        let mut slots = Vec::new();
        for i in 1..=have.of(t) {
            let q = |name: &str| src.column(&format!("{}{i}_{name}", t.prefix()));
            slots.push(Slot {
                kind: t,
                values: [q("E")?, q("pt")?, q("eta")?, q("phi")?],
                charge: if t.charged() {
                    Some(q("charge")?)
                } else {
                    None
                },
            });
        }
        types.push((count, slots));
    }
    let mut text = String::with_capacity(rows * 128);
    for r in 0..rows {
        let p = process.as_ref().map_or("generated", |p| p.value(r));
        let _ = write!(
            text,
            "{};{p};{};{};{};",
            ids[r] as i64,
            weight[r],
            (met[r] * to_mev) as f32,
            met_phi[r] as f32
        );
        for (count, slots) in &types {
            for s in slots.iter().take(count[r].max(0.0) as usize) {
                let charge = s
                    .charge
                    .as_ref()
                    .map_or(0, |c| if c[r] < 0.0 { -1 } else { 1 });
                let v = &s.values;
                let _ = write!(
                    text,
                    "{},{},{},{},{};",
                    s.kind.id(charge),
                    (v[0][r] * to_mev) as f32,
                    (v[1][r] * to_mev) as f32,
                    v[2][r] as f32,
                    v[3][r] as f32
                );
            }
        }
        text.push('\n');
    }
    hepae_table::write_bytes_atomic(path, text.as_bytes())?;
    Ok(())
}
