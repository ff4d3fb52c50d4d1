//! Orders through HTTP on both backends, with a clock the test moves: the catalogue and the
//! stock feed; an order reserved on submission and shipped; a customer frozen by a payment
//! more than 45 days overdue whose next order waits for the team's manager (audited); a
//! prepaid order invoiceable only once paid; a shortfall refused line by line with nothing
//! reserved; delivery counted in the customer's grade; and concurrent orders that cannot
//! take more than the last units.

use fieldline_tests::{ManualClock, TestApp, eventually, fixture, on_both_backends};
use reqwest::Method;
use serde_json::{Value, json};

on_both_backends!(
    orders_check_credit_and_stock_and_wait_for_a_manager_when_frozen,
    concurrent_orders_never_take_more_than_the_last_units,
    a_stock_drop_trips_the_breaker_on_every_channel_and_an_override_is_audited,
    imports_check_every_row_write_all_or_nothing_and_exports_read_back,
    the_demand_forecast_backtest_matches_its_fixture,
    a_rebuilt_demand_history_follows_the_tenants_time_zone,
    the_replenishment_plan_applies_the_fit_the_weekly_job_stored,
    customer_imports_deduplicate_normalise_phones_and_read_back,
    lead_imports_skip_known_people_route_new_ones_and_report_progress,
    a_spreadsheet_sent_as_a_file_is_imported_by_a_job,
);

/// Posts raw bytes (a spreadsheet) and reads the JSON answer.
async fn post_bytes(app: &TestApp, path: &str, token: &str, bytes: Vec<u8>) -> (u16, Value) {
    let reply = app.raw(Method::POST, path, token, "text/csv", bytes).await;
    (reply.status.as_u16(), reply.body)
}

async fn put(app: &TestApp, path: &str, token: &str, body: &Value) -> fieldline_tests::Reply {
    app.send(Method::PUT, path, Some(token), Some(body)).await
}

async fn customer(app: &TestApp, token: &str, name: &str) -> String {
    let c = app
        .post(
            "/v1/customers",
            token,
            &json!({"name": name, "kind": "enterprise"}),
        )
        .await
        .expect(201)
        .body;
    c["id"].as_str().unwrap().to_owned()
}

fn order_body(customer: &str, qty: u64, terms: Value) -> Value {
    json!({
        "customer": customer,
        "channel": "direct",
        "location": "WH-SH",
        "lines": [{"sku": "LUB-18L", "quantity": qty}],
        "payment_terms": terms,
        "delivery_address": "江苏省苏州市工业园区星湖街 328 号",
    })
}

async fn act(app: &TestApp, token: &str, order: &Value, action: Value) -> fieldline_tests::Reply {
    let mut body = action;
    body["expected_version"] = order["version"].clone();
    app.post(
        &format!("/v1/orders/{}/actions", order["id"].as_str().unwrap()),
        token,
        &body,
    )
    .await
}

async fn stock(app: &TestApp, token: &str) -> (i64, i64, i64) {
    let rows = app
        .get("/v1/skus/LUB-18L/stock", token)
        .await
        .expect(200)
        .body;
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["location"] == "WH-SH")
        .unwrap()
        .clone();
    (
        row["on_hand"].as_i64().unwrap(),
        row["reserved"].as_i64().unwrap(),
        row["available"].as_i64().unwrap(),
    )
}

async fn catalogue(app: &TestApp, admin: &str, on_hand: u64, safety_stock: u64) {
    put(
        app,
        "/v1/skus/LUB-18L",
        admin,
        &json!({"name": "工业润滑油 18L", "unit_price": 128_000, "floor_price": 100_000,
            "safety_stock": safety_stock}),
    )
    .await
    .expect(200);
    put(
        app,
        "/v1/inventory",
        admin,
        &json!({"items": [{"sku": "LUB-18L", "location": "WH-SH", "on_hand": on_hand}]}),
    )
    .await
    .expect(200);
}

