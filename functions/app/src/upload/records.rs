//! Uploads as records (`POST /v1/uploads`): a card, shelf photo or voice note for capture,
//! or an attachment on a deal. The record is made first and its status is what the phone
//! polls; the bytes go to the URL it comes with; their arrival queues the file for capture.

use super::use_cases::{
    UploadOutcome, UploadRequest, UploadTicket, checked, fail_upload, record_key, ticket,
};
use crate::error::AppError;
use crate::lead::idempotency;
use crate::state::AppState;
use fieldline_domain::{
    Actor, Captured, CardCapture, ContactId, ContactPatch, EmailAddress, NewUpload, PhoneNumber,
    RecordLink, Role, Subject, Upload, UploadId, UploadKind, UploadStatus,
};
use fieldline_store::{BlobKey, Created, IdempotencyKey, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An upload record and where to send its bytes.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UploadStarted {
    pub upload: Upload,
    pub ticket: UploadTicket,
}

/// The content types each kind takes (capture reads images and audio only).
fn kind_accepts(kind: UploadKind, content_type: &str) -> bool {
    match kind {
        UploadKind::Card | UploadKind::Shelf => {
            matches!(content_type, "image/jpeg" | "image/png" | "image/webp")
        }
        UploadKind::Voice => content_type.starts_with("audio/"),
        UploadKind::Attachment => true,
        // `checked` holds the spreadsheet types.
        UploadKind::Import => true,
    }
}

/// The caller may work on the subject the file is for.
async fn check_subject(
    state: &AppState,
    actor: &Actor,
    kind: UploadKind,
    subject: Option<Subject>,
) -> Result<(), AppError> {
    let invalid = |message: &str| AppError::InvalidField {
        field: "subject".into(),
        message: message.into(),
    };
    match (kind, subject) {
        (UploadKind::Import, None) => {}
        (UploadKind::Import, Some(_)) => {
            return Err(invalid("an import is about the tenant's records, not one"));
        }
        (UploadKind::Attachment, Some(Subject::Deal(_))) => {}
        (UploadKind::Attachment, _) => {
            return Err(invalid(
                "an attachment belongs to a deal (leads take theirs at /v1/leads/{id}/uploads)",
            ));
        }
        (UploadKind::Shelf, Some(Subject::Customer(_) | Subject::Visit(_)) | None) => {}
        (UploadKind::Shelf, _) => {
            return Err(invalid(
                "a shelf photo belongs to a store (customer) or a visit",
            ));
        }
        (_, None | Some(Subject::Lead(_) | Subject::Deal(_) | Subject::Customer(_))) => {}
        (_, Some(_)) => return Err(invalid("must be a lead, deal or customer")),
    }
    match subject {
        Some(Subject::Lead(id)) => {
            crate::lead::load_changeable(state, actor, id).await?;
        }
        Some(Subject::Deal(id)) => {
            crate::deal::load_deal(state, actor, id).await?;
        }
        Some(Subject::Customer(id)) => {
            crate::customer::load_live_customer(state, actor, id).await?;
        }
        Some(Subject::Visit(id)) => {
            let visit = crate::visit::get_visit(state, actor, id).await?;
            if visit.owner != actor.user {
                return Err(AppError::Forbidden(
                    "only the rep on a visit adds its photos".into(),
                ));
            }
        }
        _ => {}
    }
    Ok(())
}

/// Starts an upload: checks the request and the subject, stores the pending record (once
/// per `Idempotency-Key`: a phone's retry gets the same record and a fresh URL) and hands
/// out the URL for the bytes.
#[tracing::instrument(name = "upload.start", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn start_upload(
    state: &AppState,
    actor: &Actor,
    input: NewUpload,
    key: Option<IdempotencyKey>,
) -> Result<Created<UploadStarted>, AppError> {
    let (content_type, _) = checked(
        input.kind,
        &UploadRequest {
            file_name: input.file_name.clone(),
            content_type: input.content_type.clone(),
            size: input.size,
        },
    )?;
    if !kind_accepts(input.kind, &content_type) {
        return Err(AppError::InvalidField {
            field: "content_type".into(),
            message: format!("a {} upload takes images or audio it can read", input.kind),
        });
    }
    check_subject(state, actor, input.kind, input.subject).await?;
    if let Some(import) = &input.import {
        actor.check(crate::import::permission(import.kind))?;
    }
    if let Some(reading) = &input.device_reading {
        crate::capture::reading_from_device(input.kind, reading).map_err(|message| {
            AppError::InvalidField {
                field: "device_reading".into(),
                message,
            }
        })?;
    }
    let (upload, event) = Upload::create(&input, UploadId::new(), actor, state.clock.now())?;
    let record = idempotency(actor, key, "upload.start", &input);
    let created = state
        .uploads
        .create_upload(&upload, &[event], record.as_ref())
        .await?;
    let replayed = matches!(created, Created::Replayed(_));
    let upload = created.into_inner();
    let path = record_key(upload.id, &upload.file_name);
    let ticket = ticket(
        state,
        actor,
        Some(upload.id),
        path,
        upload.content_type.clone(),
        upload.size,
    )
    .await?;
    let started = UploadStarted { upload, ticket };
    Ok(if replayed {
        Created::Replayed(started)
    } else {
        Created::New(started)
    })
}

