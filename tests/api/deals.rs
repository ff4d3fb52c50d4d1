//! Deals through HTTP with a clock the test moves: conversion, the walk through the
//! pipeline, gates, a manager's override, overdue deals, the board and the stage log. Each
//! scenario runs on the embedded server and on the AWS functions (DynamoDB on moto).

use fieldline_tests::*;
use reqwest::Method;

/// A lead of `token`'s user, qualified and converted; returns the deal.
pub async fn converted_deal(
    app: &TestApp,
    token: &str,
    body: &serde_json::Value,
) -> serde_json::Value {
    let lead = app.post("/v1/leads", token, body).await.expect(201).body;
    let id = lead["id"].as_str().unwrap();
    wait_for_intake(app, token, id).await;
    let version = app
        .get(&format!("/v1/leads/{id}"), token)
        .await
        .expect(200)
        .body["version"]
        .clone();
    let patch = json!({"expected_version": version, "changes": {"status": "qualified"}});
    app.patch(&format!("/v1/leads/{id}"), token, &patch)
        .await
        .expect(200);
    app.post(&format!("/v1/leads/{id}/convert"), token, &json!({}))
        .await
        .expect(201)
        .body
}

async fn move_to(
    app: &TestApp,
    token: &str,
    deal: &serde_json::Value,
    body: serde_json::Value,
) -> Reply {
    let id = deal["id"].as_str().unwrap();
    app.send_with(
        Method::POST,
        &format!("/v1/deals/{id}/stage"),
        Some(token),
        Some(&body),
        &[("accept-language", "zh-CN,zh;q=0.9")],
    )
    .await
}

