//! `hepae report repro`: our HEP1/HEP2 pipeline results beside the numbers
//! of the Baler thesis (A. Gallén, Lund University, 2023), as Markdown and
//! a self-contained HTML page.
//!
//! Everything is read from the pipeline outputs (`OUT/NAME/...`): the
//! preprocess report (cuts), each ratio's `train/loss.parquet` and
//! `stage.json`, the artifact manifest (R, R*, gzip) and the validation
//! `summary.json` (outliers, fits). The thesis' values come from its tables
//! (`datasets/reference/baler_thesis.json`); "n/a" marks what it does not give.

use crate::{PipelineError, Result};
use serde_json::Value;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The thesis' figures (`datasets/reference/baler_thesis.json`, copied
/// from the shared reference data with its source).
const THESIS_JSON: &str = include_str!("../../../datasets/reference/baler_thesis.json");

/// Thesis reference values for one dataset.
struct Thesis {
    label: &'static str,
    input: &'static str,
}

const HEP1: Thesis = Thesis {
    label: "HEP1",
    input: "CMS JetHT 2012 AOD ak5PFJets",
};

const HEP2: Thesis = Thesis {
    label: "HEP2",
    input: "TTbar GenJets (AOD)",
};

/// The thesis' figures as JSON, parsed once.
pub(crate) fn thesis() -> &'static Value {
    static PARSED: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    PARSED.get_or_init(|| {
        serde_json::from_str(THESIS_JSON).expect("the compiled-in thesis JSON parses")
    })
}

/// The thesis' key of a ratio (`1.6`, `4`, `6`).
fn r_key(r: f64) -> String {
    format!("{r}")
}

/// The thesis' outlier table (5-12) of a dataset, ratio and loss.
fn outlier_rows(j: &Value, label: &str, r: f64, loss: &str) -> Vec<Value> {
    j["outlier_tables"]
        .as_object()
        .into_iter()
        .flat_map(|o| o.values())
        .find(|t| t["dataset"] == label && f(&t["R"]) == Some(r) && t["loss"] == loss)
        .and_then(|t| t["rows"].as_array().cloned())
        .unwrap_or_default()
}

/// Our column name of a thesis variable: HEP2's `m_EmEnergy` is our
/// `emEnergy`; HEP1's names are ours.
fn our_name(thesis_var: &str) -> String {
    match thesis_var.strip_prefix("m_") {
        Some(rest) => {
            let mut c = rest.chars();
            c.next()
                .map(|first| first.to_lowercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        }
        None => thesis_var.to_string(),
    }
}

/// Reference masses for the fitted peaks (PDG), as in the thesis figures.
pub(crate) const PEAKS: &[(&str, f64)] = &[("W", 80.4), ("top", 172.7)];

pub(crate) fn err(path: &Path, m: impl std::fmt::Display) -> PipelineError {
    PipelineError::Config(format!("{}: {m}", path.display()))
}

fn read_json(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        err(
            path,
            format!("{e} (has the pipeline run up to this stage? `hepae run pipelines/NAME.yaml`)"),
        )
    })?;
    serde_json::from_str(&text).map_err(|e| err(path, e))
}

/// One compression ratio's outputs.
struct Variant {
    r: Option<f64>,
    dir: PathBuf,
}

fn variants(root: &Path) -> Result<Vec<Variant>> {
    if root.join("train").is_dir() {
        return Ok(vec![Variant {
            r: None,
            dir: root.to_path_buf(),
        }]);
    }
    let entries = std::fs::read_dir(root).map_err(|e| err(root, e))?;
    let mut out: Vec<Variant> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let r: f64 = name.strip_prefix('r')?.parse().ok()?;
            e.path().join("train").is_dir().then(|| Variant {
                r: Some(r),
                dir: e.path(),
            })
        })
        .collect();
    out.sort_by(|a, b| a.r.partial_cmp(&b.r).unwrap_or(std::cmp::Ordering::Equal));
    if out.is_empty() {
        return Err(err(
            root,
            "no train/ or rR/train/ directory: not the output of a compression pipeline",
        ));
    }
    Ok(out)
}

pub(crate) fn f(v: &Value) -> Option<f64> {
    v.as_f64()
}

fn fmt(v: Option<f64>, digits: usize) -> String {
    v.map_or("n/a".into(), |x| format!("{x:.digits$}"))
}

/// A figure's file name in the report: `{tag}_r{R}_{what}.png`.
pub(crate) fn figure_name(tag: &str, r: Option<f64>, what: &str) -> String {
    let r = r.map_or(String::new(), |r| format!("r{r}_"));
    format!("{tag}_{r}{what}.png")
}

