//! What every handler and job shares: the storage ports (whatever backend is behind them),
//! token keys, the scoring policy and the clock.

use crate::auth::TokenKeys;
use fieldline_domain::{ScoringPolicy, Timestamp};
use fieldline_store::{
    AssignmentStore, BlobStore, CustomerStore, DealStore, DecisionLog, DirectoryStore, EventLog,
    InboxStore, LeadStore, OrderStore, RetailStore, RuleStore, TaskStore, TimerStore, UploadStore,
};
use std::sync::Arc;

/// Time, injectable so tests and the demo seed can run in the past.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        chrono::Utc::now()
    }
}

#[derive(Clone)]
pub struct AppState {
    pub leads: Arc<dyn LeadStore>,
    pub deals: Arc<dyn DealStore>,
    pub customers: Arc<dyn CustomerStore>,
    pub directory: Arc<dyn DirectoryStore>,
    pub events: Arc<dyn EventLog>,
    pub uploads: Arc<dyn UploadStore>,
    pub rules: Arc<dyn RuleStore>,
    pub timers: Arc<dyn TimerStore>,
    pub decisions: Arc<dyn DecisionLog>,
    pub assignment: Arc<dyn AssignmentStore>,
    pub tasks: Arc<dyn TaskStore>,
    pub inbox: Arc<dyn InboxStore>,
    pub retail: Arc<dyn RetailStore>,
    pub orders: Arc<dyn OrderStore>,
    pub blobs: Arc<dyn BlobStore>,
    pub tokens: Arc<TokenKeys>,
    pub policy: Arc<ScoringPolicy>,
    pub clock: Arc<dyn Clock>,
    /// Whether notification channels may reach private networks (`channels` config).
    pub allow_private_egress: bool,
    /// Which storage backend is wired in, for the health endpoint.
    pub backend: &'static str,
    /// Rate limits on public links (material packs).
    pub link_limits: crate::material::LinkLimits,
    /// The capture service that reads cards, shelves and voice notes; `None` when this
    /// server runs without one (uploads that need it then fail `capture_unavailable`).
    pub capture: Option<Arc<dyn crate::capture::CaptureService>>,
    /// Tenants whose replenishment forecast this process is fitting in the background, so a
    /// burst of plan requests starts one fit, not one each.
    pub fits_running: Arc<std::sync::Mutex<std::collections::HashSet<fieldline_domain::TenantId>>>,
}
