//! Order submission at the scale, on SQLite: 10,000 SKUs stocked at 200 locations
//! (2,000,000 stock rows), 20,000 customers and 1,000,000 historic orders (50 per customer,
//! one in a hundred still unpaid, some of those long overdue). Times `order::act(Submit)` as the
//! API runs it — the credit check over the customer's orders, the catalogue and breaker reads,
//! the order write with every line's conditional reservation — p50 / p95 over `BENCH_CALLS`
//! fresh drafts of random customers, each of one to three lines.
//!
//! Baseline, same run, same database: one raw SQLite write transaction doing the least a
//! submit must (one conditional stock UPDATE per line and the order row's UPDATE).
//!
//! Then the demand forecast and the replenishment plan on the same history (see below).
//!
//! The data is generated and bulk-loaded in one transaction with the store's own row writers
//! (setup, not measured), the weekly demand history with it.
//!
//! `cargo bench -p fieldline-tests --bench order_submit`
//! env: BENCH_ORDERS (1000000), BENCH_CUSTOMERS (20000), BENCH_SKUS (10000),
//! BENCH_LOCATIONS (200), BENCH_CALLS (500), BENCH_FORECAST (1; 0 skips the forecast)

use chrono::{Duration, Utc};
use fieldline_app::admin;
use fieldline_app::order::{self, OrderAction};
use fieldline_domain::demand::order_demand;
use fieldline_domain::order::{
    Code, LineInput, NewOrder, Order, OrderPolicy, OrderStatus, PaymentTerms, Sku, SkuInput,
    StockCount,
};
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

fn code(raw: String) -> Code {
    Code::parse(&raw, "code").expect("generated codes are valid")
}