async fn a_qualified_lead_converts_once_into_customer_contact_and_deal() {
    let app = TestApp::spawn().await;
    let f = fixture(&app.state).await;
    let rep = app.token(&f.east_rep);
    let lead = app
        .post("/v1/leads", &rep, &lead_body(1))
        .await
        .expect(201)
        .body;
    let id = lead["id"].as_str().unwrap();
    wait_for_intake(&app, &rep, id).await;
    // Not qualified yet.
    let early = app
        .post(&format!("/v1/leads/{id}/convert"), &rep, &json!({}))
        .await;
    assert_eq!(early.expect(422).code(), "invalid_transition");
    let version = app.get(&format!("/v1/leads/{id}"), &rep).await.body["version"].clone();
    let patch = json!({"expected_version": version, "changes": {"status": "qualified"}});
    app.patch(&format!("/v1/leads/{id}"), &rep, &patch)
        .await
        .expect(200);

    let path = format!("/v1/leads/{id}/convert");
    let key = [("idempotency-key", "convert-once")];
    let first = app
        .send_with(Method::POST, &path, Some(&rep), Some(&json!({})), &key)
        .await
        .expect(201);
    let deal = first.body.clone();
    assert_eq!(
        first.headers["location"],
        format!("/v1/deals/{}", deal["id"].as_str().unwrap()).as_str()
    );
    assert_eq!(deal["stage"], "new");
    assert_eq!(deal["amount"], 300000, "sized by the stated budget");
    assert_eq!(deal["currency"], "CNY");
    assert_eq!(deal["source_lead"], id);
    assert_eq!(deal["owner"], json!(f.east_rep.id));
    // A phone's retry gets the same deal; a plain second attempt is refused.
    let again = app
        .send_with(Method::POST, &path, Some(&rep), Some(&json!({})), &key)
        .await
        .expect(200);
    assert_eq!(again.body["id"], deal["id"]);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    app.post(&path, &rep, &json!({})).await.expect(422);
    let converted = app
        .get(&format!("/v1/leads/{id}"), &rep)
        .await
        .expect(200)
        .body;
    assert_eq!(converted["status"], "converted");
    let deals = app.get("/v1/deals", &rep).await.expect(200).body;
    assert_eq!(deals["items"].as_array().unwrap().len(), 1);

    let customer_id: fieldline_domain::CustomerId =
        deal["customer"].as_str().unwrap().parse().unwrap();
    let customer = app
        .state
        .customers
        .get_customer(&f.acme, customer_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(customer.name.as_str(), "苏州精密机械有限公司");
    let contacts = app
        .state
        .customers
        .list_contacts(&f.acme, customer_id)
        .await
        .unwrap();
    assert_eq!(contacts.len(), 1);
    assert_eq!(contacts[0].name.as_str(), "王建国1");
    assert_eq!(deal["contacts"], json!([contacts[0].id]));

    // The deals export lists the deal for its owner's side only, customer by name.
    let mine = String::from_utf8(app.download("/v1/exports/deals", &rep).await).unwrap();
    let rows: Vec<&str> = mine.lines().collect();
    assert!(
        rows[0]
            .trim_start_matches('\u{feff}')
            .starts_with("id,title,company,pipeline,stage")
    );
    assert_eq!(rows.len(), 2, "{mine}");
    assert!(rows[1].starts_with(deal["id"].as_str().unwrap()), "{mine}");
    assert!(rows[1].contains(",苏州精密机械有限公司,"), "{mine}");
    let theirs = String::from_utf8(
        app.download("/v1/exports/deals", &app.token(&f.south_manager))
            .await,
    )
    .unwrap();
    assert_eq!(
        theirs.lines().count(),
        1,
        "another team's manager: {theirs}"
    );
}

async fn a_deal_walks_the_pipeline_through_its_gates_and_keeps_its_log() {
    let clock = ManualClock::at(chrono::Utc::now());
    let app = TestApp::spawn_with_clock(clock.clone()).await;
    let f = fixture(&app.state).await;
    let rep = app.token(&f.east_rep);
    let manager = app.token(&f.east_manager);
    let pipelines = app.get("/v1/pipelines", &rep).await.expect(200).body;
    let stages: Vec<&str> = pipelines[0]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"]["zh"].as_str().unwrap())
        .collect();
    assert_eq!(
        stages,
        [
            "留资未触达",
            "首次电话沟通",
            "产品演示完成",
            "方案已提交",
            "价格谈判中",
            "合同待签署",
            "赢单",
            "输单"
        ]
    );

    // No budget stated: the deal has no amount, which price negotiation needs.
    let mut body = lead_body(2);
    body["prescreen"]["budget"] = json!(null);
    let deal = converted_deal(&app, &rep, &body).await;
    assert_eq!(deal["amount"], 0);

    clock.advance_hours(5.0);
    let mut deal = move_to(
        &app,
        &rep,
        &deal,
        json!({"to": "first_call", "expected_version": 1}),
    )
    .await
    .expect(200)
    .body;
    for stage in ["demo_done", "proposal_sent"] {
        clock.advance_hours(24.0);
        let v = deal["version"].clone();
        deal = move_to(
            &app,
            &rep,
            &deal,
            json!({"to": stage, "expected_version": v}),
        )
        .await
        .expect(200)
        .body;
    }
    let deal = app
        .get(&format!("/v1/deals/{}", deal["id"].as_str().unwrap()), &rep)
        .await
        .expect(200)
        .body;
    assert_eq!(
        (deal["stage"].as_str(), deal["version"].as_u64()),
        (Some("proposal_sent"), Some(4))
    );

    // Blocked, with what to do in the rep's language.
    let blocked = move_to(
        &app,
        &rep,
        &deal,
        json!({"to": "price_negotiation", "expected_version": 4}),
    )
    .await;
    let blocked = blocked.expect(422);
    assert_eq!(blocked.code(), "transition_blocked");
    let unmet = blocked.body["details"]["unmet"].as_array().unwrap();
    assert_eq!(unmet.len(), 2, "the amount and the quote: {unmet:?}");
    assert!(
        unmet[0]["message"].as_str().unwrap().contains("金额"),
        "{unmet:?}"
    );
    assert!(unmet[0]["en"].as_str().unwrap().contains("amount"));
    assert!(unmet[1]["message"].as_str().unwrap().contains("报价单"));
    // A rep cannot override; a manager can, with a reason, and it is on the record.
    let forced = json!({"to": "price_negotiation", "expected_version": 4, "override_gate": true,
        "reason": "客户口头确认了预算"});
    move_to(&app, &rep, &deal, forced.clone()).await.expect(403);
    let no_reason =
        json!({"to": "price_negotiation", "expected_version": 4, "override_gate": true});
    move_to(&app, &manager, &deal, no_reason).await.expect(422);
    let moved = move_to(&app, &manager, &deal, forced.clone())
        .await
        .expect(200)
        .body;
    assert_eq!(moved["stage"], "price_negotiation");
    // The same move again from the old version: 409, nothing logged twice.
    assert_eq!(
        move_to(&app, &manager, &deal, forced)
            .await
            .expect(409)
            .code(),
        "version_conflict"
    );

    let id = deal["id"].as_str().unwrap();
    let history = app
        .get(&format!("/v1/deals/{id}/history"), &rep)
        .await
        .expect(200)
        .body;
    let steps: Vec<(serde_json::Value, &str, i64)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["from"].clone(),
                h["to"].as_str().unwrap(),
                h["seconds_in_previous"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            (json!(null), "new", 0),
            (json!("new"), "first_call", 5 * 3600),
            (json!("first_call"), "demo_done", 24 * 3600),
            (json!("demo_done"), "proposal_sent", 24 * 3600),
            (json!("proposal_sent"), "price_negotiation", 0),
        ]
    );
    let last = &history[4];
    assert_eq!(last["by"], json!(f.east_manager.id));
    assert_eq!(last["reason"], "客户口头确认了预算");
    assert_eq!(last["overridden"].as_array().unwrap().len(), 2);

    // Losing needs a reason from the tenant's list.
    let v = moved["version"].clone();
    let lost = move_to(
        &app,
        &rep,
        &moved,
        json!({"to": "lost", "expected_version": v}),
    )
    .await;
    assert_eq!(lost.expect(422).body["details"]["field"], "reason");
    let lost = move_to(
        &app,
        &rep,
        &moved,
        json!({"to": "lost", "expected_version": v, "reason": "competitor"}),
    )
    .await
    .expect(200)
    .body;
    assert_eq!(
        (lost["status"].as_str(), lost["lost_reason"].as_str()),
        (Some("lost"), Some("competitor"))
    );
    let unknown = move_to(
        &app,
        &manager,
        &lost,
        json!({"to": "nowhere", "expected_version": lost["version"]}),
    )
    .await;
    assert_eq!(unknown.expect(422).body["details"]["field"], "to");
}

