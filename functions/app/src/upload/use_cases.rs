//! Attachments from phones. The API hands out a presigned upload URL bound to one record (a
//! lead, or a deal through an upload record), one uploader, one content type and one exact
//! size; the phone sends the bytes straight to the blob store; the store's "object created"
//! event (S3 → the upload function) checks what arrived and records it on its record. Large
//! bodies never pass through the API.

use crate::auth::{UPLOAD_AUDIENCE, UploadClaims};
use crate::error::AppError;
use crate::lead::{self, load_changeable};
use crate::state::AppState;
use fieldline_domain::{
    Activity, ActivityId, ActivityKind, Actor, AttachmentFile, DealId, LeadId, NewActivity,
    NewUpload, Subject, TenantId, Upload, UploadError, UploadId, UploadKind, UploadStatus, UserId,
};
use fieldline_store::{BlobKey, IdempotencyKey, PresignedRequest, StoreError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::time::Duration;
use utoipa::ToSchema;

/// Photos, voice notes and quotes; big enough for a 10-minute voice note.
pub const MAX_UPLOAD_BYTES: u64 = 25 * 1024 * 1024;
/// Upload URLs expire quickly: a phone uses one at once or asks again.
pub const UPLOAD_URL_TTL: Duration = Duration::from_secs(10 * 60);

const MAX_FILE_NAME_CHARS: usize = 200;

/// Accepted content types and the leading bytes each must start with.
const ACCEPTED: &[(&str, &[&[u8]])] = &[
    ("image/jpeg", &[b"\xFF\xD8\xFF"]),
    ("image/png", &[b"\x89PNG\r\n\x1a\n"]),
    ("image/webp", &[b"RIFF"]),
    ("application/pdf", &[b"%PDF-"]),
    ("audio/mp4", &[b"\0\0\0"]),
    ("audio/m4a", &[b"\0\0\0"]),
    (
        "audio/mpeg",
        &[b"ID3", b"\xFF\xFB", b"\xFF\xF3", b"\xFF\xF2"],
    ),
    ("audio/ogg", &[b"OggS"]),
    ("audio/wav", &[b"RIFF"]),
    ("audio/webm", &[b"\x1A\x45\xDF\xA3"]),
];

/// Spreadsheets an import upload takes: text has no magic bytes (the import reads its
/// encoding and says so if it cannot); a workbook is a zip.
const IMPORT_ACCEPTED: &[(&str, &[&[u8]])] = &[
    ("text/csv", &[b""]),
    ("text/plain", &[b""]),
    ("text/tab-separated-values", &[b""]),
    // What Windows browsers call a .csv file.
    ("application/vnd.ms-excel", &[b""]),
    (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        &[b"PK\x03\x04"],
    ),
];

/// The content types a kind of upload takes and the leading bytes each must start with.
fn accepted(kind: UploadKind) -> &'static [(&'static str, &'static [&'static [u8]])] {
    match kind {
        UploadKind::Import => IMPORT_ACCEPTED,
        _ => ACCEPTED,
    }
}

/// The content types a lead's or deal's attachment takes, as the document lists them: drawn
/// from `ACCEPTED`, so the document and the check cannot disagree. (Spreadsheets go through
/// `POST /v1/uploads` as `kind: import`.)
pub struct UploadContentType;

impl utoipa::PartialSchema for UploadContentType {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(ACCEPTED.iter().map(|(t, _)| *t)))
            .into()
    }
}

