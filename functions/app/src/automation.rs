//! Lead automation: the rules engine (an outbox consumer), the timer sweeper (a scheduled
//! job) and the default rule set that expresses the seeds' lead policies as data.
//!
//! Delivery is at least once, so every action is idempotent on redelivery: timers are one per
//! lead and name, notifications carry a dedupe key, assignments default to "only if unowned",
//! and the decision log is keyed by (event, rule, action). A redelivered event re-runs the
//! rules, finds nothing left to do, and its decisions are not logged twice.

use crate::scheduler::{EventHandler, Job};
use crate::state::AppState;
use async_trait::async_trait;
use fieldline_domain::rule::{self, AssignStrategy, MAX_RULE_CHAIN, Recipient};
use fieldline_domain::{
    Action, Cause, Decision, DomainEvent, Lead, LeadId, Notification, NotificationId, Role, Rule,
    RuleDraft, RuleId, Task, TaskId, TeamId, TenantId, Timer, TimerId, Timestamp, User, UserId,
};
use fieldline_store::{StoreError, StoredEvent};
use serde_json::{Value, json};

/// Retries of a lead change that lost a version race to a person's edit.
const CHANGE_RETRIES: u32 = 8;

/// The rules engine: evaluates the tenant's enabled rules for each event, in outbox order.
pub struct RuleEngine {
    state: AppState,
}

impl RuleEngine {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

/// What one action came to, for the decision log.
struct Outcome {
    outcome: &'static str,
    detail: String,
}

fn done(detail: impl Into<String>) -> Outcome {
    Outcome {
        outcome: "done",
        detail: detail.into(),
    }
}

fn skipped(detail: impl Into<String>) -> Outcome {
    Outcome {
        outcome: "skipped",
        detail: detail.into(),
    }
}

/// The JSON rules look at: the event (its payload plus type, actor and time) and the lead.
pub fn rule_context(event: &DomainEvent, lead: &Lead) -> Value {
    let mut payload = serde_json::to_value(&event.payload).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut payload {
        map.insert("actor".into(), json!(event.actor));
        map.insert("occurred_at".into(), json!(event.occurred_at));
        map.insert("automatic".into(), json!(event.cause.is_some()));
    }
    json!({"event": payload, "lead": lead})
}

#[async_trait]
impl EventHandler for RuleEngine {
    fn name(&self) -> &str {
        "rules"
    }

