//! The run's report: `results.json` (every checker's result and the overall verdict) and
//! `report.html`, one self-contained page (no scripts, styles or fonts fetched) with the
//! verdicts, the faults, a timeline of ops per process and per node, latency over time, and for
//! each failed check the ops of its failing window.

mod plot;

use crate::checker::{CheckResult, Invocation, Validity, overall, pair, process_label, seconds};
use crate::history::{Op, OpType, Process};
use plot::{Band, Frame, fault_bands, fault_colour, latency, legend, outcome_label, timeline};
use serde_json::json;
use std::collections::BTreeSet;
use std::fmt::Write;
use std::path::Path;

/// At most this many ops are drawn (as Jepsen's timeline does): browsers choke beyond.
const MAX_DRAWN: usize = 10_000;
/// At most this many rows in a failing window's table.
const MAX_WINDOW_ROWS: usize = 300;
/// A checker's details are shown up to this size.
const MAX_DETAILS_CHARS: usize = 200_000;

/// Writes `dir/results.json` and `dir/report.html`.
pub fn write_report(dir: &Path, history: &[Op], results: &[CheckResult]) -> std::io::Result<()> {
    let summary = json!({ "valid": overall(results), "results": results });
    std::fs::write(
        dir.join("results.json"),
        serde_json::to_string_pretty(&summary)?,
    )?;
    std::fs::write(dir.join("report.html"), render(history, results))
}

/// The report page.
pub fn render(history: &[Op], results: &[CheckResult]) -> String {
    let invocations = pair(history);
    let t0 = history.iter().map(|op| op.time).min().unwrap_or(0);
    let t1 = history.iter().map(|op| op.time).max().unwrap_or(0);
    let bands = fault_bands(history, t1);
    let verdict = overall(results);
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>baton jepsen: {verdict:?}</title><style>{STYLE}</style></head><body>"
    );
    let _ = write!(
        out,
        r#"<h1>baton jepsen <span class="{verdict:?}">{verdict:?}</span></h1>"#
    );
    out.push_str(&facts(history, &invocations, &bands, t0, t1));
    out.push_str(&verdicts(results));
    out.push_str(&faults(history));

    let drawn = &invocations[..invocations.len().min(MAX_DRAWN)];
    let frame = Frame::new(t0, t1);
    out.push_str("<h2>Timeline</h2>");
    if drawn.len() < invocations.len() {
        let _ = write!(
            out,
            "<p>Only the first {} of {} ops are drawn.</p>",
            drawn.len(),
            invocations.len()
        );
    }
    out.push_str(&legend(&bands));
    out.push_str(&timeline(drawn, &bands, frame, None));
    out.push_str("<h2>Latency</h2>");
    out.push_str(&latency(drawn, &bands, frame));

    out.push_str("<h2>Checks</h2>");
    for r in results {
        out.push_str(&check_section(r, history, &invocations, &bands));
    }
    out.push_str("</body></html>\n");
    out
}

const STYLE: &str = "body{font-family:sans-serif;margin:1.5em;color:#222}\
    table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 6px;\
    font-size:13px;text-align:left;vertical-align:top}th{background:#f4f4f4}\
    .Valid{color:#fff;background:#2a2;padding:0 6px}.Invalid{color:#fff;background:#c22;\
    padding:0 6px}.Unknown{color:#fff;background:#d80;padding:0 6px}\
    pre{background:#f8f8f8;padding:.5em;max-height:30em;overflow:auto;font-size:12px}\
    .legend span{display:inline-block;margin-left:.8em}code{font-size:12px}\
    tr.stuck td{background:#fdd;font-weight:bold}";

/// Escapes text for HTML (and SVG) content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn facts(history: &[Op], invocations: &[Invocation], bands: &[Band], t0: u64, t1: u64) -> String {
    let count = |kind: OpType| invocations.iter().filter(|i| i.outcome() == kind).count();
    let processes: BTreeSet<Process> = invocations.iter().map(|i| i.invoke.process).collect();
    let nodes: BTreeSet<&str> = history.iter().filter_map(|op| op.node.as_deref()).collect();
    format!(
        "<p>{} client ops ({} ok, {} failed, {} unknown) by {} processes{}; {} faults; {} of history.</p>",
        invocations.len(),
        count(OpType::Ok),
        count(OpType::Fail),
        count(OpType::Info),
        processes.len(),
        if nodes.is_empty() {
            String::new()
        } else {
            format!(
                " against nodes {}",
                esc(&nodes.into_iter().collect::<Vec<_>>().join(", "))
            )
        },
        bands.len(),
        seconds(t1 - t0)
    )
}

fn verdicts(results: &[CheckResult]) -> String {
    let mut out = String::from("<table><tr><th>check</th><th>verdict</th><th>summary</th></tr>");
    for r in results {
        let _ = write!(
            out,
            r##"<tr><td><a href="#check-{0}">{0}</a></td><td><span class="{1:?}">{1:?}</span></td><td>{2}</td></tr>"##,
            esc(&r.name),
            r.validity,
            esc(&r.summary)
        );
    }
    out.push_str("</table>");
    out
}

