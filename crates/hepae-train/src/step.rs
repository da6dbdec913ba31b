//! One optimiser step, its batch split into row blocks on the CPU's threads.

use crate::config::TrainConfig;
use crate::loss::{self, RowWeights};
use crate::model::AutoEncoder;
use crate::trainer::batch_loss;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use rayon::prelude::*;

/// One optimiser step at learning rate `lr`; returns the updated model and
/// the batch loss (detached from the graph).
///
/// With `shards > 1` the batch is split into that many row blocks whose
/// forward and backward passes run on their own threads (each on a fork of
/// the model, so each has its own autodiff graph); their gradients are summed
/// in shard order. Each shard's batch-mean terms are weighted by its share of
/// the rows and the weight penalty is counted once, so this is the gradient of
/// the whole batch up to float rounding. Used on the CPU only, where one burn
/// graph runs on one core.
pub(crate) fn step(
    model: AutoEncoder,
    optim: &mut ModuleOptimizer,
    cfg: &TrainConfig,
    xb: &Tensor<2>,
    w: RowWeights,
    lr: f64,
    shards: usize,
) -> (AutoEncoder, Tensor<1>) {
    let (grads, loss) = gradients(&model, cfg, xb, w, shards);
    (optim.step(lr, model, grads), loss)
}

/// The gradients and the (detached) loss of one batch, computed in `shards`
/// row blocks (see [`step`]).
pub(crate) fn gradients(
    model: &AutoEncoder,
    cfg: &TrainConfig,
    xb: &Tensor<2>,
    w: RowWeights,
    shards: usize,
) -> (GradientsParams, Tensor<1>) {
    let rows = xb.dims()[0];
    let shards = shards.min(rows / MIN_SHARD_ROWS).max(1);
    // EMD sorts the whole batch per column: it does not split into row blocks.
    if shards == 1 || cfg.loss.emd > 0.0 {
        let l = batch_loss(model, cfg, xb, w);
        let detached = l.clone().detach();
        return (GradientsParams::from_grads(l.backward(), model), detached);
    }
    let device = xb.device();
    let kind = cfg.model.kind;
    // Drawn once for the whole batch: the same noise as an unsplit step.
    let eps = model.draws_noise().then(|| model.noise(rows, &device));
    let run = |s: usize, shard: &AutoEncoder| {
        let (a, b) = (s * rows / shards, (s + 1) * rows / shards);
        let x = xb.clone().slice(a..b);
        let f = shard.forward_with_noise(x.clone(), eps.as_ref().map(|e| e.clone().slice(a..b)));
        let ws = w.map(|w| w.clone().slice(a..b));
        let mut l =
            loss::data_terms(kind, &cfg.loss, &x, ws.as_ref(), &f) * ((b - a) as f64 / rows as f64);
        // The weight penalty belongs to the batch once, not to every block.
        if s == 0 {
            if let Some(p) = loss::weight_penalty(shard, kind, &cfg.loss) {
                l = l + p;
            }
        }
        let detached = l.clone().detach();
        (GradientsParams::from_grads(l.backward(), shard), detached)
    };
    // Forks made here, on the calling thread, so lazy initialisation (if any)
    // draws from the RNG in a fixed order. Shard 0 trains the model itself.
    let mut shard_models = vec![model.clone()];
    shard_models.extend((1..shards).map(|_| model.clone().fork(&device)));
    // rayon's pool keeps its threads: spawning two per step cost about 0.5 ms of 3.
    let results: Vec<(GradientsParams, Tensor<1>)> = shard_models
        .par_iter()
        .enumerate()
        .map(|(s, shard)| run(s, shard))
        .collect();
    let mut results = results.into_iter();
    let (mut grads, mut total) = results.next().expect("one shard");
    for (g, l) in results {
        model.add_gradients(&mut grads, g);
        total = total + l;
    }
    (grads, total)
}

/// Fewest rows a shard gets; smaller blocks cost more in per-operation
/// overhead than a second core gives back.
const MIN_SHARD_ROWS: usize = 128;

/// Shards per training step: the CPU threads asked for (0: every core) on the
/// CPU backend, 1 on a GPU and for `sae_kl`.
pub(crate) fn shards_for(cfg: &TrainConfig, device: &Device) -> usize {
    // The KL sparsity term needs the whole batch's mean activations.
    if *device != Device::flex() || cfg.model.kind == hepae_model::ModelKind::SaeKl {
        return 1;
    }
    resolve_threads(cfg.threads)
}

/// The thread count asked for, 0 meaning every core.
pub(crate) fn resolve_threads(threads: usize) -> usize {
    match threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
}
