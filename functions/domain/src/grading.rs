//! Customer grading on three dimensions — transaction value, interaction intensity and
//! decision-chain coverage — so a customer who bought a lot last year but has not been
//! touched for months stops holding an A-class slot ("年采购50万但已半年无互动").
//!
//! The policy is tenant data with a version, like rules; every grade carries the numbers,
//! weights and thresholds behind it, and each dimension's parts add up to its score.

use crate::activity::{Activity, ActivityKind};
use crate::customer::Contact;
use crate::error::DomainError;
use crate::id::{ContactId, CustomerId, TenantId, UserId};
use crate::lead::snake_enum;
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

snake_enum!(/// What counts as interaction, each worth the policy's points per occurrence.
    /// `contact_left` is a new contact at the customer (留下联系方式).
    Signal, "signal" {
    Call => "call",
    Visit => "visit",
    Message => "message",
    Consultation => "consultation",
    SampleRequest => "sample_request",
    EventAttendance => "event_attendance",
    ContactLeft => "contact_left",
});

impl Signal {
    /// The signal an activity is, if it is a touch with the customer at all (notes,
    /// attachments and approvals are internal).
    pub fn of_activity(kind: ActivityKind) -> Option<Signal> {
        Some(match kind {
            ActivityKind::Call => Signal::Call,
            ActivityKind::Visit => Signal::Visit,
            ActivityKind::Message => Signal::Message,
            ActivityKind::Consultation => Signal::Consultation,
            ActivityKind::SampleRequest => Signal::SampleRequest,
            ActivityKind::EventAttendance => Signal::EventAttendance,
            ActivityKind::Note | ActivityKind::Attachment | ActivityKind::Approval => {
                return None;
            }
        })
    }
}

snake_enum!(/// A, B or C: where the customer ranks for the team's time.
    GradeClass, "class" {
    A => "a",
    B => "b",
    C => "c",
});

impl GradeClass {
    /// 0 for A, 2 for C: a drop is a larger rank.
    pub fn rank(self) -> u8 {
        match self {
            GradeClass::A => 0,
            GradeClass::B => 1,
            GradeClass::C => 2,
        }
    }
}

snake_enum!(/// What the team should do with the customer.
    CustomerHealth, "health" {
    HighPotential => "high_potential",
    HighValue => "high_value",
    ChurnRisk => "churn_risk",
    Healthy => "healthy",
});

impl CustomerHealth {
    /// The seeds' words for it.
    pub fn label_zh(self) -> &'static str {
        match self {
            CustomerHealth::HighPotential => "高潜力-待激活",
            CustomerHealth::HighValue => "高价值-需维系",
            CustomerHealth::ChurnRisk => "流失风险-需干预",
            CustomerHealth::Healthy => "健康",
        }
    }
}

/// What grading needs of an activity: its kind, when, and with whom (stores may read only
/// these three instead of the whole record).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Touch {
    pub kind: ActivityKind,
    pub occurred_at: DateTime<Utc>,
    pub contact: Option<ContactId>,
}

impl From<&Activity> for Touch {
    fn from(a: &Activity) -> Touch {
        Touch {
            kind: a.kind,
            occurred_at: a.occurred_at,
            contact: a.contact,
        }
    }
}

/// Points per occurrence of one signal ("参加体验活动 +20").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PointRule {
    pub signal: Signal,
    /// 0-1000.
    pub points: f64,
}

/// How much each dimension weighs in the overall score; the three add up to 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DimensionWeights {
    pub value: f64,
    pub interaction: f64,
    pub coverage: f64,
}

/// Score lines (0-100) that decide the class and the health category.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GradeThresholds {
    /// Overall score for class A (at least).
    pub grade_a: f64,
    /// Overall score for class B (at least); below is C.
    pub grade_b: f64,
    /// Value score from which a customer is high-value.
    pub high_value: f64,
    /// Interaction score below which a customer is going quiet.
    pub low_interaction: f64,
    /// Interaction or coverage score from which a low-value customer shows potential.
    pub high_engagement: f64,
}

