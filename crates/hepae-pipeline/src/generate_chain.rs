//! The generation chain of a pipeline with a `generate:` section: ingest
//! (Dark Machines CSV -> events table) -> generate.

use crate::config::{DarkMachinesSection, Pipeline};
use crate::stages::{file_stamps, Ctx};
use crate::{expand_data, PipelineError, Result, RunOptions, Stage, StageOutcome};
use hepae_generate::GenerateConfig;
use std::path::{Path, PathBuf};

/// The generation chain: ingest -> generate.
pub(crate) fn run_generate(
    p: &Pipeline,
    g: &GenerateConfig,
    root: &Path,
    opts: &RunOptions,
) -> Result<(Vec<StageOutcome>, Vec<PathBuf>)> {
    let dm: &DarkMachinesSection = p.darkmachines.as_ref().ok_or_else(|| {
        PipelineError::Config("a generate pipeline needs a darkmachines section (inputs)".into())
    })?;
    let units: hepae_darkmachines::Units = dm
        .units
        .parse()
        .map_err(|e: String| PipelineError::Config(format!("darkmachines.units: {e}")))?;
    g.check().map_err(PipelineError::Config)?;
    let mut ctx = Ctx {
        opts,
        outcomes: Vec::new(),
        step: 0,
        steps: 2,
    };
    let files: Vec<PathBuf> = dm
        .inputs
        .iter()
        .map(|f| PathBuf::from(expand_data(f)))
        .collect();
    let in_dir = root.join("ingest");
    let table = in_dir.join("events.parquet");
    let cfg = serde_json::json!({"section": dm, "files": file_stamps(&files)});
    let k_in = ctx.stage(Stage::Ingest, &in_dir, "ingest", cfg, &[], |_| {
        let read = hepae_darkmachines::ReadOptions {
            layout: hepae_darkmachines::Layout::Events(dm.slots),
            units,
            skip_bad_lines: false,
            zstd_level: hepae_table::DEFAULT_ZSTD_LEVEL,
        };
        let report = hepae_darkmachines::convert(&files, &table, &read)?;
        hepae_table::write_json_atomic(&report, &in_dir.join("events.parquet.json"))?;
        eprintln!("    {} events, {} objects", report.events, report.objects);
        Ok(())
    })?;
    let gen_dir = root.join("generate");
    let cfg = serde_json::json!({ "generate": g });
    ctx.stage(Stage::Generate, &gen_dir, "generate", cfg, &[&k_in], |dir| {
        // The stage fills its own (fresh) directory; generate builds it aside and renames.
        let s = hepae_generate::run(&hepae_generate::GenerateOptions {
            data: table.clone(),
            out: dir.to_path_buf(),
            config: g.clone(),
            progress: false,
        })?;
        let m = &s.samples[0];
        eprintln!(
            "    generator: classifier AUC {:.3}, mean W1/std {:.4}, {:.2}% physical; {:.0} events/s",
            m.classifier.auc,
            m.mean_wasserstein_over_std,
            100.0 * m.physical_before_repair,
            s.events_per_second
        );
        Ok(())
    })?;
    Ok((ctx.outcomes, vec![gen_dir.join("report/index.html")]))
}
