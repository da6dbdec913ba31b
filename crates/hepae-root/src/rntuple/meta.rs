//! The RNTuple metadata: anchor, header, footer and page-list envelopes,
//! parsed into field, column and cluster descriptors.

use super::le::Le;
use crate::cursor::{derr, DResult};

/// Envelope type IDs.
const HEADER: u16 = 1;
const FOOTER: u16 = 2;
const PAGE_LIST: u16 = 3;

/// The ROOT-file anchor (`ROOT::RNTuple` key): format version and where the
/// header and footer envelopes are.
#[derive(Debug, Clone)]
pub(crate) struct Anchor {
    pub version: [u16; 4],
    pub header: Link,
    pub footer: Link,
}

/// Where an envelope or page lies, compressed, and its uncompressed size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Link {
    pub offset: u64,
    pub size: u64,
    pub length: u64,
}

/// One field of the schema.
#[derive(Debug, Clone)]
pub(crate) struct FieldDesc {
    pub name: String,
    pub type_name: String,
    pub parent: usize,
    pub role: u16,
    pub array_size: Option<u64>,
    pub source: Option<usize>,
}

/// Structural roles.
pub(crate) const LEAF: u16 = 0;
pub(crate) const COLLECTION: u16 = 1;
pub(crate) const RECORD: u16 = 2;

/// One physical column, or an alias of one (`physical` differs from its ID).
#[derive(Debug, Clone)]
pub(crate) struct ColumnDesc {
    pub kind: u16,
    pub bits: u16,
    pub field: usize,
    pub representation: u16,
    pub first_element: i64,
    pub range: Option<(f64, f64)>,
    /// The column whose pages hold the data (itself unless an alias).
    pub physical: usize,
}

impl ColumnDesc {
    /// How the column's elements are stored.
    pub fn encoding(&self) -> super::page::Encoding {
        super::page::Encoding {
            kind: self.kind,
            bits: self.bits,
            range: self.range,
        }
    }
}

/// A page of one column in one cluster.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PageDesc {
    pub elements: u64,
    pub checksum: bool,
    pub at: Link,
}

/// One column's pages in one cluster.
#[derive(Debug, Clone, Default)]
pub(crate) struct ColumnRange {
    /// Global index of the column's first element in the cluster.
    pub first: u64,
    /// Suppressed: a secondary representation without pages here.
    pub suppressed: bool,
    pub compression: u32,
    pub pages: Vec<PageDesc>,
}

/// A cluster: its entries and, per physical column, its pages.
#[derive(Debug, Clone)]
pub(crate) struct Cluster {
    pub first_entry: u64,
    pub entries: u64,
    /// Indexed by physical column ID; shorter when later columns did not
    /// exist yet when the cluster was written.
    pub columns: Vec<ColumnRange>,
}

/// Everything the header and footer describe.
#[derive(Debug, Clone)]
pub(crate) struct Descriptor {
    /// Format version of the anchor (epoch, major, minor, patch).
    pub version: [u16; 4],
    pub description: String,
    pub writer: String,
    pub fields: Vec<FieldDesc>,
    pub columns: Vec<ColumnDesc>,
    pub clusters: Vec<Cluster>,
    pub entries: u64,
}

/// Reads the anchor object (big-endian, after ROOT's class version header)
/// and checks its XXH3 checksum.
pub(crate) fn parse_anchor(obj: &[u8]) -> DResult<Anchor> {
    let mut c = crate::cursor::Cursor::at(obj, 0);
    let (_end, _version) = c.version_header()?;
    let start = c.pos;
    let mut v = [0u16; 4];
    for x in &mut v {
        *x = c.u16()?;
    }
    let mut n = [0u64; 7];
    for x in &mut n {
        *x = c.i64()? as u64;
    }
    let fields = &obj[start..c.pos];
    let stored = c.i64()? as u64;
    if xxhash_rust::xxh3::xxh3_64(fields) != stored {
        return derr("anchor checksum (XXH3) does not match: damaged RNTuple anchor");
    }
    if v[0] != 1 {
        return derr(format!(
            "RNTuple format epoch {} (version {}.{}.{}.{}): only epoch 1 is readable",
            v[0], v[0], v[1], v[2], v[3]
        ));
    }
    Ok(Anchor {
        version: v,
        header: Link {
            offset: n[0],
            size: n[1],
            length: n[2],
        },
        footer: Link {
            offset: n[3],
            size: n[4],
            length: n[5],
        },
    })
}

