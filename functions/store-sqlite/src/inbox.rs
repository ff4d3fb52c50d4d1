//! The inbox and outbound deliveries: notifications, channels, leased sends and dead letters.

use crate::{SqliteStore, from_json, query_bodies, sql_err, to_json};
use async_trait::async_trait;
use fieldline_domain::{
    Channel, Delivery, DeliveryResult, Notification, TenantId, Timestamp, UserId,
};
use fieldline_store::error::{StoreError, StoreResult};
use fieldline_store::ports::InboxStore;
use rusqlite::{OptionalExtension, params};

#[async_trait]
impl InboxStore for SqliteStore {
    async fn add_notification(&self, n: &Notification) -> StoreResult<bool> {
        let n = n.clone();
        self.write(move |tx| {
            let inserted = tx.execute(
                "INSERT INTO notifications (tenant_id, user_id, dedupe_key, body) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT DO NOTHING",
                params![n.tenant.as_str(), n.user.to_string(), n.dedupe_key, to_json(&n)?],
            ).map_err(sql_err)?;
            if inserted == 0 {
                return Ok(false);
            }
            for channel in channels_of(tx, &n.tenant)? {
                if !channel.forwards(&n.kind) {
                    continue;
                }
                let delivery = Delivery {
                    id: uuid::Uuid::now_v7(),
                    channel: channel.id,
                    notification: n.clone(),
                    state: "pending".into(),
                    attempts: 0,
                    next_attempt_at: n.created_at,
                    last_error: None,
                };
                tx.execute(
                    "INSERT INTO deliveries (id, tenant_id, channel_id, notification_id, state, attempts, next_attempt_at, body)
                     VALUES (?1, ?2, ?3, ?4, 'pending', 0, ?5, ?6) ON CONFLICT DO NOTHING",
                    params![
                        delivery.id.to_string(),
                        n.tenant.as_str(),
                        channel.id.to_string(),
                        n.id.to_string(),
                        n.created_at.timestamp_millis(),
                        to_json(&delivery)?
                    ],
                ).map_err(sql_err)?;
            }
            Ok(true)
        })
        .await
    }