fn input(customer: CustomerId, rng: &mut StdRng, skus: usize, locations: usize) -> NewOrder {
    let n = rng.random_range(1..=3);
    let mut lines: Vec<LineInput> = Vec::new();
    while lines.len() < n {
        let sku = code(format!("SKU-{:05}", rng.random_range(0..skus)));
        if lines.iter().all(|l| l.sku != sku) {
            lines.push(LineInput {
                sku,
                quantity: rng.random_range(1..20),
                unit_price: None,
                discount_percent: rng.random_range(0..8),
            });
        }
    }
    NewOrder {
        customer,
        channel: ["direct", "distributor", "tmall"][rng.random_range(0..3)].into(),
        location: code(format!("WH-{:03}", rng.random_range(0..locations))),
        lines,
        payment_terms: PaymentTerms::Net { days: 30 },
        delivery_address: "上海市浦东新区张江路 1 号".into(),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let orders_wanted = env_or("BENCH_ORDERS", 1_000_000);
    let customers_wanted = env_or("BENCH_CUSTOMERS", 20_000);
    let sku_count = env_or("BENCH_SKUS", 10_000);
    let location_count = env_or("BENCH_LOCATIONS", 200);
    let calls = env_or("BENCH_CALLS", 500);
    let bench = fieldline_tests::bench::embedded_app()?;
    let (db_path, state) = (bench.db_path.clone(), bench.app.state().clone());
    admin::add_tenant(&state, "bench", "Bench", "Asia/Shanghai", "CN").await?;
    let tenant = TenantId::parse("bench")?;
    admin::add_team(&state, &tenant, "east").await?;
    let rep = admin::add_user(
        &state,
        &tenant,
        "rep@bench.cn",
        "Rep",
        Role::Rep,
        Some("east"),
    )
    .await?;
    let boss = admin::add_user(
        &state,
        &tenant,
        "admin@bench.cn",
        "Admin",
        Role::Admin,
        None,
    )
    .await?;
    let rep_actor = Actor {
        user: rep.id,
        tenant: tenant.clone(),
        role: Role::Rep,
        team: rep.team,
    };
    let actor = Actor {
        user: boss.id,
        tenant: tenant.clone(),
        role: Role::Admin,
        team: None,
    };
    let now = Utc::now();

    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(20261128);
    let mut skus = Vec::with_capacity(sku_count);
    let mut customers = Vec::with_capacity(customers_wanted);
    {
        let mut conn = rusqlite::Connection::open(&db_path)?;
        let tx = conn.transaction()?;
        for s in 0..sku_count {
            let price = rng.random_range(10..5_000) * 100;
            let sku = Sku::new(
                &tenant,
                code(format!("SKU-{s:05}")),
                &SkuInput {
                    name: format!("商品 {s}"),
                    unit_price: price,
                    floor_price: price * 8 / 10,
                    currency: "CNY".into(),
                    safety_stock: 20,
                },
                now,
            )?;
            bulk::upsert_sku(&tx, &sku)?;
            for l in 0..location_count {
                let count = StockCount {
                    sku: sku.code.clone(),
                    location: code(format!("WH-{l:03}")),
                    on_hand: 1_000_000,
                };
                bulk::set_count(&tx, &tenant, &count)?;
            }
            skus.push(sku);
        }
        for n in 0..customers_wanted {
            let input = NewCustomer {
                name: format!("客户 {n}"),
                kind: CustomerKind::Enterprise,
                owner: None,
                addresses: vec![],
                tags: vec![],
                contacts: vec![],
            };
            let customer = Customer::create(
                &input,
                CustomerId::new(),
                &rep_actor,
                &rep,
                now - Duration::days(800),
            )?;
            bulk::insert_customer(&tx, &customer)?;
            customers.push(customer.id);
        }
        for n in 0..orders_wanted {
            let customer = customers[n % customers.len()];
            let at = now - Duration::days(rng.random_range(1..730));
            let input = input(customer, &mut rng, sku_count, location_count);
            let mut o = Order::draft(
                &input,
                OrderId::new(),
                &tenant,
                (rep.id, rep.team),
                &skus,
                at,
            )?;
            o.submit(rep.id, None, &skus, &OrderPolicy::default(), at)?;
            o.status = OrderStatus::Delivered;
            o.due_at = Some(at + Duration::days(30));
            // One in a hundred still owes money (some of them long overdue: frozen customers).
            o.paid = if rng.random_bool(0.01) { 0 } else { o.total };
            bulk::insert_order(&tx, &o)?;
            bulk::add_demand(&tx, &tenant, &order_demand(&o, chrono_tz::Asia::Shanghai))?;
        }
        tx.commit()?;
    }
    println!(
        "loaded {sku_count} SKUs × {location_count} locations ({} stock rows), {} customers, \
         {orders_wanted} orders in {:.0} s",
        sku_count * location_count,
        customers.len(),
        started.elapsed().as_secs_f64()
    );

    // Submissions through the use case, each on a fresh draft (drafting is not timed).
    let mut submit_ms = Vec::with_capacity(calls);
    let mut held = 0;
    for _ in 0..calls {
        let customer = customers[rng.random_range(0..customers.len())];
        let input = input(customer, &mut rng, sku_count, location_count);
        let draft = order::create_order(&state, &actor, input, None)
            .await?
            .into_inner();
        let t = Instant::now();
        let done = order::act(
            &state,
            &actor,
            draft.id,
            OrderAction::Submit {
                expected_version: draft.version,
            },
        )
        .await?;
        submit_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        if done.status == OrderStatus::Submitted {
            held += 1;
        }
    }

    // Baseline: the least a submit writes, in raw SQL on the same database.
    let mut base_ms = Vec::with_capacity(calls);
    {
        let mut conn = rusqlite::Connection::open(&db_path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        let ids: Vec<(String, String)> = {
            let mut stmt = conn.prepare(
                "SELECT id, body FROM orders WHERE tenant_id = 'bench' AND status = 'to_ship' LIMIT ?1",
            )?;
            stmt.query_map(params![calls as i64], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?
        };
        for (id, body) in ids.iter().cycle().take(calls) {
            let lines = rng.random_range(1..=3);
            let t = Instant::now();
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            for _ in 0..lines {
                tx.prepare_cached(
                    "UPDATE stock SET reserved = reserved + 1
                     WHERE tenant_id = 'bench' AND sku = ?1 AND location = ?2
                       AND on_hand - reserved >= 20",
                )?
                .execute(params![
                    format!("SKU-{:05}", rng.random_range(0..sku_count)),
                    format!("WH-{:03}", rng.random_range(0..location_count))
                ])?;
            }
            tx.prepare_cached(
                "UPDATE orders SET body = ?1, version = version + 1 WHERE tenant_id = 'bench' AND id = ?2",
            )?
            .execute(params![body, id])?;
            tx.commit()?;
            base_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }

    let (s50, s95) = p50_p95(submit_ms);
    let (b50, b95) = p50_p95(base_ms);
    println!("order submit, {calls} calls ({held} held for approval by the credit check):");
    println!("  use case  p50 {s50:.2} ms  p95 {s95:.2} ms   (target p95 ≤ 20 ms)");
    println!(
        "  baseline  p50 {b50:.2} ms  p95 {b95:.2} ms   (raw SQL: the reservations and the order row)"
    );
    println!("  ratio     p50 {:.1}×  p95 {:.1}×", s50 / b50, s95 / b95);

    // The demand forecast on the same history, as the API runs it: from the weekly demand
    // history the order writes keep (here loaded with the orders), the default answer (the 50
    // largest series), one SKU (its series and the tenant's weekly totals), the weekly fit
    // of every series the replenishment plan reads (one backtest origin) and the plan. Baselines: raw SQL
    // reading every order's body (what a forecast had to read before the history was kept)
    // and reading the history itself (the least any forecast reads).
    if env_or("BENCH_FORECAST", 1) == 1 {
        let timed = async |params: order::DemandParams| -> anyhow::Result<_> {
            let t = Instant::now();
            let f = order::demand_forecast(&state, &actor, params).await?;
            Ok((f, t.elapsed().as_secs_f64()))
        };
        let (top, top_secs) = timed(order::DemandParams::default()).await?;
        let (one, one_secs) = timed(order::DemandParams {
            sku: Some("SKU-00001".into()),
            ..Default::default()
        })
        .await?;
        // The plan's forecast as the weekly job fits and stores it, then the plan applying
        // the stored fit to the stock as a request does.
        let t = Instant::now();
        let fit = order::refit_lead_demand(&state, &tenant).await?;
        let fit_secs = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let plan = order::replenishment(&state, &actor).await?;
        let plan_secs = t.elapsed().as_secs_f64();
        let conn = rusqlite::Connection::open(&db_path)?;
        let raw_read = |sql: &str| -> anyhow::Result<(f64, usize)> {
            let t = Instant::now();
            let mut stmt = conn.prepare(sql)?;
            let mut rows = stmt.query([])?;
            let mut n = 0;
            while let Some(row) = rows.next()? {
                n += row.get_ref(0)?.as_bytes()?.len();
            }
            Ok((t.elapsed().as_secs_f64(), n))
        };
        let (orders_secs, bytes) = raw_read("SELECT body FROM orders WHERE tenant_id = 'bench'")?;
        let (history_secs, _) = raw_read(
            "SELECT sku || region || week || quantity FROM demand_weeks WHERE tenant_id = 'bench'",
        )?;
        let history_rows: i64 = conn.query_row(
            "SELECT COUNT(*) FROM demand_weeks WHERE tenant_id = 'bench'",
            [],
            |r| r.get(0),
        )?;
        println!(
            "demand forecast over {} orders ({} series, {history_rows} weekly history rows):",
            orders_wanted + calls,
            top.series_total,
        );
        println!(
            "  default (largest {})  {top_secs:.2} s   backtest WAPE {:?}",
            top.series.len(),
            top.backtest.overall.wape
        );
        println!("  one SKU ({} series)   {one_secs:.2} s", one.series_total);
        println!(
            "  weekly fit of every series (the job)  {fit_secs:.1} s   ({} series)",
            fit.series.len()
        );
        println!(
            "  replenishment plan from the stored fit  {plan_secs:.2} s   ({} rows below their \
             reorder point; fit ÷ plan {:.1}×)",
            plan.rows.len(),
            fit_secs / plan_secs
        );
        println!(
            "  baseline: raw SQL read of every order's body {orders_secs:.1} s ({:.0} MB); \
             of the weekly history {history_secs:.2} s",
            bytes as f64 / 1e6
        );
        println!(
            "  ratio to the order read: default {:.3}×, one SKU {:.3}×, fit {:.2}×, plan {:.2}×",
            top_secs / orders_secs,
            one_secs / orders_secs,
            fit_secs / orders_secs,
            plan_secs / orders_secs
        );
        println!(
            "  ratio to the history read: default {:.2}×, one SKU {:.3}×, fit {:.1}×, plan {:.1}×",
            top_secs / history_secs,
            one_secs / history_secs,
            fit_secs / history_secs,
            plan_secs / history_secs
        );
    }
    Ok(())
}
