//! Reading pipeline files: strict YAML, `--set` overrides and `$HEPAE_DATA`.

use crate::config::Pipeline;
use crate::{PipelineError, Result};
use std::path::Path;

/// Reads a strict YAML file, naming the file, line and column on errors.
pub fn read_yaml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    hepae_table::read_yaml(path).map_err(|e| {
        PipelineError::Config(format!(
            "{e}\nhint: every key is listed in docs/pipeline.md (and `hepae run --help`)"
        ))
    })
}

/// Reads a pipeline file and applies `--set KEY=VALUE` overrides (dotted
/// keys such as `train.epochs=30`; the value is read as YAML), keeping the
/// file strict: an override that names an unknown key is an error.
pub fn load_pipeline(path: &Path, sets: &[String]) -> Result<Pipeline> {
    if sets.is_empty() {
        return read_yaml(path);
    }
    // The same reader as without overrides; strictness comes back when the
    // edited tree is deserialised into `Pipeline`.
    let mut v: serde_json::Value = read_yaml(path)?;
    for set in sets {
        apply_set(&mut v, set)
            .map_err(|m| PipelineError::Config(format!("{}: --set {set}: {m}", path.display())))?;
    }
    serde_json::from_value(v).map_err(|e| {
        PipelineError::Config(format!(
            "{} with {}: {e}\nhint: every key is listed in docs/pipeline.md",
            path.display(),
            sets.iter()
                .map(|s| format!("--set {s}"))
                .collect::<Vec<_>>()
                .join(" ")
        ))
    })
}

/// One `KEY=VALUE` override on a parsed YAML tree.
fn apply_set(v: &mut serde_json::Value, set: &str) -> std::result::Result<(), String> {
    let (key, value) = set
        .split_once('=')
        .ok_or("expected KEY=VALUE, e.g. train.epochs=30")?;
    let value: serde_json::Value =
        serde_saphyr::from_str(value).map_err(|e| format!("value '{value}': {e}"))?;
    let mut node = v;
    let parts: Vec<&str> = key.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        if part.is_empty() {
            return Err(format!("empty key segment in '{key}'"));
        }
        let last = i + 1 == parts.len();
        node = match node {
            serde_json::Value::Object(map) => {
                if last {
                    map.insert(part.to_string(), value);
                    return Ok(());
                }
                map.entry(part.to_string())
                    .or_insert_with(|| serde_json::Value::Object(Default::default()))
            }
            serde_json::Value::Array(items) => {
                let idx: usize = part
                    .parse()
                    .map_err(|_| format!("'{part}' is not a list index"))?;
                let len = items.len();
                let slot = items
                    .get_mut(idx)
                    .ok_or(format!("index {idx} out of range (list of {len})"))?;
                if last {
                    *slot = value;
                    return Ok(());
                }
                slot
            }
            _ => return Err(format!("'{}' is not a section", parts[..i].join("."))),
        };
    }
    Ok(())
}

/// Expands `$HEPAE_DATA` (default `../shared/data`) in a path.
pub fn expand_data(s: &str) -> String {
    let data = std::env::var("HEPAE_DATA").unwrap_or_else(|_| "../shared/data".into());
    s.replace("${HEPAE_DATA}", &data)
        .replace("$HEPAE_DATA", &data)
}