fn faults(history: &[Op]) -> String {
    let events: Vec<&Op> = history
        .iter()
        .filter(|op| op.process == Process::Nemesis)
        .collect();
    if events.is_empty() {
        return "<h2>Faults</h2><p>None.</p>".to_string();
    }
    let mut out =
        String::from("<h2>Faults</h2><table><tr><th>time</th><th>fault</th><th>details</th></tr>");
    for op in events {
        let _ = write!(
            out,
            r#"<tr><td>{}</td><td style="color:{}">{}</td><td><code>{}</code></td></tr>"#,
            seconds(op.time),
            fault_colour(&op.f),
            esc(&op.f),
            esc(&short(&op.value.to_string(), 300))
        );
    }
    out.push_str("</table>");
    out
}

/// `s` cut to about `max` characters.
fn short(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

fn check_section(
    r: &CheckResult,
    history: &[Op],
    invocations: &[Invocation],
    bands: &[Band],
) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<h3 id="check-{0}">{0} <span class="{1:?}">{1:?}</span></h3><p>{2}</p>"#,
        esc(&r.name),
        r.validity,
        esc(&r.summary)
    );
    if let (Validity::Invalid, Some((from, to))) = (r.validity, r.window) {
        // Absent: every op; null: ops without a key; a string: that key's ops.
        let key = r.details.get("window_key").map(|k| k.as_str());
        let stuck = stuck_op(r, invocations);
        out.push_str(&window(history, invocations, bands, key, stuck, (from, to)));
    }
    let details = serde_json::to_string_pretty(&r.details).unwrap_or_default();
    let _ = write!(
        out,
        "<details><summary>details</summary><pre>{}</pre></details>",
        esc(&short(&details, MAX_DETAILS_CHARS))
    );
    out
}

/// The op a check says it got stuck on (`details.keys[window_key].stuck`, as the register
/// checker reports), if it names one.
fn stuck_op<'a>(r: &CheckResult, invocations: &[Invocation<'a>]) -> Option<&'a Op> {
    let key = r.details.get("window_key")?.as_str()?;
    let stuck = r.details.get("keys")?.get(key)?.get("stuck")?;
    let call = stuck.get("call")?.as_u64()?;
    let process = stuck.get("process")?;
    invocations
        .iter()
        .find(|i| i.call() == call && json!(i.invoke.process) == *process)
        .map(|i| i.invoke)
}

