//! Reminders and escalations of open tasks. A task made with `remind_before_hours` or
//! `escalate_after_hours` gets durable timers on its subject; when one fires, this handler
//! tells the assignee (reminder) or the assignee's team manager (escalation), unless the task
//! was done meanwhile. One notification per task and kind, however often the event arrives.

use crate::scheduler::EventHandler;
use crate::state::AppState;
use async_trait::async_trait;
use fieldline_domain::{EventPayload, FollowUp, Notification, NotificationId};
use fieldline_store::StoredEvent;

pub struct TaskFollowUps {
    state: AppState,
}

impl TaskFollowUps {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

#[async_trait]
impl EventHandler for TaskFollowUps {
    fn name(&self) -> &str {
        "task_follow_ups"
    }

    #[tracing::instrument(name = "task_follow_ups", skip_all, fields(event = %stored.event.id))]
    async fn handle(&self, stored: &StoredEvent) -> anyhow::Result<()> {
        let event = &stored.event;
        let EventPayload::TimerFired { name, .. } = &event.payload else {
            return Ok(());
        };
        let Some((what, id)) = FollowUp::of_timer(name) else {
            return Ok(());
        };
        let tenant = &event.tenant;
        let Some(task) = self.state.tasks.get_task(tenant, id).await? else {
            return Ok(());
        };
        if task.done_at.is_some() {
            return Ok(());
        }
        let users = self.state.directory.list_users(tenant).await?;
        let assignee = users.iter().find(|u| Some(u.id) == task.assignee);
        let (kind, message, recipients): (&str, String, Vec<_>) = match what {
            FollowUp::Reminder => (
                "reminder",
                format!(
                    "任务即将到期 / Task due soon: {} ({})",
                    task.title,
                    task.due_at.format("%Y-%m-%d %H:%M UTC")
                ),
                assignee.into_iter().collect(),
            ),
            FollowUp::Escalation => {
                let team = assignee.and_then(|u| u.team);
                (
                    "escalation",
                    format!(
                        "任务已逾期未完成 / Task overdue and still open: {} (due {})",
                        task.title,
                        task.due_at.format("%Y-%m-%d %H:%M UTC")
                    ),
                    users.iter().filter(|u| u.manages(team)).collect(),
                )
            }
        };
        for user in recipients {
            self.state
                .inbox
                .add_notification(&Notification {
                    id: NotificationId::new(),
                    tenant: tenant.clone(),
                    user: user.id,
                    subject: Some(task.subject),
                    kind: kind.to_owned(),
                    message: message.clone(),
                    rule: task.rule.clone(),
                    dedupe_key: format!("task:{}:{kind}", task.id),
                    created_at: self.state.clock.now(),
                })
                .await?;
        }
        Ok(())
    }
}
