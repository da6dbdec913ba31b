//! The study chain of a pipeline with a `study:` section: ingest ->
//! preprocess -> study, and the study's table, summary and plot.

use crate::config::Pipeline;
use crate::stages::{resolve_ingest, stage_ingest, stage_preprocess, Ctx};
use crate::study::{run_grid, Cell, StudySection};
use crate::{PipelineError, Result, RunOptions, Stage, StageOutcome};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Runs the chain; the report is `study/table.md`.
pub(crate) fn run_study(
    p: &Pipeline,
    s: &StudySection,
    root: &Path,
    base: &Path,
    opts: &RunOptions,
) -> Result<(Vec<StageOutcome>, Vec<PathBuf>)> {
    let train = p.train()?;
    check(s)?;
    let (ingest, pre) = resolve_ingest(p, base)?;
    let mut ctx = Ctx {
        opts,
        outcomes: Vec::new(),
        step: 0,
        steps: 3,
    };
    let jets = root.join("ingest/jets.parquet");
    let k_ingest = stage_ingest(&mut ctx, &ingest, &root.join("ingest"))?;
    let table = root.join("preprocess/table.parquet");
    let k_pre = stage_preprocess(&mut ctx, &pre, &jets, &root.join("preprocess"), &k_ingest)?;
    let dir = root.join("study");
    let cfg = serde_json::json!({"train": train, "study": s});
    ctx.stage(Stage::Study, &dir, "study", cfg, &[&k_pre], |dir| {
        for line in study_table(&table, train, s, dir)?.lines().skip(2) {
            eprintln!("    {line}");
        }
        Ok(())
    })?;
    Ok((ctx.outcomes, vec![dir.join("table.md")]))
}

/// The study of the first `s.rows` rows of `table` into `dir` (`hepae
/// study` and the pipeline stage): the correlation plot, every run, and
/// the table it returns.
pub fn study_table(
    table: &Path,
    train: &hepae_train::TrainConfig,
    s: &StudySection,
    dir: &Path,
) -> std::result::Result<String, crate::StageFailure> {
    check(s)?;
    let mut b = hepae_table::read_parquet(table)?;
    if s.rows > 0 && b.num_rows() > s.rows {
        b = b.slice(0, s.rows);
    }
    let m = &hepae_train::data::from_batch(&b, &train.columns)
        .map_err(|e| PipelineError::Config(format!("{}: {e}", table.display())))?;
    std::fs::create_dir_all(dir)?;
    correlation_plot(m, &dir.join("correlation.png"))?;
    let cells = run_grid(&b, m, train, s, dir)?;
    write_outputs(&cells, dir)?;
    Ok(table_md(&cells))
}

/// Names unique and present, seeds and models given, shares in [0, 1].
fn check(s: &StudySection) -> Result<()> {
    let bad = |m: String| Err(PipelineError::Config(format!("study: {m}")));
    if s.models.is_empty() || s.seeds.is_empty() {
        return bad("needs at least one model and one seed".into());
    }
    let unique = |names: Vec<&str>, what: &str| -> Result<()> {
        for (i, n) in names.iter().enumerate() {
            if n.is_empty() || n.contains(['/', '\\']) || names[..i].contains(n) {
                return bad(format!(
                    "{what} name '{n}' must be unique, non-empty, without slashes"
                ));
            }
        }
        Ok(())
    };
    unique(s.models.iter().map(|m| m.name.as_str()).collect(), "models")?;
    unique(
        s.scalings.iter().map(|m| m.name.as_str()).collect(),
        "scalings",
    )?;
    unique(
        s.variables.iter().map(|m| m.name.as_str()).collect(),
        "variables",
    )?;
    if let Some(v) = s
        .variables
        .iter()
        .find(|v| !(0.0..=1.0).contains(&v.drop_zero_fraction))
    {
        return bad(format!(
            "variables '{}': drop_zero_fraction {} is not a share",
            v.name, v.drop_zero_fraction
        ));
    }
    Ok(())
}

/// `x +- y` with four significant digits.
fn pm(m: &crate::study::MeanStd) -> String {
    format!("{:.4e} +- {:.1e}", m.mean, m.std)
}

/// The table: one row per cell.
pub fn table_md(cells: &[Cell]) -> String {
    let mut s = String::from(
        "| variables | model | scaling | seeds | test MSE | test RMSE | mean abs median response % | mass difference % | parameters | train s | R* | compress s | decompress s |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for c in cells {
        let resp = c
            .response_percent
            .values()
            .map(|m| m.mean.abs())
            .sum::<f64>()
            / c.response_percent.len().max(1) as f64;
        let mass = c
            .mass_difference_percent
            .map_or("n/a".into(), |m| format!("{:.3} +- {:.3}", m.mean, m.std));
        s += &format!(
            "| {} ({}) | {} | {} | {} | {} | {} | {resp:.3} | {mass} | {} | {:.1} | {:.2} | {:.3} | {:.3} |\n",
            c.variables,
            c.columns.len(),
            c.model,
            c.scaling,
            c.seeds.len(),
            pm(&c.mse),
            pm(&c.rmse),
            c.parameters,
            c.train_seconds.mean,
            c.r_star.mean,
            c.compress_seconds.mean,
            c.decompress_seconds.mean
        );
    }
    s
}

