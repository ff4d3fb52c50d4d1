//! The customer report: grade and health distribution per team, coverage depth, and each
//! rep's standing in the tenant on the seeds' three health metrics — lead activation rate
//! (72 h), customer coverage depth and proposal iteration frequency — with the seeds'
//! suggestion. Percentiles rank every rep of the tenant; what a caller sees is scoped as
//! everywhere else (a rep their own row, a manager the team's).

use crate::error::AppError;
use crate::state::AppState;
use fieldline_domain::customer_metrics::{
    COVERAGE_TARGET, GradeDistribution, Standing, round3, suggestion, top_percent,
};
use fieldline_domain::metrics::{LeadFacts, lead_metrics};
use fieldline_domain::{
    Activity, ActivityKind, Actor, CustomerId, EventPayload, GradeSnapshot, LeadScope, Month, Role,
    Subject, TeamId, Timestamp, UserId,
};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use utoipa::ToSchema;

/// How far back the reps' figures look.
pub const REP_WINDOW_DAYS: i64 = 90;
/// The most events a report reads for proposal counts.
const MAX_EVENTS: u32 = 200_000;

#[derive(Debug, Serialize, ToSchema)]
pub struct TeamCustomers {
    /// `null`: customers whose owner has no team.
    pub team: Option<TeamId>,
    pub name: Option<String>,
    #[serde(flatten)]
    pub grades: GradeDistribution,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RepStanding {
    pub user: UserId,
    pub email: String,
    pub team: Option<TeamId>,
    /// Leads of the last 90 days with a call or visit within 72 h, of those due.
    pub lead_activation_rate: Option<f64>,
    /// "TOP n%" within the tenant's reps (smaller is better).
    pub lead_activation_top_percent: Option<u32>,
    /// Mean roles met per customer the rep owns.
    pub coverage_depth: Option<f64>,
    pub coverage_top_percent: Option<u32>,
    /// Proposals (files attached to deals: quotes, plans) per 30 days, last 90 days.
    pub proposals_per_month: Option<f64>,
    pub proposals_top_percent: Option<u32>,
    /// The seeds' sentence, e.g. "您的线索激活率处于TOP15%，但客户覆盖深度仅TOP62%".
    pub suggestion: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerReport {
    pub as_of: chrono::DateTime<chrono::Utc>,
    /// The month the grades are from (a customer not yet graded this month counts with last
    /// month's grade).
    #[schema(value_type = String, example = "2026-11")]
    pub month: Month,
    pub coverage_target: f64,
    /// Every customer the caller may see.
    pub total: GradeDistribution,
    pub teams: Vec<TeamCustomers>,
    pub reps: Vec<RepStanding>,
}

/// Each customer's latest grade of this month or, failing that, the last.
async fn current_grades(
    state: &AppState,
    actor: &Actor,
    month: Month,
) -> Result<Vec<GradeSnapshot>, AppError> {
    let mut latest: BTreeMap<CustomerId, GradeSnapshot> = BTreeMap::new();
    for m in [month.previous(), month] {
        for s in state.customers.grades_of_month(&actor.tenant, m).await? {
            latest.insert(s.customer, s);
        }
    }
    Ok(latest.into_values().collect())
}

fn visible(scope: &LeadScope, owner: Option<UserId>, team: Option<TeamId>) -> bool {
    match scope {
        LeadScope::Tenant => true,
        LeadScope::Team(t) => team == Some(*t),
        LeadScope::Owner(me) => owner == Some(*me),
        LeadScope::Pool => false,
    }
}

/// Lead activation rate per owner over the tenant's leads of the window.
async fn activation_rates(
    state: &AppState,
    actor: &Actor,
    from: Timestamp,
    now: Timestamp,
) -> Result<HashMap<UserId, f64>, AppError> {
    let leads = crate::metrics::all_leads(state, actor, LeadScope::Tenant).await?;
    let leads: Vec<_> = leads
        .into_iter()
        .filter(|l| l.created_at >= from && l.owner.is_some())
        .collect();
    let mut activities: Vec<Vec<Activity>> = Vec::with_capacity(leads.len());
    for lead in &leads {
        activities.push(
            state
                .leads
                .list_activities(&actor.tenant, lead.id, 200)
                .await?,
        );
    }
    let mut by_owner: HashMap<UserId, Vec<LeadFacts<'_>>> = HashMap::new();
    for (lead, activities) in leads.iter().zip(&activities) {
        if let Some(owner) = lead.owner {
            by_owner
                .entry(owner)
                .or_default()
                .push(LeadFacts { lead, activities });
        }
    }
    Ok(by_owner
        .into_iter()
        .filter_map(|(owner, facts)| {
            let m = lead_metrics(&facts, from, now, now, crate::metrics::STALE_AFTER_HOURS);
            m.activation_rate_72h.map(|r| (owner, r))
        })
        .collect())
}

/// Files attached to deals per rep over the window, per 30 days.
async fn proposal_rates(
    state: &AppState,
    actor: &Actor,
    from: Timestamp,
    reps: &[UserId],
) -> Result<HashMap<UserId, f64>, AppError> {
    let events = state
        .events
        .tenant_events_since(&actor.tenant, from, MAX_EVENTS)
        .await?;
    let mut counts: HashMap<UserId, u64> = reps.iter().map(|r| (*r, 0)).collect();
    for e in &events {
        let attached = matches!(
            e.event.payload,
            EventPayload::ActivityLogged {
                kind: ActivityKind::Attachment,
                ..
            }
        );
        if attached
            && matches!(e.event.subject, Subject::Deal(_))
            && let Some(n) = e.event.actor.and_then(|a| counts.get_mut(&a))
        {
            *n += 1;
        }
    }
    let months = REP_WINDOW_DAYS as f64 / 30.0;
    Ok(counts
        .into_iter()
        .map(|(u, n)| (u, round3(n as f64 / months)))
        .collect())
}

/// The report as of now, scoped to the caller.
#[tracing::instrument(name = "metrics.customer_report", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn customer_report(state: &AppState, actor: &Actor) -> Result<CustomerReport, AppError> {
    let now = state.clock.now();
    let tenant = crate::lead::load_tenant(state, &actor.tenant).await?;
    let month = Month::of(now, tenant.zone());
    let grades = current_grades(state, actor, month).await?;
    let scope = actor.lead_scope();
    let seen: Vec<&GradeSnapshot> = grades
        .iter()
        .filter(|s| visible(&scope, s.owner, s.team))
        .collect();

    let teams = state.directory.list_teams(&actor.tenant).await?;
    let mut by_team: BTreeMap<Option<TeamId>, Vec<&GradeSnapshot>> = BTreeMap::new();
    for s in &seen {
        by_team.entry(s.team).or_default().push(s);
    }
    let team_rows = by_team
        .into_iter()
        .map(|(team, snaps)| TeamCustomers {
            team,
            name: team.and_then(|id| {
                teams
                    .iter()
                    .find(|t| t.id == id)
                    .map(|t| t.name.as_str().to_owned())
            }),
            grades: GradeDistribution::of(snaps),
        })
        .collect();

    // Every rep of the tenant, for the percentiles.
    let users = state.directory.list_users(&actor.tenant).await?;
    let reps: Vec<_> = users
        .iter()
        .filter(|u| u.active && u.role == Role::Rep)
        .collect();
    let rep_ids: Vec<UserId> = reps.iter().map(|u| u.id).collect();
    let from = now - chrono::Duration::days(REP_WINDOW_DAYS);
    let activation = activation_rates(state, actor, from, now).await?;
    let proposals = proposal_rates(state, actor, from, &rep_ids).await?;
    let mut coverage: HashMap<UserId, (u64, u64)> = HashMap::new();
    for s in &grades {
        if let Some(owner) = s.owner {
            let c = coverage.entry(owner).or_default();
            c.0 += u64::from(s.grade.roles_met);
            c.1 += 1;
        }
    }
    let coverage: HashMap<UserId, f64> = coverage
        .into_iter()
        .map(|(u, (roles, n))| (u, round3(roles as f64 / n as f64)))
        .collect();
    let column = |m: &HashMap<UserId, f64>| -> Vec<f64> {
        rep_ids.iter().filter_map(|id| m.get(id).copied()).collect()
    };
    let (all_act, all_cov, all_prop) = (column(&activation), column(&coverage), column(&proposals));
    let rep_rows = reps
        .iter()
        .filter(|u| visible(&scope, Some(u.id), u.team))
        .map(|u| {
            let (act, cov, prop) = (
                activation.get(&u.id).copied(),
                coverage.get(&u.id).copied(),
                proposals.get(&u.id).copied(),
            );
            let tops = (
                top_percent(&all_act, act),
                top_percent(&all_cov, cov),
                top_percent(&all_prop, prop),
            );
            RepStanding {
                user: u.id,
                email: u.email.as_str().to_owned(),
                team: u.team,
                lead_activation_rate: act,
                lead_activation_top_percent: tops.0,
                coverage_depth: cov,
                coverage_top_percent: tops.1,
                proposals_per_month: prop,
                proposals_top_percent: tops.2,
                suggestion: suggestion(&[
                    Standing {
                        zh: "线索激活率",
                        en: "lead activation rate",
                        top: tops.0,
                    },
                    Standing {
                        zh: "客户覆盖深度",
                        en: "customer coverage depth",
                        top: tops.1,
                    },
                    Standing {
                        zh: "方案迭代频率",
                        en: "proposal iteration frequency",
                        top: tops.2,
                    },
                ]),
            }
        })
        .collect();
    Ok(CustomerReport {
        as_of: now,
        month,
        coverage_target: COVERAGE_TARGET,
        total: GradeDistribution::of(seen.iter().copied()),
        teams: team_rows,
        reps: rep_rows,
    })
}
