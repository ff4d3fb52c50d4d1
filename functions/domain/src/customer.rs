//! Customers and the people at them. Grading and health scores build on these in later slices.

use crate::contact::{EmailAddress, PersonName, PhoneNumber};
use crate::id::{ContactId, CustomerId, LeadId, TeamId, TenantId, UserId};
use crate::lead::snake_enum;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

snake_enum!(/// A person's part in the buying decision; decision-chain coverage is graded on it.
    DecisionRole, "decision_role" {
    DecisionMaker => "decision_maker",
    Influencer => "influencer",
    User => "user",
    Gatekeeper => "gatekeeper",
    Unknown => "unknown",
});

/// A company we sell to, usually born from a converted lead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Customer {
    pub id: CustomerId,
    pub tenant: TenantId,
    pub name: PersonName,
    pub owner: UserId,
    pub team: Option<TeamId>,
    /// The lead it was converted from, when it was.
    pub origin_lead: Option<LeadId>,
    pub created_at: DateTime<Utc>,
    pub version: u64,
}

/// A person at a customer, with their place in the decision chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Contact {
    pub id: ContactId,
    pub tenant: TenantId,
    pub customer: CustomerId,
    pub name: PersonName,
    pub title: Option<PersonName>,
    pub phones: Vec<PhoneNumber>,
    pub email: Option<EmailAddress>,
    pub decision_role: DecisionRole,
}

impl Customer {
    /// Share of the decision chain we have a contact in (decision maker, influencer, user),
    /// the third grading dimension. 0.0 to 1.0.
    pub fn decision_chain_coverage(contacts: &[Contact]) -> f64 {
        let roles = [
            DecisionRole::DecisionMaker,
            DecisionRole::Influencer,
            DecisionRole::User,
        ];
        let covered = roles
            .iter()
            .filter(|r| contacts.iter().any(|c| c.decision_role == **r))
            .count();
        covered as f64 / roles.len() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(role: DecisionRole) -> Contact {
        Contact {
            id: ContactId::new(),
            tenant: TenantId::parse("acme").unwrap(),
            customer: CustomerId::new(),
            name: PersonName::parse("Chen Jie").unwrap(),
            title: None,
            phones: vec![],
            email: None,
            decision_role: role,
        }
    }

    #[test]
    fn coverage_counts_distinct_roles() {
        assert_eq!(Customer::decision_chain_coverage(&[]), 0.0);
        let two_users = [contact(DecisionRole::User), contact(DecisionRole::User)];
        assert!((Customer::decision_chain_coverage(&two_users) - 1.0 / 3.0).abs() < 1e-9);
        let all = [
            contact(DecisionRole::DecisionMaker),
            contact(DecisionRole::Influencer),
            contact(DecisionRole::User),
            contact(DecisionRole::Gatekeeper),
        ];
        assert_eq!(Customer::decision_chain_coverage(&all), 1.0);
    }
}
