//! Leads, their activities and idempotency keys. A lead and its activities share the
//! partition `TENANT#{t}#LEAD#{id}`; every write is one TransactWriteItems holding the
//! idempotency key (if any), the lead under a version condition, and the outbox events.
//! Listings read one of three indexes (tenant / owner or pool / team), newest change first.

use crate::directory::tenant_pk;
use crate::events::event_item;
use crate::subject::{record_sk, subject_pk};
use crate::table::{
    ItemBuilder, Query, TxError, body, key, ms_key, n, number_attr, put, put_new, s, string_attr,
};
use crate::{
    DynamoStore, ENTITY, EXPIRES_AT, GSI1, GSI1_PK, GSI1_SK, GSI2, GSI2_PK, GSI2_SK, GSI3, GSI3_PK,
    GSI3_SK,
};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use fieldline_domain::{
    Activity, DomainEvent, Lead, LeadId, LeadScope, Subject, TenantId, Timestamp,
};
use fieldline_store::error::StoreResult;
use fieldline_store::{
    Created, IdempotencyRecord, LeadQuery, LeadStore, MATCHING_LEADS, Page, StoreError, page_limit,
};

/// Idempotency keys outlive any phone's retry window by far, then DynamoDB's TTL drops them.
const IDEMPOTENCY_TTL_SECS: i64 = 7 * 24 * 3600;

pub(crate) fn lead_pk(tenant: &TenantId, lead: LeadId) -> String {
    subject_pk(tenant, lead.into())
}

/// Newest-first listing position: the change time, then the id.
pub(crate) fn listing_sk(updated_ms: i64, id: impl std::fmt::Display) -> String {
    format!("{}#{id}", ms_key(updated_ms))
}

/// The key condition of a newest-first listing of partition `:p` (already in `values`),
/// continuing below `after`, the last item of the previous page, when there is one.
pub(crate) fn newest_first_key(
    pk_name: &str,
    sk_name: &str,
    after: Option<&fieldline_store::Cursor>,
    values: &mut Vec<(&str, aws_sdk_dynamodb::types::AttributeValue)>,
) -> String {
    match after {
        Some(c) => {
            values.push((":upper", crate::table::s(listing_sk(c.sort_ms, c.id))));
            format!("{pk_name} = :p AND {sk_name} < :upper")
        }
        None => format!("{pk_name} = :p"),
    }
}

pub(crate) fn lead_item(lead: &Lead) -> StoreResult<crate::table::Item> {
    let t = tenant_pk(&lead.tenant);
    let sort = listing_sk(lead.updated_at.timestamp_millis(), lead.id);
    let owner_partition = match (lead.owner, lead.in_pool) {
        (Some(owner), _) => Some(format!("{t}#OWNER#{owner}")),
        (None, true) => Some(format!("{t}#POOL")),
        (None, false) => None,
    };
    let mut item = ItemBuilder::new(lead_pk(&lead.tenant, lead.id), "LEAD")
        .body(lead)?
        .s(ENTITY, "lead")
        .n("version", lead.version as i64)
        .s("lead_status", lead.status.as_str())
        .s("priority", lead.priority.as_str())
        .s_opt("owner_id", lead.owner.map(|o| o.to_string()))
        .s_opt("team_id", lead.team.map(|t| t.to_string()))
        .s(GSI1_PK, format!("{t}#LEADS"))
        .s(GSI1_SK, sort.clone());
    if let Some(partition) = owner_partition {
        item = item.s(GSI2_PK, partition).s(GSI2_SK, sort.clone());
    }
    if let Some(team) = lead.team {
        item = item.s(GSI3_PK, format!("{t}#TEAM#{team}")).s(GSI3_SK, sort);
    }
    Ok(item.build())
}

/// The partition holding the leads whose contact has `key` (`Lead::contact_keys`).
fn lead_key_pk(tenant: &TenantId, key: &str) -> String {
    format!("{}#LEADKEY#{key}", tenant_pk(tenant))
}

/// The lead's entries under its contact keys, written with every create and update. An
/// entry left behind when a contact changes is harmless: readers check the lead itself.
fn lead_key_puts(table: &str, lead: &Lead) -> Vec<TransactWriteItem> {
    lead.contact_keys()
        .iter()
        .map(|k| {
            let item = ItemBuilder::new(lead_key_pk(&lead.tenant, k), format!("LEAD#{}", lead.id))
                .s(ENTITY, "lead_key")
                .s("lead_id", lead.id.to_string())
                .build();
            put(table, item, None, &[])
        })
        .collect()
}

