//! Turning latent or feature samples into event tables: the trained
//! decoder, the perturbed ground truth and the two baselines.

use crate::features::{FeatureSpace, Repairs};
use crate::rng::{normals, Rng};
use arrow_array::{ArrayRef, RecordBatch, UInt32Array};
use hepae_darkmachines::EventColumns;
use hepae_model::{Mlp, Normalizer};
use rayon::prelude::*;

/// A generated sample: the events-layout table and its repair counts.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Events layout, in GeV.
    pub table: RecordBatch,
    /// Events with any repair.
    pub repaired: usize,
    /// Events per repair kind: count, eta, order, positive.
    pub repairs: [usize; 4],
}

/// Decodes row-major feature vectors (in feature units) into a table; row
/// blocks are decoded in parallel and joined in order.
pub fn events_from_features(
    space: &FeatureSpace,
    features: &[f32],
    process: &str,
    weight: f64,
) -> Sample {
    const BLOCK: usize = 8192;
    let n = space.len();
    let parts: Vec<(RecordBatch, [usize; 4], usize)> = features
        .par_chunks(BLOCK * n)
        .enumerate()
        .map(|(b, block)| {
            let mut cols = EventColumns::new(space.slots, 1.0);
            let (mut repairs, mut repaired) = ([0usize; 4], 0);
            for (i, f) in block.chunks(n).enumerate() {
                let (e, r) = space.decode(f, (b * BLOCK + i) as i64 + 1, process, weight);
                cols.push(&e);
                let Repairs {
                    count,
                    eta,
                    order,
                    positive,
                } = r;
                for (k, hit) in [count, eta, order, positive].into_iter().enumerate() {
                    repairs[k] += hit as usize;
                }
                repaired += r.any() as usize;
            }
            (cols.finish(), repairs, repaired)
        })
        .collect();
    let schema = hepae_darkmachines::events_schema(&space.slots);
    let batches: Vec<&RecordBatch> = parts.iter().map(|p| &p.0).collect();
    let table = arrow_select::concat::concat_batches(&schema, batches).expect("one schema");
    let mut repairs = [0usize; 4];
    for p in &parts {
        (0..4).for_each(|k| repairs[k] += p.1[k]);
    }
    Sample {
        table,
        repaired: parts.iter().map(|p| p.2).sum(),
        repairs,
    }
}

/// The trained generator: its decoder, encoder and normalisation.
pub struct Generator {
    /// Feature layout.
    pub space: FeatureSpace,
    /// Latent mean encoder (for the perturbed ground truth).
    pub encoder: Mlp,
    /// Decoder.
    pub decoder: Mlp,
    /// Feature normalisation fitted in training.
    pub normalizer: Normalizer,
    /// Standard deviation of the prior samples (1, or alpha for the alpha-VAE).
    pub prior_std: f64,
}

impl Generator {
    /// `n` events from latent samples z ~ N(0, prior_std^2).
    pub fn generate(&self, n: usize, seed: u64, process: &str, weight: f64) -> Sample {
        let z = normals(seed, 1, n, self.encoder.outputs(), self.prior_std);
        self.decode_latent(&z, process, weight)
    }

    /// Decodes latent vectors into events.
    pub fn decode_latent(&self, z: &[f32], process: &str, weight: f64) -> Sample {
        let mut x = self.decoder.forward_fast(z);
        self.normalizer.invert(&mut x);
        events_from_features(&self.space, &x, process, weight)
    }

    /// The perturbed ground truth: real events' latent means plus N(0, alpha^2).
    pub fn perturbed(
        &self,
        features: &[f32],
        alpha: f64,
        seed: u64,
        process: &str,
        weight: f64,
    ) -> Sample {
        let mut x = features.to_vec();
        self.normalizer.apply(&mut x);
        let mut z = self.encoder.forward(&x);
        let noise = normals(
            seed,
            2,
            z.len() / self.encoder.outputs(),
            self.encoder.outputs(),
            alpha,
        );
        z.iter_mut().zip(noise).for_each(|(a, b)| *a += b);
        self.decode_latent(&z, process, weight)
    }
}

/// Column-wise resampling: each column of `train` drawn independently
/// (exact marginals, no correlations), `n` rows, the generator's columns.
pub fn resample_columns(
    train: &RecordBatch,
    like: &RecordBatch,
    n: usize,
    seed: u64,
) -> RecordBatch {
    let schema = like.schema();
    let cols: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(k, f)| {
            let mut rng = Rng::new(seed, 100 + k as u64);
            let idx: UInt32Array = (0..n).map(|_| rng.below(train.num_rows()) as u32).collect();
            let src = train
                .column_by_name(f.name())
                .expect("the training table has the generator's columns");
            arrow_select::take::take(src.as_ref(), &idx, None).expect("indices in range")
        })
        .collect();
    RecordBatch::try_new(schema, cols).expect("same schema")
}

