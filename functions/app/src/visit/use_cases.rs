use crate::customer::load_live_customer;
use crate::error::AppError;
use crate::lead::load_tenant;
use crate::state::AppState;
use fieldline_domain::id::derived_uuid;
use fieldline_domain::visit::{CheckIn, CheckOut, Visit, VisitPolicy};
use fieldline_domain::{
    Actor, EventPayload, LeadScope, Permission, Subject, TeamId, Timestamp, UserId, VisitId,
};
use fieldline_store::{Created, IdempotencyKey};
use serde::Serialize;
use std::collections::HashMap;
use utoipa::ToSchema;

/// The id a check-in gets: derived from its `Idempotency-Key` (per tenant and user), so a
/// phone's retry finds the visit it made; random without one.
fn visit_id(actor: &Actor, key: Option<&IdempotencyKey>) -> VisitId {
    match key {
        Some(key) => VisitId::from_uuid(derived_uuid(&format!(
            "visit|{}|{}|{}",
            actor.tenant,
            actor.user,
            key.as_str()
        ))),
        None => VisitId::new(),
    }
}

fn event(
    visit: &Visit,
    actor: &Actor,
    now: Timestamp,
    payload: EventPayload,
) -> fieldline_domain::DomainEvent {
    fieldline_domain::DomainEvent::new(
        visit.tenant.clone(),
        Subject::Visit(visit.id),
        visit.version,
        Some(actor.user),
        None,
        now,
        payload,
    )
}

/// Checks in at a customer the caller may work on. The distance to the customer's first
/// mapped address is measured; farther than the policy allows, the visit is flagged (and will
/// not count as valid). A retry with the same `Idempotency-Key` returns the same visit.
#[tracing::instrument(name = "visit.check_in", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn check_in(
    state: &AppState,
    actor: &Actor,
    input: CheckIn,
    key: Option<IdempotencyKey>,
) -> Result<Created<Visit>, AppError> {
    let customer = load_live_customer(state, actor, input.customer).await?;
    let policy = load_tenant(state, &actor.tenant).await?.visit_policy();
    let known = customer
        .addresses
        .iter()
        .find_map(|a| a.geo)
        .map(|g| (g.lat, g.lon));
    let now = state.clock.now();
    let visit = Visit::check_in(
        &input,
        visit_id(actor, key.as_ref()),
        (actor.user, actor.team),
        &actor.tenant,
        known,
        &policy,
        now,
    )?;
    let checked_in = event(
        &visit,
        actor,
        now,
        EventPayload::VisitCheckedIn {
            customer: visit.customer,
            distance_m: visit.distance_m.map(|d| d.round() as u32),
            far: visit.far,
        },
    );
    Ok(state.customers.create_visit(&visit, &[checked_in]).await?)
}

/// Whether the caller may see `visit`: their own, their team's (managers), all (admins).
fn may_see(actor: &Actor, visit: &Visit) -> bool {
    match actor.lead_scope() {
        LeadScope::Tenant => true,
        LeadScope::Team(team) => visit.team == Some(team) || visit.owner == actor.user,
        LeadScope::Owner(me) => visit.owner == me,
        LeadScope::Pool => false,
    }
}

/// The most visits one listing returns.
pub const MAX_LISTED_VISITS: usize = 500;

/// The visits the caller may see checked in during `[from, to)`, newest first, at most
/// `MAX_LISTED_VISITS` (a rep's day, a manager's week).
pub async fn list_visits(
    state: &AppState,
    actor: &Actor,
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<Visit>, AppError> {
    if from >= to {
        return Err(AppError::rejected(
            "invalid_query",
            "from must be before to",
        ));
    }
    let mut visits: Vec<Visit> = state
        .customers
        .visits_since(&actor.tenant, from)
        .await?
        .into_iter()
        .filter(|v| v.checked_in_at < to && may_see(actor, v))
        .collect();
    visits.sort_by_key(|v| std::cmp::Reverse((v.checked_in_at, v.id)));
    visits.truncate(MAX_LISTED_VISITS);
    Ok(visits)
}

/// A visit the caller may see: their own, their team's (managers), every one (admins).
pub async fn get_visit(state: &AppState, actor: &Actor, id: VisitId) -> Result<Visit, AppError> {
    let visit = state
        .customers
        .get_visit(&actor.tenant, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("visit {id} not found")))?;
    if !may_see(actor, &visit) {
        return Err(AppError::Forbidden("not a visit you may see".into()));
    }
    Ok(visit)
}

