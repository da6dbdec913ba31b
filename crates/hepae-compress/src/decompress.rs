//! `decompress`: artifact directory -> the original table.

use crate::manifest::{decode_hashed, read_manifest, ColumnEntry, Manifest, Storage};
use crate::quant::reconstruct;
use crate::{array_from_f64, dtype_name, out_kind, CompressError, LatentDType, Result};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float16Type, Float32Type, Float64Type, Int32Type, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use hepae_model::{read_safetensors, Mlp};
use std::path::Path;
use std::sync::Arc;

fn read_table(dir: &Path, name: &str) -> Result<RecordBatch> {
    hepae_table::read_parquet(&dir.join(name))
        .map_err(|e| CompressError::Artifact(format!("{}: {e}", dir.display())))
}

/// Latent table -> row-major f32.
fn latent_values(b: &RecordBatch, m: &Manifest, dir: &Path) -> Result<Vec<f32>> {
    let art =
        |s: String| CompressError::Artifact(format!("{}: latent.parquet: {s}", dir.display()));
    let width = m.latent.width;
    if b.num_columns() != width || b.num_rows() as u64 != m.rows {
        return Err(art(format!(
            "{} columns x {} rows, manifest says {width} x {}",
            b.num_columns(),
            b.num_rows(),
            m.rows
        )));
    }
    // Codes of a q8/q16 dimension -> the values the decoder saw at compression.
    let dequantised = |k: usize, codes: &mut dyn Iterator<Item = u32>| -> Result<Vec<f32>> {
        let q = *m.latent.quant.get(k).ok_or_else(|| {
            art(format!(
                "manifest lists no [lo, step] for latent dimension {k}"
            ))
        })?;
        Ok(codes.map(|c| crate::latent::dequantise(c, q)).collect())
    };
    let rows = b.num_rows();
    let mut z = vec![0f32; rows * width];
    for (k, col) in b.columns().iter().enumerate() {
        let vals: Vec<f32> = match (m.latent.dtype, col.data_type()) {
            (LatentDType::F32, DataType::Float32) => {
                col.as_primitive::<Float32Type>().values().to_vec()
            }
            (LatentDType::F16, DataType::Float16) => col
                .as_primitive::<Float16Type>()
                .values()
                .iter()
                .map(|v| v.to_f32())
                .collect(),
            (LatentDType::Q8, DataType::UInt8) => {
                let c = col.as_primitive::<UInt8Type>().values();
                dequantised(k, &mut c.iter().map(|&c| c as u32))?
            }
            (LatentDType::Q16, DataType::UInt16) => {
                let c = col.as_primitive::<UInt16Type>().values();
                dequantised(k, &mut c.iter().map(|&c| c as u32))?
            }
            (LatentDType::Bf16, DataType::UInt16) => col
                .as_primitive::<UInt16Type>()
                .values()
                .iter()
                .map(|v| half::bf16::from_bits(*v).to_f32())
                .collect(),
            (d, t) => return Err(art(format!("column {k} is {t}, manifest says {d:?}"))),
        };
        for (i, v) in vals.into_iter().enumerate() {
            z[i * width + k] = v;
        }
    }
    Ok(z)
}

/// Rebuilds the original table from an artifact directory (checksums,
/// version and shapes checked first).
pub fn restore(dir: &Path) -> Result<(Manifest, RecordBatch)> {
    let m = read_manifest(dir)?;
    let art = |s: String| CompressError::Artifact(format!("{}: {s}", dir.display()));
    let decoder = load_decoder(dir, &m)?;
    let z = latent_values(&read_table(dir, "latent.parquet")?, &m, dir)?;
    let (x_hat, sha) = decode_hashed(&decoder, &m.normalizer, &z);
    if sha != m.decoder_sha256 {
        return Err(art(format!(
            "the decoder output differs from compression time (sha256 {sha}, manifest {}); \
             residuals and bounds cannot be trusted on this platform",
            m.decoder_sha256
        )));
    }
    let optional = |f: &str| -> Result<Option<RecordBatch>> {
        match m.files.contains_key(f) {
            true => read_table(dir, f).map(Some),
            false => Ok(None),
        }
    };
    let parts = Stored {
        residuals: optional("residuals.parquet")?,
        passthrough: optional("passthrough.parquet")?,
        escapes: read_escapes(optional("escapes.parquet")?, &m, dir)?,
        x_hat,
    };
    let mut fields = Vec::new();
    let mut arrays: Vec<ArrayRef> = Vec::new();
    for (ci, c) in m.columns.iter().enumerate() {
        let (field, array) = match c.storage {
            Storage::Lossless => lossless_column(&parts, c, &m, dir)?,
            Storage::Model => model_column(&parts, ci, c, &m, dir)?,
        };
        fields.push(field);
        arrays.push(array);
    }
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
        .map_err(|e| art(format!("rebuilding the table: {e}")))?;
    Ok((m, batch))
}

