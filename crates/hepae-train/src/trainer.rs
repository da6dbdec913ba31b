//! The training loop: seeded shuffling, Adam, ReduceLROnPlateau, early
//! stopping, checkpoints and exact resume.

use crate::config::{BackendKind, TrainConfig};
use crate::data::Matrix;
use crate::error::io_err;
use crate::files::{write_exported, write_history};
use crate::loss::RowWeights;
use crate::metrics::{validation_loss, write_metrics};
use crate::model::AutoEncoder;
use crate::norm::Normalizer;
use crate::split::Held;
use crate::step::{resolve_threads, shards_for, step};
use crate::{loss, TrainError};
use burn::optim::{AdamConfig, ModuleOptimizer};
use burn::prelude::*;
use burn::store::ModuleRecord;
use hepae_model::{ModelDir, ModelMeta};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One epoch of the loss history (epoch 0 is the untrained network).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Mean batch loss of the epoch.
    pub loss: f64,
    /// Learning rate used in the epoch.
    pub lr: f64,
    /// Mean batch loss on the validation rows after the epoch, when
    /// there are any: what early stopping and the schedule then watch.
    #[serde(default)]
    pub validation: Option<f64>,
}

/// Scheduler and stopping state, saved in checkpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct State {
    epoch: usize,
    lr: f64,
    best: f64,
    lr_wait: usize,
    es_wait: usize,
    stopped_early: bool,
    history: Vec<EpochRecord>,
}

/// What a finished run reports.
#[derive(Debug, Clone)]
pub struct TrainOutcome {
    /// Loss per epoch.
    pub history: Vec<EpochRecord>,
    /// True when early stopping ended the run.
    pub stopped_early: bool,
    /// Backend actually used.
    pub device: String,
    /// Epoch the run resumed after (0 for a fresh run).
    pub resumed_from: usize,
}

/// Picks the device for a backend request; returns it with a description.
pub fn select_device(kind: BackendKind) -> (Device, String) {
    match kind {
        BackendKind::Cpu => (Device::flex(), "cpu (flex)".into()),
        BackendKind::Wgpu => (Device::wgpu(DeviceKind::DefaultDevice), "wgpu".into()),
        BackendKind::Auto => {
            let gpus = Device::enumerate_physical();
            match gpus.first() {
                Some(g) => (
                    Device::wgpu(DeviceKind::DefaultDevice),
                    format!("wgpu ({})", g.name),
                ),
                None => (Device::flex(), "cpu (flex, no GPU adapter found)".into()),
            }
        }
    }
}

/// Mixes a seed with an index (SplitMix64 finaliser): epoch shuffles here,
/// the background split of the anomaly stage.
pub fn mix(seed: u64, k: u64) -> u64 {
    let mut z = seed ^ k.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Seeded Fisher-Yates permutation of 0..n.
pub(crate) fn permutation(n: usize, seed: u64) -> Vec<u32> {
    let mut p: Vec<u32> = (0..n as u32).collect();
    let mut s = seed;
    for i in (1..n).rev() {
        s = mix(s, i as u64);
        let j = (s % (i as u64 + 1)) as usize;
        p.swap(i, j);
    }
    p
}

fn write_json(path: &Path, v: &impl Serialize) -> Result<(), TrainError> {
    Ok(hepae_table::write_json_atomic(v, path)?)
}

fn save_checkpoint(
    dir: &Path,
    model: &AutoEncoder,
    optim: &ModuleOptimizer,
    state: &State,
) -> Result<(), TrainError> {
    // Write a fresh directory, then swap it in, so a kill never leaves a torn checkpoint.
    let tmp = dir.with_extension("tmp");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| io_err(&tmp, e))?;
    model
        .clone()
        .save_file(tmp.join("model.bpk"))
        .map_err(|e| io_err(&tmp, format!("{e:?}")))?;
    optim
        .save(tmp.join("optimizer.bpk"))
        .map_err(|e| io_err(&tmp, format!("{e:?}")))?;
    write_json(&tmp.join("state.json"), state)?;
    let old = dir.with_extension("old");
    let _ = std::fs::remove_dir_all(&old);
    if dir.exists() {
        std::fs::rename(dir, &old).map_err(|e| io_err(dir, e))?;
    }
    std::fs::rename(&tmp, dir).map_err(|e| io_err(dir, e))?;
    let _ = std::fs::remove_dir_all(&old);
    Ok(())
}

