use crate::auth::Authenticated;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::rule as usecase;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use fieldline_domain::{Decision, LeadId, Rule, RuleDraft};
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
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DecisionParams {
    /// How many, newest first (default 100).
    #[param(minimum = 1, maximum = 500)]
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
    params(("id" = String, Path, pattern = r"^[a-z0-9][a-z0-9-]{0,62}[a-z0-9]$")),
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
    params(("id" = String, Path, pattern = r"^[a-z0-9][a-z0-9-]{0,62}[a-z0-9]$")), request_body = UpdateRuleRequest,
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
    params(("id" = String, Path, pattern = r"^[a-z0-9][a-z0-9-]{0,62}[a-z0-9]$")),
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
    params(("id" = String, Path, pattern = r"^[a-z0-9][a-z0-9-]{0,62}[a-z0-9]$")), request_body = RollbackRequest,
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

/// What automation did to a deal and why: rule and version, evidence, outcome.
#[utoipa::path(get, path = "/v1/deals/{id}/decisions", tag = "automation", security(("bearer" = [])),
    params(("id" = fieldline_domain::DealId, Path)),
    responses((status = 200, body = Vec<Decision>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn deal_decisions(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<fieldline_domain::DealId>,
) -> Result<Json<Vec<Decision>>, ApiError> {
    Ok(Json(
        usecase::deal_decisions(&state, &auth.actor, id).await?,
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

/// Tries a rule against the last days of events and reports what it would have done.
#[utoipa::path(post, path = "/v1/rules/dry-run", tag = "automation", security(("bearer" = [])),
    request_body = crate::rule::DryRunRequest,
    responses((status = 200, body = crate::rule::DryRunReport), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn dry_run(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(req): ApiJson<crate::rule::DryRunRequest>,
) -> Result<Json<crate::rule::DryRunReport>, ApiError> {
    Ok(Json(usecase::dry_run(&state, &auth.actor, req).await?))
}
