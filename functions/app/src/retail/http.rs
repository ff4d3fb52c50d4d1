use crate::auth::Authenticated;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::idempotency::{IdempotencyHeader, created};
use crate::retail as usecase;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::response::Response;
use fieldline_domain::CustomerId;
use fieldline_domain::retail::{NewSaleTags, RetailPolicy, SaleTags};

/// Tag a sale at a store in three taps: what the customer cared about, what held them back,
/// the competitor compared — each from the tenant's catalogue, at least one. Counted in the
/// store's region and week; a tag that spikes there fires `sale_tag_spiked` rules.
#[utoipa::path(post, path = "/v1/stores/{id}/sale-tags", tag = "stores", security(("bearer" = [])),
    params(("id" = CustomerId, Path, description = "The store (a customer)"),
        ("Idempotency-Key" = Option<String>, Header, pattern = r"^[!-~]{1,128}$", description = "Makes retries safe: the same key counts the sale once")),
    request_body = NewSaleTags,
    responses((status = 201, body = SaleTags), (status = 200, description = "A retry; counted once already", body = SaleTags),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn tag_sale(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<CustomerId>,
    IdempotencyHeader(key): IdempotencyHeader,
    ApiJson(input): ApiJson<NewSaleTags>,
) -> Result<Response, ApiError> {
    let outcome = usecase::tag_sale(&state, &auth.actor, id, input, key).await?;
    Ok(created(outcome, None))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SaleTagReportParams {
    /// How many weeks back, this week included (default 8, at most 26).
    #[param(minimum = 1, maximum = 26)]
    weeks: Option<u32>,
}

/// Quick sale tags by ISO week and region (the store's team), each tag's share of the week's
/// tagged sales, and the spikes: a tag whose share is significantly over its share in the
/// weeks before (one-sided two-proportion z-test; see `test`). Managers see their team's
/// region, admins every region.
#[utoipa::path(get, path = "/v1/metrics/sale-tags", tag = "stores", security(("bearer" = [])),
    params(SaleTagReportParams),
    responses((status = 200, body = usecase::SaleTagReport), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn sale_tag_report(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(params): ApiQuery<SaleTagReportParams>,
) -> Result<Json<usecase::SaleTagReport>, ApiError> {
    Ok(Json(
        usecase::sale_tag_report(&state, &auth.actor, params.weeks.unwrap_or(8)).await?,
    ))
}

/// The quick-tag catalogue, the spike test, shelf price floors per SKU and the tags that
/// make a store a key store.
#[utoipa::path(get, path = "/v1/settings/retail", tag = "stores", security(("bearer" = [])),
    responses((status = 200, body = RetailPolicy)))]
pub async fn retail_policy(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<Json<RetailPolicy>, ApiError> {
    Ok(Json(usecase::retail_policy(&state, &auth.actor).await?))
}

#[utoipa::path(put, path = "/v1/settings/retail", tag = "stores", security(("bearer" = [])),
    request_body = RetailPolicy,
    responses((status = 200, body = RetailPolicy), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_retail_policy(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(policy): ApiJson<RetailPolicy>,
) -> Result<Json<RetailPolicy>, ApiError> {
    Ok(Json(
        usecase::set_retail_policy(&state, &auth.actor, policy).await?,
    ))
}
