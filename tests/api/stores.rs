//! Retail stores through HTTP on both backends: shop assistants' quick sale tags counted once
//! per sale, the weekly report by region with its scope, a spike that tells the region's
//! manager once; and a shelf photo's audit driving the default rules (empty facings, a
//! price under its SKU's floor, a key store's 3-day shelf-photo clock).

use fieldline_tests::capture::devset;
use fieldline_tests::{ManualClock, TestApp, eventually, fixture, on_both_backends};
use reqwest::Method;
use serde_json::{Value, json};

on_both_backends!(
    quick_sale_tags_are_counted_by_week_and_region_and_a_spike_tells_the_manager,
    shelf_audits_drive_the_default_rules_for_stock_floors_and_key_stores,
    a_key_store_nobody_has_visited_still_asks_for_a_shelf_photo,
);

async fn store(app: &TestApp, token: &str, name: &str, tags: &[&str]) -> String {
    let body = json!({"name": name, "kind": "store", "tags": tags});
    let c = app
        .post("/v1/customers", token, &body)
        .await
        .expect(201)
        .body;
    c["id"].as_str().unwrap().to_owned()
}

fn tally(report: &Value, week: &str, tag: &str) -> u64 {
    report["counts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["week"] == week)
        .map(|r| {
            if tag == "*" {
                r["sales"].as_u64().unwrap()
            } else {
                r["tags"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|t| t["tag"] == tag)
                    .map(|t| t["count"].as_u64().unwrap())
                    .sum()
            }
        })
        .sum()
}

async fn quick_sale_tags_are_counted_by_week_and_region_and_a_spike_tells_the_manager() {
    // Monday 26 October 2026, 10:00 in Shanghai: ISO week 44.
    let clock = ManualClock::at("2026-10-26T02:00:00Z".parse().unwrap());
    let app = TestApp::spawn_with(clock.clone(), |_| {}).await;
    let f = fixture(&app.state).await;
    let rep = app.token(&f.east_rep);
    let shop = store(&app, &rep, "联华超市张江店", &[]).await;
    let path = format!("/v1/stores/{shop}/sale-tags");
    let catalogue = app.get("/v1/settings/retail", &rep).await.expect(200).body;
    assert!(
        catalogue["sale_tags"]["obstacle"]
            .to_string()
            .contains("太贵")
    );

    // Bad input is refused with the field named; another team's rep cannot tag this store.
    let unknown = app
        .post(&path, &rep, &json!({"focus": "颜值"}))
        .await
        .expect(422);
    assert_eq!(
        unknown.body["details"]["field"], "focus",
        "{}",
        unknown.body
    );
    app.post(&path, &rep, &json!({})).await.expect(422);
    app.post(&path, &app.token(&f.south_rep), &json!({"focus": "价格"}))
        .await
        .expect(403);

    // A retried tag counts once.
    let tag = |body: Value, key: String| {
        let (app, rep, path) = (&app, rep.clone(), path.clone());
        async move {
            app.send_with(
                Method::POST,
                &path,
                Some(&rep),
                Some(&body),
                &[("idempotency-key", &key)],
            )
            .await
        }
    };
    let first = tag(
        json!({"focus": "价格", "competitor": "怡宝"}),
        "w44-0".into(),
    )
    .await
    .expect(201)
    .body;
    assert_eq!(first["week"], "2026-W44");
    assert_eq!(first["tags"], json!(["focus:价格", "competitor:怡宝"]));
    tag(
        json!({"focus": "价格", "competitor": "怡宝"}),
        "w44-0".into(),
    )
    .await
    .expect(200);

    // Four weeks of baseline: 10 sales a week, 1 of them "too expensive".
    for week in 44..48 {
        let from = if week == 44 { 1 } else { 0 };
        for n in from..10 {
            let body = if n == 1 {
                json!({"obstacle": "太贵"})
            } else {
                json!({"focus": "价格"})
            };
            tag(body, format!("w{week}-{n}")).await.expect(201);
        }
        clock.advance_hours(7.0 * 24.0);
    }
    // This week "too expensive" jumps to 8 of 14 sales (price as a focus falls, which is no
    // spike): z = 3.65 against 4 of 40.
    for n in 0..14 {
        let body = if n < 8 {
            json!({"obstacle": "太贵"})
        } else {
            json!({"focus": "价格"})
        };
        tag(body, format!("w48-{n}")).await.expect(201);
    }

    let manager = app.token(&f.east_manager);
    let report = app
        .get("/v1/metrics/sale-tags?weeks=5", &manager)
        .await
        .expect(200)
        .body;
    assert_eq!(report["weeks"][0], "2026-W44");
    assert_eq!(report["weeks"][4], "2026-W48");
    assert_eq!(
        tally(&report, "2026-W44", "*"),
        10,
        "the retry counted once"
    );
    assert_eq!(tally(&report, "2026-W44", "competitor:怡宝"), 1);
    assert_eq!(tally(&report, "2026-W47", "obstacle:太贵"), 1);
    assert_eq!(tally(&report, "2026-W48", "obstacle:太贵"), 8);
    assert_eq!(report["regions"][0]["name"], "East", "{report}");
    let spikes = report["spikes"].as_array().unwrap();
    assert_eq!(spikes.len(), 1, "{spikes:?}");
    assert_eq!(spikes[0]["tag"], "obstacle:太贵");
    assert_eq!(spikes[0]["week"], "2026-W48");
    assert!(spikes[0]["z"].as_f64().unwrap() > 3.09);

    // The manager is told once, however many more tags pile on.
    let told = || async {
        let inbox = app
            .get("/v1/me/notifications", &manager)
            .await
            .expect(200)
            .body;
        inbox
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n.to_string().contains("门店快捷标签激增"))
            .count()
    };
    eventually("the manager to hear of the spike", || async {
        (told().await == 1).then_some(())
    })
    .await;
    tag(json!({"obstacle": "太贵"}), "w48-extra".into())
        .await
        .expect(201);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let inbox = app
        .get("/v1/me/notifications", &manager)
        .await
        .expect(200)
        .body;
    assert_eq!(told().await, 1, "{inbox:#}");

    // Scope: the south manager sees no east region, a rep no report, the admin every region.
    let south = app
        .get("/v1/metrics/sale-tags", &app.token(&f.south_manager))
        .await
        .expect(200)
        .body;
    assert_eq!(south["counts"], json!([]));
    app.get("/v1/metrics/sale-tags", &rep).await.expect(403);
    let all = app
        .get("/v1/metrics/sale-tags?weeks=1", &app.token(&f.admin))
        .await
        .expect(200)
        .body;
    assert_eq!(tally(&all, "2026-W48", "*"), 15);
    app.get("/v1/metrics/sale-tags?weeks=27", &manager)
        .await
        .expect(422);
}

