//! A large import as a phone or the web app sends it when the file is too large for one API
//! request: `POST /v1/uploads` (`kind: import`), the bytes to the upload URL, then polling
//! `GET /v1/uploads/{id}` until the job has run — on the embedded server, and on the AWS
//! functions against the local DynamoDB/S3 server (S3 event to the upload function, the
//! table's stream to the slow consumer) when `AWS_ENDPOINT_URL_DYNAMODB` is set.
//!
//! Baseline, same run and backend: the same file through the import use case called
//! directly (what `POST /v1/imports/{kind}` runs) into a second tenant. The ratio is what the
//! job path costs on top: the blob round trip, the events, the progress writes, the report.
//! moto serves one request at a time: the AWS figures say how the adapters behave, not how
//! fast DynamoDB is.
//!
//! `cargo bench -p fieldline-tests --bench import_job` — env BENCH_ROWS (100000), BENCH_KIND
//! (skus | stock | leads | customers), BENCH_BACKENDS (embedded,aws)

use fieldline_app::import::{self, ImportKind};
use fieldline_domain::Actor;
use fieldline_tests::bench::env_or;
use fieldline_tests::{TestApp, fixture};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// The file for `kind`, as Chinese Excel saves it (GBK, Chinese headers).
fn sheet(kind: ImportKind, rows: usize) -> String {
    let mut text = String::new();
    match kind {
        ImportKind::Skus => {
            text.push_str("物料编码,名称,单价,最低价,安全库存\n");
            for n in 0..rows {
                text.push_str(&format!(
                    "SKU-{n:06},润滑油{n}号 18L,{}.50,100,20\n",
                    120 + n % 50
                ));
            }
        }
        ImportKind::Leads => {
            text.push_str("姓名,手机,公司,来源\n");
            for n in 0..rows {
                text.push_str(&format!(
                    "访客{n},139 {:04} {:04},展商{n}号有限公司,展会\n",
                    n / 10_000,
                    n % 10_000
                ));
            }
        }
        ImportKind::Customers => {
            text.push_str("客户名称,联系人,手机\n");
            for n in 0..rows {
                text.push_str(&format!(
                    "客户{n}贸易有限公司,联系人{n},138 {:04} {:04}\n",
                    n / 10_000,
                    n % 10_000
                ));
            }
        }
        other => panic!("BENCH_KIND {other:?} is not benchmarked"),
    }
    text
}

async fn run(kind: ImportKind, rows: usize, label: &str) -> anyhow::Result<()> {
    let app = TestApp::spawn().await;
    let f = fixture(&app.state).await;
    let text = sheet(kind, rows);
    let bytes = encoding_rs::GBK.encode(&text).0.into_owned();
    println!(
        "{label}: {rows} {} rows, {:.1} MB of GBK CSV",
        kind.as_str(),
        bytes.len() as f64 / 1e6
    );

    // The job: upload, arrival, the slow consumer, polled as a client would (every 250 ms).
    let admin = app.token(&f.admin);
    let t = Instant::now();
    let body = json!({"kind": "import", "import": {"kind": kind.as_str()},
        "file_name": "导入.csv", "content_type": "text/csv", "size": bytes.len()});
    let started = app
        .post("/v1/uploads", &admin, &body)
        .await
        .expect(201)
        .body;
    let (status, outcome) = app.upload(&started["ticket"], bytes.clone()).await;
    anyhow::ensure!((200..300).contains(&status), "upload: {status} {outcome}");
    let sent = t.elapsed().as_secs_f64();
    let path = format!("/v1/uploads/{}", started["upload"]["id"].as_str().unwrap());
    let mut seen: Vec<Value> = Vec::new();
    let done = loop {
        let u = app.get(&path, &admin).await.expect(200).body;
        if u["progress"].is_object() && seen.last() != Some(&u["progress"]) {
            seen.push(u["progress"].clone());
        }
        if matches!(u["status"].as_str(), Some("done" | "failed")) {
            break u;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let job = t.elapsed().as_secs_f64();
    anyhow::ensure!(done["status"] == "done", "the job failed: {done:#}");
    anyhow::ensure!(
        done["imported"]["created"] == json!(rows),
        "not every row created: {done:#}"
    );
    let report = app.download(&format!("{path}/report"), &admin).await;

    // Baseline: the use case directly, into a second tenant like the first (China, Shanghai).
    fieldline_app::admin::add_tenant(&app.state, "bench2", "Bench", "Asia/Shanghai", "CN").await?;
    let tenant = fieldline_domain::TenantId::parse("bench2")?;
    let boss = fieldline_app::admin::add_user(
        &app.state,
        &tenant,
        "admin@bench2.cn",
        "Admin",
        fieldline_domain::user::Role::Admin,
        None,
    )
    .await?;
    let actor = Actor {
        user: boss.id,
        tenant,
        role: boss.role,
        team: None,
    };
    let t = Instant::now();
    let direct = import::import(
        &app.state,
        &actor,
        kind,
        &bytes,
        false,
        None,
        &import::Progress::silent(),
    )
    .await?;
    let base = t.elapsed().as_secs_f64();
    anyhow::ensure!(
        direct.created == rows,
        "baseline created {}",
        direct.created
    );

    println!(
        "  job: {job:.1} s from the first request to done (upload sent after {sent:.1} s), \
         {} distinct progress steps seen while polling, report {:.1} MB",
        seen.len(),
        report.len() as f64 / 1e6
    );
    println!("  baseline, the use case called directly: {base:.1} s");
    println!("  ratio job / direct: {:.2}×", job / base);
    if let (Some(first), Some(last)) = (seen.first(), seen.last()) {
        println!("  progress: first {first}, last {last}");
    }
    app.stop().await;
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let rows = env_or("BENCH_ROWS", 100_000);
    let kind: ImportKind = serde_json::from_value(json!(
        std::env::var("BENCH_KIND").unwrap_or_else(|_| "skus".into())
    ))?;
    let backends = std::env::var("BENCH_BACKENDS").unwrap_or_else(|_| "embedded,aws".into());
    for backend in backends.split(',').map(str::trim) {
        match backend {
            "embedded" => run(kind, rows, "embedded (SQLite, local files)").await?,
            "aws" if std::env::var_os("AWS_ENDPOINT_URL_DYNAMODB").is_none() => {
                println!("aws: skipped (set AWS_ENDPOINT_URL_DYNAMODB; bash scripts/moto.sh start)")
            }
            "aws" => {
                fieldline_tests::on_aws(run(kind, rows, "aws (DynamoDB and S3 on moto)")).await?
            }
            other => anyhow::bail!("unknown backend {other}"),
        }
    }
    Ok(())
}
