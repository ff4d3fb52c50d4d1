use crate::events::insert_events;
use crate::newest_first_page;
use crate::{SqliteStore, query_bodies, query_body, sql_err, stale_write, to_json};
use async_trait::async_trait;
use fieldline_domain::{
    Activity, DomainEvent, Lead, LeadId, LeadScope, Subject, TenantId, Timestamp,
};
use fieldline_store::error::{StoreError, StoreResult};
use fieldline_store::ports::{
    Created, IdempotencyRecord, LeadQuery, LeadStore, MATCHING_LEADS, Page, page_limit,
};
use rusqlite::types::Value;
use rusqlite::{OptionalExtension, Transaction, params, params_from_iter};

const CREATE_SCOPE: &str = "lead.create";
const ACTIVITY_SCOPE: &str = "lead.activity";

/// The activity an earlier request under this idempotency record logged (`None` for a new
/// request, which is remembered as producing `activity`).
pub(super) fn replay_activity(
    tx: &Transaction<'_>,
    rec: &IdempotencyRecord,
    scope: &str,
    activity: &Activity,
) -> StoreResult<Option<Activity>> {
    let tenant = &activity.tenant;
    if let Some(resource_id) = seen_request(tx, tenant, rec, scope)? {
        let original = query_body(
            tx,
            "SELECT body FROM activities WHERE tenant_id = ?1 AND id = ?2",
            params![tenant.as_str(), resource_id],
        )?
        .ok_or_else(|| {
            StoreError::corrupt_msg(format!(
                "idempotency key points at missing activity {resource_id}"
            ))
        })?;
        return Ok(Some(original));
    }
    let id = activity.id.to_string();
    remember_request(tx, tenant, rec, scope, &id, activity.recorded_at)?;
    Ok(None)
}

/// Inserts an activity row of any subject (see `crate::bulk`).
pub fn insert_activity(tx: &Transaction<'_>, activity: &Activity) -> StoreResult<()> {
    let body = to_json(activity)?;
    tx.prepare_cached(
        "INSERT INTO activities (tenant_id, id, subject_kind, subject_id, occurred_at, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut insert| {
        insert.execute(params![
            activity.tenant.as_str(),
            activity.id.to_string(),
            activity.subject.kind().as_str(),
            activity.subject.id().to_string(),
            activity.occurred_at.timestamp_millis(),
            body,
        ])
    })
    .map_err(sql_err)?;
    Ok(())
}

/// A subject's activities, newest first.
pub(super) fn select_activities(
    conn: &rusqlite::Connection,
    tenant: &TenantId,
    subject: Subject,
    limit: u32,
) -> StoreResult<Vec<Activity>> {
    query_bodies(
        conn,
        "SELECT body FROM activities WHERE tenant_id = ?1 AND subject_id = ?2
         ORDER BY occurred_at DESC, id DESC LIMIT ?3",
        params![
            tenant.as_str(),
            subject.id().to_string(),
            i64::from(page_limit(limit))
        ],
    )
}

/// The resource a request with this key already produced; a different request under the same
/// key is refused rather than silently answered with the wrong record.
pub(super) fn seen_request(
    tx: &rusqlite::Connection,
    tenant: &TenantId,
    rec: &IdempotencyRecord,
    scope: &str,
) -> StoreResult<Option<String>> {
    let seen: Option<(String, String)> = tx
        .query_row(
            "SELECT fingerprint, resource_id FROM idempotency_keys
             WHERE tenant_id = ?1 AND user_id = ?2 AND scope = ?3 AND key = ?4",
            params![
                tenant.as_str(),
                rec.user.to_string(),
                scope,
                rec.key.as_str()
            ],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(sql_err)?;
    match seen {
        Some((fingerprint, _)) if fingerprint != rec.fingerprint => {
            Err(StoreError::IdempotencyMismatch)
        }
        Some((_, resource_id)) => Ok(Some(resource_id)),
        None => Ok(None),
    }
}

pub(super) fn remember_request(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    rec: &IdempotencyRecord,
    scope: &str,
    resource_id: &str,
    at: Timestamp,
) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO idempotency_keys (tenant_id, user_id, scope, key, fingerprint, resource_id, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![tenant.as_str(), rec.user.to_string(), scope, rec.key.as_str(), rec.fingerprint, resource_id, at.timestamp_millis()],
    ).map_err(sql_err)?;
    Ok(())
}

