//! The engine against real local servers: HTTP, HTTPS, TCP, timeouts, 1xx, removal, cancel.

use super::schedule::first_delay;
use super::*;
use crate::state::app::HealthCheck;
use crate::state::ids::InstanceId;
use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

fn key(n: u32) -> TargetKey {
    TargetKey {
        instance: InstanceId(format!("app.instance-{n}").into()),
        check_index: 0,
    }
}

fn check(json: &str) -> Arc<HealthCheck> {
    let mut check: HealthCheck = serde_json::from_str(json).expect("a valid health check");
    check.delay_seconds = 0;
    Arc::new(check)
}

fn http(path: &str, interval: u64, timeout: u64) -> Arc<HealthCheck> {
    check(&format!(
        r#"{{"protocol":"HTTP","path":"{path}","intervalSeconds":{interval},"timeoutSeconds":{timeout}}}"#
    ))
}

fn target(n: u32, check: Arc<HealthCheck>, port: u16) -> Target {
    Target {
        key: key(n),
        check,
        host: "127.0.0.1".into(),
        port,
    }
}

fn start() -> (EngineHandle, mpsc::Receiver<Probe>, CancellationToken) {
    start_with(EngineConfig::default(), 1024)
}

fn start_with(
    config: EngineConfig,
    capacity: usize,
) -> (EngineHandle, mpsc::Receiver<Probe>, CancellationToken) {
    let (out, probes) = mpsc::channel(capacity);
    let cancel = CancellationToken::new();
    let handle = Engine::start(config, out, cancel.clone());
    (handle, probes, cancel)
}

/// The next probe of `key`, skipping others; panics after `within`.
async fn next_probe(
    probes: &mut mpsc::Receiver<Probe>,
    key: &TargetKey,
    within: Duration,
) -> Probe {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let probe = tokio::time::timeout_at(deadline, probes.recv())
            .await
            .unwrap_or_else(|_| panic!("no probe of {key:?} within {within:?}"))
            .expect("the engine stopped");
        if &probe.key == key {
            return probe;
        }
    }
}

fn unhealthy_cause(probe: &Probe) -> &str {
    match &probe.outcome {
        Outcome::Unhealthy(cause) => cause,
        other => panic!("expected unhealthy, got {other:?}"),
    }
}

/// A local HTTP(S) server: `/status/<code>` answers that code, `/hang` never answers,
/// anything else 200.
struct Server {
    addr: SocketAddr,
    requests: Arc<AtomicU64>,
    connections: Arc<AtomicU64>,
    /// The instant each `/hang` request arrived.
    hangs: mpsc::UnboundedReceiver<Instant>,
}

async fn serve(tls: bool) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let requests = Arc::new(AtomicU64::new(0));
    let connections = Arc::new(AtomicU64::new(0));
    let (hang_tx, hangs) = mpsc::unbounded_channel();
    let acceptor = tls.then(crate::health::tls::test_server::acceptor);
    let (req_count, conn_count) = (requests.clone(), connections.clone());
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            conn_count.fetch_add(1, Ordering::Relaxed);
            let (requests, hang_tx, acceptor) =
                (req_count.clone(), hang_tx.clone(), acceptor.clone());
            tokio::spawn(async move {
                match acceptor {
                    Some(acceptor) => {
                        if let Ok(stream) = acceptor.accept(stream).await {
                            serve_connection(stream, requests, hang_tx).await;
                        }
                    }
                    None => serve_connection(stream, requests, hang_tx).await,
                }
            });
        }
    });
    Server {
        addr,
        requests,
        connections,
        hangs,
    }
}

async fn serve_connection<I>(io: I, requests: Arc<AtomicU64>, hangs: mpsc::UnboundedSender<Instant>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |request: Request<hyper::body::Incoming>| {
        requests.fetch_add(1, Ordering::Relaxed);
        let hangs = hangs.clone();
        async move {
            let path = request.uri().path();
            if path == "/hang" {
                let _ = hangs.send(Instant::now());
                std::future::pending::<()>().await;
            }
            let code = path
                .strip_prefix("/status/")
                .and_then(|c| c.parse().ok())
                .unwrap_or(200);
            let mut response = Response::new(Full::new(Bytes::from_static(b"ok")));
            *response.status_mut() = StatusCode::from_u16(code).unwrap();
            Ok::<_, Infallible>(response)
        }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(io), service)
        .await;
}

