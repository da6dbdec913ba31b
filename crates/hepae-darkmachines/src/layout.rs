//! The two table layouts: one row per event with fixed object slots, and
//! one row per object.

use crate::object::{ObjectType, OBJECT_TYPES};
use crate::parse::Event;
use crate::slots::Slots;
use arrow_array::builder::StringBuilder;
use arrow_array::{
    ArrayRef, Float32Array, Float64Array, Int32Array, Int64Array, Int8Array, RecordBatch,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use std::sync::Arc;

/// Quantities of each object slot, in column order.
pub const SLOT_QUANTITIES: [&str; 4] = ["E", "pt", "eta", "phi"];

fn slot_fields(slots: &Slots) -> Vec<Field> {
    let mut fields = Vec::new();
    for t in OBJECT_TYPES {
        for i in 1..=slots.of(t) {
            for q in SLOT_QUANTITIES {
                fields.push(Field::new(
                    format!("{}{i}_{q}", t.prefix()),
                    DataType::Float32,
                    false,
                ));
            }
            if t.charged() {
                fields.push(Field::new(
                    format!("{}{i}_charge", t.prefix()),
                    DataType::Int8,
                    false,
                ));
            }
        }
    }
    fields
}

/// Schema of the events layout for `slots`: event_ID, process_ID, weight,
/// MET, METphi, `n_<type>` counts, then `<type><i>_E/pt/eta/phi[/charge]`.
pub fn events_schema(slots: &Slots) -> SchemaRef {
    let mut fields = vec![
        Field::new("event_ID", DataType::Int64, false),
        Field::new("process_ID", DataType::Utf8, false),
        Field::new("weight", DataType::Float64, false),
        Field::new("MET", DataType::Float32, false),
        Field::new("METphi", DataType::Float32, false),
    ];
    for t in OBJECT_TYPES {
        fields.push(Field::new(
            format!("n_{}", t.plural()),
            DataType::Int32,
            false,
        ));
    }
    fields.extend(slot_fields(slots));
    Arc::new(Schema::new(fields))
}

/// Schema of the objects layout: one row per object with its event.
pub fn objects_schema() -> SchemaRef {
    let f32s = SLOT_QUANTITIES.map(|q| Field::new(q, DataType::Float32, false));
    let mut fields = vec![
        Field::new("event_ID", DataType::Int64, false),
        Field::new("process_ID", DataType::Utf8, false),
        Field::new("weight", DataType::Float64, false),
        Field::new("object", DataType::Utf8, false),
        Field::new("type", DataType::Utf8, false),
        Field::new("index", DataType::Int32, false),
        Field::new("charge", DataType::Int8, false),
    ];
    fields.extend(f32s);
    Arc::new(Schema::new(fields))
}

/// Column builders of the events layout.
pub struct EventColumns {
    slots: Slots,
    /// Energies and momenta are multiplied by this (1e-3: MeV to GeV).
    scale: f64,
    id: Vec<i64>,
    process: StringBuilder,
    weight: Vec<f64>,
    met: Vec<f32>,
    met_phi: Vec<f32>,
    counts: [Vec<i32>; 5],
    /// Per slot column (schema order after the counts): values as f32.
    slot_values: Vec<Vec<f32>>,
    slot_charges: Vec<Vec<i8>>,
    /// Objects beyond the slots of their type, per type.
    pub beyond_slots: [u64; 5],
}

impl EventColumns {
    /// Empty builders.
    pub fn new(slots: Slots, scale: f64) -> EventColumns {
        let n_values: usize = OBJECT_TYPES.iter().map(|t| slots.of(*t) * 4).sum();
        let n_charges: usize = OBJECT_TYPES
            .iter()
            .filter(|t| t.charged())
            .map(|t| slots.of(*t))
            .sum();
        EventColumns {
            slots,
            scale,
            id: Vec::new(),
            process: StringBuilder::new(),
            weight: Vec::new(),
            met: Vec::new(),
            met_phi: Vec::new(),
            counts: Default::default(),
            slot_values: vec![Vec::new(); n_values],
            slot_charges: vec![Vec::new(); n_charges],
            beyond_slots: [0; 5],
        }
    }

    /// Appends one event; objects of each type fill its slots by descending pT.
    pub fn push(&mut self, e: &Event) {
        self.id.push(e.id);
        self.process.append_value(&e.process);
        self.weight.push(e.weight);
        self.met.push((e.met * self.scale) as f32);
        self.met_phi.push(e.met_phi as f32);
        let (mut v, mut c) = (0, 0);
        // At most MAX_OBJECTS objects: a stack buffer, no allocation per event.
        for t in OBJECT_TYPES {
            let mut idx = [0usize; crate::parse::MAX_OBJECTS];
            let mut len = 0;
            for (k, _) in e.objects.iter().enumerate().filter(|(_, o)| o.kind == t) {
                if len < idx.len() {
                    idx[len] = k;
                    len += 1;
                }
            }
            let idx = &mut idx[..len];
            idx.sort_by(|a, b| e.objects[*b].pt.total_cmp(&e.objects[*a].pt));
            self.counts[t.index()].push(len as i32);
            let n = self.slots.of(t);
            self.beyond_slots[t.index()] += len.saturating_sub(n) as u64;
            for i in 0..n {
                let o = idx.get(i).map(|&k| &e.objects[k]);
                let q = o.map_or([0.0; 4], |o| {
                    [o.e * self.scale, o.pt * self.scale, o.eta, o.phi]
                });
                for x in q {
                    self.slot_values[v].push(x as f32);
                    v += 1;
                }
                if t.charged() {
                    self.slot_charges[c].push(o.map_or(0, |o| o.charge));
                    c += 1;
                }
            }
        }
    }

    /// Events so far.
    pub fn len(&self) -> usize {
        self.id.len()
    }

    /// True before the first event.
    pub fn is_empty(&self) -> bool {
        self.id.is_empty()
    }

    /// The batch so far; the builders start empty again.
    pub fn finish(&mut self) -> RecordBatch {
        let mut cols: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(std::mem::take(&mut self.id))),
            Arc::new(self.process.finish()),
            Arc::new(Float64Array::from(std::mem::take(&mut self.weight))),
            Arc::new(Float32Array::from(std::mem::take(&mut self.met))),
            Arc::new(Float32Array::from(std::mem::take(&mut self.met_phi))),
        ];
        for c in &mut self.counts {
            cols.push(Arc::new(Int32Array::from(std::mem::take(c))));
        }
        let (mut v, mut c) = (0, 0);
        for t in OBJECT_TYPES {
            for _ in 0..self.slots.of(t) {
                for _ in 0..4 {
                    cols.push(Arc::new(Float32Array::from(std::mem::take(
                        &mut self.slot_values[v],
                    ))));
                    v += 1;
                }
                if t.charged() {
                    cols.push(Arc::new(Int8Array::from(std::mem::take(
                        &mut self.slot_charges[c],
                    ))));
                    c += 1;
                }
            }
        }
        RecordBatch::try_new(events_schema(&self.slots), cols).expect("columns match the schema")
    }
}