/// Checks an envelope's type, length and XXH3 checksum; returns its payload
/// and its checksum.
pub(crate) fn open_envelope<'a>(buf: &'a [u8], kind: u16, what: &str) -> DResult<(&'a [u8], u64)> {
    if buf.len() < 16 {
        return derr(format!(
            "{what} envelope of {} bytes is too short",
            buf.len()
        ));
    }
    let (body, sum) = buf.split_at(buf.len() - 8);
    let stored = u64::from_le_bytes(sum.try_into().expect("8 bytes"));
    if xxhash_rust::xxh3::xxh3_64(body) != stored {
        return derr(format!(
            "{what} envelope checksum (XXH3) does not match: damaged file"
        ));
    }
    let word = u64::from_le_bytes(body[..8].try_into().expect("8 bytes"));
    let (id, len) = ((word & 0xffff) as u16, word >> 16);
    if id != kind {
        return derr(format!("{what} envelope has type {id}, expected {kind}"));
    }
    if len != buf.len() as u64 {
        return derr(format!(
            "{what} envelope says {len} bytes but has {}",
            buf.len()
        ));
    }
    Ok((&body[8..], stored))
}

fn reject_features(flags: &[u64], what: &str) -> DResult<()> {
    if flags.iter().any(|&f| f != 0) {
        return derr(format!(
            "{what}: unknown feature flags {flags:?} (a newer RNTuple format than this reader knows)"
        ));
    }
    Ok(())
}

/// The header: names, then the schema description.
pub(crate) fn parse_header(env: &[u8]) -> DResult<(Descriptor, u64)> {
    let (p, sum) = open_envelope(env, HEADER, "header")?;
    let mut c = Le::new(p);
    reject_features(&c.feature_flags()?, "header")?;
    let _name = c.string()?;
    let description = c.string()?;
    let writer = c.string()?;
    let mut d = Descriptor {
        version: [0; 4],
        description,
        writer,
        fields: Vec::new(),
        columns: Vec::new(),
        clusters: Vec::new(),
        entries: 0,
    };
    schema(&mut c, &mut d)?;
    Ok((d, sum))
}

/// Fields, columns, alias columns and extra type information, appended to
/// `d` (the header's schema, or the footer's extension of it).
fn schema(c: &mut Le, d: &mut Descriptor) -> DResult<()> {
    let list = c.list("field list")?;
    for _ in 0..list.items.unwrap_or(0) {
        let f = c.record("field")?;
        let _field_version = c.u32()?;
        let _type_version = c.u32()?;
        let parent = c.u32()? as usize;
        let role = c.u16()?;
        let flags = c.u16()?;
        let name = c.string()?;
        let type_name = c.string()?;
        let _type_alias = c.string()?;
        let _desc = c.string()?;
        let array_size = if flags & 1 != 0 { Some(c.u64()?) } else { None };
        let source = if flags & 2 != 0 {
            Some(c.u32()? as usize)
        } else {
            None
        };
        c.end(&f)?;
        d.fields.push(FieldDesc {
            name,
            type_name,
            parent,
            role,
            array_size,
            source,
        });
    }
    c.end(&list)?;
    let list = c.list("column list")?;
    for _ in 0..list.items.unwrap_or(0) {
        let f = c.record("column")?;
        let kind = c.u16()?;
        let bits = c.u16()?;
        let field = c.u32()? as usize;
        let flags = c.u16()?;
        let representation = c.u16()?;
        let first_element = if flags & 1 != 0 { c.i64()? } else { 0 };
        let range = if flags & 2 != 0 {
            Some((c.f64()?, c.f64()?))
        } else {
            None
        };
        c.end(&f)?;
        let physical = d.columns.len();
        d.columns.push(ColumnDesc {
            kind,
            bits,
            field,
            representation,
            first_element,
            range,
            physical,
        });
    }
    c.end(&list)?;
    let list = c.list("alias column list")?;
    for _ in 0..list.items.unwrap_or(0) {
        let f = c.record("alias column")?;
        let physical = c.u32()? as usize;
        let field = c.u32()? as usize;
        c.end(&f)?;
        let Some(src) = d.columns.get(physical).cloned() else {
            return derr(format!(
                "alias column points to column {physical}, which does not exist"
            ));
        };
        d.columns.push(ColumnDesc {
            field,
            physical,
            ..src
        });
    }
    c.end(&list)?;
    let list = c.list("extra type information")?;
    c.end(&list)?;
    check_schema(d)
}

