//! Automation use cases: managers read and change rules (every change a new version, with
//! rollback), anyone reads the decisions behind a lead they may see, users read their inbox.

use crate::error::ApiError;
use crate::leads::load_accessible;
use crate::state::AppState;
use fieldline_domain::{Actor, Decision, LeadId, Notification, Role, Rule, RuleDraft, RuleId};
use fieldline_store::StoreError;

fn require_manager(actor: &Actor) -> Result<(), ApiError> {
    if actor.role == Role::Rep {
        return Err(ApiError::Forbidden(
            "only managers and admins change automation rules".into(),
        ));
    }
    Ok(())
}

fn rule_id(raw: &str) -> Result<RuleId, ApiError> {
    Ok(RuleId::parse(raw)?)
}

pub async fn list_rules(state: &AppState, actor: &Actor) -> Result<Vec<Rule>, ApiError> {
    Ok(state.automation.list_rules(&actor.tenant).await?)
}

pub async fn get_rule(state: &AppState, actor: &Actor, id: &str) -> Result<Rule, ApiError> {
    let id = rule_id(id)?;
    state
        .automation
        .get_rule(&actor.tenant, &id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("rule {id} not found")))
}

pub async fn rule_versions(
    state: &AppState,
    actor: &Actor,
    id: &str,
) -> Result<Vec<Rule>, ApiError> {
    let id = rule_id(id)?;
    let versions = state.automation.rule_versions(&actor.tenant, &id).await?;
    if versions.is_empty() {
        return Err(ApiError::NotFound(format!("rule {id} not found")));
    }
    Ok(versions)
}

fn store_error(e: StoreError, id: &RuleId) -> ApiError {
    match e {
        StoreError::AlreadyExists(_) => ApiError::Conflict(format!("rule {id} already exists")),
        StoreError::NotFound => ApiError::NotFound(format!("rule {id} not found")),
        other => other.into(),
    }
}

/// Creates a rule (version 1).
pub async fn create_rule(
    state: &AppState,
    actor: &Actor,
    id: &str,
    draft: RuleDraft,
) -> Result<Rule, ApiError> {
    require_manager(actor)?;
    let id = rule_id(id)?;
    draft.validate()?;
    let rule = Rule {
        id: id.clone(),
        tenant: actor.tenant.clone(),
        version: 1,
        draft,
        changed_by: Some(actor.user),
        changed_at: state.clock.now(),
    };
    state
        .automation
        .save_rule(&rule, None)
        .await
        .map_err(|e| store_error(e, &id))?;
    Ok(rule)
}

/// Stores `draft` as the next version, if the rule is still at `expected_version`.
pub async fn update_rule(
    state: &AppState,
    actor: &Actor,
    id: &str,
    expected_version: u32,
    draft: RuleDraft,
) -> Result<Rule, ApiError> {
    require_manager(actor)?;
    let id = rule_id(id)?;
    draft.validate()?;
    let rule = Rule {
        id: id.clone(),
        tenant: actor.tenant.clone(),
        version: expected_version + 1,
        draft,
        changed_by: Some(actor.user),
        changed_at: state.clock.now(),
    };
    state
        .automation
        .save_rule(&rule, Some(expected_version))
        .await
        .map_err(|e| store_error(e, &id))?;
    Ok(rule)
}

/// Brings back an earlier version's content as a new version (history is never rewritten).
pub async fn rollback_rule(
    state: &AppState,
    actor: &Actor,
    id: &str,
    to_version: u32,
    expected_version: u32,
) -> Result<Rule, ApiError> {
    require_manager(actor)?;
    let versions = rule_versions(state, actor, id).await?;
    let old = versions
        .into_iter()
        .find(|r| r.version == to_version)
        .ok_or_else(|| ApiError::NotFound(format!("rule {id} has no version {to_version}")))?;
    update_rule(state, actor, id, expected_version, old.draft).await
}

/// The automatic actions taken on a lead, with the evidence behind each.
pub async fn lead_decisions(
    state: &AppState,
    actor: &Actor,
    lead: LeadId,
) -> Result<Vec<Decision>, ApiError> {
    load_accessible(state, actor, lead).await?;
    Ok(state
        .automation
        .list_decisions(&actor.tenant, Some(lead), 1000)
        .await?)
}

/// The tenant's latest decisions, newest first (managers and admins).
pub async fn recent_decisions(
    state: &AppState,
    actor: &Actor,
    limit: u32,
) -> Result<Vec<Decision>, ApiError> {
    require_manager(actor)?;
    let mut decisions = state
        .automation
        .list_decisions(&actor.tenant, None, limit.clamp(1, 500))
        .await?;
    if actor.role == Role::Manager {
        // A manager sees the decisions on leads of their team.
        let mut visible = Vec::with_capacity(decisions.len());
        for d in decisions {
            if let Some(lead) = state.leads.get_lead(&actor.tenant, d.lead).await?
                && actor.can_access_lead(&lead)
            {
                visible.push(d);
            }
        }
        decisions = visible;
    }
    Ok(decisions)
}

pub async fn my_notifications(
    state: &AppState,
    actor: &Actor,
) -> Result<Vec<Notification>, ApiError> {
    Ok(state
        .automation
        .list_notifications(&actor.tenant, actor.user, 200)
        .await?)
}
