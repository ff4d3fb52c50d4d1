//! Grading customers from their records: the current month's grade is recomputed whenever an
//! input changes (an activity on the customer or one of its deals, a contact, a purchase —
//! each an outbox event), and a durable timer per customer closes each month at its end in
//! the tenant's zone. Closing writes the
//! month's final grade, opens the next month's, and applies the default rules: a valuable
//! customer quiet for `quiet_months` in a row gets one 关系加固 task per quiet streak, and a
//! grade that falls a class tells the owner why. Everything is keyed (month, streak, class),
//! so a redelivered event or a re-fired timer changes nothing twice.

use crate::error::AppError;
use crate::scheduler::EventHandler;
use crate::state::AppState;
use async_trait::async_trait;
use chrono::Duration;
use fieldline_domain::{
    Customer, CustomerId, EventPayload, Grade, GradePolicy, GradeSnapshot, Month, Notification,
    NotificationId, Subject, Task, TaskId, Tenant, TenantId, Timer, TimerId, Timestamp,
};
use fieldline_store::{CustomerFile, StoredEvent};

/// The timer that closes a customer's month.
pub const MONTH_CLOSE: &str = "grade_month_close";
/// The default rule's name on the tasks and notices it makes.
pub const RELATIONSHIP_RULE: &str = "relationship_reinforcement";
pub const GRADE_DROP_RULE: &str = "grade_drop";

/// A live customer with everything its grades are made from, read in one store call that
/// covers every `as_of` from `from` on (the windows of later instants start later).
async fn read_file(
    state: &AppState,
    policy: &GradePolicy,
    tenant: &TenantId,
    id: CustomerId,
    from: Timestamp,
) -> Result<Option<CustomerFile>, AppError> {
    let days = |d: u32| Duration::days(i64::from(d));
    let touch_days = policy
        .interaction_window_days
        .max(policy.coverage_window_days);
    let file = state
        .customers
        .customer_file(
            tenant,
            id,
            from - days(touch_days),
            from - days(policy.value_window_days),
        )
        .await?;
    Ok(file.filter(|f| f.customer.merged_into.is_none()))
}

fn grade_of(file: &CustomerFile, policy: &GradePolicy, as_of: Timestamp) -> Grade {
    let tally = policy.tally(as_of, &file.purchases, &file.activities, &file.contacts);
    policy.grade(&tally, as_of)
}

/// The customer's grade as of `as_of`, from its stored purchases, activities and contacts.
pub async fn grade_at(
    state: &AppState,
    policy: &GradePolicy,
    customer: &Customer,
    as_of: Timestamp,
) -> Result<Grade, AppError> {
    let file = read_file(state, policy, &customer.tenant, customer.id, as_of)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("customer {} not found", customer.id)))?;
    Ok(grade_of(&file, policy, as_of))
}

/// Starts the timer that closes the customer's current month (kept if one is pending).
pub async fn schedule_month_close(
    state: &AppState,
    tenant: &Tenant,
    customer: CustomerId,
    now: Timestamp,
) -> Result<(), AppError> {
    let next = Month::of(now, tenant.zone()).next().start(tenant.zone());
    let timer = Timer {
        id: TimerId::new(),
        tenant: tenant.id.clone(),
        subject: Subject::Customer(customer),
        name: MONTH_CLOSE.into(),
        due_at: next,
        created_at: now,
        cause: None,
    };
    state.timers.start_timer(&timer, false).await?;
    Ok(())
}

/// Regrades the customer now and stores it as the current month's grade.
pub async fn regrade(
    state: &AppState,
    tenant: &Tenant,
    id: CustomerId,
) -> Result<Option<GradeSnapshot>, AppError> {
    let policy = tenant.grade_policy();
    let now = state.clock.now();
    let Some(file) = read_file(state, &policy, &tenant.id, id, now).await? else {
        return Ok(None);
    };
    let month = Month::of(now, tenant.zone());
    // A closed month is final; an event handled late (at-least-once delivery, a slow
    // stream) must not reopen it.
    if file.grades.iter().any(|s| s.closed && s.month >= month) {
        return Ok(None);
    }
    let grade = grade_of(&file, &policy, now);
    let previous = file.grades.iter().rev().find(|s| s.month < month);
    let snapshot = GradeSnapshot {
        tenant: tenant.id.clone(),
        customer: id,
        month,
        quiet_since: policy.quiet_since(month, &grade, previous),
        grade,
        closed: false,
        owner: Some(file.customer.owner),
        team: file.customer.team,
    };
    state.customers.save_grade(&snapshot).await?;
    notify_drop(state, &file.customer, file.grades.last(), &snapshot).await?;
    schedule_month_close(state, tenant, id, now).await?;
    Ok(Some(snapshot))
}

/// Closes `month` for the customer: its final grade (as of the month's last instant), the
/// next month's first, the quiet-streak task, and the next timer.
pub async fn close_month(
    state: &AppState,
    tenant: &Tenant,
    id: CustomerId,
    month: Month,
) -> Result<(), AppError> {
    let policy = tenant.grade_policy();
    let zone = tenant.zone();
    let end = month.end(zone);
    let Some(file) = read_file(state, &policy, &tenant.id, id, end).await? else {
        return Ok(());
    };
    let customer = &file.customer;
    let previous = file.grades.iter().rev().find(|s| s.month < month);
    let grade = grade_of(&file, &policy, end);
    let quiet_since = policy.quiet_since(month, &grade, previous);
    let closed = GradeSnapshot {
        tenant: tenant.id.clone(),
        customer: id,
        month,
        grade,
        closed: true,
        owner: Some(customer.owner),
        team: customer.team,
        quiet_since,
    };
    state.customers.save_grade(&closed).await?;
    notify_drop(state, customer, previous, &closed).await?;
    if let Some(since) = quiet_since.filter(|s| policy.streak_is_long(*s, month)) {
        relationship_task(state, customer, since, month).await?;
    }
    // The month now running gets its first grade even if nothing happens in it.
    let now = state.clock.now();
    let current = Month::of(now, zone);
    if current > month {
        let grade = grade_of(&file, &policy, now.max(end));
        let opening = GradeSnapshot {
            tenant: tenant.id.clone(),
            customer: id,
            month: current,
            quiet_since: policy.quiet_since(current, &grade, Some(&closed)),
            grade,
            closed: false,
            owner: Some(customer.owner),
            team: customer.team,
        };
        state.customers.save_grade(&opening).await?;
    }
    schedule_month_close(state, tenant, id, now).await
}

