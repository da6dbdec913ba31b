//! Writing the artifact directory: tables, model files and the
//! self-counting manifest.

use crate::compress::{Coded, CompressOptions, Latent};
use crate::latent::LatentDType;
use crate::manifest::{
    file_entry, LatentEntry, Manifest, ModelEntry, Ratios, Sizes, FORMAT, FORMAT_VERSION, MANIFEST,
};
use crate::{dtype_name, CompressError, Result};
use arrow_array::{
    ArrayRef, Float16Array, Float32Array, Float64Array, RecordBatch, UInt16Array, UInt32Array,
    UInt64Array, UInt8Array,
};
use arrow_schema::{DataType, Field, Schema};
use hepae_model::{safetensors_bytes, ModelDir};
use hepae_table::{write_parquet_atomic_with, ParquetOptions};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

/// Everything `compress` computed, ready to be written.
pub(crate) struct Parts<'a> {
    pub data: &'a Path,
    pub model_dir: &'a Path,
    pub batch: &'a RecordBatch,
    pub loaded: &'a hepae_model::Model,
    pub latent: &'a Latent,
    pub coded: Coded,
    pub opts: &'a CompressOptions,
    /// Encoder and decoder layer names.
    pub layers: (Vec<String>, Vec<String>),
}

/// The files of an artifact, in the order they are listed in the manifest.
const FILES: [&str; 8] = [
    "latent.parquet",
    "residuals.parquet",
    "escapes.parquet",
    "passthrough.parquet",
    "model/config.json",
    "model/normalizer.json",
    "model/model.bpk",
    "model/model.safetensors",
];

/// Writes every file of the artifact into `tmp` and returns its manifest.
pub(crate) fn write_artifact(tmp: &Path, p: Parts) -> Result<Manifest> {
    write_tables(tmp, &p)?;
    write_model(tmp, &p)?;
    let mut files = BTreeMap::new();
    for name in FILES {
        let path = tmp.join(name);
        if path.is_file() {
            files.insert(name.to_string(), file_entry(&path)?);
        }
    }
    let sizes = sizes(&files, p.batch, p.opts.zstd_level)?;
    let meta = &p.loaded.meta;
    let (encoder_layers, decoder_layers) = p.layers;
    let manifest = Manifest {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        hepae_version: env!("CARGO_PKG_VERSION").into(),
        source: p.data.display().to_string(),
        rows: p.batch.num_rows() as u64,
        columns: p.coded.columns,
        model: ModelEntry {
            inputs: meta.columns.clone(),
            decoder_layers,
            encoder_layers,
            train_config: meta.config.clone(),
        },
        normalizer: p.loaded.normalizer.clone(),
        latent: LatentEntry {
            dtype: p.opts.latent_dtype,
            width: p.latent.width,
            quant: p.latent.quant.clone(),
        },
        decoder_sha256: p.latent.decoder_sha256.clone(),
        files,
        sizes: Sizes::default(),
        ratios: Ratios::default(),
    };
    write_manifest(tmp, manifest, sizes)
}

/// Latent, residual, escape and passthrough tables.
fn write_tables(tmp: &Path, p: &Parts) -> Result<()> {
    let plain = ParquetOptions::zstd(p.opts.zstd_level);
    let l = p.latent;
    write_parquet_atomic_with(
        &latent_batch(&l.z, l.width, p.opts.latent_dtype, &l.codes)?,
        &tmp.join("latent.parquet"),
        &[],
        &ParquetOptions {
            byte_stream_split: true,
            ..plain
        },
    )?;
    let c = &p.coded;
    if !c.residual_cols.is_empty() {
        let rb = RecordBatch::try_new(
            Arc::new(Schema::new(c.residual_fields.clone())),
            c.residual_cols.clone(),
        )
        .map_err(|e| CompressError::arrow("residual table", e))?;
        // Codes are small integers: dictionary + RLE before zstd.
        let dict = ParquetOptions {
            dictionary: true,
            ..plain
        };
        write_parquet_atomic_with(&rb, &tmp.join("residuals.parquet"), &[], &dict)?;
    }
    if !c.escapes.is_empty() {
        let eb = escape_batch(&c.escapes)?;
        write_parquet_atomic_with(&eb, &tmp.join("escapes.parquet"), &[], &plain)?;
    }
    if !c.passthrough_idx.is_empty() {
        let pb = p
            .batch
            .project(&c.passthrough_idx)
            .map_err(|e| CompressError::arrow("passthrough table", e))?;
        write_parquet_atomic_with(&pb, &tmp.join("passthrough.parquet"), &[], &plain)?;
    }
    Ok(())
}

