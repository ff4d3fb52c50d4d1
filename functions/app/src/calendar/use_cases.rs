use crate::error::ApiError;
use crate::state::AppState;
use fieldline_domain::{Actor, Permission};

/// A tenant's working calendar (time zone, days, hours, holidays) for business-hour clocks.
pub async fn get_calendar(
    state: &AppState,
    actor: &Actor,
) -> Result<fieldline_domain::BusinessCalendar, ApiError> {
    let tenant = state
        .directory
        .get_tenant(&actor.tenant)
        .await?
        .ok_or_else(|| ApiError::NotFound("tenant not found".into()))?;
    Ok(tenant.calendar())
}

pub async fn set_calendar(
    state: &AppState,
    actor: &Actor,
    calendar: fieldline_domain::BusinessCalendar,
) -> Result<fieldline_domain::BusinessCalendar, ApiError> {
    actor.check(Permission::ManageCalendar)?;
    calendar.validate()?;
    let mut tenant = state
        .directory
        .get_tenant(&actor.tenant)
        .await?
        .ok_or_else(|| ApiError::NotFound("tenant not found".into()))?;
    tenant.time_zone = calendar.time_zone.name().to_owned();
    tenant.calendar = Some(calendar.clone());
    state.directory.update_tenant(&tenant).await?;
    Ok(calendar)
}
