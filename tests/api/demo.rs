use fieldline_demo as demo;
use fieldline_tests::*;
use std::collections::HashSet;

#[tokio::test]
async fn demo_tenant_is_alive_and_seeding_twice_is_harmless() {
    let app = TestApp::spawn().await;
    let summary = demo::seed(&app.state, 150, 60, 7).await.unwrap();
    assert!(summary.created);
    assert_eq!(
        (summary.managers.len(), summary.reps.len(), summary.leads),
        (3, 20, 150)
    );
    assert_eq!(summary.deals, 60);
    let admin = app.token(&summary.admin);

    let mut all = Vec::new();
    let mut path = "/v1/leads?limit=200".to_owned();
    loop {
        let page = app.get(&path, &admin).await.expect(200).body;
        all.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/leads?limit=200&cursor={c}"),
            None => break,
        }
    }
    // The quarter's leads plus one converted lead behind each deal.
    assert_eq!(all.len(), 150 + 60);
    let statuses: HashSet<&str> = all.iter().map(|l| l["status"].as_str().unwrap()).collect();
    assert!(
        statuses.contains("new")
            && statuses.contains("contacted")
            && statuses.contains("qualified"),
        "{statuses:?}"
    );
    let priorities: HashSet<&str> = all
        .iter()
        .map(|l| l["priority"].as_str().unwrap())
        .collect();
    assert!(priorities.len() >= 3, "{priorities:?}");
    let names: Vec<&str> = all
        .iter()
        .map(|l| l["contact"]["name"].as_str().unwrap())
        .collect();
    assert!(
        names
            .iter()
            .any(|n| n.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))),
        "Chinese names"
    );
    assert!(names.iter().any(|n| n.is_ascii()), "English names");

    let rep = &summary.reps[0];
    let mine = app
        .get("/v1/leads?limit=200", &app.token(rep))
        .await
        .expect(200)
        .body;
    assert!(
        mine["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["owner"] == json!(rep.id))
    );

    // A year of deals: every kind of outcome, and figures to show on first start.
    let manager = app.token(&summary.managers[0]);
    let deals = app
        .get("/v1/deals?limit=200", &admin)
        .await
        .expect(200)
        .body;
    let deals = deals["items"].as_array().unwrap();
    assert_eq!(deals.len(), 60);
    let statuses: HashSet<&str> = deals
        .iter()
        .map(|d| d["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses.len(), 3, "open, won and lost: {statuses:?}");
    let now = chrono::Utc::now();
    let from =
        (now - chrono::Duration::days(365)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let to = (now + chrono::Duration::days(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let metrics = app
        .get(&format!("/v1/metrics/pipeline?from={from}&to={to}"), &admin)
        .await
        .expect(200)
        .body;
    assert_eq!(metrics["cohort"], 60);
    assert!(metrics["won"].as_u64().unwrap() > 0 && metrics["lost"].as_u64().unwrap() > 0);
    assert!(!metrics["heat_map"].as_array().unwrap().is_empty());
    let backtest = app
        .get("/v1/forecast/backtest?months=6", &manager)
        .await
        .expect(200)
        .body;
    assert_eq!(backtest["months"].as_array().unwrap().len(), 6);
    // Converted leads of one company joined one customer: no two customers share a name once
    // normalised, and every deal's customer is listed.
    let customers = app
        .get("/v1/customers?limit=200", &admin)
        .await
        .expect(200)
        .body;
    let customers = customers["items"].as_array().unwrap();
    let keys: HashSet<String> = customers
        .iter()
        .map(|c| fieldline_domain::company_key(c["name"].as_str().unwrap()))
        .collect();
    assert_eq!(keys.len(), customers.len());
    let ids: HashSet<&str> = customers
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert!(
        deals
            .iter()
            .all(|d| ids.contains(d["customer"].as_str().unwrap()))
    );

    // Eight weeks of store tags, and this week's spike in the South.
    let tags = app
        .get("/v1/metrics/sale-tags?weeks=8", &admin)
        .await
        .expect(200)
        .body;
    assert_eq!(tags["regions"].as_array().unwrap().len(), 2, "{tags}");
    assert!(tags["counts"].as_array().unwrap().len() >= 14, "{tags}");
    assert!(
        tags["spikes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["tag"] == "obstacle:交期太长"),
        "{}",
        tags["spikes"]
    );

    // Orders in every state the warehouse and finance see, and one tripped breaker.
    let mut statuses = HashSet::new();
    let mut path = "/v1/orders?limit=200".to_owned();
    loop {
        let page = app.get(&path, &admin).await.expect(200).body;
        for o in page["items"].as_array().unwrap() {
            statuses.insert(o["status"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/orders?limit=200&cursor={c}"),
            None => break,
        }
    }
    for s in ["delivered", "to_ship"] {
        assert!(statuses.contains(s), "{s} in {statuses:?}");
    }
    let map = app
        .get("/v1/stock/imbalance", &admin)
        .await
        .expect(200)
        .body;
    assert_eq!(map[0]["sku"], "LUB-18L", "{map:#}");
    assert!(
        map[0]["cells"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["location"] == "WH-SH" && c["state"] == "tripped"),
        "{map:#}"
    );

    // Two years of orders: every SKU × warehouse is forecast, the fitted holiday effect is
    // the one the history was made with (demand proportional to working days), and the
    // backtest beats the seasonal naive forecast.
    let demand = app
        .get("/v1/forecast/demand?horizon=6", &admin)
        .await
        .expect(200)
        .body;
    assert_eq!(demand["series_total"], 24, "{}", demand["backtest"]);
    let effect = demand["calendar_effect"]["working_day_weight"]
        .as_f64()
        .unwrap();
    assert!(effect > 0.7, "{}", demand["calendar_effect"]);
    let overall = &demand["backtest"]["overall"];
    assert!(overall["skill"].as_f64().unwrap() > 0.1, "{overall}");
    assert!(overall["wape"].as_f64().unwrap() < 0.5, "{overall}");
    assert_eq!(demand["series"][0]["weeks"].as_array().unwrap().len(), 6);

    // The back office has work on first start: orders to ship, stock to replenish.
    let [warehouse, purchasing] = &summary.back_office[..] else {
        panic!("{:?}", summary.back_office)
    };
    let queue = app
        .get("/v1/orders?status=to_ship", &app.token(warehouse))
        .await
        .expect(200)
        .body;
    assert!(!queue["items"].as_array().unwrap().is_empty(), "{queue}");
    let plan = app
        .get("/v1/stock/replenishment", &app.token(purchasing))
        .await
        .expect(200)
        .body;
    assert!(plan.to_string().contains("LUB-18L"), "{plan}");

    let again = demo::seed(&app.state, 150, 60, 7).await.unwrap();
    assert!(!again.created);
    assert_eq!(again.reps.len(), 20);
    assert_eq!(again.back_office.len(), 2);
}
