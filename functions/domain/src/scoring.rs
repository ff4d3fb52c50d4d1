//! Lead priority: a transparent points policy instead of a black box, so a manager can read
//! why a lead is "S" and change the weights in config without code.
//!
//! Default policy (points add up to at most 100):
//!
//! | signal              | points                                                               |
//! |---------------------|----------------------------------------------------------------------|
//! | purchase urgency    | immediate 35, within a month 25, within a quarter 15, later 5        |
//! | decision role       | decision maker 25, influencer 15, user 8, gatekeeper 3               |
//! | budget (upper end)  | ≥1,000,000 → 25, ≥200,000 → 18, ≥50,000 → 10, any stated budget → 4  |
//! | source              | referral 10, trade show 8, partner 8, web form 6, advertising 5, cold call 3, import/other 2 |
//! | current brand known | 5 (we know whom we displace and they already buy the category)      |
//!
//! Tags: S ≥ 75, A ≥ 55, B ≥ 35, otherwise C. Unknown answers score 0, never a guess.

use crate::customer::DecisionRole;
use crate::error::DomainError;
use crate::lead::{LeadSource, PreScreen, PurchaseUrgency};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The priority tag shown on every lead: S needs attention today, C can wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Priority {
    S,
    A,
    B,
    C,
}

impl Priority {
    pub fn as_str(&self) -> &'static str {
        match self {
            Priority::S => "S",
            Priority::A => "A",
            Priority::B => "B",
            Priority::C => "C",
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Priority {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "S" | "s" => Ok(Priority::S),
            "A" | "a" => Ok(Priority::A),
            "B" | "b" => Ok(Priority::B),
            "C" | "c" => Ok(Priority::C),
            _ => Err(DomainError::invalid("priority", "must be S, A, B or C")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UrgencyPoints {
    pub immediate: u8,
    pub within_month: u8,
    pub within_quarter: u8,
    pub later: u8,
}

impl Default for UrgencyPoints {
    fn default() -> Self {
        Self {
            immediate: 35,
            within_month: 25,
            within_quarter: 15,
            later: 5,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RolePoints {
    pub decision_maker: u8,
    pub influencer: u8,
    pub user: u8,
    pub gatekeeper: u8,
}

impl Default for RolePoints {
    fn default() -> Self {
        Self {
            decision_maker: 25,
            influencer: 15,
            user: 8,
            gatekeeper: 3,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SourcePoints {
    pub referral: u8,
    pub trade_show: u8,
    pub partner: u8,
    pub web_form: u8,
    pub advertising: u8,
    pub cold_call: u8,
    pub import: u8,
    pub other: u8,
}

impl Default for SourcePoints {
    fn default() -> Self {
        Self {
            referral: 10,
            trade_show: 8,
            partner: 8,
            web_form: 6,
            advertising: 5,
            cold_call: 3,
            import: 2,
            other: 2,
        }
    }
}

/// A budget band: a stated budget whose upper end is at least `min_amount` earns `points`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetBand {
    pub min_amount: u64,
    pub points: u8,
}

/// Thresholds on the total score for each tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    pub s: u8,
    pub a: u8,
    pub b: u8,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            s: 75,
            a: 55,
            b: 35,
        }
    }
}

/// The whole policy; every part has a documented default and can be overridden in config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScoringPolicy {
    pub urgency: UrgencyPoints,
    pub decision_role: RolePoints,
    pub source: SourcePoints,
    /// Bands in the tenant's currency, any order; the highest matching band wins.
    pub budget_bands: Vec<BudgetBand>,
    pub current_brand_known: u8,
    pub thresholds: Thresholds,
}

impl Default for ScoringPolicy {
    fn default() -> Self {
        Self {
            urgency: UrgencyPoints::default(),
            decision_role: RolePoints::default(),
            source: SourcePoints::default(),
            budget_bands: vec![
                BudgetBand {
                    min_amount: 1_000_000,
                    points: 25,
                },
                BudgetBand {
                    min_amount: 200_000,
                    points: 18,
                },
                BudgetBand {
                    min_amount: 50_000,
                    points: 10,
                },
                BudgetBand {
                    min_amount: 0,
                    points: 4,
                },
            ],
            current_brand_known: 5,
            thresholds: Thresholds::default(),
        }
    }
}

/// Points per signal, kept with the lead as the evidence for its tag.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScoreBreakdown {
    pub urgency: u8,
    pub decision_role: u8,
    pub budget: u8,
    pub source: u8,
    pub current_brand: u8,
    pub total: u8,
}

impl ScoringPolicy {
    /// A policy is usable when tags are strictly ordered and the maximum reachable score
    /// can reach the S threshold (otherwise S would silently never be given).
    pub fn validate(&self) -> Result<(), DomainError> {
        let t = &self.thresholds;
        if !(t.s > t.a && t.a > t.b && t.s <= 100) {
            return Err(DomainError::invalid(
                "scoring.thresholds",
                "must satisfy 100 >= s > a > b",
            ));
        }
        if self.max_score() < u32::from(t.s) {
            return Err(DomainError::invalid(
                "scoring",
                format!(
                    "the best possible lead scores {} (< s threshold {})",
                    self.max_score(),
                    t.s
                ),
            ));
        }
        Ok(())
    }

    fn max_score(&self) -> u32 {
        let u = &self.urgency;
        let r = &self.decision_role;
        let s = &self.source;
        let max = |xs: &[u8]| xs.iter().copied().max().unwrap_or(0) as u32;
        max(&[u.immediate, u.within_month, u.within_quarter, u.later])
            + max(&[r.decision_maker, r.influencer, r.user, r.gatekeeper])
            + max(&[
                s.referral,
                s.trade_show,
                s.partner,
                s.web_form,
                s.advertising,
                s.cold_call,
                s.import,
                s.other,
            ])
            + self
                .budget_bands
                .iter()
                .map(|b| b.points as u32)
                .max()
                .unwrap_or(0)
            + self.current_brand_known as u32
    }

    pub fn score(&self, source: LeadSource, pre: &PreScreen) -> (Priority, ScoreBreakdown) {
        let urgency = match pre.purchase_urgency {
            PurchaseUrgency::Immediate => self.urgency.immediate,
            PurchaseUrgency::WithinMonth => self.urgency.within_month,
            PurchaseUrgency::WithinQuarter => self.urgency.within_quarter,
            PurchaseUrgency::Later => self.urgency.later,
            PurchaseUrgency::Unknown => 0,
        };
        let decision_role = match pre.decision_role {
            DecisionRole::DecisionMaker => self.decision_role.decision_maker,
            DecisionRole::Influencer => self.decision_role.influencer,
            DecisionRole::User => self.decision_role.user,
            DecisionRole::Gatekeeper => self.decision_role.gatekeeper,
            DecisionRole::Unknown => 0,
        };
        let budget = pre
            .budget
            .as_ref()
            .and_then(|b| b.upper_amount())
            .map(|amount| {
                self.budget_bands
                    .iter()
                    .filter(|band| amount >= band.min_amount)
                    .map(|band| band.points)
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0);
        let s = &self.source;
        let source = match source {
            LeadSource::Referral => s.referral,
            // A card collected at an event scores as a trade-show lead.
            LeadSource::TradeShow | LeadSource::Event => s.trade_show,
            LeadSource::Partner => s.partner,
            LeadSource::WebForm => s.web_form,
            LeadSource::Advertising => s.advertising,
            LeadSource::ColdCall => s.cold_call,
            LeadSource::Import => s.import,
            LeadSource::Other => s.other,
        };
        let current_brand = if pre.current_brand.is_some() {
            self.current_brand_known
        } else {
            0
        };
        let total_wide = urgency as u32
            + decision_role as u32
            + budget as u32
            + source as u32
            + current_brand as u32;
        let total = total_wide.min(100) as u8;
        let t = &self.thresholds;
        let priority = if total >= t.s {
            Priority::S
        } else if total >= t.a {
            Priority::A
        } else if total >= t.b {
            Priority::B
        } else {
            Priority::C
        };
        (
            priority,
            ScoreBreakdown {
                urgency,
                decision_role,
                budget,
                source,
                current_brand,
                total,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lead::BudgetRange;

    fn pre(u: PurchaseUrgency, r: DecisionRole, budget: Option<u64>, brand: bool) -> PreScreen {
        PreScreen {
            current_brand: brand.then(|| "Siemens".to_string()),
            purchase_urgency: u,
            decision_role: r,
            budget: budget.map(|max| BudgetRange {
                min: None,
                max: Some(max),
                currency: "CNY".into(),
            }),
        }
    }

    #[test]
    fn hot_lead_is_s_and_cold_lead_is_c() {
        let p = ScoringPolicy::default();
        let (tag, b) = p.score(
            LeadSource::Referral,
            &pre(
                PurchaseUrgency::Immediate,
                DecisionRole::DecisionMaker,
                Some(2_000_000),
                true,
            ),
        );
        assert_eq!(tag, Priority::S);
        assert_eq!(b.total, 100);
        let (tag, b) = p.score(
            LeadSource::Import,
            &pre(PurchaseUrgency::Unknown, DecisionRole::Unknown, None, false),
        );
        assert_eq!(tag, Priority::C);
        assert_eq!(b.total, 2);
    }

    #[test]
    fn thresholds_are_inclusive() {
        let p = ScoringPolicy::default();
        // 25 (month) + 25 (decision maker) + 4 (small budget) + 6 (web) = 60 → A (>= 55)
        let (tag, b) = p.score(
            LeadSource::WebForm,
            &pre(
                PurchaseUrgency::WithinMonth,
                DecisionRole::DecisionMaker,
                Some(10_000),
                false,
            ),
        );
        assert_eq!(b.total, 60);
        assert_eq!(tag, Priority::A);
        // 15 + 15 + 0 + 5 = 35 → B exactly at the threshold
        let (tag, b) = p.score(
            LeadSource::Advertising,
            &pre(
                PurchaseUrgency::WithinQuarter,
                DecisionRole::Influencer,
                None,
                false,
            ),
        );
        assert_eq!(b.total, 35);
        assert_eq!(tag, Priority::B);
    }

    #[test]
    fn highest_matching_budget_band_wins_regardless_of_order() {
        let mut p = ScoringPolicy::default();
        p.budget_bands.reverse();
        let (_, b) = p.score(
            LeadSource::Other,
            &pre(
                PurchaseUrgency::Unknown,
                DecisionRole::Unknown,
                Some(300_000),
                false,
            ),
        );
        assert_eq!(b.budget, 18);
    }

    #[test]
    fn policy_is_configurable_from_toml_like_json() {
        let p: ScoringPolicy =
            serde_json::from_str(r#"{"thresholds": {"s": 90, "a": 60, "b": 30}}"#).unwrap();
        assert_eq!(p.thresholds.s, 90);
        assert_eq!(
            p.urgency.immediate, 35,
            "unspecified parts keep their defaults"
        );
        assert!(p.validate().is_ok());
        let bad: ScoringPolicy =
            serde_json::from_str(r#"{"thresholds": {"s": 50, "a": 60, "b": 30}}"#).unwrap();
        assert!(bad.validate().is_err());
        assert!(serde_json::from_str::<ScoringPolicy>(r#"{"typo": 1}"#).is_err());
    }

    #[test]
    fn unreachable_s_threshold_is_refused() {
        let p = ScoringPolicy {
            urgency: UrgencyPoints {
                immediate: 1,
                within_month: 1,
                within_quarter: 1,
                later: 1,
            },
            ..Default::default()
        };
        assert!(p.validate().is_err());
    }
}