/// Checks out the caller's own visit and judges it. The photos must be the caller's uploads.
/// A retry after the check-out answers the visit as it is.
#[tracing::instrument(name = "visit.check_out", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn check_out(
    state: &AppState,
    actor: &Actor,
    id: VisitId,
    input: CheckOut,
) -> Result<Visit, AppError> {
    let mut visit = get_visit(state, actor, id).await?;
    if visit.owner != actor.user {
        return Err(AppError::Forbidden(
            "only the rep on the visit checks out".into(),
        ));
    }
    for photo in &input.photos {
        let mine = state
            .uploads
            .get_upload(&actor.tenant, *photo)
            .await?
            .is_some_and(|u| u.created_by == actor.user);
        if !mine {
            return Err(AppError::InvalidField {
                field: "photos".into(),
                message: format!("{photo} is not one of your uploads"),
            });
        }
    }
    let policy = load_tenant(state, &actor.tenant).await?.visit_policy();
    let before = visit.version;
    let now = state.clock.now();
    if !visit.check_out(&input, &policy, now)? {
        return Ok(visit);
    }
    let dwell = visit.dwell_minutes().unwrap_or(0.0).round() as u32;
    let checked_out = event(
        &visit,
        actor,
        now,
        EventPayload::VisitCheckedOut {
            customer: visit.customer,
            valid: visit.valid == Some(true),
            dwell_minutes: dwell,
        },
    );
    state
        .customers
        .update_visit(&visit, before, &[checked_out])
        .await?;
    Ok(visit)
}

/// Adds a shelf photo to the caller's visit while it is open (a closed visit was judged
/// already and keeps what it was judged on); the visit as it is after.
pub(crate) async fn attach_photo(
    state: &AppState,
    actor: &Actor,
    id: VisitId,
    photo: fieldline_domain::UploadId,
) -> Result<Visit, AppError> {
    for _ in 0..3 {
        let mut visit = get_visit(state, actor, id).await?;
        if visit.checked_out_at.is_some()
            || visit.photos.contains(&photo)
            || visit.photos.len() >= 20
        {
            return Ok(visit);
        }
        let before = visit.version;
        visit.photos.push(photo);
        visit.version += 1;
        match state.customers.update_visit(&visit, before, &[]).await {
            Ok(()) => return Ok(visit),
            Err(fieldline_store::StoreError::VersionConflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::Conflict(
        "the visit is being changed meanwhile".into(),
    ))
}

pub async fn visit_policy(state: &AppState, actor: &Actor) -> Result<VisitPolicy, AppError> {
    Ok(load_tenant(state, &actor.tenant).await?.visit_policy())
}

/// Replaces the tenant's visit policy (admins).
pub async fn set_visit_policy(
    state: &AppState,
    actor: &Actor,
    policy: VisitPolicy,
) -> Result<VisitPolicy, AppError> {
    actor.check(Permission::ManageCalendar)?;
    policy.validate()?;
    let mut tenant = load_tenant(state, &actor.tenant).await?;
    tenant.visits = Some(policy.clone());
    state.directory.update_tenant(&tenant).await?;
    Ok(policy)
}

/// One rep's visits in a period.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct VisitFigures {
    pub visits: u64,
    /// Checked in but not out yet: not judged.
    pub open: u64,
    pub valid: u64,
    pub invalid: u64,
    /// Checked in farther from the customer than the policy allows.
    pub far: u64,
    /// 无效拜访率: invalid over judged visits, three decimals; `None` without any.
    pub invalid_rate: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RepVisits {
    pub user: UserId,
    pub team: Option<TeamId>,
    #[serde(flatten)]
    pub figures: VisitFigures,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VisitReport {
    pub from: chrono::DateTime<chrono::Utc>,
    pub to: chrono::DateTime<chrono::Utc>,
    pub total: VisitFigures,
    pub reps: Vec<RepVisits>,
}

fn count(figures: &mut VisitFigures, v: &Visit) {
    figures.visits += 1;
    figures.far += u64::from(v.far);
    match v.valid {
        None => figures.open += 1,
        Some(true) => figures.valid += 1,
        Some(false) => figures.invalid += 1,
    }
}

fn finish(mut f: VisitFigures) -> VisitFigures {
    let judged = f.valid + f.invalid;
    f.invalid_rate =
        (judged > 0).then(|| (f.invalid as f64 / judged as f64 * 1000.0).round() / 1000.0);
    f
}

/// Visits checked in during `[from, to)`, per rep and in total, scoped like the lead report.
#[tracing::instrument(name = "visit.report", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn visit_report(
    state: &AppState,
    actor: &Actor,
    from: Timestamp,
    to: Timestamp,
) -> Result<VisitReport, AppError> {
    if from >= to {
        return Err(AppError::rejected(
            "invalid_query",
            "from must be before to",
        ));
    }
    let visits = state.customers.visits_since(&actor.tenant, from).await?;
    let mut total = VisitFigures::default();
    let mut by_rep: HashMap<UserId, (Option<TeamId>, VisitFigures)> = HashMap::new();
    for v in visits
        .iter()
        .filter(|v| v.checked_in_at < to && may_see(actor, v))
    {
        count(&mut total, v);
        count(
            &mut by_rep
                .entry(v.owner)
                .or_insert((v.team, VisitFigures::default()))
                .1,
            v,
        );
    }
    let mut reps: Vec<RepVisits> = by_rep
        .into_iter()
        .map(|(user, (team, f))| RepVisits {
            user,
            team,
            figures: finish(f),
        })
        .collect();
    reps.sort_by_key(|r| r.user);
    Ok(VisitReport {
        from,
        to,
        total: finish(total),
        reps,
    })
}