/// Mean batch loss over the whole (normalised) data without updating the model.
pub(crate) fn mean_loss(
    model: &AutoEncoder,
    cfg: &TrainConfig,
    x: &[f32],
    n: usize,
    device: &Device,
) -> f64 {
    let rows = x.len() / n;
    let mut total = 0.0;
    let mut batches = 0usize;
    for start in (0..rows).step_by(cfg.batch_size) {
        let end = (start + cfg.batch_size).min(rows);
        let xb = Tensor::<2>::from_data(
            TensorData::new(x[start * n..end * n].to_vec(), [end - start, n]),
            device,
        );
        total += batch_loss(model, cfg, &xb, None).into_scalar::<f32>() as f64;
        batches += 1;
    }
    total / batches as f64
}

/// Loss of one batch, VAE latents sampled as in training.
pub(crate) fn batch_loss(
    model: &AutoEncoder,
    cfg: &TrainConfig,
    xb: &Tensor<2>,
    w: RowWeights,
) -> Tensor<1> {
    let f = model.forward(xb.clone(), true);
    loss::total(model, cfg.model.kind, &cfg.loss, xb, w, &f)
}

/// Options of one run that are not part of the model's identity.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Continue from the last checkpoint in the output directory.
    pub resume: bool,
    /// Show a progress bar.
    pub progress: bool,
    /// Stop (as if killed) after this many epochs in this process; for tests of resume.
    pub stop_after: Option<usize>,
    /// Per-row weights of the loss (event weights), one per data row,
    /// finite and >= 0; scaled to mean 1, so the loss is the weighted mean.
    /// `None` weighs every row 1.
    pub row_weights: Option<Vec<f64>>,
}

/// Trains on `data`, writing everything into `out`.
pub fn train(
    data: &Matrix,
    cfg: &TrainConfig,
    out: &Path,
    opts: &RunOptions,
) -> Result<TrainOutcome, TrainError> {
    if data.rows == 0 {
        return Err(TrainError::Input("no rows to train on".into()));
    }
    crate::checks::check_config(data, cfg)?;
    // The thread count is saved resolved: it fixes how batches split (see `step`).
    let mut cfg = cfg.clone();
    let auto_threads = cfg.threads == 0;
    cfg.threads = resolve_threads(cfg.threads);
    let n = data.cols();
    let held = Held::new(data, opts.row_weights.as_deref(), &cfg)?;
    // Normalise once, fitted on the training rows; the fit is part of the model.
    let norm = Normalizer::fit_with(
        &held.train,
        &data.names,
        cfg.scaling,
        &cfg.log_columns,
        &cfg.column_scaling,
    );
    let mut x = held.train.clone();
    norm.apply(&mut x);
    crate::split::check_normalised(&x, &data.names)?;
    let mut xv = held.validation.clone();
    norm.apply(&mut xv);
    // Nothing is written before every check has passed.
    let dir = ModelDir(out.to_path_buf());
    std::fs::create_dir_all(out).map_err(|e| io_err(out, e))?;
    let mut meta = ModelMeta {
        hepae_version: env!("CARGO_PKG_VERSION").into(),
        config: cfg.clone(),
        columns: data.names.clone(),
        dtypes: data.dtypes.clone(),
        rows: held.train.len() / n,
    };
    let (plain_device, device_name) = select_device(cfg.backend);
    let device = plain_device.clone().autodiff();
    let weights = held.weights;

    let ckpt = dir.checkpoint();
    let resuming = opts.resume && ckpt.join("state.json").exists();
    let (mut model, mut optim, mut state) = if resuming {
        if auto_threads {
            // Resume splits batches as the interrupted run did, on any machine.
            let threads = saved_meta(&dir)?.config.threads;
            cfg.threads = threads;
            meta.config.threads = threads;
        }
        resume(&dir, &meta, &cfg, n, &device)?
    } else {
        let _ = std::fs::remove_dir_all(&ckpt);
        let (model, state) = fresh(&cfg, (&x, &xv), n, &device, &plain_device);
        (model, AdamConfig::new().init(), state)
    };
    let resumed_from = if resuming { state.epoch } else { 0 };
    write_json(&dir.config(), &meta)?;
    write_json(&dir.normalizer(), &norm)?;

    let pb = progress_bar(opts.progress, cfg.epochs, state.epoch);
    let shards = shards_for(&cfg, &device);
    let mut epochs_here = 0;
    while state.epoch < cfg.epochs && !state.stopped_early {
        let epoch = state.epoch + 1;
        let t0 = std::time::Instant::now();
        let (updated, epoch_loss) = run_epoch(
            model,
            &mut optim,
            &cfg,
            (&x, weights.as_deref()),
            n,
            epoch,
            state.lr,
            shards,
            &device,
        );
        model = updated;
        if !epoch_loss.is_finite() {
            return Err(TrainError::Diverged(format!(
                "loss became {epoch_loss} in epoch {epoch}; lower the learning rate"
            )));
        }
        let validation = validation_loss(&model, &cfg, &xv, n, epoch, &plain_device);
        state.record(epoch, (epoch_loss, validation), &cfg);
        let rate = data.rows as f64 / t0.elapsed().as_secs_f64();
        pb.set_position(epoch as u64);
        pb.set_message(format!(
            "loss {epoch_loss:.4e} lr {:.1e} {rate:.0} samples/s",
            state.lr
        ));
        let last = state.epoch >= cfg.epochs || state.stopped_early;
        if last || (cfg.checkpoint_every > 0 && epoch % cfg.checkpoint_every == 0) {
            save_checkpoint(&ckpt, &model, &optim, &state)?;
        }
        epochs_here += 1;
        if opts.stop_after.is_some_and(|s| epochs_here >= s) && !last {
            pb.abandon();
            return Err(TrainError::Interrupted(epoch));
        }
    }
    pb.finish_and_clear();
    model
        .clone()
        .save_file(dir.weights())
        .map_err(|e| io_err(&dir.weights(), format!("{e:?}")))?;
    write_exported(&dir, &model)?;
    write_history(&dir.loss(), &state.history)?;
    write_metrics(&dir, &model, &norm, &data.names, &held.test, &plain_device)?;
    Ok(TrainOutcome {
        history: state.history,
        stopped_early: state.stopped_early,
        device: device_name,
        resumed_from,
    })
}