impl ToSchema for UploadContentType {}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadRequest {
    /// The name on the phone (1-200 characters, no path separators); kept as sent on the
    /// upload record, sanitised in the stored key.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^(?=.*[^\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])[^/\\\x00-\x1f\x7f-\x9f]+$"
    )]
    pub file_name: String,
    #[schema(value_type = UploadContentType)]
    pub content_type: String,
    /// Exact size in bytes; the URL only accepts this many.
    #[schema(minimum = 1, maximum = 26214400)]
    pub size: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UploadTicket {
    /// The upload record whose status the phone can follow (deal attachments).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload: Option<UploadId>,
    /// Where the attachment will live, relative to the tenant.
    pub key: String,
    pub method: String,
    pub url: String,
    /// Headers the upload must carry exactly (they are covered by the signature).
    pub headers: std::collections::BTreeMap<String, String>,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

fn invalid(field: &str, message: impl Into<String>) -> AppError {
    AppError::InvalidField {
        field: field.into(),
        message: message.into(),
    }
}

/// Keeps letters, digits, dots, dashes and underscores, so the name is one safe key segment.
fn safe_name(raw: &str) -> Option<String> {
    let cleaned: String = raw
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or("")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    let trimmed = cleaned.trim_start_matches('.');
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

/// Where the bytes of an upload record live, relative to its tenant: the record's id and
/// a safe form of the name the phone sent (material links serve them from here).
pub fn record_key(id: UploadId, file_name: &str) -> String {
    let name = safe_name(file_name).unwrap_or_else(|| "file".to_owned());
    format!("uploads/{id}/{name}")
}

/// The request's content type (lower-cased) and a safe name for the key, or why not.
pub(super) fn checked(kind: UploadKind, req: &UploadRequest) -> Result<(String, String), AppError> {
    let content_type = req.content_type.trim().to_ascii_lowercase();
    if !accepted(kind).iter().any(|(t, _)| *t == content_type) {
        let types: Vec<&str> = accepted(kind).iter().map(|(t, _)| *t).collect();
        return Err(invalid(
            "content_type",
            format!("not accepted; use one of {}", types.join(", ")),
        ));
    }
    let max = kind.max_bytes();
    if req.size == 0 || req.size > max {
        return Err(invalid("size", format!("must be 1 to {max} bytes")));
    }
    let name_ok = (1..=MAX_FILE_NAME_CHARS).contains(&req.file_name.chars().count())
        && !req.file_name.trim().is_empty()
        && !req.file_name.contains(['/', '\\'])
        && !req.file_name.chars().any(char::is_control);
    if !name_ok {
        return Err(invalid(
            "file_name",
            format!("1-{MAX_FILE_NAME_CHARS} characters, no path separators"),
        ));
    }
    // The name is only a reader's hint in the key; one with nothing usable left gets a plain one.
    let name = safe_name(&req.file_name).unwrap_or_else(|| "file".to_owned());
    Ok((content_type, name))
}

/// A presigned upload for an attachment on a lead the caller may act on.
#[tracing::instrument(name = "upload.request_upload", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn request_upload(
    state: &AppState,
    actor: &Actor,
    lead: LeadId,
    req: UploadRequest,
) -> Result<UploadTicket, AppError> {
    load_changeable(state, actor, lead).await?;
    let (content_type, name) = checked(UploadKind::Attachment, &req)?;
    let path = format!(
        "leads/{lead}/uploads/{}/{}-{name}",
        actor.user,
        uuid::Uuid::now_v7().simple()
    );
    ticket(state, actor, None, path, content_type, req.size).await
}

/// A presigned upload for a file on a deal the caller may work on (a quote, a contract). An
/// upload record keeps the name as sent (`报价单.pdf`), which gates match on, and its status.
#[tracing::instrument(name = "upload.request_deal_upload", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn request_deal_upload(
    state: &AppState,
    actor: &Actor,
    deal: DealId,
    req: UploadRequest,
) -> Result<UploadTicket, AppError> {
    crate::deal::load_deal(state, actor, deal).await?;
    let (content_type, _) = checked(UploadKind::Attachment, &req)?;
    let input = NewUpload {
        kind: UploadKind::Attachment,
        subject: Some(Subject::Deal(deal)),
        file_name: req.file_name.clone(),
        content_type: content_type.clone(),
        size: req.size,
        device_reading: None,
        import: None,
    };
    let id = UploadId::new();
    let (upload, event) = Upload::create(&input, id, actor, state.clock.now())?;
    state.uploads.create_upload(&upload, &[event], None).await?;
    let path = record_key(id, &req.file_name);
    ticket(state, actor, Some(id), path, content_type, req.size).await
}

