//! The timer sweeper: fires due timers into the outbox, where the rules pick them up.

use crate::scheduler::Job;
use crate::state::AppState;
use async_trait::async_trait;
use fieldline_domain::Timestamp;

/// Fires due timers into the outbox; the rules engine takes it from there.
pub struct TimerSweeper {
    state: AppState,
    batch: u32,
}

impl TimerSweeper {
    pub fn new(state: AppState) -> Self {
        Self { state, batch: 500 }
    }

    /// Fires everything due at `now`; returns how many fired.
    pub async fn sweep(&self, now: Timestamp) -> anyhow::Result<usize> {
        let mut total = 0;
        loop {
            let fired = self.state.timers.fire_due_timers(now, self.batch).await?;
            total += fired.len();
            if fired.len() < self.batch as usize {
                return Ok(total);
            }
        }
    }
}

#[async_trait]
impl Job for TimerSweeper {
    fn name(&self) -> &str {
        "timers"
    }

    async fn run(&self, now: Timestamp) -> anyhow::Result<()> {
        let n = self.sweep(now).await?;
        if n > 0 {
            tracing::debug!(fired = n, "timers fired");
        }
        Ok(())
    }
}
