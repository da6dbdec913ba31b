//! Plain-Rust forward passes of the encoder and decoder.
//!
//! Compression needs the decoder's output to be bit-identical at compress and
//! at decompress time, on any machine, or the stored residuals would not
//! restore values within their bounds. burn's kernels may reorder sums by
//! backend and thread count, so both passes run here: every output is
//! accumulated in a fixed order with separate IEEE multiply and add (Rust never
//! contracts them into FMA), vectorised across outputs only.

use crate::activation::Activation;
use crate::error::{ModelError, Result};
use crate::tensors::NamedTensor;
use rayon::prelude::*;

/// One dense layer, weights stored `[in][out]` for the output-wise inner loop.
#[derive(Debug, Clone)]
struct Dense {
    inputs: usize,
    outputs: usize,
    w: Vec<f32>,
    b: Vec<f32>,
}

/// A stack of dense layers, each followed by its activation.
#[derive(Debug, Clone)]
pub struct Mlp {
    layers: Vec<Dense>,
    activations: Vec<Activation>,
    leaky_slope: f32,
}

const BLOCK_ROWS: usize = 256;

impl Mlp {
    /// Builds the network from exported tensors (`{name}.weight` `[out, in]`,
    /// `{name}.bias` `[out]`) of the named layers, in order, each followed
    /// by its entry of `activations` (LeakyReLUs with `leaky_slope`). `what`
    /// names the source in errors.
    pub fn from_tensors(
        tensors: &[NamedTensor],
        layers: &[String],
        activations: &[Activation],
        leaky_slope: f32,
        what: &str,
    ) -> Result<Mlp> {
        if activations.len() != layers.len() {
            return Err(ModelError::invalid(
                what,
                format!(
                    "{} activations for {} layers",
                    activations.len(),
                    layers.len()
                ),
            ));
        }
        let find = |n: &str| tensors.iter().find(|t| t.name == n);
        let mut out = Vec::new();
        for name in layers {
            let w = find(&format!("{name}.weight")).ok_or_else(|| {
                ModelError::invalid(what, format!("tensor '{name}.weight' missing"))
            })?;
            let b = find(&format!("{name}.bias")).ok_or_else(|| {
                ModelError::invalid(what, format!("tensor '{name}.bias' missing"))
            })?;
            let (outputs, inputs) = match w.shape[..] {
                [o, i] if o * i == w.data.len() => (o, i),
                _ => {
                    return Err(ModelError::invalid(
                        what,
                        format!("tensor '{name}.weight' has shape {:?}", w.shape),
                    ))
                }
            };
            if b.data.len() != outputs {
                return Err(ModelError::invalid(
                    what,
                    format!(
                        "'{name}.bias' has {} values for {outputs} outputs",
                        b.data.len()
                    ),
                ));
            }
            if let Some(prev) = out.last().map(|d: &Dense| d.outputs) {
                if prev != inputs {
                    return Err(ModelError::invalid(what, format!("layer '{name}' takes {inputs} inputs but the layer before gives {prev}"
                    )));
                }
            }
            let mut wt = vec![0f32; inputs * outputs];
            for o in 0..outputs {
                for i in 0..inputs {
                    wt[i * outputs + o] = w.data[o * inputs + i];
                }
            }
            out.push(Dense {
                inputs,
                outputs,
                w: wt,
                b: b.data.clone(),
            });
        }
        if out.is_empty() {
            return Err(ModelError::invalid(what, "no layers"));
        }
        Ok(Mlp {
            layers: out,
            activations: activations.to_vec(),
            leaky_slope,
        })
    }

    /// Width of the input.
    pub fn inputs(&self) -> usize {
        self.layers[0].inputs
    }

    /// Width of the output.
    pub fn outputs(&self) -> usize {
        self.layers.last().unwrap().outputs
    }

    /// Runs a row-major `rows x inputs()` matrix through the network.
    /// The result does not depend on the thread count.
    pub fn forward(&self, x: &[f32]) -> Vec<f32> {
        let n_in = self.inputs();
        let n_out = self.outputs();
        let rows = x.len() / n_in;
        let mut out = vec![0f32; rows * n_out];
        out.par_chunks_mut(BLOCK_ROWS * n_out)
            .zip(x.par_chunks(BLOCK_ROWS * n_in))
            .for_each(|(o, xi)| self.forward_block(xi, o));
        out
    }

    /// [`Mlp::forward`] through SIMD matrix products (`gemm`, chosen at run
    /// time for the CPU): several times faster, but the last bits of the
    /// output depend on the CPU, so it serves sampling (event generation)
    /// and never compression.
    pub fn forward_fast(&self, x: &[f32]) -> Vec<f32> {
        const FAST_ROWS: usize = 2048;
        let n_in = self.inputs();
        let n_out = self.outputs();
        let rows = x.len() / n_in;
        let mut out = vec![0f32; rows * n_out];
        out.par_chunks_mut(FAST_ROWS * n_out)
            .zip(x.par_chunks(FAST_ROWS * n_in))
            .for_each(|(o, xi)| self.forward_block_fast(xi, o));
        out
    }

