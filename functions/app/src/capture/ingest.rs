//! The capture queue: an upload whose bytes were accepted moves to `processing`, and that
//! event (in the outbox on the embedded server, on the table's stream on AWS) brings it here.
//! Each upload is read by the capture service and its reading becomes records: a card a
//! contact (or a lead, or a merge proposal), a voice note an activity and tasks, a shelf
//! photo an audit note and an out-of-stock task.
//!
//! Nothing is lost and nothing is made twice: while the service is unavailable the upload
//! waits on a durable timer with backoff; every record it makes has an id or idempotency key
//! derived from the upload, so a redelivered event, a timer that fires after a crash, or two
//! deliveries at once find the records already there and only finish the upload.

use super::client::{CaptureError, CaptureRequest, Reading};
use super::reading;
use crate::error::AppError;
use crate::lead::{load_tenant, region_of};
use crate::scheduler::EventHandler;
use crate::state::AppState;
use crate::upload::{fail_upload, finish_upload, record_key, uploader_actor};
use async_trait::async_trait;
use chrono::Duration;
use fieldline_domain::capture::retry_delay;
use fieldline_domain::lead::ContactInput;
use fieldline_domain::retail::price_cents;
use fieldline_domain::{
    ActivityKind, Actor, Captured, CardCapture, ContactId, CustomerId, EmailAddress, EventPayload,
    LeadId, LeadPatch, LeadSource, LeadStatus, MergeProposal, NewActivity, NewContact, NewLead,
    PhoneNumber, PreScreen, RecordLink, ShelfCapture, Subject, Task, TaskId, Tenant, TenantId,
    Timer, TimerId, Timestamp, Upload, UploadId, UploadStatus, VoiceCapture,
};
use fieldline_store::{BlobKey, IdempotencyKey, StoredEvent};
use uuid::Uuid;

/// The timer that brings a waiting upload back.
pub const RETRY_TIMER: &str = "capture_retry";
/// A file the service fails on (not a refusal, not an outage) is tried this often in all.
const MAX_FAILED_TRIES: u32 = 4;

/// Feeds uploads in `processing` to the capture service.
pub struct CaptureIngest {
    state: AppState,
}

impl CaptureIngest {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

#[async_trait]
impl EventHandler for CaptureIngest {
    fn name(&self) -> &str {
        "capture"
    }