/// The decoder from `model/model.safetensors`, checked against the manifest.
fn load_decoder(dir: &Path, m: &Manifest) -> Result<Mlp> {
    let art = |s: String| CompressError::Artifact(format!("{}: {s}", dir.display()));
    let st_path = dir.join("model/model.safetensors");
    let tensors = read_safetensors(&st_path).map_err(|e| CompressError::Artifact(e.to_string()))?;
    let what = st_path.display().to_string();
    let acts = m
        .model
        .train_config
        .model
        .layer_activations()
        .map_err(|e| art(format!("manifest.json: model: {e}")))?;
    let decoder = Mlp::from_tensors(
        &tensors,
        &m.model.decoder_layers,
        &acts.decoder_layers(),
        acts.leaky_slope,
        &what,
    )?;
    let n = m.model.inputs.len();
    if decoder.outputs() != n {
        return Err(art(format!(
            "model/model.safetensors: the decoder outputs {} columns but the manifest's model has {n} inputs ({}): model from another artifact?",
            decoder.outputs(),
            m.model.inputs.join(", ")
        )));
    }
    if decoder.inputs() != m.latent.width {
        return Err(art(format!(
            "model/model.safetensors: the decoder takes {} latent values but the manifest says {}",
            decoder.inputs(),
            m.latent.width
        )));
    }
    if m.normalizer.columns.len() != n {
        return Err(art(format!(
            "manifest: normalizer has {} columns, model {n}",
            m.normalizer.columns.len()
        )));
    }
    Ok(decoder)
}

/// What the artifact stores beside the latent, read once.
struct Stored {
    residuals: Option<RecordBatch>,
    passthrough: Option<RecordBatch>,
    /// Per column: (row, exact value).
    escapes: Vec<Vec<(usize, f64)>>,
    /// Decoder output, row-major over the model's inputs.
    x_hat: Vec<f32>,
}

/// Escaped values per column, each checked to lie inside the table.
fn read_escapes(
    table: Option<RecordBatch>,
    m: &Manifest,
    dir: &Path,
) -> Result<Vec<Vec<(usize, f64)>>> {
    let mut escapes: Vec<Vec<(usize, f64)>> = vec![Vec::new(); m.columns.len()];
    let Some(e) = table else {
        return Ok(escapes);
    };
    let c = e.column(0).as_primitive::<UInt32Type>();
    let r = e.column(1).as_primitive::<UInt64Type>();
    let v = e.column(2).as_primitive::<Float64Type>();
    for i in 0..e.num_rows() {
        let (ci, row) = (c.value(i) as usize, r.value(i) as usize);
        if ci >= m.columns.len() || row >= m.rows as usize {
            return Err(CompressError::Artifact(format!(
                "{}: escapes.parquet: entry {i} points outside the table",
                dir.display()
            )));
        }
        escapes[ci].push((row, v.value(i)));
    }
    Ok(escapes)
}

/// A column stored as it is, from `passthrough.parquet`.
fn lossless_column(
    s: &Stored,
    c: &ColumnEntry,
    m: &Manifest,
    dir: &Path,
) -> Result<(Field, ArrayRef)> {
    let art = |s: String| CompressError::Artifact(format!("{}: {s}", dir.display()));
    let rows = m.rows as usize;
    let p = s.passthrough.as_ref().ok_or_else(|| {
        art(format!(
            "passthrough.parquet missing for column '{}'",
            c.name
        ))
    })?;
    let idx = p
        .schema()
        .index_of(&c.name)
        .map_err(|_| art(format!("passthrough.parquet lacks column '{}'", c.name)))?;
    let col = p.column(idx).clone();
    if col.len() != rows {
        return Err(art(format!(
            "passthrough column '{}' has {} rows, manifest {rows}",
            c.name,
            col.len()
        )));
    }
    Ok((p.schema().field(idx).clone(), col))
}

