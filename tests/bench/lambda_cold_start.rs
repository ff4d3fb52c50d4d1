//! Cold start of each Lambda function binary: process start to its first response, under
//! a local implementation of the Lambda Runtime API (the same HTTP protocol Lambda speaks to
//! `bootstrap`), with the functions wired to DynamoDB and S3 on the local server (moto).
//! Each function answers its sample event from `events/`. Baseline in the same run: the
//! time to start and reap `/bin/true`, i.e. the process-creation floor of this machine.
//! Sizes are of the stripped binaries (`--profile lambda` strips them).
//!
//! `cargo build --profile lambda -p fieldline-lambda --bins`, `bash scripts/moto.sh start`, then
//! `AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:5005 cargo bench -p fieldline-tests --bench lambda_cold_start`
//! env: BENCH_RUNS (default 7), CARGO_TARGET_DIR; BENCH_COMPARE_DIR: a directory of the same
//! five binaries from another build (e.g. an earlier commit), measured in the same run and
//! reported beside these (runs interleaved, so machine noise hits both alike).

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

#[derive(Clone)]
struct RuntimeApi {
    event: Arc<Mutex<Option<String>>>,
    done: mpsc::UnboundedSender<(Instant, String)>,
}

/// `GET .../invocation/next`: the event once, then (like an idle Lambda) nothing.
async fn next(State(api): State<RuntimeApi>) -> (HeaderMap, String) {
    let event = api.event.lock().unwrap().take();
    let Some(event) = event else {
        std::future::pending::<()>().await;
        unreachable!()
    };
    let mut headers = HeaderMap::new();
    headers.insert("lambda-runtime-aws-request-id", "bench-1".parse().unwrap());
    let deadline = (chrono::Utc::now() + chrono::Duration::seconds(30)).timestamp_millis();
    headers.insert(
        "lambda-runtime-deadline-ms",
        deadline.to_string().parse().unwrap(),
    );
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:123456789012:function:bench"
            .parse()
            .unwrap(),
    );
    (headers, event)
}

async fn respond(State(api): State<RuntimeApi>, Path(_id): Path<String>, body: String) {
    let _ = api.done.send((Instant::now(), body));
}

async fn failed(State(api): State<RuntimeApi>, body: String) {
    let _ = api.done.send((Instant::now(), format!("ERROR {body}")));
}

fn sample(name: &str) -> String {
    std::fs::read_to_string(format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// Starts `binary` against a fresh Runtime API holding `event`; the time to its response.
async fn cold_start(
    binary: &std::path::Path,
    event: &str,
    endpoint: &str,
    table: &str,
) -> (Duration, String) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let api = RuntimeApi {
        event: Arc::new(Mutex::new(Some(event.to_owned()))),
        done: tx,
    };
    let app = axum::Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(respond),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(failed))
        .route("/2018-06-01/runtime/init/error", post(failed))
        .with_state(api);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let start = Instant::now();
    let mut child = tokio::process::Command::new(binary)
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "bench")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("FIELDLINE_STORAGE__BACKEND", "aws")
        .env("FIELDLINE_STORAGE__TABLE", table)
        .env("FIELDLINE_STORAGE__BUCKET", table)
        .env("FIELDLINE_STORAGE__ENDPOINT", endpoint)
        .env(
            "FIELDLINE_AUTH__JWT_SECRET",
            "bench-secret-bench-secret-bench-secret-0123",
        )
        .env("FIELDLINE_LOG__FILTER", "warn")
        .kill_on_drop(true)
        .spawn()
        .expect("the function binary starts");
    let (at, body) = tokio::time::timeout(Duration::from_secs(30), rx.recv())
        .await
        .expect("a response within 30 s")
        .expect("a response");
    let _ = child.kill().await;
    server.abort();
    (at - start, body)
}

