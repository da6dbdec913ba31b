//! The classifier two-sample test: a small network learns to tell generated
//! events from held-out MC events; on a test half, an AUC of 0.5 means the
//! two are indistinguishable.

use crate::rng::Rng;
use serde::Serialize;

/// Hidden units of the classifier.
const HIDDEN: usize = 32;
const EPOCHS: usize = 30;
const BATCH: usize = 64;
const LR: f32 = 3e-3;

/// The test's outcome.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct TwoSample {
    /// ROC AUC on the test half (0.5: indistinguishable).
    pub auc: f64,
    /// Its standard error (Hanley & McNeil 1982).
    pub auc_error: f64,
    /// Test events per class.
    pub test_events: usize,
}

struct Net {
    n: usize,
    /// [HIDDEN x n] then HIDDEN biases, HIDDEN output weights, 1 output bias.
    p: Vec<f32>,
}

impl Net {
    fn new(n: usize, rng: &mut Rng) -> Net {
        let scale = (1.0 / n as f64).sqrt();
        let mut p = vec![0f32; HIDDEN * n + 2 * HIDDEN + 1];
        for w in p[..HIDDEN * n].iter_mut() {
            *w = (rng.normal() * scale) as f32;
        }
        for w in p[HIDDEN * n + HIDDEN..HIDDEN * n + 2 * HIDDEN].iter_mut() {
            *w = (rng.normal() * (1.0 / HIDDEN as f64).sqrt()) as f32;
        }
        Net { n, p }
    }

    /// Logit of one event, and the hidden activations.
    fn forward(&self, x: &[f32], h: &mut [f32; HIDDEN]) -> f32 {
        let n = self.n;
        let (b1, w2) = (HIDDEN * n, HIDDEN * n + HIDDEN);
        let mut out = self.p[w2 + HIDDEN];
        for (k, hk) in h.iter_mut().enumerate() {
            let w = &self.p[k * n..(k + 1) * n];
            let s: f32 = w.iter().zip(x).map(|(a, b)| a * b).sum::<f32>() + self.p[b1 + k];
            *hk = s.tanh();
            out += self.p[w2 + k] * *hk;
        }
        out
    }

    /// Adds the gradient of the logistic loss of one event to `g`.
    fn backward(&self, x: &[f32], y: f32, g: &mut [f32]) {
        let n = self.n;
        let (b1, w2) = (HIDDEN * n, HIDDEN * n + HIDDEN);
        let mut h = [0f32; HIDDEN];
        let z = self.forward(x, &mut h);
        let d = 1.0 / (1.0 + (-z).exp()) - y;
        g[w2 + HIDDEN] += d;
        for k in 0..HIDDEN {
            g[w2 + k] += d * h[k];
            let dh = d * self.p[w2 + k] * (1.0 - h[k] * h[k]);
            g[b1 + k] += dh;
            for (gi, xi) in g[k * n..(k + 1) * n].iter_mut().zip(x) {
                *gi += dh * xi;
            }
        }
    }
}

/// Adam over the flat parameter vector.
struct Adam {
    m: Vec<f32>,
    v: Vec<f32>,
    t: i32,
}

impl Adam {
    fn step(&mut self, p: &mut [f32], g: &[f32], scale: f32) {
        self.t += 1;
        let (b1, b2) = (0.9f32, 0.999f32);
        let (c1, c2) = (1.0 - b1.powi(self.t), 1.0 - b2.powi(self.t));
        for i in 0..p.len() {
            let gi = g[i] * scale;
            self.m[i] = b1 * self.m[i] + (1.0 - b1) * gi;
            self.v[i] = b2 * self.v[i] + (1.0 - b2) * gi * gi;
            p[i] -= LR * (self.m[i] / c1) / ((self.v[i] / c2).sqrt() + 1e-8);
        }
    }
}