/// The last checkpointed epoch (0 before the first checkpoint) of a
/// variant still training: no trained model yet, a training directory.
fn in_progress(v: &Variant) -> Option<u64> {
    if v.dir.join("train/loss.parquet").exists() {
        return None;
    }
    let state = read_json(&v.dir.join("train/checkpoint/state.json")).ok();
    Some(state.and_then(|s| s["epoch"].as_u64()).unwrap_or(0))
}

/// Last (epoch, loss) of `loss.parquet`.
fn final_loss(train: &Path) -> Result<(f64, f64)> {
    let path = train.join("loss.parquet");
    let b = hepae_table::read_parquet(&path).map_err(|e| PipelineError::Config(e.to_string()))?;
    let col = |name: &str| {
        b.column_by_name(name)
            .and_then(hepae_table::numeric_f64)
            .ok_or_else(|| err(&path, format!("no numeric column '{name}'")))
    };
    let (epoch, loss) = (col("epoch")?, col("loss")?);
    match (epoch.last(), loss.last()) {
        (Some(e), Some(l)) => Ok((*e, *l)),
        _ => Err(err(&path, "empty loss history")),
    }
}

/// Writes the report for the given pipeline output roots into `out`
/// (`report.md`, `report.html`, plots); returns the Markdown path. `note`
/// (e.g. the commands that made the outputs) is printed under the title.
pub fn repro(
    hep1: &[PathBuf],
    hep2: &[PathBuf],
    out: &Path,
    note: Option<&str>,
) -> Result<PathBuf> {
    if hep1.is_empty() && hep2.is_empty() {
        return Err(PipelineError::Config(
            "give --hep1 and/or --hep2 (pipeline output directories, e.g. out/hep1)".into(),
        ));
    }
    let mut md = String::new();
    let _ = writeln!(md, "# hepae reproduction of the Baler thesis\n");
    let _ = writeln!(
        md,
        "Our pipeline results beside A. Gallén, *An Open-Source Autoencoder Compression Tool for \
         High Energy Physics* (Lund University, 2023). Generated by `hepae {}` with \
         `hepae report repro{}{} --out {}`. Thesis values come from \
         `datasets/reference/baler_thesis.json` (its Tables 2-12); n/a marks what the thesis \
         does not give. Our inputs are Pythia 8 stand-ins with the thesis' columns, not the \
         CMS files the thesis compressed, so the numbers are comparable in kind, not equal.\n",
        env!("CARGO_PKG_VERSION"),
        hep1.iter()
            .map(|p| format!(" --hep1 {}", p.display()))
            .collect::<String>(),
        hep2.iter()
            .map(|p| format!(" --hep2 {}", p.display()))
            .collect::<String>(),
        out.display()
    );
    if let Some(n) = note {
        let _ = writeln!(md, "{n}\n");
    }
    hepae_table::write_dir_atomic(out, |tmp| -> Result<()> {
        for (roots, thesis) in [(hep1, &HEP1), (hep2, &HEP2)] {
            for (k, root) in roots.iter().enumerate() {
                // Figures are named after the dataset, and the run when
                // there are several (hep2_..., hep2_run2_...).
                let mut tag = thesis.label.to_lowercase();
                if k > 0 {
                    tag = format!("{tag}_run{}", k + 1);
                }
                section(&mut md, root, thesis, tmp, &tag)?;
            }
        }
        let md_path = tmp.join("report.md");
        std::fs::write(&md_path, &md).map_err(|e| err(&md_path, e))?;
        let html_path = tmp.join("report.html");
        std::fs::write(
            &html_path,
            hepae_plot::markdown_page(&md, "hepae: Baler thesis reproduction", ""),
        )
        .map_err(|e| err(&html_path, e))?;
        Ok(())
    })?;
    Ok(out.join("report.md"))
}

fn section(md: &mut String, root: &Path, t: &Thesis, dest: &Path, tag: &str) -> Result<()> {
    let pre = read_json(&root.join("preprocess/report.json"))?;
    let ingest = read_json(&root.join("ingest/jets.parquet.json"))?;
    let vars = variants(root)?;
    input_paragraph(md, root, t, &ingest);
    cuts_table(md, t, &pre, &vars)?;
    let summaries = ratios_table(md, t, &vars)?;
    for (v, s, cfg) in &summaries {
        let name = v.r.map_or(String::new(), |r| format!(" at R = {r}"));
        outliers_table(md, s, &name, t, v.r);
        crate::repro_peaks::peaks_table(md, v.dir.as_path(), v.r, s, t.label, tag, dest, &name)?;
        loss_figure(md, v, cfg, t, dest, &name, tag)?;
    }
    Ok(())
}

