//! The DynamoDB adapter against the embedded SQLite adapter, same operations, same run:
//! per-operation latency (p50 / p99, sequential) and write throughput (8 concurrent
//! writers). DynamoDB is the local wire-protocol server (moto, one request at a time, see
//! `scripts/moto_serial.py`): the figures measure the adapter's round trips and encoding
//! against a local server, not AWS's service latency.
//!
//! `bash scripts/moto.sh start` then
//! `AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:5005 cargo bench -p fieldline-tests --bench store_backends`
//! env: BENCH_OPS (per operation, default 200)

use chrono::Duration;
use fieldline_domain::*;
use fieldline_store::testkit::{Backend, fixture, new_lead, t0};
use fieldline_store::*;
use fieldline_store_aws::DynamoStore;
use fieldline_store_sqlite::SqliteStore;
use std::future::Future;
use std::time::Instant;

struct Figures {
    p50_ms: f64,
    p99_ms: f64,
}

async fn timed<F, Fut>(n: usize, mut op: F) -> Figures
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        let start = Instant::now();
        op(i).await;
        samples.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    Figures {
        p50_ms: at(0.50),
        p99_ms: at(0.99),
    }
}

/// Every operation on one backend, in the order a lead's life uses them.
async fn measure<S: Backend>(store: S, n: usize) -> Vec<(&'static str, Figures)> {
    let f = fixture(store).await;
    let mut leads = Vec::with_capacity(n);
    let mut out = Vec::new();
    let create = timed(n, |i| {
        let (lead, events) = new_lead(&f.rep, t0() + Duration::seconds(i as i64));
        let rec = IdempotencyRecord {
            key: IdempotencyKey::parse(&format!("bench-{i}")).unwrap(),
            user: f.rep.id,
            fingerprint: format!("fp-{i}"),
        };
        leads.push(lead.clone());
        let store = &f.store;
        async move {
            store.create_lead(&lead, &events, Some(&rec)).await.unwrap();
        }
    })
    .await;
    out.push(("create lead (idempotent, + events)", create));
    let get = timed(n, |i| {
        let (store, tenant, id) = (&f.store, &f.tenant, leads[i].id);
        async move {
            store.get_lead(tenant, id).await.unwrap().unwrap();
        }
    })
    .await;
    out.push(("get lead", get));
    let update = timed(n, |i| {
        let mut lead = leads[i].clone();
        let expected = lead.version;
        lead.version += 1;
        lead.notes = Some(format!("update {i}"));
        let store = &f.store;
        async move {
            store.update_lead(&lead, expected, &[]).await.unwrap();
        }
    })
    .await;
    out.push(("update lead (version check)", update));
    let list = timed(n, |_| {
        let query = LeadQuery {
            scope: LeadScope::Owner(f.rep.id),
            owner: None,
            status: None,
            priority: None,
            updated_before: None,
            limit: 50,
            after: None,
        };
        let (store, tenant) = (&f.store, &f.tenant);
        async move {
            assert_eq!(
                store.list_leads(tenant, &query).await.unwrap().items.len(),
                50.min(n)
            );
        }
    })
    .await;
    out.push(("list 50 leads (owner index)", list));
    let timers = timed(n, |i| {
        let timer = Timer {
            id: TimerId::new(),
            tenant: f.tenant.clone(),
            subject: leads[i].id.into(),
            name: "first_contact".into(),
            due_at: t0() + Duration::hours(24),
            created_at: t0(),
            cause: None,
        };
        let store = &f.store;
        async move {
            store.start_timer(&timer, false).await.unwrap();
        }
    })
    .await;
    out.push(("start timer", timers));
    out
}

