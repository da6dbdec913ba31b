//! Public view of a tree: branches with their types and layouts.

use crate::error::{Error, ErrorKind, Result};
use crate::file::RootFile;
use crate::streamed::{self, BranchMeta, EmbeddedBasket, LeafMeta};
use crate::types::DType;

/// How the values of one entry are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One value per entry.
    Scalar,
    /// A fixed number of values per entry (`x[3]`).
    Fixed(usize),
    /// A variable number of values per entry; each entry's bytes start with
    /// `header` bytes to skip (10 for `std::vector<T>`: byte count, version, size).
    Jagged {
        /// Bytes before the values of each entry.
        header: usize,
    },
}

/// How a branch can be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Interpretation {
    /// Numbers of one type.
    Numeric {
        /// Element type.
        dtype: DType,
        /// Entry layout.
        layout: Layout,
    },
    /// Not decodable as numbers; the reason says why.
    Unsupported(String),
    /// A split object or collection whose data lives in its sub-branches.
    Container,
}

/// One branch of a tree (sub-branches are listed separately, with paths).
#[derive(Debug, Clone)]
pub struct Branch {
    /// Name as stored in the file, e.g. `Jet_pt` or `Jet.PT`.
    pub name: String,
    /// Slash path through parent branches, e.g. `Jet/Jet.PT`.
    pub path: String,
    /// Branch title (leaf list for plain branches).
    pub title: String,
    /// ROOT class of the branch (`TBranch`, `TBranchElement`, ...).
    pub class: String,
    /// Type description as uproot would show it (`float`, `int32_t[]`, `vector<float>`).
    pub type_name: String,
    /// Name of the counter leaf/branch for variable-size arrays.
    pub counter: Option<String>,
    /// Number of entries.
    pub entries: i64,
    /// Uncompressed and compressed byte totals ROOT recorded.
    pub tot_bytes: i64,
    /// Compressed byte total.
    pub zip_bytes: i64,
    /// Compression setting of the branch.
    pub compression: i32,
    /// How the branch decodes.
    pub interpretation: Interpretation,
    /// Number of direct sub-branches.
    pub n_children: usize,
    pub(crate) baskets: BasketIndex,
    /// How an RNTuple field is read (`None` for TTree branches).
    pub(crate) ntuple: Option<crate::rntuple::FieldPlan>,
}

/// Where a branch's baskets are.
#[derive(Debug, Clone, Default)]
pub(crate) struct BasketIndex {
    /// (first entry, seek, bytes) of baskets with their own key.
    pub external: Vec<(i64, i64, i32)>,
    /// First entry of each embedded basket, with the basket.
    pub embedded: Vec<(i64, EmbeddedBasket)>,
    pub file_name: String,
}

/// A tree's metadata: entry count and all branches.
#[derive(Debug, Clone)]
pub struct Tree {
    /// Tree name.
    pub name: String,
    /// Tree title.
    pub title: String,
    /// Path of the tree in the file.
    pub path: String,
    /// Number of entries (events).
    pub entries: i64,
    /// All branches, depth-first, parents before children.
    pub branches: Vec<Branch>,
    /// The metadata of an RNTuple (`None` for a TTree).
    pub(crate) ntuple: Option<std::sync::Arc<crate::rntuple::Descriptor>>,
}

impl Tree {
    /// `"RNTuple"` or `"tree"`: what the name names.
    pub fn kind(&self) -> &'static str {
        if self.ntuple.is_some() {
            "RNTuple"
        } else {
            "tree"
        }
    }

    /// For an RNTuple: its format version, clusters and writer.
    pub fn format_note(&self) -> Option<String> {
        self.ntuple.as_ref().map(|d| {
            let v = d.version;
            format!(
                "format {}.{}.{}.{}, {} cluster(s), written by {}",
                v[0],
                v[1],
                v[2],
                v[3],
                d.clusters.len(),
                d.writer
            )
        })
    }

    /// Finds a branch by name or slash path.
    pub fn branch(&self, name: &str) -> Option<&Branch> {
        self.branches
            .iter()
            .find(|b| b.path == name)
            .or_else(|| self.branches.iter().find(|b| b.name == name))
    }
}

