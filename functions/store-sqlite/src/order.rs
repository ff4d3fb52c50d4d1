//! Orders, the catalogue and stock on SQLite. A reservation is one conditional UPDATE
//! (`on_hand - reserved >= quantity`) inside the order's write transaction; SQLite's single
//! writer makes "check and take" one step, so the last units go to exactly one order.

use crate::customer::require_customer;
use crate::deal::scope_clause;
use crate::events::insert_events;
use crate::{
    SqliteStore, newest_first_page, query_bodies, query_body, sql_err, stale_write, to_json,
};
use async_trait::async_trait;
use chrono::NaiveDate;
use fieldline_domain::demand::{DemandEstimate, DemandPoint};
use fieldline_domain::order::{Code, Order, Sku, StockCount, StockEffect, StockLevel, StockMove};
use fieldline_domain::stock::{Breaker, Location};
use fieldline_domain::{CustomerId, DomainEvent, OrderId, Subject, TenantId};
use fieldline_store::error::{StoreError, StoreResult};
use fieldline_store::ports::{Created, OrderQuery, OrderStore, Page};
use rusqlite::types::Value;
use rusqlite::{Transaction, params, params_from_iter};

/// Adds demand to the weekly history (`demand_weeks`), one upsert per point.
pub fn add_demand(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    demand: &[DemandPoint],
) -> StoreResult<()> {
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO demand_weeks (tenant_id, sku, region, week, quantity)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (tenant_id, sku, region, week)
             DO UPDATE SET quantity = quantity + excluded.quantity",
        )
        .map_err(sql_err)?;
    for p in demand {
        stmt.execute(params![
            tenant.as_str(),
            p.sku.as_str(),
            p.region.as_str(),
            p.day.to_string(),
            p.quantity as i64
        ])
        .map_err(sql_err)?;
    }
    Ok(())
}

/// Builds the weekly demand history (V20) from the orders stored before it: every submitted
/// order's lines in its tenant's zone, read one row at a time (a tenant may have millions).
/// A moved order counts at its current warehouse: where it was submitted is not kept.
pub(crate) fn backfill_demand(tx: &Transaction<'_>) -> StoreResult<()> {
    // Only the zone is read from a tenant: bodies written by older versions need not decode.
    let tenants: Vec<serde_json::Value> = query_bodies(tx, "SELECT body FROM tenants", [])?;
    let zones: std::collections::HashMap<String, chrono_tz::Tz> = tenants
        .iter()
        .filter_map(|t| {
            let zone = t["time_zone"].as_str()?.parse().ok()?;
            Some((t["id"].as_str()?.to_owned(), zone))
        })
        .collect();
    let mut stmt = tx
        .prepare("SELECT tenant_id, body FROM orders WHERE status <> 'draft'")
        .map_err(sql_err)?;
    let mut rows = stmt.query([]).map_err(sql_err)?;
    while let Some(row) = rows.next().map_err(sql_err)? {
        let tenant: String = row.get(0).map_err(sql_err)?;
        let body = row.get_ref(1).map_err(sql_err)?;
        let text = body
            .as_str()
            .map_err(|e| StoreError::corrupt("order body", e))?;
        let order: Order =
            serde_json::from_str(text).map_err(|e| StoreError::corrupt("order", e))?;
        let zone = zones
            .get(&tenant)
            .copied()
            .unwrap_or(chrono_tz::Asia::Shanghai);
        add_demand(
            tx,
            &order.tenant,
            &fieldline_domain::demand::order_demand(&order, zone),
        )?;
    }
    Ok(())
}

/// Applies one stock move; `OutOfStock` when a reservation does not fit (the caller's
/// transaction then rolls back every earlier move).
fn apply_move(tx: &Transaction<'_>, tenant: &TenantId, m: &StockMove) -> StoreResult<()> {
    let (t, sku, loc, q) = (
        tenant.as_str(),
        m.sku.as_str(),
        m.location.as_str(),
        m.quantity as i64,
    );
    let run = |sql: &str, args: &[&dyn rusqlite::ToSql]| {
        tx.prepare_cached(sql)
            .and_then(|mut s| s.execute(args))
            .map_err(sql_err)
    };
    let changed = match m.effect {
        StockEffect::Reserve => run(
            "UPDATE stock SET reserved = reserved + ?4
             WHERE tenant_id = ?1 AND sku = ?2 AND location = ?3 AND on_hand - reserved >= ?5",
            &[&t, &sku, &loc, &q, &m.needed()],
        )?,
        StockEffect::Release => run(
            "UPDATE stock SET reserved = max(reserved - ?4, 0)
             WHERE tenant_id = ?1 AND sku = ?2 AND location = ?3",
            &[&t, &sku, &loc, &q],
        )?,
        StockEffect::Consume => run(
            "UPDATE stock SET reserved = max(reserved - ?4, 0), on_hand = on_hand - ?4
             WHERE tenant_id = ?1 AND sku = ?2 AND location = ?3",
            &[&t, &sku, &loc, &q],
        )?,
    };
    if changed == 0 && m.effect == StockEffect::Reserve {
        return Err(StoreError::OutOfStock {
            sku: m.sku.to_string(),
            location: m.location.to_string(),
        });
    }
    Ok(())
}

