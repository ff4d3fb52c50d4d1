//! The fixture every contract starts from: a tenant with one team and one rep, and new-lead helpers.

use super::Backend;
use chrono::{TimeZone, Utc};
use fieldline_domain::lead::{ContactInput, CreateContext};
use fieldline_domain::*;

/// A tenant with one team and one rep, on the backend under test.
pub struct Fixture<S> {
    pub store: S,
    pub tenant: TenantId,
    pub team: TeamId,
    pub rep: User,
}

/// The contracts' "now".
pub fn t0() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap()
}

pub async fn fixture<S: Backend>(store: S) -> Fixture<S> {
    let tenant = TenantId::parse("acme").unwrap();
    store.create_tenant(&tenant_row(&tenant)).await.unwrap();
    let team = TeamId::new();
    store
        .create_team(&Team {
            id: team,
            tenant: tenant.clone(),
            name: PersonName::parse("华东").unwrap(),
            manager: None,
        })
        .await
        .unwrap();
    let rep = user(&tenant, Some(team), "rep1@acme.cn");
    store.create_user(&rep).await.unwrap();
    Fixture {
        store,
        tenant,
        team,
        rep,
    }
}

pub(crate) fn tenant_row(id: &TenantId) -> Tenant {
    Tenant::new(
        id.clone(),
        PersonName::parse("Acme").unwrap(),
        "Asia/Shanghai",
        "CN",
    )
}

pub fn user(tenant: &TenantId, team: Option<TeamId>, email: &str) -> User {
    User {
        id: UserId::new(),
        tenant: tenant.clone(),
        name: PersonName::parse("赵磊").unwrap(),
        email: EmailAddress::parse(email).unwrap(),
        role: Role::Rep,
        team,
        active: true,
    }
}

/// A valid new lead owned by `owner`, with its creation events.
pub fn new_lead(owner: &User, now: Timestamp) -> (Lead, Vec<DomainEvent>) {
    let input = NewLead {
        source: LeadSource::WebForm,
        contact: ContactInput {
            name: "Chen Jie".into(),
            email: Some("chen@example.com".into()),
            ..Default::default()
        },
        prescreen: PreScreen::default(),
        notes: None,
        owner: None,
    };
    let policy = ScoringPolicy::default();
    Lead::create(
        &input,
        CreateContext {
            id: LeadId::new(),
            actor: &actor_of(owner),
            owner: Some(owner),
            now,
            region: Region::china(),
            policy: &policy,
        },
    )
    .unwrap()
}

pub fn actor_of(u: &User) -> Actor {
    Actor {
        user: u.id,
        tenant: u.tenant.clone(),
        role: u.role,
        team: u.team,
    }
}

/// Every event the tenant has in the outbox.
pub async fn count<S: Backend>(store: &S, tenant: &TenantId) -> usize {
    let epoch = chrono::DateTime::UNIX_EPOCH;
    store
        .tenant_events_since(tenant, epoch, 100_000)
        .await
        .unwrap()
        .len()
}
