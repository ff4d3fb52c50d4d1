//! Orders, the catalogue and stock on DynamoDB.
//!
//! A stock row (`TENANT#{t}#STOCK#{sku}` / `{location}`) keeps `on_hand`, `reserved` and
//! `available` (their difference, kept because a condition expression cannot subtract), so a
//! reservation is `SET reserved = reserved + :q, available = available - :q` under
//! `available >= :q`, in the order's own transaction: two channels racing for the last units
//! cannot both pass, and a refused line refuses the whole order write.
//!
//! An order lives in its subject partition, listed under `{t}#ORDERS` (gsi1), its owner
//! (gsi2) and its team (gsi3) by change time; a copy in its customer's partition
//! (`ORDER#{id}`), written in the same transaction, lets the credit check read one customer's
//! orders with one query. SKUs are one partition per tenant (`{t}#SKUS` / `{code}`).
//!
//! The weekly demand history is kept in sixteen partitions by SKU (`{t}#DEMAND#{shard}` /
//! `{week}#{region}`, one `q#{sku}` total per SKU), added to in the submitting transaction.

use crate::customer::{customer_exists, customer_pk};
use crate::directory::tenant_pk;
use crate::lead::{events_items, listing_sk, newest_first_key};
use crate::subject::{record_sk, subject_pk};
use crate::table::{
    ItemBuilder, Query, TxError, body, delete, key, n, number_attr, put, put_new, s, string_attr,
    update_if,
};
use crate::{
    DynamoStore, ENTITY, GSI1, GSI1_PK, GSI1_SK, GSI2, GSI2_PK, GSI2_SK, GSI3, GSI3_PK, GSI3_SK,
};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use chrono::NaiveDate;
use fieldline_domain::demand::{DemandEstimate, DemandPoint};
use fieldline_domain::order::{
    Code, MAX_ORDER_LINES, Order, Sku, StockCount, StockEffect, StockLevel, StockMove,
};
use fieldline_domain::stock::{Breaker, Location};
use fieldline_domain::{
    CustomerId, DomainEvent, LeadScope, OrderId, Subject, SubjectKind, TenantId,
};
use fieldline_store::error::{StoreError, StoreResult};
use fieldline_store::ports::{Created, OrderQuery, OrderStore, Page, page_limit};
use std::collections::BTreeMap;

fn skus_pk(tenant: &TenantId) -> String {
    format!("{}#SKUS", tenant_pk(tenant))
}

fn level_of(item: &crate::table::Item) -> StoreResult<StockLevel> {
    let (sku, location) = string_attr(item, GSI1_SK)
        .and_then(|k| k.split_once('#'))
        .ok_or_else(|| StoreError::corrupt_msg("stock row without its index key"))?;
    let code =
        |raw: &str| Code::parse(raw, "stock").map_err(|e| StoreError::corrupt("stock row", e));
    let on_hand = number_attr(item, "on_hand").unwrap_or(0);
    let reserved = number_attr(item, "reserved").unwrap_or(0);
    Ok(StockLevel {
        sku: code(sku)?,
        location: code(location)?,
        on_hand,
        reserved,
        available: on_hand - reserved,
    })
}

fn breakers_pk(tenant: &TenantId) -> String {
    format!("{}#BREAKERS", tenant_pk(tenant))
}

fn stock_key(tenant: &TenantId, sku: &Code, location: &Code) -> crate::table::Item {
    key(
        format!("{}#STOCK#{sku}", tenant_pk(tenant)),
        location.as_str(),
    )
}

