use crate::scheduler::EventHandler;
use crate::state::AppState;
use async_trait::async_trait;
use fieldline_domain::rule::{self, AssignStrategy, Evidence, MAX_RULE_CHAIN, Recipient};
use fieldline_domain::{
    Action, Cause, Decision, DecisionOutcome, DomainEvent, FollowUp, Lead, LeadId, Notification,
    NotificationId, Role, Rule, RuleDraft, RuleId, Subject, SubjectKind, Task, TaskId, TeamId,
    TenantId, Timer, TimerId, Timestamp, User, UserId,
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
    outcome: DecisionOutcome,
    detail: String,
}

/// A rule's hours (fractions allowed) as a duration, to the millisecond.
fn duration_of(hours: f64) -> chrono::Duration {
    chrono::Duration::milliseconds((hours * 3_600_000.0) as i64)
}

fn done(detail: impl Into<String>) -> Outcome {
    Outcome {
        outcome: DecisionOutcome::Done,
        detail: detail.into(),
    }
}

fn skipped(detail: impl Into<String>) -> Outcome {
    Outcome {
        outcome: DecisionOutcome::Skipped,
        detail: detail.into(),
    }
}

/// What the engine needs of the record an event is about: its fields for conditions, and
/// whose it is (for tasks and messages).
pub struct SubjectView {
    pub fields: Value,
    pub owner: Option<UserId>,
    pub team: Option<TeamId>,
}

/// Loads the subject as rules see it; `None` when it no longer exists (or its kind has no
/// store yet). Each record type adds its arm here.
pub async fn load_subject(
    state: &AppState,
    tenant: &TenantId,
    subject: Subject,
) -> anyhow::Result<Option<SubjectView>> {
    Ok(match subject {
        Subject::Lead(id) => state
            .leads
            .get_lead(tenant, id)
            .await?
            .map(|lead| SubjectView {
                owner: lead.owner,
                team: lead.team,
                fields: serde_json::to_value(&lead).unwrap_or(Value::Null),
            }),
        Subject::Upload(id) => state
            .uploads
            .get_upload(tenant, id)
            .await?
            .map(|up| SubjectView {
                owner: Some(up.created_by),
                team: None,
                fields: serde_json::to_value(&up).unwrap_or(Value::Null),
            }),
        Subject::Deal(id) => state
            .deals
            .get_deal(tenant, id)
            .await?
            .map(|deal| SubjectView {
                owner: Some(deal.owner),
                team: deal.team,
                fields: serde_json::to_value(&deal).unwrap_or(Value::Null),
            }),
        Subject::Customer(id) => match state.customers.get_customer(tenant, id).await? {
            Some(customer) => {
                let policy = state
                    .directory
                    .get_tenant(tenant)
                    .await?
                    .map(|t| t.retail_policy())
                    .unwrap_or_default();
                let mut fields = serde_json::to_value(&customer).unwrap_or(Value::Null);
                if let Value::Object(map) = &mut fields {
                    let key_store = policy.is_key_store(&customer);
                    map.insert("key_store".into(), Value::Bool(key_store));
                }
                Some(SubjectView {
                    owner: Some(customer.owner),
                    team: customer.team,
                    fields,
                })
            }
            None => None,
        },
        Subject::Order(id) => state
            .orders
            .get_order(tenant, id)
            .await?
            .map(|order| SubjectView {
                owner: Some(order.owner),
                team: order.team,
                fields: serde_json::to_value(&order).unwrap_or(Value::Null),
            }),
        Subject::Visit(_) => None,
    })
}

/// The JSON rules look at: the event (its payload plus type, actor and time) and the subject
/// under its kind's name (`{"event": …, "lead": …}`).
pub fn rule_context(event: &DomainEvent, subject: &Value) -> Value {
    let mut payload = serde_json::to_value(&event.payload).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut payload {
        map.insert("actor".into(), json!(event.actor));
        map.insert("occurred_at".into(), json!(event.occurred_at));
        map.insert("automatic".into(), json!(event.cause.is_some()));
    }
    let mut context = serde_json::Map::new();
    context.insert("event".into(), payload);
    context.insert(event.subject.kind().as_str().into(), subject.clone());
    Value::Object(context)
}