#[tokio::test]
async fn http_status_200_to_399_passes_and_anything_else_fails() {
    let server = serve(false).await;
    let port = server.addr.port();
    let (handle, mut probes, _cancel) = start();
    for (n, code) in [(1, 200), (2, 500), (3, 302), (4, 404)] {
        handle.upsert(target(n, http(&format!("/status/{code}"), 1, 2), port));
    }
    let within = Duration::from_secs(5);
    assert_eq!(
        next_probe(&mut probes, &key(1), within).await.outcome,
        Outcome::Healthy
    );
    let failed = next_probe(&mut probes, &key(2), within).await;
    assert!(unhealthy_cause(&failed).contains("500"), "{failed:?}");
    assert_eq!(
        next_probe(&mut probes, &key(3), within).await.outcome,
        Outcome::Healthy
    );
    let missing = next_probe(&mut probes, &key(4), within).await;
    assert!(unhealthy_cause(&missing).contains("404"), "{missing:?}");
    let stats = handle.stats();
    assert_eq!(stats.targets, 4);
    assert!(
        stats.checks_done >= 4 && stats.healthy >= 2 && stats.unhealthy >= 2,
        "{stats:?}"
    );
}

#[tokio::test]
async fn probes_of_one_host_reuse_a_pooled_connection_on_schedule() {
    let server = serve(false).await;
    let (handle, mut probes, _cancel) = start();
    handle.upsert(target(1, http("/ready", 1, 1), server.addr.port()));
    let mut finished = Vec::new();
    for _ in 0..3 {
        let probe = next_probe(&mut probes, &key(1), Duration::from_secs(3)).await;
        assert_eq!(probe.outcome, Outcome::Healthy);
        finished.push(probe.at);
    }
    assert_eq!(server.requests.load(Ordering::Relaxed), 3);
    assert_eq!(server.connections.load(Ordering::Relaxed), 1, "keep-alive");
    // One interval apart (the engine's tick and the scheduler's slack aside).
    for pair in finished.windows(2) {
        let gap = pair[1].duration_since(pair[0]).unwrap();
        assert!(
            gap > Duration::from_millis(500) && gap < Duration::from_millis(1500),
            "{gap:?}"
        );
    }
}

#[tokio::test]
async fn https_checks_accept_a_self_signed_certificate() {
    let server = serve(true).await;
    let plain = serve(false).await;
    let (handle, mut probes, _cancel) = start();
    let https = |path: &str| {
        check(&format!(
            r#"{{"protocol":"HTTPS","path":"{path}","intervalSeconds":1,"timeoutSeconds":2}}"#
        ))
    };
    handle.upsert(target(1, https("/status/204"), server.addr.port()));
    handle.upsert(target(2, https("/status/503"), server.addr.port()));
    handle.upsert(target(3, https("/"), plain.addr.port()));
    let within = Duration::from_secs(5);
    assert_eq!(
        next_probe(&mut probes, &key(1), within).await.outcome,
        Outcome::Healthy
    );
    let failed = next_probe(&mut probes, &key(2), within).await;
    assert!(unhealthy_cause(&failed).contains("503"), "{failed:?}");
    // TLS against a plain HTTP server fails the handshake.
    let no_tls = next_probe(&mut probes, &key(3), within).await;
    unhealthy_cause(&no_tls);
}

#[tokio::test]
async fn tcp_passes_when_the_port_accepts_and_fails_when_it_is_closed() {
    let open = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let open_port = open.local_addr().unwrap().port();
    let closed_port = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port()
    };
    let tcp = check(r#"{"protocol":"TCP","intervalSeconds":1,"timeoutSeconds":1}"#);
    let (handle, mut probes, _cancel) = start();
    handle.upsert(target(1, tcp.clone(), open_port));
    handle.upsert(target(2, tcp, closed_port));
    let within = Duration::from_secs(4);
    assert_eq!(
        next_probe(&mut probes, &key(1), within).await.outcome,
        Outcome::Healthy
    );
    let refused = next_probe(&mut probes, &key(2), within).await;
    assert!(
        unhealthy_cause(&refused).contains("TCP connection"),
        "{refused:?}"
    );
    drop(open);
}