/// A tenant's grading policy. Defaults follow the seeds; admins change it through
/// `PUT /v1/grading/policy`, which bumps `version` (grades say which version made them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GradePolicy {
    #[serde(default)]
    pub version: u32,
    /// The tenant's decision roles, the set a contact's `role` is chosen from.
    pub roles: Vec<String>,
    /// The roles coverage counts: met roles ÷ key roles.
    pub key_roles: Vec<String>,
    pub weights: DimensionWeights,
    /// Gross margin = purchases × this (0-1].
    pub margin_coefficient: f64,
    /// Gross margin over the value window that scores 100 (whole currency units).
    pub value_full_scale: u64,
    /// Purchases counted: the last this many days (365: the last 12 months).
    pub value_window_days: u32,
    /// Interaction counted: the last this many days ("per month": 30).
    pub interaction_window_days: u32,
    /// Interaction points in the window that score 100.
    pub interaction_full_scale: f64,
    pub points: Vec<PointRule>,
    /// A contact counts as met when an activity with them is this recent.
    pub coverage_window_days: u32,
    pub thresholds: GradeThresholds,
    /// Months in a row of high value with low interaction before a relationship task.
    pub quiet_months: u32,
}

impl Default for GradePolicy {
    fn default() -> Self {
        let roles = |r: &[&str]| r.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        GradePolicy {
            version: 1,
            roles: roles(&[
                "purchasing",
                "technical",
                "production",
                "management",
                "user",
                "other",
            ]),
            key_roles: roles(&["purchasing", "technical", "production", "management"]),
            weights: DimensionWeights {
                value: 0.5,
                interaction: 0.3,
                coverage: 0.2,
            },
            margin_coefficient: 0.25,
            value_full_scale: 100_000,
            value_window_days: 365,
            interaction_window_days: 30,
            interaction_full_scale: 60.0,
            points: vec![
                PointRule {
                    signal: Signal::ContactLeft,
                    points: 10.0,
                },
                PointRule {
                    signal: Signal::EventAttendance,
                    points: 20.0,
                },
                PointRule {
                    signal: Signal::SampleRequest,
                    points: 15.0,
                },
                PointRule {
                    signal: Signal::Visit,
                    points: 12.0,
                },
                PointRule {
                    signal: Signal::Consultation,
                    points: 8.0,
                },
                PointRule {
                    signal: Signal::Call,
                    points: 5.0,
                },
                PointRule {
                    signal: Signal::Message,
                    points: 2.0,
                },
            ],
            coverage_window_days: 365,
            thresholds: GradeThresholds {
                grade_a: 70.0,
                grade_b: 40.0,
                high_value: 60.0,
                low_interaction: 30.0,
                high_engagement: 60.0,
            },
            quiet_months: 2,
        }
    }
}

