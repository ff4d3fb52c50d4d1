//! Customers and contacts on SQLite, with the tenant's de-duplication keys in their own
//! table: a key is a primary key there, so the write that stores a record and claims its
//! keys fails as a whole when another record holds one, whatever races it.

use crate::events::insert_events;
use crate::lead::{insert_activity, replay_activity};
use crate::{SqliteStore, newest_first_page, query_bodies, query_body, sql_err, to_json};
use async_trait::async_trait;
use fieldline_domain::{
    Activity, Contact, ContactId, Customer, CustomerId, DomainEvent, GradeSnapshot, LeadScope,
    Purchase, Subject, TenantId, Timestamp, Touch, VisitId, search_fold, visit::Visit,
};
use fieldline_store::error::{StoreError, StoreResult};
use fieldline_store::{
    Created, CustomerFile, CustomerQuery, CustomerStore, IdempotencyRecord, Page,
};
use rusqlite::types::Value;
use rusqlite::{OptionalExtension, Transaction, params, params_from_iter};

pub fn insert_customer(tx: &Transaction<'_>, customer: &Customer) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO customers (tenant_id, id, owner_id, team_id, updated_at, version, body, search)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            customer.tenant.as_str(),
            customer.id.to_string(),
            customer.owner.to_string(),
            customer.team.map(|t| t.to_string()),
            customer.created_at.timestamp_millis(),
            customer.version as i64,
            to_json(customer)?,
            search_fold(customer.name.as_str()),
        ],
    )
    .map_err(sql_err)?;
    Ok(())
}

/// Replaces a stored customer if it is still at `expected_version`, moving its keys with it.
fn replace_customer(
    tx: &Transaction<'_>,
    customer: &Customer,
    expected_version: u64,
) -> StoreResult<()> {
    let tenant = &customer.tenant;
    let id = customer.id.to_string();
    let stored = select_customer(tx, tenant, &id)?.ok_or(StoreError::NotFound)?;
    if stored.version != expected_version {
        return Err(StoreError::VersionConflict {
            expected: expected_version,
            actual: stored.version,
        });
    }
    let new_keys = customer.dedupe_keys();
    for old in stored
        .dedupe_keys()
        .iter()
        .filter(|k| !new_keys.contains(k))
    {
        tx.execute(
            "DELETE FROM dedupe_keys WHERE tenant_id = ?1 AND key = ?2 AND record_id = ?3",
            params![tenant.as_str(), old, id],
        )
        .map_err(sql_err)?;
    }
    claim_keys(tx, tenant, &new_keys, &id)?;
    tx.execute(
        "UPDATE customers SET owner_id = ?1, team_id = ?2, version = ?3, body = ?4, search = ?8
         WHERE tenant_id = ?5 AND id = ?6 AND version = ?7",
        params![
            customer.owner.to_string(),
            customer.team.map(|t| t.to_string()),
            customer.version as i64,
            to_json(customer)?,
            tenant.as_str(),
            id,
            expected_version as i64,
            search_fold(customer.name.as_str()),
        ],
    )
    .map_err(sql_err)?;
    Ok(())
}

