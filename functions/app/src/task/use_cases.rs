use crate::error::ApiError;
use crate::state::AppState;
use fieldline_domain::Actor;

/// Your tasks: open ones by due time, then done ones.
pub async fn my_tasks(
    state: &AppState,
    actor: &Actor,
) -> Result<Vec<fieldline_domain::Task>, ApiError> {
    Ok(state
        .tasks
        .list_tasks(&actor.tenant, actor.user, 500)
        .await?)
}

/// Marks one of your tasks done (completing it twice changes nothing).
pub async fn complete_task(
    state: &AppState,
    actor: &Actor,
    id: fieldline_domain::TaskId,
) -> Result<fieldline_domain::Task, ApiError> {
    let mut task = state
        .tasks
        .get_task(&actor.tenant, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("task {id} not found")))?;
    if task.complete(actor, state.clock.now())? {
        state.tasks.update_task(&task).await?;
    }
    Ok(task)
}
