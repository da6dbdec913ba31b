//! Decoding of the streamed TTree record: branches, leaves and the baskets
//! embedded in it. Only the class versions that ROOT 5.26+ writes are handled;
//! anything else is reported, never guessed.

use crate::cursor::{derr, Cursor, DResult};
use std::collections::HashMap;

const K_BYTE_COUNT_MASK: u32 = 0x4000_0000;
const K_NEW_CLASS_TAG: u32 = 0xFFFF_FFFF;
const K_CLASS_MASK: u32 = 0x8000_0000;
const K_MAP_OFFSET: i64 = 2;
const K_IS_REFERENCED: u32 = 1 << 4;

/// A leaf as streamed (`TLeaf*` classes).
#[derive(Debug, Clone)]
pub(crate) struct LeafMeta {
    pub class: String,
    pub name: String,
    pub len: i32,
    pub is_unsigned: bool,
    /// Index of the counter leaf in the arena, when the leaf is a variable-size array.
    pub leaf_count: Option<usize>,
}

/// A basket stored inside the TTree record (not yet flushed to its own key).
#[derive(Debug, Clone)]
pub(crate) struct EmbeddedBasket {
    pub nev_buf: i32,
    pub data: Vec<u8>,
    /// `nev_buf + 1` byte offsets into `data`, when entries have variable size.
    pub offsets: Option<Vec<i32>>,
}

/// `TBranchElement` specifics.
#[derive(Debug, Clone, Default)]
pub(crate) struct ElementMeta {
    pub class_name: String,
    pub btype: i32,
    pub streamer_type: i32,
}

/// A branch as streamed, children included.
#[derive(Debug, Clone, Default)]
pub(crate) struct BranchMeta {
    pub class: String,
    pub name: String,
    pub title: String,
    pub write_basket: i32,
    pub entries: i64,
    pub tot_bytes: i64,
    pub zip_bytes: i64,
    pub compress: i32,
    pub children: Vec<BranchMeta>,
    pub leaves: Vec<usize>,
    pub embedded: Vec<EmbeddedBasket>,
    pub basket_bytes: Vec<i32>,
    pub basket_entry: Vec<i64>,
    pub basket_seek: Vec<i64>,
    pub file_name: String,
    pub element: Option<ElementMeta>,
}

/// The decoded TTree record.
pub(crate) struct TreeMeta {
    pub name: String,
    pub title: String,
    pub entries: i64,
    pub branches: Vec<BranchMeta>,
    pub leaves: Vec<LeafMeta>,
}

enum Obj {
    Null,
    Branch(Box<BranchMeta>),
    Leaf(usize),
    Basket(EmbeddedBasket),
    Other(String),
}

#[derive(Clone)]
enum Ref {
    Class(String),
    Leaf(usize),
    Other,
}

struct Parser<'a> {
    c: Cursor<'a>,
    refs: HashMap<i64, Ref>,
    leaves: Vec<LeafMeta>,
}

/// Decodes a TTree record. `keylen` is the length of the key in front of
/// the record, which ROOT folds into its in-buffer object references.
pub(crate) fn parse_tree(buf: &[u8], keylen: i64) -> DResult<TreeMeta> {
    let mut p = Parser {
        c: Cursor::new(buf, keylen),
        refs: HashMap::new(),
        leaves: Vec::new(),
    };
    p.tree()
}