/// Where the inputs came from, beside the thesis' input.
fn input_paragraph(md: &mut String, root: &Path, t: &Thesis, ingest: &serde_json::Value) {
    let inputs: Vec<String> = ingest["inputs"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|i| i["path"].as_str())
                .map(|p| {
                    Path::new(p)
                        .file_name()
                        .map_or(p.to_string(), |n| n.to_string_lossy().into_owned())
                })
                .collect()
        })
        .unwrap_or_default();
    let stand_in = ingest["inputs"].as_array().is_some_and(|a| {
        a.iter()
            .any(|i| i["path"].as_str().is_some_and(|p| p.contains("pythia/")))
    });
    let _ = writeln!(md, "## {} ({})\n", t.label, root.display());
    let _ = writeln!(
        md,
        "Input: {} ({}); thesis input: {}. Collection `{}`.\n",
        inputs.join(", "),
        if stand_in {
            "Pythia 8 stand-in from the shared data, not the CMS files of the thesis"
        } else {
            "as listed"
        },
        t.input,
        ingest["collection"].as_str().unwrap_or("?")
    );
}

/// Thesis Table 2: jets before and after cuts.
fn cuts_table(
    md: &mut String,
    t: &Thesis,
    pre: &serde_json::Value,
    vars: &[Variant],
) -> Result<()> {
    let _ = writeln!(md, "### Jets before and after cuts (thesis Table 2)\n");
    let _ = writeln!(md, "| step | hepae | thesis |\n|---|---|---|");
    let d = &thesis()["table2_datasets"][t.label];
    let count = |v: &Value| v.as_u64().map_or("n/a".into(), |n| n.to_string());
    let _ = writeln!(
        md,
        "| before cuts | {} | {} |",
        pre["rows_before"]
            .as_u64()
            .map_or("?".into(), |n| n.to_string()),
        count(&d["events_pre_cuts"])
    );
    if let Some(cuts) = pre["cuts"].as_array() {
        for c in cuts {
            let _ = writeln!(
                md,
                "| after `{}` | {} | |",
                c[0].as_str().unwrap_or("?"),
                c[1].as_u64().map_or("?".into(), |n| n.to_string())
            );
        }
    }
    let n_vars = read_json(&vars[0].dir.join("train/config.json"))?["columns"]
        .as_array()
        .map_or(0, |a| a.len());
    let _ = writeln!(
        md,
        "| after cuts | {} | {} |\n| variables (after dropping all-zero columns) | {} | {} |\n",
        pre["rows_after"]
            .as_u64()
            .map_or("?".into(), |n| n.to_string()),
        count(&d["events_post_cuts"]),
        n_vars,
        count(&d["variables"])
    );
    if let Some(d) = pre["dropped_zero_columns"]
        .as_array()
        .filter(|d| !d.is_empty())
    {
        let names: Vec<&str> = d.iter().filter_map(|v| v.as_str()).collect();
        let _ = writeln!(md, "All-zero columns dropped: {}.\n", names.join(", "));
    }
    Ok(())
}

/// Thesis Table 3: ratios and training, one row per variant; returns each
/// variant's validation summary and training configuration.
fn ratios_table<'a>(
    md: &mut String,
    t: &Thesis,
    vars: &'a [Variant],
) -> Result<Vec<(&'a Variant, serde_json::Value, serde_json::Value)>> {
    let _ = writeln!(
        md,
        "### Compression ratios and training (thesis Table 3, R vs R*)\n"
    );
    let _ = writeln!(
        md,
        "| R target | latent | epochs run (configured) | train wall (s) | final loss | thesis final loss | R | R* | thesis R* | gzip -9 | thesis gzip |\n|---|---|---|---|---|---|---|---|---|---|---|"
    );
    let mut summaries = Vec::new();
    for v in vars {
        let train = v.dir.join("train");
        let cfg = read_json(&train.join("config.json"))?;
        if let Some(epoch) = in_progress(v) {
            // A long run resumed across sessions: say where it stands.
            let _ = writeln!(
                md,
                "| {} | {} | {epoch} ({}), still training (from its checkpoint) | | | | | | | | |",
                fmt(v.r, 1),
                cfg["config"]["model"]["latent"],
                cfg["config"]["epochs"],
            );
            continue;
        }
        let (epoch, loss) = final_loss(&train)?;
        // The stage's own wall time (of its last invocation, when resumed).
        let wall = read_json(&train.join("stage.json"))
            .ok()
            .and_then(|s| f(&s["seconds"]));
        let manifest = read_json(&v.dir.join("compress/jets.hepae/manifest.json"))?;
        let summary = read_json(&v.dir.join("validate/report/summary.json"))?;
        let ratios = &manifest["ratios"];
        let j = thesis();
        let thesis_r_star = v.r.and_then(|r| {
            j["R_vs_Rstar"]
                .as_array()?
                .iter()
                .find(|x| x["dataset"] == t.label && f(&x["R"]) == Some(r))
                .and_then(|x| f(&x["Rstar"]))
        });
        let thesis_loss =
            v.r.and_then(|r| f(&j["table3_min_loss"]["L1"][t.label][r_key(r)]));
        let _ = writeln!(
            md,
            "| {} | {} | {} ({}) | {} | {:.4e} | {} | {} | {} | {} | {} | {} |",
            fmt(v.r, 1),
            cfg["config"]["model"]["latent"],
            epoch,
            cfg["config"]["epochs"],
            fmt(wall, 0),
            loss,
            thesis_loss.map_or("n/a".into(), |l| format!("{l:.3e} (L1)")),
            fmt(f(&ratios["R"]), 2),
            fmt(f(&ratios["R_star"]), 2),
            fmt(thesis_r_star, 2),
            fmt(f(&ratios["gzip9"]), 2),
            fmt(f(&j["gzip_on_npz"][t.label]["R"]), 1)
        );
        summaries.push((v, summary, cfg));
    }
    let _ = writeln!(
        md,
        "\nR target = variables / latent (the thesis's R). R = raw / stored latent bytes and \
         R* = raw / every byte of the artifact (latent, both model copies, labels, manifest), \
         with raw = rows x columns x 4 bytes including the `event` and `file_index` labels, \
         and the latent zstd-compressed: so R can exceed the target. The thesis trained up \
         to 1000 epochs with early stopping; the epochs run here are in the table.\n"
    );
    Ok(summaries)
}