async fn shelf_audits_drive_the_default_rules_for_stock_floors_and_key_stores() {
    // Monday 23 November 2026, 10:00 in Shanghai.
    let clock = ManualClock::at("2026-11-23T02:00:00Z".parse().unwrap());
    let app = TestApp::spawn_with(clock.clone(), |_| {}).await;
    let f = fixture(&app.state).await;
    let admin = app.token(&f.admin);
    let mut policy = app
        .get("/v1/settings/retail", &admin)
        .await
        .expect(200)
        .body;
    policy["price_floors"] = json!([{"sku": "COLA-500", "floor": "3.50"}]);
    app.send(
        Method::PUT,
        "/v1/settings/retail",
        Some(&admin),
        Some(&policy),
    )
    .await
    .expect(200);
    let mut bad = policy.clone();
    bad["price_floors"] = json!([{"sku": "COLA-500", "floor": "cheap"}]);
    app.send(Method::PUT, "/v1/settings/retail", Some(&admin), Some(&bad))
        .await
        .expect(422);

    let rep = app.token(&f.east_rep);
    let key_store = store(&app, &rep, "华联超市旗舰店", &["重点门店"]).await;
    let visit = app
        .post(
            "/v1/visits",
            &rep,
            &json!({"customer": key_store, "purpose": "货架检查", "target_skus": ["COLA-500"],
                "position": {"lat": 31.2, "lon": 121.6, "accuracy_m": 10.0}}),
        )
        .await
        .expect(201)
        .body;
    // The phone read the shelf itself: one empty facing, a cola at 2.50 (under 3.50).
    let reading = json!({"price_tags": [{"price": "2.50"}, {"price": "3.80"}],
        "out_of_stock": true, "gaps": [[10.0, 10.0, 80.0, 60.0]]});
    let bytes = devset("shelves/shelf-000.jpg");
    let body = json!({"kind": "shelf", "subject": {"visit": visit["id"]}, "file_name": "shelf.jpg",
        "content_type": "image/jpeg", "size": bytes.len(), "device_reading": reading});
    let started = app.post("/v1/uploads", &rep, &body).await.expect(201).body;
    let (status, _) = app.upload(&started["ticket"], bytes).await;
    assert!((200..300).contains(&status));
    let id = started["upload"]["id"].as_str().unwrap().to_owned();
    let done = eventually("the shelf photo to be read", || async {
        let u = app
            .get(&format!("/v1/uploads/{id}"), &rep)
            .await
            .expect(200)
            .body;
        (u["status"] == "done").then_some(u)
    })
    .await;
    assert_eq!(done["captured"]["gaps"], 1, "{done}");

    let tasks_by_rule = |rule: &'static str| {
        let (app, rep, key_store) = (&app, rep.clone(), key_store.clone());
        async move {
            let tasks = app.get("/v1/me/tasks", &rep).await.expect(200).body;
            tasks
                .as_array()
                .unwrap()
                .iter()
                .filter(|t| t["rule"] == rule && t["customer"] == json!(key_store))
                .cloned()
                .collect::<Vec<Value>>()
        }
    };
    for rule in ["shelf-out-of-stock-task", "shelf-price-under-floor"] {
        eventually(rule, || async {
            (tasks_by_rule(rule).await.len() == 1).then_some(())
        })
        .await;
    }
    let notes = app
        .get(&format!("/v1/customers/{key_store}/activities"), &rep)
        .await
        .expect(200)
        .body;
    assert!(
        notes.to_string().contains("under the floor: 2.50"),
        "{notes}"
    );

    // Two days on, still no new photo: no shelf-photo task yet; past three days, one.
    clock.advance_hours(48.0);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        tasks_by_rule("key-store-shelf-photo-missing")
            .await
            .is_empty()
    );
    clock.advance_hours(25.0);
    eventually("the key store's shelf-photo task", || async {
        (tasks_by_rule("key-store-shelf-photo-missing").await.len() == 1).then_some(())
    })
    .await;
}

