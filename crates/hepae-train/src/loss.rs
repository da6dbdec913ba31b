//! Loss terms: reconstruction (MSE or MSE_SUM), weight L1, EMD and KL.

use crate::config::{LossConfig, ModelKind, Reconstruction};
use crate::model::{AutoEncoder, Forward};
use burn::prelude::*;

/// Reconstruction error of a batch.
pub fn reconstruction(kind: Reconstruction, x: &Tensor<2>, x_hat: &Tensor<2>) -> Tensor<1> {
    let sq = (x_hat.clone() - x.clone()).powf_scalar(2.0);
    match kind {
        Reconstruction::Mse => sq.mean(),
        // Sum over features, mean over the batch (Baler thesis).
        Reconstruction::MseSum => sq.sum_dim(1).mean(),
    }
}

/// Per-column 1-D Wasserstein-1 distance between a batch and its reconstruction,
/// from sorted values, summed over columns.
pub fn emd(x: &Tensor<2>, x_hat: &Tensor<2>) -> Tensor<1> {
    let a = x.clone().sort(0);
    let b = x_hat.clone().sort(0);
    (a - b).abs().mean_dim(0).sum()
}

/// KL divergence of N(mean, exp(logvar)) from N(0, 1), summed over latent
/// dimensions, mean over the batch.
pub fn kl(mean: &Tensor<2>, logvar: &Tensor<2>) -> Tensor<1> {
    let t = logvar.clone().exp() + mean.clone().powf_scalar(2.0) - logvar.clone() - 1.0;
    (t.sum_dim(1) * 0.5).mean()
}

/// The training loss of one batch for a model kind.
pub fn total(
    model: &AutoEncoder,
    kind: ModelKind,
    cfg: &LossConfig,
    x: &Tensor<2>,
    f: &Forward,
) -> Tensor<1> {
    let mut loss = reconstruction(cfg.reconstruction, x, &f.reconstruction);
    if cfg.emd > 0.0 {
        loss = loss + emd(x, &f.reconstruction) * cfg.emd;
    }
    if kind == ModelKind::Sae && cfg.l1 > 0.0 {
        loss = loss + model.l1_weights() * cfg.l1;
    }
    if let Some(lv) = &f.logvar {
        let beta = if kind == ModelKind::BetaVae {
            cfg.beta
        } else {
            1.0
        };
        loss = loss + kl(&f.mean, lv) * beta;
    }
    loss
}