    #[tracing::instrument(name = "capture_ingest", skip_all, fields(event = %stored.event.id))]
    async fn handle(&self, stored: &StoredEvent) -> anyhow::Result<()> {
        let event = &stored.event;
        let Subject::Upload(id) = event.subject else {
            return Ok(());
        };
        let due = match &event.payload {
            EventPayload::UploadStatusChanged { to, .. } => *to == UploadStatus::Processing,
            EventPayload::TimerFired { name, .. } => name == RETRY_TIMER,
            _ => false,
        };
        if due {
            process(&self.state, &event.tenant, id).await?;
        }
        Ok(())
    }
}

/// An id for the `n`th record an upload makes: the upload's own UUID with its last byte
/// changed, so a retry makes the same ids (the changed bits are random bits of a UUIDv7).
fn derived(upload: UploadId, n: u8) -> Uuid {
    Uuid::from_u128(upload.as_uuid().as_u128() ^ u128::from(n))
}

fn capture_key(upload: UploadId, what: &str) -> IdempotencyKey {
    IdempotencyKey::parse(&format!("capture-{}-{what}", upload.as_uuid().simple()))
        .expect("a uuid and a word make a valid idempotency key")
}

/// Reads one upload if it is due, and records what was read. Store errors propagate (the
/// event comes back); everything about the file itself ends in the upload's status.
#[tracing::instrument(name = "capture.process", level = "debug", skip_all, fields(tenant = %tenant, upload = %id), err(Display))]
pub async fn process(state: &AppState, tenant: &TenantId, id: UploadId) -> Result<(), AppError> {
    let Some(upload) = state.uploads.get_upload(tenant, id).await? else {
        return Ok(());
    };
    let now = state.clock.now();
    if upload.kind == fieldline_domain::UploadKind::Import
        || upload.status != UploadStatus::Processing
        || upload.retry_at.is_some_and(|at| at > now)
    {
        // A spreadsheet (the import job runs it), finished, not yet received, or waiting
        // for its timer.
        return Ok(());
    }
    let tenant_row = load_tenant(state, tenant).await?;
    // The phone read it itself: checked when the upload started, used as it is.
    if let Some(device) = &upload.device_reading {
        return match super::client::reading_from_device(upload.kind, device) {
            Ok(reading) => record(state, &tenant_row, upload, reading).await,
            Err(why) => fail_upload(state, upload, "invalid_device_reading", &why).await,
        };
    }
    let Some(capture) = state.capture.clone() else {
        return fail_upload(
            state,
            upload,
            "capture_unavailable",
            "this server runs without a capture service (set capture.url)",
        )
        .await;
    };
    let key = BlobKey::parse(tenant.clone(), &record_key(id, &upload.file_name))
        .ok_or_else(|| AppError::internal("upload key", "not a valid key"))?;
    let Some((bytes, _)) = state.blobs.get(&key).await? else {
        return fail_upload(state, upload, "upload_missing", "the file is not stored").await;
    };
    let request = CaptureRequest {
        kind: upload.kind,
        file_name: &upload.file_name,
        content_type: &upload.content_type,
        bytes,
        recorded_at: upload.created_at,
        time_zone: &tenant_row.time_zone,
    };
    match capture.read(request).await {
        Ok(reading) => record(state, &tenant_row, upload, reading).await,
        Err(CaptureError::Unavailable(why)) => wait(state, upload, &why, now).await,
        Err(CaptureError::Failed(why)) if upload.attempts + 1 < MAX_FAILED_TRIES => {
            wait(state, upload, &why, now).await
        }
        Err(CaptureError::Failed(why)) => fail_upload(state, upload, "capture_failed", &why).await,
        Err(CaptureError::Refused { code, message }) => {
            fail_upload(state, upload, &code, &message).await
        }
    }
}

/// Puts the upload back to wait: the timer first, so a crash in between leaves a timer that
/// finds the upload due (never an upload that waits for no timer).
async fn wait(
    state: &AppState,
    mut upload: Upload,
    why: &str,
    now: Timestamp,
) -> Result<(), AppError> {
    let attempts = upload.attempts + 1;
    let retry_at = now + retry_delay(attempts);
    tracing::warn!(upload = %upload.id, attempts, %retry_at, why, "capture unavailable; the upload waits");
    let timer = Timer {
        id: TimerId::new(),
        tenant: upload.tenant.clone(),
        subject: Subject::Upload(upload.id),
        name: RETRY_TIMER.into(),
        due_at: retry_at,
        created_at: now,
        cause: None,
    };
    state.timers.start_timer(&timer, true).await?;
    let before = upload.version;
    upload.attempts = attempts;
    upload.retry_at = Some(retry_at);
    upload.updated_at = now;
    upload.version += 1;
    match state.uploads.update_upload(&upload, before, &[]).await {
        // Another delivery moved it on meanwhile: its outcome stands.
        Ok(()) | Err(fieldline_store::StoreError::VersionConflict { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// What a reading made.
struct Made {
    captured: Captured,
    links: Vec<RecordLink>,
    subjects: Vec<Subject>,
}

/// Turns a reading into records as the uploader, then marks the upload done with them.
async fn record(
    state: &AppState,
    tenant: &Tenant,
    upload: Upload,
    reading: Reading,
) -> Result<(), AppError> {
    let actor = match uploader_actor(state, &tenant.id, upload.created_by).await? {
        Ok(actor) => actor,
        Err((code, detail)) => return fail_upload(state, upload, code, &detail).await,
    };
    let made = match reading {
        Reading::Card(reply) => card(state, tenant, &actor, &upload, reading::card(&reply)).await,
        Reading::Voice(reply) => voice(state, &actor, &upload, reading::voice(&reply)).await,
        Reading::Shelf(reply) => shelf(state, &actor, &upload, reading::shelf(&reply)).await,
    };
    let made = match made {
        Ok(made) => made,
        Err(AppError::NotFound(why)) => {
            return fail_upload(state, upload, "subject_gone", &why).await;
        }
        Err(AppError::Forbidden(why)) => {
            return fail_upload(state, upload, "upload_forbidden", &why).await;
        }
        Err(AppError::InvalidField { field, message }) => {
            let why = format!("what was read cannot be stored: {field} {message}");
            return fail_upload(state, upload, "unreadable", &why).await;
        }
        Err(e) => return Err(e),
    };
    let now = state.clock.now();
    finish_upload(state, upload, |u| {
        u.captured = Some(made.captured.clone());
        u.links = made.links.clone();
        u.retry_at = None;
        Ok(vec![u.advance(
            UploadStatus::Done,
            None,
            made.subjects.clone(),
            now,
        )?])
    })
    .await
}

/// A card: matched against the tenant's contacts first. A contact with one of its phones or
/// e-mails becomes a merge proposal; otherwise a new contact at the customer (the upload's
/// subject, or a deal's customer). With no subject the card would make a lead (source
/// `event`): an open lead with one of its phones or e-mails is proposed instead.
async fn card(
    state: &AppState,
    tenant: &Tenant,
    actor: &Actor,
    upload: &Upload,
    mut card: CardCapture,
) -> Result<Made, AppError> {
    let region = region_of(tenant)?;
    let phones: Vec<PhoneNumber> = card
        .values("phone")
        .filter_map(|p| PhoneNumber::parse(p, region).ok())
        .collect();
    let emails: Vec<EmailAddress> = card
        .values("email")
        .filter_map(|e| EmailAddress::parse(e).ok())
        .collect();
    let mine = ContactId::from_uuid(derived(upload.id, 1));
    for key in card_keys("contact", &phones, &emails) {
        let Some(holder) = state.customers.key_holder(&tenant.id, &key).await? else {
            continue;
        };
        let holder: ContactId = holder
            .parse()
            .map_err(|_| AppError::internal("contact key", format!("{key} holds {holder}")))?;
        let Some(existing) = state.customers.get_contact(&tenant.id, holder).await? else {
            continue;
        };
        let action = if holder == mine {
            "created"
        } else {
            "proposed"
        };
        if holder != mine {
            card.proposal = Some(MergeProposal {
                contact: Some(holder),
                customer: Some(existing.customer),
                lead: None,
                key,
                decision: None,
            });
        }
        return Ok(Made {
            captured: Captured::Card(card),
            links: vec![RecordLink::new("contact", holder, action)],
            subjects: vec![Subject::Customer(existing.customer)],
        });
    }
    if upload.subject.is_none() {
        let mine = card_lead_id(upload.id);
        if let Some((lead, key)) = matching_lead(state, &tenant.id, mine, &phones, &emails).await? {
            let action = if lead == mine { "created" } else { "proposed" };
            if lead != mine {
                card.proposal = Some(MergeProposal {
                    contact: None,
                    customer: None,
                    lead: Some(lead),
                    key,
                    decision: None,
                });
            }
            return Ok(Made {
                captured: Captured::Card(card),
                links: vec![RecordLink::new("lead", lead, action)],
                subjects: vec![Subject::Lead(lead)],
            });
        }
    }
    let name = card_name(&card)?;
    let customer: Option<CustomerId> = match upload.subject {
        Some(Subject::Customer(c)) => Some(c),
        Some(Subject::Deal(d)) => Some(crate::deal::load_deal(state, actor, d).await?.customer),
        _ => None,
    };
    if let Some(customer) = customer {
        let input = NewContact {
            name,
            title: card.first("title").map(str::to_owned),
            phones: phones.iter().map(|p| p.e164().to_owned()).collect(),
            emails: emails.iter().map(|e| e.as_str().to_owned()).collect(),
            decision_role: None,
            role: None,
        };
        let contact = crate::customer::add_contact_as(state, actor, customer, input, mine).await;
        return match contact {
            Ok(contact) => Ok(Made {
                captured: Captured::Card(card),
                links: vec![RecordLink::new("contact", contact.id, "created")],
                subjects: vec![Subject::Customer(customer)],
            }),
            // Another contact took a key meanwhile: propose instead, on the next delivery.
            Err(AppError::Duplicate { .. }) => Err(AppError::Conflict(
                "a contact with the card's phone or e-mail appeared meanwhile".into(),
            )),
            Err(e) => Err(e),
        };
    }
    match upload.subject {
        Some(Subject::Lead(lead)) => {
            // The lead has its person already: the card is kept as a note on it.
            let summary = card_summary(&card);
            let links = log_note(state, actor, upload, upload.subject, &summary)
                .await?
                .into_iter()
                .collect();
            Ok(Made {
                captured: Captured::Card(card),
                links,
                subjects: vec![Subject::Lead(lead)],
            })
        }
        _ => {
            let lead = lead_from_card(state, actor, upload, &card).await?;
            Ok(Made {
                captured: Captured::Card(card),
                links: vec![RecordLink::new("lead", lead, "created")],
                subjects: vec![Subject::Lead(lead)],
            })
        }
    }
}

/// The de-duplication keys of the card's phones and e-mails, for `contact` or `lead` records.
fn card_keys(
    record: &'static str,
    phones: &[PhoneNumber],
    emails: &[EmailAddress],
) -> impl Iterator<Item = String> {
    let phones: Vec<String> = phones
        .iter()
        .map(|p| format!("{record}:phone:{}", p.e164()))
        .collect();
    let emails: Vec<String> = emails
        .iter()
        .map(|e| format!("{record}:email:{}", e.as_str().to_lowercase()))
        .collect();
    phones.into_iter().chain(emails)
}

/// The id of the lead an upload's card makes, the same on every try.
fn card_lead_id(upload: UploadId) -> LeadId {
    LeadId::from_uuid(derived(upload, 2))
}

/// The lead the card matches and the key it matched on: the one this upload made (a card
/// processed again), else the newest open lead (not converted: a converted lead's person is a
/// customer's contact now) with one of its phones, then e-mails.
async fn matching_lead(
    state: &AppState,
    tenant: &TenantId,
    mine: LeadId,
    phones: &[PhoneNumber],
    emails: &[EmailAddress],
) -> Result<Option<(LeadId, String)>, AppError> {
    let mut found = None;
    for key in card_keys("lead", phones, emails) {
        for lead in state.leads.leads_with_key(tenant, &key).await? {
            if lead.id == mine {
                return Ok(Some((mine, key)));
            }
            if found.is_none() && lead.status != LeadStatus::Converted {
                found = Some((lead.id, key.clone()));
            }
        }
    }
    Ok(found)
}

fn card_name(card: &CardCapture) -> Result<String, AppError> {
    card.first("name")
        .or_else(|| card.first("company"))
        .map(str::to_owned)
        .ok_or_else(|| AppError::InvalidField {
            field: "name".into(),
            message: "no name was read from the card".into(),
        })
}

/// The lead a card with no subject makes (source `event`, owned by the rep who scanned it):
/// once per upload, whichever delivery or decision gets there first.
pub(crate) async fn lead_from_card(
    state: &AppState,
    actor: &Actor,
    upload: &Upload,
    card: &CardCapture,
) -> Result<LeadId, AppError> {
    let tenant = load_tenant(state, &actor.tenant).await?;
    let region = region_of(&tenant)?;
    let phone = card
        .values("phone")
        .find_map(|p| PhoneNumber::parse(p, region).ok());
    let email = card
        .values("email")
        .find_map(|e| EmailAddress::parse(e).ok());
    let me = state
        .directory
        .get_user(&actor.tenant, actor.user)
        .await?
        .ok_or_else(|| AppError::Forbidden("the uploader no longer exists".into()))?;
    let input = NewLead {
        source: LeadSource::Event,
        contact: ContactInput {
            name: card_name(card)?,
            phone: phone.map(|p| p.e164().to_owned()),
            email: email.map(|e| e.as_str().to_owned()),
            company: card.first("company").map(str::to_owned),
            title: card.first("title").map(str::to_owned),
        },
        prescreen: PreScreen::default(),
        notes: Some(format!("名片 / Business card: {}", upload.file_name)),
        owner: None,
    };
    let key = capture_key(upload.id, "lead");
    let id = card_lead_id(upload.id);
    let lead = crate::lead::create_lead_as(state, actor, &me, input, Some(key), id).await?;
    Ok(lead.into_inner().id)
}

/// Adds what the card knows to the proposed lead: a phone, e-mail, company or title the lead
/// lacks, and the whole card as a note on it (once per upload).
pub(crate) async fn merge_into_lead(
    state: &AppState,
    actor: &Actor,
    upload: &Upload,
    card: &CardCapture,
    id: LeadId,
) -> Result<(), AppError> {
    let lead = crate::lead::load_changeable(state, actor, id).await?;
    let tenant = load_tenant(state, &actor.tenant).await?;
    let region = region_of(&tenant)?;
    let known = &lead.contact;
    let text = |v: Option<&fieldline_domain::PersonName>| v.map(|v| v.as_str().to_owned());
    let contact = ContactInput {
        name: known.name.as_str().to_owned(),
        phone: known
            .phone
            .as_ref()
            .map(|p| p.e164().to_owned())
            .or_else(|| {
                card.values("phone")
                    .find_map(|p| PhoneNumber::parse(p, region).ok())
                    .map(|p| p.e164().to_owned())
            }),
        email: known
            .email
            .as_ref()
            .map(|e| e.as_str().to_owned())
            .or_else(|| {
                card.values("email")
                    .find_map(|e| EmailAddress::parse(e).ok())
                    .map(|e| e.as_str().to_owned())
            }),
        company: text(known.company.as_ref()).or_else(|| card.first("company").map(str::to_owned)),
        title: text(known.title.as_ref()).or_else(|| card.first("title").map(str::to_owned)),
    };
    let unchanged = contact.phone.is_some() == known.phone.is_some()
        && contact.email.is_some() == known.email.is_some()
        && contact.company.is_some() == known.company.is_some()
        && contact.title.is_some() == known.title.is_some();
    if !unchanged {
        let patch = LeadPatch {
            contact: Some(contact),
            ..LeadPatch::default()
        };
        crate::lead::update_lead(state, actor, id, lead.version, patch).await?;
    }
    let note = note_of(&card_summary(card));
    let key = Some(capture_key(upload.id, "merge-note"));
    crate::lead::log_activity(state, actor, id, note, key).await?;
    Ok(())
}

/// Logs `summary` as a note on `subject` (a lead, deal or customer), once per upload (its key
/// comes from the upload); `None` for any other subject or none.
async fn log_note(
    state: &AppState,
    actor: &Actor,
    upload: &Upload,
    subject: Option<Subject>,
    summary: &str,
) -> Result<Option<RecordLink>, AppError> {
    let note = note_of(summary);
    let key = Some(capture_key(upload.id, "note"));
    let activity = match subject {
        Some(Subject::Lead(id)) => crate::lead::log_activity(state, actor, id, note, key)
            .await?
            .0
            .into_inner(),
        Some(Subject::Deal(id)) => crate::deal::log_activity(state, actor, id, note, key)
            .await?
            .0
            .into_inner(),
        Some(Subject::Customer(id)) => crate::customer::log_activity(state, actor, id, note, key)
            .await?
            .into_inner(),
        _ => return Ok(None),
    };
    Ok(Some(RecordLink::new("activity", activity.id, "created")))
}

fn note_of(summary: &str) -> NewActivity {
    NewActivity {
        kind: ActivityKind::Note,
        summary: summary.chars().take(2000).collect(),
        occurred_at: None,
        structured: None,
        contact: None,
    }
}

fn card_summary(card: &CardCapture) -> String {
    let parts: Vec<String> = card
        .fields
        .iter()
        .map(|f| format!("{}: {}", f.field, f.value))
        .collect();
    let text = format!("名片 / Business card — {}", parts.join("; "));
    text.chars().take(2000).collect()
}

/// A task the upload makes, due at `due_at`, on `subject` for the uploader; its id and
/// de-duplication key come from the upload, so it is made once.
#[allow(clippy::too_many_arguments)]
async fn upload_task(
    state: &AppState,
    actor: &Actor,
    upload: &Upload,
    subject: Subject,
    n: u8,
    what: &str,
    title: String,
    due_at: Timestamp,
    escalate_after: Option<Duration>,
) -> Result<RecordLink, AppError> {
    let now = state.clock.now();
    let task = Task {
        id: TaskId::from_uuid(derived(upload.id, n)),
        tenant: upload.tenant.clone(),
        subject,
        assignee: Some(actor.user),
        title: title.chars().take(300).collect(),
        due_at,
        done_at: None,
        created_at: now,
        rule: Some(format!("capture_{what}")),
        dedupe_key: format!("capture:{}:{what}:{n}", upload.id),
        outcome: None,
        review: None,
        remind_at: Some((due_at - Duration::hours(1)).max(now)),
        escalate_at: escalate_after.map(|d| due_at + d),
        why: None,
    };
    crate::task::add_with_follow_ups(state, &task).await?;
    Ok(RecordLink::new("task", task.id, "created"))
}

/// A voice note: its transcript an activity on the subject, the next contact a task due
/// then, each promise a task.
async fn voice(
    state: &AppState,
    actor: &Actor,
    upload: &Upload,
    voice: VoiceCapture,
) -> Result<Made, AppError> {
    let mut links = Vec::new();
    let mut subjects = Vec::new();
    let summary: String = if voice.transcript.trim().is_empty() {
        "语音记录（未识别到语音）/ Voice note (no speech recognised)".to_owned()
    } else {
        format!("语音记录 / Voice note: {}", voice.transcript.trim())
    };
    links.extend(log_note(state, actor, upload, upload.subject, &summary).await?);
    let on = upload.subject.unwrap_or(Subject::Upload(upload.id));
    if let Some(subject) = upload.subject {
        subjects.push(subject);
    }
    if let Some(at) = voice.next_contact {
        let phrase = voice.next_contact_phrase.as_deref().unwrap_or("");
        let title = format!("再联系（{phrase}）/ Contact again ({phrase})");
        links
            .push(upload_task(state, actor, upload, on, 2, "next_contact", title, at, None).await?);
    }
    let promise_due = voice
        .next_contact
        .unwrap_or(upload.created_at + Duration::days(1));
    for (i, promise) in voice.commitments.iter().take(8).enumerate() {
        let title = format!("兑现承诺 / Keep the promise: {promise}");
        let n = 16 + i as u8;
        links.push(
            upload_task(
                state,
                actor,
                upload,
                on,
                n,
                "promise",
                title,
                promise_due,
                None,
            )
            .await?,
        );
    }
    Ok(Made {
        captured: Captured::Voice(voice),
        links,
        subjects,
    })
}

/// A shelf photo at a store (or on a visit there): the audit as a note on the store, written
/// with a `shelf_audited` event (empty facings, prices under the tenant's floors, whether it
/// is a key store) that the default rules turn into tasks and clocks. A photo on no store
/// has no rules to reach: an empty facing is a task for the uploader right here.
async fn shelf(
    state: &AppState,
    actor: &Actor,
    upload: &Upload,
    shelf: ShelfCapture,
) -> Result<Made, AppError> {
    let mut links = Vec::new();
    let mut subjects = Vec::new();
    let policy = load_tenant(state, &upload.tenant).await?.retail_policy();
    // On a visit: the audit is the store's, and the photo joins the visit while it is open.
    let (store, visit) = match upload.subject {
        Some(Subject::Visit(id)) => {
            let visit = crate::visit::attach_photo(state, actor, id, upload.id).await?;
            links.push(RecordLink::new("visit", visit.id, "changed"));
            subjects.push(Subject::Visit(visit.id));
            (Some(Subject::Customer(visit.customer)), Some(visit))
        }
        other => (other, None),
    };
    let skus = visit
        .as_ref()
        .map(|v| v.target_skus.clone())
        .unwrap_or_default();
    let under_floor: Vec<String> = match policy.floor_for(&skus) {
        Some(floor) => shelf
            .prices
            .iter()
            .filter(|p| price_cents(p).is_some_and(|c| c < floor))
            .cloned()
            .collect(),
        None => Vec::new(),
    };
    let summary = format!(
        "货架照片 / Shelf photo: {} 个价签 tags ({}), {} 处空位 empty facings{}",
        shelf.price_tags,
        if shelf.prices.is_empty() {
            "—".to_owned()
        } else {
            shelf.prices.join(" / ")
        },
        shelf.gaps,
        if under_floor.is_empty() {
            String::new()
        } else {
            format!("; 低于底价 under the floor: {}", under_floor.join(" / "))
        }
    );
    match store {
        Some(Subject::Customer(id)) => {
            let audit = |customer: &fieldline_domain::Customer| {
                vec![EventPayload::ShelfAudited {
                    upload: upload.id,
                    visit: visit.as_ref().map(|v| v.id),
                    price_tags: shelf.price_tags,
                    gaps: shelf.gaps,
                    out_of_stock: shelf.out_of_stock,
                    under_floor: under_floor.len() as u32,
                    under_floor_prices: under_floor,
                    key_store: policy.is_key_store(customer),
                }]
            };
            let note = note_of(&summary);
            let key = Some(capture_key(upload.id, "note"));
            let activity = crate::customer::log_activity_with(state, actor, id, note, key, audit)
                .await?
                .into_inner();
            links.push(RecordLink::new("activity", activity.id, "created"));
            subjects.push(Subject::Customer(id));
        }
        other => {
            if let Some(note) = log_note(state, actor, upload, other, &summary).await? {
                links.push(note);
                subjects.extend(other);
            }
            if shelf.out_of_stock {
                let on = other.unwrap_or(Subject::Upload(upload.id));
                let title = format!(
                    "处理缺货：货架有 {} 处空位 / Out of stock: {} empty facings on the shelf",
                    shelf.gaps, shelf.gaps
                );
                let due = upload.created_at + Duration::days(1);
                links.push(
                    upload_task(
                        state,
                        actor,
                        upload,
                        on,
                        3,
                        "out_of_stock",
                        title,
                        due,
                        Some(Duration::days(2)),
                    )
                    .await?,
                );
            }
        }
    }
    Ok(Made {
        captured: Captured::Shelf(shelf),
        links,
        subjects,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_are_stable_distinct_and_not_the_uploads() {
        let up = UploadId::new();
        assert_eq!(derived(up, 1), derived(up, 1));
        assert_ne!(derived(up, 1), derived(up, 2));
        assert_ne!(derived(up, 1), up.as_uuid());
        assert_eq!(derived(up, 1).get_version_num(), 7);
    }
}
