use crate::error::AppError;
use crate::lead::load_accessible;
use crate::state::AppState;
use fieldline_domain::rule::evaluate;
use fieldline_domain::{
    Action, Actor, Decision, EventId, Evidence, LeadId, Permission, Role, Rule, RuleDraft, RuleId,
};
use fieldline_store::StoreError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

fn require_manager(actor: &Actor) -> Result<(), AppError> {
    Ok(actor.check(Permission::ManageRules)?)
}

fn rule_id(raw: &str) -> Result<RuleId, AppError> {
    if raw == "dry-run" {
        return Err(AppError::InvalidField {
            field: "id".into(),
            message: "dry-run is a reserved word".into(),
        });
    }
    Ok(RuleId::parse(raw)?)
}

/// An id from a path names an existing rule: one that cannot be an id names nothing (404).
fn existing_rule_id(raw: &str) -> Result<RuleId, AppError> {
    RuleId::parse(raw).map_err(|_| AppError::NotFound(format!("rule {raw:?} not found")))
}

#[tracing::instrument(name = "rule.list_rules", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn list_rules(state: &AppState, actor: &Actor) -> Result<Vec<Rule>, AppError> {
    Ok(state.rules.list_rules(&actor.tenant).await?)
}

#[tracing::instrument(name = "rule.get_rule", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn get_rule(state: &AppState, actor: &Actor, id: &str) -> Result<Rule, AppError> {
    let id = existing_rule_id(id)?;
    state
        .rules
        .get_rule(&actor.tenant, &id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("rule {id} not found")))
}

#[tracing::instrument(name = "rule.rule_versions", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn rule_versions(
    state: &AppState,
    actor: &Actor,
    id: &str,
) -> Result<Vec<Rule>, AppError> {
    let id = existing_rule_id(id)?;
    let versions = state.rules.rule_versions(&actor.tenant, &id).await?;
    if versions.is_empty() {
        return Err(AppError::NotFound(format!("rule {id} not found")));
    }
    Ok(versions)
}

fn store_error(e: StoreError, id: &RuleId) -> AppError {
    match e {
        StoreError::AlreadyExists(_) => AppError::Conflict(format!("rule {id} already exists")),
        StoreError::NotFound => AppError::NotFound(format!("rule {id} not found")),
        other => other.into(),
    }
}

/// Creates a rule (version 1).
#[tracing::instrument(name = "rule.create_rule", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn create_rule(
    state: &AppState,
    actor: &Actor,
    id: &str,
    draft: RuleDraft,
) -> Result<Rule, AppError> {
    save_version(state, actor, id, None, draft).await
}

/// Validates and stores a rule version: the first when `expected_version` is `None`.
async fn save_version(
    state: &AppState,
    actor: &Actor,
    id: &str,
    expected_version: Option<u32>,
    draft: RuleDraft,
) -> Result<Rule, AppError> {
    require_manager(actor)?;
    let id = match expected_version {
        None => rule_id(id)?,
        Some(_) => existing_rule_id(id)?,
    };
    draft.validate()?;
    let rule = Rule {
        id: id.clone(),
        tenant: actor.tenant.clone(),
        version: expected_version.map_or(1, |v| v + 1),
        draft,
        changed_by: Some(actor.user),
        changed_at: state.clock.now(),
    };
    state
        .rules
        .save_rule(&rule, expected_version)
        .await
        .map_err(|e| store_error(e, &id))?;
    Ok(rule)
}

/// Stores `draft` as the next version, if the rule is still at `expected_version`.
#[tracing::instrument(name = "rule.update_rule", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn update_rule(
    state: &AppState,
    actor: &Actor,
    id: &str,
    expected_version: u32,
    draft: RuleDraft,
) -> Result<Rule, AppError> {
    save_version(state, actor, id, Some(expected_version), draft).await
}

/// Brings back an earlier version's content as a new version (history is never rewritten).
#[tracing::instrument(name = "rule.rollback_rule", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn rollback_rule(
    state: &AppState,
    actor: &Actor,
    id: &str,
    to_version: u32,
    expected_version: u32,
) -> Result<Rule, AppError> {
    require_manager(actor)?;
    let versions = rule_versions(state, actor, id).await?;
    let old = versions
        .into_iter()
        .find(|r| r.version == to_version)
        .ok_or_else(|| AppError::NotFound(format!("rule {id} has no version {to_version}")))?;
    update_rule(state, actor, id, expected_version, old.draft).await
}