fn order_items(order: &Order) -> StoreResult<(crate::table::Item, crate::table::Item)> {
    let t = tenant_pk(&order.tenant);
    let sort = listing_sk(order.updated_at.timestamp_millis(), order.id);
    let mut item = ItemBuilder::new(
        subject_pk(&order.tenant, Subject::Order(order.id)),
        record_sk(SubjectKind::Order),
    )
    .body(order)?
    .s(ENTITY, "order")
    .n("version", order.version as i64)
    .s("order_status", order.status.as_str())
    .s("customer_id", order.customer.to_string())
    .s("owner_id", order.owner.to_string())
    .s_opt("team_id", order.team.map(|t| t.to_string()))
    .s(GSI1_PK, format!("{t}#ORDERS"))
    .s(GSI1_SK, sort.clone())
    .s(GSI2_PK, format!("{t}#ORDEROWNER#{}", order.owner))
    .s(GSI2_SK, sort.clone());
    if let Some(team) = order.team {
        item = item
            .s(GSI3_PK, format!("{t}#ORDERTEAM#{team}"))
            .s(GSI3_SK, sort);
    }
    let copy = ItemBuilder::new(
        customer_pk(&order.tenant, order.customer),
        format!("ORDER#{}", order.id),
    )
    .body(order)?
    .s(ENTITY, "customer_order")
    .build();
    Ok((item.build(), copy))
}

fn move_item(table: &str, tenant: &TenantId, m: &StockMove) -> TransactWriteItem {
    let q = [(":q", n(m.quantity as i64))];
    let at = stock_key(tenant, &m.sku, &m.location);
    match m.effect {
        StockEffect::Reserve => update_if(
            table,
            at,
            "SET reserved = reserved + :q, available = available - :q",
            "available >= :need",
            &[(":q", n(m.quantity as i64)), (":need", n(m.needed()))],
        ),
        StockEffect::Release => update_if(
            table,
            at,
            "SET reserved = reserved - :q, available = available + :q",
            "attribute_exists(pk)",
            &q,
        ),
        StockEffect::Consume => update_if(
            table,
            at,
            "SET reserved = reserved - :q, on_hand = on_hand - :q",
            "attribute_exists(pk)",
            &q,
        ),
    }
}

// Every order write is one transaction (at most 100 items): the largest, a relocation,
// releases and reserves each line beside the order, its copy and its events; a submission
// reserves each line and adds to at most `DEMAND_SHARDS` demand items and one weekly total.
const _: () = assert!(2 * MAX_ORDER_LINES + 4 <= 100);
const _: () = assert!(MAX_ORDER_LINES + DEMAND_SHARDS as usize + 5 <= 100);

/// The weekly demand history is spread over this many partitions by SKU, so one SKU's history
/// is one query of a sixteenth of it and an order's lines touch at most this many items.
const DEMAND_SHARDS: u32 = 16;
/// Attribute prefix of a SKU's weekly total in a demand item.
const DEMAND_ATTR: &str = "q#";

/// FNV-1a of the SKU code: stable across builds and platforms, unlike std's hasher.
fn demand_shard(sku: &Code) -> u32 {
    let hash = sku.as_str().bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    hash % DEMAND_SHARDS
}

/// `{t}#DEMAND#{shard}` / `{week}#{region}`: one item per week and warehouse in a shard, with a
/// `q#{sku}` total per SKU of the shard ordered there that week.
fn demand_pk(tenant: &TenantId, shard: u32) -> String {
    format!("{}#DEMAND#{shard:02}", tenant_pk(tenant))
}

/// `{t}#DEMANDTOTAL#{shard}` / `{week}`: the tenant's demand per week, in `DEMAND_SHARDS`
/// parts (by an order's first SKU, so concurrent orders seldom touch the same item); a
/// one-SKU forecast reads these instead of every SKU's history.
fn demand_total_pk(tenant: &TenantId, shard: u32) -> String {
    format!("{}#DEMANDTOTAL#{shard:02}", tenant_pk(tenant))
}

