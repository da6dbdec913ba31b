//! The autoencoder networks: input-h1-...-hk-z-hk-...-h1-input, with mean and
//! log-variance heads for the variational kinds.

use burn::module::ParamId;
use burn::nn::{Linear, LinearConfig};
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::activation;
use burn::tensor::Distribution;
use hepae_model::{Activation, LayerActivations, ModelConfig, NamedTensor};

/// LeakyReLU as relu(x) - slope relu(-x): the same values as burn's
/// `leaky_relu`, bit for bit (each branch is one exact operation), but on
/// relu's dedicated CPU kernels and their backward, where burn's goes through a
/// generic `mask_where` that took an eighth of each CPU training step.
fn leaky_relu(x: Tensor<2>, slope: f32) -> Tensor<2> {
    activation::relu(x.clone()) - activation::relu(x.neg()).mul_scalar(slope)
}

/// `a` applied to `x` (LeakyReLUs with `slope`).
fn apply(a: Activation, x: Tensor<2>, slope: f32) -> Tensor<2> {
    match a {
        Activation::LeakyRelu => leaky_relu(x, slope),
        Activation::Relu => activation::relu(x),
        Activation::Tanh => activation::tanh(x),
        Activation::Elu => activation::elu(x, 1.0),
        Activation::Sigmoid => activation::sigmoid(x),
        Activation::Identity => x,
    }
}

/// An autoencoder of any kind (see [`crate::ModelKind`]).
#[derive(Module, Debug)]
pub struct AutoEncoder {
    encoder: Vec<Linear>,
    /// Latent layer (AE) or mean head (VAE).
    latent: Linear,
    /// Log-variance head (VAE only).
    logvar: Option<Linear>,
    decoder: Vec<Linear>,
    output: Linear,
    #[module(skip)]
    activations: LayerActivations,
    variational: bool,
    /// Standard deviation of the training latent noise (alpha-VAE; 0 otherwise).
    noise_std: f64,
}

/// What one forward pass produces.
pub struct Forward {
    /// Reconstruction of the input.
    pub reconstruction: Tensor<2>,
    /// Latent code (AE) or latent mean (VAE).
    pub mean: Tensor<2>,
    /// Latent log-variance (VAE only).
    pub logvar: Option<Tensor<2>>,
    /// The encoder's hidden activations, input side first (what the
    /// sparse kinds penalise).
    pub hidden: Vec<Tensor<2>>,
}

impl AutoEncoder {
    /// Builds the network for `inputs` columns on `device` (initialisation
    /// follows the device's seed). The configuration's activations are
    /// checked first (see [`ModelConfig::layer_activations`]).
    pub fn new(config: &ModelConfig, inputs: usize, device: &Device) -> AutoEncoder {
        Self::with_noise(config, inputs, 0.0, device)
    }

    /// [`AutoEncoder::new`] for an alpha-VAE: `noise_std` is alpha.
    pub fn with_noise(
        config: &ModelConfig,
        inputs: usize,
        noise_std: f64,
        device: &Device,
    ) -> AutoEncoder {
        let mut widths = vec![inputs];
        widths.extend(&config.hidden);
        let encoder = widths
            .windows(2)
            .map(|w| LinearConfig::new(w[0], w[1]).init(device))
            .collect();
        let last = *widths.last().unwrap();
        let latent = LinearConfig::new(last, config.latent).init(device);
        let variational = config.kind.is_variational();
        let logvar = variational.then(|| LinearConfig::new(last, config.latent).init(device));
        let mut dec_widths = vec![config.latent];
        dec_widths.extend(config.hidden.iter().rev());
        let decoder = dec_widths
            .windows(2)
            .map(|w| LinearConfig::new(w[0], w[1]).init(device))
            .collect();
        let output = LinearConfig::new(*dec_widths.last().unwrap(), inputs).init(device);
        AutoEncoder {
            encoder,
            latent,
            logvar,
            decoder,
            output,
            activations: config
                .layer_activations()
                .expect("activations checked before the model is built"),
            variational,
            noise_std: if config.kind == hepae_model::ModelKind::AlphaVae {
                noise_std
            } else {
                0.0
            },
        }
    }

    /// Encodes to the latent code (AE) or latent mean (VAE): what compression stores.
    pub fn encode(&self, x: Tensor<2>) -> Tensor<2> {
        self.encode_full(x).0
    }