impl<'a> Parser<'a> {
    fn tree(&mut self) -> DResult<TreeMeta> {
        let (_end, v) = self.c.version_header()?;
        if !(16..=20).contains(&v) {
            return derr(format!(
                "TTree class version {v} is not supported (versions 16-20 are)"
            ));
        }
        let (name, title) = self.tnamed()?;
        self.skip_versioned("TAttLine")?;
        self.skip_versioned("TAttFill")?;
        self.skip_versioned("TAttMarker")?;
        let c = &mut self.c;
        let entries = c.i64()?;
        let _tot = c.i64()?;
        let _zip = c.i64()?;
        let _saved = c.i64()?;
        if v >= 18 {
            let _flushed = c.i64()?;
        }
        let _weight = c.f64()?;
        let _timer = c.i32()?;
        let _scan = c.i32()?;
        let _update = c.i32()?;
        if v >= 17 {
            let _default_eol = c.i32()?;
        }
        let ncluster = if v >= 19 { c.u32()? as usize } else { 0 };
        let _max_entries = c.i64()?;
        let _max_loop = c.i64()?;
        let _max_virtual = c.i64()?;
        let _autosave = c.i64()?;
        if v >= 18 {
            let _autoflush = c.i64()?;
        }
        let _estimate = c.i64()?;
        if v >= 19 {
            c.skip(1)?;
            c.skip(8 * ncluster)?;
            c.skip(1)?;
            c.skip(8 * ncluster)?;
        }
        if v >= 20 {
            self.skip_versioned("TIOFeatures")?;
        }
        let branches = self.branch_array("TTree.fBranches")?;
        Ok(TreeMeta {
            name,
            title,
            entries,
            branches,
            leaves: std::mem::take(&mut self.leaves),
        })
    }

    fn skip_versioned(&mut self, what: &str) -> DResult<()> {
        let (end, _v) = self.c.version_header()?;
        if end.is_none() {
            return derr(format!("{what} has no byte count"));
        }
        self.c.finish(end, what)
    }

    fn tobject(&mut self) -> DResult<()> {
        let version = self.c.i16()?;
        if version as u16 & 0x4000 != 0 {
            self.c.skip(4)?;
        }
        let _unique_id = self.c.u32()?;
        let bits = self.c.u32()?;
        if bits & K_IS_REFERENCED != 0 {
            self.c.skip(2)?;
        }
        Ok(())
    }

    fn tnamed(&mut self) -> DResult<(String, String)> {
        let (end, _v) = self.c.version_header()?;
        self.tobject()?;
        let name = self.c.tstring()?;
        let title = self.c.tstring()?;
        self.c.finish(end, "TNamed")?;
        Ok((name, title))
    }

    /// A TObjArray streamed by value; returns its elements.
    fn objarray(&mut self, what: &str) -> DResult<Vec<Obj>> {
        let (end, v) = self.c.version_header()?;
        if v > 2 {
            self.tobject()?;
        }
        let _name = self.c.tstring()?;
        let n = self.c.i32()?;
        let _lower = self.c.i32()?;
        if n < 0 {
            return derr(format!("{what}: negative element count {n}"));
        }
        let mut out = Vec::with_capacity(n as usize);
        for _ in 0..n {
            out.push(self.object_any()?);
        }
        self.c.finish(end, what)?;
        Ok(out)
    }

    fn branch_array(&mut self, what: &str) -> DResult<Vec<BranchMeta>> {
        let objs = self.objarray(what)?;
        let mut out = Vec::new();
        for o in objs {
            match o {
                Obj::Branch(b) => out.push(*b),
                Obj::Null => {}
                Obj::Other(cls) => out.push(BranchMeta {
                    class: cls,
                    name: String::from("?"),
                    ..Default::default()
                }),
                _ => return derr(format!("{what}: element is not a branch")),
            }
        }
        Ok(out)
    }

    /// ROOT's `ReadObjectAny`: a possibly-null, possibly-shared object pointer.
    fn object_any(&mut self) -> DResult<Obj> {
        let beg = self.c.displacement();
        let bcnt_pos = self.c.pos;
        let bcnt = self.c.u32()?;
        let (tag, start, end) = if bcnt & K_BYTE_COUNT_MASK == 0 || bcnt == K_NEW_CLASS_TAG {
            (bcnt, 0i64, None)
        } else {
            let start = self.c.displacement();
            let tag = self.c.u32()?;
            let end = bcnt_pos + 4 + (bcnt & !K_BYTE_COUNT_MASK) as usize;
            (tag, start, Some(end))
        };
        if tag & K_CLASS_MASK == 0 {
            if tag == 0 {
                return Ok(Obj::Null);
            }
            let r = self.refs.get(&(tag as i64)).cloned();
            self.c.finish(end, "object reference")?;
            return Ok(match r {
                Some(Ref::Leaf(i)) => Obj::Leaf(i),
                _ => Obj::Other("reference".into()),
            });
        }
        let class = if tag == K_NEW_CLASS_TAG {
            let cls = self.c.cstring()?;
            let key = if end.is_some() {
                start + K_MAP_OFFSET
            } else {
                self.refs.len() as i64 + 1
            };
            self.refs.insert(key, Ref::Class(cls.clone()));
            cls
        } else {
            let r = (tag & !K_CLASS_MASK) as i64;
            match self.refs.get(&r) {
                Some(Ref::Class(c)) => c.clone(),
                _ => return derr(format!("unknown class reference {r} in the tree record")),
            }
        };
        let obj = self.read_class(&class, end)?;
        self.c.finish(end, &class)?;
        let r = match &obj {
            Obj::Leaf(i) => Ref::Leaf(*i),
            _ => Ref::Other,
        };
        let key = if end.is_some() {
            beg + K_MAP_OFFSET
        } else {
            self.refs.len() as i64 + 1
        };
        self.refs.insert(key, r);
        Ok(obj)
    }

