//! Anomaly scores from the saved model, by the deterministic plain-Rust
//! inference: the reconstruction MSE of the normalised features and, for
//! VAEs, the KL divergence of the event's latent posterior from N(0, I)
//! and the sum of the two.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// Which score ranks the events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ScoreKind {
    /// Mean squared reconstruction error of the normalised features.
    #[default]
    Reconstruction,
    /// KL(q(z|x) || N(0, I)) (VAEs).
    Kl,
    /// Reconstruction + KL (VAEs).
    Sum,
}

impl ScoreKind {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            ScoreKind::Reconstruction => "reconstruction",
            ScoreKind::Kl => "kl",
            ScoreKind::Sum => "sum",
        }
    }
}

impl std::str::FromStr for ScoreKind {
    type Err = String;
    fn from_str(s: &str) -> Result<ScoreKind, String> {
        match s {
            "reconstruction" => Ok(ScoreKind::Reconstruction),
            "kl" => Ok(ScoreKind::Kl),
            "sum" => Ok(ScoreKind::Sum),
            _ => Err(format!("unknown score '{s}' (reconstruction, kl, sum)")),
        }
    }
}

/// Every score of every event.
pub struct Scores {
    /// Reconstruction MSE per event.
    pub reconstruction: Vec<f64>,
    /// KL per event (VAEs only).
    pub kl: Option<Vec<f64>>,
}

impl Scores {
    /// The scores of `kind`; KL and sum need a VAE.
    pub fn chosen(&self, kind: ScoreKind) -> crate::Result<Vec<f64>> {
        let kl = || {
            self.kl.clone().ok_or_else(|| {
                crate::RmmError::Input(format!(
                    "anomaly.score: {} needs a vae or beta_vae model (train.model.kind)",
                    kind.name()
                ))
            })
        };
        Ok(match kind {
            ScoreKind::Reconstruction => self.reconstruction.clone(),
            ScoreKind::Kl => kl()?,
            ScoreKind::Sum => kl()?
                .iter()
                .zip(&self.reconstruction)
                .map(|(k, r)| k + r)
                .collect(),
        })
    }

    /// The kinds this model has.
    pub fn kinds(&self) -> Vec<ScoreKind> {
        match self.kl {
            Some(_) => vec![ScoreKind::Reconstruction, ScoreKind::Kl, ScoreKind::Sum],
            None => vec![ScoreKind::Reconstruction],
        }
    }
}

/// Scores of every row of `m` by the model in `model_dir`.
pub fn scores(m: &hepae_table::Matrix, model_dir: &Path) -> crate::Result<Scores> {
    let n = m.cols();
    let loaded = hepae_model::load(model_dir)?;
    // No activation after the latent layer: run the two halves separately.
    let (encoder, decoder) = loaded.networks("anomaly model")?;
    let mut x = m.values.clone();
    loaded.normalizer.apply(&mut x);
    let mean = encoder.forward(&x);
    let rec = decoder.forward(&mean);
    let reconstruction = x
        .chunks_exact(n)
        .zip(rec.chunks_exact(n))
        .map(|(a, b)| {
            a.iter()
                .zip(b)
                .map(|(p, q)| ((p - q) as f64).powi(2))
                .sum::<f64>()
                / n as f64
        })
        .collect();
    let kl = match loaded.logvar_head("anomaly model")? {
        Some(head) => {
            let lv = head.forward(&x);
            let z = encoder.outputs();
            Some(
                mean.chunks_exact(z)
                    .zip(lv.chunks_exact(z))
                    .map(|(mu, lv)| {
                        0.5 * mu
                            .iter()
                            .zip(lv)
                            .map(|(&m, &l)| (l as f64).exp() + (m as f64).powi(2) - l as f64 - 1.0)
                            .sum::<f64>()
                    })
                    .collect(),
            )
        }
        None => None,
    };
    Ok(Scores { reconstruction, kl })
}

/// AUC of each signal against the held-out background, for every score kind.
pub fn aucs_by_score(
    scores: &Scores,
    signal: &[bool],
    process: &[String],
    weights: &[f64],
    test: &[bool],
) -> BTreeMap<String, BTreeMap<String, f64>> {
    let mut out = BTreeMap::new();
    for kind in scores.kinds() {
        let s = scores.chosen(kind).expect("a kind the model has");
        let bkg: Vec<(f64, f64)> = (0..s.len())
            .filter(|&i| test[i])
            .map(|i| (s[i], weights[i]))
            .collect();
        let mut per = BTreeMap::new();
        for i in (0..s.len()).filter(|&i| signal[i]) {
            per.entry(process[i].clone())
                .or_insert_with(Vec::new)
                .push((s[i], weights[i]));
        }
        let aucs = per
            .into_iter()
            .map(|(p, sig)| (p, crate::anomaly::roc(&bkg, &sig).0))
            .collect();
        out.insert(kind.name().to_string(), aucs);
    }
    out
}
