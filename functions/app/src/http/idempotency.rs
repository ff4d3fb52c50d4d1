//! Safe retries from phones: the `Idempotency-Key` header, and the reply to a create that
//! tells a first write (201) from a replay (200, `Idempotent-Replayed: true`).

use crate::http::error::ApiError;
use axum::Json;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fieldline_store::{Created, IdempotencyKey};
use serde::Serialize;

/// The optional `Idempotency-Key` header: retries with the same key return the first result.
pub struct IdempotencyHeader(pub Option<IdempotencyKey>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyHeader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match parts.headers.get("idempotency-key") {
            None => Ok(IdempotencyHeader(None)),
            Some(v) => v
                .to_str()
                .ok()
                .and_then(IdempotencyKey::parse)
                .map(|k| IdempotencyHeader(Some(k)))
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "invalid_idempotency_key",
                        "Idempotency-Key must be 1-128 visible ASCII characters",
                    )
                }),
        }
    }
}

pub fn created<T: Serialize>(outcome: Created<T>, location: Option<String>) -> Response {
    match outcome {
        Created::New(body) => {
            let mut response = (StatusCode::CREATED, Json(body)).into_response();
            if let Some(loc) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
                response.headers_mut().insert(header::LOCATION, loc);
            }
            response
        }
        Created::Replayed(body) => {
            let mut response = (StatusCode::OK, Json(body)).into_response();
            response
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            response
        }
    }
}