fn insert_lead(tx: &Transaction<'_>, lead: &Lead) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO leads (tenant_id, id, owner_id, team_id, status, priority, created_at, updated_at, version, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            lead.tenant.as_str(),
            lead.id.to_string(),
            lead.owner.map(|o| o.to_string()),
            lead.team.map(|t| t.to_string()),
            lead.status.as_str(),
            lead.priority.as_str(),
            lead.created_at.timestamp_millis(),
            lead.updated_at.timestamp_millis(),
            lead.version as i64,
            to_json(lead)?,
        ],
    ).map_err(sql_err)?;
    index_keys(tx, lead)
}

/// Points the lead's contact keys at it, and only those (its contact may have changed).
fn index_keys(tx: &Transaction<'_>, lead: &Lead) -> StoreResult<()> {
    let (tenant, id) = (lead.tenant.as_str(), lead.id.to_string());
    tx.execute(
        "DELETE FROM lead_keys WHERE tenant_id = ?1 AND lead_id = ?2",
        params![tenant, id],
    )
    .map_err(sql_err)?;
    for key in lead.contact_keys() {
        tx.execute(
            "INSERT OR IGNORE INTO lead_keys (tenant_id, key, lead_id) VALUES (?1, ?2, ?3)",
            params![tenant, key, id],
        )
        .map_err(sql_err)?;
    }
    Ok(())
}

/// Indexes the leads written before `lead_keys` existed.
pub(crate) fn backfill_keys(tx: &Transaction<'_>) -> StoreResult<()> {
    let leads: Vec<Lead> = query_bodies(tx, "SELECT body FROM leads", [])?;
    leads.iter().try_for_each(|lead| index_keys(tx, lead))
}

/// Compare-and-swap on `version`; tells a missing lead from a stale write.
pub(crate) fn replace_lead(
    tx: &Transaction<'_>,
    lead: &Lead,
    expected_version: u64,
) -> StoreResult<()> {
    StoreError::check_advances(lead.version, expected_version)?;
    let changed = tx.execute(
        "UPDATE leads SET owner_id = ?1, team_id = ?2, status = ?3, priority = ?4, updated_at = ?5,
                          version = ?6, body = ?7
         WHERE tenant_id = ?8 AND id = ?9 AND version = ?10",
        params![
            lead.owner.map(|o| o.to_string()),
            lead.team.map(|t| t.to_string()),
            lead.status.as_str(),
            lead.priority.as_str(),
            lead.updated_at.timestamp_millis(),
            lead.version as i64,
            to_json(lead)?,
            lead.tenant.as_str(),
            lead.id.to_string(),
            expected_version as i64,
        ],
    ).map_err(sql_err)?;
    if changed == 1 {
        return Ok(());
    }
    Err(stale_write(
        tx,
        &lead.tenant,
        lead.id.into(),
        expected_version,
    ))
}

fn select_lead(
    conn: &rusqlite::Connection,
    tenant: &TenantId,
    id: &str,
) -> StoreResult<Option<Lead>> {
    query_body(
        conn,
        "SELECT body FROM leads WHERE tenant_id = ?1 AND id = ?2",
        params![tenant.as_str(), id],
    )
}

#[async_trait]
impl LeadStore for SqliteStore {
    async fn create_lead(
        &self,
        lead: &Lead,
        events: &[DomainEvent],
        idempotency: Option<&IdempotencyRecord>,
    ) -> StoreResult<Created<Lead>> {
        let lead = lead.clone();
        let events = events.to_vec();
        let idempotency = idempotency.cloned();
        self.write(move |tx| {
            if let Some(rec) = &idempotency {
                if let Some(resource_id) = seen_request(tx, &lead.tenant, rec, CREATE_SCOPE)? {
                    let original =
                        select_lead(tx, &lead.tenant, &resource_id)?.ok_or_else(|| {
                            StoreError::corrupt_msg(format!(
                                "idempotency key points at missing lead {resource_id}"
                            ))
                        })?;
                    return Ok(Created::Replayed(original));
                }
                remember_request(
                    tx,
                    &lead.tenant,
                    rec,
                    CREATE_SCOPE,
                    &lead.id.to_string(),
                    lead.created_at,
                )?;
            }
            insert_lead(tx, &lead)?;
            insert_events(tx, &events)?;
            Ok(Created::New(lead))
        })
        .await
    }