/// Every parent, field and column ID points at something that exists.
fn check_schema(d: &Descriptor) -> DResult<()> {
    let n = d.fields.len();
    for (i, f) in d.fields.iter().enumerate() {
        if f.parent >= n || f.source.is_some_and(|s| s >= n) {
            return derr(format!(
                "field {i} ('{}') has a parent or source field that does not exist",
                f.name
            ));
        }
    }
    for (i, c) in d.columns.iter().enumerate() {
        if c.field >= n {
            return derr(format!(
                "column {i} belongs to field {}, which does not exist",
                c.field
            ));
        }
    }
    Ok(())
}

/// The footer: schema extension and cluster groups (page-list links).
pub(crate) fn parse_footer(env: &[u8], d: &mut Descriptor, header_sum: u64) -> DResult<Vec<Link>> {
    let (p, _) = open_envelope(env, FOOTER, "footer")?;
    let mut c = Le::new(p);
    reject_features(&c.feature_flags()?, "footer")?;
    if c.u64()? != header_sum {
        return derr("the footer belongs to another header (header checksum differs)");
    }
    let ext = c.record("schema extension")?;
    // An empty extension frame has no lists at all.
    if ext.end - c.pos() >= 12 {
        schema(&mut c, d)?;
    }
    c.end(&ext)?;
    let groups = c.list("cluster groups")?;
    let mut links = Vec::new();
    for _ in 0..groups.items.unwrap_or(0) {
        let f = c.record("cluster group")?;
        let _min_entry = c.u64()?;
        let _span = c.u64()?;
        let _n_clusters = c.u32()?;
        let length = c.u64()?;
        let at = locator(&mut c)?;
        c.end(&f)?;
        links.push(Link { length, ..at });
    }
    Ok(links)
}

/// A locator: a standard (32-bit size, 64-bit offset) or a large one.
pub(crate) fn locator(c: &mut Le) -> DResult<Link> {
    let head = c.i32()?;
    if head >= 0 {
        let offset = c.u64()?;
        return Ok(Link {
            offset,
            size: head as u64,
            length: 0,
        });
    }
    let word = head as u32;
    let own = (word & 0xffff) as usize;
    let kind = ((word >> 24) as u8 as i8).unsigned_abs();
    if kind != 1 || own < 20 {
        return derr(format!(
            "locator type {kind} is not supported (only file locators)"
        ));
    }
    let size = c.u64()?;
    let offset = c.u64()?;
    c.bytes(own - 20)?;
    Ok(Link {
        offset,
        size,
        length: 0,
    })
}

/// A page-list envelope: its clusters, appended to `d`.
pub(crate) fn parse_page_list(env: &[u8], d: &mut Descriptor, header_sum: u64) -> DResult<()> {
    let (p, _) = open_envelope(env, PAGE_LIST, "page list")?;
    let mut c = Le::new(p);
    if c.u64()? != header_sum {
        return derr("a page list belongs to another header (header checksum differs)");
    }
    let summaries = c.list("cluster summaries")?;
    let mut clusters = Vec::new();
    for _ in 0..summaries.items.unwrap_or(0) {
        let f = c.record("cluster summary")?;
        let first_entry = c.u64()?;
        let word = c.u64()?;
        c.end(&f)?;
        if word >> 56 & 1 != 0 {
            return derr("sharded clusters are not supported");
        }
        clusters.push(Cluster {
            first_entry,
            entries: word & ((1 << 56) - 1),
            columns: Vec::new(),
        });
    }
    c.end(&summaries)?;
    let top = c.list("page locations")?;
    if top.items.unwrap_or(0) as usize != clusters.len() {
        return derr("page locations do not list one item per cluster");
    }
    for cl in &mut clusters {
        let cols = c.list("cluster columns")?;
        for _ in 0..cols.items.unwrap_or(0) {
            cl.columns.push(column_range(&mut c)?);
        }
        c.end(&cols)?;
    }
    c.end(&top)?;
    d.clusters.extend(clusters);
    Ok(())
}

/// One column's pages in one cluster, with its element offset.
fn column_range(c: &mut Le) -> DResult<ColumnRange> {
    let pages = c.list("column pages")?;
    let mut out = ColumnRange::default();
    for _ in 0..pages.items.unwrap_or(0) {
        let n = c.i32()?;
        let at = locator(c)?;
        out.pages.push(PageDesc {
            elements: n.unsigned_abs() as u64,
            checksum: n < 0,
            at,
        });
    }
    let first = c.i64()?;
    out.suppressed = first < 0;
    if !out.suppressed {
        out.first = first as u64;
        out.compression = c.u32()?;
    } else if !out.pages.is_empty() {
        return derr("a suppressed column has pages");
    }
    c.end(&pages)?;
    Ok(out)
}