/// The URL (presigned on S3, a signed ticket on the embedded server) that takes the bytes.
pub(super) async fn ticket(
    state: &AppState,
    actor: &Actor,
    upload: Option<UploadId>,
    path: String,
    content_type: String,
    size: u64,
) -> Result<UploadTicket, AppError> {
    let key = BlobKey::parse(actor.tenant.clone(), &path)
        .ok_or_else(|| invalid("file_name", "cannot be stored"))?;
    let signed: PresignedRequest = match state
        .blobs
        .presign_put(&key, &content_type, size, UPLOAD_URL_TTL)
        .await?
    {
        Some(signed) => signed,
        // The embedded store has no URLs of its own: the server takes the PUT itself.
        None => local_ticket(state, actor, path.clone(), content_type, size),
    };
    Ok(UploadTicket {
        upload,
        key: path,
        method: signed.method,
        url: signed.url,
        headers: signed.headers.into_iter().collect(),
        expires_at: signed.expires_at,
    })
}

/// A signed upload URL on this server (`PUT /v1/upload-tickets/{ticket}`), relative to the API.
fn local_ticket(
    state: &AppState,
    actor: &Actor,
    path: String,
    content_type: String,
    size: u64,
) -> PresignedRequest {
    let expires_at =
        state.clock.now() + chrono::Duration::from_std(UPLOAD_URL_TTL).expect("a short duration");
    let ticket = state.tokens.issue_upload(&UploadClaims {
        aud: UPLOAD_AUDIENCE.into(),
        iss: state.tokens.issuer().to_owned(),
        exp: expires_at.timestamp(),
        sub: actor.user,
        tenant: actor.tenant.clone(),
        path,
        content_type: content_type.clone(),
        size,
    });
    PresignedRequest {
        method: "PUT".into(),
        url: format!("/v1/upload-tickets/{ticket}"),
        headers: vec![("content-type".into(), content_type)],
        expires_at,
    }
}

/// Takes an upload through the embedded server: checks the ticket and that the bytes are
/// what it was issued for, stores them, and runs the same check as the S3 upload function.
#[tracing::instrument(
    name = "upload.receive_upload",
    level = "debug",
    skip_all,
    err(Display)
)]
pub async fn receive_upload(
    state: &AppState,
    ticket: &str,
    content_type: Option<&str>,
    bytes: Vec<u8>,
) -> Result<UploadOutcome, AppError> {
    let claims = state.tokens.verify_upload(ticket, state.clock.now())?;
    if content_type.map(|t| t.trim().to_ascii_lowercase()) != Some(claims.content_type.clone()) {
        return Err(AppError::rejected(
            "upload_mismatch",
            format!("the ticket is for Content-Type: {}", claims.content_type),
        ));
    }
    if bytes.len() as u64 != claims.size {
        return Err(AppError::rejected(
            "upload_mismatch",
            format!("the ticket is for exactly {} bytes", claims.size),
        ));
    }
    let key = BlobKey::parse(claims.tenant.clone(), &claims.path)
        .ok_or_else(|| AppError::Unauthenticated("upload ticket is invalid".into()))?;
    let version = hex::encode(Sha256::digest(&bytes));
    let head: Vec<u8> = bytes.iter().take(16).copied().collect();
    let size = bytes.len() as u64;
    state.blobs.put(&key, bytes, &claims.content_type).await?;
    let outcome = accept_upload(
        state,
        &claims.tenant,
        &claims.path,
        size,
        &claims.content_type,
        &head,
        &version,
    )
    .await?;
    if matches!(outcome, UploadOutcome::Rejected { .. }) {
        state.blobs.delete(&key).await?;
    }
    Ok(outcome)
}

