//! `compress`: table + trained model -> artifact directory.

use crate::latent::{dequantise, quantise, LatentDType};
use crate::manifest::{decode_hashed, ColumnEntry, Manifest, Storage, MANIFEST};
use crate::quant::{encode, reconstruct, Bound, Code};
use crate::write::{write_artifact, Parts};
use crate::{column_f64, dtype_name, out_kind, CompressError, Result};
use arrow_array::{ArrayRef, Int32Array, RecordBatch};
use arrow_schema::{DataType, Field};
use hepae_table::LABEL_COLUMNS;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// Options of `compress` (also the `compress:` section of a pipeline).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CompressOptions {
    /// Which codec a pipeline uses: `struct` (no model, format 4) or
    /// `autoencoder` (latent + residuals, format 2).
    pub codec: Codec,
    /// Latent storage type.
    pub latent_dtype: LatentDType,
    /// Per-column error bounds; the key `*` applies to every modelled column.
    pub bounds: BTreeMap<String, Bound>,
    /// Columns stored exactly (in addition to `event` and `file_index` and
    /// every column the model does not take).
    pub lossless: Vec<String>,
    /// zstd level of every Parquet file and of the zstd Parquet baseline.
    pub zstd_level: i32,
}

impl Default for CompressOptions {
    fn default() -> Self {
        CompressOptions {
            codec: Codec::Struct,
            latent_dtype: LatentDType::F32,
            bounds: BTreeMap::new(),
            lossless: Vec::new(),
            zstd_level: 9,
        }
    }
}

/// The codec of a pipeline's compress stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Codec {
    /// Learned structure + entropy coding, no model (format 4).
    Struct,
    /// The trained autoencoder's latent space + bounded residuals (format 2).
    Autoencoder,
}

/// An existing `out` may only be replaced when it is an artifact (or empty).
pub(crate) fn check_replaceable(out: &Path) -> Result<()> {
    if !out.exists() {
        return Ok(());
    }
    let empty = out
        .read_dir()
        .map(|mut d| d.next().is_none())
        .unwrap_or(false);
    if out.is_dir() && (empty || out.join(MANIFEST).is_file()) {
        return Ok(());
    }
    Err(CompressError::Input(format!(
        "{}: exists and is not a hepae artifact; refusing to replace it",
        out.display()
    )))
}

struct ColumnCodes {
    codes: Option<Vec<i32>>,
    escapes: Vec<(u64, f64)>,
    max_abs_error: f64,
    nonzero: u64,
}

fn code_column(
    x: &[f64],
    x_hat: &[f32],
    n: usize,
    j: usize,
    dtype: &str,
    bound: Option<&Bound>,
) -> ColumnCodes {
    let kind = out_kind(dtype);
    let per_row: Vec<(i32, bool, f64)> = x
        .par_iter()
        .enumerate()
        .map(|(i, &xi)| {
            let xh = x_hat[i * n + j];
            match bound {
                None => (0, false, (reconstruct(xh, 0, None, kind) - xi).abs()),
                Some(b) => match encode(xi, xh, b, kind) {
                    Code::Q(q) => {
                        let r = reconstruct(xh, q, Some(b), kind);
                        (q, false, (r - xi).abs())
                    }
                    Code::Escape => (0, true, 0.0),
                },
            }
        })
        .collect();
    let max_abs_error = per_row.iter().map(|r| r.2).fold(0.0, f64::max);
    let escapes = per_row
        .iter()
        .enumerate()
        .filter(|(_, r)| r.1)
        .map(|(i, _)| (i as u64, x[i]))
        .collect();
    let nonzero = per_row.iter().filter(|r| r.0 != 0).count() as u64;
    ColumnCodes {
        codes: bound.map(|_| per_row.iter().map(|r| r.0).collect()),
        escapes,
        max_abs_error,
        nonzero,
    }
}

