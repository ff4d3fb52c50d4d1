//! The order store's contract: the catalogue pages by code; stock counts keep reservations;
//! an order write, its stock moves and its demand commit together or not at all; 200 orders
//! racing for the last 50 units take exactly 50 (and add exactly 50 to the demand history);
//! stale writes are refused; orders are found by customer and listed per scope.

use super::Backend;
use super::fixture::{actor_of, fixture, t0};
use crate::{OrderQuery, StoreError};
use fieldline_domain::demand::{DemandPoint, order_demand};
use fieldline_domain::order::{
    Code, LineInput, MAX_ORDER_LINES, NewOrder, Order, OrderPolicy, OrderStatus, PaymentTerms, Sku,
    SkuInput, StockCount, StockEffect,
};
use fieldline_domain::*;

fn code(raw: &str) -> Code {
    Code::parse(raw, "code").unwrap()
}

fn sku(tenant: &TenantId, c: &str) -> Sku {
    Sku::new(
        tenant,
        code(c),
        &SkuInput {
            name: format!("润滑油 {c}"),
            unit_price: 12_800,
            floor_price: 10_000,
            currency: "CNY".into(),
            safety_stock: 5,
        },
        t0(),
    )
    .unwrap()
}

fn draft(
    f: &super::Fixture<impl Backend>,
    customer: CustomerId,
    skus: &[Sku],
    lines: &[(&str, u64)],
) -> Order {
    let input = NewOrder {
        customer,
        channel: "direct".into(),
        location: code("WH-1"),
        lines: lines
            .iter()
            .map(|(s, q)| LineInput {
                sku: code(s),
                quantity: *q,
                unit_price: None,
                discount_percent: 0,
            })
            .collect(),
        payment_terms: PaymentTerms::Net { days: 30 },
        delivery_address: "上海市浦东新区张江路 1 号".into(),
    };
    Order::draft(
        &input,
        OrderId::new(),
        &f.tenant,
        (f.rep.id, f.rep.team),
        skus,
        t0(),
    )
    .unwrap()
}

/// A stored customer of the fixture's rep.
async fn buyer<S: Backend>(f: &super::Fixture<S>, name: &str, kind: CustomerKind) -> Customer {
    let input = NewCustomer {
        name: name.into(),
        kind,
        owner: None,
        addresses: vec![],
        tags: vec![],
        contacts: vec![],
    };
    let buyer =
        Customer::create(&input, CustomerId::new(), &actor_of(&f.rep), &f.rep, t0()).unwrap();
    f.store.create_customer(&buyer, &[], &[]).await.unwrap();
    buyer
}

async fn level<S: Backend>(store: &S, tenant: &TenantId, s: &str) -> (i64, i64, i64) {
    let rows = store.stock_of(tenant, &code(s)).await.unwrap();
    let row = rows.iter().find(|r| r.location.as_str() == "WH-1").unwrap();
    (row.on_hand, row.reserved, row.available)
}

/// `(week, region, quantity)` of one SKU's demand history, from the start.
async fn demand_of<S: Backend>(
    store: &S,
    tenant: &TenantId,
    s: &str,
) -> Vec<(chrono::NaiveDate, String, u64)> {
    let since = chrono::NaiveDate::from_ymd_opt(2000, 1, 3).unwrap();
    store
        .demand_history(tenant, since, Some(&code(s)))
        .await
        .unwrap()
        .into_iter()
        .map(|p| (p.day, p.region.to_string(), p.quantity))
        .collect()
}

