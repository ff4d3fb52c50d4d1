//! `Application::from_parts` wires configuration and a set of stores to a running system:
//! keys, policy, router, jobs. Every entry point (the embedded server in `fieldline`, the
//! Lambda functions via `fieldline-aws`, tests, benchmarks) builds through here; which
//! backend the stores run on is the entry point's choice, never this crate's.

use crate::auth::TokenKeys;
use crate::channel::Notifier;
use crate::config::Config;
use crate::http::listener::ConnectionLimits;
use crate::rule::RuleEngine;
use crate::scheduler::{EventJournal, OutboxRelay, Scheduler};
use crate::state::{AppState, Clock};
use crate::timer::TimerSweeper;
use axum::Router;
use fieldline_store::{
    AssignmentStore, BlobStore, CustomerStore, DealStore, DecisionLog, DirectoryStore, EventLog,
    InboxStore, LeadStore, OrderStore, RecordStores, RetailStore, RuleStore, TaskStore, TimerStore,
    UploadStore,
};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub struct Application {
    config: Config,
    state: AppState,
    /// The web app, served beside the API by the embedded server.
    site: Option<Router>,
}

/// How long a stopping server waits for the scheduler's tick in progress.
const SCHEDULER_GRACE: Duration = Duration::from_secs(5);

/// The storage ports, whatever backend is behind them: the embedded one is built by
/// `fieldline` (SQLite + local files), the AWS one by `fieldline-aws` (DynamoDB + S3), so this
/// crate links neither SQLite nor the AWS SDK.
#[derive(Clone)]
pub struct Stores {
    pub leads: Arc<dyn LeadStore>,
    pub deals: Arc<dyn DealStore>,
    pub customers: Arc<dyn CustomerStore>,
    pub uploads: Arc<dyn UploadStore>,
    pub directory: Arc<dyn DirectoryStore>,
    pub events: Arc<dyn EventLog>,
    pub rules: Arc<dyn RuleStore>,
    pub timers: Arc<dyn TimerStore>,
    pub decisions: Arc<dyn DecisionLog>,
    pub assignment: Arc<dyn AssignmentStore>,
    pub tasks: Arc<dyn TaskStore>,
    pub inbox: Arc<dyn InboxStore>,
    pub retail: Arc<dyn RetailStore>,
    pub orders: Arc<dyn OrderStore>,
    pub blobs: Arc<dyn BlobStore>,
    /// For the health endpoint: `sqlite` or `dynamodb`.
    pub backend: &'static str,
}

impl Stores {
    /// Every port on one backend, blobs on another.
    pub fn single<S: RecordStores>(
        store: Arc<S>,
        blobs: Arc<dyn BlobStore>,
        backend: &'static str,
    ) -> Stores {
        Stores {
            leads: store.clone(),
            deals: store.clone(),
            customers: store.clone(),
            uploads: store.clone(),
            directory: store.clone(),
            rules: store.clone(),
            timers: store.clone(),
            decisions: store.clone(),
            assignment: store.clone(),
            tasks: store.clone(),
            inbox: store.clone(),
            retail: store.clone(),
            orders: store.clone(),
            events: store,
            blobs,
            backend,
        }
    }
}