/// `ADD`s the points to their weekly totals: one update per item touched (an order's lines
/// share a week and warehouse, so at most `DEMAND_SHARDS` items) and one to the week's total
/// per week, in the order's transaction.
fn demand_items(table: &str, tenant: &TenantId, demand: &[DemandPoint]) -> Vec<TransactWriteItem> {
    let mut items: BTreeMap<(u32, String), Vec<&DemandPoint>> = BTreeMap::new();
    let mut weeks: BTreeMap<NaiveDate, (u32, u64)> = BTreeMap::new();
    for p in demand.iter().filter(|p| p.quantity > 0) {
        items
            .entry((demand_shard(&p.sku), format!("{}#{}", p.day, p.region)))
            .or_default()
            .push(p);
        weeks.entry(p.day).or_insert((demand_shard(&p.sku), 0)).1 += p.quantity;
    }
    let totals = weeks.into_iter().map(|(week, (shard, quantity))| {
        let update = Update::builder()
            .table_name(table)
            .set_key(Some(key(demand_total_pk(tenant, shard), week.to_string())))
            .update_expression("ADD q :q")
            .expression_attribute_values(":q", n(quantity as i64))
            .build()
            .expect("update has table, key and expression");
        TransactWriteItem::builder().update(update).build()
    });
    items
        .into_iter()
        .map(|((shard, sk), points)| {
            let mut update = Update::builder()
                .table_name(table)
                .set_key(Some(key(demand_pk(tenant, shard), sk)));
            let mut adds = Vec::with_capacity(points.len());
            for (i, p) in points.iter().enumerate() {
                adds.push(format!("#q{i} :q{i}"));
                update = update
                    .expression_attribute_names(format!("#q{i}"), format!("{DEMAND_ATTR}{}", p.sku))
                    .expression_attribute_values(format!(":q{i}"), n(p.quantity as i64));
            }
            TransactWriteItem::builder()
                .update(
                    update
                        .update_expression(format!("ADD {}", adds.join(", ")))
                        .build()
                        .expect("update has table, key and expression"),
                )
                .build()
        })
        .chain(totals)
        .collect()
}

/// The weekly totals of one demand item (`sku` keeps one SKU's).
fn demand_points(
    item: &crate::table::Item,
    sku: Option<&Code>,
    out: &mut Vec<DemandPoint>,
) -> StoreResult<()> {
    let sk = string_attr(item, "sk").unwrap_or_default();
    let (week, region) = sk
        .split_once('#')
        .ok_or_else(|| StoreError::corrupt_msg("demand item without its week"))?;
    let day: NaiveDate = week
        .parse()
        .map_err(|e| StoreError::corrupt("demand item week", e))?;
    let region =
        Code::parse(region, "region").map_err(|e| StoreError::corrupt("demand item", e))?;
    for (name, value) in item {
        let Some(code) = name.strip_prefix(DEMAND_ATTR) else {
            continue;
        };
        if sku.is_some_and(|s| s.as_str() != code) {
            continue;
        }
        let quantity: i64 = value
            .as_n()
            .ok()
            .and_then(|q| q.parse().ok())
            .ok_or_else(|| StoreError::corrupt_msg("demand total is not a number"))?;
        if quantity > 0 {
            out.push(DemandPoint {
                day,
                sku: Code::parse(code, "sku").map_err(|e| StoreError::corrupt("demand item", e))?,
                region: region.clone(),
                quantity: quantity as u64,
            });
        }
    }
    Ok(())
}

#[async_trait]
impl OrderStore for DynamoStore {
    async fn put_sku(&self, sku: &Sku) -> StoreResult<()> {
        let item = ItemBuilder::new(skus_pk(&sku.tenant), sku.code.as_str())
            .body(sku)?
            .s(ENTITY, "sku")
            .build();
        self.transact(vec![put(self.table(), item, None, &[])])
            .await
            .map_err(StoreError::from)
    }

