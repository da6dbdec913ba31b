//! Loss terms: reconstruction (MSE or MSE_SUM), weight L1, EMD, KL, and
//! the sparsity terms on activations (L1, KL to a target rho).

use crate::config::{LossConfig, ModelKind, Reconstruction};
use crate::model::{AutoEncoder, Forward};
use burn::prelude::*;

/// Per-row weights of a batch, `[rows, 1]`, scaled to mean 1 over the
/// training set; `None` weighs every row 1.
pub type RowWeights<'a> = Option<&'a Tensor<2>>;

/// Mean over the batch of per-row terms `[rows, 1]`, each times its weight.
fn weighted_mean(per_row: Tensor<2>, w: RowWeights) -> Tensor<1> {
    match w {
        Some(w) => (per_row * w.clone()).mean(),
        None => per_row.mean(),
    }
}

/// Reconstruction error of a batch.
pub fn reconstruction(
    kind: Reconstruction,
    x: &Tensor<2>,
    x_hat: &Tensor<2>,
    w: RowWeights,
) -> Tensor<1> {
    let sq = (x_hat.clone() - x.clone()).powf_scalar(2.0);
    match kind {
        Reconstruction::Mse => weighted_mean(sq.mean_dim(1), w),
        // Sum over features, mean over the batch (Baler thesis).
        Reconstruction::MseSum => weighted_mean(sq.sum_dim(1), w),
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
pub fn kl(mean: &Tensor<2>, logvar: &Tensor<2>, w: RowWeights) -> Tensor<1> {
    let t = logvar.clone().exp() + mean.clone().powf_scalar(2.0) - logvar.clone() - 1.0;
    weighted_mean(t.sum_dim(1) * 0.5, w)
}

/// sum|h| over the units of every layer in `layers`, per row, mean over
/// the batch (weighted by `w`).
pub fn l1_activations(layers: &[Tensor<2>], w: RowWeights) -> Option<Tensor<1>> {
    let per_row = layers
        .iter()
        .map(|h| h.clone().abs().sum_dim(1))
        .reduce(|a, b| a + b)?;
    Some(weighted_mean(per_row, w))
}

/// sum over the units of `layers` of KL(rho || rho_j), rho_j the unit's
/// mean activation over the batch (clamped into (0, 1)).
pub fn kl_sparsity(layers: &[Tensor<2>], rho: f64) -> Option<Tensor<1>> {
    layers
        .iter()
        .map(|h| {
            let r = h.clone().mean_dim(0).clamp(1e-6, 1.0 - 1e-6);
            let q = r.clone().neg() + 1.0;
            let kl = r.recip().mul_scalar(rho).log().mul_scalar(rho)
                + q.recip().mul_scalar(1.0 - rho).log().mul_scalar(1.0 - rho);
            kl.sum().reshape([1])
        })
        .reduce(|a, b| a + b)
}

/// The training loss of one batch for a model kind.
pub fn total(
    model: &AutoEncoder,
    kind: ModelKind,
    cfg: &LossConfig,
    x: &Tensor<2>,
    w: RowWeights,
    f: &Forward,
) -> Tensor<1> {
    let loss = data_terms(kind, cfg, x, w, f);
    match weight_penalty(model, kind, cfg) {
        Some(p) => loss + p,
        None => loss,
    }
}

/// The term of [`total`] that depends only on the weights: the sparse AE's
/// lambda * sum|w|, or nothing for the other kinds.
pub(crate) fn weight_penalty(
    model: &AutoEncoder,
    kind: ModelKind,
    cfg: &LossConfig,
) -> Option<Tensor<1>> {
    (kind == ModelKind::Sae && cfg.l1 > 0.0).then(|| model.l1_weights() * cfg.l1)
}

/// The terms of [`total`] that depend on the batch: reconstruction, EMD,
/// KL and the activation sparsity terms (each a mean over rows, weighted
/// by `w`; EMD and the KL sparsity see the batch's unweighted
/// distributions), without the weight penalty.
pub(crate) fn data_terms(
    kind: ModelKind,
    cfg: &LossConfig,
    x: &Tensor<2>,
    w: RowWeights,
    f: &Forward,
) -> Tensor<1> {
    let mut loss = reconstruction(cfg.reconstruction, x, &f.reconstruction, w);
    if cfg.emd > 0.0 {
        loss = loss + emd(x, &f.reconstruction) * cfg.emd;
    }
    if let Some(lv) = &f.logvar {
        let beta = if kind == ModelKind::BetaVae {
            cfg.beta
        } else {
            1.0
        };
        loss = loss + kl(&f.mean, lv, w) * beta;
    }
    match kind {
        ModelKind::SaeL1Act if cfg.l1 > 0.0 => {
            let mut layers = f.hidden.clone();
            layers.push(f.mean.clone());
            if let Some(p) = l1_activations(&layers, w) {
                loss = loss + p * cfg.l1;
            }
        }
        ModelKind::SaeKl if cfg.beta > 0.0 => {
            if let Some(p) = kl_sparsity(&f.hidden, cfg.rho) {
                loss = loss + p * cfg.beta;
            }
        }
        _ => {}
    }
    loss
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[f32], r: usize, c: usize) -> Tensor<2> {
        Tensor::<2>::from_data(TensorData::new(v.to_vec(), [r, c]), &Device::flex())
    }

    fn scalar(x: Tensor<1>) -> f32 {
        x.into_scalar::<f32>()
    }

    #[test]
    fn losses_match_hand_computed_values() {
        let x = t(&[0.0, 1.0, 2.0, 3.0], 2, 2);
        let y = t(&[1.0, 1.0, 2.0, 5.0], 2, 2);
        // squared errors 1, 0, 0, 4: mean 1.25; per-row sums 1 and 4, mean 2.5.
        assert_eq!(
            scalar(reconstruction(Reconstruction::Mse, &x, &y, None)),
            1.25
        );
        assert_eq!(
            scalar(reconstruction(Reconstruction::MseSum, &x, &y, None)),
            2.5
        );
        // Weights 0.5 and 1.5: rows cost 1 and 4 -> (0.5 + 6) / 2.
        let w = t(&[0.5, 1.5], 2, 1);
        assert_eq!(
            scalar(reconstruction(Reconstruction::MseSum, &x, &y, Some(&w))),
            3.25
        );
        assert_eq!(
            scalar(reconstruction(Reconstruction::Mse, &x, &y, Some(&w))),
            1.625
        );
        // EMD ignores the order of rows: a permuted batch has distance 0.
        let a = t(&[0.0, 1.0, 2.0], 3, 1);
        let b = t(&[2.0, 0.0, 1.0], 3, 1);
        assert_eq!(scalar(emd(&a, &b)), 0.0);
        // Column 0: sorted {0,2} vs {1,2} -> mean |diff| 0.5; column 1: {1,3} vs {1,5} -> 1.
        assert_eq!(scalar(emd(&x, &y)), 1.5);
        // KL of N(0,1) from itself is 0; N(1, e^0) costs 0.5 per dimension.
        let zero = t(&[0.0, 0.0], 1, 2);
        assert_eq!(scalar(kl(&zero, &zero, None)), 0.0);
        assert_eq!(scalar(kl(&t(&[1.0, 1.0], 1, 2), &zero, None)), 1.0);
        let two = t(&[2.0], 1, 1);
        assert_eq!(scalar(kl(&t(&[1.0, 1.0], 1, 2), &zero, Some(&two))), 2.0);
        // Activation L1: rows (1, -2) and (0.5, 0) cost 3 and 0.5.
        let h = t(&[1.0, -2.0, 0.5, 0.0], 2, 2);
        assert_eq!(scalar(l1_activations(&[h], None).unwrap()), 1.75);
        // KL sparsity: one unit of mean 0.2 against rho 0.05:
        // 0.05 ln(0.05 / 0.2) + 0.95 ln(0.95 / 0.8) = 0.0939432.
        let h = t(&[0.1, 0.3], 2, 1);
        let k = scalar(kl_sparsity(&[h], 0.05).unwrap());
        assert!((k - 0.093_943_2).abs() < 1e-6, "{k}");
        let at_rho = t(&[0.05, 0.05], 2, 1);
        assert!(scalar(kl_sparsity(&[at_rho], 0.05).unwrap()).abs() < 1e-6);
    }
}
