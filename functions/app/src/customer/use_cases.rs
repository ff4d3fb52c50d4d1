use crate::customer::grading;
use crate::error::AppError;
use crate::lead::{MAX_PAGE, Outcome, checked_limit, idempotency, load_tenant, region_of};
use crate::state::AppState;
use fieldline_domain::{
    Activity, ActivityId, Actor, Contact, ContactId, ContactPatch, Customer, CustomerId,
    CustomerPatch, EventPayload, Grade, GradePolicy, GradeSnapshot, LogTarget, NewActivity,
    NewContact, NewCustomer, NewPurchase, Permission, Purchase, Role, Subject, User,
};
use fieldline_domain::{CustomerHealth, GradeClass, Month, Timestamp};
use fieldline_store::{Created, Cursor, CustomerQuery, IdempotencyKey, StoreError};
use serde::Serialize;
use std::collections::HashMap;

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
    match owner {
        Some(id) if actor.role.oversees() => crate::lead::assignee(state, actor, id).await,
        _ => Ok(me.clone()),
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
    let tenant = load_tenant(state, &actor.tenant).await?;
    let region = region_of(&tenant)?;
    let policy = tenant.grade_policy();
    let now = state.clock.now();
    let customer = Customer::create(&input, CustomerId::new(), actor, &owner, now)?;
    let contacts = input
        .contacts
        .iter()
        .map(|c| {
            let role = policy.parse_role(c.role.as_deref())?;
            c.parse(ContactId::new(), &customer, region, role, now)
        })
        .collect::<Result<Vec<_>, _>>()?;
    distinct_keys(&contacts)?;
    let created = customer.event(
        actor,
        now,
        EventPayload::CustomerCreated {
            name: customer.name.as_str().to_owned(),
        },
    );
    let stored = state
        .customers
        .create_customer(&customer, &contacts, &[created])
        .await;
    or_duplicate(state, actor, stored).await?;
    // Graded from the start (reports count it), and its months close from now on; a crash
    // before this leaves both to its first event.
    grading::regrade(state, &tenant, customer.id).await?;
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

/// A customer the caller may work on and that was not merged away (changes go to records
/// that are still live).
pub(crate) async fn load_live_customer(
    state: &AppState,
    actor: &Actor,
    id: CustomerId,
) -> Result<Customer, AppError> {
    let customer = load_customer(state, actor, id).await?;
    customer.ensure_live()?;
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

/// Which grades a customer list keeps; empty keeps every customer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GradeFilter {
    pub class: Option<GradeClass>,
    pub health: Option<CustomerHealth>,
}

impl GradeFilter {
    fn is_empty(&self) -> bool {
        self.class.is_none() && self.health.is_none()
    }

    fn admits(&self, grade: &Grade) -> bool {
        self.class.is_none_or(|c| c == grade.class) && self.health.is_none_or(|h| h == grade.health)
    }
}

/// A listed customer's grade: this month's stored grade, which is recomputed whenever one of
/// its inputs changes (the customer's own `/grade` is computed at the instant it is asked).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ListedGrade {
    pub customer: CustomerId,
    pub class: GradeClass,
    pub health: CustomerHealth,
    /// The health category in the seeds' words (高价值-需维系 ...).
    pub health_label: String,
    /// Σ weight × dimension score, 0-100.
    pub score: f64,
    /// How many roles (key or not) the team has met.
    pub roles_met: u32,
    #[schema(value_type = String, format = DateTime)]
    pub as_of: Timestamp,
}

impl From<(CustomerId, &Grade)> for ListedGrade {
    fn from((customer, g): (CustomerId, &Grade)) -> Self {
        ListedGrade {
            customer,
            class: g.class,
            health: g.health,
            health_label: g.health_label.clone(),
            score: g.score,
            roles_met: g.roles_met,
            as_of: g.as_of,
        }
    }
}

/// One page of customers with their grades, in the order the store lists them.
#[derive(Debug, Clone)]
pub struct GradedPage {
    pub items: Vec<Customer>,
    pub grades: Vec<ListedGrade>,
    pub next: Option<Cursor>,
}

/// How many store pages one filtered request reads at most: a rare class answers with what
/// it found so far and a cursor to go on, instead of one request reading the whole tenant.
const FILTER_SCAN_PAGES: usize = 10;

