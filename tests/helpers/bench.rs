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

/// The embedded application on a fresh temporary directory, as the benchmarks run it (the
/// directory lives as long as this value).
pub struct EmbeddedApp {
    pub app: fieldline_app::Application,
    /// The SQLite file, for bulk loads and raw-SQL baselines.
    pub db_path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

pub fn embedded_app() -> anyhow::Result<EmbeddedApp> {
    let dir = tempfile::tempdir()?;
    let mut config = fieldline_app::Config {
        data_dir: dir.path().to_path_buf(),
        ..Default::default()
    };
    config.auth.jwt_secret = Some("bench-secret-0123456789abcdef0123456789".into());
    let db_path = config.data_dir.join("fieldline.db");
    let app = fieldline::build(config)?;
    Ok(EmbeddedApp {
        app,
        db_path,
        _dir: dir,
    })
}