/// What an uploaded object turned out to be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum UploadOutcome {
    /// Recorded on its lead or deal (a replayed event records nothing twice).
    Recorded {
        #[serde(flatten)]
        subject: Subject,
        activity: String,
    },
    /// Refused and to be deleted: `code` says why.
    Rejected { code: &'static str, detail: String },
    /// Checked and queued for capture (a repeat finds it queued already).
    Queued { upload: UploadId },
    /// Not an attachment upload (another prefix); left alone.
    Ignored,
}

/// A refusal: its stable code and what it means.
type Refusal = (&'static str, String);

/// Whether `size` bytes starting with `head` are an accepted `content_type` for this kind of
/// upload: its magic bytes, not only its name, so a file claiming to be a PDF must be one.
pub(super) fn check_bytes(
    kind: UploadKind,
    size: u64,
    content_type: &str,
    head: &[u8],
) -> Result<(), Refusal> {
    let max = kind.max_bytes();
    if size == 0 || size > max {
        return Err((
            "upload_size",
            format!("an upload must be 1 to {max} bytes; this one is {size}"),
        ));
    }
    let Some((_, magics)) = accepted(kind).iter().find(|(t, _)| *t == content_type) else {
        return Err((
            "upload_content_type",
            format!("{content_type:?} is not an accepted attachment type"),
        ));
    };
    if !magics.iter().any(|m| head.starts_with(m)) {
        return Err((
            "upload_content_mismatch",
            format!("the bytes are not {content_type}"),
        ));
    }
    Ok(())
}

/// The uploader as they are now (the file is recorded in their name), or why not.
pub(crate) async fn uploader_actor(
    state: &AppState,
    tenant: &TenantId,
    uploader: UserId,
) -> Result<Result<Actor, Refusal>, AppError> {
    let Some(user) = state.directory.get_user(tenant, uploader).await? else {
        return Ok(Err((
            "upload_unknown_user",
            format!("the uploader {uploader} no longer exists"),
        )));
    };
    if !user.active {
        return Ok(Err((
            "upload_inactive_user",
            format!("the uploader {uploader} has been deactivated"),
        )));
    }
    Ok(Ok(Actor {
        user: user.id,
        tenant: user.tenant.clone(),
        role: user.role,
        team: user.team,
    }))
}

/// The upload record a key belongs to: `uploads/{upload}/{name}`.
fn parse_record_path(path: &str) -> Option<UploadId> {
    let mut parts = path.split('/');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("uploads"), Some(id), Some(_name), None) => id.parse().ok(),
        _ => None,
    }
}

/// Records a file that arrived for a deal's upload record: the bytes are checked against
/// the record (size, type, magic bytes), logged on the deal as an attachment in the
/// uploader's name, and the record marked done. Each step is idempotent, so a redelivered
/// event, or one after a crash midway, finishes the job without doing any part twice.
async fn accept_deal_file(
    state: &AppState,
    tenant: &TenantId,
    id: UploadId,
    size: u64,
    content_type: &str,
    head: &[u8],
) -> Result<UploadOutcome, AppError> {
    let Some(upload) = state.uploads.get_upload(tenant, id).await? else {
        return Ok(UploadOutcome::Rejected {
            code: "upload_unknown",
            detail: format!("no upload {id} was asked for"),
        });
    };
    if upload.kind != UploadKind::Attachment {
        return super::records::queue_for_capture(state, upload, size, content_type, head).await;
    }
    let Some(Subject::Deal(deal)) = upload.subject else {
        return Ok(UploadOutcome::Ignored);
    };
    let (code, detail): Refusal = 'check: {
        if upload.status == UploadStatus::Failed {
            break 'check (
                "upload_failed",
                "this upload already failed; ask for a new URL".to_owned(),
            );
        }
        if size != upload.size || content_type != upload.content_type {
            break 'check (
                "upload_mismatch",
                format!(
                    "the upload is for {} bytes of {}",
                    upload.size, upload.content_type
                ),
            );
        }
        if let Err(refusal) = check_bytes(upload.kind, size, content_type, head) {
            break 'check refusal;
        }
        match uploader_actor(state, tenant, upload.created_by).await? {
            Err(refusal) => refusal,
            Ok(actor) => return record_deal_file(state, &actor, upload, deal).await,
        }
    };
    fail_upload(state, upload, code, &detail).await?;
    Ok(UploadOutcome::Rejected { code, detail })
}

