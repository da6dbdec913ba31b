//! The artifact manifest: what each file is, with sizes, checksums, ratios
//! and everything decompression needs besides the data.

use crate::quant::Bound;
use crate::{CompressError, Result};
use hepae_model::Normalizer;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

/// Value of `format` in every manifest.
pub const FORMAT: &str = "hepae-artifact";
/// Artifact layout version this build writes and reads.
pub const FORMAT_VERSION: u32 = 2;
/// Manifest file name inside an artifact directory.
pub const MANIFEST: &str = "manifest.json";

/// How a column is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Storage {
    /// Through the autoencoder (latent space, plus residuals when bounded).
    Model,
    /// Exactly, in `passthrough.parquet`.
    Lossless,
}

/// One column of the original table, in original order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnEntry {
    /// Column name.
    pub name: String,
    /// Arrow type (`float32`, `int32`, ...; any type for lossless columns).
    pub dtype: String,
    /// Storage.
    pub storage: Storage,
    /// Error bound guaranteed on every value (model columns only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bound: Option<Bound>,
    /// Largest |x' - x| over the column after decompression (0 for lossless).
    pub max_abs_error: f64,
    /// Values stored exactly because no residual code met the bound.
    #[serde(default)]
    pub escapes: u64,
    /// Values with a non-zero residual code.
    #[serde(default)]
    pub nonzero_codes: u64,
}

/// The network, as decompression needs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelEntry {
    /// Input columns of the network, in its order.
    pub inputs: Vec<String>,
    /// Decoder layer names in `model/model.safetensors`, in forward order.
    pub decoder_layers: Vec<String>,
    /// Encoder layer names (to compress more data with the same model).
    pub encoder_layers: Vec<String>,
    /// Training configuration (model kind, widths, activation, loss, ...).
    pub train_config: hepae_model::TrainConfig,
}

/// Stored latent space.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatentEntry {
    /// `f32`, `f16`, `bf16`, `q8` or `q16`.
    pub dtype: crate::LatentDType,
    /// Latent dimension.
    pub width: usize,
    /// For `q8`/`q16`: `[lo, step]` per dimension; value = lo + code * step.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quant: Vec<[f32; 2]>,
}

/// Size and checksum of one file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// Bytes on disk.
    pub bytes: u64,
    /// SHA-256, hex.
    pub sha256: String,
}

/// Sizes in bytes that the ratios come from.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sizes {
    /// rows x columns x 4: the table as raw float32.
    pub raw_float32: u64,
    /// `latent.parquet`.
    pub latent: u64,
    /// Everything under `model/`.
    pub model: u64,
    /// `residuals.parquet` plus `escapes.parquet`.
    pub residuals: u64,
    /// `passthrough.parquet`.
    pub passthrough: u64,
    /// `manifest.json`.
    pub manifest: u64,
    /// Every file of the artifact.
    pub artifact: u64,
    /// gzip -9 (libdeflate level 9) of the raw float32 table, row-major.
    pub gzip9_raw: u64,
    /// The whole input table as lossless zstd Parquet.
    pub zstd_parquet: u64,
}

/// Compression ratios (raw float32 bytes divided by the size named).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ratios {
    /// raw / latent.
    #[serde(rename = "R")]
    pub r: f64,
    /// raw / whole artifact.
    #[serde(rename = "R_star")]
    pub r_star: f64,
    /// raw / gzip -9 of raw.
    pub gzip9: f64,
    /// raw / lossless zstd Parquet.
    pub zstd_parquet: f64,
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// Layout version ([`FORMAT_VERSION`]).
    pub format_version: u32,
    /// hepae version that wrote it.
    pub hepae_version: String,
    /// Input table it was made from.
    pub source: String,
    /// Rows.
    pub rows: u64,
    /// Columns of the original table, in order.
    pub columns: Vec<ColumnEntry>,
    /// The network.
    pub model: ModelEntry,
    /// Normalisation of the model inputs.
    pub normalizer: Normalizer,
    /// Latent space.
    pub latent: LatentEntry,
    /// SHA-256 of the decoder's output (float32, row-major), which residuals
    /// are relative to; decompression refuses to apply residuals to anything else.
    pub decoder_sha256: String,
    /// Every other file of the artifact (paths relative to it).
    pub files: BTreeMap<String, FileEntry>,
    /// Sizes.
    pub sizes: Sizes,
    /// Ratios.
    pub ratios: Ratios,
}

