//! SLA timers on sharded due-work queues, fired at most once by a conditional delete.

use crate::events::event_item;
use crate::queue::shard_of;
use crate::subject::{record_sk, subject_pk};
use crate::table::{
    Item, ItemBuilder, TxError, body, delete, key, ms_key, number_attr, put_new, s,
};
use crate::{DynamoStore, ENTITY, GSI1_PK, GSI1_SK};
use async_trait::async_trait;
use fieldline_domain::{DomainEvent, EventPayload, Subject, TenantId, Timer, Timestamp};
use fieldline_store::TimerStore;
use fieldline_store::error::StoreResult;

fn timer_item(timer: &Timer) -> StoreResult<Item> {
    let id = timer.id.as_uuid();
    Ok(ItemBuilder::new(
        subject_pk(&timer.tenant, timer.subject),
        format!("TIMER#{}", timer.name),
    )
    .body(timer)?
    .s(ENTITY, "timer")
    .s("timer_id", timer.id.to_string())
    .s(GSI1_PK, format!("TIMERS#{}", shard_of(&id)))
    .s(
        GSI1_SK,
        format!("{}#{}", ms_key(timer.due_at.timestamp_millis()), timer.id),
    )
    .build())
}

#[async_trait]
impl TimerStore for DynamoStore {
    async fn start_timer(&self, timer: &Timer, restart: bool) -> StoreResult<bool> {
        // The item's key is (subject, name), so "one pending timer per subject and name" is the key.
        let condition = (!restart).then_some("attribute_not_exists(pk)");
        self.put_if(timer_item(timer)?, condition, &[]).await
    }

    async fn cancel_timers(
        &self,
        tenant: &TenantId,
        subject: Subject,
        names: &[String],
    ) -> StoreResult<u32> {
        let mut cancelled = 0;
        for name in names {
            if self
                .delete_existing(key(subject_pk(tenant, subject), format!("TIMER#{name}")))
                .await?
            {
                cancelled += 1;
            }
        }
        Ok(cancelled)
    }

    async fn fire_due_timers(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<Timer>> {
        let mut fired = Vec::new();
        for item in self.due("TIMERS", now, limit.max(1)).await? {
            let timer: Timer = body(&item)?;
            let record = self
                .get(key(
                    subject_pk(&timer.tenant, timer.subject),
                    record_sk(timer.subject.kind()),
                ))
                .await?;
            // Removing the timer is conditional on it still being this timer: a restart or a
            // cancel in between, or another sweeper, makes the condition fail.
            let mut writes = vec![delete(
                self.table(),
                key(
                    subject_pk(&timer.tenant, timer.subject),
                    format!("TIMER#{}", timer.name),
                ),
                Some("timer_id = :id"),
                &[(":id", s(timer.id.to_string()))],
            )];
            // A timer on a subject that no longer exists is spent without an event.
            if let Some(record) = &record {
                let event = DomainEvent::new(
                    timer.tenant.clone(),
                    timer.subject,
                    number_attr(record, "version").unwrap_or_default() as u64,
                    None,
                    timer.cause.clone(),
                    now,
                    EventPayload::TimerFired {
                        timer: timer.id,
                        name: timer.name.clone(),
                        due_at: timer.due_at,
                    },
                );
                writes.push(put_new(self.table(), event_item(&event)?));
            }
            match self.transact(writes).await {
                Ok(()) => fired.push(timer),
                Err(TxError::Cancelled(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(fired)
    }

    async fn pending_timers(&self, tenant: &TenantId, subject: Subject) -> StoreResult<Vec<Timer>> {
        let mut timers: Vec<Timer> = self
            .query_prefix(subject_pk(tenant, subject), "TIMER#")
            .await?;
        timers.sort_by_key(|t| t.due_at);
        Ok(timers)
    }
}
