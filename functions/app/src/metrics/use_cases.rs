//! The process-health report: the lead figures of `fieldline_domain::metrics` for the caller's
//! scope, per rep, per team and in total, plus the pool size.

use crate::error::AppError;
use crate::state::AppState;
use fieldline_domain::metrics::{
    Band, COMPLETENESS_BAND, LeadFacts, LeadMetrics, RESPONSE_BAND, lead_metrics,
};
use fieldline_domain::{Activity, Actor, Lead, LeadScope, TeamId, Timestamp, UserId};
use fieldline_store::LeadQuery;
use serde::Serialize;
use std::collections::BTreeSet;
use utoipa::ToSchema;

/// Default "stale" threshold, as in the default rules: 7 days without a follow-up.
pub const STALE_AFTER_HOURS: i64 = 168;

#[derive(Debug, Serialize, ToSchema)]
pub struct RepMetrics {
    pub user: UserId,
    pub email: String,
    pub team: Option<TeamId>,
    #[serde(flatten)]
    pub metrics: LeadMetrics,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TeamMetrics {
    pub team: TeamId,
    pub name: String,
    #[serde(flatten)]
    pub metrics: LeadMetrics,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MetricsReport {
    pub from: chrono::DateTime<chrono::Utc>,
    pub to: chrono::DateTime<chrono::Utc>,
    pub as_of: chrono::DateTime<chrono::Utc>,
    /// Everything the caller may see (the tenant for admins, the team for managers).
    pub total: LeadMetrics,
    pub teams: Vec<TeamMetrics>,
    pub reps: Vec<RepMetrics>,
    /// Leads waiting in the tenant's public pool now.
    pub pool_size: u64,
    /// Where the cockpit's tiles turn from healthy to watch to warning.
    pub bands: LeadBands,
}

/// The bands the 24 h response rate and the profile completeness are graded by.
#[derive(Debug, Serialize, ToSchema)]
pub struct LeadBands {
    pub response_rate_24h: Band,
    pub completeness: Band,
}

pub(crate) async fn all_leads(
    state: &AppState,
    actor: &Actor,
    scope: LeadScope,
) -> Result<Vec<Lead>, AppError> {
    Ok(fieldline_store::all_pages(|after| {
        let query = LeadQuery {
            scope: scope.clone(),
            owner: None,
            status: None,
            priority: None,
            updated_before: None,
            limit: fieldline_store::MAX_PAGE,
            after,
        };
        async move { state.leads.list_leads(&actor.tenant, &query).await }
    })
    .await?)
}

/// Computes the report for `[from, to)`. Reps get their own figures, managers their team's
/// and its reps', admins the tenant's.
#[tracing::instrument(name = "metrics.lead_report", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn lead_report(
    state: &AppState,
    actor: &Actor,
    from: Timestamp,
    to: Timestamp,
) -> Result<MetricsReport, AppError> {
    if from >= to {
        return Err(AppError::rejected(
            "invalid_query",
            "from must be before to",
        ));
    }
    let now = state.clock.now();
    let leads = all_leads(state, actor, actor.lead_scope()).await?;
    let mut activities: Vec<Vec<Activity>> = Vec::with_capacity(leads.len());
    for lead in &leads {
        activities.push(
            state
                .leads
                .list_activities(&actor.tenant, lead.id, 200)
                .await?,
        );
    }
    let facts: Vec<LeadFacts<'_>> = leads
        .iter()
        .zip(&activities)
        .map(|(lead, activities)| LeadFacts { lead, activities })
        .collect();
    let figures = |keep: &dyn Fn(&Lead) -> bool| {
        let subset: Vec<LeadFacts<'_>> = facts
            .iter()
            .filter(|f| keep(f.lead))
            .map(|f| LeadFacts {
                lead: f.lead,
                activities: f.activities,
            })
            .collect();
        lead_metrics(&subset, from, to, now, STALE_AFTER_HOURS)
    };

    let users = state.directory.list_users(&actor.tenant).await?;
    let teams = state.directory.list_teams(&actor.tenant).await?;
    let mut reps = Vec::new();
    let owners: BTreeSet<UserId> = leads.iter().filter_map(|l| l.owner).collect();
    for user in users.iter().filter(|u| {
        owners.contains(&u.id)
            || (u.role.sells()
                && match actor.lead_scope() {
                    LeadScope::Tenant => true,
                    LeadScope::Team(t) => u.team == Some(t),
                    LeadScope::Owner(me) => u.id == me,
                    LeadScope::Pool => false,
                })
    }) {
        reps.push(RepMetrics {
            user: user.id,
            email: user.email.as_str().to_owned(),
            team: user.team,
            metrics: figures(&|l: &Lead| l.owner == Some(user.id)),
        });
    }
    let visible_teams: Vec<_> = teams
        .iter()
        .filter(|t| match actor.lead_scope() {
            LeadScope::Tenant => true,
            LeadScope::Team(team) => t.id == team,
            LeadScope::Owner(_) | LeadScope::Pool => false,
        })
        .map(|t| TeamMetrics {
            team: t.id,
            name: t.name.as_str().to_owned(),
            metrics: figures(&|l: &Lead| l.team == Some(t.id)),
        })
        .collect();
    let pool_size = all_leads(state, actor, LeadScope::Pool).await?.len() as u64;
    Ok(MetricsReport {
        from,
        to,
        as_of: now,
        total: figures(&|_| true),
        teams: visible_teams,
        reps,
        pool_size,
        bands: LeadBands {
            response_rate_24h: RESPONSE_BAND,
            completeness: COMPLETENESS_BAND,
        },
    })
}

/// The pipeline's process figures for `[from, to)` over the deals the caller may see: funnel,
/// penetration within `within_hours`, dwell per stage and per stage × team, win rate, cycle
/// length, stalled deals.
#[tracing::instrument(name = "metrics.pipeline_report", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn pipeline_report(
    state: &AppState,
    actor: &Actor,
    pipeline_id: Option<String>,
    from: Timestamp,
    to: Timestamp,
    within_hours: i64,
) -> Result<fieldline_domain::pipeline_metrics::PipelineMetrics, AppError> {
    use fieldline_domain::pipeline_metrics::{Period, pipeline_metrics};
    if from >= to || to - from > chrono::Duration::days(366) {
        return Err(AppError::rejected(
            "invalid_query",
            "from must be before to, at most 366 days apart",
        ));
    }
    let id = pipeline_id.unwrap_or_else(|| fieldline_domain::pipeline::DEFAULT_PIPELINE.into());
    let pipeline = crate::deal::find_pipeline(state, actor, &id).await?;
    let deals = crate::deal::report_facts(state, actor, &pipeline.id).await?;
    let period = Period {
        from,
        to,
        within_hours,
        now: state.clock.now(),
    };
    Ok(pipeline_metrics(&pipeline, &deals, period))
}
