//! `hepae generate`: split, train, sample, compare, report.

use crate::classifier::{two_sample_test, TwoSample};
use crate::config::GenerateConfig;
use crate::error::{GenerateError, Result};
use crate::features::{eta_acceptance, FeatureSpace};
use crate::metrics::{
    correlation, distance, frobenius, observables, varying, Distance, Observable,
};
use crate::physical::unphysical_events;
use crate::rng::Rng;
use crate::sample::{events_from_features, gaussian_features, resample_columns, Generator, Sample};
use arrow_array::{BooleanArray, RecordBatch};
use hepae_darkmachines::{slots_of, Slots, Units, OBJECT_TYPES};
use hepae_model::ModelKind;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What to run.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// Events-layout Parquet table (from `hepae ingest --format darkmachines`).
    pub data: PathBuf,
    /// Output directory.
    pub out: PathBuf,
    /// The configuration.
    pub config: GenerateConfig,
    /// Show training progress.
    pub progress: bool,
}

/// Metrics of one sample against the held-out MC events.
#[derive(Debug, Clone, Serialize)]
pub struct SampleMetrics {
    /// `generator`, `perturbed_ground_truth`, `column_resampling` or `gaussian`.
    pub name: String,
    /// Events.
    pub events: usize,
    /// Share of events that were physical before any repair.
    pub physical_before_repair: f64,
    /// Share of events physical after repair (1 for decoded samples).
    pub physical_after_repair: f64,
    /// Repaired events per kind (decoded samples).
    pub repairs: BTreeMap<String, usize>,
    /// Mean of W1 / std(MC) over the observables every sample fills (the
    /// same set for all samples, so the means compare).
    pub mean_wasserstein_over_std: f64,
    /// Observables the held-out MC fills but this sample never does (W1 undefined).
    pub empty_observables: Vec<String>,
    /// Frobenius norm of corr(sample) - corr(MC) over the observables.
    pub correlation_distance: f64,
    /// The classifier two-sample test.
    pub classifier: TwoSample,
    /// Per observable.
    pub distances: Vec<Distance>,
}

/// `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Model kind.
    pub model: ModelKind,
    /// Processes trained on (empty: all).
    pub processes: Vec<String>,
    /// Slots the generator models.
    pub slots: Slots,
    /// Its features.
    pub features: Vec<String>,
    /// |eta| acceptance per type, from the training events.
    pub eta_acceptance: BTreeMap<String, f64>,
    /// Training events.
    pub train_events: usize,
    /// Held-out MC events (never trained on).
    pub holdout_events: usize,
    /// Training wall time.
    pub train_seconds: f64,
    /// Generation speed: prior sampling, decoding and physical decoding.
    pub events_per_second: f64,
    /// Events generated for the speed figure.
    pub speed_events: usize,
    /// The generator and the baselines, generator first.
    pub samples: Vec<SampleMetrics>,
}

fn filter(batch: &RecordBatch, keep: &[bool]) -> Result<RecordBatch> {
    arrow_select::filter::filter_record_batch(batch, &BooleanArray::from(keep.to_vec()))
        .map_err(|e| GenerateError::Input(format!("selecting events: {e}")))
}

/// The events of the configured processes.
fn select_processes(batch: &RecordBatch, cfg: &GenerateConfig, data: &Path) -> Result<RecordBatch> {
    if cfg.processes.is_empty() {
        return Ok(batch.clone());
    }
    use arrow_array::cast::AsArray;
    let col = batch
        .column_by_name("process_ID")
        .and_then(|c| c.as_string_opt::<i32>())
        .ok_or_else(|| {
            GenerateError::Input(format!("{}: no string column 'process_ID'", data.display()))
        })?;
    let keep: Vec<bool> = (0..batch.num_rows())
        .map(|r| cfg.processes.iter().any(|p| p == col.value(r)))
        .collect();
    let out = filter(batch, &keep)?;
    if out.num_rows() == 0 {
        return Err(GenerateError::Input(format!(
            "{}: no events of process(es) {:?}",
            data.display(),
            cfg.processes
        )));
    }
    Ok(out)
}

fn check_slots(want: &Slots, have: &Slots, data: &Path) -> Result<()> {
    for t in OBJECT_TYPES {
        if want.of(t) > have.of(t) {
            return Err(GenerateError::Config(format!(
                "generate.slots.{} = {} but {} has {} {} slots",
                t.plural(),
                want.of(t),
                data.display(),
                have.of(t),
                t.prefix()
            )));
        }
    }
    Ok(())
}