pub async fn orders_reserve_stock_atomically_and_never_oversell<S: Backend>(store: S) {
    let f = fixture(store).await;
    let t = &f.tenant;
    let buyer = buyer(&f, "苏州精密机械有限公司", CustomerKind::Enterprise).await;

    // The catalogue pages by code.
    let skus: Vec<Sku> = ["A", "B", "C"].iter().map(|c| sku(t, c)).collect();
    f.store.put_skus(&skus[..2]).await.unwrap();
    f.store.put_sku(&skus[2]).await.unwrap();
    let first = f.store.list_skus(t, None, 2).await.unwrap();
    assert_eq!(
        first.iter().map(|s| s.code.as_str()).collect::<Vec<_>>(),
        ["A", "B"]
    );
    let rest = f.store.list_skus(t, Some(&code("B")), 2).await.unwrap();
    assert_eq!(rest.len(), 1);
    let found = f.store.get_skus(t, &[code("C"), code("Z")]).await.unwrap();
    assert_eq!(found.len(), 1, "unknown codes are left out");

    f.store
        .set_stock(
            t,
            &[
                StockCount {
                    sku: code("A"),
                    location: code("WH-1"),
                    on_hand: 50,
                },
                StockCount {
                    sku: code("B"),
                    location: code("WH-1"),
                    on_hand: 5,
                },
            ],
        )
        .await
        .unwrap();

    // A draft is created once; a retry answers the stored one; an unknown customer refuses.
    let mut order = draft(&f, buyer.id, &skus, &[("A", 3), ("B", 10)]);
    assert!(matches!(
        f.store.create_order(&order, &[], &[]).await.unwrap(),
        crate::Created::New(_)
    ));
    assert!(matches!(
        f.store.create_order(&order, &[], &[]).await.unwrap(),
        crate::Created::Replayed(_)
    ));
    let stray = draft(&f, CustomerId::new(), &skus, &[("A", 1)]);
    assert!(matches!(
        f.store.create_order(&stray, &[], &[]).await,
        Err(StoreError::NotFound)
    ));

    // B does not fit: nothing is written, A's reservation included.
    let before = order.clone();
    order
        .submit(f.rep.id, None, &skus, &OrderPolicy::default(), t0())
        .unwrap();
    let reserve = order.stock_moves(StockEffect::Reserve);
    let demand = order_demand(&order, chrono_tz::UTC);
    match f
        .store
        .update_order(&order, before.version, &reserve, &demand, &[])
        .await
    {
        Err(StoreError::OutOfStock { sku, location }) => {
            assert_eq!((sku.as_str(), location.as_str()), ("B", "WH-1"));
        }
        other => panic!("expected OutOfStock, got {other:?}"),
    }
    assert_eq!(level(&f.store, t, "A").await, (50, 0, 50));
    let stored = f.store.get_order(t, order.id).await.unwrap().unwrap();
    assert_eq!(stored, before, "the order is as it was");
    assert!(
        demand_of(&f.store, t, "A").await.is_empty(),
        "nor its demand"
    );

    // 200 orders race for A's 50 units, one each: exactly 50 get one.
    let racers: Vec<Order> = (0..200)
        .map(|_| draft(&f, buyer.id, &skus, &[("A", 1)]))
        .collect();
    for o in &racers {
        f.store.create_order(o, &[], &[]).await.unwrap();
    }
    let tasks: Vec<_> = racers
        .into_iter()
        .map(|mut o| {
            let store = f.store.clone();
            let skus = skus.clone();
            let by = f.rep.id;
            tokio::spawn(async move {
                let expected = o.version;
                o.submit(by, None, &skus, &OrderPolicy::default(), t0())
                    .unwrap();
                let moves = o.stock_moves(StockEffect::Reserve);
                let demand = order_demand(&o, chrono_tz::UTC);
                loop {
                    match store.update_order(&o, expected, &moves, &demand, &[]).await {
                        Ok(()) => return true,
                        Err(StoreError::OutOfStock { .. }) => return false,
                        // A backend too busy to decide is asked again, as a phone would.
                        Err(StoreError::Busy(_)) => continue,
                        Err(e) => panic!("unexpected {e:?}"),
                    }
                }
            })
        })
        .collect();
    let mut sold = 0;
    for task in tasks {
        if task.await.unwrap() {
            sold += 1;
        }
    }
    assert_eq!(sold, 50, "exactly the last 50 units are sold");
    assert_eq!(level(&f.store, t, "A").await, (50, 50, 0));
    let week = fieldline_domain::retail::Week::of(t0(), chrono_tz::UTC).monday();
    assert_eq!(
        demand_of(&f.store, t, "A").await,
        [(week, "WH-1".to_owned(), 50)],
        "the refused orders added no demand"
    );

    // A new count keeps what orders hold.
    f.store
        .set_stock(
            t,
            &[StockCount {
                sku: code("A"),
                location: code("WH-1"),
                on_hand: 80,
            }],
        )
        .await
        .unwrap();
    assert_eq!(level(&f.store, t, "A").await, (80, 50, 30));

    // Ship one (on hand and reserved fall), cancel another (reserved falls).
    let held: Vec<Order> = f
        .store
        .customer_orders(t, buyer.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|o| o.status == OrderStatus::ToShip)
        .collect();
    assert_eq!(held.len(), 50);
    let mut ship = held[0].clone();
    let v = ship.version;
    ship.ship(f.rep.id, t0()).unwrap();
    f.store
        .update_order(&ship, v, &ship.stock_moves(StockEffect::Consume), &[], &[])
        .await
        .unwrap();
    assert_eq!(level(&f.store, t, "A").await, (79, 49, 30));
    let mut cancel = held[1].clone();
    let v = cancel.version;
    cancel.cancel(f.rep.id, "客户取消".into(), t0()).unwrap();
    f.store
        .update_order(
            &cancel,
            v,
            &cancel.stock_moves(StockEffect::Release),
            &[],
            &[],
        )
        .await
        .unwrap();
    assert_eq!(level(&f.store, t, "A").await, (79, 48, 31));

    // A stale write is refused and moves no stock.
    let mut stale = held[1].clone();
    stale.cancel(f.rep.id, "again".into(), t0()).unwrap();
    assert!(matches!(
        f.store
            .update_order(
                &stale,
                v,
                &stale.stock_moves(StockEffect::Release),
                &[],
                &[]
            )
            .await,
        Err(StoreError::VersionConflict { .. })
    ));
    assert_eq!(level(&f.store, t, "A").await, (79, 48, 31));

    // Listings: the rep's scope, a status filter, pages.
    let mine = OrderQuery {
        scope: LeadScope::Owner(f.rep.id),
        status: Some(OrderStatus::Cancelled),
        customer: None,
        limit: 10,
        after: None,
    };
    let page = f.store.list_orders(t, &mine).await.unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].id, cancel.id);
    let other = OrderQuery {
        scope: LeadScope::Owner(UserId::new()),
        ..mine.clone()
    };
    assert!(
        f.store
            .list_orders(t, &other)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let mut seen = 0;
    let mut after = None;
    loop {
        let page = f
            .store
            .list_orders(
                t,
                &OrderQuery {
                    scope: LeadScope::Team(f.team),
                    status: None,
                    customer: Some(buyer.id),
                    limit: 40,
                    after,
                },
            )
            .await
            .unwrap();
        seen += page.items.len();
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, 201, "the first draft and the 200 racers");
}