/// Writes a new order row (no customer check, no events): the store's create and bulk loads.
pub fn insert_order(tx: &Transaction<'_>, order: &Order) -> StoreResult<()> {
    tx.prepare_cached(
        "INSERT INTO orders (tenant_id, id, customer_id, owner_id, team_id, status,
                             updated_at, version, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )
    .and_then(|mut s| {
        s.execute(params![
            order.tenant.as_str(),
            order.id.to_string(),
            order.customer.to_string(),
            order.owner.to_string(),
            order.team.map(|t| t.to_string()),
            order.status.as_str(),
            order.updated_at.timestamp_millis(),
            order.version as i64,
            to_json(order).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?
        ])
    })
    .map_err(sql_err)?;
    Ok(())
}

/// Writes a catalogue entry (create or replace).
pub fn upsert_sku(tx: &Transaction<'_>, sku: &Sku) -> StoreResult<()> {
    tx.prepare_cached(
        "INSERT INTO skus (tenant_id, code, body) VALUES (?1, ?2, ?3)
         ON CONFLICT (tenant_id, code) DO UPDATE SET body = excluded.body",
    )
    .and_then(|mut s| {
        s.execute(params![
            sku.tenant.as_str(),
            sku.code.as_str(),
            to_json(sku).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?
        ])
    })
    .map_err(sql_err)?;
    Ok(())
}

/// Sets one stock row's on-hand count, keeping its reservations.
pub fn set_count(tx: &Transaction<'_>, tenant: &TenantId, c: &StockCount) -> StoreResult<()> {
    tx.prepare_cached(
        "INSERT INTO stock (tenant_id, sku, location, on_hand, reserved)
         VALUES (?1, ?2, ?3, ?4, 0)
         ON CONFLICT (tenant_id, sku, location) DO UPDATE SET on_hand = excluded.on_hand",
    )
    .and_then(|mut s| {
        s.execute(params![
            tenant.as_str(),
            c.sku.as_str(),
            c.location.as_str(),
            c.on_hand as i64
        ])
    })
    .map_err(sql_err)?;
    Ok(())
}

#[async_trait]
impl OrderStore for SqliteStore {
    async fn put_sku(&self, sku: &Sku) -> StoreResult<()> {
        let sku = sku.clone();
        self.write(move |tx| upsert_sku(tx, &sku)).await
    }

    async fn put_skus(&self, skus: &[Sku]) -> StoreResult<()> {
        let skus = skus.to_vec();
        self.write(move |tx| {
            for sku in &skus {
                upsert_sku(tx, sku)?;
            }
            Ok(())
        })
        .await
    }

