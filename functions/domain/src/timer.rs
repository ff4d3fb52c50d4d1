//! Durable timers: "first contact due in 24 h" is a stored record with a due time, fired by a
//! sweeper (the embedded scheduler, or a scheduled Lambda on AWS). Firing turns the timer into
//! a `timer_fired` event in the same transaction, so a timer fires once even when sweepers
//! overlap or one crashes half-way.

use crate::event::Cause;
use crate::id::{TenantId, TimerId};
use crate::subject::Subject;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Timer {
    pub id: TimerId,
    pub tenant: TenantId,
    /// What the timer runs on; serialised as its kind's key (`"lead": "0193…"`).
    #[serde(flatten)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub subject: Subject,
    /// A slug such as `first_contact`; at most one pending timer per subject and name.
    pub name: String,
    pub due_at: chrono::DateTime<chrono::Utc>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// The rule that started it; its depth carries into the `timer_fired` event.
    pub cause: Option<Cause>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum TimerState {
    Pending,
    Fired,
    Cancelled,
}
