//! Challenge CSV files to Parquet, file by file in bounded chunks, with the
//! lines of each chunk parsed in parallel.

use crate::error::{DarkMachinesError, Result};
use crate::layout::{events_schema, objects_schema, EventColumns, ObjectColumns};
use crate::object::OBJECT_TYPES;
use crate::parse::{parse_line, Event, LineError};
use crate::slots::Slots;
use hepae_table::{ParquetStream, TableError};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Units of energies and momenta in the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub enum Units {
    /// GeV (the files' MeV / 1000).
    #[default]
    GeV,
    /// MeV, as in the files.
    MeV,
}

impl std::str::FromStr for Units {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Units, String> {
        match s {
            "GeV" | "gev" => Ok(Units::GeV),
            "MeV" | "mev" => Ok(Units::MeV),
            _ => Err(format!("unknown units '{s}' (GeV, MeV)")),
        }
    }
}

impl Units {
    /// Factor from the files' MeV.
    pub fn scale(self) -> f64 {
        match self {
            Units::GeV => 1e-3,
            Units::MeV => 1.0,
        }
    }
}

/// Table layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Layout {
    /// One row per event, with these object slots.
    Events(Slots),
    /// One row per object.
    Objects,
}

/// What to read and how.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Output layout.
    pub layout: Layout,
    /// Output units.
    pub units: Units,
    /// Count and report bad lines instead of failing on the first.
    pub skip_bad_lines: bool,
    /// zstd level of the Parquet output.
    pub zstd_level: i32,
}

/// One input file's counts.
#[derive(Debug, Clone, Serialize, Default)]
pub struct FileReport {
    /// The file.
    pub path: PathBuf,
    /// Lines read (blank ones included).
    pub lines: u64,
    /// Events written.
    pub events: u64,
    /// Blank lines, ignored.
    pub blank_lines: u64,
    /// Bad lines skipped (only with `skip_bad_lines`).
    pub bad_lines: u64,
    /// The first few bad lines' errors.
    pub first_bad_lines: Vec<String>,
}

/// What a conversion read and wrote (the JSON sidecar).
#[derive(Debug, Clone, Serialize)]
pub struct ReadReport {
    /// Layout written.
    pub layout: Layout,
    /// Units written.
    pub units: Units,
    /// Per input file.
    pub files: Vec<FileReport>,
    /// Events written.
    pub events: u64,
    /// Objects read in those events.
    pub objects: u64,
    /// Events per process_ID.
    pub processes: BTreeMap<String, u64>,
    /// Objects that did not fit their type's slots (events layout), per type.
    pub objects_beyond_slots: BTreeMap<String, u64>,
}

/// Bytes of text parsed at once per file: bounds memory on the 66.5 GB dataset.
const CHUNK_BYTES: usize = 16 << 20;
/// Events per Parquet row group.
const GROUP_EVENTS: usize = 1 << 16;
/// Bad lines quoted in the report.
const QUOTED_BAD_LINES: usize = 10;

enum Columns {
    Events(EventColumns),
    Objects(ObjectColumns),
}

impl Columns {
    fn push(&mut self, e: &Event) {
        match self {
            Columns::Events(c) => c.push(e),
            Columns::Objects(c) => c.push(e),
        }
    }
    fn finish(&mut self) -> arrow_array::RecordBatch {
        match self {
            Columns::Events(c) => c.finish(),
            Columns::Objects(c) => c.finish(),
        }
    }
}

/// The key/value metadata that records units and slots in the Parquet file.
pub const METADATA_KEY: &str = "hepae.darkmachines";

/// The units [`convert`] recorded in a table's schema metadata (`None`
/// for a table it did not write).
pub fn recorded_units(schema: &arrow_schema::Schema) -> Option<Units> {
    let meta: serde_json::Value =
        serde_json::from_str(schema.metadata().get(METADATA_KEY)?).ok()?;
    match meta.get("units")?.as_str()? {
        "GeV" => Some(Units::GeV),
        "MeV" => Some(Units::MeV),
        _ => None,
    }
}

/// The output being built: column builders, the Parquet stream and the counts.
struct Writer {
    cols: Columns,
    stream: ParquetStream,
    report: ReadReport,
    pending: usize,
}

impl Writer {
    fn create(out: &Path, opts: &ReadOptions) -> Result<Writer> {
        let scale = opts.units.scale();
        let (schema, cols) = match opts.layout {
            Layout::Events(s) => (
                events_schema(&s),
                Columns::Events(EventColumns::new(s, scale)),
            ),
            Layout::Objects => (
                objects_schema(),
                Columns::Objects(ObjectColumns::new(scale)),
            ),
        };
        let meta = serde_json::json!({"layout": opts.layout, "units": opts.units}).to_string();
        let stream =
            ParquetStream::create(out, schema, &[(METADATA_KEY.into(), meta)], opts.zstd_level)?;
        Ok(Writer {
            cols,
            stream,
            report: ReadReport {
                layout: opts.layout,
                units: opts.units,
                files: Vec::new(),
                events: 0,
                objects: 0,
                processes: BTreeMap::new(),
                objects_beyond_slots: BTreeMap::new(),
            },
            pending: 0,
        })
    }

