//! NanoAOD-style ROOT events or Dark Machines challenge CSV events -> one
//! RMM row per event (zstd Parquet columns), with per-event weights.

use crate::rmm::{column_names, matrix, size, Object, ObjectType, RmmConfig};
use crate::select::{Condition, CutFlow, Quantity};
use arrow_array::{
    ArrayRef, BooleanArray, Float32Array, Float64Array, Int64Array, RecordBatch, StringArray,
};
use arrow_schema::{DataType, Field, Schema};
use hepae_root::RootFile;
use rayon::prelude::*;
use std::path::PathBuf;
use std::sync::Arc;

/// One input sample.
#[derive(Debug, Clone)]
pub struct Sample {
    /// ROOT file.
    pub path: PathBuf,
    /// Process label (`ttbar`, `zprime`, ...).
    pub process: String,
    /// True for signal samples.
    pub signal: bool,
    /// Per-event weight (cross section x luminosity / events); `None`:
    /// the file's own (Dark Machines `event_weight`), else 1.
    pub weight: Option<f64>,
    /// Scale of every object's pT and of MET (1: as read), for the pT
    /// sensitivity check.
    pub pt_scale: f64,
}

impl Sample {
    /// A sample read as it is.
    pub fn new(path: PathBuf, process: &str, signal: bool, weight: Option<f64>) -> Sample {
        Sample {
            path,
            process: process.to_string(),
            signal,
            weight,
            pt_scale: 1.0,
        }
    }
}

/// `samples` and, for each signal sample and scale k, a copy whose objects'
/// pT and MET are scaled by k, named `PROCESS_pt_xK` (the thesis' check
/// that a harder signal stands out more).
pub fn with_pt_scaled_signals(samples: &[Sample], scales: &[f64]) -> Vec<Sample> {
    let mut out = samples.to_vec();
    for s in samples.iter().filter(|s| s.signal) {
        out.extend(scales.iter().map(|&k| Sample {
            process: format!("{}{}{k}", s.process, crate::sensitivity::PT_SCALED),
            pt_scale: k,
            ..s.clone()
        }));
    }
    out
}

/// Scales every object's pT and MET of `events` by `k`.
fn scale_pt(events: &mut [EventObjects], k: f64) {
    for e in events {
        e.met *= k;
        for o in e.objects.iter_mut().flatten() {
            o.pt *= k;
        }
    }
}

/// One event's objects per configured type (GeV, pT-ordered), MET and weight.
struct EventObjects {
    met: f64,
    met_phi: f64,
    objects: Vec<Vec<Object>>,
    weight: f64,
}

/// Reads one sample, ROOT or Dark Machines CSV (by extension).
fn read_any(s: &Sample, tree: &str, cfg: &RmmConfig) -> crate::Result<Vec<EventObjects>> {
    if s.path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
    {
        return read_darkmachines(s, cfg);
    }
    read_sample(s, tree, cfg)
}

/// The RMM type of a challenge object: b-jets are their own type when the
/// layout has `bjets`, else jets.
fn rmm_type(kind: hepae_darkmachines::ObjectType, split_b: bool) -> ObjectType {
    use hepae_darkmachines::ObjectType as D;
    match kind {
        D::Jet => ObjectType::Jets,
        D::BJet if split_b => ObjectType::Bjets,
        D::BJet => ObjectType::Jets,
        D::Electron => ObjectType::Electrons,
        D::Muon => ObjectType::Muons,
        D::Photon => ObjectType::Photons,
    }
}

/// A Dark Machines challenge CSV file: per event its objects (GeV, masses
/// from E and p, pT-ordered per type) and MET.
fn read_darkmachines(s: &Sample, cfg: &RmmConfig) -> crate::Result<Vec<EventObjects>> {
    let events = hepae_darkmachines::read_events(&s.path)?;
    let split_b = cfg.types.contains(&ObjectType::Bjets);
    let mev = 1e-3;
    Ok(events
        .par_iter()
        .map(|e| {
            let mut objects: Vec<Vec<Object>> = vec![Vec::new(); cfg.types.len()];
            for o in &e.objects {
                let t = rmm_type(o.kind, split_b);
                if let Some(k) = cfg.types.iter().position(|x| *x == t) {
                    let p = o.pt * o.eta.cosh();
                    objects[k].push(Object {
                        pt: o.pt * mev,
                        eta: o.eta,
                        phi: o.phi,
                        mass: (o.e * o.e - p * p).max(0.0).sqrt() * mev,
                    });
                }
            }
            for v in &mut objects {
                v.sort_by(|a, b| b.pt.total_cmp(&a.pt));
            }
            EventObjects {
                met: e.met * mev,
                met_phi: e.met_phi,
                objects,
                weight: s.weight.unwrap_or(e.weight),
            }
        })
        .collect())
}

