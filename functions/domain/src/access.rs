//! Who may see and change what. Reps own their leads, managers their team's, admins the tenant's.
//! The store applies `LeadScope` in its queries; handlers ask `Actor` before every change.

use crate::error::DomainError;
use crate::id::{TeamId, TenantId, UserId};
use crate::lead::Lead;
use crate::user::{Role, User};
use serde::{Deserialize, Serialize};

/// The authenticated caller, as proven by their token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub user: UserId,
    pub tenant: TenantId,
    pub role: Role,
    pub team: Option<TeamId>,
}

/// The slice of a tenant's leads an actor can list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeadScope {
    Tenant,
    Team(TeamId),
    Owner(UserId),
    /// The tenant's public pool: unowned leads any rep may claim.
    Pool,
}

impl Actor {
    pub fn lead_scope(&self) -> LeadScope {
        match (self.role, self.team) {
            (Role::Admin, _) => LeadScope::Tenant,
            (Role::Manager, Some(team)) => LeadScope::Team(team),
            // A manager without a team manages nobody: scope them to their own leads.
            (Role::Manager, None) | (Role::Rep, _) => LeadScope::Owner(self.user),
        }
    }

    /// Whether the lead is within this actor's scope. Tenant is checked by the store already;
    /// it is checked again here so a bug there cannot leak across tenants.
    pub fn can_access_lead(&self, lead: &Lead) -> bool {
        if lead.tenant != self.tenant {
            return false;
        }
        // The public pool is visible to everyone in the tenant.
        if lead.in_pool {
            return true;
        }
        match self.lead_scope() {
            LeadScope::Tenant => true,
            LeadScope::Team(team) => lead.team == Some(team),
            LeadScope::Owner(user) => lead.owner == Some(user),
            LeadScope::Pool => false,
        }
    }

    /// Who may become a lead's owner at this actor's hand.
    /// Reps may not hand leads around; managers assign within their team; admins anywhere.
    pub fn check_can_assign_to(&self, assignee: &User) -> Result<(), DomainError> {
        if assignee.tenant != self.tenant {
            return Err(DomainError::invalid("owner", "no such user"));
        }
        if !assignee.active {
            return Err(DomainError::invalid("owner", "user is deactivated"));
        }
        if assignee.role == Role::Admin {
            return Err(DomainError::invalid(
                "owner",
                "leads are owned by reps or managers",
            ));
        }
        match self.role {
            Role::Admin => Ok(()),
            Role::Manager if self.team.is_some() && assignee.team == self.team => Ok(()),
            Role::Manager => Err(DomainError::Forbidden(
                "managers assign leads within their own team".into(),
            )),
            Role::Rep => Err(DomainError::Forbidden("reps cannot assign leads".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contact::{EmailAddress, PersonName};

    fn actor(role: Role, team: Option<TeamId>) -> Actor {
        Actor {
            user: UserId::new(),
            tenant: TenantId::parse("acme").unwrap(),
            role,
            team,
        }
    }

    fn user(role: Role, team: Option<TeamId>) -> User {
        User {
            id: UserId::new(),
            tenant: TenantId::parse("acme").unwrap(),
            name: PersonName::parse("张伟").unwrap(),
            email: EmailAddress::parse("zw@example.cn").unwrap(),
            role,
            team,
            active: true,
        }
    }

    #[test]
    fn scopes_follow_roles() {
        let team = TeamId::new();
        let rep = actor(Role::Rep, Some(team));
        assert_eq!(rep.lead_scope(), LeadScope::Owner(rep.user));
        assert_eq!(
            actor(Role::Manager, Some(team)).lead_scope(),
            LeadScope::Team(team)
        );
        assert_eq!(actor(Role::Admin, None).lead_scope(), LeadScope::Tenant);
    }

    #[test]
    fn assignment_rules() {
        let team = TeamId::new();
        let other = TeamId::new();
        let manager = actor(Role::Manager, Some(team));
        assert!(
            manager
                .check_can_assign_to(&user(Role::Rep, Some(team)))
                .is_ok()
        );
        assert!(matches!(
            manager.check_can_assign_to(&user(Role::Rep, Some(other))),
            Err(DomainError::Forbidden(_))
        ));
        let rep = actor(Role::Rep, Some(team));
        assert!(
            rep.check_can_assign_to(&user(Role::Rep, Some(team)))
                .is_err()
        );
        let admin = actor(Role::Admin, None);
        assert!(
            admin
                .check_can_assign_to(&user(Role::Rep, Some(other)))
                .is_ok()
        );
        assert!(admin.check_can_assign_to(&user(Role::Admin, None)).is_err());
        let mut gone = user(Role::Rep, Some(team));
        gone.active = false;
        assert!(admin.check_can_assign_to(&gone).is_err());
    }
}
