//! # hepae-darkmachines
//!
//! The Dark Machines Anomaly Score Challenge event format (one event per
//! `;`-separated line: `event_ID;process_ID;event_weight;MET;METphi;`
//! then `obj,E,pt,eta,phi;` per object). Lines are parsed in parallel,
//! file by file in bounded chunks, into two layouts: one row per event
//! with fixed per-type object slots, or one row per object. The events
//! layout is written back as challenge CSV.

#![warn(missing_docs)]

mod error;
mod layout;
mod object;
mod parse;
mod read;
mod slots;
mod write;

pub use error::{DarkMachinesError, Result};
pub use layout::{
    events_schema, objects_schema, parse_slot_column, slots_of, EventColumns, ObjectColumns,
    SLOT_QUANTITIES,
};
pub use object::{ObjectType, OBJECT_TYPES};
pub use parse::{parse_line, Event, LineError, Object, MAX_OBJECTS};
pub use read::{
    convert, read_events, recorded_units, FileReport, Layout, ReadOptions, ReadReport, Units,
    METADATA_KEY,
};
pub use slots::Slots;
pub use write::write_csv;