fn prefix(t: ObjectType) -> &'static str {
    match t {
        ObjectType::Jets | ObjectType::Bjets => "Jet",
        ObjectType::Muons => "Muon",
        ObjectType::Electrons => "Electron",
        ObjectType::Photons => "Photon",
    }
}

struct Jagged {
    offsets: Vec<u64>,
    cols: Vec<hepae_root::Values>,
}

/// Reads one sample: per event the objects of every configured type and MET.
fn read_sample(s: &Sample, tree: &str, cfg: &RmmConfig) -> crate::Result<Vec<EventObjects>> {
    let file = RootFile::open(&s.path)?;
    let t = file.tree(tree)?;
    let what = |b: &str| format!("{}: tree {tree}: no branch '{b}'", s.path.display());
    let read = |names: &[String]| -> crate::Result<Vec<hepae_root::Column>> {
        let bs = names
            .iter()
            .map(|n| t.branch(n).ok_or_else(|| what(n)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(file.read_branches(&t, &bs)?)
    };
    let split_b = cfg.types.contains(&ObjectType::Bjets);
    let mut coll: Vec<(&str, Jagged)> = Vec::new();
    for t in &cfg.types {
        let p = prefix(*t);
        if coll.iter().any(|(q, _)| *q == p) {
            continue;
        }
        let mut names: Vec<String> = ["pt", "eta", "phi", "mass"]
            .iter()
            .map(|c| format!("{p}_{c}"))
            .collect();
        if p == "Jet" && split_b {
            names.push(format!("Jet_{}", cfg.btag_column));
        }
        let cols = read(&names)?;
        let offsets = cols[0]
            .offsets
            .clone()
            .ok_or_else(|| format!("{}: {p}_pt is not a per-object array", s.path.display()))?;
        coll.push((
            p,
            Jagged {
                offsets,
                cols: cols.into_iter().map(|c| c.values).collect(),
            },
        ));
    }
    let met = read(&["MET_pt".into(), "MET_phi".into()])?;
    let events = met[0].values.len();
    let weight = s.weight.unwrap_or(1.0);
    let rows: Vec<EventObjects> = (0..events)
        .into_par_iter()
        .map(|ev| {
            let objects: Vec<Vec<Object>> = cfg
                .types
                .iter()
                .map(|t| {
                    let (_, j) = coll.iter().find(|(q, _)| *q == prefix(*t)).unwrap();
                    let (a, b) = (j.offsets[ev] as usize, j.offsets[ev + 1] as usize);
                    (a..b)
                        .filter(|&i| match t {
                            ObjectType::Jets if split_b => !cfg.is_btagged(j.cols[4].get_f64(i)),
                            ObjectType::Bjets => cfg.is_btagged(j.cols[4].get_f64(i)),
                            _ => true,
                        })
                        .map(|i| Object {
                            pt: j.cols[0].get_f64(i),
                            eta: j.cols[1].get_f64(i),
                            phi: j.cols[2].get_f64(i),
                            mass: j.cols[3].get_f64(i),
                        })
                        .collect()
                })
                .collect();
            EventObjects {
                met: met[0].values.get_f64(ev),
                met_phi: met[1].values.get_f64(ev),
                objects,
                weight,
            }
        })
        .collect();
    Ok(rows)
}

/// Builds the RMM table of all samples: one float32 column per cell (named
/// by `column_names`), then `event`, `process`, `is_signal`, `weight`.
pub fn rmm_table(samples: &[Sample], tree: &str, cfg: &RmmConfig) -> crate::Result<RecordBatch> {
    Ok(rmm_table_selected(samples, tree, cfg, &[], &[])?.0)
}

/// [`rmm_table`] of the events that pass `selection`, with each sample's cut
/// flow, and one float64 column per carried quantity (from
/// [`crate::select::parse_quantities`]) after `weight`. `event` keeps each
/// event's index in its sample.
pub fn rmm_table_selected(
    samples: &[Sample],
    tree: &str,
    cfg: &RmmConfig,
    selection: &[Condition],
    quantities: &[(String, Quantity)],
) -> crate::Result<(RecordBatch, Vec<CutFlow>)> {
    if size(cfg) < 2 || cfg.types.is_empty() || cfg.sqrt_s.is_nan() || cfg.sqrt_s <= 0.0 {
        return Err("rmm: needs at least one object type with n >= 1, and sqrt_s > 0".into());
    }
    let s2 = size(cfg) * size(cfg);
    let mut rows = Vec::new();
    let mut event = Vec::new();
    let mut process = Vec::new();
    let mut signal = Vec::new();
    let mut weight = Vec::new();
    let mut carried: Vec<Vec<f64>> = vec![Vec::new(); quantities.len()];
    let mut flows = Vec::new();
    for s in samples {
        let mut events = read_any(s, tree, cfg)?;
        if s.pt_scale != 1.0 {
            scale_pt(&mut events, s.pt_scale);
        }
        let mut flow = CutFlow::new(&s.process, selection);
        let kept: Vec<usize> = (0..events.len())
            .filter(|&i| {
                let e = &events[i];
                flow.count(selection, e.weight, e.met, &e.objects, &cfg.types)
            })
            .collect();
        flows.push(flow);
        let cells: Vec<Vec<f64>> = kept
            .par_iter()
            .map(|&i| matrix(events[i].met, events[i].met_phi, &events[i].objects, cfg))
            .collect();
        event.extend(kept.iter().map(|&i| i as i64));
        process.extend(std::iter::repeat_n(s.process.clone(), kept.len()));
        signal.extend(std::iter::repeat_n(s.signal, kept.len()));
        weight.extend(kept.iter().map(|&i| events[i].weight));
        for ((_, q), col) in quantities.iter().zip(&mut carried) {
            col.extend(kept.iter().map(|&i| {
                let e = &events[i];
                crate::select::quantity(*q, e.met, &e.objects, &cfg.types)
            }));
        }
        rows.extend(cells);
    }
    let names = column_names(cfg);
    let mut fields: Vec<Field> = names
        .iter()
        .map(|n| Field::new(n, DataType::Float32, false))
        .collect();
    let mut cols: Vec<ArrayRef> = (0..s2)
        .into_par_iter()
        .map(|c| {
            Arc::new(Float32Array::from_iter_values(
                rows.iter().map(|r| r[c] as f32),
            )) as ArrayRef
        })
        .collect();
    fields.push(Field::new("event", DataType::Int64, false));
    fields.push(Field::new("process", DataType::Utf8, false));
    fields.push(Field::new("is_signal", DataType::Boolean, false));
    fields.push(Field::new("weight", DataType::Float64, false));
    cols.push(Arc::new(Int64Array::from(event)));
    cols.push(Arc::new(StringArray::from(process)));
    cols.push(Arc::new(BooleanArray::from(signal)));
    cols.push(Arc::new(Float64Array::from(weight)));
    for ((name, _), col) in quantities.iter().zip(carried) {
        fields.push(Field::new(name, DataType::Float64, false));
        cols.push(Arc::new(Float64Array::from(col)));
    }
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)?;
    Ok((batch, flows))
}

/// Draws the matrix of row `row` of an RMM table (cells first, as
/// `rmm_table` writes them) as a heat map (PNG or SVG by extension).
pub fn heatmap_of_event(
    batch: &RecordBatch,
    cfg: &RmmConfig,
    row: usize,
    path: &std::path::Path,
    title: &str,
) -> crate::Result<()> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::Float32Type;
    let side = size(cfg);
    let values: Vec<f64> = (0..side * side)
        .map(|k| batch.column(k).as_primitive::<Float32Type>().value(row) as f64)
        .collect();
    Ok(hepae_plot::heatmap(
        path,
        title,
        &crate::rmm::labels(cfg),
        &values,
    )?)
}