#[async_trait]
impl EventHandler for RuleEngine {
    fn name(&self) -> &str {
        "rules"
    }

    #[tracing::instrument(name = "rules", skip_all, fields(event = %stored.event.id, subject = %stored.event.subject))]
    async fn handle(&self, stored: &StoredEvent) -> anyhow::Result<()> {
        let event = &stored.event;
        let subject_kind: SubjectKind = event.subject.kind();
        let trigger = event.kind();
        let mut rules: Vec<Rule> = self
            .state
            .rules
            .list_rules(&event.tenant)
            .await?
            .into_iter()
            .filter(|r| {
                r.draft.enabled && r.draft.subject == subject_kind && r.draft.trigger == trigger
            })
            .collect();
        rules.sort_by(|a, b| (a.draft.order, &a.id).cmp(&(b.draft.order, &b.id)));
        if rules.is_empty() {
            return Ok(());
        }
        let Some(view) = load_subject(&self.state, &event.tenant, event.subject).await? else {
            return Ok(());
        };
        let depth = event.cause.as_ref().map_or(0, |c| c.depth);
        let now = self.state.clock.now();
        let context = rule_context(event, &view.fields);
        for rule in rules {
            let Some(evidence) = rule::evaluate(&rule.draft.conditions, &context, now) else {
                continue;
            };
            let mut decision = Decision {
                tenant: event.tenant.clone(),
                rule: rule.id.clone(),
                rule_version: rule.version,
                event: event.id,
                trigger,
                subject: event.subject,
                action_index: 0,
                action: Value::Null,
                evidence,
                outcome: DecisionOutcome::Skipped,
                detail: String::new(),
                at: now,
            };
            if depth >= MAX_RULE_CHAIN {
                decision.outcome = DecisionOutcome::LoopStopped;
                decision.detail = format!(
                    "the event is {depth} rule-caused steps deep (limit {MAX_RULE_CHAIN}); \
                     a rule chain is probably re-triggering itself"
                );
                self.state.decisions.record_decision(&decision).await?;
                tracing::warn!(rule = %rule.id, subject = %event.subject, depth, "rule loop stopped");
                continue;
            }
            let cause = Cause {
                rule: rule.id.to_string(),
                rule_version: rule.version,
                depth: depth + 1,
            };
            let why = reason(&rule.draft.name, &decision.evidence);
            for (index, action) in rule.draft.actions.iter().enumerate() {
                // A task whose rule words its reason shows that sentence, filled in.
                let why = match action {
                    Action::CreateTask {
                        why: Some(sentence),
                        ..
                    } => rule::render_why(sentence, &context),
                    _ => why.clone(),
                };
                let result = self.act(action, event, &cause, &why, index, now).await;
                let outcome = match result {
                    Ok(o) => o,
                    Err(e) => Outcome {
                        outcome: DecisionOutcome::Failed,
                        detail: format!("{e:#}"),
                    },
                };
                decision.action_index = index as u32;
                decision.action = serde_json::to_value(action)?;
                decision.outcome = outcome.outcome;
                decision.detail = outcome.detail;
                self.state.decisions.record_decision(&decision).await?;
            }
        }
        Ok(())
    }
}

/// A task's "why" when its rule words none: the rule's name, then the values its conditions
/// matched (`lead.priority = S · lead.source = website`); just the name for a rule without
/// conditions.
fn reason(name: &str, evidence: &[Evidence]) -> String {
    let mut why = name.trim().to_owned();
    for e in evidence.iter().take(4) {
        let actual = match &e.actual {
            Value::String(s) => s.clone(),
            Value::Null => "—".to_owned(),
            other => other.to_string(),
        };
        why.push_str(&format!(" · {} = {actual}", e.field));
    }
    why
}