    fn read_class(&mut self, class: &str, end: Option<usize>) -> DResult<Obj> {
        match class {
            "TBranch" => Ok(Obj::Branch(Box::new(self.tbranch()?))),
            "TBranchElement" => Ok(Obj::Branch(Box::new(self.tbranch_element()?))),
            "TBranchObject" => {
                let (e, _v) = self.c.version_header()?;
                let mut b = self.tbranch()?;
                b.class = "TBranchObject".into();
                let cls = self.c.tstring()?;
                b.element = Some(ElementMeta {
                    class_name: cls,
                    btype: -1,
                    streamer_type: -1,
                });
                self.c.finish(e, "TBranchObject")?;
                Ok(Obj::Branch(Box::new(b)))
            }
            "TBasket" => Ok(Obj::Basket(self.embedded_basket()?)),
            c if c.starts_with("TLeaf") => Ok(Obj::Leaf(self.leaf(c)?)),
            other => {
                if end.is_none() {
                    return derr(format!(
                        "cannot skip object of class {other} without a byte count"
                    ));
                }
                Ok(Obj::Other(other.to_string()))
            }
        }
    }

    fn leaf(&mut self, class: &str) -> DResult<usize> {
        let (end, _v) = self.c.version_header()?;
        // TLeaf base part.
        let (bend, _bv) = self.c.version_header()?;
        let (name, _title) = self.tnamed()?;
        let len = self.c.i32()?;
        let _len_type = self.c.i32()?;
        let _offset = self.c.i32()?;
        let _is_range = self.c.bool()?;
        let is_unsigned = self.c.bool()?;
        let leaf_count = match self.object_any()? {
            Obj::Leaf(i) => Some(i),
            _ => None,
        };
        self.c.finish(bend, "TLeaf")?;
        // TLeafElement's fID/fType follow; the branch's streamer type is used instead.
        self.c.finish(end, class)?;
        self.leaves.push(LeafMeta {
            class: class.to_string(),
            name,
            len,
            is_unsigned,
            leaf_count,
        });
        Ok(self.leaves.len() - 1)
    }