pub async fn reservations_keep_the_breakers_floor_and_breakers_are_versioned<S: Backend>(store: S) {
    use fieldline_domain::stock::{Breaker, BreakerAction, Location, LocationInput};
    let f = fixture(store).await;
    let t = &f.tenant;
    let buyer = buyer(&f, "宁波港城贸易有限公司", CustomerKind::Distributor).await;
    let skus = [sku(t, "A")];
    f.store.put_sku(&skus[0]).await.unwrap();
    let count = |sku: &str, location: &str, on_hand| StockCount {
        sku: code(sku),
        location: code(location),
        on_hand,
    };
    f.store
        .set_stock(t, &[count("A", "WH-1", 25), count("A", "WH-2", 7)])
        .await
        .unwrap();

    // A reservation that would start below the floor is refused; at the floor it passes.
    let mut o = draft(&f, buyer.id, &skus, &[("A", 5)]);
    f.store.create_order(&o, &[], &[]).await.unwrap();
    let v = o.version;
    o.submit(f.rep.id, None, &skus, &OrderPolicy::default(), t0())
        .unwrap();
    let mut moves = o.stock_moves(StockEffect::Reserve);
    moves[0].min_available = 26;
    assert!(matches!(
        f.store.update_order(&o, v, &moves, &[], &[]).await,
        Err(StoreError::OutOfStock { .. })
    ));
    moves[0].min_available = 25;
    f.store.update_order(&o, v, &moves, &[], &[]).await.unwrap();
    assert_eq!(level(&f.store, t, "A").await, (25, 5, 20));

    // Every stock row of the tenant, by SKU and location.
    let all = f.store.list_stock(t).await.unwrap();
    let rows: Vec<(&str, &str, i64)> = all
        .iter()
        .map(|l| (l.sku.as_str(), l.location.as_str(), l.available))
        .collect();
    assert_eq!(rows, [("A", "WH-1", 20), ("A", "WH-2", 7)]);

    // Locations.
    for (c, lat, lon) in [("WH-2", 30.0, 120.0), ("WH-1", 31.2, 121.5)] {
        let l = Location::new(
            t,
            code(c),
            &LocationInput {
                name: format!("仓库 {c}"),
                lat,
                lon,
            },
            t0(),
        )
        .unwrap();
        f.store.put_location(&l).await.unwrap();
    }
    let places = f.store.list_locations(t).await.unwrap();
    assert_eq!(
        places.iter().map(|l| l.code.as_str()).collect::<Vec<_>>(),
        ["WH-1", "WH-2"]
    );

    // Breakers: created once, then changed only at their version.
    assert!(
        f.store
            .get_breaker(t, &code("A"), &code("WH-1"))
            .await
            .unwrap()
            .is_none()
    );
    let mut b = Breaker::new(t, code("A"), code("WH-1"));
    b.apply(BreakerAction::Override, f.rep.id, "急单", None, 30, t0())
        .unwrap();
    f.store.save_breaker(&b, 0).await.unwrap();
    assert!(matches!(
        f.store.save_breaker(&b, 0).await,
        Err(StoreError::VersionConflict { actual: 1, .. })
    ));
    let mut back = b.clone();
    back.apply(
        BreakerAction::Rollback,
        f.rep.id,
        "补货到了",
        None,
        30,
        t0(),
    )
    .unwrap();
    f.store.save_breaker(&back, 1).await.unwrap();
    assert!(matches!(
        f.store.save_breaker(&back, 1).await,
        Err(StoreError::VersionConflict { actual: 2, .. })
    ));
    let stored = f
        .store
        .get_breaker(t, &code("A"), &code("WH-1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, back);
    assert_eq!(f.store.list_breakers(t).await.unwrap(), [back]);
}

pub async fn demand_estimates_keep_each_reps_latest_per_week<S: Backend>(store: S) {
    use fieldline_domain::demand::{DemandEstimate, EstimateInput};
    let f = fixture(store).await;
    let t = &f.tenant;
    let week = |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 12, d).unwrap();
    let estimate = |by: UserId, w: u32, quantity: u64, minutes: i64| {
        let input = EstimateInput {
            sku: code("LUB-18L"),
            region: code("WH-SH"),
            week: week(w),
            quantity,
        };
        DemandEstimate::new(t, input, by, t0() + chrono::Duration::minutes(minutes)).unwrap()
    };
    let other = UserId::new();
    for e in [
        estimate(f.rep.id, 7, 40, 0),
        estimate(f.rep.id, 14, 45, 0),
        estimate(other, 7, 30, 0),
        // The same rep revises week 7: one row, the new figure.
        estimate(f.rep.id, 7, 50, 5),
    ] {
        f.store.put_estimate(&e).await.unwrap();
    }
    let all = f.store.estimates_since(t, week(7)).await.unwrap();
    assert_eq!(all.len(), 3, "{all:?}");
    let mine_week_7: Vec<u64> = all
        .iter()
        .filter(|e| e.by == f.rep.id && e.week == week(7))
        .map(|e| e.quantity)
        .collect();
    assert_eq!(mine_week_7, vec![50]);
    let later = f.store.estimates_since(t, week(8)).await.unwrap();
    assert_eq!(later, vec![estimate(f.rep.id, 14, 45, 0)]);
    let elsewhere = TenantId::parse("other-tenant").unwrap();
    assert!(
        f.store
            .estimates_since(&elsewhere, week(1))
            .await
            .unwrap()
            .is_empty()
    );
}

/// Submitted orders add their lines to the weekly totals (a retried create adds nothing); the
/// history reads from a week on, for one SKU or all, and only the tenant's own.
pub async fn demand_history_adds_up_per_sku_warehouse_and_week<S: Backend>(store: S) {
    let f = fixture(store).await;
    let t = &f.tenant;
    let buyer = buyer(&f, "宏达贸易", CustomerKind::Enterprise).await;
    // Enough SKUs that an order's lines fall in several of a backend's partitions.
    let codes: Vec<String> = (0..12).map(|i| format!("SKU-{i:02}")).collect();
    let skus: Vec<Sku> = codes.iter().map(|c| sku(t, c)).collect();
    let lines: Vec<(&str, u64)> = codes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i as u64 + 1))
        .collect();
    let mut expected: std::collections::BTreeMap<(String, String, chrono::NaiveDate), u64> =
        Default::default();
    for (weeks_back, location) in [(2, "WH-1"), (2, "WH-1"), (1, "WH-2"), (0, "WH-1")] {
        let mut o = draft(&f, buyer.id, &skus, &lines);
        o.location = code(location);
        o.created_at = t0() - chrono::Duration::weeks(weeks_back);
        o.submit(f.rep.id, None, &skus, &OrderPolicy::default(), t0())
            .unwrap();
        let demand = order_demand(&o, chrono_tz::UTC);
        assert_eq!(demand.len(), 12);
        for p in &demand {
            *expected
                .entry((p.sku.to_string(), p.region.to_string(), p.day))
                .or_default() += p.quantity;
        }
        f.store.create_order(&o, &demand, &[]).await.unwrap();
        assert!(matches!(
            f.store.create_order(&o, &demand, &[]).await.unwrap(),
            crate::Created::Replayed(_)
        ));
    }
    let as_map = |points: Vec<DemandPoint>| {
        points
            .into_iter()
            .map(|p| ((p.sku.to_string(), p.region.to_string(), p.day), p.quantity))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    let first = expected.keys().map(|k| k.2).min().unwrap();
    let all = f.store.demand_history(t, first, None).await.unwrap();
    assert_eq!(all.len(), 36, "12 SKUs × 3 (warehouse, week) pairs");
    assert_eq!(as_map(all), expected);
    // SKU-03 twice in its first week: 4 + 4; by warehouse, then week.
    assert_eq!(
        demand_of(&f.store, t, "SKU-03").await,
        [
            (first, "WH-1".to_owned(), 8),
            (first + chrono::Duration::weeks(2), "WH-1".to_owned(), 4),
            (first + chrono::Duration::weeks(1), "WH-2".to_owned(), 4),
        ]
    );
    let per_week: Vec<(chrono::NaiveDate, u64)> = (0..3)
        .map(|w| {
            let day = first + chrono::Duration::weeks(w);
            let sum = expected
                .iter()
                .filter(|(k, _)| k.2 == day)
                .map(|(_, q)| q)
                .sum();
            (day, sum)
        })
        .collect();
    assert_eq!(f.store.demand_totals(t, first).await.unwrap(), per_week);
    let recent = f
        .store
        .demand_history(t, first + chrono::Duration::weeks(1), None)
        .await
        .unwrap();
    assert_eq!(recent.len(), 24);
    assert!(recent.iter().all(|p| p.day > first));
    let elsewhere = TenantId::parse("other-tenant").unwrap();
    assert!(
        f.store
            .demand_history(&elsewhere, first, None)
            .await
            .unwrap()
            .is_empty()
    );
}