    async fn put_skus(&self, skus: &[Sku]) -> StoreResult<()> {
        for chunk in skus.chunks(100) {
            let mut items = Vec::with_capacity(chunk.len());
            for sku in chunk {
                let item = ItemBuilder::new(skus_pk(&sku.tenant), sku.code.as_str())
                    .body(sku)?
                    .s(ENTITY, "sku")
                    .build();
                items.push(put(self.table(), item, None, &[]));
            }
            self.transact(items).await?;
        }
        Ok(())
    }

    async fn get_skus(&self, tenant: &TenantId, codes: &[Code]) -> StoreResult<Vec<Sku>> {
        let mut out = Vec::with_capacity(codes.len());
        for code in codes {
            if let Some(sku) = self.get_body::<Sku>(skus_pk(tenant), code.as_str()).await? {
                out.push(sku);
            }
        }
        Ok(out)
    }

    async fn list_skus(
        &self,
        tenant: &TenantId,
        after: Option<&Code>,
        limit: u32,
    ) -> StoreResult<Vec<Sku>> {
        let mut values = vec![(":p", s(skus_pk(tenant)))];
        let condition = match after {
            Some(code) => {
                values.push((":after", s(code.as_str())));
                "pk = :p AND sk > :after"
            }
            None => "pk = :p",
        };
        self.query_bodies(Query::table(condition, &values), page_limit(limit) as usize)
            .await
    }

    async fn set_stock(&self, tenant: &TenantId, counts: &[StockCount]) -> StoreResult<()> {
        for chunk in counts.chunks(100) {
            let items = chunk
                .iter()
                .map(|c| {
                    crate::table::update(
                        self.table(),
                        stock_key(tenant, &c.sku, &c.location),
                        "SET on_hand = :n, reserved = if_not_exists(reserved, :zero), \
                         available = :n - if_not_exists(reserved, :zero), entity = :e, \
                         gsi1pk = :g, gsi1sk = :gs",
                        &[
                            (":n", n(c.on_hand as i64)),
                            (":zero", n(0)),
                            (":e", s("stock")),
                            (":g", s(format!("{}#STOCK", tenant_pk(tenant)))),
                            (":gs", s(format!("{}#{}", c.sku, c.location))),
                        ],
                    )
                })
                .collect();
            self.transact(items).await?;
        }
        Ok(())
    }

    async fn stock_of(&self, tenant: &TenantId, sku: &Code) -> StoreResult<Vec<StockLevel>> {
        let values = [(":p", s(format!("{}#STOCK#{sku}", tenant_pk(tenant))))];
        let items = self
            .query(Query::table("pk = :p", &values), usize::MAX)
            .await?;
        items
            .iter()
            .map(|item| {
                let location = string_attr(item, "sk").unwrap_or_default();
                let on_hand = number_attr(item, "on_hand").unwrap_or(0);
                let reserved = number_attr(item, "reserved").unwrap_or(0);
                Ok(StockLevel {
                    sku: sku.clone(),
                    location: Code::parse(location, "location")
                        .map_err(|e| StoreError::corrupt("stock location", e))?,
                    on_hand,
                    reserved,
                    available: on_hand - reserved,
                })
            })
            .collect()
    }

