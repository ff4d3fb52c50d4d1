//! Lead use cases: load, check the caller's right, apply the domain change, store it with its
//! events. Handlers and Lambda functions call these; they never touch storage directly.

use crate::error::AppError;
use crate::state::AppState;
use fieldline_domain::lead::CreateContext;
use fieldline_domain::{
    Activity, ActivityId, Actor, DomainEvent, Lead, LeadId, LeadPatch, LeadScope, LeadStatus,
    NewActivity, NewLead, Permission, Priority, Region, Tenant, TenantId, Timestamp, User, UserId,
};
use fieldline_store::{
    Created, Cursor, IdempotencyKey, IdempotencyRecord, LeadQuery, Page, StoreError,
};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// How often an append (activity) is retried when a concurrent edit bumped the version. Every
/// round has a winner, so a burst of N appends on one lead completes within N rounds.
pub(crate) const APPEND_RETRIES: u32 = 20;

/// Before another round of an append that lost a version race: nothing on the first
/// attempt, then a short random wait, so the writers that lost do not collide again in
/// lockstep.
pub(crate) async fn retry_pause(attempt: u32) {
    if attempt > 0 {
        let ceiling = 1u64 << attempt.min(5);
        tokio::time::sleep(std::time::Duration::from_millis(rand::random_range(
            0..=ceiling,
        )))
        .await;
    }
}

/// Filters a client may put on a listing; the scope is added from the caller's role.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub owner: Option<UserId>,
    pub status: Option<LeadStatus>,
    pub priority: Option<Priority>,
    pub updated_before: Option<Timestamp>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    /// List the tenant's public pool instead of the caller's own scope.
    pub pool: bool,
}

pub const DEFAULT_PAGE: u32 = 50;
pub const MAX_PAGE: u32 = 200;

/// Whether a create made something new or answered a retry.
pub type Outcome<T> = Created<T>;

fn fingerprint<T: Serialize>(scope: &str, input: &T) -> String {
    let mut hasher = Sha256::new();
    hasher.update(scope.as_bytes());
    hasher.update(serde_json::to_vec(input).unwrap_or_default());
    hex::encode(hasher.finalize())
}

pub(crate) async fn tenant_region(state: &AppState, actor: &Actor) -> Result<Region, AppError> {
    region_of(&load_tenant(state, &actor.tenant).await?)
}

/// The caller's tenant record (its zone, region, calendar and grading policy).
pub(crate) async fn load_tenant(state: &AppState, id: &TenantId) -> Result<Tenant, AppError> {
    state
        .directory
        .get_tenant(id)
        .await?
        .ok_or_else(|| AppError::Unauthenticated("tenant no longer exists".into()))
}

/// The region phone numbers without a country code are read in.
pub(crate) fn region_of(tenant: &Tenant) -> Result<Region, AppError> {
    Region::parse(&tenant.phone_region)
        .map_err(|e| AppError::internal(format!("tenant {}", tenant.id), e))
}

/// A user the caller may hand a record to (a lead, a customer): in the tenant, active, and
/// within the caller's reach to assign.
pub(crate) async fn assignee(
    state: &AppState,
    actor: &Actor,
    id: UserId,
) -> Result<User, AppError> {
    let user = state
        .directory
        .get_user(&actor.tenant, id)
        .await?
        .ok_or_else(|| AppError::InvalidField {
            field: "owner".into(),
            message: "no such user".into(),
        })?;
    actor.check_can_assign_to(&user)?;
    Ok(user)
}

/// A page size as asked, or 400 `invalid_query` outside `1..=max` (never silently clamped:
/// a client asking for more than it gets would think it has everything).
pub(crate) fn checked_limit(limit: u32, max: u32) -> Result<u32, AppError> {
    if (1..=max).contains(&limit) {
        Ok(limit)
    } else {
        Err(AppError::rejected(
            "invalid_query",
            format!("limit must be between 1 and {max}"),
        ))
    }
}

/// Loads a lead the caller may act on: 404 outside their tenant, 403 outside their scope.
pub(crate) async fn load_accessible(
    state: &AppState,
    actor: &Actor,
    id: LeadId,
) -> Result<Lead, AppError> {
    let lead = state
        .leads
        .get_lead(&actor.tenant, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("lead {id} not found")))?;
    actor.check(Permission::AccessLead(&lead))?;
    Ok(lead)
}