/// Compresses the Parquet table `data` with the model in `model_dir` into the
/// artifact directory `out` (written beside it, then renamed into place).
pub fn compress(
    data: &Path,
    model_dir: &Path,
    out: &Path,
    opts: &CompressOptions,
) -> Result<Manifest> {
    check_replaceable(out)?;
    let batch = hepae_table::read_parquet(data)?;
    let loaded = hepae_model::load(model_dir)?;
    check_columns(data, model_dir, &batch, &loaded.meta.columns, opts)?;
    let latent = encode_latent(data, model_dir, &batch, &loaded, opts.latent_dtype)?;
    let coded = code_columns(data, &batch, &loaded.meta.columns, &latent.x_hat, opts)?;
    let (enc_layers, dec_layers) = hepae_model::layer_names(loaded.meta.config.model.hidden.len());
    let parts = Parts {
        data,
        model_dir,
        batch: &batch,
        loaded: &loaded,
        latent: &latent,
        coded,
        opts,
        layers: (enc_layers, dec_layers),
    };
    hepae_table::write_dir_atomic(out, |tmp| write_artifact(tmp, parts))
}

/// Every column the model, `--lossless` and `--bound` name exists, and each
/// bound is valid.
fn check_columns(
    data: &Path,
    model_dir: &Path,
    batch: &RecordBatch,
    inputs: &[String],
    opts: &CompressOptions,
) -> Result<()> {
    let input = |m: String| CompressError::Input(format!("{}: {m}", data.display()));
    let schema = batch.schema();
    for c in inputs {
        if schema.index_of(c).is_err() {
            return Err(input(format!(
                "the model in {} takes column '{c}' (its inputs: {}), which the table lacks",
                model_dir.display(),
                inputs.join(", ")
            )));
        }
    }
    crate::codec::check_names(batch, opts, data)
}

/// The stored latent space and the decoder's output from it.
pub(crate) struct Latent {
    /// Row-major latent values as decompression rebuilds them.
    pub z: Vec<f32>,
    /// Latent width.
    pub width: usize,
    /// Quantisation grid per dimension (quantised dtypes only).
    pub quant: Vec<[f32; 2]>,
    /// Codes per dimension (quantised dtypes only).
    pub codes: Vec<Vec<u32>>,
    /// Decoder output, row-major over the model's inputs.
    pub x_hat: Vec<f32>,
    /// Checksum of `x_hat`.
    pub decoder_sha256: String,
}

/// Encodes the model's inputs, rounds the latent to its stored dtype and
/// decodes it exactly as decompression will.
fn encode_latent(
    data: &Path,
    model_dir: &Path,
    batch: &RecordBatch,
    loaded: &hepae_model::Model,
    dtype: LatentDType,
) -> Result<Latent> {
    let (encoder, decoder) = loaded.networks(&model_dir.display().to_string())?;
    let matrix = hepae_table::from_batch(batch, &loaded.meta.columns)
        .map_err(|e| CompressError::Input(format!("{}: {e}", data.display())))?;
    let mut x = matrix.values;
    loaded.normalizer.apply(&mut x);
    let mut z = encoder.forward(&x);
    drop(x);
    let width = encoder.outputs();
    z.iter_mut().for_each(|v| *v = dtype.round_trip(*v));
    let (quant, codes) = match dtype.max_code() {
        Some(max) => {
            let (q, codes) = quantise(&z, width, max);
            // The decoder must see exactly what decompression will rebuild.
            for (k, c) in codes.iter().enumerate() {
                for (i, &ci) in c.iter().enumerate() {
                    z[i * width + k] = dequantise(ci, q[k]);
                }
            }
            (q, codes)
        }
        None => (Vec::new(), Vec::new()),
    };
    let (x_hat, decoder_sha256) = decode_hashed(&decoder, &loaded.normalizer, &z);
    Ok(Latent {
        z,
        width,
        quant,
        codes,
        x_hat,
        decoder_sha256,
    })
}

