//! `fieldline-demo`: the embedded server with a living demo tenant. Seeds it if absent, prints
//! tokens for an admin, a manager and a rep, then serves like `fieldline serve`.

use anyhow::Context;
use clap::Parser;
use fieldline_app::{Application, Config, telemetry};
use fieldline_demo::DemoSummary;
use std::path::PathBuf;

/// The demo's random seed: the same tenant every time.
const SEED: u64 = 20261123;

#[derive(Parser)]
#[command(
    name = "fieldline-demo",
    version,
    about = "Fieldline with a demo tenant: seed (if absent), print tokens, serve"
)]
struct Cli {
    /// Config file (TOML). Defaults to ./fieldline.toml when present; FIELDLINE_* env vars override.
    #[arg(long, env = "FIELDLINE_CONFIG")]
    config: Option<PathBuf>,
    /// How many leads the demo tenant gets.
    #[arg(long, default_value_t = 300)]
    leads: usize,
    /// How many deals of the last year it gets (each from its own converted lead).
    #[arg(long, default_value_t = 240)]
    deals: usize,
    /// Seed and exit instead of serving.
    #[arg(long)]
    seed_only: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::load(cli.config.as_deref()).context("loading configuration")?;
    telemetry::init(&config.log);
    let app = fieldline::build(config)?;
    let summary = fieldline_demo::seed(app.state(), cli.leads, cli.deals, SEED).await?;
    if summary.created {
        eprintln!(
            "Seeded demo tenant '{}' with {} leads and a year of {} deals.",
            summary.tenant, summary.leads, summary.deals
        );
    } else {
        eprintln!("Demo tenant '{}' exists; nothing written.", summary.tenant);
    }
    print_tokens(&app, &summary);
    if cli.seed_only {
        return Ok(());
    }
    fieldline::serve(app).await
}

fn print_tokens(app: &Application, summary: &DemoSummary) {
    let state = app.state();
    let mut who = vec![("admin", &summary.admin)];
    if let Some(m) = summary.managers.first() {
        who.push(("manager", m));
    }
    if let Some(r) = summary.reps.first() {
        who.push(("rep", r));
    }
    for user in &summary.back_office {
        who.push((user.role.as_str(), user));
    }
    eprintln!(
        "Demo tokens (valid {} h; more with `fieldline token --email ...`):",
        app.config().auth.token_ttl_hours
    );
    let mut links = Vec::new();
    for (label, user) in who {
        let token = state.tokens.issue(user, state.clock.now());
        eprintln!("  {label:8} {:32} {token}", user.email.as_str());
        let base = format!("http://{}", app.config().listen);
        links.push((label, fieldline_app::auth::sign_in_link(&base, &token)));
    }
    eprintln!("Sign in to the web app with one of these links:");
    for (label, link) in links {
        eprintln!("  link-{label:8} {link}");
    }
}
