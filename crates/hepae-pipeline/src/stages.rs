//! Stage planning, up-to-date checks and execution.

use crate::config::{Dataset, IngestSection, Pipeline, PreprocessSection};
use crate::{expand_data, read_yaml, PipelineError, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The stages, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// ROOT -> flat Parquet.
    Ingest,
    /// Cuts and column choices.
    Preprocess,
    /// Autoencoder training.
    Train,
    /// Table + model -> artifact.
    Compress,
    /// Artifact -> restored table.
    Decompress,
    /// Report.
    Validate,
    /// Events -> Rapidity-Mass Matrices.
    Rmm,
    /// Anomaly model and scores.
    Anomaly,
}

impl Stage {
    /// All stages in order.
    pub const ALL: [Stage; 8] = [
        Stage::Ingest,
        Stage::Preprocess,
        Stage::Train,
        Stage::Compress,
        Stage::Decompress,
        Stage::Validate,
        Stage::Rmm,
        Stage::Anomaly,
    ];
    /// Lower-case name (also the output directory).
    pub fn name(self) -> &'static str {
        match self {
            Stage::Ingest => "ingest",
            Stage::Preprocess => "preprocess",
            Stage::Train => "train",
            Stage::Compress => "compress",
            Stage::Decompress => "decompress",
            Stage::Validate => "validate",
            Stage::Rmm => "rmm",
            Stage::Anomaly => "anomaly",
        }
    }
}

impl std::str::FromStr for Stage {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Stage, String> {
        Stage::ALL
            .into_iter()
            .find(|st| st.name() == s)
            .ok_or_else(|| {
                format!("unknown stage '{s}' (ingest, preprocess, train, compress, decompress, validate, rmm, anomaly)")
            })
    }
}

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Re-run this stage and every later one.
    pub from: Option<Stage>,
    /// Run only this stage (earlier ones must have run).
    pub only: Option<Stage>,
    /// Re-run every stage.
    pub force: bool,
    /// `KEY=VALUE` overrides of the pipeline file (`train.epochs=30`).
    pub set: Vec<String>,
}

/// What happened to one stage.
#[derive(Debug, Clone, PartialEq)]
pub struct StageOutcome {
    /// Stage.
    pub stage: Stage,
    /// Output directory.
    pub dir: PathBuf,
    /// False when it was up to date and skipped.
    pub ran: bool,
}

/// `stage.json`: the hash that decides whether a stage is up to date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct StageRecord {
    stage: String,
    key: String,
    /// Keys of the stages whose outputs this one read.
    #[serde(default)]
    upstream: Vec<String>,
    hepae_version: String,
    config: serde_json::Value,
    seconds: f64,
}

fn sha(v: &serde_json::Value) -> String {
    let d = Sha256::digest(v.to_string().as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

fn read_record(dir: &Path) -> Option<StageRecord> {
    serde_json::from_str(&std::fs::read_to_string(dir.join("stage.json")).ok()?).ok()
}

struct Ctx<'a> {
    opts: &'a RunOptions,
    outcomes: Vec<StageOutcome>,
    step: usize,
    steps: usize,
}

impl Ctx<'_> {
    /// Runs `work` in `dir` unless its record holds `key`; returns the key.
    fn stage(
        &mut self,
        stage: Stage,
        dir: &Path,
        label: &str,
        config: serde_json::Value,
        upstream: &[&str],
        work: impl FnOnce(&Path) -> std::result::Result<(), String>,
    ) -> Result<String> {
        self.step += 1;
        let key = sha(&serde_json::json!({
            "stage": stage.name(),
            "hepae": env!("CARGO_PKG_VERSION"),
            "config": config,
            "upstream": upstream,
        }));
        let forced = self.opts.force
            || self.opts.from.is_some_and(|f| stage >= f)
            || self.opts.only == Some(stage);
        let up_to_date = read_record(dir).is_some_and(|r| r.key == key);
        let err = |m: String| PipelineError::Stage {
            stage: label.to_string(),
            message: m,
        };
        let prefix = format!("[{}/{}] {label}", self.step, self.steps);
        let skip_only = self.opts.only.is_some_and(|o| o != stage);
        if skip_only || (up_to_date && !forced) {
            if !up_to_date {
                return Err(err(format!(
                    "has not run with this configuration (in {}); run without --only first",
                    dir.display()
                )));
            }
            if !skip_only {
                eprintln!("{prefix}: up to date, skipped ({})", dir.display());
            }
            self.outcomes.push(StageOutcome {
                stage,
                dir: dir.to_path_buf(),
                ran: false,
            });
            return Ok(key);
        }
        eprintln!("{prefix}: running -> {}", dir.display());
        let t0 = Instant::now();
        // A stage starts from an empty directory so nothing stale survives.
        if dir.exists() {
            std::fs::remove_dir_all(dir).map_err(|e| err(format!("{}: {e}", dir.display())))?;
        }
        std::fs::create_dir_all(dir).map_err(|e| err(format!("{}: {e}", dir.display())))?;
        work(dir).map_err(err)?;
        let rec = StageRecord {
            stage: stage.name().into(),
            key: key.clone(),
            upstream: upstream.iter().map(|k| k.to_string()).collect(),
            hepae_version: env!("CARGO_PKG_VERSION").into(),
            config,
            seconds: t0.elapsed().as_secs_f64(),
        };
        hepae_table::write_json_atomic(&rec, &dir.join("stage.json"))
            .map_err(|e| err(e.to_string()))?;
        eprintln!("{prefix}: done in {:.1} s", rec.seconds);
        self.outcomes.push(StageOutcome {
            stage,
            dir: dir.to_path_buf(),
            ran: true,
        });
        Ok(key)
    }
}

