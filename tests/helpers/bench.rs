//! What the benchmarks share: their size knobs and the tenant they write into.

use fieldline_domain::*;
use fieldline_store::DirectoryStore;

/// `name` from the environment as a number, or `default`.
pub fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The tenant `bench` (Asia/Shanghai, CN numbers) with one team and one rep in it (the rep's
/// `team`).
pub struct BenchTenant {
    pub row: Tenant,
    pub rep: User,
    /// The rep, as a caller.
    pub actor: Actor,
}

pub async fn bench_tenant(store: &impl DirectoryStore) -> anyhow::Result<BenchTenant> {
    let tenant = TenantId::parse("bench")?;
    let row = Tenant::new(
        tenant.clone(),
        PersonName::parse("Bench")?,
        "Asia/Shanghai",
        "CN",
    );
    store.create_tenant(&row).await?;
    let team = TeamId::new();
    store
        .create_team(&Team {
            id: team,
            tenant: tenant.clone(),
            name: PersonName::parse("East")?,
            manager: None,
        })
        .await?;
    let rep = User {
        id: UserId::new(),
        tenant: tenant.clone(),
        email: EmailAddress::parse("rep@bench.cn")?,
        name: PersonName::parse("Rep")?,
        role: Role::Rep,
        team: Some(team),
        active: true,
    };
    store.create_user(&rep).await?;
    let actor = Actor {
        user: rep.id,
        tenant,
        role: Role::Rep,
        team: Some(team),
    };
    Ok(BenchTenant { row, rep, actor })
}