/// The GSoC 2021 report's test metrics (`datasets/reference/gsoc.json`,
/// Tables 6.1-6.3), to read beside ours: their data are the CMS jets, ours
/// the stand-in.
fn gsoc_reference_md() -> String {
    const GSOC: &str = include_str!("../../../datasets/reference/gsoc.json");
    let j: serde_json::Value =
        serde_json::from_str(GSOC).expect("the compiled-in GSoC JSON parses");
    let g = &j["gsoc2021_atlas_autoencoders"];
    let mut s = format!(
        "## Reference: GSoC 2021 (their test set of the CMS JetHT jets)\n\n{}. {}.\n\n| table | variables | model or normalisation | test MSE | test RMSE | mean residual |\n|---|---|---|---|---|---|\n",
        g["source"].as_str().unwrap_or("?"),
        g["data"].as_str().unwrap_or("?")
    );
    for (key, table) in [
        ("table_6_1_normalisation_standard_ae", "6.1"),
        ("table_6_2_sparse", "6.2"),
        ("table_6_3_models", "6.3"),
    ] {
        for r in g[key].as_array().into_iter().flatten() {
            let name = r["technique"]
                .as_str()
                .or(r["model"].as_str())
                .unwrap_or("?");
            s += &format!(
                "| {table} | {} | {name} | {} | {} | {} |\n",
                r["dim"], r["mse"], r["rmse"], r["residuals"]
            );
        }
    }
    s
}

/// `table.md`, `table.parquet` and `summary.json`.
fn write_outputs(cells: &[Cell], dir: &Path) -> std::result::Result<(), crate::StageFailure> {
    use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray, UInt64Array};
    let text = |f: &dyn Fn(&Cell) -> String| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(cells.iter().map(f)))
    };
    let num = |f: &dyn Fn(&Cell) -> f64| -> ArrayRef {
        Arc::new(Float64Array::from_iter_values(cells.iter().map(f)))
    };
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("variables", text(&|c| c.variables.clone())),
        ("model", text(&|c| c.model.clone())),
        ("scaling", text(&|c| c.scaling.clone())),
        (
            "seeds",
            Arc::new(UInt64Array::from_iter_values(
                cells.iter().map(|c| c.seeds.len() as u64),
            )),
        ),
        ("mse_mean", num(&|c| c.mse.mean)),
        ("mse_std", num(&|c| c.mse.std)),
        ("rmse_mean", num(&|c| c.rmse.mean)),
        ("rmse_std", num(&|c| c.rmse.std)),
        (
            "mass_difference_percent_mean",
            num(&|c| c.mass_difference_percent.map_or(f64::NAN, |m| m.mean)),
        ),
        ("parameters", num(&|c| c.parameters as f64)),
        ("train_seconds_mean", num(&|c| c.train_seconds.mean)),
        ("r_star_mean", num(&|c| c.r_star.mean)),
        ("compress_seconds_mean", num(&|c| c.compress_seconds.mean)),
        (
            "decompress_seconds_mean",
            num(&|c| c.decompress_seconds.mean),
        ),
    ];
    let b = RecordBatch::try_from_iter(columns)?;
    hepae_table::write_parquet_atomic(
        &b,
        &dir.join("table.parquet"),
        &[],
        hepae_table::DEFAULT_ZSTD_LEVEL,
    )?;
    let md = format!("{}\n{}", table_md(cells), gsoc_reference_md());
    hepae_table::write_bytes_atomic(&dir.join("table.md"), md.as_bytes())?;
    hepae_table::write_json_atomic(
        &serde_json::json!({ "cells": cells }),
        &dir.join("summary.json"),
    )?;
    Ok(())
}

/// |Pearson correlation| of every pair of input columns as a heat map.
fn correlation_plot(
    m: &hepae_train::Matrix,
    path: &Path,
) -> std::result::Result<(), crate::StageFailure> {
    let n = m.cols();
    let col = |j: usize| (0..m.rows).map(move |r| m.values[r * n + j] as f64);
    let mean: Vec<f64> = (0..n)
        .map(|j| col(j).sum::<f64>() / m.rows as f64)
        .collect();
    let mut c = vec![0.0; n * n];
    for a in 0..n {
        for b in a..n {
            let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
            for (x, y) in col(a).zip(col(b)) {
                let (dx, dy) = (x - mean[a], y - mean[b]);
                sab += dx * dy;
                saa += dx * dx;
                sbb += dy * dy;
            }
            let r = sab / (saa * sbb).sqrt();
            c[a * n + b] = if r.is_finite() { r.abs() } else { 0.0 };
            c[b * n + a] = c[a * n + b];
        }
    }
    hepae_plot::heatmap(path, "|correlation| of the input variables", &m.names, &c)?;
    Ok(())
}
