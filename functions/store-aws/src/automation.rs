//! Automation on DynamoDB: rule versions, timers, the decision log, rotations, the inbox,
//! tasks, channels and notification deliveries. Keys are in `docs/dynamodb.md`.
//!
//! Two global work queues — due timers and due deliveries — are sparse, write-sharded
//! partitions of `gsi1` (`TIMERS#{shard}`, `DELIVERIES#{shard}`, sorted by due time): a
//! sweeper reads only what is due, and a burst of timers spreads over `SHARDS` partitions.
//! The index is eventually consistent, so every claim is a conditional write on the base
//! item; two sweepers never fire the same timer or send the same delivery twice.

use crate::directory::tenant_pk;
use crate::events::event_item;
use crate::subject::{record_sk, subject_pk};
use crate::table::{
    Item, ItemBuilder, Query, TxError, body, delete, key, ms_key, n, number_attr, put, put_new, s,
    string_attr,
};
use crate::{DynamoStore, ENTITY, GSI1, GSI1_PK, GSI1_SK};
use async_trait::async_trait;
use fieldline_domain::{
    Channel, Decision, Delivery, DeliveryResult, DomainEvent, EventPayload, LeadStatus,
    Notification, Rule, RuleId, Subject, Task, TaskId, TeamId, TenantId, Timer, Timestamp, UserId,
};
use fieldline_store::error::StoreResult;
use fieldline_store::{
    AssignmentStore, DecisionLog, InboxStore, RuleStore, StoreError, TaskStore, TimerStore,
    next_in_turn,
};
use std::collections::HashMap;

/// Write shards of the due-work queues.
pub const SHARDS: u32 = 8;

fn shard_of(id: &uuid::Uuid) -> u32 {
    // The low bits of a v7 UUID are random: an even spread without a hash.
    (id.as_u128() as u32) % SHARDS
}

fn rule_pk(tenant: &TenantId, id: &RuleId) -> String {
    format!("{}#RULE#{}", tenant_pk(tenant), id.as_str())
}

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

fn delivery_item(d: &Delivery) -> StoreResult<Item> {
    let tenant = &d.notification.tenant;
    let due = format!("{}#{}", ms_key(d.next_attempt_at.timestamp_millis()), d.id);
    let item = ItemBuilder::new(delivery_pk(tenant, d.id), "DELIVERY")
        .body(d)?
        .s(ENTITY, "delivery")
        .s("delivery_state", d.state.clone())
        .n("next_ms", d.next_attempt_at.timestamp_millis())
        .s("channel_id", d.channel.to_string());
    // Sparse queue: only pending or leased deliveries are in the due index; dead ones sit in
    // the tenant's dead-letter listing; sent ones in neither.
    let item = match d.state.as_str() {
        "pending" | "sending" => item
            .s(GSI1_PK, format!("DELIVERIES#{}", shard_of(&d.id)))
            .s(GSI1_SK, due),
        "dead" => item
            .s(GSI1_PK, format!("{}#DEAD", tenant_pk(tenant)))
            .s(GSI1_SK, due),
        _ => item,
    };
    Ok(item.build())
}

fn delivery_pk(tenant: &TenantId, id: uuid::Uuid) -> String {
    format!("{}#DELIVERY#{id}", tenant_pk(tenant))
}

fn task_item(t: &Task) -> StoreResult<Item> {
    let item = ItemBuilder::new(format!("{}#TASK#{}", tenant_pk(&t.tenant), t.id), "TASK")
        .body(t)?
        .s(ENTITY, "task");
    let item = match t.assignee {
        Some(user) => item
            .s(GSI1_PK, format!("{}#ASSIGNEE#{user}", tenant_pk(&t.tenant)))
            .s(
                GSI1_SK,
                format!(
                    "{}#{}#{}",
                    u8::from(t.done_at.is_some()),
                    ms_key(t.due_at.timestamp_millis()),
                    t.id
                ),
            ),
        None => item,
    };
    Ok(item.build())
}

fn channel_from(item: &Item) -> StoreResult<Channel> {
    let mut channel: Channel = body(item)?;
    // The secret is never in the JSON body (the type skips it when serialising).
    channel.secret = string_attr(item, "secret").map(str::to_owned);
    Ok(channel)
}

impl DynamoStore {
    async fn channels_of(&self, tenant: &TenantId) -> StoreResult<Vec<Channel>> {
        let values = [(":pk", s(tenant_pk(tenant))), (":p", s("CHANNEL#"))];
        let q = Query::table("pk = :pk AND begins_with(sk, :p)", &values);
        self.query(q, usize::MAX)
            .await?
            .iter()
            .map(channel_from)
            .collect()
    }

