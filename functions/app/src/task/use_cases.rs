use crate::error::AppError;
use crate::state::AppState;
use fieldline_domain::Actor;

/// Your tasks: open ones by due time, then done ones.
#[tracing::instrument(name = "task.my_tasks", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn my_tasks(
    state: &AppState,
    actor: &Actor,
) -> Result<Vec<fieldline_domain::Task>, AppError> {
    Ok(state
        .tasks
        .list_tasks(&actor.tenant, actor.user, 500)
        .await?)
}

/// Marks one of your tasks done (completing it twice changes nothing).
#[tracing::instrument(name = "task.complete_task", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn complete_task(
    state: &AppState,
    actor: &Actor,
    id: fieldline_domain::TaskId,
) -> Result<fieldline_domain::Task, AppError> {
    let mut task = state
        .tasks
        .get_task(&actor.tenant, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("task {id} not found")))?;
    if task.complete(actor, state.clock.now())? {
        state.tasks.update_task(&task).await?;
    }
    Ok(task)
}
