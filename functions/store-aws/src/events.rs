//! The outbox on DynamoDB. Events are items (`TENANT#{t}#EVT`, `{occurred_at}#{event}`)
//! written in the same transaction as the change they describe. Delivery is the table's
//! stream: a Lambda function (or the local stream runner) receives every new event item at
//! least once, per partition in order, so there is no polling consumer position to keep.

use crate::directory::tenant_pk;
use crate::table::{Item, ItemBuilder, Query, body, ms_key, s};
use crate::{BODY, DynamoStore, ENTITY};
use async_trait::async_trait;
use fieldline_domain::{DomainEvent, TenantId, Timestamp};
use fieldline_store::error::StoreResult;
use fieldline_store::{EventLog, StoreError, StoredEvent};

/// The `entity` value of outbox items; the stream's filter passes only these.
pub const EVENT_ENTITY: &str = "event";

pub(crate) fn event_item(event: &DomainEvent) -> StoreResult<Item> {
    Ok(ItemBuilder::new(
        format!("{}#EVT", tenant_pk(&event.tenant)),
        format!(
            "{}#{}",
            ms_key(event.occurred_at.timestamp_millis()),
            event.id
        ),
    )
    .body(event)?
    .s(ENTITY, EVENT_ENTITY)
    .build())
}

/// The event in a stream record's new image; `None` for items that are not events.
pub fn event_from_image(
    entity: Option<&str>,
    body_json: Option<&str>,
) -> Option<Result<DomainEvent, StoreError>> {
    if entity != Some(EVENT_ENTITY) {
        return None;
    }
    Some(match body_json {
        Some(json) => {
            serde_json::from_str(json).map_err(|e| StoreError::corrupt("undecodable record", e))
        }
        None => Err(StoreError::corrupt_msg(format!(
            "event item without {BODY}"
        ))),
    })
}

#[async_trait]
impl EventLog for DynamoStore {
    /// Not offered: on DynamoDB the stream delivers events (see the module docs).
    async fn read_events(&self, _consumer: &str, _limit: u32) -> StoreResult<Vec<StoredEvent>> {
        Err(StoreError::Unsupported(
            "polling the outbox; DynamoDB delivers events through the table's stream",
        ))
    }

    async fn ack_events(&self, _consumer: &str, _seq: i64) -> StoreResult<()> {
        Err(StoreError::Unsupported(
            "polling the outbox; DynamoDB delivers events through the table's stream",
        ))
    }

    /// `seq` is the event time in milliseconds here: DynamoDB has no global sequence, and
    /// the per-tenant partition is ordered by time.
    async fn tenant_events_since(
        &self,
        tenant: &TenantId,
        since: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<StoredEvent>> {
        let values = [
            (":pk", s(format!("{}#EVT", tenant_pk(tenant)))),
            (":since", s(ms_key(since.timestamp_millis()))),
        ];
        let q = Query::table("pk = :pk AND sk >= :since", &values);
        let items = self.query(q, limit.max(1) as usize).await?;
        items
            .iter()
            .map(|item| {
                let event: DomainEvent = body(item)?;
                Ok(StoredEvent {
                    seq: event.occurred_at.timestamp_millis(),
                    event,
                })
            })
            .collect()
    }
}
