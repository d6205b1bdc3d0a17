//! `/metrics` (Marathon's Dropwizard JSON: `version`, `counters`, `gauges`, `histograms`,
//! `meters`, `timers`) and `/metrics/prometheus` (text format 0.0.4): the same metrics, served
//! by every node about itself. Counters come from [`crate::metrics`]; gauges are read from this
//! node's state and Raft when asked, so nothing is kept up to date between scrapes.

use super::Rest;
use crate::api::Api;
use crate::metrics::{BUCKETS, HistogramSnapshot, METRICS};
use crate::state::model::Condition;
use axum::Json;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use std::fmt::Write as _;
use std::sync::OnceLock;
use std::time::Instant;

/// When this node's REST front started, for the uptime gauge.
static STARTED: OnceLock<Instant> = OnceLock::new();

/// Starts the uptime clock (the first call wins).
pub fn started() {
    STARTED.get_or_init(Instant::now);
}

/// Counts every answered request and its latency.
pub async fn track(request: Request, next: Next) -> Response {
    let start = Instant::now();
    let response = next.run(request).await;
    METRICS.http_answered(response.status().as_u16(), start.elapsed());
    response
}

/// One metric's reading.
#[derive(Clone, Debug, PartialEq)]
enum Reading {
    Counter(u64),
    Gauge(f64),
    Timer(HistogramSnapshot),
}

/// A metric under its Marathon-style dotted name (`marathon.apps.active.gauge`).
#[derive(Clone, Debug, PartialEq)]
struct Metric {
    name: String,
    help: &'static str,
    reading: Reading,
}

/// The instance conditions an instance can have while it is in the state (terminal ones are
/// expunged at once).
const LIVE_CONDITIONS: [(Condition, &str); 7] = [
    (Condition::Provisioned, "provisioned"),
    (Condition::Staging, "staging"),
    (Condition::Starting, "starting"),
    (Condition::Running, "running"),
    (Condition::Killing, "killing"),
    (Condition::Unreachable, "unreachable"),
    (Condition::UnreachableInactive, "unreachable-inactive"),
];

