use crate::auth::Authenticated;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use crate::task::{self as usecase, CompleteRequest, RepSample, ReviewRequest};
use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;

/// Your tasks: open ones by due time first.
#[utoipa::path(get, path = "/v1/me/tasks", tag = "automation", security(("bearer" = [])),
    responses((status = 200, body = Vec<fieldline_domain::Task>)))]
pub async fn my_tasks(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<Json<Vec<fieldline_domain::Task>>, ApiError> {
    Ok(Json(usecase::my_tasks(&state, &auth.actor).await?))
}

/// Marks your task done, optionally saying what came of it.
#[utoipa::path(post, path = "/v1/tasks/{id}/complete", tag = "automation", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = CompleteRequest,
    responses((status = 200, body = fieldline_domain::Task), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn complete_task(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<fieldline_domain::TaskId>,
    ApiJson(req): ApiJson<CompleteRequest>,
) -> Result<Json<fieldline_domain::Task>, ApiError> {
    Ok(Json(
        usecase::complete_task(&state, &auth.actor, id, req).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReviewParams {
    /// An ISO week, e.g. `2026-W48`.
    #[param(pattern = r"^20[0-9]{2}-W(0[1-9]|[1-4][0-9]|5[0-3])$")]
    week: String,
}

/// The manager's review queue for a week: per rep, a reproducible 5 % sample of the tasks they
/// completed (ranked by sha256 of week, rep and task), to score within 24 h.
#[utoipa::path(get, path = "/v1/reviews", tag = "automation", security(("bearer" = [])),
    params(ReviewParams),
    responses((status = 200, body = Vec<RepSample>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn review_queue(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(params): ApiQuery<ReviewParams>,
) -> Result<Json<Vec<RepSample>>, ApiError> {
    Ok(Json(
        usecase::review_queue(&state, &auth.actor, &params.week).await?,
    ))
}

/// Scores a completed task (the assignee's manager or an admin), 1 to 5.
#[utoipa::path(post, path = "/v1/tasks/{id}/review", tag = "automation", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = ReviewRequest,
    responses((status = 200, body = fieldline_domain::Task), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, description = "Not completed yet, or a score outside 1-5", body = ErrorBody)))]
pub async fn review_task(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<fieldline_domain::TaskId>,
    ApiJson(req): ApiJson<ReviewRequest>,
) -> Result<Json<fieldline_domain::Task>, ApiError> {
    Ok(Json(
        usecase::review_task(&state, &auth.actor, id, req).await?,
    ))
}
