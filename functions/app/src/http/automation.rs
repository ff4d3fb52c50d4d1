//! Thin handlers for automation: rules and their versions, the decision log, the inbox and
//! claiming from the pool.

use crate::auth::Authenticated;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::leads as lead_usecase;
use crate::rules as usecase;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use fieldline_domain::{Decision, Lead, LeadId, Notification, Rule, RuleDraft};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

/// A new rule: its id (a slug such as `vip-routing`) and its content.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRuleRequest {
    pub id: String,
    pub rule: RuleDraft,
}

/// A rule change, applied only if the rule is still at `expected_version`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRuleRequest {
    pub expected_version: u32,
    pub rule: RuleDraft,
}

/// Brings an earlier version back as a new version.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RollbackRequest {
    pub to_version: u32,
    pub expected_version: u32,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DecisionParams {
    /// How many, newest first (1-500, default 100).
    limit: Option<u32>,
}

/// The tenant's automation rules, current versions.
#[utoipa::path(get, path = "/v1/rules", tag = "automation", security(("bearer" = [])),
    responses((status = 200, body = Vec<Rule>), (status = 401, body = ErrorBody)))]
pub async fn list_rules(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<Json<Vec<Rule>>, ApiError> {
    Ok(Json(usecase::list_rules(&state, &auth.actor).await?))
}

/// Creates a rule (managers and admins). It takes effect with the next event, no restart.
#[utoipa::path(post, path = "/v1/rules", tag = "automation", security(("bearer" = [])),
    request_body = CreateRuleRequest,
    responses((status = 201, body = Rule), (status = 403, body = ErrorBody),
        (status = 409, description = "A rule with this id exists", body = ErrorBody),
        (status = 422, description = "Invalid rule, e.g. one that would re-trigger itself", body = ErrorBody)))]
pub async fn create_rule(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(req): ApiJson<CreateRuleRequest>,
) -> Result<(StatusCode, Json<Rule>), ApiError> {
    let rule = usecase::create_rule(&state, &auth.actor, &req.id, req.rule).await?;
    Ok((StatusCode::CREATED, Json(rule)))
}

#[utoipa::path(get, path = "/v1/rules/{id}", tag = "automation", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Rule), (status = 404, body = ErrorBody)))]
pub async fn get_rule(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Rule>, ApiError> {
    Ok(Json(usecase::get_rule(&state, &auth.actor, &id).await?))
}

/// Changes a rule (a new version). Disable a rule by sending `"enabled": false`.
#[utoipa::path(put, path = "/v1/rules/{id}", tag = "automation", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = UpdateRuleRequest,
    responses((status = 200, body = Rule), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_rule(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<UpdateRuleRequest>,
) -> Result<Json<Rule>, ApiError> {
    Ok(Json(
        usecase::update_rule(&state, &auth.actor, &id, req.expected_version, req.rule).await?,
    ))
}

/// Every version of a rule, oldest first.
#[utoipa::path(get, path = "/v1/rules/{id}/versions", tag = "automation", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Vec<Rule>), (status = 404, body = ErrorBody)))]
pub async fn rule_versions(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Vec<Rule>>, ApiError> {
    Ok(Json(
        usecase::rule_versions(&state, &auth.actor, &id).await?,
    ))
}

#[utoipa::path(post, path = "/v1/rules/{id}/rollback", tag = "automation", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = RollbackRequest,
    responses((status = 200, body = Rule), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn rollback_rule(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<RollbackRequest>,
) -> Result<Json<Rule>, ApiError> {
    Ok(Json(
        usecase::rollback_rule(
            &state,
            &auth.actor,
            &id,
            req.to_version,
            req.expected_version,
        )
        .await?,
    ))
}

/// What automation did to a lead and why: rule and version, evidence, outcome.
#[utoipa::path(get, path = "/v1/leads/{id}/decisions", tag = "automation", security(("bearer" = [])),
    params(("id" = LeadId, Path)),
    responses((status = 200, body = Vec<Decision>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn lead_decisions(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<LeadId>,
) -> Result<Json<Vec<Decision>>, ApiError> {
    Ok(Json(
        usecase::lead_decisions(&state, &auth.actor, id).await?,
    ))
}

/// The latest automatic decisions across the leads you manage.
#[utoipa::path(get, path = "/v1/decisions", tag = "automation", security(("bearer" = [])),
    params(DecisionParams),
    responses((status = 200, body = Vec<Decision>), (status = 403, body = ErrorBody)))]
pub async fn recent_decisions(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(params): ApiQuery<DecisionParams>,
) -> Result<Json<Vec<Decision>>, ApiError> {
    Ok(Json(
        usecase::recent_decisions(&state, &auth.actor, params.limit.unwrap_or(100)).await?,
    ))
}

/// Your in-app notifications, newest first: reminders and escalations.
#[utoipa::path(get, path = "/v1/me/notifications", tag = "automation", security(("bearer" = [])),
    responses((status = 200, body = Vec<Notification>), (status = 401, body = ErrorBody)))]
pub async fn my_notifications(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<Json<Vec<Notification>>, ApiError> {
    Ok(Json(usecase::my_notifications(&state, &auth.actor).await?))
}

/// Claims a lead from the public pool; the first claim wins, later ones get 409.
#[utoipa::path(post, path = "/v1/leads/{id}/claim", tag = "leads", security(("bearer" = [])),
    params(("id" = LeadId, Path)),
    responses((status = 200, body = Lead), (status = 404, body = ErrorBody),
        (status = 409, description = "Someone claimed it first", body = ErrorBody),
        (status = 422, description = "Not in the pool", body = ErrorBody)))]
pub async fn claim_lead(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<LeadId>,
) -> Result<Json<Lead>, ApiError> {
    Ok(Json(
        lead_usecase::claim_lead(&state, &auth.actor, id).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
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

/// Adds an outbound channel (admins): generic webhook, WeCom, DingTalk or Feishu robot.
#[utoipa::path(post, path = "/v1/channels", tag = "automation", security(("bearer" = [])),
    request_body = crate::channels::ChannelRequest,
    responses((status = 201, body = fieldline_domain::Channel), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_channel(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(req): ApiJson<crate::channels::ChannelRequest>,
) -> Result<(StatusCode, Json<fieldline_domain::Channel>), ApiError> {
    let channel = crate::channels::add_channel(&state, &auth.actor, req).await?;
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
        crate::channels::list_channels(&state, &auth.actor).await?,
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
    crate::channels::delete_channel(&state, &auth.actor, id).await?;
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
        crate::channels::dead_letters(&state, &auth.actor).await?,
    ))
}

/// Tries a rule against the last days of events and reports what it would have done.
#[utoipa::path(post, path = "/v1/rules/dry-run", tag = "automation", security(("bearer" = [])),
    request_body = crate::rules::DryRunRequest,
    responses((status = 200, body = crate::rules::DryRunReport), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn dry_run(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(req): ApiJson<crate::rules::DryRunRequest>,
) -> Result<Json<crate::rules::DryRunReport>, ApiError> {
    Ok(Json(usecase::dry_run(&state, &auth.actor, req).await?))
}

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