/// Size and modification time of input files: changes re-run ingest
/// without hashing gigabytes.
fn file_stamps(files: &[PathBuf]) -> serde_json::Value {
    files
        .iter()
        .map(|p| {
            let m = std::fs::metadata(p).ok();
            serde_json::json!({
                "path": p.display().to_string(),
                "bytes": m.as_ref().map(|m| m.len()),
                "modified": m.and_then(|m| m.modified().ok()).and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map(|d| d.as_nanos().to_string()),
            })
        })
        .collect()
}

/// The ingest section, from the pipeline or its dataset's stand-in.
fn resolve_ingest(p: &Pipeline, base: &Path) -> Result<(IngestSection, PreprocessSection)> {
    let dataset: Option<Dataset> = match &p.dataset {
        Some(d) => Some(read_yaml(&base.join(d))?),
        None => None,
    };
    let ingest = match (&p.ingest, &dataset) {
        (Some(i), _) => i.clone(),
        (None, Some(d)) => {
            let s = d.stand_in.as_ref().ok_or_else(|| {
                PipelineError::Config(format!(
                    "dataset '{}' lists no stand-in; give an ingest section",
                    d.name
                ))
            })?;
            // The stand-in uses the dataset's column names as branch suffixes.
            IngestSection {
                inputs: s.files.clone(),
                tree: s.tree.clone(),
                collection: s.collection.clone(),
                columns: d.columns.keys().cloned().collect(),
                drop_nonfinite: false,
            }
        }
        (None, None) => {
            return Err(PipelineError::Config(
                "the pipeline needs an ingest section or a dataset".into(),
            ))
        }
    };
    let pre = match (&p.preprocess, &dataset) {
        (Some(s), _) => s.clone(),
        (None, Some(d)) => PreprocessSection {
            cuts: d.cuts.clone(),
            drop_zero_columns: d.drop_zero_columns,
            drop_columns: Vec::new(),
        },
        (None, None) => PreprocessSection::default(),
    };
    Ok((ingest, pre))
}

