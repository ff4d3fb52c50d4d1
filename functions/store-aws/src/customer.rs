//! Customers on DynamoDB. A customer lives at `TENANT#{t}#CUSTOMER#{id}` / `CUSTOMER` with
//! its contacts beside it (`CONTACT#{id}`); a contact's id finds its customer through a
//! small reference item (`TENANT#{t}#CONTACT#{id}`). Listings use the three indexes under
//! customer partitions (tenant, owner, team), newest first. Each de-duplication key is an
//! item of its own (`TENANT#{t}#KEY#{key}`) written with `attribute_not_exists` in the same
//! transaction as the record, so two records can never hold one key.

use crate::directory::tenant_pk;
use crate::lead::events_items;
use crate::lead::{listing_sk, newest_first_key};
use crate::subject::{record_sk, subject_pk};
use crate::table::ms_key;
use crate::table::{Item, ItemBuilder, Query, TxError, body, key, put_new, s, string_attr};
use crate::{
    DynamoStore, ENTITY, GSI1, GSI1_PK, GSI1_SK, GSI2, GSI2_PK, GSI2_SK, GSI3, GSI3_PK, GSI3_SK,
};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use fieldline_domain::{
    Activity, Contact, ContactId, Customer, CustomerId, DomainEvent, GradeSnapshot, LeadScope,
    Purchase, Subject, SubjectKind, TenantId, Timestamp, Touch, VisitId, search_fold, visit::Visit,
};
use fieldline_store::error::StoreResult;
use fieldline_store::{
    Created, CustomerFile, CustomerQuery, CustomerStore, IdempotencyRecord, Page, StoreError,
    page_limit,
};

pub(crate) fn customer_pk(tenant: &TenantId, id: CustomerId) -> String {
    subject_pk(tenant, Subject::Customer(id))
}

fn contact_ref_pk(tenant: &TenantId, id: ContactId) -> String {
    format!("{}#CONTACT#{id}", tenant_pk(tenant))
}

fn key_pk(tenant: &TenantId, dedupe_key: &str) -> String {
    format!("{}#KEY#{dedupe_key}", tenant_pk(tenant))
}

const KEY_SK: &str = "KEY";

pub(crate) fn customer_item(customer: &Customer) -> StoreResult<Item> {
    let t = tenant_pk(&customer.tenant);
    let sort = listing_sk(customer.created_at.timestamp_millis(), customer.id);
    let mut item = ItemBuilder::new(
        customer_pk(&customer.tenant, customer.id),
        record_sk(SubjectKind::Customer),
    )
    .body(customer)?
    .s(ENTITY, "customer")
    .n("version", customer.version as i64);
    // A record merged away keeps no index entries: it is found by id only.
    if customer.merged_into.is_some() {
        return Ok(item.build());
    }
    item = item
        .s("name_search", search_fold(customer.name.as_str()))
        .s(GSI1_PK, format!("{t}#CUSTOMERS"))
        .s(GSI1_SK, sort.clone())
        .s(GSI2_PK, format!("{t}#CUSTOWNER#{}", customer.owner))
        .s(GSI2_SK, sort.clone());
    if let Some(team) = customer.team {
        item = item
            .s(GSI3_PK, format!("{t}#CUSTTEAM#{team}"))
            .s(GSI3_SK, sort);
    }
    Ok(item.build())
}

/// A visit in its own partition, listed by check-in time under `{t}#VISITS` (reports).
fn visit_item(visit: &Visit) -> StoreResult<Item> {
    Ok(ItemBuilder::new(
        subject_pk(&visit.tenant, Subject::Visit(visit.id)),
        record_sk(SubjectKind::Visit),
    )
    .body(visit)?
    .s(ENTITY, "visit")
    .n("version", visit.version as i64)
    .s(GSI1_PK, format!("{}#VISITS", tenant_pk(&visit.tenant)))
    .s(
        GSI1_SK,
        format!(
            "{}#{}",
            ms_key(visit.checked_in_at.timestamp_millis()),
            visit.id
        ),
    )
    .build())
}