async fn orders_check_credit_and_stock_and_wait_for_a_manager_when_frozen() {
    // Monday 2 November 2026, 10:00 in Shanghai.
    let clock = ManualClock::at("2026-11-02T02:00:00Z".parse().unwrap());
    let app = TestApp::spawn_with(clock.clone(), |_| {}).await;
    let f = fixture(&app.state).await;
    let (admin, manager, rep) = (
        app.token(&f.admin),
        app.token(&f.east_manager),
        app.token(&f.east_rep),
    );

    // The warehouse is someone the policy names (here a rep of the South team, whose account
    // the warehouse clerk uses); an unknown person is refused.
    let policy = |who: Value| {
        json!({"freeze_after_overdue_days": 45, "max_discount_percent": 10,
        "warehouse": [who]})
    };
    let stranger = put(
        &app,
        "/v1/settings/orders",
        &admin,
        &policy(json!(f.globex_rep.id)),
    )
    .await;
    assert_eq!(stranger.code(), "invalid_field");
    put(
        &app,
        "/v1/settings/orders",
        &admin,
        &policy(json!(f.south_rep.id)),
    )
    .await
    .expect(200);
    let warehouse = app.token(&f.south_rep);

    // The catalogue: admins and managers write it, reps read it; bad rows change nothing.
    put(
        &app,
        "/v1/skus/LUB-18L",
        &rep,
        &json!({"name": "x", "unit_price": 1, "floor_price": 1}),
    )
    .await
    .expect(403);
    let floor = put(
        &app,
        "/v1/skus/LUB-18L",
        &admin,
        &json!({"name": "x", "unit_price": 100, "floor_price": 200}),
    )
    .await
    .expect(422);
    assert_eq!(floor.body["details"]["field"], "floor_price");
    put(
        &app,
        "/v1/skus/bad%20code",
        &admin,
        &json!({"name": "x", "unit_price": 1, "floor_price": 1}),
    )
    .await
    .expect(422);
    catalogue(&app, &admin, 100, 20).await;
    let unknown = put(
        &app,
        "/v1/inventory",
        &admin,
        &json!({"items": [
            {"sku": "LUB-18L", "location": "WH-SH", "on_hand": 5},
            {"sku": "NOPE", "location": "WH-SH", "on_hand": 5}]}),
    )
    .await
    .expect(422);
    assert_eq!(unknown.body["details"]["field"], "items[1].sku");
    assert_eq!(
        stock(&app, &rep).await,
        (100, 0, 100),
        "nothing was written"
    );
    let skus = app.get("/v1/skus", &rep).await.expect(200).body;
    assert_eq!(skus[0]["code"], "LUB-18L");

    // A net-30 order is reserved on submission and goes straight to the warehouse.
    let buyer = customer(&app, &rep, "苏州精密机械有限公司").await;
    let first = app
        .send_with(
            Method::POST,
            "/v1/orders",
            Some(&rep),
            Some(&order_body(&buyer, 10, json!({"kind": "net", "days": 30}))),
            &[("idempotency-key", "order-1")],
        )
        .await
        .expect(201)
        .body;
    assert_eq!(first["total"], 1_280_000);
    assert_eq!(first["status"], "draft");
    let again = app
        .send_with(
            Method::POST,
            "/v1/orders",
            Some(&rep),
            Some(&order_body(&buyer, 10, json!({"kind": "net", "days": 30}))),
            &[("idempotency-key", "order-1")],
        )
        .await
        .expect(200)
        .body;
    assert_eq!(
        again["id"], first["id"],
        "a retried draft is the same draft"
    );
    let first = act(&app, &rep, &first, json!({"do": "submit"}))
        .await
        .expect(200)
        .body;
    assert_eq!(first["status"], "to_ship", "{first:#}");
    assert_eq!(stock(&app, &rep).await, (100, 10, 90));
    // The warehouse clerk sees the queue tenant-wide (and only the queue), may ship, and
    // nothing else of an order not theirs; the owning rep may not ship.
    let queue = app
        .get("/v1/orders?status=to_ship", &warehouse)
        .await
        .expect(200)
        .body;
    assert_eq!(queue["items"][0]["id"], first["id"], "{queue:#}");
    let theirs = app.get("/v1/orders", &warehouse).await.expect(200).body;
    assert_eq!(theirs["items"], json!([]), "not the clerk's orders");
    let drafts = app
        .get("/v1/orders?status=draft", &warehouse)
        .await
        .expect(200)
        .body;
    assert_eq!(drafts["items"], json!([]));
    act(&app, &rep, &first, json!({"do": "ship"}))
        .await
        .expect(403);
    act(
        &app,
        &warehouse,
        &first,
        json!({"do": "cancel", "reason": "x"}),
    )
    .await
    .expect(403);
    act(&app, &warehouse, &first, json!({"do": "pay", "amount": 1}))
        .await
        .expect(403);
    act(
        &app,
        &app.token(&f.east_rep2),
        &first,
        json!({"do": "ship"}),
    )
    .await
    .expect(403);
    let first = act(&app, &warehouse, &first, json!({"do": "ship"}))
        .await
        .expect(200)
        .body;
    assert_eq!(
        first["history"].as_array().unwrap().last().unwrap()["by"],
        json!(f.south_rep.id)
    );
    assert_eq!(first["invoice"], "invoiceable");
    assert_eq!(stock(&app, &rep).await, (90, 0, 90));

    // Another tenant cannot see it; a rep of the same team who does not own it neither.
    let path = format!("/v1/orders/{}", first["id"].as_str().unwrap());
    app.get(&path, &app.token(&f.globex_admin))
        .await
        .expect(404);
    app.get(&path, &app.token(&f.east_rep2)).await.expect(403);
    let theirs = app
        .get("/v1/orders", &app.token(&f.east_rep2))
        .await
        .expect(200)
        .body;
    assert_eq!(theirs["items"], json!([]));

    // 30 days due + 46 overdue: the customer is frozen, the next order waits for a manager.
    clock.advance_hours(76.0 * 24.0);
    let held = app
        .post(
            "/v1/orders",
            &rep,
            &order_body(&buyer, 5, json!({"kind": "net", "days": 30})),
        )
        .await
        .expect(201)
        .body;
    let held = act(&app, &rep, &held, json!({"do": "submit"}))
        .await
        .expect(200)
        .body;
    assert_eq!(held["status"], "submitted");
    assert_eq!(held["holds"][0]["kind"], "credit_frozen", "{held:#}");
    assert_eq!(held["holds"][0]["overdue_days"], 46);
    assert_eq!(
        stock(&app, &rep).await,
        (90, 5, 85),
        "held orders hold stock"
    );
    // The default rule asks the team's manager.
    eventually("the manager is asked to approve", || async {
        let inbox = app
            .get("/v1/me/notifications", &manager)
            .await
            .expect(200)
            .body;
        inbox.to_string().contains("等待您审批").then_some(())
    })
    .await;
    act(
        &app,
        &rep,
        &held,
        json!({"do": "approve", "note": "我自己批"}),
    )
    .await
    .expect(403);
    act(
        &app,
        &app.token(&f.south_manager),
        &held,
        json!({"do": "approve", "note": "不是我的团队"}),
    )
    .await
    .expect(403);
    let approved = act(
        &app,
        &manager,
        &held,
        json!({"do": "approve", "note": "客户已承诺本周回款"}),
    )
    .await
    .expect(200)
    .body;
    assert_eq!(approved["status"], "to_ship");
    // 待发货: the warehouse role and the staff the policy names get the delivery address.
    for clerk in [&warehouse, &app.token(&f.warehouse)] {
        eventually("the warehouse is told where to ship", || async {
            let inbox = app
                .get("/v1/me/notifications", clerk)
                .await
                .expect(200)
                .body;
            inbox
                .to_string()
                .contains("送货地址：江苏省苏州市工业园区星湖街 328 号")
                .then_some(())
        })
        .await;
    }
    let audit = approved["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["status"] == "approved")
        .unwrap()
        .clone();
    assert_eq!(audit["by"], json!(f.east_manager.id));
    assert!(
        audit["note"]
            .as_str()
            .unwrap()
            .contains("客户已承诺本周回款")
    );
    // A stale version is refused and changes nothing.
    let stale = act(
        &app,
        &manager,
        &held,
        json!({"do": "cancel", "reason": "x"}),
    )
    .await
    .expect(409);
    assert_eq!(stale.body["code"], "version_conflict");

    // Paying the overdue order unfreezes the customer: a prepaid order is approved at
    // once, goes to the warehouse and becomes invoiceable only when paid in full.
    act(
        &app,
        &rep,
        &first,
        json!({"do": "pay", "amount": 1_280_000}),
    )
    .await
    .expect(200);
    let prepaid = app
        .post(
            "/v1/orders",
            &rep,
            &order_body(&buyer, 2, json!({"kind": "prepaid"})),
        )
        .await
        .expect(201)
        .body;
    let prepaid = act(&app, &rep, &prepaid, json!({"do": "submit"}))
        .await
        .expect(200)
        .body;
    assert_eq!(prepaid["status"], "approved", "{prepaid:#}");
    assert_eq!(prepaid["invoice"], "not_yet");
    let half = act(
        &app,
        &rep,
        &prepaid,
        json!({"do": "pay", "amount": 128_000}),
    )
    .await
    .expect(200)
    .body;
    assert_eq!(half["status"], "approved");
    let too_much = act(&app, &rep, &half, json!({"do": "pay", "amount": 999_999}))
        .await
        .expect(422);
    assert_eq!(too_much.body["details"]["field"], "amount");
    let paid = act(&app, &rep, &half, json!({"do": "pay", "amount": 128_000}))
        .await
        .expect(200)
        .body;
    assert_eq!(paid["status"], "to_ship");
    assert_eq!(paid["invoice"], "invoiceable");

    // More than the location has: refused line by line, nothing reserved, still a draft.
    let big = app
        .post(
            "/v1/orders",
            &rep,
            &order_body(&buyer, 500, json!({"kind": "net", "days": 30})),
        )
        .await
        .expect(201)
        .body;
    let before = stock(&app, &rep).await;
    let short = act(&app, &rep, &big, json!({"do": "submit"}))
        .await
        .expect(409);
    assert_eq!(short.body["code"], "out_of_stock");
    assert_eq!(
        short.body["details"]["shortfall"],
        json!([{"sku": "LUB-18L", "location": "WH-SH", "requested": 500, "available": before.2,
            "safety_stock": 20, "paused": false, "reallocations": []}])
    );
    assert_eq!(stock(&app, &rep).await, before);
    let still = app
        .get(&format!("/v1/orders/{}", big["id"].as_str().unwrap()), &rep)
        .await
        .expect(200)
        .body;
    assert_eq!(still["status"], "draft");

    // Cancelling releases what an order held.
    act(
        &app,
        &rep,
        &paid,
        json!({"do": "cancel", "reason": "客户改单"}),
    )
    .await
    .expect(200);
    assert_eq!(stock(&app, &rep).await.1, before.1 - 2);

    // Delivery counts in the customer's transaction value.
    let grade = format!("/v1/customers/{buyer}/grade");
    let value = async |app: &TestApp| {
        let g = app.get(&grade, &rep).await.expect(200).body;
        g["value"]["raw"].as_f64().unwrap()
    };
    let before_delivery = value(&app).await;
    // The warehouse role confirms delivery without being named in the policy: it reads
    // the shipped order (and only orders in the warehouse's hands).
    let clerk = app.token(&f.warehouse);
    let shipped = app
        .get("/v1/orders?status=shipped", &clerk)
        .await
        .expect(200)
        .body;
    assert!(shipped.to_string().contains(first["id"].as_str().unwrap()));
    let first = app.get(&path, &clerk).await.expect(200).body;
    let delivered = act(&app, &clerk, &first, json!({"do": "deliver"}))
        .await
        .expect(200)
        .body;
    assert_eq!(
        delivered["history"].as_array().unwrap().last().unwrap()["by"],
        json!(f.warehouse.id)
    );
    let after = value(&app).await;
    assert!(after > before_delivery, "{before_delivery} -> {after}");

    // Listings: the manager's team, filtered by status.
    let to_ship = app
        .get("/v1/orders?status=to_ship", &manager)
        .await
        .expect(200)
        .body;
    assert_eq!(to_ship["items"].as_array().unwrap().len(), 1);
    app.get("/v1/orders?status=lost", &manager)
        .await
        .expect(400);
}

async fn concurrent_orders_never_take_more_than_the_last_units() {
    let clock = ManualClock::at("2026-11-02T02:00:00Z".parse().unwrap());
    let app = TestApp::spawn_with(clock.clone(), |_| {}).await;
    let f = fixture(&app.state).await;
    let (admin, rep) = (app.token(&f.admin), app.token(&f.east_rep));
    catalogue(&app, &admin, 10, 0).await;
    let buyer = customer(&app, &rep, "杭州海恒贸易有限公司").await;
    // Forty drafts on two channels, one unit each, submitted at once.
    let mut drafts = Vec::new();
    for i in 0..40 {
        let mut body = order_body(&buyer, 1, json!({"kind": "net", "days": 30}));
        body["channel"] = json!(if i % 2 == 0 { "direct" } else { "tmall" });
        drafts.push(app.post("/v1/orders", &rep, &body).await.expect(201).body);
    }
    let submits = drafts
        .iter()
        .map(|d| act(&app, &rep, d, json!({"do": "submit"})));
    let replies = futures::future::join_all(submits).await;
    let sold = replies.iter().filter(|r| r.status == 200).count();
    let refused = replies
        .iter()
        .filter(|r| r.status == 409 && r.body["code"] == "out_of_stock")
        .count();
    assert_eq!((sold, refused), (10, 30));
    assert_eq!(stock(&app, &rep).await, (10, 10, 0));
}

async fn a_stock_drop_trips_the_breaker_on_every_channel_and_an_override_is_audited() {
    let clock = ManualClock::at("2026-11-02T02:00:00Z".parse().unwrap());
    let app = TestApp::spawn_with(clock.clone(), |_| {}).await;
    let f = fixture(&app.state).await;
    let (admin, manager, rep) = (
        app.token(&f.admin),
        app.token(&f.east_manager),
        app.token(&f.east_rep),
    );
    catalogue(&app, &admin, 30, 20).await;
    for (code, name, lat, lon) in [
        ("WH-SH", "上海浦东仓", 31.22, 121.54),
        ("WH-SZ", "苏州工业园仓", 31.32, 120.72),
        ("WH-BJ", "北京大兴仓", 39.73, 116.34),
    ] {
        put(
            &app,
            &format!("/v1/locations/{code}"),
            &admin,
            &json!({"name": name, "lat": lat, "lon": lon}),
        )
        .await
        .expect(200);
    }
    put(
        &app,
        "/v1/inventory",
        &admin,
        &json!({"items": [
            {"sku": "LUB-18L", "location": "WH-SZ", "on_hand": 200},
            {"sku": "LUB-18L", "location": "WH-BJ", "on_hand": 500}]}),
    )
    .await
    .expect(200);
    let buyer = customer(&app, &rep, "无锡恒达机电有限公司").await;
    let order = |qty: u64, channel: &'static str| {
        let (app, rep, buyer) = (&app, rep.clone(), buyer.clone());
        async move {
            let mut body = order_body(&buyer, qty, json!({"kind": "net", "days": 30}));
            body["channel"] = json!(channel);
            let draft = app.post("/v1/orders", &rep, &body).await.expect(201).body;
            (
                draft.clone(),
                act(app, &rep, &draft, json!({"do": "submit"})).await,
            )
        }
    };

    // 30 on hand, safety stock 20: an order that starts at or above 20 goes through, even if
    // it leaves less; from then on the breaker is tripped.
    let (five, held) = order(5, "direct").await;
    held.expect(200);
    let (six, held) = order(6, "direct").await;
    held.expect(200);
    assert_eq!(stock(&app, &rep).await.2, 19);

    // The two orders holding Shanghai's stock are suggested to the nearest warehouse that
    // stays safe after both (Suzhou: 200 − 11 ≥ 20), Beijing as the next alternative.
    app.get("/v1/stock/reallocations", &rep).await.expect(403);
    let plan = app
        .get("/v1/stock/reallocations", &manager)
        .await
        .expect(200)
        .body;
    let plan = plan.as_array().unwrap();
    let mut held: Vec<(&str, u64)> = plan
        .iter()
        .map(|p| {
            (
                p["order"].as_str().unwrap(),
                p["quantity"].as_u64().unwrap(),
            )
        })
        .collect();
    held.sort_by_key(|h| h.1);
    assert_eq!(
        held,
        [
            (five["id"].as_str().unwrap(), 5),
            (six["id"].as_str().unwrap(), 6)
        ],
        "{plan:#?}"
    );
    for p in plan {
        assert_eq!(
            (
                p["from"].as_str(),
                p["suggested"]["location"].as_str(),
                p["alternatives"][1]["location"].as_str()
            ),
            (Some("WH-SH"), Some("WH-SZ"), Some("WH-BJ")),
            "{p:#}"
        );
    }
    let map = app
        .get("/v1/stock/imbalance", &manager)
        .await
        .expect(200)
        .body;
    let sh = map[0]["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["location"] == "WH-SH")
        .unwrap()
        .clone();
    assert_eq!(sh["state"], "tripped", "{map:#}");
    assert_eq!(sh["cover"], 0.95);
    assert_eq!(map[0]["rebalance"], true);
    app.get("/v1/stock/imbalance", &rep).await.expect(403);

    // Paused on every channel, with the nearest safe location suggested.
    for channel in ["tmall", "direct"] {
        let (_, paused) = order(1, channel).await;
        let paused = paused.expect(409).body;
        assert_eq!(paused["code"], "breaker_tripped", "{paused:#}");
        let line = &paused["details"]["shortfall"][0];
        assert_eq!(line["paused"], true);
        assert_eq!(line["available"], 19);
        assert_eq!(line["reallocations"][0]["location"], "WH-SZ");
        assert_eq!(line["reallocations"][1]["location"], "WH-BJ");
    }
    assert_eq!(stock(&app, &rep).await.2, 19, "nothing was reserved");

    // A rep cannot override; a manager can, once, at the version read; it is audited.
    let change = |action: &str, reason: &str, version: u64| json!({"location": "WH-SH", "action": action, "reason": reason, "expected_version": version});
    app.post(
        "/v1/skus/LUB-18L/breaker",
        &rep,
        &change("override", "急单", 0),
    )
    .await
    .expect(403);
    let over = app
        .post(
            "/v1/skus/LUB-18L/breaker",
            &manager,
            &change("override", "大客户急单，已与仓库确认", 0),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(over["state"], "overridden");
    app.post(
        "/v1/skus/LUB-18L/breaker",
        &admin,
        &change("override", "again", 0),
    )
    .await
    .expect(409);
    let (_, through) = order(1, "tmall").await;
    assert_eq!(through.expect(200).body["status"], "to_ship");

    // Rolled back: paused again. The history holds both changes, who and at what stock.
    let back = app
        .post(
            "/v1/skus/LUB-18L/breaker",
            &admin,
            &change("rollback", "补货前不再放单", 1),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(back["state"], "tripped");
    let history = back["breaker"]["history"].as_array().unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0]["by"], json!(f.east_manager.id));
    assert_eq!(history[0]["available"], 19);
    assert_eq!(history[1]["action"], "rollback");
    assert_eq!(history[1]["available"], 18);
    order(1, "direct").await.1.expect(409);

    // A count that restores the stock closes the breaker for every channel.
    put(
        &app,
        "/v1/inventory",
        &admin,
        &json!({"items": [{"sku": "LUB-18L", "location": "WH-SH", "on_hand": 100}]}),
    )
    .await
    .expect(200);
    order(1, "tmall").await.1.expect(200);

    // A manager moves a held order to the suggested warehouse: released in Shanghai and
    // reserved in Suzhou in one write, the move in its history. Reps cannot; an unknown
    // warehouse is refused.
    let six = app
        .get(
            &format!("/v1/orders/{}", six["id"].as_str().unwrap()),
            &manager,
        )
        .await
        .expect(200)
        .body;
    let (_, reserved_before, _) = stock(&app, &rep).await;
    let relocate =
        |to: &str| json!({"do": "relocate", "location": to, "reason": "上海仓告急，就近发货"});
    act(&app, &rep, &six, relocate("WH-SZ")).await.expect(403);
    act(&app, &manager, &six, relocate("WH-XX"))
        .await
        .expect(422);
    let moved = act(&app, &manager, &six, relocate("WH-SZ"))
        .await
        .expect(200)
        .body;
    assert_eq!(moved["location"], "WH-SZ");
    assert_eq!(
        moved["status"], six["status"],
        "still where it was in its flow"
    );
    let note = moved["history"].as_array().unwrap().last().unwrap()["note"].clone();
    assert_eq!(note, "WH-SH → WH-SZ: 上海仓告急，就近发货");
    assert_eq!(stock(&app, &rep).await.1, reserved_before - 6);
    let rows = app
        .get("/v1/skus/LUB-18L/stock", &rep)
        .await
        .expect(200)
        .body;
    let sz = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["location"] == "WH-SZ")
        .unwrap();
    assert_eq!(
        (sz["reserved"].as_i64(), sz["available"].as_i64()),
        (Some(6), Some(194))
    );
    act(&app, &manager, &six, relocate("WH-BJ"))
        .await
        .expect(409);
}

