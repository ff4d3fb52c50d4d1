//! Customer grading on a large tenant, on SQLite: 50,000 customers with three contacts each
//! (roles from the default policy), 2,000,000 activities over the last year (40 per
//! customer; some with a contact) and four purchases per customer. Times, as the grading
//! handler runs them:
//! - the incremental regrade of one customer (an activity arrived): `grading::regrade`,
//!   p50 / p95 over `BENCH_CALLS` random customers, next to the raw SQL that reads the same
//!   inputs for one customer (its activities, purchases and contacts);
//! - the full monthly regrade: `grading::close_month` for every customer (what the month-close
//!   timers make the handler do), total seconds and peak memory, next to one raw SQL pass that
//!   aggregates every customer's inputs (GROUP BY).
//!
//! The data is generated and bulk-loaded in one transaction (setup, not measured).
//!
//! `cargo bench -p fieldline-tests --bench customer_grading`
//! env: BENCH_CUSTOMERS (50000), BENCH_ACTIVITIES (per customer, 40), BENCH_CALLS (200)

use chrono::{Duration, Utc};
use fieldline_app::admin;
use fieldline_app::customer::grading;
use fieldline_domain::*;
use fieldline_store_sqlite::bulk;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rusqlite::params;
use std::time::Instant;

use fieldline_tests::bench::env_or;

fn percentile(sorted: &[f64], q: f64) -> f64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn p50_p95(mut ms: Vec<f64>) -> (f64, f64) {
    ms.sort_by(f64::total_cmp);
    (percentile(&ms, 0.5), percentile(&ms, 0.95))
}

/// Resets the peak resident size (Linux `clear_refs` 5), so the next reading is the peak of
/// what runs in between.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Peak resident size since the last reset, in MiB.
fn peak_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