/// Logs the checked file on its deal once per upload record (re-sent bytes replace the
/// stored file, not the log line), then marks the record done.
async fn record_deal_file(
    state: &AppState,
    actor: &Actor,
    upload: Upload,
    deal: DealId,
) -> Result<UploadOutcome, AppError> {
    let rec = crate::lead::idempotency(
        actor,
        Some(
            IdempotencyKey::parse(&format!("upload-{}", upload.id.as_uuid().simple()))
                .expect("a uuid is a valid idempotency key"),
        ),
        "deal.attachment",
        &upload.id,
    );
    let file = AttachmentFile {
        upload: upload.id,
        file_name: upload.file_name.clone(),
        content_type: upload.content_type.clone(),
        size: upload.size,
    };
    let now = state.clock.now();
    let logged = crate::deal::activity::append(state, actor, deal, rec.as_ref(), |d| {
        let activity = Activity::attachment(
            ActivityId::new(),
            &d.log_target(),
            file.clone(),
            actor.user,
            now,
        );
        let event = d.attach(&activity, actor, now);
        Ok((activity, event))
    })
    .await;
    let activity = match logged {
        Ok((outcome, _)) => outcome.into_inner(),
        Err(AppError::NotFound(_)) => {
            let detail = format!("deal {deal} no longer exists");
            fail_upload(state, upload, "upload_unknown_deal", &detail).await?;
            return Ok(UploadOutcome::Rejected {
                code: "upload_unknown_deal",
                detail,
            });
        }
        Err(AppError::Forbidden(why)) => {
            let detail = format!("the uploader may no longer work on deal {deal}: {why}");
            fail_upload(state, upload, "upload_forbidden", &detail).await?;
            return Ok(UploadOutcome::Rejected {
                code: "upload_forbidden",
                detail,
            });
        }
        Err(e) => return Err(e),
    };
    finish_upload(state, upload, |u| {
        let mut events = Vec::new();
        if u.status == UploadStatus::Pending {
            events.push(u.advance(UploadStatus::Processing, None, vec![], now)?);
        }
        events.push(u.advance(UploadStatus::Done, None, vec![Subject::Deal(deal)], now)?);
        Ok(events)
    })
    .await?;
    Ok(UploadOutcome::Recorded {
        subject: Subject::Deal(deal),
        activity: activity.id.to_string(),
    })
}

pub(crate) async fn fail_upload(
    state: &AppState,
    upload: Upload,
    code: &str,
    detail: &str,
) -> Result<(), AppError> {
    let now = state.clock.now();
    let error = UploadError {
        code: code.to_owned(),
        message: detail.to_owned(),
    };
    finish_upload(state, upload, |u| {
        Ok(vec![u.advance(
            UploadStatus::Failed,
            Some(error.clone()),
            vec![],
            now,
        )?])
    })
    .await
}