/// The observables as a row-major matrix (NaN as 0) for the classifier.
fn observable_matrix(obs: &[Observable], keep: &[usize]) -> Vec<f32> {
    let rows = obs.first().map_or(0, |o| o.values.len());
    let mut m = Vec::with_capacity(rows * keep.len());
    for r in 0..rows {
        for &k in keep {
            let v = obs[k].values[r];
            m.push(if v.is_finite() { v as f32 } else { 0.0 });
        }
    }
    m
}

struct Reference {
    obs: Vec<Observable>,
    keep: Vec<usize>,
    corr: Vec<f64>,
    matrix: Vec<f32>,
}

fn evaluate(
    name: &str,
    s: &Sample,
    mc: &Reference,
    space: &FeatureSpace,
    seed: u64,
    before: usize,
) -> Result<SampleMetrics> {
    let obs = observables(&s.table, &space.slots)?;
    let distances: Vec<Distance> = mc
        .obs
        .iter()
        .zip(&obs)
        .map(|(m, g)| distance(m, &m.values, &g.values))
        .collect();
    let empty_observables = distances
        .iter()
        .filter(|d| !d.wasserstein.is_finite())
        .map(|d| d.name.clone())
        .collect();
    let rows = s.table.num_rows().max(1) as f64;
    let after = unphysical_events(&s.table, &space.slots, &space.eta_max)?;
    let kinds = ["count", "eta", "order", "positive"];
    Ok(SampleMetrics {
        name: name.into(),
        events: s.table.num_rows(),
        physical_before_repair: 1.0 - before as f64 / rows,
        physical_after_repair: 1.0 - after as f64 / rows,
        repairs: kinds
            .iter()
            .zip(s.repairs)
            .map(|(k, n)| (k.to_string(), n))
            .collect(),
        mean_wasserstein_over_std: f64::NAN,
        empty_observables,
        correlation_distance: frobenius(&mc.corr, &correlation(&obs, &mc.keep)),
        classifier: two_sample_test(
            &mc.matrix,
            &observable_matrix(&obs, &mc.keep),
            mc.keep.len(),
            seed,
        ),
        distances,
    })
}

/// The training and held-out events of the configured processes.
fn split(opts: &GenerateOptions) -> Result<(RecordBatch, RecordBatch, Units)> {
    let cfg = &opts.config;
    let table = hepae_table::read_parquet(&opts.data)?;
    check_slots(&cfg.slots, &slots_of(&table.schema()), &opts.data)?;
    let events = select_processes(&table, cfg, &opts.data)?;
    let mut rng = Rng::new(cfg.seed, 11);
    let held: Vec<bool> = (0..events.num_rows())
        .map(|_| rng.uniform() < cfg.holdout)
        .collect();
    let train = filter(&events, &held.iter().map(|h| !h).collect::<Vec<_>>())?;
    let holdout = filter(&events, &held)?;
    if train.num_rows() < 2 || holdout.num_rows() < 2 {
        return Err(GenerateError::Input(format!(
            "{}: too few events to split ({})",
            opts.data.display(),
            events.num_rows()
        )));
    }
    Ok((
        train,
        holdout,
        hepae_darkmachines::recorded_units(&table.schema()).unwrap_or_default(),
    ))
}

/// What the comparisons read.
struct Inputs<'a> {
    space: &'a FeatureSpace,
    cfg: &'a GenerateConfig,
    train: &'a RecordBatch,
    features: &'a [f32],
    holdout: &'a RecordBatch,
    /// Mean training weight, given to generated events.
    weight: f64,
}

