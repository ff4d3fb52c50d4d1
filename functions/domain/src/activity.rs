//! The follow-up log: every call, visit, message or note a rep records, on a lead or a deal.
//! Attachments and approvals are activities too, so a stage gate reads one log for all the
//! evidence it asks for.

use crate::access::Actor;
use crate::error::DomainError;
use crate::id::{ActivityId, ContactId, TenantId, UploadId, UserId};
use crate::lead::snake_enum;
use crate::subject::Subject;
use chrono::Duration;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

snake_enum!(/// What kind of touch it was. Notes are internal and do not count as contact;
    /// attachments are logged by the upload check, approvals by managers on deals.
    ActivityKind, "kind" {
    Call => "call",
    Visit => "visit",
    Message => "message",
    Note => "note",
    Attachment => "attachment",
    Approval => "approval",
    Consultation => "consultation",
    SampleRequest => "sample_request",
    EventAttendance => "event_attendance",
});

impl ActivityKind {
    /// A touch with the customer (what the 24 h response clock waits for).
    pub fn is_contact(self) -> bool {
        matches!(
            self,
            ActivityKind::Call
                | ActivityKind::Visit
                | ActivityKind::Message
                | ActivityKind::Consultation
                | ActivityKind::SampleRequest
                | ActivityKind::EventAttendance
        )
    }
}

/// The note the seeds ask for after a first call: the customer's main concerns (up to 3),
/// what was promised, and when the next contact is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StructuredNote {
    /// 1 to 3 concerns, each 1-200 characters.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 3))]
    pub concerns: Vec<String>,
    /// What the rep promised; 1-1000 characters.
    #[cfg_attr(
        feature = "openapi",
        schema(
            max_length = 1000,
            pattern = r"[^\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
        )
    )]
    pub promised: String,
    pub next_contact_at: DateTime<Utc>,
}

impl StructuredNote {
    fn validate(&self) -> Result<StructuredNote, DomainError> {
        let text_ok = |s: &str, max: usize| !s.trim().is_empty() && s.chars().count() <= max;
        if self.concerns.is_empty()
            || self.concerns.len() > 3
            || !self.concerns.iter().all(|c| text_ok(c, 200))
        {
            return Err(DomainError::invalid(
                "structured.concerns",
                "1 to 3 concerns, each 1-200 characters",
            ));
        }
        if !text_ok(&self.promised, 1000) {
            return Err(DomainError::invalid(
                "structured.promised",
                "1-1000 characters",
            ));
        }
        Ok(StructuredNote {
            concerns: self.concerns.iter().map(|c| c.trim().to_owned()).collect(),
            promised: self.promised.trim().to_owned(),
            next_contact_at: self.next_contact_at,
        })
    }
}

/// The file an attachment activity records (checked by its bytes before it is logged).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttachmentFile {
    pub upload: UploadId,
    /// The name as the phone sent it (`报价单-v2.pdf`).
    pub file_name: String,
    pub content_type: String,
    pub size: u64,
}

/// What a client sends to log an activity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewActivity {
    pub kind: ActivityKind,
    /// Not blank; at most 2000 characters.
    #[cfg_attr(
        feature = "openapi",
        schema(
            max_length = 2000,
            pattern = r"[^\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
        )
    )]
    pub summary: String,
    /// When it happened; defaults to now. Reps often log a visit after the fact.
    pub occurred_at: Option<DateTime<Utc>>,
    /// The after-call note's parts; only on a `note`.
    #[serde(default)]
    pub structured: Option<StructuredNote>,
    /// Who at the customer it was with; only on a customer's activity. Meeting a contact is
    /// what counts their role as covered in the customer's grade.
    #[serde(default)]
    pub contact: Option<ContactId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Activity {
    pub id: ActivityId,
    pub tenant: TenantId,
    /// The lead or deal it was logged on; serialised as its kind's key (`"lead": "0193…"`).
    #[serde(flatten)]
    pub subject: Subject,
    pub kind: ActivityKind,
    pub summary: String,
    pub occurred_at: DateTime<Utc>,
    pub author: UserId,
    pub recorded_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub structured: Option<StructuredNote>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<AttachmentFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<ContactId>,
}

const MAX_SUMMARY_CHARS: usize = 2000;
/// Phones' clocks drift; anything further off than this is a typo (or backdating), not skew.
const CLOCK_SKEW_MINUTES: i64 = 5;

/// Where an activity is logged: the record, its tenant, and when it began (nothing can have
/// happened on it before).
#[derive(Debug, Clone)]
pub struct LogTarget<'a> {
    pub subject: Subject,
    pub tenant: &'a TenantId,
    pub created_at: DateTime<Utc>,
}