/// A rebuild replaces the history of the weeks before its cut, with their weekly totals, and
/// leaves the weeks from the cut on as order writes keep them; run twice, it writes the same.
pub async fn demand_history_is_replaced_before_a_week<S: Backend>(store: S) {
    let f = fixture(store).await;
    let t = &f.tenant;
    let buyer = buyer(&f, "宏达贸易", CustomerKind::Enterprise).await;
    let codes: Vec<String> = (0..6).map(|i| format!("SKU-{i:02}")).collect();
    let skus: Vec<Sku> = codes.iter().map(|c| sku(t, c)).collect();
    let lines: Vec<(&str, u64)> = codes.iter().map(|c| (c.as_str(), 2)).collect();
    let mut weeks = Vec::new();
    let mut last_week = Vec::new();
    for weeks_back in [2, 1, 0] {
        let mut o = draft(&f, buyer.id, &skus, &lines);
        o.created_at = t0() - chrono::Duration::weeks(weeks_back);
        o.submit(f.rep.id, None, &skus, &OrderPolicy::default(), t0())
            .unwrap();
        let demand = order_demand(&o, chrono_tz::UTC);
        weeks.push(demand[0].day);
        f.store.create_order(&o, &demand, &[]).await.unwrap();
        last_week = demand;
    }
    let (first, cut) = (weeks[0], weeks[2]);
    let point = |day, sku: &str, quantity| DemandPoint {
        day,
        sku: code(sku),
        region: code("WH-9"),
        quantity,
    };
    // The two earlier weeks become one SKU each elsewhere; a point in the cut's week is not
    // the rebuild's to write.
    let new = [
        point(first, "SKU-01", 7),
        point(weeks[1], "SKU-04", 5),
        point(cut, "SKU-05", 1000),
    ];
    let as_rows = |points: Vec<DemandPoint>| {
        let mut rows: Vec<(String, String, chrono::NaiveDate, u64)> = points
            .into_iter()
            .map(|p| (p.sku.to_string(), p.region.to_string(), p.day, p.quantity))
            .collect();
        rows.sort();
        rows
    };
    let want = as_rows(
        new[..2]
            .iter()
            .cloned()
            .chain(last_week.iter().cloned())
            .collect(),
    );
    assert_eq!(want.len(), 8, "2 rebuilt points and the cut week's 6");
    for _ in 0..2 {
        f.store.replace_demand_history(t, cut, &new).await.unwrap();
        let all = f.store.demand_history(t, first, None).await.unwrap();
        assert_eq!(as_rows(all), want);
        assert_eq!(
            f.store.demand_totals(t, first).await.unwrap(),
            [(first, 7), (weeks[1], 5), (cut, 12)]
        );
    }
    // Another tenant's history is not touched.
    let elsewhere = TenantId::parse("other-tenant").unwrap();
    f.store
        .replace_demand_history(&elsewhere, cut, &[])
        .await
        .unwrap();
    assert_eq!(
        f.store.demand_history(t, first, None).await.unwrap().len(),
        8
    );
}

