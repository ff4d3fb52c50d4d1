use crate::deal::{activity::GATE_EVIDENCE, load_deal};
use crate::error::AppError;
use crate::state::AppState;
use base64::Engine;
use fieldline_domain::material::{token_hash, token_shape_ok};
use fieldline_domain::{Actor, DealId, MaterialPack, MaterialPackId, NewMaterialPack};
use fieldline_store::{BlobKey, StoreError};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::{Deserialize, Serialize};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;
use utoipa::ToSchema;

/// How often one link may be used, and how many lookups of links that do not exist the
/// server answers, per minute. Tokens cannot be guessed (2^256); the second limit keeps
/// anyone from trying at scale anyway. Per process: on AWS, API Gateway's throttling is the
/// outer bound.
#[derive(Clone)]
pub struct LinkLimits {
    per_link: Arc<DefaultKeyedRateLimiter<String>>,
    misses: Arc<DefaultDirectRateLimiter>,
}

impl LinkLimits {
    pub fn new(per_link_per_minute: u32, misses_per_minute: u32) -> LinkLimits {
        let quota = |n: u32| Quota::per_minute(NonZeroU32::new(n.max(1)).expect("at least 1"));
        LinkLimits {
            per_link: Arc::new(RateLimiter::keyed(quota(per_link_per_minute))),
            misses: Arc::new(RateLimiter::direct(quota(misses_per_minute))),
        }
    }

    /// One more use of the link with this token hash.
    fn use_link(&self, hash: &str) -> Result<(), AppError> {
        self.per_link
            .check_key(&hash.to_owned())
            .map_err(|not_until| too_many(not_until.wait_time_from(DefaultClock::default().now())))
    }

    /// One more lookup of a link that does not exist.
    fn miss(&self) -> Result<(), AppError> {
        self.misses
            .check()
            .map_err(|not_until| too_many(not_until.wait_time_from(DefaultClock::default().now())))
    }
}

impl Default for LinkLimits {
    fn default() -> Self {
        LinkLimits::new(30, 120)
    }
}

fn too_many(wait: Duration) -> AppError {
    AppError::TooManyRequests {
        retry_after_secs: wait.as_secs().max(1),
    }
}

/// A new pack and its link. The token is shown this once: only its hash is stored.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedPack {
    pub pack: MaterialPack,
    /// The customer's link, relative to the server (`/m/{token}`).
    pub url: String,
}

/// 32 random bytes, base64url without padding: 43 characters.
fn new_token() -> String {
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Bundles files attached to a deal the caller may work on into one expiring link.
#[tracing::instrument(name = "material.create_pack", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn create_pack(
    state: &AppState,
    actor: &Actor,
    deal: DealId,
    input: NewMaterialPack,
) -> Result<CreatedPack, AppError> {
    load_deal(state, actor, deal).await?;
    let log = state
        .deals
        .list_deal_activities(&actor.tenant, deal, GATE_EVIDENCE)
        .await?;
    let token = new_token();
    let pack = MaterialPack::create(
        &input,
        MaterialPackId::new(),
        deal,
        &log,
        &token,
        actor,
        state.clock.now(),
    )?;
    state.deals.create_material_pack(&pack).await?;
    Ok(CreatedPack {
        pack,
        url: format!("/m/{token}"),
    })
}

/// The deal's packs, newest first, with how often each was opened.
#[tracing::instrument(name = "material.list_packs", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn list_packs(
    state: &AppState,
    actor: &Actor,
    deal: DealId,
) -> Result<Vec<MaterialPack>, AppError> {
    load_deal(state, actor, deal).await?;
    Ok(state.deals.list_material_packs(&actor.tenant, deal).await?)
}