#[tracing::instrument(name = "customer.list", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn list_customers(
    state: &AppState,
    actor: &Actor,
    search: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
    filter: GradeFilter,
) -> Result<GradedPage, AppError> {
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
    let limit = limit.unwrap_or(50);
    let tenant = load_tenant(state, &actor.tenant).await?;
    let policy = tenant.grade_policy();
    let now = state.clock.now();
    // One read for the month's grades instead of one per row.
    let stored: HashMap<CustomerId, Grade> = state
        .customers
        .grades_of_month(&actor.tenant, Month::of(now, tenant.zone()))
        .await?
        .into_iter()
        .map(|s| (s.customer, s.grade))
        .collect();
    let mut query = CustomerQuery {
        scope: actor.lead_scope(),
        name_contains,
        limit,
        after,
    };
    let mut out = GradedPage {
        items: Vec::new(),
        grades: Vec::new(),
        next: None,
    };
    for _ in 0..FILTER_SCAN_PAGES {
        // Never read more than the page still needs, so the store's cursor is exactly
        // where the next request must go on.
        query.limit = limit - out.items.len() as u32;
        let page = state
            .customers
            .list_customers(&actor.tenant, &query)
            .await?;
        for customer in page.items {
            // A customer not graded yet this month (the month just turned) is graded now.
            let grade = match stored.get(&customer.id) {
                Some(grade) => grade.clone(),
                None => match grading::grade_at(state, &policy, &customer, now).await {
                    Ok(grade) => grade,
                    // Merged away since the page was read: it is not listed any more.
                    Err(AppError::NotFound(_)) => continue,
                    Err(e) => return Err(e),
                },
            };
            if filter.admits(&grade) {
                out.grades.push(ListedGrade::from((customer.id, &grade)));
                out.items.push(customer);
            }
        }
        out.next = page.next;
        query.after = out.next;
        if filter.is_empty() || out.next.is_none() || out.items.len() as u32 >= limit {
            break;
        }
    }
    Ok(out)
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
    let mut customer = load_live_customer(state, actor, id).await?;
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
    let before = customer.clone();
    if !customer.apply_patch(&patch, new_owner.as_ref())? {
        return Ok(customer);
    }
    let updated = customer.event(
        actor,
        state.clock.now(),
        EventPayload::CustomerUpdated {
            changed: customer.changed_fields(&before),
        },
    );
    let stored = state
        .customers
        .update_customer(&customer, expected_version, &[updated])
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
    add_contact_as(state, actor, id, input, ContactId::new()).await
}

/// `add_contact` with the new contact's id chosen by the caller (capture derives it from the
/// upload, so a retried card finds the contact it made).
pub(crate) async fn add_contact_as(
    state: &AppState,
    actor: &Actor,
    id: CustomerId,
    input: NewContact,
    contact_id: ContactId,
) -> Result<Contact, AppError> {
    let customer = load_live_customer(state, actor, id).await?;
    let tenant = load_tenant(state, &actor.tenant).await?;
    let region = region_of(&tenant)?;
    let policy = tenant.grade_policy();
    let role = policy.parse_role(input.role.as_deref())?;
    let now = state.clock.now();
    let contact = input.parse(contact_id, &customer, region, role.clone(), now)?;
    let event = customer.event(
        actor,
        now,
        EventPayload::ContactAdded {
            contact: contact.id,
            role,
        },
    );
    let stored = state.customers.add_contact(&contact, &[event]).await;
    or_duplicate(state, actor, stored).await?;
    Ok(contact)
}

/// Changes a contact of a customer the caller may work on. Phones and e-mails it gains must
/// be free in the tenant (409 `duplicate` names the holder); the ones it loses are freed.
#[tracing::instrument(name = "customer.update_contact", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn update_contact(
    state: &AppState,
    actor: &Actor,
    id: ContactId,
    patch: ContactPatch,
) -> Result<Contact, AppError> {
    let contact = state
        .customers
        .get_contact(&actor.tenant, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("contact {id} not found")))?;
    let customer = load_live_customer(state, actor, contact.customer).await?;
    let tenant = load_tenant(state, &actor.tenant).await?;
    let role = match &patch.role {
        Some(r) => Some(tenant.grade_policy().parse_role(Some(r))?),
        None => None,
    };
    let (next, changed) = contact.patched(&patch, &customer, region_of(&tenant)?, role)?;
    if changed.is_empty() {
        return Ok(contact);
    }
    let event = customer.event(
        actor,
        state.clock.now(),
        EventPayload::ContactUpdated {
            contact: id,
            changed,
        },
    );
    let stored = state
        .customers
        .update_contact(&contact, &next, &[event])
        .await;
    or_duplicate(state, actor, stored).await?;
    Ok(next)
}