    async fn handle(&self, stored: &StoredEvent) -> anyhow::Result<()> {
        let event = &stored.event;
        if event.aggregate_type != "lead" {
            return Ok(());
        }
        let trigger = event.payload.kind();
        let mut rules: Vec<Rule> = self
            .state
            .automation
            .list_rules(&event.tenant)
            .await?
            .into_iter()
            .filter(|r| r.draft.enabled && r.draft.trigger == trigger)
            .collect();
        rules.sort_by(|a, b| (a.draft.order, &a.id).cmp(&(b.draft.order, &b.id)));
        if rules.is_empty() {
            return Ok(());
        }
        let lead_id = LeadId::from_uuid(event.aggregate_id);
        let Some(lead) = self.state.leads.get_lead(&event.tenant, lead_id).await? else {
            return Ok(());
        };
        let depth = event.cause.as_ref().map_or(0, |c| c.depth);
        let now = self.state.clock.now();
        let context = rule_context(event, &lead);
        for rule in rules {
            let Some(evidence) = rule::evaluate(&rule.draft.conditions, &context, now) else {
                continue;
            };
            let mut decision = Decision {
                tenant: event.tenant.clone(),
                rule: rule.id.clone(),
                rule_version: rule.version,
                event: event.id,
                trigger: trigger.to_owned(),
                lead: lead_id,
                action_index: 0,
                action: Value::Null,
                evidence,
                outcome: String::new(),
                detail: String::new(),
                at: now,
            };
            if depth >= MAX_RULE_CHAIN {
                decision.outcome = "loop_stopped".into();
                decision.detail = format!(
                    "the event is {depth} rule-caused steps deep (limit {MAX_RULE_CHAIN}); \
                     a rule chain is probably re-triggering itself"
                );
                self.state.automation.record_decision(&decision).await?;
                tracing::warn!(rule = %rule.id, lead = %lead_id, depth, "rule loop stopped");
                continue;
            }
            let cause = Cause {
                rule: rule.id.to_string(),
                rule_version: rule.version,
                depth: depth + 1,
            };
            for (index, action) in rule.draft.actions.iter().enumerate() {
                let result = self.act(action, event, lead_id, &cause, index, now).await;
                let outcome = match result {
                    Ok(o) => o,
                    Err(e) => Outcome {
                        outcome: "failed",
                        detail: format!("{e:#}"),
                    },
                };
                decision.action_index = index as u32;
                decision.action = serde_json::to_value(action)?;
                decision.outcome = outcome.outcome.into();
                decision.detail = outcome.detail;
                self.state.automation.record_decision(&decision).await?;
            }
        }
        Ok(())
    }
}

impl RuleEngine {
    async fn act(
        &self,
        action: &Action,
        event: &DomainEvent,
        lead_id: LeadId,
        cause: &Cause,
        index: usize,
        now: Timestamp,
    ) -> anyhow::Result<Outcome> {
        let tenant = &event.tenant;
        let store = &self.state.automation;
        match action {
            Action::StartTimer {
                timer,
                after_hours,
                business_hours,
                restart,
            } => {
                let due_at = self
                    .due_after(tenant, now, *after_hours, *business_hours)
                    .await?;
                let started = store
                    .start_timer(
                        &Timer {
                            id: TimerId::new(),
                            tenant: tenant.clone(),
                            lead: lead_id,
                            name: timer.clone(),
                            due_at,
                            created_at: now,
                            cause: Some(cause.clone()),
                        },
                        *restart,
                    )
                    .await?;
                Ok(if started {
                    done(format!("{timer} due {}", due_at.to_rfc3339()))
                } else {
                    skipped(format!("{timer} is already running"))
                })
            }
            Action::CancelTimers { timers } => {
                let n = store.cancel_timers(tenant, lead_id, timers).await?;
                Ok(if n > 0 {
                    done(format!("cancelled {n}: {}", timers.join(", ")))
                } else {
                    skipped("none running")
                })
            }
            Action::Notify { to, message } => {
                self.notify(event, lead_id, *to, "notice", message, cause, index)
                    .await
            }
            Action::Escalate { message } => {
                self.notify(
                    event,
                    lead_id,
                    Recipient::Manager,
                    "escalation",
                    message,
                    cause,
                    index,
                )
                .await
            }
            Action::Assign { .. }
            | Action::SetPriority { .. }
            | Action::ReturnToPool { .. }
            | Action::AddTag { .. } => self.change_lead(tenant, lead_id, action, cause, now).await,
            Action::CreateTask {
                title,
                due_in_hours,
                business_hours,
            } => {
                let Some(lead) = self.state.leads.get_lead(tenant, lead_id).await? else {
                    return Ok(skipped("the lead no longer exists"));
                };
                let due_at = self
                    .due_after(tenant, now, *due_in_hours, *business_hours)
                    .await?;
                let added = store
                    .add_task(&Task {
                        id: TaskId::new(),
                        tenant: tenant.clone(),
                        lead: lead_id,
                        assignee: lead.owner,
                        title: title.clone(),
                        due_at,
                        done_at: None,
                        created_at: now,
                        rule: Some(cause.rule.clone()),
                        dedupe_key: format!("{}:{}:{index}", event.id, cause.rule),
                    })
                    .await?;
                Ok(if added {
                    done(format!("task \"{title}\" due {}", due_at.to_rfc3339()))
                } else {
                    skipped("task already created")
                })
            }
        }
    }

