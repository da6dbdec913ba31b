//! The model study (ATLAS GSoC 2021): a grid of variable sets x models x
//! scalings x seeds trained on one table, each judged on its held-out test
//! rows, tabulated as mean +- std over the seeds.

use hepae_train::{LossConfig, ModelConfig, Scaling, Split, TestMetrics, TrainConfig};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// `study:`: the grid and how each cell trains (the rest from `train:`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudySection {
    /// Networks, each `{name, model, loss}` (`loss` default `train.loss`).
    pub models: Vec<StudyModel>,
    /// Normalisations; empty = `train:`'s as `default`.
    #[serde(default)]
    pub scalings: Vec<StudyScaling>,
    /// Variable sets; empty = every input column as `all`.
    #[serde(default)]
    pub variables: Vec<VariableSet>,
    /// Training seeds of every cell (the split's seed stays fixed).
    #[serde(default = "default_seeds")]
    pub seeds: Vec<u64>,
    /// Epochs of every run (default `train.epochs`).
    #[serde(default)]
    pub epochs: Option<usize>,
    /// First rows of the table the study uses; 0 = all.
    #[serde(default)]
    pub rows: usize,
    /// Held-out rows of every run (default validation 0.15, test 0.15).
    #[serde(default = "default_split")]
    pub split: Split,
}

fn default_seeds() -> Vec<u64> {
    vec![1, 2, 3]
}

fn default_split() -> Split {
    Split {
        validation: 0.15,
        test: 0.15,
        seed: 0,
    }
}

/// One network of the grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudyModel {
    /// Its name in the table.
    pub name: String,
    /// The network.
    pub model: ModelConfig,
    /// Its loss; default `train.loss`.
    #[serde(default)]
    pub loss: Option<LossConfig>,
}

/// One normalisation of the grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudyScaling {
    /// Its name in the table.
    pub name: String,
    /// Table-wide scaling.
    #[serde(default)]
    pub scaling: Scaling,
    /// Per-column scalings (as `train.column_scaling`).
    #[serde(default)]
    pub column_scaling: BTreeMap<String, hepae_train::norm::ColumnScaling>,
    /// Columns log-transformed first.
    #[serde(default)]
    pub log_columns: Vec<String>,
}

/// One variable set of the grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariableSet {
    /// Its name in the table.
    pub name: String,
    /// Drop the columns with at least this share of zeros (0: keep all).
    #[serde(default)]
    pub drop_zero_fraction: f64,
}

/// Mean and sample standard deviation over seeds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MeanStd {
    /// Mean.
    pub mean: f64,
    /// Standard deviation (n - 1; 0 for one seed).
    pub std: f64,
}

impl MeanStd {
    /// Of `v`.
    pub fn of(v: &[f64]) -> MeanStd {
        let n = v.len().max(1) as f64;
        let mean = v.iter().sum::<f64>() / n;
        let ss = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>();
        let std = if v.len() > 1 {
            (ss / (n - 1.0)).sqrt()
        } else {
            0.0
        };
        MeanStd { mean, std }
    }
}

/// One cell of the grid over its seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// Variable set.
    pub variables: String,
    /// Input columns.
    pub columns: Vec<String>,
    /// Model name.
    pub model: String,
    /// Scaling name.
    pub scaling: String,
    /// Seeds run.
    pub seeds: Vec<u64>,
    /// Test MSE (normalised).
    pub mse: MeanStd,
    /// Test RMSE.
    pub rmse: MeanStd,
    /// Per column, 100 x the test rows' median response.
    pub response_percent: BTreeMap<String, MeanStd>,
    /// Mean-mass shift in %, with a `mass` column.
    pub mass_difference_percent: Option<MeanStd>,
    /// Trainable parameters.
    pub parameters: usize,
    /// Training wall time in seconds.
    pub train_seconds: MeanStd,
    /// R* of the autoencoder codec on the study's rows (model bytes counted).
    pub r_star: MeanStd,
    /// `hepae compress` wall time of those rows in seconds.
    pub compress_seconds: MeanStd,
    /// `hepae decompress` wall time (restored Parquet written) in seconds.
    pub decompress_seconds: MeanStd,
}

