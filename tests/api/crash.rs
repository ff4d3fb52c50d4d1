//! Power loss, simulated: the embedded server runs in its own process and is killed with
//! SIGKILL while phones write to it. Every write it acknowledged must be there after the
//! restart, and the database must pass SQLite's own integrity check.

use fieldline_domain::LeadId;
use fieldline_tests::*;
use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SERVER_DIR: &str = "FIELDLINE_CRASH_DIR";

/// Not a test of its own: the server process the crash test kills. The crash test runs this
/// binary again with only this function selected and `FIELDLINE_CRASH_DIR` set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the server process of kill_9_during_concurrent_writes_loses_no_acknowledged_write"]
async fn crash_test_server() {
    let dir = std::env::var(SERVER_DIR).expect("started by the crash test");
    let dir = Path::new(&dir);
    let app = fieldline::build(test_config(dir)).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    // Written atomically, so the test never reads half an address.
    std::fs::write(dir.join("addr.tmp"), addr).unwrap();
    std::fs::rename(dir.join("addr.tmp"), dir.join("addr")).unwrap();
    app.serve(listener, std::future::pending()).await.unwrap();
}

/// Starts the server process on `dir` and waits for its address.
async fn start_server(dir: &Path) -> (tokio::process::Child, String) {
    let _ = std::fs::remove_file(dir.join("addr"));
    let child = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "crash::crash_test_server"])
        .env(SERVER_DIR, dir)
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let addr = eventually("the server process listens", || async {
        std::fs::read_to_string(dir.join("addr")).ok()
    })
    .await;
    (child, format!("http://{addr}"))
}

#[derive(Default)]
struct Acknowledged {
    leads: HashSet<String>,
    /// (lead, activity) pairs the server answered 201 for.
    activities: Vec<(String, String)>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_concurrent_writes_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let token = {
        let app = fieldline::build(test_config(dir.path())).unwrap();
        let f = fixture(app.state()).await;
        app.state().tokens.issue(&f.east_rep, chrono::Utc::now())
    };
    let acked = Arc::new(Mutex::new(Acknowledged::default()));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();

    for round in 0..3u32 {
        let (mut server, base) = start_server(dir.path()).await;
        let stop = Arc::new(AtomicBool::new(false));
        let mut writers = Vec::new();
        for w in 0..6u32 {
            let (client, base, token, acked, stop) = (
                client.clone(),
                base.clone(),
                token.clone(),
                acked.clone(),
                stop.clone(),
            );
            writers.push(tokio::spawn(async move {
                let mut n = 0u32;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let seq = round * 1_000_000 + w * 10_000 + n;
                    let created = client
                        .post(format!("{base}/v1/leads"))
                        .bearer_auth(&token)
                        .header("Idempotency-Key", format!("crash-{seq}"))
                        .json(&lead_body(seq))
                        .send()
                        .await;
                    let Ok(created) = created else { break };
                    if created.status() != 201 {
                        break;
                    }
                    let Ok(lead) = created.json::<serde_json::Value>().await else {
                        break;
                    };
                    let id = lead["id"].as_str().unwrap().to_owned();
                    acked.lock().unwrap().leads.insert(id.clone());
                    let logged = client
                        .post(format!("{base}/v1/leads/{id}/activities"))
                        .bearer_auth(&token)
                        .json(&json!({"kind": "call", "summary": format!("第{seq}次通话")}))
                        .send()
                        .await;
                    let Ok(logged) = logged else { break };
                    if logged.status() != 201 {
                        break;
                    }
                    let Ok(body) = logged.json::<serde_json::Value>().await else {
                        break;
                    };
                    let activity = body["activity"]["id"].as_str().unwrap().to_owned();
                    acked.lock().unwrap().activities.push((id, activity));
                }
            }));
        }
        // Let the writes run, then pull the plug mid-stream.
        tokio::time::sleep(Duration::from_millis(700 + 300 * round as u64)).await;
        server.start_kill().unwrap();
        server.wait().await.unwrap();
        stop.store(true, Ordering::Relaxed);
        for w in writers {
            w.await.unwrap();
        }
    }

    let acked = Arc::try_unwrap(acked).ok().unwrap().into_inner().unwrap();
    assert!(
        acked.leads.len() > 30 && acked.activities.len() > 30,
        "the writers got work done before each kill: {} leads, {} activities",
        acked.leads.len(),
        acked.activities.len()
    );
    let db = rusqlite::Connection::open(dir.path().join("fieldline.db")).unwrap();
    let integrity: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    drop(db);

    let app = fieldline::build(test_config(dir.path())).unwrap();
    let tenant = fieldline_domain::TenantId::parse("acme").unwrap();
    for id in &acked.leads {
        let id: LeadId = id.parse().unwrap();
        assert!(
            app.state()
                .leads
                .get_lead(&tenant, id)
                .await
                .unwrap()
                .is_some(),
            "acknowledged lead {id} is gone"
        );
    }
    for (lead, activity) in &acked.activities {
        let lead: LeadId = lead.parse().unwrap();
        let log = app
            .state()
            .leads
            .list_activities(&tenant, lead, 100)
            .await
            .unwrap();
        assert!(
            log.iter().any(|a| a.id.to_string() == *activity),
            "acknowledged activity {activity} on {lead} is gone"
        );
    }
}
