use crate::error::AppError;
use crate::state::AppState;
use fieldline_domain::{Actor, Notification};

#[tracing::instrument(name = "notification.my_notifications", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn my_notifications(
    state: &AppState,
    actor: &Actor,
) -> Result<Vec<Notification>, AppError> {
    Ok(state
        .inbox
        .list_notifications(&actor.tenant, actor.user, 200)
        .await?)
}