    /// Appends one event; a full row group goes to the file.
    fn push(&mut self, event: &Event) -> Result<()> {
        self.report.objects += event.objects.len() as u64;
        *self
            .report
            .processes
            .entry(event.process.clone())
            .or_default() += 1;
        self.cols.push(event);
        self.pending += 1;
        if self.pending == GROUP_EVENTS {
            self.stream.write(&self.cols.finish())?;
            self.pending = 0;
        }
        Ok(())
    }

    fn finish(mut self) -> Result<ReadReport> {
        if self.pending > 0 || self.report.events == 0 {
            self.stream.write(&self.cols.finish())?;
        }
        if let Columns::Events(c) = &self.cols {
            for t in OBJECT_TYPES {
                self.report
                    .objects_beyond_slots
                    .insert(t.plural().into(), c.beyond_slots[t.index()]);
            }
        }
        self.stream.finish()?;
        Ok(self.report)
    }
}

/// Reads `files` in order and writes one Parquet table at `out`.
pub fn convert(files: &[PathBuf], out: &Path, opts: &ReadOptions) -> Result<ReadReport> {
    let mut w = Writer::create(out, opts)?;
    for path in files {
        let mut fr = FileReport {
            path: path.clone(),
            ..FileReport::default()
        };
        for_each_chunk(path, |first_line, lines| {
            let parsed: Vec<_> = lines.par_iter().map(|l| parse_or_blank(l)).collect();
            for (k, p) in parsed.into_iter().enumerate() {
                fr.lines += 1;
                match p {
                    Ok(Some(e)) => {
                        fr.events += 1;
                        w.push(&e)?;
                    }
                    Ok(None) => fr.blank_lines += 1,
                    Err(err) => {
                        let err = bad_line(path, first_line + k as u64, err);
                        if !opts.skip_bad_lines {
                            return Err(err);
                        }
                        fr.bad_lines += 1;
                        if fr.first_bad_lines.len() < QUOTED_BAD_LINES {
                            fr.first_bad_lines.push(err.to_string());
                        }
                    }
                }
            }
            Ok(())
        })?;
        w.report.events += fr.events;
        w.report.files.push(fr);
    }
    w.finish()
}

fn parse_or_blank(line: &str) -> std::result::Result<Option<Event>, LineError> {
    if line.trim().is_empty() {
        return Ok(None);
    }
    parse_line(line).map(Some)
}

fn bad_line(path: &Path, line: u64, e: LineError) -> DarkMachinesError {
    DarkMachinesError::BadLine {
        path: path.to_path_buf(),
        line,
        field: e.field,
        name: e.name,
        message: e.message,
    }
}

/// Calls `each(first_line_number, lines)` on successive chunks of whole lines.
fn for_each_chunk(path: &Path, mut each: impl FnMut(u64, Vec<&str>) -> Result<()>) -> Result<()> {
    let io = |e| DarkMachinesError::Table(TableError::io(path, e));
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK_BYTES + (1 << 16));
    let mut next_line = 1u64;
    loop {
        // Appends up to CHUNK_BYTES after the carried-over tail, without zeroing.
        let n = (&mut file)
            .take(CHUNK_BYTES as u64)
            .read_to_end(&mut buf)
            .map_err(io)?;
        let eof = n == 0;
        // Whole lines only; the tail waits for the next read (or is the last line).
        let end = if eof {
            buf.len()
        } else {
            match buf.iter().rposition(|&b| b == b'\n') {
                Some(p) => p + 1,
                None => continue,
            }
        };
        let text = std::str::from_utf8(&buf[..end]).map_err(|e| DarkMachinesError::BadLine {
            path: path.to_path_buf(),
            line: next_line
                + buf[..e.valid_up_to()]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count() as u64,
            field: 0,
            name: "line".into(),
            message: "not UTF-8 text".into(),
        })?;
        let lines: Vec<&str> = text.lines().collect();
        let count = lines.len() as u64;
        each(next_line, lines)?;
        next_line += count;
        buf.drain(..end);
        if eof {
            return Ok(());
        }
    }
}

/// Every event of one file in memory (in the file's MeV), failing on the
/// first bad line; for consumers that need whole events (the RMM builder).
pub fn read_events(path: &Path) -> Result<Vec<Event>> {
    let mut events = Vec::new();
    for_each_chunk(path, |first_line, lines| {
        let parsed: Vec<_> = lines.par_iter().map(|l| parse_or_blank(l)).collect();
        for (k, p) in parsed.into_iter().enumerate() {
            match p {
                Ok(Some(e)) => events.push(e),
                Ok(None) => {}
                Err(err) => return Err(bad_line(path, first_line + k as u64, err)),
            }
        }
        Ok(())
    })?;
    Ok(events)
}
