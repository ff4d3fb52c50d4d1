//! Who works in a tenant, and in which team.

use crate::contact::{EmailAddress, PersonName};
use crate::error::DomainError;
use crate::id::{TeamId, TenantId, UserId};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A company using Fieldline. All data belongs to exactly one tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: TenantId,
    pub name: PersonName,
    /// IANA time zone the tenant's business days run in (`Asia/Shanghai`).
    pub time_zone: String,
    /// Region for phone numbers written without a country code.
    pub phone_region: String,
    /// Working days and hours for business-hour SLA clocks; default Mon-Fri 09:00-18:00 in
    /// `time_zone`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar: Option<crate::BusinessCalendar>,
    /// How customers are graded; the seeds' defaults until an admin sets one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grading: Option<crate::GradePolicy>,
    /// The policies `grading` replaced, newest first, at most `KEPT_GRADE_POLICIES`: what a
    /// stored grade's `policy_version` meant, and what a rollback returns to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grading_history: Vec<crate::GradePolicy>,
    /// What a valid visit needs; the defaults until an admin sets one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visits: Option<crate::visit::VisitPolicy>,
    /// Quick sale tags, spike test, shelf price floors and key stores; the defaults until an
    /// admin sets one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retail: Option<crate::retail::RetailPolicy>,
    /// When credit freezes and which discounts need a manager; the defaults until an admin
    /// sets one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orders: Option<crate::order::OrderPolicy>,
}

/// How many replaced grading policies a tenant keeps (each is about 1 KB; the tenant record
/// is read on every grading).
pub const KEPT_GRADE_POLICIES: usize = 20;

impl Tenant {
    /// A new tenant with every policy at its default (none set, so the defaults apply until
    /// an admin sets one): the one place a new optional field needs adding.
    pub fn new(
        id: TenantId,
        name: PersonName,
        time_zone: impl Into<String>,
        phone_region: impl Into<String>,
    ) -> Self {
        Self {
            id,
            name,
            time_zone: time_zone.into(),
            phone_region: phone_region.into(),
            calendar: None,
            grading: None,
            grading_history: vec![],
            visits: None,
            retail: None,
            orders: None,
        }
    }

    /// The grading policy in force.
    pub fn grade_policy(&self) -> crate::GradePolicy {
        self.grading.clone().unwrap_or_default()
    }

    /// The visit policy in force.
    pub fn visit_policy(&self) -> crate::visit::VisitPolicy {
        self.visits.clone().unwrap_or_default()
    }

    /// The retail policy in force.
    pub fn retail_policy(&self) -> crate::retail::RetailPolicy {
        self.retail.clone().unwrap_or_default()
    }

    /// The order policy in force.
    pub fn order_policy(&self) -> crate::order::OrderPolicy {
        self.orders.clone().unwrap_or_default()
    }

    /// Puts `policy` in force as the next version, keeping the one it replaces; returns it
    /// as stored. The caller validates it.
    pub fn replace_grade_policy(&mut self, mut policy: crate::GradePolicy) -> crate::GradePolicy {
        let current = self.grade_policy();
        policy.version = current.version + 1;
        self.grading_history.insert(0, current);
        self.grading_history.truncate(KEPT_GRADE_POLICIES);
        self.grading = Some(policy.clone());
        policy
    }

    /// Every kept grading policy, the one in force first.
    pub fn grade_policy_versions(&self) -> Vec<crate::GradePolicy> {
        std::iter::once(self.grade_policy())
            .chain(self.grading_history.iter().cloned())
            .collect()
    }

    /// The tenant's zone, Shanghai when it does not parse (it is checked when set).
    pub fn zone(&self) -> chrono_tz::Tz {
        self.time_zone.parse().unwrap_or(chrono_tz::Asia::Shanghai)
    }

