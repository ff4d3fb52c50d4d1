//! `fieldline`: the embedded server and its admin commands. Only wiring lives here; the demo
//! tenant is seeded by `fieldline-demo`, not by this production binary.

use anyhow::Context;
use clap::{Parser, Subcommand};
use fieldline_app::config::StorageBackend;
use fieldline_app::{Application, Config, admin, telemetry};
use fieldline_domain::{Role, TenantId};
use std::path::PathBuf;

/// The tenant the admin commands default to (the one `fieldline-demo` seeds).
const DEFAULT_TENANT: &str = "demo";

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
    Serve,
    /// Print a bearer token for a user.
    Token {
        #[arg(long, default_value = DEFAULT_TENANT)]
        tenant: String,
        #[arg(long)]
        email: String,
        /// Print a sign-in link for the web app instead (the token rides in the address's
        /// fragment, which browsers never send to a server).
        #[arg(long)]
        link: bool,
        /// Where users reach the web app; defaults to `http://<listen>`.
        #[arg(long, requires = "link")]
        base: Option<String>,
    },
    /// Print the API's OpenAPI document (what `/v1/openapi.json` serves); the web app's types
    /// are generated from it.
    Openapi,
    /// List a tenant's users with their roles and teams.
    Users {
        #[arg(long, default_value = DEFAULT_TENANT)]
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
    /// Create a user (rep, manager, admin, warehouse or purchasing).
    AddUser {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = ["rep", "manager", "admin", "warehouse", "purchasing"])]
        role: String,
        /// Team name or id; required for reps and managers.
        #[arg(long)]
        team: Option<String>,
    },
    /// Rebuild a tenant's weekly demand history (what the forecast reads) from its orders,
    /// in its time zone now, for every week before the current one: after moving to a
    /// DynamoDB table from before the history was kept, or after changing the time zone.
    /// Then fits the replenishment plan's forecast again.
    RebuildDemand {
        #[arg(long)]
        tenant: String,
    },
    /// Deactivate, reactivate, move or re-role a user; takes effect on their next request.
    ChangeUser {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
        /// Stop the user's access (their records and history stay).
        #[arg(long, conflicts_with = "activate")]
        deactivate: bool,
        #[arg(long)]
        activate: bool,
        /// New team, by name or id.
        #[arg(long)]
        team: Option<String>,
        #[arg(long, value_parser = ["rep", "manager", "admin", "warehouse", "purchasing"])]
        role: Option<String>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Command::Openapi = cli.command {
        let api = fieldline_app::http::openapi_of(fieldline_app::http::ApiSurface::All);
        println!("{}", api.to_pretty_json()?);
        return Ok(());
    }
    let config = Config::load(cli.config.as_deref()).context("loading configuration")?;
    telemetry::init(&config.log);
    // The admin commands work on either backend; serving is the embedded server's job (on
    // AWS the Lambda functions serve).
    let app = match config.storage.backend {
        StorageBackend::Embedded => fieldline::build(config.clone())?,
        StorageBackend::Aws => connect_aws(config.clone()).await?,
    };
    let state = app.state().clone();
    match cli.command {
        Command::Serve if config.storage.backend == StorageBackend::Aws => {
            anyhow::bail!(
                "`serve` runs the embedded store; with storage.backend = \"aws\" the Lambda \
                 functions serve (docs/deploy.md)"
            );
        }
        Command::Serve => fieldline::serve(app).await?,
        Command::Openapi => unreachable!("answered before the store is opened"),
        Command::Token {
            tenant,
            email,
            link,
            base,
        } => {
            let token = admin::issue_token(&state, &TenantId::parse(&tenant)?, &email).await?;
            if link {
                let base = base.unwrap_or_else(|| format!("http://{}", config.listen));
                println!("{}", fieldline_app::auth::sign_in_link(&base, &token));
            } else {
                println!("{token}");
            }
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
        Command::RebuildDemand { tenant } => {
            let id = TenantId::parse(&tenant)?;
            let done = fieldline_app::order::rebuild_history(&state, &id).await?;
            println!(
                "demand history of {tenant} rebuilt before {}: {} orders read, {} weekly points written",
                done.before, done.orders, done.points
            );
            // The replenishment plan's stored fit was made from the old history.
            let fit = fieldline_app::order::refit_lead_demand(&state, &id).await?;
            println!(
                "replenishment forecast refitted: {} series from the week of {}",
                fit.series.len(),
                fit.origin
            );
        }
        Command::ChangeUser {
            tenant,
            email,
            deactivate,
            activate,
            team,
            role,
        } => {
            let role: Option<Role> = role.as_deref().map(str::parse).transpose()?;
            let change = admin::UserChange {
                active: (deactivate || activate).then_some(activate),
                role,
                team: team.as_deref(),
            };
            let user =
                admin::change_user(&state, &TenantId::parse(&tenant)?, &email, change).await?;
            println!(
                "{} {} {} ({})",
                user.email.as_str(),
                user.role,
                if user.active { "active" } else { "deactivated" },
                user.id
            );
        }
    }
    Ok(())
}

/// The admin commands on an AWS deployment (DynamoDB + S3, key from Secrets Manager).
#[cfg(feature = "aws")]
async fn connect_aws(config: Config) -> anyhow::Result<Application> {
    let aws = fieldline_aws::connect(config).await?;
    Application::from_parts(
        aws.config,
        aws.stores,
        std::sync::Arc::new(fieldline_app::state::SystemClock),
    )
}

#[cfg(not(feature = "aws"))]
async fn connect_aws(_: Config) -> anyhow::Result<Application> {
    anyhow::bail!(
        "storage.backend = \"aws\" needs the AWS admin support: \
         cargo run --release -p fieldline --features aws -- ..."
    )
}