/// Refiles a merged customer's contacts, activities and purchases under `to` (a reference
/// `to` already has stays `to`'s) and drops its grades; how many rows moved.
fn move_children(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    from: CustomerId,
    to: CustomerId,
) -> StoreResult<u32> {
    let (t, from_s, to_s) = (tenant.as_str(), from.to_string(), to.to_string());
    let mut moved = 0u32;
    let contacts: Vec<Contact> = query_bodies(
        tx,
        "SELECT body FROM contacts WHERE tenant_id = ?1 AND customer_id = ?2",
        params![t, from_s],
    )?;
    for mut c in contacts {
        c.customer = to;
        tx.execute(
            "UPDATE contacts SET customer_id = ?1, body = ?2 WHERE tenant_id = ?3 AND id = ?4",
            params![to_s, to_json(&c)?, t, c.id.to_string()],
        )
        .map_err(sql_err)?;
        moved += 1;
    }
    let activities: Vec<Activity> = query_bodies(
        tx,
        "SELECT body FROM activities WHERE tenant_id = ?1 AND subject_id = ?2",
        params![t, from_s],
    )?;
    for mut a in activities {
        a.subject = Subject::Customer(to);
        tx.execute(
            "UPDATE activities SET subject_id = ?1, body = ?2 WHERE tenant_id = ?3 AND id = ?4",
            params![to_s, to_json(&a)?, t, a.id.to_string()],
        )
        .map_err(sql_err)?;
        moved += 1;
    }
    let purchases: Vec<Purchase> = query_bodies(
        tx,
        "SELECT body FROM purchases WHERE tenant_id = ?1 AND customer_id = ?2",
        params![t, from_s],
    )?;
    for mut p in purchases {
        p.customer = to;
        insert_purchase(tx, &p)?;
        moved += 1;
    }
    tx.execute(
        "DELETE FROM purchases WHERE tenant_id = ?1 AND customer_id = ?2",
        params![t, from_s],
    )
    .map_err(sql_err)?;
    tx.execute(
        "DELETE FROM customer_grades WHERE tenant_id = ?1 AND customer_id = ?2",
        params![t, from_s],
    )
    .map_err(sql_err)?;
    // The duplicate's deals count toward the survivor's grade; their bodies keep naming the
    // pointer, which leads here.
    let deals = tx
        .execute(
            "UPDATE deals SET customer_id = ?1 WHERE tenant_id = ?2 AND customer_id = ?3",
            params![to_s, t, from_s],
        )
        .map_err(sql_err)?;
    Ok(moved + deals as u32)
}

/// A customer's contacts, oldest first (ids are time-ordered). Sorted here: with `ORDER BY id`
/// SQLite walks the primary key through every contact of the tenant instead of using
/// `contacts_by_customer` (found by the `customer_grading` benchmark at 150,000 contacts).
fn select_contacts(
    conn: &rusqlite::Connection,
    tenant: &str,
    customer: &str,
) -> StoreResult<Vec<Contact>> {
    let mut contacts: Vec<Contact> = query_bodies(
        conn,
        "SELECT body FROM contacts WHERE tenant_id = ?1 AND customer_id = ?2",
        params![tenant, customer],
    )?;
    contacts.sort_by_key(|c| c.id);
    Ok(contacts)
}

/// A customer's activities and its deals' as grading reads them: three fields pulled out in
/// SQL instead of every body parsed (measured by the `customer_grading` benchmark).
fn select_touches(
    conn: &rusqlite::Connection,
    tenant: &str,
    customer: &str,
    since: Timestamp,
) -> StoreResult<Vec<Touch>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT json_extract(body, '$.kind'), occurred_at, json_extract(body, '$.contact')
             FROM activities WHERE tenant_id = ?1 AND occurred_at >= ?3 AND subject_id IN
                 (SELECT ?2 UNION ALL SELECT id FROM deals WHERE tenant_id = ?1 AND customer_id = ?2)
             ORDER BY occurred_at DESC, id DESC",
        )
        .map_err(sql_err)?;
    let rows = stmt
        .query_map(params![tenant, customer, since.timestamp_millis()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })
        .map_err(sql_err)?;
    let mut touches = Vec::new();
    for row in rows {
        let (kind, at, contact) = row.map_err(sql_err)?;
        let corrupt = |what: &str| StoreError::corrupt_msg(format!("activity {what}"));
        touches.push(Touch {
            kind: kind.parse().map_err(|_| corrupt("kind"))?,
            occurred_at: chrono::DateTime::from_timestamp_millis(at)
                .ok_or_else(|| corrupt("time"))?,
            contact: contact
                .map(|c| c.parse().map_err(|_| corrupt("contact")))
                .transpose()?,
        });
    }
    Ok(touches)
}

/// Records a purchase unless its reference is there; whether it was new.
pub fn insert_purchase(tx: &Transaction<'_>, purchase: &Purchase) -> StoreResult<bool> {
    let added = tx
        .execute(
            "INSERT INTO purchases (tenant_id, customer_id, reference, at, body)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
            params![
                purchase.tenant.as_str(),
                purchase.customer.to_string(),
                purchase.reference,
                purchase.at.timestamp_millis(),
                to_json(purchase)?,
            ],
        )
        .map_err(sql_err)?;
    Ok(added == 1)
}