impl State {
    /// Records an epoch's training and validation loss and steps
    /// ReduceLROnPlateau and early stopping on the validation loss when
    /// there is one, else on the training loss.
    fn record(&mut self, epoch: usize, (loss, validation): (f64, Option<f64>), cfg: &TrainConfig) {
        self.history.push(EpochRecord {
            epoch,
            loss,
            lr: self.lr,
            validation,
        });
        let watched = validation.unwrap_or(loss);
        if watched < self.best - cfg.min_delta {
            self.best = watched;
            self.lr_wait = 0;
            self.es_wait = 0;
        } else {
            self.lr_wait += 1;
            self.es_wait += 1;
            if self.lr_wait > cfg.lr_patience {
                self.lr = (self.lr * cfg.lr_factor).max(cfg.min_lr);
                self.lr_wait = 0;
            }
            if self.es_wait >= cfg.early_stopping_patience {
                self.stopped_early = true;
            }
        }
        self.epoch = epoch;
    }
}

/// The configuration saved beside an interrupted run.
fn saved_meta(dir: &ModelDir) -> Result<ModelMeta, TrainError> {
    let text = std::fs::read_to_string(dir.config()).map_err(|e| io_err(&dir.config(), e))?;
    serde_json::from_str(&text).map_err(|e| io_err(&dir.config(), e))
}

/// Model, optimiser and scheduler state from the checkpoint, which must
/// have been made with the same configuration and data (only epochs may change).
fn resume(
    dir: &ModelDir,
    meta: &ModelMeta,
    cfg: &TrainConfig,
    n: usize,
    device: &Device,
) -> Result<(AutoEncoder, ModuleOptimizer, State), TrainError> {
    let ckpt = dir.checkpoint();
    let mut same = saved_meta(dir)?;
    same.config.epochs = cfg.epochs;
    same.hepae_version = meta.hepae_version.clone();
    if &same != meta {
        return Err(TrainError::Config(format!(
            "{}: cannot resume: the checkpoint was made with another configuration or data (only epochs may change)",
            dir.0.display()
        )));
    }
    let text = std::fs::read_to_string(ckpt.join("state.json")).map_err(|e| io_err(&ckpt, e))?;
    let state: State = serde_json::from_str(&text).map_err(|e| io_err(&ckpt, e))?;
    device.seed(cfg.seed);
    let record =
        ModuleRecord::load(ckpt.join("model.bpk")).map_err(|e| io_err(&ckpt, format!("{e:?}")))?;
    let model = AutoEncoder::with_noise(&cfg.model, n, cfg.loss.alpha, device)
        .try_load_record(record)
        .map_err(|e| io_err(&ckpt, format!("{e:?}")))?;
    let optim = AdamConfig::new()
        .init()
        .load(ckpt.join("optimizer.bpk"))
        .map_err(|e| io_err(&ckpt, format!("{e:?}")))?;
    Ok((model, optim, state))
}