    /// Latent mean, log-variance (VAEs) and the hidden activations.
    fn encode_full(&self, x: Tensor<2>) -> (Tensor<2>, Option<Tensor<2>>, Vec<Tensor<2>>) {
        let slope = self.activations.leaky_slope;
        let mut h = x;
        let mut hidden = Vec::with_capacity(self.encoder.len());
        for (l, &a) in self.encoder.iter().zip(&self.activations.encoder) {
            h = apply(a, l.forward(h), slope);
            hidden.push(h.clone());
        }
        let mean = self.latent.forward(h.clone());
        let logvar = self.logvar.as_ref().map(|l| l.forward(h));
        (mean, logvar, hidden)
    }

    /// Decodes latent codes back to (normalised) inputs.
    pub fn decode(&self, z: Tensor<2>) -> Tensor<2> {
        let slope = self.activations.leaky_slope;
        let mut h = z;
        for (l, &a) in self.decoder.iter().zip(&self.activations.decoder) {
            h = apply(a, l.forward(h), slope);
        }
        apply(self.activations.output, self.output.forward(h), slope)
    }

    /// Full pass; VAEs sample z = mean + exp(logvar / 2) * eps when `sample` is set.
    pub fn forward(&self, x: Tensor<2>, sample: bool) -> Forward {
        let eps = (sample && self.draws_noise()).then(|| self.noise(x.dims()[0], &x.device()));
        self.forward_with_noise(x, eps)
    }

    /// True when training draws latent noise (VAE sampling or alpha-VAE noise).
    pub fn draws_noise(&self) -> bool {
        self.variational || self.noise_std > 0.0
    }

    /// Standard-normal noise for `rows` latent samples, from the device's seeded RNG.
    pub(crate) fn noise(&self, rows: usize, device: &Device) -> Tensor<2> {
        let latent = self.latent.weight.dims()[1];
        Tensor::<2>::random([rows, latent], Distribution::Normal(0.0, 1.0), device)
    }

    /// Full pass with the sampling noise given (VAEs; ignored by plain AEs),
    /// so that a batch split into shards draws the same noise as a whole one.
    pub(crate) fn forward_with_noise(&self, x: Tensor<2>, eps: Option<Tensor<2>>) -> Forward {
        let (mean, logvar, hidden) = self.encode_full(x);
        let z = match (&logvar, eps) {
            (Some(lv), Some(eps)) => mean.clone() + (lv.clone() * 0.5).exp() * eps,
            (None, Some(eps)) => mean.clone() + eps * self.noise_std,
            _ => mean.clone(),
        };
        Forward {
            reconstruction: self.decode(z),
            mean,
            logvar,
            hidden,
        }
    }

    /// Adds the gradients in `from` to those in `into`, parameter by parameter
    /// in layer order (a fixed order keeps sharded steps repeatable).
    pub(crate) fn add_gradients(&self, into: &mut GradientsParams, mut from: GradientsParams) {
        fn add<const D: usize>(
            id: ParamId,
            into: &mut GradientsParams,
            from: &mut GradientsParams,
        ) {
            if let Some(g) = from.remove::<D>(id) {
                let sum = match into.remove::<D>(id) {
                    Some(a) => a + g,
                    None => g,
                };
                into.register::<D>(id, sum);
            }
        }
        for l in self.layers() {
            add::<2>(l.weight.id, into, &mut from);
            if let Some(b) = &l.bias {
                add::<1>(b.id, into, &mut from);
            }
        }
    }

    pub(crate) fn layers(&self) -> Vec<&Linear> {
        let mut layers: Vec<&Linear> = self.encoder.iter().collect();
        layers.push(&self.latent);
        if let Some(l) = &self.logvar {
            layers.push(l);
        }
        layers.extend(self.decoder.iter());
        layers.push(&self.output);
        layers
    }

    /// Every layer's weight (PyTorch layout `[out, in]`) and bias, named
    /// `encoder.{i}`, `latent`, `logvar`, `decoder.{i}`, `output` plus
    /// `.weight` / `.bias`, in forward order; for safetensors export and for
    /// the plain-Rust encoder and decoder used by compression.
    pub fn export_tensors(&self) -> Vec<NamedTensor> {
        let mut named: Vec<(String, &Linear)> = Vec::new();
        for (i, l) in self.encoder.iter().enumerate() {
            named.push((format!("encoder.{i}"), l));
        }
        named.push(("latent".into(), &self.latent));
        if let Some(l) = &self.logvar {
            named.push(("logvar".into(), l));
        }
        for (i, l) in self.decoder.iter().enumerate() {
            named.push((format!("decoder.{i}"), l));
        }
        named.push(("output".into(), &self.output));
        let mut out = Vec::new();
        for (name, l) in named {
            let w = l.weight.val();
            let [inputs, outputs] = w.dims();
            let burn_layout = w.into_data().try_to_vec::<f32>().expect("f32 weights");
            // burn stores [in, out]; PyTorch and safetensors users expect [out, in].
            let mut data = vec![0f32; inputs * outputs];
            for i in 0..inputs {
                for o in 0..outputs {
                    data[o * inputs + i] = burn_layout[i * outputs + o];
                }
            }
            out.push(NamedTensor {
                name: format!("{name}.weight"),
                shape: vec![outputs, inputs],
                data,
            });
            if let Some(b) = &l.bias {
                out.push(NamedTensor {
                    name: format!("{name}.bias"),
                    shape: vec![outputs],
                    data: b.val().into_data().try_to_vec::<f32>().expect("f32 bias"),
                });
            }
        }
        out
    }

