//! Anomaly detection on RMM tables: train on 80% of the background, score
//! every event by its reconstruction MSE (normalised features), ROC and AUC
//! of each signal against the held-out background, signal-region counts.

use crate::events::Events;
use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// Options of the anomaly stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnomalyOptions {
    /// Fraction of the background held out for evaluation.
    pub test_fraction: f64,
    /// Seed of the split.
    pub seed: u64,
    /// The anomaly score: `reconstruction` (MSE), or for VAEs `kl` or `sum`.
    pub score: crate::score::ScoreKind,
    /// Column with per-event weights; default: `weight` when the table has
    /// one (the RMM tables do), else every event weighs 1.
    pub weight_column: Option<String>,
    /// Train on the weighted loss when the table has event weights (each
    /// event's loss times its weight), as a weighted background would be
    /// fitted; `false` trains every event at weight 1.
    pub weighted_loss: bool,
    /// Also retrain once per background process without it (the
    /// leave-one-out sensitivity check; one extra training each).
    pub leave_one_out: bool,
    /// More models trained on the same events, their AUCs reported beside
    /// the nominal one's (`summary.json`'s `models`).
    pub compare: Vec<CompareModel>,
}

/// One more model of the comparison: the nominal training with another
/// network (and optionally another loss).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompareModel {
    /// Its name in the report (unique, not `nominal`).
    pub name: String,
    /// The network.
    pub model: hepae_train::config::ModelConfig,
    /// The loss; default the nominal training's.
    #[serde(default)]
    pub loss: Option<hepae_train::config::LossConfig>,
}

impl Default for AnomalyOptions {
    fn default() -> Self {
        AnomalyOptions {
            test_fraction: 0.2,
            seed: 0,
            weight_column: None,
            score: crate::score::ScoreKind::Reconstruction,
            weighted_loss: true,
            leave_one_out: false,
            compare: Vec::new(),
        }
    }
}

/// ROC of one signal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Roc {
    /// Signal process.
    pub signal: String,
    /// Area under the curve (probability a signal event scores above a background one).
    pub auc: f64,
    /// (background efficiency, signal efficiency) points, thresholds descending.
    pub points: Vec<(f64, f64)>,
}

/// Events above one signal-region threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignalRegion {
    /// i in median * (1 + i/5).
    pub i: u32,
    /// Score threshold.
    pub threshold: f64,
    /// Weighted events above it per process (held-out background, all signal).
    pub counts: BTreeMap<String, f64>,
}

/// AUC of each signal by score kind: `{score: {signal: auc}}`.
pub type AucsByScore = BTreeMap<String, BTreeMap<String, f64>>;

/// `summary.json` of the stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnomalySummary {
    /// Feature columns used.
    pub features: usize,
    /// Background events trained on.
    pub train_events: u64,
    /// Held-out background events.
    pub test_events: u64,
    /// Median score of the held-out background.
    pub background_median: f64,
    /// One ROC per signal process.
    pub rocs: Vec<Roc>,
    /// Signal regions i = 1, 2, 3.
    pub signal_regions: Vec<SignalRegion>,
    /// Held-out background weight scaled up to the whole background's
    /// (b in the significances is the whole background's expected yield).
    pub background_scale: f64,
    /// Per signal: SIC at the Dark Machines eps_B, significances, Z_A scan.
    pub merits: Vec<crate::merit::Merit>,
    /// The score the figures of merit use.
    pub score: crate::score::ScoreKind,
    /// AUC of each signal by every score the model has (reconstruction;
    /// for VAEs also kl and sum).
    pub auc_by_score: BTreeMap<String, BTreeMap<String, f64>>,
    /// Whether training minimised the event-weighted loss.
    #[serde(default)]
    pub weighted_loss: bool,
    /// Plots of the carried event quantities in the first signal region
    /// (PNG names in the stage folder).
    #[serde(default)]
    pub sr_plots: Vec<String>,
    /// Sensitivity checks: pT-scaled signals, shuffled cells, processes
    /// left out of training.
    #[serde(default)]
    pub sensitivity: crate::sensitivity::Sensitivity,
    /// Per model (`nominal` and each of `anomaly.compare`), the AUC of each
    /// signal by every score the model has.
    #[serde(default)]
    pub models: BTreeMap<String, AucsByScore>,
}

