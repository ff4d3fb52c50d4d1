use crate::error::AppError;
use crate::state::AppState;
use fieldline_domain::{
    Actor, Contact, ContactId, Customer, CustomerId, CustomerPatch, NewContact, NewCustomer,
    Permission, Role, User,
};
use fieldline_store::{Cursor, CustomerQuery, Page, StoreError};
use serde::Serialize;

/// A customer with its contacts, as the API shows one.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CustomerDetail {
    #[serde(flatten)]
    pub customer: Customer,
    pub contacts: Vec<Contact>,
}

/// Turns a key held elsewhere into the 409 the API answers: the existing record when the
/// caller may see it, only its id when it lies outside their scope (a rep learns that the
/// company exists, not someone else's contacts).
async fn duplicate(
    state: &AppState,
    actor: &Actor,
    key: String,
    existing: String,
) -> Result<AppError, AppError> {
    let record = if key.starts_with("customer:") {
        let id: CustomerId = existing
            .parse()
            .map_err(|e| AppError::internal(format!("key {key}"), e))?;
        match state.customers.get_customer(&actor.tenant, id).await? {
            Some(c) if actor.check(Permission::AccessCustomer(&c)).is_ok() => {
                serde_json::to_value(&c).map_err(|e| AppError::internal("customer", e))?
            }
            _ => serde_json::json!({ "id": existing, "kind": "customer" }),
        }
    } else {
        let id: ContactId = existing
            .parse()
            .map_err(|e| AppError::internal(format!("key {key}"), e))?;
        let contact = state.customers.get_contact(&actor.tenant, id).await?;
        let visible = match &contact {
            Some(c) => state
                .customers
                .get_customer(&actor.tenant, c.customer)
                .await?
                .is_some_and(|owner| actor.check(Permission::AccessCustomer(&owner)).is_ok()),
            None => false,
        };
        match contact {
            Some(c) if visible => {
                serde_json::to_value(&c).map_err(|e| AppError::internal("contact", e))?
            }
            _ => serde_json::json!({ "id": existing, "kind": "contact" }),
        }
    };
    Ok(AppError::Duplicate {
        message: format!("a record with the same {} exists", key_field(&key)),
        key,
        existing: record,
    })
}

/// "name", "phone" or "email": what the key was made from.
fn key_field(key: &str) -> &str {
    key.split(':').nth(1).unwrap_or("identity")
}

async fn or_duplicate(
    state: &AppState,
    actor: &Actor,
    result: Result<(), StoreError>,
) -> Result<(), AppError> {
    match result {
        Ok(()) => Ok(()),
        Err(StoreError::Duplicate { key, existing }) => {
            Err(duplicate(state, actor, key, existing).await?)
        }
        Err(e) => Err(e.into()),
    }
}

/// Refuses one request whose own contacts share a phone or an e-mail.
fn distinct_keys(contacts: &[Contact]) -> Result<(), AppError> {
    let mut seen = std::collections::HashSet::new();
    for key in contacts.iter().flat_map(Contact::dedupe_keys) {
        if !seen.insert(key) {
            return Err(AppError::InvalidField {
                field: "contacts".into(),
                message: "two contacts share a phone or an e-mail".into(),
            });
        }
    }
    Ok(())
}

async fn owner_for(
    state: &AppState,
    actor: &Actor,
    me: &User,
    owner: Option<fieldline_domain::UserId>,
) -> Result<User, AppError> {
    actor.check(Permission::CreateCustomerFor(owner))?;
    match (actor.role, owner) {
        (Role::Rep, _) | (_, None) => Ok(me.clone()),
        (_, Some(id)) => crate::lead::assignee(state, actor, id).await,
    }
}

