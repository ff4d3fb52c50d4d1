//! Tasks: what a rep must do next, with a due time. Rules create them from events ("after a
//! visit, send the quote within 48 h"); the rep completes them.

use crate::access::{Actor, Permission};
use crate::error::DomainError;
use crate::id::{TaskId, TenantId, UserId};
use crate::subject::Subject;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Task {
    pub id: TaskId,
    pub tenant: TenantId,
    /// What the task is about; serialised as its kind's key (`"lead": "0193…"`).
    #[serde(flatten)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub subject: Subject,
    /// The subject's owner when the task was made; `None` for a pooled lead.
    pub assignee: Option<UserId>,
    pub title: String,
    pub due_at: chrono::DateTime<chrono::Utc>,
    pub done_at: Option<chrono::DateTime<chrono::Utc>>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// The rule that made it.
    pub rule: Option<String>,
    /// One task per (event, rule, action): a redelivered event makes no second task.
    pub dedupe_key: String,
}

impl Task {
    /// Marks the task done by `actor` (its assignee only). Completing it twice changes
    /// nothing: returns whether this call changed it.
    pub fn complete(
        &mut self,
        actor: &Actor,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, DomainError> {
        actor.check(Permission::CompleteTask(self))?;
        if self.done_at.is_some() {
            return Ok(false);
        }
        self.done_at = Some(now);
        Ok(true)
    }
}
