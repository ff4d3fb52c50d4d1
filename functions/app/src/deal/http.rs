use crate::auth::Authenticated;
use crate::deal::{self as usecase, BoardColumn, ConvertRequest, DealFilter, MoveRequest};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery, Language};
use crate::http::idempotency::{IdempotencyHeader, created};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::response::Response;
use fieldline_domain::{Deal, DealId, LeadId, Pipeline, StageChange, StageKind, UserId};
use fieldline_store::Created;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A deal as lists and screens show it: the record plus what the clock makes of it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DealView {
    #[serde(flatten)]
    pub deal: Deal,
    /// Whole days past the current stage's rotting limit (⚠️超期 N 天); 0 when on time.
    pub overdue_days: u32,
}

fn view(state: &AppState, deal: Deal) -> DealView {
    DealView {
        overdue_days: deal.overdue_days(state.clock.now()),
        deal,
    }
}

/// Turns a qualified lead into customer + contact + deal, in one transaction. The lead
/// becomes `converted`; the deal starts in the pipeline's first stage.
#[utoipa::path(post, path = "/v1/leads/{id}/convert", tag = "deals", security(("bearer" = [])),
    params(("id" = LeadId, Path), ("Idempotency-Key" = Option<String>, Header, pattern = r"^[!-~]{1,128}$", description = "Makes retries safe: the same key and body return the first deal")),
    request_body = ConvertRequest,
    responses((status = 201, description = "Converted", body = DealView),
        (status = 200, description = "A retry; the deal the first request made", body = DealView),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "The lead changed meanwhile", body = ErrorBody),
        (status = 422, description = "Not qualified, unassigned, or an unknown pipeline", body = ErrorBody)))]
pub async fn convert_lead(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<LeadId>,
    IdempotencyHeader(key): IdempotencyHeader,
    ApiJson(req): ApiJson<ConvertRequest>,
) -> Result<Response, ApiError> {
    let outcome = usecase::convert_lead(&state, &auth.actor, id, req, key).await?;
    let (outcome, location) = match outcome {
        Created::New(deal) => {
            let location = format!("/v1/deals/{}", deal.id);
            (Created::New(view(&state, deal)), Some(location))
        }
        Created::Replayed(deal) => (Created::Replayed(view(&state, deal)), None),
    };
    Ok(created(outcome, location))
}

/// The tenant's pipelines with their stages, gates and lost reasons.
#[utoipa::path(get, path = "/v1/pipelines", tag = "deals", security(("bearer" = [])),
    responses((status = 200, body = Vec<Pipeline>)))]
pub async fn list_pipelines(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<Json<Vec<Pipeline>>, ApiError> {
    Ok(Json(usecase::pipelines(&state, &auth.actor).await?))
}

/// A new pipeline (no `expected_version`) or a change to one (the version it was based on).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SavePipelineRequest {
    #[serde(default)]
    pub expected_version: Option<u32>,
    pub pipeline: crate::deal::PipelineDraft,
}

/// Creates or changes a pipeline (admins): stages with their gates, forecast categories,
/// probabilities and rotting limits, and the lost reasons. Changing `default` stores the
/// built-in one's first version.
#[utoipa::path(put, path = "/v1/pipelines/{id}", tag = "deals", security(("bearer" = [])),
    params(("id" = String, Path, pattern = r"^[a-z0-9_-]{1,64}$")), request_body = SavePipelineRequest,
    responses((status = 200, body = Pipeline), (status = 403, body = ErrorBody),
        (status = 409, description = "Exists already, changed meanwhile, or deals sit in a removed stage", body = ErrorBody),
        (status = 422, description = "An invalid pipeline (e.g. no lost stage, a gate reading an unknown field)", body = ErrorBody)))]
