//! The deal's activity log: calls, messages, structured after-call notes, managers'
//! approvals, and the attachments the upload check records. Stage gates read it.

use crate::deal::load_deal;
use crate::error::AppError;
use crate::lead::{APPEND_RETRIES, MAX_PAGE, Outcome, checked_limit, idempotency, retry_pause};
use crate::state::AppState;
use fieldline_domain::{Activity, ActivityId, Actor, Deal, DealId, NewActivity};
use fieldline_store::{Created, IdempotencyKey, IdempotencyRecord, StoreError};

/// How much of a deal's log a stage gate reads: far more than a deal collects in practice.
pub(crate) const GATE_EVIDENCE: u32 = 1000;

/// Logs an activity on a deal the caller may work on. A version race with another writer is
/// retried on fresh data; a retry with the same `Idempotency-Key` returns the first activity.
#[tracing::instrument(name = "deal.log_activity", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn log_activity(
    state: &AppState,
    actor: &Actor,
    id: DealId,
    input: NewActivity,
    key: Option<IdempotencyKey>,
) -> Result<(Outcome<Activity>, Deal), AppError> {
    let record = idempotency(actor, key, "deal.activity", &input);
    let activity_id = ActivityId::new();
    append(state, actor, id, record.as_ref(), |deal| {
        deal.log_activity(&input, activity_id, actor, state.clock.now())
            .map_err(AppError::from)
    })
    .await
}

/// Reads the deal, lets `change` add one activity to it, and stores both; retried when
/// someone else's write won the version race in between.
pub(crate) async fn append(
    state: &AppState,
    actor: &Actor,
    id: DealId,
    record: Option<&IdempotencyRecord>,
    mut change: impl FnMut(&mut Deal) -> Result<(Activity, fieldline_domain::DomainEvent), AppError>,
) -> Result<(Outcome<Activity>, Deal), AppError> {
    for attempt in 0..APPEND_RETRIES {
        retry_pause(attempt).await;
        let mut deal = load_deal(state, actor, id).await?;
        let read_version = deal.version;
        let (activity, event) = change(&mut deal)?;
        match state
            .deals
            .record_deal_activity(&deal, read_version, &activity, &[event], record)
            .await
        {
            Ok(Created::Replayed(original)) => {
                let current = load_deal(state, actor, id).await?;
                return Ok((Created::Replayed(original), current));
            }
            Ok(created) => return Ok((created, deal)),
            Err(StoreError::VersionConflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::Conflict(
        "the deal is being changed too often right now; try again".into(),
    ))
}

/// The deal's activities, newest first.
#[tracing::instrument(name = "deal.list_activities", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn list_activities(
    state: &AppState,
    actor: &Actor,
    id: DealId,
    limit: u32,
) -> Result<Vec<Activity>, AppError> {
    let limit = checked_limit(limit, MAX_PAGE)?;
    load_deal(state, actor, id).await?;
    Ok(state
        .deals
        .list_deal_activities(&actor.tenant, id, limit)
        .await?)
}
