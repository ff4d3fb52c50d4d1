use crate::auth::Authenticated;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::idempotency::{IdempotencyHeader, created};
use crate::state::AppState;
use crate::upload::{UploadRequest, UploadTicket};
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use fieldline_domain::{LeadId, NewUpload, Upload, UploadId};
use fieldline_store::Created;

/// Ask for an upload URL for a photo, voice note or quote on this lead. The phone then PUTs
/// the bytes to `url` with exactly `headers`; the attachment appears on the lead once the
/// upload function has checked it.
#[utoipa::path(post, path = "/v1/leads/{id}/uploads", tag = "leads", security(("bearer" = [])),
    params(("id" = LeadId, Path)),
    request_body = UploadRequest,
    responses((status = 201, body = UploadTicket), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 501, description = "The embedded store takes no direct uploads", body = ErrorBody)))]
pub async fn request_upload(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<LeadId>,
    ApiJson(req): ApiJson<UploadRequest>,
) -> Result<(StatusCode, Json<UploadTicket>), ApiError> {
    let ticket = crate::upload::request_upload(&state, &auth.actor, id, req).await?;
    Ok((StatusCode::CREATED, Json(ticket)))
}

/// Upload the bytes for a ticket from `POST /v1/leads/{id}/uploads` or
/// `POST /v1/deals/{id}/uploads` (embedded server). The ticket is the authority, like a
/// presigned URL: no bearer token.
#[utoipa::path(put, path = "/v1/upload-tickets/{ticket}", tag = "leads",
    params(("ticket" = String, Path)),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, description = "Stored and recorded on its lead or deal"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 422, description = "Refused (wrong bytes for the type, ...) and not kept", body = ErrorBody)))]
pub async fn receive_upload(
    State(state): State<AppState>,
    axum::extract::Path(ticket): axum::extract::Path<String>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    match crate::upload::receive_upload(&state, &ticket, content_type, body.to_vec()).await? {
        // Who may no longer act is told so (403), a vanished lead is 404; the rest is about
        // the bytes themselves (422). The code names the reason either way.
        crate::upload::UploadOutcome::Rejected { code, detail } => Err(match code {
            "upload_forbidden" | "upload_inactive_user" | "upload_unknown_user" => {
                ApiError::Refused {
                    status: StatusCode::FORBIDDEN,
                    code,
                    message: detail,
                }
            }
            "upload_unknown_lead" | "upload_unknown_deal" | "upload_unknown" => ApiError::Refused {
                status: StatusCode::NOT_FOUND,
                code,
                message: detail,
            },
            _ => ApiError::Unprocessable {
                code,
                message: detail,
            },
        }),
        outcome => Ok((StatusCode::CREATED, Json(outcome)).into_response()),
    }
}

/// Start an upload: a business card, shelf photo or voice note for capture (with the lead,
/// deal or customer it is about, if any), or an attachment on a deal. PUT the bytes to
/// `ticket.url` with exactly `ticket.headers`, then poll `GET /v1/uploads/{id}`.
#[utoipa::path(post, path = "/v1/uploads", tag = "uploads", security(("bearer" = [])),
    request_body = NewUpload,
    params(("Idempotency-Key" = Option<String>, Header, pattern = r"^[!-~]{1,128}$", description = "Makes retries safe: the same key and body return the first upload, with a fresh URL")),
    responses((status = 201, body = crate::upload::UploadStarted),
        (status = 200, description = "A retry of an earlier request", body = crate::upload::UploadStarted),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn start_upload(
    State(state): State<AppState>,
    auth: Authenticated,
    IdempotencyHeader(key): IdempotencyHeader,
    ApiJson(input): ApiJson<NewUpload>,
) -> Result<Response, ApiError> {
    let outcome = crate::upload::start_upload(&state, &auth.actor, input, key).await?;
    let location = match &outcome {
        Created::New(s) => Some(format!("/v1/uploads/{}", s.upload.id)),
        Created::Replayed(_) => None,
    };
    Ok(created(outcome, location))
}

/// An upload's status, for the phone to poll: `pending` (waiting for the bytes),
/// `processing` (queued or being read; `attempts` and `retry_at` while capture is
/// unavailable), `done` (with `captured` and `links` to every record made or proposed) or
/// `failed` (with a stable `error.code`).
#[utoipa::path(get, path = "/v1/uploads/{id}", tag = "uploads", security(("bearer" = [])),
    params(("id" = UploadId, Path)),
    responses((status = 200, body = Upload), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_upload(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<UploadId>,
) -> Result<Json<Upload>, ApiError> {
    Ok(Json(
        crate::upload::get_upload(&state, &auth.actor, id).await?,
    ))
}

/// Settle a card's merge proposal: `merge` adds the card's phones, e-mails and title to the
/// contact it matched (what another contact holds is left out); `dismiss` keeps the contact
/// as it is. The same answer again changes nothing; the other answer after one is 409.
#[utoipa::path(post, path = "/v1/uploads/{id}/proposal", tag = "uploads", security(("bearer" = [])),
    params(("id" = UploadId, Path)),
    request_body = crate::upload::ProposalDecision,
    responses((status = 200, body = Upload), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "No proposal, or it was settled the other way", body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn decide_proposal(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<UploadId>,
    ApiJson(req): ApiJson<crate::upload::ProposalDecision>,
) -> Result<Json<Upload>, ApiError> {
    Ok(Json(
        crate::upload::decide_proposal(&state, &auth.actor, id, req.decision).await?,
    ))
}

/// Correct a voice note's transcript (whoever recorded it). The machine's stays beside it.
#[utoipa::path(put, path = "/v1/uploads/{id}/transcript", tag = "uploads", security(("bearer" = [])),
    params(("id" = UploadId, Path)),
    request_body = crate::upload::TranscriptCorrection,
    responses((status = 200, body = Upload), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "Not a transcribed voice note", body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn correct_transcript(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<UploadId>,
    ApiJson(req): ApiJson<crate::upload::TranscriptCorrection>,
) -> Result<Json<Upload>, ApiError> {
    Ok(Json(
        crate::upload::correct_transcript(&state, &auth.actor, id, &req.text).await?,
    ))
}

/// Paste a contact card as text (a WeChat or WeCom card shared as text, an e-mail signature):
/// read by the same extractor as a card photo, into a contact at the subject customer, a merge
/// proposal, or a lead. No bytes to send; poll `GET /v1/uploads/{id}` as for a photo.
#[utoipa::path(post, path = "/v1/uploads/card-text", tag = "uploads", security(("bearer" = [])),
    request_body = crate::upload::PastedCard,
    params(("Idempotency-Key" = Option<String>, Header, pattern = r"^[!-~]{1,128}$", description = "Makes retries safe")),
    responses((status = 201, body = Upload), (status = 200, description = "A retry of an earlier request", body = Upload),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn paste_card(
    State(state): State<AppState>,
    auth: Authenticated,
    IdempotencyHeader(key): IdempotencyHeader,
    ApiJson(input): ApiJson<crate::upload::PastedCard>,
) -> Result<Response, ApiError> {
    let outcome = crate::upload::paste_card(&state, &auth.actor, input, key).await?;
    let location = match &outcome {
        Created::New(u) => Some(format!("/v1/uploads/{}", u.id)),
        Created::Replayed(_) => None,
    };
    Ok(created(outcome, location))
}
