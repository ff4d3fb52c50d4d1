//! The follow-up log: every call, visit, message or note a rep records.

use crate::access::Actor;
use crate::error::DomainError;
use crate::id::{ActivityId, LeadId, TenantId, UserId};
use crate::lead::{Lead, snake_enum};
use chrono::Duration;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

snake_enum!(/// What kind of touch it was. Notes are internal and do not count as contact.
    ActivityKind, "kind" {
    Call => "call",
    Visit => "visit",
    Message => "message",
    Note => "note",
});

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
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Activity {
    pub id: ActivityId,
    pub tenant: TenantId,
    pub lead: LeadId,
    pub kind: ActivityKind,
    pub summary: String,
    pub occurred_at: DateTime<Utc>,
    pub author: UserId,
    pub recorded_at: DateTime<Utc>,
}

const MAX_SUMMARY_CHARS: usize = 2000;
/// Phones' clocks drift; anything further off than this is a typo (or backdating), not skew.
const CLOCK_SKEW_MINUTES: i64 = 5;

impl Activity {
    pub(crate) fn record(
        input: &NewActivity,
        id: ActivityId,
        lead: &Lead,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Activity, DomainError> {
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
        if occurred_at < lead.created_at - skew {
            return Err(DomainError::invalid(
                "occurred_at",
                "must not be before the lead was created",
            ));
        }
        Ok(Activity {
            id,
            tenant: lead.tenant.clone(),
            lead: lead.id,
            kind: input.kind,
            summary: summary.to_owned(),
            occurred_at,
            author: actor.user,
            recorded_at: now,
        })
    }
}
