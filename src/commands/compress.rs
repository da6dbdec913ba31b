//! `hepae compress` and `hepae decompress`.

use anyhow::{Context, Result};
use clap::Args;
use hepae_compress::codec::predict::Feature;
use hepae_compress::{Bound, CompressOptions, LatentDType, Manifest, StructManifest};
use std::path::PathBuf;

#[derive(Args)]
pub struct CompressArgs {
    /// Input table (Parquet from `hepae ingest`).
    #[arg(long)]
    data: PathBuf,
    /// Trained model directory (from `hepae train`): compress through the
    /// autoencoder (format 2). Without it, the structure codec (format 3).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Output artifact directory (replaced if it is an earlier artifact).
    #[arg(long, short)]
    out: PathBuf,
    /// YAML compression options (latent_dtype, bounds, lossless, zstd_level); flags add to it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Per-value error bound COLUMN:abs:VALUE or COLUMN:rel:VALUE (repeatable; COLUMN `*` = every modelled column).
    #[arg(long = "bound")]
    bounds: Vec<String>,
    /// Store this column exactly (repeatable).
    #[arg(long)]
    lossless: Vec<String>,
    /// Latent storage type: f32, f16, bf16.
    #[arg(long)]
    latent_dtype: Option<LatentDType>,
    /// zstd level of the artifact's Parquet files (1-22).
    #[arg(long, value_parser = clap::value_parser!(i32).range(1..=22))]
    zstd_level: Option<i32>,
}

#[derive(Args)]
pub struct DecompressArgs {
    /// Artifact directory (from `hepae compress`).
    artifact: PathBuf,
    /// Output: `.root` writes a ROOT TTree, anything else zstd Parquet.
    #[arg(long, short)]
    out: PathBuf,
    /// TTree (or RNTuple) name for ROOT output.
    #[arg(long, default_value = "Events")]
    tree: String,
    /// Write the `.root` output as an RNTuple instead of a TTree.
    #[arg(long)]
    rntuple: bool,
}

/// Reads strict YAML compression options.
pub fn read_options(path: &std::path::Path) -> Result<CompressOptions> {
    Ok(hepae_pipeline::read_yaml(path)?)
}

/// `COLUMN:abs:1e-3` -> (column, bound).
fn parse_bound(s: &str) -> Result<(String, Bound)> {
    let (col, rest) = s
        .split_once(':')
        .with_context(|| format!("--bound '{s}': expected COLUMN:abs:VALUE or COLUMN:rel:VALUE"))?;
    let b: Bound = rest
        .parse()
        .map_err(|e: String| anyhow::anyhow!("--bound '{s}': {e}"))?;
    Ok((col.to_string(), b))
}

fn mb(b: u64) -> String {
    format!("{:.3} MB", b as f64 / 1e6)
}

pub fn run_compress(a: &CompressArgs) -> Result<()> {
    let mut opts = match &a.config {
        Some(p) => read_options(p)?,
        None => CompressOptions::default(),
    };
    for s in &a.bounds {
        let (c, b) = parse_bound(s)?;
        let merged = opts.bounds.get(&c).map_or(b, |old| old.merge(b));
        opts.bounds.insert(c, merged);
    }
    opts.lossless.extend(a.lossless.iter().cloned());
    if let Some(d) = a.latent_dtype {
        opts.latent_dtype = d;
    }
    if let Some(l) = a.zstd_level {
        opts.zstd_level = l;
    }
    let t0 = std::time::Instant::now();
    match &a.model {
        Some(model) => {
            print_summary(
                &hepae_compress::compress(&a.data, model, &a.out, &opts)?,
                &a.out,
            );
            eprintln!("  took {:.2} s", t0.elapsed().as_secs_f64());
        }
        None => {
            let batch = hepae_table::read_parquet(&a.data)?;
            let read = t0.elapsed().as_secs_f64();
            let m = hepae_compress::compress_struct_table(&batch, &a.data, &a.out, &opts)?;
            let all = t0.elapsed().as_secs_f64();
            print_struct(&m, &a.out);
            // The coding time apart, for comparisons with in-memory codecs.
            eprintln!(
                "  took {all:.2} s (reading the table {read:.2} s, coding and writing {:.3} s)",
                all - read
            );
        }
    }
    Ok(())
}

