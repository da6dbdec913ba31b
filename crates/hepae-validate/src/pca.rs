//! PCA baseline: project normalised data on its leading principal components
//! and reconstruct, at the autoencoder's latent dimension.

/// Eigen-decomposition of a symmetric `d x d` matrix (row-major) by cyclic
/// Jacobi rotations; returns eigenvalues and eigenvectors (columns of a
/// row-major matrix), sorted by decreasing eigenvalue.
pub fn symmetric_eigen(a: &[f64], d: usize) -> (Vec<f64>, Vec<f64>) {
    let mut m = a.to_vec();
    let mut v = vec![0.0; d * d];
    for i in 0..d {
        v[i * d + i] = 1.0;
    }
    for _sweep in 0..100 {
        let off: f64 = (0..d)
            .flat_map(|i| (0..d).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| m[i * d + j].powi(2))
            .sum();
        let scale: f64 = (0..d)
            .map(|i| m[i * d + i].powi(2))
            .sum::<f64>()
            .max(1e-300);
        if off <= 1e-30 * scale {
            break;
        }
        for p in 0..d {
            for q in p + 1..d {
                let apq = m[p * d + q];
                if apq == 0.0 {
                    continue;
                }
                let theta = (m[q * d + q] - m[p * d + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..d {
                    let (akp, akq) = (m[k * d + p], m[k * d + q]);
                    m[k * d + p] = c * akp - s * akq;
                    m[k * d + q] = s * akp + c * akq;
                }
                for k in 0..d {
                    let (apk, aqk) = (m[p * d + k], m[q * d + k]);
                    m[p * d + k] = c * apk - s * aqk;
                    m[q * d + k] = s * apk + c * aqk;
                }
                for k in 0..d {
                    let (vkp, vkq) = (v[k * d + p], v[k * d + q]);
                    v[k * d + p] = c * vkp - s * vkq;
                    v[k * d + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|&a, &b| m[b * d + b].total_cmp(&m[a * d + a]));
    let vals = order.iter().map(|&i| m[i * d + i]).collect();
    let mut vecs = vec![0.0; d * d];
    for (new, &old) in order.iter().enumerate() {
        for k in 0..d {
            vecs[k * d + new] = v[k * d + old];
        }
    }
    (vals, vecs)
}

/// A fitted PCA.
#[derive(Debug, Clone)]
pub struct Pca {
    d: usize,
    mean: Vec<f64>,
    /// Eigenvectors as columns, row-major `d x d`, by decreasing variance.
    vectors: Vec<f64>,
    /// Variance along each component.
    pub variances: Vec<f64>,
}

impl Pca {
    /// Fits on a row-major `rows x d` matrix.
    pub fn fit(x: &[f64], d: usize) -> Pca {
        let rows = x.len() / d.max(1);
        let mut mean = vec![0.0; d];
        for r in x.chunks_exact(d) {
            for (m, v) in mean.iter_mut().zip(r) {
                *m += v;
            }
        }
        mean.iter_mut().for_each(|m| *m /= rows.max(1) as f64);
        let mut cov = vec![0.0; d * d];
        for r in x.chunks_exact(d) {
            for i in 0..d {
                let di = r[i] - mean[i];
                for j in i..d {
                    cov[i * d + j] += di * (r[j] - mean[j]);
                }
            }
        }
        for i in 0..d {
            for j in i..d {
                cov[i * d + j] /= (rows.max(2) - 1) as f64;
                cov[j * d + i] = cov[i * d + j];
            }
        }
        let (variances, vectors) = symmetric_eigen(&cov, d);
        Pca {
            d,
            mean,
            vectors,
            variances,
        }
    }

    /// Projects on the first `k` components and maps back.
    pub fn reconstruct(&self, x: &[f64], k: usize) -> Vec<f64> {
        let d = self.d;
        let k = k.min(d);
        let mut out = vec![0.0; x.len()];
        let mut z = vec![0.0; k];
        for (r, o) in x.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
            for (c, zc) in z.iter_mut().enumerate() {
                *zc = (0..d)
                    .map(|i| (r[i] - self.mean[i]) * self.vectors[i * d + c])
                    .sum();
            }
            for (i, oi) in o.iter_mut().enumerate() {
                *oi = self.mean[i] + (0..k).map(|c| z[c] * self.vectors[i * d + c]).sum::<f64>();
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> Vec<f64> {
        // 3 correlated columns.
        (0..500)
            .flat_map(|i| {
                let t = i as f64 * 0.37;
                let a = t.sin();
                let b = (t * 1.7).cos();
                [a, 2.0 * a + 0.1 * b, b - 0.5 * a + 3.0]
            })
            .collect()
    }

    #[test]
    fn full_dimension_reconstructs_exactly() {
        let x = data();
        let p = Pca::fit(&x, 3);
        let y = p.reconstruct(&x, 3);
        let worst = x
            .iter()
            .zip(&y)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(worst < 1e-12, "{worst}");
    }

    #[test]
    fn two_components_capture_rank_two_data() {
        // The third column is a linear combination of the first two: rank 2.
        let x = data();
        let p = Pca::fit(&x, 3);
        assert!(
            p.variances[2].abs() < 1e-12 * p.variances[0],
            "{:?}",
            p.variances
        );
        let y = p.reconstruct(&x, 2);
        let worst = x
            .iter()
            .zip(&y)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(worst < 1e-9, "{worst}");
        let y1 = p.reconstruct(&x, 1);
        let worst1 = x
            .iter()
            .zip(&y1)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(worst1 > 0.01, "{worst1}");
    }

    #[test]
    fn eigen_of_known_matrix() {
        // [[2, 1], [1, 2]]: eigenvalues 3 and 1.
        let (vals, vecs) = symmetric_eigen(&[2.0, 1.0, 1.0, 2.0], 2);
        assert!((vals[0] - 3.0).abs() < 1e-12 && (vals[1] - 1.0).abs() < 1e-12);
        let r = std::f64::consts::FRAC_1_SQRT_2;
        assert!((vecs[0].abs() - r).abs() < 1e-12 && (vecs[2].abs() - r).abs() < 1e-12);
    }
}
