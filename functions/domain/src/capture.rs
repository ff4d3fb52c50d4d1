//! What capture read from an upload (a card's fields, a voice note's transcript and follow-up,
//! a shelf's tags and gaps) and the records it made. Kept on the upload, so the phone shows
//! the rep what was read, which fields to confirm, and where the result went; the machine
//! reading stays beside any correction the rep makes.

use crate::error::DomainError;
use crate::id::{ContactId, CustomerId, LeadId, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A field read with less confidence than this is flagged for the rep to confirm.
pub const CONFIRM_BELOW: f32 = 0.85;

/// The longest transcript kept (a 10-minute note is about 3,000 characters).
pub const MAX_TRANSCRIPT_CHARS: usize = 10_000;

/// One field read from a card, with the OCR confidence of the text it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CapturedField {
    /// `name`, `title`, `company`, `department`, `phone`, `email`, `website` or `address`.
    pub field: String,
    pub value: String,
    /// 0..1: the mean confidence of the OCR lines the value was read from (0 when none
    /// holds it whole, e.g. a value joined from several lines).
    pub confidence: f32,
    /// Below `CONFIRM_BELOW`: the phone asks the rep to check it.
    pub confirm: bool,
}

impl CapturedField {
    pub fn new(field: &str, value: &str, confidence: f32) -> Self {
        let confidence = if confidence.is_finite() {
            confidence.clamp(0.0, 1.0)
        } else {
            0.0
        };
        Self {
            field: field.to_owned(),
            value: value.to_owned(),
            confidence,
            confirm: confidence < CONFIRM_BELOW,
        }
    }
}

/// A record the tenant already has with one of the card's phones or e-mails: a customer's
/// contact, or (for a card with no subject, which would make a lead) an open lead. The card
/// proposes to add what it knows to it instead of making a second one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MergeProposal {
    /// The matching contact and its customer; both absent when the match is a lead.
    #[serde(default)]
    pub contact: Option<ContactId>,
    #[serde(default)]
    pub customer: Option<CustomerId>,
    /// The matching lead, when no contact matched.
    #[serde(default)]
    pub lead: Option<LeadId>,
    /// The de-duplication key both share (`contact:phone:+86138…`, `lead:email:…`).
    pub key: String,
    /// `merged` or `dismissed` once the rep decided; `None` while it waits.
    #[serde(default)]
    pub decision: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CardCapture {
    pub fields: Vec<CapturedField>,
    #[serde(default)]
    pub proposal: Option<MergeProposal>,
}

impl CardCapture {
    /// The values read for `field`, in card order.
    pub fn values(&self, field: &str) -> impl Iterator<Item = &str> {
        self.fields
            .iter()
            .filter(move |f| f.field == field)
            .map(|f| f.value.as_str())
    }

    pub fn first(&self, field: &str) -> Option<&str> {
        self.values(field).next()
    }
}

/// A voice note: the machine transcript, the rep's correction beside it, and what the
/// follow-up reader found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VoiceCapture {
    pub transcript: String,
    #[serde(default)]
    pub corrected: Option<Correction>,
    pub language: Option<String>,
    pub duration_s: f64,
    /// When to contact next, resolved in the tenant's zone against the recording time.
    pub next_contact: Option<DateTime<Utc>>,
    /// The words it was read from (`明天下午三点`).
    pub next_contact_phrase: Option<String>,
    /// What the rep promised (`我明天把报价单发给您`).
    #[serde(default)]
    pub commitments: Vec<String>,
    /// The customer's concerns and the competitors named: tags reports count.
    #[serde(default)]
    pub tags: Vec<String>,
}

/// A rep's correction of a transcript; the machine's stays as it was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Correction {
    pub text: String,
    pub by: UserId,
    pub at: DateTime<Utc>,
}

impl VoiceCapture {
    /// Records `text` as the rep's version of the transcript.
    pub fn correct(
        &mut self,
        text: &str,
        by: UserId,
        at: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        let text = text.trim();
        if text.is_empty() || text.chars().count() > MAX_TRANSCRIPT_CHARS {
            return Err(DomainError::invalid(
                "text",
                format!("1-{MAX_TRANSCRIPT_CHARS} characters"),
            ));
        }
        self.corrected = Some(Correction {
            text: text.to_owned(),
            by,
            at,
        });
        Ok(())
    }
}

/// A shelf photo's audit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShelfCapture {
    /// Prices read from the tags, as printed ("12.80"), left to right as read.
    pub prices: Vec<String>,
    pub price_tags: u32,
    pub out_of_stock: bool,
    /// Empty facings found.
    pub gaps: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Captured {
    Card(CardCapture),
    Voice(VoiceCapture),
    Shelf(ShelfCapture),
}

/// A record processing made or proposes to change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordLink {
    /// `lead`, `customer`, `contact`, `deal`, `activity` or `task`.
    pub kind: String,
    pub id: String,
    /// `created`, `changed` or `proposed` (a merge that waits for the rep).
    pub action: String,
}

impl RecordLink {
    pub fn new(kind: &str, id: impl ToString, action: &str) -> Self {
        Self {
            kind: kind.to_owned(),
            id: id.to_string(),
            action: action.to_owned(),
        }
    }
}

/// How long to wait before capture attempt `attempt` (1-based) after the service was
/// unavailable: 15 s doubling, at most 15 minutes, so a sidecar back after an hour is used
/// within minutes and a down one is not hammered.
pub fn retry_delay(attempt: u32) -> chrono::Duration {
    let seconds = 15i64.saturating_mul(1i64 << attempt.saturating_sub(1).min(10));
    chrono::Duration::seconds(seconds.min(15 * 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_a_ceiling() {
        let s = |a| retry_delay(a).num_seconds();
        assert_eq!([s(1), s(2), s(3), s(4)], [15, 30, 60, 120]);
        assert_eq!(s(7), 900);
        assert_eq!(s(40), 900);
        assert_eq!(s(0), 15);
    }

    #[test]
    fn low_confidence_fields_are_flagged_and_corrections_kept_beside() {
        assert!(CapturedField::new("name", "王建国", 0.6).confirm);
        assert!(!CapturedField::new("name", "王建国", 0.97).confirm);
        assert_eq!(CapturedField::new("name", "x", f32::NAN).confidence, 0.0);
        let mut v = VoiceCapture {
            transcript: "明天下午三点再联系".into(),
            corrected: None,
            language: Some("zh".into()),
            duration_s: 3.0,
            next_contact: None,
            next_contact_phrase: None,
            commitments: vec![],
            tags: vec![],
        };
        let who = UserId::new();
        assert!(v.correct("  ", who, Utc::now()).is_err());
        v.correct("明天下午三点再联系王总", who, Utc::now())
            .unwrap();
        assert_eq!(v.transcript, "明天下午三点再联系");
        assert_eq!(v.corrected.unwrap().text, "明天下午三点再联系王总");
    }
}