/// A multivariate Gaussian with the features' mean and covariance.
pub fn gaussian_features(features: &[f32], dims: usize, n: usize, seed: u64) -> Vec<f32> {
    let rows = features.len() / dims;
    let mut mean = vec![0f64; dims];
    for r in features.chunks(dims) {
        mean.iter_mut().zip(r).for_each(|(m, x)| *m += *x as f64);
    }
    mean.iter_mut().for_each(|m| *m /= rows as f64);
    let mut cov = vec![0f64; dims * dims];
    for r in features.chunks(dims) {
        for i in 0..dims {
            let di = r[i] as f64 - mean[i];
            for j in 0..=i {
                cov[i * dims + j] += di * (r[j] as f64 - mean[j]);
            }
        }
    }
    cov.iter_mut().for_each(|c| *c /= (rows.max(2) - 1) as f64);
    let l = cholesky(&cov, dims);
    let z = normals(seed, 3, n, dims, 1.0);
    let mut out = vec![0f32; n * dims];
    out.par_chunks_mut(dims)
        .zip(z.par_chunks(dims))
        .for_each(|(o, z)| {
            for i in 0..dims {
                let s: f64 = (0..=i).map(|j| l[i * dims + j] * z[j] as f64).sum();
                o[i] = (mean[i] + s) as f32;
            }
        });
    out
}

/// Lower Cholesky factor of the lower triangle of `a`; a tiny ridge keeps
/// constant features (zero variance) from breaking it.
fn cholesky(a: &[f64], n: usize) -> Vec<f64> {
    let mut l = vec![0f64; n * n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i * n + k] * l[j * n + k]).sum();
            if i == j {
                l[i * n + i] = (a[i * n + i] + 1e-9 - s).max(1e-12).sqrt();
            } else {
                l[i * n + j] = (a[i * n + j] - s) / l[j * n + j];
            }
        }
    }
    l
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::physical::unphysical_events;
    use hepae_darkmachines::{Event, Object, ObjectType, Slots};

    fn slots() -> Slots {
        Slots {
            bjets: 1,
            jets: 3,
            electrons: 1,
            muons: 1,
            photons: 0,
        }
    }

    fn object(kind: ObjectType, pt: f64, eta: f64, phi: f64, m: f64) -> Object {
        let p = pt * eta.cosh();
        Object {
            kind,
            charge: if kind == ObjectType::Muon { -1 } else { 0 },
            e: (p * p + m * m).sqrt(),
            pt,
            eta,
            phi,
        }
    }

    fn table() -> RecordBatch {
        let mut cols = EventColumns::new(slots(), 1.0);
        for i in 0..50 {
            let x = i as f64 / 50.0;
            let mut objects = vec![object(
                ObjectType::BJet,
                40.0 + 100.0 * x,
                1.5 - 3.0 * x,
                -3.0 + 6.0 * x,
                5.0,
            )];
            for k in 0..(i % 4) {
                objects.push(object(
                    ObjectType::Jet,
                    200.0 / (k + 1) as f64 + x,
                    2.0 * x - 1.0,
                    0.5 * k as f64,
                    10.0 * x,
                ));
            }
            if i % 3 == 0 {
                objects.push(object(ObjectType::Muon, 30.0 + x, -0.5, 2.0, 0.0));
            }
            cols.push(&Event {
                id: i,
                process: "t".into(),
                weight: 1.0,
                met: 10.0 + 50.0 * x,
                met_phi: 1.0 - x,
                objects,
            });
        }
        cols.finish()
    }

    #[test]
    fn encoding_then_decoding_gives_back_the_events() {
        let t = table();
        let space = FeatureSpace::new(
            slots(),
            true,
            crate::features::eta_acceptance(&t, &slots()).unwrap(),
        );
        let f = space.encode(&t).unwrap();
        let back = events_from_features(&space, &f, "t", 1.0);
        assert_eq!(back.repaired, 0);
        for name in [
            "MET",
            "METphi",
            "n_jets",
            "jet1_pt",
            "jet2_E",
            "jet3_eta",
            "jet2_phi",
            "bjet1_E",
            "muon1_pt",
            "muon1_charge",
        ] {
            let (a, b) = (
                crate::features::column(&t, name).unwrap(),
                crate::features::column(&back.table, name).unwrap(),
            );
            for (x, y) in a.iter().zip(&b) {
                assert!(
                    (x - y).abs() <= 1e-4 * x.abs().max(1.0),
                    "{name}: {x} vs {y}"
                );
            }
        }
    }

    #[test]
    fn any_feature_vector_decodes_to_a_physical_event() {
        let space = FeatureSpace::new(slots(), true, [2.5, 2.5, 2.47, 2.7, 2.37]);
        // Wild values, far outside anything trained: still possible events.
        let f = normals(9, 0, 5000, space.len(), 3.0);
        let s = events_from_features(&space, &f, "g", 1.0);
        assert_eq!(
            unphysical_events(&s.table, &space.slots, &space.eta_max).unwrap(),
            0
        );
        // Only counts outside [0, slots] are repaired: the rest holds by construction.
        assert!(
            s.repairs[0] > 0 && s.repairs[1..] == [0, 0, 0],
            "{:?}",
            s.repairs
        );
        assert_eq!(s.repaired, s.repairs[0]);
    }
}
