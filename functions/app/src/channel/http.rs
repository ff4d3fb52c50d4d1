use crate::auth::Authenticated;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{ApiJson, ApiPath};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

/// Adds an outbound channel (admins): generic webhook, WeCom, DingTalk or Feishu robot.
#[utoipa::path(post, path = "/v1/channels", tag = "automation", security(("bearer" = [])),
    request_body = crate::channel::ChannelRequest,
    responses((status = 201, body = fieldline_domain::Channel), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_channel(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(req): ApiJson<crate::channel::ChannelRequest>,
) -> Result<(StatusCode, Json<fieldline_domain::Channel>), ApiError> {
    let channel = crate::channel::add_channel(&state, &auth.actor, req).await?;
    Ok((StatusCode::CREATED, Json(channel)))
}

/// The tenant's channels (secrets are never returned).
#[utoipa::path(get, path = "/v1/channels", tag = "automation", security(("bearer" = [])),
    responses((status = 200, body = Vec<fieldline_domain::Channel>), (status = 403, body = ErrorBody)))]
pub async fn list_channels(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<Json<Vec<fieldline_domain::Channel>>, ApiError> {
    Ok(Json(
        crate::channel::list_channels(&state, &auth.actor).await?,
    ))
}

#[utoipa::path(delete, path = "/v1/channels/{id}", tag = "automation", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_channel(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<uuid::Uuid>,
) -> Result<StatusCode, ApiError> {
    crate::channel::delete_channel(&state, &auth.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Notifications that could not be delivered after every retry (admins).
#[utoipa::path(get, path = "/v1/channels/dead-letters", tag = "automation", security(("bearer" = [])),
    responses((status = 200, body = Vec<fieldline_domain::Delivery>), (status = 403, body = ErrorBody)))]
pub async fn dead_letters(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<Json<Vec<fieldline_domain::Delivery>>, ApiError> {
    Ok(Json(
        crate::channel::dead_letters(&state, &auth.actor).await?,
    ))
}