fn role_key_ok(r: &str) -> bool {
    !r.is_empty()
        && r.len() <= 40
        && r.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl GradePolicy {
    /// Checks an admin's policy; the version is the store's business, not the client's.
    pub fn validate(&self) -> Result<(), DomainError> {
        let bad = |field: &str, why: &str| Err(DomainError::invalid(field, why));
        if self.roles.is_empty()
            || self.roles.len() > 20
            || !self.roles.iter().all(|r| role_key_ok(r))
        {
            return bad("roles", "1-20 keys of a-z, 0-9 and _, each at most 40");
        }
        if self.roles.iter().collect::<BTreeSet<_>>().len() != self.roles.len() {
            return bad("roles", "must not repeat");
        }
        if self.key_roles.is_empty()
            || !self.key_roles.iter().all(|k| self.roles.contains(k))
            || self.key_roles.iter().collect::<BTreeSet<_>>().len() != self.key_roles.len()
        {
            return bad("key_roles", "1 or more distinct roles from `roles`");
        }
        let w = &self.weights;
        let in_unit = |x: f64| x.is_finite() && (0.0..=1.0).contains(&x);
        if !(in_unit(w.value) && in_unit(w.interaction) && in_unit(w.coverage))
            || (w.value + w.interaction + w.coverage - 1.0).abs() > 1e-6
        {
            return bad("weights", "each 0-1, adding up to 1");
        }
        if !(self.margin_coefficient.is_finite()
            && self.margin_coefficient > 0.0
            && self.margin_coefficient <= 1.0)
        {
            return bad("margin_coefficient", "more than 0, at most 1");
        }
        if self.value_full_scale == 0 {
            return bad("value_full_scale", "must be positive");
        }
        let days_ok = |d: u32| (1..=731).contains(&d);
        if !days_ok(self.value_window_days) {
            return bad("value_window_days", "1-731");
        }
        if !days_ok(self.interaction_window_days) {
            return bad("interaction_window_days", "1-731");
        }
        if !days_ok(self.coverage_window_days) {
            return bad("coverage_window_days", "1-731");
        }
        if !(self.interaction_full_scale.is_finite() && self.interaction_full_scale > 0.0) {
            return bad("interaction_full_scale", "must be positive");
        }
        if self.points.len() > 20
            || !self
                .points
                .iter()
                .all(|p| p.points.is_finite() && (0.0..=1000.0).contains(&p.points))
        {
            return bad("points", "at most 20 rules, each 0-1000 points");
        }
        let signals: BTreeSet<&str> = self.points.iter().map(|p| p.signal.as_str()).collect();
        if signals.len() != self.points.len() {
            return bad("points", "one rule per signal");
        }
        let t = &self.thresholds;
        let pct = |x: f64| x.is_finite() && (0.0..=100.0).contains(&x);
        if !(pct(t.grade_a)
            && pct(t.grade_b)
            && pct(t.high_value)
            && pct(t.low_interaction)
            && pct(t.high_engagement))
            || t.grade_b > t.grade_a
        {
            return bad("thresholds", "each 0-100, grade_b at most grade_a");
        }
        if !(1..=12).contains(&self.quiet_months) {
            return bad("quiet_months", "1-12");
        }
        Ok(())
    }

    /// A contact's role as sent: blank is none, otherwise one of the tenant's roles.
    pub fn parse_role(&self, raw: Option<&str>) -> Result<Option<String>, DomainError> {
        match raw.map(str::trim) {
            None | Some("") => Ok(None),
            Some(r) if self.roles.iter().any(|k| k == r) => Ok(Some(r.to_owned())),
            Some(_) => Err(DomainError::invalid(
                "role",
                format!(
                    "must be one of the tenant's roles: {}",
                    self.roles.join(", ")
                ),
            )),
        }
    }

    fn points_of(&self, signal: Signal) -> f64 {
        self.points
            .iter()
            .find(|p| p.signal == signal)
            .map_or(0.0, |p| p.points)
    }

    /// The counts a grade is computed from, out of a customer's records as of `as_of`.
    pub fn tally(
        &self,
        as_of: DateTime<Utc>,
        purchases: &[Purchase],
        activities: &[Touch],
        contacts: &[Contact],
    ) -> Tally {
        let since = |days: u32| as_of - Duration::days(i64::from(days));
        let (value_from, touch_from, met_from) = (
            since(self.value_window_days),
            since(self.interaction_window_days),
            since(self.coverage_window_days),
        );
        let purchases_total = purchases
            .iter()
            .filter(|p| p.at > value_from && p.at <= as_of)
            .map(|p| p.amount)
            .sum();
        let mut signals: BTreeMap<Signal, u32> = BTreeMap::new();
        let mut met: BTreeSet<ContactId> = BTreeSet::new();
        for a in activities.iter().filter(|a| a.occurred_at <= as_of) {
            if a.occurred_at > touch_from
                && let Some(s) = Signal::of_activity(a.kind)
            {
                *signals.entry(s).or_default() += 1;
            }
            if a.occurred_at > met_from
                && let Some(c) = a.contact
                && a.kind.is_contact()
            {
                met.insert(c);
            }
        }
        let left = contacts
            .iter()
            .filter(|c| c.added_at.is_some_and(|t| t > touch_from && t <= as_of))
            .count() as u32;
        if left > 0 {
            signals.insert(Signal::ContactLeft, left);
        }
        let roles_met = contacts
            .iter()
            .filter(|c| met.contains(&c.id))
            .filter_map(|c| c.role.clone())
            .collect();
        Tally {
            purchases_total,
            signals,
            roles_met,
        }
    }

    /// The grade a tally earns, with its explanation.
    pub fn grade(&self, tally: &Tally, as_of: DateTime<Utc>) -> Grade {
        let value_rate = self.margin_coefficient * 100.0 / self.value_full_scale as f64;
        let value = GradeDimension::capped(
            self.weights.value,
            vec![GradePart {
                item: "purchases".into(),
                input: tally.purchases_total as f64,
                rate: value_rate,
                points: tally.purchases_total as f64 * value_rate,
            }],
        );
        let interaction = GradeDimension::capped(
            self.weights.interaction,
            tally
                .signals
                .iter()
                .map(|(s, n)| {
                    let rate = self.points_of(*s) * 100.0 / self.interaction_full_scale;
                    GradePart {
                        item: s.as_str().into(),
                        input: f64::from(*n),
                        rate,
                        points: f64::from(*n) * rate,
                    }
                })
                .collect(),
        );
        let per_role = 100.0 / self.key_roles.len() as f64;
        let coverage = GradeDimension::capped(
            self.weights.coverage,
            self.key_roles
                .iter()
                .map(|r| {
                    let met = f64::from(u8::from(tally.roles_met.contains(r)));
                    GradePart {
                        item: r.clone(),
                        input: met,
                        rate: per_role,
                        points: met * per_role,
                    }
                })
                .collect(),
        );
        let score = value.contribution + interaction.contribution + coverage.contribution;
        let t = &self.thresholds;
        let class = if score >= t.grade_a {
            GradeClass::A
        } else if score >= t.grade_b {
            GradeClass::B
        } else {
            GradeClass::C
        };
        let high_value = value.score >= t.high_value;
        let health = if high_value && interaction.score < t.low_interaction {
            CustomerHealth::ChurnRisk
        } else if high_value {
            CustomerHealth::HighValue
        } else if interaction.score >= t.high_engagement || coverage.score >= t.high_engagement {
            CustomerHealth::HighPotential
        } else {
            CustomerHealth::Healthy
        };
        Grade {
            class,
            health,
            health_label: health.label_zh().to_owned(),
            score,
            value,
            interaction,
            coverage,
            roles_met: tally.roles_met.len() as u32,
            thresholds: t.clone(),
            margin_coefficient: self.margin_coefficient,
            policy_version: self.version,
            as_of,
        }
    }

    /// Whether a month's grade counts toward a relationship task: valuable, but quiet.
    pub fn is_quiet(&self, grade: &Grade) -> bool {
        grade.value.score >= self.thresholds.high_value
            && grade.interaction.score < self.thresholds.low_interaction
    }

    /// When the quiet streak that `grade` (for `month`) belongs to began: `previous` is the
    /// grade stored for the month before, if any. `None` when `grade` is not quiet. Each
    /// closed month carries this, so a month's close reads only the month before it.
    pub fn quiet_since(
        &self,
        month: Month,
        grade: &Grade,
        previous: Option<&GradeSnapshot>,
    ) -> Option<Month> {
        if !self.is_quiet(grade) {
            return None;
        }
        let carried = previous
            .filter(|p| p.month.next() == month)
            .and_then(|p| p.quiet_since);
        Some(carried.unwrap_or(month))
    }

    /// Whether a streak begun in `since` has lasted `quiet_months` by the end of `month`:
    /// then the relationship task is due (one per streak, named by `since`).
    pub fn streak_is_long(&self, since: Month, month: Month) -> bool {
        let months = (month.year - since.year) * 12 + month.month as i32 - since.month as i32 + 1;
        months >= self.quiet_months as i32
    }
}

/// The counts behind a grade.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tally {
    /// Purchases in the value window, whole currency units.
    pub purchases_total: u64,
    /// Occurrences of each signal in the interaction window.
    pub signals: BTreeMap<Signal, u32>,
    /// Key or other roles of contacts met in the coverage window.
    pub roles_met: BTreeSet<String>,
}

