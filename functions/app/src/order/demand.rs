//! The demand forecast (seed 003) from the tenant's own orders, and reps' weekly estimates
//! that it blends in. The method lives in `fieldline_domain::demand`; this reads the weekly
//! demand history that order writes keep (`OrderStore::demand_history`).

use crate::error::AppError;
use crate::lead::load_tenant;
use crate::state::AppState;
use chrono::{Duration, NaiveDate};
use fieldline_domain::demand::{
    DemandEstimate, DemandForecast, DemandPoint, DemandRequest, EstimateInput, MAX_HORIZON_WEEKS,
    forecast_demand, order_demand,
};
use fieldline_domain::order::Code;
use fieldline_domain::retail::Week;
use fieldline_domain::stock::{Replenishment, replenishments};
use fieldline_domain::{Actor, Permission, Tenant};
use std::collections::HashMap;

/// Three years of weekly history at most: enough for two seasons and the backtest.
const HISTORY_WEEKS: i64 = 156;

/// What the forecast shows.
#[derive(Debug, Clone, Default)]
pub struct DemandParams {
    pub sku: Option<String>,
    pub region: Option<String>,
    pub horizon: Option<u32>,
    pub backtest_origins: Option<u32>,
    pub limit: Option<u32>,
}

fn invalid(field: &'static str, message: &str) -> AppError {
    fieldline_domain::DomainError::invalid(field, message).into()
}

/// The forecast of the largest SKU × region series with orders (or those of one SKU or
/// region), from the week in progress on (purchasing, managers and admins: the people who
/// plan stock). Demand is what was ordered: every submitted order, cancelled ones included
/// (the customer wanted it), in the week it was created, read from the weekly demand history
/// the order writes keep.
pub async fn demand_forecast(
    state: &AppState,
    actor: &Actor,
    params: DemandParams,
) -> Result<DemandForecast, AppError> {
    actor.check(Permission::PlanSupply)?;
    let horizon = params.horizon.unwrap_or(8);
    if !(1..=MAX_HORIZON_WEEKS).contains(&horizon) {
        return Err(invalid("horizon", "1-26 weeks"));
    }
    let origins = params.backtest_origins.unwrap_or(13);
    if !(1..=52).contains(&origins) {
        return Err(invalid("backtest_origins", "1-52 weeks"));
    }
    let limit = crate::lead::checked_limit(params.limit.unwrap_or(50), 500)?;
    let sku = params
        .sku
        .as_deref()
        .map(|s| Code::parse(s, "sku"))
        .transpose()?;
    let region = params
        .region
        .as_deref()
        .map(|s| Code::parse(s, "region"))
        .transpose()?;
    let only = Only {
        sku,
        region,
        limit: Some(limit as usize),
    };
    let tenant = load_tenant(state, &actor.tenant).await?;
    let estimates = tenant_estimates(state, &tenant, current_origin(state, &tenant)).await?;
    tenant_forecast(state, &tenant, (horizon, origins), only, &estimates).await
}

/// Which series to forecast (none given: all), and how many of the largest (`None`: every
/// one, as the replenishment plan needs).
#[derive(Debug, Default)]
pub(super) struct Only {
    pub sku: Option<Code>,
    pub region: Option<Code>,
    pub limit: Option<usize>,
}

/// The first week of history a forecast from `origin` reads.
fn history_start(origin: NaiveDate) -> NaiveDate {
    origin - Duration::weeks(HISTORY_WEEKS)
}

/// The reps' estimates a forecast from `origin` blends (those within its history).
pub(super) async fn tenant_estimates(
    state: &AppState,
    tenant: &Tenant,
    origin: NaiveDate,
) -> Result<Vec<DemandEstimate>, AppError> {
    Ok(state
        .orders
        .estimates_since(&tenant.id, history_start(origin))
        .await?)
}