fn s(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Runs the pipeline in `path`; returns what each stage did and the report paths.
pub fn run(path: &Path, opts: &RunOptions) -> Result<(Vec<StageOutcome>, Vec<PathBuf>)> {
    let p: Pipeline = crate::load_pipeline(path, &opts.set)?;
    let base = path.parent().unwrap_or(Path::new("."));
    let name = p.name.clone().unwrap_or_else(|| {
        path.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "pipeline".into())
    });
    let root = p
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("out"))
        .join(&name);
    if let Some(r) = &p.rmm {
        return run_rmm(&p, r, &root, opts);
    }
    let (ingest, pre) = resolve_ingest(&p, base)?;
    for r in &p.compression_ratios {
        if !(r.is_finite() && *r >= 1.0) {
            return Err(PipelineError::Config(format!(
                "{}: compression_ratios: {r} is not a ratio >= 1",
                path.display()
            )));
        }
    }
    if p.validate.model.is_some() || p.validate.latent.is_some() {
        return Err(PipelineError::Config(format!(
            "{}: validate.model and validate.latent are set by the pipeline (its train stage and compression_ratios)",
            path.display()
        )));
    }
    let variants = p.compression_ratios.len().max(1);
    let mut ctx = Ctx {
        opts,
        outcomes: Vec::new(),
        step: 0,
        steps: 2 + 4 * variants,
    };

    let expanded: Vec<String> = ingest.inputs.iter().map(|p| expand_data(p)).collect();
    let inputs = hepae_ingest::expand_inputs(&expanded).map_err(|m| PipelineError::Stage {
        stage: "ingest".into(),
        message: m.to_string(),
    })?;
    let ingest_dir = root.join("ingest");
    let jets = ingest_dir.join("jets.parquet");
    let ingest_cfg = serde_json::json!({"section": ingest, "files": file_stamps(&inputs)});
    let k_ingest = ctx.stage(
        Stage::Ingest,
        &ingest_dir,
        "ingest",
        ingest_cfg,
        &[],
        |_| {
            let spec = hepae_ingest::IngestSpec {
                inputs: inputs.clone(),
                tree: ingest.tree.clone(),
                collection: ingest.collection.clone(),
                columns: ingest
                    .columns
                    .iter()
                    .map(|c| c.parse())
                    .collect::<std::result::Result<_, _>>()
                    .map_err(s)?,
                cuts: Vec::new(),
                drop_zero_columns: false,
                drop_nonfinite: ingest.drop_nonfinite,
                first_file_index: 0,
            };
            let r = hepae_ingest::ingest_to_parquet(
                &spec,
                &jets,
                hepae_table::DEFAULT_ZSTD_LEVEL,
                &|_, _| {},
            )
            .map_err(s)?;
            hepae_table::write_json_atomic(&r, &ingest_dir.join("jets.parquet.json")).map_err(s)?;
            eprintln!(
                "    {} rows x {} columns",
                r.rows_after_cuts,
                r.columns.len() + 2
            );
            Ok(())
        },
    )?;

    let pre_dir = root.join("preprocess");
    let table = pre_dir.join("table.parquet");
    let k_pre = ctx.stage(
        Stage::Preprocess,
        &pre_dir,
        "preprocess",
        serde_json::to_value(&pre).map_err(|e| PipelineError::Config(e.to_string()))?,
        &[&k_ingest],
        |dir| {
            let b = hepae_table::read_parquet(&jets).map_err(s)?;
            let (out, report) = hepae_ingest::preprocess::apply(&b, &pre).map_err(s)?;
            hepae_table::write_parquet_atomic(&out, &table, &[], hepae_table::DEFAULT_ZSTD_LEVEL)
                .map_err(s)?;
            hepae_table::write_json_atomic(&report, &dir.join("report.json")).map_err(s)?;
            for (c, n) in &report.cuts {
                eprintln!("    cut {c:<24} -> {n} rows");
            }
            if !report.dropped_zero_columns.is_empty() {
                eprintln!(
                    "    dropped all-zero columns: {}",
                    report.dropped_zero_columns.join(", ")
                );
            }
            Ok(())
        },
    )?;

    // Feature count after preprocessing decides the latent size of each ratio.
    let features = {
        let schema =
            hepae_table::read_parquet_schema(&table).map_err(|e| PipelineError::Stage {
                stage: "preprocess".into(),
                message: e.to_string(),
            })?;
        if p.train.columns.is_empty() {
            schema
                .fields()
                .iter()
                .filter(|f| !hepae_table::LABEL_COLUMNS.contains(&f.name().as_str()))
                .count()
        } else {
            p.train.columns.len()
        }
    };
    let mut reports = Vec::new();
    let plan: Vec<(String, usize)> = if p.compression_ratios.is_empty() {
        vec![(String::new(), p.train.model.latent)]
    } else {
        p.compression_ratios
            .iter()
            .map(|r| {
                (
                    format!("r{r}"),
                    ((features as f64 / r).round() as usize).max(1),
                )
            })
            .collect()
    };
    for (tag, latent) in plan {
        let vroot = if tag.is_empty() {
            root.clone()
        } else {
            root.join(&tag)
        };
        let label = |st: &str| {
            if tag.is_empty() {
                st.to_string()
            } else {
                format!("{st} ({tag}, latent {latent})")
            }
        };
        let mut cfg = p.train.clone();
        cfg.model.latent = latent;
        let train_dir = vroot.join("train");
        let k_train = ctx.stage(
            Stage::Train,
            &train_dir,
            &label("train"),
            serde_json::to_value(&cfg).map_err(|e| PipelineError::Config(e.to_string()))?,
            &[&k_pre],
            |dir| {
                let b = hepae_table::read_parquet(&table).map_err(s)?;
                let m = hepae_table::from_batch(&b, &cfg.columns).map_err(s)?;
                eprintln!(
                    "    {:?} on {} rows x {} columns -> latent {latent}, up to {} epochs",
                    cfg.model.kind,
                    m.rows,
                    m.cols(),
                    cfg.epochs
                );
                let o = crate::train_with_plot(&m, &cfg, dir, false).map_err(s)?;
                let last = o
                    .history
                    .last()
                    .map(|h| (h.epoch, h.loss))
                    .unwrap_or((0, f64::NAN));
                eprintln!("    {} epochs on {}: loss {:.4e}", last.0, o.device, last.1);
                Ok(())
            },
        )?;
        let comp_dir = vroot.join("compress");
        let artifact = comp_dir.join("jets.hepae");
        let k_comp = ctx.stage(
            Stage::Compress,
            &comp_dir,
            &label("compress"),
            serde_json::to_value(&p.compress).map_err(|e| PipelineError::Config(e.to_string()))?,
            &[&k_pre, &k_train],
            |_| {
                let m = hepae_compress::compress(&table, &train_dir, &artifact, &p.compress)
                    .map_err(s)?;
                eprintln!(
                    "    R = {:.2}, R* = {:.2} (gzip -9 {:.2}, zstd Parquet {:.2})",
                    m.ratios.r, m.ratios.r_star, m.ratios.gzip9, m.ratios.zstd_parquet
                );
                Ok(())
            },
        )?;
        let dec_dir = vroot.join("decompress");
        let restored = dec_dir.join("restored.parquet");
        let k_dec = ctx.stage(
            Stage::Decompress,
            &dec_dir,
            &label("decompress"),
            serde_json::json!({}),
            &[&k_comp],
            |_| {
                hepae_compress::decompress(&artifact, &restored, "Events").map_err(s)?;
                Ok(())
            },
        )?;
        let val_dir = vroot.join("validate");
        // The chain decides the model and latent size; the file gives the rest.
        let vopts = hepae_validate::ValidateOptions {
            latent: Some(latent),
            model: Some(train_dir.clone()),
            ..p.validate.clone()
        };
        ctx.stage(
            Stage::Validate,
            &val_dir,
            &label("validate"),
            serde_json::to_value(&p.validate).map_err(|e| PipelineError::Config(e.to_string()))?,
            &[&k_pre, &k_train, &k_dec],
            |dir| {
                // The report replaces the (fresh) stage directory's `report/`.
                let report = dir.join("report");
                hepae_validate::validate(&table, &restored, &report, &vopts).map_err(s)?;
                Ok(())
            },
        )?;
        reports.push(val_dir.join("report/index.html"));
    }
    Ok((ctx.outcomes, reports))
}