/// One line of a dimension's explanation: `input × rate = points` (scaled down together
/// when the dimension is capped at 100, so the parts always add up to the score).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GradePart {
    /// A signal, a role, or `purchases`.
    pub item: String,
    pub input: f64,
    /// Score points per unit of input.
    pub rate: f64,
    pub points: f64,
}

/// One dimension's score (0-100), its weight, what it adds to the overall score, and its
/// parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GradeDimension {
    pub score: f64,
    pub weight: f64,
    pub contribution: f64,
    /// The uncapped sum of the parts; above 100 the parts are scaled down to 100.
    pub raw: f64,
    pub parts: Vec<GradePart>,
}

impl GradeDimension {
    fn capped(weight: f64, mut parts: Vec<GradePart>) -> GradeDimension {
        let raw: f64 = parts.iter().map(|p| p.points).sum();
        if raw > 100.0 {
            let scale = 100.0 / raw;
            for p in &mut parts {
                p.points *= scale;
            }
        }
        let score = raw.min(100.0);
        GradeDimension {
            score,
            weight,
            contribution: score * weight,
            raw,
            parts,
        }
    }
}

/// A customer's grade and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Grade {
    pub class: GradeClass,
    pub health: CustomerHealth,
    /// The health category in the seeds' words (高价值-需维系 ...).
    pub health_label: String,
    /// Σ weight × dimension score, 0-100.
    pub score: f64,
    pub value: GradeDimension,
    pub interaction: GradeDimension,
    pub coverage: GradeDimension,
    /// How many roles (key or not) the team has met.
    pub roles_met: u32,
    pub thresholds: GradeThresholds,
    pub margin_coefficient: f64,
    pub policy_version: u32,
    pub as_of: DateTime<Utc>,
}