/// The columns of `m` left by `v` (and the matrix of them).
pub fn select_variables(m: &hepae_train::Matrix, v: &VariableSet) -> hepae_train::Matrix {
    let n = m.cols();
    let keep: Vec<usize> = (0..n)
        .filter(|&j| {
            let zeros = (0..m.rows).filter(|&r| m.values[r * n + j] == 0.0).count();
            v.drop_zero_fraction <= 0.0 || (zeros as f64) < v.drop_zero_fraction * m.rows as f64
        })
        .collect();
    let mut values = Vec::with_capacity(m.rows * keep.len());
    for r in 0..m.rows {
        values.extend(keep.iter().map(|&j| m.values[r * n + j]));
    }
    hepae_train::Matrix {
        names: keep.iter().map(|&j| m.names[j].clone()).collect(),
        dtypes: keep.iter().map(|&j| m.dtypes[j].clone()).collect(),
        values,
        rows: m.rows,
    }
}

/// The training configuration of one run.
fn run_config(
    base: &TrainConfig,
    s: &StudySection,
    m: &StudyModel,
    sc: &StudyScaling,
    seed: u64,
) -> TrainConfig {
    let mut cfg = base.clone();
    cfg.model = m.model.clone();
    cfg.loss = m.loss.clone().unwrap_or_else(|| base.loss.clone());
    cfg.scaling = sc.scaling;
    cfg.column_scaling = sc.column_scaling.clone();
    cfg.log_columns = sc.log_columns.clone();
    cfg.split = s.split.clone();
    cfg.seed = seed;
    cfg.epochs = s.epochs.unwrap_or(base.epochs);
    cfg.checkpoint_every = 0;
    cfg
}

/// Trains every seed of one cell into `dir/seedS` and aggregates.
fn run_cell(
    m: &hepae_train::Matrix,
    table: &Path,
    cfgs: &[(u64, TrainConfig)],
    dir: &Path,
    names: (&str, &str, &str),
) -> std::result::Result<Cell, crate::StageFailure> {
    let mut runs: Vec<Run> = Vec::new();
    for (seed, cfg) in cfgs {
        let out = dir.join(format!("seed{seed}"));
        let t0 = std::time::Instant::now();
        hepae_train::train(m, cfg, &out, &Default::default())
            .map_err(|e| format!("run {}: {e}", out.display()))?;
        let secs = t0.elapsed().as_secs_f64();
        let path = hepae_train::ModelDir(out.clone()).metrics();
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let metrics: TestMetrics = serde_json::from_str(&text)?;
        runs.push(Run {
            metrics,
            train_seconds: secs,
            codec: codec_times(table, &out)?,
        });
    }
    let over = |f: &dyn Fn(&Run) -> f64| MeanStd::of(&runs.iter().map(f).collect::<Vec<_>>());
    let response_percent = m
        .names
        .iter()
        .enumerate()
        .map(|(j, c)| {
            (
                c.clone(),
                over(&|r| 100.0 * r.metrics.variables[j].response.median),
            )
        })
        .collect();
    let mass = runs[0].metrics.mass_difference_percent.is_some();
    let model = hepae_model::load(&dir.join(format!("seed{}", cfgs[0].0)))?;
    Ok(Cell {
        variables: names.0.into(),
        columns: m.names.clone(),
        model: names.1.into(),
        scaling: names.2.into(),
        seeds: cfgs.iter().map(|c| c.0).collect(),
        mse: over(&|r| r.metrics.mse),
        rmse: over(&|r| r.metrics.rmse),
        response_percent,
        mass_difference_percent: mass
            .then(|| over(&|r| r.metrics.mass_difference_percent.unwrap_or(f64::NAN))),
        parameters: model.tensors.iter().map(|t| t.data.len()).sum(),
        train_seconds: over(&|r| r.train_seconds),
        r_star: over(&|r| r.codec.r_star),
        compress_seconds: over(&|r| r.codec.compress),
        decompress_seconds: over(&|r| r.codec.decompress),
    })
}

