//! Quick sale tags on SQLite: the sale row, its counters bumped in the same transaction, and
//! the spikes announced.

use crate::customer::require_customer;
use crate::events::insert_events;
use crate::{SqliteStore, sql_err, to_json};
use async_trait::async_trait;
use fieldline_domain::retail::{SALES_KEY, SaleTags, TagCount};
use fieldline_domain::{DomainEvent, TenantId};
use fieldline_store::error::StoreResult;
use fieldline_store::ports::RetailStore;
use rusqlite::params;

#[async_trait]
impl RetailStore for SqliteStore {
    async fn record_sale_tags(&self, sale: &SaleTags) -> StoreResult<bool> {
        let sale = sale.clone();
        self.write(move |tx| {
            require_customer(tx, &sale.tenant, sale.store)?;
            let t = sale.tenant.as_str();
            let added = tx
                .execute(
                    "INSERT OR IGNORE INTO sale_tags (tenant_id, id, store_id, at, body)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        t,
                        sale.id.to_string(),
                        sale.store.to_string(),
                        sale.at.timestamp_millis(),
                        to_json(&sale)?
                    ],
                )
                .map_err(sql_err)?
                == 1;
            if added {
                let mut bump = tx
                    .prepare_cached(
                        "INSERT INTO sale_tag_counts (tenant_id, week, region, tag, count)
                         VALUES (?1, ?2, ?3, ?4, 1)
                         ON CONFLICT (tenant_id, week, region, tag)
                         DO UPDATE SET count = count + 1",
                    )
                    .map_err(sql_err)?;
                for tag in sale.tags.iter().map(String::as_str).chain([SALES_KEY]) {
                    bump.execute(params![t, sale.week, sale.region, tag])
                        .map_err(sql_err)?;
                }
            }
            Ok(added)
        })
        .await
    }

    async fn sale_tag_counts(
        &self,
        tenant: &TenantId,
        region: Option<&str>,
        from: &str,
        to: &str,
    ) -> StoreResult<Vec<TagCount>> {
        let (tenant, region, from, to) = (
            tenant.clone(),
            region.map(str::to_owned),
            from.to_owned(),
            to.to_owned(),
        );
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT week, region, tag, count FROM sale_tag_counts
                     WHERE tenant_id = ?1 AND week BETWEEN ?2 AND ?3
                       AND (?4 IS NULL OR region = ?4)
                     ORDER BY week, region, tag",
                )
                .map_err(sql_err)?;
            let rows = stmt
                .query_map(params![tenant.as_str(), from, to, region], |r| {
                    Ok(TagCount {
                        week: r.get(0)?,
                        region: r.get(1)?,
                        tag: r.get(2)?,
                        count: r.get::<_, i64>(3)?.max(0) as u64,
                    })
                })
                .map_err(sql_err)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(sql_err)
        })
        .await
    }

    async fn announce_spike(
        &self,
        tenant: &TenantId,
        key: &str,
        events: &[DomainEvent],
    ) -> StoreResult<bool> {
        let (tenant, key, events) = (tenant.clone(), key.to_owned(), events.to_vec());
        self.write(move |tx| {
            let fresh = tx
                .execute(
                    "INSERT OR IGNORE INTO sale_tag_spikes (tenant_id, key) VALUES (?1, ?2)",
                    params![tenant.as_str(), key],
                )
                .map_err(sql_err)?
                == 1;
            if fresh {
                insert_events(tx, &events)?;
            }
            Ok(fresh)
        })
        .await
    }
}
