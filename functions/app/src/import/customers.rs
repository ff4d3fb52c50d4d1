//! Customers and their contacts from a sheet: one row per contact, rows of the same company
//! (by its de-duplication key, so "苏州精密机械有限公司" and "苏州精密机械" are one) make one
//! customer. Phones are normalised in the tenant's region; a company or contact the tenant
//! already has is not created again: its new contacts are added to it, known ones skipped.

use super::table::Table;
use super::use_cases::{
    Check, ImportKind, ImportReport, Progress, RowError, RowOutcome, columns, settle, text_cell,
};
use crate::error::AppError;
use crate::lead::{load_tenant, region_of};
use crate::state::AppState;
use fieldline_domain::{
    Actor, Address, Contact, ContactId, Customer, CustomerId, CustomerKind, EventPayload,
    NewContact, NewCustomer, Permission, User, company_key,
};
use std::collections::HashMap;

/// The columns, each with the header names it is recognised by (folded).
pub(super) const FIELDS: &[(&str, bool)] = &[
    ("company", true),
    ("kind", false),
    ("address", false),
    ("tags", false),
    ("owner", false),
    ("contact", false),
    ("title", false),
    ("phone", false),
    ("email", false),
    ("role", false),
];

/// The customer export's header: the import's own field names, so it reads back.
pub(super) const EXPORT_HEADER: &[&str] = &[
    "company", "kind", "address", "tags", "owner", "contact", "title", "phone", "email", "role",
];

/// A company the file names: stored already, or to create with the first row's details.
struct Company {
    customer: Customer,
    existing: bool,
    /// Whether the importer may add contacts to it (a stored one may be another team's).
    writable: bool,
    /// Contacts to add, each with its row.
    contacts: Vec<Contact>,
}