/// Logs a call, visit, consultation, sample request or event attendance with a customer,
/// naming the contact it was with when known (that contact's role then counts as met). A
/// retry with the same `Idempotency-Key` returns the first activity.
#[tracing::instrument(name = "customer.log_activity", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn log_activity(
    state: &AppState,
    actor: &Actor,
    id: CustomerId,
    input: NewActivity,
    key: Option<IdempotencyKey>,
) -> Result<Outcome<Activity>, AppError> {
    log_activity_with(state, actor, id, input, key, |_| Vec::new()).await
}

/// Logs an activity with more events about the customer in the same write (a shelf photo's
/// note carries its audit), so the events exist exactly when the note does. `also` makes
/// them from the customer as loaded here, so callers need not read it again.
pub(crate) async fn log_activity_with(
    state: &AppState,
    actor: &Actor,
    id: CustomerId,
    input: NewActivity,
    key: Option<IdempotencyKey>,
    also: impl FnOnce(&Customer) -> Vec<EventPayload> + Send,
) -> Result<Outcome<Activity>, AppError> {
    let customer = load_live_customer(state, actor, id).await?;
    if let Some(contact) = input.contact {
        let at_customer = state
            .customers
            .get_contact(&actor.tenant, contact)
            .await?
            .is_some_and(|c| c.customer == id);
        if !at_customer {
            return Err(AppError::InvalidField {
                field: "contact".into(),
                message: "not a contact of this customer".into(),
            });
        }
    }
    let now = state.clock.now();
    let target = LogTarget {
        subject: Subject::Customer(id),
        tenant: &customer.tenant,
        created_at: customer.created_at,
    };
    let activity = Activity::record(&input, ActivityId::new(), &target, actor, now)?;
    let event = customer.event(
        actor,
        now,
        EventPayload::ActivityLogged {
            activity: activity.id,
            kind: activity.kind,
            occurred_at: activity.occurred_at,
            structured: activity.structured.is_some(),
        },
    );
    let mut events = vec![event];
    events.extend(
        also(&customer)
            .into_iter()
            .map(|p| customer.event(actor, now, p)),
    );
    let record = idempotency(actor, key, "customer.activity", &input);
    Ok(state
        .customers
        .record_customer_activity(&activity, &events, record.as_ref())
        .await?)
}

/// The customer's activities, newest first.
#[tracing::instrument(name = "customer.list_activities", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn list_activities(
    state: &AppState,
    actor: &Actor,
    id: CustomerId,
    limit: u32,
) -> Result<Vec<Activity>, AppError> {
    let limit = checked_limit(limit, MAX_PAGE)?;
    load_customer(state, actor, id).await?;
    let epoch = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
    Ok(state
        .customers
        .customer_activities(&actor.tenant, id, epoch, limit)
        .await?)
}

/// Enters a purchase in the customer's ledger (managers and admins: it is finance's figure,
/// not a rep's). The same reference again records nothing and answers with the first.
#[tracing::instrument(name = "customer.add_purchase", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn add_purchase(
    state: &AppState,
    actor: &Actor,
    id: CustomerId,
    input: NewPurchase,
) -> Result<Outcome<Purchase>, AppError> {
    if !actor.role.oversees() {
        return Err(AppError::Forbidden(
            "purchases are entered by managers or imported by admins".into(),
        ));
    }
    let customer = load_live_customer(state, actor, id).await?;
    let tenant = load_tenant(state, &actor.tenant).await?;
    let home = fieldline_domain::home_currency(&tenant.phone_region);
    let now = state.clock.now();
    let purchase = input.parse(&actor.tenant, id, &home, actor.user, now)?;
    let event = customer.event(actor, now, purchase.recorded());
    if state.customers.add_purchase(&purchase, &[event]).await? {
        return Ok(Created::New(purchase));
    }
    let since = purchase.at - chrono::Duration::milliseconds(1);
    let first = state
        .customers
        .purchases_since(&actor.tenant, id, since)
        .await?
        .into_iter()
        .find(|p| p.reference == purchase.reference);
    match first {
        Some(p) if p.amount == purchase.amount && p.at == purchase.at => Ok(Created::Replayed(p)),
        _ => Err(AppError::Conflict(format!(
            "purchase {} is recorded already with other figures",
            purchase.reference
        ))),
    }
}

/// The customer's grade now, with every number, weight and threshold behind it.
#[tracing::instrument(name = "customer.grade", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn grade(state: &AppState, actor: &Actor, id: CustomerId) -> Result<Grade, AppError> {
    // A pointer left by a merge has no grade of its own: its survivor's is the one.
    let customer = load_live_customer(state, actor, id).await?;
    let policy = load_tenant(state, &actor.tenant).await?.grade_policy();
    grading::grade_at(state, &policy, &customer, state.clock.now()).await
}