/// A contact card pasted as text (a WeChat or WeCom card shared as text, an e-mail
/// signature), read by the same extractor as a card photo.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PastedCard {
    /// The customer, deal or lead it is for, as for a card photo.
    #[serde(default)]
    pub subject: Option<Subject>,
    /// At most 8,000 bytes of UTF-8.
    #[schema(min_length = 1, max_length = 8000)]
    pub text: String,
}

/// The name a pasted card's text is stored under.
pub const PASTED_CARD_FILE: &str = "pasted-card.txt";
const MAX_PASTED_BYTES: usize = 8000;

/// Takes a pasted card: an upload record of kind `card` whose bytes are the text, stored
/// and queued for capture at once. A retry with the same `Idempotency-Key` returns the same
/// upload and finishes what a crash left undone (stores the text, queues it).
#[tracing::instrument(name = "upload.paste_card", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn paste_card(
    state: &AppState,
    actor: &Actor,
    input: PastedCard,
    key: Option<IdempotencyKey>,
) -> Result<Created<Upload>, AppError> {
    let text = input.text.trim();
    if text.is_empty() || text.len() > MAX_PASTED_BYTES {
        return Err(AppError::InvalidField {
            field: "text".into(),
            message: format!("1 to {MAX_PASTED_BYTES} bytes of text"),
        });
    }
    check_subject(state, actor, UploadKind::Card, input.subject).await?;
    let new = NewUpload {
        kind: UploadKind::Card,
        subject: input.subject,
        file_name: PASTED_CARD_FILE.into(),
        content_type: "text/plain".into(),
        size: text.len() as u64,
        device_reading: None,
        import: None,
    };
    let (upload, event) = Upload::create(&new, UploadId::new(), actor, state.clock.now())?;
    let record = idempotency(actor, key, "upload.paste_card", &input);
    let created = state
        .uploads
        .create_upload(&upload, &[event], record.as_ref())
        .await?;
    let replayed = matches!(created, Created::Replayed(_));
    let mut upload = created.into_inner();
    if upload.status == UploadStatus::Pending {
        let blob = BlobKey::parse(
            actor.tenant.clone(),
            &record_key(upload.id, PASTED_CARD_FILE),
        )
        .ok_or_else(|| AppError::internal("pasted card key", "not a valid key"))?;
        state
            .blobs
            .put(&blob, text.as_bytes().to_vec(), "text/plain")
            .await?;
        let before = upload.version;
        let event = upload.advance(UploadStatus::Processing, None, vec![], state.clock.now())?;
        state
            .uploads
            .update_upload(&upload, before, &[event])
            .await?;
    }
    Ok(if replayed {
        Created::Replayed(upload)
    } else {
        Created::New(upload)
    })
}

/// An upload's status: its uploader's, their team manager's and admins'.
#[tracing::instrument(name = "upload.get", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn get_upload(state: &AppState, actor: &Actor, id: UploadId) -> Result<Upload, AppError> {
    let upload = state
        .uploads
        .get_upload(&actor.tenant, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("upload {id} not found")))?;
    let allowed = match actor.role {
        Role::Admin => true,
        _ if upload.created_by == actor.user => true,
        Role::Manager => state
            .directory
            .get_user(&actor.tenant, upload.created_by)
            .await?
            .is_some_and(|u| u.team.is_some() && u.team == actor.team),
        Role::Rep | Role::Warehouse | Role::Purchasing => false,
    };
    if !allowed {
        return Err(AppError::Forbidden(
            "only its uploader, their manager and admins see an upload".into(),
        ));
    }
    Ok(upload)
}

