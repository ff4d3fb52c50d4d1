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
