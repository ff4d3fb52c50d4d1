//! The sales forecast and its backtest, from the tenant's own history. A stage's win
//! probability is the share of closed deals that were once in it and were won, pulled toward
//! the stage's default when the history is thin; the forecast for a period is what was won so
//! far plus Σ amount × p over open deals expected to close in it, with a range from the
//! variance Σ amount²·p(1−p). The backtest rebuilds the pipeline as it stood at the start of
//! each past month from the stage log and scores the forecast against what was won.

use crate::Timestamp;
use crate::deal_facts::DealFacts;
use crate::pipeline::{ForecastCategory, Pipeline, StageKind};
use serde::Serialize;

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

/// Win probability per stage from deals closed before `before`: per stage, the closed deals
/// that entered it before then, and how many of those were won.
pub fn win_probabilities(
    pipeline: &Pipeline,
    deals: &[DealFacts],
    before: Timestamp,
) -> Vec<StageProbability> {
    let n = pipeline.stages.len();
    let (mut closed, mut won) = (vec![0u64; n], vec![0u64; n]);
    let mut seen = Vec::new();
    for deal in deals
        .iter()
        .filter(|d| d.status != StageKind::Open && d.closed_at.is_some_and(|c| c < before))
    {
        seen.clear();
        seen.extend(
            deal.path
                .iter()
                .filter(|s| s.at < before)
                .filter_map(|s| pipeline.position(&s.to)),
        );
        seen.sort_unstable();
        seen.dedup();
        for &i in &seen {
            closed[i] += 1;
            won[i] += u64::from(deal.status == StageKind::Won);
        }
    }
    pipeline
        .stages
        .iter()
        .enumerate()
        .map(|(i, stage)| {
            let (n, w) = (closed[i] as f64, won[i] as f64);
            let p0 = stage.win_probability;
            let probability = match stage.kind {
                StageKind::Won => 1.0,
                StageKind::Lost => 0.0,
                StageKind::Open => (w + PRIOR_STRENGTH * p0) / (n + PRIOR_STRENGTH),
            };
            StageProbability {
                stage: stage.key.clone(),
                closed: closed[i],
                won: won[i],
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

/// Where a deal stood at some instant: what the forecast reads.
#[derive(Debug, Clone, Copy)]
struct Position<'a> {
    stage: &'a str,
    status: StageKind,
    closed_at: Option<Timestamp>,
    amount: u64,
    expected_close: Option<chrono::NaiveDate>,
}

impl<'a> Position<'a> {
    fn now(deal: &'a DealFacts) -> Self {
        Position {
            stage: &deal.stage,
            status: deal.status,
            closed_at: deal.closed_at,
            amount: deal.amount,
            expected_close: deal.expected_close,
        }
    }

    /// Where `deal` stood at `at`, from its path: the stage of its last entry before then
    /// (open unless that is the stage it closed in); `None` before it had a stage.
    fn at(deal: &'a DealFacts, at: Timestamp) -> Option<Self> {
        if deal.created_at >= at {
            return None;
        }
        let step = deal.path.iter().rfind(|s| s.at < at)?;
        let status = if step.to == deal.stage {
            deal.status
        } else {
            StageKind::Open
        };
        Some(Position {
            stage: &step.to,
            status,
            closed_at: deal.closed_at.filter(|_| status != StageKind::Open),
            amount: deal.amount,
            expected_close: deal.expected_close,
        })
    }
}

/// The forecast for `[from, to)` as things stand at `as_of`: deals as they are now, stage
/// probabilities from what closed before `as_of`.
pub fn forecast(
    pipeline: &Pipeline,
    deals: &[DealFacts],
    from: Timestamp,
    to: Timestamp,
    as_of: Timestamp,
) -> Forecast {
    let probabilities = win_probabilities(pipeline, deals, as_of);
    project(
        pipeline,
        deals.iter().map(Position::now),
        probabilities,
        from,
        to,
    )
}

/// The forecast from deals' positions and the stage probabilities.
fn project<'a>(
    pipeline: &Pipeline,
    positions: impl Iterator<Item = Position<'a>>,
    probabilities: Vec<StageProbability>,
    from: Timestamp,
    to: Timestamp,
) -> Forecast {
    // Probabilities come per pipeline stage, in its order.
    let p = |stage: &str| {
        pipeline
            .position(stage)
            .map(|i| (probabilities[i].probability, pipeline.stages[i].forecast))
    };
    let in_period = |t: Timestamp| t >= from && t < to;
    let expected_in = |d: &Position| {
        d.expected_close.is_some_and(|day| {
            let noon = day.and_hms_opt(12, 0, 0).expect("a valid time").and_utc();
            in_period(noon)
        })
    };
    let mut won_to_date = 0u64;
    let (mut scheduled, mut unscheduled) = (0u64, 0u64);
    let (mut expected, mut variance) = (0.0, 0.0);
    let (mut commit, mut best_case, mut total) = (0u64, 0u64, 0u64);
    for deal in positions {
        if deal.status == StageKind::Won && deal.closed_at.is_some_and(in_period) {
            won_to_date += deal.amount;
        }
        if deal.status != StageKind::Open {
            continue;
        }
        if deal.expected_close.is_none() {
            unscheduled += 1;
        }
        if !expected_in(&deal) {
            continue;
        }
        scheduled += 1;
        let (prob, category) = p(deal.stage).map_or((0.0, None), |(p, c)| (p, Some(c)));
        let amount = deal.amount as f64;
        expected += amount * prob;
        variance += amount * amount * prob * (1.0 - prob);
        total += deal.amount;
        match category {
            Some(ForecastCategory::Commit) => {
                commit += deal.amount;
                best_case += deal.amount;
            }
            Some(ForecastCategory::BestCase) => best_case += deal.amount,
            _ => {}
        }
    }
    let mean = won_to_date as f64 + expected;
    let spread = Z90 * variance.sqrt();
    Forecast {
        from,
        to,
        won_to_date,
        expected: mean,
        low: (mean - spread).max(won_to_date as f64),
        high: mean + spread,
        commit: won_to_date + commit,
        best_case: won_to_date + best_case,
        pipeline: total,
        open_deals: scheduled,
        unscheduled_deals: unscheduled,
        probabilities,
    }
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

fn won_in(deals: &[DealFacts], from: Timestamp, to: Timestamp) -> u64 {
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
    deals: &[DealFacts],
    months: &[(Timestamp, Timestamp)],
) -> Backtest {
    let mut out = Vec::new();
    for &(from, to) in months {
        let probabilities = win_probabilities(pipeline, deals, from);
        let then = deals.iter().filter_map(|d| Position::at(d, from));
        let made = project(pipeline, then, probabilities, from, to);
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
    ) -> DealFacts {
        let (deal, log) = walked(p, None, amount, close, start, path);
        DealFacts::of(&deal, &log)
    }

    fn feb(d: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(2026, 2, d)
    }

    #[test]
    fn probabilities_lean_on_history_as_it_grows() {
        let p = Pipeline::default_for(&TenantId::parse("acme").unwrap());
        // Two January deals passed through demo_done: one won, one lost.
        let a = deal(
            &p,
            100,
            None,
            day(0),
            &[("demo_done", day(1)), ("won", day(5))],
        );
        let b = deal(
            &p,
            100,
            None,
            day(0),
            &[("demo_done", day(1)), ("lost", day(6))],
        );
        let probs = win_probabilities(&p, &[a, b], day(31));
        let demo = probs.iter().find(|s| s.stage == "demo_done").unwrap();
        // (1 + 10 × 0.25) / (2 + 10) = 3.5 / 12.
        assert_eq!((demo.closed, demo.won), (2, 1));
        assert!((demo.probability - 3.5 / 12.0).abs() < 1e-12);
        let proposal = probs.iter().find(|s| s.stage == "proposal_sent").unwrap();
        assert_eq!((proposal.closed, proposal.probability), (0, 0.40));
        // Before either closed, only the defaults speak.
        let early = win_probabilities(&p, &[], day(3));
        assert_eq!(early[2].probability, 0.25);
    }

    #[test]
    fn the_forecast_adds_expected_wins_to_wins_so_far_with_a_range() {
        let p = Pipeline::default_for(&TenantId::parse("acme").unwrap());
        // Won on Feb 3 (1000); open in contract_pending (commit, default 0.8) expected Feb 20
        // (2000); open in proposal_sent (best case, 0.4) expected Feb 25 (500); open but
        // expected in March (900); open without a date (50).
        let won = deal(&p, 1000, feb(3), day(20), &[("won", day(33))]);
        let commit = deal(&p, 2000, feb(20), day(20), &[("contract_pending", day(25))]);
        let best = deal(&p, 500, feb(25), day(20), &[("proposal_sent", day(25))]);
        let march = deal(&p, 900, NaiveDate::from_ymd_opt(2026, 3, 5), day(20), &[]);
        let undated = deal(&p, 50, None, day(20), &[]);
        let deals = [won, commit, best, march, undated];
        let f = forecast(&p, &deals, day(31), day(59), day(40));
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
        let a = deal(
            &p,
            1000,
            feb(10),
            day(0),
            &[("contract_pending", day(5)), ("won", day(40))],
        );
        // Won in January (amount 300): the naive forecast for February.
        let b = deal(
            &p,
            300,
            NaiveDate::from_ymd_opt(2026, 1, 20),
            day(0),
            &[("won", day(19))],
        );
        let months = [(day(31), day(59))];
        let bt = backtest(&p, &[a, b], &months);
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