#[tokio::test]
async fn a_probe_that_gets_no_answer_fails_at_its_timeout() {
    let mut server = serve(false).await;
    let (handle, mut probes, _cancel) = start();
    handle.upsert(target(1, http("/hang", 3, 1), server.addr.port()));
    let asked = tokio::time::timeout(Duration::from_secs(5), server.hangs.recv())
        .await
        .expect("the probe reached the server")
        .unwrap();
    let probe = next_probe(&mut probes, &key(1), Duration::from_secs(3)).await;
    let waited = asked.elapsed();
    assert!(unhealthy_cause(&probe).contains("timeout"), "{probe:?}");
    assert!(
        waited > Duration::from_millis(800) && waited < Duration::from_millis(2000),
        "failed {waited:?} after the request, timeout 1 s"
    );
}

/// A server that answers every connection with a 1xx and then nothing.
async fn informational_only() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let _ = stream.read(&mut buf).await;
                let _ = stream.write_all(b"HTTP/1.1 102 Processing\r\n\r\n").await;
                std::future::pending::<()>().await;
                drop(stream);
            });
        }
    });
    addr
}

#[tokio::test]
async fn a_1xx_answer_is_reported_apart_only_when_the_check_ignores_it() {
    let port = informational_only().await.port();
    let with = |ignore: bool| {
        check(&format!(
            r#"{{"protocol":"HTTP","path":"/","intervalSeconds":2,"timeoutSeconds":1,"ignoreHttp1xx":{ignore}}}"#
        ))
    };
    let (handle, mut probes, _cancel) = start();
    handle.upsert(target(1, with(true), port));
    handle.upsert(target(2, with(false), port));
    let within = Duration::from_secs(5);
    assert_eq!(
        next_probe(&mut probes, &key(1), within).await.outcome,
        Outcome::Ignored1xx
    );
    unhealthy_cause(&next_probe(&mut probes, &key(2), within).await);
    assert!(handle.stats().ignored_1xx >= 1);
}

#[tokio::test]
async fn remove_stops_the_checks_of_a_target() {
    let server = serve(false).await;
    let (handle, mut probes, _cancel) = start();
    handle.upsert(target(1, http("/a", 1, 1), server.addr.port()));
    handle.upsert(target(2, http("/b", 1, 1), server.addr.port()));
    next_probe(&mut probes, &key(1), Duration::from_secs(3)).await;
    handle.remove(key(1));
    // Target 2 keeps going for three more rounds; target 1 never shows again.
    for _ in 0..3 {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
        loop {
            let probe = tokio::time::timeout_at(deadline, probes.recv())
                .await
                .unwrap()
                .unwrap();
            assert_ne!(probe.key, key(1), "probed after its removal");
            if probe.key == key(2) {
                break;
            }
        }
    }
    assert_eq!(handle.stats().targets, 1);
}

#[tokio::test]
async fn cancelling_the_token_stops_every_check() {
    let server = serve(false).await;
    let (handle, mut probes, cancel) = start();
    for n in 0..10 {
        handle.upsert(target(n, http("/", 1, 1), server.addr.port()));
    }
    next_probe(&mut probes, &key(0), Duration::from_secs(3)).await;
    cancel.cancel();
    // The engine drops its sender: the stream of probes ends.
    let end = tokio::time::timeout(Duration::from_secs(2), async {
        while probes.recv().await.is_some() {}
    })
    .await;
    assert!(end.is_ok(), "probes still coming after cancel");
    assert!(handle.is_stopped());
    let requests = server.requests.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        server.requests.load(Ordering::Relaxed),
        requests,
        "probed after cancel"
    );
}