    async fn get_lead(&self, tenant: &TenantId, id: LeadId) -> StoreResult<Option<Lead>> {
        let tenant = tenant.clone();
        self.read(move |conn| select_lead(conn, &tenant, &id.to_string()))
            .await
    }

    async fn update_lead(
        &self,
        lead: &Lead,
        expected_version: u64,
        events: &[DomainEvent],
    ) -> StoreResult<()> {
        let lead = lead.clone();
        let events = events.to_vec();
        self.write(move |tx| {
            replace_lead(tx, &lead, expected_version)?;
            // Only an update changes the contact (an activity or a conversion does not).
            index_keys(tx, &lead)?;
            insert_events(tx, &events)
        })
        .await
    }

    async fn record_activity(
        &self,
        lead: &Lead,
        expected_version: u64,
        activity: &Activity,
        events: &[DomainEvent],
        idempotency: Option<&IdempotencyRecord>,
    ) -> StoreResult<Created<Activity>> {
        let lead = lead.clone();
        let activity = activity.clone();
        let events = events.to_vec();
        let idempotency = idempotency.cloned();
        self.write(move |tx| {
            if let Some(rec) = &idempotency
                && let Some(original) = replay_activity(tx, rec, ACTIVITY_SCOPE, &activity)?
            {
                return Ok(Created::Replayed(original));
            }
            replace_lead(tx, &lead, expected_version)?;
            insert_activity(tx, &activity)?;
            insert_events(tx, &events)?;
            Ok(Created::New(activity))
        })
        .await
    }

    async fn leads_with_key(&self, tenant: &TenantId, key: &str) -> StoreResult<Vec<Lead>> {
        let (tenant, key) = (tenant.clone(), key.to_owned());
        self.read(move |conn| {
            query_bodies(
                conn,
                "SELECT l.body FROM lead_keys k
                 JOIN leads l ON l.tenant_id = k.tenant_id AND l.id = k.lead_id
                 WHERE k.tenant_id = ?1 AND k.key = ?2
                 ORDER BY l.updated_at DESC, l.id DESC LIMIT ?3",
                params![tenant.as_str(), key, MATCHING_LEADS as i64],
            )
        })
        .await
    }

    async fn list_leads(&self, tenant: &TenantId, query: &LeadQuery) -> StoreResult<Page<Lead>> {
        let mut sql = String::from("SELECT body FROM leads WHERE tenant_id = ?");
        let mut args: Vec<Value> = vec![Value::Text(tenant.as_str().to_owned())];
        let mut filter = |clause: &str, value: Value| {
            sql.push_str(clause);
            args.push(value);
        };
        match &query.scope {
            LeadScope::Tenant => {}
            LeadScope::Team(team) => filter(" AND team_id = ?", Value::Text(team.to_string())),
            LeadScope::Owner(user) => filter(" AND owner_id = ?", Value::Text(user.to_string())),
            LeadScope::Pool => filter(
                " AND owner_id IS NULL AND json_extract(body, '$.in_pool') = ?",
                Value::Integer(1),
            ),
        }
        if let Some(owner) = query.owner {
            filter(" AND owner_id = ?", Value::Text(owner.to_string()));
        }
        if let Some(status) = query.status {
            filter(" AND status = ?", Value::Text(status.as_str().to_owned()));
        }
        if let Some(priority) = query.priority {
            filter(
                " AND priority = ?",
                Value::Text(priority.as_str().to_owned()),
            );
        }
        if let Some(before) = query.updated_before {
            filter(
                " AND updated_at < ?",
                Value::Integer(before.timestamp_millis()),
            );
        }
        let limit = newest_first_page(&mut sql, &mut args, query.after.as_ref(), query.limit);
        self.read(move |conn| {
            let items: Vec<Lead> = query_bodies(conn, &sql, params_from_iter(args))?;
            Ok(Page::from_overfetched(items, limit as usize))
        })
        .await
    }

    async fn list_activities(
        &self,
        tenant: &TenantId,
        lead: LeadId,
        limit: u32,
    ) -> StoreResult<Vec<Activity>> {
        let tenant = tenant.clone();
        self.read(move |conn| select_activities(conn, &tenant, Subject::Lead(lead), limit))
            .await
    }
}