/// AUC and ROC points of weighted scores (ties counted half).
pub fn roc(background: &[(f64, f64)], signal: &[(f64, f64)]) -> (f64, Vec<(f64, f64)>) {
    let mut all: Vec<(f64, f64, bool)> = background
        .iter()
        .map(|&(s, w)| (s, w, false))
        .chain(signal.iter().map(|&(s, w)| (s, w, true)))
        .collect();
    all.sort_by(|a, b| b.0.total_cmp(&a.0));
    let wb: f64 = background.iter().map(|x| x.1).sum();
    let ws: f64 = signal.iter().map(|x| x.1).sum();
    let (mut fb, mut fs, mut auc) = (0.0, 0.0, 0.0);
    let mut pts = vec![(0.0, 0.0)];
    let mut i = 0;
    while i < all.len() {
        // Events with equal scores move together (a diagonal step).
        let (mut db, mut ds) = (0.0, 0.0);
        let s = all[i].0;
        while i < all.len() && all[i].0 == s {
            if all[i].2 {
                ds += all[i].1;
            } else {
                db += all[i].1;
            }
            i += 1;
        }
        let (nb, ns) = (fb + db / wb, fs + ds / ws);
        auc += (nb - fb) * (fs + ns) / 2.0;
        fb = nb;
        fs = ns;
        pts.push((fb, fs));
    }
    (auc, pts)
}

/// Trains on the background of `table` (an RMM table with `process` and
/// `is_signal`), scores every event and writes model, scores, plots and
/// summary into `out`.
pub fn run(
    table: &RecordBatch,
    train_cfg: &hepae_train::TrainConfig,
    opts: &AnomalyOptions,
    out: &Path,
) -> crate::Result<AnomalySummary> {
    check_options(train_cfg, opts)?;
    let ev = Events::of(table, opts)?;
    let m = hepae_table::from_batch(table, &ev.features)?;
    let test = held_out(&ev, opts);
    let fit = Fit {
        m: &m,
        ev: &ev,
        rows: (0..m.rows).filter(|&i| !ev.signal[i] && !test[i]).collect(),
        weighted: opts.weighted_loss && ev.weighted,
    };
    if fit.rows.is_empty() {
        return Err("no background events to train on".into());
    }
    let model_dir = out.join("model");
    fit.train(train_cfg, &fit.rows, &model_dir)?;
    let scores = crate::score::scores(&m, &model_dir)?;
    let score = scores.chosen(opts.score)?;
    let mut summary = summarise(&ev, &score, &test, fit.rows.len());
    summary.score = opts.score;
    summary.weighted_loss = fit.weighted;
    summary.auc_by_score =
        crate::score::aucs_by_score(&scores, &ev.signal, &ev.process, &ev.weights, &test);
    summary.models = compare_models(&fit, &test, train_cfg, opts, out, &summary.auc_by_score)?;
    summary.sensitivity = sensitivity(&fit, &test, &score, train_cfg, opts, out, &summary.rocs)?;
    write_scores(table, &ev, &test, &score, &out.join("scores.parquet"))?;
    crate::merit::plots(out, &summary.merits, &summary.rocs)?;
    summary.sr_plots = draw(out, &ev, &test, &score, &summary)?;
    hepae_table::write_json_atomic(&summary, &out.join("summary.json"))?;
    crate::report::write(out, &summary)?;
    Ok(summary)
}

/// A KL or sum score needs a VAE; every network valid activations;
/// compared models proper names.
fn check_options(train_cfg: &hepae_train::TrainConfig, opts: &AnomalyOptions) -> crate::Result<()> {
    if opts.score != crate::score::ScoreKind::Reconstruction
        && !train_cfg.model.kind.is_variational()
    {
        return Err(format!(
            "anomaly.score: {} needs a vae or beta_vae model (train.model.kind is {:?})",
            opts.score.name(),
            train_cfg.model.kind
        )
        .into());
    }
    // Every network's activations, before any of them trains.
    train_cfg
        .model
        .layer_activations()
        .map_err(|e| format!("train.model: {e}"))?;
    for (i, c) in opts.compare.iter().enumerate() {
        c.model
            .layer_activations()
            .map_err(|e| format!("anomaly.compare[{i}].model: {e}"))?;
    }
    check_compare(&opts.compare)
}

