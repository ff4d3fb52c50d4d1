//! Capture ingest throughput: business cards read through the whole path (POST /v1/uploads,
//! PUT the bytes, the outbox queue, the sidecar over HTTP, the contact written, the upload
//! polled until done) against the same cards posted straight to the sidecar, in one run.
//!
//! Three processes, so nothing shares a runtime: the capture sidecar with the real models
//! (this binary re-executed with `BENCH_ROLE=sidecar`), the embedded server wired to it
//! (`BENCH_ROLE=server`, scheduler included), and this process, the load generator, which
//! seeds the tenant and drives both.
//!
//! `cargo bench -p fieldline-tests --bench capture_ingest`
//! Env: BENCH_CARDS (cards per phase, default 40), BENCH_ROUNDS (default 3), BENCH_INFLIGHT
//! (uploads the generator keeps open at once, default 8).

use fieldline_tests::capture::{CAPTURE_TOKEN, devset};
use fieldline_tests::*;
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};

use fieldline_tests::bench::env_or;

async fn until_stdin_closes() {
    use tokio::io::AsyncReadExt;
    let mut sink = Vec::new();
    let _ = tokio::io::stdin().read_to_end(&mut sink).await;
}

/// Sidecar role: the models, served on 127.0.0.1; prints the address.
async fn sidecar() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    fieldline_tests::capture::serve_on(listener);
    // The models load in `serve_on`'s first use; wait until they answer before reporting.
    let base = format!("http://{addr}");
    let client = reqwest::Client::new();
    while client.get(format!("{base}/health")).send().await.is_err() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!("{addr}");
    until_stdin_closes().await;
}

/// Server role: the embedded server on `dir`, wired to the sidecar at `capture`.
async fn server(dir: &str, capture: &str) {
    let mut config = test_config(Path::new(dir));
    config.capture.url = Some(capture.to_owned());
    config.capture.token = Some(CAPTURE_TOKEN.into());
    let app = fieldline::build(config).expect("server builds");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!("{}", listener.local_addr().unwrap());
    app.serve(listener, until_stdin_closes()).await.unwrap();
}

/// Starts this binary in `role`; the address it prints and the child (runs while stdin is
/// open).
async fn spawn(role: &str, envs: &[(&str, &str)]) -> (String, tokio::process::Child) {
    use tokio::io::AsyncBufReadExt;
    let mut cmd = tokio::process::Command::new(std::env::current_exe().unwrap());
    cmd.env("BENCH_ROLE", role)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("child process starts");
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    tokio::io::BufReader::new(stdout)
        .read_line(&mut line)
        .await
        .unwrap();
    (format!("http://{}", line.trim()), child)
}

/// Posts every card to the sidecar, `inflight` at a time; seconds taken.
async fn direct(
    client: &reqwest::Client,
    sidecar: &str,
    cards: &[Vec<u8>],
    inflight: usize,
) -> f64 {
    let start = Instant::now();
    let mut queue = cards.iter().cloned();
    let mut running = tokio::task::JoinSet::new();
    loop {
        while running.len() < inflight {
            let Some(card) = queue.next() else { break };
            let req = client
                .post(format!("{sidecar}/v1/cards"))
                .bearer_auth(CAPTURE_TOKEN)
                .body(card);
            running.spawn(async move {
                let r = req.send().await.expect("sidecar answers");
                assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
            });
        }
        if running.join_next().await.is_none() {
            break;
        }
    }
    start.elapsed().as_secs_f64()
}

/// One new customer per card (made before the clock starts), so each card becomes a contact.
async fn customers(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    n: usize,
    round: usize,
) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let customer: Value = client
            .post(format!("{base}/v1/customers"))
            .bearer_auth(token)
            .json(&json!({"name": format!("基准客户 {round}-{i}")}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        ids.push(customer["id"].as_str().unwrap().to_owned());
    }
    ids
}