impl RuleEngine {
    async fn act(
        &self,
        action: &Action,
        event: &DomainEvent,
        cause: &Cause,
        why: &str,
        index: usize,
        now: Timestamp,
    ) -> anyhow::Result<Outcome> {
        let tenant = &event.tenant;
        let subject = event.subject;
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
                let started = self
                    .state
                    .timers
                    .start_timer(
                        &Timer {
                            id: TimerId::new(),
                            tenant: tenant.clone(),
                            subject,
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
                let n = self
                    .state
                    .timers
                    .cancel_timers(tenant, subject, timers)
                    .await?;
                Ok(if n > 0 {
                    done(format!("cancelled {n}: {}", timers.join(", ")))
                } else {
                    skipped("none running")
                })
            }
            Action::Notify { to, message } => {
                self.notify(event, *to, "notice", message, cause, index)
                    .await
            }
            Action::Escalate { message } => {
                self.notify(
                    event,
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
            | Action::AddTag { .. } => match subject {
                Subject::Lead(lead_id) => {
                    self.change_lead(tenant, lead_id, action, cause, now).await
                }
                other => Ok(skipped(format!("{} is not a lead", other.kind()))),
            },
            Action::CreateTask {
                title,
                due_in_hours,
                business_hours,
                remind_before_hours,
                escalate_after_hours,
                // Already rendered into `why` by the caller.
                why: _,
            } => {
                let Some(view) = load_subject(&self.state, tenant, subject).await? else {
                    return Ok(skipped(format!("the {} no longer exists", subject.kind())));
                };
                let due_at = self
                    .due_after(tenant, now, *due_in_hours, *business_hours)
                    .await?;
                let task = Task {
                    id: TaskId::new(),
                    tenant: tenant.clone(),
                    subject,
                    assignee: view.owner,
                    title: title.clone(),
                    due_at,
                    done_at: None,
                    created_at: now,
                    rule: Some(cause.rule.clone()),
                    dedupe_key: format!("{}:{}:{index}", event.id, cause.rule),
                    outcome: None,
                    review: None,
                    remind_at: remind_before_hours.map(|h| (due_at - duration_of(h)).max(now)),
                    escalate_at: escalate_after_hours.map(|h| due_at + duration_of(h)),
                    why: Some(why.to_owned()),
                };
                let added = self.state.tasks.add_task(&task).await?;
                if added {
                    self.start_follow_ups(&task, cause, now).await?;
                }
                Ok(if added {
                    done(format!("task \"{title}\" due {}", due_at.to_rfc3339()))
                } else {
                    skipped("task already created")
                })
            }
        }
    }

    /// The task's reminder and escalation clocks, as durable timers on its subject.
    async fn start_follow_ups(
        &self,
        task: &Task,
        cause: &Cause,
        now: Timestamp,
    ) -> anyhow::Result<()> {
        let clocks = [
            (FollowUp::Reminder, task.remind_at),
            (FollowUp::Escalation, task.escalate_at),
        ];
        for (what, due_at) in clocks {
            let Some(due_at) = due_at else { continue };
            let timer = Timer {
                id: TimerId::new(),
                tenant: task.tenant.clone(),
                subject: task.subject,
                name: what.timer_name(task.id),
                due_at,
                created_at: now,
                cause: Some(cause.clone()),
            };
            self.state.timers.start_timer(&timer, false).await?;
        }
        Ok(())
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
            return Ok(now + duration_of(hours));
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
                    .filter(|u| u.active && u.role.sells()))
            }
            AssignStrategy::RoundRobin => {
                let members = self.candidates(tenant, team).await?;
                let ids: Vec<UserId> = members.iter().map(|u| u.id).collect();
                let rotation = team.map_or("tenant".to_string(), |t| format!("team:{t}"));
                let next = self
                    .state
                    .assignment
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
                    counts.extend(self.state.assignment.open_lead_counts(tenant, t).await?);
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
        to: Recipient,
        kind: &str,
        message: &str,
        cause: &Cause,
        index: usize,
    ) -> anyhow::Result<Outcome> {
        let tenant = &event.tenant;
        let Some(view) = load_subject(&self.state, tenant, event.subject).await? else {
            return Ok(skipped(format!(
                "the {} no longer exists",
                event.subject.kind()
            )));
        };
        let users = self.state.directory.list_users(tenant).await?;
        // A subject without a team of its own (an upload) is its owner's team's.
        let team = view.team.or_else(|| {
            users
                .iter()
                .find(|u| Some(u.id) == view.owner)
                .and_then(|u| u.team)
        });
        let recipients: Vec<&User> = match to {
            Recipient::Owner => users.iter().filter(|u| Some(u.id) == view.owner).collect(),
            Recipient::Manager => users.iter().filter(|u| u.manages(team)).collect(),
            Recipient::Admins => users
                .iter()
                .filter(|u| u.active && u.role == fieldline_domain::Role::Admin)
                .collect(),
            Recipient::Warehouse => {
                let policy = self
                    .state
                    .directory
                    .get_tenant(tenant)
                    .await?
                    .and_then(|t| t.orders)
                    .unwrap_or_default();
                let staff: Vec<&User> = users
                    .iter()
                    .filter(|u| u.active && policy.on_warehouse_duty(u.id, u.role))
                    .collect();
                if staff.is_empty() {
                    users.iter().filter(|u| u.manages(team)).collect()
                } else {
                    staff
                }
            }
        };
        let message = fill(message, &view.fields);
        if recipients.is_empty() {
            return Ok(skipped(format!("no {to:?} to tell").to_lowercase()));
        }
        let mut told = Vec::new();
        for user in recipients {
            let added = self
                .state
                .inbox
                .add_notification(&Notification {
                    id: NotificationId::new(),
                    tenant: tenant.clone(),
                    user: user.id,
                    subject: Some(event.subject),
                    kind: kind.to_owned(),
                    message: message.clone(),
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

/// A notice's text with `{field}` replaced by the subject's top-level text or number field of
/// that name (`{delivery_address}` on an order); unknown names are left as written.
fn fill(message: &str, fields: &Value) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let name_end = after.find('}');
        let value = name_end
            .map(|end| &after[..end])
            .filter(|name| {
                !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
            })
            .and_then(|name| match fields.get(name)? {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            });
        match (value, name_end) {
            (Some(v), Some(end)) => {
                out.push_str(&v);
                rest = &after[end + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The seeds' lead policies, as rules a manager can read, change or switch off. Kept as data
/// in `functions/app/rules/`, one file per subject, checked by the tests below.
pub fn default_rules() -> Vec<(String, Value)> {
    const FILES: &[&str] = &[
        include_str!("../../rules/lead.json"),
        include_str!("../../rules/deal.json"),
        include_str!("../../rules/customer.json"),
        include_str!("../../rules/order.json"),
    ];
    #[derive(serde::Deserialize)]
    struct Entry {
        id: String,
        rule: Value,
    }
    FILES
        .iter()
        .flat_map(|text| {
            serde_json::from_str::<Vec<Entry>>(text).expect("the shipped rule files are valid JSON")
        })
        .map(|e| (e.id, e.rule))
        .collect()
}

/// Installs the default rules a tenant does not have yet (by id); returns how many.
pub async fn install_default_rules(state: &AppState, tenant: &TenantId) -> anyhow::Result<usize> {
    let existing: std::collections::HashSet<RuleId> = state
        .rules
        .list_rules(tenant)
        .await?
        .into_iter()
        .map(|r| r.id)
        .collect();
    let mut installed = 0;
    for (id, body) in default_rules() {
        let id = RuleId::parse(&id)?;
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
        match state.rules.save_rule(&rule, None).await {
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
    fn notices_fill_in_the_subjects_fields() {
        let order = serde_json::json!({"delivery_address": "苏州星湖街 328 号", "total": 1200,
            "lines": [1]});
        assert_eq!(
            fill("送货地址：{delivery_address}（{total}）", &order),
            "送货地址：苏州星湖街 328 号（1200）"
        );
        // Unknown names, lists, stray and empty braces stay as written.
        assert_eq!(
            fill("{nope} {lines} {} {Delivery_address} {total", &order),
            "{nope} {lines} {} {Delivery_address} {total"
        );
    }

    #[test]
    fn the_default_rule_set_is_valid() {
        for (id, body) in default_rules() {
            RuleId::parse(&id).unwrap();
            let draft: RuleDraft =
                serde_json::from_value(body).unwrap_or_else(|e| panic!("{id}: {e}"));
            draft.validate().unwrap_or_else(|e| panic!("{id}: {e}"));
        }
    }
}
