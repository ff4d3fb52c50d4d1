//! Who may see and change what. Reps own their leads, managers their team's, admins the tenant's.
//! The store applies `LeadScope` in its queries; handlers ask `Actor` before every change.

use crate::deal::Deal;
use crate::error::DomainError;
use crate::id::{TeamId, TenantId, UserId};
use crate::lead::Lead;
use crate::task::Task;
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

/// Something a user asks to do, with the record it concerns. Use cases ask
/// [`Actor::check`]; no other code compares roles, so each rule is written once.
#[derive(Debug, Clone, Copy)]
pub enum Permission<'a> {
    /// Read (and, for the owner's scope, change) this lead.
    AccessLead(&'a Lead),
    /// Change a lead (edit, log an activity, attach a file). A pooled lead is readable by the
    /// whole tenant but changes only by being claimed (or assigned by a manager).
    ChangeLead(&'a Lead),
    /// Create a lead owned by `owner` (`None`: unowned or the creator's default).
    CreateLeadFor(Option<UserId>),
    /// Hand leads to other users.
    AssignLeads,
    /// Create, change and roll back automation rules; dry-run them.
    ManageRules,
    /// Read the tenant's decision log beyond one's own leads.
    ReadDecisionLog,
    /// Configure notification channels and read their dead letters.
    ManageChannels,
    /// Change the tenant's working calendar.
    ManageCalendar,
    /// Mark this task done.
    CompleteTask(&'a Task),
    /// Read and work this deal (move it, edit it): owner, the team's managers, admins.
    AccessDeal(&'a Deal),
    /// Read and work this customer (edit it, add contacts): owner, the team's managers,
    /// admins — the same reach as deals.
    AccessCustomer(&'a crate::customer::Customer),
    /// Create a customer owned by `owner` (`None`: the creator).
    CreateCustomerFor(Option<UserId>),
    /// Turn a lead into customer, contact and deal.
    ConvertLead(&'a Lead),
    /// Create or change the tenant's pipelines (stages, gates, lost reasons).
    ManagePipelines,
    /// Read and work this order (edit, submit, cancel, record payment): owner, the team's
    /// managers, admins.
    AccessOrder(&'a crate::order::Order),
    /// Let a held order through: the owner's team's managers, admins.
    ApproveOrder(&'a crate::order::Order),
    /// Change the catalogue, the locations and the breakers, move held orders between
    /// warehouses, read the imbalance map: managers and admins.
    ManageStock,
    /// Set stock counts (inventory feeds, stock imports, the ERP sync): managers, admins and
    /// the warehouse.
    RecordStock,
    /// Confirm an order's shipment and delivery, list the warehouse's queue tenant-wide:
    /// managers, admins and the warehouse (the order policy may name more people).
    ShipOrders,
    /// Read the demand forecast and the replenishment list: managers, admins and purchasing.
    PlanSupply,
    /// See the review queue of completed tasks (managers for their team, admins).
    ReadReviewQueue,
    /// Score a completed task: the assignee's team's manager, or an admin.
    ReviewTask {
        task: &'a Task,
        assignee_team: Option<TeamId>,
    },
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
            (Role::Manager, None) | (Role::Rep | Role::Warehouse | Role::Purchasing, _) => {
                LeadScope::Owner(self.user)
            }
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

    /// Whether a record of `owner` in `team` is within this actor's scope (deals and
    /// customers: owned records, no pool).
    fn reaches(&self, tenant: &TenantId, owner: UserId, team: Option<TeamId>) -> bool {
        *tenant == self.tenant
            && match self.lead_scope() {
                LeadScope::Tenant => true,
                LeadScope::Team(t) => team == Some(t),
                LeadScope::Owner(user) => owner == user,
                LeadScope::Pool => false,
            }
    }

    /// Whether this actor may do what `permission` names; `Forbidden` with the reason if not.
    pub fn check(&self, permission: Permission<'_>) -> Result<(), DomainError> {
        let refuse = |why: &str| Err(DomainError::Forbidden(why.to_owned()));
        match permission {
            Permission::AccessLead(lead) => {
                if self.can_access_lead(lead) {
                    Ok(())
                } else {
                    refuse("this lead belongs to someone outside your scope")
                }
            }
            Permission::ChangeLead(lead) => {
                self.check(Permission::AccessLead(lead))?;
                if lead.in_pool {
                    refuse("this lead is in the pool: claim it before changing it")
                } else {
                    Ok(())
                }
            }
            Permission::CreateLeadFor(Some(owner))
                if !self.role.oversees() && owner != self.user =>
            {
                refuse("only managers and admins create leads for others")
            }
            Permission::CreateLeadFor(_) => Ok(()),
            Permission::AssignLeads if !self.role.oversees() => {
                refuse("only managers and admins assign leads")
            }
            Permission::AssignLeads => Ok(()),
            Permission::ReadReviewQueue if !self.role.oversees() => {
                refuse("the review queue is for managers and admins")
            }
            Permission::ReadReviewQueue => Ok(()),
            Permission::ManageRules | Permission::ReadDecisionLog if !self.role.oversees() => {
                refuse("only managers and admins change automation rules")
            }
            Permission::ManageRules | Permission::ReadDecisionLog => Ok(()),
            Permission::ManageChannels if self.role != Role::Admin => {
                refuse("only admins configure notification channels")
            }
            Permission::ManageCalendar if self.role != Role::Admin => {
                refuse("only admins change the calendar")
            }
            Permission::ManageChannels | Permission::ManageCalendar => Ok(()),
            Permission::AccessDeal(deal) => {
                if self.reaches(&deal.tenant, deal.owner, deal.team) {
                    Ok(())
                } else {
                    refuse("this deal belongs to someone outside your scope")
                }
            }
            Permission::AccessCustomer(customer) => {
                if self.reaches(&customer.tenant, customer.owner, customer.team) {
                    Ok(())
                } else {
                    refuse("this customer belongs to someone outside your scope")
                }
            }
            Permission::CreateCustomerFor(Some(owner))
                if !self.role.oversees() && owner != self.user =>
            {
                refuse("only managers and admins create customers for others")
            }
            Permission::CreateCustomerFor(_) => Ok(()),
            Permission::ConvertLead(lead) => self.check(Permission::ChangeLead(lead)),
            Permission::ManagePipelines if self.role != Role::Admin => {
                refuse("only admins change pipelines")
            }
            Permission::ManagePipelines => Ok(()),
            Permission::AccessOrder(order) => {
                if self.reaches(&order.tenant, order.owner, order.team) {
                    Ok(())
                } else {
                    refuse("this order belongs to someone outside your scope")
                }
            }
            Permission::ApproveOrder(order) => {
                if !self.role.oversees() {
                    refuse("held orders are approved by a manager")
                } else if self.reaches(&order.tenant, order.owner, order.team) {
                    Ok(())
                } else {
                    refuse("this order belongs to someone outside your team")
                }
            }
            Permission::ManageStock if !self.role.oversees() => {
                refuse("the catalogue, locations and breakers are for managers and admins")
            }
            Permission::RecordStock | Permission::ShipOrders
                if !(self.role.oversees() || self.role == Role::Warehouse) =>
            {
                refuse("stock counts and shipments are for the warehouse, managers and admins")
            }
            Permission::PlanSupply if !(self.role.oversees() || self.role == Role::Purchasing) => {
                refuse("the forecast and replenishment are for purchasing, managers and admins")
            }
            Permission::ManageStock
            | Permission::RecordStock
            | Permission::ShipOrders
            | Permission::PlanSupply => Ok(()),
            Permission::ReviewTask {
                task,
                assignee_team,
            } => {
                let allowed = task.tenant == self.tenant
                    && match self.role {
                        Role::Admin => true,
                        Role::Manager => self.team.is_some() && self.team == assignee_team,
                        Role::Rep | Role::Warehouse | Role::Purchasing => false,
                    };
                if allowed {
                    Ok(())
                } else {
                    refuse("tasks are reviewed by the assignee's manager or an admin")
                }
            }
            Permission::CompleteTask(task) => {
                if task.tenant == self.tenant && task.assignee == Some(self.user) {
                    Ok(())
                } else {
                    refuse("this task is someone else's")
                }
            }
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
        if !assignee.role.sells() {
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
            Role::Rep | Role::Warehouse | Role::Purchasing => Err(DomainError::Forbidden(
                "only managers and admins assign leads".into(),
            )),
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
    fn permissions_follow_roles() {
        let team = TeamId::new();
        let rep = actor(Role::Rep, Some(team));
        let manager = actor(Role::Manager, Some(team));
        let admin = actor(Role::Admin, None);
        let forbidden = |r: Result<(), DomainError>| matches!(r, Err(DomainError::Forbidden(_)));
        for p in [
            Permission::AssignLeads,
            Permission::ManageRules,
            Permission::ReadDecisionLog,
            Permission::ManageChannels,
            Permission::ManageCalendar,
            Permission::CreateLeadFor(Some(UserId::new())),
        ] {
            assert!(forbidden(rep.check(p)), "rep: {p:?}");
        }
        assert!(rep.check(Permission::CreateLeadFor(Some(rep.user))).is_ok());
        assert!(rep.check(Permission::CreateLeadFor(None)).is_ok());
        for p in [
            Permission::AssignLeads,
            Permission::ManageRules,
            Permission::ReadDecisionLog,
        ] {
            assert!(manager.check(p).is_ok(), "manager: {p:?}");
        }
        assert!(forbidden(manager.check(Permission::ManageChannels)));
        assert!(forbidden(manager.check(Permission::ManageCalendar)));
        assert!(admin.check(Permission::ManageChannels).is_ok());
        assert!(admin.check(Permission::ManageCalendar).is_ok());
    }

    #[test]
    fn tasks_are_completed_by_their_assignee_only() {
        let rep = actor(Role::Rep, None);
        let admin = actor(Role::Admin, None);
        let now = chrono::Utc::now();
        let mut task = crate::task::Task {
            id: crate::id::TaskId::new(),
            tenant: rep.tenant.clone(),
            subject: crate::Subject::Lead(crate::id::LeadId::new()),
            assignee: Some(rep.user),
            title: "send the quote".into(),
            due_at: now,
            done_at: None,
            created_at: now,
            rule: None,
            dedupe_key: "k".into(),
            outcome: None,
            review: None,
            remind_at: None,
            escalate_at: None,
            why: None,
        };
        assert!(matches!(
            task.complete(&admin, None, now),
            Err(DomainError::Forbidden(_))
        ));
        assert!(
            task.complete(&rep, None, now).unwrap(),
            "first completion changes it"
        );
        assert!(
            !task.complete(&rep, None, now).unwrap(),
            "the second changes nothing"
        );
        assert_eq!(task.done_at, Some(now));
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

    #[test]
    fn back_office_staff_have_their_duties_and_a_reps_reach_over_sales_records() {
        let team = TeamId::new();
        let warehouse = actor(Role::Warehouse, None);
        let purchasing = actor(Role::Purchasing, None);
        let rep = actor(Role::Rep, Some(team));
        let manager = actor(Role::Manager, Some(team));
        let forbidden = |r: Result<(), DomainError>| matches!(r, Err(DomainError::Forbidden(_)));
        assert_eq!(warehouse.lead_scope(), LeadScope::Owner(warehouse.user));
        assert_eq!(purchasing.lead_scope(), LeadScope::Owner(purchasing.user));
        for p in [Permission::RecordStock, Permission::ShipOrders] {
            assert!(warehouse.check(p).is_ok(), "warehouse: {p:?}");
            assert!(forbidden(purchasing.check(p)), "purchasing: {p:?}");
            assert!(forbidden(rep.check(p)), "rep: {p:?}");
            assert!(manager.check(p).is_ok(), "manager: {p:?}");
        }
        assert!(purchasing.check(Permission::PlanSupply).is_ok());
        assert!(forbidden(warehouse.check(Permission::PlanSupply)));
        assert!(forbidden(rep.check(Permission::PlanSupply)));
        assert!(manager.check(Permission::PlanSupply).is_ok());
        for who in [&warehouse, &purchasing] {
            for p in [
                Permission::ManageStock,
                Permission::AssignLeads,
                Permission::ManageRules,
                Permission::ReadReviewQueue,
                Permission::ManageChannels,
                Permission::CreateLeadFor(Some(UserId::new())),
                Permission::CreateCustomerFor(Some(UserId::new())),
            ] {
                assert!(forbidden(who.check(p)), "{:?}: {p:?}", who.role);
            }
            assert!(who.check(Permission::CreateLeadFor(None)).is_ok());
        }
        // Nobody hands sales work to the back office.
        let admin = actor(Role::Admin, None);
        assert!(
            admin
                .check_can_assign_to(&user(Role::Warehouse, None))
                .is_err()
        );
        assert!(
            admin
                .check_can_assign_to(&user(Role::Purchasing, None))
                .is_err()
        );
        assert!(user(Role::Warehouse, None).validate().is_ok());
        assert!(user(Role::Rep, None).validate().is_err());
        assert_eq!("purchasing".parse::<Role>().unwrap(), Role::Purchasing);
        assert_eq!("warehouse".parse::<Role>().unwrap(), Role::Warehouse);
    }
}
