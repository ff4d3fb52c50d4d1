//! What a use case can fail with, in the application's own terms. The HTTP layer maps each
//! variant to a status and a stable code (`http::error`); nothing here knows about HTTP.
//! Failures from below keep their cause as `source`.

use fieldline_domain::DomainError;
use fieldline_store::StoreError;
use fieldline_store::error::BoxError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A field of the request breaks a rule (the field path says which).
    #[error("{field}: {message}")]
    InvalidField { field: String, message: String },
    /// The record cannot move from its state to the one asked for.
    #[error("cannot move from {from} to {to}")]
    InvalidTransition { from: String, to: String },
    /// The request is unusable as a whole (a cursor we never issued, a reversed range).
    #[error("{message}")]
    Rejected { code: &'static str, message: String },
    /// Well-formed but refused on its content (e.g. an upload whose bytes are not its type).
    #[error("{message}")]
    Unprocessable { code: &'static str, message: String },
    /// No valid identity (missing, expired or revoked token; deactivated user).
    #[error("{0}")]
    Unauthenticated(String),
    /// A known caller without the permission.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// Optimistic concurrency: the record moved on since the caller read it.
    #[error("the record changed since you read it (expected version {expected}, now {actual})")]
    VersionConflict { expected: u64, actual: u64 },
    #[error("this Idempotency-Key was already used for a different request")]
    IdempotencyKeyReused,
    /// A stage's gate is not met: what is missing, in both languages.
    #[error("this move needs: {}", unmet.iter().map(|m| m.en.as_str()).collect::<Vec<_>>().join("; "))]
    TransitionBlocked {
        unmet: Vec<fieldline_domain::Localized>,
    },
    /// An order's lines need more than the location has: each short line, what it asked for
    /// and what is available. Nothing was reserved.
    #[error("{}: {}", if shortfall.iter().all(|s| s.paused) { "orders paused by the stock breaker" } else { "not enough stock" }, shortfall.iter().map(|s| format!("{} needs {} at {}, {} available, safety stock {}", s.sku, s.requested, s.location, s.available, s.safety_stock)).collect::<Vec<_>>().join("; "))]
    OutOfStock { shortfall: Vec<Shortfall> },
    /// The request collides with the current state (already claimed, already exists).
    #[error("{0}")]
    Conflict(String),
    /// The record would duplicate one the tenant has: which key, and that record (as the
    /// client reads it) so the caller can use it instead.
    #[error("{message}")]
    Duplicate {
        message: String,
        key: String,
        existing: serde_json::Value,
    },
    /// A public link that existed but no longer works (expired, revoked).
    #[error("{message}")]
    Gone { code: &'static str, message: String },
    /// A public link was asked for too often; try again after this many seconds.
    #[error("too many requests; try again in {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    /// This deployment does not offer the feature (e.g. direct uploads on the embedded store).
    #[error("{0}")]
    NotImplemented(String),
    /// Storage stayed overloaded through its retries; a later retry is expected to work.
    #[error("storage is busy, retry shortly")]
    Busy(#[source] StoreError),
    /// A failure that is ours, not the caller's: the client learns nothing more.
    #[error("internal error: {context}")]
    Internal {
        context: String,
        #[source]
        source: BoxError,
    },
}

/// One order line the stock could not cover, or could only by going under the safety
/// stock while the SKU's breaker there is tripped (`paused`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Shortfall {
    pub sku: String,
    pub location: String,
    pub requested: u64,
    pub available: i64,
    /// The SKU's safety stock: below it the breaker pauses new orders on every channel.
    pub safety_stock: u64,
    /// The units are there, but the breaker holds them back (a manager may override).
    pub paused: bool,
    /// Other locations that could serve the line and stay safe, nearest first.
    pub reallocations: Vec<fieldline_domain::stock::Reallocation>,
}

impl AppError {
    /// An internal failure with what we were doing when it happened.
    pub fn internal(context: impl Into<String>, source: impl Into<BoxError>) -> AppError {
        AppError::Internal {
            context: context.into(),
            source: source.into(),
        }
    }

    pub fn rejected(code: &'static str, message: impl Into<String>) -> AppError {
        AppError::Rejected {
            code,
            message: message.into(),
        }
    }
}

impl From<DomainError> for AppError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::InvalidField { field, message } => {
                AppError::InvalidField { field, message }
            }
            DomainError::InvalidTransition { from, to } => AppError::InvalidTransition { from, to },
            DomainError::Forbidden(m) => AppError::Forbidden(m),
            DomainError::Conflict(m) => AppError::Conflict(m),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AppError::NotFound("not found".into()),
            StoreError::VersionConflict { expected, actual } => {
                AppError::VersionConflict { expected, actual }
            }
            StoreError::IdempotencyMismatch => AppError::IdempotencyKeyReused,
            StoreError::AlreadyExists(what) => {
                AppError::Conflict(format!("already exists: {what}"))
            }
            // Use cases that claim keys answer with the record; this is the bare fallback.
            StoreError::Duplicate { key, existing } => AppError::Duplicate {
                message: format!("{key} is already held by {existing}"),
                key,
                existing: serde_json::Value::String(existing),
            },
            // Use cases report every short line; this is the bare fallback.
            StoreError::OutOfStock { sku, location } => AppError::OutOfStock {
                shortfall: vec![Shortfall {
                    sku,
                    location,
                    requested: 0,
                    available: 0,
                    safety_stock: 0,
                    paused: false,
                    reallocations: vec![],
                }],
            },
            e @ StoreError::Busy(_) => AppError::Busy(e),
            e @ (StoreError::Corrupt { .. }
            | StoreError::Backend { .. }
            | StoreError::Unsupported(_)) => AppError::internal("storage", e),
        }
    }
}

/// `error: cause: cause...`, for logs: the whole chain on one line.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        next = cause.source();
    }
    text
}