/// A deal's entry under its customer (`DEAL#{id}`), written with the deal: how a customer's
/// grade finds the activities logged on its deals.
pub(crate) fn deal_link_item(deal: &fieldline_domain::Deal) -> Item {
    ItemBuilder::new(
        customer_pk(&deal.tenant, deal.customer),
        format!("DEAL#{}", deal.id),
    )
    .s(ENTITY, "customer_deal")
    .build()
}

/// The contact under its customer, and the reference item that finds it by id.
/// The check that a customer is still stored, for writes that attach to it.
pub(crate) fn customer_exists(table: &str, tenant: &TenantId, id: CustomerId) -> TransactWriteItem {
    crate::table::check(
        table,
        key(customer_pk(tenant, id), record_sk(SubjectKind::Customer)),
        "attribute_exists(pk)",
        &[],
    )
}

pub(crate) fn contact_items(table: &str, contact: &Contact) -> StoreResult<Vec<TransactWriteItem>> {
    let item = ItemBuilder::new(
        customer_pk(&contact.tenant, contact.customer),
        format!("CONTACT#{}", contact.id),
    )
    .body(contact)?
    .s(ENTITY, "contact")
    .build();
    let reference = ItemBuilder::new(contact_ref_pk(&contact.tenant, contact.id), "CONTACT")
        .s(ENTITY, "contact_ref")
        .s("customer_id", contact.customer.to_string())
        .build();
    Ok(vec![put_new(table, item), put_new(table, reference)])
}

fn key_item(tenant: &TenantId, dedupe_key: &str, record: &str) -> Item {
    ItemBuilder::new(key_pk(tenant, dedupe_key), KEY_SK)
        .s(ENTITY, "dedupe_key")
        .s("record_id", record)
        .build()
}

impl DynamoStore {
    /// Claims the keys nobody holds yet for `record`, leaving the others with their holders
    /// (a conversion's customer and contact).
    pub(crate) async fn claim_keys_if_free(
        &self,
        tenant: &TenantId,
        keys: &[String],
        record: &str,
    ) -> StoreResult<()> {
        for k in keys {
            self.put_if(
                key_item(tenant, k, record),
                Some("attribute_not_exists(pk)"),
                &[],
            )
            .await?;
        }
        Ok(())
    }