/// Thesis Tables 5-12: outlier shares per variable, AE against PCA.
fn outliers_table(md: &mut String, s: &Value, name: &str, t: &Thesis, r: Option<f64>) {
    let rows = r.map_or(Vec::new(), |r| outlier_rows(thesis(), t.label, r, "L1"));
    let _ = writeln!(
        md,
        "### Outliers{name} (thesis Tables 5-12)\n\nShare of values outside the whiskers \
         (Q1 - 1.5 IQR, Q3 + 1.5 IQR) of the response (x'-x)/x and residual x'-x, for the \
         autoencoder and for PCA with {} components (explained variance {}), beside the \
         thesis' autoencoder (loss L1{}).\n",
        s["pca_components"],
        fmt(f(&s["pca_explained_variance"]), 4),
        if rows.is_empty() {
            ": no table at this R"
        } else {
            ""
        }
    );
    let thesis_pct = |var: &str, q: &str| {
        rows.iter()
            .find(|x| x["variable"].as_str().map(our_name).as_deref() == Some(var))
            .and_then(|x| f(&x[q]))
    };
    let _ = writeln!(
        md,
        "| variable | AE response % | thesis response % | AE residual % | thesis residual % | PCA response % | PCA residual % |\n|---|---|---|---|---|---|---|"
    );
    let stats = s["stats"].as_array().cloned().unwrap_or_default();
    let pct = |method: &str, var: &str, q: &str| {
        stats
            .iter()
            .find(|x| x["method"] == method && x["variable"] == var && x["quantity"] == q)
            .and_then(|x| f(&x["outlier_pct"]))
    };
    for var in s["variables"].as_array().into_iter().flatten() {
        let var = var.as_str().unwrap_or("?");
        let _ = writeln!(
            md,
            "| {var} | {} | {} | {} | {} | {} | {} |",
            fmt(pct("ae", var, "response"), 2),
            fmt(thesis_pct(var, "response_pct"), 2),
            fmt(pct("ae", var, "residual"), 2),
            fmt(thesis_pct(var, "residual_pct"), 2),
            fmt(pct("pca", var, "response"), 2),
            fmt(pct("pca", var, "residual"), 2)
        );
    }
    let _ = writeln!(md);
}

/// The training loss figure and the training settings.
fn loss_figure(
    md: &mut String,
    v: &Variant,
    cfg: &serde_json::Value,
    t: &Thesis,
    dest: &Path,
    name: &str,
    tag: &str,
) -> Result<()> {
    let loss_png = v.dir.join("train/loss.png");
    if loss_png.exists() {
        let file = figure_name(tag, v.r, "loss");
        std::fs::copy(&loss_png, dest.join(&file)).map_err(|e| err(&loss_png, e))?;
        let _ = writeln!(
            md,
            "![{} training loss{name}]({file})\n\nTraining: model `{}`, loss `{}`, batch {}, lr {}.\n",
            t.label,
            cfg["config"]["model"],
            cfg["config"]["loss"],
            cfg["config"]["batch_size"],
            cfg["config"]["lr"]
        );
    }
    Ok(())
}
