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

    /// Runs every job once, in order; returns how many failed. A job that panics (a parser
    /// tripping on a file, say) fails its tick like one that returns an error, instead of
    /// ending the loop and every other job on it until the process restarts.
    pub async fn run_once(&self) -> usize {
        use futures_util::FutureExt;
        let now = self.clock.now();
        let mut failed = 0;
        for job in &self.jobs {
            let run = std::panic::AssertUnwindSafe(job.run(now)).catch_unwind();
            let error = match run.await {
                Ok(Ok(())) => continue,
                Ok(Err(e)) => format!("{e:#}"),
                Err(panic) => {
                    let what = panic
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_owned())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_default();
                    format!("panicked: {what}")
                }
            };
            failed += 1;
            tracing::warn!(job = job.name(), error, "scheduled job failed");
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Panics on its first run, then succeeds; counts its runs.
    struct Fragile(AtomicUsize);

    #[async_trait]
    impl Job for Fragile {
        fn name(&self) -> &str {
            "fragile"
        }
        async fn run(&self, _now: Timestamp) -> anyhow::Result<()> {
            if self.0.fetch_add(1, Ordering::SeqCst) == 0 {
                panic!("a parser tripped");
            }
            Ok(())
        }
    }

    /// Counts its runs.
    struct Steady(AtomicUsize);

    #[async_trait]
    impl Job for Steady {
        fn name(&self) -> &str {
            "steady"
        }
        async fn run(&self, _now: Timestamp) -> anyhow::Result<()> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_job_that_panics_fails_its_tick_and_the_others_still_run() {
        let fragile = Arc::new(Fragile(AtomicUsize::new(0)));
        let steady = Arc::new(Steady(AtomicUsize::new(0)));
        let scheduler = Scheduler::new(
            Duration::from_millis(10),
            Arc::new(crate::state::SystemClock),
        )
        .with_job(fragile.clone())
        .with_job(steady.clone());
        assert_eq!(scheduler.run_once().await, 1);
        assert_eq!(steady.0.load(Ordering::SeqCst), 1, "the job after it ran");
        assert_eq!(scheduler.run_once().await, 0, "and it runs again next tick");
        assert_eq!(fragile.0.load(Ordering::SeqCst), 2);
    }
}
