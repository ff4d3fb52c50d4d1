use crate::auth::Authenticated;
use crate::http::error::{ApiError, ErrorBody};
use crate::notification as usecase;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use fieldline_domain::Notification;

/// Your in-app notifications, newest first: reminders and escalations.
#[utoipa::path(get, path = "/v1/me/notifications", tag = "automation", security(("bearer" = [])),
    responses((status = 200, body = Vec<Notification>), (status = 401, body = ErrorBody)))]
pub async fn my_notifications(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<Json<Vec<Notification>>, ApiError> {
    Ok(Json(usecase::my_notifications(&state, &auth.actor).await?))
}