impl RootFile {
    /// Reads the metadata of a tree (by name, `dir/name` or `name;cycle`).
    pub fn tree(&self, name: &str) -> Result<Tree> {
        let key = self.find_tree_key(name)?.clone();
        if key.class_name == crate::rntuple::ANCHOR_CLASS {
            return crate::rntuple::tree(self, &key);
        }
        let what = format!("tree {}", key.path);
        if key.class_name != "TTree" {
            return Err(Error::new(
                ErrorKind::Unsupported,
                self.path(),
                format!("{} objects are not supported, only TTree", key.class_name),
            )
            .at(what));
        }
        let buf = self.read_object(&key).map_err(|e| e.at(what.clone()))?;
        let meta = streamed::parse_tree(&buf, key.keylen as i64)
            .map_err(|e| Error::new(ErrorKind::Malformed, self.path(), e.0).at(what.clone()))?;
        let mut branches = Vec::new();
        for b in &meta.branches {
            flatten(b, "", &meta.leaves, &mut branches);
        }
        Ok(Tree {
            name: meta.name,
            title: meta.title,
            path: key.path.clone(),
            entries: meta.entries,
            branches,
            ntuple: None,
        })
    }
}

fn flatten(b: &BranchMeta, parent: &str, leaves: &[LeafMeta], out: &mut Vec<Branch>) {
    let path = if parent.is_empty() {
        b.name.clone()
    } else {
        format!("{parent}/{}", b.name)
    };
    let (interpretation, type_name, counter) = interpret(b, leaves);
    let mut external = Vec::new();
    let nb = (b.write_basket.max(0) as usize)
        .min(b.basket_seek.len())
        .min(b.basket_entry.len())
        .min(b.basket_bytes.len());
    for i in 0..nb {
        external.push((b.basket_entry[i], b.basket_seek[i], b.basket_bytes[i]));
    }
    let mut embedded = Vec::new();
    let mut first = if nb < b.basket_entry.len() {
        b.basket_entry[nb]
    } else {
        external.last().map(|_| b.entries).unwrap_or(0)
    };
    for e in &b.embedded {
        if e.nev_buf > 0 {
            embedded.push((first, e.clone()));
            first += e.nev_buf as i64;
        }
    }
    out.push(Branch {
        name: b.name.clone(),
        path: path.clone(),
        title: b.title.clone(),
        class: b.class.clone(),
        type_name,
        counter,
        entries: b.entries,
        tot_bytes: b.tot_bytes,
        zip_bytes: b.zip_bytes,
        compression: b.compress,
        interpretation,
        n_children: b.children.len(),
        baskets: BasketIndex {
            external,
            embedded,
            file_name: b.file_name.clone(),
        },
        ntuple: None,
    });
    for c in &b.children {
        flatten(c, &path, leaves, out);
    }
}

fn leaf_dtype(l: &LeafMeta) -> Option<DType> {
    let u = l.is_unsigned;
    Some(match l.class.as_str() {
        "TLeafO" => DType::Bool,
        "TLeafB" => {
            if u {
                DType::U8
            } else {
                DType::I8
            }
        }
        "TLeafS" => {
            if u {
                DType::U16
            } else {
                DType::I16
            }
        }
        "TLeafI" => {
            if u {
                DType::U32
            } else {
                DType::I32
            }
        }
        "TLeafL" | "TLeafG" => {
            if u {
                DType::U64
            } else {
                DType::I64
            }
        }
        "TLeafF" => DType::F32,
        "TLeafD" => DType::F64,
        _ => return None,
    })
}

fn cpp_name(d: DType) -> &'static str {
    match d {
        DType::Bool => "bool",
        DType::I8 => "int8_t",
        DType::I16 => "int16_t",
        DType::I32 => "int32_t",
        DType::I64 => "int64_t",
        DType::U8 => "uint8_t",
        DType::U16 => "uint16_t",
        DType::U32 => "uint32_t",
        DType::U64 => "uint64_t",
        DType::F32 => "float",
        DType::F64 => "double",
    }
}

fn numeric(dtype: DType, layout: Layout) -> (Interpretation, String) {
    let t = match layout {
        Layout::Scalar => cpp_name(dtype).to_string(),
        Layout::Fixed(n) => format!("{}[{n}]", cpp_name(dtype)),
        Layout::Jagged { header: 10 } => format!("std::vector<{}>", cpp_name(dtype)),
        Layout::Jagged { .. } => format!("{}[]", cpp_name(dtype)),
    };
    (Interpretation::Numeric { dtype, layout }, t)
}

