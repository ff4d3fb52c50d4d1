use crate::error::ApiError;
use crate::state::AppState;
use fieldline_domain::{Actor, Notification};

pub async fn my_notifications(
    state: &AppState,
    actor: &Actor,
) -> Result<Vec<Notification>, ApiError> {
    Ok(state
        .inbox
        .list_notifications(&actor.tenant, actor.user, 200)
        .await?)
}
