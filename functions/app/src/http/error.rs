//! One error shape for every response: `{code, message, details}` with a stable `code`. Use
//! cases fail with [`AppError`]; this is the only place that turns one into a status.

use crate::error::{AppError, chain};
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fieldline_domain::DomainError;
use fieldline_store::StoreError;
use fieldline_store::error::BoxError;
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
    /// A refusal whose status and specific code the caller chose (e.g. `upload_forbidden`).
    #[error("{message}")]
    Refused {
        status: StatusCode,
        code: &'static str,
        message: String,
    },
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
    /// An existing record with the same identity (`details.existing` is that record).
    #[error("{message}")]
    Duplicate {
        message: String,
        key: String,
        existing: Value,
    },
    /// Stock could not cover an order (`details.shortfall`: each short line).
    #[error("{message}")]
    OutOfStock {
        message: String,
        shortfall: Vec<crate::error::Shortfall>,
    },
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
    /// A gate is not met; the message and each requirement in the caller's language.
    #[error("{}", blocked_message(unmet, language))]
    TransitionBlocked {
        unmet: Vec<fieldline_domain::Localized>,
        language: String,
    },
    /// This deployment does not offer the feature (e.g. direct uploads on the embedded store).
    #[error("{0}")]
    NotImplemented(String),
    /// A public link asked for too often (`Retry-After` says when to come back).
    #[error("too many requests; try again in {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    /// Storage is overloaded; retrying after a short wait is expected to work.
    #[error("storage is busy, retry shortly")]
    Busy(#[source] StoreError),
    /// Logged with its cause; the client sees only "internal error".
    #[error("internal error")]
    Internal(#[source] BoxError),
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

fn blocked_message(unmet: &[fieldline_domain::Localized], language: &str) -> String {
    let items: Vec<&str> = unmet.iter().map(|m| m.pick(language)).collect();
    if language.to_ascii_lowercase().starts_with("zh") {
        format!("还不能进入这个阶段：{}", items.join("；"))
    } else {
        format!("This stage needs more first: {}", items.join("; "))
    }
}

impl ApiError {
    /// Speaks the caller's language where the error has words for it.
    pub fn in_language(self, language: &str) -> ApiError {
        match self {
            ApiError::TransitionBlocked { unmet, .. } => ApiError::TransitionBlocked {
                unmet,
                language: language.to_owned(),
            },
            other => other,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::MalformedJson(_) | ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::VersionConflict { .. }
            | ApiError::IdempotencyKeyReused
            | ApiError::Conflict(_)
            | ApiError::Duplicate { .. }
            | ApiError::OutOfStock { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::InvalidField { .. }
            | ApiError::InvalidTransition { .. }
            | ApiError::TransitionBlocked { .. }
            | ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Refused { status, .. } => *status,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::MalformedJson(_) => "malformed_json",
            ApiError::BadRequest { code, .. }
            | ApiError::Unprocessable { code, .. }
            | ApiError::Refused { code, .. } => code,
            ApiError::Unauthenticated(_) => "unauthenticated",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::VersionConflict { .. } => "version_conflict",
            ApiError::IdempotencyKeyReused => "idempotency_key_reused",
            ApiError::Conflict(_) => "conflict",
            ApiError::Duplicate { .. } => "duplicate",
            ApiError::OutOfStock { shortfall, .. } if shortfall.iter().all(|s| s.paused) => {
                "breaker_tripped"
            }
            ApiError::OutOfStock { .. } => "out_of_stock",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::InvalidField { .. } => "invalid_field",
            ApiError::InvalidTransition { .. } => "invalid_transition",
            ApiError::TransitionBlocked { .. } => "transition_blocked",
            ApiError::Busy(_) => "storage_busy",
            ApiError::TooManyRequests { .. } => "rate_limited",
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
            ApiError::Duplicate { key, existing, .. } => {
                json!({ "key": key, "existing": existing })
            }
            ApiError::TooManyRequests { retry_after_secs } => {
                json!({ "retry_after_secs": retry_after_secs })
            }
            ApiError::OutOfStock { shortfall, .. } => json!({ "shortfall": shortfall }),
            ApiError::TransitionBlocked { unmet, language } => json!({
                "unmet": unmet.iter().map(|m| json!({
                    "message": m.pick(language), "zh": m.zh, "en": m.en,
                })).collect::<Vec<_>>()
            }),
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

impl ApiError {
    /// The body the client gets; an internal cause is logged here, never sent.
    pub fn body(&self) -> ErrorBody {
        match self {
            // The client gets a bare "internal error"; the operator gets the cause.
            ApiError::Internal(cause) => {
                tracing::error!(error = %chain(cause.as_ref()), "request failed")
            }
            ApiError::Busy(cause) => tracing::warn!(error = %chain(cause), "storage busy"),
            _ => {}
        }
        ErrorBody {
            code: self.code().into(),
            message: self.to_string(),
            details: self.details(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = (status, Json(self.body())).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert("retry-after", axum::http::HeaderValue::from_static("1"));
        }
        if let ApiError::TooManyRequests { retry_after_secs } = &self {
            response.headers_mut().insert(
                "retry-after",
                axum::http::HeaderValue::from(*retry_after_secs),
            );
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

/// The HTTP face of each use-case failure; codes and statuses are the API contract.
impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::InvalidField { field, message } => ApiError::InvalidField { field, message },
            AppError::InvalidTransition { from, to } => ApiError::InvalidTransition { from, to },
            AppError::Rejected { code, message } => ApiError::BadRequest { code, message },
            AppError::Unprocessable { code, message } => ApiError::Unprocessable { code, message },
            AppError::Unauthenticated(m) => ApiError::Unauthenticated(m),
            AppError::Forbidden(m) => ApiError::Forbidden(m),
            AppError::NotFound(m) => ApiError::NotFound(m),
            AppError::VersionConflict { expected, actual } => {
                ApiError::VersionConflict { expected, actual }
            }
            AppError::IdempotencyKeyReused => ApiError::IdempotencyKeyReused,
            AppError::Conflict(m) => ApiError::Conflict(m),
            e @ AppError::OutOfStock { .. } => {
                let message = e.to_string();
                let AppError::OutOfStock { shortfall } = e else {
                    unreachable!("matched above")
                };
                ApiError::OutOfStock { message, shortfall }
            }
            AppError::Duplicate {
                message,
                key,
                existing,
            } => ApiError::Duplicate {
                message,
                key,
                existing,
            },
            AppError::TransitionBlocked { unmet } => ApiError::TransitionBlocked {
                unmet,
                language: "en".into(),
            },
            AppError::NotImplemented(m) => ApiError::NotImplemented(m),
            AppError::Gone { code, message } => ApiError::Refused {
                status: StatusCode::GONE,
                code,
                message,
            },
            AppError::TooManyRequests { retry_after_secs } => {
                ApiError::TooManyRequests { retry_after_secs }
            }
            AppError::Busy(cause) => ApiError::Busy(cause),
            e @ AppError::Internal { .. } => ApiError::Internal(Box::new(e)),
        }
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        AppError::from(e).into()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        AppError::from(e).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_storage_failure_keeps_its_cause_for_the_log_but_not_for_the_client() {
        let io = std::io::Error::other("disk I/O error at page 42");
        let store = StoreError::backend("SQLite", io);
        let api = ApiError::from(AppError::from(store));
        assert_eq!(api.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(api.code(), "internal");
        assert_eq!(api.to_string(), "internal error");
        let logged = chain(&api);
        assert!(
            logged.contains("storage backend: SQLite")
                && logged.ends_with("disk I/O error at page 42"),
            "{logged}"
        );
    }

    #[test]
    fn each_use_case_failure_keeps_its_status_and_code() {
        let cases = [
            (
                AppError::rejected("invalid_cursor", "x"),
                400,
                "invalid_cursor",
            ),
            (
                AppError::Unauthenticated("x".into()),
                401,
                "unauthenticated",
            ),
            (AppError::Forbidden("x".into()), 403, "forbidden"),
            (AppError::NotFound("x".into()), 404, "not_found"),
            (
                AppError::VersionConflict {
                    expected: 1,
                    actual: 2,
                },
                409,
                "version_conflict",
            ),
            (
                AppError::IdempotencyKeyReused,
                409,
                "idempotency_key_reused",
            ),
            (AppError::Conflict("x".into()), 409, "conflict"),
            (
                AppError::InvalidField {
                    field: "a".into(),
                    message: "b".into(),
                },
                422,
                "invalid_field",
            ),
            (
                AppError::Unprocessable {
                    code: "upload_type_mismatch",
                    message: "x".into(),
                },
                422,
                "upload_type_mismatch",
            ),
            (AppError::NotImplemented("x".into()), 501, "not_implemented"),
            (
                AppError::Busy(StoreError::Busy("throttled".into())),
                503,
                "storage_busy",
            ),
        ];
        for (app, status, code) in cases {
            let api = ApiError::from(app);
            assert_eq!((api.status().as_u16(), api.code()), (status, code));
        }
    }
}