/// Stops a pack's link (a rep of the deal, its manager, an admin). Revoking twice is
/// harmless.
#[tracing::instrument(name = "material.revoke_pack", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn revoke_pack(
    state: &AppState,
    actor: &Actor,
    deal: DealId,
    pack: MaterialPackId,
) -> Result<MaterialPack, AppError> {
    load_deal(state, actor, deal).await?;
    for _ in 0..crate::lead::APPEND_RETRIES {
        let mut found = state
            .deals
            .list_material_packs(&actor.tenant, deal)
            .await?
            .into_iter()
            .find(|p| p.id == pack)
            .ok_or_else(|| AppError::NotFound(format!("material pack {pack} not found")))?;
        let before = found.version;
        if !found.revoke() {
            return Ok(found);
        }
        match state.deals.update_material_pack(&found, before, &[]).await {
            Ok(()) => return Ok(found),
            Err(StoreError::VersionConflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::Conflict(
        "the pack is being opened very often; try again".into(),
    ))
}

/// The live pack a link names, counted against the link's rate limit.
async fn live_pack(state: &AppState, token: &str) -> Result<MaterialPack, AppError> {
    let not_found = || AppError::NotFound("no such link".into());
    if !token_shape_ok(token) {
        state.link_limits.miss()?;
        return Err(not_found());
    }
    let hash = token_hash(token);
    let Some(pack) = state.deals.material_pack_by_token(&hash).await? else {
        state.link_limits.miss()?;
        return Err(not_found());
    };
    state.link_limits.use_link(&hash)?;
    if pack.revoked {
        return Err(AppError::Gone {
            code: "link_revoked",
            message: "this link was withdrawn; ask your contact for a new one".into(),
        });
    }
    if !pack.live(state.clock.now()) {
        return Err(AppError::Gone {
            code: "link_expired",
            message: "this link has expired; ask your contact for a new one".into(),
        });
    }
    Ok(pack)
}

/// A customer opens a link: the pack is returned and the opening recorded on the deal
/// (`material_opened`), exactly once per request.
#[tracing::instrument(name = "material.open_pack", level = "debug", skip_all, err(Display))]
pub async fn open_pack(state: &AppState, token: &str) -> Result<MaterialPack, AppError> {
    let mut pack = live_pack(state, token).await?;
    for _ in 0..crate::lead::APPEND_RETRIES {
        let deal_version = state
            .deals
            .get_deal(&pack.tenant, pack.deal)
            .await?
            .map_or(0, |d| d.version);
        let before = pack.version;
        let event = pack.open(deal_version, state.clock.now());
        match state
            .deals
            .update_material_pack(&pack, before, &[event])
            .await
        {
            Ok(()) => return Ok(pack),
            Err(StoreError::VersionConflict { .. }) => {
                pack = state
                    .deals
                    .material_pack_by_token(&pack.token_hash)
                    .await?
                    .ok_or_else(|| AppError::NotFound("no such link".into()))?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::Conflict(
        "the link is being opened very often; try again".into(),
    ))
}

/// One file of a pack: a short-lived download URL (S3), or the bytes themselves (embedded).
pub enum PackDownload {
    Redirect(String),
    Bytes {
        bytes: Vec<u8>,
        content_type: String,
        file_name: String,
    },
}

#[tracing::instrument(name = "material.download", level = "debug", skip_all, err(Display))]
pub async fn download(
    state: &AppState,
    token: &str,
    index: usize,
) -> Result<PackDownload, AppError> {
    let pack = live_pack(state, token).await?;
    let file = pack
        .files
        .get(index)
        .ok_or_else(|| AppError::NotFound(format!("the pack has no file {index}")))?;
    let path = crate::upload::record_key(file.upload, &file.file_name);
    let key = BlobKey::parse(pack.tenant.clone(), &path)
        .ok_or_else(|| AppError::NotFound("the file is gone".into()))?;
    if let Some(signed) = state
        .blobs
        .presign_get(&key, Duration::from_secs(300))
        .await?
    {
        return Ok(PackDownload::Redirect(signed.url));
    }
    let (bytes, meta) = state
        .blobs
        .get(&key)
        .await?
        .ok_or_else(|| AppError::NotFound("the file is gone".into()))?;
    Ok(PackDownload::Bytes {
        bytes,
        content_type: meta.content_type,
        file_name: file.file_name.clone(),
    })
}