/// The seeded held-out part of the background.
fn held_out(ev: &Events, opts: &AnomalyOptions) -> Vec<bool> {
    (0..ev.signal.len())
        .map(|i| {
            !ev.signal[i]
                && (hepae_train::mix(opts.seed, i as u64) as f64 / u64::MAX as f64)
                    < opts.test_fraction
        })
        .collect()
}

/// What every training of the stage shares: the features, the events and
/// whether the loss is weighted.
struct Fit<'a> {
    m: &'a hepae_table::Matrix,
    ev: &'a Events,
    /// The nominal training rows.
    rows: Vec<usize>,
    weighted: bool,
}

impl Fit<'_> {
    /// Trains `cfg` on `rows` into `dir`.
    fn train(
        &self,
        cfg: &hepae_train::TrainConfig,
        rows: &[usize],
        dir: &Path,
    ) -> crate::Result<()> {
        let w = self
            .weighted
            .then(|| rows.iter().map(|&i| self.ev.weights[i]).collect());
        train_on(self.m, rows, w, &self.ev.features, cfg, dir)
    }
}

/// The nominal model's AUCs and those of each compared model, trained on
/// the same rows (`out/models/NAME/model`).
fn compare_models(
    fit: &Fit,
    test: &[bool],
    train_cfg: &hepae_train::TrainConfig,
    opts: &AnomalyOptions,
    out: &Path,
    nominal: &AucsByScore,
) -> crate::Result<BTreeMap<String, AucsByScore>> {
    let ev = fit.ev;
    let mut models = BTreeMap::from([("nominal".to_string(), nominal.clone())]);
    for c in &opts.compare {
        let mut cfg = train_cfg.clone();
        cfg.model = c.model.clone();
        if let Some(l) = &c.loss {
            cfg.loss = l.clone();
        }
        let dir = out.join("models").join(&c.name).join("model");
        fit.train(&cfg, &fit.rows, &dir)?;
        let s = crate::score::scores(fit.m, &dir)?;
        let aucs = crate::score::aucs_by_score(&s, &ev.signal, &ev.process, &ev.weights, test);
        models.insert(c.name.clone(), aucs);
    }
    Ok(models)
}

/// The sensitivity checks: pT-scaled signals (from the ROCs), shuffled
/// cells, and the leave-one-out trainings when asked for.
#[allow(clippy::too_many_arguments)]
fn sensitivity(
    fit: &Fit,
    test: &[bool],
    score: &[f64],
    train_cfg: &hepae_train::TrainConfig,
    opts: &AnomalyOptions,
    out: &Path,
    rocs: &[Roc],
) -> crate::Result<crate::sensitivity::Sensitivity> {
    let model_dir = out.join("model");
    let test_rows: Vec<usize> = (0..test.len()).filter(|&i| test[i]).collect();
    let shuffled =
        crate::sensitivity::shuffled(fit.m, &test_rows, score, &model_dir, opts.score, opts.seed)?;
    let left_out = if opts.leave_one_out {
        let train = |rows: &[usize], dir: &Path| fit.train(train_cfg, rows, dir);
        crate::sensitivity::left_out(
            fit.m,
            &fit.rows,
            test,
            (&fit.ev.process, &fit.ev.weights),
            score,
            opts.score,
            &out.join("sensitivity"),
            &train,
        )?
    } else {
        Vec::new()
    };
    Ok(crate::sensitivity::Sensitivity {
        pt_scaled: crate::sensitivity::pt_scaled(rocs),
        shuffled: Some(shuffled),
        left_out,
    })
}