impl Grade {
    /// Why the class fell from `before`: the dimensions that lost the most, in words.
    pub fn drop_reason(&self, before: &Grade) -> String {
        let mut lost: Vec<(&str, f64, f64)> = [
            ("成交价值 value", &before.value, &self.value),
            (
                "互动强度 interaction",
                &before.interaction,
                &self.interaction,
            ),
            ("决策链覆盖 coverage", &before.coverage, &self.coverage),
        ]
        .into_iter()
        .filter(|(_, b, a)| a.score < b.score)
        .map(|(n, b, a)| (n, b.score, a.score))
        .collect();
        lost.sort_by(|x, y| (y.1 - y.2).total_cmp(&(x.1 - x.2)));
        let parts: Vec<String> = lost
            .iter()
            .map(|(n, b, a)| format!("{n} {b:.0}→{a:.0}"))
            .collect();
        format!(
            "客户等级由{}降为{} / grade fell from {} to {}: {}",
            before.class.as_str().to_uppercase(),
            self.class.as_str().to_uppercase(),
            before.class.as_str().to_uppercase(),
            self.class.as_str().to_uppercase(),
            if parts.is_empty() {
                "thresholds changed".to_owned()
            } else {
                parts.join(", ")
            }
        )
    }
}

/// A calendar month in the tenant's zone (`2026-11`), the unit of grade history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Month {
    pub year: i32,
    pub month: u32,
}

impl Month {
    pub fn of(at: DateTime<Utc>, zone: chrono_tz::Tz) -> Month {
        let local = at.with_timezone(&zone);
        Month {
            year: local.year(),
            month: local.month(),
        }
    }

