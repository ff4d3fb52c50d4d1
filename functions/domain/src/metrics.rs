//! Process-health figures a manager reads: did we answer within 24 h, did we get a real
//! conversation within 72 h, how many promises were broken, how long first contact takes, how
//! many leads are going stale. Computed from facts (lead times and activities), not from the
//! rules, so changing a rule never rewrites history.

use crate::Timestamp;
use crate::activity::{Activity, ActivityKind};
use crate::lead::{Lead, LeadStatus};
use chrono::Duration;
use serde::Serialize;

pub const RESPONSE_HOURS: i64 = 24;
pub const ACTIVATION_HOURS: i64 = 72;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LeadMetrics {
    /// Leads created in the period (the cohort the rates are about).
    pub leads: u64,
    /// Cohort leads whose 24 h window has closed (or that were answered inside it).
    pub response_due: u64,
    pub responded_24h: u64,
    /// `responded_24h / response_due`; `null` when nothing was due.
    pub response_rate_24h: Option<f64>,
    pub activation_due: u64,
    /// A call or visit within 72 h of arrival.
    pub activated_72h: u64,
    pub activation_rate_72h: Option<f64>,
    /// Missed 24 h first contacts plus missed 72 h activations.
    pub sla_breaches: u64,
    /// Median hours from arrival to first contact, over cohort leads contacted so far.
    pub median_first_contact_hours: Option<f64>,
    /// Open owned leads (any age) with no follow-up for `stale_after_hours`, as of now.
    pub stale: u64,
}

/// One lead with its follow-up log.
pub struct LeadFacts<'a> {
    pub lead: &'a Lead,
    pub activities: &'a [Activity],
}

fn is_open(status: LeadStatus) -> bool {
    !matches!(status, LeadStatus::Converted | LeadStatus::Disqualified)
}

/// Figures over `leads` for the period `[from, to)`, as of `now`.
pub fn lead_metrics(
    leads: &[LeadFacts<'_>],
    from: Timestamp,
    to: Timestamp,
    now: Timestamp,
    stale_after_hours: i64,
) -> LeadMetrics {
    let mut m = LeadMetrics::default();
    let mut first_contact_hours = Vec::new();
    for facts in leads {
        let lead = facts.lead;
        let last_touch = facts
            .activities
            .iter()
            .map(|a| a.recorded_at)
            .max()
            .unwrap_or(lead.created_at)
            .max(lead.created_at);
        if is_open(lead.status)
            && lead.owner.is_some()
            && now - last_touch >= Duration::hours(stale_after_hours)
        {
            m.stale += 1;
        }
        if lead.created_at < from || lead.created_at >= to {
            continue;
        }
        m.leads += 1;
        let response_deadline = lead.created_at + Duration::hours(RESPONSE_HOURS);
        let answered_in_time = lead
            .first_contact_at
            .is_some_and(|t| t <= response_deadline);
        if answered_in_time || now >= response_deadline {
            m.response_due += 1;
            if answered_in_time {
                m.responded_24h += 1;
            } else {
                m.sla_breaches += 1;
            }
        }
        if let Some(t) = lead.first_contact_at {
            first_contact_hours.push((t - lead.created_at).num_seconds() as f64 / 3600.0);
        }
        let activation_deadline = lead.created_at + Duration::hours(ACTIVATION_HOURS);
        let activated_in_time = facts.activities.iter().any(|a| {
            matches!(a.kind, ActivityKind::Call | ActivityKind::Visit)
                && a.recorded_at <= activation_deadline
        });
        if activated_in_time || now >= activation_deadline {
            m.activation_due += 1;
            if activated_in_time {
                m.activated_72h += 1;
            } else {
                m.sla_breaches += 1;
            }
        }
    }
    let rate = |n: u64, d: u64| (d > 0).then(|| (n as f64 / d as f64 * 1000.0).round() / 1000.0);
    m.response_rate_24h = rate(m.responded_24h, m.response_due);
    m.activation_rate_72h = rate(m.activated_72h, m.activation_due);
    first_contact_hours.sort_by(f64::total_cmp);
    m.median_first_contact_hours = match first_contact_hours.len() {
        0 => None,
        n if n % 2 == 1 => Some(first_contact_hours[n / 2]),
        n => Some((first_contact_hours[n / 2 - 1] + first_contact_hours[n / 2]) / 2.0),
    };
    m
}