/// Fills the search column for customers stored before it (the V12 migration).
pub(crate) fn backfill_search(tx: &Transaction<'_>) -> StoreResult<()> {
    let customers: Vec<Customer> = query_bodies(tx, "SELECT body FROM customers", [])?;
    for c in &customers {
        tx.execute(
            "UPDATE customers SET search = ?1 WHERE tenant_id = ?2 AND id = ?3",
            params![
                search_fold(c.name.as_str()),
                c.tenant.as_str(),
                c.id.to_string()
            ],
        )
        .map_err(sql_err)?;
    }
    Ok(())
}

pub fn insert_contact(tx: &Transaction<'_>, contact: &Contact) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO contacts (tenant_id, id, customer_id, body) VALUES (?1, ?2, ?3, ?4)",
        params![
            contact.tenant.as_str(),
            contact.id.to_string(),
            contact.customer.to_string(),
            to_json(contact)?,
        ],
    )
    .map_err(sql_err)?;
    Ok(())
}

fn select_customer(
    conn: &rusqlite::Connection,
    tenant: &TenantId,
    id: &str,
) -> StoreResult<Option<Customer>> {
    query_body(
        conn,
        "SELECT body FROM customers WHERE tenant_id = ?1 AND id = ?2",
        params![tenant.as_str(), id],
    )
}

/// `NotFound` unless the customer is stored.
pub(crate) fn require_customer(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    id: CustomerId,
) -> StoreResult<()> {
    let exists: Option<i64> = tx
        .query_row(
            "SELECT 1 FROM customers WHERE tenant_id = ?1 AND id = ?2",
            params![tenant.as_str(), id.to_string()],
            |r| r.get(0),
        )
        .optional()
        .map_err(sql_err)?;
    exists.map(|_| ()).ok_or(StoreError::NotFound)
}

/// Claims every key for `record`, or fails with `Duplicate` naming the first holder.
fn claim_keys(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    keys: &[String],
    record: &str,
) -> StoreResult<()> {
    for key in keys {
        let holder: Option<String> = tx
            .query_row(
                "SELECT record_id FROM dedupe_keys WHERE tenant_id = ?1 AND key = ?2",
                params![tenant.as_str(), key],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql_err)?;
        match holder {
            Some(existing) if existing != record => {
                return Err(StoreError::Duplicate {
                    key: key.clone(),
                    existing,
                });
            }
            Some(_) => {}
            None => {
                tx.execute(
                    "INSERT INTO dedupe_keys (tenant_id, key, record_id) VALUES (?1, ?2, ?3)",
                    params![tenant.as_str(), key, record],
                )
                .map_err(sql_err)?;
            }
        }
    }
    Ok(())
}

/// Claims the keys nobody holds yet and leaves the others with their holders (conversions,
/// and records stored before the keys existed).
pub(crate) fn claim_keys_if_free(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    keys: &[String],
    record: &str,
) -> StoreResult<()> {
    for key in keys {
        tx.execute(
            "INSERT OR IGNORE INTO dedupe_keys (tenant_id, key, record_id) VALUES (?1, ?2, ?3)",
            params![tenant.as_str(), key, record],
        )
        .map_err(sql_err)?;
    }
    Ok(())
}

/// Gives the customers and contacts stored before the keys existed their keys, oldest
/// first (the V11 migration); where two already share one, the older keeps it.
pub(crate) fn backfill_keys(tx: &Transaction<'_>) -> StoreResult<()> {
    let customers: Vec<Customer> =
        query_bodies(tx, "SELECT body FROM customers ORDER BY updated_at, id", [])?;
    for c in &customers {
        claim_keys_if_free(tx, &c.tenant, &c.dedupe_keys(), &c.id.to_string())?;
    }
    let contacts: Vec<Contact> = query_bodies(tx, "SELECT body FROM contacts ORDER BY id", [])?;
    for c in &contacts {
        claim_keys_if_free(tx, &c.tenant, &c.dedupe_keys(), &c.id.to_string())?;
    }
    Ok(())
}