/// A modelled column: decoder output + residual code, then the escapes.
fn model_column(
    s: &Stored,
    ci: usize,
    c: &ColumnEntry,
    m: &Manifest,
    dir: &Path,
) -> Result<(Field, ArrayRef)> {
    let art = |s: String| CompressError::Artifact(format!("{}: {s}", dir.display()));
    let rows = m.rows as usize;
    let n = m.model.inputs.len();
    let j = m
        .model
        .inputs
        .iter()
        .position(|x| x == &c.name)
        .ok_or_else(|| art(format!("column '{}' is not a model input", c.name)))?;
    let kind = out_kind(&c.dtype);
    let codes = match (&c.bound, &s.residuals) {
        (Some(_), Some(r)) => {
            let idx = r
                .schema()
                .index_of(&c.name)
                .map_err(|_| art(format!("residuals.parquet lacks column '{}'", c.name)))?;
            if r.column(idx).data_type() != &DataType::Int32 || r.num_rows() != rows {
                return Err(art(format!(
                    "residuals.parquet: column '{}' is not {rows} int32 codes",
                    c.name
                )));
            }
            Some(r.column(idx).as_primitive::<Int32Type>().values().to_vec())
        }
        (Some(_), None) => {
            return Err(art(format!(
                "column '{}' is bounded but residuals.parquet is missing",
                c.name
            )))
        }
        _ => None,
    };
    let mut v: Vec<f64> = (0..rows)
        .map(|i| {
            let xh = s.x_hat[i * n + j];
            match (&c.bound, &codes) {
                (Some(b), Some(q)) => reconstruct(xh, q[i], Some(b), kind),
                _ => reconstruct(xh, 0, None, kind),
            }
        })
        .collect();
    for &(row, val) in &s.escapes[ci] {
        v[row] = val;
    }
    let a = array_from_f64(&c.dtype, &v).ok_or_else(|| {
        art(format!(
            "column '{}': unsupported dtype {}",
            c.name, c.dtype
        ))
    })?;
    debug_assert_eq!(dtype_name(a.data_type()), Some(c.dtype.as_str()));
    Ok((Field::new(c.name.clone(), a.data_type().clone(), false), a))
}

/// Decompresses `dir` to `out`: a ROOT file (TTree `tree`) when `out` ends in
/// `.root`, zstd Parquet otherwise. Written to a temporary file, then renamed.
/// Reads format version 2 (autoencoder) and 3 (structure codec); returns
/// the writer's hepae version and the table.
pub fn decompress(dir: &Path, out: &Path, tree: &str) -> Result<(String, RecordBatch)> {
    let (writer, batch) = restore_any(dir)?;
    write_restored(&batch, dir, out, tree)?;
    Ok((writer, batch))
}

/// The restored table of an artifact of either format, and the writer's
/// hepae version (checksums verified; nothing written).
pub fn restore_any(dir: &Path) -> Result<(String, RecordBatch)> {
    if crate::codec::artifact_version(dir)? == crate::codec::STRUCT_VERSION as u64 {
        let (m, b) = crate::codec::restore_struct(dir)?;
        Ok((m.hepae_version, b))
    } else {
        let (m, b) = restore(dir)?;
        Ok((m.hepae_version, b))
    }
}

/// Writes a restored table to `out` (ROOT for `.root`, else zstd Parquet
/// naming the artifact `dir` in its metadata), atomically.
pub fn write_restored(batch: &RecordBatch, dir: &Path, out: &Path, tree: &str) -> Result<()> {
    if out.extension().is_some_and(|e| e == "root") {
        crate::write_root_atomic(batch, out, tree)
    } else {
        let meta = vec![("hepae.restored_from".to_string(), dir.display().to_string())];
        hepae_table::write_parquet_atomic(batch, out, &meta, hepae_table::DEFAULT_ZSTD_LEVEL)?;
        Ok(())
    }
}