/// The automatic actions taken on a lead, with the evidence behind each.
#[tracing::instrument(name = "rule.lead_decisions", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn lead_decisions(
    state: &AppState,
    actor: &Actor,
    lead: LeadId,
) -> Result<Vec<Decision>, AppError> {
    load_accessible(state, actor, lead).await?;
    Ok(state
        .decisions
        .list_decisions(&actor.tenant, Some(lead.into()), 1000)
        .await?)
}

/// What automation did to a deal and why, oldest first.
#[tracing::instrument(name = "rule.deal_decisions", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn deal_decisions(
    state: &AppState,
    actor: &Actor,
    deal: fieldline_domain::DealId,
) -> Result<Vec<Decision>, AppError> {
    crate::deal::load_deal(state, actor, deal).await?;
    Ok(state
        .decisions
        .list_decisions(
            &actor.tenant,
            Some(fieldline_domain::Subject::Deal(deal)),
            1000,
        )
        .await?)
}

/// The tenant's latest decisions, newest first (managers and admins).
#[tracing::instrument(name = "rule.recent_decisions", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn recent_decisions(
    state: &AppState,
    actor: &Actor,
    limit: u32,
) -> Result<Vec<Decision>, AppError> {
    actor.check(Permission::ReadDecisionLog)?;
    let limit = crate::lead::checked_limit(limit, 500)?;
    let mut decisions = state
        .decisions
        .list_decisions(&actor.tenant, None, limit)
        .await?;
    if actor.role == Role::Manager {
        // A manager sees the decisions on leads of their team.
        let mut visible = Vec::with_capacity(decisions.len());
        for d in decisions {
            let Some(lead_id) = d.subject.as_lead() else {
                continue;
            };
            if let Some(lead) = state.leads.get_lead(&actor.tenant, lead_id).await?
                && actor.can_access_lead(&lead)
            {
                visible.push(d);
            }
        }
        decisions = visible;
    }
    Ok(decisions)
}

/// A rule to try out against recent history, without acting.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DryRunRequest {
    pub rule: RuleDraft,
    /// How far back to look, 1-90 days.
    #[schema(minimum = 1, maximum = 90)]
    pub days: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DryRunMatch {
    #[schema(value_type = String, format = Uuid)]
    pub event: EventId,
    pub occurred_at: chrono::DateTime<chrono::Utc>,
    #[schema(value_type = String, format = Uuid)]
    pub lead: LeadId,
    pub evidence: Vec<Evidence>,
    pub would_do: Vec<Action>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DryRunReport {
    /// Events of the rule's trigger in the window (on leads you may see).
    pub events_examined: u64,
    pub matched: u64,
    /// The first 500 matches.
    pub matches: Vec<DryRunMatch>,
    /// How the run was done, so nobody over-reads it.
    pub note: &'static str,
}

/// Evaluates `rule` against the tenant's events of the last `days` days and reports what it
/// would have done. Nothing is stored and no action runs.
#[tracing::instrument(name = "rule.dry_run", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn dry_run(
    state: &AppState,
    actor: &Actor,
    req: DryRunRequest,
) -> Result<DryRunReport, AppError> {
    require_manager(actor)?;
    req.rule.validate()?;
    if !(1..=90).contains(&req.days) {
        return Err(AppError::InvalidField {
            field: "days".into(),
            message: "1-90".into(),
        });
    }
    let now = state.clock.now();
    let since = now - chrono::Duration::days(req.days.into());
    let events = state
        .events
        .tenant_events_since(&actor.tenant, since, 100_000)
        .await?;
    let mut report = DryRunReport {
        events_examined: 0,
        matched: 0,
        matches: Vec::new(),
        note: "conditions on lead fields are evaluated against each lead as it is now, not as it was when the event happened",
    };
    for stored in events {
        let event = &stored.event;
        if event.subject.kind() != req.rule.subject || event.kind() != req.rule.trigger {
            continue;
        }
        // Dry runs cover the subjects a person can see; leads are the ones with a scope yet.
        let Some(lead_id) = event.subject.as_lead() else {
            continue;
        };
        let Some(lead) = state.leads.get_lead(&actor.tenant, lead_id).await? else {
            continue;
        };
        if !actor.can_access_lead(&lead) {
            continue;
        }
        report.events_examined += 1;
        let fields =
            serde_json::to_value(&lead).map_err(|e| AppError::internal("encoding the lead", e))?;
        let context = crate::rule::rule_context(event, &fields);
        if let Some(evidence) = evaluate(&req.rule.conditions, &context, event.occurred_at) {
            report.matched += 1;
            if report.matches.len() < 500 {
                report.matches.push(DryRunMatch {
                    event: event.id,
                    occurred_at: event.occurred_at,
                    lead: lead_id,
                    evidence,
                    would_do: req.rule.actions.clone(),
                });
            }
        }
    }
    Ok(report)
}
