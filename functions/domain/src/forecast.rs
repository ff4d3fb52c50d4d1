//! The sales forecast and its backtest, from the tenant's own history. A stage's win
//! probability is the share of closed deals that were once in it and were won, pulled toward
//! the stage's default when the history is thin; the forecast for a period is what was won so
//! far plus Σ amount × p over open deals expected to close in it, with a range from the
//! variance Σ amount²·p(1−p). The backtest rebuilds the pipeline as it stood at the start of
//! each past month from the stage log and scores the forecast against what was won.

use crate::Timestamp;
use crate::deal::{Deal, StageChange};
use crate::id::DealId;
use crate::pipeline::{ForecastCategory, Pipeline, StageKind};
use serde::Serialize;
use std::collections::HashMap;

/// How many closed deals the stage default counts as (the smoothing's weight).
pub const PRIOR_STRENGTH: f64 = 10.0;
/// z for a two-sided 90 % range.
const Z90: f64 = 1.645;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StageProbability {
    pub stage: String,
    /// Closed deals that were once in this stage, and how many of them were won.
    pub closed: u64,
    pub won: u64,
    pub default_probability: f64,
    /// `(won + k·default) / (closed + k)` with k = `PRIOR_STRENGTH`.
    pub probability: f64,
}

/// Win probability per stage from deals closed before `before`.
pub fn win_probabilities(
    pipeline: &Pipeline,
    deals: &[Deal],
    log: &[StageChange],
    before: Timestamp,
) -> Vec<StageProbability> {
    let closed: HashMap<DealId, bool> = deals
        .iter()
        .filter(|d| d.status != StageKind::Open && d.closed_at.is_some_and(|c| c < before))
        .map(|d| (d.id, d.status == StageKind::Won))
        .collect();
    let mut seen: HashMap<(&str, DealId), ()> = HashMap::new();
    for line in log.iter().filter(|l| l.at < before) {
        if closed.contains_key(&line.deal) {
            seen.insert((line.to.as_str(), line.deal), ());
        }
    }
    pipeline
        .stages
        .iter()
        .map(|stage| {
            let in_stage: Vec<bool> = seen
                .keys()
                .filter(|(s, _)| *s == stage.key)
                .map(|(_, d)| closed[d])
                .collect();
            let n = in_stage.len() as f64;
            let won = in_stage.iter().filter(|w| **w).count() as f64;
            let p0 = stage.win_probability;
            let probability = match stage.kind {
                StageKind::Won => 1.0,
                StageKind::Lost => 0.0,
                StageKind::Open => (won + PRIOR_STRENGTH * p0) / (n + PRIOR_STRENGTH),
            };
            StageProbability {
                stage: stage.key.clone(),
                closed: n as u64,
                won: won as u64,
                default_probability: p0,
                probability,
            }
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Forecast {
    pub from: chrono::DateTime<chrono::Utc>,
    pub to: chrono::DateTime<chrono::Utc>,
    /// Won in the period so far.
    pub won_to_date: u64,
    /// `won_to_date` + Σ amount × p over open deals expected to close in the period.
    pub expected: f64,
    /// A 90 % range around `expected` (normal approximation, not below `won_to_date`).
    pub low: f64,
    pub high: f64,
    /// Won so far plus open deals in commit stages.
    pub commit: u64,
    /// Commit plus open deals in best-case stages.
    pub best_case: u64,
    /// Every open deal expected to close in the period.
    pub pipeline: u64,
    /// Open deals expected in the period, and open deals with no expected close date (not
    /// counted anywhere above).
    pub open_deals: u64,
    pub unscheduled_deals: u64,
    pub probabilities: Vec<StageProbability>,
}

/// The forecast for `[from, to)` as things stand at `as_of`: deals as they are now, stage
/// probabilities from what closed before `as_of`.
pub fn forecast(
    pipeline: &Pipeline,
    deals: &[Deal],
    log: &[StageChange],
    from: Timestamp,
    to: Timestamp,
    as_of: Timestamp,
) -> Forecast {
    let probabilities = win_probabilities(pipeline, deals, log, as_of);
    let p: HashMap<&str, f64> = probabilities
        .iter()
        .map(|s| (s.stage.as_str(), s.probability))
        .collect();
    let in_period = |t: Timestamp| t >= from && t < to;
    let won_to_date: u64 = deals
        .iter()
        .filter(|d| d.status == StageKind::Won && d.closed_at.is_some_and(in_period))
        .map(|d| d.amount)
        .sum();
    let expected_in = |d: &Deal| {
        d.expected_close.is_some_and(|day| {
            let noon = day.and_hms_opt(12, 0, 0).expect("a valid time").and_utc();
            in_period(noon)
        })
    };
    let open: Vec<&Deal> = deals
        .iter()
        .filter(|d| d.status == StageKind::Open)
        .collect();
    let scheduled: Vec<&&Deal> = open.iter().filter(|d| expected_in(d)).collect();
    let (mut mean, mut variance) = (won_to_date as f64, 0.0);
    let (mut commit, mut best_case, mut total) = (won_to_date, won_to_date, 0u64);
    for deal in &scheduled {
        let prob = p.get(deal.stage.as_str()).copied().unwrap_or(0.0);
        let amount = deal.amount as f64;
        mean += amount * prob;
        variance += amount * amount * prob * (1.0 - prob);
        total += deal.amount;
        match pipeline.stage(&deal.stage).map(|s| s.forecast) {
            Some(ForecastCategory::Commit) => {
                commit += deal.amount;
                best_case += deal.amount;
            }
            Some(ForecastCategory::BestCase) => best_case += deal.amount,
            _ => {}
        }
    }
    let spread = Z90 * variance.sqrt();
    Forecast {
        from,
        to,
        won_to_date,
        expected: mean,
        low: (mean - spread).max(won_to_date as f64),
        high: mean + spread,
        commit,
        best_case,
        pipeline: total,
        open_deals: scheduled.len() as u64,
        unscheduled_deals: open.iter().filter(|d| d.expected_close.is_none()).count() as u64,
        probabilities,
    }
}

/// Rewinds deals to how they stood at `at` from the stage log: deals created by then, each
/// in the stage it was in then (open, since closing is a stage too).
fn as_of(deals: &[Deal], log: &[StageChange], at: Timestamp) -> Vec<Deal> {
    let mut last: HashMap<DealId, &StageChange> = HashMap::new();
    for line in log.iter().filter(|l| l.at < at) {
        let keep = last
            .get(&line.deal)
            .is_none_or(|prev| prev.version < line.version);
        if keep {
            last.insert(line.deal, line);
        }
    }
    deals
        .iter()
        .filter(|d| d.created_at < at)
        .filter_map(|d| {
            let line = last.get(&d.id)?;
            let mut then = d.clone();
            then.stage = line.to.clone();
            then.stage_entered_at = line.at;
            then.status = if line.to == d.stage {
                d.status
            } else {
                StageKind::Open
            };
            if then.status == StageKind::Open {
                then.closed_at = None;
            }
            Some(then)
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BacktestMonth {
    pub from: chrono::DateTime<chrono::Utc>,
    pub to: chrono::DateTime<chrono::Utc>,
    /// What the forecast said at the start of the month.
    pub forecast: f64,
    /// What was won in the month.
    pub actual: u64,
    /// The naive forecast: the previous month's won amount.
    pub naive: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Backtest {
    pub months: Vec<BacktestMonth>,
    /// Σ|forecast − actual| / Σ actual; `null` when nothing was won.
    pub wape: Option<f64>,
    /// Σ(forecast − actual) / Σ actual: positive means optimistic.
    pub bias: Option<f64>,
    pub naive_wape: Option<f64>,
    /// 1 − wape / naive_wape: above 0 beats "same as last month".
    pub skill: Option<f64>,
}

fn won_in(deals: &[Deal], from: Timestamp, to: Timestamp) -> u64 {
    deals
        .iter()
        .filter(|d| d.status == StageKind::Won && d.closed_at.is_some_and(|c| c >= from && c < to))
        .map(|d| d.amount)
        .sum()
}

/// Scores the forecast on each `(start, end)` month: made at the month's start from the
/// pipeline as it stood then and the deals closed before it.
pub fn backtest(
    pipeline: &Pipeline,
    deals: &[Deal],
    log: &[StageChange],
    months: &[(Timestamp, Timestamp)],
) -> Backtest {
    let mut out = Vec::new();
    for &(from, to) in months {
        let then = as_of(deals, log, from);
        let made = forecast(pipeline, &then, log, from, to, from);
        let previous = from - (to - from);
        out.push(BacktestMonth {
            from,
            to,
            forecast: made.expected,
            actual: won_in(deals, from, to),
            naive: won_in(deals, previous, from),
        });
    }
    let actual: f64 = out.iter().map(|m| m.actual as f64).sum();
    let ratio = |x: f64| (actual > 0.0).then(|| x / actual);
    let wape = ratio(
        out.iter()
            .map(|m| (m.forecast - m.actual as f64).abs())
            .sum(),
    );
    let bias = ratio(out.iter().map(|m| m.forecast - m.actual as f64).sum());
    let naive_wape = ratio(
        out.iter()
            .map(|m| (m.naive as f64 - m.actual as f64).abs())
            .sum(),
    );
    let skill = match (wape, naive_wape) {
        (Some(w), Some(n)) if n > 0.0 => Some(1.0 - w / n),
        _ => None,
    };
    Backtest {
        months: out,
        wape,
        bias,
        naive_wape,
        skill,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deal::test_support::walked;
    use crate::id::TenantId;
    use chrono::{Duration, NaiveDate, TimeZone, Utc};

    fn day(d: i64) -> Timestamp {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + Duration::days(d)
    }

    fn deal(
        p: &Pipeline,
        amount: u64,
        close: Option<NaiveDate>,
        start: Timestamp,
        path: &[(&str, Timestamp)],
    ) -> (Deal, Vec<StageChange>) {
        walked(p, None, amount, close, start, path)
    }

    fn feb(d: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(2026, 2, d)
    }

    #[test]
    fn probabilities_lean_on_history_as_it_grows() {
        let p = Pipeline::default_for(&TenantId::parse("acme").unwrap());
        // Two January deals passed through demo_done: one won, one lost.
        let (a, la) = deal(
            &p,
            100,
            None,
            day(0),
            &[("demo_done", day(1)), ("won", day(5))],
        );
        let (b, lb) = deal(
            &p,
            100,
            None,
            day(0),
            &[("demo_done", day(1)), ("lost", day(6))],
        );
        let probs = win_probabilities(&p, &[a, b], &[la, lb].concat(), day(31));
        let demo = probs.iter().find(|s| s.stage == "demo_done").unwrap();
        // (1 + 10 × 0.25) / (2 + 10) = 3.5 / 12.
        assert_eq!((demo.closed, demo.won), (2, 1));
        assert!((demo.probability - 3.5 / 12.0).abs() < 1e-12);
        let proposal = probs.iter().find(|s| s.stage == "proposal_sent").unwrap();
        assert_eq!((proposal.closed, proposal.probability), (0, 0.40));
        // Before either closed, only the defaults speak.
        let early = win_probabilities(&p, &[], &[], day(3));
        assert_eq!(early[2].probability, 0.25);
    }

    #[test]
    fn the_forecast_adds_expected_wins_to_wins_so_far_with_a_range() {
        let p = Pipeline::default_for(&TenantId::parse("acme").unwrap());
        // Won on Feb 3 (1000); open in contract_pending (commit, default 0.8) expected Feb 20
        // (2000); open in proposal_sent (best case, 0.4) expected Feb 25 (500); open but
        // expected in March (900); open without a date (50).
        let (won, lw) = deal(&p, 1000, feb(3), day(20), &[("won", day(33))]);
        let (commit, lc) = deal(&p, 2000, feb(20), day(20), &[("contract_pending", day(25))]);
        let (best, lbst) = deal(&p, 500, feb(25), day(20), &[("proposal_sent", day(25))]);
        let (march, lm) = deal(&p, 900, NaiveDate::from_ymd_opt(2026, 3, 5), day(20), &[]);
        let (undated, lu) = deal(&p, 50, None, day(20), &[]);
        let deals = [won, commit, best, march, undated];
        let log = [lw, lc, lbst, lm, lu].concat();
        let f = forecast(&p, &deals, &log, day(31), day(59), day(40));
        assert_eq!(f.won_to_date, 1000);
        // The won deal's history (it passed only "new") moves new's probability:
        // (1 + 10 × 0.05) / 11. Not used here: no open February deal sits in "new".
        let expected = 1000.0 + 2000.0 * 0.8 + 500.0 * 0.4;
        assert!((f.expected - expected).abs() < 1e-9, "{}", f.expected);
        let variance: f64 = 2000.0f64.powi(2) * 0.8 * 0.2 + 500.0f64.powi(2) * 0.4 * 0.6;
        assert!((f.high - (expected + 1.645 * variance.sqrt())).abs() < 1e-9);
        assert!((f.low - (expected - 1.645 * variance.sqrt())).abs() < 1e-9);
        assert_eq!((f.commit, f.best_case, f.pipeline), (3000, 3500, 2500));
        assert_eq!((f.open_deals, f.unscheduled_deals), (2, 1));
    }

    #[test]
    fn the_backtest_rebuilds_each_month_from_the_stage_log() {
        let p = Pipeline::default_for(&TenantId::parse("acme").unwrap());
        // Entered contract_pending in January, won on Feb 10 (amount 1000, expected Feb).
        let (a, la) = deal(
            &p,
            1000,
            feb(10),
            day(0),
            &[("contract_pending", day(5)), ("won", day(40))],
        );
        // Won in January (amount 300): the naive forecast for February.
        let (b, lb) = deal(
            &p,
            300,
            NaiveDate::from_ymd_opt(2026, 1, 20),
            day(0),
            &[("won", day(19))],
        );
        let months = [(day(31), day(59))];
        let bt = backtest(&p, &[a, b], &[la, lb].concat(), &months);
        let feb = &bt.months[0];
        // At Feb 1 deal A stood in contract_pending; B had been won: of closed deals only B
        // (which passed "new" and "won") — contract_pending keeps its default 0.8.
        assert!((feb.forecast - 800.0).abs() < 1e-9, "{}", feb.forecast);
        assert_eq!((feb.actual, feb.naive), (1000, 300));
        assert!((bt.wape.unwrap() - 0.2).abs() < 1e-12);
        assert!((bt.bias.unwrap() + 0.2).abs() < 1e-12);
        assert!((bt.naive_wape.unwrap() - 0.7).abs() < 1e-12);
        assert!((bt.skill.unwrap() - (1.0 - 0.2 / 0.7)).abs() < 1e-12);
    }
}
