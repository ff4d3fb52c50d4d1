use crate::auth::Authenticated;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::idempotency::{IdempotencyHeader, created};
use crate::state::AppState;
use crate::visit as usecase;
use axum::Json;
use axum::extract::State;
use axum::response::Response;
use fieldline_domain::VisitId;
use fieldline_domain::visit::{CheckIn, CheckOut, Visit, VisitPolicy};
use fieldline_store::Created;

/// Check in at a customer with the phone's position (WGS-84; send `datum: "gcj02"` for a
/// position from a Chinese map app, converted here). A check-in farther from the customer's
/// mapped address than the tenant allows is flagged `far`.
#[utoipa::path(post, path = "/v1/visits", tag = "visits", security(("bearer" = [])),
    request_body = CheckIn,
    params(("Idempotency-Key" = Option<String>, Header, pattern = r"^[!-~]{1,128}$", description = "Makes retries safe: the same key returns the same visit")),
    responses((status = 201, body = Visit), (status = 200, description = "A retry; the visit made first", body = Visit),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn check_in(
    State(state): State<AppState>,
    auth: Authenticated,
    IdempotencyHeader(key): IdempotencyHeader,
    ApiJson(input): ApiJson<CheckIn>,
) -> Result<Response, ApiError> {
    let outcome = usecase::check_in(&state, &auth.actor, input, key).await?;
    let location = match &outcome {
        Created::New(v) => Some(format!("/v1/visits/{}", v.id)),
        Created::Replayed(_) => None,
    };
    Ok(created(outcome, location))
}

/// Check out of your visit with the key actions done and the shelf photos taken (your
/// uploads); the visit is judged against the tenant's policy (`valid`, `invalid_reasons`).
#[utoipa::path(post, path = "/v1/visits/{id}/check-out", tag = "visits", security(("bearer" = [])),
    params(("id" = VisitId, Path)),
    request_body = CheckOut,
    responses((status = 200, body = Visit), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn check_out(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<VisitId>,
    ApiJson(input): ApiJson<CheckOut>,
) -> Result<Json<Visit>, ApiError> {
    Ok(Json(
        usecase::check_out(&state, &auth.actor, id, input).await?,
    ))
}

/// The visits you may see (yours; your team's as a manager; all as an admin) checked in
/// during `[from, to)`, newest first, at most 500.
#[utoipa::path(get, path = "/v1/visits", tag = "visits", security(("bearer" = [])),
    params(VisitReportParams),
    responses((status = 200, body = Vec<Visit>), (status = 400, body = ErrorBody)))]
pub async fn list_visits(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(params): ApiQuery<VisitReportParams>,
) -> Result<Json<Vec<Visit>>, ApiError> {
    Ok(Json(
        usecase::list_visits(&state, &auth.actor, params.from, params.to).await?,
    ))
}

#[utoipa::path(get, path = "/v1/visits/{id}", tag = "visits", security(("bearer" = [])),
    params(("id" = VisitId, Path)),
    responses((status = 200, body = Visit), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_visit(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<VisitId>,
) -> Result<Json<Visit>, ApiError> {
    Ok(Json(usecase::get_visit(&state, &auth.actor, id).await?))
}

/// What a valid visit needs: distance, dwell, check-out, photo, key actions.
#[utoipa::path(get, path = "/v1/settings/visits", tag = "visits", security(("bearer" = [])),
    responses((status = 200, body = VisitPolicy)))]
pub async fn visit_policy(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<Json<VisitPolicy>, ApiError> {
    Ok(Json(usecase::visit_policy(&state, &auth.actor).await?))
}

#[utoipa::path(put, path = "/v1/settings/visits", tag = "visits", security(("bearer" = [])),
    request_body = VisitPolicy,
    responses((status = 200, body = VisitPolicy), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_visit_policy(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(policy): ApiJson<VisitPolicy>,
) -> Result<Json<VisitPolicy>, ApiError> {
    Ok(Json(
        usecase::set_visit_policy(&state, &auth.actor, policy).await?,
    ))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct VisitReportParams {
    /// Start of the period (RFC 3339, inclusive).
    from: chrono::DateTime<chrono::Utc>,
    /// End of the period (RFC 3339, exclusive).
    to: chrono::DateTime<chrono::Utc>,
}

/// Visits in a period per rep: valid, invalid, open, far, and the invalid-visit rate
/// (无效拜访率), scoped like the lead report.
#[utoipa::path(get, path = "/v1/metrics/visits", tag = "visits", security(("bearer" = [])),
    params(VisitReportParams),
    responses((status = 200, body = usecase::VisitReport), (status = 400, body = ErrorBody)))]
pub async fn visit_metrics(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(params): ApiQuery<VisitReportParams>,
) -> Result<Json<usecase::VisitReport>, ApiError> {
    Ok(Json(
        usecase::visit_report(&state, &auth.actor, params.from, params.to).await?,
    ))
}
