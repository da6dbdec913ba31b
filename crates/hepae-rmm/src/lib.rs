//! # hepae-rmm
//!
//! Rapidity-Mass Matrices from NanoAOD-style ROOT files and autoencoder
//! anomaly scores (ROC, AUC, SIC, signal regions with s/sqrt(b) and the
//! Asimov significance, Z_A scans).
#![warn(missing_docs)]

pub mod anomaly;
mod error;
mod events;
pub mod merit;
mod plots;
mod report;
pub mod rmm;
pub mod score;
pub mod select;
pub mod sensitivity;
pub mod stats;
mod table;

pub use anomaly::{AnomalyOptions, AnomalySummary};
pub use error::{Result, RmmError};
pub use rmm::{ObjectType, RapidityForm, RmmConfig};
pub use table::{heatmap_of_event, rmm_table, rmm_table_selected, with_pt_scaled_signals, Sample};
