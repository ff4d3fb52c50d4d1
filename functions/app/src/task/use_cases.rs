use crate::error::AppError;
use crate::state::AppState;
use fieldline_domain::task::review_sample;
use fieldline_domain::{Actor, FollowUp, LeadScope, Permission, Task, TaskId, UserId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Stores a task made by the system (not a rule) and starts its reminder and escalation
/// clocks. Safe to repeat: the task is kept once by its de-duplication key, and a timer
/// already pending is left alone (a repeated notification is deduplicated by the inbox).
pub(crate) async fn add_with_follow_ups(state: &AppState, task: &Task) -> Result<bool, AppError> {
    let added = state.tasks.add_task(task).await?;
    let clocks = [
        (FollowUp::Reminder, task.remind_at),
        (FollowUp::Escalation, task.escalate_at),
    ];
    for (what, due_at) in clocks {
        let Some(due_at) = due_at else { continue };
        let timer = fieldline_domain::Timer {
            id: fieldline_domain::TimerId::new(),
            tenant: task.tenant.clone(),
            subject: task.subject,
            name: what.timer_name(task.id),
            due_at,
            created_at: task.created_at,
            cause: None,
        };
        state.timers.start_timer(&timer, false).await?;
    }
    Ok(added)
}

/// Your tasks: open ones by due time, then done ones.
#[tracing::instrument(name = "task.my_tasks", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn my_tasks(state: &AppState, actor: &Actor) -> Result<Vec<Task>, AppError> {
    Ok(state
        .tasks
        .list_tasks(&actor.tenant, actor.user, 500)
        .await?)
}

/// What completing a task may say.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteRequest {
    /// What came of it ("客户同意下周签约"); at most 1000 characters.
    #[serde(default)]
    #[schema(max_length = 1000)]
    pub outcome: Option<String>,
}

/// Marks one of your tasks done (completing it twice changes nothing).
#[tracing::instrument(name = "task.complete_task", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn complete_task(
    state: &AppState,
    actor: &Actor,
    id: TaskId,
    req: CompleteRequest,
) -> Result<Task, AppError> {
    let mut task = load(state, actor, id).await?;
    if task.complete(actor, req.outcome.as_deref(), state.clock.now())? {
        state.tasks.update_task(&task).await?;
        // Done: its reminder and escalation have nothing left to say.
        let clocks = [FollowUp::Reminder, FollowUp::Escalation].map(|f| f.timer_name(task.id));
        state
            .timers
            .cancel_timers(&task.tenant, task.subject, &clocks)
            .await?;
    }
    Ok(task)
}

async fn load(state: &AppState, actor: &Actor, id: TaskId) -> Result<Task, AppError> {
    state
        .tasks
        .get_task(&actor.tenant, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("task {id} not found")))
}

/// One rep's sample in a manager's review queue.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RepSample {
    pub rep: UserId,
    /// Tasks the rep completed that week.
    pub completed: u64,
    /// The sample to score, each within 24 h of its completion.
    pub tasks: Vec<ReviewItem>,
}

/// How long a manager has to score a sampled task, from its completion.
pub const REVIEW_WINDOW_HOURS: i64 = 24;

/// A sampled task with its scoring deadline.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReviewItem {
    #[serde(flatten)]
    pub task: Task,
    /// `done_at` + 24 h.
    pub review_due_at: chrono::DateTime<chrono::Utc>,
    /// Not scored and past `review_due_at`.
    pub review_overdue: bool,
}

/// Parses an ISO week (`2026-W48`) into its Monday-to-Monday bounds in UTC.
fn week_bounds(
    week: &str,
) -> Option<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)> {
    let (year, w) = week.split_once("-W")?;
    let monday = chrono::NaiveDate::from_isoywd_opt(
        year.parse().ok()?,
        w.parse().ok()?,
        chrono::Weekday::Mon,
    )?;
    let start = monday.and_hms_opt(0, 0, 0)?.and_utc();
    Some((start, start + chrono::Duration::days(7)))
}

/// The review queue for a week: per rep in the caller's scope (a manager's team, an admin's
/// tenant), the reproducible 5 % sample of the tasks they completed that week.
#[tracing::instrument(name = "task.review_queue", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn review_queue(
    state: &AppState,
    actor: &Actor,
    week: &str,
) -> Result<Vec<RepSample>, AppError> {
    actor.check(Permission::ReadReviewQueue)?;
    let (from, to) = week_bounds(week).ok_or_else(|| {
        AppError::rejected("invalid_query", "week must be an ISO week such as 2026-W48")
    })?;
    let users = state.directory.list_users(&actor.tenant).await?;
    let reps = users.iter().filter(|u| {
        u.role.sells()
            && u.id != actor.user
            && match actor.lead_scope() {
                LeadScope::Tenant => true,
                LeadScope::Team(team) => u.team == Some(team),
                LeadScope::Owner(_) | LeadScope::Pool => false,
            }
    });
    let mut queue = Vec::new();
    for rep in reps {
        let done: Vec<Task> = state
            .tasks
            .list_tasks(&actor.tenant, rep.id, 1000)
            .await?
            .into_iter()
            .filter(|t| t.done_at.is_some_and(|d| d >= from && d < to))
            .collect();
        if done.is_empty() {
            continue;
        }
        let now = state.clock.now();
        let tasks = review_sample(week, rep.id, &done)
            .into_iter()
            .map(|task| {
                let done_at = task.done_at.expect("sampled from completed tasks");
                let review_due_at = done_at + chrono::Duration::hours(REVIEW_WINDOW_HOURS);
                ReviewItem {
                    review_overdue: task.review.is_none() && now > review_due_at,
                    review_due_at,
                    task,
                }
            })
            .collect();
        queue.push(RepSample {
            rep: rep.id,
            completed: done.len() as u64,
            tasks,
        });
    }
    Ok(queue)
}

/// A manager's score of a completed task.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    #[schema(minimum = 1, maximum = 5)]
    pub score: u8,
    #[serde(default)]
    #[schema(max_length = 1000)]
    pub note: Option<String>,
}

#[tracing::instrument(name = "task.review_task", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn review_task(
    state: &AppState,
    actor: &Actor,
    id: TaskId,
    req: ReviewRequest,
) -> Result<Task, AppError> {
    let mut task = load(state, actor, id).await?;
    let assignee_team = match task.assignee {
        Some(user) => state
            .directory
            .get_user(&actor.tenant, user)
            .await?
            .and_then(|u| u.team),
        None => None,
    };
    task.review(
        actor,
        assignee_team,
        req.score,
        req.note.as_deref(),
        state.clock.now(),
    )?;
    state.tasks.update_task(&task).await?;
    Ok(task)
}
