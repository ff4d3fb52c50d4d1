//! What the deal reports (process metrics, forecast, backtest) read of a deal: a few fields
//! and the path it walked through the pipeline. Stores keep it per deal, written in the same
//! transaction as the deal and its stage log, so a report reads one compact row per deal
//! instead of every deal body and every log line; `DealFacts::of` is the one definition both
//! the stores and the tests build it from.

use crate::Timestamp;
use crate::deal::{Deal, StageChange};
use crate::id::{DealId, TeamId, UserId};
use crate::pipeline::StageKind;
use chrono::NaiveDate;
use std::sync::Arc;

/// One entry into a stage. Stage keys are shared (`Arc<str>`): a store reading a whole
/// pipeline hands out one copy of each key instead of one per step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageStep {
    pub to: Arc<str>,
    pub at: Timestamp,
    /// Seconds spent in the stage before this one (0 for the first).
    pub seconds_in_previous: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealFacts {
    pub id: DealId,
    pub title: String,
    pub owner: UserId,
    pub team: Option<TeamId>,
    pub amount: u64,
    pub expected_close: Option<NaiveDate>,
    pub created_at: Timestamp,
    pub closed_at: Option<Timestamp>,
    pub status: StageKind,
    pub stage: Arc<str>,
    pub rots_at: Option<Timestamp>,
    /// Every stage entry in log order (the stage it was created in first): the stage a step
    /// left is the previous step's `to`.
    pub path: Vec<StageStep>,
}

impl DealFacts {
    /// The facts of `deal` with its stage log `lines` (any order; other deals' lines are
    /// ignored).
    pub fn of(deal: &Deal, lines: &[StageChange]) -> Self {
        let mut own: Vec<&StageChange> = lines.iter().filter(|l| l.deal == deal.id).collect();
        own.sort_by_key(|l| l.version);
        DealFacts {
            id: deal.id,
            title: deal.title.clone(),
            owner: deal.owner,
            team: deal.team,
            amount: deal.amount,
            expected_close: deal.expected_close,
            created_at: deal.created_at,
            closed_at: deal.closed_at,
            status: deal.status,
            stage: Arc::from(deal.stage.as_str()),
            rots_at: deal.rots_at,
            path: own
                .into_iter()
                .map(|l| StageStep {
                    to: Arc::from(l.to.as_str()),
                    at: l.at,
                    seconds_in_previous: l.seconds_in_previous,
                })
                .collect(),
        }
    }

    /// Whole days past the stage's rotting limit at `now` (as `Deal::overdue_days`).
    pub fn overdue_days(&self, now: Timestamp) -> u32 {
        self.rots_at.map_or(0, |at| {
            (now - at).num_days().clamp(0, i64::from(u32::MAX)) as u32
        })
    }

    /// Completed stays: (stage left, step that left it).
    pub fn stays(&self) -> impl Iterator<Item = (&str, &StageStep)> {
        self.path.windows(2).map(|pair| (&*pair[0].to, &pair[1]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deal::test_support::walked;
    use crate::id::TenantId;
    use crate::pipeline::Pipeline;
    use chrono::{Duration, TimeZone, Utc};

    #[test]
    fn facts_follow_the_log_in_version_order_whatever_order_it_comes_in() {
        let p = Pipeline::default_for(&TenantId::parse("acme").unwrap());
        let t = Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap();
        let (deal, mut log) = walked(
            &p,
            None,
            100,
            None,
            t,
            &[
                ("first_call", t + Duration::hours(5)),
                ("won", t + Duration::days(2)),
            ],
        );
        let (other, other_log) = walked(&p, None, 5, None, t, &[]);
        log.reverse();
        log.extend(other_log);
        let facts = DealFacts::of(&deal, &log);
        let stages: Vec<&str> = facts.path.iter().map(|s| &*s.to).collect();
        assert_eq!(stages, ["new", "first_call", "won"]);
        let stays: Vec<(&str, i64)> = facts
            .stays()
            .map(|(left, step)| (left, step.seconds_in_previous))
            .collect();
        assert_eq!(stays, [("new", 5 * 3600), ("first_call", 43 * 3600)]);
        assert_eq!(
            (facts.status, facts.closed_at),
            (StageKind::Won, deal.closed_at)
        );
        assert_eq!(DealFacts::of(&other, &log).path.len(), 1);
    }
}