    fn forward_block_fast(&self, x: &[f32], out: &mut [f32]) {
        let rows = x.len() / self.inputs();
        let mut cur = x.to_vec();
        for (l, act) in self.layers.iter().zip(&self.activations) {
            let mut next: Vec<f32> = Vec::with_capacity(rows * l.outputs);
            for _ in 0..rows {
                next.extend_from_slice(&l.b);
            }
            // SAFETY: row-major buffers of exactly rows x inputs, inputs x
            // outputs and rows x outputs values, strides as given.
            unsafe {
                gemm::gemm(
                    rows,
                    l.outputs,
                    l.inputs,
                    next.as_mut_ptr(),
                    1,
                    l.outputs as isize,
                    true,
                    cur.as_ptr(),
                    1,
                    l.inputs as isize,
                    l.w.as_ptr(),
                    1,
                    l.outputs as isize,
                    1.0,
                    1.0,
                    false,
                    false,
                    false,
                    gemm::Parallelism::None,
                );
            }
            act.apply(&mut next, self.leaky_slope);
            cur = next;
        }
        out.copy_from_slice(&cur);
    }

    fn forward_block(&self, x: &[f32], out: &mut [f32]) {
        let rows = x.len() / self.inputs();
        let mut cur = x.to_vec();
        for (l, act) in self.layers.iter().zip(&self.activations) {
            let mut next = vec![0f32; rows * l.outputs];
            for r in 0..rows {
                let h = &cur[r * l.inputs..(r + 1) * l.inputs];
                let o = &mut next[r * l.outputs..(r + 1) * l.outputs];
                o.copy_from_slice(&l.b);
                for (i, &hi) in h.iter().enumerate() {
                    let wi = &l.w[i * l.outputs..(i + 1) * l.outputs];
                    for (oj, &wij) in o.iter_mut().zip(wi) {
                        *oj += wij * hi;
                    }
                }
            }
            act.apply(&mut next, self.leaky_slope);
            cur = next;
        }
        out.copy_from_slice(&cur);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Activation::*;

    fn t(name: &str, shape: Vec<usize>, data: Vec<f32>) -> NamedTensor {
        NamedTensor {
            name: name.into(),
            shape,
            data,
        }
    }

    #[test]
    fn two_layer_forward_matches_hand_computation() {
        // a: 2 -> 2, weights [out, in] = [[1, 2], [-3, 1]], bias [0, 0.5]; b: 2 -> 1, [[2, 1]], bias [1]
        let ts = vec![
            t("a.weight", vec![2, 2], vec![1.0, 2.0, -3.0, 1.0]),
            t("a.bias", vec![2], vec![0.0, 0.5]),
            t("b.weight", vec![1, 2], vec![2.0, 1.0]),
            t("b.bias", vec![1], vec![1.0]),
        ];
        let names = ["a".to_string(), "b".to_string()];
        let m = Mlp::from_tensors(&ts, &names, &[LeakyRelu, Identity], 0.01, "test").unwrap();
        // row (1, 1): a = (3, -1.5) -> leaky (3, -0.015) -> b = 2*3 - 0.015 + 1 = 6.985
        let y = m.forward(&[1.0, 1.0, 0.0, 0.0]);
        assert_eq!(y.len(), 2);
        assert!((y[0] - 6.985).abs() < 1e-6, "{}", y[0]);
        // row (0, 0): a = (0, 0.5) -> b = 0.5 + 1
        assert_eq!(y[1], 1.5);
        // Slope 0.5 and a sigmoid output: a -> (3, -0.75), b = 6.25 -> 0.998073;
        // the second row's 1.5 -> 0.817574.
        let m = Mlp::from_tensors(&ts, &names, &[LeakyRelu, Sigmoid], 0.5, "test").unwrap();
        let y = m.forward(&[1.0, 1.0, 0.0, 0.0]);
        assert!((y[0] - 0.998_073_2).abs() < 1e-6, "{}", y[0]);
        assert!((y[1] - 0.817_574_5).abs() < 1e-6, "{}", y[1]);
        let e = Mlp::from_tensors(&ts, &names, &[Tanh], 0.01, "m").unwrap_err();
        assert!(e.to_string().contains("1 activations for 2 layers"), "{e}");
    }

    #[test]
    fn the_fast_forward_agrees_with_the_exact_one() {
        let mut v = 0.37f32;
        let mut next = || {
            v = (v * 3.7 + 0.13).fract();
            v - 0.5
        };
        let ts = vec![
            t("a.weight", vec![7, 5], (0..35).map(|_| next()).collect()),
            t("a.bias", vec![7], (0..7).map(|_| next()).collect()),
            t("b.weight", vec![3, 7], (0..21).map(|_| next()).collect()),
            t("b.bias", vec![3], (0..3).map(|_| next()).collect()),
        ];
        let names = ["a".to_string(), "b".to_string()];
        let m = Mlp::from_tensors(&ts, &names, &[Tanh, Sigmoid], 0.01, "t").unwrap();
        let x: Vec<f32> = (0..5 * 3000).map(|_| next()).collect();
        let (exact, fast) = (m.forward(&x), m.forward_fast(&x));
        assert_eq!(exact.len(), fast.len());
        for (a, b) in exact.iter().zip(&fast) {
            assert!((a - b).abs() < 1e-5, "{a} {b}");
        }
    }

    #[test]
    fn missing_and_mismatched_tensors_are_reported() {
        let ts = vec![
            t("a.weight", vec![2, 3], vec![0.0; 6]),
            t("a.bias", vec![2], vec![0.0; 2]),
            t("b.weight", vec![1, 3], vec![0.0; 3]),
            t("b.bias", vec![1], vec![0.0]),
        ];
        let e = Mlp::from_tensors(&ts, &["a".into(), "c".into()], &[Relu, Identity], 0.01, "m")
            .unwrap_err()
            .to_string();
        assert!(e.contains("'c.weight' missing"), "{e}");
        let e = Mlp::from_tensors(&ts, &["a".into(), "b".into()], &[Relu, Identity], 0.01, "m")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("takes 3 inputs but the layer before gives 2"),
            "{e}"
        );
    }
}
