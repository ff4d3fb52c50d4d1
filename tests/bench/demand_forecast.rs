//! The demand forecast's rolling-origin backtest on two histories: WAPE and bias, skill
//! against the seasonal naive forecast scored on the same points in the same run (the
//! baseline: 1 − WAPE / naive WAPE), and how often actual weekly demand fell inside the 80 %
//! interval (nominal 0.80), overall and per horizon.
//!
//! Two histories (no real order history is available to us, so both are generated):
//! - the demo tenant's two years of distributor orders (`fieldline_demo::seed`), through the
//!   same use case the API calls;
//! - lumpy B2B demand made straight for the domain function: each SKU × region is a handful
//!   of customers who each order in a given week with some probability and then in lots of
//!   log-normal size, on mainland China's calendar with a yearly swing — the shape real
//!   distributor orders have and Gaussian noise does not.
//!
//! Then how the forecast's time grows with the number of SKU × region series (lumpy demand, 104
//! weeks, the API's default 13 origins × 8 weeks), against a baseline in the same run: putting
//! the same order lines into weekly series and scoring the seasonal naive forecast on them —
//! what any forecast costs before it fits anything.
//!
//! `cargo bench -p fieldline-tests --bench demand_forecast`
//! env: BENCH_ORIGINS (26), BENCH_HORIZON (8), BENCH_SEEDS (5), BENCH_MAX_SERIES (2400)

use chrono::{Duration, NaiveDate};
use fieldline_app::order::{DemandParams, demand_forecast};
use fieldline_domain::demand::{DemandPoint, DemandRequest, Score, forecast_demand};
use fieldline_domain::order::Code;
use fieldline_domain::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, LogNormal};
use std::collections::HashMap;
use std::time::Instant;

use fieldline_tests::bench::env_or;

fn row(name: &str, s: &Score) {
    let f = |x: Option<f64>| x.map_or("—".to_owned(), |v| format!("{v:.3}"));
    println!(
        "{name:<28} {:>6} {:>9} {:>7} {:>7} {:>7} {:>7}",
        s.points,
        f(s.interval_coverage),
        f(s.wape),
        f(s.seasonal_naive_wape),
        f(s.bias),
        f(s.skill)
    );
}

fn header(title: &str) {
    println!("\n{title}");
    println!(
        "{:<28} {:>6} {:>9} {:>7} {:>7} {:>7} {:>7}",
        "", "points", "coverage", "WAPE", "naive", "bias", "skill"
    );
}