/// Per-column results: manifest entries, residual codes, escapes and the
/// columns stored as they are.
pub(crate) struct Coded {
    /// One entry per table column, in table order.
    pub columns: Vec<ColumnEntry>,
    /// Residual codes of the bounded modelled columns.
    pub residual_fields: Vec<Field>,
    /// The codes, matching `residual_fields`.
    pub residual_cols: Vec<ArrayRef>,
    /// (column index, row, exact value) where no code meets the bound.
    pub escapes: Vec<(u32, u64, f64)>,
    /// Table indices of the lossless columns.
    pub passthrough_idx: Vec<usize>,
}

/// Codes every modelled column against `x_hat` and lists the lossless ones.
fn code_columns(
    data: &Path,
    batch: &RecordBatch,
    inputs: &[String],
    x_hat: &[f32],
    opts: &CompressOptions,
) -> Result<Coded> {
    let input = |m: String| CompressError::Input(format!("{}: {m}", data.display()));
    let modelled = |name: &str| {
        inputs.iter().any(|c| c == name)
            && !opts.lossless.iter().any(|c| c == name)
            && !LABEL_COLUMNS.contains(&name)
    };
    let mut out = Coded {
        columns: Vec::new(),
        residual_fields: Vec::new(),
        residual_cols: Vec::new(),
        escapes: Vec::new(),
        passthrough_idx: Vec::new(),
    };
    let schema = batch.schema();
    for (ci, f) in schema.fields().iter().enumerate() {
        let name = f.name();
        if !modelled(name) {
            out.passthrough_idx.push(ci);
            out.columns.push(lossless_entry(f));
            continue;
        }
        let dtype = dtype_name(f.data_type())
            .ok_or_else(|| input(format!("column '{name}' has type {}", f.data_type())))?;
        let values = column_f64(batch.column(ci)).expect("numeric");
        check_exact_integers(&values, name, dtype).map_err(input)?;
        let bound = match (opts.bounds.get(name.as_str()), opts.bounds.get("*")) {
            (Some(a), Some(b)) => Some(a.merge(*b)),
            (a, b) => a.or(b).copied(),
        };
        let j = inputs.iter().position(|c| c == name).unwrap();
        let coded = code_column(&values, x_hat, inputs.len(), j, dtype, bound.as_ref());
        if let Some(codes) = coded.codes {
            out.residual_fields
                .push(Field::new(name.clone(), DataType::Int32, false));
            out.residual_cols.push(Arc::new(Int32Array::from(codes)));
        }
        let cidx = out.columns.len() as u32;
        out.escapes
            .extend(coded.escapes.iter().map(|(r, v)| (cidx, *r, *v)));
        out.columns.push(ColumnEntry {
            name: name.clone(),
            dtype: dtype.into(),
            storage: Storage::Model,
            bound,
            max_abs_error: coded.max_abs_error,
            escapes: coded.escapes.len() as u64,
            nonzero_codes: coded.nonzero,
        });
    }
    Ok(out)
}

/// The manifest entry of a column stored as it is.
fn lossless_entry(f: &Field) -> ColumnEntry {
    ColumnEntry {
        name: f.name().clone(),
        dtype: dtype_name(f.data_type())
            .map(str::to_string)
            .unwrap_or_else(|| f.data_type().to_string()),
        storage: Storage::Lossless,
        bound: None,
        max_abs_error: 0.0,
        escapes: 0,
        nonzero_codes: 0,
    }
}

/// A 64-bit integer column beyond 2^53 cannot pass through f64 exactly.
fn check_exact_integers(
    values: &[f64],
    name: &str,
    dtype: &str,
) -> std::result::Result<(), String> {
    if !matches!(dtype, "int64" | "uint64") {
        return Ok(());
    }
    match values.iter().position(|v| v.abs() > 9_007_199_254_740_992.0) {
        Some(i) => Err(format!(
            "column '{name}' row {i}: {dtype} value beyond 2^53 cannot be modelled exactly; mark it lossless"
        )),
        None => Ok(()),
    }
}
