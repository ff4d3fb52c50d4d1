//! Customer figures a manager reads: how the book of customers is graded, how deep the team
//! reaches into each customer's decision chain (the seeds' B2B target: ≥ 2.3 roles met per
//! customer), and where each rep stands in the tenant on the seeds' three health metrics,
//! with the sentence the seeds show a rep ("您的线索激活率处于TOP15%，但客户覆盖深度仅TOP62%").

use crate::grading::{CustomerHealth, GradeClass, GradeSnapshot};
use serde::Serialize;

/// The seeds' coverage-depth target for B2B customers.
pub const COVERAGE_TARGET: f64 = 2.3;

/// Counts over a set of customers' grades.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GradeDistribution {
    pub customers: u64,
    pub a: u64,
    pub b: u64,
    pub c: u64,
    pub high_value: u64,
    pub churn_risk: u64,
    pub high_potential: u64,
    pub healthy: u64,
    /// Mean roles met per customer; `null` without customers.
    pub coverage_depth: Option<f64>,
    /// Whether `coverage_depth` reaches the seeds' target of 2.3.
    pub coverage_on_target: Option<bool>,
}

impl GradeDistribution {
    pub fn of<'a>(grades: impl IntoIterator<Item = &'a GradeSnapshot>) -> GradeDistribution {
        let mut d = GradeDistribution::default();
        let mut roles = 0u64;
        for s in grades {
            d.customers += 1;
            roles += u64::from(s.grade.roles_met);
            match s.grade.class {
                GradeClass::A => d.a += 1,
                GradeClass::B => d.b += 1,
                GradeClass::C => d.c += 1,
            }
            match s.grade.health {
                CustomerHealth::HighValue => d.high_value += 1,
                CustomerHealth::ChurnRisk => d.churn_risk += 1,
                CustomerHealth::HighPotential => d.high_potential += 1,
                CustomerHealth::Healthy => d.healthy += 1,
            }
        }
        d.coverage_depth = (d.customers > 0).then(|| round3(roles as f64 / d.customers as f64));
        d.coverage_on_target = d.coverage_depth.map(|c| c >= COVERAGE_TARGET);
        d
    }
}

pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Where `value` ranks among `all` (higher is better) as the seeds say it: "TOP 15%" means
/// 15% of the reps with a figure are at least as good. `None` when the rep has no figure.
pub fn top_percent(all: &[f64], value: Option<f64>) -> Option<u32> {
    let v = value?;
    let n = all.len().max(1);
    let at_least_as_good = all.iter().filter(|x| **x >= v).count().max(1);
    Some(((at_least_as_good * 100) as f64 / n as f64).ceil() as u32)
}

/// One health metric's standing, for the suggestion.
pub struct Standing<'a> {
    pub zh: &'a str,
    pub en: &'a str,
    pub top: Option<u32>,
}

/// The seeds' sentence: the rep's best metric, and the weakest when it lags (outside the top
/// half), in Chinese and English.
pub fn suggestion(standings: &[Standing<'_>]) -> Option<String> {
    let ranked: Vec<&Standing<'_>> = standings.iter().filter(|s| s.top.is_some()).collect();
    let best = ranked.iter().min_by_key(|s| s.top)?;
    let worst = ranked.iter().max_by_key(|s| s.top)?;
    let (b, w) = (best.top?, worst.top?);
    Some(if w > 50 && w > b {
        format!(
            "您的{}处于TOP{b}%，但{}仅TOP{w}% / Your {} is in the top {b}%, but your {} only in the top {w}%",
            best.zh, worst.zh, best.en, worst.en
        )
    } else {
        format!(
            "您的各项健康指标均在TOP{w}%以内，{}最好（TOP{b}%） / All your health metrics are in the top {w}%; best: {} (top {b}%)",
            best.zh, best.en
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_percent_counts_reps_at_least_as_good() {
        let all = [0.9, 0.8, 0.5, 0.5, 0.1];
        assert_eq!(top_percent(&all, Some(0.9)), Some(20));
        assert_eq!(
            top_percent(&all, Some(0.5)),
            Some(80),
            "ties share the lower rank"
        );
        assert_eq!(top_percent(&all, Some(0.1)), Some(100));
        assert_eq!(top_percent(&all, None), None);
    }

    #[test]
    fn the_suggestion_names_the_best_and_the_lagging_metric() {
        let s = |zh, en, top| Standing { zh, en, top };
        let text = suggestion(&[
            s("线索激活率", "lead activation rate", Some(15)),
            s("客户覆盖深度", "customer coverage depth", Some(62)),
            s("方案迭代频率", "proposal iteration frequency", None),
        ])
        .unwrap();
        assert!(
            text.starts_with("您的线索激活率处于TOP15%，但客户覆盖深度仅TOP62%"),
            "{text}"
        );
        let even = suggestion(&[s("线索激活率", "lead activation rate", Some(30))]).unwrap();
        assert!(even.contains("TOP30%以内"), "{even}");
        assert_eq!(suggestion(&[s("x", "x", None)]), None);
    }
}