/// Runs the whole stage into `opts.out` (built aside, then renamed).
pub fn run(opts: &GenerateOptions) -> Result<Summary> {
    let cfg = &opts.config;
    cfg.check().map_err(GenerateError::Config)?;
    let (train, holdout, units) = split(opts)?;
    let space = FeatureSpace::new(cfg.slots, cfg.log, eta_acceptance(&train, &cfg.slots)?);
    let features = space.encode(&train)?;
    let weight = crate::features::column(&train, "weight")?
        .iter()
        .sum::<f64>()
        / train.num_rows() as f64;
    let inp = Inputs {
        space: &space,
        cfg,
        train: &train,
        features: &features,
        holdout: &holdout,
        weight,
    };
    hepae_table::write_dir_atomic(&opts.out, |dir| {
        let t0 = Instant::now();
        let generator = crate::train::train(
            &space,
            &features,
            train.num_rows(),
            cfg,
            &dir.join("model"),
            opts.progress,
        )?;
        let train_seconds = t0.elapsed().as_secs_f64();
        let n = if cfg.events == 0 {
            holdout.num_rows()
        } else {
            cfg.events
        };
        let generated = generator.generate(n, cfg.seed, "generated", weight);
        let speed_events = n.max(200_000);
        let t1 = Instant::now();
        let _ = generator.generate(speed_events, cfg.seed + 1, "generated", weight);
        let events_per_second = speed_events as f64 / t1.elapsed().as_secs_f64();
        hepae_table::write_parquet_atomic(
            &generated.table,
            &dir.join("generated.parquet"),
            &[],
            hepae_table::DEFAULT_ZSTD_LEVEL,
        )?;
        hepae_darkmachines::write_csv(&generated.table, units, &dir.join("generated.csv"))?;
        let (samples, hists) = compare(&inp, &generator, &generated)?;
        let summary = Summary {
            model: cfg.model,
            processes: cfg.processes.clone(),
            slots: cfg.slots,
            features: space.names.clone(),
            eta_acceptance: OBJECT_TYPES
                .iter()
                .filter(|t| cfg.slots.of(**t) > 0)
                .map(|t| (t.plural().to_string(), space.eta_max[t.index()]))
                .collect(),
            train_events: train.num_rows(),
            holdout_events: holdout.num_rows(),
            train_seconds,
            events_per_second,
            speed_events,
            samples,
        };
        hepae_table::write_json_atomic(&summary, &dir.join("summary.json"))?;
        crate::report::write(&dir.join("report"), &summary, &hists)?;
        Ok::<_, GenerateError>(summary)
    })
}

/// Observables of every sample, for the report's histograms: MC first.
pub(crate) type Histograms = Vec<(String, Vec<Observable>)>;

/// The generator, the perturbed ground truth and the two baselines against the held-out MC.
fn compare(
    inp: &Inputs,
    generator: &Generator,
    generated: &Sample,
) -> Result<(Vec<SampleMetrics>, Histograms)> {
    let Inputs {
        space,
        cfg,
        train,
        features,
        holdout,
        weight,
    } = *inp;
    let n = generated.table.num_rows();
    let obs = observables(holdout, &space.slots)?;
    let keep = varying(&obs);
    let mc = Reference {
        corr: correlation(&obs, &keep),
        matrix: observable_matrix(&obs, &keep),
        obs,
        keep,
    };
    let dims = space.len();
    let train_rows = features.len() / dims;
    let cycled: Vec<f32> = (0..n)
        .flat_map(|r| {
            features[(r % train_rows) * dims..(r % train_rows + 1) * dims]
                .iter()
                .copied()
        })
        .collect();
    let perturbed = generator.perturbed(&cycled, cfg.alpha, cfg.seed, "perturbed", weight);
    let resampled = Sample {
        table: resample_columns(train, &generated.table, n, cfg.seed),
        repaired: 0,
        repairs: [0; 4],
    };
    let gaussian = events_from_features(
        space,
        &gaussian_features(features, dims, n, cfg.seed),
        "gaussian",
        weight,
    );
    let resampled_bad = unphysical_events(&resampled.table, &space.slots, &space.eta_max)?;
    let mut metrics = Vec::new();
    let mut hists = vec![("MC (held out)".to_string(), mc.obs.clone())];
    for (name, s, before) in [
        ("generator", generated, generated.repaired),
        ("perturbed_ground_truth", &perturbed, perturbed.repaired),
        ("column_resampling", &resampled, resampled_bad),
        ("gaussian", &gaussian, gaussian.repaired),
    ] {
        metrics.push(evaluate(name, s, &mc, space, cfg.seed, before)?);
        hists.push((name.to_string(), observables(&s.table, &space.slots)?));
    }
    common_mean_wasserstein(&mut metrics);
    Ok((metrics, hists))
}

/// Each sample's mean W1/std over the observables that every sample fills.
fn common_mean_wasserstein(metrics: &mut [SampleMetrics]) {
    let n = metrics.first().map_or(0, |m| m.distances.len());
    let common: Vec<usize> = (0..n)
        .filter(|&k| {
            metrics
                .iter()
                .all(|m| m.distances[k].wasserstein_over_std.is_finite())
        })
        .collect();
    for m in metrics.iter_mut() {
        let sum: f64 = common
            .iter()
            .map(|&k| m.distances[k].wasserstein_over_std)
            .sum();
        m.mean_wasserstein_over_std = sum / common.len().max(1) as f64;
    }
}