/// A freshly initialised network and a history holding epoch 0: the loss
/// of the untrained network, the reference for how far training got.
fn fresh(
    cfg: &TrainConfig,
    (x, xv): (&[f32], &[f32]),
    n: usize,
    device: &Device,
    plain_device: &Device,
) -> (AutoEncoder, State) {
    device.seed(cfg.seed);
    let model = AutoEncoder::with_noise(&cfg.model, n, cfg.loss.alpha, device);
    device.seed(mix(cfg.seed, 0));
    // Without autodiff: a forward pass on the training device keeps its
    // whole graph alive with no backward to free it (5.5 GB on HEP2).
    let initial = mean_loss(&model.valid(), cfg, x, n, plain_device);
    let validation = validation_loss(&model, cfg, xv, n, 0, plain_device);
    let state = State {
        epoch: 0,
        lr: cfg.lr,
        best: f64::INFINITY,
        lr_wait: 0,
        es_wait: 0,
        stopped_early: false,
        history: vec![EpochRecord {
            epoch: 0,
            loss: initial,
            lr: cfg.lr,
            validation,
        }],
    };
    (model, state)
}

/// The epochs' progress bar (hidden unless asked for).
fn progress_bar(show: bool, epochs: usize, at: usize) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new(epochs as u64);
    pb.set_style(
        indicatif::ProgressStyle::with_template("{spinner} epoch {pos}/{len} {wide_bar} {msg}")
            .expect("valid template"),
    );
    pb.set_position(at as u64);
    pb
}

