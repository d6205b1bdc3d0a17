//! Inline SVG: the timeline of ops per process and per node, and latency over time, both with
//! faults shaded as bands. No scripts: hovering a shape shows its `<title>`.

use super::esc;
use crate::checker::{Invocation, fault_phase, process_label, seconds};
use crate::history::{Op, OpType, Process};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

const WIDTH: f64 = 1200.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 10.0;
const AXIS: f64 = 18.0;
const LANE: f64 = 13.0;
const LATENCY_HEIGHT: f64 = 260.0;

/// Maps run time (ns) to x.
#[derive(Clone, Copy)]
pub(super) struct Frame {
    t0: u64,
    t1: u64,
}

impl Frame {
    pub(super) fn new(t0: u64, t1: u64) -> Frame {
        Frame {
            t0,
            t1: t1.max(t0 + 1),
        }
    }

    fn x(&self, t: u64) -> f64 {
        let t = t.clamp(self.t0, self.t1);
        LEFT + (t - self.t0) as f64 / (self.t1 - self.t0) as f64 * (WIDTH - LEFT - RIGHT)
    }

    /// Time ticks 1, 2 or 5 × 10ⁿ ns apart, at most a dozen.
    fn ticks(&self) -> Vec<u64> {
        let span = self.t1 - self.t0;
        let mut step: u64 = 1;
        'search: loop {
            for m in [1, 2, 5] {
                if span / (step * m) <= 12 {
                    step *= m;
                    break 'search;
                }
            }
            step *= 10;
        }
        let first = self.t0.div_ceil(step) * step;
        (0..)
            .map(|i| first + i * step)
            .take_while(|&t| t <= self.t1)
            .collect()
    }
}

/// A fault from its start to its end (or the end of the run); an event with no phase is a
/// moment (`from == to`).
pub(super) struct Band {
    pub f: String,
    pub from: u64,
    pub to: u64,
}

pub(super) fn fault_bands(history: &[Op], end: u64) -> Vec<Band> {
    let mut open: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    let mut bands = Vec::new();
    for op in history.iter().filter(|op| op.process == Process::Nemesis) {
        match fault_phase(op) {
            Some("start") => open.entry(&op.f).or_default().push(op.time),
            Some("end") => {
                let started = open
                    .get_mut(op.f.as_str())
                    .and_then(|starts| (!starts.is_empty()).then(|| starts.remove(0)));
                if let Some(from) = started {
                    bands.push(Band {
                        f: op.f.clone(),
                        from,
                        to: op.time,
                    });
                }
            }
            _ => bands.push(Band {
                f: op.f.clone(),
                from: op.time,
                to: op.time,
            }),
        }
    }
    for (f, starts) in open {
        bands.extend(starts.into_iter().map(|from| Band {
            f: f.to_string(),
            from,
            to: end,
        }));
    }
    bands.sort_by_key(|b| b.from);
    bands
}

pub(super) fn fault_colour(f: &str) -> &'static str {
    match f {
        "partition" => "#f5a623",
        "kill" => "#d0021b",
        "pause" => "#4a90e2",
        "clock" => "#9013fe",
        "membership" => "#50b5a0",
        _ => "#888888",
    }
}

pub(super) fn outcome_label(kind: OpType) -> &'static str {
    match kind {
        OpType::Invoke => "pending",
        OpType::Ok => "ok",
        OpType::Fail => "fail",
        OpType::Info => "unknown",
    }
}

fn outcome_colour(kind: OpType) -> &'static str {
    match kind {
        OpType::Ok => "#3a3",
        OpType::Fail => "#e57",
        _ => "#eb0",
    }
}

fn bands_svg(out: &mut String, bands: &[Band], frame: Frame, top: f64, height: f64) {
    for b in bands
        .iter()
        .filter(|b| b.to >= frame.t0 && b.from <= frame.t1)
    {
        let (x1, x2) = (frame.x(b.from), frame.x(b.to));
        let _ = write!(
            out,
            r#"<rect x="{x1:.1}" y="{top:.1}" width="{:.1}" height="{height:.1}" fill="{}" fill-opacity="0.18"><title>{} {}–{}</title></rect>"#,
            (x2 - x1).max(1.5),
            fault_colour(&b.f),
            esc(&b.f),
            seconds(b.from),
            seconds(b.to)
        );
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}" font-size="9" fill="{}">{}</text>"#,
            x1 + 2.0,
            top + 9.0,
            fault_colour(&b.f),
            esc(&b.f)
        );
    }
}