/// The Monday of the tenant's current week: the first forecast week.
pub(super) fn current_origin(state: &AppState, tenant: &Tenant) -> NaiveDate {
    Week::of(state.clock.now(), tenant.calendar().time_zone).monday()
}

/// The forecast of the tenant's series that `only` names, from all of its history, blended
/// with `estimates` (`tenant_estimates`).
pub(super) async fn tenant_forecast(
    state: &AppState,
    tenant: &Tenant,
    (horizon, origins): (u32, u32),
    only: Only,
    estimates: &[DemandEstimate],
) -> Result<DemandForecast, AppError> {
    let calendar = tenant.calendar();
    let origin = current_origin(state, tenant);
    let since = history_start(origin);
    // One SKU's history with the tenant's weekly totals (the calendar effect is fitted on
    // them), or all of it: the largest series are ranked in the domain on the history read
    // once (a store-side ranking read it twice, and SQLite's ranking query was slower).
    let (points, totals) = match &only.sku {
        Some(sku) => (
            state
                .orders
                .demand_history(&tenant.id, since, Some(sku))
                .await?,
            Some(state.orders.demand_totals(&tenant.id, since).await?),
        ),
        None => (
            state.orders.demand_history(&tenant.id, since, None).await?,
            None,
        ),
    };
    let request = DemandRequest {
        origin,
        horizon,
        backtest_origins: origins,
        max_series: only.limit.unwrap_or(usize::MAX),
        sku: only.sku.map(|c| c.as_str().to_owned()),
        region: only.region.map(|c| c.as_str().to_owned()),
        totals,
    };
    // Fitting every series of a large tenant takes minutes of CPU: off the async workers
    // that serve requests.
    let estimates = estimates.to_vec();
    let forecast = tokio::task::spawn_blocking(move || {
        forecast_demand(&calendar, &points, &estimates, &request)
    });
    forecast
        .await
        .map_err(|e| AppError::internal("demand forecast", e))
}

/// What a rebuild of the weekly demand history read and wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRebuild {
    /// The first week left as order writes keep it (the tenant's current week).
    pub before: chrono::NaiveDate,
    pub orders: u64,
    /// SKU × warehouse × week points written.
    pub points: u64,
}

