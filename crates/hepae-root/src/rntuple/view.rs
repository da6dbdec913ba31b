//! An RNTuple seen as a tree: every field path (uproot's names) as a branch,
//! with how its values and per-entry structure are read.

use super::meta::{Descriptor, FieldDesc, COLLECTION, LEAF, RECORD};
use crate::tree::{Interpretation, Layout};
use crate::types::DType;
use std::collections::HashMap;

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
    // The topmost field of each lineage, grouped by path (a field whose
    // parent has the same path is that parent's item, not a clash).
    let mut groups: HashMap<&str, Vec<usize>> = HashMap::new();
    for (j, p) in paths.iter().enumerate() {
        if fields[j].parent >= j || paths[fields[j].parent] != *p {
            groups.entry(p).or_default().push(j);
        }
    }
    let mut out = Vec::new();
    for tops in groups.into_values() {
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

/// The value type of a leaf field's C++ type name.
fn leaf_dtype(type_name: &str) -> Option<DType> {
    let t = type_name.strip_prefix("std::").unwrap_or(type_name);
    match t {
        "byte" => Some(DType::U8),
        "char" => Some(DType::I8),
        _ => DType::from_cpp(t),
    }
}

/// The descriptor with what every branch needs, computed once.
struct View<'a> {
    d: &'a Descriptor,
    paths: Vec<String>,
    /// Per field: the first column (physical ID) of each representation,
    /// representation 0 first.
    reps: Vec<Vec<usize>>,
}

impl<'a> View<'a> {
    fn new(d: &'a Descriptor) -> Self {
        let mut by_field: Vec<Vec<(u16, usize)>> = vec![Vec::new(); d.fields.len()];
        for c in &d.columns {
            let r = &mut by_field[c.field];
            if !r.iter().any(|&(rep, _)| rep == c.representation) {
                r.push((c.representation, c.physical));
            }
        }
        let reps = by_field
            .into_iter()
            .map(|mut r| {
                r.sort_by_key(|&(rep, _)| rep);
                r.into_iter().map(|(_, c)| c).collect()
            })
            .collect();
        View {
            d,
            paths: paths(&d.fields),
            reps,
        }
    }

    /// Field `i` as a branch that reads nothing itself.
    fn plain(&self, i: usize, interpretation: Interpretation) -> ViewBranch {
        ViewBranch {
            path: self.paths[i].clone(),
            interpretation,
            type_name: self.d.fields[i].type_name.clone(),
            counter: None,
            plan: None,
        }
    }

    fn unsupported(&self, i: usize, why: String) -> ViewBranch {
        self.plain(i, Interpretation::Unsupported(why))
    }

    /// The branch of field `i`.
    fn branch(&self, i: usize) -> ViewBranch {
        let (d, paths) = (self.d, &self.paths);
        let f = &d.fields[i];
        // The chain from the field up to its top-level ancestor.
        let chain = lineage(&d.fields, i);
        if let Some(&v) = chain.iter().find(|&&a| d.fields[a].role > RECORD) {
            let what = if d.fields[v].role == 3 {
                "std::variant"
            } else {
                "an object stored with the ROOT streamer"
            };
            return self.unsupported(
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
            return self.unsupported(i, "std::string is text, not numbers".into());
        }
        let own = self.reps[i].clone();
        if f.role != LEAF || (own.is_empty() && !cardinality) {
            return self.plain(i, Interpretation::Container);
        }
        let collections: Vec<usize> = chain[1..]
            .iter()
            .copied()
            .filter(|&a| d.fields[a].role == COLLECTION)
            .collect();
        if collections.len() > 1 {
            return self.unsupported(i, format!("{} nested collections", collections.len()));
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
            return self.unsupported(
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
                return self.unsupported(i, format!("type '{}' is not a number", f.type_name));
            };
            t
        };
        // Every representation must decode (an unknown column type is named).
        for &c in &own {
            let enc = d.columns[c].encoding();
            if let Err(e) = enc.check().and_then(|_| enc.dtype()) {
                return self.unsupported(i, e.0);
            }
        }
        let (collection, values) = if cardinality {
            (Some(own), Vec::new())
        } else {
            (collections.first().map(|&c| self.reps[c].clone()), own)
        };
        let layout = match (&collection, cardinality, repeat) {
            (Some(_), false, _) => Layout::Jagged { header: 0 },
            (_, _, 1) => Layout::Scalar,
            (_, _, n) => Layout::Fixed(n as usize),
        };
        ViewBranch {
            path: paths[i].clone(),
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
}

/// Builds the branches of the view, one per distinct path.
pub(crate) fn branches(d: &Descriptor) -> Vec<ViewBranch> {
    let v = View::new(d);
    let mut out: Vec<ViewBranch> = Vec::new();
    let mut at: HashMap<&str, usize> = HashMap::new();
    for i in 0..d.fields.len() {
        let b = v.branch(i);
        match at.get(v.paths[i].as_str()) {
            // A deeper field of the same path (a vector's item) holds the data.
            Some(&o) => {
                if !matches!(b.interpretation, Interpretation::Container) {
                    let o = &mut out[o];
                    o.interpretation = b.interpretation;
                    o.plan = b.plan;
                    o.counter = b.counter;
                }
            }
            None => {
                at.insert(&v.paths[i], out.len());
                out.push(b);
            }
        }
    }
    out
}