/// The ops overlapping a failing window (of its key, when the check names one), drawn and
/// listed with the faults active around them; the op the check got stuck on stands out.
fn window(
    history: &[Op],
    invocations: &[Invocation],
    bands: &[Band],
    key: Option<Option<&str>>,
    stuck: Option<&Op>,
    (from, to): (u64, u64),
) -> String {
    let ops: Vec<Invocation> = invocations
        .iter()
        .filter(|i| key.is_none_or(|k| i.key() == k))
        .filter(|i| i.call() <= to && i.completed_at().is_none_or(|c| c >= from))
        .take(MAX_WINDOW_ROWS)
        .copied()
        .collect();
    let mut out = format!(
        "<p>Failing window {}–{}{}: {} ops.</p>",
        seconds(from),
        seconds(to),
        key.flatten().map_or(String::new(), |k| format!(
            " on key <code>{}</code>",
            esc(k)
        )),
        ops.len()
    );
    let margin = (to - from) / 10 + 1;
    out.push_str(&timeline(
        &ops,
        bands,
        Frame::new(from.saturating_sub(margin), to + margin),
        stuck,
    ));
    out.push_str(
        "<table><tr><th>invoked</th><th>completed</th><th>process</th><th>node</th>\
         <th>op</th><th>key</th><th>value</th><th>outcome</th><th>result</th><th>error</th></tr>",
    );
    for i in &ops {
        let c = i.completion;
        let class = match stuck {
            Some(s) if std::ptr::eq(s, i.invoke) => r#" class="stuck""#,
            _ => "",
        };
        let _ = write!(
            out,
            "<tr{class}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td><code>{}</code></td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
            seconds(i.call()),
            i.completed_at().map_or("never".to_string(), seconds),
            process_label(i.invoke.process),
            esc(i.node().unwrap_or("")),
            esc(i.f()),
            esc(i.key().unwrap_or("")),
            esc(&short(&i.invoke.value.to_string(), 200)),
            outcome_label(i.outcome()),
            esc(&c.map_or(String::new(), |c| short(&c.value.to_string(), 200))),
            esc(c.and_then(|c| c.error.as_deref()).unwrap_or("")),
        );
    }
    out.push_str("</table>");
    let nearby: Vec<&Op> = history
        .iter()
        .filter(|op| op.process == Process::Nemesis)
        .filter(|op| op.time <= to)
        .filter(|op| {
            bands
                .iter()
                .any(|b| b.from <= op.time && op.time <= b.to && b.to >= from)
        })
        .collect();
    if !nearby.is_empty() {
        out.push_str("<p>Faults active around the window:</p><ul>");
        for op in nearby {
            let _ = write!(
                out,
                "<li>{} {} <code>{}</code></li>",
                seconds(op.time),
                esc(&op.f),
                esc(&short(&op.value.to_string(), 200))
            );
        }
        out.push_str("</ul>");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::testing::Hist;
    use crate::checker::{availability, register, set};
    use serde_json::Value::Null;
    use std::time::Duration;

    fn run() -> (Vec<Op>, Vec<CheckResult>) {
        let h = Hist::new()
            .invoke(1, "write", Some("<k&>"), json!(1))
            .node("n1")
            .ok(1, Null)
            .nemesis("partition", "start")
            .invoke(1, "write", Some("<k&>"), json!(2))
            .node("n1")
            .ok(1, Null)
            .invoke(2, "read", Some("<k&>"), Null)
            .node("n2")
            .ok(2, json!(1))
            .nemesis("partition", "end")
            .invoke(3, "add", None, json!(7))
            .ok(3, Null)
            .invoke(3, "read", None, Null)
            .ok(3, json!([7]))
            .build();
        let results = vec![
            register(&h, Duration::from_secs(10)),
            set(&h),
            availability(&h),
        ];
        (h, results)
    }

    #[test]
    fn the_report_shows_verdicts_the_failing_window_and_stands_alone() {
        let (h, results) = run();
        assert_eq!(results[0].validity, Validity::Invalid);
        let dir = tempfile::tempdir().unwrap();
        write_report(dir.path(), &h, &results).unwrap();
        let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
        for needle in [
            "register-linearizable",
            "set-full",
            "availability",
            r#"<span class="Invalid">Invalid</span>"#,
            r#"<span class="Valid">Valid</span>"#,
            "NOT linearizable",
            "Failing window",
            "on key <code>&lt;k&amp;&gt;</code>",
            "node n2",
            "<svg",
            "partition",
        ] {
            assert!(html.contains(needle), "report lacks {needle}");
        }
        assert!(!html.contains("<k&>"), "text is escaped");
        for external in ["<script", "<link", "src=", "http://", "https://"] {
            assert!(
                !html.contains(external),
                "report fetches nothing: {external}"
            );
        }
        // The window lists the stale read (process 2 on n2) and the write it contradicts.
        let window = &html[html.find("Failing window").unwrap()..];
        let rows = &window[..window.find("</table>").unwrap()];
        assert!(
            rows.contains("<td>p2</td><td>n2</td><td>read</td>"),
            "{rows}"
        );
        assert!(
            rows.contains("<td>p1</td><td>n1</td><td>write</td>"),
            "{rows}"
        );
        assert_eq!(rows.matches(r#"<tr class="stuck">"#).count(), 1, "{rows}");
        let stuck_row = &rows[rows.find(r#"<tr class="stuck">"#).unwrap()..];
        let stuck_row = &stuck_row[..stuck_row.find("</tr>").unwrap()];
        assert!(stuck_row.contains("<td>read</td>"), "{stuck_row}");
        assert!(
            stuck_row.contains("<td>p2</td>"),
            "the stale read is the stuck op"
        );
        assert!(
            window.contains(r##"stroke="#000""##),
            "and is outlined in the window's timeline"
        );
        assert!(
            !rows.contains("<td>add</td>"),
            "other keys' ops are left out"
        );

        let results_json: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("results.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(results_json["valid"], "Invalid");
        assert_eq!(results_json["results"][0]["name"], "register-linearizable");
        assert_eq!(results_json["results"][0]["validity"], "Invalid");
        assert_eq!(results_json["results"][1]["validity"], "Valid");
    }

    #[test]
    fn a_set_window_lists_only_set_ops() {
        let h = Hist::new()
            .invoke(1, "add", None, json!(1))
            .ok(1, Null)
            .write(2, "x", 5)
            .invoke(1, "read", None, Null)
            .ok(1, json!([]))
            .build();
        let results = vec![set(&h)];
        assert_eq!(results[0].validity, Validity::Invalid);
        let html = render(&h, &results);
        let window = &html[html.find("Failing window").unwrap()..];
        let rows = &window[..window.find("</table>").unwrap()];
        assert!(rows.contains("<td>add</td>"), "{rows}");
        assert!(rows.contains("<td>read</td>"), "{rows}");
        assert!(!rows.contains("<td>write</td>"), "{rows}");
    }

    #[test]
    fn an_empty_run_still_renders() {
        let html = render(&[], &[]);
        assert!(html.contains(r#"<span class="Unknown">Unknown</span>"#));
        assert!(html.contains("0 client ops"));
    }

    #[test]
    fn long_text_is_cut_on_a_character_boundary() {
        assert_eq!(short("ééé", 2), "éé…");
        assert_eq!(short("ab", 5), "ab");
        assert_eq!(
            esc(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