/// Sends every card through the API at its customer, `inflight` uploads open at a time, each
/// polled until done; seconds taken.
async fn queued(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    cards: &[Vec<u8>],
    customers: &[String],
    inflight: usize,
) -> f64 {
    let start = Instant::now();
    let mut queue = cards.iter().cloned().zip(customers.iter().cloned());
    let mut running = tokio::task::JoinSet::new();
    loop {
        while running.len() < inflight {
            let Some((card, customer)) = queue.next() else {
                break;
            };
            let (client, base, token) = (client.clone(), base.to_owned(), token.to_owned());
            running.spawn(async move {
                let started: Value = client
                    .post(format!("{base}/v1/uploads"))
                    .bearer_auth(&token)
                    .json(&json!({"kind": "card", "subject": {"customer": customer},
                        "file_name": "card.jpg", "content_type": "image/jpeg",
                        "size": card.len()}))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let ticket = &started["ticket"];
                let put = client
                    .put(format!("{base}{}", ticket["url"].as_str().unwrap()))
                    .header("content-type", "image/jpeg")
                    .body(card)
                    .send()
                    .await
                    .unwrap();
                assert!(put.status().is_success());
                let id = started["upload"]["id"].as_str().unwrap().to_owned();
                loop {
                    let u: Value = client
                        .get(format!("{base}/v1/uploads/{id}"))
                        .bearer_auth(&token)
                        .send()
                        .await
                        .unwrap()
                        .json()
                        .await
                        .unwrap();
                    match u["status"].as_str() {
                        Some("done") => break,
                        Some("failed") => panic!("upload failed: {u}"),
                        _ => tokio::time::sleep(Duration::from_millis(20)).await,
                    }
                }
            });
        }
        match running.join_next().await {
            Some(r) => r.unwrap(),
            None => break,
        }
    }
    start.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    match std::env::var("BENCH_ROLE").as_deref() {
        Ok("sidecar") => return sidecar().await,
        Ok("server") => {
            let dir = std::env::var("BENCH_DIR").unwrap();
            let capture = std::env::var("BENCH_CAPTURE").unwrap();
            return server(&dir, &capture).await;
        }
        _ => {}
    }
    let n = env_or("BENCH_CARDS", 40);
    let rounds = env_or("BENCH_ROUNDS", 3);
    let inflight = env_or("BENCH_INFLIGHT", 8);
    // The development set's cards, repeated: a real mix of Chinese and Latin-script cards.
    let files: Vec<Vec<u8>> = (0..40)
        .map(|i| devset(&format!("cards/card-{i:03}.jpg")))
        .collect();
    let cards: Vec<Vec<u8>> = (0..n).map(|i| files[i % files.len()].clone()).collect();

    let dir = tempfile::tempdir().unwrap();
    let app = fieldline::build(test_config(dir.path())).unwrap();
    let f = fixture(app.state()).await;
    let token = app.state().tokens.issue(&f.east_rep, chrono::Utc::now());
    drop(app);
    let (sidecar, _sidecar_proc) = spawn("sidecar", &[]).await;
    let dir_s = dir.path().to_str().unwrap().to_owned();
    let (base, _server_proc) = spawn(
        "server",
        &[("BENCH_DIR", &dir_s), ("BENCH_CAPTURE", &sidecar)],
    )
    .await;
    let client = reqwest::Client::new();
    // Warm-up: one card each way (connections, first-run allocations).
    direct(&client, &sidecar, &cards[..1], 1).await;
    let warm = customers(&client, &base, &token, 1, 0).await;
    queued(&client, &base, &token, &cards[..1], &warm, 1).await;

    let (mut d, mut q) = (Vec::new(), Vec::new());
    for round in 1..=rounds {
        d.push(direct(&client, &sidecar, &cards, inflight).await);
        let at = customers(&client, &base, &token, n, round).await;
        q.push(queued(&client, &base, &token, &cards, &at, inflight).await);
        println!(
            "round {round}: direct {:.1} s, through the queue {:.1} s for {n} cards",
            d[round - 1],
            q[round - 1]
        );
    }
    let (d, q) = (median(d), median(q));
    let per_min = |secs: f64| n as f64 / secs * 60.0;
    println!("cards: {n} per phase, {inflight} in flight, {rounds} rounds (medians)");
    println!("{:<44} {:>10} {:>10}", "", "cards/min", "ms/card");
    println!(
        "{:<44} {:>10.1} {:>10.0}",
        "sidecar directly (baseline)",
        per_min(d),
        d * 1000.0 / n as f64
    );
    println!(
        "{:<44} {:>10.1} {:>10.0}",
        "upload → queue → sidecar → contact → done",
        per_min(q),
        q * 1000.0 / n as f64
    );
    println!(
        "queue throughput / direct: {:.3}; overhead per card: {:.0} ms",
        d / q,
        (q - d) * 1000.0 / n as f64
    );
}