    /// `hours` after `now`, counting only the tenant's working time when `business_hours`.
    async fn due_after(
        &self,
        tenant: &TenantId,
        now: Timestamp,
        hours: f64,
        business_hours: bool,
    ) -> anyhow::Result<Timestamp> {
        if !business_hours {
            return Ok(now + chrono::Duration::milliseconds((hours * 3_600_000.0) as i64));
        }
        let tenant = self.state.directory.get_tenant(tenant).await?;
        let calendar = tenant.map(|t| t.calendar()).unwrap_or_default();
        Ok(calendar.add_business_hours(now, hours))
    }

    /// Loads the lead, applies a lead-changing action, and stores it with its events; retried
    /// when a person's edit won the version race in between.
    async fn change_lead(
        &self,
        tenant: &TenantId,
        lead_id: LeadId,
        action: &Action,
        cause: &Cause,
        now: Timestamp,
    ) -> anyhow::Result<Outcome> {
        for _ in 0..CHANGE_RETRIES {
            let Some(mut lead) = self.state.leads.get_lead(tenant, lead_id).await? else {
                return Ok(skipped("the lead no longer exists"));
            };
            let expected = lead.version;
            let (outcome, events) = match action {
                Action::Assign {
                    strategy,
                    team,
                    user,
                    only_if_unowned,
                } => {
                    if *only_if_unowned && lead.owner.is_some() {
                        return Ok(skipped("the lead already has an owner"));
                    }
                    let Some(owner) = self.pick_owner(&lead, *strategy, *team, *user).await? else {
                        return Ok(skipped("no active rep to assign to"));
                    };
                    let events = lead.assign_automatically(&owner, cause, now);
                    (
                        done(format!("assigned to {}", owner.email.as_str())),
                        events,
                    )
                }
                Action::SetPriority { priority } => {
                    let events = lead.set_priority_automatically(*priority, cause, now);
                    (done(format!("priority {priority:?}")), events)
                }
                Action::AddTag { tag } => {
                    let events = lead.add_tag_automatically(tag, cause, now);
                    (done(format!("tagged {tag}")), events)
                }
                Action::ReturnToPool { reason } => {
                    let from = lead.owner;
                    match lead.return_to_pool(reason, cause, now) {
                        Ok(events) => (
                            done(format!(
                                "returned to the pool from {}",
                                from.map_or("nobody".into(), |u| u.to_string())
                            )),
                            events,
                        ),
                        Err(e) => return Ok(skipped(e.to_string())),
                    }
                }
                _ => return Ok(skipped("not a lead change")),
            };
            if events.is_empty() {
                return Ok(skipped("nothing to change"));
            }
            match self.state.leads.update_lead(&lead, expected, &events).await {
                Ok(()) => return Ok(outcome),
                Err(StoreError::VersionConflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        anyhow::bail!("the lead kept changing; gave up after {CHANGE_RETRIES} tries")
    }

    /// Active reps (and managers) a rule may hand a lead to.
    async fn candidates(
        &self,
        tenant: &TenantId,
        team: Option<TeamId>,
    ) -> anyhow::Result<Vec<User>> {
        let users = self.state.directory.list_users(tenant).await?;
        Ok(users
            .into_iter()
            .filter(|u| u.active && u.role == Role::Rep)
            .filter(|u| team.is_none() || u.team == team)
            .collect())
    }

    async fn pick_owner(
        &self,
        lead: &Lead,
        strategy: AssignStrategy,
        team: Option<TeamId>,
        user: Option<UserId>,
    ) -> anyhow::Result<Option<User>> {
        let tenant = &lead.tenant;
        let team = team.or(lead.team);
        match strategy {
            AssignStrategy::User => {
                let Some(id) = user else { return Ok(None) };
                Ok(self
                    .state
                    .directory
                    .get_user(tenant, id)
                    .await?
                    .filter(|u| u.active && u.role != Role::Admin))
            }
            AssignStrategy::RoundRobin => {
                let members = self.candidates(tenant, team).await?;
                let ids: Vec<UserId> = members.iter().map(|u| u.id).collect();
                let rotation = team.map_or("tenant".to_string(), |t| format!("team:{t}"));
                let next = self
                    .state
                    .automation
                    .next_in_rotation(tenant, &rotation, &ids)
                    .await?;
                Ok(next.and_then(|id| members.into_iter().find(|u| u.id == id)))
            }
            AssignStrategy::LeastLoaded => {
                let members = self.candidates(tenant, team).await?;
                let mut counts = std::collections::HashMap::new();
                let teams: std::collections::BTreeSet<_> =
                    members.iter().filter_map(|u| u.team).collect();
                for t in teams {
                    counts.extend(self.state.automation.open_lead_counts(tenant, t).await?);
                }
                Ok(members
                    .into_iter()
                    .min_by_key(|u| (counts.get(&u.id).copied().unwrap_or(0), u.id)))
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn notify(
        &self,
        event: &DomainEvent,
        lead_id: LeadId,
        to: Recipient,
        kind: &str,
        message: &str,
        cause: &Cause,
        index: usize,
    ) -> anyhow::Result<Outcome> {
        let tenant = &event.tenant;
        let Some(lead) = self.state.leads.get_lead(tenant, lead_id).await? else {
            return Ok(skipped("the lead no longer exists"));
        };
        let users = self.state.directory.list_users(tenant).await?;
        let recipients: Vec<&User> = match to {
            Recipient::Owner => users.iter().filter(|u| Some(u.id) == lead.owner).collect(),
            Recipient::Manager => users
                .iter()
                .filter(|u| {
                    u.active
                        && u.role == Role::Manager
                        && lead.team.is_some()
                        && u.team == lead.team
                })
                .collect(),
        };
        if recipients.is_empty() {
            return Ok(skipped(format!("no {to:?} to tell").to_lowercase()));
        }
        let mut told = Vec::new();
        for user in recipients {
            let added = self
                .state
                .automation
                .add_notification(&Notification {
                    id: NotificationId::new(),
                    tenant: tenant.clone(),
                    user: user.id,
                    lead: Some(lead_id),
                    kind: kind.to_owned(),
                    message: message.to_owned(),
                    rule: Some(cause.rule.clone()),
                    dedupe_key: format!("{}:{}:{index}", event.id, cause.rule),
                    created_at: self.state.clock.now(),
                })
                .await?;
            if added {
                told.push(user.email.as_str().to_owned());
            }
        }
        Ok(if told.is_empty() {
            skipped("already told")
        } else {
            done(format!("{kind} to {}", told.join(", ")))
        })
    }
}

/// Fires due timers into the outbox; the rules engine takes it from there.
pub struct TimerSweeper {
    state: AppState,
    batch: u32,
}

impl TimerSweeper {
    pub fn new(state: AppState) -> Self {
        Self { state, batch: 500 }
    }

    /// Fires everything due at `now`; returns how many fired.
    pub async fn sweep(&self, now: Timestamp) -> anyhow::Result<usize> {
        let mut total = 0;
        loop {
            let fired = self
                .state
                .automation
                .fire_due_timers(now, self.batch)
                .await?;
            total += fired.len();
            if fired.len() < self.batch as usize {
                return Ok(total);
            }
        }
    }
}

#[async_trait]
impl Job for TimerSweeper {
    fn name(&self) -> &str {
        "timers"
    }

    async fn run(&self, now: Timestamp) -> anyhow::Result<()> {
        let n = self.sweep(now).await?;
        if n > 0 {
            tracing::debug!(fired = n, "timers fired");
        }
        Ok(())
    }
}

/// The seeds' lead policies, as rules a manager can read, change or switch off.
pub fn default_rules() -> Vec<(&'static str, Value)> {
    let open = json!(["new", "contacted", "qualified"]);
    vec![
        (
            "intake-sla-clocks",
            json!({
                "name": "Start the response clocks when a lead arrives: welcome message 1 h, first contact 24 h, activation 72 h, progress 7 days, stale check 7 days",
                "trigger": "lead_created",
                "actions": [
                    {"do": "start_timer", "timer": "welcome", "after_hours": 1},
                    {"do": "start_timer", "timer": "first_contact", "after_hours": 24},
                    {"do": "start_timer", "timer": "activation", "after_hours": 72},
                    {"do": "start_timer", "timer": "no_progress", "after_hours": 168},
                    {"do": "start_timer", "timer": "stale", "after_hours": 168}
                ]
            }),
        ),
        (
            "route-unowned-leads",
            json!({
                "name": "A lead nobody owns goes round-robin to the reps (of its team, else the tenant)",
                "trigger": "lead_created",
                "conditions": {"field": "lead.owner", "op": "missing"},
                "actions": [{"do": "assign", "strategy": "round_robin"}]
            }),
        ),
        (
            "contact-stops-first-contact-clock",
            json!({
                "name": "A call, visit or message is the first contact: stop the welcome and 24 h clocks",
                "trigger": "activity_logged",
                "conditions": {"field": "event.kind", "op": "in", "value": ["call", "visit", "message"]},
                "actions": [{"do": "cancel_timers", "timers": ["welcome", "first_contact"]}]
            }),
        ),
        (
            "conversation-stops-activation-clock",
            json!({
                "name": "A call or visit is a real conversation: stop the 72 h activation clock",
                "trigger": "activity_logged",
                "conditions": {"field": "event.kind", "op": "in", "value": ["call", "visit"]},
                "actions": [{"do": "cancel_timers", "timers": ["activation"]}]
            }),
        ),
        (
            "activity-resets-stale-clock",
            json!({
                "name": "Any follow-up resets the 7-day stale clock and stops a pending return to the pool",
                "trigger": "activity_logged",
                "actions": [
                    {"do": "start_timer", "timer": "stale", "after_hours": 168, "restart": true},
                    {"do": "cancel_timers", "timers": ["pool_return"]}
                ]
            }),
        ),
        (
            "stage-change-resets-stale-clock",
            json!({
                "name": "A status change counts as progress: reset the stale clock",
                "trigger": "lead_status_changed",
                "actions": [
                    {"do": "start_timer", "timer": "stale", "after_hours": 168, "restart": true},
                    {"do": "cancel_timers", "timers": ["pool_return", "no_progress"]}
                ]
            }),
        ),
        (
            "claim-starts-stale-clock",
            json!({
                "name": "A lead claimed from the pool gets a fresh stale clock",
                "trigger": "lead_claimed",
                "actions": [{"do": "start_timer", "timer": "stale", "after_hours": 168, "restart": true}]
            }),
        ),
        (
            "visit-quote-task",
            json!({
                "name": "After a visit, the owner sends the quote within 48 h",
                "trigger": "activity_logged",
                "conditions": {"field": "event.kind", "op": "eq", "value": "visit"},
                "actions": [{"do": "create_task", "title": "拜访后发送报价 / Send the quote after the visit", "due_in_hours": 48}]
            }),
        ),
        (
            "welcome-overdue",
            json!({
                "name": "Welcome message not sent within 1 h: remind the owner",
                "trigger": "timer_fired",
                "conditions": {"field": "event.name", "op": "eq", "value": "welcome"},
                "actions": [{"do": "notify", "to": "owner", "message": "新线索已等待 1 小时，请发送欢迎消息 / Send the welcome message: the lead has waited 1 h"}]
            }),
        ),
        (
            "first-contact-breach",
            json!({
                "name": "No first contact within 24 h: escalate to the manager",
                "trigger": "timer_fired",
                "conditions": {"field": "event.name", "op": "eq", "value": "first_contact"},
                "actions": [
                    {"do": "escalate", "message": "线索 24 小时未联系 / Lead not contacted within 24 h"},
                    {"do": "notify", "to": "owner", "message": "24 小时首次联系已超时 / The 24 h first-contact SLA is breached"}
                ]
            }),
        ),
        (
            "activation-breach",
            json!({
                "name": "No real conversation within 72 h: escalate to the manager",
                "trigger": "timer_fired",
                "conditions": {"field": "event.name", "op": "eq", "value": "activation"},
                "actions": [{"do": "escalate", "message": "线索 72 小时未激活 / Lead not activated within 72 h"}]
            }),
        ),
        (
            "no-progress-reassign",
            json!({
                "name": "7 days without progress: reassign round-robin and tell the manager",
                "trigger": "timer_fired",
                "conditions": {"all": [
                    {"field": "event.name", "op": "eq", "value": "no_progress"},
                    {"field": "lead.status", "op": "in", "value": ["new", "contacted"]},
                    {"field": "lead.in_pool", "op": "eq", "value": false}
                ]},
                "actions": [
                    {"do": "escalate", "message": "线索 7 天无进展，已重新分配 / No progress in 7 days: reassigned"},
                    {"do": "assign", "strategy": "round_robin", "only_if_unowned": false}
                ]
            }),
        ),
        (
            "stale-warning",
            json!({
                "name": "7 days without a logged follow-up: warn owner and manager, return to the pool after 2 more days",
                "trigger": "timer_fired",
                "conditions": {"all": [
                    {"field": "event.name", "op": "eq", "value": "stale"},
                    {"field": "lead.status", "op": "in", "value": open.clone()},
                    {"field": "lead.in_pool", "op": "eq", "value": false}
                ]},
                "actions": [
                    {"do": "notify", "to": "owner", "message": "线索 7 天无跟进，2 天后将退回公海 / No follow-up for 7 days: back to the pool in 2 days"},
                    {"do": "escalate", "message": "线索 7 天无跟进 / Lead stale for 7 days"},
                    {"do": "start_timer", "timer": "pool_return", "after_hours": 48}
                ]
            }),
        ),
        (
            "return-stale-to-pool",
            json!({
                "name": "Still no follow-up after the grace period: return the lead to the pool",
                "trigger": "timer_fired",
                "conditions": {"all": [
                    {"field": "event.name", "op": "eq", "value": "pool_return"},
                    {"field": "lead.status", "op": "in", "value": open}
                ]},
                "actions": [{"do": "return_to_pool", "reason": "no follow-up for 9 days"}]
            }),
        ),
    ]
}

/// Installs the default rules a tenant does not have yet (by id); returns how many.
pub async fn install_default_rules(state: &AppState, tenant: &TenantId) -> anyhow::Result<usize> {
    let existing: std::collections::HashSet<RuleId> = state
        .automation
        .list_rules(tenant)
        .await?
        .into_iter()
        .map(|r| r.id)
        .collect();
    let mut installed = 0;
    for (id, body) in default_rules() {
        let id = RuleId::parse(id)?;
        if existing.contains(&id) {
            continue;
        }
        let draft: RuleDraft = serde_json::from_value(body)?;
        draft.validate()?;
        let rule = Rule {
            id,
            tenant: tenant.clone(),
            version: 1,
            draft,
            changed_by: None,
            changed_at: state.clock.now(),
        };
        match state.automation.save_rule(&rule, None).await {
            Ok(()) => installed += 1,
            Err(StoreError::AlreadyExists(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(installed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_rule_set_is_valid() {
        for (id, body) in default_rules() {
            RuleId::parse(id).unwrap();
            let draft: RuleDraft =
                serde_json::from_value(body).unwrap_or_else(|e| panic!("{id}: {e}"));
            draft.validate().unwrap_or_else(|e| panic!("{id}: {e}"));
        }
    }
}
