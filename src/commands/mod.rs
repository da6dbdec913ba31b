//! One module per `hepae` verb.

pub mod bench_read;
pub mod bench_train;
pub mod compress;
pub mod dataset;
pub mod generate;
pub mod ingest;
pub mod ingest_dm;
pub mod inspect;
pub mod report;
pub mod rmm;
pub mod run;
pub mod study;
pub mod train;
pub mod validate;