fn time_axis(out: &mut String, frame: Frame, top: f64, bottom: f64) {
    for t in frame.ticks() {
        let x = frame.x(t);
        let _ = write!(
            out,
            r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{bottom:.1}" stroke="#ddd"/><text x="{x:.1}" y="{:.1}" font-size="10" text-anchor="middle">{}</text>"##,
            top + AXIS - 4.0,
            top + 12.0,
            seconds_label(t)
        );
    }
}

/// `12s`, `1.5s`, `250ms`, `40µs`: short tick labels.
fn seconds_label(ns: u64) -> String {
    let (unit, scale) = match ns {
        0 | 1_000_000_000.. => ("s", 1e9),
        1_000_000.. => ("ms", 1e6),
        1_000.. => ("µs", 1e3),
        _ => ("ns", 1.0),
    };
    format!("{}{unit}", (ns as f64 / scale * 1000.0).round() / 1000.0)
}

fn op_title(inv: &Invocation) -> String {
    let latency = inv.completed_at().map_or("no completion".to_string(), |t| {
        format!("{:.1} ms", (t - inv.call()) as f64 / 1e6)
    });
    let result = inv
        .completion
        .map_or(String::new(), |c| format!(" → {}", c.value));
    let error = inv
        .completion
        .and_then(|c| c.error.as_deref())
        .map_or(String::new(), |e| format!(" ({e})"));
    esc(&format!(
        "{} {} {} {} {}{result} {}{error}, {latency}, at {}",
        process_label(inv.invoke.process),
        inv.node().unwrap_or("-"),
        inv.f(),
        inv.key().unwrap_or(""),
        inv.invoke.value,
        outcome_label(inv.outcome()),
        seconds(inv.call()),
    ))
}

/// One lane per process, then (when ops name nodes) one lane per node; ops as bars from
/// invocation to completion, coloured by outcome; faults as bands behind them. The op whose
/// invocation is `marked` is outlined.
pub(super) fn timeline(
    invocations: &[Invocation],
    bands: &[Band],
    frame: Frame,
    marked: Option<&Op>,
) -> String {
    let processes: BTreeSet<Process> = invocations.iter().map(|i| i.invoke.process).collect();
    let nodes: BTreeSet<&str> = invocations.iter().filter_map(|i| i.node()).collect();
    let mut lanes: Vec<String> = processes.iter().map(|p| process_label(*p)).collect();
    let node_lane0 = lanes.len() + usize::from(!nodes.is_empty());
    if !nodes.is_empty() {
        lanes.push(String::new());
        lanes.extend(nodes.iter().map(|n| format!("node {n}")));
    }
    let height = AXIS + LANE * lanes.len() as f64 + 4.0;
    let mut out = svg_open(height);
    bands_svg(&mut out, bands, frame, AXIS, height - AXIS);
    time_axis(&mut out, frame, 0.0, height);
    for (i, label) in lanes.iter().enumerate() {
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}" font-size="10" text-anchor="end">{}</text>"#,
            LEFT - 4.0,
            AXIS + LANE * i as f64 + 10.0,
            esc(label)
        );
    }
    let process_lane: BTreeMap<Process, usize> =
        processes.iter().enumerate().map(|(i, p)| (*p, i)).collect();
    let node_lane: BTreeMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (*n, node_lane0 + i))
        .collect();
    for inv in invocations {
        let title = op_title(inv);
        let outline = match marked {
            Some(m) if std::ptr::eq(m, inv.invoke) => r##" stroke="#000" stroke-width="1.5""##,
            _ => "",
        };
        let mut bar = |lane: usize, opacity: f64| {
            let x1 = frame.x(inv.call());
            let x2 = frame.x(inv.completed_at().unwrap_or(frame.t1));
            let _ = write!(
                out,
                r#"<rect x="{x1:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{}" fill-opacity="{opacity}"{outline}><title>{title}</title></rect>"#,
                AXIS + LANE * lane as f64 + 2.0,
                (x2 - x1).max(1.0),
                LANE - 4.0,
                outcome_colour(inv.outcome()),
            );
        };
        bar(process_lane[&inv.invoke.process], 1.0);
        if let Some(lane) = inv.node().and_then(|n| node_lane.get(n)) {
            bar(*lane, 0.5);
        }
    }
    out.push_str("</svg>");
    out
}

