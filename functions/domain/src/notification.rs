//! In-app notifications: the inbox every user has. Other channels (webhooks, WeCom, DingTalk,
//! Feishu) deliver the same records.

use crate::id::{LeadId, NotificationId, TenantId, UserId};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Notification {
    pub id: NotificationId,
    pub tenant: TenantId,
    pub user: UserId,
    pub lead: Option<LeadId>,
    /// `notice` or `escalation`.
    pub kind: String,
    pub message: String,
    /// The rule that sent it, when automatic.
    pub rule: Option<String>,
    /// Deduplicates retried sends: one notification per key and user.
    pub dedupe_key: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}
