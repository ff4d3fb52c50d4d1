//! Lead creation and reads through the HTTP API (auth, JSON, routing, use case, store) and
//! the same operations directly on the store, in one run, on one machine.
//!
//! Three processes, so nothing shares a runtime: the embedded server (this binary re-executed
//! with `BENCH_SERVE_DIR`; the server `fieldline serve` runs, scheduler and rules included),
//! the load generator (`wrk`, a C program from Debian's `wrk` package, one thread, keep-alive
//! connections), and this process, which seeds the tenant, drives both, and afterwards runs
//! the store baseline on the same database once the server has stopped.
//!
//! `apt-get install wrk; cargo bench -p fieldline-tests --bench leads_throughput`
//! Env: BENCH_SECONDS (default 10 per phase), BENCH_ROUNDS (default 3), BENCH_CONCURRENCY
//! (connections / store tasks, default 8).

use fieldline_domain::lead::CreateContext;
use fieldline_domain::{Actor, Lead, LeadId, NewLead, Region};
use fieldline_tests::*;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use fieldline_tests::bench::env_or;

/// Calls `op(i)` from `workers` tasks until `length` has passed; operations per second.
async fn run_for<F, Fut>(length: Duration, workers: usize, op: F) -> f64
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let deadline = start + length;
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let (op, next) = (op.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                op(next.fetch_add(1, Ordering::Relaxed)).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    next.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

/// Server mode: serve the data directory on 127.0.0.1, print the address, stop when stdin
/// closes (the driver exits or drops the pipe).
async fn serve(dir: &str) {
    let app = fieldline::build(test_config(Path::new(dir))).expect("server builds");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!("{}", listener.local_addr().unwrap());
    let stdin_closed = async {
        use tokio::io::AsyncReadExt;
        let mut sink = Vec::new();
        let _ = tokio::io::stdin().read_to_end(&mut sink).await;
    };
    app.serve(listener, stdin_closed).await.unwrap();
}

/// Starts the server process on `dir`; its base URL and the child (runs while stdin is open).
async fn spawn_server(dir: &Path) -> (String, tokio::process::Child) {
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

/// A Lua long string holding `text` verbatim (UTF-8 included).
fn lua_string(text: &str) -> String {
    format!("[==[{text}]==]")
}

/// Runs wrk with `script` against `base`; requests per second. Fails on any non-2xx answer
/// or socket error, so a fast error path can never pass for throughput.
fn wrk(base: &str, script: &str, seconds: usize, connections: usize) -> f64 {
    let file = tempfile::Builder::new().suffix(".lua").tempfile().unwrap();
    std::fs::write(file.path(), script).unwrap();
    let out = std::process::Command::new("wrk")
        .args(["-t1", &format!("-c{connections}"), &format!("-d{seconds}s")])
        .arg("-s")
        .arg(file.path())
        .arg(base)
        .output()
        .expect("wrk runs (apt-get install wrk)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "wrk failed: {text}");
    assert!(
        !text.contains("Non-2xx") && !text.contains("Socket errors"),
        "wrk saw failures:\n{text}"
    );
    text.lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no Requests/sec in wrk output:\n{text}"))
}

#[tokio::main]
async fn main() {
    if let Ok(dir) = std::env::var("BENCH_SERVE_DIR") {
        return serve(&dir).await;
    }
    if std::process::Command::new("wrk")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("wrk is not installed: apt-get install wrk");
        std::process::exit(2);
    }
    let seconds = env_or("BENCH_SECONDS", 10);
    let rounds = env_or("BENCH_ROUNDS", 3);
    let workers = env_or("BENCH_CONCURRENCY", 8);
    let dir = tempfile::tempdir().unwrap();
    // This process seeds the tenant and signs the token with the server's key.
    let app = fieldline::build(test_config(dir.path())).unwrap();
    let f = fixture(app.state()).await;
    let token = app.state().tokens.issue(&f.east_rep, chrono::Utc::now());
    let (base, mut child) = spawn_server(dir.path()).await;

    // Leads to read: created through the API, ids kept.
    let client = reqwest::Client::new();
    let mut paths = Vec::new();
    for n in 0..500 {
        let r = client
            .post(format!("{base}/v1/leads"))
            .bearer_auth(&token)
            .json(&lead_body(n))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let v: serde_json::Value = r.json().await.unwrap();
        paths.push(format!("/v1/leads/{}", v["id"].as_str().unwrap()));
    }

    let auth = lua_string(&format!("Bearer {token}"));
    let bodies: Vec<String> = (0..2000)
        .map(|n| lua_string(&lead_body(1_000 + n).to_string()))
        .collect();
    let create_script = format!(
        "local bodies = {{{}}}\nlocal i = 0\n\
         wrk.headers[\"Authorization\"] = {auth}\n\
         wrk.headers[\"Content-Type\"] = \"application/json\"\n\
         request = function()\n  i = i % #bodies + 1\n  \
         return wrk.format(\"POST\", \"/v1/leads\", nil, bodies[i])\nend\n",
        bodies.join(",\n")
    );
    let me_script = format!("wrk.headers[\"Authorization\"] = {auth}\nwrk.path = \"/v1/me\"\n");
    let read_script = format!(
        "local paths = {{{}}}\nlocal i = 0\n\
         wrk.headers[\"Authorization\"] = {auth}\n\
         request = function()\n  i = i % #paths + 1\n  \
         return wrk.format(\"GET\", paths[i])\nend\n",
        paths
            .iter()
            .map(|p| lua_string(p))
            .collect::<Vec<_>>()
            .join(",")
    );
    drop(child.stdin.take());
    child.wait().await.unwrap();
    let ids: Arc<Vec<LeadId>> = Arc::new(
        paths
            .iter()
            .map(|p| p.rsplit('/').next().unwrap().parse().unwrap())
            .collect(),
    );

    // Rounds alternate server and store phases, so drift on the machine hits both; medians.
    let (mut results, length) = (Vec::new(), Duration::from_secs(seconds as u64));
    for _ in 0..rounds {
        let (base, mut child) = spawn_server(dir.path()).await;
        // Reads first, once the rules have handled earlier events: reads right after a
        // create phase would overlap with the automation working through its backlog.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let http_read = wrk(&base, &read_script, seconds, workers);
        let http_create = wrk(&base, &create_script, seconds, workers);
        // Where the time goes: the HTTP stack alone, then with authentication.
        let health = wrk(&format!("{base}/health"), "", seconds.div_ceil(2), workers);
        let me = wrk(&base, &me_script, seconds.div_ceil(2), workers);
        // Stop the server (closing its stdin) before the store phases run.
        drop(child.stdin.take());
        child.wait().await.unwrap();
        let (store_read, store_create) = store_phases(&app, &f, &ids, length, workers).await;
        results.push([http_create, store_create, http_read, store_read, health, me]);
    }
    let median = |k: usize| {
        let mut v: Vec<f64> = results.iter().map(|r| r[k]).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };

    println!(
        "leads_throughput: {rounds} rounds of {seconds} s per phase (medians), {workers} \
         connections / store tasks; server, load generator (wrk, 1 thread) and store baseline \
         in separate processes; SQLite WAL"
    );
    println!(
        "{:<12} {:>14} {:>14} {:>12}",
        "operation", "http req/s", "store ops/s", "http/store"
    );
    for (name, http, store) in [
        ("create lead", median(0), median(1)),
        ("read lead", median(2), median(3)),
    ] {
        println!(
            "{name:<12} {http:>14.0} {store:>14.0} {:>12.3}",
            http / store
        );
    }
    println!(
        "for reference, same server: GET /health (no auth, no store) {:.0} req/s, \
         GET /v1/me (auth, cached user) {:.0} req/s",
        median(4),
        median(5)
    );
}

/// The same operations on the store, in this process: domain construction plus one
/// transaction per create, one read per read. Reads first, as over HTTP.
async fn store_phases(
    app: &fieldline_app::Application,
    f: &Fixture,
    ids: &Arc<Vec<LeadId>>,
    length: Duration,
    workers: usize,
) -> (f64, f64) {
    let state = app.state().clone();
    let actor = Arc::new(Actor {
        user: f.east_rep.id,
        tenant: f.acme.clone(),
        role: f.east_rep.role,
        team: f.east_rep.team,
    });
    let rep = Arc::new(f.east_rep.clone());
    let store_read = {
        let (state, tenant, ids) = (state.clone(), f.acme.clone(), ids.clone());
        run_for(length, workers, move |i| {
            let (state, tenant, ids) = (state.clone(), tenant.clone(), ids.clone());
            async move {
                let id = ids[i % ids.len()];
                assert!(state.leads.get_lead(&tenant, id).await.unwrap().is_some());
            }
        })
        .await
    };
    let store_create = {
        let (state, actor, rep) = (state.clone(), actor.clone(), rep.clone());
        run_for(length, workers, move |i| {
            let (state, actor, rep) = (state.clone(), actor.clone(), rep.clone());
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
            }
        })
        .await
    };
    (store_read, store_create)
}