    pub fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    pub fn previous(self) -> Month {
        if self.month == 1 {
            Month {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Month {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    /// The instant the month starts in `zone`.
    pub fn start(self, zone: chrono_tz::Tz) -> DateTime<Utc> {
        let day = NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or_default();
        zone.from_local_datetime(&day.and_hms_opt(0, 0, 0).unwrap_or_default())
            .earliest()
            .map_or_else(
                || day.and_time(Default::default()).and_utc(),
                |t| t.to_utc(),
            )
    }

    /// The last instant graded as this month: just before the next one starts.
    pub fn end(self, zone: chrono_tz::Tz) -> DateTime<Utc> {
        self.next().start(zone) - Duration::milliseconds(1)
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl std::str::FromStr for Month {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Month, DomainError> {
        let bad = || DomainError::invalid("month", "YYYY-MM");
        let (y, m) = s.split_once('-').ok_or_else(bad)?;
        let (year, month) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        if y.len() != 4 || m.len() != 2 || !(1..=12).contains(&month) {
            return Err(bad());
        }
        Ok(Month { year, month })
    }
}

impl Serialize for Month {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Month {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Month, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A customer's grade for one month: the current month's is replaced as inputs change; a
/// past month's is the grade at its end, written by the monthly job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GradeSnapshot {
    pub tenant: TenantId,
    pub customer: CustomerId,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "2026-11"))]
    pub month: Month,
    pub grade: Grade,
    /// Whether the month is over (its grade will not change again).
    pub closed: bool,
    /// The customer's owner and team when graded: reports group by them.
    #[serde(default)]
    pub owner: Option<UserId>,
    #[serde(default)]
    pub team: Option<crate::id::TeamId>,
    /// The first month of the quiet streak (high value, low interaction) this month is part
    /// of; `None` when it is not quiet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "2026-09"))]
    pub quiet_since: Option<Month>,
}

/// One purchase in the customer's ledger (until orders exist, the tenant posts or imports
/// them). `reference` is the tenant's own document number: posting it twice records it once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Purchase {
    pub tenant: TenantId,
    pub customer: CustomerId,
    pub reference: String,
    /// Whole units of `currency`.
    pub amount: u64,
    pub currency: String,
    pub at: DateTime<Utc>,
    pub recorded_by: UserId,
    pub recorded_at: DateTime<Utc>,
}

impl Purchase {
    /// The `purchase_recorded` payload this purchase is announced with.
    pub fn recorded(&self) -> crate::event::EventPayload {
        crate::event::EventPayload::PurchaseRecorded {
            reference: self.reference.clone(),
            amount: self.amount,
            currency: self.currency.clone(),
            at: self.at,
        }
    }
}

/// A purchase as a client posts it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewPurchase {
    /// The invoice or delivery number; 1-64 printable characters.
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 64,
            pattern = r"^[!-~]+$",
            example = "INV-2026-0042"
        )
    )]
    pub reference: String,
    /// Whole units of the currency; at most 10¹².
    #[cfg_attr(feature = "openapi", schema(maximum = 1_000_000_000_000_u64))]
    pub amount: u64,
    /// ISO 4217; the tenant's home currency when absent.
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[A-Z]{3}$"))]
    pub currency: Option<String>,
    /// When it was bought; not in the future.
    pub at: DateTime<Utc>,
}

