//! The structure codec (artifact format version 4): bounded compression
//! that learns the table's own structure, no model required.
//!
//! 1. Every bounded value goes to an integer code on a grid fixed by its
//!    bound alone ([`grid`]); integers are their own codes; `event` and
//!    `file_index` are run lengths.
//! 2. Columns are coded cheapest first; each is predicted from the values
//!    already decoded (same row, previous row of the same event, event
//!    start) by a linear predictor learned on a sample, kept only where it
//!    pays for its weights ([`predict`]).
//! 3. Code residuals are rANS-coded (four interleaved lanes) with
//!    per-column tables, split into six contexts (event start x size of
//!    the previous column's residual) where that pays for the extra tables
//!    ([`entropy`]).
//!
//! Rows are coded in independent blocks of up to 65,536, in parallel;
//! decoding repeats the encoder's walk (module `walk`) with IEEE
//! operations in a fixed order, and checks the restored table's XXH3-128
//! checksum.
//!
//! ```text
//! jets.hepae/
//!   manifest.json        columns, grids, predictors, sections, sizes, checksums
//!   streams.bin          tables | labels | escapes | block index | blocks
//!   passthrough.parquet  columns stored as they are (text, bool, lossless floats)
//! ```

mod bits;
mod column;
mod decode;
mod encode;
pub mod entropy;
pub mod format;
pub mod grid;
mod labels;
mod plan;
pub mod predict;
mod sampled;
mod source;
mod walk;

pub use format::{StructManifest, STRUCT_VERSION};

use crate::manifest::{check_files, check_version, file_entry, manifest_value, MANIFEST};
use crate::{CompressError, CompressOptions, Result};
use arrow_array::RecordBatch;
use format::{Store, StructSizes, CODEC, PASSTHROUGH, STREAMS};
use std::collections::BTreeMap;
use std::path::Path;

/// Compresses the Parquet table `data` into the artifact directory `out`
/// with the structure codec (written beside it, then renamed into place).
pub fn compress_struct(data: &Path, out: &Path, opts: &CompressOptions) -> Result<StructManifest> {
    crate::compress::check_replaceable(out)?;
    let batch = hepae_table::read_parquet(data)?;
    compress_struct_table(&batch, data, out, opts)
}

/// [`compress_struct`] of a table already read from `data` (the path
/// errors name).
pub fn compress_struct_table(
    batch: &RecordBatch,
    data: &Path,
    out: &Path,
    opts: &CompressOptions,
) -> Result<StructManifest> {
    crate::compress::check_replaceable(out)?;
    check_names(batch, opts, data)?;
    let (columns, coded) = encode::encode(batch, opts, data)?;
    let pass: Vec<usize> = (0..columns.len())
        .filter(|&i| columns[i].store == Store::Passthrough)
        .collect();
    hepae_table::write_dir_atomic(out, |tmp| -> Result<StructManifest> {
        let sp = tmp.join(STREAMS);
        std::fs::write(&sp, &coded.streams).map_err(|e| CompressError::io(&sp, e))?;
        let mut files = BTreeMap::new();
        files.insert(STREAMS.to_string(), file_entry(&sp)?);
        if !pass.is_empty() {
            let pb = batch
                .project(&pass)
                .map_err(|e| CompressError::arrow("passthrough table", e))?;
            let pp = tmp.join(PASSTHROUGH);
            hepae_table::write_parquet_atomic_with(
                &pb,
                &pp,
                &[],
                &hepae_table::ParquetOptions::zstd(opts.zstd_level),
            )?;
            files.insert(PASSTHROUGH.to_string(), file_entry(&pp)?);
        }
        let sec = |n: &str| coded.sections.get(n).map_or(0, |s| s.bytes);
        let numeric = batch
            .schema()
            .fields()
            .iter()
            .filter(|f| crate::dtype_name(f.data_type()).is_some())
            .count();
        let sizes = StructSizes {
            raw_float32: (batch.num_rows() * numeric * 4) as u64,
            streams: sec("blocks") + sec("index"),
            tables: sec("tables"),
            labels: sec("labels"),
            escapes: sec("escapes"),
            passthrough: files.get(PASSTHROUGH).map_or(0, |f| f.bytes),
            manifest: 0,
            artifact: 0,
        };
        let m = StructManifest {
            format: crate::manifest::FORMAT.into(),
            format_version: STRUCT_VERSION,
            codec: CODEC.into(),
            hepae_version: env!("CARGO_PKG_VERSION").into(),
            source: data.display().to_string(),
            rows: batch.num_rows() as u64,
            block_rows: coded.block_rows as u64,
            columns,
            coded: coded.coded,
            sections: coded.sections,
            table_xxh3: coded.table_xxh3,
            files,
            sizes,
            r_star: 0.0,
        };
        write_manifest(tmp, m)
    })
}

