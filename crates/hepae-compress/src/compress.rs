//! `compress`: table + trained model -> artifact directory.

use crate::latent::{dequantise, quantise, LatentDType};
use crate::manifest::{
    decode_hashed, file_entry, ColumnEntry, LatentEntry, Manifest, ModelEntry, Ratios, Sizes,
    Storage, FORMAT, FORMAT_VERSION, MANIFEST,
};
use crate::quant::{encode, reconstruct, Bound, Code};
use crate::{column_f64, dtype_name, out_kind, CompressError, Result};
use arrow_array::{
    ArrayRef, Float16Array, Float32Array, Float64Array, Int32Array, RecordBatch, UInt16Array,
    UInt32Array, UInt64Array, UInt8Array,
};
use arrow_schema::{DataType, Field, Schema};
use hepae_model::{safetensors_bytes, ModelDir};
use hepae_table::{write_parquet_atomic_with, ParquetOptions, LABEL_COLUMNS};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

/// Options of `compress` (also the `compress:` section of a pipeline).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CompressOptions {
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
            latent_dtype: LatentDType::F32,
            bounds: BTreeMap::new(),
            lossless: Vec::new(),
            zstd_level: 9,
        }
    }
}

/// An existing `out` may only be replaced when it is an artifact (or empty).
fn check_replaceable(out: &Path) -> Result<()> {
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

/// Writes the latent space (column-major `z0..`) in the stored dtype
/// (`codes`: the quantised dtypes' codes per dimension).
fn latent_batch(
    z: &[f32],
    width: usize,
    dtype: LatentDType,
    codes: &[Vec<u32>],
) -> Result<RecordBatch> {
    let rows = z.len() / width.max(1);
    let mut fields = Vec::new();
    let mut cols: Vec<ArrayRef> = Vec::new();
    for k in 0..width {
        let col = (0..rows).map(|i| z[i * width + k]);
        let name = format!("z{k}");
        match dtype {
            LatentDType::Q8 => {
                fields.push(Field::new(name, DataType::UInt8, false));
                cols.push(Arc::new(UInt8Array::from_iter_values(
                    codes[k].iter().map(|&c| c as u8),
                )));
            }
            LatentDType::Q16 => {
                fields.push(Field::new(name, DataType::UInt16, false));
                cols.push(Arc::new(UInt16Array::from_iter_values(
                    codes[k].iter().map(|&c| c as u16),
                )));
            }
            LatentDType::F32 => {
                fields.push(Field::new(name, DataType::Float32, false));
                cols.push(Arc::new(Float32Array::from_iter_values(col)));
            }
            LatentDType::F16 => {
                fields.push(Field::new(name, DataType::Float16, false));
                cols.push(Arc::new(Float16Array::from_iter_values(
                    col.map(half::f16::from_f32),
                )));
            }
            LatentDType::Bf16 => {
                let meta = HashMap::from([("hepae.dtype".to_string(), "bfloat16".to_string())]);
                fields.push(Field::new(name, DataType::UInt16, false).with_metadata(meta));
                cols.push(Arc::new(UInt16Array::from_iter_values(
                    col.map(|v| half::bf16::from_f32(v).to_bits()),
                )));
            }
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)
        .map_err(|e| CompressError::Io(format!("latent table: {e}")))
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
    let input = |m: String| CompressError::Input(format!("{}: {m}", data.display()));
    let batch = hepae_table::read_parquet(data).map_err(|e| CompressError::Input(e.to_string()))?;
    let loaded =
        hepae_model::load(model_dir).map_err(|e| CompressError::Artifact(format!("model: {e}")))?;
    let meta = &loaded.meta;
    let schema = batch.schema();
    let rows = batch.num_rows();

    // Which columns go through the model.
    for c in &meta.columns {
        if schema.index_of(c).is_err() {
            return Err(input(format!(
                "the model in {} takes column '{c}' (its inputs: {}), which the table lacks",
                model_dir.display(),
                meta.columns.join(", ")
            )));
        }
    }
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
    let modelled = |name: &str| {
        meta.columns.iter().any(|c| c == name)
            && !opts.lossless.iter().any(|c| c == name)
            && !LABEL_COLUMNS.contains(&name)
    };

    let tensors = &loaded.tensors;
    let cfg = &meta.config;
    let (enc_layers, dec_layers) = hepae_model::layer_names(cfg.model.hidden.len());
    let (encoder, decoder) = loaded.networks(&model_dir.display().to_string())?;

    let matrix =
        hepae_table::from_batch(&batch, &meta.columns).map_err(|e| input(e.to_string()))?;
    let n = meta.columns.len();
    let mut x = matrix.values;
    loaded.normalizer.apply(&mut x);
    let mut z = encoder.forward(&x);
    drop(x);
    let width = encoder.outputs();
    z.iter_mut()
        .for_each(|v| *v = opts.latent_dtype.round_trip(*v));
    let (quant, codes) = match opts.latent_dtype.max_code() {
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

    // Residual codes of bounded columns; error statistics of all modelled ones.
    let mut columns = Vec::new();
    let mut residual_fields = Vec::new();
    let mut residual_cols: Vec<ArrayRef> = Vec::new();
    let mut escapes: Vec<(u32, u64, f64)> = Vec::new();
    let mut passthrough_idx = Vec::new();
    for (ci, f) in schema.fields().iter().enumerate() {
        let name = f.name();
        let col = batch.column(ci);
        if !modelled(name) {
            passthrough_idx.push(ci);
            columns.push(ColumnEntry {
                name: name.clone(),
                dtype: dtype_name(f.data_type())
                    .map(str::to_string)
                    .unwrap_or_else(|| f.data_type().to_string()),
                storage: Storage::Lossless,
                bound: None,
                max_abs_error: 0.0,
                escapes: 0,
                nonzero_codes: 0,
            });
            continue;
        }
        let dtype = dtype_name(f.data_type())
            .ok_or_else(|| input(format!("column '{name}' has type {}", f.data_type())))?;
        let values = column_f64(col).expect("numeric");
        if matches!(dtype, "int64" | "uint64") {
            if let Some(i) = values
                .iter()
                .position(|v| v.abs() > 9_007_199_254_740_992.0)
            {
                return Err(input(format!(
                    "column '{name}' row {i}: {dtype} value beyond 2^53 cannot be modelled exactly; mark it lossless"
                )));
            }
        }
        let bound = match (opts.bounds.get(name.as_str()), opts.bounds.get("*")) {
            (Some(a), Some(b)) => Some(a.merge(*b)),
            (a, b) => a.or(b).copied(),
        };
        let j = meta.columns.iter().position(|c| c == name).unwrap();
        let coded = code_column(&values, &x_hat, n, j, dtype, bound.as_ref());
        if let Some(codes) = coded.codes {
            residual_fields.push(Field::new(name.clone(), DataType::Int32, false));
            residual_cols.push(Arc::new(Int32Array::from(codes)));
        }
        let cidx = columns.len() as u32;
        escapes.extend(coded.escapes.iter().map(|(r, v)| (cidx, *r, *v)));
        columns.push(ColumnEntry {
            name: name.clone(),
            dtype: dtype.into(),
            storage: Storage::Model,
            bound,
            max_abs_error: coded.max_abs_error,
            escapes: coded.escapes.len() as u64,
            nonzero_codes: coded.nonzero,
        });
    }

    // Write everything into a temporary directory, renamed into place when complete.
    hepae_table::write_dir_atomic(out, |tmp| -> Result<Manifest> {
        std::fs::create_dir_all(tmp.join("model")).map_err(|e| CompressError::io(tmp, e))?;
        let ing = |e: hepae_table::TableError| CompressError::Io(e.to_string());
        let plain = ParquetOptions::zstd(opts.zstd_level);
        write_parquet_atomic_with(
            &latent_batch(&z, width, opts.latent_dtype, &codes)?,
            &tmp.join("latent.parquet"),
            &[],
            &ParquetOptions {
                byte_stream_split: true,
                ..plain
            },
        )
        .map_err(ing)?;
        if !residual_cols.is_empty() {
            let rb = RecordBatch::try_new(Arc::new(Schema::new(residual_fields)), residual_cols)
                .map_err(|e| CompressError::Io(e.to_string()))?;
            // Codes are small integers: dictionary + RLE before zstd.
            let opts_dict = ParquetOptions {
                dictionary: true,
                ..plain
            };
            write_parquet_atomic_with(&rb, &tmp.join("residuals.parquet"), &[], &opts_dict)
                .map_err(ing)?;
        }
        if !escapes.is_empty() {
            let eb = RecordBatch::try_new(
                Arc::new(Schema::new(vec![
                    Field::new("column", DataType::UInt32, false),
                    Field::new("row", DataType::UInt64, false),
                    Field::new("value", DataType::Float64, false),
                ])),
                vec![
                    Arc::new(UInt32Array::from_iter_values(escapes.iter().map(|e| e.0))),
                    Arc::new(UInt64Array::from_iter_values(escapes.iter().map(|e| e.1))),
                    Arc::new(Float64Array::from_iter_values(escapes.iter().map(|e| e.2))),
                ],
            )
            .map_err(|e| CompressError::Io(e.to_string()))?;
            write_parquet_atomic_with(&eb, &tmp.join("escapes.parquet"), &[], &plain)
                .map_err(ing)?;
        }
        if !passthrough_idx.is_empty() {
            let pb = batch
                .project(&passthrough_idx)
                .map_err(|e| CompressError::Io(e.to_string()))?;
            write_parquet_atomic_with(&pb, &tmp.join("passthrough.parquet"), &[], &plain)
                .map_err(ing)?;
        }
        let md = ModelDir(model_dir.to_path_buf());
        for (src, name) in [
            (md.config(), "config.json"),
            (md.normalizer(), "normalizer.json"),
            (md.weights(), "model.bpk"),
        ] {
            std::fs::copy(&src, tmp.join("model").join(name))
                .map_err(|e| CompressError::io(&src, e))?;
        }
        let st_meta = HashMap::from([
            (
                "producer".to_string(),
                format!("hepae {}", env!("CARGO_PKG_VERSION")),
            ),
            (
                "kind".to_string(),
                serde_json::to_string(&cfg.model.kind).unwrap(),
            ),
            (
                "activation".to_string(),
                serde_json::to_string(&cfg.model.activation).unwrap(),
            ),
            (
                "inputs".to_string(),
                serde_json::to_string(&meta.columns).unwrap(),
            ),
            (
                "layout".to_string(),
                "weight [out, in] as torch.nn.Linear".to_string(),
            ),
        ]);
        let st = safetensors_bytes(tensors, st_meta)
            .map_err(|e| CompressError::Io(format!("safetensors: {e}")))?;
        let st_path = tmp.join("model/model.safetensors");
        std::fs::write(&st_path, st).map_err(|e| CompressError::io(&st_path, e))?;

        // Sizes and checksums from the files on disk.
        let mut files = BTreeMap::new();
        for name in [
            "latent.parquet",
            "residuals.parquet",
            "escapes.parquet",
            "passthrough.parquet",
            "model/config.json",
            "model/normalizer.json",
            "model/model.bpk",
            "model/model.safetensors",
        ] {
            let p = tmp.join(name);
            if p.is_file() {
                files.insert(name.to_string(), file_entry(&p)?);
            }
        }
        let size = |names: &[&str]| -> u64 {
            files
                .iter()
                .filter(|(k, _)| names.iter().any(|n| k.starts_with(n)))
                .map(|(_, v)| v.bytes)
                .sum()
        };
        let (gzip9_raw, zstd_parquet) = baselines(&batch, opts.zstd_level)?;
        let numeric_cols = schema
            .fields()
            .iter()
            .filter(|f| dtype_name(f.data_type()).is_some())
            .count() as u64;
        let mut sizes = Sizes {
            raw_float32: rows as u64 * numeric_cols * 4,
            latent: size(&["latent.parquet"]),
            model: size(&["model/"]),
            residuals: size(&["residuals.parquet", "escapes.parquet"]),
            passthrough: size(&["passthrough.parquet"]),
            manifest: 0,
            artifact: 0,
            gzip9_raw,
            zstd_parquet,
        };
        let mut manifest = Manifest {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            hepae_version: env!("CARGO_PKG_VERSION").into(),
            source: data.display().to_string(),
            rows: rows as u64,
            columns,
            model: ModelEntry {
                inputs: meta.columns.clone(),
                decoder_layers: dec_layers,
                encoder_layers: enc_layers,
                train_config: cfg.clone(),
            },
            normalizer: loaded.normalizer.clone(),
            latent: LatentEntry {
                dtype: opts.latent_dtype,
                width,
                quant,
            },
            decoder_sha256,
            files,
            sizes: Sizes::default(),
            ratios: Ratios::default(),
        };
        // The manifest counts itself: iterate until its size is stable; if
        // the digits oscillate, reserve room and pad with JSON whitespace.
        let others: u64 = manifest.files.values().map(|f| f.bytes).sum();
        let mut render = |size: u64| {
            sizes.manifest = size;
            sizes.artifact = others + size;
            manifest.sizes = sizes.clone();
            manifest.ratios = ratios(&sizes);
            serde_json::to_string_pretty(&manifest).unwrap()
        };
        let mut size = 0u64;
        let mut text = render(size);
        for _ in 0..10 {
            if text.len() as u64 + 1 == size {
                break;
            }
            size = text.len() as u64 + 1;
            text = render(size);
        }
        if text.len() as u64 + 1 != size {
            size = text.len() as u64 + 64;
            text = render(size);
        }
        let pad = (size as usize).saturating_sub(text.len() + 1);
        let text = format!("{text}{}\n", " ".repeat(pad));
        let mp = tmp.join(MANIFEST);
        std::fs::write(&mp, &text).map_err(|e| CompressError::io(&mp, e))?;
        if std::fs::metadata(&mp).map(|m| m.len()).unwrap_or(0) != manifest.sizes.manifest {
            return Err(CompressError::Io(format!(
                "{}: manifest size did not settle",
                mp.display()
            )));
        }
        Ok(manifest)
    })
}

fn ratios(s: &Sizes) -> Ratios {
    let r = |d: u64| {
        if d > 0 {
            s.raw_float32 as f64 / d as f64
        } else {
            0.0
        }
    };
    Ratios {
        r: r(s.latent),
        r_star: r(s.artifact),
        gzip9: r(s.gzip9_raw),
        zstd_parquet: r(s.zstd_parquet),
    }
}

/// gzip -9 of the raw float32 table, and the whole table as lossless zstd
/// Parquet at the same level as the artifact.
fn baselines(batch: &RecordBatch, zstd_level: i32) -> Result<(u64, u64)> {
    let (gz, pq) = rayon::join(
        || hepae_table::gzip9_of_raw_float32(batch),
        || hepae_table::parquet_bytes(batch, &ParquetOptions::zstd(zstd_level)).map(|b| b.len()),
    );
    let pq = pq.map_err(|e| CompressError::Io(e.to_string()))?;
    Ok((gz.1, pq as u64))
}