fn collect(api: &Api) -> Vec<Metric> {
    let mut out = Vec::new();
    let mut push = |name: &str, help: &'static str, reading: Reading| {
        out.push(Metric {
            name: name.to_string(),
            help,
            reading,
        })
    };
    let view = api.local_view();
    let state = &view.state;
    push(
        "marathon.apps.active.gauge",
        "Apps defined.",
        Reading::Gauge(state.app_count() as f64),
    );
    push(
        "marathon.groups.active.gauge",
        "Groups defined.",
        Reading::Gauge(state.groups().count() as f64),
    );
    push(
        "marathon.deployments.active.gauge",
        "Deployments in progress.",
        Reading::Gauge(state.deployments().count() as f64),
    );
    let mut by_condition = [0u64; LIVE_CONDITIONS.len()];
    for instance in state.instances() {
        let condition = instance.condition();
        if let Some(i) = LIVE_CONDITIONS.iter().position(|(c, _)| *c == condition) {
            by_condition[i] += 1;
        }
    }
    for ((_, name), count) in LIVE_CONDITIONS.iter().zip(by_condition) {
        push(
            &format!("marathon.instances.{name}.gauge"),
            "Instances by condition.",
            Reading::Gauge(count as f64),
        );
    }
    let queued: u64 = api.queue().iter().map(|e| u64::from(e.count)).sum();
    push(
        "marathon.instances.launch-queue.gauge",
        "Instances waiting to launch (on the leader).",
        Reading::Gauge(queued as f64),
    );
    let raft = api.raft().metrics().borrow().clone();
    let leadership = api.leadership();
    let raft_gauges = [
        (
            "baton.raft.term.gauge",
            "Raft term.",
            raft.current_term as f64,
        ),
        (
            "baton.raft.leader.gauge",
            "Node id of the Raft leader (0: none known).",
            raft.current_leader.unwrap_or(0) as f64,
        ),
        (
            "baton.raft.is-leader.gauge",
            "1 while this node acts as leader.",
            f64::from(u8::from(leadership.is_leader())),
        ),
        (
            "baton.raft.applied-index.gauge",
            "Log index this node's state machine applied.",
            view.applied.map_or(0, |l| l.index) as f64,
        ),
        (
            "baton.raft.log-index.gauge",
            "Last log index this node holds.",
            raft.last_log_index.unwrap_or(0) as f64,
        ),
    ];
    for (name, help, value) in raft_gauges {
        push(name, help, Reading::Gauge(value));
    }
    push(
        "marathon.uptime.gauge.seconds",
        "Seconds since this node started serving.",
        Reading::Gauge(STARTED.get().map_or(0.0, |s| s.elapsed().as_secs_f64())),
    );
    let counters = [
        (
            "marathon.http.requests.counter",
            "HTTP requests answered.",
            &METRICS.http_requests,
        ),
        (
            "marathon.http.responses.2xx.counter",
            "HTTP 2xx answers.",
            &METRICS.http_2xx,
        ),
        (
            "marathon.http.responses.3xx.counter",
            "HTTP 3xx answers.",
            &METRICS.http_3xx,
        ),
        (
            "marathon.http.responses.4xx.counter",
            "HTTP 4xx answers.",
            &METRICS.http_4xx,
        ),
        (
            "marathon.http.responses.5xx.counter",
            "HTTP 5xx answers.",
            &METRICS.http_5xx,
        ),
        (
            "baton.raft.writes.committed.counter",
            "Writes proposed here that committed.",
            &METRICS.writes_committed,
        ),
        (
            "baton.raft.writes.rejected.counter",
            "Committed writes the state machine refused.",
            &METRICS.writes_rejected,
        ),
        (
            "baton.raft.writes.ambiguous.counter",
            "Writes whose outcome is unknown (timed out).",
            &METRICS.writes_ambiguous,
        ),
        (
            "marathon.mesos.offers.incoming.counter",
            "Mesos offers received.",
            &METRICS.offers_processed,
        ),
        (
            "marathon.mesos.offers.used.counter",
            "Mesos offers something was launched on.",
            &METRICS.offers_used,
        ),
        (
            "marathon.mesos.offers.declined.counter",
            "Mesos offers declined.",
            &METRICS.offers_declined,
        ),
        (
            "marathon.tasks.launched.counter",
            "Tasks launched.",
            &METRICS.launches,
        ),
        (
            "marathon.tasks.kills.counter",
            "Task kills sent to Mesos.",
            &METRICS.kills,
        ),
        (
            "marathon.mesos.task-updates.counter",
            "Task status updates received from Mesos.",
            &METRICS.status_updates,
        ),
    ];
    for (name, help, counter) in counters {
        push(name, help, Reading::Counter(counter.get()));
    }
    push(
        "marathon.http.requests.duration.timer.seconds",
        "HTTP request latency.",
        Reading::Timer(METRICS.http_duration.snapshot()),
    );
    out
}

/// Dropwizard's JSON shape, as Marathon serves it.
fn to_json(metrics: &[Metric]) -> Value {
    let (mut counters, mut gauges, mut timers) = (Map::new(), Map::new(), Map::new());
    for m in metrics {
        match &m.reading {
            Reading::Counter(n) => {
                counters.insert(m.name.clone(), json!({ "count": n }));
            }
            Reading::Gauge(v) => {
                gauges.insert(m.name.clone(), json!({ "value": v }));
            }
            Reading::Timer(h) => {
                timers.insert(
                    m.name.clone(),
                    json!({
                        "count": h.count,
                        "max": h.max_seconds,
                        "mean": h.mean(),
                        "p50": h.quantile(0.5),
                        "p75": h.quantile(0.75),
                        "p95": h.quantile(0.95),
                        "p98": h.quantile(0.98),
                        "p99": h.quantile(0.99),
                        "p999": h.quantile(0.999),
                        "duration_units": "seconds",
                        "rate_units": "calls/second",
                    }),
                );
            }
        }
    }
    json!({
        "version": "4.0.0",
        "counters": counters,
        "gauges": gauges,
        "histograms": {},
        "meters": {},
        "timers": timers,
    })
}

/// A Prometheus metric name: the dotted name with every other character as `_`.
fn prometheus_name(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// A sample value as Prometheus writes it.
fn number(v: f64) -> String {
    if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{v}")
    }
}