/// SHA-256 of bytes, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// The decoder's output for latent `z`, back in physical units, and the
/// SHA-256 of its bytes: compression records it, decompression checks it, so
/// a different decoder result can never restore values silently.
pub(crate) fn decode_hashed(
    decoder: &hepae_model::Mlp,
    normalizer: &Normalizer,
    z: &[f32],
) -> (Vec<f32>, String) {
    let mut x_hat = decoder.forward(z);
    normalizer.invert(&mut x_hat);
    let bytes: Vec<u8> = x_hat.iter().flat_map(|v| v.to_le_bytes()).collect();
    (x_hat, sha256_hex(&bytes))
}

/// Size and checksum of a file.
pub fn file_entry(path: &Path) -> Result<FileEntry> {
    let bytes = std::fs::read(path).map_err(|e| CompressError::io(path, e))?;
    Ok(FileEntry {
        bytes: bytes.len() as u64,
        sha256: sha256_hex(&bytes),
    })
}

/// Reads and checks `manifest.json` of an artifact directory: format, version,
/// then every listed file's presence, size and checksum.
pub fn read_manifest(dir: &Path) -> Result<Manifest> {
    let art = |m: String| CompressError::Artifact(format!("{}: {m}", dir.display()));
    let value = manifest_value(dir)?;
    check_version(&value, FORMAT_VERSION, dir)?;
    let m: Manifest = serde_json::from_value(value).map_err(|e| art(format!("{MANIFEST}: {e}")))?;
    check_files(dir, &m.files)?;
    Ok(m)
}

/// The manifest's JSON, after checking it is a hepae artifact.
pub(crate) fn manifest_value(dir: &Path) -> Result<serde_json::Value> {
    let art = |m: String| CompressError::Artifact(format!("{}: {m}", dir.display()));
    if !dir.is_dir() {
        return Err(art("not a directory (expected a hepae artifact)".into()));
    }
    let path = dir.join(MANIFEST);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| art(format!("{MANIFEST}: {e} (not a hepae artifact?)")))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| art(format!("{MANIFEST}: not valid JSON: {e}")))?;
    if value.get("format").and_then(|v| v.as_str()) != Some(FORMAT) {
        return Err(art(format!(
            "{MANIFEST}: 'format' is not \"{FORMAT}\" (not a hepae artifact)"
        )));
    }
    Ok(value)
}

/// The artifact's format version is `want`.
pub(crate) fn check_version(value: &serde_json::Value, want: u32, dir: &Path) -> Result<()> {
    let version = value.get("format_version").and_then(|v| v.as_u64());
    let writer = value
        .get("hepae_version")
        .and_then(|v| v.as_str())
        .unwrap_or("?");
    if version != Some(want as u64) {
        return Err(CompressError::Artifact(format!(
            "{}: {MANIFEST}: artifact format version {} (written by hepae {writer}); this hepae {} reads version {FORMAT_VERSION} (autoencoder artifacts) and version {} (structure codec)",
            dir.display(),
            version.map_or("missing".to_string(), |v| v.to_string()),
            env!("CARGO_PKG_VERSION"),
            crate::codec::STRUCT_VERSION
        )));
    }
    Ok(())
}

/// Every listed file is present with its size and checksum.
pub(crate) fn check_files(dir: &Path, files: &BTreeMap<String, FileEntry>) -> Result<()> {
    let art = |m: String| CompressError::Artifact(format!("{}: {m}", dir.display()));
    for (name, want) in files {
        let p = dir.join(name);
        if !p.is_file() {
            return Err(art(format!(
                "file '{name}' listed in {MANIFEST} is missing"
            )));
        }
        let got = file_entry(&p)?;
        if got.bytes != want.bytes {
            return Err(art(format!(
                "'{name}' has {} bytes, {MANIFEST} says {} (truncated or replaced)",
                got.bytes, want.bytes
            )));
        }
        if got.sha256 != want.sha256 {
            return Err(art(format!(
                "'{name}' checksum mismatch: sha256 {} but {MANIFEST} says {} (corrupt or replaced)",
                got.sha256, want.sha256
            )));
        }
    }
    Ok(())
}