/// Decides how a branch decodes, from its class, leaves and streamer codes.
fn interpret(b: &BranchMeta, leaves: &[LeafMeta]) -> (Interpretation, String, Option<String>) {
    let unsupported = |why: String, t: String| (Interpretation::Unsupported(why), t, None);
    if b.class == "TBranchObject" {
        let cls = b
            .element
            .as_ref()
            .map(|e| e.class_name.clone())
            .unwrap_or_default();
        return unsupported(format!("unsplit object branch of class {cls}"), cls);
    }
    if b.class != "TBranch" && b.class != "TBranchElement" {
        return unsupported(
            format!("branch class {} is not supported", b.class),
            b.class.clone(),
        );
    }
    let leaf = b.leaves.first().map(|&i| &leaves[i]);
    let counter = leaf
        .and_then(|l| l.leaf_count)
        .map(|i| leaves[i].name.clone());
    let Some(e) = &b.element else {
        // Plain TBranch.
        if b.leaves.len() != 1 {
            return unsupported(
                format!("leaf list with {} leaves ({})", b.leaves.len(), b.title),
                "leaf list".into(),
            );
        }
        let l = leaf.expect("one leaf");
        if l.class == "TLeafC" {
            return unsupported("string leaf (TLeafC)".into(), "char*".into());
        }
        let Some(dt) = leaf_dtype(l) else {
            return unsupported(
                format!("leaf class {} is not supported", l.class),
                l.class.clone(),
            );
        };
        let layout = if counter.is_some() {
            Layout::Jagged { header: 0 }
        } else if l.len > 1 {
            Layout::Fixed(l.len as usize)
        } else {
            Layout::Scalar
        };
        let (i, t) = numeric(dt, layout);
        return (i, t, counter);
    };
    // TBranchElement.
    let st = e.streamer_type;
    let cls = e.class_name.trim().to_string();
    if e.btype == 3 || e.btype == 4 {
        // TClonesArray (3) or STL collection (4) split into sub-branches: the
        // branch's own data is the per-entry collection size.
        let (i, t) = numeric(DType::I32, Layout::Scalar);
        return (i, t, None);
    }
    if !b.children.is_empty() {
        return (Interpretation::Container, cls, None);
    }
    let in_collection = e.btype == 31 || e.btype == 41;
    let counter_el = if in_collection { counter.clone() } else { None };
    if (1..=19).contains(&st) {
        let Some(dt) = DType::from_root_code(st) else {
            return unsupported(
                format!("streamer type {st} (Float16/Double32 or bits) is not supported"),
                format!("streamer type {st}"),
            );
        };
        if st == 9 || st == 19 {
            return unsupported(
                "Double32_t/Float16_t members are not supported".into(),
                "Double32_t".into(),
            );
        }
        let layout = if in_collection {
            Layout::Jagged { header: 0 }
        } else {
            Layout::Scalar
        };
        let (i, t) = numeric(dt, layout);
        return (i, t, counter_el);
    }
    if (21..=39).contains(&st) {
        return unsupported(
            "fixed-size array member (streamer type kOffsetL) is not supported yet".into(),
            format!(
                "{}[N]",
                DType::from_root_code(st - 20).map(cpp_name).unwrap_or("?")
            ),
        );
    }
    // std::vector<T> of a basic type, top level (fStreamerType -1) or a member (kSTL = 500).
    let vec_cls = if cls.starts_with("vector<") {
        Some(cls.clone())
    } else {
        None
    };
    if let Some(v) = vec_cls.filter(|_| st == -1 || st == 500) {
        // `vector<unsigned int>`, possibly with an explicit allocator argument.
        let body = v["vector<".len()..].trim_end();
        let body = body.strip_suffix('>').unwrap_or(body);
        let inner = body.split(',').next().unwrap_or("").trim().to_string();
        if in_collection {
            return unsupported(format!("{v} inside a split collection"), v);
        }
        return match DType::from_cpp(&inner) {
            Some(dt) => {
                let (i, _) = numeric(dt, Layout::Jagged { header: 10 });
                (i, format!("std::vector<{}>", cpp_name(dt)), None)
            }
            None => unsupported(format!("{v}: element type '{inner}' is not a number"), v),
        };
    }
    let what = if cls.is_empty() {
        format!("streamer type {st}")
    } else {
        cls.clone()
    };
    unsupported(
        format!("object type {what} is not decoded (only numbers and vectors of numbers)"),
        what,
    )
}