    async fn create_order(
        &self,
        order: &Order,
        demand: &[DemandPoint],
        events: &[DomainEvent],
    ) -> StoreResult<Created<Order>> {
        let table = self.table().to_owned();
        let (item, copy) = order_items(order)?;
        let mut items = vec![
            customer_exists(&table, &order.tenant, order.customer),
            put_new(&table, item),
            put(&table, copy, None, &[]),
        ];
        items.extend(demand_items(&table, &order.tenant, demand));
        items.extend(events_items(&table, events)?);
        match self.transact(items).await {
            Ok(()) => Ok(Created::New(order.clone())),
            Err(TxError::Cancelled(flags)) if flags.first() == Some(&true) => {
                Err(StoreError::NotFound)
            }
            Err(TxError::Cancelled(flags)) if flags.get(1) == Some(&true) => {
                let stored = self
                    .get_order(&order.tenant, order.id)
                    .await?
                    .ok_or_else(|| StoreError::Busy("order changed hands; retry".into()))?;
                Ok(Created::Replayed(stored))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn get_order(&self, tenant: &TenantId, id: OrderId) -> StoreResult<Option<Order>> {
        self.get_body(
            subject_pk(tenant, Subject::Order(id)),
            record_sk(SubjectKind::Order),
        )
        .await
    }

    async fn update_order(
        &self,
        order: &Order,
        expected_version: u64,
        moves: &[StockMove],
        demand: &[DemandPoint],
        events: &[DomainEvent],
    ) -> StoreResult<()> {
        let table = self.table().to_owned();
        let (item, copy) = order_items(order)?;
        let mut items = vec![
            self.versioned_put(item, order.version, expected_version)?,
            put(&table, copy, None, &[]),
        ];
        items.extend(moves.iter().map(|m| move_item(&table, &order.tenant, m)));
        items.extend(demand_items(&table, &order.tenant, demand));
        items.extend(events_items(&table, events)?);
        match self.transact(items).await {
            Ok(()) => Ok(()),
            Err(TxError::Cancelled(flags)) if flags.first() == Some(&true) => Err(self
                .version_failure(&order.tenant, Subject::Order(order.id), expected_version)
                .await),
            Err(TxError::Cancelled(flags)) => {
                let failed = flags
                    .iter()
                    .skip(2)
                    .take(moves.len())
                    .position(|f| *f)
                    .map(|i| &moves[i]);
                match failed {
                    Some(m) if m.effect == StockEffect::Reserve => Err(StoreError::OutOfStock {
                        sku: m.sku.to_string(),
                        location: m.location.to_string(),
                    }),
                    Some(m) => Err(StoreError::corrupt_msg(format!(
                        "no stock row for {} at {}",
                        m.sku, m.location
                    ))),
                    None => Err(StoreError::from(TxError::Cancelled(flags))),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn customer_orders(
        &self,
        tenant: &TenantId,
        customer: CustomerId,
    ) -> StoreResult<Vec<Order>> {
        let values = [
            (":p", s(customer_pk(tenant, customer))),
            (":o", s("ORDER#")),
        ];
        self.query_bodies(
            Query::table("pk = :p AND begins_with(sk, :o)", &values),
            usize::MAX,
        )
        .await
    }

    async fn list_orders(&self, tenant: &TenantId, query: &OrderQuery) -> StoreResult<Page<Order>> {
        let t = tenant_pk(tenant);
        let (index, pk_name, sk_name, partition) = match &query.scope {
            LeadScope::Pool => {
                return Ok(Page {
                    items: Vec::new(),
                    next: None,
                });
            }
            LeadScope::Owner(user) => (GSI2, GSI2_PK, GSI2_SK, format!("{t}#ORDEROWNER#{user}")),
            LeadScope::Team(team) => (GSI3, GSI3_PK, GSI3_SK, format!("{t}#ORDERTEAM#{team}")),
            LeadScope::Tenant => (GSI1, GSI1_PK, GSI1_SK, format!("{t}#ORDERS")),
        };
        let mut values: Vec<(&str, AttributeValue)> = vec![(":p", s(partition))];
        let key_condition = newest_first_key(pk_name, sk_name, query.after.as_ref(), &mut values);
        let mut filters = Vec::new();
        if let Some(status) = query.status {
            filters.push("order_status = :status");
            values.push((":status", s(status.as_str())));
        }
        if let Some(customer) = query.customer {
            filters.push("customer_id = :customer");
            values.push((":customer", s(customer.to_string())));
        }
        let filter = filters.join(" AND ");
        let limit = page_limit(query.limit) as usize;
        let mut q = Query::index(index, &key_condition, &values).newest_first();
        if !filter.is_empty() {
            q = q.filter(&filter);
        }
        let items = self.query(q, limit + 1).await?;
        let orders: Vec<Order> = items.iter().map(body).collect::<StoreResult<_>>()?;
        Ok(Page::from_overfetched(orders, limit))
    }

    async fn put_location(&self, location: &Location) -> StoreResult<()> {
        let item = ItemBuilder::new(
            format!("{}#LOCATIONS", tenant_pk(&location.tenant)),
            location.code.as_str(),
        )
        .body(location)?
        .s(ENTITY, "location")
        .build();
        self.transact(vec![put(self.table(), item, None, &[])])
            .await
            .map_err(StoreError::from)
    }

    async fn list_locations(&self, tenant: &TenantId) -> StoreResult<Vec<Location>> {
        let values = [(":p", s(format!("{}#LOCATIONS", tenant_pk(tenant))))];
        self.query_bodies(Query::table("pk = :p", &values), usize::MAX)
            .await
    }

    async fn list_stock(&self, tenant: &TenantId) -> StoreResult<Vec<StockLevel>> {
        let values = [(":p", s(format!("{}#STOCK", tenant_pk(tenant))))];
        let items = self
            .query(Query::index(GSI1, "gsi1pk = :p", &values), usize::MAX)
            .await?;
        items.iter().map(level_of).collect()
    }

    async fn get_breaker(
        &self,
        tenant: &TenantId,
        sku: &Code,
        location: &Code,
    ) -> StoreResult<Option<Breaker>> {
        self.get_body(breakers_pk(tenant), format!("{sku}#{location}"))
            .await
    }

    async fn list_breakers(&self, tenant: &TenantId) -> StoreResult<Vec<Breaker>> {
        let values = [(":p", s(breakers_pk(tenant)))];
        self.query_bodies(Query::table("pk = :p", &values), usize::MAX)
            .await
    }

    async fn save_breaker(&self, breaker: &Breaker, expected_version: u64) -> StoreResult<()> {
        StoreError::check_advances(breaker.version, expected_version)?;
        let item = ItemBuilder::new(
            breakers_pk(&breaker.tenant),
            format!("{}#{}", breaker.sku, breaker.location),
        )
        .body(breaker)?
        .s(ENTITY, "breaker")
        .n("version", breaker.version as i64)
        .build();
        let entry = if expected_version == 0 {
            put_new(self.table(), item)
        } else {
            put(
                self.table(),
                item,
                Some("version = :e"),
                &[(":e", n(expected_version as i64))],
            )
        };
        match self.transact(vec![entry]).await {
            Ok(()) => Ok(()),
            Err(TxError::Cancelled(_)) => {
                let actual = self
                    .get_breaker(&breaker.tenant, &breaker.sku, &breaker.location)
                    .await?
                    .map_or(0, |b| b.version);
                Err(StoreError::VersionConflict {
                    expected: expected_version,
                    actual,
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn put_estimate(&self, estimate: &DemandEstimate) -> StoreResult<()> {
        let item = ItemBuilder::new(
            estimates_pk(&estimate.tenant),
            format!(
                "{}#{}#{}#{}",
                estimate.week, estimate.sku, estimate.region, estimate.by
            ),
        )
        .body(estimate)?
        .s(ENTITY, "demand_estimate")
        .build();
        self.transact(vec![put(self.table(), item, None, &[])])
            .await
            .map_err(StoreError::from)
    }

    async fn demand_history(
        &self,
        tenant: &TenantId,
        since: NaiveDate,
        sku: Option<&Code>,
    ) -> StoreResult<Vec<DemandPoint>> {
        let shards: Vec<u32> = match sku {
            Some(code) => vec![demand_shard(code)],
            None => (0..DEMAND_SHARDS).collect(),
        };
        let mut out = Vec::new();
        for shard in shards {
            for item in &self.weeks_since(demand_pk(tenant, shard), since).await? {
                demand_points(item, sku, &mut out)?;
            }
        }
        out.sort_by(|a, b| (&a.sku, &a.region, a.day).cmp(&(&b.sku, &b.region, b.day)));
        Ok(out)
    }

    /// Deletes every history and total item before `before` (100 to a transaction), then
    /// adds the points in transactions of at most 40 points (40 item updates and 40 week
    /// totals).
    async fn replace_demand_history(
        &self,
        tenant: &TenantId,
        before: NaiveDate,
        points: &[DemandPoint],
    ) -> StoreResult<()> {
        for shard in 0..DEMAND_SHARDS {
            for pk in [demand_pk(tenant, shard), demand_total_pk(tenant, shard)] {
                let deletes: Vec<TransactWriteItem> = self
                    .weeks_before(pk.clone(), before)
                    .await?
                    .iter()
                    .map(|item| {
                        let sk = string_attr(item, "sk").unwrap_or_default();
                        delete(self.table(), key(pk.clone(), sk), None, &[])
                    })
                    .collect();
                for chunk in deletes.chunks(100) {
                    self.transact(chunk.to_vec())
                        .await
                        .map_err(StoreError::from)?;
                }
            }
        }
        let mut kept: Vec<DemandPoint> = points
            .iter()
            .filter(|p| p.day < before && p.quantity > 0)
            .cloned()
            .collect();
        kept.sort_by(|a, b| {
            (demand_shard(&a.sku), a.day, &a.region, &a.sku).cmp(&(
                demand_shard(&b.sku),
                b.day,
                &b.region,
                &b.sku,
            ))
        });
        for chunk in kept.chunks(40) {
            self.transact(demand_items(self.table(), tenant, chunk))
                .await
                .map_err(StoreError::from)?;
        }
        Ok(())
    }

    async fn demand_totals(
        &self,
        tenant: &TenantId,
        since: NaiveDate,
    ) -> StoreResult<Vec<(NaiveDate, u64)>> {
        let mut totals: BTreeMap<NaiveDate, u64> = BTreeMap::new();
        for shard in 0..DEMAND_SHARDS {
            for item in &self
                .weeks_since(demand_total_pk(tenant, shard), since)
                .await?
            {
                let week: NaiveDate = string_attr(item, "sk")
                    .unwrap_or_default()
                    .parse()
                    .map_err(|e| StoreError::corrupt("demand total week", e))?;
                *totals.entry(week).or_default() +=
                    number_attr(item, "q").unwrap_or(0).max(0) as u64;
            }
        }
        Ok(totals.into_iter().collect())
    }

    async fn estimates_since(
        &self,
        tenant: &TenantId,
        since: NaiveDate,
    ) -> StoreResult<Vec<DemandEstimate>> {
        let values = [
            (":p", s(estimates_pk(tenant))),
            (":w", s(since.to_string())),
        ];
        self.query_bodies(Query::table("pk = :p AND sk >= :w", &values), usize::MAX)
            .await
    }
}

impl DynamoStore {
    /// Every item of a weekly partition (sort key starting with the week) before `before`.
    async fn weeks_before(
        &self,
        pk: String,
        before: NaiveDate,
    ) -> StoreResult<Vec<crate::table::Item>> {
        let values = [(":p", s(pk)), (":w", s(before.to_string()))];
        self.query(Query::table("pk = :p AND sk < :w", &values), usize::MAX)
            .await
    }

    /// Every item of a weekly partition (sort key starting with the week) from `since` on.
    async fn weeks_since(
        &self,
        pk: String,
        since: NaiveDate,
    ) -> StoreResult<Vec<crate::table::Item>> {
        let values = [(":p", s(pk)), (":w", s(since.to_string()))];
        self.query(Query::table("pk = :p AND sk >= :w", &values), usize::MAX)
            .await
    }
}

/// Reps' demand estimates of a tenant, sorted by week (`{week}#{sku}#{region}#{rep}`).
fn estimates_pk(tenant: &TenantId) -> String {
    format!("{}#ESTIMATES", tenant_pk(tenant))
}