/// The anomaly chain: rmm -> anomaly.
fn run_rmm(
    p: &Pipeline,
    r: &crate::config::RmmSection,
    root: &Path,
    opts: &RunOptions,
) -> Result<(Vec<StageOutcome>, Vec<PathBuf>)> {
    let mut ctx = Ctx {
        opts,
        outcomes: Vec::new(),
        step: 0,
        steps: 2,
    };
    let samples: Vec<hepae_rmm::Sample> = r
        .samples
        .iter()
        .map(|s| hepae_rmm::Sample {
            path: PathBuf::from(expand_data(&s.file)),
            process: s.process.clone(),
            signal: s.signal,
        })
        .collect();
    if !samples.iter().any(|s| !s.signal) {
        return Err(PipelineError::Config(
            "rmm: no background sample (signal: false)".into(),
        ));
    }
    let files: Vec<PathBuf> = samples.iter().map(|s| s.path.clone()).collect();
    let rmm_dir = root.join("rmm");
    let table = rmm_dir.join("rmm.parquet");
    let cfg = serde_json::json!({"section": r, "files": file_stamps(&files)});
    let k_rmm = ctx.stage(Stage::Rmm, &rmm_dir, "rmm", cfg, &[], |dir| {
        let b = hepae_rmm::rmm_table(&samples, &r.tree, &r.matrix).map_err(s)?;
        let meta = vec![(
            "hepae.rmm".to_string(),
            serde_json::to_string(&r.matrix).map_err(s)?,
        )];
        hepae_table::write_parquet_atomic(&b, &table, &meta, hepae_table::DEFAULT_ZSTD_LEVEL)
            .map_err(s)?;
        // One event's matrix as a heat map, as in the thesis figures.
        let title = format!("RMM of event 0 ({})", samples[0].process);
        hepae_rmm::heatmap_of_event(&b, &r.matrix, 0, &dir.join("rmm_event0.png"), &title)
            .map_err(s)?;
        let side = hepae_rmm::rmm::size(&r.matrix);
        eprintln!("    {} events x {side}x{side} cells", b.num_rows());
        Ok(())
    })?;
    let an_dir = root.join("anomaly");
    let cfg = serde_json::json!({"train": p.train, "anomaly": p.anomaly});
    ctx.stage(Stage::Anomaly, &an_dir, "anomaly", cfg, &[&k_rmm], |dir| {
        let b = hepae_table::read_parquet(&table).map_err(s)?;
        let sum = hepae_rmm::anomaly::run(&b, &p.train, &p.anomaly, dir).map_err(s)?;
        for roc in &sum.rocs {
            eprintln!("    AUC {} vs SM background: {:.4}", roc.signal, roc.auc);
        }
        Ok(())
    })?;
    Ok((ctx.outcomes, vec![an_dir.join("summary.json")]))
}
