//! Activations, one per layer: the kinds, how a configuration assigns them
//! to the layers of an autoencoder, and their plain-Rust evaluation.

use serde::{Deserialize, Serialize};

/// Negative slope of the LeakyReLU (PyTorch's and Baler's default).
pub const LEAKY_SLOPE: f32 = 0.01;

/// The activation after one layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// LeakyReLU with the configured negative slope (Baler's default).
    #[default]
    LeakyRelu,
    /// ReLU.
    Relu,
    /// tanh.
    Tanh,
    /// ELU (alpha 1).
    Elu,
    /// The logistic sigmoid, into (0, 1): an output for min-max scaled inputs.
    Sigmoid,
    /// No activation.
    Identity,
}

impl Activation {
    /// Applies the activation to every value, `slope` being LeakyReLU's.
    pub fn apply(self, v: &mut [f32], slope: f32) {
        match self {
            Activation::LeakyRelu => v.iter_mut().for_each(|x| {
                if *x < 0.0 {
                    *x *= slope
                }
            }),
            Activation::Relu => v.iter_mut().for_each(|x| *x = x.max(0.0)),
            Activation::Tanh => v.iter_mut().for_each(|x| *x = x.tanh()),
            Activation::Elu => v.iter_mut().for_each(|x| {
                if *x < 0.0 {
                    *x = x.exp_m1()
                }
            }),
            Activation::Sigmoid => v.iter_mut().for_each(|x| *x = 1.0 / (1.0 + (-*x).exp())),
            Activation::Identity => {}
        }
    }
}

/// The activation after every layer of an autoencoder, resolved from its
/// configuration. The latent layer and the log-variance head never have one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerActivations {
    /// After each hidden layer of the encoder, input side first.
    pub encoder: Vec<Activation>,
    /// After each hidden layer of the decoder, latent side first.
    pub decoder: Vec<Activation>,
    /// After the output layer.
    pub output: Activation,
    /// LeakyReLU's negative slope.
    pub leaky_slope: f32,
}

impl LayerActivations {
    /// Resolves `activations` for `hidden` hidden layers per half: empty
    /// means `all` everywhere; `hidden` entries are the encoder's, mirrored
    /// by the decoder; `2 * hidden` entries are the encoder's then the
    /// decoder's, in forward order.
    pub fn resolve(
        hidden: usize,
        all: Activation,
        activations: &[Activation],
        output: Activation,
        leaky_slope: f32,
    ) -> Result<LayerActivations, String> {
        if !leaky_slope.is_finite() {
            return Err(format!("leaky_slope is {leaky_slope}, not a finite number"));
        }
        let (encoder, decoder) = match activations.len() {
            0 => (vec![all; hidden], vec![all; hidden]),
            n if n == hidden => {
                let dec = activations.iter().rev().copied().collect();
                (activations.to_vec(), dec)
            }
            n if n == 2 * hidden => (
                activations[..hidden].to_vec(),
                activations[hidden..].to_vec(),
            ),
            n => {
                return Err(format!(
                    "activations lists {n} layers; the model has {hidden} hidden layers per half, so give {hidden} (mirrored) or {}",
                    2 * hidden
                ))
            }
        };
        Ok(LayerActivations {
            encoder,
            decoder,
            output,
            leaky_slope,
        })
    }

    /// Per layer of the encoder network (hidden layers, then the latent
    /// layer or a variational head, which has none).
    pub fn encoder_layers(&self) -> Vec<Activation> {
        let mut v = self.encoder.clone();
        v.push(Activation::Identity);
        v
    }

    /// Per layer of the decoder network (hidden layers, then the output).
    pub fn decoder_layers(&self) -> Vec<Activation> {
        let mut v = self.decoder.clone();
        v.push(self.output);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Activation::*;

    #[test]
    fn one_list_is_mirrored_two_halves_are_taken_as_given() {
        let a = LayerActivations::resolve(2, Relu, &[], Identity, 0.01).unwrap();
        assert_eq!((a.encoder, a.decoder), (vec![Relu; 2], vec![Relu; 2]));
        let a = LayerActivations::resolve(2, Relu, &[Tanh, LeakyRelu], Sigmoid, 0.2).unwrap();
        assert_eq!(a.encoder_layers(), vec![Tanh, LeakyRelu, Identity]);
        assert_eq!(a.decoder_layers(), vec![LeakyRelu, Tanh, Sigmoid]);
        let a =
            LayerActivations::resolve(2, Relu, &[Tanh, Elu, Relu, Sigmoid], Identity, 0.0).unwrap();
        assert_eq!(
            (a.encoder, a.decoder),
            (vec![Tanh, Elu], vec![Relu, Sigmoid])
        );
        let e = LayerActivations::resolve(2, Relu, &[Tanh; 3], Identity, 0.01).unwrap_err();
        assert!(
            e.contains("lists 3 layers") && e.contains("give 2 (mirrored) or 4"),
            "{e}"
        );
        let e = LayerActivations::resolve(2, Relu, &[], Identity, f32::NAN).unwrap_err();
        assert!(e.contains("leaky_slope is NaN"), "{e}");
    }

    #[test]
    fn each_kind_has_its_values() {
        let x = [-2.0f32, 0.0, 1.5];
        let run = |a: Activation, s: f32| {
            let mut v = x;
            a.apply(&mut v, s);
            v
        };
        assert_eq!(run(LeakyRelu, 0.2), [-0.4, 0.0, 1.5]);
        assert_eq!(run(Relu, 0.2), [0.0, 0.0, 1.5]);
        assert_eq!(run(Identity, 0.2), x);
        let s = run(Sigmoid, 0.0);
        assert!((s[0] - 0.119_202_92).abs() < 1e-7 && s[1] == 0.5, "{s:?}");
        let t = run(Tanh, 0.0);
        assert!((t[2] - 0.905_148_25).abs() < 1e-7, "{t:?}");
        let e = run(Elu, 0.0);
        assert!((e[0] + 0.864_664_7).abs() < 1e-7 && e[2] == 1.5, "{e:?}");
    }
}