    /// Runs a write whose items `keys_at` are key claims (key, index in `items`): a failed
    /// claim is `Duplicate` with the key's holder; `Ok(false)` when another condition failed.
    async fn transact_claiming(
        &self,
        tenant: &TenantId,
        items: Vec<TransactWriteItem>,
        keys_at: &[(String, usize)],
    ) -> StoreResult<bool> {
        match self.transact(items).await {
            Ok(()) => Ok(true),
            Err(TxError::Cancelled(flags)) => {
                for (k, at) in keys_at {
                    if flags.get(*at).copied().unwrap_or(false) {
                        let existing = CustomerStore::key_holder(self, tenant, k)
                            .await?
                            .ok_or_else(|| {
                                StoreError::Busy(format!("key {k} changed hands; retry"))
                            })?;
                        return Err(StoreError::Duplicate {
                            key: k.clone(),
                            existing,
                        });
                    }
                }
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// Key claims for `record`, appended to `items`, remembering where each went.
fn claims(
    table: &str,
    tenant: &TenantId,
    keys: &[String],
    record: &str,
    items: &mut Vec<TransactWriteItem>,
    keys_at: &mut Vec<(String, usize)>,
) {
    for k in keys {
        keys_at.push((k.clone(), items.len()));
        items.push(put_new(table, key_item(tenant, k, record)));
    }
}

/// A new contact's items and its key claims, appended to a write.
fn contact_writes(
    table: &str,
    contact: &Contact,
    items: &mut Vec<TransactWriteItem>,
    keys_at: &mut Vec<(String, usize)>,
) -> StoreResult<()> {
    items.extend(contact_items(table, contact)?);
    claims(
        table,
        &contact.tenant,
        &contact.dedupe_keys(),
        &contact.id.to_string(),
        items,
        keys_at,
    );
    Ok(())
}

#[async_trait]
impl CustomerStore for DynamoStore {
    async fn create_customer(
        &self,
        customer: &Customer,
        contacts: &[Contact],
        events: &[DomainEvent],
    ) -> StoreResult<()> {
        let tenant = &customer.tenant;
        let table = self.table().to_owned();
        let mut items = vec![put_new(&table, customer_item(customer)?)];
        let mut keys_at = Vec::new();
        let id = customer.id.to_string();
        claims(
            &table,
            tenant,
            &customer.dedupe_keys(),
            &id,
            &mut items,
            &mut keys_at,
        );
        for contact in contacts {
            contact_writes(&table, contact, &mut items, &mut keys_at)?;
        }
        items.extend(events_items(&table, events)?);
        if self.transact_claiming(tenant, items, &keys_at).await? {
            Ok(())
        } else {
            Err(StoreError::AlreadyExists(format!(
                "customer {}",
                customer.id
            )))
        }
    }

    async fn update_customer(
        &self,
        customer: &Customer,
        expected_version: u64,
        events: &[DomainEvent],
    ) -> StoreResult<()> {
        StoreError::check_advances(customer.version, expected_version)?;
        let tenant = &customer.tenant;
        let stored: Customer = self
            .get_body(
                customer_pk(tenant, customer.id),
                record_sk(SubjectKind::Customer),
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        if stored.version != expected_version {
            return Err(StoreError::VersionConflict {
                expected: expected_version,
                actual: stored.version,
            });
        }
        let table = self.table().to_owned();
        let id = customer.id.to_string();
        let mut items = vec![self.versioned_put(
            customer_item(customer)?,
            customer.version,
            expected_version,
        )?];
        let new_keys = customer.dedupe_keys();
        let old_keys = stored.dedupe_keys();
        for old in old_keys.iter().filter(|k| !new_keys.contains(k)) {
            items.push(crate::table::delete(
                &table,
                key(key_pk(tenant, old), KEY_SK),
                Some("record_id = :r"),
                &[(":r", s(id.clone()))],
            ));
        }
        let added: Vec<String> = new_keys
            .into_iter()
            .filter(|k| !old_keys.contains(k))
            .collect();
        let mut keys_at = Vec::new();
        claims(&table, tenant, &added, &id, &mut items, &mut keys_at);
        items.extend(events_items(&table, events)?);
        if self.transact_claiming(tenant, items, &keys_at).await? {
            Ok(())
        } else {
            // The version moved on (a released key can only change hands through a
            // concurrent update of this same customer).
            Err(self
                .version_failure(tenant, Subject::Customer(customer.id), expected_version)
                .await)
        }
    }

    async fn add_contact(&self, contact: &Contact, events: &[DomainEvent]) -> StoreResult<()> {
        let tenant = &contact.tenant;
        let table = self.table().to_owned();
        // A missing customer is `NotFound` before any key is looked at; the check in the
        // write covers one that goes away meanwhile.
        let missing = self
            .get(key(
                customer_pk(tenant, contact.customer),
                record_sk(SubjectKind::Customer),
            ))
            .await?
            .is_none();
        if missing {
            return Err(StoreError::NotFound);
        }
        let mut items = vec![customer_exists(&table, tenant, contact.customer)];
        let mut keys_at = Vec::new();
        contact_writes(&table, contact, &mut items, &mut keys_at)?;
        items.extend(events_items(&table, events)?);
        if self.transact_claiming(tenant, items, &keys_at).await? {
            Ok(())
        } else {
            // The customer went away between the read and the write.
            Err(StoreError::NotFound)
        }
    }

    async fn create_visit(
        &self,
        visit: &Visit,
        events: &[DomainEvent],
    ) -> StoreResult<Created<Visit>> {
        let tenant = &visit.tenant;
        let table = self.table().to_owned();
        let mut items = vec![
            customer_exists(&table, tenant, visit.customer),
            put_new(&table, visit_item(visit)?),
        ];
        items.extend(events_items(&table, events)?);
        match self.transact(items).await {
            Ok(()) => Ok(Created::New(visit.clone())),
            Err(TxError::Cancelled(flags)) if flags.get(1) == Some(&true) => {
                let stored = CustomerStore::get_visit(self, tenant, visit.id)
                    .await?
                    .ok_or_else(|| StoreError::Busy("visit changed hands; retry".into()))?;
                Ok(Created::Replayed(stored))
            }
            Err(TxError::Cancelled(_)) => Err(StoreError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    async fn get_visit(&self, tenant: &TenantId, id: VisitId) -> StoreResult<Option<Visit>> {
        self.get_body(
            subject_pk(tenant, Subject::Visit(id)),
            record_sk(SubjectKind::Visit),
        )
        .await
    }

    async fn update_visit(
        &self,
        visit: &Visit,
        expected_version: u64,
        events: &[DomainEvent],
    ) -> StoreResult<()> {
        let table = self.table().to_owned();
        let mut items =
            vec![self.versioned_put(visit_item(visit)?, visit.version, expected_version)?];
        items.extend(events_items(&table, events)?);
        match self.transact(items).await {
            Ok(()) => Ok(()),
            Err(TxError::Cancelled(_)) => Err(self
                .version_failure(&visit.tenant, Subject::Visit(visit.id), expected_version)
                .await),
            Err(e) => Err(e.into()),
        }
    }

    async fn visits_since(&self, tenant: &TenantId, since: Timestamp) -> StoreResult<Vec<Visit>> {
        let values = [
            (":p", s(format!("{}#VISITS", tenant_pk(tenant)))),
            (":from", s(ms_key(since.timestamp_millis()))),
        ];
        let q = Query::index(GSI1, "gsi1pk = :p AND gsi1sk >= :from", &values);
        self.query_bodies(q, usize::MAX).await
    }

    async fn update_contact(
        &self,
        previous: &Contact,
        contact: &Contact,
        events: &[DomainEvent],
    ) -> StoreResult<()> {
        let tenant = &contact.tenant;
        let table = self.table().to_owned();
        let id = contact.id.to_string();
        let body = ItemBuilder::new(
            customer_pk(tenant, contact.customer),
            format!("CONTACT#{}", contact.id),
        )
        .body(contact)?
        .s(ENTITY, "contact")
        .build();
        // Only over a contact that is still there: a gone one is not brought back.
        let mut items = vec![crate::table::put(
            &table,
            body,
            Some("attribute_exists(pk)"),
            &[],
        )];
        let before = previous.dedupe_keys();
        let after = contact.dedupe_keys();
        let gained: Vec<String> = after
            .iter()
            .filter(|k| !before.contains(k))
            .cloned()
            .collect();
        let mut keys_at = Vec::new();
        claims(&table, tenant, &gained, &id, &mut items, &mut keys_at);
        for lost in before.iter().filter(|k| !after.contains(k)) {
            items.push(crate::table::delete(
                &table,
                key(key_pk(tenant, lost), KEY_SK),
                Some("attribute_not_exists(pk) OR record_id = :me"),
                &[(":me", s(id.clone()))],
            ));
        }
        items.extend(events_items(&table, events)?);
        if self.transact_claiming(tenant, items, &keys_at).await? {
            Ok(())
        } else {
            Err(StoreError::NotFound)
        }
    }

    async fn get_customer(
        &self,
        tenant: &TenantId,
        id: CustomerId,
    ) -> StoreResult<Option<Customer>> {
        self.get_body(customer_pk(tenant, id), record_sk(SubjectKind::Customer))
            .await
    }

    async fn get_contact(&self, tenant: &TenantId, id: ContactId) -> StoreResult<Option<Contact>> {
        let Some(reference) = self.get(key(contact_ref_pk(tenant, id), "CONTACT")).await? else {
            return Ok(None);
        };
        let customer: CustomerId = string_attr(&reference, "customer_id")
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| {
                StoreError::corrupt_msg(format!("contact {id}: reference without customer"))
            })?;
        self.get_body(customer_pk(tenant, customer), format!("CONTACT#{id}"))
            .await
    }

    async fn list_contacts(
        &self,
        tenant: &TenantId,
        customer: CustomerId,
    ) -> StoreResult<Vec<Contact>> {
        self.query_prefix(customer_pk(tenant, customer), "CONTACT#")
            .await
    }

    async fn list_customers(
        &self,
        tenant: &TenantId,
        query: &CustomerQuery,
    ) -> StoreResult<Page<Customer>> {
        let t = tenant_pk(tenant);
        let (index, pk_name, sk_name, partition) = match &query.scope {
            LeadScope::Tenant => (GSI1, GSI1_PK, GSI1_SK, format!("{t}#CUSTOMERS")),
            LeadScope::Owner(user) => (GSI2, GSI2_PK, GSI2_SK, format!("{t}#CUSTOWNER#{user}")),
            LeadScope::Team(team) => (GSI3, GSI3_PK, GSI3_SK, format!("{t}#CUSTTEAM#{team}")),
            LeadScope::Pool => {
                return Ok(Page {
                    items: Vec::new(),
                    next: None,
                });
            }
        };
        let mut values: Vec<(&str, AttributeValue)> = vec![(":p", s(partition))];
        let key_condition = newest_first_key(pk_name, sk_name, query.after.as_ref(), &mut values);
        if let Some(text) = &query.name_contains {
            values.push((":q", s(text.clone())));
        }
        let limit = page_limit(query.limit) as usize;
        let mut q = Query::index(index, &key_condition, &values).newest_first();
        if query.name_contains.is_some() {
            q = q.filter("contains(name_search, :q)");
        }
        let items = self.query(q, limit + 1).await?;
        let customers: Vec<Customer> = items.iter().map(body).collect::<StoreResult<_>>()?;
        Ok(Page::from_overfetched(customers, limit))
    }

    async fn key_holder(&self, tenant: &TenantId, dedupe_key: &str) -> StoreResult<Option<String>> {
        Ok(self
            .get(key(key_pk(tenant, dedupe_key), KEY_SK))
            .await?
            .and_then(|item| string_attr(&item, "record_id").map(str::to_owned)))
    }

    async fn merge_customers(
        &self,
        survivor: &Customer,
        survivor_expected: u64,
        duplicate: &Customer,
        duplicate_expected: u64,
        events: &[DomainEvent],
    ) -> StoreResult<()> {
        let tenant = &survivor.tenant;
        let table = self.table().to_owned();
        let mut items = vec![
            self.versioned_put(
                customer_item(survivor)?,
                survivor.version,
                survivor_expected,
            )?,
            self.versioned_put(
                customer_item(duplicate)?,
                duplicate.version,
                duplicate_expected,
            )?,
        ];
        let survivor_id = survivor.id.to_string();
        for k in duplicate.dedupe_keys() {
            items.push(crate::table::put(
                &table,
                key_item(tenant, &k, &survivor_id),
                None,
                &[],
            ));
        }
        items.extend(events_items(&table, events)?);
        match self.transact(items).await {
            Ok(()) => {}
            Err(TxError::Cancelled(flags)) => {
                let (id, expected) = if flags.first() == Some(&true) {
                    (survivor.id, survivor_expected)
                } else {
                    (duplicate.id, duplicate_expected)
                };
                return Err(self
                    .version_failure(tenant, Subject::Customer(id), expected)
                    .await);
            }
            Err(e) => return Err(e.into()),
        }
        // The duplicate's partition moves in batches; the merge event repeats this until
        // nothing is left, so a crash in between loses nothing.
        self.finish_merge(tenant, duplicate.id).await?;
        Ok(())
    }

    async fn finish_merge(&self, tenant: &TenantId, duplicate: CustomerId) -> StoreResult<u32> {
        let from_pk = customer_pk(tenant, duplicate);
        let Some(stored) = self
            .get_body::<Customer>(from_pk.clone(), record_sk(SubjectKind::Customer))
            .await?
        else {
            return Ok(0);
        };
        let Some(to) = stored.merged_into else {
            return Ok(0);
        };
        let to_pk = customer_pk(tenant, to);
        let table = self.table().to_owned();
        let values = [(":pk", s(from_pk.clone()))];
        let items = self
            .query(Query::table("pk = :pk", &values), usize::MAX)
            .await?;
        let mut moved = 0u32;
        let mut batch: Vec<TransactWriteItem> = Vec::new();
        for item in &items {
            let Some(sk) = string_attr(item, "sk").map(str::to_owned) else {
                continue;
            };
            let gone = crate::table::delete(&table, key(from_pk.clone(), sk.clone()), None, &[]);
            if sk.starts_with("CONTACT#") {
                let mut c: Contact = body(item)?;
                c.customer = to;
                let moved_item = ItemBuilder::new(to_pk.clone(), sk.clone())
                    .body(&c)?
                    .s(ENTITY, "contact")
                    .build();
                let reference = ItemBuilder::new(contact_ref_pk(tenant, c.id), "CONTACT")
                    .s(ENTITY, "contact_ref")
                    .s("customer_id", to.to_string())
                    .build();
                batch.push(crate::table::put(&table, moved_item, None, &[]));
                batch.push(crate::table::put(&table, reference, None, &[]));
            } else if sk.starts_with("ACT#") {
                let mut a: Activity = body(item)?;
                a.subject = Subject::Customer(to);
                let moved_item = ItemBuilder::new(to_pk.clone(), sk.clone())
                    .body(&a)?
                    .s(ENTITY, "activity")
                    .build();
                batch.push(crate::table::put(&table, moved_item, None, &[]));
            } else if sk.starts_with("PURCHASE#") {
                let mut p: Purchase = body(item)?;
                p.customer = to;
                // A reference the survivor holds stays the survivor's.
                if self.get(key(to_pk.clone(), sk.clone())).await?.is_none() {
                    let moved_item = ItemBuilder::new(to_pk.clone(), sk.clone())
                        .body(&p)?
                        .s(ENTITY, "purchase")
                        .build();
                    batch.push(crate::table::put(&table, moved_item, None, &[]));
                }
            } else if sk.starts_with("DEAL#") {
                // The duplicate's deals count toward the survivor's grade; their bodies keep
                // naming the pointer, which leads here.
                let link = ItemBuilder::new(to_pk.clone(), sk.clone())
                    .s(ENTITY, "customer_deal")
                    .build();
                batch.push(crate::table::put(&table, link, None, &[]));
            } else if !sk.starts_with("GRADE#") {
                continue;
            }
            batch.push(gone);
            moved += 1;
            if batch.len() >= 90 {
                self.transact(std::mem::take(&mut batch)).await?;
            }
        }
        if !batch.is_empty() {
            self.transact(batch).await?;
        }
        Ok(moved)
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
        let exists = customer_exists(self.table(), &activity.tenant, customer);
        self.record_subject_activity(
            exists,
            0,
            activity,
            events,
            idempotency.map(|rec| (rec, "customer.activity")),
        )
        .await
    }

    async fn customer_activities(
        &self,
        tenant: &TenantId,
        customer: CustomerId,
        since: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<Activity>> {
        let values = [
            (":pk", s(customer_pk(tenant, customer))),
            (
                ":from",
                s(format!("ACT#{}", ms_key(since.timestamp_millis()))),
            ),
            (":to", s("ACT#~")),
        ];
        let q = Query::table("pk = :pk AND sk BETWEEN :from AND :to", &values).newest_first();
        let items = self.query(q, limit as usize).await?;
        items.iter().map(body).collect()
    }

    async fn add_purchase(&self, purchase: &Purchase, events: &[DomainEvent]) -> StoreResult<bool> {
        let tenant = &purchase.tenant;
        let table = self.table().to_owned();
        let item = ItemBuilder::new(
            customer_pk(tenant, purchase.customer),
            format!("PURCHASE#{}", purchase.reference),
        )
        .body(purchase)?
        .s(ENTITY, "purchase")
        .build();
        let mut items = vec![
            customer_exists(&table, tenant, purchase.customer),
            put_new(&table, item),
        ];
        items.extend(events_items(&table, events)?);
        match self.transact(items).await {
            Ok(()) => Ok(true),
            Err(TxError::Cancelled(flags)) if flags.first() == Some(&true) => {
                Err(StoreError::NotFound)
            }
            Err(TxError::Cancelled(flags)) if flags.get(1) == Some(&true) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    async fn purchases_since(
        &self,
        tenant: &TenantId,
        customer: CustomerId,
        since: Timestamp,
    ) -> StoreResult<Vec<Purchase>> {
        let mut all: Vec<Purchase> = self
            .query_prefix(customer_pk(tenant, customer), "PURCHASE#")
            .await?;
        all.retain(|p| p.at > since);
        all.sort_by(|a, b| (a.at, &a.reference).cmp(&(b.at, &b.reference)));
        Ok(all)
    }

    async fn customer_file(
        &self,
        tenant: &TenantId,
        id: CustomerId,
        activities_since: Timestamp,
        purchases_since: Timestamp,
    ) -> StoreResult<Option<CustomerFile>> {
        // Everything lives in the customer's partition; the reads go out together.
        let grades_values = [(":pk", s(customer_pk(tenant, id))), (":g", s("GRADE#"))];
        let latest_grades = async {
            let q = Query::table("pk = :pk AND begins_with(sk, :g)", &grades_values).newest_first();
            let items = self.query(q, 2).await?;
            items
                .iter()
                .rev()
                .map(body)
                .collect::<StoreResult<Vec<GradeSnapshot>>>()
        };
        let (customer, contacts, activities, purchases, grades) = tokio::try_join!(
            self.get_customer(tenant, id),
            self.list_contacts(tenant, id),
            self.customer_activities(tenant, id, activities_since, u32::MAX),
            self.purchases_since(tenant, id, purchases_since),
            latest_grades,
        )?;
        let Some(customer) = customer else {
            return Ok(None);
        };
        let mut touches: Vec<Touch> = activities.iter().map(Touch::from).collect();
        // The activities logged on its deals live in the deals' partitions.
        let links = [(":pk", s(customer_pk(tenant, id))), (":d", s("DEAL#"))];
        let deals = self
            .query(
                Query::table("pk = :pk AND begins_with(sk, :d)", &links),
                usize::MAX,
            )
            .await?;
        for link in &deals {
            let Some(deal) = string_attr(link, "sk")
                .and_then(|sk| sk.strip_prefix("DEAL#"))
                .and_then(|d| d.parse::<fieldline_domain::DealId>().ok())
            else {
                continue;
            };
            let values = [
                (":pk", s(subject_pk(tenant, Subject::Deal(deal)))),
                (
                    ":from",
                    s(format!(
                        "ACT#{}",
                        ms_key(activities_since.timestamp_millis())
                    )),
                ),
                (":to", s("ACT#~")),
            ];
            let q = Query::table("pk = :pk AND sk BETWEEN :from AND :to", &values);
            for item in self.query(q, usize::MAX).await? {
                touches.push(Touch::from(&body::<Activity>(&item)?));
            }
        }
        touches.sort_by_key(|t| std::cmp::Reverse(t.occurred_at));
        Ok(Some(CustomerFile {
            customer,
            contacts,
            activities: touches,
            purchases,
            grades,
        }))
    }

    async fn save_grade(&self, snapshot: &GradeSnapshot) -> StoreResult<()> {
        let item = ItemBuilder::new(
            customer_pk(&snapshot.tenant, snapshot.customer),
            format!("GRADE#{}", snapshot.month),
        )
        .body(snapshot)?
        .s(ENTITY, "grade")
        .n("closed", i64::from(snapshot.closed))
        .s(
            GSI1_PK,
            format!("{}#GRADES#{}", tenant_pk(&snapshot.tenant), snapshot.month),
        )
        .s(GSI1_SK, snapshot.customer.to_string())
        .build();
        // An open grade never replaces a closed month's (a late event must not reopen it).
        let condition = (!snapshot.closed).then_some("attribute_not_exists(pk) OR closed = :open");
        let values = [(":open", crate::table::n(0))];
        let vals: &[(&str, AttributeValue)] = if snapshot.closed { &[] } else { &values };
        self.put_if(item, condition, vals).await?;
        Ok(())
    }

    async fn grades_of_month(
        &self,
        tenant: &TenantId,
        month: fieldline_domain::Month,
    ) -> StoreResult<Vec<GradeSnapshot>> {
        let values = [(":p", s(format!("{}#GRADES#{month}", tenant_pk(tenant))))];
        let q = Query::index(GSI1, "gsi1pk = :p", &values);
        self.query_bodies(q, usize::MAX).await
    }

    async fn grade_history(
        &self,
        tenant: &TenantId,
        customer: CustomerId,
    ) -> StoreResult<Vec<GradeSnapshot>> {
        self.query_prefix(customer_pk(tenant, customer), "GRADE#")
            .await
    }
}
