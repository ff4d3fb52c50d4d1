//! Tasks: what a rep must do next, with a due time. Rules create them from events ("after a
//! visit, send the quote within 48 h"); the rep completes them.

use crate::id::{LeadId, TaskId, TenantId, UserId};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Task {
    pub id: TaskId,
    pub tenant: TenantId,
    pub lead: LeadId,
    /// The lead's owner when the task was made; `None` for a pooled lead.
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