async fn deals_go_overdue_by_their_stage_and_the_board_sums_each_column() {
    let clock = ManualClock::at(chrono::Utc::now());
    let app = TestApp::spawn_with_clock(clock.clone()).await;
    let f = fixture(&app.state).await;
    let rep = app.token(&f.east_rep);
    let manager = app.token(&f.east_manager);
    let first = converted_deal(&app, &rep, &lead_body(3)).await;
    let second = converted_deal(&app, &rep, &lead_body(4)).await;
    let theirs = converted_deal(&app, &app.token(&f.south_rep), &lead_body(5)).await;
    move_to(
        &app,
        &rep,
        &second,
        json!({"to": "first_call", "expected_version": 1}),
    )
    .await
    .expect(200);

    // "new" rots after 2 days, "first_call" after 7: at day 5 only the first is late.
    clock.advance_hours(5.0 * 24.0);
    let overdue = app
        .get("/v1/deals?overdue=true", &rep)
        .await
        .expect(200)
        .body;
    let items = overdue["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{overdue:#}");
    assert_eq!(items[0]["id"], first["id"]);
    assert_eq!(items[0]["overdue_days"], 3);
    let on_time = app
        .get(
            &format!("/v1/deals/{}", second["id"].as_str().unwrap()),
            &rep,
        )
        .await
        .expect(200)
        .body;
    assert_eq!(on_time["overdue_days"], 0);

    // Ten days on both are late; sorted by how late, the one stuck longer comes first.
    clock.advance_hours(5.0 * 24.0);
    let worst_first = app
        .get("/v1/deals?sort=overdue", &rep)
        .await
        .expect(200)
        .body;
    let late: Vec<(&str, u64)> = worst_first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["id"].as_str().unwrap(),
                d["overdue_days"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        late,
        [
            (first["id"].as_str().unwrap(), 8),
            (second["id"].as_str().unwrap(), 3)
        ]
    );
    assert!(worst_first["next_cursor"].is_null());
    let top = app
        .get("/v1/deals?sort=overdue&limit=1", &rep)
        .await
        .expect(200)
        .body;
    assert_eq!(top["items"][0]["id"], first["id"]);
    app.get("/v1/deals?sort=soonest", &rep).await.expect(400);

    let board = app.get("/v1/deals/board", &manager).await.expect(200).body;
    let columns = board.as_array().unwrap();
    assert_eq!(columns.len(), 8);
    assert_eq!(columns[0]["stage"]["key"], "new");
    assert_eq!(
        columns[0]["count"], 1,
        "the manager sees the team's deals only"
    );
    assert_eq!(columns[0]["amount_total"], 300000);
    assert_eq!(columns[1]["count"], 1);
    let everyone = app
        .get("/v1/deals/board", &app.token(&f.admin))
        .await
        .expect(200)
        .body;
    assert_eq!(everyone[0]["count"], 2);
    assert!(
        everyone[0]["deals"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["id"] == theirs["id"])
    );
    // A page smaller than the column: the header still counts the whole column.
    let small = app
        .get("/v1/deals/board?limit=1", &app.token(&f.admin))
        .await
        .expect(200)
        .body;
    assert_eq!(small[0]["deals"].as_array().unwrap().len(), 1);
    assert_eq!(
        (small[0]["count"].as_u64(), small[0]["more"].as_bool()),
        (Some(2), Some(true))
    );
    assert_eq!(small[0]["amount_total"], 600000);
    app.get("/v1/deals/board?pipeline=nope", &manager)
        .await
        .expect(404);
    app.get("/v1/deals?limit=201", &manager).await.expect(400);
}

