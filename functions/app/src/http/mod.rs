//! The HTTP API under `/v1`, its OpenAPI document, and the middleware every request passes:
//! request ids, tracing, body limits, panic safety, JSON errors for unknown routes.

mod documented;
pub mod error;
pub mod extract;
mod health;
pub mod idempotency;
pub mod listener;

use crate::auth::Authenticated;
use crate::config::Limits;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::BodyLimit;
use crate::state::AppState;
use crate::{
    calendar, channel, customer, deal, import, lead, material, metrics, notification, order,
    retail, rule, task, upload, visit,
};
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::HeaderName;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use std::sync::Arc;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

pub use crate::lead::http::{AssignRequest, LeadPage, LoggedActivity, UpdateLeadRequest};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Fieldline API",
        description = "Leads, follow-ups and assignment for field sales teams. Every route except /health needs `Authorization: Bearer <token>`.",
    ),
    modifiers(&BearerAuth),
    components(schemas(ErrorBody, crate::deal::DealSort, crate::import::ExportKind, crate::import::ExportFormat, crate::import::ImportKind, crate::import::ProgressStep)),
    tags((name = "leads", description = "Leads from capture to conversion"),
        (name = "customers", description = "Customers and their contacts, de-duplicated within the tenant"),
        (name = "deals", description = "Deals through gated pipeline stages, with their stage log"),
        (name = "automation", description = "Rules, SLA timers, the decision log and the inbox"),
        (name = "visits", description = "Store visits: check-in, check-out, validity and the invalid-visit rate"),
        (name = "stores", description = "Retail stores: quick sale tags, their weekly report and spikes, shelf policy"),
        (name = "orders", description = "Orders with credit and stock checks, the catalogue, stock, the stock breaker, imports and exports"),
        (name = "uploads", description = "Cards, shelf photos and voice notes read by capture into records; attachments"),
        (name = "system"))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The OpenAPI document, generated from the handlers' annotations.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut api = api_routes(ApiSurface::All).split_for_parts().1;
    documented::complete_responses(&mut api);
    api
}

/// The operations one surface serves: what the SAM template must route to its function.
pub fn openapi_of(surface: ApiSurface) -> utoipa::openapi::OpenApi {
    let mut api = api_routes(surface).split_for_parts().1;
    documented::complete_responses(&mut api);
    api
}

/// Which routes a router serves. On AWS the API is split by domain into one function per
/// surface behind one HTTP API; locally one router serves everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiSurface {
    All,
    /// `/v1/leads/**`, `/v1/deals/**`, `/v1/uploads/**`, `/v1/contacts/**`, `/v1/visits/**`, `/v1/stores/**`, `/v1/pipelines`, `/v1/forecast/**`, `/v1/me`, `/health`,
    /// the customers' material links `/m/**`,
    /// `/v1/openapi.json`.
    Leads,
    /// Rules, decisions, inbox, tasks, channels, metrics and settings.
    Automation,
}

fn lead_routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(lead::http::create_lead, lead::http::list_leads))
        .routes(routes!(lead::http::get_lead, lead::http::update_lead))
        .routes(routes!(lead::http::assign_lead))
        .routes(routes!(
            lead::http::log_activity,
            lead::http::list_activities
        ))
        .routes(routes!(upload::http::request_upload))
        .routes(routes!(upload::http::start_upload))
        .routes(routes!(upload::http::get_upload))
        .routes(routes!(import::http::import_report))
        .routes(routes!(visit::http::check_in, visit::http::list_visits))
        .routes(routes!(visit::http::check_out))
        .routes(routes!(visit::http::get_visit))
        .routes(routes!(retail::http::tag_sale))
        .routes(routes!(upload::http::paste_card))
        .routes(routes!(upload::http::decide_proposal))
        .routes(routes!(upload::http::correct_transcript))
        .routes(
            routes!(upload::http::receive_upload)
                // A spreadsheet to import may be larger than a photo or a voice note.
                .layer(DefaultBodyLimit::max(
                    upload::MAX_UPLOAD_BYTES.max(fieldline_domain::import::MAX_IMPORT_BYTES)
                        as usize
                        + 1,
                )),
        )
        .routes(routes!(lead::http::claim_lead))
        .routes(routes!(rule::http::lead_decisions))
        .routes(routes!(rule::http::deal_decisions))
        .routes(routes!(
            customer::http::create_customer,
            customer::http::list_customers
        ))
        .routes(routes!(
            customer::http::get_customer,
            customer::http::update_customer
        ))
        .routes(routes!(customer::http::add_contact))
        .routes(routes!(
            customer::http::log_activity,
            customer::http::list_activities
        ))
        .routes(routes!(customer::http::add_purchase))
        .routes(routes!(customer::http::update_contact))
        .routes(routes!(customer::http::merge_customer))
        .routes(routes!(customer::http::grade))
        .routes(routes!(customer::http::grade_history))
        .routes(routes!(
            customer::http::grade_policy,
            customer::http::set_grade_policy
        ))
        .routes(routes!(customer::http::grade_policy_versions))
        .routes(routes!(customer::http::rollback_grade_policy))
        .routes(routes!(deal::http::convert_lead))
        .routes(routes!(deal::http::list_pipelines))
        .routes(routes!(deal::http::save_pipeline))
        .routes(routes!(deal::http::list_deals))
        .routes(routes!(deal::http::board))
        .routes(routes!(deal::http::get_deal, deal::http::update_deal))
        .routes(routes!(deal::http::move_stage))
        .routes(routes!(deal::http::history))
        .routes(routes!(
            deal::http::log_activity,
            deal::http::list_activities
        ))
        .routes(routes!(deal::http::request_upload))
        .routes(routes!(
            material::http::create_pack,
            material::http::list_packs
        ))
        .routes(routes!(material::http::revoke_pack))
        .routes(routes!(material::http::open_pack))
        .routes(routes!(material::http::download))
        .routes(routes!(deal::http::forecast))
        .routes(routes!(deal::http::backtest))
        .routes(routes!(order::http::create_order, order::http::list_orders))
        .routes(routes!(order::http::get_order))
        .routes(routes!(order::http::act))
        .routes(routes!(order::http::list_skus))
        .routes(routes!(order::http::put_sku))
        .routes(routes!(order::http::stock_of))
        .routes(routes!(order::http::put_inventory))
        .routes(routes!(order::http::list_locations))
        .routes(routes!(order::http::put_location))
        .routes(routes!(order::http::change_breaker))
        .routes(routes!(order::http::imbalance))
        .routes(routes!(order::http::pending_reallocations))
        .routes(routes!(order::http::demand_forecast))
        .routes(routes!(order::http::put_estimate))
        .routes(routes!(order::http::replenishment))
        .routes(
            routes!(import::http::import)
                .layer(DefaultBodyLimit::max(import::table::MAX_IMPORT_BYTES)),
        )
        .routes(routes!(import::http::export))
        .routes(routes!(health::me))
        .routes(routes!(health::health))
}

