use crate::auth::Authenticated;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::ApiQuery;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MetricsParams {
    /// Start of the period (RFC 3339, inclusive).
    from: chrono::DateTime<chrono::Utc>,
    /// End of the period (RFC 3339, exclusive).
    to: chrono::DateTime<chrono::Utc>,
}

/// Lead process health for a period: 24 h response rate, 72 h activation rate, SLA breaches,
/// median time to first contact, stale leads and the pool, per rep, team and in total.
#[utoipa::path(get, path = "/v1/metrics/leads", tag = "automation", security(("bearer" = [])),
    params(MetricsParams),
    responses((status = 200, body = crate::metrics::MetricsReport), (status = 400, body = ErrorBody)))]
pub async fn lead_metrics(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(params): ApiQuery<MetricsParams>,
) -> Result<Json<crate::metrics::MetricsReport>, ApiError> {
    Ok(Json(
        crate::metrics::lead_report(&state, &auth.actor, params.from, params.to).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PipelineMetricsParams {
    /// Default `default`.
    pipeline: Option<String>,
    /// Start of the period (RFC 3339, inclusive).
    from: chrono::DateTime<chrono::Utc>,
    /// End of the period (RFC 3339, exclusive); at most 366 days after `from`.
    to: chrono::DateTime<chrono::Utc>,
    /// Penetration counts a move to the next stage within this many hours (default 720).
    #[param(minimum = 1, maximum = 8760)]
    within_hours: Option<u32>,
}

/// Deal process health for a period, rebuilt from the stage log: funnel, stage penetration,
/// median and p90 dwell per stage, the dwell heat map (stage × team, cells over the stage's
/// rotting limit flagged), win rate, cycle length and stalled deals. Scoped like the deals.
#[utoipa::path(get, path = "/v1/metrics/pipeline", tag = "deals", security(("bearer" = [])),
    params(PipelineMetricsParams),
    responses((status = 200, body = fieldline_domain::pipeline_metrics::PipelineMetrics),
        (status = 400, body = ErrorBody), (status = 404, description = "No such pipeline", body = ErrorBody)))]
pub async fn pipeline_metrics(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(params): ApiQuery<PipelineMetricsParams>,
) -> Result<Json<fieldline_domain::pipeline_metrics::PipelineMetrics>, ApiError> {
    let within = params.within_hours.unwrap_or(720);
    if !(1..=8760).contains(&within) {
        return Err(ApiError::bad_request(
            "invalid_query",
            "within_hours must be between 1 and 8760",
        ));
    }
    Ok(Json(
        crate::metrics::pipeline_report(
            &state,
            &auth.actor,
            params.pipeline,
            params.from,
            params.to,
            i64::from(within),
        )
        .await?,
    ))
}

/// Customers by grade and health per team, coverage depth (roles met per customer; the seeds'
/// B2B target is 2.3), and each rep's standing in the tenant ("TOP n%") on lead activation
/// (72 h), coverage depth and proposal iteration frequency over the last 90 days, with the
/// suggestion the seeds show. Reps see their own row, managers their team's, admins all.
#[utoipa::path(get, path = "/v1/metrics/customers", tag = "customers", security(("bearer" = [])),
    responses((status = 200, body = crate::metrics::CustomerReport)))]
pub async fn customer_metrics(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<Json<crate::metrics::CustomerReport>, ApiError> {
    Ok(Json(
        crate::metrics::customer_report(&state, &auth.actor).await?,
    ))
}

/// The auto-capture rate for a period: of the leads, contacts and activities each rep made,
/// the share capture made from their cards, voice notes and shelf photos, graded against the
/// seeds' thresholds (healthy ≥ 76 %, warning < 40 %); per rep, team and in total, scoped like
/// the lead report.
#[utoipa::path(get, path = "/v1/metrics/capture", tag = "uploads", security(("bearer" = [])),
    params(MetricsParams),
    responses((status = 200, body = crate::metrics::CaptureReport), (status = 400, body = ErrorBody)))]
pub async fn capture_metrics(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(params): ApiQuery<MetricsParams>,
) -> Result<Json<crate::metrics::CaptureReport>, ApiError> {
    Ok(Json(
        crate::metrics::capture_report(&state, &auth.actor, params.from, params.to).await?,
    ))
}