/// Moves an upload record on with `step` unless it is already final (a redelivered event
/// finds it done); a concurrent writer's version is re-read once.
pub(crate) async fn finish_upload(
    state: &AppState,
    mut upload: Upload,
    step: impl Fn(
        &mut Upload,
    ) -> Result<Vec<fieldline_domain::DomainEvent>, fieldline_domain::DomainError>,
) -> Result<(), AppError> {
    for _ in 0..3 {
        if matches!(upload.status, UploadStatus::Done | UploadStatus::Failed) {
            return Ok(());
        }
        let before = upload.version;
        let events = step(&mut upload)?;
        match state.uploads.update_upload(&upload, before, &events).await {
            Ok(()) => return Ok(()),
            Err(StoreError::VersionConflict { .. }) => {
                let Some(fresh) = state.uploads.get_upload(&upload.tenant, upload.id).await? else {
                    return Ok(());
                };
                upload = fresh;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::Conflict(
        "the upload is being changed by another writer".into(),
    ))
}

/// The parts of an upload key: `leads/{lead}/uploads/{user}/{name}`.
fn parse_upload_path(path: &str) -> Option<(LeadId, UserId, &str)> {
    let mut parts = path.split('/');
    match (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) {
        (Some("leads"), Some(lead), Some("uploads"), Some(user), Some(name), None) => {
            Some((lead.parse().ok()?, user.parse().ok()?, name))
        }
        _ => None,
    }
}

/// Checks an object that arrived through an upload URL and records it on its lead as the
/// uploader. `head` is the object's first bytes; `version` distinguishes re-uploads of the
/// same key (the ETag), so a redelivered event is recognised by its idempotency key.
#[tracing::instrument(name = "upload.accept_upload", level = "debug", skip_all, err(Display))]
pub async fn accept_upload(
    state: &AppState,
    tenant: &TenantId,
    path: &str,
    size: u64,
    content_type: &str,
    head: &[u8],
    version: &str,
) -> Result<UploadOutcome, AppError> {
    if let Some(id) = parse_record_path(path) {
        return accept_deal_file(state, tenant, id, size, content_type, head).await;
    }
    let Some((lead, uploader, name)) = parse_upload_path(path) else {
        return Ok(UploadOutcome::Ignored);
    };
    let reject = |code, detail: String| Ok(UploadOutcome::Rejected { code, detail });
    if let Err((code, detail)) = check_bytes(UploadKind::Attachment, size, content_type, head) {
        return reject(code, detail);
    }
    let actor = match uploader_actor(state, tenant, uploader).await? {
        Ok(actor) => actor,
        Err((code, detail)) => return reject(code, detail),
    };
    let digest = hex::encode(Sha256::digest(format!("{path}|{version}")));
    let key = IdempotencyKey::parse(&format!("upload-{}", &digest[..48]))
        .expect("hex is a valid idempotency key");
    let note = NewActivity {
        kind: ActivityKind::Note,
        summary: format!("Attachment: {name} ({content_type}, {size} bytes) · {path}"),
        occurred_at: None,
        structured: None,
        contact: None,
    };
    match lead::log_activity(state, &actor, lead, note, Some(key)).await {
        Ok((outcome, _)) => Ok(UploadOutcome::Recorded {
            subject: Subject::Lead(lead),
            activity: outcome.into_inner().id.to_string(),
        }),
        Err(AppError::NotFound(_)) => reject(
            "upload_unknown_lead",
            format!("lead {lead} no longer exists"),
        ),
        Err(AppError::Forbidden(why)) => reject(
            "upload_forbidden",
            format!("the uploader may no longer change lead {lead}: {why}"),
        ),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_become_one_safe_segment() {
        assert_eq!(safe_name("名片 2026.jpg").as_deref(), Some("___2026.jpg"));
        assert_eq!(safe_name("../../etc/passwd").as_deref(), Some("passwd"));
        assert_eq!(safe_name("..").as_deref(), None);
        assert_eq!(safe_name("").as_deref(), None);
    }

    #[test]
    fn upload_paths_name_lead_and_uploader() {
        let lead = LeadId::new();
        let user = UserId::new();
        let path = format!("leads/{lead}/uploads/{user}/abc-card.jpg");
        assert_eq!(parse_upload_path(&path), Some((lead, user, "abc-card.jpg")));
        assert_eq!(parse_upload_path("captures/x.jpg"), None);
        assert_eq!(parse_upload_path(&format!("{path}/extra")), None);
    }
}