/// Column builders of the objects layout.
pub struct ObjectColumns {
    scale: f64,
    id: Vec<i64>,
    process: StringBuilder,
    weight: Vec<f64>,
    object: StringBuilder,
    kind: StringBuilder,
    index: Vec<i32>,
    charge: Vec<i8>,
    values: [Vec<f32>; 4],
}

impl ObjectColumns {
    /// Empty builders.
    pub fn new(scale: f64) -> ObjectColumns {
        ObjectColumns {
            scale,
            id: Vec::new(),
            process: StringBuilder::new(),
            weight: Vec::new(),
            object: StringBuilder::new(),
            kind: StringBuilder::new(),
            index: Vec::new(),
            charge: Vec::new(),
            values: Default::default(),
        }
    }

    /// Appends every object of one event, in file order.
    pub fn push(&mut self, e: &Event) {
        for (i, o) in e.objects.iter().enumerate() {
            self.id.push(e.id);
            self.process.append_value(&e.process);
            self.weight.push(e.weight);
            self.object.append_value(o.kind.id(o.charge));
            self.kind.append_value(o.kind.prefix());
            self.index.push(i as i32);
            self.charge.push(o.charge);
            let q = [o.e * self.scale, o.pt * self.scale, o.eta, o.phi];
            for (col, x) in self.values.iter_mut().zip(q) {
                col.push(x as f32);
            }
        }
    }

    /// The batch so far; the builders start empty again.
    pub fn finish(&mut self) -> RecordBatch {
        let mut cols: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(std::mem::take(&mut self.id))),
            Arc::new(self.process.finish()),
            Arc::new(Float64Array::from(std::mem::take(&mut self.weight))),
            Arc::new(self.object.finish()),
            Arc::new(self.kind.finish()),
            Arc::new(Int32Array::from(std::mem::take(&mut self.index))),
            Arc::new(Int8Array::from(std::mem::take(&mut self.charge))),
        ];
        for v in &mut self.values {
            cols.push(Arc::new(Float32Array::from(std::mem::take(v))));
        }
        RecordBatch::try_new(objects_schema(), cols).expect("columns match the schema")
    }
}

/// Type of a slot column name such as `jet2_pt`, with its 1-based slot and quantity.
pub fn parse_slot_column(name: &str) -> Option<(ObjectType, usize, &str)> {
    let (head, q) = name.split_once('_')?;
    let t = OBJECT_TYPES
        .into_iter()
        .filter(|t| head.starts_with(t.prefix()))
        .max_by_key(|t| t.prefix().len())?;
    let i = head[t.prefix().len()..].parse().ok()?;
    Some((t, i, q))
}

/// The slots an events-layout schema has (per type, the largest `<type><i>_pt`).
pub fn slots_of(schema: &Schema) -> Slots {
    let mut n = [0usize; 5];
    for f in schema.fields() {
        if let Some((t, i, "pt")) = parse_slot_column(f.name()) {
            n[t.index()] = n[t.index()].max(i);
        }
    }
    Slots {
        bjets: n[ObjectType::BJet.index()],
        jets: n[ObjectType::Jet.index()],
        electrons: n[ObjectType::Electron.index()],
        muons: n[ObjectType::Muon.index()],
        photons: n[ObjectType::Photon.index()],
    }
}