/// ROC AUC of scores for positives and negatives (ties count half).
pub fn auc(pos: &[f32], neg: &[f32]) -> f64 {
    let mut all: Vec<(f32, bool)> = pos
        .iter()
        .map(|s| (*s, true))
        .chain(neg.iter().map(|s| (*s, false)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut rank_sum, mut i) = (0.0f64, 0);
    while i < all.len() {
        let mut j = i;
        while j < all.len() && all[j].0 == all[i].0 {
            j += 1;
        }
        let mid = (i + j + 1) as f64 / 2.0;
        rank_sum += all[i..j].iter().filter(|a| a.1).count() as f64 * mid;
        i = j;
    }
    let (np, nn) = (pos.len() as f64, neg.len() as f64);
    (rank_sum - np * (np + 1.0) / 2.0) / (np * nn)
}

fn hanley_mcneil(a: f64, np: f64, nn: f64) -> f64 {
    let q1 = a / (2.0 - a);
    let q2 = 2.0 * a * a / (1.0 + a);
    ((a * (1.0 - a) + (np - 1.0) * (q1 - a * a) + (nn - 1.0) * (q2 - a * a)) / (np * nn))
        .max(0.0)
        .sqrt()
}

/// Trains on half of each sample (row-major, `n` features, equal sizes
/// taken) and returns the AUC on the other half.
pub fn two_sample_test(reference: &[f32], sample: &[f32], n: usize, seed: u64) -> TwoSample {
    let rows = (reference.len() / n).min(sample.len() / n);
    let mut rng = Rng::new(seed, 7);
    // Standardised on the reference: the network sees O(1) inputs.
    let (mean, std) = moments(&reference[..rows * n], n);
    let norm = |r: &[f32]| -> Vec<f32> {
        r.iter()
            .enumerate()
            .map(|(k, x)| (x - mean[k % n]) / std[k % n])
            .collect()
    };
    let (a, b) = (norm(&reference[..rows * n]), norm(&sample[..rows * n]));
    let mut order: Vec<(usize, f32)> = (0..rows)
        .map(|r| (r, 0.0))
        .chain((0..rows).map(|r| (r, 1.0)))
        .collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i + 1));
    }
    let (train, test) = order.split_at(order.len() / 2);
    let row = |&(r, y): &(usize, f32)| {
        if y == 0.0 {
            &a[r * n..(r + 1) * n]
        } else {
            &b[r * n..(r + 1) * n]
        }
    };
    let mut net = Net::new(n, &mut rng);
    let mut adam = Adam {
        m: vec![0.0; net.p.len()],
        v: vec![0.0; net.p.len()],
        t: 0,
    };
    let mut g = vec![0f32; net.p.len()];
    for _ in 0..EPOCHS {
        for batch in train.chunks(BATCH) {
            g.iter_mut().for_each(|x| *x = 0.0);
            for e in batch {
                net.backward(row(e), e.1, &mut g);
            }
            adam.step(&mut net.p, &g, 1.0 / batch.len() as f32);
        }
    }
    let mut h = [0f32; HIDDEN];
    let (mut pos, mut neg) = (Vec::new(), Vec::new());
    for e in test {
        let s = net.forward(row(e), &mut h);
        if e.1 == 1.0 {
            pos.push(s)
        } else {
            neg.push(s)
        }
    }
    let a = auc(&pos, &neg);
    TwoSample {
        auc: a,
        auc_error: hanley_mcneil(a, pos.len() as f64, neg.len() as f64),
        test_events: pos.len().min(neg.len()),
    }
}

fn moments(x: &[f32], n: usize) -> (Vec<f32>, Vec<f32>) {
    let rows = (x.len() / n).max(1) as f64;
    let mut mean = vec![0f64; n];
    x.chunks(n)
        .for_each(|r| r.iter().enumerate().for_each(|(k, v)| mean[k] += *v as f64));
    mean.iter_mut().for_each(|m| *m /= rows);
    let mut var = vec![0f64; n];
    x.chunks(n).for_each(|r| {
        r.iter()
            .enumerate()
            .for_each(|(k, v)| var[k] += (*v as f64 - mean[k]).powi(2))
    });
    let std = var
        .iter()
        .map(|v| ((v / rows).sqrt() as f32).max(1e-6))
        .collect();
    (mean.into_iter().map(|m| m as f32).collect(), std)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_of_separated_and_identical_scores() {
        assert_eq!(auc(&[2.0, 3.0], &[0.0, 1.0]), 1.0);
        assert_eq!(auc(&[1.0, 1.0], &[1.0, 1.0]), 0.5);
    }

    #[test]
    fn the_test_tells_a_shifted_sample_apart() {
        let mut rng = Rng::new(3, 0);
        let a: Vec<f32> = (0..4000).map(|_| rng.normal() as f32).collect();
        let same: Vec<f32> = (0..4000).map(|_| rng.normal() as f32).collect();
        let shifted: Vec<f32> = (0..4000).map(|_| rng.normal() as f32 + 0.5).collect();
        let t0 = two_sample_test(&a, &same, 2, 1);
        let t1 = two_sample_test(&a, &shifted, 2, 1);
        assert!((t0.auc - 0.5).abs() < 4.0 * t0.auc_error + 0.02, "{t0:?}");
        // Two features shifted by 0.5: the best possible AUC is Phi(0.5) = 0.69.
        assert!(t1.auc > 0.6, "{t1:?}");
    }
}