fn automation_routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(rule::http::list_rules, rule::http::create_rule))
        .routes(routes!(rule::http::get_rule, rule::http::update_rule))
        .routes(routes!(rule::http::rule_versions))
        .routes(routes!(rule::http::rollback_rule))
        .routes(routes!(rule::http::recent_decisions))
        .routes(routes!(notification::http::my_notifications))
        .routes(routes!(metrics::http::lead_metrics))
        .routes(routes!(metrics::http::pipeline_metrics))
        .routes(routes!(metrics::http::capture_metrics))
        .routes(routes!(visit::http::visit_metrics))
        .routes(routes!(retail::http::sale_tag_report))
        .routes(routes!(
            order::http::order_policy,
            order::http::set_order_policy
        ))
        .routes(routes!(
            retail::http::retail_policy,
            retail::http::set_retail_policy
        ))
        .routes(routes!(
            visit::http::visit_policy,
            visit::http::set_visit_policy
        ))
        .routes(routes!(metrics::http::customer_metrics))
        .routes(routes!(
            channel::http::add_channel,
            channel::http::list_channels
        ))
        .routes(routes!(channel::http::delete_channel))
        .routes(routes!(channel::http::dead_letters))
        .routes(routes!(rule::http::dry_run))
        .routes(routes!(task::http::my_tasks))
        .routes(routes!(task::http::complete_task))
        .routes(routes!(task::http::review_queue))
        .routes(routes!(task::http::review_task))
        .routes(routes!(
            calendar::http::get_calendar,
            calendar::http::set_calendar
        ))
}

fn api_routes(surface: ApiSurface) -> OpenApiRouter<AppState> {
    let base = OpenApiRouter::with_openapi(ApiDoc::openapi());
    match surface {
        ApiSurface::All => automation_routes(lead_routes(base)),
        ApiSurface::Leads => lead_routes(base),
        ApiSurface::Automation => automation_routes(base),
    }
}

/// The whole HTTP application, as served locally.
pub fn router(state: AppState, limits: &Limits) -> Router {
    router_for(ApiSurface::All, state, limits)
}

/// The whole API, with `site` (the web app) answering whatever is not under `/v1`.
pub fn router_with_site(state: AppState, limits: &Limits, site: Option<Router>) -> Router {
    layered(ApiSurface::All, state, limits, site)
}

/// One surface of the API with every layer (ids, tracing, limits, JSON errors): what each
/// API function wraps.
pub fn router_for(surface: ApiSurface, state: AppState, limits: &Limits) -> Router {
    layered(surface, state, limits, None)
}

fn layered(surface: ApiSurface, state: AppState, limits: &Limits, site: Option<Router>) -> Router {
    let max_body_bytes = limits.max_body_bytes;
    let body_idle = std::time::Duration::from_secs(limits.body_idle_timeout_secs);
    let api = Arc::new(openapi_of(surface));
    let (routes, _) = api_routes(surface).split_for_parts();
    let x_request_id = HeaderName::from_static("x-request-id");
    routes
        .route(
            "/v1/openapi.json",
            get(move |_: Authenticated| {
                let api = api.clone();
                async move { Json(api.as_ref().clone()) }
            }),
        )
        .fallback(move |request: Request| fallback(site.clone(), request))
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .with_state(state)
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(Extension(BodyLimit(max_body_bytes)))
        // A body that stalls this long between chunks is cut off (a slow client, not a slow
        // network, since the clock restarts with every chunk).
        .layer(RequestBodyTimeoutLayer::new(body_idle))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(x_request_id.clone(), MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(|req: &Request| {
                            let request_id = req
                                .headers()
                                .get("x-request-id")
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or("-");
                            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id)
                        })
                        .on_response(DefaultOnResponse::new().level(Level::INFO)),
                )
                .layer(PropagateRequestIdLayer::new(x_request_id))
                .layer(CatchPanicLayer::custom(|_| -> Response {
                    ApiError::Internal("handler panicked".into()).into_response()
                })),
        )
}

/// An unknown path: the web app's, unless it is under `/v1` (the API answers in JSON there).
async fn fallback(site: Option<Router>, request: Request) -> Response {
    let path = request.uri().path();
    let api = path == "/v1" || path.starts_with("/v1/") || path == "/health";
    match site {
        Some(site) if !api => match tower::ServiceExt::oneshot(site, request).await {
            Ok(response) => response,
            Err(never) => match never {},
        },
        _ => ApiError::NotFound("no such route".into()).into_response(),
    }
}
