//! The HTTP sidecar: the same readers as the command line, models loaded once per process.
//! `POST /v1/cards` and `POST /v1/shelves` take the image as the raw request body; `GET /health` says which models
//! are loaded. Every route but health needs `Authorization: Bearer <FIELDLINE_CAPTURE_TOKEN>`.

use crate::image_input::MAX_BYTES;
use crate::ocr::OcrEngine;
use crate::record::{Kind, Output, read_image};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use std::sync::{Arc, Mutex};

/// Shortest accepted token: a guessable sidecar token would expose every upload.
pub const MIN_TOKEN_LEN: usize = 16;

#[derive(Clone)]
pub struct SidecarState {
    ocr: Arc<Mutex<Box<dyn OcrEngine>>>,
    ocr_name: &'static str,
    token: Arc<str>,
}

impl SidecarState {
    pub fn new(ocr: Box<dyn OcrEngine>, token: &str) -> anyhow::Result<Self> {
        anyhow::ensure!(
            token.len() >= MIN_TOKEN_LEN,
            "the sidecar token must be at least {MIN_TOKEN_LEN} characters"
        );
        let ocr_name = ocr.name();
        Ok(Self {
            ocr: Arc::new(Mutex::new(ocr)),
            ocr_name,
            token: token.into(),
        })
    }
}

fn problem(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (
        status,
        Json(json!({"code": code, "message": message.into(), "details": {}})),
    )
        .into_response()
}

/// Constant-time comparison, so response timing does not reveal the token.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn authorised(headers: &HeaderMap, token: &str) -> bool {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| same(t.trim().as_bytes(), token.as_bytes()))
}

async fn health(State(state): State<SidecarState>) -> Json<serde_json::Value> {
    Json(json!({
        "status": "ok",
        "models": {"ocr": {"engine": state.ocr_name, "loaded": true}},
        "routes": ["/v1/cards", "/v1/shelves"],
    }))
}

async fn cards(State(state): State<SidecarState>, headers: HeaderMap, body: Bytes) -> Response {
    read(state, Kind::Card, headers, body).await
}

async fn shelves(State(state): State<SidecarState>, headers: HeaderMap, body: Bytes) -> Response {
    read(state, Kind::Shelf, headers, body).await
}

async fn read(state: SidecarState, kind: Kind, headers: HeaderMap, body: Bytes) -> Response {
    if !authorised(&headers, &state.token) {
        return problem(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "expected Authorization: Bearer <token>",
        );
    }
    let file = headers
        .get("x-file-name")
        .and_then(|v| v.to_str().ok())
        .filter(|s| !s.is_empty() && s.len() <= 255)
        .unwrap_or("upload")
        .to_owned();
    let ocr = state.ocr.clone();
    let result = tokio::task::spawn_blocking(move || {
        let mut engine = ocr.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        read_image(engine.as_mut(), kind, file, &body)
    })
    .await;
    match result {
        Ok(Output::Card(card)) => Json(card).into_response(),
        Ok(Output::Shelf(shelf)) => Json(shelf).into_response(),
        Ok(Output::Error(e)) => {
            let status = match e.error.code {
                "ocr_failed" => StatusCode::INTERNAL_SERVER_ERROR,
                "input_too_large" => StatusCode::PAYLOAD_TOO_LARGE,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            (status, Json(json!({"code": e.error.code, "message": e.error.message, "details": {"file": e.file}})))
                .into_response()
        }
        Err(e) => problem(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()),
    }
}

async fn unknown_route() -> Response {
    problem(StatusCode::NOT_FOUND, "not_found", "no such route")
}

pub fn router(state: SidecarState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/v1/cards", post(cards))
        .route("/v1/shelves", post(shelves))
        .fallback(unknown_route)
        .method_not_allowed_fallback(|| async {
            problem(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "method not allowed",
            )
        })
        .with_state(state)
        // A little headroom over the image limit, so the image check reports the real size.
        .layer(DefaultBodyLimit::max(MAX_BYTES + 1024))
        .layer(axum::middleware::map_response(
            |response: Response| async move {
                if response.status() == StatusCode::PAYLOAD_TOO_LARGE
                    && response
                        .headers()
                        .get("content-type")
                        .is_none_or(|v| v != "application/json")
                {
                    return problem(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "payload_too_large",
                        format!("uploads are limited to {MAX_BYTES} bytes"),
                    );
                }
                response
            },
        ))
}
