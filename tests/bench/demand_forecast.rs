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
//! `cargo bench -p fieldline-tests --bench demand_forecast`
//! env: BENCH_ORIGINS (26), BENCH_HORIZON (8), BENCH_SEEDS (5)

use chrono::{Duration, NaiveDate};
use fieldline_app::order::{DemandParams, demand_forecast};
use fieldline_domain::demand::{DemandPoint, DemandRequest, Score, forecast_demand};
use fieldline_domain::order::Code;
use fieldline_domain::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, LogNormal};

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
fn lumpy(cal: &BusinessCalendar, first: NaiveDate, weeks: usize, seed: u64) -> Vec<DemandPoint> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut points = Vec::new();
    for sku in 0..6 {
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
        limit: Some(1),
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
        let points = lumpy(&cal, first, 104, 0xB2B + seed);
        let f = forecast_demand(
            &cal,
            &points,
            &[],
            &DemandRequest {
                origin: first + Duration::weeks(104),
                horizon,
                backtest_origins: origins,
                max_series: 1,
            },
        );
        row(&format!("seed {seed}"), &f.backtest.overall);
    }
    Ok(())
}
