//! The inbox and outbound deliveries: notifications, channels, leased sends and dead letters.

use crate::directory::tenant_pk;
use crate::queue::shard_of;
use crate::table::{
    Item, ItemBuilder, Query, TxError, body, key, ms_key, n, number_attr, put_new, s, string_attr,
};
use crate::{DynamoStore, ENTITY, GSI1, GSI1_PK, GSI1_SK};
use async_trait::async_trait;
use fieldline_domain::{
    Channel, Delivery, DeliveryResult, Notification, TenantId, Timestamp, UserId,
};
use fieldline_store::error::StoreResult;
use fieldline_store::{InboxStore, StoreError};

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

fn channel_from(item: &Item) -> StoreResult<Channel> {
    let mut channel: Channel = body(item)?;
    // The secret is never in the JSON body (the type skips it when serialising).
    channel.secret = string_attr(item, "secret").map(str::to_owned);
    Ok(channel)
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
}