#[tokio::test]
async fn agent_run_checks_are_not_scheduled() {
    let server = serve(false).await;
    let (handle, mut probes, _cancel) = start();
    let command = check(r#"{"protocol":"COMMAND","command":{"value":"true"},"intervalSeconds":1}"#);
    handle.upsert(target(1, command, server.addr.port()));
    handle.upsert(target(2, http("/", 1, 1), server.addr.port()));
    next_probe(&mut probes, &key(2), Duration::from_secs(3)).await;
    assert_eq!(handle.stats().targets, 1);
}

#[tokio::test]
async fn an_unchanged_upsert_keeps_the_schedule_and_a_changed_one_takes_effect() {
    let server = serve(false).await;
    let (handle, mut probes, _cancel) = start();
    let ok = http("/status/200", 1, 1);
    handle.upsert(target(1, ok.clone(), server.addr.port()));
    next_probe(&mut probes, &key(1), Duration::from_secs(3)).await;
    handle.upsert(target(1, ok, server.addr.port()));
    assert_eq!(
        next_probe(&mut probes, &key(1), Duration::from_secs(3))
            .await
            .outcome,
        Outcome::Healthy
    );
    handle.upsert(target(1, http("/status/500", 1, 1), server.addr.port()));
    // At most one probe of the old check was already running.
    let mut outcome = next_probe(&mut probes, &key(1), Duration::from_secs(3))
        .await
        .outcome;
    if outcome == Outcome::Healthy {
        outcome = next_probe(&mut probes, &key(1), Duration::from_secs(3))
            .await
            .outcome;
    }
    assert!(matches!(outcome, Outcome::Unhealthy(_)), "{outcome:?}");
    assert_eq!(handle.stats().targets, 1);
}

#[tokio::test]
async fn the_budget_bounds_the_probes_in_flight() {
    let mut server = serve(false).await;
    let config = EngineConfig {
        max_in_flight: 2,
        ..EngineConfig::default()
    };
    let (handle, _probes, _cancel) = start_with(config, 1024);
    for n in 0..6 {
        handle.upsert(target(n, http("/hang", 1, 3), server.addr.port()));
    }
    // Two probes reach the server; the other four wait for a place.
    for _ in 0..2 {
        tokio::time::timeout(Duration::from_secs(3), server.hangs.recv())
            .await
            .expect("a probe within one interval");
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        server.hangs.try_recv().is_err(),
        "a third probe ran beside two hanging ones"
    );
    let stats = handle.stats();
    assert_eq!(stats.in_flight, 2, "{stats:?}");
    assert!(
        stats.skipped_overlap > 0,
        "rounds of waiting targets are skipped: {stats:?}"
    );
}

#[tokio::test]
async fn a_slow_reader_holds_probes_back_and_loses_none() {
    let server = serve(false).await;
    let config = EngineConfig {
        max_in_flight: 4,
        ..EngineConfig::default()
    };
    let (handle, mut probes, _cancel) = start_with(config, 1);
    for n in 0..20 {
        handle.upsert(target(n, http("/", 1, 1), server.addr.port()));
    }
    tokio::time::sleep(Duration::from_millis(2500)).await;
    // One probe in the channel, four in the backlog, four running at most: then it waits.
    let held = handle.stats();
    assert!(held.checks_done <= 9, "ran ahead of its reader: {held:?}");
    assert!(held.skipped_overlap > 0, "{held:?}");
    let mut seen = std::collections::BTreeSet::new();
    while seen.len() < 20 {
        let probe = tokio::time::timeout(Duration::from_secs(5), probes.recv())
            .await
            .expect("probes resume once read")
            .unwrap();
        assert_eq!(probe.outcome, Outcome::Healthy);
        seen.insert(probe.key);
    }
}

#[tokio::test]
async fn endless_delays_and_intervals_are_scheduled_without_overflow() {
    let server = serve(false).await;
    let (handle, mut probes, _cancel) = start();
    let mut endless = (*http("/", 1, 1)).clone();
    endless.delay_seconds = u64::MAX;
    endless.interval_seconds = u64::MAX;
    endless.timeout_seconds = u64::MAX;
    handle.upsert(target(1, Arc::new(endless), server.addr.port()));
    handle.upsert(target(2, http("/", 1, 1), server.addr.port()));
    next_probe(&mut probes, &key(2), Duration::from_secs(3)).await;
    next_probe(&mut probes, &key(2), Duration::from_secs(3)).await;
    assert_eq!(handle.stats().targets, 2);
    assert!(!handle.is_stopped());
}

#[test]
fn first_checks_spread_over_one_interval_after_the_delay() {
    let mut check = (*http("/", 10, 2)).clone();
    check.delay_seconds = 15;
    let mut per_second = [0u32; 10];
    for n in 0..10_000 {
        let delay = first_delay(&key(n), &check);
        assert_eq!(delay, first_delay(&key(n), &check), "deterministic");
        assert!(delay >= Duration::from_secs(15) && delay < Duration::from_secs(25));
        per_second[(delay.as_secs() - 15) as usize] += 1;
    }
    for count in per_second {
        assert!((800..1200).contains(&count), "uneven spread {per_second:?}");
    }
}
