//! Due-work queues (timers, deliveries), sharded so no partition runs hot: items of every
//! shard with a due time up to now, oldest first.

use crate::table::{Item, Query, ms_key, s, string_attr};
use crate::{DynamoStore, GSI1, GSI1_SK};
use fieldline_domain::Timestamp;
use fieldline_store::error::StoreResult;

/// Write shards of the due-work queues.
pub(crate) const SHARDS: u32 = 8;

pub(crate) fn shard_of(id: &uuid::Uuid) -> u32 {
    // The low bits of a v7 UUID are random: an even spread without a hash.
    (id.as_u128() as u32) % SHARDS
}

impl DynamoStore {
    /// Items of every shard of a due-work queue with a due time up to `now`, oldest first.
    pub(crate) async fn due(
        &self,
        queue: &str,
        now: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<Item>> {
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
