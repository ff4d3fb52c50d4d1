//! Uploads on SQLite: one row per upload, the JSON body beside the columns its listings use,
//! written with its events in one transaction like every aggregate.

use crate::events::insert_events;
use crate::lead::{remember_request, seen_request};
use crate::{SqliteStore, query_bodies, query_body, sql_err, stale_write, to_json};
use async_trait::async_trait;
use fieldline_domain::{DomainEvent, Subject, TenantId, Upload, UploadId, UserId};
use fieldline_store::error::{StoreError, StoreResult};
use fieldline_store::ports::{Created, Cursor, IdempotencyRecord, Page, UploadStore, page_limit};
use rusqlite::{Transaction, params};

const CREATE_SCOPE: &str = "upload.create";

fn select_upload(
    conn: &rusqlite::Connection,
    tenant: &TenantId,
    id: &str,
) -> StoreResult<Option<Upload>> {
    query_body(
        conn,
        "SELECT body FROM uploads WHERE tenant_id = ?1 AND id = ?2",
        params![tenant.as_str(), id],
    )
}

fn insert_upload(tx: &Transaction<'_>, up: &Upload) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO uploads (tenant_id, id, created_by, status, updated_at, version, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            up.tenant.as_str(),
            up.id.to_string(),
            up.created_by.to_string(),
            up.status.as_str(),
            up.updated_at.timestamp_millis(),
            up.version as i64,
            to_json(up)?,
        ],
    )
    .map_err(sql_err)?;
    Ok(())
}

#[async_trait]
impl UploadStore for SqliteStore {
    async fn create_upload(
        &self,
        upload: &Upload,
        events: &[DomainEvent],
        idempotency: Option<&IdempotencyRecord>,
    ) -> StoreResult<Created<Upload>> {
        let upload = upload.clone();
        let events = events.to_vec();
        let idempotency = idempotency.cloned();
        self.write(move |tx| {
            if let Some(rec) = &idempotency {
                if let Some(id) = seen_request(tx, &upload.tenant, rec, CREATE_SCOPE)? {
                    let original = select_upload(tx, &upload.tenant, &id)?.ok_or_else(|| {
                        StoreError::corrupt_msg(format!(
                            "idempotency key points at missing upload {id}"
                        ))
                    })?;
                    return Ok(Created::Replayed(original));
                }
                remember_request(
                    tx,
                    &upload.tenant,
                    rec,
                    CREATE_SCOPE,
                    &upload.id.to_string(),
                    upload.created_at,
                )?;
            }
            insert_upload(tx, &upload)?;
            insert_events(tx, &events)?;
            Ok(Created::New(upload))
        })
        .await
    }

    async fn get_upload(&self, tenant: &TenantId, id: UploadId) -> StoreResult<Option<Upload>> {
        let tenant = tenant.clone();
        self.read(move |conn| select_upload(conn, &tenant, &id.to_string()))
            .await
    }

    async fn update_upload(
        &self,
        upload: &Upload,
        expected_version: u64,
        events: &[DomainEvent],
    ) -> StoreResult<()> {
        let up = upload.clone();
        let events = events.to_vec();
        self.write(move |tx| {
            let changed = tx
                .execute(
                    "UPDATE uploads SET status = ?1, updated_at = ?2, version = ?3, body = ?4
                 WHERE tenant_id = ?5 AND id = ?6 AND version = ?7",
                    params![
                        up.status.as_str(),
                        up.updated_at.timestamp_millis(),
                        up.version as i64,
                        to_json(&up)?,
                        up.tenant.as_str(),
                        up.id.to_string(),
                        expected_version as i64,
                    ],
                )
                .map_err(sql_err)?;
            if changed == 0 {
                return Err(stale_write(
                    tx,
                    &up.tenant,
                    Subject::Upload(up.id),
                    expected_version,
                ));
            }
            insert_events(tx, &events)
        })
        .await
    }

    async fn list_uploads(
        &self,
        tenant: &TenantId,
        created_by: UserId,
        limit: u32,
        after: Option<Cursor>,
    ) -> StoreResult<Page<Upload>> {
        let tenant = tenant.clone();
        let limit = page_limit(limit);
        // Before every possible key when there is no cursor.
        let (ms, id) = after.map_or((i64::MAX, String::new()), |c| (c.sort_ms, c.id.to_string()));
        self.read(move |conn| {
            let items: Vec<Upload> = query_bodies(
                conn,
                "SELECT body FROM uploads WHERE tenant_id = ?1 AND created_by = ?2
                   AND (updated_at < ?3 OR (updated_at = ?3 AND (?4 = '' OR id < ?4)))
                 ORDER BY updated_at DESC, id DESC LIMIT ?5",
                params![
                    tenant.as_str(),
                    created_by.to_string(),
                    ms,
                    id,
                    i64::from(limit) + 1
                ],
            )?;
            Ok(Page::from_overfetched(items, limit as usize))
        })
        .await
    }
}
