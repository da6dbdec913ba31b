//! The anomaly chain of a pipeline with an `rmm:` section: rmm -> anomaly.

use crate::config::Pipeline;
use crate::stages::{file_stamps, Ctx};
use crate::{expand_data, PipelineError, Result, RunOptions, Stage, StageOutcome};
use std::path::{Path, PathBuf};

/// The anomaly chain: rmm -> anomaly.
pub(crate) fn run_rmm(
    p: &Pipeline,
    r: &crate::config::RmmSection,
    root: &Path,
    opts: &RunOptions,
) -> Result<(Vec<StageOutcome>, Vec<PathBuf>)> {
    // Checked before any stage runs.
    let train = p.train()?;
    let mut ctx = Ctx {
        opts,
        outcomes: Vec::new(),
        step: 0,
        steps: 2,
    };
    let samples: Vec<hepae_rmm::Sample> = r
        .samples
        .iter()
        .map(|s| {
            hepae_rmm::Sample::new(
                PathBuf::from(expand_data(&s.file)),
                &s.process,
                s.signal,
                s.weight,
            )
        })
        .collect();
    if let Some(k) = r.pt_scales.iter().find(|k| !k.is_finite() || **k <= 0.0) {
        return Err(PipelineError::Config(format!(
            "rmm.pt_scales: {k} is not a positive scale"
        )));
    }
    let samples = hepae_rmm::with_pt_scaled_signals(&samples, &r.pt_scales);
    if !samples.iter().any(|s| !s.signal) {
        return Err(PipelineError::Config(
            "rmm: no background sample (signal: false)".into(),
        ));
    }
    let selection =
        hepae_rmm::select::parse_selection("rmm.selection", &r.selection, &r.matrix.types)
            .map_err(PipelineError::Config)?;
    let quantities =
        hepae_rmm::select::parse_quantities("rmm.quantities", &r.quantities, &r.matrix.types)
            .map_err(PipelineError::Config)?;
    let files: Vec<PathBuf> = samples.iter().map(|s| s.path.clone()).collect();
    let rmm_dir = root.join("rmm");
    let table = rmm_dir.join("rmm.parquet");
    let cfg = serde_json::json!({"section": r, "files": file_stamps(&files)});
    let k_rmm = ctx.stage(Stage::Rmm, &rmm_dir, "rmm", cfg, &[], |dir| {
        let (b, flows) =
            hepae_rmm::rmm_table_selected(&samples, &r.tree, &r.matrix, &selection, &quantities)?;
        hepae_table::write_json_atomic(&flows, &dir.join("cutflow.json"))?;
        for line in hepae_rmm::select::cut_flow_lines(&flows) {
            eprintln!("    {line}");
        }
        let meta = vec![("hepae.rmm".to_string(), serde_json::to_string(&r.matrix)?)];
        hepae_table::write_parquet_atomic(&b, &table, &meta, hepae_table::DEFAULT_ZSTD_LEVEL)?;
        // One event's matrix as a heat map, as in the thesis figures.
        let title = format!("RMM of event 0 ({})", samples[0].process);
        hepae_rmm::heatmap_of_event(&b, &r.matrix, 0, &dir.join("rmm_event0.png"), &title)?;
        let side = hepae_rmm::rmm::size(&r.matrix);
        eprintln!("    {} events x {side}x{side} cells", b.num_rows());
        Ok(())
    })?;
    let an_dir = root.join("anomaly");
    let cfg = serde_json::json!({"train": train, "anomaly": p.anomaly});
    ctx.stage(Stage::Anomaly, &an_dir, "anomaly", cfg, &[&k_rmm], |dir| {
        let b = hepae_table::read_parquet(&table)?;
        let sum = hepae_rmm::anomaly::run(&b, train, &p.anomaly, dir)?;
        for line in hepae_rmm::merit::summary_lines(&sum) {
            eprintln!("  {line}");
        }
        Ok(())
    })?;
    Ok((ctx.outcomes, vec![an_dir.join("summary.json")]))
}
