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
}

impl Tenant {
    /// The grading policy in force.
    pub fn grade_policy(&self) -> crate::GradePolicy {
        self.grading.clone().unwrap_or_default()
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Role {
    Rep,
    Manager,
    Admin,
}

impl Role {
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Rep => "rep",
            Role::Manager => "manager",
            Role::Admin => "admin",
        }
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
            _ => Err(DomainError::invalid(
                "role",
                "must be rep, manager or admin",
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
    /// Reps and managers belong to one team; admins may have none.
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
        if self.role != Role::Admin && self.team.is_none() {
            return Err(DomainError::invalid(
                "team",
                "reps and managers need a team",
            ));
        }
        Ok(())
    }
}
