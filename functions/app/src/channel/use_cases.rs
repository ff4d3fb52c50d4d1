use crate::egress::check_url;
use crate::error::AppError;
use crate::state::AppState;
use fieldline_domain::{Actor, Channel, ChannelKind, Delivery};
use serde::Deserialize;
use utoipa::ToSchema;

/// A channel as an admin configures it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelRequest {
    pub kind: ChannelKind,
    /// The webhook or robot URL (http or https), at most 2000 characters.
    #[schema(max_length = 2000, pattern = r"^[\x00-\x20]*[Hh][Tt][Tt][Pp][Ss]?:")]
    pub url: String,
    /// DingTalk / Feishu signing secret, or the HMAC key of the generic webhook.
    #[schema(min_length = 1, max_length = 500)]
    pub secret: Option<String>,
    /// Notification kinds to forward; empty means all.
    #[serde(default)]
    pub kinds: Vec<ForwardKind>,
}

/// The notification kinds a channel can forward.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ForwardKind {
    Notice,
    Escalation,
}

impl ForwardKind {
    fn as_str(self) -> &'static str {
        match self {
            ForwardKind::Notice => "notice",
            ForwardKind::Escalation => "escalation",
        }
    }
}

fn require_admin(actor: &Actor) -> Result<(), AppError> {
    Ok(actor.check(fieldline_domain::Permission::ManageChannels)?)
}

#[tracing::instrument(name = "channel.add_channel", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn add_channel(
    state: &AppState,
    actor: &Actor,
    req: ChannelRequest,
) -> Result<Channel, AppError> {
    require_admin(actor)?;
    let url = reqwest::Url::parse(&req.url).map_err(|e| AppError::InvalidField {
        field: "url".into(),
        message: e.to_string(),
    })?;
    if !matches!(url.scheme(), "http" | "https") || req.url.chars().count() > 2000 {
        return Err(AppError::InvalidField {
            field: "url".into(),
            message: "an http or https URL of at most 2000 characters".into(),
        });
    }
    check_url(&url, state.allow_private_egress).map_err(|message| AppError::InvalidField {
        field: "url".into(),
        message: format!("{message}; channels reach public addresses only"),
    })?;
    if req
        .secret
        .as_ref()
        .is_some_and(|s| s.is_empty() || s.chars().count() > 500)
    {
        return Err(AppError::InvalidField {
            field: "secret".into(),
            message: "1-500 characters".into(),
        });
    }
    let channel = Channel {
        id: uuid::Uuid::now_v7(),
        tenant: actor.tenant.clone(),
        kind: req.kind,
        url: req.url,
        secret: req.secret,
        kinds: req.kinds.iter().map(|k| k.as_str().to_owned()).collect(),
        created_at: state.clock.now(),
    };
    state.inbox.save_channel(&channel).await?;
    Ok(channel)
}

#[tracing::instrument(name = "channel.list_channels", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn list_channels(state: &AppState, actor: &Actor) -> Result<Vec<Channel>, AppError> {
    require_admin(actor)?;
    Ok(state.inbox.list_channels(&actor.tenant).await?)
}

#[tracing::instrument(name = "channel.delete_channel", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn delete_channel(
    state: &AppState,
    actor: &Actor,
    id: uuid::Uuid,
) -> Result<(), AppError> {
    require_admin(actor)?;
    if state.inbox.delete_channel(&actor.tenant, id).await? {
        Ok(())
    } else {
        Err(AppError::NotFound(format!("channel {id} not found")))
    }
}

#[tracing::instrument(name = "channel.dead_letters", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn dead_letters(state: &AppState, actor: &Actor) -> Result<Vec<Delivery>, AppError> {
    require_admin(actor)?;
    Ok(state.inbox.dead_deliveries(&actor.tenant, 200).await?)
}