/// Rebuilds the tenant's weekly demand history from every order it holds, in its time zone
/// now, for the weeks before the current one (`OrderStore::replace_demand_history`): for a
/// DynamoDB table from before the history was kept, or after the tenant changed its zone.
/// An operator's command (`fieldline rebuild-demand`), run when few orders change: orders
/// are listed by their last change, so one drafted in an earlier week and submitted (or
/// otherwise changed) while they are read is missed until the next run.
pub async fn rebuild_history(
    state: &AppState,
    tenant: &fieldline_domain::TenantId,
) -> Result<HistoryRebuild, AppError> {
    let zone = load_tenant(state, tenant).await?.calendar().time_zone;
    let before = Week::of(state.clock.now(), zone).monday();
    let mut sums: std::collections::BTreeMap<(Code, Code, chrono::NaiveDate), u64> =
        Default::default();
    let mut orders = 0u64;
    let mut seen = std::collections::HashSet::new();
    let mut after = None;
    loop {
        let query = fieldline_store::OrderQuery {
            scope: fieldline_domain::LeadScope::Tenant,
            status: None,
            customer: None,
            limit: fieldline_store::MAX_PAGE,
            after,
        };
        let page = state.orders.list_orders(tenant, &query).await?;
        // Listed by last change: an order changed during the read may come twice.
        for order in page.items.iter().filter(|o| seen.insert(o.id)) {
            orders += 1;
            for p in order_demand(order, zone) {
                if p.day < before {
                    *sums.entry((p.sku, p.region, p.day)).or_default() += p.quantity;
                }
            }
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let points: Vec<DemandPoint> = sums
        .into_iter()
        .map(|((sku, region, day), quantity)| DemandPoint {
            day,
            sku,
            region,
            quantity,
        })
        .collect();
    state
        .orders
        .replace_demand_history(tenant, before, &points)
        .await?;
    Ok(HistoryRebuild {
        before,
        orders,
        points: points.len() as u64,
    })
}

/// Records what a rep expects to sell of a SKU in a region in one week (this week or
/// later); their earlier figure for the same week is replaced.
pub async fn put_estimate(
    state: &AppState,
    actor: &Actor,
    input: EstimateInput,
) -> Result<DemandEstimate, AppError> {
    let tenant = load_tenant(state, &actor.tenant).await?;
    let now = state.clock.now();
    if input.week < Week::of(state.clock.now(), tenant.calendar().time_zone).monday() {
        return Err(invalid("week", "this week or a later one"));
    }
    if state
        .orders
        .get_skus(&actor.tenant, std::slice::from_ref(&input.sku))
        .await?
        .is_empty()
    {
        return Err(AppError::NotFound(format!("no SKU {}", input.sku)));
    }
    // A region is a location on record, or one that holds the SKU in the stock feed.
    let locations = state.orders.list_locations(&actor.tenant).await?;
    let stocked = state.orders.stock_of(&actor.tenant, &input.sku).await?;
    if !locations.iter().any(|l| l.code == input.region)
        && !stocked.iter().any(|l| l.location == input.region)
    {
        return Err(AppError::NotFound(format!("no location {}", input.region)));
    }
    let estimate = DemandEstimate::new(&actor.tenant, input, actor.user, now)?;
    state.orders.put_estimate(&estimate).await?;
    Ok(estimate)
}

/// Every SKU × location at or below its reorder point: safety stock plus the forecast demand
/// over the tenant's lead time (seed 003), with spare stock elsewhere to move first and the
/// rest to buy. Purchasing, managers and admins. The forecast is the week's stored fit
/// (`lead_demand`), applied to the stock as it is now.
pub async fn replenishment(state: &AppState, actor: &Actor) -> Result<ReplenishmentPlan, AppError> {
    actor.check(Permission::PlanSupply)?;
    let fit = super::lead_demand::current(state, &actor.tenant).await?;
    let levels = state.orders.list_stock(&actor.tenant).await?;
    let locations = state.orders.list_locations(&actor.tenant).await?;
    let mut codes: Vec<Code> = levels.iter().map(|l| l.sku.clone()).collect();
    codes.dedup();
    let skus = state.orders.get_skus(&actor.tenant, &codes).await?;
    // Lead-time demand per SKU × location (a tenant may have millions of series).
    let lead_demand = fit.by_series();
    let catalogue: HashMap<&Code, &fieldline_domain::order::Sku> =
        skus.iter().map(|s| (&s.code, s)).collect();
    let mut out = Vec::new();
    // The stock rows come by SKU: each SKU is planned on its own rows only.
    for rows in levels.chunk_by(|a, b| a.sku == b.sku) {
        let Some(sku) = catalogue.get(&rows[0].sku) else {
            continue;
        };
        let demand = |location: &Code| {
            lead_demand
                .get(&(sku.code.as_str(), location.as_str()))
                .copied()
                .unwrap_or(0.0)
        };
        out.extend(replenishments(sku, rows, demand, &locations));
    }
    // Emptiest first: the further below its reorder point, the sooner it runs out.
    out.sort_by(|a, b| {
        (a.available as f64 - a.reorder_point)
            .total_cmp(&(b.available as f64 - b.reorder_point))
            .then_with(|| (&a.sku, &a.location).cmp(&(&b.sku, &b.location)))
    });
    Ok(ReplenishmentPlan {
        forecast_week: fit.origin,
        rows: out,
    })
}

/// The replenishment list, and the week its forecast was fitted for: this week's, or last
/// week's while this week's is being made.
#[derive(Debug, Clone)]
pub struct ReplenishmentPlan {
    pub forecast_week: NaiveDate,
    pub rows: Vec<Replenishment>,
}
