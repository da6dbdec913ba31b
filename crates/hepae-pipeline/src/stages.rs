//! Stage planning, up-to-date checks and execution.

use crate::config::{Dataset, IngestSection, Pipeline, PreprocessSection};
use crate::{expand_data, read_yaml, PipelineError, Result, Stage, StageFailure};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::Instant;

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
    /// Continue a train stage that re-runs from the checkpoint in its
    /// directory (an interrupted run, or more epochs), instead of afresh.
    pub resume: bool,
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

pub(crate) struct Ctx<'a> {
    pub(crate) opts: &'a RunOptions,
    pub(crate) outcomes: Vec<StageOutcome>,
    pub(crate) step: usize,
    pub(crate) steps: usize,
}

impl Ctx<'_> {
    /// Runs `work` in `dir` unless its record holds `key`; returns the key.
    pub(crate) fn stage(
        &mut self,
        stage: Stage,
        dir: &Path,
        label: &str,
        config: serde_json::Value,
        upstream: &[&str],
        work: impl FnOnce(&Path) -> std::result::Result<(), StageFailure>,
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
        let err = |e: StageFailure| PipelineError::Stage {
            stage: label.to_string(),
            source: e,
        };
        let prefix = format!("[{}/{}] {label}", self.step, self.steps);
        let skip_only = self.opts.only.is_some_and(|o| o != stage);
        if skip_only || (up_to_date && !forced) {
            if !up_to_date {
                return Err(err(format!(
                    "has not run with this configuration (in {}); run without --only first",
                    dir.display()
                )
                .into()));
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
        // A stage starts from an empty directory so nothing stale survives;
        // a resumed train stage keeps its checkpoint, which the trainer checks.
        let io = |e: std::io::Error| err(Box::new(hepae_table::TableError::io(dir, e)));
        let keep = stage == Stage::Train && self.opts.resume;
        if dir.exists() && !keep {
            std::fs::remove_dir_all(dir).map_err(io)?;
        }
        std::fs::create_dir_all(dir).map_err(io)?;
        work(dir).map_err(err)?;
        let rec = StageRecord {
            stage: stage.name().into(),
            key: key.clone(),
            upstream: upstream.iter().map(|k| k.to_string()).collect(),
            hepae_version: env!("CARGO_PKG_VERSION").into(),
            config,
            seconds: t0.elapsed().as_secs_f64(),
        };
        hepae_table::write_json_atomic(&rec, &dir.join("stage.json"))?;
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
pub(crate) fn file_stamps(files: &[PathBuf]) -> serde_json::Value {
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
pub(crate) fn resolve_ingest(
    p: &Pipeline,
    base: &Path,
) -> Result<(IngestSection, PreprocessSection)> {
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
        return crate::anomaly_chain::run_rmm(&p, r, &root, opts);
    }
    if let Some(g) = &p.generate {
        return crate::generate_chain::run_generate(&p, g, &root, opts);
    }
    if let Some(st) = &p.study {
        return crate::study_chain::run_study(&p, st, &root, base, opts);
    }
    check_chain(&p, path)?;
    let (ingest, pre) = resolve_ingest(&p, base)?;
    let variants = p.compression_ratios.len().max(1);
    let mut ctx = Ctx {
        opts,
        outcomes: Vec::new(),
        step: 0,
        steps: 2 + 4 * variants,
    };
    let jets = root.join("ingest/jets.parquet");
    let k_ingest = stage_ingest(&mut ctx, &ingest, &root.join("ingest"))?;
    let table = root.join("preprocess/table.parquet");
    let k_pre = stage_preprocess(&mut ctx, &pre, &jets, &root.join("preprocess"), &k_ingest)?;
    let mut reports = Vec::new();
    for (tag, latent) in variant_plan(&p, &table)? {
        let v = Variant {
            p: &p,
            table: &table,
            k_pre: &k_pre,
            root: if tag.is_empty() {
                root.clone()
            } else {
                root.join(&tag)
            },
            tag,
            latent,
        };
        reports.push(v.run(&mut ctx)?);
    }
    Ok((ctx.outcomes, reports))
}

/// Settings the chain itself decides are not given in the file.
fn check_chain(p: &Pipeline, path: &Path) -> Result<()> {
    if p.train.is_none() {
        return Err(PipelineError::Config(format!(
            "{}: missing field `train` (the compression chain trains a model; see docs/pipeline.md)",
            path.display()
        )));
    }
    p.train()
        .map_err(|e| PipelineError::Config(format!("{}: {e}", path.display())))?;
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
    Ok(())
}

/// A stage's configuration as hashed into its key.
fn config_value(v: &impl Serialize) -> Result<serde_json::Value> {
    serde_json::to_value(v).map_err(|e| PipelineError::Config(e.to_string()))
}

/// ROOT files -> `ingest/jets.parquet` (+ its report).
pub(crate) fn stage_ingest(ctx: &mut Ctx, ingest: &IngestSection, dir: &Path) -> Result<String> {
    let expanded: Vec<String> = ingest.inputs.iter().map(|p| expand_data(p)).collect();
    let inputs = hepae_ingest::expand_inputs(&expanded).map_err(|e| PipelineError::Stage {
        stage: "ingest".into(),
        source: Box::new(e),
    })?;
    let jets = dir.join("jets.parquet");
    let cfg = serde_json::json!({"section": ingest, "files": file_stamps(&inputs)});
    ctx.stage(Stage::Ingest, dir, "ingest", cfg, &[], |_| {
        let spec = hepae_ingest::IngestSpec {
            inputs: inputs.clone(),
            tree: ingest.tree.clone(),
            collection: ingest.collection.clone(),
            columns: ingest
                .columns
                .iter()
                .map(|c| c.parse())
                .collect::<std::result::Result<_, _>>()?,
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
        )?;
        hepae_table::write_json_atomic(&r, &dir.join("jets.parquet.json"))?;
        eprintln!(
            "    {} rows x {} columns",
            r.rows_after_cuts,
            r.columns.len() + 2
        );
        Ok(())
    })
}

/// `jets` -> `preprocess/table.parquet` after cuts and column drops.
pub(crate) fn stage_preprocess(
    ctx: &mut Ctx,
    pre: &PreprocessSection,
    jets: &Path,
    dir: &Path,
    k_ingest: &str,
) -> Result<String> {
    let table = dir.join("table.parquet");
    let cfg = config_value(pre)?;
    ctx.stage(
        Stage::Preprocess,
        dir,
        "preprocess",
        cfg,
        &[k_ingest],
        |dir| {
            let b = hepae_table::read_parquet(jets)?;
            let (out, report) = hepae_ingest::preprocess::apply(&b, pre)?;
            hepae_table::write_parquet_atomic(&out, &table, &[], hepae_table::DEFAULT_ZSTD_LEVEL)?;
            hepae_table::write_json_atomic(&report, &dir.join("report.json"))?;
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
    )
}

/// (directory tag, latent size) of each compression ratio; the feature
/// count after preprocessing decides the latent size.
fn variant_plan(p: &Pipeline, table: &Path) -> Result<Vec<(String, usize)>> {
    if p.compression_ratios.is_empty() {
        return Ok(vec![(String::new(), p.train()?.model.latent)]);
    }
    let features = if p.train()?.columns.is_empty() {
        let schema = hepae_table::read_parquet_schema(table)?;
        schema
            .fields()
            .iter()
            .filter(|f| !hepae_table::LABEL_COLUMNS.contains(&f.name().as_str()))
            .count()
    } else {
        p.train()?.columns.len()
    };
    Ok(p.compression_ratios
        .iter()
        .map(|r| {
            (
                format!("r{r}"),
                ((features as f64 / r).round() as usize).max(1),
            )
        })
        .collect())
}

/// One latent size: train -> compress -> decompress -> validate.
struct Variant<'a> {
    p: &'a Pipeline,
    table: &'a Path,
    k_pre: &'a str,
    root: PathBuf,
    tag: String,
    latent: usize,
}

impl Variant<'_> {
    fn label(&self, stage: &str) -> String {
        if self.tag.is_empty() {
            stage.to_string()
        } else {
            format!("{stage} ({}, latent {})", self.tag, self.latent)
        }
    }

    /// Runs the four stages; returns the report's path.
    fn run(&self, ctx: &mut Ctx) -> Result<PathBuf> {
        let train_dir = self.root.join("train");
        let k_train = self.train(ctx, &train_dir)?;
        let artifact = self.root.join("compress/jets.hepae");
        let k_comp = self.compress(ctx, &train_dir, &artifact, &k_train)?;
        let restored = self.root.join("decompress/restored.parquet");
        let k_dec = self.decompress(ctx, &artifact, &restored, &k_comp)?;
        self.validate(ctx, &train_dir, &restored, &[self.k_pre, &k_train, &k_dec])
    }

    fn train(&self, ctx: &mut Ctx, dir: &Path) -> Result<String> {
        let mut cfg = self.p.train()?.clone();
        cfg.model.latent = self.latent;
        let latent = self.latent;
        let key = config_value(&cfg)?;
        let resume = ctx.opts.resume;
        ctx.stage(
            Stage::Train,
            dir,
            &self.label("train"),
            key,
            &[self.k_pre],
            |dir| {
                let b = hepae_table::read_parquet(self.table)?;
                let m = hepae_table::from_batch(&b, &cfg.columns)?;
                eprintln!(
                    "    {:?} on {} rows x {} columns -> latent {latent}, up to {} epochs",
                    cfg.model.kind,
                    m.rows,
                    m.cols(),
                    cfg.epochs
                );
                let o = crate::train_with_plot(&m, &cfg, dir, resume)?;
                let last = o
                    .history
                    .last()
                    .map(|h| (h.epoch, h.loss))
                    .unwrap_or((0, f64::NAN));
                if o.resumed_from > 0 {
                    eprintln!("    resumed after epoch {}", o.resumed_from);
                }
                eprintln!("    {} epochs on {}: loss {:.4e}", last.0, o.device, last.1);
                Ok(())
            },
        )
    }

    fn compress(
        &self,
        ctx: &mut Ctx,
        model: &Path,
        artifact: &Path,
        k_train: &str,
    ) -> Result<String> {
        let dir = artifact
            .parent()
            .expect("artifact lies in the stage directory");
        let key = config_value(&self.p.compress)?;
        let up = [self.k_pre, k_train];
        ctx.stage(
            Stage::Compress,
            dir,
            &self.label("compress"),
            key,
            &up,
            |_| {
                let o = &self.p.compress;
                if o.codec == hepae_compress::Codec::Struct {
                    let m = hepae_compress::compress_struct(self.table, artifact, o)?;
                    eprintln!("    structure codec: R* = {:.2}", m.r_star);
                } else {
                    let m = hepae_compress::compress(self.table, model, artifact, o)?;
                    eprintln!(
                        "    R = {:.2}, R* = {:.2} (gzip -9 {:.2}, zstd Parquet {:.2})",
                        m.ratios.r, m.ratios.r_star, m.ratios.gzip9, m.ratios.zstd_parquet
                    );
                }
                Ok(())
            },
        )
    }

    fn decompress(
        &self,
        ctx: &mut Ctx,
        artifact: &Path,
        restored: &Path,
        k_comp: &str,
    ) -> Result<String> {
        let dir = restored
            .parent()
            .expect("restored table lies in the stage directory");
        let label = self.label("decompress");
        ctx.stage(
            Stage::Decompress,
            dir,
            &label,
            serde_json::json!({}),
            &[k_comp],
            |_| {
                hepae_compress::decompress(artifact, restored, "Events")?;
                Ok(())
            },
        )
    }

    fn validate(
        &self,
        ctx: &mut Ctx,
        model: &Path,
        restored: &Path,
        up: &[&str],
    ) -> Result<PathBuf> {
        let dir = self.root.join("validate");
        // The chain decides the model and latent size; the file gives the rest.
        let vopts = hepae_validate::ValidateOptions {
            latent: Some(self.latent),
            model: Some(model.to_path_buf()),
            ..self.p.validate.clone()
        };
        let key = config_value(&self.p.validate)?;
        ctx.stage(
            Stage::Validate,
            &dir,
            &self.label("validate"),
            key,
            up,
            |dir| {
                // The report replaces the (fresh) stage directory's `report/`.
                hepae_validate::validate(self.table, restored, &dir.join("report"), &vopts)?;
                Ok(())
            },
        )?;
        Ok(dir.join("report/index.html"))
    }
}
