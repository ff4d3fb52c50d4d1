//! In-app notifications: the inbox every user has. Other channels (webhooks, WeCom, DingTalk,
//! Feishu) deliver the same records.

use crate::id::{NotificationId, TenantId, UserId};
use crate::subject::Subject;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Notification {
    pub id: NotificationId,
    pub tenant: TenantId,
    pub user: UserId,
    /// What it is about, if anything; serialised as its kind's key (`"lead": "0193…"`),
    /// the field webhook receivers read.
    #[serde(flatten)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub subject: Option<Subject>,
    /// `notice` or `escalation`.
    pub kind: String,
    pub message: String,
    /// The rule that sent it, when automatic.
    pub rule: Option<String>,
    /// Deduplicates retried sends: one notification per key and user.
    pub dedupe_key: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// Where notifications go besides the inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ChannelKind {
    /// Any HTTP endpoint: the notification as JSON, HMAC-signed when a secret is set.
    Webhook,
    /// WeCom (企业微信) group robot.
    Wecom,
    /// DingTalk (钉钉) custom robot, signed when a secret is set.
    Dingtalk,
    /// Feishu / Lark (飞书) custom bot, signed when a secret is set.
    Feishu,
}

impl ChannelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Webhook => "webhook",
            ChannelKind::Wecom => "wecom",
            ChannelKind::Dingtalk => "dingtalk",
            ChannelKind::Feishu => "feishu",
        }
    }
}

/// A tenant's outbound channel. The secret is never sent back to clients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Channel {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: uuid::Uuid,
    pub tenant: TenantId,
    pub kind: ChannelKind,
    pub url: String,
    #[serde(skip_serializing, default)]
    pub secret: Option<String>,
    /// Notification kinds forwarded; empty means all.
    pub kinds: Vec<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl Channel {
    pub fn forwards(&self, kind: &str) -> bool {
        self.kinds.is_empty() || self.kinds.iter().any(|k| k == kind)
    }
}

/// One notification on its way to one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Delivery {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: uuid::Uuid,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub channel: uuid::Uuid,
    pub notification: Notification,
    /// `pending`, `sending`, `sent` or `dead`.
    pub state: String,
    pub attempts: u32,
    pub next_attempt_at: chrono::DateTime<chrono::Utc>,
    pub last_error: Option<String>,
}

impl Delivery {
    /// Records how an attempt ended: sent, due again at a later time, or given up.
    pub fn finish(&mut self, result: &DeliveryResult) {
        self.attempts += 1;
        match result {
            DeliveryResult::Sent => {
                self.state = "sent".into();
                self.last_error = None;
            }
            DeliveryResult::Retry { at, error } => {
                self.state = "pending".into();
                self.next_attempt_at = *at;
                self.last_error = Some(error.clone());
            }
            DeliveryResult::Dead { error } => {
                self.state = "dead".into();
                self.last_error = Some(error.clone());
            }
        }
    }
}

/// How a delivery attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryResult {
    Sent,
    Retry {
        at: chrono::DateTime<chrono::Utc>,
        error: String,
    },
    Dead {
        error: String,
    },
}
