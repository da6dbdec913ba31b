//! `hepae bench-read` (hidden): read branches of a tree or RNTuple into
//! memory, for scripts/bench-rntuple's read-only comparison with uproot.

use anyhow::Result;
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub struct BenchReadArgs {
    /// ROOT file.
    #[arg(long)]
    input: PathBuf,
    /// Tree or RNTuple name.
    #[arg(long, default_value = "Events")]
    tree: String,
    /// Comma-separated branch (field) names.
    #[arg(long)]
    branches: String,
    /// Reads of the whole set, each from opening the file.
    #[arg(long, default_value_t = 5)]
    repeat: usize,
}

pub fn run(a: &BenchReadArgs) -> Result<()> {
    let names: Vec<&str> = a.branches.split(',').collect();
    let mut seconds = Vec::with_capacity(a.repeat);
    let mut values = 0usize;
    for _ in 0..a.repeat {
        let t0 = std::time::Instant::now();
        let file = hepae_root::RootFile::open(&a.input)?;
        let tree = file.tree(&a.tree)?;
        let bs = names
            .iter()
            .map(|n| {
                tree.branch(n)
                    .ok_or_else(|| anyhow::anyhow!("{}: no branch '{n}'", a.input.display()))
            })
            .collect::<Result<Vec<_>>>()?;
        let cols = file.read_branches(&tree, &bs)?;
        seconds.push(t0.elapsed().as_secs_f64());
        values = cols.iter().map(|c| c.values.len()).sum();
    }
    println!(
        "{}",
        serde_json::json!({"seconds": seconds, "values": values})
    );
    Ok(())
}
