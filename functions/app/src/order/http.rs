use crate::auth::Authenticated;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::idempotency::{IdempotencyHeader, created};
use crate::order as usecase;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use fieldline_domain::order::{
    InventoryBatch, NewOrder, Order, OrderPolicy, OrderStatus, Sku, SkuInput, StockLevel,
};
use fieldline_domain::stock::{Location, LocationInput};
use fieldline_domain::{CustomerId, OrderId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Creates or replaces a catalogue entry: its list price, floor price and safety stock.
#[utoipa::path(put, path = "/v1/skus/{code}", tag = "orders", security(("bearer" = [])),
    params(("code" = String, Path, pattern = r"^[A-Za-z0-9._/-]{1,64}$", description = "The SKU code")),
    request_body = SkuInput,
    responses((status = 200, body = Sku), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn put_sku(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(code): ApiPath<String>,
    ApiJson(input): ApiJson<SkuInput>,
) -> Result<Json<Sku>, ApiError> {
    Ok(Json(
        usecase::put_sku(&state, &auth.actor, &code, input).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SkuListParams {
    /// The last code of the previous page.
    #[param(pattern = r"^[A-Za-z0-9._/-]{1,64}$")]
    after: Option<String>,
    /// Page size (default 100).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
}

/// The catalogue by code.
#[utoipa::path(get, path = "/v1/skus", tag = "orders", security(("bearer" = [])),
    params(SkuListParams),
    responses((status = 200, body = Vec<Sku>), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_skus(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(params): ApiQuery<SkuListParams>,
) -> Result<Json<Vec<Sku>>, ApiError> {
    let limit = crate::lead::checked_limit(params.limit.unwrap_or(100), 200)?;
    Ok(Json(
        usecase::list_skus(&state, &auth.actor, params.after.as_deref(), limit).await?,
    ))
}

/// A SKU's stock at every location: on hand, reserved by submitted orders, available.
#[utoipa::path(get, path = "/v1/skus/{code}/stock", tag = "orders", security(("bearer" = [])),
    params(("code" = String, Path, pattern = r"^[A-Za-z0-9._/-]{1,64}$", description = "The SKU code")),
    responses((status = 200, body = Vec<StockLevel>), (status = 422, body = ErrorBody)))]
pub async fn stock_of(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<Vec<StockLevel>>, ApiError> {
    Ok(Json(usecase::stock_of(&state, &auth.actor, &code).await?))
}

/// An inventory feed: each row sets a SKU's on-hand count at a location (reservations are
/// kept). Answers the rows now below their SKU's safety stock.
#[utoipa::path(put, path = "/v1/inventory", tag = "orders", security(("bearer" = [])),
    request_body = InventoryBatch,
    responses((status = 200, body = usecase::InventoryResult), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn put_inventory(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(batch): ApiJson<InventoryBatch>,
) -> Result<Json<usecase::InventoryResult>, ApiError> {
    Ok(Json(
        usecase::put_inventory(&state, &auth.actor, batch).await?,
    ))
}

/// Drafts an order for a customer you work on, priced from the catalogue (a line may carry
/// its own price and a discount). Submit it with `POST /v1/orders/{id}/actions`.
#[utoipa::path(post, path = "/v1/orders", tag = "orders", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, pattern = r"^[!-~]{1,128}$", description = "Makes retries safe: the same key answers the same draft")),
    request_body = NewOrder,
    responses((status = 201, body = Order), (status = 200, description = "A retry; the draft made before", body = Order),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn create_order(
    State(state): State<AppState>,
    auth: Authenticated,
    IdempotencyHeader(key): IdempotencyHeader,
    ApiJson(input): ApiJson<NewOrder>,
) -> Result<Response, ApiError> {
    let outcome = usecase::create_order(&state, &auth.actor, input, key).await?;
    let id = match &outcome {
        fieldline_store::Created::New(o) | fieldline_store::Created::Replayed(o) => o.id,
    };
    let location = format!("/v1/orders/{id}");
    Ok(created(outcome, Some(location)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OrderListParams {
    status: Option<OrderStatus>,
    customer: Option<CustomerId>,
    /// Page size (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
    /// `next_cursor` from the previous page.
    cursor: Option<String>,
}

/// One page of orders, newest change first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OrderPage {
    pub items: Vec<Order>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// The orders you can see: your customers' (rep), your team's (manager), all (admin).
#[utoipa::path(get, path = "/v1/orders", tag = "orders", security(("bearer" = [])),
    params(OrderListParams),
    responses((status = 200, body = OrderPage), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_orders(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(params): ApiQuery<OrderListParams>,
) -> Result<Json<OrderPage>, ApiError> {
    let limit = params
        .limit
        .map(|l| crate::lead::checked_limit(l, 200))
        .transpose()?;
    let filter = usecase::OrderFilter {
        status: params.status,
        customer: params.customer,
        limit,
        cursor: params.cursor,
    };
    let page = usecase::list_orders(&state, &auth.actor, filter).await?;
    Ok(Json(OrderPage {
        items: page.items,
        next_cursor: page.next.map(|c| c.encode()),
    }))
}

#[utoipa::path(get, path = "/v1/orders/{id}", tag = "orders", security(("bearer" = [])),
    params(("id" = OrderId, Path)),
    responses((status = 200, body = Order), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_order(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<OrderId>,
) -> Result<Json<Order>, ApiError> {
    Ok(Json(usecase::get_order(&state, &auth.actor, id).await?))
}

/// Moves an order on: `submit` (credit and stock checks; every line reserved or a 409
/// `out_of_stock` naming each short line), `approve` (managers, for held orders), `pay`,
/// `ship` and `deliver` (the warehouse, managers and admins), `cancel`. Each applies only at
/// `expected_version`; a refused move changes nothing.
#[utoipa::path(post, path = "/v1/orders/{id}/actions", tag = "orders", security(("bearer" = [])),
    params(("id" = OrderId, Path)),
    request_body = usecase::OrderAction,
    responses((status = 200, body = Order), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "Version conflict or out of stock (`details.shortfall`)", body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn act(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<OrderId>,
    ApiJson(action): ApiJson<usecase::OrderAction>,
) -> Result<Json<Order>, ApiError> {
    Ok(Json(usecase::act(&state, &auth.actor, id, action).await?))
}

/// When credit freezes (days overdue) and which discount needs a manager.
#[utoipa::path(get, path = "/v1/settings/orders", tag = "orders", security(("bearer" = [])),
    responses((status = 200, body = OrderPolicy)))]
pub async fn order_policy(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<Json<OrderPolicy>, ApiError> {
    Ok(Json(usecase::order_policy(&state, &auth.actor).await?))
}

#[utoipa::path(put, path = "/v1/settings/orders", tag = "orders", security(("bearer" = [])),
    request_body = OrderPolicy,
    responses((status = 200, body = OrderPolicy), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_order_policy(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(policy): ApiJson<OrderPolicy>,
) -> Result<Json<OrderPolicy>, ApiError> {
    Ok(Json(
        usecase::set_order_policy(&state, &auth.actor, policy).await?,
    ))
}

/// Creates or replaces a stock location (its place on the map decides which location a
/// paused order is pointed to).
#[utoipa::path(put, path = "/v1/locations/{code}", tag = "orders", security(("bearer" = [])),
    params(("code" = String, Path, pattern = r"^[A-Za-z0-9._/-]{1,64}$", description = "The location code")),
    request_body = LocationInput,
    responses((status = 200, body = Location), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_location(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(code): ApiPath<String>,
    ApiJson(input): ApiJson<LocationInput>,
) -> Result<Json<Location>, ApiError> {
    Ok(Json(
        usecase::put_location(&state, &auth.actor, &code, input).await?,
    ))
}

#[utoipa::path(get, path = "/v1/locations", tag = "orders", security(("bearer" = [])),
    responses((status = 200, body = Vec<Location>)))]
pub async fn list_locations(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<Json<Vec<Location>>, ApiError> {
    Ok(Json(usecase::list_locations(&state, &auth.actor).await?))
}

/// Overrides the stock breaker of a SKU at a location (orders go through below the safety
/// stock) or rolls the override back; audited in the breaker's history.
#[utoipa::path(post, path = "/v1/skus/{code}/breaker", tag = "orders", security(("bearer" = [])),
    params(("code" = String, Path, pattern = r"^[A-Za-z0-9._/-]{1,64}$", description = "The SKU code")),
    request_body = usecase::BreakerChange,
    responses((status = 200, body = usecase::BreakerView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn change_breaker(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(code): ApiPath<String>,
    ApiJson(change): ApiJson<usecase::BreakerChange>,
) -> Result<Json<usecase::BreakerView>, ApiError> {
    Ok(Json(
        usecase::change_breaker(&state, &auth.actor, &code, change).await?,
    ))
}

/// The imbalance map: each SKU's cover at each location and its breaker state, SKUs with a
/// tripped location first; `rebalance` marks stock to move rather than buy.
#[utoipa::path(get, path = "/v1/stock/imbalance", tag = "orders", security(("bearer" = [])),
    responses((status = 200, body = Vec<usecase::ImbalanceRow>), (status = 403, body = ErrorBody)))]
pub async fn imbalance(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<Json<Vec<usecase::ImbalanceRow>>, ApiError> {
    Ok(Json(usecase::imbalance(&state, &auth.actor).await?))
}

/// Orders holding stock where a breaker has tripped, each line with the nearest location
/// that could serve it instead: lines of the customers who bought most first (seed 004).
#[utoipa::path(get, path = "/v1/stock/reallocations", tag = "orders", security(("bearer" = [])),
    responses((status = 200, body = Vec<fieldline_domain::stock::PendingReallocation>),
        (status = 403, body = ErrorBody)))]
pub async fn pending_reallocations(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<Json<Vec<fieldline_domain::stock::PendingReallocation>>, ApiError> {
    Ok(Json(
        usecase::pending_reallocations(&state, &auth.actor).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DemandQuery {
    /// Only this SKU: only its series are fitted and backtested (the calendar effect comes
    /// from the tenant's weekly totals and the season from all the SKU's warehouses, so its
    /// figures are those of the full forecast).
    #[param(pattern = r"^[A-Za-z0-9._/-]{1,64}$")]
    sku: Option<String>,
    /// Only this region (the warehouse orders ship from).
    #[param(pattern = r"^[A-Za-z0-9._/-]{1,64}$")]
    region: Option<String>,
    /// Weeks to forecast (default 8).
    #[param(minimum = 1, maximum = 26)]
    horizon: Option<u32>,
    /// Past weeks the backtest forecasts from (default 13).
    #[param(minimum = 1, maximum = 52)]
    backtest_origins: Option<u32>,
    /// At most this many series, largest first (default 50): only these are fitted and
    /// backtested; `series_total` counts every series asked for.
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

/// Weekly demand per SKU × region from the week in progress on, with 80 % intervals, reps'
/// estimates blended in, the fitted holiday effects and a rolling-origin backtest (WAPE,
/// bias, coverage, skill against the seasonal naive forecast). Purchasing, managers and
/// admins.
#[utoipa::path(get, path = "/v1/forecast/demand", tag = "orders", security(("bearer" = [])),
    params(DemandQuery),
    responses((status = 200, body = fieldline_domain::demand::DemandForecast),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn demand_forecast(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(q): ApiQuery<DemandQuery>,
) -> Result<Json<fieldline_domain::demand::DemandForecast>, ApiError> {
    let params = usecase::DemandParams {
        sku: q.sku,
        region: q.region,
        horizon: q.horizon,
        backtest_origins: q.backtest_origins,
        limit: q.limit,
    };
    Ok(Json(
        usecase::demand_forecast(&state, &auth.actor, params).await?,
    ))
}

/// A rep's estimate of a week's demand for a SKU in a region (this week or later); it
/// replaces their earlier figure for that week and is blended into the forecast.
#[utoipa::path(put, path = "/v1/forecast/estimates", tag = "orders", security(("bearer" = [])),
    request_body = fieldline_domain::demand::EstimateInput,
    responses((status = 200, body = fieldline_domain::demand::DemandEstimate),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_estimate(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(input): ApiJson<fieldline_domain::demand::EstimateInput>,
) -> Result<Json<fieldline_domain::demand::DemandEstimate>, ApiError> {
    Ok(Json(
        usecase::put_estimate(&state, &auth.actor, input).await?,
    ))
}

/// Stock to replenish: every SKU × location at or below its reorder point (safety stock plus
/// forecast demand over the tenant's lead time), emptiest first, with spare units elsewhere
/// to move (nearest first) and the rest for purchasing. Purchasing, managers and admins.
/// `Fieldline-Forecast-Week` is the Monday of the week the forecast was fitted for: this
/// week's, or last week's while a large tenant's new fit is being made.
#[utoipa::path(get, path = "/v1/stock/replenishment", tag = "orders", security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<fieldline_domain::stock::Replenishment>,
            headers(("Fieldline-Forecast-Week" = String, description = "Monday of the forecast's week"))),
        (status = 403, body = ErrorBody)))]
pub async fn replenishment(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<impl IntoResponse, ApiError> {
    let plan = usecase::replenishment(&state, &auth.actor).await?;
    let week = [(FORECAST_WEEK, plan.forecast_week.to_string())];
    Ok((week, Json(plan.rows)))
}

/// The response header naming the week a replenishment plan's forecast is from.
const FORECAST_WEEK: &str = "fieldline-forecast-week";
