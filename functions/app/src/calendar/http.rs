use crate::auth::Authenticated;
use crate::calendar as usecase;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::ApiJson;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;

/// The tenant's working calendar for business-hour SLA clocks.
#[utoipa::path(get, path = "/v1/settings/calendar", tag = "automation", security(("bearer" = [])),
    responses((status = 200, body = fieldline_domain::BusinessCalendar)))]
pub async fn get_calendar(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<Json<fieldline_domain::BusinessCalendar>, ApiError> {
    Ok(Json(usecase::get_calendar(&state, &auth.actor).await?))
}

#[utoipa::path(put, path = "/v1/settings/calendar", tag = "automation", security(("bearer" = [])),
    request_body = fieldline_domain::BusinessCalendar,
    responses((status = 200, body = fieldline_domain::BusinessCalendar), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_calendar(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(calendar): ApiJson<fieldline_domain::BusinessCalendar>,
) -> Result<Json<fieldline_domain::BusinessCalendar>, ApiError> {
    Ok(Json(
        usecase::set_calendar(&state, &auth.actor, calendar).await?,
    ))
}