pub(crate) fn idempotency(
    actor: &Actor,
    key: Option<IdempotencyKey>,
    scope: &str,
    input: &impl Serialize,
) -> Option<IdempotencyRecord> {
    key.map(|key| IdempotencyRecord {
        key,
        user: actor.user,
        fingerprint: fingerprint(scope, input),
    })
}

#[tracing::instrument(name = "lead.create_lead", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn create_lead(
    state: &AppState,
    actor: &Actor,
    me: &User,
    input: NewLead,
    key: Option<IdempotencyKey>,
) -> Result<Outcome<Lead>, AppError> {
    create_lead_as(state, actor, me, input, key, LeadId::new()).await
}

/// `create_lead` with the new lead's id chosen by the caller: capture derives it from the
/// upload, so a card processed again recognises the lead it made.
pub(crate) async fn create_lead_as(
    state: &AppState,
    actor: &Actor,
    me: &User,
    input: NewLead,
    key: Option<IdempotencyKey>,
    id: LeadId,
) -> Result<Outcome<Lead>, AppError> {
    actor.check(Permission::CreateLeadFor(input.owner))?;
    let owner = match input.owner {
        _ if !actor.role.oversees() => Some(me.clone()),
        Some(id) => Some(assignee(state, actor, id).await?),
        None => None,
    };
    let region = tenant_region(state, actor).await?;
    let (lead, events) = Lead::create(
        &input,
        CreateContext {
            id,
            actor,
            owner: owner.as_ref(),
            now: state.clock.now(),
            region,
            policy: &state.policy,
        },
    )?;
    let record = idempotency(actor, key, "lead.create", &input);
    let outcome = state
        .leads
        .create_lead(&lead, &events, record.as_ref())
        .await?;
    // A replay answers the lead as it is now, so only if the caller may still see it.
    if let Created::Replayed(current) = &outcome {
        actor.check(Permission::AccessLead(current))?;
    }
    Ok(outcome)
}

#[tracing::instrument(name = "lead.get_lead", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn get_lead(state: &AppState, actor: &Actor, id: LeadId) -> Result<Lead, AppError> {
    load_accessible(state, actor, id).await
}

#[tracing::instrument(name = "lead.list_leads", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn list_leads(
    state: &AppState,
    actor: &Actor,
    filter: ListFilter,
) -> Result<Page<Lead>, AppError> {
    let after = filter
        .cursor
        .as_deref()
        .map(|c| {
            Cursor::decode(c).ok_or_else(|| {
                AppError::rejected("invalid_cursor", "cursor is not one this API issued")
            })
        })
        .transpose()?;
    let limit = checked_limit(filter.limit.unwrap_or(DEFAULT_PAGE), MAX_PAGE)?;
    let query = LeadQuery {
        scope: if filter.pool {
            LeadScope::Pool
        } else {
            actor.lead_scope()
        },
        owner: filter.owner,
        status: filter.status,
        priority: filter.priority,
        updated_before: filter.updated_before,
        limit,
        after,
    };
    Ok(state.leads.list_leads(&actor.tenant, &query).await?)
}

/// Loads a lead the caller may change: readable, and not waiting in the pool (403).
pub(crate) async fn load_changeable(
    state: &AppState,
    actor: &Actor,
    id: LeadId,
) -> Result<Lead, AppError> {
    let lead = load_accessible(state, actor, id).await?;
    actor.check(Permission::ChangeLead(&lead))?;
    Ok(lead)
}

/// The lead the client based its change on, or 409 if it moved on since `expected`.
fn at_version(lead: Lead, expected: u64) -> Result<Lead, AppError> {
    if lead.version != expected {
        return Err(AppError::VersionConflict {
            expected,
            actual: lead.version,
        });
    }
    Ok(lead)
}

/// Stores a changed lead with its events; a change without events changed nothing.
async fn save(
    state: &AppState,
    lead: Lead,
    expected_version: u64,
    events: &[DomainEvent],
) -> Result<Lead, AppError> {
    if !events.is_empty() {
        state
            .leads
            .update_lead(&lead, expected_version, events)
            .await?;
    }
    Ok(lead)
}