    /// All weights and biases, layer by layer, as one vector (for comparisons and exports).
    pub fn flat_parameters(&self) -> Vec<f32> {
        let mut out = Vec::new();
        for l in self.layers() {
            out.extend(
                l.weight
                    .val()
                    .into_data()
                    .try_to_vec::<f32>()
                    .expect("f32 weights"),
            );
            if let Some(b) = &l.bias {
                out.extend(b.val().into_data().try_to_vec::<f32>().expect("f32 bias"));
            }
        }
        out
    }

    /// Sum of |w| over every weight matrix (biases excluded), for the sparse penalty.
    pub fn l1_weights(&self) -> Tensor<1> {
        let mut total: Option<Tensor<1>> = None;
        for l in self.layers() {
            let s = l.weight.val().abs().sum();
            total = Some(match total {
                Some(t) => t + s,
                None => s,
            });
        }
        total.expect("at least one layer")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{LossConfig, ModelKind};
    use hepae_model::{Mlp, LEAKY_SLOPE};

    /// Per-layer activations (tanh, LeakyReLU of slope 0.3, a sigmoid
    /// output) give the same outputs in training and in plain-Rust inference.
    #[test]
    fn per_layer_activations_agree_with_inference() {
        let _rng = crate::RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let device = Device::flex();
        device.seed(5);
        let cfg = ModelConfig {
            hidden: vec![8, 4],
            latent: 2,
            activations: vec![Activation::Tanh, Activation::LeakyRelu],
            leaky_slope: 0.3,
            output_activation: Activation::Sigmoid,
            ..Default::default()
        };
        let model = AutoEncoder::new(&cfg, 5, &device);
        let x: Vec<f32> = (0..50).map(|i| ((i * 7) % 11) as f32 / 2.0 - 2.5).collect();
        let t = Tensor::<2>::from_data(TensorData::new(x.clone(), [10, 5]), &device);
        let burn = model.decode(model.encode(t));
        let burn = burn.into_data().try_to_vec::<f32>().unwrap();
        let acts = cfg.layer_activations().unwrap();
        let (enc, dec) = hepae_model::layer_names(2);
        let w = model.export_tensors();
        let e = Mlp::from_tensors(&w, &enc, &acts.encoder_layers(), 0.3, "t").unwrap();
        let d = Mlp::from_tensors(&w, &dec, &acts.decoder_layers(), 0.3, "t").unwrap();
        let ours = d.forward(&e.forward(&x));
        assert_eq!(ours.len(), 50);
        for (a, b) in burn.iter().zip(&ours) {
            assert!(*a > 0.0 && *a < 1.0, "sigmoid output {a}");
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
        // The default slope and a linear output are another network.
        let lin = [
            Activation::LeakyRelu,
            Activation::LeakyRelu,
            Activation::Identity,
        ];
        let plain = Mlp::from_tensors(&w, &dec, &lin, LEAKY_SLOPE, "t");
        let plain = plain.unwrap().forward(&e.forward(&x));
        assert!(plain.iter().zip(&ours).any(|(a, b)| (a - b).abs() > 1e-3));
    }

    #[test]
    fn leaky_relu_equals_burns_bit_for_bit_with_the_same_gradient() {
        let device = Device::flex().autodiff();
        let v: Vec<f32> = (0..64)
            .map(|i| (i as f32 - 31.5) * 0.37f32.powi(i % 9 - 4))
            .chain([0.0, -0.0, 1e-38, -1e-38, f32::MAX, f32::MIN])
            .collect();
        let n = v.len();
        let x =
            || Tensor::<2>::from_data(TensorData::new(v.clone(), [1, n]), &device).require_grad();
        let (a, b) = (x(), x());
        let ya = leaky_relu(a.clone(), LEAKY_SLOPE);
        let yb = activation::leaky_relu(b.clone(), LEAKY_SLOPE as f64);
        let bits = |t: Tensor<2>| -> Vec<u32> {
            t.into_data()
                .try_to_vec::<f32>()
                .unwrap()
                .iter()
                .map(|f| f.to_bits())
                .collect()
        };
        // Bit for bit, except that -0.0 comes out as +0.0 (equal as numbers).
        for ((x, p), q) in v.iter().zip(bits(ya.clone())).zip(bits(yb.clone())) {
            if *x == 0.0 {
                assert_eq!(f32::from_bits(p), f32::from_bits(q));
            } else {
                assert_eq!(p, q, "x = {x}");
            }
        }
        // Same gradient, except at exactly 0 where the two one-sided slopes differ.
        let w: Vec<f32> = (0..n).map(|i| 1.0 + i as f32 * 0.25).collect();
        let w = Tensor::<2>::from_data(TensorData::new(w, [1, n]), &device);
        let ga = (ya * w.clone()).sum().backward();
        let gb = (yb * w).sum().backward();
        let (ga, gb) = (a.grad(&ga).unwrap(), b.grad(&gb).unwrap());
        let (ga, gb) = (
            ga.into_data().try_to_vec::<f32>().unwrap(),
            gb.into_data().try_to_vec::<f32>().unwrap(),
        );
        for ((x, p), q) in v.iter().zip(&ga).zip(&gb) {
            if *x != 0.0 {
                assert_eq!(p.to_bits(), q.to_bits(), "x = {x}: {p} vs {q}");
            }
        }
        // And the same values as the plain-Rust inference used by compression.
        for (x, y) in v.iter().zip(bits(leaky_relu(x(), LEAKY_SLOPE))) {
            let want = if *x < 0.0 { *x * LEAKY_SLOPE } else { *x };
            assert_eq!(f32::from_bits(y), want, "x = {x}");
            assert!(*x == 0.0 || y == want.to_bits(), "x = {x}");
        }
    }

    /// The first encoder layer's weight gradient of `kind` with `act`
    /// hidden layers under an L1 and sparsity weight of 0.1.
    fn first_layer_gradient(kind: ModelKind, act: Activation) -> Vec<f32> {
        let device = Device::flex().autodiff();
        device.seed(3);
        let cfg = ModelConfig {
            kind,
            hidden: vec![16, 8],
            latent: 3,
            activation: act,
            ..Default::default()
        };
        let model = AutoEncoder::new(&cfg, 6, &device);
        let x = Tensor::<2>::from_data(
            TensorData::new(
                (0..60).map(|i| (i % 7) as f32 / 7.0).collect::<Vec<f32>>(),
                [10, 6],
            ),
            &device,
        );
        let f = model.forward(x.clone(), false);
        let loss_cfg = LossConfig {
            l1: 0.1,
            beta: 0.1,
            ..Default::default()
        };
        let loss = crate::loss::total(&model, kind, &loss_cfg, &x, None, &f);
        let grads = loss.backward();
        model.encoder[0]
            .weight
            .grad(&grads)
            .expect("gradient")
            .into_data()
            .try_to_vec::<f32>()
            .unwrap()
    }

    /// Each sparse penalty reaches the gradients (Baler computed its L1
    /// term but never applied it).
    #[test]
    fn sparse_gradients_differ_from_ae() {
        let _rng = crate::RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let g = first_layer_gradient;
        let leaky = Activation::LeakyRelu;
        for (kind, act) in [
            (ModelKind::SaeL1Act, leaky),
            (ModelKind::SaeKl, Activation::Sigmoid),
        ] {
            let (ae, sparse) = (g(ModelKind::Ae, act), g(kind, act));
            let scale: f32 = ae.iter().map(|v| v.abs()).sum();
            let diff: f32 = ae.iter().zip(&sparse).map(|(a, b)| (a - b).abs()).sum();
            assert!(
                diff > 1e-3 * scale,
                "{kind:?}: gradients differ by {diff} of {scale}"
            );
        }
        let grads_of = [g(ModelKind::Ae, leaky), g(ModelKind::Sae, leaky)];
        let diff: f32 = grads_of[0]
            .iter()
            .zip(&grads_of[1])
            .map(|(a, b)| (a - b).abs())
            .sum();
        // d/dw of 0.1 * sum|w| is 0.1 * sign(w) for every weight of the layer.
        let n = grads_of[0].len() as f32;
        assert!(
            (diff - 0.1 * n).abs() < 1e-3 * n,
            "sum |g_sae - g_ae| = {diff}, expected {}",
            0.1 * n
        );
    }
}
