//! # hepae-ingest
//!
//! Turns an object collection of ROOT trees (NanoAOD `nJet` + `Jet_pt`,
//! ATLAS `AnalysisJetsAuxDyn.pt`, Delphes `Jet.PT`, ...) into a flat table
//! with one row per object, applies inclusive range cuts, optionally drops
//! all-zero columns, and writes zstd-compressed Parquet plus a JSON sidecar.

#![warn(missing_docs)]

mod columns;
mod error;
mod plan;
pub mod preprocess;
mod report;
mod run;
mod spec;
mod table;

pub use columns::expand_inputs;
pub use error::{IngestError, Result};
pub use preprocess::{Preprocess, PreprocessReport};
pub use report::{ColumnReport, CutReport, FileReport, IngestReport, IngestSpec};
pub use run::{ingest, ingest_to_parquet};
pub use spec::{ColumnSpec, Cut};
pub use table::{to_arrow, Table};

use columns::*;
use plan::*;
use table::*;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{Field, Schema};
use hepae_root::{Column, DType, Interpretation, Layout, RootFile, Tree, Values};
use rayon::prelude::*;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