impl NewPurchase {
    pub fn parse(
        &self,
        tenant: &TenantId,
        customer: CustomerId,
        home_currency: &str,
        by: UserId,
        now: DateTime<Utc>,
    ) -> Result<Purchase, DomainError> {
        let r = &self.reference;
        if r.is_empty() || r.len() > 64 || !r.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(DomainError::invalid(
                "reference",
                "1-64 printable ASCII characters",
            ));
        }
        if self.amount > 1_000_000_000_000 {
            return Err(DomainError::invalid("amount", "at most 10^12"));
        }
        let currency = self
            .currency
            .clone()
            .unwrap_or_else(|| home_currency.into());
        if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(DomainError::invalid("currency", "three capital letters"));
        }
        if self.at > now + Duration::minutes(5) {
            return Err(DomainError::invalid("at", "must not be in the future"));
        }
        Ok(Purchase {
            tenant: tenant.clone(),
            customer,
            reference: r.clone(),
            amount: self.amount,
            currency,
            at: self.at,
            recorded_by: by,
            recorded_at: now,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn tally(purchases: u64, signals: &[(Signal, u32)], roles: &[&str]) -> Tally {
        Tally {
            purchases_total: purchases,
            signals: signals.iter().copied().collect(),
            roles_met: roles.iter().map(|r| (*r).to_owned()).collect(),
        }
    }

    fn now() -> DateTime<Utc> {
        "2026-11-27T10:00:00Z".parse().unwrap()
    }

    const SIGNALS: [Signal; 7] = [
        Signal::Call,
        Signal::Visit,
        Signal::Message,
        Signal::Consultation,
        Signal::SampleRequest,
        Signal::EventAttendance,
        Signal::ContactLeft,
    ];
    const KEY: [&str; 4] = ["purchasing", "technical", "production", "management"];

    fn arb_tally() -> impl Strategy<Value = Tally> {
        (
            0u64..2_000_000,
            proptest::collection::vec(0u32..30, 7),
            proptest::collection::vec(any::<bool>(), 4),
        )
            .prop_map(|(p, counts, met)| Tally {
                purchases_total: p,
                signals: SIGNALS
                    .iter()
                    .zip(counts)
                    .filter(|(_, n)| *n > 0)
                    .map(|(s, n)| (*s, n))
                    .collect(),
                roles_met: KEY
                    .iter()
                    .zip(met)
                    .filter(|(_, m)| *m)
                    .map(|(r, _)| (*r).to_owned())
                    .collect(),
            })
    }

    fn check_explained(g: &Grade) {
        for d in [&g.value, &g.interaction, &g.coverage] {
            assert!((0.0..=100.0).contains(&d.score), "{d:?}");
            let parts: f64 = d.parts.iter().map(|p| p.points).sum();
            assert!((parts - d.score).abs() < 1e-9, "{parts} vs {}", d.score);
            assert!((d.contribution - d.score * d.weight).abs() < 1e-9);
        }
        let sum = g.value.contribution + g.interaction.contribution + g.coverage.contribution;
        assert!((sum - g.score).abs() < 1e-9);
        assert!((0.0..=100.0).contains(&g.score));
    }

    proptest! {
        #[test]
        fn grades_are_bounded_and_explained(t in arb_tally()) {
            check_explained(&GradePolicy::default().grade(&t, now()));
        }

        #[test]
        fn more_of_any_input_never_lowers_a_score(
            t in arb_tally(),
            extra in 1u64..500_000,
            which in 0usize..7,
            role in 0usize..4,
        ) {
            let p = GradePolicy::default();
            let before = p.grade(&t, now());
            let mut more = t.clone();
            more.purchases_total += extra;
            *more.signals.entry(SIGNALS[which]).or_default() += 1;
            more.roles_met.insert(KEY[role].to_owned());
            let after = p.grade(&more, now());
            prop_assert!(after.value.score >= before.value.score);
            prop_assert!(after.interaction.score >= before.interaction.score);
            prop_assert!(after.coverage.score >= before.coverage.score);
            prop_assert!(after.score >= before.score);
            prop_assert!(after.class.rank() <= before.class.rank());
        }
    }

    #[test]
    fn a_big_buyer_gone_quiet_is_not_class_a_and_is_a_churn_risk() {
        let p = GradePolicy::default();
        // 年采购50万, no interaction: value 100 (500k × 0.25 ≥ 100k), interaction 0.
        let quiet = p.grade(&tally(500_000, &[], &["purchasing"]), now());
        check_explained(&quiet);
        assert_eq!(quiet.value.score, 100.0);
        assert_eq!(quiet.interaction.score, 0.0);
        assert_eq!(quiet.coverage.score, 25.0);
        assert_eq!(quiet.score, 55.0);
        assert_eq!(quiet.class, GradeClass::B);
        assert_eq!(quiet.health, CustomerHealth::ChurnRisk);
        // Two visits and an event in the month: 2×12 + 20 = 44 of 60 points → 73.3.
        let active = p.grade(
            &tally(
                500_000,
                &[(Signal::Visit, 2), (Signal::EventAttendance, 1)],
                &["purchasing", "technical"],
            ),
            now(),
        );
        assert!((active.interaction.score - 44.0 / 60.0 * 100.0).abs() < 1e-9);
        assert_eq!(active.class, GradeClass::A);
        assert_eq!(active.health, CustomerHealth::HighValue);
        // Small but engaged: potential to activate.
        let engaged = p.grade(
            &tally(4_000, &[(Signal::SampleRequest, 3), (Signal::Call, 4)], &[]),
            now(),
        );
        assert_eq!(engaged.health, CustomerHealth::HighPotential);
        assert!(engaged.interaction.raw > 100.0);
        check_explained(&engaged);
        let reason = quiet.drop_reason(&active);
        assert!(
            reason.contains("A") && reason.contains("互动强度"),
            "{reason}"
        );
    }

    #[test]
    fn a_quiet_streak_is_named_by_its_first_month() {
        let p = GradePolicy::default();
        let tenant = TenantId::parse("acme").unwrap();
        let customer = CustomerId::new();
        // Closes months in order, as the month-close timer does, carrying the streak.
        let mut last: Option<GradeSnapshot> = None;
        let mut close = |m: &str, quiet: bool| {
            let month: Month = m.parse().unwrap();
            let signals: &[(Signal, u32)] = if quiet { &[] } else { &[(Signal::Visit, 5)] };
            let grade = p.grade(&tally(500_000, signals, &[]), now());
            let since = p.quiet_since(month, &grade, last.as_ref());
            last = Some(GradeSnapshot {
                tenant: tenant.clone(),
                customer,
                month,
                grade,
                closed: true,
                owner: None,
                team: None,
                quiet_since: since,
            });
            since.filter(|s| p.streak_is_long(*s, month))
        };
        assert_eq!(close("2026-07", false), None);
        assert_eq!(
            close("2026-08", true),
            None,
            "one quiet month is not a streak"
        );
        let aug: Month = "2026-08".parse().unwrap();
        assert_eq!(close("2026-09", true), Some(aug));
        assert_eq!(
            close("2026-10", true),
            Some(aug),
            "the same streak, the same task"
        );
        assert_eq!(close("2026-11", false), None);
        // A month missing in between starts a new streak.
        assert_eq!(close("2027-01", true), None);
        assert_eq!(close("2027-03", true), None);
        let across: Month = "2027-12".parse().unwrap();
        assert!(p.streak_is_long(across, "2028-01".parse().unwrap()));
    }

    #[test]
    fn months_parse_and_bound_in_the_tenant_zone() {
        let m: Month = "2026-12".parse().unwrap();
        assert_eq!(m.next().to_string(), "2027-01");
        assert_eq!(m.previous().to_string(), "2026-11");
        assert!("2026-13".parse::<Month>().is_err() && "26-01".parse::<Month>().is_err());
        let sh = chrono_tz::Asia::Shanghai;
        assert_eq!(m.start(sh).to_rfc3339(), "2026-11-30T16:00:00+00:00");
        let late: DateTime<Utc> = "2026-11-30T17:00:00Z".parse().unwrap();
        assert_eq!(Month::of(late, sh), m);
    }

    #[test]
    fn policies_are_checked() {
        assert!(GradePolicy::default().validate().is_ok());
        let mut p = GradePolicy::default();
        p.weights.value = 0.9;
        assert!(p.validate().is_err());
        let mut p = GradePolicy::default();
        p.key_roles.push("ceo".into());
        assert!(p.validate().is_err());
        let p = GradePolicy::default();
        assert_eq!(
            p.parse_role(Some("technical")).unwrap().as_deref(),
            Some("technical")
        );
        assert_eq!(p.parse_role(Some(" ")).unwrap(), None);
        assert!(p.parse_role(Some("ceo")).is_err());
    }
}
