use crate::auth::Authenticated;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::ApiPath;
use crate::state::AppState;
use crate::task as usecase;
use axum::Json;
use axum::extract::State;

/// Your tasks: open ones by due time first.
#[utoipa::path(get, path = "/v1/me/tasks", tag = "automation", security(("bearer" = [])),
    responses((status = 200, body = Vec<fieldline_domain::Task>)))]
pub async fn my_tasks(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<Json<Vec<fieldline_domain::Task>>, ApiError> {
    Ok(Json(usecase::my_tasks(&state, &auth.actor).await?))
}

#[utoipa::path(post, path = "/v1/tasks/{id}/complete", tag = "automation", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = fieldline_domain::Task), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn complete_task(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<fieldline_domain::TaskId>,
) -> Result<Json<fieldline_domain::Task>, ApiError> {
    Ok(Json(usecase::complete_task(&state, &auth.actor, id).await?))
}