/// The same server's cost for the bare calls the adapter's operations boil down to, with
/// items of the same size: the floor the adapter's figures are compared with.
async fn raw_calls(store: &DynamoStore, table: &str, n: usize) -> Vec<(&'static str, Figures)> {
    use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
    let client = store.client();
    let f = fixture(store.clone()).await;
    let (lead, events) = new_lead(&f.rep, t0());
    let lead_json = serde_json::to_string(&lead).unwrap();
    let event_json = serde_json::to_string(&events[0]).unwrap();
    let item = |pk: String, sk: &str, body: &str| {
        std::collections::HashMap::from([
            ("pk".to_owned(), AttributeValue::S(pk)),
            ("sk".to_owned(), AttributeValue::S(sk.to_owned())),
            ("body".to_owned(), AttributeValue::S(body.to_owned())),
        ])
    };
    let put = |i: Item| {
        TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(table)
                    .set_item(Some(i))
                    .build()
                    .unwrap(),
            )
            .build()
    };
    type Item = std::collections::HashMap<String, AttributeValue>;
    let mut out = Vec::new();
    let transact = timed(n, |i| {
        let items = vec![
            put(item(format!("RAW#{i}"), "LEAD", &lead_json)),
            put(item(format!("RAWIDEM#{i}"), "IDEM", "x")),
            put(item(format!("RAWEVT#{i}"), "EVT", &event_json)),
        ];
        async move {
            client
                .transact_write_items()
                .set_transact_items(Some(items))
                .send()
                .await
                .unwrap();
        }
    })
    .await;
    out.push(("TransactWriteItems, 3 puts (create's shape)", transact));
    let get = timed(n, |i| {
        let key = item(format!("RAW#{i}"), "LEAD", "");
        let key: Item = key.into_iter().filter(|(k, _)| k != "body").collect();
        async move {
            client
                .get_item()
                .table_name(table)
                .set_key(Some(key))
                .consistent_read(true)
                .send()
                .await
                .unwrap();
        }
    })
    .await;
    out.push(("GetItem, consistent", get));
    let single = timed(n, |i| {
        let it = item(format!("RAW#{i}"), "LEAD", &lead_json);
        async move {
            client
                .put_item()
                .table_name(table)
                .set_item(Some(it))
                .send()
                .await
                .unwrap();
        }
    })
    .await;
    out.push(("PutItem", single));
    out
}

/// Creates per second with 8 writers at once.
async fn throughput<S: Backend>(store: S, n: usize) -> f64 {
    let f = fixture(store).await;
    let start = Instant::now();
    let mut writers = Vec::new();
    for w in 0..8 {
        let (store, rep) = (f.store.clone(), f.rep.clone());
        writers.push(tokio::spawn(async move {
            for i in 0..n / 8 {
                let (lead, events) = new_lead(&rep, t0() + Duration::seconds((w * n + i) as i64));
                store.create_lead(&lead, &events, None).await.unwrap();
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    (n / 8 * 8) as f64 / start.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::var("BENCH_OPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL_DYNAMODB") else {
        eprintln!(
            "AWS_ENDPOINT_URL_DYNAMODB is not set: `bash scripts/moto.sh start` and export it"
        );
        std::process::exit(2);
    };
    let dir = tempfile::tempdir()?;
    let dynamo = || async {
        let table = format!("fieldline-bench-{}", uuid::Uuid::now_v7().simple());
        let store = DynamoStore::connect_local(&endpoint, &table).await;
        store.create_table().await.expect("table");
        store
    };
    println!(
        "{n} operations each, sequential; SQLite on a temp file, DynamoDB on moto at {endpoint}\n"
    );
    let sqlite = measure(SqliteStore::open(&dir.path().join("a.db"))?, n).await;
    let dynamodb = measure(dynamo().await, n).await;
    println!("| operation | SQLite p50 | SQLite p99 | DynamoDB p50 | DynamoDB p99 | p50 ratio |");
    println!("|---|---|---|---|---|---|");
    for ((name, s), (_, d)) in sqlite.iter().zip(&dynamodb) {
        println!(
            "| {name} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms | {:.1}x |",
            s.p50_ms,
            s.p99_ms,
            d.p50_ms,
            d.p99_ms,
            d.p50_ms / s.p50_ms
        );
    }
    let table = format!("fieldline-bench-raw-{}", uuid::Uuid::now_v7().simple());
    let raw_store = DynamoStore::connect_local(&endpoint, &table).await;
    raw_store.create_table().await.expect("table");
    println!("\nThe same server, bare SDK calls with items of the same size (same run):\n");
    println!("| call | p50 | p99 |");
    println!("|---|---|---|");
    for (name, r) in raw_calls(&raw_store, &table, n).await {
        println!("| {name} | {:.2} ms | {:.2} ms |", r.p50_ms, r.p99_ms);
    }
    let s = throughput(SqliteStore::open(&dir.path().join("b.db"))?, n * 2).await;
    let d = throughput(dynamo().await, n * 2).await;
    println!(
        "\ncreate throughput, 8 writers: SQLite {s:.0} leads/s, DynamoDB {d:.0} leads/s (ratio {:.2})",
        d / s
    );
    Ok(())
}