/// Prometheus' text exposition format 0.0.4.
fn to_prometheus(metrics: &[Metric]) -> String {
    let mut out = String::new();
    for m in metrics {
        let name = prometheus_name(&m.name);
        let kind = match m.reading {
            Reading::Counter(_) => "counter",
            Reading::Gauge(_) => "gauge",
            Reading::Timer(_) => "histogram",
        };
        let _ = writeln!(out, "# HELP {name} {}", m.help);
        let _ = writeln!(out, "# TYPE {name} {kind}");
        match &m.reading {
            Reading::Counter(n) => {
                let _ = writeln!(out, "{name} {n}");
            }
            Reading::Gauge(v) => {
                let _ = writeln!(out, "{name} {}", number(*v));
            }
            Reading::Timer(h) => {
                let mut cumulative = 0;
                for (bound, n) in BUCKETS.iter().zip(&h.buckets) {
                    cumulative += n;
                    let _ = writeln!(
                        out,
                        "{name}_bucket{{le=\"{}\"}} {cumulative}",
                        number(*bound)
                    );
                }
                let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", h.count);
                let _ = writeln!(out, "{name}_sum {}", number(h.sum_seconds));
                let _ = writeln!(out, "{name}_count {}", h.count);
            }
        }
    }
    out
}

pub async fn json(State(rest): State<Rest>) -> Json<Value> {
    Json(to_json(&collect(&rest.api)))
}

pub async fn prometheus(State(rest): State<Rest>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        to_prometheus(&collect(&rest.api)),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Metric> {
        let h = crate::metrics::Histogram::new();
        h.record(std::time::Duration::from_millis(3));
        h.record(std::time::Duration::from_millis(30));
        vec![
            Metric {
                name: "marathon.apps.active.gauge".into(),
                help: "Apps defined.",
                reading: Reading::Gauge(2.0),
            },
            Metric {
                name: "marathon.tasks.launched.counter".into(),
                help: "Tasks launched.",
                reading: Reading::Counter(5),
            },
            Metric {
                name: "marathon.http.requests.duration.timer.seconds".into(),
                help: "HTTP request latency.",
                reading: Reading::Timer(h.snapshot()),
            },
        ]
    }

    #[test]
    fn the_json_has_dropwizards_sections() {
        let doc = to_json(&sample());
        assert_eq!(doc["version"], "4.0.0");
        assert_eq!(doc["gauges"]["marathon.apps.active.gauge"]["value"], 2.0);
        assert_eq!(
            doc["counters"]["marathon.tasks.launched.counter"]["count"],
            5
        );
        let timer = &doc["timers"]["marathon.http.requests.duration.timer.seconds"];
        assert_eq!(timer["count"], 2);
        assert_eq!(timer["p50"], 0.005);
        assert_eq!(timer["max"], 0.03);
        assert_eq!(doc["histograms"], json!({}));
        assert_eq!(doc["meters"], json!({}));
    }

    #[test]
    fn the_text_format_has_help_type_and_cumulative_buckets() {
        let text = to_prometheus(&sample());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            &lines[..6],
            [
                "# HELP marathon_apps_active_gauge Apps defined.",
                "# TYPE marathon_apps_active_gauge gauge",
                "marathon_apps_active_gauge 2",
                "# HELP marathon_tasks_launched_counter Tasks launched.",
                "# TYPE marathon_tasks_launched_counter counter",
                "marathon_tasks_launched_counter 5",
            ]
        );
        let t = "marathon_http_requests_duration_timer_seconds";
        assert!(lines.contains(&format!("# TYPE {t} histogram").as_str()));
        assert!(lines.contains(&format!("{t}_bucket{{le=\"0.005\"}} 1").as_str()));
        assert!(lines.contains(&format!("{t}_bucket{{le=\"0.05\"}} 2").as_str()));
        assert!(lines.contains(&format!("{t}_bucket{{le=\"+Inf\"}} 2").as_str()));
        assert!(lines.contains(&format!("{t}_count 2").as_str()));
        assert!(lines.contains(&format!("{t}_sum 0.033").as_str()));
    }
}