async fn imports_check_every_row_write_all_or_nothing_and_exports_read_back() {
    let clock = ManualClock::at("2026-11-02T02:00:00Z".parse().unwrap());
    let app = TestApp::spawn_with(clock.clone(), |_| {}).await;
    let f = fixture(&app.state).await;
    let (admin, manager, rep) = (
        app.token(&f.admin),
        app.token(&f.east_manager),
        app.token(&f.east_rep),
    );
    // A catalogue as Chinese Excel saves CSV: GBK, Chinese headers, prices as printed.
    let sheet = "编码,名称,单价,底价,安全库存\n\
                 LUB-18L,工业润滑油 18L,￥1280.00,1000,40\n\
                 BRG-6205,深沟球轴承 6205,45元,36,200\n\
                 MTR-2K2,三相电机 2.2kW,\"1,680\",1400,10\n";
    let (gbk, _, _) = encoding_rs::GBK.encode(sheet);
    let (status, dry) = post_bytes(
        &app,
        "/v1/imports/skus?dry_run=true",
        &manager,
        gbk.to_vec(),
    )
    .await;
    assert_eq!(status, 200, "{dry:#}");
    assert_eq!(
        (dry["created"].as_u64(), dry["committed"].as_bool()),
        (Some(3), Some(false))
    );
    assert_eq!(dry["columns"]["unit_price"], "单价");
    assert_eq!(
        app.get("/v1/skus", &rep).await.expect(200).body,
        json!([]),
        "a dry run writes nothing"
    );
    let (status, done) = post_bytes(&app, "/v1/imports/skus", &manager, gbk.to_vec()).await;
    assert_eq!(
        (status, done["created"].as_u64()),
        (200, Some(3)),
        "{done:#}"
    );
    let skus = app.get("/v1/skus", &rep).await.expect(200).body;
    let motor = skus
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["code"] == "MTR-2K2")
        .unwrap();
    assert_eq!(
        (motor["unit_price"].as_u64(), motor["name"].as_str()),
        (Some(168_000), Some("三相电机 2.2kW"))
    );

    // One bad row (and a formula) refuse the whole file, each row reported.
    let bad = "sku,name,price\nLUB-18L,润滑油,1300\nNEW-1,=HYPERLINK(\"http://x\"),10\nNEW-2,好的,12.345\n";
    let (status, refused) =
        post_bytes(&app, "/v1/imports/skus", &manager, bad.as_bytes().to_vec()).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (422, Some("import_rejected")),
        "{refused:#}"
    );
    let rows = refused["details"]["rows"].as_array().unwrap();
    assert_eq!(rows[0]["outcome"], "updated");
    assert_eq!(rows[1]["row"], 3);
    assert!(rows[1]["error"].as_str().unwrap().contains("formula"));
    assert_eq!(
        (&rows[1]["code"], &rows[1]["field"]),
        (&json!("formula_cell"), &json!("name"))
    );
    assert!(rows[2]["error"].as_str().unwrap().contains("unit_price"));
    assert_eq!(
        (&rows[2]["code"], &rows[2]["field"]),
        (&json!("invalid_field"), &json!("unit_price"))
    );
    assert_eq!(rows[0].get("code"), None, "a good row has no code");
    let lub = app.get("/v1/skus", &rep).await.expect(200).body;
    assert!(
        lub.to_string().contains("128000"),
        "nothing was written: {lub}"
    );

    // Stock counts with a mapped column; an unknown SKU refuses the file.
    let counts = "物料编码,仓库,数量\nLUB-18L,WH-SH,120\nBRG-6205,WH-SH,900\n";
    let (status, set) = post_bytes(
        &app,
        "/v1/imports/stock?map=on_hand%3D%E6%95%B0%E9%87%8F",
        &manager,
        counts.as_bytes().to_vec(),
    )
    .await;
    assert_eq!((status, set["updated"].as_u64()), (200, Some(2)), "{set:#}");
    assert_eq!(stock(&app, &rep).await, (120, 0, 120));
    let (status, unknown) = post_bytes(
        &app,
        "/v1/imports/stock",
        &manager,
        "sku,location,on_hand\nLUB-18L,WH-SH,5\nNOPE,WH-SH,5\n"
            .as_bytes()
            .to_vec(),
    )
    .await;
    assert_eq!(status, 422, "{unknown:#}");
    assert_eq!(stock(&app, &rep).await.0, 120, "nothing was written");

    // Unreadable files, missing columns and reps get clear refusals.
    let (status, binary) = post_bytes(
        &app,
        "/v1/imports/skus",
        &manager,
        vec![0, 159, 146, 150, 0, 1],
    )
    .await;
    assert_eq!(
        (status, binary["code"].as_str()),
        (422, Some("bad_encoding"))
    );
    let (status, missing) = post_bytes(
        &app,
        "/v1/imports/stock",
        &manager,
        b"sku,qty\nA,1\n".to_vec(),
    )
    .await;
    assert_eq!(
        (status, missing["code"].as_str()),
        (422, Some("missing_column")),
        "{missing}"
    );
    let (status, _) = post_bytes(&app, "/v1/imports/skus", &rep, gbk.to_vec()).await;
    assert_eq!(status, 403);

    // Export → import is the same catalogue.
    let csv = app.get("/v1/exports/skus", &rep).await.expect(200).body;
    let csv = csv.as_str().unwrap().to_owned();
    assert!(csv.starts_with('\u{feff}'), "a BOM for Excel");
    let (status, again) = post_bytes(&app, "/v1/imports/skus", &admin, csv.into_bytes()).await;
    assert_eq!(
        (status, again["unchanged"].as_u64()),
        (200, Some(3)),
        "{again:#}"
    );

    // Stock export → stock import sets the same counts.
    let counted = app.download("/v1/exports/stock", &rep).await;
    let text = String::from_utf8(counted.clone()).unwrap();
    assert!(text.contains("LUB-18L,WH-SH,120,0,120"), "{text}");
    let (status, again) = post_bytes(&app, "/v1/imports/stock", &manager, counted).await;
    assert_eq!(
        (status, again["errors"].as_u64()),
        (200, Some(0)),
        "{again:#}"
    );
    assert_eq!(stock(&app, &rep).await, (120, 0, 120));

    // Orders export in the caller's scope.
    let buyer = customer(&app, &rep, "常州精工机械有限公司").await;
    let draft = app
        .post(
            "/v1/orders",
            &rep,
            &order_body(&buyer, 2, json!({"kind": "prepaid"})),
        )
        .await
        .expect(201)
        .body;
    let mine = app.get("/v1/exports/orders", &rep).await.expect(200).body;
    assert!(
        mine.as_str()
            .unwrap()
            .contains(draft["id"].as_str().unwrap())
    );
    let theirs = app
        .get("/v1/exports/orders", &app.token(&f.east_rep2))
        .await
        .expect(200)
        .body;
    assert_eq!(
        theirs.as_str().unwrap().lines().count(),
        1,
        "the header only"
    );
}

