//! Quick sale tags on SQLite: what one tag costs and what the weekly report reads, at the
//! scale of a chain (1,000 stores in 10 regions, 8 weeks of tags). Each tag is one
//! transaction (the sale row and its counters); the baseline, in the same run on the same
//! database, is the cheapest record write a rep already makes: a customer note with its
//! event. The report reads the counters of 8 weeks (plus 4 baseline weeks); its baseline is
//! one customer's latest 50 activities.
//!
//! `cargo bench -p fieldline-tests --bench sale_tags`   env: BENCH_TAGS, BENCH_STORES

use chrono::{Duration, TimeZone, Utc};
use fieldline_domain::retail::{RetailPolicy, SaleTags, Week, find_spikes};
use fieldline_domain::*;
use fieldline_store::{CustomerStore, RetailStore};
use fieldline_store_sqlite::SqliteStore;
use std::time::Instant;

use fieldline_tests::bench::env_or;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let tags = env_or("BENCH_TAGS", 40_000);
    let stores = env_or("BENCH_STORES", 1_000);
    let dir = tempfile::tempdir()?;
    let store = SqliteStore::open(&dir.path().join("fieldline.db"))?;
    let t0 = Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).unwrap();
    let bench = fieldline_tests::bench::bench_tenant(&store).await?;
    let (tenant, rep, actor) = (bench.row.id.clone(), bench.rep, bench.actor);
    let zone = bench.row.zone();
    let mut ids = Vec::with_capacity(stores);
    for i in 0..stores {
        let input = NewCustomer {
            name: format!("门店 {i:04}"),
            kind: CustomerKind::Store,
            owner: None,
            addresses: vec![],
            tags: vec![],
            contacts: vec![],
        };
        let c = Customer::create(
            &input,
            CustomerId::new(),
            &actor,
            &rep,
            t0 - Duration::days(90),
        )?;
        store.create_customer(&c, &[], &[]).await?;
        ids.push(c);
    }
    let catalogue = RetailPolicy::default().sale_tags;
    let pick = |list: &[String], i: usize| list[i % list.len()].clone();

    // Tags over 8 weeks, alternating with the baseline's notes so both see the same database
    // size and cache.
    let (mut tag_secs, mut note_secs) = (0.0, 0.0);
    for i in 0..tags {
        let c = &ids[i % stores];
        let at = t0 - Duration::hours(((i * 7) % (8 * 7 * 24)) as i64);
        let sale = SaleTags {
            id: SaleTagsId::new(),
            tenant: tenant.clone(),
            store: c.id,
            region: format!("region-{}", i % stores % 10),
            week: Week::of(at, zone).to_string(),
            tags: vec![
                format!("focus:{}", pick(&catalogue.focus, i)),
                format!("obstacle:{}", pick(&catalogue.obstacle, i / 3)),
                format!("competitor:{}", pick(&catalogue.competitor, i / 7)),
            ],
            by: rep.id,
            at,
        };
        let started = Instant::now();
        store.record_sale_tags(&sale).await?;
        tag_secs += started.elapsed().as_secs_f64();

        let note = NewActivity {
            kind: ActivityKind::Note,
            summary: "货架检查".into(),
            occurred_at: None,
            structured: None,
            contact: None,
        };
        let target = LogTarget {
            subject: Subject::Customer(c.id),
            tenant: &tenant,
            created_at: c.created_at,
        };
        let activity = Activity::record(&note, ActivityId::new(), &target, &actor, at)?;
        let event = c.event(
            &actor,
            at,
            EventPayload::ActivityLogged {
                activity: activity.id,
                kind: activity.kind,
                occurred_at: activity.occurred_at,
                structured: false,
            },
        );
        let started = Instant::now();
        store
            .record_customer_activity(&activity, &[event], None)
            .await?;
        note_secs += started.elapsed().as_secs_f64();
    }
    let tag_rate = tags as f64 / tag_secs;
    let note_rate = tags as f64 / note_secs;

    // The report: 8 weeks shown plus 4 baseline weeks, every region, with the spike test.
    let this_week = Week::of(t0, zone);
    let first = (0..11).fold(this_week, |w, _| w.previous());
    let test = RetailPolicy::default().spike;
    let mut report_ms = Vec::new();
    let mut read_ms = Vec::new();
    let mut counters = 0;
    for round in 0..30 {
        let started = Instant::now();
        let counts = store
            .sale_tag_counts(&tenant, None, &first.to_string(), &this_week.to_string())
            .await?;
        let _spikes = find_spikes(&counts, this_week, &test, None);
        report_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        counters = counts.len();
        let started = Instant::now();
        let _ = store
            .customer_activities(
                &tenant,
                ids[round % stores].id,
                t0 - Duration::days(365),
                50,
            )
            .await?;
        read_ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let (report, read) = (median(report_ms), median(read_ms));

    println!("sale tags on SQLite: {tags} tags at {stores} stores in 10 regions over 8 weeks");
    println!(
        "  tag write (sale + 4 counters, one transaction): {tag_rate:>8.0} /s   baseline note write: {note_rate:>8.0} /s   ratio {:.2}",
        tag_rate / note_rate
    );
    println!(
        "  report (12 weeks of counters, {counters} rows, spike test): median {report:.2} ms   baseline one customer's 50 activities: {read:.2} ms   ratio {:.2}",
        report / read
    );
    Ok(())
}
