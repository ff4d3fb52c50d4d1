//! The in-process scheduler of the embedded server: periodic jobs such as the outbox relay,
//! and later the SLA timers and stale-lead sweeps. In AWS the same jobs run from EventBridge.

use crate::state::Clock;
use async_trait::async_trait;
use fieldline_domain::Timestamp;
use fieldline_store::{EventLog, StoredEvent};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Work to do on every tick. A failing job is logged and retried next tick; it never stops
/// the others.
#[async_trait]
pub trait Job: Send + Sync {
    fn name(&self) -> &str;
    async fn run(&self, now: Timestamp) -> anyhow::Result<()>;
}

pub struct Scheduler {
    jobs: Vec<Arc<dyn Job>>,
    tick: Duration,
    clock: Arc<dyn Clock>,
}

impl Scheduler {
    pub fn new(tick: Duration, clock: Arc<dyn Clock>) -> Self {
        Self {
            jobs: Vec::new(),
            tick,
            clock,
        }
    }

    pub fn with_job(mut self, job: Arc<dyn Job>) -> Self {
        self.jobs.push(job);
        self
    }

    /// Runs every job once, in order; returns how many failed.
    pub async fn run_once(&self) -> usize {
        let now = self.clock.now();
        let mut failed = 0;
        for job in &self.jobs {
            if let Err(e) = job.run(now).await {
                failed += 1;
                tracing::warn!(
                    job = job.name(),
                    error = format!("{e:#}"),
                    "scheduled job failed"
                );
            }
        }
        failed
    }

    /// Ticks until `shutdown` turns true; finishes the tick in progress first.
    pub async fn run_until(self, mut shutdown: watch::Receiver<bool>) {
        let mut interval = tokio::time::interval(self.tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = interval.tick() => { self.run_once().await; }
                _ = shutdown.changed() => break,
            }
            if *shutdown.borrow() {
                break;
            }
        }
    }
}

/// Something that reacts to domain events (timers, rules, webhooks). Delivery is at least
/// once: after a crash between `handle` and the acknowledgement an event is handed over again,
/// so handlers deduplicate on `event.id`.
#[async_trait]
pub trait EventHandler: Send + Sync {
    /// Also the consumer name its position is stored under: keep it stable.
    fn name(&self) -> &str;
    async fn handle(&self, event: &StoredEvent) -> anyhow::Result<()>;
}

/// Feeds the outbox to one handler in order, acknowledging as it goes.
pub struct OutboxRelay {
    events: Arc<dyn EventLog>,
    handler: Arc<dyn EventHandler>,
    batch: u32,
}

impl OutboxRelay {
    pub fn new(events: Arc<dyn EventLog>, handler: Arc<dyn EventHandler>) -> Self {
        Self {
            events,
            handler,
            batch: 200,
        }
    }
}

#[async_trait]
impl Job for OutboxRelay {
    fn name(&self) -> &str {
        self.handler.name()
    }

    async fn run(&self, _now: Timestamp) -> anyhow::Result<()> {
        let consumer = self.handler.name();
        loop {
            let batch = self.events.read_events(consumer, self.batch).await?;
            let Some(last) = batch.last().map(|e| e.seq) else {
                return Ok(());
            };
            for event in &batch {
                if let Err(e) = self.handler.handle(event).await {
                    // Keep what succeeded; the failed event comes back next tick.
                    if let Some(done) = event.seq.checked_sub(1).filter(|s| *s > 0) {
                        self.events.ack_events(consumer, done).await?;
                    }
                    return Err(e.context(format!(
                        "event {} ({})",
                        event.event.id,
                        event.event.payload.kind()
                    )));
                }
            }
            self.events.ack_events(consumer, last).await?;
            if batch.len() < self.batch as usize {
                return Ok(());
            }
        }
    }
}

/// Writes every event to the debug log (`RUST_LOG=fieldline_app=debug`), so an operator can
/// follow what the system did; rules and timers will be further handlers of the same relay.
pub struct EventJournal;

#[async_trait]
impl EventHandler for EventJournal {
    fn name(&self) -> &str {
        "journal"
    }

    async fn handle(&self, stored: &StoredEvent) -> anyhow::Result<()> {
        let e = &stored.event;
        tracing::debug!(
            seq = stored.seq,
            event = e.kind().as_str(),
            tenant = %e.tenant,
            subject = %e.subject,
            actor = ?e.actor.map(|a| a.to_string()),
            "domain event"
        );
        Ok(())
    }
}