    /// Items of every shard of a due-work queue with a due time up to `now`, oldest first.
    async fn due(&self, queue: &str, now: Timestamp, limit: u32) -> StoreResult<Vec<Item>> {
        let upper = ms_key(now.timestamp_millis() + 1);
        let mut all = Vec::new();
        for shard in 0..SHARDS {
            let values = [
                (":q", s(format!("{queue}#{shard}"))),
                (":upper", s(upper.clone())),
            ];
            let q = Query::index(GSI1, "gsi1pk = :q AND gsi1sk < :upper", &values);
            all.extend(self.query(q, limit as usize).await?);
        }
        all.sort_by(|a, b| string_attr(a, GSI1_SK).cmp(&string_attr(b, GSI1_SK)));
        all.truncate(limit as usize);
        Ok(all)
    }
}

#[async_trait]
impl RuleStore for DynamoStore {
    async fn save_rule(&self, rule: &Rule, expected_version: Option<u32>) -> StoreResult<()> {
        let version_item = ItemBuilder::new(
            rule_pk(&rule.tenant, &rule.id),
            format!("V#{:08}", rule.version),
        )
        .body(rule)?
        .s(ENTITY, "rule_version")
        .build();
        // The current version sits beside the tenant so one query lists every rule.
        let current = ItemBuilder::new(tenant_pk(&rule.tenant), format!("RULE#{}", rule.id))
            .body(rule)?
            .s(ENTITY, "rule")
            .n("version", rule.version.into())
            .build();
        let current = match expected_version {
            None => put_new(self.table(), current),
            Some(v) => put(
                self.table(),
                current,
                Some("version = :v"),
                &[(":v", n(v.into()))],
            ),
        };
        match self
            .transact(vec![current, put_new(self.table(), version_item)])
            .await
        {
            Ok(()) => Ok(()),
            Err(TxError::Cancelled(_)) => {
                let stored = self
                    .get(key(tenant_pk(&rule.tenant), format!("RULE#{}", rule.id)))
                    .await?;
                match (stored, expected_version) {
                    (Some(_), None) => Err(StoreError::AlreadyExists(format!("rule {}", rule.id))),
                    (None, _) => Err(StoreError::NotFound),
                    (Some(item), Some(expected)) => Err(StoreError::VersionConflict {
                        expected: expected.into(),
                        actual: number_attr(&item, "version").unwrap_or_default() as u64,
                    }),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn list_rules(&self, tenant: &TenantId) -> StoreResult<Vec<Rule>> {
        self.query_prefix(tenant_pk(tenant), "RULE#").await
    }

    async fn get_rule(&self, tenant: &TenantId, id: &RuleId) -> StoreResult<Option<Rule>> {
        self.get_body(tenant_pk(tenant), format!("RULE#{id}")).await
    }

    async fn rule_versions(&self, tenant: &TenantId, id: &RuleId) -> StoreResult<Vec<Rule>> {
        self.query_prefix(rule_pk(tenant, id), "V#").await
    }
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

#[async_trait]
impl DecisionLog for DynamoStore {
    async fn record_decision(&self, d: &Decision) -> StoreResult<bool> {
        let unique = format!("{}#{}#{:04}", d.event, d.rule, d.action_index);
        let item = ItemBuilder::new(subject_pk(&d.tenant, d.subject), format!("DEC#{unique}"))
            .body(d)?
            .s(ENTITY, "decision")
            .s(GSI1_PK, format!("{}#DECISIONS", tenant_pk(&d.tenant)))
            .s(
                GSI1_SK,
                format!("{}#{unique}", ms_key(d.at.timestamp_millis())),
            )
            .build();
        self.put_if(item, Some("attribute_not_exists(pk)"), &[])
            .await
    }

    async fn list_decisions(
        &self,
        tenant: &TenantId,
        subject: Option<Subject>,
        limit: u32,
    ) -> StoreResult<Vec<Decision>> {
        match subject {
            Some(subject) => {
                let mut all: Vec<Decision> = self
                    .query_prefix(subject_pk(tenant, subject), "DEC#")
                    .await?;
                all.sort_by_key(|d| d.at);
                all.truncate(limit as usize);
                Ok(all)
            }
            None => {
                let values = [(":p", s(format!("{}#DECISIONS", tenant_pk(tenant))))];
                let q = Query::index(GSI1, "gsi1pk = :p", &values).newest_first();
                self.query_bodies(q, limit.max(1) as usize).await
            }
        }
    }
}

#[async_trait]
impl AssignmentStore for DynamoStore {
    async fn next_in_rotation(
        &self,
        tenant: &TenantId,
        rotation: &str,
        members: &[UserId],
    ) -> StoreResult<Option<UserId>> {
        let mut members = members.to_vec();
        members.sort();
        if members.is_empty() {
            return Ok(None);
        }
        let rotation_key = || key(tenant_pk(tenant), format!("ROTATION#{rotation}"));
        // Compare-and-set on the last member handed out; a lost race reads again.
        for _ in 0..50 {
            let last = self
                .get(rotation_key())
                .await?
                .and_then(|item| string_attr(&item, "last_user").map(str::to_owned));
            let next = next_in_turn(&members, last.as_deref()).expect("members is not empty");
            let mut item = rotation_key();
            item.insert("last_user".into(), s(next.to_string()));
            let stored = match &last {
                None => {
                    self.put_if(item, Some("attribute_not_exists(pk)"), &[])
                        .await?
                }
                Some(prev) => {
                    self.put_if(
                        item,
                        Some("last_user = :prev"),
                        &[(":prev", s(prev.clone()))],
                    )
                    .await?
                }
            };
            if stored {
                return Ok(Some(next));
            }
        }
        Err(StoreError::Busy(format!(
            "rotation {rotation} kept changing"
        )))
    }

    async fn open_lead_counts(
        &self,
        tenant: &TenantId,
        team: TeamId,
    ) -> StoreResult<Vec<(UserId, u64)>> {
        let values = [
            (":p", s(format!("{}#TEAM#{team}", tenant_pk(tenant)))),
            (":converted", s(LeadStatus::Converted.as_str())),
            (":disqualified", s(LeadStatus::Disqualified.as_str())),
        ];
        let q = Query::index(crate::GSI3, "gsi3pk = :p", &values)
            .filter("attribute_exists(owner_id) AND lead_status <> :converted AND lead_status <> :disqualified");
        let mut counts: HashMap<UserId, u64> = HashMap::new();
        for item in self.query(q, usize::MAX).await? {
            let owner = string_attr(&item, "owner_id")
                .and_then(|o| o.parse().ok())
                .ok_or_else(|| StoreError::corrupt_msg("lead owner id"))?;
            *counts.entry(owner).or_default() += 1;
        }
        let mut counts: Vec<_> = counts.into_iter().collect();
        counts.sort();
        Ok(counts)
    }
}

#[async_trait]
impl TaskStore for DynamoStore {
    async fn add_task(&self, task: &Task) -> StoreResult<bool> {
        let guard = ItemBuilder::new(
            format!("{}#TASKKEY#{}", tenant_pk(&task.tenant), task.dedupe_key),
            "KEY",
        )
        .build();
        match self
            .transact(vec![
                put_new(self.table(), guard),
                put_new(self.table(), task_item(task)?),
            ])
            .await
        {
            Ok(()) => Ok(true),
            Err(TxError::Cancelled(_)) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    async fn list_tasks(
        &self,
        tenant: &TenantId,
        assignee: UserId,
        limit: u32,
    ) -> StoreResult<Vec<Task>> {
        let values = [(
            ":p",
            s(format!("{}#ASSIGNEE#{assignee}", tenant_pk(tenant))),
        )];
        let q = Query::index(GSI1, "gsi1pk = :p", &values);
        self.query_bodies(q, limit.max(1) as usize).await
    }

    async fn get_task(&self, tenant: &TenantId, id: TaskId) -> StoreResult<Option<Task>> {
        self.get_body(format!("{}#TASK#{id}", tenant_pk(tenant)), "TASK")
            .await
    }

    async fn update_task(&self, task: &Task) -> StoreResult<()> {
        if self
            .put_if(task_item(task)?, Some("attribute_exists(pk)"), &[])
            .await?
        {
            Ok(())
        } else {
            Err(StoreError::NotFound)
        }
    }
}

#[async_trait]
impl InboxStore for DynamoStore {
    async fn add_notification(&self, note: &Notification) -> StoreResult<bool> {
        let inbox = format!("{}#INBOX#{}", tenant_pk(&note.tenant), note.user);
        let guard = ItemBuilder::new(inbox.clone(), format!("KEY#{}", note.dedupe_key)).build();
        let entry = ItemBuilder::new(
            inbox,
            format!(
                "N#{}#{}",
                ms_key(note.created_at.timestamp_millis()),
                note.id
            ),
        )
        .body(note)?
        .s(ENTITY, "notification")
        .build();
        let mut writes = vec![put_new(self.table(), guard), put_new(self.table(), entry)];
        for channel in self.channels_of(&note.tenant).await? {
            if !channel.forwards(&note.kind) {
                continue;
            }
            let delivery = Delivery {
                id: uuid::Uuid::now_v7(),
                channel: channel.id,
                notification: note.clone(),
                state: "pending".into(),
                attempts: 0,
                next_attempt_at: note.created_at,
                last_error: None,
            };
            writes.push(put_new(self.table(), delivery_item(&delivery)?));
        }
        match self.transact(writes).await {
            Ok(()) => Ok(true),
            Err(TxError::Cancelled(_)) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    async fn list_notifications(
        &self,
        tenant: &TenantId,
        user: UserId,
        limit: u32,
    ) -> StoreResult<Vec<Notification>> {
        let values = [
            (":pk", s(format!("{}#INBOX#{user}", tenant_pk(tenant)))),
            (":n", s("N#")),
        ];
        let q = Query::table("pk = :pk AND begins_with(sk, :n)", &values).newest_first();
        self.query_bodies(q, limit.max(1) as usize).await
    }

    async fn save_channel(&self, channel: &Channel) -> StoreResult<()> {
        let item = ItemBuilder::new(
            tenant_pk(&channel.tenant),
            format!("CHANNEL#{}", channel.id),
        )
        .body(channel)?
        .s(ENTITY, "channel")
        .s_opt("secret", channel.secret.clone())
        .build();
        if self
            .put_if(item, Some("attribute_not_exists(pk)"), &[])
            .await?
        {
            Ok(())
        } else {
            Err(StoreError::AlreadyExists(format!("channel {}", channel.id)))
        }
    }

    async fn list_channels(&self, tenant: &TenantId) -> StoreResult<Vec<Channel>> {
        self.channels_of(tenant).await
    }

    /// Queued deliveries of the channel are dropped when a sweeper next meets them.
    async fn delete_channel(&self, tenant: &TenantId, id: uuid::Uuid) -> StoreResult<bool> {
        self.delete_existing(key(tenant_pk(tenant), format!("CHANNEL#{id}")))
            .await
    }

    async fn claim_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<(Delivery, Channel)>> {
        let mut claimed = Vec::new();
        for item in self.due("DELIVERIES", now, limit.max(1)).await? {
            let mut delivery: Delivery = body(&item)?;
            let tenant = delivery.notification.tenant.clone();
            let seen_ms = number_attr(&item, "next_ms").unwrap_or_default();
            let Some(channel) = self
                .get(key(
                    tenant_pk(&tenant),
                    format!("CHANNEL#{}", delivery.channel),
                ))
                .await?
            else {
                // Its channel was deleted: the delivery goes with it.
                self.delete_existing(key(delivery_pk(&tenant, delivery.id), "DELIVERY"))
                    .await?;
                continue;
            };
            delivery.state = "sending".into();
            delivery.next_attempt_at = lease_until;
            // Claimed only if nobody else moved it since the (eventually consistent) index read.
            let leased = self
                .put_if(
                    delivery_item(&delivery)?,
                    Some("next_ms = :seen AND (delivery_state = :pending OR delivery_state = :sending)"),
                    &[
                        (":seen", n(seen_ms)),
                        (":pending", s("pending")),
                        (":sending", s("sending")),
                    ],
                )
                .await?;
            if leased {
                claimed.push((delivery, channel_from(&channel)?));
            }
        }
        Ok(claimed)
    }

    async fn finish_delivery(
        &self,
        tenant: &TenantId,
        id: uuid::Uuid,
        result: &DeliveryResult,
    ) -> StoreResult<()> {
        let Some(mut d): Option<Delivery> =
            self.get_body(delivery_pk(tenant, id), "DELIVERY").await?
        else {
            return Ok(());
        };
        d.finish(result);
        self.put_if(delivery_item(&d)?, Some("attribute_exists(pk)"), &[])
            .await?;
        Ok(())
    }

    async fn dead_deliveries(&self, tenant: &TenantId, limit: u32) -> StoreResult<Vec<Delivery>> {
        let values = [(":p", s(format!("{}#DEAD", tenant_pk(tenant))))];
        let q = Query::index(GSI1, "gsi1pk = :p", &values).newest_first();
        self.query_bodies(q, limit.max(1) as usize).await
    }
}