fn size_of(binary: &std::path::Path) -> anyhow::Result<u64> {
    Ok(std::fs::metadata(binary)
        .map_err(|e| {
            anyhow::anyhow!(
                "{}: {e} (build with --profile lambda first)",
                binary.display()
            )
        })?
        .len())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);
    let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL_DYNAMODB") else {
        eprintln!(
            "AWS_ENDPOINT_URL_DYNAMODB is not set: `bash scripts/moto.sh start` and export it"
        );
        std::process::exit(2);
    };
    let target = std::env::var("CARGO_TARGET_DIR")
        .unwrap_or_else(|_| format!("{}/../target", env!("CARGO_MANIFEST_DIR")));
    let table = format!("fieldline-coldstart-{}", uuid::Uuid::now_v7().simple());
    let store = fieldline_store_aws::DynamoStore::connect_local(&endpoint, &table).await;
    store.create_table().await.expect("table");
    let blobs = fieldline_store_aws::S3BlobStore::connect_local(&endpoint, &table).await;
    blobs.create_bucket().await.expect("bucket");

    let mut floor = Vec::new();
    for _ in 0..runs {
        let start = Instant::now();
        tokio::process::Command::new("/bin/true").status().await?;
        floor.push(start.elapsed());
    }
    let floor = median(floor);
    let s3_event = sample("s3-object-created-upload.json")
        .replace("{{BUCKET}}", &table)
        .replace("{{KEY}}", "t/acme/exports/report.csv");
    let functions = [
        (
            "api-leads",
            sample("apigw-http-health.json"),
            "\"statusCode\":200",
        ),
        (
            "api-automation",
            sample("apigw-http-list-rules.json"),
            "\"statusCode\":401",
        ),
        (
            "sweeper",
            sample("eventbridge-schedule.json"),
            "timers_fired",
        ),
        ("uploads", s3_event, "ignored"),
        (
            "stream",
            sample("dynamodb-stream-batch.json"),
            "batchItemFailures",
        ),
    ];
    let compare = std::env::var("BENCH_COMPARE_DIR").ok();
    println!(
        "{runs} cold starts each (median); baseline /bin/true start: {:.1} ms\n",
        floor.as_secs_f64() * 1000.0
    );
    match &compare {
        None => {
            println!("| function | stripped size | cold start to first response | vs baseline |");
            println!("|---|---|---|---|");
        }
        Some(dir) => {
            println!("compared with the binaries in {dir} (\"before\")\n");
            println!(
                "| function | size before | size now | cold start before | cold start now | now / before |"
            );
            println!("|---|---|---|---|---|---|");
        }
    }
    let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    for (name, event, expect) in functions {
        let binary = std::path::Path::new(&target).join("lambda").join(name);
        let other = compare
            .as_ref()
            .map(|dir| std::path::Path::new(dir).join(name));
        let size = size_of(&binary)?;
        let other_size = other.as_deref().map(size_of).transpose()?;
        let (mut times, mut other_times) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            let (took, body) = cold_start(&binary, &event, &endpoint, &table).await;
            anyhow::ensure!(body.contains(expect), "{name} answered {body}");
            times.push(took);
            if let Some(other) = &other {
                let (took, body) = cold_start(other, &event, &endpoint, &table).await;
                anyhow::ensure!(body.contains(expect), "{name} (compared) answered {body}");
                other_times.push(took);
            }
        }
        let t = median(times);
        match other_size {
            None => println!(
                "| {name} | {:.1} MiB | {:.1} ms | {:.0}x |",
                mib(size),
                ms(t),
                t.as_secs_f64() / floor.as_secs_f64()
            ),
            Some(other_size) => {
                let o = median(other_times);
                println!(
                    "| {name} | {:.1} MiB | {:.1} MiB | {:.1} ms | {:.1} ms | {:.2} |",
                    mib(other_size),
                    mib(size),
                    ms(o),
                    ms(t),
                    t.as_secs_f64() / o.as_secs_f64()
                );
            }
        }
    }
    Ok(())
}
