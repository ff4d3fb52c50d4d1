//! Bootstrapping a real tenant from the command line: tenant, teams, users, tokens.
//! The CLI and the demo seed both go through here, so the rules are the same.

use crate::state::AppState;
use anyhow::{Context, bail};
use fieldline_domain::{
    EmailAddress, PersonName, Region, Role, Team, TeamId, Tenant, TenantId, User, UserId,
};

pub async fn add_tenant(
    state: &AppState,
    id: &str,
    name: &str,
    time_zone: &str,
    region: &str,
) -> anyhow::Result<Tenant> {
    Region::parse(region)?;
    let tenant = Tenant::new(
        TenantId::parse(id)?,
        PersonName::parse_field(name, "name")?,
        time_zone,
        region.to_ascii_uppercase(),
    );
    if !state.directory.create_tenant(&tenant).await? {
        bail!("tenant {id} already exists");
    }
    crate::rule::install_default_rules(state, &tenant.id).await?;
    Ok(tenant)
}

pub async fn add_team(state: &AppState, tenant: &TenantId, name: &str) -> anyhow::Result<Team> {
    require_tenant(state, tenant).await?;
    let team = Team {
        id: TeamId::new(),
        tenant: tenant.clone(),
        name: PersonName::parse_field(name, "name")?,
        manager: None,
    };
    state.directory.create_team(&team).await?;
    Ok(team)
}

/// Adds a user; `team` may be given by name or id.
pub async fn add_user(
    state: &AppState,
    tenant: &TenantId,
    email: &str,
    name: &str,
    role: Role,
    team: Option<&str>,
) -> anyhow::Result<User> {
    require_tenant(state, tenant).await?;
    let team = match team {
        None => None,
        Some(wanted) => Some(find_team(state, tenant, wanted).await?),
    };
    let user = User {
        id: UserId::new(),
        tenant: tenant.clone(),
        name: PersonName::parse(name)?,
        email: EmailAddress::parse(email)?,
        role,
        team,
        active: true,
    };
    user.validate()?;
    state.directory.create_user(&user).await?;
    Ok(user)
}

/// Changes a user's team, role or active flag. Deactivating keeps the user's history and
/// owned records; the user's tokens stop working on their next request, as does a team or
/// role change (every request re-reads its caller).
pub async fn change_user(
    state: &AppState,
    tenant: &TenantId,
    email: &str,
    change: UserChange<'_>,
) -> anyhow::Result<User> {
    let mut user = state
        .directory
        .find_user_by_email(tenant, email)
        .await?
        .with_context(|| format!("no user {email} in tenant {tenant}"))?;
    if let Some(active) = change.active {
        user.active = active;
    }
    if let Some(role) = change.role {
        user.role = role;
    }
    if let Some(team) = change.team {
        user.team = Some(find_team(state, tenant, team).await?);
    }
    user.validate()?;
    state.directory.update_user(&user).await?;
    Ok(user)
}

/// What [`change_user`] changes; `None` leaves a field as it is.
#[derive(Debug, Default, Clone, Copy)]
pub struct UserChange<'a> {
    pub active: Option<bool>,
    pub role: Option<Role>,
    /// Team name or id.
    pub team: Option<&'a str>,
}

async fn find_team(state: &AppState, tenant: &TenantId, wanted: &str) -> anyhow::Result<TeamId> {
    let teams = state.directory.list_teams(tenant).await?;
    let found = teams
        .iter()
        .find(|t| t.name.as_str() == wanted || t.id.to_string() == wanted)
        .with_context(|| format!("no team named {wanted} in {tenant}"))?;
    Ok(found.id)
}

async fn require_tenant(state: &AppState, tenant: &TenantId) -> anyhow::Result<()> {
    state
        .directory
        .get_tenant(tenant)
        .await?
        .with_context(|| format!("no tenant {tenant}"))?;
    Ok(())
}

/// A signed token for the user with this e-mail, valid for the configured lifetime.
pub async fn issue_token(
    state: &AppState,
    tenant: &TenantId,
    email: &str,
) -> anyhow::Result<String> {
    let user = state
        .directory
        .find_user_by_email(tenant, email)
        .await?
        .with_context(|| format!("no user {email} in tenant {tenant}"))?;
    anyhow::ensure!(user.active, "user {email} is deactivated");
    Ok(state.tokens.issue(&user, state.clock.now()))
}