const KINDS: [ActivityKind; 7] = [
    ActivityKind::Call,
    ActivityKind::Call,
    ActivityKind::Message,
    ActivityKind::Visit,
    ActivityKind::Consultation,
    ActivityKind::SampleRequest,
    ActivityKind::EventAttendance,
];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let customers_wanted = env_or("BENCH_CUSTOMERS", 50_000);
    let per_customer = env_or("BENCH_ACTIVITIES", 40);
    let calls = env_or("BENCH_CALLS", 200);
    let bench = fieldline_tests::bench::embedded_app()?;
    let (db_path, state) = (bench.db_path.clone(), bench.app.state().clone());
    admin::add_tenant(&state, "bench", "Bench", "Asia/Shanghai", "CN").await?;
    let tenant_id = TenantId::parse("bench")?;
    let mut reps = Vec::new();
    for t in 0..4 {
        let team = format!("team{t}");
        admin::add_team(&state, &tenant_id, &team).await?;
        for r in 0..5 {
            let email = format!("rep{t}{r}@bench.cn");
            reps.push(
                admin::add_user(&state, &tenant_id, &email, "Rep", Role::Rep, Some(&team)).await?,
            );
        }
    }
    let tenant = state
        .directory
        .get_tenant(&tenant_id)
        .await?
        .expect("tenant");
    let policy = tenant.grade_policy();
    // The bench runs "now" from the system clock: the data is laid out over the year before.
    let now = Utc::now();
    let zone = tenant.zone();

    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(20261127);
    let mut ids = Vec::with_capacity(customers_wanted);
    let mut activities = 0usize;
    {
        let mut conn = rusqlite::Connection::open(&db_path)?;
        let tx = conn.transaction()?;
        for n in 0..customers_wanted {
            let rep = &reps[rng.random_range(0..reps.len())];
            let actor = Actor {
                user: rep.id,
                tenant: tenant_id.clone(),
                role: Role::Rep,
                team: rep.team,
            };
            let created = now - Duration::days(400);
            let input = NewCustomer {
                name: format!("客户 {n}"),
                kind: CustomerKind::Enterprise,
                owner: None,
                addresses: vec![],
                tags: vec![],
                contacts: vec![],
            };
            let customer = Customer::create(&input, CustomerId::new(), &actor, rep, created)?;
            bulk::insert_customer(&tx, &customer)?;
            let mut contacts = Vec::new();
            for k in 0..3 {
                let contact = NewContact {
                    name: format!("联系人 {k}"),
                    title: None,
                    phones: vec![],
                    emails: vec![],
                    decision_role: None,
                    role: None,
                }
                .parse(
                    ContactId::new(),
                    &customer,
                    Region::default(),
                    Some(policy.roles[rng.random_range(0..policy.roles.len())].clone()),
                    created,
                )?;
                bulk::insert_contact(&tx, &contact)?;
                contacts.push(contact.id);
            }
            let target = LogTarget {
                subject: Subject::Customer(customer.id),
                tenant: &tenant_id,
                created_at: created,
            };
            for _ in 0..per_customer {
                let at = now - Duration::minutes(rng.random_range(1..365 * 24 * 60));
                let input = NewActivity {
                    kind: KINDS[rng.random_range(0..KINDS.len())],
                    summary: "跟进".into(),
                    occurred_at: Some(at),
                    structured: None,
                    contact: rng
                        .random_bool(0.3)
                        .then(|| contacts[rng.random_range(0..contacts.len())]),
                };
                let a = Activity::record(&input, ActivityId::new(), &target, &actor, now)?;
                bulk::insert_activity(&tx, &a)?;
                activities += 1;
            }
            for p in 0..4 {
                let purchase = Purchase {
                    tenant: tenant_id.clone(),
                    customer: customer.id,
                    reference: format!("INV-{n}-{p}"),
                    amount: rng.random_range(1..60) * 5_000,
                    currency: "CNY".into(),
                    at: now - Duration::days(rng.random_range(1..500)),
                    recorded_by: rep.id,
                    recorded_at: now,
                };
                bulk::insert_purchase(&tx, &purchase)?;
            }
            ids.push(customer.id);
        }
        tx.commit()?;
    }
    println!(
        "loaded {} customers, {} contacts, {activities} activities, {} purchases in {:.0} s",
        ids.len(),
        ids.len() * 3,
        ids.len() * 4,
        started.elapsed().as_secs_f64()
    );

    // Incremental regrade: one customer, as after an activity.
    eprintln!("incremental regrades…");
    let mut regrade_ms = Vec::with_capacity(calls);
    let mut sample = Vec::with_capacity(calls);
    for _ in 0..calls {
        sample.push(ids[rng.random_range(0..ids.len())]);
    }
    for id in &sample {
        let t = Instant::now();
        std::hint::black_box(grading::regrade(&state, &tenant, *id).await?);
        regrade_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let conn = rusqlite::Connection::open(&db_path)?;
    let since = (now - Duration::days(365)).timestamp_millis();
    let mut raw_ms = Vec::with_capacity(calls);
    for id in &sample {
        let t = Instant::now();
        let id = id.to_string();
        let (n, bytes): (i64, i64) = conn.query_row(
            "SELECT count(*), sum(length(body)) FROM activities
             WHERE tenant_id = ?1 AND subject_id = ?2 AND occurred_at >= ?3",
            params![tenant_id.as_str(), id, since],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let spent: i64 = conn.query_row(
            "SELECT coalesce(sum(json_extract(body, '$.amount')), 0) FROM purchases
             WHERE tenant_id = ?1 AND customer_id = ?2 AND at > ?3",
            params![tenant_id.as_str(), id, since],
            |r| r.get(0),
        )?;
        let contacts: i64 = conn.query_row(
            "SELECT count(*) FROM contacts WHERE tenant_id = ?1 AND customer_id = ?2",
            params![tenant_id.as_str(), id],
            |r| r.get(0),
        )?;
        std::hint::black_box((n, bytes, spent, contacts));
        raw_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let (r50, r95) = p50_p95(regrade_ms);
    let (s50, s95) = p50_p95(raw_ms);

    // Where a regrade's time goes: its one read, and each of its writes, over the sample.
    let mut read_ms = Vec::new();
    let mut save_ms = Vec::new();
    let mut timer_ms = Vec::new();
    for id in &sample {
        let t = Instant::now();
        let file = state
            .customers
            .customer_file(
                &tenant_id,
                *id,
                now - Duration::days(365),
                now - Duration::days(365),
            )
            .await?
            .expect("stored");
        read_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        let snapshot = GradeSnapshot {
            tenant: tenant_id.clone(),
            customer: *id,
            month: Month::of(now, zone),
            grade: policy.grade(
                &policy.tally(now, &file.purchases, &file.activities, &file.contacts),
                now,
            ),
            closed: false,
            owner: Some(file.customer.owner),
            team: file.customer.team,
            quiet_since: None,
        };
        let t = Instant::now();
        state.customers.save_grade(&snapshot).await?;
        save_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        grading::schedule_month_close(&state, &tenant, *id, now).await?;
        timer_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let breakdown = [
        ("read the customer's file", p50_p95(read_ms)),
        ("save a month's grade", p50_p95(save_ms)),
        ("keep the month-close timer", p50_p95(timer_ms)),
    ];

    // Full monthly regrade: close last month for every customer.
    eprintln!("full monthly regrade…");
    let month = Month::of(now, zone).previous();
    reset_peak();
    let t = Instant::now();
    for id in &ids {
        grading::close_month(&state, &tenant, *id, month).await?;
    }
    let full_s = t.elapsed().as_secs_f64();
    let full_peak = peak_mib();
    reset_peak();
    let t = Instant::now();
    let mut stmt = conn.prepare(
        "SELECT subject_id, count(*), sum(length(body)) FROM activities
         WHERE tenant_id = ?1 AND subject_kind = 'customer' AND occurred_at >= ?2
         GROUP BY subject_id",
    )?;
    let rows = stmt
        .query_map(params![tenant_id.as_str(), since], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })?
        .count();
    let spent: i64 = conn.query_row(
        "SELECT count(*) FROM (SELECT customer_id, sum(json_extract(body, '$.amount'))
         FROM purchases WHERE tenant_id = ?1 AND at > ?2 GROUP BY customer_id)",
        params![tenant_id.as_str(), since],
        |r| r.get(0),
    )?;
    std::hint::black_box((rows, spent));
    let raw_full_s = t.elapsed().as_secs_f64();
    let raw_peak = peak_mib();
    let closed = state
        .customers
        .grades_of_month(&tenant_id, month)
        .await?
        .iter()
        .filter(|s| s.closed)
        .count();
    assert_eq!(closed, ids.len(), "every customer's month was closed");

    println!();
    println!(
        "| measure | Fieldline | raw SQL baseline (same run) | ratio | target |\n|---|---|---|---|---|"
    );
    println!(
        "| incremental regrade, p50 / p95 ms | {r50:.2} / {r95:.2} | {s50:.2} / {s95:.2} (read one customer's inputs) | {:.1}× (p95) | ≤ 20 ms |",
        r95 / s95
    );
    println!(
        "| full monthly regrade, {} customers | {full_s:.1} s, peak {full_peak:.0} MiB | {raw_full_s:.1} s, peak {raw_peak:.0} MiB (aggregate every customer's inputs) | {:.1}× | ≤ 60 s |",
        ids.len(),
        full_s / raw_full_s
    );
    println!("\nparts of a regrade (p50 / p95 ms):");
    for (what, (p50, p95)) in breakdown {
        println!("- {what}: {p50:.2} / {p95:.2}");
    }
    Ok(())
}
