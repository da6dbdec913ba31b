//! ROOT RNTuple (format 1.0): the anchor, the header, footer and page-list
//! envelopes (XXH3-checked), and columnar reading of its fields through the
//! same [`Tree`](crate::Tree) view as TTrees, so that every caller reads both.

mod le;
mod meta;
mod page;
mod read;
mod view;
mod write;

pub use write::rntuple_file;

pub(crate) use meta::Descriptor;
pub(crate) use read::read;
pub(crate) use view::FieldPlan;

use crate::compress;
use crate::cursor::DResult;
use crate::error::{Error, ErrorKind, Result};
use crate::file::{Key, RootFile};
use crate::tree::{BasketIndex, Branch, Tree};
use std::sync::Arc;

/// Class name of the anchor key.
pub(crate) const ANCHOR_CLASS: &str = "ROOT::RNTuple";

/// The decompressed bytes of an envelope.
fn envelope(file: &RootFile, l: &meta::Link, what: &str) -> Result<Vec<u8>> {
    let raw = file.slice(l.offset as i64, l.size as usize, what)?;
    compress::decompress(raw, l.length as usize).map_err(|e| {
        Error::new(
            ErrorKind::Malformed,
            file.path(),
            format!("{what}: {}", e.0),
        )
    })
}

/// Reads the metadata of the RNTuple behind `key`.
pub(crate) fn descriptor(file: &RootFile, key: &Key) -> Result<Descriptor> {
    let what = format!("RNTuple {}", key.path);
    let bad = |e: crate::cursor::DecodeError| {
        Error::new(ErrorKind::Malformed, file.path(), e.0).at(what.clone())
    };
    let obj = file.read_object(key).map_err(|e| e.at(what.clone()))?;
    let anchor = meta::parse_anchor(&obj).map_err(bad)?;
    let header =
        envelope(file, &anchor.header, "header envelope").map_err(|e| e.at(what.clone()))?;
    let (mut d, sum) = meta::parse_header(&header).map_err(bad)?;
    let footer =
        envelope(file, &anchor.footer, "footer envelope").map_err(|e| e.at(what.clone()))?;
    let groups = meta::parse_footer(&footer, &mut d, sum).map_err(bad)?;
    for g in &groups {
        let pl = envelope(file, g, "page list envelope").map_err(|e| e.at(what.clone()))?;
        meta::parse_page_list(&pl, &mut d, sum).map_err(bad)?;
    }
    check_clusters(&d).map_err(bad)?;
    d.entries = d.clusters.iter().map(|c| c.entries).sum();
    d.version = anchor.version;
    Ok(d)
}

/// Clusters follow one another without gaps.
fn check_clusters(d: &Descriptor) -> DResult<()> {
    let mut next = 0u64;
    for (i, c) in d.clusters.iter().enumerate() {
        if c.first_entry != next {
            return crate::cursor::derr(format!(
                "cluster {i} starts at entry {}, expected {next}",
                c.first_entry
            ));
        }
        next += c.entries;
    }
    Ok(())
}

/// The tree view of an RNTuple: its fields as branches.
pub(crate) fn tree(file: &RootFile, key: &Key) -> Result<Tree> {
    let d = descriptor(file, key)?;
    let entries = d.entries as i64;
    let branches = view::branches(&d)
        .into_iter()
        .map(|b| {
            let name = b.path.rsplit('.').next().unwrap_or(&b.path).to_string();
            let (zip, tot) = b.plan.as_ref().map_or((0, 0), |p| bytes_of(&d, p));
            Branch {
                name,
                path: b.path,
                title: String::new(),
                class: "RNTuple field".into(),
                type_name: b.type_name,
                counter: b.counter,
                entries,
                tot_bytes: tot,
                zip_bytes: zip,
                compression: first_compression(&d),
                interpretation: b.interpretation,
                n_children: 0,
                baskets: BasketIndex::default(),
                ntuple: b.plan,
            }
        })
        .collect();
    Ok(Tree {
        name: key.name.clone(),
        title: d.description.clone(),
        path: key.path.clone(),
        entries,
        branches,
        ntuple: Some(Arc::new(d)),
    })
}

/// Compressed and uncompressed bytes of a branch's pages.
fn bytes_of(d: &Descriptor, p: &FieldPlan) -> (i64, i64) {
    let mut cols: Vec<usize> = p.values.clone();
    cols.extend(p.collection.iter().flatten());
    let (mut zip, mut tot) = (0i64, 0i64);
    for cl in &d.clusters {
        for &c in &cols {
            let Some(r) = cl.columns.get(c) else { continue };
            let bits = d.columns[c].bits as u64;
            for pg in &r.pages {
                zip += pg.at.size as i64;
                tot += (pg.elements * bits).div_ceil(8) as i64;
            }
        }
    }
    (zip, tot)
}

fn first_compression(d: &Descriptor) -> i32 {
    d.clusters
        .iter()
        .flat_map(|c| &c.columns)
        .find(|r| !r.suppressed)
        .map_or(0, |r| r.compression as i32)
}
