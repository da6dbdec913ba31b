//! Which branch each column reads, and which files a pattern names.

use super::*;

/// Resolves each requested column to a branch of the tree.
pub(crate) fn resolve_columns(
    file: &Path,
    tree: &Tree,
    collection: &str,
    columns: &[ColumnSpec],
) -> Result<Vec<(String, String)>> {
    if columns.is_empty() {
        return Ok(default_columns(tree, collection));
    }
    let mut out = Vec::new();
    for c in columns {
        // An explicit branch is recorded as given; a derived one by its path.
        let (cands, given) = match &c.branch {
            Some(b) => (vec![b.clone()], true),
            None => (candidates(collection, &c.name), false),
        };
        let Some(found) = cands.iter().find_map(|n| tree.branch(n).map(|b| (n, b))) else {
            return Err(IngestError::MissingBranch {
                file: file.to_path_buf(),
                tree: tree.path.clone(),
                collection: collection.into(),
                column: c.name.clone(),
                tried: cands.join(", "),
            });
        };
        out.push((
            c.name.clone(),
            if given {
                found.0.clone()
            } else {
                found.1.path.clone()
            },
        ));
    }
    Ok(out)
}

/// Branch names a column may have: NanoAOD `Jet_pt`, ATLAS/Delphes `Jet.pt`,
/// ATLAS PHYSLITE RNTuples `AnalysisJetsAuxDyn:pt`.
pub(crate) fn candidates(collection: &str, column: &str) -> Vec<String> {
    vec![
        format!("{collection}_{column}"),
        format!("{collection}.{column}"),
        format!("{collection}/{collection}.{column}"),
        format!("{collection}:{column}"),
    ]
}

/// Every array-valued numeric branch named after the collection.
pub(crate) fn default_columns(tree: &Tree, collection: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for b in &tree.branches {
        let Interpretation::Numeric { layout, .. } = &b.interpretation else {
            continue;
        };
        if matches!(layout, Layout::Scalar) {
            continue;
        }
        for sep in ["_", ".", ":"] {
            if let Some(rest) = b.name.strip_prefix(&format!("{collection}{sep}")) {
                out.push((rest.to_string(), b.path.clone()));
                break;
            }
        }
    }
    out
}

/// Expands glob patterns (each pattern's matches sorted, so every job of an
/// array sees the same list); plain paths are kept as given, and missing ones
/// fail later with their name. A pattern matching nothing is an error.
pub fn expand_inputs(patterns: &[String]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in patterns {
        if p.contains(['*', '?', '[']) {
            let mut hits: Vec<PathBuf> = glob::glob(p)
                .map_err(|e| IngestError::Invalid(format!("bad glob pattern '{p}': {e}")))?
                .filter_map(|r| r.ok())
                .collect();
            if hits.is_empty() {
                return Err(IngestError::Invalid(format!(
                    "{p}: no files match this pattern"
                )));
            }
            hits.sort();
            out.extend(hits);
        } else {
            out.push(PathBuf::from(p));
        }
    }
    Ok(out)
}
