//! SLA timers: armed with their subject, fired at most once however many sweepers overlap.

use crate::events::insert_events;
use crate::{SqliteStore, query_bodies, sql_err, subject_version, to_json};
use async_trait::async_trait;
use fieldline_domain::{DomainEvent, EventPayload, Subject, TenantId, Timer, Timestamp};
use fieldline_store::error::StoreResult;
use fieldline_store::ports::TimerStore;
use rusqlite::params;

#[async_trait]
impl TimerStore for SqliteStore {
    async fn start_timer(&self, timer: &Timer, restart: bool) -> StoreResult<bool> {
        let timer = timer.clone();
        self.write(move |tx| {
            if restart {
                tx.execute(
                    "UPDATE timers SET state = 'cancelled'
                     WHERE tenant_id = ?1 AND subject_id = ?2 AND name = ?3 AND state = 'pending'",
                    params![timer.tenant.as_str(), timer.subject.id().to_string(), timer.name],
                ).map_err(sql_err)?;
            }
            let inserted = tx.execute(
                "INSERT INTO timers (id, tenant_id, subject_id, subject_type, name, state, due_at, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?7)
                 ON CONFLICT DO NOTHING",
                params![
                    timer.id.to_string(),
                    timer.tenant.as_str(),
                    timer.subject.id().to_string(),
                    timer.subject.kind().as_str(),
                    timer.name,
                    timer.due_at.timestamp_millis(),
                    to_json(&timer)?
                ],
            ).map_err(sql_err)?;
            Ok(inserted == 1)
        })
        .await
    }

    async fn cancel_timers(
        &self,
        tenant: &TenantId,
        subject: Subject,
        names: &[String],
    ) -> StoreResult<u32> {
        let (tenant, names) = (tenant.clone(), names.to_vec());
        self.write(move |tx| {
            let mut stmt = tx
                .prepare_cached(
                    "UPDATE timers SET state = 'cancelled'
                 WHERE tenant_id = ?1 AND subject_id = ?2 AND name = ?3 AND state = 'pending'",
                )
                .map_err(sql_err)?;
            let mut n = 0;
            for name in &names {
                n += stmt
                    .execute(params![tenant.as_str(), subject.id().to_string(), name])
                    .map_err(sql_err)? as u32;
            }
            Ok(n)
        })
        .await
    }

    async fn fire_due_timers(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<Timer>> {
        self.write(move |tx| {
            let timers: Vec<Timer> = query_bodies(
                tx,
                "SELECT body FROM timers WHERE state = 'pending' AND due_at <= ?1
                 ORDER BY due_at LIMIT ?2",
                params![now.timestamp_millis(), limit.max(1)],
            )?;
            let mut fired = Vec::with_capacity(timers.len());
            let mut events = Vec::with_capacity(timers.len());
            for timer in timers {
                let changed = tx
                    .execute(
                        "UPDATE timers SET state = 'fired' WHERE id = ?1 AND state = 'pending'",
                        params![timer.id.to_string()],
                    )
                    .map_err(sql_err)?;
                if changed == 0 {
                    continue;
                }
                // A timer on a subject that no longer exists is spent without an event.
                if let Some(version) = subject_version(tx, &timer.tenant, timer.subject)? {
                    events.push(DomainEvent::new(
                        timer.tenant.clone(),
                        timer.subject,
                        version,
                        None,
                        timer.cause.clone(),
                        now,
                        EventPayload::TimerFired {
                            timer: timer.id,
                            name: timer.name.clone(),
                            due_at: timer.due_at,
                        },
                    ));
                }
                fired.push(timer);
            }
            insert_events(tx, &events)?;
            Ok(fired)
        })
        .await
    }

    async fn pending_timers(&self, tenant: &TenantId, subject: Subject) -> StoreResult<Vec<Timer>> {
        let tenant = tenant.clone();
        self.read(move |conn| {
            query_bodies(
                conn,
                "SELECT body FROM timers WHERE tenant_id = ?1 AND subject_id = ?2 AND state = 'pending'
                 ORDER BY due_at",
                params![tenant.as_str(), subject.id().to_string()],
            )
        })
        .await
    }
}
