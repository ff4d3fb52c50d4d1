use crate::auth::Authenticated;
use crate::http::error::{ApiError, ErrorBody};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use fieldline_domain::{TenantId, User};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct Health {
    status: &'static str,
    backend: &'static str,
    version: &'static str,
}

/// Liveness and storage reachability; the only route without authentication.
#[utoipa::path(get, path = "/health", tag = "system",
    responses((status = 200, body = Health), (status = 500, body = ErrorBody)))]
pub async fn health(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    let probe = TenantId::parse("health-probe").expect("valid slug");
    state.directory.get_tenant(&probe).await?;
    Ok(Json(Health {
        status: "ok",
        backend: state.backend,
        version: env!("CARGO_PKG_VERSION"),
    }))
}

/// Who the token belongs to, with role and team as the server sees them now.
#[utoipa::path(get, path = "/v1/me", tag = "system", security(("bearer" = [])),
    responses((status = 200, body = User), (status = 401, body = ErrorBody)))]
pub async fn me(auth: Authenticated) -> Json<User> {
    Json(auth.user)
}