    /// The calendar SLA clocks count in.
    pub fn calendar(&self) -> crate::BusinessCalendar {
        self.calendar
            .clone()
            .unwrap_or_else(|| crate::BusinessCalendar {
                time_zone: self.time_zone.parse().unwrap_or(chrono_tz::Asia::Shanghai),
                ..crate::BusinessCalendar::default()
            })
    }
}

/// What a user may see and change: their own leads, their team's, or the whole tenant's.
/// Warehouse and purchasing staff are back office: over sales records they reach what they
/// own, as a rep does, and they own no one else's work; their duties are the warehouse's
/// queue (ship, deliver, stock counts) and the buying plan (forecast, replenishment).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Role {
    Rep,
    Manager,
    Admin,
    /// 仓库: ships and delivers released orders, keeps the stock counts.
    Warehouse,
    /// 采购: reads the demand forecast and the replenishment list, hears of low stock.
    Purchasing,
}

impl Role {
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Rep => "rep",
            Role::Manager => "manager",
            Role::Admin => "admin",
            Role::Warehouse => "warehouse",
            Role::Purchasing => "purchasing",
        }
    }

    /// Managers and admins: who oversees other people's sales work (assigns, approves,
    /// changes rules). Everyone else acts on their own records only.
    pub fn oversees(&self) -> bool {
        matches!(self, Role::Manager | Role::Admin)
    }

    /// Whether people in this role own and work sales records (leads, deals, customers) and
    /// so belong to a sales team.
    pub fn sells(&self) -> bool {
        matches!(self, Role::Rep | Role::Manager)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "rep" => Ok(Role::Rep),
            "manager" => Ok(Role::Manager),
            "admin" => Ok(Role::Admin),
            "warehouse" => Ok(Role::Warehouse),
            "purchasing" => Ok(Role::Purchasing),
            _ => Err(DomainError::invalid(
                "role",
                "must be rep, manager, admin, warehouse or purchasing",
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Team {
    pub id: TeamId,
    pub tenant: TenantId,
    pub name: PersonName,
    pub manager: Option<UserId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    pub id: UserId,
    pub tenant: TenantId,
    pub name: PersonName,
    pub email: EmailAddress,
    pub role: Role,
    /// Reps and managers belong to one team; admins and back-office staff may have none.
    pub team: Option<TeamId>,
    pub active: bool,
}

impl User {
    /// Whether this is an active manager of `team` (nobody manages "no team"): who hears an
    /// escalation about that team's work.
    pub fn manages(&self, team: Option<TeamId>) -> bool {
        self.active && self.role == Role::Manager && team.is_some() && self.team == team
    }

    /// Reps and managers must be in a team, or nobody could see or assign their leads.
    pub fn validate(&self) -> Result<(), DomainError> {
        if self.role.sells() && self.team.is_none() {
            return Err(DomainError::invalid(
                "team",
                "reps and managers need a team",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaced_grading_policies_are_kept_newest_first_up_to_the_limit() {
        let mut tenant = Tenant::new(
            TenantId::parse("acme").unwrap(),
            PersonName::parse("Acme").unwrap(),
            "Asia/Shanghai",
            "CN",
        );
        assert_eq!(tenant.grade_policy_versions().len(), 1);
        for i in 0..KEPT_GRADE_POLICIES + 5 {
            let p = crate::GradePolicy {
                quiet_months: 1 + (i % 5) as u32,
                version: 99, // ignored: the tenant numbers its versions
                ..Default::default()
            };
            let stored = tenant.replace_grade_policy(p);
            assert_eq!(stored.version, i as u32 + 2);
        }
        let versions: Vec<u32> = tenant
            .grade_policy_versions()
            .iter()
            .map(|p| p.version)
            .collect();
        let last = KEPT_GRADE_POLICIES as u32 + 6;
        assert_eq!(versions.len(), KEPT_GRADE_POLICIES + 1);
        assert_eq!(versions[0], last);
        assert_eq!(
            versions,
            (last - KEPT_GRADE_POLICIES as u32..=last)
                .rev()
                .collect::<Vec<_>>()
        );
    }
}