/// One pass over the shuffled rows; returns the model and the mean batch loss.
#[allow(clippy::too_many_arguments)]
fn run_epoch(
    mut model: AutoEncoder,
    optim: &mut ModuleOptimizer,
    cfg: &TrainConfig,
    (x, weights): (&[f32], Option<&[f32]>),
    n: usize,
    epoch: usize,
    lr: f64,
    shards: usize,
    device: &Device,
) -> (AutoEncoder, f64) {
    // Per-epoch seeds make a resumed run draw exactly what an uninterrupted one would.
    device.seed(mix(cfg.seed, epoch as u64));
    let perm = permutation(x.len() / n, mix(cfg.seed ^ 0xA5A5, epoch as u64));
    let mut acc: Option<Tensor<1>> = None;
    let mut batches = 0usize;
    for chunk in perm.chunks(cfg.batch_size) {
        let mut rows = Vec::with_capacity(chunk.len() * n);
        for &r in chunk {
            let r = r as usize;
            rows.extend_from_slice(&x[r * n..(r + 1) * n]);
        }
        let xb = Tensor::<2>::from_data(TensorData::new(rows, [chunk.len(), n]), device);
        let wb = weights.map(|w| {
            let v: Vec<f32> = chunk.iter().map(|&r| w[r as usize]).collect();
            Tensor::<2>::from_data(TensorData::new(v, [chunk.len(), 1]), device)
        });
        let (updated, l) = step(model, optim, cfg, &xb, wb.as_ref(), lr, shards);
        model = updated;
        acc = Some(match acc {
            Some(a) => a + l,
            None => l,
        });
        batches += 1;
    }
    let loss = acc.expect("at least one batch").into_scalar::<f32>() as f64 / batches as f64;
    (model, loss)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ModelKind;
    use crate::step::gradients;
    use burn::optim::GradientsParams;

    fn flat(model: &AutoEncoder, grads: &GradientsParams) -> Vec<f32> {
        let mut out = Vec::new();
        for l in model.layers() {
            let w = grads.get::<2>(l.weight.id).expect("weight gradient");
            out.extend(w.into_data().try_to_vec::<f32>().unwrap());
            let b = grads
                .get::<1>(l.bias.as_ref().unwrap().id)
                .expect("bias gradient");
            out.extend(b.into_data().try_to_vec::<f32>().unwrap());
        }
        out
    }

    fn state() -> State {
        State {
            epoch: 0,
            lr: 1e-3,
            best: f64::INFINITY,
            lr_wait: 0,
            es_wait: 0,
            stopped_early: false,
            history: Vec::new(),
        }
    }

    /// With validation rows, early stopping and the schedule watch the
    /// validation loss, even while the training loss still falls.
    #[test]
    fn early_stopping_watches_the_validation_loss() {
        let cfg = TrainConfig {
            early_stopping_patience: 3,
            lr_patience: 1,
            ..Default::default()
        };
        let (mut with, mut without) = (state(), state());
        for epoch in 1..=5 {
            let train = 1.0 / epoch as f64;
            // Best after epoch 2, then worse.
            let val = if epoch <= 2 {
                1.0 / epoch as f64
            } else {
                1.0 + epoch as f64
            };
            with.record(epoch, (train, Some(val)), &cfg);
            without.record(epoch, (train, None), &cfg);
        }
        assert!(
            with.stopped_early,
            "three epochs without a better validation loss"
        );
        assert_eq!((with.best, with.epoch), (0.5, 5));
        assert_eq!(with.history[4].validation, Some(6.0));
        // Lowered when the wait exceeds lr_patience (1): after epochs 3-4.
        assert_eq!(with.lr, 1e-3 * 0.5);
        assert!(!without.stopped_early);
        assert_eq!((without.best, without.lr), (0.2, 1e-3));
    }

    /// A batch split into row blocks on threads gives the whole batch's loss and
    /// gradient (up to float rounding), for the penalised AE and the sampling VAE.
    #[test]
    fn sharded_gradient_equals_whole_batch_gradient() {
        let _rng = crate::RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let device = Device::flex().autodiff();
        for kind in [ModelKind::Sae, ModelKind::Vae] {
            let mut cfg = TrainConfig::default();
            cfg.model.kind = kind;
            cfg.model.hidden = vec![32, 16];
            cfg.model.latent = 3;
            cfg.loss.l1 = 1e-2;
            device.seed(11);
            let model = AutoEncoder::new(&cfg.model, 5, &device);
            // Parameters initialise lazily from the RNG: do it now, not inside
            // the first of the two runs, so both draw the same VAE noise.
            assert!(!model.flat_parameters().is_empty());
            // 401 rows: three uneven blocks of 133-134 rows.
            let rows = 401;
            let v: Vec<f32> = (0..rows * 5)
                .map(|i| ((i * 7919) % 1000) as f32 / 1000.0)
                .collect();
            let x = Tensor::<2>::from_data(TensorData::new(v, [rows, 5]), &device);
            // Event weights (mean 1) split with their rows.
            let w: Vec<f32> = (0..rows).map(|i| (i % 4) as f32 * 0.5 + 0.25).collect();
            let w = Tensor::<2>::from_data(TensorData::new(w, [rows, 1]), &device);
            let mut results = Vec::new();
            for weights in [None, Some(&w)] {
                for shards in [1, 3] {
                    // Same noise draw for the VAE in every run.
                    device.seed(5);
                    let (g, l) = gradients(&model, &cfg, &x, weights, shards);
                    results.push((flat(&model, &g), l.into_scalar::<f32>()));
                }
            }
            // The weights change the loss.
            assert!((results[0].1 - results[2].1).abs() > 1e-4 * results[0].1.abs());
            for pair in results.chunks(2) {
                let ((g1, l1), (g3, l3)) = (&pair[0], &pair[1]);
                assert!(
                    (l1 - l3).abs() <= 1e-5 * l1.abs(),
                    "{kind:?}: loss {l1} vs {l3}"
                );
                let scale = g1.iter().fold(0f32, |m, g| m.max(g.abs()));
                assert!(scale > 0.0);
                let worst = g1
                    .iter()
                    .zip(g3)
                    .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
                assert!(
                    worst <= 1e-5 * scale,
                    "{kind:?}: gradients differ by {worst} (scale {scale})"
                );
                // And the split really happened: three blocks round differently from one.
                assert!(g1 != g3, "{kind:?}: no sharding took place");
            }
        }
    }
}