/// The most entries one key's partition is read to: stale ones included, far more than
/// `MATCHING_LEADS` live ones.
const LEAD_KEY_ENTRIES: usize = 200;

fn idempotency_pk(tenant: &TenantId, rec: &IdempotencyRecord, scope: &str) -> String {
    format!(
        "{}#IDEM#{}#{scope}#{}",
        tenant_pk(tenant),
        rec.user,
        rec.key.as_str()
    )
}

/// The key item: who used it, for what request, and where the result lives.
pub(crate) fn idempotency_item(
    tenant: &TenantId,
    rec: &IdempotencyRecord,
    scope: &str,
    resource: (&str, &str),
    at: Timestamp,
) -> crate::table::Item {
    ItemBuilder::new(idempotency_pk(tenant, rec, scope), "IDEM")
        .s(ENTITY, "idempotency")
        .s("fingerprint", rec.fingerprint.clone())
        .s("resource_pk", resource.0)
        .s("resource_sk", resource.1)
        .n(EXPIRES_AT, at.timestamp() + IDEMPOTENCY_TTL_SECS)
        .build()
}

pub(crate) fn events_items(
    table: &str,
    events: &[DomainEvent],
) -> StoreResult<Vec<TransactWriteItem>> {
    events
        .iter()
        .map(|e| Ok(put_new(table, event_item(e)?)))
        .collect()
}

impl DynamoStore {
    /// Appends `activity` under its subject's partition together with `record` (the lead
    /// or deal put under its version check) and the events, in one transaction. With an
    /// idempotency record (and its scope), a retry returns the activity first logged.
    pub(crate) async fn record_subject_activity(
        &self,
        record: TransactWriteItem,
        expected_version: u64,
        activity: &Activity,
        events: &[DomainEvent],
        idempotency: Option<(&IdempotencyRecord, &str)>,
    ) -> StoreResult<Created<Activity>> {
        let tenant = &activity.tenant;
        let pk = subject_pk(tenant, activity.subject);
        let sk = format!(
            "ACT#{}#{}",
            ms_key(activity.occurred_at.timestamp_millis()),
            activity.id
        );
        let mut items = Vec::new();
        if let Some((rec, scope)) = idempotency {
            if let Some(original) = self.replay(tenant, rec, scope).await? {
                return Ok(Created::Replayed(original));
            }
            items.push(put_new(
                self.table(),
                idempotency_item(tenant, rec, scope, (&pk, &sk), activity.recorded_at),
            ));
        }
        items.push(record);
        let activity_item = ItemBuilder::new(pk, sk)
            .body(activity)?
            .s(ENTITY, "activity")
            .build();
        items.push(put_new(self.table(), activity_item));
        items.extend(events_items(self.table(), events)?);
        match self.transact(items).await {
            Ok(()) => Ok(Created::New(activity.clone())),
            Err(TxError::Cancelled(flags)) if idempotency.is_some() && flags[0] => {
                let (rec, scope) = idempotency.expect("checked above");
                match self.replay(tenant, rec, scope).await? {
                    Some(original) => Ok(Created::Replayed(original)),
                    None => Err(StoreError::corrupt_msg("idempotency key vanished")),
                }
            }
            Err(TxError::Cancelled(_)) => Err(self
                .version_failure(tenant, activity.subject, expected_version)
                .await),
            Err(e) => Err(e.into()),
        }
    }

    /// A subject's activities, newest first.
    pub(crate) async fn subject_activities(
        &self,
        tenant: &TenantId,
        subject: Subject,
        limit: u32,
    ) -> StoreResult<Vec<Activity>> {
        let values = [(":pk", s(subject_pk(tenant, subject))), (":act", s("ACT#"))];
        let q = Query::table("pk = :pk AND begins_with(sk, :act)", &values).newest_first();
        let items = self.query(q, page_limit(limit) as usize).await?;
        items.iter().map(body).collect()
    }