#[tracing::instrument(name = "customer.create", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn create_customer(
    state: &AppState,
    actor: &Actor,
    me: &User,
    input: NewCustomer,
) -> Result<CustomerDetail, AppError> {
    let owner = owner_for(state, actor, me, input.owner).await?;
    let region = crate::lead::tenant_region(state, actor).await?;
    let customer = Customer::create(&input, CustomerId::new(), actor, &owner, state.clock.now())?;
    let contacts = input
        .contacts
        .iter()
        .map(|c| c.parse(ContactId::new(), &customer, region))
        .collect::<Result<Vec<_>, _>>()?;
    distinct_keys(&contacts)?;
    let stored = state.customers.create_customer(&customer, &contacts).await;
    or_duplicate(state, actor, stored).await?;
    Ok(CustomerDetail { customer, contacts })
}

pub(crate) async fn load_customer(
    state: &AppState,
    actor: &Actor,
    id: CustomerId,
) -> Result<Customer, AppError> {
    let customer = state
        .customers
        .get_customer(&actor.tenant, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("customer {id} not found")))?;
    actor.check(Permission::AccessCustomer(&customer))?;
    Ok(customer)
}

#[tracing::instrument(name = "customer.get", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn get_customer(
    state: &AppState,
    actor: &Actor,
    id: CustomerId,
) -> Result<CustomerDetail, AppError> {
    let customer = load_customer(state, actor, id).await?;
    let contacts = state.customers.list_contacts(&actor.tenant, id).await?;
    Ok(CustomerDetail { customer, contacts })
}

#[tracing::instrument(name = "customer.list", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn list_customers(
    state: &AppState,
    actor: &Actor,
    search: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
) -> Result<Page<Customer>, AppError> {
    let after = match &cursor {
        Some(raw) => Some(Cursor::decode(raw).ok_or_else(|| {
            AppError::rejected("invalid_cursor", "cursor is not one this API issued")
        })?),
        None => None,
    };
    if search.as_ref().is_some_and(|q| q.chars().count() > 100) {
        return Err(AppError::rejected(
            "invalid_query",
            "q must be at most 100 characters",
        ));
    }
    let name_contains = match search.as_deref().map(fieldline_domain::search_fold) {
        Some(folded) if folded.is_empty() => {
            return Err(AppError::rejected(
                "invalid_query",
                "q must contain a letter or a digit",
            ));
        }
        other => other,
    };
    let query = CustomerQuery {
        scope: actor.lead_scope(),
        name_contains,
        limit: limit.unwrap_or(50),
        after,
    };
    Ok(state
        .customers
        .list_customers(&actor.tenant, &query)
        .await?)
}

/// Changes a customer if it is still at `expected_version`; a new name another customer has
/// is refused with 409 `duplicate`, and the old name is free for others from then on.
#[tracing::instrument(name = "customer.update", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn update_customer(
    state: &AppState,
    actor: &Actor,
    id: CustomerId,
    expected_version: u64,
    patch: CustomerPatch,
) -> Result<Customer, AppError> {
    let mut customer = load_customer(state, actor, id).await?;
    if customer.version != expected_version {
        return Err(AppError::VersionConflict {
            expected: expected_version,
            actual: customer.version,
        });
    }
    let new_owner = match patch.owner {
        Some(id) if id != customer.owner => {
            actor.check(Permission::AssignLeads)?;
            Some(crate::lead::assignee(state, actor, id).await?)
        }
        _ => None,
    };
    if !customer.apply_patch(&patch, new_owner.as_ref())? {
        return Ok(customer);
    }
    let stored = state
        .customers
        .update_customer(&customer, expected_version)
        .await;
    or_duplicate(state, actor, stored).await?;
    Ok(customer)
}

#[tracing::instrument(name = "customer.add_contact", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn add_contact(
    state: &AppState,
    actor: &Actor,
    id: CustomerId,
    input: NewContact,
) -> Result<Contact, AppError> {
    let customer = load_customer(state, actor, id).await?;
    let region = crate::lead::tenant_region(state, actor).await?;
    let contact = input.parse(ContactId::new(), &customer, region)?;
    let stored = state.customers.add_contact(&contact).await;
    or_duplicate(state, actor, stored).await?;
    Ok(contact)
}