impl Application {
    /// Wires any set of stores to the keys, policy and router: every entry point ends here.
    pub fn from_parts(
        config: Config,
        stores: Stores,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Application> {
        config.validate()?;
        let secret =
            TokenKeys::load_or_create_secret(config.auth.jwt_secret.as_deref(), &config.data_dir)?;
        let tokens = TokenKeys::new(&secret, &config.auth.issuer, config.auth.token_ttl_hours)?;
        let state = AppState {
            leads: stores.leads,
            deals: stores.deals,
            customers: stores.customers,
            uploads: stores.uploads,
            directory: stores.directory,
            rules: stores.rules,
            timers: stores.timers,
            decisions: stores.decisions,
            assignment: stores.assignment,
            tasks: stores.tasks,
            inbox: stores.inbox,
            retail: stores.retail,
            orders: stores.orders,
            events: stores.events,
            blobs: stores.blobs,
            tokens: Arc::new(tokens),
            policy: Arc::new(config.scoring.clone()),
            clock,
            backend: stores.backend,
            allow_private_egress: config.channels.allow_private_networks,
            link_limits: crate::material::LinkLimits::default(),
            capture: match (&config.capture.url, &config.capture.token) {
                (Some(url), Some(token)) => Some(Arc::new(crate::capture::HttpCapture::new(
                    url,
                    token,
                    Duration::from_secs(config.capture.timeout_secs),
                )?)),
                _ => None,
            },
            fits_running: Arc::default(),
        };
        Ok(Application {
            config,
            state,
            site: None,
        })
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Serves `site` (the web app) for every path outside the API.
    pub fn with_site(mut self, site: Router) -> Self {
        self.site = Some(site);
        self
    }

    pub fn router(&self) -> Router {
        crate::http::router_with_site(self.state.clone(), &self.config.limits, self.site.clone())
    }

    /// The in-process jobs of the embedded server.
    pub fn scheduler(&self) -> Scheduler {
        Scheduler::new(
            Duration::from_millis(self.config.scheduler.tick_ms),
            self.state.clock.clone(),
        )
        .with_job(Arc::new(TimerSweeper::new(self.state.clone())))
        .with_job(Arc::new(OutboxRelay::new(
            self.state.events.clone(),
            Arc::new(EventJournal),
        )))
        .with_job(Arc::new(OutboxRelay::new(
            self.state.events.clone(),
            Arc::new(RuleEngine::new(self.state.clone())),
        )))
        .with_job(Arc::new(OutboxRelay::new(
            self.state.events.clone(),
            Arc::new(crate::task::TaskFollowUps::new(self.state.clone())),
        )))
        .with_job(Arc::new(OutboxRelay::new(
            self.state.events.clone(),
            Arc::new(crate::customer::grading::CustomerGrading::new(
                self.state.clone(),
            )),
        )))
        .with_job(Arc::new(Notifier::new(self.state.clone())))
    }

    /// The capture queue, on its own loop: reading a voice note takes seconds, and timers
    /// and rules must not wait for it.
    pub fn capture_scheduler(&self) -> Scheduler {
        self.relay_loop(Arc::new(crate::capture::CaptureIngest::new(
            self.state.clone(),
        )))
    }

    /// Imports from uploaded spreadsheets, on a loop of their own: 100,000 rows take most
    /// of a minute, and neither timers nor capture must wait for them.
    pub fn import_scheduler(&self) -> Scheduler {
        self.relay_loop(Arc::new(crate::import::job::ImportJobs::new(
            self.state.clone(),
        )))
    }

    /// The replenishment plan's weekly fit, on a loop of its own: a large tenant's takes
    /// minutes once a week, and nothing else must wait for it.
    pub fn refit_scheduler(&self) -> Scheduler {
        self.relay_loop(Arc::new(crate::order::DemandRefits::new(
            self.state.clone(),
        )))
    }

    /// A loop of its own that feeds the outbox to one slow `handler`.
    fn relay_loop(&self, handler: Arc<dyn crate::scheduler::EventHandler>) -> Scheduler {
        Scheduler::new(
            Duration::from_millis(self.config.scheduler.tick_ms),
            self.state.clock.clone(),
        )
        .with_job(Arc::new(OutboxRelay::new(
            self.state.events.clone(),
            handler,
        )))
    }

    /// Serves HTTP and runs the scheduler until `shutdown` resolves, then drains in-flight
    /// requests and gives the current scheduler tick `SCHEDULER_GRACE` to finish.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let scheduler = tokio::spawn(self.scheduler().run_until(stop_rx.clone()));
        let capture = tokio::spawn(self.capture_scheduler().run_until(stop_rx.clone()));
        let imports = tokio::spawn(self.import_scheduler().run_until(stop_rx.clone()));
        let refits = tokio::spawn(self.refit_scheduler().run_until(stop_rx));
        let router = self.router();
        tracing::info!(addr = %listener.local_addr()?, data_dir = %self.config.data_dir.display(), "fieldline listening");
        let limits = &self.config.limits;
        let connections = ConnectionLimits {
            max_connections: limits.max_connections,
            max_connections_per_client: limits.max_connections_per_client,
            header_timeout: Duration::from_secs(limits.header_timeout_secs),
            drain_timeout: Duration::from_secs(30),
        };
        crate::http::listener::serve(listener, router, connections, async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        })
        .await?;
        // A tick working through a large backlog must not hold the process for minutes:
        // what it has not finished is handed over again on the next start (delivery is at
        // least once, handlers de-duplicate).
        for (name, job) in [
            ("scheduler", scheduler),
            ("capture", capture),
            ("imports", imports),
            ("refits", refits),
        ] {
            let abort = job.abort_handle();
            match tokio::time::timeout(SCHEDULER_GRACE, job).await {
                Ok(joined) => joined?,
                Err(_) => {
                    tracing::warn!(job = name, grace = ?SCHEDULER_GRACE, "stopped a tick still running");
                    abort.abort();
                }
            }
        }
        Ok(())
    }
}