    async fn get_skus(&self, tenant: &TenantId, codes: &[Code]) -> StoreResult<Vec<Sku>> {
        let (tenant, codes) = (tenant.clone(), codes.to_vec());
        self.read(move |conn| {
            let mut out = Vec::with_capacity(codes.len());
            for code in &codes {
                if let Some(sku) = query_body::<Sku>(
                    conn,
                    "SELECT body FROM skus WHERE tenant_id = ?1 AND code = ?2",
                    params![tenant.as_str(), code.as_str()],
                )? {
                    out.push(sku);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn list_skus(
        &self,
        tenant: &TenantId,
        after: Option<&Code>,
        limit: u32,
    ) -> StoreResult<Vec<Sku>> {
        let (tenant, after) = (tenant.clone(), after.map(|c| c.as_str().to_owned()));
        let limit = fieldline_store::page_limit(limit);
        self.read(move |conn| {
            query_bodies(
                conn,
                "SELECT body FROM skus WHERE tenant_id = ?1 AND (?2 IS NULL OR code > ?2)
                 ORDER BY code LIMIT ?3",
                params![tenant.as_str(), after, limit],
            )
        })
        .await
    }

    async fn set_stock(&self, tenant: &TenantId, counts: &[StockCount]) -> StoreResult<()> {
        let (tenant, counts) = (tenant.clone(), counts.to_vec());
        self.write(move |tx| {
            for c in &counts {
                set_count(tx, &tenant, c)?;
            }
            Ok(())
        })
        .await
    }

    async fn stock_of(&self, tenant: &TenantId, sku: &Code) -> StoreResult<Vec<StockLevel>> {
        let (tenant, sku) = (tenant.clone(), sku.clone());
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT location, on_hand, reserved FROM stock
                     WHERE tenant_id = ?1 AND sku = ?2 ORDER BY location",
                )
                .map_err(sql_err)?;
            let rows = stmt
                .query_map(params![tenant.as_str(), sku.as_str()], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                })
                .map_err(sql_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(sql_err)?;
            rows.into_iter()
                .map(|(location, on_hand, reserved)| {
                    Ok(StockLevel {
                        sku: sku.clone(),
                        location: Code::parse(&location, "location")
                            .map_err(|e| StoreError::corrupt("stock location", e))?,
                        on_hand,
                        reserved,
                        available: on_hand - reserved,
                    })
                })
                .collect()
        })
        .await
    }

    async fn create_order(
        &self,
        order: &Order,
        demand: &[DemandPoint],
        events: &[DomainEvent],
    ) -> StoreResult<Created<Order>> {
        let (order, demand, events) = (order.clone(), demand.to_vec(), events.to_vec());
        self.write(move |tx| {
            let (t, id) = (order.tenant.as_str(), order.id.to_string());
            if let Some(stored) = query_body::<Order>(
                tx,
                "SELECT body FROM orders WHERE tenant_id = ?1 AND id = ?2",
                params![t, id],
            )? {
                return Ok(Created::Replayed(stored));
            }
            require_customer(tx, &order.tenant, order.customer)?;
            insert_order(tx, &order)?;
            add_demand(tx, &order.tenant, &demand)?;
            insert_events(tx, &events)?;
            Ok(Created::New(order))
        })
        .await
    }

    async fn get_order(&self, tenant: &TenantId, id: OrderId) -> StoreResult<Option<Order>> {
        let (t, id) = (tenant.as_str().to_owned(), id.to_string());
        self.read(move |conn| {
            query_body(
                conn,
                "SELECT body FROM orders WHERE tenant_id = ?1 AND id = ?2",
                params![t, id],
            )
        })
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
        StoreError::check_advances(order.version, expected_version)?;
        let (order, moves, demand, events) = (
            order.clone(),
            moves.to_vec(),
            demand.to_vec(),
            events.to_vec(),
        );
        self.write(move |tx| {
            let (t, id) = (order.tenant.as_str(), order.id.to_string());
            let body = to_json(&order)?;
            let changed = tx
                .prepare_cached(
                    "UPDATE orders SET status = ?1, updated_at = ?2, version = ?3, body = ?4,
                                       owner_id = ?5, team_id = ?6
                     WHERE tenant_id = ?7 AND id = ?8 AND version = ?9",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        order.status.as_str(),
                        order.updated_at.timestamp_millis(),
                        order.version as i64,
                        body,
                        order.owner.to_string(),
                        order.team.map(|t| t.to_string()),
                        t,
                        id,
                        expected_version as i64
                    ])
                })
                .map_err(sql_err)?;
            if changed == 0 {
                return Err(stale_write(
                    tx,
                    &order.tenant,
                    Subject::Order(order.id),
                    expected_version,
                ));
            }
            for m in &moves {
                apply_move(tx, &order.tenant, m)?;
            }
            add_demand(tx, &order.tenant, &demand)?;
            insert_events(tx, &events)?;
            Ok(())
        })
        .await
    }

    async fn customer_orders(
        &self,
        tenant: &TenantId,
        customer: CustomerId,
    ) -> StoreResult<Vec<Order>> {
        let (t, c) = (tenant.as_str().to_owned(), customer.to_string());
        self.read(move |conn| {
            query_bodies(
                conn,
                "SELECT body FROM orders WHERE tenant_id = ?1 AND customer_id = ?2",
                params![t, c],
            )
        })
        .await
    }

    async fn list_orders(&self, tenant: &TenantId, query: &OrderQuery) -> StoreResult<Page<Order>> {
        let mut sql = String::from("SELECT body FROM orders WHERE tenant_id = ?");
        let mut args: Vec<Value> = vec![Value::Text(tenant.as_str().to_owned())];
        let (clause, value) = scope_clause(&query.scope);
        sql.push_str(clause);
        args.extend(value);
        if let Some(status) = query.status {
            sql.push_str(" AND status = ?");
            args.push(Value::Text(status.as_str().to_owned()));
        }
        if let Some(customer) = query.customer {
            sql.push_str(" AND customer_id = ?");
            args.push(Value::Text(customer.to_string()));
        }
        let limit = newest_first_page(&mut sql, &mut args, query.after.as_ref(), query.limit);
        self.read(move |conn| {
            let items: Vec<Order> = query_bodies(conn, &sql, params_from_iter(args))?;
            Ok(Page::from_overfetched(items, limit as usize))
        })
        .await
    }

    async fn put_location(&self, location: &Location) -> StoreResult<()> {
        let location = location.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO locations (tenant_id, code, body) VALUES (?1, ?2, ?3)
                 ON CONFLICT (tenant_id, code) DO UPDATE SET body = excluded.body",
                params![
                    location.tenant.as_str(),
                    location.code.as_str(),
                    to_json(&location)?
                ],
            )
            .map_err(sql_err)?;
            Ok(())
        })
        .await
    }

    async fn list_locations(&self, tenant: &TenantId) -> StoreResult<Vec<Location>> {
        let t = tenant.as_str().to_owned();
        self.read(move |conn| {
            query_bodies(
                conn,
                "SELECT body FROM locations WHERE tenant_id = ?1 ORDER BY code",
                params![t],
            )
        })
        .await
    }

    async fn list_stock(&self, tenant: &TenantId) -> StoreResult<Vec<StockLevel>> {
        let t = tenant.as_str().to_owned();
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT sku, location, on_hand, reserved FROM stock
                     WHERE tenant_id = ?1 ORDER BY sku, location",
                )
                .map_err(sql_err)?;
            let rows = stmt
                .query_map(params![t], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, i64>(3)?,
                    ))
                })
                .map_err(sql_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(sql_err)?;
            rows.into_iter()
                .map(|(sku, location, on_hand, reserved)| {
                    let code = |raw: &str| {
                        Code::parse(raw, "stock").map_err(|e| StoreError::corrupt("stock row", e))
                    };
                    Ok(StockLevel {
                        sku: code(&sku)?,
                        location: code(&location)?,
                        on_hand,
                        reserved,
                        available: on_hand - reserved,
                    })
                })
                .collect()
        })
        .await
    }

    async fn get_breaker(
        &self,
        tenant: &TenantId,
        sku: &Code,
        location: &Code,
    ) -> StoreResult<Option<Breaker>> {
        let (t, sku, location) = (
            tenant.as_str().to_owned(),
            sku.as_str().to_owned(),
            location.as_str().to_owned(),
        );
        self.read(move |conn| {
            query_body(
                conn,
                "SELECT body FROM breakers WHERE tenant_id = ?1 AND sku = ?2 AND location = ?3",
                params![t, sku, location],
            )
        })
        .await
    }

    async fn list_breakers(&self, tenant: &TenantId) -> StoreResult<Vec<Breaker>> {
        let t = tenant.as_str().to_owned();
        self.read(move |conn| {
            query_bodies(
                conn,
                "SELECT body FROM breakers WHERE tenant_id = ?1 ORDER BY sku, location",
                params![t],
            )
        })
        .await
    }

    async fn save_breaker(&self, breaker: &Breaker, expected_version: u64) -> StoreResult<()> {
        StoreError::check_advances(breaker.version, expected_version)?;
        let breaker = breaker.clone();
        self.write(move |tx| {
            let (t, sku, loc) = (
                breaker.tenant.as_str(),
                breaker.sku.as_str(),
                breaker.location.as_str(),
            );
            let body = to_json(&breaker)?;
            let changed = if expected_version == 0 {
                tx.execute(
                    "INSERT OR IGNORE INTO breakers (tenant_id, sku, location, version, body)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![t, sku, loc, breaker.version as i64, body],
                )
            } else {
                tx.execute(
                    "UPDATE breakers SET version = ?4, body = ?5
                     WHERE tenant_id = ?1 AND sku = ?2 AND location = ?3 AND version = ?6",
                    params![
                        t,
                        sku,
                        loc,
                        breaker.version as i64,
                        body,
                        expected_version as i64
                    ],
                )
            }
            .map_err(sql_err)?;
            if changed == 0 {
                let actual: i64 = tx
                    .query_row(
                        "SELECT coalesce(max(version), 0) FROM breakers
                         WHERE tenant_id = ?1 AND sku = ?2 AND location = ?3",
                        params![t, sku, loc],
                        |r| r.get(0),
                    )
                    .map_err(sql_err)?;
                return Err(StoreError::VersionConflict {
                    expected: expected_version,
                    actual: actual as u64,
                });
            }
            Ok(())
        })
        .await
    }

    async fn put_estimate(&self, estimate: &DemandEstimate) -> StoreResult<()> {
        let e = estimate.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO demand_estimates (tenant_id, week, sku, region, by_user, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (tenant_id, week, sku, region, by_user)
                 DO UPDATE SET body = excluded.body",
                params![
                    e.tenant.as_str(),
                    e.week.to_string(),
                    e.sku.as_str(),
                    e.region.as_str(),
                    e.by.to_string(),
                    to_json(&e)?
                ],
            )
            .map_err(sql_err)?;
            Ok(())
        })
        .await
    }

    async fn demand_history(
        &self,
        tenant: &TenantId,
        since: NaiveDate,
        sku: Option<&Code>,
    ) -> StoreResult<Vec<DemandPoint>> {
        let (t, since) = (tenant.as_str().to_owned(), since.to_string());
        let sku = sku.map(|c| c.as_str().to_owned());
        self.read(move |conn| {
            // Two statements, not `(?3 IS NULL OR sku = ?3)`: the planner cannot seek the
            // primary key (tenant, sku, …) by a parameter that may be NULL.
            let mut stmt = conn
                .prepare_cached(if sku.is_some() {
                    "SELECT sku, region, week, quantity FROM demand_weeks
                     WHERE tenant_id = ?1 AND sku = ?3 AND week >= ?2 AND quantity > 0
                     ORDER BY region, week"
                } else {
                    "SELECT sku, region, week, quantity FROM demand_weeks
                     WHERE tenant_id = ?1 AND week >= ?2 AND quantity > 0 AND ?3 IS NULL
                     ORDER BY sku, region, week"
                })
                .map_err(sql_err)?;
            let rows = stmt
                .query_map(params![t, since, sku], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i64>(3)?,
                    ))
                })
                .map_err(sql_err)?;
            let mut out = Vec::new();
            for row in rows {
                let (sku, region, week, quantity) = row.map_err(sql_err)?;
                let corrupt = |e| StoreError::corrupt("demand history row", e);
                out.push(DemandPoint {
                    day: week
                        .parse()
                        .map_err(|e| StoreError::corrupt("demand history week", e))?,
                    sku: Code::parse(&sku, "sku").map_err(corrupt)?,
                    region: Code::parse(&region, "region").map_err(corrupt)?,
                    quantity: quantity as u64,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn replace_demand_history(
        &self,
        tenant: &TenantId,
        before: NaiveDate,
        points: &[DemandPoint],
    ) -> StoreResult<()> {
        let tenant = tenant.clone();
        let points: Vec<DemandPoint> = points.iter().filter(|p| p.day < before).cloned().collect();
        self.write(move |tx| {
            tx.execute(
                "DELETE FROM demand_weeks WHERE tenant_id = ?1 AND week < ?2",
                params![tenant.as_str(), before.to_string()],
            )
            .map_err(sql_err)?;
            add_demand(tx, &tenant, &points)
        })
        .await
    }

    async fn demand_totals(
        &self,
        tenant: &TenantId,
        since: NaiveDate,
    ) -> StoreResult<Vec<(NaiveDate, u64)>> {
        let (t, since) = (tenant.as_str().to_owned(), since.to_string());
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT week, SUM(quantity) FROM demand_weeks
                     WHERE tenant_id = ?1 AND week >= ?2
                     GROUP BY week ORDER BY week",
                )
                .map_err(sql_err)?;
            let rows = stmt
                .query_map(params![t, since], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
                })
                .map_err(sql_err)?;
            let mut out = Vec::new();
            for row in rows {
                let (week, quantity) = row.map_err(sql_err)?;
                let week = week
                    .parse()
                    .map_err(|e| StoreError::corrupt("demand history week", e))?;
                out.push((week, quantity.max(0) as u64));
            }
            Ok(out)
        })
        .await
    }

    async fn estimates_since(
        &self,
        tenant: &TenantId,
        since: NaiveDate,
    ) -> StoreResult<Vec<DemandEstimate>> {
        let (t, since) = (tenant.as_str().to_owned(), since.to_string());
        self.read(move |conn| {
            query_bodies(
                conn,
                "SELECT body FROM demand_estimates WHERE tenant_id = ?1 AND week >= ?2
                 ORDER BY week, sku, region",
                params![t, since],
            )
        })
        .await
    }
}
