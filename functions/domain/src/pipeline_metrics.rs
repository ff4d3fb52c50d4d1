//! Process figures of a pipeline, rebuilt from each deal's path (its stage log): the funnel, stage penetration,
//! dwell per stage (and per stage × team: the 过程断点热力图), win rate, cycle length and the
//! stalled list. Facts only — a rule change never rewrites these.

use crate::Timestamp;
use crate::deal_facts::DealFacts;
use crate::id::{DealId, TeamId, UserId};
use crate::pipeline::{Pipeline, StageKind};
use serde::Serialize;
use std::collections::BTreeMap;

/// Which deals and which time the figures are about.
#[derive(Debug, Clone, Copy)]
pub struct Period {
    pub from: Timestamp,
    pub to: Timestamp,
    /// Penetration counts a deal entering the next stage within this many hours.
    pub within_hours: i64,
    pub now: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StageFigures {
    pub stage: String,
    /// Deals created in the period that reached this stage (or, for open and won stages, a
    /// later one: a skipped stage still counts as passed).
    pub reached: u64,
    /// Of the deals that entered this stage, the share that entered the next open (or won)
    /// stage within `within_hours`; `null` for the last stage or when none entered.
    pub penetration: Option<f64>,
    /// Completed stays in this stage that ended in the period.
    pub stays: u64,
    pub median_dwell_hours: Option<f64>,
    pub p90_dwell_hours: Option<f64>,
}

/// One cell of the heat map: a stage's median dwell for one team.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HeatCell {
    pub stage: String,
    /// `null`: deals without a team.
    pub team: Option<TeamId>,
    pub stays: u64,
    pub median_dwell_hours: f64,
    /// Above the stage's rotting limit: the process breaks here.
    pub over_threshold: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StalledDeal {
    pub id: DealId,
    pub title: String,
    pub stage: String,
    pub owner: UserId,
    pub amount: u64,
    pub overdue_days: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PipelineMetrics {
    pub pipeline: String,
    /// Deals created in the period.
    pub cohort: u64,
    pub stages: Vec<StageFigures>,
    pub heat_map: Vec<HeatCell>,
    /// Deals closed in the period: won / (won + lost); `null` when none closed.
    pub win_rate: Option<f64>,
    pub won: u64,
    pub lost: u64,
    pub won_amount: u64,
    /// Mean days from creation to winning, over deals won in the period.
    pub average_cycle_days: Option<f64>,
    /// Open deals past their stage's rotting limit now, most overdue first (at most 50).
    pub stalled: Vec<StalledDeal>,
}

fn hours(seconds: i64) -> f64 {
    seconds as f64 / 3600.0
}

/// The value at quantile `q` (0..=1) of sorted values, by the nearest-rank method.
fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil().max(1.0) as usize;
    Some(sorted[rank.min(sorted.len()) - 1])
}

fn median(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// The figures for `deals` (already scoped to what the caller may see, all in `pipeline`).
pub fn pipeline_metrics(
    pipeline: &Pipeline,
    deals: &[DealFacts],
    period: Period,
) -> PipelineMetrics {
    let in_period = |t: Timestamp| t >= period.from && t < period.to;
    let n = pipeline.stages.len();
    let next_of = |i: usize| (i + 1..n).find(|&j| pipeline.stages[j].kind != StageKind::Lost);
    let window = chrono::Duration::hours(period.within_hours);
    let mut cohort = 0u64;
    let mut reached = vec![0u64; n];
    let mut entered_count = vec![0u64; n];
    let mut went_on = vec![0u64; n];
    let mut stays: Vec<Vec<f64>> = vec![Vec::new(); n];
    let mut cells: BTreeMap<(usize, Option<TeamId>), Vec<f64>> = BTreeMap::new();
    // Each step's stage position, resolved once per deal (a buffer reused across deals).
    let mut at: Vec<Option<usize>> = Vec::new();
    for deal in deals {
        at.clear();
        at.extend(deal.path.iter().map(|s| pipeline.position(&s.to)));
        if in_period(deal.created_at) {
            cohort += 1;
            // Funnel: the furthest open/won stage entered; lost stages by entry.
            let furthest = at
                .iter()
                .flatten()
                .copied()
                .filter(|&i| pipeline.stages[i].kind != StageKind::Lost)
                .max();
            for (i, stage) in pipeline.stages.iter().enumerate() {
                let hit = match stage.kind {
                    StageKind::Lost => at.contains(&Some(i)),
                    _ => furthest.is_some_and(|f| f >= i),
                };
                reached[i] += u64::from(hit);
            }
            // Penetration: entered A, then entered B (the next non-lost stage) within N hours.
            for (i, stage) in pipeline.stages.iter().enumerate() {
                if stage.kind != StageKind::Open {
                    continue;
                }
                let Some(first) = at.iter().position(|&p| p == Some(i)) else {
                    continue;
                };
                entered_count[i] += 1;
                let Some(j) = next_of(i) else { continue };
                let entry = deal.path[first].at;
                let on_time = deal
                    .path
                    .iter()
                    .zip(&at)
                    .any(|(s, &p)| p == Some(j) && s.at >= entry && s.at - entry <= window);
                went_on[i] += u64::from(on_time);
            }
        }
        // Dwell: completed stays (a step leaving the stage) that ended in the period.
        for (k, step) in deal.path.iter().enumerate().skip(1) {
            let Some(i) = at[k - 1] else { continue };
            if !in_period(step.at) {
                continue;
            }
            let h = hours(step.seconds_in_previous);
            stays[i].push(h);
            cells.entry((i, deal.team)).or_default().push(h);
        }
    }
    let sorted = |mut v: Vec<f64>| {
        v.sort_unstable_by(f64::total_cmp);
        v
    };
    let stages = pipeline
        .stages
        .iter()
        .enumerate()
        .map(|(i, stage)| {
            let dwell = sorted(std::mem::take(&mut stays[i]));
            let penetration =
                (stage.kind == StageKind::Open && next_of(i).is_some() && entered_count[i] > 0)
                    .then(|| went_on[i] as f64 / entered_count[i] as f64);
            StageFigures {
                stage: stage.key.clone(),
                reached: reached[i],
                penetration,
                stays: dwell.len() as u64,
                median_dwell_hours: median(&dwell),
                p90_dwell_hours: quantile(&dwell, 0.9),
            }
        })
        .collect();
    let heat_map = cells
        .into_iter()
        .map(|((i, team), v)| {
            let v = sorted(v);
            let m = median(&v).unwrap_or_default();
            let limit = pipeline.stages[i].rotting_days.map(|d| f64::from(d) * 24.0);
            HeatCell {
                stage: pipeline.stages[i].key.clone(),
                team,
                stays: v.len() as u64,
                median_dwell_hours: m,
                over_threshold: limit.is_some_and(|l| m > l),
            }
        })
        .collect();

    // Outcomes of deals closed in the period.
    let closed: Vec<&DealFacts> = deals
        .iter()
        .filter(|d| d.status != StageKind::Open && d.closed_at.is_some_and(in_period))
        .collect();
    let won: Vec<&&DealFacts> = closed
        .iter()
        .filter(|d| d.status == StageKind::Won)
        .collect();
    let lost = closed.len() - won.len();
    let cycles: Vec<f64> = won
        .iter()
        .filter_map(|d| {
            d.closed_at
                .map(|c| (c - d.created_at).num_seconds() as f64 / 86_400.0)
        })
        .collect();
    let mut stalled: Vec<StalledDeal> = deals
        .iter()
        .filter(|d| d.status == StageKind::Open && d.rots_at.is_some_and(|r| r < period.now))
        .map(|d| StalledDeal {
            id: d.id,
            title: d.title.clone(),
            stage: d.stage.to_string(),
            owner: d.owner,
            amount: d.amount,
            overdue_days: d.overdue_days(period.now),
        })
        .collect();
    stalled.sort_by(|a, b| {
        b.overdue_days
            .cmp(&a.overdue_days)
            .then(b.amount.cmp(&a.amount))
    });
    stalled.truncate(50);
    PipelineMetrics {
        pipeline: pipeline.id.clone(),
        cohort,
        stages,
        heat_map,
        win_rate: (!closed.is_empty()).then(|| won.len() as f64 / closed.len() as f64),
        won: won.len() as u64,
        lost: lost as u64,
        won_amount: won.iter().map(|d| d.amount).sum(),
        average_cycle_days: (!cycles.is_empty())
            .then(|| cycles.iter().sum::<f64>() / cycles.len() as f64),
        stalled,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deal::test_support::walked;
    use crate::id::TenantId;
    use chrono::{Duration, TimeZone, Utc};

    fn t(day: i64, hour: i64) -> Timestamp {
        Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap()
            + Duration::days(day)
            + Duration::hours(hour)
    }

    /// A deal created at `start` that walks `path` (stage, at) — through the real state
    /// machine, so the log is what the store would hold.
    fn walk(
        p: &Pipeline,
        team: Option<TeamId>,
        amount: u64,
        start: Timestamp,
        path: &[(&str, Timestamp)],
    ) -> DealFacts {
        let (deal, log) = walked(p, team, amount, Some(start.date_naive()), start, path);
        DealFacts::of(&deal, &log)
    }

    /// Four October deals, hand-computed:
    /// A (East): new d0 → first_call d1 → demo_done d3 → won d10 (skips three stages).
    /// B (East): new d2 → first_call d2+12h → lost d5.
    /// C (South): new d4 → demo_done d9 (skips first_call), still open.
    /// D (South): new d5, still open; created in the period, never moved.
    #[test]
    fn figures_match_a_hand_computed_month() {
        let p = Pipeline::default_for(&TenantId::parse("acme").unwrap());
        let (east, south) = (Some(TeamId::new()), Some(TeamId::new()));
        let a = walk(
            &p,
            east,
            100,
            t(0, 0),
            &[
                ("first_call", t(1, 0)),
                ("demo_done", t(3, 0)),
                ("won", t(10, 0)),
            ],
        );
        let b = walk(
            &p,
            east,
            50,
            t(2, 0),
            &[("first_call", t(2, 12)), ("lost", t(5, 0))],
        );
        let c = walk(&p, south, 70, t(4, 0), &[("demo_done", t(9, 0))]);
        let d = walk(&p, south, 30, t(5, 0), &[]);
        let deals = vec![a.clone(), b, c.clone(), d.clone()];
        let period = Period {
            from: t(0, 0),
            to: t(31, 0),
            within_hours: 72,
            now: t(20, 0),
        };
        let m = pipeline_metrics(&p, &deals, period);

        assert_eq!(m.cohort, 4);
        let reached: Vec<u64> = m.stages.iter().map(|s| s.reached).collect();
        // new 4; first_call A,B,C(skipped past) = 3; demo_done A,C = 2; proposal..contract A = 1;
        // won A = 1; lost B = 1.
        assert_eq!(reached, [4, 3, 2, 1, 1, 1, 1, 1]);
        let new = &m.stages[0];
        // Entered new: 4; on to first_call within 72 h: A (24 h) and B (12 h); C went to
        // demo_done instead, D stayed.
        assert_eq!(new.penetration, Some(0.5));
        // first_call: A (entered d1, demo d3: 48 h ✓), B (lost) → 1/2.
        assert_eq!(m.stages[1].penetration, Some(0.5));
        // Stays in new: A 24 h, B 12 h, C 120 h → median 24, p90 120.
        assert_eq!(
            (new.stays, new.median_dwell_hours, new.p90_dwell_hours),
            (3, Some(24.0), Some(120.0))
        );
        // Stays in first_call: A 48 h, B 60 h → median 54.
        assert_eq!(m.stages[1].median_dwell_hours, Some(54.0));
        assert_eq!(
            m.stages[2].median_dwell_hours,
            Some(168.0),
            "A: demo d3 → won d10"
        );

        // Heat map: new × East = median(24, 12) = 18 h (limit 48 h: fine);
        // new × South = 120 h > 48 h: flagged.
        let cell = |stage: &str, team| {
            m.heat_map
                .iter()
                .find(|c| c.stage == stage && c.team == team)
                .unwrap()
        };
        assert_eq!(
            (
                cell("new", east).median_dwell_hours,
                cell("new", east).over_threshold
            ),
            (18.0, false)
        );
        assert_eq!(
            (
                cell("new", south).median_dwell_hours,
                cell("new", south).over_threshold
            ),
            (120.0, true)
        );
        // demo_done × East: 168 h > 14 days? No: 168 h = 7 days < 14 days.
        assert!(!cell("demo_done", east).over_threshold);

        assert_eq!((m.won, m.lost, m.won_amount), (1, 1, 100));
        assert_eq!(m.win_rate, Some(0.5));
        assert_eq!(m.average_cycle_days, Some(10.0));
        // Now d20: D entered new d5, limit 2 days → 13 days over; C entered demo_done d9,
        // limit 14 days → not yet.
        assert_eq!(m.stalled.len(), 1);
        assert_eq!((m.stalled[0].id, m.stalled[0].overdue_days), (d.id, 13));
        let _ = (a, c);
    }

    #[test]
    fn an_empty_pipeline_has_no_rates() {
        let p = Pipeline::default_for(&TenantId::parse("acme").unwrap());
        let period = Period {
            from: t(0, 0),
            to: t(31, 0),
            within_hours: 72,
            now: t(20, 0),
        };
        let m = pipeline_metrics(&p, &[], period);
        assert_eq!(
            (m.cohort, m.win_rate, m.average_cycle_days),
            (0, None, None)
        );
        assert!(
            m.stages
                .iter()
                .all(|s| s.penetration.is_none() && s.median_dwell_hours.is_none())
        );
    }
}