pub async fn save_pipeline(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<SavePipelineRequest>,
) -> Result<Json<Pipeline>, ApiError> {
    Ok(Json(
        usecase::save_pipeline(&state, &auth.actor, &id, req.expected_version, req.pipeline)
            .await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DealListParams {
    pipeline: Option<String>,
    /// A stage key of the pipeline.
    stage: Option<String>,
    status: Option<StageKind>,
    /// Only deals owned by this user (within what you may see).
    owner: Option<UserId>,
    /// `true`: only deals past their stage's rotting limit.
    overdue: Option<bool>,
    /// `updated` (default): newest change first, paged. `overdue`: the overdue deals, most
    /// days over first — the first `limit` of them, in one page.
    sort: Option<crate::deal::DealSort>,
    /// Page size (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
    /// `next_cursor` from the previous page.
    cursor: Option<String>,
}

/// One page of deals, newest change first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DealPage {
    pub items: Vec<DealView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// The deals you can see: your own (rep), your team's (manager), the tenant's (admin).
#[utoipa::path(get, path = "/v1/deals", tag = "deals", security(("bearer" = [])),
    params(DealListParams),
    responses((status = 200, body = DealPage)))]
pub async fn list_deals(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(params): ApiQuery<DealListParams>,
) -> Result<Json<DealPage>, ApiError> {
    let limit = params
        .limit
        .map(|l| crate::lead::checked_limit(l, 200))
        .transpose()?;
    let filter = DealFilter {
        pipeline: params.pipeline,
        stage: params.stage,
        status: params.status,
        owner: params.owner,
        overdue: params.overdue.unwrap_or(false),
        sort: params.sort.unwrap_or_default(),
        limit,
        cursor: params.cursor,
    };
    let page = usecase::list_deals(&state, &auth.actor, filter).await?;
    Ok(Json(DealPage {
        items: page.items.into_iter().map(|d| view(&state, d)).collect(),
        next_cursor: page.next.map(|c| c.encode()),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BoardParams {
    /// Default `default`.
    pipeline: Option<String>,
    /// Deals per column (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
}

/// The pipeline board: each stage with a page of its deals, their count and amount.
#[utoipa::path(get, path = "/v1/deals/board", tag = "deals", security(("bearer" = [])),
    params(BoardParams),
    responses((status = 200, body = Vec<BoardColumn>), (status = 404, description = "No such pipeline", body = ErrorBody)))]
pub async fn board(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(params): ApiQuery<BoardParams>,
) -> Result<Json<Vec<BoardColumn>>, ApiError> {
    let limit = crate::lead::checked_limit(params.limit.unwrap_or(20), 100)?;
    Ok(Json(
        usecase::board(&state, &auth.actor, params.pipeline, limit).await?,
    ))
}

#[utoipa::path(get, path = "/v1/deals/{id}", tag = "deals", security(("bearer" = [])),
    params(("id" = DealId, Path)),
    responses((status = 200, body = DealView), (status = 403, body = ErrorBody)))]
pub async fn get_deal(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<DealId>,
) -> Result<Json<DealView>, ApiError> {
    let deal = usecase::get_deal(&state, &auth.actor, id).await?;
    Ok(Json(view(&state, deal)))
}

/// A change to an open deal, applied only if it is still at `expected_version`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateDealRequest {
    pub expected_version: u64,
    pub changes: fieldline_domain::DealPatch,
}

/// Changes an open deal's title, amount, currency or expected close date.
#[utoipa::path(patch, path = "/v1/deals/{id}", tag = "deals", security(("bearer" = [])),
    params(("id" = DealId, Path)), request_body = UpdateDealRequest,
    responses((status = 200, body = DealView), (status = 403, body = ErrorBody),
        (status = 409, description = "The deal changed since `expected_version`", body = ErrorBody),
        (status = 422, description = "A closed deal, or an invalid value", body = ErrorBody)))]
pub async fn update_deal(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<DealId>,
    ApiJson(req): ApiJson<UpdateDealRequest>,
) -> Result<Json<DealView>, ApiError> {
    let deal =
        usecase::update_deal(&state, &auth.actor, id, req.expected_version, req.changes).await?;
    Ok(Json(view(&state, deal)))
}

/// Moves a deal to another stage if the stage's gate is met. Refused with 422
/// `transition_blocked` and `details.unmet` (one entry per missing piece, in the
/// `Accept-Language` of the request) otherwise; a manager may override with a reason.
#[utoipa::path(post, path = "/v1/deals/{id}/stage", tag = "deals", security(("bearer" = [])),
    params(("id" = DealId, Path)), request_body = MoveRequest,
    responses((status = 200, body = DealView), (status = 403, body = ErrorBody),
        (status = 409, description = "The deal changed since `expected_version`", body = ErrorBody),
        (status = 422, description = "`transition_blocked` (gate not met), an unknown stage, or a missing lost reason", body = ErrorBody)))]
pub async fn move_stage(
    State(state): State<AppState>,
    auth: Authenticated,
    Language(language): Language,
    ApiPath(id): ApiPath<DealId>,
    ApiJson(req): ApiJson<MoveRequest>,
) -> Result<Json<DealView>, ApiError> {
    let deal = usecase::move_stage(&state, &auth.actor, id, req)
        .await
        .map_err(|e| ApiError::from(e).in_language(&language))?;
    Ok(Json(view(&state, deal)))
}

/// The deal's stage log, oldest first: from, to, when, by whom, why, and the seconds spent
/// in the previous stage.
#[utoipa::path(get, path = "/v1/deals/{id}/history", tag = "deals", security(("bearer" = [])),
    params(("id" = DealId, Path)),
    responses((status = 200, body = Vec<StageChange>), (status = 403, body = ErrorBody)))]