/// Splits a cell listing several values (`138…; 139…`, `A、B`).
fn list(raw: &str) -> Vec<String> {
    raw.split([',', ';', '、', '，', '；', '/', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The stored customer a company's de-duplication key (`company_key`) belongs to, if any.
pub(super) async fn stored_company(
    state: &AppState,
    tenant: &fieldline_domain::TenantId,
    key: &str,
) -> Result<Option<Customer>, fieldline_store::StoreError> {
    let holder = state
        .customers
        .key_holder(tenant, &format!("customer:name:{key}"))
        .await?;
    match holder.and_then(|h| h.parse::<CustomerId>().ok()) {
        Some(id) => state.customers.get_customer(tenant, id).await,
        None => Ok(None),
    }
}

pub(super) async fn import(
    state: &AppState,
    actor: &Actor,
    table: &Table,
    dry_run: bool,
    mapping: Option<&str>,
    progress: &Progress,
) -> Result<ImportReport, AppError> {
    actor.check(Permission::AssignLeads)?;
    let cols = columns(table, FIELDS, mapping)?;
    let cell = |row: &[String], field: &str| cols.cell(row, field).trim().to_owned();
    let tenant = load_tenant(state, &actor.tenant).await?;
    let region = region_of(&tenant)?;
    let policy = tenant.grade_policy();
    let users = state.directory.list_users(&actor.tenant).await?;
    let me = users
        .iter()
        .find(|u| u.id == actor.user)
        .cloned()
        .ok_or_else(|| AppError::Unauthenticated("user no longer exists".into()))?;
    let now = state.clock.now();
    let mut report = ImportReport::new(ImportKind::Customers, dry_run, table, &cols, progress);
    let mut companies: HashMap<String, Company> = HashMap::new();
    let mut contact_rows: HashMap<String, usize> = HashMap::new();

    for (line, row) in &table.rows {
        let name = cell(row, "company");
        let key = company_key(&name);
        let outcome: Result<RowOutcome, Check> = async {
            let name = text_cell(&name, "company")?;
            let owner: &User = match cell(row, "owner") {
                o if o.is_empty() => &me,
                o => users
                    .iter()
                    .find(|u| u.active && u.email.as_str().eq_ignore_ascii_case(&o))
                    .ok_or_else(|| RowError::not_found("owner", format!("no active user {o}")))?,
            };
            // Managers give customers to their own team only, as when creating one by hand
            // (the importer without an owner column owns what they import).
            if owner.id != me.id {
                actor
                    .check(Permission::CreateCustomerFor(Some(owner.id)))
                    .and_then(|()| actor.check_can_assign_to(owner))
                    .map_err(|e| RowError::from(e).or_field("owner"))?;
            }
            let mut created = false;
            if !companies.contains_key(&key) {
                let company = match stored_company(state, &actor.tenant, &key).await? {
                    Some(customer) => Company {
                        writable: actor.check(Permission::AccessCustomer(&customer)).is_ok(),
                        customer,
                        existing: true,
                        contacts: Vec::new(),
                    },
                    None => {
                        let kind = match cell(row, "kind") {
                            k if k.is_empty() => CustomerKind::default(),
                            k => k.parse().map_err(|_| {
                                RowError::invalid(
                                    "kind",
                                    format!("{k:?} is not store, distributor, enterprise or other"),
                                )
                            })?,
                        };
                        let address = cell(row, "address");
                        let input = NewCustomer {
                            name: name.clone(),
                            kind,
                            owner: Some(owner.id),
                            addresses: if address.is_empty() {
                                Vec::new()
                            } else {
                                vec![Address {
                                    text: text_cell(&address, "address")?,
                                    geo: None,
                                }]
                            },
                            tags: list(&cell(row, "tags")),
                            contacts: Vec::new(),
                        };
                        let customer =
                            Customer::create(&input, CustomerId::new(), actor, owner, now)?;
                        created = true;
                        Company {
                            customer,
                            existing: false,
                            writable: true,
                            contacts: Vec::new(),
                        }
                    }
                };
                companies.insert(key.clone(), company);
            }
            let (contact, phones, emails) =
                (cell(row, "contact"), cell(row, "phone"), cell(row, "email"));
            if contact.is_empty() && phones.is_empty() && emails.is_empty() {
                return Ok(if created {
                    RowOutcome::Created
                } else {
                    RowOutcome::Unchanged
                });
            }
            if contact.is_empty() {
                return Err(RowError::invalid(
                    "contact",
                    "a phone or e-mail needs the person's name",
                )
                .into());
            }
            let company = companies.get(&key).expect("inserted above");
            let input = NewContact {
                name: text_cell(&contact, "contact")?,
                title: Some(text_cell(&cell(row, "title"), "title")?),
                phones: list(&phones),
                emails: list(&emails),
                decision_role: None,
                role: Some(cell(row, "role")).filter(|r| !r.is_empty()),
            };
            let role = policy.parse_role(input.role.as_deref())?;
            let parsed = input.parse(ContactId::new(), &company.customer, region, role, now)?;
            // Known already (here or earlier in the file) or someone else's?
            let mut known = false;
            for k in parsed.dedupe_keys() {
                if let Some(first) = contact_rows.get(&k) {
                    return Err(RowError::duplicate("contact", *first).into());
                }
                let holder = state.customers.key_holder(&actor.tenant, &k).await?;
                let Some(holder) = holder.and_then(|h| h.parse::<ContactId>().ok()) else {
                    continue;
                };
                let theirs = state.customers.get_contact(&actor.tenant, holder).await?;
                match theirs {
                    Some(c) if c.customer == company.customer.id => known = true,
                    Some(c) => {
                        return Err(RowError {
                            code: "duplicate",
                            field: None,
                            message: format!(
                                "{k} is already {}'s, a contact of another customer",
                                c.name.as_str()
                            ),
                        }
                        .into());
                    }
                    None => {}
                }
            }
            for k in parsed.dedupe_keys() {
                contact_rows.insert(k, *line);
            }
            if known {
                return Ok(if created {
                    RowOutcome::Created
                } else {
                    RowOutcome::Unchanged
                });
            }
            if !company.writable {
                return Err(RowError::forbidden(
                    "company",
                    format!(
                        "{} is another team's customer; its owner's managers add contacts",
                        company.customer.name.as_str()
                    ),
                )
                .into());
            }
            companies
                .get_mut(&key)
                .expect("inserted above")
                .contacts
                .push(parsed);
            Ok(if created {
                RowOutcome::Created
            } else {
                RowOutcome::Updated
            })
        }
        .await;
        report.count(*line, name, settle(outcome)?);
    }
    if dry_run || report.errors > 0 {
        return Ok(report);
    }
    // Every row is good: the new customers with their contacts, then contacts of known ones.
    let mut written = 0usize;
    for company in companies.values() {
        if company.existing {
            for contact in &company.contacts {
                let event = company
                    .customer
                    .event(
                        actor,
                        now,
                        EventPayload::ContactAdded {
                            contact: contact.id,
                            role: contact.role.clone(),
                        },
                    )
                    .imported();
                state.customers.add_contact(contact, &[event]).await?;
            }
        } else {
            let created = company
                .customer
                .event(
                    actor,
                    now,
                    EventPayload::CustomerCreated {
                        name: company.customer.name.as_str().to_owned(),
                    },
                )
                .imported();
            state
                .customers
                .create_customer(&company.customer, &company.contacts, &[created])
                .await?;
        }
        written += 1;
        progress.writing(written, companies.len());
    }
    report.committed = true;
    tracing::info!(
        companies = written,
        rows = report.rows.len(),
        "customer import committed"
    );
    Ok(report)
}
