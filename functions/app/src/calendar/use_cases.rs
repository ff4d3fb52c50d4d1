use crate::error::AppError;
use crate::state::AppState;
use fieldline_domain::{Actor, Permission};

/// A tenant's working calendar (time zone, days, hours, holidays) for business-hour clocks.
#[tracing::instrument(name = "calendar.get_calendar", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn get_calendar(
    state: &AppState,
    actor: &Actor,
) -> Result<fieldline_domain::BusinessCalendar, AppError> {
    let tenant = state
        .directory
        .get_tenant(&actor.tenant)
        .await?
        .ok_or_else(|| AppError::NotFound("tenant not found".into()))?;
    Ok(tenant.calendar())
}

#[tracing::instrument(name = "calendar.set_calendar", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn set_calendar(
    state: &AppState,
    actor: &Actor,
    calendar: fieldline_domain::BusinessCalendar,
) -> Result<fieldline_domain::BusinessCalendar, AppError> {
    actor.check(Permission::ManageCalendar)?;
    calendar.validate()?;
    let mut tenant = state
        .directory
        .get_tenant(&actor.tenant)
        .await?
        .ok_or_else(|| AppError::NotFound("tenant not found".into()))?;
    tenant.time_zone = calendar.time_zone.name().to_owned();
    tenant.calendar = Some(calendar.clone());
    state.directory.update_tenant(&tenant).await?;
    Ok(calendar)
}
