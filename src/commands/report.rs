//! `hepae report`: reports built from pipeline outputs.

use anyhow::Result;
use clap::Subcommand;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum ReportKind {
    /// Our HEP1/HEP2 results beside the Baler thesis (cuts, R and R*, gzip,
    /// final losses, outlier shares, W/top fits) as report.md + report.html.
    Repro {
        /// Output directory of a hep1 pipeline run (e.g. out/hep1); repeat
        /// for several runs (e.g. a thesis-length one), one section each.
        #[arg(long)]
        hep1: Vec<PathBuf>,
        /// Output directory of a hep2 pipeline run (e.g. out/hep2); repeat
        /// for several runs.
        #[arg(long)]
        hep2: Vec<PathBuf>,
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
            let md = hepae_pipeline::repro::repro(hep1, hep2, out, note.as_deref())?;
            println!("report: {} (and report.html)", md.display());
            Ok(())
        }
    }
}