fn print_struct(m: &StructManifest, out: &std::path::Path) {
    let s = &m.sizes;
    eprintln!(
        "compressed {} rows x {} columns into {} (structure codec)",
        m.rows,
        m.columns.len(),
        out.display()
    );
    eprintln!("  raw float32 table     {:>12}", mb(s.raw_float32));
    eprintln!(
        "  whole artifact        {:>12}   R* = {:.2}  (streams {}, tables {}, labels {}, escapes {}, passthrough {}, manifest {})",
        mb(s.artifact),
        m.r_star,
        mb(s.streams),
        mb(s.tables),
        mb(s.labels),
        mb(s.escapes),
        mb(s.passthrough),
        mb(s.manifest)
    );
    for c in &m.coded {
        let name = &m.columns[c.index].name;
        let pred: Vec<String> = c
            .predictor
            .terms
            .iter()
            .map(|(f, w)| {
                let n = |j: &usize| m.columns[*j].name.clone();
                let f = match f {
                    Feature::Same(j) => n(j),
                    Feature::Prev(j) => format!("prev {}", n(j)),
                    Feature::First => "event start".into(),
                    Feature::Log(j) => format!("log2|{}|", n(j)),
                    Feature::Abs(j) => format!("|{}|", n(j)),
                    Feature::LogPrev(j) => format!("log2|prev {}|", n(j)),
                    Feature::Energy(a, b, c) => {
                        format!("E({}, {}, {})", n(a), n(b), n(c))
                    }
                };
                format!("{w:+.4} {f}")
            })
            .collect();
        eprintln!(
            "  {name:<28} {:>6.2} bits/row, max |error| {:.3e}, {} escapes, {} contexts, predictor{}: {}",
            c.bits_per_row,
            c.max_abs_error,
            c.escapes,
            c.contexts,
            if c.log_target { " of log2|value|" } else { "" },
            if pred.is_empty() { "none".into() } else { pred.join(" ") }
        );
    }
}

fn print_summary(m: &Manifest, out: &std::path::Path) {
    let s = &m.sizes;
    let r = &m.ratios;
    eprintln!(
        "compressed {} rows x {} columns into {}",
        m.rows,
        m.columns.len(),
        out.display()
    );
    eprintln!("  raw float32 table     {:>12}", mb(s.raw_float32));
    eprintln!(
        "  latent ({} x {})      {:>12}   R  = {:.2}",
        m.latent.width,
        serde_json::to_string(&m.latent.dtype)
            .unwrap_or_default()
            .trim_matches('"'),
        mb(s.latent),
        r.r
    );
    eprintln!(
        "  whole artifact        {:>12}   R* = {:.2}  (latent {}, model {}, residuals {}, passthrough {}, manifest {})",
        mb(s.artifact),
        r.r_star,
        mb(s.latent),
        mb(s.model),
        mb(s.residuals),
        mb(s.passthrough),
        mb(s.manifest)
    );
    eprintln!(
        "  gzip -9 of raw        {:>12}   R  = {:.2}",
        mb(s.gzip9_raw),
        r.gzip9
    );
    eprintln!(
        "  zstd Parquet          {:>12}   R  = {:.2}  (lossless)",
        mb(s.zstd_parquet),
        r.zstd_parquet
    );
    for c in m.columns.iter().filter(|c| c.bound.is_some()) {
        let b = c.bound.unwrap();
        let rows = m.rows.max(1) as f64;
        eprintln!(
            "  bound {:<16} {}{}: max |error| {:.3e}, {:.1}% non-zero codes, {} exact escapes",
            c.name,
            b.abs.map(|v| format!("abs {v:e} ")).unwrap_or_default(),
            b.rel.map(|v| format!("rel {v:e}")).unwrap_or_default(),
            c.max_abs_error,
            100.0 * c.nonzero_codes as f64 / rows,
            c.escapes
        );
    }
}

pub fn run_decompress(a: &DecompressArgs) -> Result<()> {
    let t0 = std::time::Instant::now();
    let (writer, batch) = hepae_compress::restore_any(&a.artifact)?;
    let decode = t0.elapsed().as_secs_f64();
    if a.rntuple {
        if a.out.extension().is_none_or(|e| e != "root") {
            anyhow::bail!(
                "{}: --rntuple writes ROOT files; name the output .root",
                a.out.display()
            );
        }
        hepae_compress::write_rntuple_atomic(&batch, &a.out, &a.tree)?;
    } else {
        hepae_compress::write_restored(&batch, &a.artifact, &a.out, &a.tree)?;
    }
    let all = t0.elapsed().as_secs_f64();
    eprintln!(
        "restored {} rows x {} columns (artifact by hepae {}) into {} in {all:.2} s \
         (decoding {decode:.3} s, writing {:.2} s)",
        batch.num_rows(),
        batch.num_columns(),
        writer,
        a.out.display(),
        all - decode
    );
    Ok(())
}
