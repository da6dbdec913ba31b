//! An RNTuple seen as a tree: every field path (uproot's names) as a branch,
//! with how its values and per-entry structure are read.

use super::meta::{Descriptor, FieldDesc, COLLECTION, LEAF, RECORD};
use super::page::Encoding;
use crate::tree::{Interpretation, Layout};
use crate::types::DType;

/// How one branch of an RNTuple is read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FieldPlan {
    /// The value column, one physical column ID per representation (empty
    /// for a cardinality, whose values come from `collection`).
    pub values: Vec<usize>,
    /// The index column (per representation) of the one enclosing collection.
    pub collection: Option<Vec<usize>>,
    /// Values per item: the product of fixed-size arrays below the collection.
    pub repeat: u64,
    /// Values are the sizes of `collection` (`RNTupleCardinality`).
    pub cardinality: bool,
    /// Type of the values returned.
    pub dtype: DType,
}

/// One branch of the tree view.
pub(crate) struct ViewBranch {
    pub path: String,
    pub field: usize,
    pub interpretation: Interpretation,
    pub type_name: String,
    pub counter: Option<String>,
    pub plan: Option<FieldPlan>,
}

/// The dotted path of every field: uproot's names, where a collection's or
/// array's item `_0`, a base class `:_N` and an atomic/enum wrapper's `_0`
/// take their parent's name, and tuple members `_N` are `N`. Members that
/// two base classes bring under one name get the class as a prefix
/// (`Child::x`, as uproot names them).
pub(crate) fn paths(fields: &[FieldDesc]) -> Vec<String> {
    let mut renamed: Vec<Option<String>> = vec![None; fields.len()];
    let mut out = paths_with(fields, &renamed);
    for _ in 0..4 {
        let clashes = clashes(fields, &out);
        if clashes.is_empty() {
            break;
        }
        for (field, name) in clashes {
            renamed[field] = Some(name);
        }
        out = paths_with(fields, &renamed);
    }
    out
}

fn paths_with(fields: &[FieldDesc], renamed: &[Option<String>]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(fields.len());
    for (i, f) in fields.iter().enumerate() {
        let name = renamed[i].as_deref().unwrap_or(&f.name);
        if f.parent >= i {
            // Parents come first; a top-level field is its own parent.
            out.push(name.to_string());
            continue;
        }
        let p = &fields[f.parent];
        let pp = out[f.parent].clone();
        let item =
            f.name == "_0" && (p.role == COLLECTION || p.array_size.is_some() || p.role == LEAF);
        let path = if renamed[i].is_none() && (item || f.name.starts_with(":_")) {
            pp
        } else if p.role == RECORD && name.starts_with('_') && name[1..].parse::<u32>().is_ok() {
            format!("{pp}.{}", &name[1..])
        } else {
            format!("{pp}.{name}")
        };
        out.push(path);
    }
    out
}

/// The ancestors of `i`, itself first, up to its top-level field.
fn lineage(fields: &[FieldDesc], i: usize) -> Vec<usize> {
    let mut chain = vec![i];
    while let Some(&last) = chain.last() {
        let p = fields[last].parent;
        if p >= last || chain.len() > fields.len() {
            break;
        }
        chain.push(p);
    }
    chain
}

/// Fields of one path that are not a field and its item: each gets the
/// fewest base-class prefixes that make the names unique.
fn clashes(fields: &[FieldDesc], paths: &[String]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for (i, p) in paths.iter().enumerate() {
        if seen.contains(&p.as_str()) {
            continue;
        }
        seen.push(p);
        // The topmost field of each lineage sharing this path.
        let tops: Vec<usize> = (i..fields.len())
            .filter(|&j| paths[j] == *p)
            .filter(|&j| fields[j].parent >= j || paths[fields[j].parent] != *p)
            .collect();
        if tops.len() < 2 {
            continue;
        }
        let mut stacks: Vec<Vec<usize>> = tops.iter().map(|&t| lineage(fields, t)).collect();
        while stacks
            .iter()
            .all(|s| s.len() > 1 && s.last() == stacks[0].last())
        {
            for s in &mut stacks {
                s.pop();
            }
        }
        let names: Vec<Vec<&str>> = stacks
            .iter()
            .map(|s| {
                let mut n = vec![fields[s[0]].name.as_str()];
                n.extend(s[1..].iter().map(|&a| fields[a].type_name.as_str()));
                n
            })
            .collect();
        let make = |n: &[&str], k: usize| {
            let k = k.min(n.len() - 1);
            let mut parts: Vec<&str> = n[1..].iter().rev().take(k).copied().collect();
            parts.push(n[0]);
            parts.join("::")
        };
        let mut k = vec![0usize; names.len()];
        let longest = names.iter().map(Vec::len).max().unwrap_or(1);
        for _ in 0..longest {
            let cur: Vec<String> = names.iter().zip(&k).map(|(n, &k)| make(n, k)).collect();
            let dup: Vec<bool> = cur
                .iter()
                .map(|c| cur.iter().filter(|d| *d == c).count() > 1)
                .collect();
            if !dup.contains(&true) {
                break;
            }
            for (kk, d) in k.iter_mut().zip(dup) {
                *kk += d as usize;
            }
        }
        for (t, (n, &kk)) in tops.iter().zip(names.iter().zip(&k)) {
            if kk > 0 {
                out.push((*t, make(n, kk)));
            }
        }
    }
    out
}

/// The columns of field `f` of representation order: physical IDs, grouped
/// by representation (index 0 first), `k`-th column of each.
fn representations(d: &Descriptor, f: usize, k: usize) -> Vec<usize> {
    let mut reps: Vec<(u16, Vec<usize>)> = Vec::new();
    for c in d.columns.iter().filter(|c| c.field == f) {
        match reps.iter_mut().find(|r| r.0 == c.representation) {
            Some(r) => r.1.push(c.physical),
            None => reps.push((c.representation, vec![c.physical])),
        }
    }
    reps.sort_by_key(|r| r.0);
    reps.into_iter()
        .filter_map(|r| r.1.get(k).copied())
        .collect()
}