impl Activity {
    /// Checks a client's activity. Attachments come only from the upload check; approvals
    /// only from managers, on deals.
    pub fn record(
        input: &NewActivity,
        id: ActivityId,
        target: &LogTarget<'_>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Activity, DomainError> {
        match input.kind {
            ActivityKind::Attachment => {
                return Err(DomainError::invalid(
                    "kind",
                    "attachments are logged by uploading the file",
                ));
            }
            ActivityKind::Approval if !matches!(target.subject, Subject::Deal(_)) => {
                return Err(DomainError::invalid("kind", "approvals are given on deals"));
            }
            ActivityKind::Approval if !actor.role.oversees() => {
                return Err(DomainError::invalid("kind", "only managers approve"));
            }
            _ => {}
        }
        let structured = match (&input.structured, input.kind) {
            (None, _) => None,
            (Some(s), ActivityKind::Note) => Some(s.validate()?),
            (Some(_), _) => {
                return Err(DomainError::invalid(
                    "structured",
                    "only a note carries a structured part",
                ));
            }
        };
        if input.contact.is_some() && !matches!(target.subject, Subject::Customer(_)) {
            return Err(DomainError::invalid(
                "contact",
                "only a customer's activity names a contact",
            ));
        }
        let summary = input.summary.trim();
        if summary.is_empty() {
            return Err(DomainError::invalid("summary", "must not be empty"));
        }
        if input.summary.chars().count() > MAX_SUMMARY_CHARS {
            return Err(DomainError::invalid(
                "summary",
                format!("must be at most {MAX_SUMMARY_CHARS} characters"),
            ));
        }
        let occurred_at = input.occurred_at.unwrap_or(now);
        let skew = Duration::minutes(CLOCK_SKEW_MINUTES);
        if occurred_at > now + skew {
            return Err(DomainError::invalid(
                "occurred_at",
                "must not be in the future",
            ));
        }
        if occurred_at < target.created_at - skew {
            return Err(DomainError::invalid(
                "occurred_at",
                format!(
                    "must not be before the {} was created",
                    target.subject.kind()
                ),
            ));
        }
        Ok(Activity {
            id,
            tenant: target.tenant.clone(),
            subject: target.subject,
            kind: input.kind,
            summary: summary.to_owned(),
            occurred_at,
            author: actor.user,
            recorded_at: now,
            structured,
            attachment: None,
            contact: input.contact,
        })
    }

    /// The activity that records a checked upload on its record, as its uploader.
    pub fn attachment(
        id: ActivityId,
        target: &LogTarget<'_>,
        file: AttachmentFile,
        uploader: UserId,
        now: DateTime<Utc>,
    ) -> Activity {
        Activity {
            id,
            tenant: target.tenant.clone(),
            subject: target.subject,
            kind: ActivityKind::Attachment,
            summary: format!(
                "{} ({}, {} bytes)",
                file.file_name, file.content_type, file.size
            ),
            occurred_at: now,
            author: uploader,
            recorded_at: now,
            structured: None,
            attachment: Some(file),
            contact: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::{DealId, LeadId};
    use crate::user::Role;

    fn actor(role: Role) -> Actor {
        Actor {
            user: UserId::new(),
            tenant: TenantId::parse("acme").unwrap(),
            role,
            team: None,
        }
    }

    fn note(kind: ActivityKind) -> NewActivity {
        NewActivity {
            kind,
            summary: "电话沟通".into(),
            occurred_at: None,
            structured: None,
            contact: None,
        }
    }

    #[test]
    fn activities_keep_their_subject_key_and_kinds_are_checked_per_subject() {
        let tenant = TenantId::parse("acme").unwrap();
        let now: DateTime<Utc> = "2026-11-27T10:00:00Z".parse().unwrap();
        let lead = LogTarget {
            subject: Subject::Lead(LeadId::new()),
            tenant: &tenant,
            created_at: now,
        };
        let deal = LogTarget {
            subject: Subject::Deal(DealId::new()),
            ..lead.clone()
        };
        let a = Activity::record(
            &note(ActivityKind::Call),
            ActivityId::new(),
            &lead,
            &actor(Role::Rep),
            now,
        )
        .unwrap();
        let json = serde_json::to_value(&a).unwrap();
        assert_eq!(json["lead"], lead.subject.id().to_string());
        assert_eq!(serde_json::from_value::<Activity>(json).unwrap(), a);
        let refused = |input: &NewActivity, target: &LogTarget<'_>, role| {
            Activity::record(input, ActivityId::new(), target, &actor(role), now).is_err()
        };
        assert!(refused(&note(ActivityKind::Attachment), &deal, Role::Admin));
        assert!(refused(&note(ActivityKind::Approval), &deal, Role::Rep));
        assert!(refused(&note(ActivityKind::Approval), &lead, Role::Manager));
        assert!(!refused(
            &note(ActivityKind::Approval),
            &deal,
            Role::Manager
        ));
        let structured = StructuredNote {
            concerns: vec!["价格".into(), "交期".into()],
            promised: "周五前发报价单".into(),
            next_contact_at: now,
        };
        let with = |kind, s: StructuredNote| NewActivity {
            structured: Some(s),
            ..note(kind)
        };
        assert!(!refused(
            &with(ActivityKind::Note, structured.clone()),
            &deal,
            Role::Rep
        ));
        assert!(refused(
            &with(ActivityKind::Call, structured.clone()),
            &deal,
            Role::Rep
        ));
        let four = StructuredNote {
            concerns: vec!["a".into(); 4],
            ..structured
        };
        assert!(refused(&with(ActivityKind::Note, four), &deal, Role::Rep));
    }
}