    fn tbranch(&mut self) -> DResult<BranchMeta> {
        let (end, v) = self.c.version_header()?;
        if !(10..=13).contains(&v) {
            return derr(format!(
                "TBranch class version {v} is not supported (versions 10-13 are)"
            ));
        }
        let (name, title) = self.tnamed()?;
        self.skip_versioned("TAttFill")?;
        let c = &mut self.c;
        let compress = c.i32()?;
        let _basket_size = c.i32()?;
        let _entry_offset_len = c.i32()?;
        let write_basket = c.i32()?;
        let _entry_number = c.i64()?;
        if v >= 13 {
            self.skip_versioned("TIOFeatures")?;
        }
        let c = &mut self.c;
        let _offset = c.i32()?;
        let max_baskets = c.u32()? as usize;
        let _split = c.i32()?;
        let entries = c.i64()?;
        if v >= 11 {
            let _first_entry = c.i64()?;
        }
        let tot_bytes = c.i64()?;
        let zip_bytes = c.i64()?;
        let children = self.branch_array(&format!("branch {name}: fBranches"))?;
        let leaf_objs = self.objarray(&format!("branch {name}: fLeaves"))?;
        let mut leaves = Vec::new();
        for o in leaf_objs {
            if let Obj::Leaf(i) = o {
                leaves.push(i);
            }
        }
        let basket_objs = self.objarray(&format!("branch {name}: fBaskets"))?;
        let mut embedded = Vec::new();
        for o in basket_objs {
            if let Obj::Basket(b) = o {
                embedded.push(b);
            }
        }
        if max_baskets > 10_000_000 {
            return derr(format!(
                "branch {name}: implausible basket count {max_baskets}"
            ));
        }
        let c = &mut self.c;
        c.skip(1)?;
        let basket_bytes = (0..max_baskets)
            .map(|_| c.i32())
            .collect::<DResult<Vec<_>>>()?;
        c.skip(1)?;
        let basket_entry = (0..max_baskets)
            .map(|_| c.i64())
            .collect::<DResult<Vec<_>>>()?;
        c.skip(1)?;
        let basket_seek = (0..max_baskets)
            .map(|_| c.i64())
            .collect::<DResult<Vec<_>>>()?;
        let file_name = c.tstring()?;
        self.c.finish(end, "TBranch")?;
        Ok(BranchMeta {
            class: "TBranch".into(),
            name,
            title,
            write_basket,
            entries,
            tot_bytes,
            zip_bytes,
            compress,
            children,
            leaves,
            embedded,
            basket_bytes,
            basket_entry,
            basket_seek,
            file_name,
            element: None,
        })
    }

    fn tbranch_element(&mut self) -> DResult<BranchMeta> {
        let (end, v) = self.c.version_header()?;
        if !(8..=10).contains(&v) {
            return derr(format!(
                "TBranchElement class version {v} is not supported (versions 8-10 are)"
            ));
        }
        let mut b = self.tbranch()?;
        b.class = "TBranchElement".into();
        let c = &mut self.c;
        let class_name = c.tstring()?;
        let _parent = c.tstring()?;
        let _clones = c.tstring()?;
        let _checksum = c.u32()?;
        if v >= 10 {
            c.i16()?;
        } else {
            c.i32()?;
        }
        let _id = c.i32()?;
        let btype = c.i32()?;
        let streamer_type = c.i32()?;
        let _maximum = c.i32()?;
        self.object_any()?; // fBranchCount
        self.object_any()?; // fBranchCount2
        self.c.finish(end, "TBranchElement")?;
        b.element = Some(ElementMeta {
            class_name,
            btype,
            streamer_type,
        });
        Ok(b)
    }

    /// A TBasket stored in the tree record: key fields, TBasket fields,
    /// entry offsets (when entries vary in size), a repeated key, then the data.
    fn embedded_basket(&mut self) -> DResult<EmbeddedBasket> {
        let start = self.c.pos;
        let c = &mut self.c;
        let _nbytes = c.i32()?;
        let _key_version = c.i16()?;
        let _objlen = c.i32()?;
        let _datime = c.u32()?;
        let keylen = c.i16()? as i64;
        let _cycle = c.i16()?;
        // The TBasket fields (18 bytes) and a flag byte close the key header.
        c.seek((start as i64 + keylen - 19).max(0) as usize)?;
        let _version = c.u16()?;
        let _buffer_size = c.i32()?;
        let nev_buf_size = c.i32()? as i64;
        let nev_buf = c.i32()?;
        let last = c.i32()? as i64;
        c.skip(1)?;
        let border = last - keylen;
        if border < 0 || nev_buf < 0 {
            return derr("embedded basket with negative size");
        }
        let offsets = if nev_buf_size * nev_buf as i64 + keylen != last {
            let _n = c.i32()?;
            let mut offs = Vec::with_capacity(nev_buf as usize + 1);
            for _ in 0..nev_buf {
                offs.push((c.i32()? as i64 - keylen) as i32);
            }
            offs.push(border as i32);
            Some(offs)
        } else {
            None
        };
        c.skip(keylen as usize)?;
        let data = c.bytes(border as usize)?.to_vec();
        Ok(EmbeddedBasket {
            nev_buf,
            data,
            offsets,
        })
    }
}