/// The score, ROC and SR1 quantity plots; returns the SR1 plots' names.
fn draw(
    out: &Path,
    ev: &Events,
    test: &[bool],
    score: &[f64],
    summary: &AnomalySummary,
) -> crate::Result<Vec<String>> {
    let stack = crate::plots::Stack {
        weight: &ev.weights,
        process: &ev.process,
        signal: &ev.signal,
    };
    // Held-out background and every signal event, but the pT-scaled signal
    // copies, which are for the sensitivity table only.
    let shown = |i: usize| {
        (ev.signal[i] || test[i]) && !ev.process[i].contains(crate::sensitivity::PT_SCALED)
    };
    crate::plots::score_plot(out, score, &stack, &shown)?;
    crate::plots::roc_plot(out, &summary.rocs)?;
    let Some(sr1) = summary.signal_regions.first() else {
        return Ok(Vec::new());
    };
    let in_sr1 = |i: usize| shown(i) && score[i] > sr1.threshold;
    Ok(crate::plots::region_plots(
        out,
        &ev.carried,
        &stack,
        &in_sr1,
        summary.background_scale,
        "SR1 (score > median x 1.2)",
    )?)
}

/// Names of the compared models: present, unique, not `nominal`.
fn check_compare(models: &[CompareModel]) -> crate::Result<()> {
    for (i, c) in models.iter().enumerate() {
        let bad = c.name.is_empty()
            || c.name == "nominal"
            || c.name.contains(['/', '\\'])
            || models[..i].iter().any(|d| d.name == c.name);
        if bad {
            return Err(format!(
                "anomaly.compare[{i}].name: '{}' must be a unique, non-empty name other than 'nominal', without slashes",
                c.name
            )
            .into());
        }
    }
    Ok(())
}

/// Trains the autoencoder on the given rows of `m`.
fn train_on(
    m: &hepae_table::Matrix,
    rows: &[usize],
    row_weights: Option<Vec<f64>>,
    features: &[String],
    train_cfg: &hepae_train::TrainConfig,
    model_dir: &Path,
) -> crate::Result<()> {
    let n = m.cols();
    let mut tv = Vec::with_capacity(rows.len() * n);
    for &i in rows {
        tv.extend_from_slice(&m.values[i * n..(i + 1) * n]);
    }
    let train = hepae_table::Matrix {
        names: m.names.clone(),
        dtypes: m.dtypes.clone(),
        values: tv,
        rows: rows.len(),
    };
    let mut cfg = train_cfg.clone();
    cfg.columns = features.to_vec();
    hepae_train::train(
        &train,
        &cfg,
        model_dir,
        &hepae_train::RunOptions {
            progress: true,
            row_weights,
            ..Default::default()
        },
    )?;
    Ok(())
}

