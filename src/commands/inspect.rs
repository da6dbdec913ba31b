//! `hepae inspect`: what is in a ROOT file, branch by branch.

use anyhow::Result;
use clap::Args;
use hepae_root::{Interpretation, Layout, RootFile, Tree};
use serde_json::json;
use std::path::PathBuf;

#[derive(Args)]
pub struct InspectArgs {
    /// ROOT file.
    file: PathBuf,
    /// Show only this tree.
    #[arg(long)]
    tree: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

fn layout_word(i: &Interpretation) -> (&'static str, String) {
    match i {
        Interpretation::Numeric {
            layout: Layout::Scalar,
            ..
        } => ("flat", String::new()),
        Interpretation::Numeric {
            layout: Layout::Fixed(n),
            ..
        } => ("fixed", format!("{n} per entry")),
        Interpretation::Numeric {
            layout: Layout::Jagged { .. },
            ..
        } => ("jagged", String::new()),
        Interpretation::Container => ("split", "object split into sub-branches".into()),
        Interpretation::Unsupported(why) => ("-", format!("cannot decode: {why}")),
    }
}

fn tree_json(t: &Tree) -> serde_json::Value {
    let branches: Vec<_> = t
        .branches
        .iter()
        .map(|b| {
            let (layout, note) = layout_word(&b.interpretation);
            let dtype = match &b.interpretation {
                Interpretation::Numeric { dtype, .. } => Some(dtype.name()),
                _ => None,
            };
            json!({
                "name": b.name, "path": b.path, "class": b.class, "type": b.type_name,
                "dtype": dtype, "layout": layout, "jagged": layout == "jagged",
                "counter": b.counter, "entries": b.entries,
                "decodable": dtype.is_some(), "note": note,
            })
        })
        .collect();
    json!({"name": t.path, "kind": t.kind(), "format": t.format_note(), "title": t.title, "entries": t.entries, "branches": branches})
}

pub fn run(a: &InspectArgs) -> Result<()> {
    let file = RootFile::open(&a.file)?;
    let keys: Vec<String> = match &a.tree {
        Some(t) => vec![file.find_tree_key(t)?.path.clone()],
        None => file.tree_keys().iter().map(|k| k.path.clone()).collect(),
    };
    let mut trees = Vec::new();
    let mut errors = Vec::new();
    for k in &keys {
        // One undecodable tree must not hide the others.
        match file.tree(k) {
            Ok(t) => trees.push(t),
            Err(e) if a.tree.is_some() => return Err(e.into()),
            Err(e) => errors.push((k.clone(), e.to_string())),
        }
    }
    if a.json {
        let out = json!({
            "file": a.file.display().to_string(),
            "root_version": file.version,
            "compression": hepae_root::describe_setting(file.compression),
            "bytes": file.len(),
            "keys": file.keys().iter().map(|k| json!({"path": k.path, "cycle": k.cycle, "class": k.class_name})).collect::<Vec<_>>(),
            "trees": trees.iter().map(tree_json).collect::<Vec<_>>(),
            "errors": errors.iter().map(|(k, e)| json!({"tree": k, "error": e})).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!(
        "{}: ROOT {}.{:02}/{:02}, {}, {} bytes, {} keys",
        a.file.display(),
        file.version / 10000,
        file.version / 100 % 100,
        file.version % 100,
        hepae_root::describe_setting(file.compression),
        file.len(),
        file.keys().len()
    );
    for k in file
        .keys()
        .iter()
        .filter(|k| !keys.contains(&k.path) && a.tree.is_none())
    {
        println!("  {};{} ({})", k.path, k.cycle, k.class_name);
    }
    for t in &trees {
        println!();
        let (what, items) = match t.kind() {
            "RNTuple" => ("RNTuple", "fields"),
            _ => ("tree", "branches"),
        };
        println!(
            "{what} {} \"{}\": {} entries, {} {items}{}",
            t.path,
            t.title,
            t.entries,
            t.branches.len(),
            t.format_note()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default()
        );
        let w = t
            .branches
            .iter()
            .map(|b| b.path.len())
            .max()
            .unwrap_or(4)
            .clamp(4, 60);
        println!(
            "{:<w$}  {:<24} {:<7} {:<14} {:>9}  note",
            if t.kind() == "RNTuple" {
                "field"
            } else {
                "branch"
            },
            "type",
            "layout",
            "counter",
            "entries"
        );
        println!("{}", "-".repeat(w + 64));
        for b in &t.branches {
            let (layout, note) = layout_word(&b.interpretation);
            println!(
                "{:<w$}  {:<24} {:<7} {:<14} {:>9}  {}",
                b.path,
                b.type_name,
                layout,
                b.counter.as_deref().unwrap_or(""),
                b.entries,
                note
            );
        }
    }
    for (k, e) in &errors {
        println!();
        println!("tree {k}: cannot read its metadata: {e}");
    }
    Ok(())
}
