//! The manifest of a structure-coded artifact (format version 4).

use super::grid::Grid;
use super::predict::Predictor;
use crate::manifest::FileEntry;
use crate::quant::Bound;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Artifact layout version of the structure codec.
pub const STRUCT_VERSION: u32 = 4;
/// Name of the codec in the manifest.
pub const CODEC: &str = "struct";
/// The binary file with every coded stream.
pub const STREAMS: &str = "streams.bin";
/// Columns stored exactly as Parquet (text, bool, unbounded floats marked lossless).
pub const PASSTHROUGH: &str = "passthrough.parquet";

/// How one table column is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Store {
    /// Predicted and entropy-coded (bounded floats, exact integers).
    Coded,
    /// Run lengths (`event`, `file_index`).
    Label,
    /// As it is, in `passthrough.parquet`.
    Passthrough,
}

/// One table column, in table order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnInfo {
    /// Name.
    pub name: String,
    /// dtype (`float32`, `int64`, ...).
    pub dtype: String,
    /// Where it is.
    pub store: Store,
}

/// Everything needed to decode one coded column, and what it cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodedColumn {
    /// Table position.
    pub index: usize,
    /// Integer grid.
    pub grid: Grid,
    /// The bound that was met (none for exact integers).
    pub bound: Option<Bound>,
    /// Prediction from values decoded before it.
    pub predictor: Predictor,
    /// Code predicted when the prediction says nothing.
    pub fallback: i64,
    /// The predictor gives log2 |value| (relative grids), not the value.
    pub log_target: bool,
    /// |prediction| below this predicts a zero (relative grids).
    pub zero_below: f64,
    /// A sign symbol (zero, +, -) precedes each code.
    pub kinds: bool,
    /// Residual contexts: 1, or 8 (event start x previous column's residual
    /// size: zero, 1-2, larger, or a zero value).
    pub contexts: u8,
    /// With 8 contexts: empty, the residual-size scheme; else the three
    /// edges of the predicted code's quartiles (event start x quartile).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pred_edges: Vec<i64>,
    /// Residual alphabet; the last symbol marks a residual in the overflow bytes.
    pub alphabet: u32,
    /// Values stored exactly.
    pub escapes: u64,
    /// Largest |restored - original| (0 for escapes).
    pub max_abs_error: f64,
    /// Coded bits per row: symbols, overflow and escapes (tables excluded).
    pub bits_per_row: f64,
}

/// Byte ranges of the sections of `streams.bin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Section {
    /// Offset.
    pub offset: u64,
    /// Length in bytes.
    pub bytes: u64,
}

/// Sizes of a structure-coded artifact (bytes).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct StructSizes {
    /// Rows x numeric columns x 4.
    pub raw_float32: u64,
    /// Coded streams of every block.
    pub streams: u64,
    /// Entropy tables.
    pub tables: u64,
    /// Run lengths of the labels.
    pub labels: u64,
    /// Exact values.
    pub escapes: u64,
    /// `passthrough.parquet`.
    pub passthrough: u64,
    /// `manifest.json`.
    pub manifest: u64,
    /// Every byte of the artifact.
    pub artifact: u64,
}

/// `manifest.json` of the structure codec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StructManifest {
    /// `hepae-artifact`.
    pub format: String,
    /// [`STRUCT_VERSION`].
    pub format_version: u32,
    /// [`CODEC`].
    pub codec: String,
    /// Writer version.
    pub hepae_version: String,
    /// Input table.
    pub source: String,
    /// Rows.
    pub rows: u64,
    /// Rows per independently coded block.
    pub block_rows: u64,
    /// Table columns in order.
    pub columns: Vec<ColumnInfo>,
    /// Coded columns in coding order.
    pub coded: Vec<CodedColumn>,
    /// Sections of `streams.bin`: tables, labels, escapes, block index, blocks.
    pub sections: BTreeMap<String, Section>,
    /// XXH3-128 over the restored table (per-block digests, hashed in
    /// order), hex.
    pub table_xxh3: String,
    /// Files of the artifact (besides the manifest).
    pub files: BTreeMap<String, FileEntry>,
    /// Sizes.
    pub sizes: StructSizes,
    /// raw_float32 / artifact.
    pub r_star: f64,
}

impl CodedColumn {
    /// Context of the sign symbol: 0 predicted zero, 1 positive, 2
    /// negative. A prediction in log space says nothing of zeros, so there
    /// the column coded before decides (`prev_zero`).
    pub fn kind_context(&self, vhat: f64, prev_zero: bool) -> usize {
        if self.log_target {
            (!prev_zero) as usize
        } else if vhat.is_nan() || vhat.abs() < self.zero_below {
            0
        } else if vhat > 0.0 {
            1
        } else {
            2
        }
    }

    /// The predicted code of prediction `vhat`.
    pub fn predict(&self, vhat: f64) -> i64 {
        match (self.log_target, self.grid) {
            (true, super::grid::Grid::Rel { k }) => {
                super::grid::code_or(super::grid::round(vhat * k as f64), self.fallback)
            }
            _ => self.grid.predict(vhat, self.fallback),
        }
    }
}