/// The seeds' 关系加固 task, once per quiet streak; the owner's manager is told too.
async fn relationship_task(
    state: &AppState,
    customer: &Customer,
    streak_start: Month,
    month: Month,
) -> Result<(), AppError> {
    let now = state.clock.now();
    let task = Task {
        id: TaskId::new(),
        tenant: customer.tenant.clone(),
        subject: Subject::Customer(customer.id),
        assignee: Some(customer.owner),
        title: format!(
            "关系加固：{name} 价值高但互动连续偏低（自 {streak_start} 起）——发送技术白皮书，约工程师联合拜访 / \
             Strengthen the relationship with {name}: high value, low interaction since {streak_start} — \
             send the technical white paper, book a joint visit with an engineer",
            name = customer.name.as_str()
        ),
        due_at: now + Duration::days(7),
        done_at: None,
        created_at: now,
        rule: Some(RELATIONSHIP_RULE.into()),
        dedupe_key: format!("{RELATIONSHIP_RULE}:{}:{streak_start}", customer.id),
        outcome: None,
        review: None,
        remind_at: None,
        escalate_at: None,
        why: None,
    };
    if !state.tasks.add_task(&task).await? {
        return Ok(());
    }
    let users = state.directory.list_users(&customer.tenant).await?;
    for manager in users.iter().filter(|u| u.manages(customer.team)) {
        state
            .inbox
            .add_notification(&Notification {
                id: NotificationId::new(),
                tenant: customer.tenant.clone(),
                user: manager.id,
                subject: Some(Subject::Customer(customer.id)),
                kind: "notice".into(),
                message: format!(
                    "团队客户 {} 需要关系加固（{month} 月仍互动偏低），已给负责人建任务 / {} needs relationship work; a task went to its owner",
                    customer.name.as_str(),
                    customer.name.as_str()
                ),
                rule: Some(RELATIONSHIP_RULE.into()),
                dedupe_key: task.dedupe_key.clone(),
                created_at: now,
            })
            .await?;
    }
    Ok(())
}

/// Tells the owner when the grade fell a class, with the dimensions that fell; once per
/// month and class reached.
async fn notify_drop(
    state: &AppState,
    customer: &Customer,
    before: Option<&GradeSnapshot>,
    after: &GradeSnapshot,
) -> Result<(), AppError> {
    let Some(before) = before else {
        return Ok(());
    };
    if after.grade.class.rank() <= before.grade.class.rank() {
        return Ok(());
    }
    state
        .inbox
        .add_notification(&Notification {
            id: NotificationId::new(),
            tenant: customer.tenant.clone(),
            user: customer.owner,
            subject: Some(Subject::Customer(customer.id)),
            kind: "notice".into(),
            message: format!(
                "{}：{}",
                customer.name.as_str(),
                after.grade.drop_reason(&before.grade)
            ),
            rule: Some(GRADE_DROP_RULE.into()),
            dedupe_key: format!(
                "{GRADE_DROP_RULE}:{}:{}:{}",
                customer.id,
                after.month,
                after.grade.class.as_str()
            ),
            created_at: state.clock.now(),
        })
        .await?;
    Ok(())
}

/// Reacts to the events that change a grade's inputs, and to the month-close timer.
pub struct CustomerGrading {
    state: AppState,
}

impl CustomerGrading {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

#[async_trait]
impl EventHandler for CustomerGrading {
    fn name(&self) -> &str {
        "customer_grading"
    }

    #[tracing::instrument(name = "customer_grading", skip_all, fields(event = %stored.event.id))]
    async fn handle(&self, stored: &StoredEvent) -> anyhow::Result<()> {
        let event = &stored.event;
        let id = match (event.subject, &event.payload) {
            (Subject::Customer(id), _) => id,
            // A call or visit logged on a deal is interaction with the deal's customer.
            (Subject::Deal(deal), EventPayload::ActivityLogged { .. }) => {
                match self.state.deals.get_deal(&event.tenant, deal).await? {
                    Some(d) => d.customer,
                    None => return Ok(()),
                }
            }
            _ => return Ok(()),
        };
        let tenant = crate::lead::load_tenant(&self.state, &event.tenant).await?;
        match &event.payload {
            EventPayload::ActivityLogged { .. }
            | EventPayload::ContactAdded { .. }
            | EventPayload::ContactUpdated { .. }
            | EventPayload::PurchaseRecorded { .. } => {
                regrade(&self.state, &tenant, id).await?;
            }
            EventPayload::CustomerMerged { duplicate } => {
                // Whatever the merge could not move in its own write moves now.
                self.state
                    .customers
                    .finish_merge(&tenant.id, *duplicate)
                    .await?;
                regrade(&self.state, &tenant, id).await?;
            }
            EventPayload::TimerFired { name, due_at, .. } if name == MONTH_CLOSE => {
                let month = Month::of(*due_at - Duration::milliseconds(1), tenant.zone());
                close_month(&self.state, &tenant, id, month).await?;
            }
            _ => {}
        }
        Ok(())
    }
}