    /// The result an earlier request with this key produced, or `IdempotencyMismatch` when the
    /// key came with another request.
    pub(crate) async fn replay<T: serde::de::DeserializeOwned>(
        &self,
        tenant: &TenantId,
        rec: &IdempotencyRecord,
        scope: &str,
    ) -> StoreResult<Option<T>> {
        let Some(seen) = self
            .get(key(idempotency_pk(tenant, rec, scope), "IDEM"))
            .await?
        else {
            return Ok(None);
        };
        if string_attr(&seen, "fingerprint") != Some(rec.fingerprint.as_str()) {
            return Err(StoreError::IdempotencyMismatch);
        }
        let (Some(pk), Some(sk)) = (
            string_attr(&seen, "resource_pk"),
            string_attr(&seen, "resource_sk"),
        ) else {
            return Err(StoreError::corrupt_msg("idempotency key without resource"));
        };
        let original = self.get_body(pk, sk).await?;
        original.map(Some).ok_or_else(|| {
            StoreError::corrupt_msg(format!("idempotency key points at missing {sk}"))
        })
    }

    /// Why a versioned write to `subject` did not apply: it is gone, or someone else
    /// moved it on.
    pub(crate) async fn version_failure(
        &self,
        tenant: &TenantId,
        subject: Subject,
        expected: u64,
    ) -> StoreError {
        match self
            .get(key(subject_pk(tenant, subject), record_sk(subject.kind())))
            .await
        {
            Ok(None) => StoreError::NotFound,
            Ok(Some(item)) => StoreError::VersionConflict {
                expected,
                actual: number_attr(&item, "version").unwrap_or_default() as u64,
            },
            Err(e) => e,
        }
    }

    /// A record item written only if the stored one is still at `expected_version`.
    pub(crate) fn versioned_put(
        &self,
        item: crate::table::Item,
        version: u64,
        expected_version: u64,
    ) -> StoreResult<TransactWriteItem> {
        StoreError::check_advances(version, expected_version)?;
        Ok(put(
            self.table(),
            item,
            Some("version = :expected"),
            &[(":expected", n(expected_version as i64))],
        ))
    }
}