#[tracing::instrument(name = "lead.update_lead", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn update_lead(
    state: &AppState,
    actor: &Actor,
    id: LeadId,
    expected_version: u64,
    patch: LeadPatch,
) -> Result<Lead, AppError> {
    let mut lead = at_version(load_changeable(state, actor, id).await?, expected_version)?;
    let region = tenant_region(state, actor).await?;
    let events = lead.apply_patch(&patch, actor, state.clock.now(), region, &state.policy)?;
    save(state, lead, expected_version, &events).await
}

#[tracing::instrument(name = "lead.assign_lead", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn assign_lead(
    state: &AppState,
    actor: &Actor,
    id: LeadId,
    expected_version: u64,
    owner: UserId,
) -> Result<Lead, AppError> {
    actor.check(Permission::AssignLeads)?;
    // Assigning is how a manager takes a lead out of the pool, so pooled leads are allowed.
    let mut lead = at_version(load_accessible(state, actor, id).await?, expected_version)?;
    let owner = assignee(state, actor, owner).await?;
    let events = lead.assign(&owner, actor, state.clock.now());
    save(state, lead, expected_version, &events).await
}

/// Appends to the follow-up log. Activities commute with other edits, so a version clash
/// is retried on fresh data instead of being pushed back to the rep.
#[tracing::instrument(name = "lead.log_activity", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn log_activity(
    state: &AppState,
    actor: &Actor,
    id: LeadId,
    input: NewActivity,
    key: Option<IdempotencyKey>,
) -> Result<(Outcome<Activity>, Lead), AppError> {
    let record = idempotency(actor, key, "lead.activity", &input);
    let activity_id = ActivityId::new();
    for attempt in 0..APPEND_RETRIES {
        retry_pause(attempt).await;
        let mut lead = load_changeable(state, actor, id).await?;
        let read_version = lead.version;
        let (activity, events) =
            lead.log_activity(&input, activity_id, actor, state.clock.now())?;
        match state
            .leads
            .record_activity(&lead, read_version, &activity, &events, record.as_ref())
            .await
        {
            Ok(Created::Replayed(original)) => {
                let current = load_accessible(state, actor, id).await?;
                return Ok((Created::Replayed(original), current));
            }
            Ok(created) => return Ok((created, lead)),
            Err(StoreError::VersionConflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::Conflict(
        "the lead is being changed too often right now; try again".into(),
    ))
}

#[tracing::instrument(name = "lead.list_activities", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn list_activities(
    state: &AppState,
    actor: &Actor,
    id: LeadId,
    limit: u32,
) -> Result<Vec<Activity>, AppError> {
    let limit = checked_limit(limit, MAX_PAGE)?;
    load_accessible(state, actor, id).await?;
    Ok(state
        .leads
        .list_activities(&actor.tenant, id, limit)
        .await?)
}

/// Takes a lead from the tenant's pool. The version check makes the first claim win; the
/// others get 409 `already_claimed`.
#[tracing::instrument(name = "lead.claim_lead", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn claim_lead(state: &AppState, actor: &Actor, id: LeadId) -> Result<Lead, AppError> {
    let mut lead = state
        .leads
        .get_lead(&actor.tenant, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("lead {id} not found")))?;
    if !lead.in_pool {
        // Most lost races end here: the winner's claim is already stored (and may have put
        // the lead outside the loser's scope, which must not turn the answer into a 403).
        // A lead that was never pooled is in the same state as far as the caller can tell.
        return Err(AppError::Conflict(match lead.owner {
            Some(_) => "someone else claimed this lead first".into(),
            None => "this lead is not in the pool".into(),
        }));
    }
    actor.check(Permission::AccessLead(&lead))?;
    let expected = lead.version;
    let events = lead.claim(actor, state.clock.now())?;
    match state.leads.update_lead(&lead, expected, &events).await {
        Ok(()) => Ok(lead),
        Err(StoreError::VersionConflict { .. }) => Err(AppError::Conflict(
            "someone else claimed or changed this lead first".into(),
        )),
        Err(e) => Err(e.into()),
    }
}