/// The largest order's largest write — a relocation releases every line at one warehouse and
/// reserves it at another — commits whole (on DynamoDB it must fit one 100-item transaction).
pub async fn the_largest_order_relocates_in_one_write<S: Backend>(store: S) {
    let f = fixture(store).await;
    let t = &f.tenant;
    let buyer = buyer(&f, "杭州批发商贸有限公司", CustomerKind::Enterprise).await;
    let codes: Vec<String> = (0..MAX_ORDER_LINES).map(|i| format!("R{i:02}")).collect();
    let skus: Vec<Sku> = codes.iter().map(|c| sku(t, c)).collect();
    f.store.put_skus(&skus).await.unwrap();
    let counts: Vec<StockCount> = ["WH-1", "WH-2"]
        .iter()
        .flat_map(|l| {
            codes.iter().map(|c| StockCount {
                sku: code(c),
                location: code(l),
                on_hand: 20,
            })
        })
        .collect();
    f.store.set_stock(t, &counts).await.unwrap();
    let lines: Vec<(&str, u64)> = codes.iter().map(|c| (c.as_str(), 3)).collect();
    let mut order = draft(&f, buyer.id, &skus, &lines);
    f.store.create_order(&order, &[], &[]).await.unwrap();
    let v = order.version;
    order
        .submit(f.rep.id, None, &skus, &OrderPolicy::default(), t0())
        .unwrap();
    let demand = order_demand(&order, chrono_tz::UTC);
    f.store
        .update_order(
            &order,
            v,
            &order.stock_moves(StockEffect::Reserve),
            &demand,
            &[],
        )
        .await
        .unwrap();

    let v = order.version;
    let mut moves = order.stock_moves(StockEffect::Release);
    order
        .relocate(code("WH-2"), f.rep.id, "就近发货".into(), t0())
        .unwrap();
    moves.extend(order.stock_moves(StockEffect::Reserve));
    f.store
        .update_order(&order, v, &moves, &[], &[])
        .await
        .expect("a relocation of the most lines an order has is one write");
    for c in &codes {
        let rows = f.store.stock_of(t, &code(c)).await.unwrap();
        let at = |l: &str| {
            let r = rows.iter().find(|r| r.location.as_str() == l).unwrap();
            (r.on_hand, r.reserved)
        };
        assert_eq!((at("WH-1"), at("WH-2")), ((20, 0), (20, 3)), "{c}");
    }
    let stored = f.store.get_order(t, order.id).await.unwrap().unwrap();
    assert_eq!(stored.location.as_str(), "WH-2");
}