#[async_trait]
impl LeadStore for DynamoStore {
    async fn create_lead(
        &self,
        lead: &Lead,
        events: &[DomainEvent],
        idempotency: Option<&IdempotencyRecord>,
    ) -> StoreResult<Created<Lead>> {
        const SCOPE: &str = "lead.create";
        let mut items = Vec::new();
        let lead_key = lead_pk(&lead.tenant, lead.id);
        if let Some(rec) = idempotency {
            if let Some(original) = self.replay(&lead.tenant, rec, SCOPE).await? {
                return Ok(Created::Replayed(original));
            }
            items.push(put_new(
                self.table(),
                idempotency_item(
                    &lead.tenant,
                    rec,
                    SCOPE,
                    (&lead_key, "LEAD"),
                    lead.created_at,
                ),
            ));
        }
        items.push(put_new(self.table(), lead_item(lead)?));
        items.extend(lead_key_puts(self.table(), lead));
        items.extend(events_items(self.table(), events)?);
        match self.transact(items).await {
            Ok(()) => Ok(Created::New(lead.clone())),
            // Another request with the same key won the race: answer with its lead.
            Err(TxError::Cancelled(flags)) if idempotency.is_some() && flags[0] => {
                let rec = idempotency.expect("checked above");
                self.replay(&lead.tenant, rec, SCOPE)
                    .await?
                    .map(Created::Replayed)
                    .ok_or_else(|| StoreError::corrupt_msg("idempotency key vanished"))
            }
            Err(TxError::Cancelled(_)) => {
                Err(StoreError::AlreadyExists(format!("lead {}", lead.id)))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn get_lead(&self, tenant: &TenantId, id: LeadId) -> StoreResult<Option<Lead>> {
        self.get_body(lead_pk(tenant, id), "LEAD").await
    }

    async fn update_lead(
        &self,
        lead: &Lead,
        expected_version: u64,
        events: &[DomainEvent],
    ) -> StoreResult<()> {
        let mut items =
            vec![self.versioned_put(lead_item(lead)?, lead.version, expected_version)?];
        items.extend(lead_key_puts(self.table(), lead));
        items.extend(events_items(self.table(), events)?);
        match self.transact(items).await {
            Ok(()) => Ok(()),
            Err(TxError::Cancelled(_)) => Err(self
                .version_failure(&lead.tenant, lead.id.into(), expected_version)
                .await),
            Err(e) => Err(e.into()),
        }
    }

    async fn record_activity(
        &self,
        lead: &Lead,
        expected_version: u64,
        activity: &Activity,
        events: &[DomainEvent],
        idempotency: Option<&IdempotencyRecord>,
    ) -> StoreResult<Created<Activity>> {
        let record = self.versioned_put(lead_item(lead)?, lead.version, expected_version)?;
        self.record_subject_activity(
            record,
            expected_version,
            activity,
            events,
            idempotency.map(|rec| (rec, "lead.activity")),
        )
        .await
    }

    async fn leads_with_key(&self, tenant: &TenantId, key: &str) -> StoreResult<Vec<Lead>> {
        let values = [(":pk", s(lead_key_pk(tenant, key)))];
        let entries = self
            .query(Query::table("pk = :pk", &values), LEAD_KEY_ENTRIES)
            .await?;
        let mut leads = Vec::new();
        for entry in &entries {
            let Some(id) = string_attr(entry, "lead_id").and_then(|i| i.parse().ok()) else {
                return Err(StoreError::corrupt_msg(
                    "a lead key entry without a lead id",
                ));
            };
            if let Some(lead) = self.get_lead(tenant, id).await?
                && lead.contact_keys().iter().any(|k| k == key)
            {
                leads.push(lead);
            }
        }
        leads.sort_by_key(|l: &Lead| std::cmp::Reverse((l.updated_at, l.id)));
        leads.truncate(MATCHING_LEADS);
        Ok(leads)
    }

    async fn list_leads(&self, tenant: &TenantId, query: &LeadQuery) -> StoreResult<Page<Lead>> {
        let t = tenant_pk(tenant);
        // The narrowest index the scope allows; what it cannot express becomes a filter.
        let (index, partition, sk_name) = match (&query.scope, query.owner) {
            (LeadScope::Owner(user), _) => (GSI2, format!("{t}#OWNER#{user}"), GSI2_SK),
            (LeadScope::Pool, _) => (GSI2, format!("{t}#POOL"), GSI2_SK),
            (_, Some(owner)) => (GSI2, format!("{t}#OWNER#{owner}"), GSI2_SK),
            (LeadScope::Team(team), None) => (GSI3, format!("{t}#TEAM#{team}"), GSI3_SK),
            (LeadScope::Tenant, None) => (GSI1, format!("{t}#LEADS"), GSI1_SK),
        };
        let pk_name = match index {
            GSI1 => GSI1_PK,
            GSI2 => GSI2_PK,
            _ => GSI3_PK,
        };
        // Both the cursor and `updated_before` are upper bounds on the sort key.
        let mut upper: Option<String> = query.after.as_ref().map(|c| listing_sk(c.sort_ms, c.id));
        if let Some(before) = query.updated_before {
            let bound = ms_key(before.timestamp_millis());
            upper = Some(match upper {
                Some(u) if u < bound => u,
                _ => bound,
            });
        }
        let mut values: Vec<(&str, AttributeValue)> = vec![(":p", s(partition))];
        let key_condition = match &upper {
            Some(u) => {
                values.push((":upper", s(u.clone())));
                format!("{pk_name} = :p AND {sk_name} < :upper")
            }
            None => format!("{pk_name} = :p"),
        };
        let mut filters = Vec::new();
        if let (LeadScope::Team(team), true) = (&query.scope, index != GSI3) {
            filters.push("team_id = :team");
            values.push((":team", s(team.to_string())));
        }
        if let (Some(owner), LeadScope::Owner(_) | LeadScope::Pool) = (query.owner, &query.scope) {
            filters.push("owner_id = :owner");
            values.push((":owner", s(owner.to_string())));
        }
        if let Some(status) = query.status {
            filters.push("lead_status = :status");
            values.push((":status", s(status.as_str())));
        }
        if let Some(priority) = query.priority {
            filters.push("priority = :priority");
            values.push((":priority", s(priority.as_str())));
        }
        let filter = filters.join(" AND ");
        let limit = page_limit(query.limit) as usize;
        let mut q = Query::index(index, &key_condition, &values).newest_first();
        if !filter.is_empty() {
            q = q.filter(&filter);
        }
        // One extra item tells whether there is a next page.
        let items = self.query(q, limit + 1).await?;
        let leads: Vec<Lead> = items.iter().map(body).collect::<StoreResult<_>>()?;
        Ok(Page::from_overfetched(leads, limit))
    }

    async fn list_activities(
        &self,
        tenant: &TenantId,
        lead: LeadId,
        limit: u32,
    ) -> StoreResult<Vec<Activity>> {
        self.subject_activities(tenant, Subject::Lead(lead), limit)
            .await
    }
}