/// ROC per signal against the held-out background, and signal-region counts.
fn summarise(ev: &Events, score: &[f64], test: &[bool], train_events: usize) -> AnomalySummary {
    let rows = score.len();
    let eval = |i: usize| ev.signal[i] || test[i];
    let bkg: Vec<(f64, f64)> = (0..rows)
        .filter(|&i| test[i])
        .map(|i| (score[i], ev.weights[i]))
        .collect();
    let mut sorted: Vec<f64> = bkg.iter().map(|b| b.0).collect();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let median = if sorted.is_empty() {
        f64::NAN
    } else {
        sorted[sorted.len() / 2]
    };
    let mut sig_procs: Vec<String> = (0..rows)
        .filter(|&i| ev.signal[i])
        .map(|i| ev.process[i].clone())
        .collect();
    sig_procs.sort();
    sig_procs.dedup();
    let rocs: Vec<Roc> = sig_procs
        .iter()
        .map(|p| {
            let s: Vec<(f64, f64)> = (0..rows)
                .filter(|&i| ev.signal[i] && &ev.process[i] == p)
                .map(|i| (score[i], ev.weights[i]))
                .collect();
            let (auc, points) = roc(&bkg, &s);
            Roc {
                signal: p.clone(),
                auc,
                points,
            }
        })
        .collect();
    let total_bkg: f64 = (0..rows)
        .filter(|&i| !ev.signal[i])
        .map(|i| ev.weights[i])
        .sum();
    let held: f64 = bkg.iter().map(|b| b.1).sum();
    let background_scale = if held > 0.0 { total_bkg / held } else { 1.0 };
    let merits = sig_procs
        .iter()
        .zip(&rocs)
        .map(|(p, r)| {
            let s: Vec<(f64, f64)> = (0..rows)
                .filter(|&i| ev.signal[i] && &ev.process[i] == p)
                .map(|i| (score[i], ev.weights[i]))
                .collect();
            let mut m = crate::merit::merit(p, &s, &bkg, &r.points, median, background_scale);
            if let Some(met) = &ev.met {
                let with_met = |keep: &dyn Fn(usize) -> bool| -> Vec<(f64, f64, f64)> {
                    (0..rows)
                        .filter(|&i| keep(i))
                        .map(|i| (score[i], ev.weights[i], met[i]))
                        .collect()
                };
                let sig = with_met(&|i| ev.signal[i] && &ev.process[i] == p);
                let bk = with_met(&|i| test[i]);
                m.met_scans = m
                    .signal_regions
                    .iter()
                    .map(|r| crate::merit::met_scan(&sig, &bk, r.cut, background_scale))
                    .collect();
            }
            m
        })
        .collect();
    let signal_regions = (1..=3)
        .map(|i| {
            let threshold = median * (1.0 + i as f64 / 5.0);
            let mut counts = BTreeMap::new();
            for k in (0..rows).filter(|&k| eval(k)) {
                let c = counts.entry(ev.process[k].clone()).or_insert(0.0);
                if score[k] > threshold {
                    *c += ev.weights[k];
                }
            }
            SignalRegion {
                i,
                threshold,
                counts,
            }
        })
        .collect();
    AnomalySummary {
        features: ev.features.len(),
        train_events: train_events as u64,
        test_events: bkg.len() as u64,
        background_median: median,
        rocs,
        signal_regions,
        background_scale,
        merits,
        score: crate::score::ScoreKind::Reconstruction,
        auc_by_score: BTreeMap::new(),
        weighted_loss: false,
        sr_plots: Vec::new(),
        sensitivity: Default::default(),
        models: BTreeMap::new(),
    }
}

/// `scores.parquet`: one row per event with its split, weight and score.
fn write_scores(
    table: &RecordBatch,
    ev: &Events,
    test: &[bool],
    score: &[f64],
    path: &Path,
) -> crate::Result<()> {
    let split: Vec<&str> = (0..score.len())
        .map(|i| match (ev.signal[i], test[i]) {
            (true, _) => "signal",
            (false, true) => "test",
            (false, false) => "train",
        })
        .collect();
    let event = table
        .column_by_name("event")
        .cloned()
        .unwrap_or_else(|| Arc::new(Int64Array::from_iter_values(0..score.len() as i64)));
    let sb = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("event", event.data_type().clone(), false),
            Field::new("process", DataType::Utf8, false),
            Field::new("is_signal", DataType::Boolean, false),
            Field::new("split", DataType::Utf8, false),
            Field::new("weight", DataType::Float64, false),
            Field::new("score", DataType::Float64, false),
        ])),
        vec![
            event,
            Arc::new(StringArray::from(ev.process.clone())) as ArrayRef,
            Arc::new(BooleanArray::from(ev.signal.clone())),
            Arc::new(StringArray::from(split)),
            Arc::new(Float64Array::from(ev.weights.clone())),
            Arc::new(Float64Array::from(score.to_vec())),
        ],
    )?;
    hepae_table::write_parquet_atomic(&sb, path, &[], 3)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_of_known_orderings() {
        let b = [(1.0, 1.0), (2.0, 1.0), (3.0, 1.0)];
        // Perfect separation.
        assert_eq!(roc(&b, &[(4.0, 1.0), (5.0, 1.0)]).0, 1.0);
        // Reversed.
        assert_eq!(roc(&b, &[(0.0, 1.0)]).0, 0.0);
        // Identical distributions: ties count half.
        assert_eq!(roc(&b, &b).0, 0.5);
        // One of three background events above the signal: 2/3.
        assert!((roc(&b, &[(2.5, 1.0)]).0 - 2.0 / 3.0).abs() < 1e-12);
        // Weights: the background event above the signal weighs 3 of 5.
        let bw = [(1.0, 1.0), (2.0, 1.0), (3.0, 3.0)];
        assert!((roc(&bw, &[(2.5, 1.0)]).0 - 2.0 / 5.0).abs() < 1e-12);
    }
}
