//! Quick sale tags on DynamoDB. A sale lives in its week's partition
//! (`TENANT#{t}#SALES#{week}` / `{id}`), written with `attribute_not_exists` so a retry counts
//! once; in the same transaction each of its tags' counters and the week's sales counter
//! (`TENANT#{t}#SALETAGS` / `{week}#{region}#{tag}`, attribute `tally`) get `ADD 1`. The
//! weekly report is one query over the counters' sort-key range. A spike announced is an
//! item (`TENANT#{t}#SPIKE#{key}`) written with its events.

use crate::DynamoStore;
use crate::customer::customer_exists;
use crate::directory::tenant_pk;
use crate::lead::events_items;
use crate::table::{
    ItemBuilder, Query, TxError, key, n, number_attr, put_new, s, string_attr, update,
};
use async_trait::async_trait;
use fieldline_domain::retail::{SALES_KEY, SaleTags, TagCount};
use fieldline_domain::{DomainEvent, TenantId};
use fieldline_store::error::{StoreError, StoreResult};
use fieldline_store::ports::RetailStore;

const TALLY: &str = "tally";

fn counters_pk(tenant: &TenantId) -> String {
    format!("{}#SALETAGS", tenant_pk(tenant))
}

#[async_trait]
impl RetailStore for DynamoStore {
    async fn record_sale_tags(&self, sale: &SaleTags) -> StoreResult<bool> {
        let table = self.table().to_owned();
        let tenant = &sale.tenant;
        let item = ItemBuilder::new(
            format!("{}#SALES#{}", tenant_pk(tenant), sale.week),
            sale.id.to_string(),
        )
        .body(sale)?
        .s(crate::ENTITY, "sale_tags")
        .build();
        let mut items = vec![
            customer_exists(&table, tenant, sale.store),
            put_new(&table, item),
        ];
        for tag in sale.tags.iter().map(String::as_str).chain([SALES_KEY]) {
            items.push(update(
                &table,
                key(
                    counters_pk(tenant),
                    format!("{}#{}#{tag}", sale.week, sale.region),
                ),
                "ADD tally :one",
                &[(":one", n(1))],
            ));
        }
        match self.transact(items).await {
            Ok(()) => Ok(true),
            Err(TxError::Cancelled(flags)) if flags.first() == Some(&true) => {
                Err(StoreError::NotFound)
            }
            Err(TxError::Cancelled(flags)) if flags.get(1) == Some(&true) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    async fn sale_tag_counts(
        &self,
        tenant: &TenantId,
        region: Option<&str>,
        from: &str,
        to: &str,
    ) -> StoreResult<Vec<TagCount>> {
        // `$` sorts right after `#`: the range holds every key of the weeks `from..=to`.
        let values = [
            (":pk", s(counters_pk(tenant))),
            (":from", s(format!("{from}#"))),
            (":to", s(format!("{to}$"))),
        ];
        let q = Query::table("pk = :pk AND sk BETWEEN :from AND :to", &values);
        let items = self.query(q, usize::MAX).await?;
        let mut out = Vec::with_capacity(items.len());
        for item in &items {
            let sk = string_attr(item, "sk").unwrap_or_default();
            let mut parts = sk.splitn(3, '#');
            let (Some(week), Some(r), Some(tag)) = (parts.next(), parts.next(), parts.next())
            else {
                return Err(StoreError::corrupt_msg(format!(
                    "sale tag counter with sort key {sk:?}"
                )));
            };
            if region.is_some_and(|want| want != r) {
                continue;
            }
            out.push(TagCount {
                week: week.to_owned(),
                region: r.to_owned(),
                tag: tag.to_owned(),
                count: number_attr(item, TALLY).unwrap_or(0).max(0) as u64,
            });
        }
        Ok(out)
    }

    async fn announce_spike(
        &self,
        tenant: &TenantId,
        spike: &str,
        events: &[DomainEvent],
    ) -> StoreResult<bool> {
        let table = self.table().to_owned();
        let mark = ItemBuilder::new(format!("{}#SPIKE#{spike}", tenant_pk(tenant)), "SPIKE")
            .s(crate::ENTITY, "spike")
            .build();
        let mut items = vec![put_new(&table, mark)];
        items.extend(events_items(&table, events)?);
        match self.transact(items).await {
            Ok(()) => Ok(true),
            Err(TxError::Cancelled(flags)) if flags.first() == Some(&true) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}