/// The catalogue, a customer and its SKU LUB-18L that the forecast tests write history for.
async fn history_buyer_and_sku(
    app: &TestApp,
    f: &fieldline_tests::Fixture,
) -> (String, fieldline_domain::order::Sku) {
    use fieldline_domain::order::Code;
    catalogue(app, &app.token(&f.admin), 500, 30).await;
    let buyer = customer(app, &app.token(&f.east_rep), "苏州工业园区精密机械有限公司").await;
    let lub = Code::parse("LUB-18L", "sku").unwrap();
    let mut skus = app.state.orders.get_skus(&f.acme, &[lub]).await.unwrap();
    (buyer, skus.remove(0))
}

/// A one-line order of `quantity` of `sku` for `buyer` at `location`, drafted (and submitted)
/// by the east rep at `at`: history written straight to the store, as years of orders would be.
fn past_order(
    f: &fieldline_tests::Fixture,
    buyer: &str,
    sku: &fieldline_domain::order::Sku,
    location: &str,
    quantity: u64,
    at: chrono::DateTime<chrono::Utc>,
    submit: bool,
) -> fieldline_domain::order::Order {
    use fieldline_domain::order::{Code, LineInput, NewOrder, Order, OrderPolicy, PaymentTerms};
    let input = NewOrder {
        customer: buyer.parse().unwrap(),
        channel: "direct".into(),
        location: Code::parse(location, "location").unwrap(),
        lines: vec![LineInput {
            sku: sku.code.clone(),
            quantity,
            unit_price: None,
            discount_percent: 0,
        }],
        payment_terms: PaymentTerms::Net { days: 30 },
        delivery_address: "江苏省苏州市工业园区星湖街 328 号".into(),
    };
    let skus = std::slice::from_ref(sku);
    let mut o = Order::draft(
        &input,
        fieldline_domain::OrderId::new(),
        &f.acme,
        (f.east_rep.id, None),
        skus,
        at,
    )
    .unwrap();
    if submit {
        o.submit(f.east_rep.id, None, skus, &OrderPolicy::default(), at)
            .unwrap();
    }
    o
}

/// Writes `orders` straight to the store with their demand in Shanghai's weeks and no event,
/// as years of history loaded from elsewhere would be.
async fn store_past_orders(app: &TestApp, orders: &[fieldline_domain::order::Order]) {
    for o in orders {
        let demand = fieldline_domain::demand::order_demand(o, chrono_tz::Asia::Shanghai);
        app.state
            .orders
            .create_order(o, &demand, &[])
            .await
            .unwrap();
    }
}

/// The demand history is cut into weeks in the tenant's zone when orders are written; after
/// the tenant moves to another zone, `rebuild_history` cuts every earlier week again from the
/// orders (an order of Monday 09:00 in Shanghai is a Sunday's in Los Angeles: a week earlier)
/// and leaves the current week as the writes kept it. Run on an unchanged zone it changes
/// nothing: what it computes is what the order writes kept.
async fn a_rebuilt_demand_history_follows_the_tenants_time_zone() {
    // Wednesday 25 November 2026, 10:00 in Shanghai.
    let now: chrono::DateTime<chrono::Utc> = "2026-11-25T02:00:00Z".parse().unwrap();
    let app = TestApp::spawn_with(ManualClock::at(now), |_| {}).await;
    let f = fixture(&app.state).await;
    let (buyer, lub) = history_buyer_and_sku(&app, &f).await;
    // Monday 16 November 09:00 and Wednesday 18 November 10:00 in Shanghai, and this week.
    for (at, quantity) in [
        ("2026-11-16T01:00:00Z", 7),
        ("2026-11-18T02:00:00Z", 3),
        ("2026-11-24T02:00:00Z", 11),
    ] {
        let o = past_order(
            &f,
            &buyer,
            &lub,
            "WH-SH",
            quantity,
            at.parse().unwrap(),
            true,
        );
        store_past_orders(&app, &[o]).await;
    }
    let since: chrono::NaiveDate = "2026-11-01".parse().unwrap();
    let (state, acme) = (&app.state, &f.acme);
    let history = move || async move {
        state
            .orders
            .demand_history(acme, since, None)
            .await
            .unwrap()
            .into_iter()
            .map(|p| (p.day.to_string(), p.quantity))
            .collect::<Vec<_>>()
    };
    let kept = history().await;
    let week = |d: &str, q: u64| (d.to_owned(), q);
    assert_eq!(kept, [week("2026-11-16", 10), week("2026-11-23", 11)]);

    let same = fieldline_app::order::rebuild_history(&app.state, &f.acme)
        .await
        .unwrap();
    assert_eq!(
        (same.before.to_string(), same.orders, same.points),
        ("2026-11-23".to_owned(), 3, 1)
    );
    assert_eq!(
        history().await,
        kept,
        "the writes kept what a rebuild computes"
    );

    let mut tenant = app
        .state
        .directory
        .get_tenant(&f.acme)
        .await
        .unwrap()
        .unwrap();
    tenant.time_zone = "America/Los_Angeles".into();
    tenant.calendar = None;
    app.state.directory.update_tenant(&tenant).await.unwrap();
    let moved = fieldline_app::order::rebuild_history(&app.state, &f.acme)
        .await
        .unwrap();
    // Still Tuesday 24 November in Los Angeles: the current week starts on the 23rd.
    assert_eq!(moved.before.to_string(), "2026-11-23");
    assert_eq!(
        history().await,
        [
            week("2026-11-09", 7),
            week("2026-11-16", 3),
            week("2026-11-23", 11)
        ]
    );
}