/// The customer's monthly grades, oldest first (the radar over time).
#[tracing::instrument(name = "customer.grade_history", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn grade_history(
    state: &AppState,
    actor: &Actor,
    id: CustomerId,
) -> Result<Vec<GradeSnapshot>, AppError> {
    load_customer(state, actor, id).await?;
    Ok(state.customers.grade_history(&actor.tenant, id).await?)
}

/// The grading policy in force (everyone in the tenant may read how grades are made).
pub async fn grade_policy(state: &AppState, actor: &Actor) -> Result<GradePolicy, AppError> {
    Ok(load_tenant(state, &actor.tenant).await?.grade_policy())
}

/// Replaces the grading policy (admins); it becomes the next version. Grades already stored
/// keep the version that made them.
#[tracing::instrument(name = "customer.set_grade_policy", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn set_grade_policy(
    state: &AppState,
    actor: &Actor,
    policy: GradePolicy,
) -> Result<GradePolicy, AppError> {
    if actor.role != Role::Admin {
        return Err(AppError::Forbidden(
            "only admins change the grading policy".into(),
        ));
    }
    policy.validate()?;
    let mut tenant = load_tenant(state, &actor.tenant).await?;
    let stored = tenant.replace_grade_policy(policy);
    state.directory.update_tenant(&tenant).await?;
    Ok(stored)
}

/// Every kept grading policy, the one in force first (what each grade's `policy_version`
/// meant).
pub async fn grade_policy_versions(
    state: &AppState,
    actor: &Actor,
) -> Result<Vec<GradePolicy>, AppError> {
    Ok(load_tenant(state, &actor.tenant)
        .await?
        .grade_policy_versions())
}

/// Which kept grading policy to return to, and optionally the version in force the caller saw.
#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyRollback {
    #[schema(minimum = 1)]
    pub to_version: u32,
    #[serde(default)]
    pub expected_version: Option<u32>,
}

/// Puts a kept policy back in force as the next version (admins); rolling back to the
/// version in force changes nothing.
#[tracing::instrument(name = "customer.rollback_grade_policy", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn rollback_grade_policy(
    state: &AppState,
    actor: &Actor,
    req: PolicyRollback,
) -> Result<GradePolicy, AppError> {
    if actor.role != Role::Admin {
        return Err(AppError::Forbidden(
            "only admins change the grading policy".into(),
        ));
    }
    let mut tenant = load_tenant(state, &actor.tenant).await?;
    let current = tenant.grade_policy();
    if let Some(expected) = req.expected_version
        && expected != current.version
    {
        return Err(AppError::VersionConflict {
            expected: expected.into(),
            actual: current.version.into(),
        });
    }
    if req.to_version == current.version {
        return Ok(current);
    }
    let Some(kept) = tenant
        .grading_history
        .iter()
        .find(|p| p.version == req.to_version)
        .cloned()
    else {
        return Err(AppError::NotFound(format!(
            "grading policy version {} (the last {} are kept)",
            req.to_version,
            fieldline_domain::user::KEPT_GRADE_POLICIES
        )));
    };
    let stored = tenant.replace_grade_policy(kept);
    state.directory.update_tenant(&tenant).await?;
    Ok(stored)
}

/// Which record to merge into this one, and the version of this one the caller saw.
#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    pub duplicate: CustomerId,
    pub expected_version: u64,
}

/// Merges `req.duplicate` into customer `id`, keeping every contact, activity and purchase
/// (on the survivor) and leaving the duplicate as a pointer to it; the caller must be able to
/// work on both. A retry of a merge that happened answers with the survivor again.
#[tracing::instrument(name = "customer.merge", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn merge_customer(
    state: &AppState,
    actor: &Actor,
    id: CustomerId,
    req: MergeRequest,
) -> Result<CustomerDetail, AppError> {
    let mut survivor = load_customer(state, actor, id).await?;
    let mut duplicate = load_customer(state, actor, req.duplicate).await?;
    if duplicate.merged_into == Some(id) {
        state
            .customers
            .finish_merge(&actor.tenant, duplicate.id)
            .await?;
        return get_customer(state, actor, id).await;
    }
    if survivor.version != req.expected_version {
        return Err(AppError::VersionConflict {
            expected: req.expected_version,
            actual: survivor.version,
        });
    }
    let (survivor_version, duplicate_version) = (survivor.version, duplicate.version);
    survivor.absorb(&mut duplicate)?;
    let event = survivor.event(
        actor,
        state.clock.now(),
        EventPayload::CustomerMerged {
            duplicate: duplicate.id,
        },
    );
    state
        .customers
        .merge_customers(
            &survivor,
            survivor_version,
            &duplicate,
            duplicate_version,
            &[event],
        )
        .await?;
    get_customer(state, actor, id).await
}
