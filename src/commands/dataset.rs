//! `hepae dataset`: check a dataset manifest and print it.

use anyhow::Result;
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub struct DatasetArgs {
    /// Dataset manifest (datasets/NAME.yaml).
    pub manifest: PathBuf,
}

pub fn run(a: &DatasetArgs) -> Result<()> {
    let d: hepae_pipeline::Dataset = hepae_pipeline::read_yaml(&a.manifest)?;
    println!("{}", serde_json::to_string_pretty(&d)?);
    Ok(())
}
