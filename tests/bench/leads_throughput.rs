//! Lead creation and reads through the HTTP API (auth, JSON, routing, use case, store) and
//! the same operations directly on the store, in one run, on one machine.
//!
//! The server runs in its own process (this binary re-executed with `BENCH_SERVE_DIR`), the
//! embedded server exactly as `fieldline serve` runs it (scheduler and rules included); this
//! process is the load generator. The store baseline then runs here on the same database
//! after the server has stopped, so the two never share the two cores.
//!
//! `cargo bench -p fieldline-tests --bench leads_throughput`
//! Env: BENCH_OPS (default 3000 per phase), BENCH_CONCURRENCY (default 8).

use fieldline_domain::lead::CreateContext;
use fieldline_domain::{Actor, Lead, LeadId, NewLead, Region};
use fieldline_tests::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `ops` calls of `op(i)` spread over `workers` tasks; returns operations per second.
async fn run<F, Fut>(ops: usize, workers: usize, op: F) -> f64
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let op = op.clone();
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= ops {
                    break;
                }
                op(i).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    ops as f64
        / start
            .elapsed()
            .as_secs_f64()
            .max(Duration::from_micros(1).as_secs_f64())
}

/// Server mode: serve the data directory on 127.0.0.1, print the address, stop when stdin
/// closes (the load generator exits or drops the pipe).
async fn serve(dir: &str) {
    let app = fieldline::build(test_config(std::path::Path::new(dir))).expect("server builds");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!("{}", listener.local_addr().unwrap());
    let stdin_closed = async {
        use tokio::io::AsyncReadExt;
        let mut sink = Vec::new();
        let _ = tokio::io::stdin().read_to_end(&mut sink).await;
    };
    app.serve(listener, stdin_closed).await.unwrap();
}

/// Starts the server process on `dir`; its address and the child (stdin open while it runs).
async fn spawn_server(dir: &std::path::Path) -> (String, tokio::process::Child) {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
        .env("BENCH_SERVE_DIR", dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("server process starts");
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    tokio::io::BufReader::new(stdout)
        .read_line(&mut line)
        .await
        .unwrap();
    (format!("http://{}", line.trim()), child)
}

#[tokio::main]
async fn main() {
    if let Ok(dir) = std::env::var("BENCH_SERVE_DIR") {
        return serve(&dir).await;
    }
    let ops = env_or("BENCH_OPS", 3000);
    let workers = env_or("BENCH_CONCURRENCY", 8);
    let dir = tempfile::tempdir().unwrap();
    // This process seeds the tenant and signs tokens with the same key as the server.
    let app = fieldline::build(test_config(dir.path())).unwrap();
    let f = fixture(app.state()).await;
    let token = Arc::new(app.state().tokens.issue(&f.east_rep, chrono::Utc::now()));
    let (server, mut child) = spawn_server(dir.path()).await;
    let base = Arc::new(server);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(workers)
        .build()
        .unwrap();

    // Warm up connections and caches.
    for n in 0..50 {
        let r = client
            .post(format!("{base}/v1/leads"))
            .bearer_auth(token.as_str())
            .json(&lead_body(n))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }

    let http_ids = Arc::new(std::sync::Mutex::new(Vec::with_capacity(ops)));
    let http_create = {
        let (client, base, token, ids) = (
            client.clone(),
            base.clone(),
            token.clone(),
            http_ids.clone(),
        );
        run(ops, workers, move |i| {
            let (client, base, token, ids) =
                (client.clone(), base.clone(), token.clone(), ids.clone());
            async move {
                let r = client
                    .post(format!("{base}/v1/leads"))
                    .bearer_auth(token.as_str())
                    .json(&lead_body(i as u32 + 100))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 201);
                let v: serde_json::Value = r.json().await.unwrap();
                ids.lock()
                    .unwrap()
                    .push(v["id"].as_str().unwrap().to_owned());
            }
        })
        .await
    };
    let ids = Arc::new(http_ids.lock().unwrap().clone());
    let http_read = {
        let (client, base, token, ids) = (client.clone(), base.clone(), token.clone(), ids.clone());
        run(ops, workers, move |i| {
            let (client, base, token, ids) =
                (client.clone(), base.clone(), token.clone(), ids.clone());
            async move {
                let id = &ids[(i * 7919) % ids.len()];
                let r = client
                    .get(format!("{base}/v1/leads/{id}"))
                    .bearer_auth(token.as_str())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
                r.bytes().await.unwrap();
            }
        })
        .await
    };

    // Stop the server (closing its stdin) before the store baseline runs.
    drop(child.stdin.take());
    child.wait().await.unwrap();

    // The same operations on the store: domain construction plus one transaction / one read.
    let state = app.state().clone();
    let actor = Arc::new(Actor {
        user: f.east_rep.id,
        tenant: f.acme.clone(),
        role: f.east_rep.role,
        team: f.east_rep.team,
    });
    let rep = Arc::new(f.east_rep.clone());
    let store_ids = Arc::new(std::sync::Mutex::new(Vec::with_capacity(ops)));
    let store_create = {
        let (state, actor, rep, ids) =
            (state.clone(), actor.clone(), rep.clone(), store_ids.clone());
        run(ops, workers, move |i| {
            let (state, actor, rep, ids) = (state.clone(), actor.clone(), rep.clone(), ids.clone());
            async move {
                let input: NewLead = serde_json::from_value(lead_body(i as u32 + 100_000)).unwrap();
                let (lead, events) = Lead::create(
                    &input,
                    CreateContext {
                        id: LeadId::new(),
                        actor: &actor,
                        owner: Some(&rep),
                        now: chrono::Utc::now(),
                        region: Region::china(),
                        policy: &state.policy,
                    },
                )
                .unwrap();
                state.leads.create_lead(&lead, &events, None).await.unwrap();
                ids.lock().unwrap().push(lead.id);
            }
        })
        .await
    };
    let sids = Arc::new(store_ids.lock().unwrap().clone());
    let store_read = {
        let (state, tenant, ids) = (state.clone(), f.acme.clone(), sids.clone());
        run(ops, workers, move |i| {
            let (state, tenant, ids) = (state.clone(), tenant.clone(), ids.clone());
            async move {
                let id = ids[(i * 7919) % ids.len()];
                assert!(state.leads.get_lead(&tenant, id).await.unwrap().is_some());
            }
        })
        .await
    };

    println!(
        "leads_throughput: {ops} ops per phase, {workers} concurrent clients, server in its own process on 127.0.0.1, SQLite WAL"
    );
    println!(
        "{:<12} {:>14} {:>14} {:>12}",
        "operation", "http req/s", "store ops/s", "http/store"
    );
    println!(
        "{:<12} {:>14.0} {:>14.0} {:>12.3}",
        "create lead",
        http_create,
        store_create,
        http_create / store_create
    );
    println!(
        "{:<12} {:>14.0} {:>14.0} {:>12.3}",
        "read lead",
        http_read,
        store_read,
        http_read / store_read
    );
}