#[async_trait]
impl CustomerStore for SqliteStore {
    async fn create_customer(
        &self,
        customer: &Customer,
        contacts: &[Contact],
        events: &[DomainEvent],
    ) -> StoreResult<()> {
        let customer = customer.clone();
        let contacts = contacts.to_vec();
        let events = events.to_vec();
        self.write(move |tx| {
            let tenant = &customer.tenant;
            claim_keys(
                tx,
                tenant,
                &customer.dedupe_keys(),
                &customer.id.to_string(),
            )?;
            insert_customer(tx, &customer)?;
            for contact in &contacts {
                claim_keys(tx, tenant, &contact.dedupe_keys(), &contact.id.to_string())?;
                insert_contact(tx, contact)?;
            }
            insert_events(tx, &events)
        })
        .await
    }

    async fn update_customer(
        &self,
        customer: &Customer,
        expected_version: u64,
        events: &[DomainEvent],
    ) -> StoreResult<()> {
        StoreError::check_advances(customer.version, expected_version)?;
        let customer = customer.clone();
        let events = events.to_vec();
        self.write(move |tx| {
            replace_customer(tx, &customer, expected_version)?;
            insert_events(tx, &events)
        })
        .await
    }

    async fn merge_customers(
        &self,
        survivor: &Customer,
        survivor_expected: u64,
        duplicate: &Customer,
        duplicate_expected: u64,
        events: &[DomainEvent],
    ) -> StoreResult<()> {
        StoreError::check_advances(survivor.version, survivor_expected)?;
        StoreError::check_advances(duplicate.version, duplicate_expected)?;
        let (survivor, duplicate) = (survivor.clone(), duplicate.clone());
        let events = events.to_vec();
        self.write(move |tx| {
            replace_customer(tx, &survivor, survivor_expected)?;
            replace_customer(tx, &duplicate, duplicate_expected)?;
            tx.execute(
                "UPDATE dedupe_keys SET record_id = ?1 WHERE tenant_id = ?2 AND record_id = ?3",
                params![
                    survivor.id.to_string(),
                    survivor.tenant.as_str(),
                    duplicate.id.to_string()
                ],
            )
            .map_err(sql_err)?;
            move_children(tx, &survivor.tenant, duplicate.id, survivor.id)?;
            insert_events(tx, &events)
        })
        .await
    }

    async fn finish_merge(&self, tenant: &TenantId, duplicate: CustomerId) -> StoreResult<u32> {
        let tenant = tenant.clone();
        self.write(move |tx| {
            let merged =
                select_customer(tx, &tenant, &duplicate.to_string())?.and_then(|c| c.merged_into);
            match merged {
                Some(into) => move_children(tx, &tenant, duplicate, into),
                None => Ok(0),
            }
        })
        .await
    }