/// The replenishment plan applies a forecast fitted ahead of time: the tenant's first order
/// event of a week makes the job fit every series and store the fit; the plan reads it (weeks
/// written behind its back, with no event, are not seen until it is made again), fits again
/// on its own a SKU whose estimates changed, and a new week on the first read (or, when the
/// last fit took long, applies it while the new one is made). An imported historic order
/// changes past weeks: its event makes the job fit again.
async fn the_replenishment_plan_applies_the_fit_the_weekly_job_stored() {
    // Wednesday 25 November 2026, 10:00 in Shanghai.
    let clock = ManualClock::at("2026-11-25T02:00:00Z".parse().unwrap());
    let app = TestApp::spawn_with(clock.clone(), |_| {}).await;
    let f = fixture(&app.state).await;
    let (buyer, lub) = history_buyer_and_sku(&app, &f).await;
    let (manager, rep) = (app.token(&f.east_manager), app.token(&f.east_rep));
    let write_week = async |monday: &str, quantity: u64| {
        let at: chrono::DateTime<chrono::Utc> = format!("{monday}T02:00:00Z").parse().unwrap();
        store_past_orders(
            &app,
            &[past_order(&f, &buyer, &lub, "WH-SH", quantity, at, true)],
        )
        .await;
    };
    // Thirty weeks of 10 a week at WH-SH, up to last week; 12 on hand, safety stock 30.
    let last: chrono::NaiveDate = "2026-11-16".parse().unwrap();
    for w in 0..30 {
        write_week(&(last - chrono::Duration::weeks(w)).to_string(), 10).await;
    }
    put(
        &app,
        "/v1/inventory",
        &manager,
        &json!({"items": [{"sku": "LUB-18L", "location": "WH-SH", "on_hand": 12}]}),
    )
    .await
    .expect(200);
    let stored = async || {
        fieldline_app::order::stored_lead_demand(&app.state, &f.acme)
            .await
            .unwrap()
    };
    let lead_of = |fit: &fieldline_domain::demand::LeadDemand, region: &str| {
        fit.series
            .iter()
            .find(|s| s.0 == "LUB-18L" && s.1 == region)
            .map(|s| s.2)
    };
    let planned = async || {
        let plan = app
            .get("/v1/stock/replenishment", &manager)
            .await
            .expect(200)
            .body;
        assert_eq!(plan[0]["location"], "WH-SH", "{plan}");
        plan[0]["lead_time_demand"].as_f64().unwrap()
    };
    assert!(stored().await.is_none());

    // An order event: the job fits this week.
    app.post(
        "/v1/orders",
        &rep,
        &order_body(&buyer, 1, json!({"kind": "net", "days": 30})),
    )
    .await
    .expect(201);
    let fit = eventually("the week's fit", || async { stored().await }).await;
    assert_eq!(fit.origin.to_string(), "2026-11-23");
    let sh = lead_of(&fit, "WH-SH").unwrap();
    assert!((19.0..21.0).contains(&sh), "two weeks of about 10: {fit:?}");
    assert!((planned().await - sh).abs() < 1e-9);

    // Last week written again behind the job's back: the plan still applies the stored fit.
    write_week("2026-11-16", 500).await;
    assert!(
        (planned().await - sh).abs() < 1e-9,
        "the stored fit is read"
    );

    // A rep's estimate for next week: that SKU is fitted again on the next read, and stored.
    put(
        &app,
        "/v1/forecast/estimates",
        &rep,
        &json!({"sku": "LUB-18L", "region": "WH-SH", "week": "2026-11-30", "quantity": 300}),
    )
    .await
    .expect(200);
    let with_estimate = planned().await;
    assert!(with_estimate > sh + 50.0, "{with_estimate} vs {sh}");
    let patched = stored().await.unwrap();
    assert!(patched.estimated.contains_key("LUB-18L"), "{patched:?}");
    assert!((lead_of(&patched, "WH-SH").unwrap() - with_estimate).abs() < 1e-9);
    assert_eq!(lead_of(&patched, "WH-GZ"), None);

    // A historic order imported into last week at WH-GZ: the job fits again.
    let sheet = "订单号,日期,客户名称,物料编码,数量,单价,仓库\n\
                 SO-9,2026-11-17,苏州工业园区精密机械有限公司,LUB-18L,40,,WH-GZ\n";
    let (status, done) = post_bytes(
        &app,
        "/v1/imports/orders",
        &manager,
        sheet.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(
        (status, done["created"].as_u64()),
        (200, Some(1)),
        "{done:#}"
    );
    let refitted = eventually("a fit with the imported order", || async {
        stored().await.filter(|fit| lead_of(fit, "WH-GZ").is_some())
    })
    .await;
    assert_eq!(refitted.origin.to_string(), "2026-11-23");
    assert!(refitted.estimated.contains_key("LUB-18L"));

    // A week later the first read fits the new week.
    clock.advance_hours(7.0 * 24.0);
    planned().await;
    assert_eq!(stored().await.unwrap().origin.to_string(), "2026-11-30");

    // The job (a fresh one, as after a restart) finds that fit current and does nothing for
    // an order event, delivered once or again; an imported one at this moment may not be
    // in it and is fitted again.
    let job = fieldline_app::order::DemandRefits::new(app.state.clone());
    assert!(!job.refresh(&f.acme, None).await.unwrap());
    assert!(!job.refresh(&f.acme, None).await.unwrap());
    let now = "2026-12-02T02:00:00Z".parse().unwrap();
    assert!(job.refresh(&f.acme, Some(now)).await.unwrap());

    // A large tenant's fit takes minutes. A week on, a read before the job has fitted the
    // new week applies last week's fit and says so, while the new one is made in the
    // background; then the plan is from this week's.
    let mut slow = stored().await.unwrap();
    slow.fit_millis = 600_000;
    fieldline_app::order::store_lead_demand(&app.state, &f.acme, &slow)
        .await
        .unwrap();
    clock.advance_hours(7.0 * 24.0);
    let week_of = |reply: &fieldline_tests::Reply| {
        let week = &reply.headers["fieldline-forecast-week"];
        week.to_str().unwrap().to_owned()
    };
    let reply = app
        .get("/v1/stock/replenishment", &manager)
        .await
        .expect(200);
    assert_eq!(week_of(&reply), "2026-11-30");
    let lead = reply.body[0]["lead_time_demand"].as_f64().unwrap();
    assert!((lead - lead_of(&slow, "WH-SH").unwrap()).abs() < 1e-9);
    let fresh = eventually("this week's fit", || async {
        stored()
            .await
            .filter(|fit| fit.origin.to_string() == "2026-12-07")
    })
    .await;
    assert!(fresh.fit_millis < 600_000);
    let reply = app
        .get("/v1/stock/replenishment", &manager)
        .await
        .expect(200);
    assert_eq!(week_of(&reply), "2026-12-07");
}

/// Weekly history the backtest can be checked on by hand (default calendar, no holidays):
/// at WH-SH 10 a week for 60 weeks, then 20 a week for 10; at WH-GZ 5 every week. With a
/// horizon of 2 weeks from the last two origins, 3 weeks are scored per warehouse: the
/// seasonal naive forecast (a year earlier) misses WH-SH's step by 10 each time and WH-GZ
/// not at all, so its WAPE is 30 / 75 = 0.4; the smoother has caught up with the step.
async fn the_demand_forecast_backtest_matches_its_fixture() {
    // Monday 23 November 2026, 10:00 in Shanghai: history is the 70 weeks before it.
    let now: chrono::DateTime<chrono::Utc> = "2026-11-23T02:00:00Z".parse().unwrap();
    let clock = ManualClock::at(now);
    let app = TestApp::spawn_with(clock.clone(), |_| {}).await;
    let f = fixture(&app.state).await;
    let (admin, manager, rep) = (
        app.token(&f.admin),
        app.token(&f.east_manager),
        app.token(&f.east_rep),
    );
    let (buyer, lub) = history_buyer_and_sku(&app, &f).await;
    let order = |weeks_back: i64, location: &str, quantity: u64, submit: bool| {
        // Wednesday of that week, 10:00 in Shanghai.
        let at = now - chrono::Duration::weeks(weeks_back) + chrono::Duration::days(2);
        past_order(&f, &buyer, &lub, location, quantity, at, submit)
    };
    let mut history = Vec::new();
    for back in 1..=70 {
        history.push(order(back, "WH-SH", if back > 10 { 10 } else { 20 }, true));
        history.push(order(back, "WH-GZ", 5, true));
    }
    // Neither a draft nor this week's orders (the week is not over) count as history.
    history.push(order(3, "WH-SH", 1_000, false));
    history.push(order(0, "WH-SH", 1_000, true));
    store_past_orders(&app, &history).await;

    let path = "/v1/forecast/demand?sku=LUB-18L&horizon=2&backtest_origins=2";
    app.get(path, &rep).await.expect(403);
    let got = app.get(path, &manager).await.expect(200).body;
    assert_eq!(got["origin"], "2026-11-23");
    assert_eq!(
        got["backtest"]["origins"],
        json!(["2026-11-09", "2026-11-16"])
    );
    let overall = &got["backtest"]["overall"];
    assert_eq!(overall["points"], 6, "{overall}");
    assert_eq!(overall["actual"], 75.0, "{overall}");
    assert_eq!(overall["seasonal_naive_wape"], 0.4, "{overall}");
    assert!(overall["wape"].as_f64().unwrap() < 0.05, "{overall}");
    assert!(overall["skill"].as_f64().unwrap() > 0.85, "{overall}");
    let series = got["series"].as_array().unwrap();
    assert_eq!(got["series_total"], 2);
    assert_eq!(
        (
            series[0]["region"].as_str(),
            series[0]["total_ordered"].as_u64()
        ),
        (Some("WH-SH"), Some(60 * 10 + 10 * 20))
    );
    // A constant series is forecast as itself (to within the month-of-year indices the
    // SKU's other warehouse's step nudges, pooled per SKU), with little spread.
    let gz = &series[1]["weeks"][0];
    assert_eq!(
        (gz["week"].as_str(), gz["working_days"].as_u64()),
        (Some("2026-11-23"), Some(5))
    );
    for key in ["model", "lower", "upper", "forecast"] {
        assert!((gz[key].as_f64().unwrap() - 5.0).abs() < 0.1, "{gz}");
    }

    // A rep's estimate for next week is blended in; with no past estimates to judge the rep
    // by, rep and model weigh the same. Past weeks and unknown SKUs are refused.
    let estimate = |week: &str, sku: &str| json!({"sku": sku, "region": "WH-SH", "week": week, "quantity": 30});
    put(
        &app,
        "/v1/forecast/estimates",
        &rep,
        &estimate("2026-11-30", "LUB-18L"),
    )
    .await
    .expect(200);
    let past = put(
        &app,
        "/v1/forecast/estimates",
        &rep,
        &estimate("2026-11-16", "LUB-18L"),
    )
    .await;
    assert_eq!(past.code(), "invalid_field");
    put(
        &app,
        "/v1/forecast/estimates",
        &rep,
        &estimate("2026-11-30", "NOPE-1"),
    )
    .await
    .expect(404);
    let not_monday = put(
        &app,
        "/v1/forecast/estimates",
        &rep,
        &estimate("2026-12-01", "LUB-18L"),
    )
    .await;
    assert_eq!(not_monday.code(), "invalid_field");
    let got = app.get(path, &manager).await.expect(200).body;
    let next = &got["series"][0]["weeks"][1];
    assert_eq!(
        (next["week"].as_str(), next["rep_estimate"].as_u64()),
        (Some("2026-11-30"), Some(30))
    );
    assert_eq!(next["rep_weight"], 0.5, "{next}");
    let blended = 0.5 * 30.0 + 0.5 * next["model"].as_f64().unwrap();
    assert!(
        (next["forecast"].as_f64().unwrap() - blended).abs() < 1e-9,
        "{next}"
    );
    assert_eq!(
        app.get("/v1/forecast/demand?horizon=0", &manager)
            .await
            .code(),
        "invalid_field"
    );

    // Shanghai's count drops below its safety stock (30): the director (admin) is told once,
    // and the replenishment list moves Guangzhou's spare units before buying any. Lead time
    // 2 weeks: reorder point 30 + the forecast of the next two weeks, order up to one more.
    // The warehouse keeps the counts as managers do; purchasing may not.
    let feed = json!({"items": [{"sku": "LUB-18L", "location": "WH-SH", "on_hand": 12},
        {"sku": "LUB-18L", "location": "WH-GZ", "on_hand": 300}]});
    let (warehouse, purchasing) = (app.token(&f.warehouse), app.token(&f.purchasing));
    put(&app, "/v1/inventory", &purchasing, &feed)
        .await
        .expect(403);
    for who in [&manager, &warehouse] {
        let result = put(&app, "/v1/inventory", who, &feed)
            .await
            .expect(200)
            .body;
        assert_eq!(result["below_safety"][0]["location"], "WH-SH", "{result}");
    }
    // The messages `who` was sent about stock below safety.
    let stock_notices = async |who: &str| -> Vec<String> {
        let inbox = app.get("/v1/me/notifications", who).await.expect(200).body;
        let notices = inbox.as_array().unwrap().iter();
        notices
            .filter(|n| n["rule"] == "stock-below-safety")
            .map(|n| n["message"].as_str().unwrap().to_owned())
            .collect()
    };
    let notices = stock_notices(&admin).await;
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(notices[0].contains("WH-SH"));
    // Purchasing gets the replenishment suggestion (once too) and reads the plan and the
    // forecast; the warehouse and reps do not plan.
    let suggestions = stock_notices(&purchasing).await;
    assert_eq!(suggestions.len(), 1, "{suggestions:?}");
    let message = &suggestions[0];
    assert!(
        message.starts_with("补货建议") && message.contains("WH-SH"),
        "{message}"
    );
    app.get(path, &purchasing).await.expect(200);
    app.get(path, &warehouse).await.expect(403);
    app.get("/v1/stock/replenishment", &warehouse)
        .await
        .expect(403);
    assert_eq!(
        app.get("/v1/stock/replenishment", &purchasing)
            .await
            .expect(200)
            .body,
        app.get("/v1/stock/replenishment", &manager)
            .await
            .expect(200)
            .body
    );
    app.get("/v1/stock/replenishment", &rep).await.expect(403);
    let plan = app
        .get("/v1/stock/replenishment", &manager)
        .await
        .expect(200)
        .body;
    let rows = plan.as_array().unwrap();
    assert_eq!(rows.len(), 1, "Guangzhou has plenty: {plan}");
    let sh = &rows[0];
    let lead = sh["lead_time_demand"].as_f64().unwrap();
    // About 20 this week and (20 + 30) / 2 next week.
    assert!((40.0..50.0).contains(&lead), "{sh}");
    assert_eq!(sh["reorder_point"].as_f64().unwrap(), 30.0 + lead);
    let suggested = (30.0 + 2.0 * lead - 12.0).ceil() as u64;
    assert_eq!(sh["suggested"].as_u64(), Some(suggested), "{sh}");
    assert_eq!(
        sh["transfers"],
        json!([{"from": "WH-GZ", "quantity": suggested, "distance_km": null}])
    );
    assert_eq!(sh["purchase"], 0);

    // Orders taken through the API join the demand history as they are submitted: one of 7
    // submitted and then cancelled counts (the customer wanted it), a draft of 1,000 does
    // not. A week later they are history.
    let gz_total = async || {
        let got = app
            .get("/v1/forecast/demand?region=WH-GZ&horizon=1", &manager)
            .await
            .expect(200)
            .body;
        got["series"][0]["total_ordered"].as_u64().unwrap()
    };
    assert_eq!(gz_total().await, 70 * 5);
    let mut taken = order_body(&buyer, 7, json!({"kind": "net", "days": 30}));
    taken["location"] = json!("WH-GZ");
    let taken = app.post("/v1/orders", &rep, &taken).await.expect(201).body;
    let taken = act(&app, &rep, &taken, json!({"do": "submit"}))
        .await
        .expect(200)
        .body;
    act(
        &app,
        &rep,
        &taken,
        json!({"do": "cancel", "reason": "客户改期"}),
    )
    .await
    .expect(200);
    let mut draft = order_body(&buyer, 1_000, json!({"kind": "net", "days": 30}));
    draft["location"] = json!("WH-GZ");
    app.post("/v1/orders", &rep, &draft).await.expect(201);
    assert_eq!(gz_total().await, 70 * 5, "this week is not history yet");
    clock.advance_hours(7.0 * 24.0);
    assert_eq!(gz_total().await, 70 * 5 + 7);
}

/// The raw bytes of a download.
async fn customer_imports_deduplicate_normalise_phones_and_read_back() {
    let clock = ManualClock::at("2026-11-02T02:00:00Z".parse().unwrap());
    let app = TestApp::spawn_with(clock.clone(), |_| {}).await;
    let f = fixture(&app.state).await;
    let (admin, manager, rep) = (
        app.token(&f.admin),
        app.token(&f.east_manager),
        app.token(&f.east_rep),
    );
    let known = app
        .post(
            "/v1/customers",
            &rep,
            &json!({"name": "苏州精密机械有限公司", "kind": "enterprise",
                "contacts": [{"name": "王建国", "phones": ["13812345678"]}]}),
        )
        .await
        .expect(201)
        .body;

    // As a Chinese Excel saves it (GBK, Chinese headers): a known company and contact, a new
    // contact of the known company under a shorter name, a new company with two contacts,
    // and four bad rows (a 10-digit mobile, a formula, an unknown owner, an owner outside
    // the manager's team).
    let sheet = "客户名称,类型,地址,负责人,联系人,职务,手机,邮箱\n\
                 苏州精密机械有限公司,enterprise,,,王建国,采购经理,138 1234 5678,\n\
                 苏州精密机械,,,,李娜,工程师,+86 139-0000-1111,lina@jm.cn\n\
                 宁波港城贸易有限公司,distributor,浙江省宁波市北仑区,er1@acme.cn,陈刚,总经理,13700001111; 0574-88886666,\n\
                 宁波港城贸易有限公司,,,,周敏,采购,13700002222,\n\
                 杭州新客户有限公司,,,,张三,,1370000111,\n\
                 \"=HYPERLINK(\"\"http://x\"\")\",,,,,,,\n\
                 广州某某有限公司,,,nobody@acme.cn,,,,\n\
                 深圳某某有限公司,,,sr1@acme.cn,,,,\n";
    let (gbk, _, _) = encoding_rs::GBK.encode(sheet);
    let (status, _) = post_bytes(&app, "/v1/imports/customers", &rep, gbk.to_vec()).await;
    assert_eq!(status, 403, "reps do not import customers");
    let (status, refused) = post_bytes(&app, "/v1/imports/customers", &manager, gbk.to_vec()).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (422, Some("import_rejected")),
        "{refused:#}"
    );
    let report = &refused["details"];
    let outcomes: Vec<&str> = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        [
            "unchanged",
            "updated",
            "created",
            "updated",
            "error",
            "error",
            "error",
            "error"
        ],
        "{report:#}"
    );
    assert_eq!(report["columns"]["phone"], "手机");
    assert!(
        report["rows"][6]["error"]
            .as_str()
            .unwrap()
            .contains("owner"),
        "{report:#}"
    );
    // Each refusal has a stable code and names the import's field, whatever the header.
    let coded = |i: usize| {
        let r = &report["rows"][i];
        (r["code"].as_str().unwrap(), r["field"].as_str().unwrap())
    };
    assert_eq!(coded(5), ("formula_cell", "company"), "{report:#}");
    assert_eq!(coded(6), ("not_found", "owner"), "{report:#}");
    assert_eq!(coded(7).1, "owner", "{report:#}");
    let listed = app.get("/v1/customers", &manager).await.expect(200).body;
    assert_eq!(
        listed["items"].as_array().unwrap().len(),
        1,
        "nothing was written"
    );

    // The good rows alone commit; run twice, the second finds everything known.
    let good: String = sheet.lines().take(5).map(|l| format!("{l}\n")).collect();
    let (gbk, _, _) = encoding_rs::GBK.encode(&good);
    let (status, done) = post_bytes(&app, "/v1/imports/customers", &manager, gbk.to_vec()).await;
    assert_eq!(
        (
            status,
            done["created"].as_u64(),
            done["updated"].as_u64(),
            done["committed"].as_bool()
        ),
        (200, Some(1), Some(2), Some(true)),
        "{done:#}"
    );
    let (_, again) = post_bytes(&app, "/v1/imports/customers", &manager, gbk.to_vec()).await;
    assert_eq!(
        (
            again["created"].as_u64(),
            again["updated"].as_u64(),
            again["unchanged"].as_u64()
        ),
        (Some(0), Some(0), Some(4)),
        "{again:#}"
    );
    let listed = app.get("/v1/customers", &manager).await.expect(200).body;
    let ningbo = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "宁波港城贸易有限公司")
        .unwrap()
        .clone();
    assert_eq!(ningbo["owner"], json!(f.east_rep.id));
    assert_eq!(ningbo["kind"], "distributor");
    let detail = app
        .get(
            &format!("/v1/customers/{}", ningbo["id"].as_str().unwrap()),
            &manager,
        )
        .await
        .expect(200)
        .body;
    let chen = detail["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "陈刚")
        .unwrap()
        .clone();
    assert_eq!(
        chen["phones"],
        json!(["+8613700001111", "+8657488886666"]),
        "{chen}"
    );
    let suzhou = app
        .get(
            &format!("/v1/customers/{}", known["id"].as_str().unwrap()),
            &manager,
        )
        .await
        .expect(200)
        .body;
    assert_eq!(suzhou["contacts"].as_array().unwrap().len(), 2, "{suzhou}");

    // What the manager exports (CSV and .xlsx) reads back as the same records.
    let csv = app.download("/v1/exports/customers", &manager).await;
    let (status, back) =
        post_bytes(&app, "/v1/imports/customers?dry_run=true", &manager, csv).await;
    assert_eq!(
        (status, back["unchanged"].as_u64(), back["errors"].as_u64()),
        (200, Some(4), Some(0)),
        "{back:#}"
    );
    let xlsx = app
        .download("/v1/exports/customers?format=xlsx", &manager)
        .await;
    assert!(xlsx.starts_with(b"PK"), "a zip container");
    let (status, back) =
        post_bytes(&app, "/v1/imports/customers?dry_run=true", &manager, xlsx).await;
    assert_eq!(
        (status, back["unchanged"].as_u64(), back["errors"].as_u64()),
        (200, Some(4), Some(0)),
        "{back:#}"
    );
    // Another team's manager cannot add contacts to the East's customer.
    let theirs = "company,contact,phone\n苏州精密机械有限公司,钱七,13600001111\n";
    let (status, report) = post_bytes(
        &app,
        "/v1/imports/customers?dry_run=true",
        &app.token(&f.south_manager),
        theirs.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(
        (status, report["errors"].as_u64()),
        (200, Some(1)),
        "{report:#}"
    );
    assert!(
        report["rows"][0]["error"]
            .as_str()
            .unwrap()
            .contains("another team"),
        "{report:#}"
    );
    assert_eq!(
        (&report["rows"][0]["code"], &report["rows"][0]["field"]),
        (&json!("forbidden"), &json!("company")),
        "{report:#}"
    );
    // An admin without an owner column owns what they import, as when creating by hand.
    let one = "company,contact,phone\n天津滨海自动化有限公司,赵磊,13911112222\n";
    let (status, report) = post_bytes(
        &app,
        "/v1/imports/customers?dry_run=true",
        &admin,
        one.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(
        (status, report["created"].as_u64()),
        (200, Some(1)),
        "{report:#}"
    );
    let skus = app.download("/v1/exports/skus?format=xlsx", &rep).await;
    assert!(skus.starts_with(b"PK"));

    // Historic orders (an ERP's sales history): lines with the same number make one order,
    // stored delivered and paid on its day; unknown customers and future dates are refused.
    catalogue(&app, &admin, 100, 5).await;
    put(
        &app,
        "/v1/skus/BRG-6205",
        &admin,
        &json!({"name": "深沟球轴承 6205", "unit_price": 4500, "floor_price": 3600}),
    )
    .await
    .expect(200);
    let history = "订单号,日期,客户名称,物料编码,数量,单价,仓库\n\
                   SO-1,2026/3/14,宁波港城贸易有限公司,LUB-18L,10,1200,WH-SH\n\
                   SO-1,2026/3/14,宁波港城贸易有限公司,BRG-6205,100,,WH-SH\n\
                   ,2026年5月20日,苏州精密机械,LUB-18L,5,1280.00,WH-GZ\n\
                   SO-2,2027-01-04,宁波港城贸易有限公司,LUB-18L,1,,WH-SH\n\
                   SO-3,2026-04-01,不存在的公司,LUB-18L,1,,WH-SH\n";
    let (status, refused) = post_bytes(
        &app,
        "/v1/imports/orders",
        &manager,
        history.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(status, 422, "{refused:#}");
    let outcomes: Vec<&str> = refused["details"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        ["created", "created", "created", "error", "error"],
        "{refused:#}"
    );
    let good: String = history.lines().take(4).map(|l| format!("{l}\n")).collect();
    let (status, done) = post_bytes(
        &app,
        "/v1/imports/orders",
        &manager,
        good.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(
        (status, done["created"].as_u64()),
        (200, Some(3)),
        "{done:#}"
    );
    let (_, again) = post_bytes(
        &app,
        "/v1/imports/orders",
        &manager,
        good.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(
        (again["unchanged"].as_u64(), again["created"].as_u64()),
        (Some(3), Some(0)),
        "{again:#}"
    );
    let listed = app
        .get(
            &format!("/v1/orders?customer={}", ningbo["id"].as_str().unwrap()),
            &manager,
        )
        .await
        .expect(200)
        .body;
    let orders = listed["items"].as_array().unwrap();
    assert_eq!(orders.len(), 1, "{listed:#}");
    let so1 = &orders[0];
    assert_eq!(
        (
            so1["status"].as_str(),
            so1["lines"].as_array().unwrap().len()
        ),
        (Some("delivered"), 2)
    );
    assert_eq!(so1["total"], json!(10 * 120_000 + 100 * 4_500), "in fen");
    assert_eq!(so1["paid"], so1["total"]);
    assert!(
        so1["created_at"]
            .as_str()
            .unwrap()
            .starts_with("2026-03-14"),
        "{so1}"
    );
    assert_eq!(
        stock(&app, &rep).await.0,
        100,
        "history does not move today's stock"
    );

    // The orders export is one row per line in the import's columns, numbered by order id:
    // read back (CSV and .xlsx), every line is an order the tenant has.
    let csv = app.download("/v1/exports/orders", &manager).await;
    let text = String::from_utf8(csv.clone()).unwrap();
    assert!(
        text.trim_start_matches('\u{feff}')
            .starts_with("order,date,company,sku,quantity,unit_price,discount"),
        "{text}"
    );
    assert!(
        text.contains(",2026-03-14,宁波港城贸易有限公司,BRG-6205,100,45.00,0,"),
        "{text}"
    );
    for (format, bytes) in [
        ("csv", csv),
        (
            "xlsx",
            app.download("/v1/exports/orders?format=xlsx", &manager)
                .await,
        ),
    ] {
        let (status, back) =
            post_bytes(&app, "/v1/imports/orders?dry_run=true", &manager, bytes).await;
        assert_eq!(
            (status, back["unchanged"].as_u64(), back["errors"].as_u64()),
            (200, Some(3), Some(0)),
            "{format}: {back:#}"
        );
    }
}

/// A trade-show list in Chinese headers: people the tenant knows (a lead, a customer's
/// contact) are left alone with the match named, new ones are created (scored, owned as the
/// sheet says or left to the rules), bad rows refuse the commit; the export reads back; a
/// long file reports its progress as NDJSON.
async fn lead_imports_skip_known_people_route_new_ones_and_report_progress() {
    let clock = ManualClock::at("2026-11-02T02:00:00Z".parse().unwrap());
    let app = TestApp::spawn_with(clock.clone(), |_| {}).await;
    let f = fixture(&app.state).await;
    let (manager, rep) = (app.token(&f.east_manager), app.token(&f.east_rep));
    let lead = app
        .post(
            "/v1/leads",
            &rep,
            &json!({"source": "web_form", "contact": {"name": "刘洋", "phone": "13800001111"}}),
        )
        .await
        .expect(201)
        .body;
    let customer = app
        .post(
            "/v1/customers",
            &rep,
            &json!({"name": "苏州精密机械有限公司", "kind": "enterprise",
                "contacts": [{"name": "王建国", "phones": ["13812345678"]}]}),
        )
        .await
        .expect(201)
        .body;
    let before = count_leads_all(&app, &manager).await;

    let sheet = "姓名,手机,邮箱,公司,职位,来源,负责人,备注\n\
                 刘洋,+86 138-0000-1111,,,,,,\n\
                 王建国,138 1234 5678,,苏州精密机械,,,,\n\
                 孙丽,13900002222,sunli@hz-trade.cn,杭州贸易有限公司,采购经理,展会,er1@acme.cn,要报价\n\
                 Tom Lee,,tom@example.com,Acme Ltd,,web_form,,\n\
                 孙丽,139 0000 2222,,,,,,\n\
                 钱八,13700003333,,,,信鸽,,\n\
                 \"=HYPERLINK(\"\"http://x\"\")\",13700004444,,,,,,\n";
    let (gbk, _, _) = encoding_rs::GBK.encode(sheet);
    let (status, _) = post_bytes(&app, "/v1/imports/leads", &rep, gbk.to_vec()).await;
    assert_eq!(status, 403, "reps do not import leads");
    let (status, refused) = post_bytes(&app, "/v1/imports/leads", &manager, gbk.to_vec()).await;
    assert_eq!(status, 422, "{refused:#}");
    let rows = refused["details"]["rows"].as_array().unwrap();
    let outcomes: Vec<&str> = rows
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        [
            "unchanged",
            "unchanged",
            "created",
            "created",
            "error",
            "error",
            "error"
        ],
        "{refused:#}"
    );
    assert_eq!(
        rows[0]["matched"],
        json!(format!("lead {}", lead["id"].as_str().unwrap()))
    );
    let wang = customer["contacts"][0]["id"].as_str().unwrap();
    assert_eq!(rows[1]["matched"], json!(format!("contact {wang}")));
    assert!(
        rows[4]["error"].as_str().unwrap().contains("row 4"),
        "{refused:#}"
    );
    assert!(
        rows[5]["error"].as_str().unwrap().contains("source"),
        "{refused:#}"
    );
    assert!(
        rows[6]["error"].as_str().unwrap().contains("formula"),
        "{refused:#}"
    );
    let codes: Vec<(&str, Option<&str>)> = rows[4..]
        .iter()
        .map(|r| (r["code"].as_str().unwrap(), r["field"].as_str()))
        .collect();
    assert_eq!(
        codes,
        [
            ("duplicate_row", None),
            ("invalid_field", Some("source")),
            ("formula_cell", Some("lead_name"))
        ],
        "{refused:#}"
    );
    assert_eq!(
        count_leads_all(&app, &manager).await,
        before,
        "nothing was written"
    );

    // The good rows commit; run again, every person is known.
    let good: String = sheet.lines().take(5).map(|l| format!("{l}\n")).collect();
    let (gbk, _, _) = encoding_rs::GBK.encode(&good);
    let (status, done) = post_bytes(&app, "/v1/imports/leads", &manager, gbk.to_vec()).await;
    assert_eq!(
        (status, done["created"].as_u64(), done["unchanged"].as_u64()),
        (200, Some(2), Some(2)),
        "{done:#}"
    );
    let (_, again) = post_bytes(&app, "/v1/imports/leads", &manager, gbk.to_vec()).await;
    assert_eq!(
        (again["created"].as_u64(), again["unchanged"].as_u64()),
        (Some(0), Some(4)),
        "{again:#}"
    );
    let listed = app
        .get("/v1/leads?limit=200", &manager)
        .await
        .expect(200)
        .body;
    let sun = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["contact"]["name"] == "孙丽")
        .unwrap()
        .clone();
    assert_eq!(
        (
            sun["source"].as_str(),
            sun["owner"].as_str(),
            sun["contact"]["phone"].as_str(),
            sun["notes"].as_str()
        ),
        (
            Some("trade_show"),
            Some(f.east_rep.id.to_string().as_str()),
            Some("+8613900002222"),
            Some("要报价")
        ),
        "{sun:#}"
    );
    assert_eq!(count_leads_all(&app, &manager).await, before + 2);

    // The manager's lead export reads back as the same people.
    for format in ["csv", "xlsx"] {
        let bytes = app
            .download(&format!("/v1/exports/leads?format={format}"), &manager)
            .await;
        let (status, back) =
            post_bytes(&app, "/v1/imports/leads?dry_run=true", &manager, bytes).await;
        assert_eq!(
            (status, back["created"].as_u64(), back["errors"].as_u64()),
            (200, Some(0), Some(0)),
            "{format}: {back:#}"
        );
        assert_eq!(
            back["unchanged"].as_u64(),
            Some(before as u64 + 2),
            "{back:#}"
        );
    }

    // A long file followed: progress lines (checking, then writing), then the report.
    let long: String = std::iter::once("name,mobile,company\n".to_owned())
        .chain((0..200).map(|i| format!("访客{i},1360000{i:04},展商{i}\n")))
        .collect();
    let follow = |body: String| {
        let (app, manager) = (&app, manager.clone());
        async move {
            app.raw(
                Method::POST,
                "/v1/imports/leads?progress=true",
                &manager,
                "text/csv",
                body.into_bytes(),
            )
            .await
        }
    };
    let reply = follow(long.clone()).await.expect(200);
    assert_eq!(reply.headers["content-type"], "application/x-ndjson");
    let text = reply.body.as_str().unwrap().to_owned();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let steps: Vec<&Value> = lines.iter().filter_map(|l| l.get("progress")).collect();
    let checked: Vec<u64> = steps
        .iter()
        .filter(|s| s["phase"] == "checking")
        .map(|s| s["done"].as_u64().unwrap())
        .collect();
    assert!(checked.len() >= 100, "about every 1 %: {}", checked.len());
    assert!(checked.windows(2).all(|w| w[0] < w[1]), "{checked:?}");
    assert_eq!(checked.last(), Some(&200));
    let written = steps.iter().filter(|s| s["phase"] == "writing").count();
    assert!(written >= 100, "{written}");
    let last = lines.last().unwrap();
    assert_eq!(last["report"]["created"], 200, "{last:#}");
    assert_eq!(count_leads_all(&app, &manager).await, before + 2 + 200);
    // Refused rows end the stream with the plain call's error; a file refused before any
    // row (no name column) answers as the plain call, with its status.
    let refused = follow(format!("{long}bad,=1+1,x\n")).await.expect(200);
    let text = refused.body.as_str().unwrap();
    let last: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last["error"]["code"], "import_rejected", "{last:#}");
    let early = follow("mobile,company\n13600000000,x\n".into())
        .await
        .expect(422);
    assert_eq!(early.code(), "missing_column", "{:#}", early.body);
}

/// Every lead the caller sees, page by page.
async fn count_leads_all(app: &TestApp, token: &str) -> usize {
    let mut n = 0;
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/leads?limit=200&cursor={c}"),
            None => "/v1/leads?limit=200".to_owned(),
        };
        let page = app.get(&path, token).await.expect(200).body;
        n += page["items"].as_array().unwrap().len();
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return n,
        }
    }
}