pub async fn history(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<DealId>,
) -> Result<Json<Vec<StageChange>>, ApiError> {
    Ok(Json(usecase::history(&state, &auth.actor, id).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ForecastParams {
    /// A month, `YYYY-MM`, in the tenant's time zone.
    #[param(pattern = r"^20[0-9]{2}-(0[1-9]|1[0-2])$")]
    period: String,
    /// Default `default`.
    pipeline: Option<String>,
}

/// Expected won amount for a month: won so far plus Σ amount × p(win | stage) over open deals
/// expected to close in it, p from the tenant's own closed deals (pulled toward the stage's
/// default while history is thin), with a 90 % range and the commit / best-case totals.
#[utoipa::path(get, path = "/v1/forecast", tag = "deals", security(("bearer" = [])),
    params(ForecastParams),
    responses((status = 200, body = fieldline_domain::forecast::Forecast),
        (status = 400, body = ErrorBody), (status = 404, description = "No such pipeline", body = ErrorBody)))]
pub async fn forecast(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(params): ApiQuery<ForecastParams>,
) -> Result<Json<fieldline_domain::forecast::Forecast>, ApiError> {
    Ok(Json(
        usecase::forecast(&state, &auth.actor, params.pipeline, &params.period).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BacktestParams {
    /// How many past months (default 6).
    #[param(minimum = 1, maximum = 24)]
    months: Option<u32>,
    /// Default `default`.
    pipeline: Option<String>,
}

/// The forecast rebuilt at the start of each past month from the stage log, against what was
/// won: WAPE, bias, and the skill against "same as last month".
#[utoipa::path(get, path = "/v1/forecast/backtest", tag = "deals", security(("bearer" = [])),
    params(BacktestParams),
    responses((status = 200, body = fieldline_domain::forecast::Backtest),
        (status = 400, body = ErrorBody), (status = 404, description = "No such pipeline", body = ErrorBody)))]
pub async fn backtest(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(params): ApiQuery<BacktestParams>,
) -> Result<Json<fieldline_domain::forecast::Backtest>, ApiError> {
    let months = crate::lead::checked_limit(params.months.unwrap_or(6), 24)?;
    Ok(Json(
        usecase::backtest(&state, &auth.actor, params.pipeline, months).await?,
    ))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LoggedDealActivity {
    pub activity: fieldline_domain::Activity,
    /// The deal after the activity (its recent list and version).
    pub deal: DealView,
}

/// Log a call, message, visit, note (with the after-call structure: concerns, promise, next
/// contact) or, for managers, an approval on a deal. Gates read this log.
#[utoipa::path(post, path = "/v1/deals/{id}/activities", tag = "deals", security(("bearer" = [])),
    params(("id" = DealId, Path), ("Idempotency-Key" = Option<String>, Header, pattern = r"^[!-~]{1,128}$", description = "Makes retries safe")),
    request_body = fieldline_domain::NewActivity,
    responses((status = 201, body = LoggedDealActivity), (status = 200, description = "A retry; the original activity", body = LoggedDealActivity),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn log_activity(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<DealId>,
    IdempotencyHeader(key): IdempotencyHeader,
    ApiJson(input): ApiJson<fieldline_domain::NewActivity>,
) -> Result<Response, ApiError> {
    let (outcome, deal) = usecase::log_activity(&state, &auth.actor, id, input, key).await?;
    let logged = |activity| LoggedDealActivity {
        activity,
        deal: view(&state, deal.clone()),
    };
    let outcome = match outcome {
        Created::New(a) => Created::New(logged(a)),
        Created::Replayed(a) => Created::Replayed(logged(a)),
    };
    Ok(created(outcome, None))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DealActivityParams {
    /// At most this many, newest first (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
}

/// The deal's activity log, newest first (attachments included).
#[utoipa::path(get, path = "/v1/deals/{id}/activities", tag = "deals", security(("bearer" = [])),
    params(("id" = DealId, Path), DealActivityParams),
    responses((status = 200, body = Vec<fieldline_domain::Activity>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_activities(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<DealId>,
    ApiQuery(params): ApiQuery<DealActivityParams>,
) -> Result<Json<Vec<fieldline_domain::Activity>>, ApiError> {
    let limit = params.limit.unwrap_or(crate::lead::DEFAULT_PAGE);
    Ok(Json(
        usecase::list_activities(&state, &auth.actor, id, limit).await?,
    ))
}

/// Ask for an upload URL for a file on this deal (a quote, a contract). The phone PUTs the
/// bytes to `url` with exactly `headers`; once the bytes are checked (a PDF must really be
/// one) the file is logged on the deal as an `attachment` activity, which gates can ask for.
#[utoipa::path(post, path = "/v1/deals/{id}/uploads", tag = "deals", security(("bearer" = [])),
    params(("id" = DealId, Path)),
    request_body = crate::upload::UploadRequest,
    responses((status = 201, body = crate::upload::UploadTicket), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn request_upload(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<DealId>,
    ApiJson(req): ApiJson<crate::upload::UploadRequest>,
) -> Result<(axum::http::StatusCode, Json<crate::upload::UploadTicket>), ApiError> {
    let ticket = crate::upload::request_deal_upload(&state, &auth.actor, id, req).await?;
    Ok((axum::http::StatusCode::CREATED, Json(ticket)))
}
