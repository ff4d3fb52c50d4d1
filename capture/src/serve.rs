//! The HTTP sidecar: the same readers as the command line, models loaded once per process.
//! `POST /v1/cards`, `/v1/shelves` and `/v1/voice` take the photo or recording as the raw
//! request body, `/v1/cards/text` a contact card pasted as text
//! request body (`X-File-Name` names it); voice takes `?language=zh&recorded_at=RFC3339&tz=Asia/Shanghai`.
//! `GET /health` says which models are loaded. Every route but health needs
//! `Authorization: Bearer <FIELDLINE_CAPTURE_TOKEN>`.

use crate::image_input::MAX_BYTES;
use crate::ocr::OcrEngine;
use crate::record::{Kind, Output, read_image};
use crate::voice::asr::{Language, WhisperAsr};
use crate::voice::{VoiceOptions, read_voice};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
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
    /// `None` when the sidecar runs without speech (`/v1/voice` then answers 503).
    asr: Option<Arc<Mutex<WhisperAsr>>>,
    voice_defaults: Arc<VoiceOptions>,
    token: Arc<str>,
}

impl SidecarState {
    pub fn new(
        ocr: Box<dyn OcrEngine>,
        asr: Option<WhisperAsr>,
        voice_defaults: VoiceOptions,
        token: &str,
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(
            token.len() >= MIN_TOKEN_LEN,
            "the sidecar token must be at least {MIN_TOKEN_LEN} characters"
        );
        let ocr_name = ocr.name();
        Ok(Self {
            ocr: Arc::new(Mutex::new(ocr)),
            ocr_name,
            asr: asr.map(|a| Arc::new(Mutex::new(a))),
            voice_defaults: Arc::new(voice_defaults),
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
        "models": {
            "ocr": {"engine": state.ocr_name, "loaded": true},
            "speech": {"engine": "whisper-base", "loaded": state.asr.is_some()},
        },
        "routes": ["/v1/cards", "/v1/cards/text", "/v1/shelves", "/v1/voice"],
    }))
}

async fn cards(State(state): State<SidecarState>, headers: HeaderMap, body: Bytes) -> Response {
    read(state, Kind::Card, headers, body).await
}

/// A contact card pasted as text (UTF-8, at most 8 KB): the card extractor without OCR.
async fn card_text(State(state): State<SidecarState>, headers: HeaderMap, body: Bytes) -> Response {
    if !authorised(&headers, &state.token) {
        return unauthenticated();
    }
    if body.len() > 8 * 1024 {
        return problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            "input_too_large",
            "a pasted card is at most 8 KB",
        );
    }
    let Ok(text) = std::str::from_utf8(&body) else {
        return problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "not_text",
            "a pasted card must be UTF-8 text",
        );
    };
    let started = std::time::Instant::now();
    let (fields, lines) = crate::card::extract_text(text);
    let record = crate::record::CardRecord {
        file: file_name(&headers, "pasted.txt"),
        fields,
        reading: crate::record::Reading {
            engine: "text",
            width: 0,
            height: 0,
            lines,
            timings: crate::record::Timings {
                decode_ms: 0.0,
                ocr_ms: 0.0,
                extract_ms: started.elapsed().as_secs_f64() * 1000.0,
            },
        },
    };
    Json(record).into_response()
}

async fn shelves(State(state): State<SidecarState>, headers: HeaderMap, body: Bytes) -> Response {
    read(state, Kind::Shelf, headers, body).await
}

fn unauthenticated() -> Response {
    problem(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        "expected Authorization: Bearer <token>",
    )
}

fn file_name(headers: &HeaderMap, fallback: &str) -> String {
    headers
        .get("x-file-name")
        .and_then(|v| v.to_str().ok())
        .filter(|s| !s.is_empty() && s.len() <= 255)
        .unwrap_or(fallback)
        .to_owned()
}

async fn read(state: SidecarState, kind: Kind, headers: HeaderMap, body: Bytes) -> Response {
    if !authorised(&headers, &state.token) {
        return unauthenticated();
    }
    let file = file_name(&headers, "upload");
    let ocr = state.ocr.clone();
    respond(
        tokio::task::spawn_blocking(move || {
            let mut engine = ocr.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            read_image(engine.as_mut(), kind, file, &body)
        })
        .await,
    )
}

/// Per-request voice options; absent ones fall back to the sidecar's defaults.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct VoiceQuery {
    language: Option<String>,
    recorded_at: Option<String>,
    tz: Option<String>,
}

/// The extension the audio probe should try, from the upload's content type.
fn extension_for(content_type: Option<&str>) -> &'static str {
    match content_type.map(|c| c.split(';').next().unwrap_or("").trim()) {
        Some("audio/mpeg" | "audio/mp3") => "mp3",
        Some("audio/mp4" | "audio/x-m4a" | "audio/aac" | "audio/m4a") => "m4a",
        Some("audio/ogg" | "audio/opus") => "ogg",
        Some("audio/flac" | "audio/x-flac") => "flac",
        Some("audio/webm") => "webm",
        _ => "wav",
    }
}

async fn voice(
    State(state): State<SidecarState>,
    headers: HeaderMap,
    query: Result<Query<VoiceQuery>, axum::extract::rejection::QueryRejection>,
    body: Bytes,
) -> Response {
    if !authorised(&headers, &state.token) {
        return unauthenticated();
    }
    let Some(asr) = state.asr.clone() else {
        return problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "speech_not_loaded",
            "this sidecar runs without the speech model",
        );
    };
    let Query(query) = match query {
        Ok(q) => q,
        Err(e) => return problem(StatusCode::BAD_REQUEST, "bad_query", e.body_text()),
    };
    let mut options = (*state.voice_defaults).clone();
    if let Some(language) = query.language.filter(|l| l != "auto") {
        options.language = Language::Fixed(language);
    }
    if let Some(at) = query.recorded_at {
        match chrono::DateTime::parse_from_rfc3339(&at) {
            Ok(at) => options.recorded_at = Some(at.to_utc()),
            Err(e) => {
                return problem(
                    StatusCode::BAD_REQUEST,
                    "bad_recorded_at",
                    format!("recorded_at must be RFC 3339 with an offset: {e}"),
                );
            }
        }
    }
    if let Some(tz) = query.tz {
        match tz.parse::<chrono_tz::Tz>() {
            Ok(tz) => options.time_zone = tz,
            Err(_) => {
                return problem(
                    StatusCode::BAD_REQUEST,
                    "bad_time_zone",
                    format!("unknown IANA time zone {tz:?}"),
                );
            }
        }
    }
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let fallback = format!("upload.{}", extension_for(content_type));
    let file = file_name(&headers, &fallback);
    respond(
        tokio::task::spawn_blocking(move || {
            let mut asr = asr.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            read_voice(&mut asr, file, &body, &options)
        })
        .await,
    )
}

fn respond(result: Result<Output, tokio::task::JoinError>) -> Response {
    match result {
        Ok(Output::Card(card)) => Json(card).into_response(),
        Ok(Output::Shelf(shelf)) => Json(shelf).into_response(),
        Ok(Output::Voice(voice)) => Json(voice).into_response(),
        Ok(Output::Error(e)) => {
            let status = match e.error.code {
                "ocr_failed" | "asr_failed" => StatusCode::INTERNAL_SERVER_ERROR,
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
        .route("/v1/cards/text", post(card_text))
        .route("/v1/shelves", post(shelves))
        .route("/v1/voice", post(voice))
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
