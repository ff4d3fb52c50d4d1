//! One error shape for every response: `{code, message, details}` with a stable `code`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fieldline_domain::DomainError;
use fieldline_store::StoreError;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

/// Everything a request can fail with. Codes are part of the API contract: never rename one.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("request body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// Well-formed but refused on its content (e.g. an upload whose bytes are not its type).
    #[error("{message}")]
    Unprocessable { code: &'static str, message: String },
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("the record changed since you read it (expected version {expected}, now {actual})")]
    VersionConflict { expected: u64, actual: u64 },
    #[error("this Idempotency-Key was already used for a different request")]
    IdempotencyKeyReused,
    #[error("{0}")]
    Conflict(String),
    #[error("request body exceeds {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("expected Content-Type: application/json")]
    UnsupportedMediaType,
    #[error("{field}: {message}")]
    InvalidField { field: String, message: String },
    #[error("cannot move from {from} to {to}")]
    InvalidTransition { from: String, to: String },
    #[error("method not allowed")]
    MethodNotAllowed,
    /// This deployment does not offer the feature (e.g. direct uploads on the embedded store).
    #[error("{0}")]
    NotImplemented(String),
    /// Storage is overloaded; retrying after a short wait is expected to work.
    #[error("storage is busy, retry shortly")]
    Busy(String),
    #[error("internal error")]
    Internal(String),
}

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable, machine-readable: `malformed_json`, `invalid_field`, `version_conflict`, ...
    pub code: String,
    /// For humans; may change wording between releases.
    pub message: String,
    /// Structured context, e.g. `{"field": "contact.phone"}`.
    #[schema(value_type = Object)]
    pub details: Value,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::MalformedJson(_) | ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::VersionConflict { .. }
            | ApiError::IdempotencyKeyReused
            | ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::InvalidField { .. }
            | ApiError::InvalidTransition { .. }
            | ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::MalformedJson(_) => "malformed_json",
            ApiError::BadRequest { code, .. } | ApiError::Unprocessable { code, .. } => code,
            ApiError::Unauthenticated(_) => "unauthenticated",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::VersionConflict { .. } => "version_conflict",
            ApiError::IdempotencyKeyReused => "idempotency_key_reused",
            ApiError::Conflict(_) => "conflict",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::InvalidField { .. } => "invalid_field",
            ApiError::InvalidTransition { .. } => "invalid_transition",
            ApiError::Busy(_) => "storage_busy",
            ApiError::NotImplemented(_) => "not_implemented",
            ApiError::Internal(_) => "internal",
        }
    }

    fn details(&self) -> Value {
        match self {
            ApiError::InvalidField { field, .. } => json!({ "field": field }),
            ApiError::InvalidTransition { from, to } => json!({ "from": from, "to": to }),
            ApiError::VersionConflict { expected, actual } => {
                json!({ "expected": expected, "actual": actual })
            }
            ApiError::PayloadTooLarge { limit } => json!({ "limit_bytes": limit }),
            _ => json!({}),
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            code,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            // The client gets a bare "internal error"; the operator gets the cause.
            ApiError::Internal(detail) => tracing::error!(error = %detail, "request failed"),
            ApiError::Busy(detail) => tracing::warn!(error = %detail, "storage busy"),
            _ => {}
        }
        let body = ErrorBody {
            code: self.code().into(),
            message: self.to_string(),
            details: self.details(),
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert("retry-after", axum::http::HeaderValue::from_static("1"));
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                "www-authenticate",
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::InvalidField { field, message } => {
                ApiError::InvalidField { field, message }
            }
            DomainError::InvalidTransition { from, to } => ApiError::InvalidTransition { from, to },
            DomainError::Forbidden(m) => ApiError::Forbidden(m),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::NotFound("not found".into()),
            StoreError::VersionConflict { expected, actual } => {
                ApiError::VersionConflict { expected, actual }
            }
            StoreError::IdempotencyMismatch => ApiError::IdempotencyKeyReused,
            StoreError::AlreadyExists(what) => {
                ApiError::Conflict(format!("already exists: {what}"))
            }
            StoreError::Busy(detail) => ApiError::Busy(detail),
            other @ (StoreError::Corrupt { .. }
            | StoreError::Backend { .. }
            | StoreError::Unsupported(_)) => ApiError::Internal(other.to_string()),
        }
    }
}