/// The value type of a leaf field's C++ type name.
fn leaf_dtype(type_name: &str) -> Option<DType> {
    let t = type_name.strip_prefix("std::").unwrap_or(type_name);
    match t {
        "byte" => Some(DType::U8),
        "char" => Some(DType::I8),
        _ => DType::from_cpp(t),
    }
}

/// Builds the branches of the view, one per distinct path.
pub(crate) fn branches(d: &Descriptor) -> Vec<ViewBranch> {
    let paths = paths(&d.fields);
    let mut out: Vec<ViewBranch> = Vec::new();
    for (i, f) in d.fields.iter().enumerate() {
        let b = branch(d, &paths, i);
        match out.iter_mut().find(|o| o.path == paths[i]) {
            // A deeper field of the same path (a vector's item) holds the data.
            Some(o) => {
                if !matches!(b.interpretation, Interpretation::Container) {
                    o.interpretation = b.interpretation;
                    o.plan = b.plan;
                    o.counter = b.counter;
                    o.field = i;
                }
            }
            None => out.push(ViewBranch {
                type_name: f.type_name.clone(),
                ..b
            }),
        }
    }
    out
}

fn unsupported(d: &Descriptor, paths: &[String], i: usize, why: String) -> ViewBranch {
    ViewBranch {
        path: paths[i].clone(),
        field: i,
        interpretation: Interpretation::Unsupported(why),
        type_name: d.fields[i].type_name.clone(),
        counter: None,
        plan: None,
    }
}

/// The branch of field `i`.
fn branch(d: &Descriptor, paths: &[String], i: usize) -> ViewBranch {
    let f = &d.fields[i];
    let container = ViewBranch {
        path: paths[i].clone(),
        field: i,
        interpretation: Interpretation::Container,
        type_name: f.type_name.clone(),
        counter: None,
        plan: None,
    };
    // The chain from the field up to its top-level ancestor.
    let chain = lineage(&d.fields, i);
    if let Some(&v) = chain.iter().find(|&&a| d.fields[a].role > RECORD) {
        let what = if d.fields[v].role == 3 {
            "std::variant"
        } else {
            "an object stored with the ROOT streamer"
        };
        return unsupported(
            d,
            paths,
            i,
            format!(
                "{what} ('{}') is not readable as numbers",
                d.fields[v].type_name
            ),
        );
    }
    let cardinality = f.type_name.starts_with("ROOT::RNTupleCardinality");
    if f.type_name == "std::string"
        || chain[1..]
            .iter()
            .any(|&a| d.fields[a].type_name == "std::string")
    {
        return unsupported(d, paths, i, "std::string is text, not numbers".into());
    }
    let own = representations(d, i, 0);
    if f.role != LEAF || (own.is_empty() && !cardinality) {
        return container;
    }
    let collections: Vec<usize> = chain[1..]
        .iter()
        .copied()
        .filter(|&a| d.fields[a].role == COLLECTION)
        .collect();
    if collections.len() > 1 {
        return unsupported(
            d,
            paths,
            i,
            format!("{} nested collections", collections.len()),
        );
    }
    // Fixed-size arrays (and the field itself, e.g. a bitset) below the collection.
    let below = collections.first().map_or(chain.len(), |&c| {
        chain.iter().position(|&a| a == c).unwrap()
    });
    let repeat: u64 = chain[..below]
        .iter()
        .filter_map(|&a| d.fields[a].array_size)
        .product();
    let above_arrays = chain[below..]
        .iter()
        .any(|&a| d.fields[a].array_size.is_some());
    if above_arrays || (repeat > 1 && !collections.is_empty()) {
        return unsupported(
            d,
            paths,
            i,
            "fixed-size arrays and collections nested in one another".into(),
        );
    }
    let dtype = if cardinality {
        if f.type_name.contains("uint64") {
            DType::U64
        } else {
            DType::U32
        }
    } else {
        let Some(t) = leaf_dtype(&f.type_name).or_else(|| {
            f.type_name
                .starts_with("std::bitset<")
                .then_some(DType::Bool)
        }) else {
            return unsupported(
                d,
                paths,
                i,
                format!("type '{}' is not a number", f.type_name),
            );
        };
        t
    };
    // Every representation must decode (an unknown column type is named).
    for &c in &own {
        let col = &d.columns[c];
        let enc = Encoding {
            kind: col.kind,
            bits: col.bits,
            range: col.range,
        };
        if let Err(e) = enc.check().and_then(|_| enc.dtype()) {
            return unsupported(d, paths, i, e.0);
        }
    }
    let (collection, values) = if cardinality {
        (Some(own), Vec::new())
    } else {
        (collections.first().map(|&c| representations(d, c, 0)), own)
    };
    let layout = match (&collection, cardinality, repeat) {
        (Some(_), false, _) => Layout::Jagged { header: 0 },
        (_, _, 1) => Layout::Scalar,
        (_, _, n) => Layout::Fixed(n as usize),
    };
    ViewBranch {
        path: paths[i].clone(),
        field: i,
        interpretation: Interpretation::Numeric { dtype, layout },
        type_name: f.type_name.clone(),
        // A vector's own index column is no separate counter to name.
        counter: collections
            .first()
            .filter(|&&c| !cardinality && paths[c] != paths[i])
            .map(|&c| paths[c].clone()),
        plan: Some(FieldPlan {
            values,
            collection,
            repeat,
            cardinality,
            dtype,
        }),
    }
}