/// (column, row, value) of every escaped value.
fn escape_batch(escapes: &[(u32, u64, f64)]) -> Result<RecordBatch> {
    RecordBatch::try_new(
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
    .map_err(|e| CompressError::arrow("escape table", e))
}

/// The model's configuration, normaliser and weights (burn and safetensors).
fn write_model(tmp: &Path, p: &Parts) -> Result<()> {
    std::fs::create_dir_all(tmp.join("model")).map_err(|e| CompressError::io(tmp, e))?;
    let md = ModelDir(p.model_dir.to_path_buf());
    for (src, name) in [
        (md.config(), "config.json"),
        (md.normalizer(), "normalizer.json"),
        (md.weights(), "model.bpk"),
    ] {
        std::fs::copy(&src, tmp.join("model").join(name))
            .map_err(|e| CompressError::io(&src, e))?;
    }
    let meta = &p.loaded.meta;
    let acts = meta.config.model.layer_activations().map_err(|e| {
        CompressError::Artifact(format!("{}: config model: {e}", p.model_dir.display()))
    })?;
    let st_meta = HashMap::from([
        (
            "producer".to_string(),
            format!("hepae {}", env!("CARGO_PKG_VERSION")),
        ),
        ("kind".to_string(), json(&meta.config.model.kind)),
        ("activations".to_string(), json(&acts)),
        ("inputs".to_string(), json(&meta.columns)),
        (
            "layout".to_string(),
            "weight [out, in] as torch.nn.Linear".to_string(),
        ),
    ]);
    let st_path = tmp.join("model/model.safetensors");
    let st = safetensors_bytes(&p.loaded.tensors, st_meta).map_err(|source| {
        hepae_model::ModelError::SafeTensors {
            path: st_path.clone(),
            source,
        }
    })?;
    std::fs::write(&st_path, st).map_err(|e| CompressError::io(&st_path, e))
}

/// A small value as JSON text (safetensors metadata).
fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("plain data serialises")
}

/// Sizes of the parts from the files on disk, and the baselines.
fn sizes(
    files: &BTreeMap<String, crate::manifest::FileEntry>,
    batch: &RecordBatch,
    zstd_level: i32,
) -> Result<Sizes> {
    let size = |names: &[&str]| -> u64 {
        files
            .iter()
            .filter(|(k, _)| names.iter().any(|n| k.starts_with(n)))
            .map(|(_, v)| v.bytes)
            .sum()
    };
    let (gzip9_raw, zstd_parquet) = baselines(batch, zstd_level)?;
    let numeric_cols = batch
        .schema()
        .fields()
        .iter()
        .filter(|f| dtype_name(f.data_type()).is_some())
        .count() as u64;
    Ok(Sizes {
        raw_float32: batch.num_rows() as u64 * numeric_cols * 4,
        latent: size(&["latent.parquet"]),
        model: size(&["model/"]),
        residuals: size(&["residuals.parquet", "escapes.parquet"]),
        passthrough: size(&["passthrough.parquet"]),
        manifest: 0,
        artifact: 0,
        gzip9_raw,
        zstd_parquet,
    })
}

/// Writes the manifest, which counts itself: iterate until its size is
/// stable; if the digits oscillate, reserve room and pad with JSON whitespace.
fn write_manifest(tmp: &Path, mut manifest: Manifest, mut sizes: Sizes) -> Result<Manifest> {
    let others: u64 = manifest.files.values().map(|f| f.bytes).sum();
    let mut render = |size: u64| {
        sizes.manifest = size;
        sizes.artifact = others + size;
        manifest.sizes = sizes.clone();
        manifest.ratios = ratios(&sizes);
        serde_json::to_string_pretty(&manifest).expect("manifest serialises")
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
        return Err(CompressError::Artifact(format!(
            "{}: manifest size did not settle",
            mp.display()
        )));
    }
    Ok(manifest)
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
        .map_err(|e| CompressError::arrow("latent table", e))
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
    let pq = pq?;
    Ok((gz.1, pq as u64))
}