/// `--lossless` and `--bound` name columns of the table, with valid bounds.
pub(crate) fn check_names(
    batch: &arrow_array::RecordBatch,
    opts: &CompressOptions,
    data: &Path,
) -> Result<()> {
    let input = |m: String| CompressError::Input(format!("{}: {m}", data.display()));
    let schema = batch.schema();
    for c in &opts.lossless {
        if schema.index_of(c).is_err() {
            return Err(input(format!("lossless column '{c}' is not in the table")));
        }
    }
    for (c, b) in &opts.bounds {
        if c != "*" && schema.index_of(c).is_err() {
            return Err(input(format!(
                "bound on column '{c}', which is not in the table"
            )));
        }
        b.validate(c).map_err(input)?;
    }
    Ok(())
}

/// Writes the manifest, which counts its own bytes in the sizes.
fn write_manifest(tmp: &Path, mut m: StructManifest) -> Result<StructManifest> {
    let others: u64 = m.files.values().map(|f| f.bytes).sum();
    let mut size = 0u64;
    for _ in 0..12 {
        m.sizes.manifest = size;
        m.sizes.artifact = others + size;
        m.r_star = m.sizes.raw_float32 as f64 / m.sizes.artifact.max(1) as f64;
        let text = serde_json::to_string_pretty(&m).expect("manifest serialises") + "\n";
        if text.len() as u64 == size {
            let mp = tmp.join(MANIFEST);
            std::fs::write(&mp, &text).map_err(|e| CompressError::io(&mp, e))?;
            return Ok(m);
        }
        size = text.len() as u64;
    }
    // Digits that oscillate: pad to a size that fits.
    size += 16;
    m.sizes.manifest = size;
    m.sizes.artifact = others + size;
    m.r_star = m.sizes.raw_float32 as f64 / m.sizes.artifact.max(1) as f64;
    let text = serde_json::to_string_pretty(&m).expect("manifest serialises");
    let text = format!(
        "{text}{}\n",
        " ".repeat((size as usize).saturating_sub(text.len() + 1))
    );
    let mp = tmp.join(MANIFEST);
    std::fs::write(&mp, &text).map_err(|e| CompressError::io(&mp, e))?;
    Ok(m)
}

/// Reads and checks the manifest of a version-3 artifact.
pub fn read_struct_manifest(dir: &Path) -> Result<StructManifest> {
    let value = manifest_value(dir)?;
    check_version(&value, STRUCT_VERSION, dir)?;
    let m: StructManifest = serde_json::from_value(value)
        .map_err(|e| CompressError::Artifact(format!("{}: {MANIFEST}: {e}", dir.display())))?;
    check_files(dir, &m.files)?;
    Ok(m)
}

/// The restored table of a version-3 artifact.
pub fn restore_struct(dir: &Path) -> Result<(StructManifest, arrow_array::RecordBatch)> {
    let m = read_struct_manifest(dir)?;
    let b = decode::restore_struct(dir, &m)?;
    Ok((m, b))
}

/// The format version an artifact directory declares.
pub fn artifact_version(dir: &Path) -> Result<u64> {
    Ok(manifest_value(dir)?
        .get("format_version")
        .and_then(|v| v.as_u64())
        .unwrap_or(0))
}