/// Bytes arrived for a card, shelf photo or voice note: checked against the record (size,
/// type, leading bytes), then the record moves to `processing`, which is the capture queue.
/// A second arrival (a re-sent file, a replayed event) finds it queued and changes nothing.
pub(super) async fn queue_for_capture(
    state: &AppState,
    upload: Upload,
    size: u64,
    content_type: &str,
    head: &[u8],
) -> Result<UploadOutcome, AppError> {
    let id = upload.id;
    if upload.status == UploadStatus::Pending {
        let refusal = if size != upload.size || content_type != upload.content_type {
            Some((
                "upload_mismatch",
                format!(
                    "the upload is for {} bytes of {}",
                    upload.size, upload.content_type
                ),
            ))
        } else {
            super::use_cases::check_bytes(upload.kind, size, content_type, head).err()
        };
        if let Some((code, detail)) = refusal {
            fail_upload(state, upload, code, &detail).await?;
            return Ok(UploadOutcome::Rejected { code, detail });
        }
        let mut upload = upload;
        let now = state.clock.now();
        loop {
            let before = upload.version;
            let event = upload.advance(UploadStatus::Processing, None, vec![], now)?;
            match state.uploads.update_upload(&upload, before, &[event]).await {
                Ok(()) => break,
                Err(StoreError::VersionConflict { .. }) => {
                    // Someone else moved it on (another arrival): queued or done either way.
                    match state.uploads.get_upload(&upload.tenant, id).await? {
                        Some(fresh) if fresh.status == UploadStatus::Pending => upload = fresh,
                        _ => break,
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(UploadOutcome::Queued { upload: id })
}

/// What the rep makes of a card's merge proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MergeDecision {
    Merge,
    Dismiss,
}

/// The rep's answer to a card's merge proposal.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposalDecision {
    pub decision: MergeDecision,
}

/// Stores an upload changed by the rep (a decision, a correction) or by its job (progress,
/// runs); no event, the records it touched carry their own.
pub(crate) async fn save(state: &AppState, mut upload: Upload) -> Result<Upload, AppError> {
    let before = upload.version;
    upload.version += 1;
    upload.updated_at = state.clock.now();
    state.uploads.update_upload(&upload, before, &[]).await?;
    Ok(upload)
}

/// Settles a card's merge proposal. For a contact: `merge` adds the card's phones and
/// e-mails (those no other contact holds) and its title (when the contact has none);
/// `dismiss` leaves the contact alone. For a lead: `merge` fills what the lead lacks and
/// notes the card on it; `dismiss` makes the card's own lead after all (leads may share a
/// phone, contacts may not). Answering again the same way changes nothing.
#[tracing::instrument(name = "upload.decide_proposal", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn decide_proposal(
    state: &AppState,
    actor: &Actor,
    id: UploadId,
    decision: MergeDecision,
) -> Result<Upload, AppError> {
    let mut upload = get_upload(state, actor, id).await?;
    let upload_copy = upload.clone();
    let Some(Captured::Card(card)) = &mut upload.captured else {
        return Err(AppError::Conflict(
            "this upload has no merge proposal".into(),
        ));
    };
    let card_copy = card.clone();
    let Some(proposal) = card.proposal.as_mut() else {
        return Err(AppError::Conflict(
            "this upload has no merge proposal".into(),
        ));
    };
    let word = match decision {
        MergeDecision::Merge => "merged",
        MergeDecision::Dismiss => "dismissed",
    };
    match proposal.decision.as_deref() {
        Some(done) if done == word => return Ok(upload),
        Some(done) => {
            return Err(AppError::Conflict(format!(
                "the proposal was already {done}"
            )));
        }
        None => {}
    }
    let mut made = None;
    match (decision, proposal.contact, proposal.lead) {
        (MergeDecision::Merge, Some(contact), _) => {
            merge_card(state, actor, &card_copy, contact).await?;
        }
        (MergeDecision::Merge, None, Some(lead)) => {
            crate::capture::merge_into_lead(state, actor, &upload_copy, &card_copy, lead).await?;
        }
        // Not the same person: the card makes the lead it would have made.
        (MergeDecision::Dismiss, None, Some(_)) => {
            let lead =
                crate::capture::lead_from_card(state, actor, &upload_copy, &card_copy).await?;
            made = Some(RecordLink::new("lead", lead, "created"));
        }
        (MergeDecision::Dismiss, _, _) => {}
        (MergeDecision::Merge, None, None) => {
            return Err(AppError::internal(
                "merge proposal",
                format!("upload {id} proposes neither a contact nor a lead"),
            ));
        }
    }
    proposal.decision = Some(word.to_owned());
    let action = if decision == MergeDecision::Merge {
        "changed"
    } else {
        "dismissed"
    };
    for link in upload.links.iter_mut().filter(|l| l.action == "proposed") {
        link.action = action.to_owned();
    }
    upload.links.extend(made);
    save(state, upload).await
}

/// Adds what the card knows to the contact, as a contact edit by the rep.
async fn merge_card(
    state: &AppState,
    actor: &Actor,
    card: &CardCapture,
    contact: ContactId,
) -> Result<(), AppError> {
    let existing = state
        .customers
        .get_contact(&actor.tenant, contact)
        .await?
        .ok_or_else(|| AppError::Conflict("the proposed contact no longer exists".into()))?;
    let tenant = crate::lead::load_tenant(state, &actor.tenant).await?;
    let region = crate::lead::region_of(&tenant)?;
    let mine = contact.to_string();
    let free = |key: String| {
        let holder = mine.clone();
        async move {
            match state.customers.key_holder(&actor.tenant, &key).await? {
                Some(h) => Ok::<bool, AppError>(h == holder),
                None => Ok(true),
            }
        }
    };
    let mut phones: Vec<String> = existing
        .phones
        .iter()
        .map(|p| p.e164().to_owned())
        .collect();
    for raw in card.values("phone") {
        if let Ok(p) = PhoneNumber::parse(raw, region)
            && !phones.iter().any(|x| x == p.e164())
            && phones.len() < 5
            && free(format!("contact:phone:{}", p.e164())).await?
        {
            phones.push(p.e164().to_owned());
        }
    }
    let mut emails: Vec<String> = existing
        .emails
        .iter()
        .map(|e| e.as_str().to_owned())
        .collect();
    for raw in card.values("email") {
        if let Ok(e) = EmailAddress::parse(raw)
            && !emails.iter().any(|x| x.eq_ignore_ascii_case(e.as_str()))
            && emails.len() < 5
            && free(format!("contact:email:{}", e.as_str().to_lowercase())).await?
        {
            emails.push(e.as_str().to_owned());
        }
    }
    let patch = ContactPatch {
        phones: Some(phones),
        emails: Some(emails),
        title: match (&existing.title, card.first("title")) {
            (None, Some(t)) => Some(t.to_owned()),
            _ => None,
        },
        ..ContactPatch::default()
    };
    crate::customer::update_contact(state, actor, contact, patch).await?;
    Ok(())
}

/// The rep's wording of a voice note's transcript.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TranscriptCorrection {
    #[schema(min_length = 1, max_length = 10000)]
    pub text: String,
}

/// Keeps the rep's correction of a voice note's transcript beside the machine's (the one
/// who recorded it, or an admin).
#[tracing::instrument(name = "upload.correct_transcript", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn correct_transcript(
    state: &AppState,
    actor: &Actor,
    id: UploadId,
    text: &str,
) -> Result<Upload, AppError> {
    let mut upload = get_upload(state, actor, id).await?;
    if upload.created_by != actor.user && actor.role != Role::Admin {
        return Err(AppError::Forbidden(
            "only whoever recorded a note corrects its transcript".into(),
        ));
    }
    let Some(Captured::Voice(voice)) = &mut upload.captured else {
        return Err(AppError::Conflict(
            "only a transcribed voice note has a transcript to correct".into(),
        ));
    };
    voice.correct(text, actor.user, state.clock.now())?;
    save(state, upload).await
}
