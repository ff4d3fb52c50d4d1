use crate::auth::Authenticated;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::idempotency::{IdempotencyHeader, created};
use crate::lead::{self as usecase, ListFilter};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};
use fieldline_domain::{
    Activity, Lead, LeadId, LeadPatch, LeadStatus, NewActivity, NewLead, Priority, UserId,
};
use fieldline_store::Created;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Create a lead. Priority is computed from the pre-screen answers; reps own what they create.
#[utoipa::path(post, path = "/v1/leads", tag = "leads", security(("bearer" = [])),
    request_body = NewLead,
    params(("Idempotency-Key" = Option<String>, Header, pattern = r"^[!-~]{1,128}$", description = "Makes retries safe: the same key and body return the first result")),
    responses(
        (status = 201, description = "Created", body = Lead),
        (status = 200, description = "A retry of an earlier request; the original lead", body = Lead),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, description = "Idempotency-Key reused with another body", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody),
    ))]
pub async fn create_lead(
    State(state): State<AppState>,
    auth: Authenticated,
    IdempotencyHeader(key): IdempotencyHeader,
    ApiJson(input): ApiJson<NewLead>,
) -> Result<Response, ApiError> {
    let outcome = usecase::create_lead(&state, &auth.actor, &auth.user, input, key).await?;
    let location = match &outcome {
        Created::New(lead) => Some(format!("/v1/leads/{}", lead.id)),
        Created::Replayed(_) => None,
    };
    Ok(created(outcome, location))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Only leads owned by this user (within what you may see).
    owner: Option<UserId>,
    status: Option<LeadStatus>,
    priority: Option<Priority>,
    /// Only leads last changed before this instant (RFC 3339): finds stale leads.
    updated_before: Option<DateTime<Utc>>,
    /// Page size (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
    /// `next_cursor` from the previous page.
    cursor: Option<String>,
    /// `true`: the tenant's public pool (unowned leads anyone may claim) instead of your own.
    pool: Option<bool>,
}

/// One page of leads, newest change first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LeadPage {
    pub items: Vec<Lead>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// List the leads you can see: your own (rep), your team's (manager) or the tenant's (admin).
#[utoipa::path(get, path = "/v1/leads", tag = "leads", security(("bearer" = [])),
    params(ListParams),
    responses((status = 200, body = LeadPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list_leads(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<LeadPage>, ApiError> {
    let filter = ListFilter {
        owner: params.owner,
        status: params.status,
        priority: params.priority,
        updated_before: params.updated_before,
        limit: params.limit,
        cursor: params.cursor,
        pool: params.pool.unwrap_or(false),
    };
    let page = usecase::list_leads(&state, &auth.actor, filter).await?;
    Ok(Json(LeadPage {
        items: page.items,
        next_cursor: page.next.map(|c| c.encode()),
    }))
}

#[utoipa::path(get, path = "/v1/leads/{id}", tag = "leads", security(("bearer" = [])),
    params(("id" = LeadId, Path)),
    responses((status = 200, body = Lead), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_lead(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<LeadId>,
) -> Result<Json<Lead>, ApiError> {
    Ok(Json(usecase::get_lead(&state, &auth.actor, id).await?))
}

/// A partial update, applied only if the lead is still at `expected_version`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateLeadRequest {
    pub expected_version: u64,
    pub changes: LeadPatch,
}

/// Change contact, pre-screen answers, notes or status. A stale `expected_version` gets 409.
#[utoipa::path(patch, path = "/v1/leads/{id}", tag = "leads", security(("bearer" = [])),
    params(("id" = LeadId, Path)), request_body = UpdateLeadRequest,
    responses((status = 200, body = Lead), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_lead(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<LeadId>,
    ApiJson(req): ApiJson<UpdateLeadRequest>,
) -> Result<Json<Lead>, ApiError> {
    Ok(Json(
        usecase::update_lead(&state, &auth.actor, id, req.expected_version, req.changes).await?,
    ))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    pub owner: UserId,
    pub expected_version: u64,
}

/// Hand a lead to a rep: managers within their team, admins anywhere in the tenant.
#[utoipa::path(post, path = "/v1/leads/{id}/assign", tag = "leads", security(("bearer" = [])),
    params(("id" = LeadId, Path)), request_body = AssignRequest,
    responses((status = 200, body = Lead), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn assign_lead(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<LeadId>,
    ApiJson(req): ApiJson<AssignRequest>,
) -> Result<Json<Lead>, ApiError> {
    Ok(Json(
        usecase::assign_lead(&state, &auth.actor, id, req.expected_version, req.owner).await?,
    ))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LoggedActivity {
    pub activity: Activity,
    /// The lead after the activity (first contact stamped, status moved).
    pub lead: Lead,
}

/// Log a call, visit, message or note. The first contact stops the response-time clock.
#[utoipa::path(post, path = "/v1/leads/{id}/activities", tag = "leads", security(("bearer" = [])),
    params(("id" = LeadId, Path), ("Idempotency-Key" = Option<String>, Header, pattern = r"^[!-~]{1,128}$", description = "Makes retries safe")),
    request_body = NewActivity,
    responses((status = 201, body = LoggedActivity), (status = 200, description = "A retry; the original activity", body = LoggedActivity),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn log_activity(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<LeadId>,
    IdempotencyHeader(key): IdempotencyHeader,
    ApiJson(input): ApiJson<NewActivity>,
) -> Result<Response, ApiError> {
    let (outcome, lead) = usecase::log_activity(&state, &auth.actor, id, input, key).await?;
    let outcome = match outcome {
        Created::New(activity) => Created::New(LoggedActivity { activity, lead }),
        Created::Replayed(activity) => Created::Replayed(LoggedActivity { activity, lead }),
    };
    Ok(created(outcome, None))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ActivityParams {
    /// At most this many, newest first (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
}

/// The follow-up log of one lead, newest first.
#[utoipa::path(get, path = "/v1/leads/{id}/activities", tag = "leads", security(("bearer" = [])),
    params(("id" = LeadId, Path), ActivityParams),
    responses((status = 200, body = Vec<Activity>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_activities(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<LeadId>,
    ApiQuery(params): ApiQuery<ActivityParams>,
) -> Result<Json<Vec<Activity>>, ApiError> {
    let limit = params.limit.unwrap_or(usecase::DEFAULT_PAGE);
    Ok(Json(
        usecase::list_activities(&state, &auth.actor, id, limit).await?,
    ))
}

/// Claims a lead from the public pool; the first claim wins, later ones get 409.
#[utoipa::path(post, path = "/v1/leads/{id}/claim", tag = "leads", security(("bearer" = [])),
    params(("id" = LeadId, Path)),
    responses((status = 200, body = Lead), (status = 404, body = ErrorBody),
        (status = 403, description = "Admins do not claim leads", body = ErrorBody),
        (status = 409, description = "Not in the pool: someone claimed it first, or it was never pooled", body = ErrorBody),
        (status = 422, description = "A closed lead cannot be claimed", body = ErrorBody)))]
pub async fn claim_lead(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<LeadId>,
) -> Result<Json<Lead>, ApiError> {
    Ok(Json(usecase::claim_lead(&state, &auth.actor, id).await?))
}
