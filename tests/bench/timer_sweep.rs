//! Timer sweep cost with many pending timers: 1,000,000 pending, 10,000 due. Measures the
//! sweeper's store call (`fire_due_timers`: each due timer marked fired and turned into a
//! `timer_fired` outbox event, in batches of 500) against a raw SQL baseline in the same run
//! on an identical copy of the database (select due ids through the same index and mark them
//! fired, nothing else), and the cost of a sweep when nothing is due.
//!
//! `cargo bench -p fieldline-tests --bench timer_sweep`   env: BENCH_TIMERS, BENCH_DUE

use chrono::{Duration, TimeZone, Utc};
use fieldline_domain::lead::{ContactInput, CreateContext};
use fieldline_domain::*;
use fieldline_store::{LeadStore, TimerStore};
use fieldline_store_sqlite::SqliteStore;
use rusqlite::params;
use std::time::Instant;

use fieldline_tests::bench::env_or;

const LEADS: usize = 1000;
const BATCH: u32 = 500;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let total = env_or("BENCH_TIMERS", 1_000_000);
    let due = env_or("BENCH_DUE", 10_000).min(total);
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("fieldline.db");
    let store = SqliteStore::open(&path)?;
    let t0 = Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap();
    let bench = fieldline_tests::bench::bench_tenant(&store).await?;
    let (tenant, rep, actor) = (bench.row.id.clone(), bench.rep, bench.actor);
    let mut leads = Vec::with_capacity(LEADS);
    for i in 0..LEADS {
        let input = NewLead {
            source: LeadSource::WebForm,
            contact: ContactInput {
                name: format!("客户{i}"),
                phone: Some(format!("139{:08}", i)),
                ..Default::default()
            },
            prescreen: PreScreen::default(),
            notes: None,
            owner: None,
        };
        let (lead, events) = Lead::create(
            &input,
            CreateContext {
                id: LeadId::new(),
                actor: &actor,
                owner: Some(&rep),
                now: t0,
                region: Region::china(),
                policy: &ScoringPolicy::default(),
            },
        )?;
        store.create_lead(&lead, &events, None).await?;
        leads.push(lead.id);
    }
    drop(store);

    // Bulk-load the timers in one transaction (setup, not measured): `due` of them fall due
    // in the first hour, the rest over the following year.
    let started = Instant::now();
    {
        let mut conn = rusqlite::Connection::open(&path)?;
        let tx = conn.transaction()?;
        {
            let mut insert = tx.prepare(
                "INSERT INTO timers (id, tenant_id, subject_id, name, state, due_at, body)
                 VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?6)",
            )?;
            for i in 0..total {
                let due_at = if i < due {
                    t0 + Duration::seconds((i % 3600) as i64)
                } else {
                    t0 + Duration::hours(2)
                        + Duration::seconds(((i * 7919) % (365 * 86_400)) as i64)
                };
                let timer = Timer {
                    id: TimerId::new(),
                    tenant: tenant.clone(),
                    subject: leads[i % LEADS].into(),
                    name: format!("t{i}"),
                    due_at,
                    created_at: t0,
                    cause: None,
                };
                insert.execute(params![
                    timer.id.to_string(),
                    tenant.as_str(),
                    timer.subject.id().to_string(),
                    timer.name,
                    due_at.timestamp_millis(),
                    serde_json::to_string(&timer)?
                ])?;
            }
        }
        tx.commit()?;
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
    }
    let copy = dir.path().join("baseline.db");
    std::fs::copy(&path, &copy)?;
    println!(
        "timer_sweep: {total} pending timers, {due} due, {LEADS} leads; setup {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let store = SqliteStore::open(&path)?;
    let now = t0 + Duration::hours(1);

    // Nothing due: the sweep must not scan the million.
    let idle_runs = 200;
    let started = Instant::now();
    for _ in 0..idle_runs {
        let fired = store
            .fire_due_timers(t0 - Duration::hours(1), BATCH)
            .await?;
        assert!(fired.is_empty());
    }
    let idle_ms = started.elapsed().as_secs_f64() * 1000.0 / idle_runs as f64;

    let started = Instant::now();
    let mut fired = 0;
    loop {
        let n = store.fire_due_timers(now, BATCH).await?.len();
        fired += n;
        if n < BATCH as usize {
            break;
        }
    }
    let ours = started.elapsed().as_secs_f64();
    assert_eq!(fired, due, "every due timer fired once");

    // Raw baseline on the identical copy: same index, same batches, no events, no JSON.
    let conn = rusqlite::Connection::open(&copy)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    let started = Instant::now();
    let mut raw_fired = 0;
    loop {
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let ids: Vec<String> = conn
            .prepare_cached(
                "SELECT id FROM timers WHERE state = 'pending' AND due_at <= ?1 ORDER BY due_at LIMIT ?2",
            )?
            .query_map(params![now.timestamp_millis(), BATCH], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for id in &ids {
            conn.prepare_cached(
                "UPDATE timers SET state = 'fired' WHERE id = ?1 AND state = 'pending'",
            )?
            .execute(params![id])?;
        }
        conn.execute_batch("COMMIT")?;
        raw_fired += ids.len();
        if ids.len() < BATCH as usize {
            break;
        }
    }
    let raw = started.elapsed().as_secs_f64();
    assert_eq!(raw_fired, due);

    println!(
        "{:<44} {:>10} {:>12} {:>8}",
        "operation", "time", "timers/s", "ratio"
    );
    println!(
        "{:<44} {:>8.0}ms {:>12.0} {:>8.2}",
        "fire due timers -> outbox (fire_due_timers)",
        ours * 1000.0,
        due as f64 / ours,
        ours / raw
    );
    println!(
        "{:<44} {:>8.0}ms {:>12.0} {:>8.2}",
        "raw SQL baseline (select + mark fired)",
        raw * 1000.0,
        due as f64 / raw,
        1.0
    );
    println!(
        "{:<44} {:>8.2}ms   (per sweep call with {total} pending)",
        "sweep with nothing due", idle_ms
    );
    Ok(())
}
