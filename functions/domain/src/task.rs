//! Tasks: what a rep must do next, with a due time. Rules create them from events ("after a
//! visit, send the quote within 48 h"); the rep completes them.

use crate::access::{Actor, Permission};
use crate::error::DomainError;
use crate::id::{TaskId, TenantId, UserId};
use crate::subject::Subject;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Task {
    pub id: TaskId,
    pub tenant: TenantId,
    /// What the task is about; serialised as its kind's key (`"lead": "0193…"`).
    #[serde(flatten)]
    pub subject: Subject,
    /// The subject's owner when the task was made; `None` for a pooled lead.
    pub assignee: Option<UserId>,
    pub title: String,
    pub due_at: chrono::DateTime<chrono::Utc>,
    pub done_at: Option<chrono::DateTime<chrono::Utc>>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// The rule that made it.
    pub rule: Option<String>,
    /// One task per (event, rule, action): a redelivered event makes no second task.
    pub dedupe_key: String,
    /// What came of it, in the rep's words (given on completion).
    #[serde(default)]
    pub outcome: Option<String>,
    /// A manager's score from the weekly review sample.
    #[serde(default)]
    pub review: Option<TaskReview>,
    /// When the assignee is reminded, if the task is still open then.
    #[serde(default)]
    pub remind_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When the assignee's manager is told, if the task is still open then.
    #[serde(default)]
    pub escalate_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Why it exists, for the rep's list: the rule's name and the values that made it act
    /// (`VIP 线索当天跟进 · lead.priority = S`). Tasks from before it was kept have none.
    #[serde(default)]
    pub why: Option<String>,
}

/// What a task's timer is for; its timer is named `task_<what>:<task id>` on the task's
/// subject, so the timer store keeps it durable like every other clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowUp {
    Reminder,
    Escalation,
}

impl FollowUp {
    pub fn timer_name(self, task: TaskId) -> String {
        match self {
            FollowUp::Reminder => format!("task_reminder:{task}"),
            FollowUp::Escalation => format!("task_escalation:{task}"),
        }
    }

    /// The follow-up and task a timer name stands for, if it is one.
    pub fn of_timer(name: &str) -> Option<(FollowUp, TaskId)> {
        let (what, id) = name.split_once(':')?;
        let follow_up = match what {
            "task_reminder" => FollowUp::Reminder,
            "task_escalation" => FollowUp::Escalation,
            _ => return None,
        };
        Some((follow_up, id.parse().ok()?))
    }
}

/// A manager's score of a completed task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskReview {
    /// 1 (poor) to 5 (exemplary).
    pub score: u8,
    pub note: Option<String>,
    pub by: UserId,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// The share of each rep's completed tasks a manager reviews.
pub const REVIEW_SHARE: f64 = 0.05;

/// A rep's review sample for a week: the `ceil(5 %)` of their tasks completed that week that
/// rank first by sha256(week, rep, task). Random in effect, fair (every task has the same
/// chance), and re-derivable by anyone from the same three values; a task keeps its rank when
/// others are added.
pub fn review_sample(week: &str, rep: UserId, done: &[Task]) -> Vec<Task> {
    use sha2::{Digest, Sha256};
    let wanted = (done.len() as f64 * REVIEW_SHARE).ceil() as usize;
    let mut ranked: Vec<([u8; 32], &Task)> = done
        .iter()
        .map(|t| {
            let digest = Sha256::digest(format!("{week}|{rep}|{}", t.id));
            (digest.into(), t)
        })
        .collect();
    ranked.sort_by_key(|(digest, _)| *digest);
    ranked
        .into_iter()
        .take(wanted)
        .map(|(_, t)| t.clone())
        .collect()
}

impl Task {
    /// Marks the task done by `actor` (its assignee only). Completing it twice changes
    /// nothing: returns whether this call changed it.
    pub fn complete(
        &mut self,
        actor: &Actor,
        outcome: Option<&str>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, DomainError> {
        actor.check(Permission::CompleteTask(self))?;
        let outcome = outcome.map(str::trim).filter(|o| !o.is_empty());
        if outcome.is_some_and(|o| o.chars().count() > 1000) {
            return Err(DomainError::invalid("outcome", "at most 1000 characters"));
        }
        if self.done_at.is_some() {
            return Ok(false);
        }
        self.done_at = Some(now);
        self.outcome = outcome.map(str::to_owned);
        Ok(true)
    }

    /// A manager (of the assignee's team) or an admin scores a completed task, 1 to 5; a
    /// later score replaces an earlier one.
    pub fn review(
        &mut self,
        actor: &Actor,
        assignee_team: Option<crate::id::TeamId>,
        score: u8,
        note: Option<&str>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), DomainError> {
        actor.check(Permission::ReviewTask {
            task: self,
            assignee_team,
        })?;
        if self.done_at.is_none() {
            return Err(DomainError::InvalidTransition {
                from: "open".into(),
                to: "reviewed (complete it first)".into(),
            });
        }
        if !(1..=5).contains(&score) {
            return Err(DomainError::invalid("score", "1 to 5"));
        }
        let note = note.map(str::trim).filter(|n| !n.is_empty());
        if note.is_some_and(|n| n.chars().count() > 1000) {
            return Err(DomainError::invalid("note", "at most 1000 characters"));
        }
        self.review = Some(TaskReview {
            score,
            note: note.map(str::to_owned),
            by: actor.user,
            at: now,
        });
        Ok(())
    }
}