/// One seed's run of a cell.
struct Run {
    metrics: TestMetrics,
    train_seconds: f64,
    codec: CodecTimes,
}

/// One run's autoencoder codec on the cell's table.
struct CodecTimes {
    r_star: f64,
    compress: f64,
    decompress: f64,
}

/// Compresses `table` with the model in `run` (autoencoder codec, f32
/// latent, as the thesis pipelines) into `run/table.hepae`, restores it, and
/// times both; the restored table is removed again.
fn codec_times(table: &Path, run: &Path) -> std::result::Result<CodecTimes, crate::StageFailure> {
    let opts = hepae_compress::CompressOptions {
        codec: hepae_compress::Codec::Autoencoder,
        ..Default::default()
    };
    let artifact = run.join("table.hepae");
    let t0 = std::time::Instant::now();
    let manifest = hepae_compress::compress(table, run, &artifact, &opts)?;
    let compress = t0.elapsed().as_secs_f64();
    let restored = run.join("restored.parquet");
    let t0 = std::time::Instant::now();
    hepae_compress::decompress(&artifact, &restored, "Events")?;
    let decompress = t0.elapsed().as_secs_f64();
    std::fs::remove_file(&restored).map_err(|e| format!("{}: {e}", restored.display()))?;
    Ok(CodecTimes {
        r_star: manifest.ratios.r_star,
        compress,
        decompress,
    })
}

/// The columns of `m` out of `b`, written to `path` for the codec runs.
fn write_variables(
    b: &arrow_array::RecordBatch,
    m: &hepae_train::Matrix,
    path: &Path,
) -> std::result::Result<(), crate::StageFailure> {
    let idx: Vec<usize> = m
        .names
        .iter()
        .map(|n| b.schema().index_of(n))
        .collect::<std::result::Result<_, _>>()?;
    let projected = b.project(&idx)?;
    std::fs::create_dir_all(path.parent().expect("a file in a directory"))?;
    hepae_table::write_parquet_atomic(&projected, path, &[], hepae_table::DEFAULT_ZSTD_LEVEL)?;
    Ok(())
}

/// The whole grid on `m` (the matrix of `b`) into `dir/runs`, every cell
/// in order.
pub fn run_grid(
    b: &arrow_array::RecordBatch,
    m: &hepae_train::Matrix,
    base: &TrainConfig,
    s: &StudySection,
    dir: &Path,
) -> std::result::Result<Vec<Cell>, crate::StageFailure> {
    let default_scaling = [StudyScaling {
        name: "default".into(),
        scaling: base.scaling,
        column_scaling: base.column_scaling.clone(),
        log_columns: base.log_columns.clone(),
    }];
    let scalings = if s.scalings.is_empty() {
        &default_scaling[..]
    } else {
        &s.scalings
    };
    let all = [VariableSet {
        name: "all".into(),
        drop_zero_fraction: 0.0,
    }];
    let sets = if s.variables.is_empty() {
        &all[..]
    } else {
        &s.variables
    };
    let mut cells = Vec::new();
    for v in sets {
        let mv = select_variables(m, v);
        let table = dir.join("runs").join(&v.name).join("table.parquet");
        write_variables(b, &mv, &table)?;
        for model in &s.models {
            for sc in scalings {
                let cfgs: Vec<(u64, TrainConfig)> = s
                    .seeds
                    .iter()
                    .map(|&seed| (seed, run_config(base, s, model, sc, seed)))
                    .collect();
                let cell_dir = dir
                    .join("runs")
                    .join(&v.name)
                    .join(&model.name)
                    .join(&sc.name);
                eprintln!(
                    "    {} / {} / {}: {} columns, {} seeds",
                    v.name,
                    model.name,
                    sc.name,
                    mv.cols(),
                    cfgs.len()
                );
                cells.push(run_cell(
                    &mv,
                    &table,
                    &cfgs,
                    &cell_dir,
                    (&v.name, &model.name, &sc.name),
                )?);
            }
        }
    }
    Ok(cells)
}
