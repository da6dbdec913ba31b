//! `hepae ingest --format darkmachines`: challenge CSV events to Parquet.

use anyhow::{bail, Result};
use hepae_darkmachines::{Layout, ReadOptions, Slots, Units};
use std::path::PathBuf;

/// The Dark Machines options of `hepae ingest`.
pub struct DmArgs<'a> {
    pub inputs: Vec<PathBuf>,
    pub out: PathBuf,
    pub layout: &'a str,
    pub units: &'a str,
    pub slots: &'a str,
    pub skip_bad_lines: bool,
    pub zstd_level: i32,
}

/// `--format`, or else every input ending in `.csv`.
pub fn is_darkmachines(format: Option<&str>, inputs: &[PathBuf]) -> Result<bool> {
    match format {
        Some("darkmachines") => Ok(true),
        Some("root") => Ok(false),
        Some(f) => bail!("--format '{f}': expected root or darkmachines"),
        None => Ok(!inputs.is_empty()
            && inputs
                .iter()
                .all(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")))),
    }
}

pub fn run(a: &DmArgs) -> Result<()> {
    let slots: Slots = a.slots.parse().map_err(anyhow::Error::msg)?;
    let layout = match a.layout {
        "events" => Layout::Events(slots),
        "objects" => Layout::Objects,
        l => bail!("--layout '{l}': expected events or objects"),
    };
    let units: Units = a
        .units
        .parse()
        .map_err(|e: String| anyhow::anyhow!("--units: {e}"))?;
    let opts = ReadOptions {
        layout,
        units,
        skip_bad_lines: a.skip_bad_lines,
        zstd_level: a.zstd_level,
    };
    let t0 = std::time::Instant::now();
    let report = hepae_darkmachines::convert(&a.inputs, &a.out, &opts)?;
    let sidecar = super::ingest::sidecar_path(&a.out);
    hepae_table::write_json_atomic(&report, &sidecar)?;
    let bad: u64 = report.files.iter().map(|f| f.bad_lines).sum();
    eprintln!(
        "read {} file(s): {} events, {} objects in {:.2} s",
        report.files.len(),
        report.events,
        report.objects,
        t0.elapsed().as_secs_f64()
    );
    if bad > 0 {
        eprintln!(
            "  skipped {bad} bad lines (listed in {})",
            sidecar.display()
        );
    }
    let beyond: u64 = report.objects_beyond_slots.values().sum();
    if beyond > 0 {
        eprintln!(
            "  {beyond} objects beyond their type's slots are counted in n_<type> but have no slot: {:?}",
            report.objects_beyond_slots
        );
    }
    eprintln!("wrote {} (report: {})", a.out.display(), sidecar.display());
    Ok(())
}