/// The 3-day shelf-photo rule holds for a key store nobody has worked at yet: created as one,
/// or tagged as one later. A plain store asks for nothing.
async fn a_key_store_nobody_has_visited_still_asks_for_a_shelf_photo() {
    let clock = ManualClock::at("2026-11-23T02:00:00Z".parse().unwrap());
    let app = TestApp::spawn_with(clock.clone(), |_| {}).await;
    let f = fixture(&app.state).await;
    let rep = app.token(&f.east_rep);
    let born_key = store(&app, &rep, "华联超市浦东店", &["重点门店"]).await;
    let plain = store(&app, &rep, "华联超市闵行店", &[]).await;
    let made_key = store(&app, &rep, "华联超市徐汇店", &[]).await;
    app.patch(
        &format!("/v1/customers/{made_key}"),
        &rep,
        &json!({"expected_version": 1, "changes": {"tags": ["KA"]}}),
    )
    .await
    .expect(200);

    let asked = || async {
        let tasks = app.get("/v1/me/tasks", &rep).await.expect(200).body;
        let mut stores: Vec<String> = tasks
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["rule"] == "key-store-shelf-photo-missing")
            .map(|t| t["customer"].as_str().unwrap().to_owned())
            .collect();
        stores.sort();
        stores
    };
    // The rules start the clocks as they read the creation and change events.
    let tenant = fieldline_domain::TenantId::parse("acme").unwrap();
    let clocks = |id: &str| {
        let (app, tenant) = (&app, tenant.clone());
        let subject = fieldline_domain::Subject::Customer(id.parse().unwrap());
        async move {
            let timers = app
                .state
                .timers
                .pending_timers(&tenant, subject)
                .await
                .unwrap();
            timers
                .iter()
                .filter(|t| t.name == "shelf_photo_due")
                .count()
        }
    };
    eventually("both key stores' clocks to start", || async {
        (clocks(&born_key).await == 1 && clocks(&made_key).await == 1).then_some(())
    })
    .await;
    assert_eq!(clocks(&plain).await, 0, "a plain store has no clock");
    clock.advance_hours(71.0);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(asked().await.is_empty(), "not before three days");
    clock.advance_hours(2.0);
    let mut expected = vec![born_key, made_key];
    expected.sort();
    eventually("a shelf-photo task for each key store", || async {
        let got = asked().await;
        (got == expected).then_some(())
    })
    .await;
    assert!(!asked().await.contains(&plain));
}