/// Latency (log scale) of each completed op against its invocation time.
pub(super) fn latency(invocations: &[Invocation], bands: &[Band], frame: Frame) -> String {
    let points: Vec<(u64, u64, OpType)> = invocations
        .iter()
        .filter_map(|i| {
            i.completed_at()
                .map(|t| (i.call(), (t - i.call()).max(1), i.outcome()))
        })
        .collect();
    let floor: u64 = 100_000; // 0.1 ms
    let top_latency = points
        .iter()
        .map(|p| p.1)
        .max()
        .unwrap_or(floor)
        .max(floor * 10);
    let decades = (top_latency as f64 / floor as f64).log10().ceil().max(1.0);
    let plot = LATENCY_HEIGHT - AXIS - 6.0;
    let y = |ns: u64| {
        let d = (ns.max(floor) as f64 / floor as f64).log10() / decades;
        AXIS + plot * (1.0 - d)
    };
    let mut out = svg_open(LATENCY_HEIGHT);
    bands_svg(&mut out, bands, frame, AXIS, plot);
    time_axis(&mut out, frame, 0.0, LATENCY_HEIGHT - 6.0);
    for d in 0..=decades as u32 {
        let ns = floor * 10u64.pow(d);
        let _ = write!(
            out,
            r##"<line x1="{LEFT}" y1="{0:.1}" x2="{1}" y2="{0:.1}" stroke="#eee"/><text x="{2}" y="{3:.1}" font-size="10" text-anchor="end">{4}</text>"##,
            y(ns),
            WIDTH - RIGHT,
            LEFT - 4.0,
            y(ns) + 3.0,
            seconds_label(ns)
        );
    }
    for (at, ns, kind) in points {
        let _ = write!(
            out,
            r#"<circle cx="{:.1}" cy="{:.1}" r="1.8" fill="{}"/>"#,
            frame.x(at),
            y(ns),
            outcome_colour(kind)
        );
    }
    out.push_str("</svg>");
    out
}

fn svg_open(height: f64) -> String {
    format!(
        r#"<svg viewBox="0 0 {WIDTH} {height:.0}" width="100%" font-family="sans-serif" role="img">"#
    )
}

/// The legend of outcome colours and fault colours, as HTML.
pub(super) fn legend(bands: &[Band]) -> String {
    let mut out = String::from(r#"<p class="legend">"#);
    for (kind, label) in [
        (OpType::Ok, "ok"),
        (OpType::Fail, "fail"),
        (OpType::Info, "info (unknown)"),
    ] {
        let _ = write!(
            out,
            r#"<span style="background:{}">&nbsp;&nbsp;</span> {label} "#,
            outcome_colour(kind)
        );
    }
    let faults: BTreeSet<&str> = bands.iter().map(|b| b.f.as_str()).collect();
    for f in faults {
        let _ = write!(
            out,
            r#"<span style="background:{};opacity:.4">&nbsp;&nbsp;</span> {} "#,
            fault_colour(f),
            esc(f)
        );
    }
    out.push_str("</p>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::testing::Hist;

    #[test]
    fn faults_pair_starts_with_ends_and_open_ones_run_to_the_end() {
        let h = Hist::new()
            .nemesis("kill", "start")
            .nemesis("partition", "start")
            .nemesis("kill", "end")
            .nemesis("membership", "moment")
            .build();
        let bands = fault_bands(&h, 100);
        let spans: Vec<(&str, u64, u64)> =
            bands.iter().map(|b| (b.f.as_str(), b.from, b.to)).collect();
        assert_eq!(
            spans,
            vec![
                ("kill", 10, 30),
                ("partition", 20, 100),
                ("membership", 40, 40)
            ]
        );
    }

    #[test]
    fn ticks_are_round_and_inside_the_frame() {
        assert_eq!(Frame::new(0, 10_000_000_000).ticks().len(), 11);
        let ticks = Frame::new(5, 95).ticks();
        assert_eq!(ticks, vec![10, 20, 30, 40, 50, 60, 70, 80, 90]);
        assert_eq!(seconds_label(2_500_000_000), "2.5s");
        assert_eq!(seconds_label(250_000_000), "250ms");
        assert_eq!(seconds_label(100_000), "100µs");
        assert_eq!(seconds_label(20), "20ns");
        assert_eq!(seconds_label(0), "0s");
    }
}