/// An import upload of a CSV file (the size is filled in when it is sent).
fn import(request: Value) -> Value {
    json!({"kind": "import", "import": request, "file_name": "线索.csv",
        "content_type": "text/csv"})
}

/// A file too large for an API request travels like a photo: an upload of kind `import`,
/// the bytes to its URL (S3 on AWS, then the bucket's event), and the job on the slow
/// stream consumer. Refused rows fail the upload with the report and write nothing; a dry
/// run reports; a commit writes every row once, with its progress and totals on the upload
/// and the report beside it. Run again after a crash, before or after the report was
/// stored, it writes nothing twice; one that never finishes is given up after three runs.
/// Reps cannot start imports; only the uploader's side reads the report; imports are not
/// counted as capture.
async fn a_spreadsheet_sent_as_a_file_is_imported_by_a_job() {
    let clock = ManualClock::at("2026-11-02T02:00:00Z".parse().unwrap());
    let app = TestApp::spawn_with(clock.clone(), |_| {}).await;
    let f = fixture(&app.state).await;
    let (manager, rep, other) = (
        app.token(&f.east_manager),
        app.token(&f.east_rep),
        app.token(&f.south_manager),
    );
    let before = count_leads_all(&app, &manager).await;
    let rows = 120;
    let sheet: String = std::iter::once("姓名,手机,公司,负责人\n".to_owned())
        .chain((0..rows).map(|i| format!("访客{i},1350000{i:04},展商{i},er1@acme.cn\n")))
        .collect();
    let (gbk, _, _) = encoding_rs::GBK.encode(&sheet);
    let leads = json!({"kind": "leads"});

    // Who and what may start one.
    let start = |token: &str, body: Value| {
        let (app, token) = (&app, token.to_owned());
        async move { app.post("/v1/uploads", &token, &body).await }
    };
    let upload = |import: Value, content_type: &str| {
        json!({"kind": "import", "import": import, "file_name": "线索.csv",
            "content_type": content_type, "size": 1000})
    };
    start(&rep, upload(leads.clone(), "text/csv"))
        .await
        .expect(403);
    for (body, why) in [
        (
            upload(leads.clone(), "image/jpeg"),
            "a photo is no spreadsheet",
        ),
        (
            json!({"kind": "import", "file_name": "a.csv", "content_type": "text/csv", "size": 10}),
            "what to import is missing",
        ),
        (
            json!({"kind": "card", "import": leads, "file_name": "a.jpg",
                "content_type": "image/jpeg", "size": 10}),
            "only imports say what to import",
        ),
        (
            json!({"kind": "import", "import": {"kind": "leads"}, "file_name": "a.csv",
                "content_type": "text/csv", "size": 64 * 1024 * 1024 + 1}),
            "over 64 MiB",
        ),
        (
            json!({"kind": "import", "import": {"kind": "leads", "map": "x".repeat(1001)},
                "file_name": "a.csv", "content_type": "text/csv", "size": 10}),
            "a mapping over 1,000 characters",
        ),
    ] {
        let reply = start(&manager, body).await;
        assert_eq!(reply.status.as_u16(), 422, "{why}: {:#}", reply.body);
    }

    // One refused row (a formula): the upload fails with the report; nothing is written.
    let bad_sheet = format!("{sheet}=1+1,13599999999,坏行,\n");
    let (bad, _, _) = encoding_rs::GBK.encode(&bad_sheet);
    let id = app
        .send_upload(&manager, import(leads.clone()), bad.to_vec())
        .await;
    let failed = app.finished_upload(&manager, &id).await;
    assert_eq!(
        (
            &failed["status"],
            &failed["error"]["code"],
            &failed["imported"]["errors"],
            &failed["imported"]["rows"],
            &failed["imported"]["committed"],
        ),
        (
            &json!("failed"),
            &json!("import_rejected"),
            &json!(1),
            &json!(rows + 1),
            &json!(false)
        ),
        "{failed:#}"
    );
    let report = app
        .get(&format!("/v1/uploads/{id}/report"), &manager)
        .await
        .expect(200)
        .body;
    let last = &report["rows"][rows];
    assert_eq!(
        (&last["row"], &last["outcome"]),
        (&json!(rows + 2), &json!("error")),
        "{last:#}"
    );
    assert!(
        last["error"].as_str().unwrap().contains("formula"),
        "{last:#}"
    );
    assert_eq!(count_leads_all(&app, &manager).await, before);

    // A dry run reports and writes nothing.
    let dry = app
        .send_upload(
            &manager,
            import(json!({"kind": "leads", "dry_run": true})),
            gbk.to_vec(),
        )
        .await;
    let dry = app.finished_upload(&manager, &dry).await;
    assert_eq!(
        (
            &dry["status"],
            &dry["imported"]["created"],
            &dry["imported"]["committed"]
        ),
        (&json!("done"), &json!(rows), &json!(false)),
        "{dry:#}"
    );
    assert_eq!(count_leads_all(&app, &manager).await, before);

    let period = "/v1/metrics/capture?from=2026-11-01T00:00:00Z&to=2026-11-03T00:00:00Z";
    let me = f.east_manager.id.to_string();
    let records_of = |capture: &serde_json::Value| {
        capture["reps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["user"] == json!(me))
            .unwrap_or_else(|| panic!("{capture:#}"))["records"]
            .clone()
    };
    let records_before = records_of(&app.get(period, &manager).await.expect(200).body);

    // The commit: every row once, the progress it made on the upload, the report beside it.
    let id = app
        .send_upload(&manager, import(leads.clone()), gbk.to_vec())
        .await;
    let done = app.finished_upload(&manager, &id).await;
    assert_eq!(
        (
            &done["status"],
            &done["imported"]["created"],
            &done["imported"]["errors"],
            &done["imported"]["committed"],
        ),
        (&json!("done"), &json!(rows), &json!(0), &json!(true)),
        "{done:#}"
    );
    assert_eq!(done["progress"]["total"], json!(rows), "{done:#}");
    // Created, processing, at least one progress step, done.
    assert!(done["version"].as_u64().unwrap() >= 4, "{done:#}");
    assert_eq!(count_leads_all(&app, &manager).await, before + rows);
    // A spreadsheet is no capture: the auto-capture figures count no upload read or failed,
    // and the imported leads are not records the importer typed (nor captured ones).
    let capture = app.get(period, &manager).await.expect(200).body;
    assert_eq!(records_of(&capture), records_before, "{capture:#}");
    let mine = capture["reps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["user"] == json!(me))
        .unwrap_or_else(|| panic!("{capture:#}"));
    assert_eq!(
        (&mine["uploads_done"], &mine["uploads_failed"]),
        (&json!(0), &json!(0)),
        "{mine:#}"
    );
    let report_path = format!("/v1/uploads/{id}/report");
    let report = app.get(&report_path, &manager).await.expect(200).body;
    assert_eq!(
        (
            &report["kind"],
            &report["created"],
            &report["columns"]["phone"]
        ),
        (&json!("leads"), &json!(rows), &json!("手机")),
        "{report:#}"
    );
    app.get(&report_path, &rep).await.expect(403);
    app.get(&report_path, &other).await.expect(403);
    app.get(
        &format!("/v1/uploads/{}/report", fieldline_domain::UploadId::new()),
        &manager,
    )
    .await
    .expect(404);

    // A crash after the report was stored: the job only finishes the upload.
    let again = replay_import(&app, &id, false, None).await;
    assert_eq!(
        (&again["status"], &again["imported"]),
        (&json!("done"), &done["imported"]),
        "{again:#}"
    );
    // A crash before it: the import runs again and finds every row written.
    let again = replay_import(&app, &id, true, None).await;
    assert_eq!(
        (
            &again["status"],
            &again["imported"]["created"],
            &again["imported"]["unchanged"]
        ),
        (&json!("done"), &json!(0), &json!(rows)),
        "{again:#}"
    );
    assert_eq!(again["attempts"], json!(2), "{again:#}");
    // One that never gets to its end (a Lambda stopped at its time limit each time) is given
    // up after three runs, in words, instead of coming back for ever.
    let given_up = replay_import(&app, &id, true, Some(3)).await;
    assert_eq!(
        (&given_up["status"], &given_up["error"]["code"]),
        (&json!("failed"), &json!("import_interrupted")),
        "{given_up:#}"
    );
    assert_eq!(count_leads_all(&app, &manager).await, before + rows);
}

/// Puts a finished import back to `processing` with no totals, as if the process had died
/// before marking it done (and, with `lose_report`, before storing its report; with `runs`,
/// after that many runs); then runs the job again as a redelivered event would.
async fn replay_import(app: &TestApp, id: &str, lose_report: bool, runs: Option<u32>) -> Value {
    let tenant = fieldline_domain::TenantId::parse("acme").unwrap();
    let id = app
        .rewind_upload(&tenant, id, |upload| {
            upload.imported = None;
            if let Some(runs) = runs {
                upload.attempts = runs;
            }
        })
        .await;
    if lose_report {
        let key = fieldline_store::BlobKey::parse(
            tenant.clone(),
            &fieldline_app::import::job::report_key(id),
        )
        .unwrap();
        app.state.blobs.delete(&key).await.unwrap();
    }
    fieldline_app::import::job::run(&app.state, &tenant, id)
        .await
        .unwrap();
    serde_json::to_value(app.stored_upload(&tenant, id).await).unwrap()
}
