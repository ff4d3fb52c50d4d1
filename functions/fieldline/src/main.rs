//! `fieldline`: the embedded server and its admin commands. Only wiring lives here.

use anyhow::Context;
use clap::{Parser, Subcommand};
use fieldline_app::config::StorageBackend;
use fieldline_app::state::SystemClock;
use fieldline_app::{Application, Config, admin, demo, telemetry};
use fieldline_domain::{Role, TenantId};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "fieldline",
    version,
    about = "Fieldline sales management: embedded server and admin CLI"
)]
struct Cli {
    /// Config file (TOML). Defaults to ./fieldline.toml when present; FIELDLINE_* env vars override.
    #[arg(long, global = true, env = "FIELDLINE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API and run scheduled jobs until Ctrl-C / SIGTERM.
    Serve {
        /// Seed the demo tenant first (if absent) and print ready-to-use tokens.
        #[arg(long)]
        demo: bool,
    },
    /// Seed the demo tenant (three teams, twenty reps, a few hundred leads) if absent.
    Seed {
        #[arg(long, default_value_t = 300)]
        leads: usize,
    },
    /// Print a bearer token for a user.
    Token {
        #[arg(long, default_value = demo::DEMO_TENANT)]
        tenant: String,
        #[arg(long)]
        email: String,
    },
    /// List a tenant's users with their roles and teams.
    Users {
        #[arg(long, default_value = demo::DEMO_TENANT)]
        tenant: String,
    },
    /// Create a tenant.
    AddTenant {
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "Asia/Shanghai")]
        time_zone: String,
        /// Region for phone numbers written without a country code.
        #[arg(long, default_value = "CN")]
        region: String,
    },
    /// Create a team in a tenant.
    AddTeam {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        name: String,
    },
    /// Create a user (rep, manager or admin).
    AddUser {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = ["rep", "manager", "admin"])]
        role: String,
        /// Team name or id; required for reps and managers.
        #[arg(long)]
        team: Option<String>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::load(cli.config.as_deref()).context("loading configuration")?;
    telemetry::init(&config.log);
    // The admin commands work on either backend; serving is the embedded server's job (on
    // AWS the Lambda functions serve).
    let app = match config.storage.backend {
        StorageBackend::Embedded => Application::build(config.clone())?,
        StorageBackend::Aws => {
            let mut config = config.clone();
            let sdk = fieldline_lambda::load_sdk_config(&config).await;
            let secrets = fieldline_lambda::secrets_client(&sdk);
            fieldline_lambda::resolve_jwt_secret(&mut config, &secrets).await?;
            let (stores, _) = fieldline_lambda::aws_stores(&config, &sdk)?;
            Application::from_parts(config, stores, Arc::new(SystemClock))?
        }
    };
    let state = app.state().clone();
    match cli.command {
        Command::Serve { .. } if config.storage.backend == StorageBackend::Aws => {
            anyhow::bail!(
                "`serve` runs the embedded store; with storage.backend = \"aws\" the Lambda \
                 functions serve (docs/deploy.md)"
            );
        }
        Command::Serve { demo } => {
            if demo {
                let summary = demo::seed(&state, 300, 20261123).await?;
                print_demo_tokens(&app, &summary).await?;
            }
            let listener = tokio::net::TcpListener::bind(config.listen)
                .await
                .with_context(|| format!("binding {}", config.listen))?;
            eprintln!(
                "Fieldline is serving on http://{} (data in {})",
                listener.local_addr()?,
                config.data_dir.display()
            );
            app.serve(listener, shutdown_signal()).await?;
        }
        Command::Seed { leads } => {
            let summary = demo::seed(&state, leads, 20261123).await?;
            if summary.created {
                println!(
                    "seeded tenant {} with {} leads",
                    summary.tenant, summary.leads
                );
            } else {
                println!("tenant {} already exists; nothing written", summary.tenant);
            }
        }
        Command::Token { tenant, email } => {
            println!(
                "{}",
                admin::issue_token(&state, &TenantId::parse(&tenant)?, &email).await?
            );
        }
        Command::Users { tenant } => {
            let tenant = TenantId::parse(&tenant)?;
            let teams = state.directory.list_teams(&tenant).await?;
            for user in state.directory.list_users(&tenant).await? {
                let team = user
                    .team
                    .and_then(|id| teams.iter().find(|t| t.id == id))
                    .map(|t| t.name.as_str().to_owned())
                    .unwrap_or_else(|| "-".into());
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    user.email.as_str(),
                    user.role,
                    team,
                    user.name.as_str(),
                    user.id
                );
            }
        }
        Command::AddTenant {
            id,
            name,
            time_zone,
            region,
        } => {
            let tenant = admin::add_tenant(&state, &id, &name, &time_zone, &region).await?;
            println!("created tenant {}", tenant.id);
        }
        Command::AddTeam { tenant, name } => {
            let team = admin::add_team(&state, &TenantId::parse(&tenant)?, &name).await?;
            println!("created team {} ({})", team.name.as_str(), team.id);
        }
        Command::AddUser {
            tenant,
            email,
            name,
            role,
            team,
        } => {
            let role: Role = role.parse()?;
            let user = admin::add_user(
                &state,
                &TenantId::parse(&tenant)?,
                &email,
                &name,
                role,
                team.as_deref(),
            )
            .await?;
            println!(
                "created {} {} ({})",
                user.role,
                user.email.as_str(),
                user.id
            );
        }
    }
    Ok(())
}

async fn print_demo_tokens(app: &Application, summary: &demo::DemoSummary) -> anyhow::Result<()> {
    let state = app.state();
    if summary.created {
        eprintln!(
            "Seeded demo tenant '{}' with {} leads.",
            summary.tenant, summary.leads
        );
    }
    let mut who = vec![("admin", &summary.admin)];
    if let Some(m) = summary.managers.first() {
        who.push(("manager", m));
    }
    if let Some(r) = summary.reps.first() {
        who.push(("rep", r));
    }
    eprintln!(
        "Demo tokens (valid {} h; more with `fieldline token --email ...`):",
        app.config().auth.token_ttl_hours
    );
    for (label, user) in who {
        let token = state.tokens.issue(user, state.clock.now());
        eprintln!("  {label:8} {:32} {token}", user.email.as_str());
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