    async fn list_notifications(
        &self,
        tenant: &TenantId,
        user: UserId,
        limit: u32,
    ) -> StoreResult<Vec<Notification>> {
        let tenant = tenant.clone();
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT body FROM notifications WHERE tenant_id = ?1 AND user_id = ?2
                 ORDER BY seq DESC LIMIT ?3",
                )
                .map_err(sql_err)?;
            let bodies = stmt
                .query_map(params![tenant.as_str(), user.to_string(), limit], |r| {
                    r.get::<_, String>(0)
                })
                .map_err(sql_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(sql_err)?;
            bodies.iter().map(|b| from_json(b)).collect()
        })
        .await
    }

    async fn save_channel(&self, channel: &Channel) -> StoreResult<()> {
        let c = channel.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO channels (id, tenant_id, kind, url, secret, kinds, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    c.id.to_string(),
                    c.tenant.as_str(),
                    c.kind.as_str(),
                    c.url,
                    c.secret,
                    to_json(&c.kinds)?,
                    c.created_at.timestamp_millis()
                ],
            )
            .map_err(sql_err)?;
            Ok(())
        })
        .await
    }

    async fn list_channels(&self, tenant: &TenantId) -> StoreResult<Vec<Channel>> {
        let tenant = tenant.clone();
        self.read(move |conn| channels_of(conn, &tenant)).await
    }

    async fn delete_channel(&self, tenant: &TenantId, id: uuid::Uuid) -> StoreResult<bool> {
        let tenant = tenant.clone();
        self.write(move |tx| {
            tx.execute(
                "DELETE FROM deliveries WHERE channel_id = ?1 AND tenant_id = ?2",
                params![id.to_string(), tenant.as_str()],
            )
            .map_err(sql_err)?;
            let n = tx
                .execute(
                    "DELETE FROM channels WHERE id = ?1 AND tenant_id = ?2",
                    params![id.to_string(), tenant.as_str()],
                )
                .map_err(sql_err)?;
            Ok(n == 1)
        })
        .await
    }

    async fn claim_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<(Delivery, Channel)>> {
        self.write(move |tx| {
            let rows: Vec<(String, String, String)> = {
                let mut stmt = tx.prepare_cached(
                    "SELECT d.body, d.channel_id, d.tenant_id FROM deliveries d
                     WHERE d.state IN ('pending', 'sending') AND d.next_attempt_at <= ?1
                     ORDER BY d.next_attempt_at LIMIT ?2",
                ).map_err(sql_err)?;
                stmt.query_map(params![now.timestamp_millis(), limit.max(1)], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                }).map_err(sql_err)?
                .collect::<Result<_, _>>().map_err(sql_err)?
            };
            let mut claimed = Vec::with_capacity(rows.len());
            for (body, channel_id, tenant_id) in rows {
                let mut delivery: Delivery = from_json(&body)?;
                let Some(channel) = channels_of(tx, &TenantId::parse(&tenant_id).map_err(|e| StoreError::corrupt("undecodable record", e))?)?
                    .into_iter()
                    .find(|c| c.id.to_string() == channel_id)
                else {
                    continue;
                };
                delivery.state = "sending".into();
                delivery.next_attempt_at = lease_until;
                tx.execute(
                    "UPDATE deliveries SET state = 'sending', next_attempt_at = ?2, body = ?3 WHERE id = ?1",
                    params![delivery.id.to_string(), lease_until.timestamp_millis(), to_json(&delivery)?],
                ).map_err(sql_err)?;
                claimed.push((delivery, channel));
            }
            Ok(claimed)
        })
        .await
    }

    async fn finish_delivery(
        &self,
        tenant: &TenantId,
        id: uuid::Uuid,
        result: &DeliveryResult,
    ) -> StoreResult<()> {
        let result = result.clone();
        let tenant = tenant.clone();
        self.write(move |tx| {
            let body: Option<String> = tx
                .query_row(
                    "SELECT body FROM deliveries WHERE id = ?1 AND tenant_id = ?2",
                    params![id.to_string(), tenant.as_str()],
                    |r| r.get(0),
                )
                .optional().map_err(sql_err)?;
            let Some(body) = body else { return Ok(()) };
            let mut d: Delivery = from_json(&body)?;
            d.finish(&result);
            tx.execute(
                "UPDATE deliveries SET state = ?2, attempts = ?3, next_attempt_at = ?4, body = ?5 WHERE id = ?1",
                params![
                    id.to_string(),
                    d.state,
                    d.attempts,
                    d.next_attempt_at.timestamp_millis(),
                    to_json(&d)?
                ],
            ).map_err(sql_err)?;
            Ok(())
        })
        .await
    }

    async fn dead_deliveries(&self, tenant: &TenantId, limit: u32) -> StoreResult<Vec<Delivery>> {
        let tenant = tenant.clone();
        self.read(move |conn| {
            query_bodies(
                conn,
                "SELECT body FROM deliveries WHERE tenant_id = ?1 AND state = 'dead'
                 ORDER BY next_attempt_at DESC LIMIT ?2",
                params![tenant.as_str(), limit],
            )
        })
        .await
    }
}

fn channels_of(conn: &rusqlite::Connection, tenant: &TenantId) -> StoreResult<Vec<Channel>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, kind, url, secret, kinds, created_at FROM channels WHERE tenant_id = ?1 ORDER BY created_at",
    ).map_err(sql_err)?;
    let rows = stmt
        .query_map(params![tenant.as_str()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, i64>(5)?,
            ))
        })
        .map_err(sql_err)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(sql_err)?;
    rows.into_iter()
        .map(|(id, kind, url, secret, kinds, created)| {
            Ok(Channel {
                id: id
                    .parse()
                    .map_err(|_| StoreError::corrupt_msg(format!("channel id {id}")))?,
                tenant: tenant.clone(),
                kind: from_json(&format!("\"{kind}\""))?,
                url,
                secret,
                kinds: from_json(&kinds)?,
                created_at: chrono::DateTime::from_timestamp_millis(created)
                    .ok_or_else(|| StoreError::corrupt_msg(format!("channel time {created}")))?,
            })
        })
        .collect()
}