async fn pipeline_metrics_are_rebuilt_from_the_stage_log() {
    let start = chrono::Utc::now();
    let clock = ManualClock::at(start);
    let app = TestApp::spawn_with_clock(clock.clone()).await;
    let f = fixture(&app.state).await;
    let rep = app.token(&f.east_rep);
    let a = converted_deal(&app, &rep, &lead_body(6)).await;
    let b = converted_deal(&app, &rep, &lead_body(7)).await;
    clock.advance_hours(24.0);
    let a = move_to(
        &app,
        &rep,
        &a,
        json!({"to": "first_call", "expected_version": 1}),
    )
    .await
    .expect(200)
    .body;
    clock.advance_hours(12.0);
    move_to(
        &app,
        &rep,
        &b,
        json!({"to": "lost", "expected_version": 1, "reason": "price"}),
    )
    .await
    .expect(200);
    clock.advance_hours(36.0);
    move_to(
        &app,
        &rep,
        &a,
        json!({"to": "demo_done", "expected_version": 2}),
    )
    .await
    .expect(200);

    let from =
        (start - chrono::Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let to =
        (start + chrono::Duration::days(30)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let query = format!("/v1/metrics/pipeline?from={from}&to={to}&within_hours=48");
    let m = app
        .get(&query, &app.token(&f.east_manager))
        .await
        .expect(200)
        .body;
    assert_eq!(m["cohort"], 2);
    let reached: Vec<u64> = m["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["reached"].as_u64().unwrap())
        .collect();
    assert_eq!(reached, [2, 1, 1, 0, 0, 0, 0, 1]);
    let stage = |i: usize| &m["stages"][i];
    // new: both entered, A moved on within 48 h; first_call: A moved on after exactly 48 h.
    assert_eq!(
        (
            stage(0)["penetration"].as_f64(),
            stage(1)["penetration"].as_f64()
        ),
        (Some(0.5), Some(1.0))
    );
    // Stays in new: A 24 h, B 36 h; in first_call: A 48 h.
    assert_eq!(stage(0)["median_dwell_hours"], 30.0);
    assert_eq!(stage(1)["median_dwell_hours"], 48.0);
    assert_eq!(
        (
            m["won"].as_u64(),
            m["lost"].as_u64(),
            m["win_rate"].as_f64()
        ),
        (Some(0), Some(1), Some(0.0))
    );
    let east_new = m["heat_map"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["stage"] == "new")
        .unwrap();
    assert_eq!(east_new["median_dwell_hours"], 30.0);
    // Scoped: another team's manager sees none of it.
    let theirs = app
        .get(&query, &app.token(&f.south_manager))
        .await
        .expect(200)
        .body;
    assert_eq!(theirs["cohort"], 0);
    let reversed = format!("/v1/metrics/pipeline?from={to}&to={from}");
    app.get(&reversed, &rep).await.expect(400);
    app.get(&format!("{query}&pipeline=nope"), &rep)
        .await
        .expect(404);
}

async fn patch(
    app: &TestApp,
    token: &str,
    deal: &serde_json::Value,
    changes: serde_json::Value,
) -> Reply {
    let id = deal["id"].as_str().unwrap();
    let body = json!({"expected_version": deal["version"], "changes": changes});
    app.patch(&format!("/v1/deals/{id}"), token, &body).await
}

async fn the_forecast_and_its_backtest_come_from_the_tenants_own_deals() {
    use chrono::TimeZone;
    // Noon in Shanghai, the tenant's time zone (months are the tenant's).
    let clock = ManualClock::at(chrono::Utc.with_ymd_and_hms(2026, 8, 15, 4, 0, 0).unwrap());
    let app = TestApp::spawn_with_clock(clock.clone()).await;
    let f = fixture(&app.state).await;
    let rep = app.token(&f.east_rep);
    let x = converted_deal(&app, &rep, &lead_body(8)).await;
    let y = converted_deal(&app, &rep, &lead_body(9)).await;
    let z = converted_deal(&app, &rep, &lead_body(10)).await;
    let x = patch(&app, &rep, &x, json!({"expected_close": "2026-09-20"}))
        .await
        .expect(200)
        .body;
    assert_eq!(x["version"], 2);
    // Editing from a stale version is refused.
    let stale = json!({"expected_version": 1, "changes": {"amount": 1}});
    let path = format!("/v1/deals/{}", x["id"].as_str().unwrap());
    app.patch(&path, &rep, &stale).await.expect(409);
    let z = patch(
        &app,
        &rep,
        &z,
        json!({"amount": 100000, "expected_close": "2026-09-10"}),
    )
    .await
    .expect(200)
    .body;
    clock.advance_hours(24.0);
    move_to(
        &app,
        &rep,
        &x,
        json!({"to": "contract_pending", "expected_version": 2}),
    )
    .await
    .expect(200);
    move_to(
        &app,
        &rep,
        &z,
        json!({"to": "proposal_sent", "expected_version": 2}),
    )
    .await
    .expect(200);
    clock.advance_hours(4.0 * 24.0);
    let y = move_to(&app, &rep, &y, json!({"to": "won", "expected_version": 1}))
        .await
        .expect(200)
        .body;
    // A won deal's terms are final.
    assert_eq!(
        patch(&app, &rep, &y, json!({"amount": 1}))
            .await
            .expect(422)
            .code(),
        "invalid_transition"
    );

    clock.advance_hours(16.0 * 24.0); // 5 September
    let manager = app.token(&f.east_manager);
    let fc = app
        .get("/v1/forecast?period=2026-09", &manager)
        .await
        .expect(200)
        .body;
    // Only Y has closed (it passed "new" and "won"): contract_pending and proposal_sent keep
    // their defaults, 0.8 and 0.4.
    assert_eq!(fc["won_to_date"], 0);
    assert_eq!(fc["expected"], 300000.0 * 0.8 + 100000.0 * 0.4);
    assert_eq!(
        (
            fc["commit"].as_u64(),
            fc["best_case"].as_u64(),
            fc["pipeline"].as_u64()
        ),
        (Some(300000), Some(400000), Some(400000))
    );
    assert_eq!(
        (fc["open_deals"].as_u64(), fc["unscheduled_deals"].as_u64()),
        (Some(2), Some(0))
    );
    assert!(fc["low"].as_f64().unwrap() < 280000.0 && fc["high"].as_f64().unwrap() > 280000.0);
    let august = app
        .get("/v1/forecast?period=2026-08", &manager)
        .await
        .expect(200)
        .body;
    assert_eq!(august["won_to_date"], 300000);
    app.get("/v1/forecast?period=2026-13", &manager)
        .await
        .expect(400);
    app.get("/v1/forecast?period=2026-09&pipeline=nope", &manager)
        .await
        .expect(404);

    // At 1 August nothing existed, so the forecast was 0 against 300,000 won: WAPE 1, and
    // "same as July" (0) did no better.
    let bt = app
        .get("/v1/forecast/backtest?months=1", &manager)
        .await
        .expect(200)
        .body;
    assert_eq!(bt["months"].as_array().unwrap().len(), 1);
    assert_eq!(
        (
            bt["months"][0]["forecast"].as_f64(),
            bt["months"][0]["actual"].as_u64()
        ),
        (Some(0.0), Some(300000))
    );
    assert_eq!(
        (
            bt["wape"].as_f64(),
            bt["bias"].as_f64(),
            bt["skill"].as_f64()
        ),
        (Some(1.0), Some(-1.0), Some(0.0))
    );
    app.get("/v1/forecast/backtest?months=25", &manager)
        .await
        .expect(400);
}

async fn admins_keep_several_pipelines_and_deals_follow_theirs() {
    let app = TestApp::spawn().await;
    let f = fixture(&app.state).await;
    let admin = app.token(&f.admin);
    let rep = app.token(&f.east_rep);
    let stage = |key: &str, kind: &str, p: f64| {
        json!({"key": key, "name": {"zh": key, "en": key}, "kind": kind,
            "forecast": if kind == "open" { "pipeline" } else { "closed" }, "win_probability": p})
    };
    let mut draft = json!({
        "name": {"zh": "项目型销售", "en": "Projects"},
        "stages": [stage("tender", "open", 0.2), stage("bid", "open", 0.5), stage("won", "won", 1.0), stage("lost", "lost", 0.0)],
        "lost_reasons": [{"key": "price", "name": {"zh": "价格", "en": "Price"}}]
    });
    draft["stages"][1]["gate"] = json!([{"when": {"field": "deal.amount", "op": "gt", "value": 0},
        "message": {"zh": "请填写投标金额", "en": "Enter the bid amount"}}]);
    app.send(
        Method::PUT,
        "/v1/pipelines/projects",
        Some(&rep),
        Some(&json!({"pipeline": draft})),
    )
    .await
    .expect(403);
    let saved = app
        .send(
            Method::PUT,
            "/v1/pipelines/projects",
            Some(&admin),
            Some(&json!({"pipeline": draft})),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(saved["version"], 1);
    // Exists now: a second create is a conflict; a change names its version.
    app.send(
        Method::PUT,
        "/v1/pipelines/projects",
        Some(&admin),
        Some(&json!({"pipeline": draft})),
    )
    .await
    .expect(409);
    let listed = app.get("/v1/pipelines", &rep).await.expect(200).body;
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["default", "projects"]);
    // A pipeline without a lost stage, or with a gate on a field deals do not have, is refused.
    let mut broken = draft.clone();
    broken["stages"].as_array_mut().unwrap().pop();
    let r = app
        .send(
            Method::PUT,
            "/v1/pipelines/other",
            Some(&admin),
            Some(&json!({"pipeline": broken})),
        )
        .await;
    assert_eq!(r.expect(422).body["details"]["field"], "stages");
    let mut typo = draft.clone();
    typo["stages"][1]["gate"][0]["when"]["field"] = json!("deal.amuont");
    let r = app
        .send(
            Method::PUT,
            "/v1/pipelines/other",
            Some(&admin),
            Some(&json!({"pipeline": typo})),
        )
        .await;
    assert_eq!(r.expect(422).body["details"]["field"], "stages.gate.when");

    // A deal in the new pipeline starts in its first stage and meets its gate.
    let lead = app
        .post("/v1/leads", &rep, &lead_body(11))
        .await
        .expect(201)
        .body;
    let id = lead["id"].as_str().unwrap();
    wait_for_intake(&app, &rep, id).await;
    let v = app.get(&format!("/v1/leads/{id}"), &rep).await.body["version"].clone();
    let patch = json!({"expected_version": v, "changes": {"status": "qualified"}});
    app.patch(&format!("/v1/leads/{id}"), &rep, &patch)
        .await
        .expect(200);
    let unknown = app
        .post(
            &format!("/v1/leads/{id}/convert"),
            &rep,
            &json!({"pipeline": "nope"}),
        )
        .await;
    assert_eq!(unknown.expect(422).body["details"]["field"], "pipeline");
    let deal = app
        .post(
            &format!("/v1/leads/{id}/convert"),
            &rep,
            &json!({"pipeline": "projects"}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(
        (deal["pipeline"].as_str(), deal["stage"].as_str()),
        (Some("projects"), Some("tender"))
    );
    let deal = move_to(
        &app,
        &rep,
        &deal,
        json!({"to": "bid", "expected_version": 1}),
    )
    .await
    .expect(200)
    .body;
    assert_eq!(deal["stage"], "bid");
    // The stage a deal sits in cannot be removed; with the deal gone from it, it can.
    let mut fewer = draft.clone();
    fewer["stages"].as_array_mut().unwrap().remove(1);
    let change = json!({"expected_version": 1, "pipeline": fewer});
    assert_eq!(
        app.send(
            Method::PUT,
            "/v1/pipelines/projects",
            Some(&admin),
            Some(&change)
        )
        .await
        .expect(409)
        .code(),
        "conflict"
    );
    move_to(
        &app,
        &rep,
        &deal,
        json!({"to": "lost", "expected_version": 2, "reason": "price"}),
    )
    .await
    .expect(200);
    let saved = app
        .send(
            Method::PUT,
            "/v1/pipelines/projects",
            Some(&admin),
            Some(&change),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(saved["version"], 2);
    let stale = app
        .send(
            Method::PUT,
            "/v1/pipelines/projects",
            Some(&admin),
            Some(&change),
        )
        .await;
    assert_eq!(stale.expect(409).code(), "version_conflict");
}

/// A deal of the rep's at `proposal_sent` with an amount; returns it.
async fn deal_with_a_proposal(app: &TestApp, rep: &str) -> serde_json::Value {
    let deal = converted_deal(app, rep, &lead_body(3)).await;
    let id = deal["id"].as_str().unwrap().to_owned();
    let patch = json!({"expected_version": deal["version"], "changes": {"amount": 120000}});
    let mut deal = app
        .patch(&format!("/v1/deals/{id}"), rep, &patch)
        .await
        .expect(200)
        .body;
    for stage in ["first_call", "demo_done", "proposal_sent"] {
        let v = deal["version"].clone();
        deal = move_to(app, rep, &deal, json!({"to": stage, "expected_version": v}))
            .await
            .expect(200)
            .body;
    }
    deal
}

/// The seeds' gate: 方案已提交 → 价格谈判中 needs a PDF quote sent after the customer's last
/// message. A file that only claims to be a PDF is refused and opens nothing; the real one is
/// logged once however often it is delivered, shows in the deal's recent activities, and
/// opens the gate. Approvals are for managers.
async fn a_quote_upload_opens_the_price_gate() {
    let app = TestApp::spawn().await;
    let f = fixture(&app.state).await;
    let rep = app.token(&f.east_rep);
    let manager = app.token(&f.east_manager);
    let deal = deal_with_a_proposal(&app, &rep).await;
    let id = deal["id"].as_str().unwrap().to_owned();
    let activities = format!("/v1/deals/{id}/activities");
    let asked = json!({"kind": "message", "summary": "客户：请发正式报价"});
    let logged = app.post(&activities, &rep, &asked).await.expect(201).body;
    assert_eq!(logged["activity"]["deal"], json!(id));
    let deal = logged["deal"].clone();

    let v = deal["version"].clone();
    let to_price = json!({"to": "price_negotiation", "expected_version": v});
    let blocked = move_to(&app, &rep, &deal, to_price.clone())
        .await
        .expect(422);
    let unmet = blocked.body["details"]["unmet"].as_array().unwrap().clone();
    assert_eq!(unmet.len(), 1, "{unmet:?}");
    assert!(unmet[0]["message"].as_str().unwrap().contains("报价单"));

    let pdf: Vec<u8> = [&b"%PDF-1.7\n"[..], &[b'x'; 300][..], &b"\n%%EOF\n"[..]].concat();
    let uploads = format!("/v1/deals/{id}/uploads");
    let ask = |name: &str| json!({"file_name": name, "content_type": "application/pdf", "size": pdf.len()});
    // Another team's rep cannot attach to it.
    let south = app.token(&f.south_rep);
    app.post(&uploads, &south, &ask("报价单.pdf"))
        .await
        .expect(403);
    // Bytes that only claim to be a PDF.
    let fake = app
        .post(&uploads, &rep, &ask("报价单-v1.pdf"))
        .await
        .expect(201)
        .body;
    let mut not_pdf = b"MZ\x90\0 this is an executable".to_vec();
    not_pdf.resize(pdf.len(), b' ');
    let (status, outcome) = app.upload(&fake, not_pdf).await;
    let refused = if app.functions.is_some() {
        outcome["code"].clone()
    } else {
        assert_eq!(status, 422);
        outcome["code"].clone()
    };
    assert_eq!(refused, "upload_content_mismatch", "{outcome}");
    let listed = app.get(&activities, &rep).await.expect(200).body;
    assert_eq!(
        listed.as_array().unwrap().len(),
        1,
        "nothing logged: {listed}"
    );
    let current = app
        .get(&format!("/v1/deals/{id}"), &rep)
        .await
        .expect(200)
        .body;
    assert_eq!(
        current["version"], v,
        "a refused file leaves the deal alone"
    );

    // The real quote, delivered twice (a retried PUT, a redelivered event).
    let ticket = app
        .post(&uploads, &rep, &ask("报价单-v2.pdf"))
        .await
        .expect(201)
        .body;
    assert!(ticket["upload"].is_string());
    let (_, first) = app.upload(&ticket, pdf.clone()).await;
    let (_, again) = app.upload(&ticket, pdf.clone()).await;
    assert_eq!(first["outcome"], "recorded", "{first}");
    assert_eq!(first["activity"], again["activity"]);
    // Corrected bytes sent to the same URL replace the file, not the log line.
    let mut corrected = pdf.clone();
    corrected[12] = b'y';
    let (_, replaced) = app.upload(&ticket, corrected).await;
    assert_eq!(replaced["activity"], first["activity"]);
    let listed = app.get(&activities, &rep).await.expect(200).body;
    let files: Vec<&serde_json::Value> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "attachment")
        .collect();
    assert_eq!(files.len(), 1, "{listed}");
    assert_eq!(files[0]["attachment"]["file_name"], "报价单-v2.pdf");
    assert_eq!(files[0]["author"], json!(f.east_rep.id));

    let deal = app
        .get(&format!("/v1/deals/{id}"), &rep)
        .await
        .expect(200)
        .body;
    let v = deal["version"].clone();
    let moved = move_to(
        &app,
        &rep,
        &deal,
        json!({"to": "price_negotiation", "expected_version": v}),
    )
    .await
    .expect(200)
    .body;
    assert_eq!(moved["stage"], "price_negotiation");

    // The list item carries the last three activities, newest first.
    let listed = app
        .get("/v1/deals?stage=price_negotiation", &rep)
        .await
        .expect(200)
        .body;
    let item = &listed["items"][0];
    let kinds: Vec<&str> = item["recent_activities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["attachment", "message"]);

    // Approvals come from managers only; attachments only from uploads.
    let approval = json!({"kind": "approval", "summary": "同意 9 折"});
    let refused = app.post(&activities, &rep, &approval).await.expect(422);
    assert_eq!(refused.body["details"]["field"], "kind");
    app.post(&activities, &manager, &approval).await.expect(201);
    let forged = json!({"kind": "attachment", "summary": "报价单.pdf"});
    app.post(&activities, &rep, &forged).await.expect(422);
}

/// Rule decisions on a deal once `rule` has logged `count` actions.
async fn deal_decisions(
    app: &TestApp,
    token: &str,
    deal: &str,
    rule: &str,
    count: usize,
) -> Vec<serde_json::Value> {
    let path = format!("/v1/deals/{deal}/decisions");
    decisions_of_rule(app, token, &path, rule, count).await
}

async fn escalations_about(app: &TestApp, token: &str, deal: &str) -> usize {
    app.get("/v1/me/notifications", token)
        .await
        .expect(200)
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "escalation" && n["deal"] == deal)
        .count()
}

/// The seeds' stage-action timer, from the default deal rules: entering 首次电话沟通 gives
/// the rep a 2 h task and starts a clock; a structured note stops it; without one the manager
/// is alerted once (the timer fires once however long it stays late).
async fn a_late_call_note_escalates_once_and_a_filed_one_stops_the_clock() {
    let clock = ManualClock::at(chrono::Utc::now());
    let app = TestApp::spawn_with_clock(clock.clone()).await;
    let f = fixture(&app.state).await;
    let rep = app.token(&f.east_rep);
    let manager = app.token(&f.east_manager);
    let late = converted_deal(&app, &rep, &lead_body(4)).await;
    let filed = converted_deal(&app, &rep, &lead_body(5)).await;
    for deal in [&late, &filed] {
        move_to(
            &app,
            &rep,
            deal,
            json!({"to": "first_call", "expected_version": 1}),
        )
        .await
        .expect(200);
    }
    let late_id = late["id"].as_str().unwrap();
    let filed_id = filed["id"].as_str().unwrap();
    for id in [late_id, filed_id] {
        let started = deal_decisions(&app, &rep, id, "first-call-note-clock", 2).await;
        assert!(
            started.iter().all(|d| d["outcome"] == "done"),
            "{started:?}"
        );
    }
    let tasks = app.get("/v1/me/tasks", &rep).await.expect(200).body;
    let note_tasks = tasks
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["deal"] == late_id && t["title"].as_str().unwrap().contains("通话纪要"))
        .count();
    assert_eq!(note_tasks, 1, "{tasks:#}");

    // A note without the structure does not count; the structured one does.
    clock.advance_hours(1.0);
    let notes = format!("/v1/deals/{filed_id}/activities");
    app.post(
        &notes,
        &rep,
        &json!({"kind": "note", "summary": "聊得不错"}),
    )
    .await
    .expect(201);
    let next = (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339();
    let structured = json!({"kind": "note", "summary": "首次通话纪要", "structured": {
        "concerns": ["价格", "交期", "售后响应"], "promised": "周五前发报价单",
        "next_contact_at": next}});
    let logged = app.post(&notes, &rep, &structured).await.expect(201).body;
    assert_eq!(logged["activity"]["structured"]["concerns"][2], "售后响应");
    deal_decisions(&app, &rep, filed_id, "structured-note-stops-clock", 1).await;

    // Two hours and more pass: the late deal escalates, once; the filed one stays quiet.
    clock.advance_hours(1.5);
    let fired = deal_decisions(&app, &rep, late_id, "late-note-escalates", 2).await;
    assert_eq!(fired[0]["evidence"][0]["actual"], "structured_note");
    eventually("the manager is told", || async {
        (escalations_about(&app, &manager, late_id).await == 1).then_some(())
    })
    .await;
    clock.advance_hours(30.0);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(escalations_about(&app, &manager, late_id).await, 1);
    assert_eq!(escalations_about(&app, &manager, filed_id).await, 0);
    let decisions = app
        .get(&format!("/v1/deals/{filed_id}/decisions"), &rep)
        .await
        .expect(200)
        .body;
    assert!(
        !decisions
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["rule"] == "late-note-escalates"),
        "{decisions:#}"
    );
    // The other team's manager hears nothing, and cannot read the deal's decisions.
    assert_eq!(
        escalations_about(&app, &app.token(&f.south_manager), late_id).await,
        0
    );
    app.get(
        &format!("/v1/deals/{late_id}/decisions"),
        &app.token(&f.south_manager),
    )
    .await
    .expect(403);
}

/// A deal at `proposal_sent` with a real quote attached; returns (deal id, upload id, bytes).
async fn deal_with_a_quote(app: &TestApp, rep: &str) -> (String, String, Vec<u8>) {
    let deal = deal_with_a_proposal(app, rep).await;
    let id = deal["id"].as_str().unwrap().to_owned();
    let pdf: Vec<u8> = [&b"%PDF-1.7\n"[..], &[b'q'; 200][..], &b"\n%%EOF\n"[..]].concat();
    let ask = json!({"file_name": "报价单 <v3>.pdf", "content_type": "application/pdf",
        "size": pdf.len()});
    let ticket = app
        .post(&format!("/v1/deals/{id}/uploads"), rep, &ask)
        .await
        .expect(201)
        .body;
    let (_, outcome) = app.upload(&ticket, pdf.clone()).await;
    assert_eq!(outcome["outcome"], "recorded", "{outcome}");
    (id, ticket["upload"].as_str().unwrap().to_owned(), pdf)
}

/// Material packs: a rep bundles the deal's files into one link; the customer opens it with
/// no login (page or JSON) and downloads the files; the first opening tells the owner through
/// a rule, once; the link expires, is rate-limited, and a made-up token finds nothing.
async fn a_material_link_opened_by_the_customer_fires_a_rule() {
    let clock = ManualClock::at(chrono::Utc::now());
    let app = TestApp::spawn_with_clock(clock.clone()).await;
    let f = fixture(&app.state).await;
    let rep = app.token(&f.east_rep);
    let (deal, upload, pdf) = deal_with_a_quote(&app, &rep).await;
    let materials = format!("/v1/deals/{deal}/materials");
    let body = json!({"name": "方案与报价", "files": [upload], "expires_in_days": 3});
    app.post(&materials, &app.token(&f.south_rep), &body)
        .await
        .expect(403);
    let stranger = json!({"name": "x", "files": [uuid::Uuid::now_v7()]});
    let refused = app.post(&materials, &rep, &stranger).await.expect(422);
    assert_eq!(refused.body["details"]["field"], "files");
    let created = app.post(&materials, &rep, &body).await.expect(201).body;
    let url = created["url"].as_str().unwrap().to_owned();
    assert_eq!(url.len(), "/m/".len() + 43);
    assert!(created["pack"].get("token_hash").is_none());

    // The customer, without an account.
    let customer = reqwest::Client::new();
    let open = |accept: &'static str| {
        let req = customer
            .get(format!("{}{url}", app.base))
            .header("accept", accept)
            .header("accept-language", "zh-CN");
        async move { req.send().await.unwrap() }
    };
    let page = open("text/html").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("报价单 &lt;v3&gt;.pdf"), "{html}");
    assert!(html.contains("您的资料"));
    let listed: serde_json::Value = open("application/json").await.json().await.unwrap();
    assert_eq!(listed["name"], "方案与报价");
    let file = customer
        .get(format!("{}{url}/files/0", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(file.status(), 200);
    assert_eq!(file.bytes().await.unwrap().to_vec(), pdf);
    let missing = customer
        .get(format!("{}{url}/files/5", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    // The first opening told the owner, once, through the default rule.
    let told = deal_decisions(&app, &rep, &deal, "material-opened-tells-owner", 1).await;
    assert_eq!(told[0]["trigger"], "material_opened");
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let inbox = app.get("/v1/me/notifications", &rep).await.expect(200).body;
    let about: Vec<_> = inbox
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["rule"] == "material-opened-tells-owner" && n["deal"] == deal.as_str())
        .collect();
    assert_eq!(about.len(), 1, "{inbox:#}");
    let packs = app.get(&materials, &rep).await.expect(200).body;
    assert_eq!(packs[0]["opens"], 2);

    // A token nobody issued, a malformed one: nothing.
    let fake = format!("{}/m/{}", app.base, "x".repeat(43));
    assert_eq!(customer.get(fake).send().await.unwrap().status(), 404);
    let short = format!("{}/m/abc", app.base);
    assert_eq!(customer.get(short).send().await.unwrap().status(), 404);

    // Hammering one link is cut off, with a time to come back.
    let mut limited = None;
    for _ in 0..40 {
        let r = open("application/json").await;
        if r.status() == 429 {
            limited = Some(r);
            break;
        }
    }
    let limited = limited.expect("the link was never rate-limited");
    assert!(limited.headers().contains_key("retry-after"));
    let body: serde_json::Value = limited.json().await.unwrap();
    assert_eq!(body["code"], "rate_limited");

    // A link sent to the wrong person is withdrawn at once (by the rep; twice is harmless).
    let third = app
        .post(&materials, &rep, &body_for(&upload))
        .await
        .expect(201)
        .body;
    let third_url = format!("{}{}", app.base, third["url"].as_str().unwrap());
    let revoke = format!(
        "{materials}/{}/revoke",
        third["pack"]["id"].as_str().unwrap()
    );
    app.post(&revoke, &app.token(&f.south_rep), &json!({}))
        .await
        .expect(403);
    let revoked = app.post(&revoke, &rep, &json!({})).await.expect(200).body;
    assert_eq!(revoked["revoked"], true);
    app.post(&revoke, &rep, &json!({})).await.expect(200);
    let withdrawn = customer.get(&third_url).send().await.unwrap();
    assert_eq!(withdrawn.status(), 410);
    let body: serde_json::Value = withdrawn.json().await.unwrap();
    assert_eq!(body["code"], "link_revoked");

    // A second pack expires after its three days.
    let second = app
        .post(&materials, &rep, &body_for(&upload))
        .await
        .expect(201)
        .body;
    let second_url = format!("{}{}", app.base, second["url"].as_str().unwrap());
    assert_eq!(
        customer.get(&second_url).send().await.unwrap().status(),
        200
    );
    clock.advance_hours(73.0);
    let gone = customer.get(&second_url).send().await.unwrap();
    assert_eq!(gone.status(), 410);
    let body: serde_json::Value = gone.json().await.unwrap();
    assert_eq!(body["code"], "link_expired");
}

fn body_for(upload: &str) -> serde_json::Value {
    json!({"name": "Quote", "files": [upload], "expires_in_days": 3})
}

fieldline_tests::on_both_backends!(
    a_material_link_opened_by_the_customer_fires_a_rule,
    a_late_call_note_escalates_once_and_a_filed_one_stops_the_clock,
    a_quote_upload_opens_the_price_gate,
    admins_keep_several_pipelines_and_deals_follow_theirs,
    the_forecast_and_its_backtest_come_from_the_tenants_own_deals,
    pipeline_metrics_are_rebuilt_from_the_stage_log,
    a_qualified_lead_converts_once_into_customer_contact_and_deal,
    a_deal_walks_the_pipeline_through_its_gates_and_keeps_its_log,
    deals_go_overdue_by_their_stage_and_the_board_sums_each_column,
);
