use crate::{SqliteStore, from_json, sql_err, to_json};
use async_trait::async_trait;
use fieldline_domain::{DomainEvent, TenantId, Timestamp};
use fieldline_store::error::StoreResult;
use fieldline_store::ports::{EventLog, StoredEvent};
use rusqlite::{Transaction, params};

/// Appends events to the outbox inside the caller's transaction.
pub(super) fn insert_events(tx: &Transaction<'_>, events: &[DomainEvent]) -> StoreResult<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO events (id, tenant_id, aggregate_type, aggregate_id, kind, occurred_at, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    ).map_err(sql_err)?;
    for e in events {
        stmt.execute(params![
            e.id.to_string(),
            e.tenant.as_str(),
            e.subject.kind().as_str(),
            e.subject.id().to_string(),
            e.payload.kind().as_str(),
            e.occurred_at.timestamp_millis(),
            to_json(e)?,
        ])
        .map_err(sql_err)?;
    }
    Ok(())
}

#[async_trait]
impl EventLog for SqliteStore {
    async fn read_events(&self, consumer: &str, limit: u32) -> StoreResult<Vec<StoredEvent>> {
        let consumer = consumer.to_owned();
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT seq, body FROM events
                 WHERE seq > COALESCE((SELECT last_seq FROM consumer_offsets WHERE consumer = ?1), 0)
                 ORDER BY seq LIMIT ?2",
            ).map_err(sql_err)?;
            let rows = stmt
                .query_map(params![consumer, i64::from(limit.max(1))], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
                }).map_err(sql_err)?
                .collect::<Result<Vec<_>, _>>().map_err(sql_err)?;
            rows.into_iter()
                .map(|(seq, body)| Ok(StoredEvent { seq, event: from_json(&body)? }))
                .collect()
        })
        .await
    }

    async fn tenant_events_since(
        &self,
        tenant: &TenantId,
        since: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<StoredEvent>> {
        let tenant = tenant.clone();
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT seq, body FROM events WHERE tenant_id = ?1 AND occurred_at >= ?2
                 ORDER BY seq LIMIT ?3",
                )
                .map_err(sql_err)?;
            let rows = stmt
                .query_map(
                    params![tenant.as_str(), since.timestamp_millis(), limit.max(1)],
                    |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
                )
                .map_err(sql_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(sql_err)?;
            rows.into_iter()
                .map(|(seq, body)| {
                    Ok(StoredEvent {
                        seq,
                        event: from_json(&body)?,
                    })
                })
                .collect()
        })
        .await
    }

    async fn ack_events(&self, consumer: &str, seq: i64) -> StoreResult<()> {
        let consumer = consumer.to_owned();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO consumer_offsets (consumer, last_seq) VALUES (?1, ?2)
                 ON CONFLICT (consumer) DO UPDATE SET last_seq = max(last_seq, excluded.last_seq)",
                params![consumer, seq],
            )
            .map_err(sql_err)?;
            Ok(())
        })
        .await
    }
}
