//! # hepae-generate
//!
//! VAEs as fast Monte Carlo event generators (`vae`, `beta_vae`,
//! `alpha_vae`) on Dark Machines events: trained with hepae-train on one or
//! more processes, sampled from the latent prior with the plain-Rust
//! decoder, decoded into physical events by construction, and compared with
//! held-out MC events and two baselines (column resampling, a multivariate
//! Gaussian) by Wasserstein, KS, chi2, correlation and classifier tests.

#![warn(missing_docs)]

mod classifier;
mod config;
mod error;
mod features;
mod metrics;
mod physical;
mod report;
mod rng;
mod run;
mod sample;
mod train;

pub use classifier::{auc, two_sample_test, TwoSample};
pub use config::GenerateConfig;
pub use error::{GenerateError, Result};
pub use features::{eta_acceptance, wrap_phi, FeatureSpace, Repairs};
pub use metrics::{correlation, frobenius, observables, wasserstein_ks, Distance, Observable};
pub use physical::unphysical_events;
pub use rng::{normals, Rng};
pub use run::{run, GenerateOptions, SampleMetrics, Summary};
pub use sample::{events_from_features, gaussian_features, resample_columns, Generator, Sample};
pub use train::{train, train_config};