/// Lumpy B2B demand: `customers` buyers per series, each ordering in a week with probability
/// `p` (scaled by the week's working days and a ±25 % yearly swing), lots log-normal.
fn lumpy(
    cal: &BusinessCalendar,
    first: NaiveDate,
    weeks: usize,
    seed: u64,
    skus: usize,
) -> Vec<DemandPoint> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut points = Vec::new();
    for sku in 0..skus {
        let lot: LogNormal<f64> =
            LogNormal::new(rng.random_range(1.5..3.5), rng.random_range(0.4..1.0)).unwrap();
        for region in 0..4 {
            let customers = rng.random_range(3..25);
            let p = rng.random_range(0.15..0.6);
            for w in 0..weeks {
                let monday = first + Duration::weeks(w as i64);
                let days = (0..7)
                    .filter(|d| cal.is_working_day(monday + Duration::days(*d)))
                    .count() as f64;
                let season =
                    1.0 + 0.25 * (2.0 * std::f64::consts::PI * w as f64 / 52.18 + sku as f64).sin();
                let chance = (p * season * days / 5.0).clamp(0.0, 0.95);
                let mut qty = 0.0;
                for _ in 0..customers {
                    if rng.random_bool(chance) {
                        qty += lot.sample(&mut rng).round().max(1.0);
                    }
                }
                if qty > 0.0 {
                    points.push(DemandPoint {
                        day: monday + Duration::days(2),
                        sku: Code::parse(&format!("SKU-{sku}"), "sku").unwrap(),
                        region: Code::parse(&format!("WH-{region}"), "region").unwrap(),
                        quantity: qty as u64,
                    });
                }
            }
        }
    }
    points
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let origins = env_or("BENCH_ORIGINS", 26) as u32;
    let horizon = env_or("BENCH_HORIZON", 8) as u32;
    let seeds = env_or("BENCH_SEEDS", 5) as u64;

    // The demo tenant, through the API's use case.
    let bench = fieldline_tests::bench::embedded_app()?;
    let state = bench.app.state().clone();
    let demo = fieldline_demo::seed(&state, 150, 60, 7).await?;
    let admin = Actor {
        user: demo.admin.id,
        tenant: demo.tenant.clone(),
        role: Role::Admin,
        team: None,
    };
    let params = DemandParams {
        sku: None,
        region: None,
        horizon: Some(horizon),
        backtest_origins: Some(origins),
        // Every series of the demo tenant (it has tens): the backtest scores those asked for.
        limit: Some(500),
    };
    let f = demand_forecast(&state, &admin, params).await?;
    header(&format!(
        "demo tenant: {} series, {origins} origins × {horizon} weeks",
        f.series_total
    ));
    row("overall", &f.backtest.overall);
    for h in &f.backtest.by_horizon {
        row(&format!("h={}", h.horizon), &h.score);
    }

    // Lumpy B2B demand, several seeds, on the domain function.
    let cal = BusinessCalendar::china_mainland();
    let first: NaiveDate = "2024-11-25".parse()?;
    header(&format!(
        "lumpy B2B demand: 24 series × {seeds} seeds, 104 weeks, {origins} origins × {horizon} weeks"
    ));
    for seed in 0..seeds {
        let points = lumpy(&cal, first, 104, 0xB2B + seed, 6);
        let f = forecast_demand(&cal, &points, &[], &all_series(first, horizon, origins));
        row(&format!("seed {seed}"), &f.backtest.overall);
    }

    let max_series = env_or("BENCH_MAX_SERIES", 2400);
    println!("\nforecast time by series (13 origins × 8 weeks, 104 weeks of history)");
    println!(
        "{:>7} {:>12} {:>10} {:>14} {:>8}",
        "series", "order lines", "forecast s", "naive baseline s", "ratio"
    );
    let mut skus = 6;
    while skus * 4 <= max_series {
        let points = lumpy(&cal, first, 104, 0x5CA1E, skus);
        let started = Instant::now();
        let naive = naive_wape(&points, first, 104, 13);
        let baseline = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let f = forecast_demand(&cal, &points, &[], &all_series(first, 8, 13));
        let took = started.elapsed().as_secs_f64();
        assert_eq!(f.series_total as usize, skus * 4);
        assert!(naive > 0.0);
        println!(
            "{:>7} {:>12} {:>10.3} {:>14.4} {:>8.0}",
            skus * 4,
            points.len(),
            took,
            baseline,
            took / baseline
        );
        skus *= 10;
    }
    Ok(())
}

/// Every series forecast from 104 weeks after `first`.
fn all_series(first: NaiveDate, horizon: u32, origins: u32) -> DemandRequest {
    DemandRequest {
        origin: first + Duration::weeks(104),
        horizon,
        backtest_origins: origins,
        max_series: usize::MAX,
        sku: None,
        region: None,
        totals: None,
    }
}

/// The baseline: order lines into weekly series, then the seasonal naive forecast's WAPE over
/// the last `scored` weeks.
fn naive_wape(points: &[DemandPoint], first: NaiveDate, weeks: usize, scored: usize) -> f64 {
    let mut series: HashMap<(&str, &str), Vec<f64>> = HashMap::new();
    for p in points {
        let w = ((p.day - first).num_days() / 7) as usize;
        series
            .entry((p.sku.as_str(), p.region.as_str()))
            .or_insert_with(|| vec![0.0; weeks])[w] += p.quantity as f64;
    }
    let (mut error, mut actual) = (0.0, 0.0);
    for qty in series.values() {
        for w in weeks - scored..weeks {
            error += (qty[w - 52] - qty[w]).abs();
            actual += qty[w];
        }
    }
    error / actual.max(1.0)
}
