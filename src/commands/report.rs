//! `hepae report`: reports built from pipeline outputs.

use anyhow::Result;
use clap::Subcommand;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum ReportKind {
    /// Our HEP1/HEP2 results beside the Baler thesis (cuts, R and R*, gzip,
    /// final losses, outlier shares, W/top fits) as report.md + report.html.
    Repro {
        /// Output directory of the hep1 pipeline (e.g. out/hep1).
        #[arg(long)]
        hep1: Option<PathBuf>,
        /// Output directory of the hep2 pipeline (e.g. out/hep2).
        #[arg(long)]
        hep2: Option<PathBuf>,
        /// Report directory (replaced).
        #[arg(long, short, default_value = "out/repro")]
        out: PathBuf,
        /// Text printed under the title (e.g. the commands that made the outputs).
        #[arg(long)]
        note: Option<String>,
    },
}

pub fn run(kind: &ReportKind) -> Result<()> {
    match kind {
        ReportKind::Repro {
            hep1,
            hep2,
            out,
            note,
        } => {
            let md = hepae_pipeline::repro::repro(
                hep1.as_deref(),
                hep2.as_deref(),
                out,
                note.as_deref(),
            )?;
            println!("report: {} (and report.html)", md.display());
            Ok(())
        }
    }
}