    async fn create_visit(
        &self,
        visit: &Visit,
        events: &[DomainEvent],
    ) -> StoreResult<Created<Visit>> {
        let (visit, events) = (visit.clone(), events.to_vec());
        self.write(move |tx| {
            let (t, id) = (visit.tenant.as_str(), visit.id.to_string());
            let stored: Option<Visit> = query_bodies(
                tx,
                "SELECT body FROM visits WHERE tenant_id = ?1 AND id = ?2",
                params![t, id],
            )?
            .pop();
            if let Some(stored) = stored {
                return Ok(Created::Replayed(stored));
            }
            require_customer(tx, &visit.tenant, visit.customer)?;
            tx.execute(
                "INSERT INTO visits (tenant_id, id, checked_in_at, version, body)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    t,
                    id,
                    visit.checked_in_at.timestamp_millis(),
                    visit.version as i64,
                    to_json(&visit)?
                ],
            )
            .map_err(sql_err)?;
            insert_events(tx, &events)?;
            Ok(Created::New(visit))
        })
        .await
    }

    async fn get_visit(&self, tenant: &TenantId, id: VisitId) -> StoreResult<Option<Visit>> {
        let (t, id) = (tenant.as_str().to_owned(), id.to_string());
        self.read(move |conn| {
            Ok(query_bodies(
                conn,
                "SELECT body FROM visits WHERE tenant_id = ?1 AND id = ?2",
                params![t, id],
            )?
            .pop())
        })
        .await
    }

    async fn update_visit(
        &self,
        visit: &Visit,
        expected_version: u64,
        events: &[DomainEvent],
    ) -> StoreResult<()> {
        StoreError::check_advances(visit.version, expected_version)?;
        let (visit, events) = (visit.clone(), events.to_vec());
        self.write(move |tx| {
            let (t, id) = (visit.tenant.as_str(), visit.id.to_string());
            let changed = tx
                .execute(
                    "UPDATE visits SET version = ?1, body = ?2
                     WHERE tenant_id = ?3 AND id = ?4 AND version = ?5",
                    params![
                        visit.version as i64,
                        to_json(&visit)?,
                        t,
                        id,
                        expected_version as i64
                    ],
                )
                .map_err(sql_err)?;
            if changed == 0 {
                let actual: Option<i64> = tx
                    .query_row(
                        "SELECT version FROM visits WHERE tenant_id = ?1 AND id = ?2",
                        params![t, id],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(sql_err)?;
                return Err(match actual {
                    None => StoreError::NotFound,
                    Some(actual) => StoreError::VersionConflict {
                        expected: expected_version,
                        actual: actual as u64,
                    },
                });
            }
            insert_events(tx, &events)
        })
        .await
    }

    async fn visits_since(&self, tenant: &TenantId, since: Timestamp) -> StoreResult<Vec<Visit>> {
        let (t, since) = (tenant.as_str().to_owned(), since.timestamp_millis());
        self.read(move |conn| {
            query_bodies(
                conn,
                "SELECT body FROM visits WHERE tenant_id = ?1 AND checked_in_at >= ?2
                 ORDER BY checked_in_at, id",
                params![t, since],
            )
        })
        .await
    }

    async fn update_contact(
        &self,
        previous: &Contact,
        contact: &Contact,
        events: &[DomainEvent],
    ) -> StoreResult<()> {
        let (previous, contact) = (previous.clone(), contact.clone());
        let events = events.to_vec();
        self.write(move |tx| {
            let (t, id) = (contact.tenant.as_str(), contact.id.to_string());
            let before = previous.dedupe_keys();
            let after = contact.dedupe_keys();
            let gained: Vec<String> = after.iter().filter(|k| !before.contains(k)).cloned().collect();
            claim_keys(tx, &contact.tenant, &gained, &id)?;
            for lost in before.iter().filter(|k| !after.contains(k)) {
                tx.execute(
                    "DELETE FROM dedupe_keys WHERE tenant_id = ?1 AND key = ?2 AND record_id = ?3",
                    params![t, lost, id],
                )
                .map_err(sql_err)?;
            }
            let changed = tx
                .execute(
                    "UPDATE contacts SET body = ?1 WHERE tenant_id = ?2 AND id = ?3 AND customer_id = ?4",
                    params![to_json(&contact)?, t, id, contact.customer.to_string()],
                )
                .map_err(sql_err)?;
            if changed == 0 {
                return Err(StoreError::NotFound);
            }
            insert_events(tx, &events)
        })
        .await
    }

    async fn add_contact(&self, contact: &Contact, events: &[DomainEvent]) -> StoreResult<()> {
        let contact = contact.clone();
        let events = events.to_vec();
        self.write(move |tx| {
            require_customer(tx, &contact.tenant, contact.customer)?;
            claim_keys(
                tx,
                &contact.tenant,
                &contact.dedupe_keys(),
                &contact.id.to_string(),
            )?;
            insert_contact(tx, &contact)?;
            insert_events(tx, &events)
        })
        .await
    }

    async fn get_customer(
        &self,
        tenant: &TenantId,
        id: CustomerId,
    ) -> StoreResult<Option<Customer>> {
        let tenant = tenant.clone();
        self.read(move |conn| select_customer(conn, &tenant, &id.to_string()))
            .await
    }

    async fn get_contact(&self, tenant: &TenantId, id: ContactId) -> StoreResult<Option<Contact>> {
        let tenant = tenant.clone();
        self.read(move |conn| {
            query_body(
                conn,
                "SELECT body FROM contacts WHERE tenant_id = ?1 AND id = ?2",
                params![tenant.as_str(), id.to_string()],
            )
        })
        .await
    }

    async fn list_contacts(
        &self,
        tenant: &TenantId,
        customer: CustomerId,
    ) -> StoreResult<Vec<Contact>> {
        let tenant = tenant.clone();
        self.read(move |conn| select_contacts(conn, tenant.as_str(), &customer.to_string()))
            .await
    }

    async fn list_customers(
        &self,
        tenant: &TenantId,
        query: &CustomerQuery,
    ) -> StoreResult<Page<Customer>> {
        // Records merged away stay as pointers but are not listed.
        let mut sql = String::from(
            "SELECT body FROM customers WHERE tenant_id = ?
             AND json_extract(body, '$.merged_into') IS NULL",
        );
        let mut args: Vec<Value> = vec![Value::Text(tenant.as_str().to_owned())];
        match &query.scope {
            LeadScope::Tenant => {}
            LeadScope::Team(team) => {
                sql.push_str(" AND team_id = ?");
                args.push(Value::Text(team.to_string()));
            }
            LeadScope::Owner(user) => {
                sql.push_str(" AND owner_id = ?");
                args.push(Value::Text(user.to_string()));
            }
            LeadScope::Pool => {
                return Ok(Page {
                    items: Vec::new(),
                    next: None,
                });
            }
        }
        if let Some(text) = &query.name_contains {
            sql.push_str(" AND instr(search, ?) > 0");
            args.push(Value::Text(text.clone()));
        }
        let limit = newest_first_page(&mut sql, &mut args, query.after.as_ref(), query.limit);
        self.read(move |conn| {
            let items: Vec<Customer> = query_bodies(conn, &sql, params_from_iter(args))?;
            Ok(Page::from_overfetched(items, limit as usize))
        })
        .await
    }

    async fn key_holder(&self, tenant: &TenantId, key: &str) -> StoreResult<Option<String>> {
        let (tenant, key) = (tenant.clone(), key.to_owned());
        self.read(move |conn| {
            conn.query_row(
                "SELECT record_id FROM dedupe_keys WHERE tenant_id = ?1 AND key = ?2",
                params![tenant.as_str(), key],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql_err)
        })
        .await
    }

    async fn record_customer_activity(
        &self,
        activity: &Activity,
        events: &[DomainEvent],
        idempotency: Option<&IdempotencyRecord>,
    ) -> StoreResult<Created<Activity>> {
        let Subject::Customer(customer) = activity.subject else {
            return Err(StoreError::corrupt_msg(
                "a customer activity on another subject",
            ));
        };
        let activity = activity.clone();
        let events = events.to_vec();
        let idempotency = idempotency.cloned();
        self.write(move |tx| {
            if let Some(rec) = &idempotency
                && let Some(original) =
                    replay_activity(tx, rec, CUSTOMER_ACTIVITY_SCOPE, &activity)?
            {
                return Ok(Created::Replayed(original));
            }
            require_customer(tx, &activity.tenant, customer)?;
            insert_activity(tx, &activity)?;
            insert_events(tx, &events)?;
            Ok(Created::New(activity))
        })
        .await
    }

    async fn customer_activities(
        &self,
        tenant: &TenantId,
        customer: CustomerId,
        since: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<Activity>> {
        let tenant = tenant.clone();
        self.read(move |conn| {
            query_bodies(
                conn,
                "SELECT body FROM activities WHERE tenant_id = ?1 AND subject_id = ?2
                 AND occurred_at >= ?3 ORDER BY occurred_at DESC, id DESC LIMIT ?4",
                params![
                    tenant.as_str(),
                    customer.to_string(),
                    since.timestamp_millis(),
                    i64::from(limit)
                ],
            )
        })
        .await
    }

    async fn add_purchase(&self, purchase: &Purchase, events: &[DomainEvent]) -> StoreResult<bool> {
        let purchase = purchase.clone();
        let events = events.to_vec();
        self.write(move |tx| {
            require_customer(tx, &purchase.tenant, purchase.customer)?;
            let added = insert_purchase(tx, &purchase)?;
            if added {
                insert_events(tx, &events)?;
            }
            Ok(added)
        })
        .await
    }

    async fn purchases_since(
        &self,
        tenant: &TenantId,
        customer: CustomerId,
        since: Timestamp,
    ) -> StoreResult<Vec<Purchase>> {
        let tenant = tenant.clone();
        self.read(move |conn| {
            query_bodies(
                conn,
                "SELECT body FROM purchases WHERE tenant_id = ?1 AND customer_id = ?2 AND at > ?3
                 ORDER BY at, reference",
                params![
                    tenant.as_str(),
                    customer.to_string(),
                    since.timestamp_millis()
                ],
            )
        })
        .await
    }

    async fn customer_file(
        &self,
        tenant: &TenantId,
        id: CustomerId,
        activities_since: Timestamp,
        purchases_since: Timestamp,
    ) -> StoreResult<Option<CustomerFile>> {
        let tenant = tenant.clone();
        // One connection for the five reads (one trip through the pool).
        self.read(move |conn| {
            let (t, c) = (tenant.as_str(), id.to_string());
            let Some(customer) = select_customer(conn, &tenant, &c)? else {
                return Ok(None);
            };
            Ok(Some(CustomerFile {
                customer,
                contacts: select_contacts(conn, t, &c)?,
                activities: select_touches(conn, t, &c, activities_since)?,
                purchases: query_bodies(
                    conn,
                    "SELECT body FROM purchases WHERE tenant_id = ?1 AND customer_id = ?2
                     AND at > ?3 ORDER BY at, reference",
                    params![t, c, purchases_since.timestamp_millis()],
                )?,
                grades: {
                    let mut latest: Vec<GradeSnapshot> = query_bodies(
                        conn,
                        "SELECT body FROM customer_grades WHERE tenant_id = ?1 AND customer_id = ?2
                         ORDER BY month DESC LIMIT 2",
                        params![t, c],
                    )?;
                    latest.reverse();
                    latest
                },
            }))
        })
        .await
    }

    async fn save_grade(&self, snapshot: &GradeSnapshot) -> StoreResult<()> {
        let snapshot = snapshot.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO customer_grades (tenant_id, customer_id, month, body)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (tenant_id, customer_id, month) DO UPDATE SET body = excluded.body
                 WHERE json_extract(customer_grades.body, '$.closed') = 0
                    OR json_extract(excluded.body, '$.closed') = 1",
                params![
                    snapshot.tenant.as_str(),
                    snapshot.customer.to_string(),
                    snapshot.month.to_string(),
                    to_json(&snapshot)?,
                ],
            )
            .map_err(sql_err)?;
            Ok(())
        })
        .await
    }

    async fn grades_of_month(
        &self,
        tenant: &TenantId,
        month: fieldline_domain::Month,
    ) -> StoreResult<Vec<GradeSnapshot>> {
        let tenant = tenant.clone();
        self.read(move |conn| {
            query_bodies(
                conn,
                "SELECT body FROM customer_grades WHERE tenant_id = ?1 AND month = ?2
                 ORDER BY customer_id",
                params![tenant.as_str(), month.to_string()],
            )
        })
        .await
    }

    async fn grade_history(
        &self,
        tenant: &TenantId,
        customer: CustomerId,
    ) -> StoreResult<Vec<GradeSnapshot>> {
        let tenant = tenant.clone();
        self.read(move |conn| {
            query_bodies(
                conn,
                "SELECT body FROM customer_grades WHERE tenant_id = ?1 AND customer_id = ?2
                 ORDER BY month",
                params![tenant.as_str(), customer.to_string()],
            )
        })
        .await
    }
}

/// The idempotency scope of `POST /v1/customers/{id}/activities`.
const CUSTOMER_ACTIVITY_SCOPE: &str = "customer.activity";
