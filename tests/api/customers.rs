//! Customers through HTTP: created with their contacts, de-duplicated within the tenant on
//! the company name and on contacts' phones and e-mails (a duplicate answers 409 with the
//! record that exists, or only its id outside the caller's scope), scoped like deals. Each
//! scenario runs on the embedded server and on the AWS functions (DynamoDB on moto).

use crate::deals::converted_deal;
use fieldline_domain::User;
use fieldline_tests::*;
use reqwest::Method;
use serde_json::Value;

async fn a_duplicate_company_or_contact_is_refused_with_the_record_that_exists() {
    let app = TestApp::spawn().await;
    let f = fixture(&app.state).await;
    let rep = app.token(&f.east_rep);
    let body = json!({
        "name": "杭州东方五金有限公司",
        "kind": "distributor",
        "addresses": [{"text": "杭州市西湖区文三路 90 号", "geo": {"lat": 30.28, "lon": 120.13}}],
        "tags": ["五金", "五金"],
        "contacts": [{"name": "王建国", "title": "采购经理", "phones": ["138 1234 5678"],
            "email": "Wang@DongFang.cn", "decision_role": "decision_maker"}]
    });
    let created = app
        .post("/v1/customers", &rep, &body)
        .await
        .expect(201)
        .body;
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["owner"], json!(f.east_rep.id));
    assert_eq!(created["tags"], json!(["五金"]));
    assert_eq!(created["contacts"][0]["phones"], json!(["+8613812345678"]));

    // The same company, written another way, by the same rep: refused with the record.
    let again = app
        .post("/v1/customers", &rep, &json!({"name": "杭州东方五金"}))
        .await
        .expect(409)
        .body;
    assert_eq!(again["code"], "duplicate");
    assert_eq!(again["details"]["key"], "customer:name:杭州东方五金");
    assert_eq!(again["details"]["existing"]["id"], json!(id));
    assert_eq!(again["details"]["existing"]["name"], "杭州东方五金有限公司");

    // By a rep of another team: refused too, but they learn only that it exists.
    let south = app.token(&f.south_rep);
    let theirs = app
        .post(
            "/v1/customers",
            &south,
            &json!({"name": "杭州东方五金 Co., Ltd."}),
        )
        .await
        .expect(409)
        .body;
    assert_eq!(
        theirs["details"]["existing"],
        json!({"id": id, "kind": "customer"})
    );
    app.get(&format!("/v1/customers/{id}"), &south)
        .await
        .expect(403);

    // A contact whose phone or e-mail another contact has.
    let mine = app
        .post("/v1/customers", &rep, &json!({"name": "宁波海天贸易"}))
        .await
        .expect(201)
        .body;
    let contacts = format!("/v1/customers/{}/contacts", mine["id"].as_str().unwrap());
    let clash = app
        .post(
            &contacts,
            &rep,
            &json!({"name": "王建国", "emails": ["wang@ningbo.cn", "wang@dongfang.cn"]}),
        )
        .await
        .expect(409)
        .body;
    assert_eq!(clash["details"]["key"], "contact:email:wang@dongfang.cn");
    assert_eq!(clash["details"]["existing"]["name"], "王建国");
    let added = app
        .post(
            &contacts,
            &rep,
            &json!({"name": "李娜", "phones": ["13900001111"], "emails": ["li@ht.cn", "lina@qq.com"], "decision_role": "influencer"}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(added["decision_role"], "influencer");
    assert_eq!(added["emails"], json!(["li@ht.cn", "lina@qq.com"]));

    // Bad input is refused before anything is stored.
    let bad_phone =
        json!({"name": "温州瓯海电器", "contacts": [{"name": "张三", "phones": ["12"]}]});
    let refused = app
        .post("/v1/customers", &rep, &bad_phone)
        .await
        .expect(422);
    assert_eq!(refused.body["code"], "invalid_field");
    let twice = json!({"name": "温州瓯海电器", "contacts": [
        {"name": "张三", "phones": ["13700001111"]},
        {"name": "张四", "phones": ["+86 137 0000 1111"]}]});
    app.post("/v1/customers", &rep, &twice).await.expect(422);
    let geo = json!({"name": "温州瓯海电器", "addresses": [{"text": "温州", "geo": {"lat": 91.0, "lon": 0.0}}]});
    app.post("/v1/customers", &rep, &geo).await.expect(422);
    // None of those left the name taken.
    app.post(
        "/v1/customers",
        &rep,
        &json!({"name": "温州瓯海电器有限公司"}),
    )
    .await
    .expect(201);

    // A rename onto another customer's name is refused; a real one frees the old name.
    let path = format!("/v1/customers/{}", mine["id"].as_str().unwrap());
    let onto = json!({"expected_version": 1, "changes": {"name": "杭州东方五金"}});
    let refused = app.patch(&path, &rep, &onto).await.expect(409).body;
    assert_eq!(refused["code"], "duplicate");
    let renamed =
        json!({"expected_version": 1, "changes": {"name": "宁波海天国际贸易", "tags": ["外贸"]}});
    let after = app.patch(&path, &rep, &renamed).await.expect(200).body;
    assert_eq!(
        (after["version"].clone(), after["tags"].clone()),
        (json!(2), json!(["外贸"]))
    );
    app.patch(&path, &rep, &renamed).await.expect(409);
    app.post("/v1/customers", &rep, &json!({"name": "宁波海天贸易"}))
        .await
        .expect(201);
    app.patch(&format!("/v1/customers/{id}"), &south, &renamed)
        .await
        .expect(403);

    // Scopes: the rep sees their own, the East manager the team's, another team nothing of
    // it; another tenant may have a company of the same name.
    let listed = app.get("/v1/customers", &rep).await.expect(200).body;
    assert_eq!(listed["items"].as_array().unwrap().len(), 4);
    let manager = app.token(&f.east_manager);
    let detail = app
        .get(&format!("/v1/customers/{id}"), &manager)
        .await
        .expect(200)
        .body;
    assert_eq!(detail["contacts"].as_array().unwrap().len(), 1);
    let found = app
        .get(
            "/v1/customers?q=%E4%B8%9C%E6%96%B9%20%E4%BA%94%E9%87%91",
            &manager,
        )
        .await
        .expect(200)
        .body;
    assert_eq!(
        found["items"][0]["id"],
        json!(id),
        "東方 五金 finds 杭州东方五金有限公司"
    );
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    app.get("/v1/customers?q=%20-%20", &manager)
        .await
        .expect(400);
    let south_list = app.get("/v1/customers", &south).await.expect(200).body;
    assert!(south_list["items"].as_array().unwrap().is_empty());
    let globex = app.token(&f.globex_rep);
    app.post(
        "/v1/customers",
        &globex,
        &json!({"name": "杭州东方五金有限公司"}),
    )
    .await
    .expect(201);
    let page = app
        .get("/v1/customers?limit=3", &rep)
        .await
        .expect(200)
        .body;
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest = app
        .get(&format!("/v1/customers?limit=3&cursor={cursor}"), &rep)
        .await
        .expect(200)
        .body;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert!(rest["next_cursor"].is_null());

    // Handing a customer over: not by a rep; by the manager within the team, and the
    // customer leaves the old owner's view.
    let hand = json!({"expected_version": 2, "changes": {"owner": f.east_rep2.id}});
    app.patch(&path, &rep, &hand).await.expect(403);
    let elsewhere = json!({"expected_version": 2, "changes": {"owner": f.south_rep.id}});
    app.patch(&path, &manager, &elsewhere).await.expect(403);
    let handed = app.patch(&path, &manager, &hand).await.expect(200).body;
    assert_eq!(
        (handed["owner"].clone(), handed["version"].clone()),
        (json!(f.east_rep2.id), json!(3))
    );
    app.get(&path, &rep).await.expect(403);
    let rep2 = app.token(&f.east_rep2);
    let theirs_now = app.get("/v1/customers", &rep2).await.expect(200).body;
    assert_eq!(theirs_now["items"][0]["id"], handed["id"]);
}

/// Leads of a company the tenant knows convert onto its one customer: the same person (by
/// phone) onto their contact, a colleague as a new contact there.
async fn a_converted_lead_holds_its_company_against_later_duplicates() {
    let app = TestApp::spawn().await;
    let f = fixture(&app.state).await;
    let rep = app.token(&f.east_rep);
    let deal = converted_deal(&app, &rep, &lead_body(7)).await;
    let reply = app
        .post(
            "/v1/customers",
            &rep,
            &json!({"name": "苏州精密机械", "contacts": [{"name": "某人", "phones": ["13612345678"]}]}),
        )
        .await
        .expect(409)
        .body;
    assert_eq!(reply["details"]["existing"]["id"], deal["customer"]);
    // The converted contact's phone is held as well.
    let other = app
        .post(
            "/v1/customers",
            &rep,
            &json!({"name": "常州精工", "contacts": [{"name": "王建国", "phones": ["139 0000 0007"]}]}),
        )
        .await
        .expect(409)
        .body;
    assert_eq!(other["details"]["key"], "contact:phone:+8613900000007");

    // The same person again, from a later lead: their contact, the same customer.
    let again = converted_deal(&app, &rep, &lead_body(7)).await;
    assert_eq!(again["customer"], deal["customer"]);
    assert_eq!(again["contacts"], deal["contacts"]);
    // A colleague at the same company (another phone, the company typed differently).
    let mut colleague = lead_body(8);
    colleague["contact"]["company"] = json!("苏州精密机械 Co., Ltd.");
    let third = converted_deal(&app, &rep, &colleague).await;
    assert_eq!(third["customer"], deal["customer"]);
    assert_ne!(third["contacts"], deal["contacts"]);
    let customer = app
        .get(
            &format!("/v1/customers/{}", deal["customer"].as_str().unwrap()),
            &rep,
        )
        .await
        .expect(200)
        .body;
    assert_eq!(customer["contacts"].as_array().unwrap().len(), 2);
    let all = app.get("/v1/customers", &rep).await.expect(200).body;
    assert_eq!(all["items"].as_array().unwrap().len(), 1);
}

/// Moves the clock to the given instant (Shanghai is UTC+8 all year).
fn move_to(clock: &ManualClock, from: &mut chrono::DateTime<chrono::Utc>, to: &str) {
    let to: chrono::DateTime<chrono::Utc> = to.parse().unwrap();
    clock.advance_hours((to - *from).num_seconds() as f64 / 3600.0);
    *from = to;
}

async fn month_grade(app: &TestApp, token: &str, id: &str, month: &str) -> Value {
    eventually(&format!("the closed grade of {month}"), || async {
        let history = app
            .get(&format!("/v1/customers/{id}/grade/history"), token)
            .await
            .expect(200)
            .body;
        history
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["month"] == month && s["closed"] == true)
            .cloned()
    })
    .await
}

async fn relationship_tasks(app: &TestApp, token: &str, id: &str) -> Vec<Value> {
    let tasks = app.get("/v1/me/tasks", token).await.expect(200).body;
    tasks
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["customer"] == id && t["rule"] == "relationship_reinforcement")
        .cloned()
        .collect()
}

/// The seeds' failure to fix: a customer who buys a lot but stops talking to us. Active in
/// August it is class A; quiet from September it falls to B as a churn risk (the owner is
/// told why), and after two quiet months the owner gets one 关系加固 task — not a second one
/// when November is quiet too. Coverage rises when a technical contact is met.
async fn a_big_customer_gone_quiet_yields_one_relationship_task() {
    let mut now: chrono::DateTime<chrono::Utc> = "2026-08-05T02:00:00Z".parse().unwrap();
    let clock = ManualClock::at(now);
    let app = TestApp::spawn_with_clock(clock.clone()).await;
    let f = fixture(&app.state).await;
    let (admin, rep, manager) = (
        app.token(&f.admin),
        app.token(&f.east_rep),
        app.token(&f.east_manager),
    );
    let created = app
        .post(
            "/v1/customers",
            &admin,
            &json!({"name": "宁波大港机械有限公司", "kind": "enterprise", "owner": f.east_rep.id}),
        )
        .await
        .expect(201)
        .body;
    let id = created["id"].as_str().unwrap().to_owned();
    let at = |p: &str| format!("/v1/customers/{id}{p}");

    // 年采购 60 万: posted by a manager; a rep may not, and a re-post records nothing.
    let purchase =
        json!({"reference": "INV-2026-0801", "amount": 600000, "at": "2026-08-01T02:00:00Z"});
    app.post(&at("/purchases"), &rep, &purchase)
        .await
        .expect(403);
    let first = app
        .post(&at("/purchases"), &manager, &purchase)
        .await
        .expect(201)
        .body;
    assert_eq!(first["currency"], "CNY");
    app.post(&at("/purchases"), &manager, &purchase)
        .await
        .expect(200);
    let changed = json!({"reference": "INV-2026-0801", "amount": 1, "at": "2026-08-01T02:00:00Z"});
    app.post(&at("/purchases"), &manager, &changed)
        .await
        .expect(409);

    // A technical contact: left with us (+10 interaction), not yet met (no coverage).
    app.post(
        &at("/contacts"),
        &rep,
        &json!({"name": "林工", "role": "cto"}),
    )
    .await
    .expect(422);
    let engineer = app
        .post(
            &at("/contacts"),
            &rep,
            &json!({"name": "林工", "title": "技术总监", "role": "technical"}),
        )
        .await
        .expect(201)
        .body;
    let grade = app.get(&at("/grade"), &rep).await.expect(200).body;
    assert_eq!(grade["value"]["score"], 100.0);
    assert_eq!(grade["coverage"]["score"], 0.0);
    assert_eq!(grade["interaction"]["parts"][0]["item"], "contact_left");

    // Two visits with the engineer and a tasting event in August.
    for (i, kind) in ["visit", "visit", "event_attendance"].iter().enumerate() {
        let key = format!("aug-{i}");
        app.send_with(
            Method::POST,
            &at("/activities"),
            Some(&rep),
            Some(&json!({"kind": kind, "summary": "技术交流", "contact": engineer["id"]})),
            &[("idempotency-key", key.as_str())],
        )
        .await
        .expect(201);
    }
    let grade = app.get(&at("/grade"), &rep).await.expect(200).body;
    assert_eq!(
        grade["coverage"]["score"], 25.0,
        "technical is 1 of 4 key roles"
    );
    // 10 + 2×12 + 20 = 54 of 60 points.
    assert!((grade["interaction"]["score"].as_f64().unwrap() - 90.0).abs() < 1e-9);
    assert_eq!(grade["class"], "a");
    assert_eq!(grade["health"], "high_value");
    let parts: f64 = grade["interaction"]["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["points"].as_f64().unwrap())
        .sum();
    assert!((parts - 90.0).abs() < 1e-9, "the explanation adds up");
    // The events regrade the current month.
    eventually("August's running grade", || async {
        let h = app.get(&at("/grade/history"), &rep).await.expect(200).body;
        (h[0]["month"] == "2026-08" && h[0]["grade"]["class"] == "a").then_some(())
    })
    .await;
    // Another team cannot read it.
    app.get(&at("/grade"), &app.token(&f.south_rep))
        .await
        .expect(403);

    // August closes as A.
    move_to(&clock, &mut now, "2026-08-31T17:00:00Z");
    let august = month_grade(&app, &rep, &id, "2026-08").await;
    assert_eq!(august["grade"]["class"], "a");

    // A quiet September: B, churn risk, and the owner is told why.
    move_to(&clock, &mut now, "2026-09-30T17:00:00Z");
    let september = month_grade(&app, &rep, &id, "2026-09").await;
    assert_eq!(september["grade"]["class"], "b");
    assert_eq!(september["grade"]["health"], "churn_risk");
    assert_eq!(september["grade"]["health_label"], "流失风险-需干预");
    let notice = eventually("the grade-drop notice", || async {
        let inbox = app.get("/v1/me/notifications", &rep).await.expect(200).body;
        inbox
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["rule"] == "grade_drop")
            .cloned()
    })
    .await;
    assert!(
        notice["message"].as_str().unwrap().contains("互动强度"),
        "{notice}"
    );
    assert!(
        relationship_tasks(&app, &rep, &id).await.is_empty(),
        "one quiet month is not yet a streak"
    );

    // A second quiet month: one task for the owner; the manager is told.
    move_to(&clock, &mut now, "2026-10-31T17:00:00Z");
    month_grade(&app, &rep, &id, "2026-10").await;
    let tasks = eventually("the relationship task", || async {
        let t = relationship_tasks(&app, &rep, &id).await;
        (!t.is_empty()).then_some(t)
    })
    .await;
    assert_eq!(tasks.len(), 1);
    assert!(tasks[0]["title"].as_str().unwrap().starts_with("关系加固"));
    eventually("the manager's notice", || async {
        let inbox = app
            .get("/v1/me/notifications", &manager)
            .await
            .expect(200)
            .body;
        inbox
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["rule"] == "relationship_reinforcement")
            .then_some(())
    })
    .await;

    // November is quiet too: the same streak, no second task.
    move_to(&clock, &mut now, "2026-11-30T17:00:00Z");
    month_grade(&app, &rep, &id, "2026-11").await;
    assert_eq!(relationship_tasks(&app, &rep, &id).await.len(), 1);
    let history = app.get(&at("/grade/history"), &rep).await.expect(200).body;
    let months: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["month"].as_str().unwrap())
        .collect();
    assert_eq!(
        months,
        ["2026-08", "2026-09", "2026-10", "2026-11", "2026-12"]
    );
}

/// The grading policy is tenant data: everyone reads it, admins replace it (a new version,
/// checked) or roll it back (the old ones are kept), and grades follow it.
async fn the_grading_policy_is_versioned_tenant_data() {
    let app = TestApp::spawn().await;
    let f = fixture(&app.state).await;
    let (admin, rep) = (app.token(&f.admin), app.token(&f.east_rep));
    let mut policy = app.get("/v1/grading/policy", &rep).await.expect(200).body;
    assert_eq!(policy["version"], 1);
    assert_eq!(
        policy["key_roles"],
        json!(["purchasing", "technical", "production", "management"])
    );
    policy["key_roles"] = json!(["technical", "management"]);
    let put = |token: String, body: Value| {
        let app = &app;
        async move {
            app.send(Method::PUT, "/v1/grading/policy", Some(&token), Some(&body))
                .await
        }
    };
    put(rep.clone(), policy.clone()).await.expect(403);
    let mut bad = policy.clone();
    bad["weights"]["value"] = json!(0.9);
    assert_eq!(
        put(admin.clone(), bad).await.expect(422).body["details"]["field"],
        "weights"
    );
    let saved = put(admin.clone(), policy.clone()).await.expect(200).body;
    assert_eq!(saved["version"], 2);
    let created = app
        .post(
            "/v1/customers",
            &rep,
            &json!({"name": "温州瓯江电气", "contacts": [{"name": "张总", "role": "management"}]}),
        )
        .await
        .expect(201)
        .body;
    let grade = app
        .get(
            &format!("/v1/customers/{}/grade", created["id"].as_str().unwrap()),
            &rep,
        )
        .await
        .expect(200)
        .body;
    assert_eq!(grade["policy_version"], 2);
    assert_eq!(grade["coverage"]["parts"].as_array().unwrap().len(), 2);

    // Every version is kept; a rollback puts an old one back as the next version.
    let versions = app
        .get("/v1/grading/policy/versions", &rep)
        .await
        .expect(200)
        .body;
    let numbers: Vec<&Value> = versions
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["version"])
        .collect();
    assert_eq!(numbers, [&json!(2), &json!(1)]);
    assert_eq!(versions[1]["key_roles"].as_array().unwrap().len(), 4);
    let rollback = |token: String, body: Value| {
        let app = &app;
        async move {
            app.send(
                Method::POST,
                "/v1/grading/policy/rollback",
                Some(&token),
                Some(&body),
            )
            .await
        }
    };
    rollback(rep.clone(), json!({"to_version": 1}))
        .await
        .expect(403);
    rollback(
        admin.clone(),
        json!({"to_version": 1, "expected_version": 1}),
    )
    .await
    .expect(409);
    rollback(admin.clone(), json!({"to_version": 7}))
        .await
        .expect(404);
    let back = rollback(
        admin.clone(),
        json!({"to_version": 1, "expected_version": 2}),
    )
    .await
    .expect(200)
    .body;
    assert_eq!(back["version"], 3);
    assert_eq!(back["key_roles"], versions[1]["key_roles"]);
    let grade = app
        .get(
            &format!("/v1/customers/{}/grade", created["id"].as_str().unwrap()),
            &rep,
        )
        .await
        .expect(200)
        .body;
    assert_eq!(grade["policy_version"], 3);
    assert_eq!(grade["coverage"]["parts"].as_array().unwrap().len(), 4);
    // Another tenant keeps the defaults.
    let theirs = app
        .get("/v1/grading/policy", &app.token(&f.globex_rep))
        .await
        .expect(200)
        .body;
    assert_eq!(theirs["version"], 1);
}

/// The customer report against figures worked out by hand (default policy): four customers,
/// two teams, three reps; scoped per caller, percentiles over the tenant's reps.
async fn customer_metrics_match_a_hand_computed_fixture() {
    let app = TestApp::spawn().await;
    let f = fixture(&app.state).await;
    let admin = app.token(&f.admin);
    let customer = |owner: &User, name: &str| {
        let body = json!({"name": name, "owner": owner.id});
        let app = &app;
        let admin = admin.clone();
        async move {
            let c = app
                .post("/v1/customers", &admin, &body)
                .await
                .expect(201)
                .body;
            c["id"].as_str().unwrap().to_owned()
        }
    };
    let contact = |id: String, name: &str, role: &str| {
        let body = json!({"name": name, "role": role});
        let app = &app;
        let admin = admin.clone();
        async move {
            let path = format!("/v1/customers/{id}/contacts");
            let c = app.post(&path, &admin, &body).await.expect(201).body;
            c["id"].as_str().unwrap().to_owned()
        }
    };
    let touch = |id: String, kind: &str, contact: String| {
        let body = json!({"kind": kind, "summary": "拜访", "contact": contact});
        let app = &app;
        let admin = admin.clone();
        async move {
            let path = format!("/v1/customers/{id}/activities");
            app.post(&path, &admin, &body).await.expect(201);
        }
    };
    let buy = |id: String, amount: u64| {
        let body = json!({"reference": format!("INV-{amount}"), "amount": amount,
            "at": (chrono::Utc::now() - chrono::Duration::days(30)).to_rfc3339()});
        let app = &app;
        let admin = admin.clone();
        async move {
            let path = format!("/v1/customers/{id}/purchases");
            app.post(&path, &admin, &body).await.expect(201);
        }
    };
    // C1 (east rep): ¥600k, technical and purchasing contacts met — 2 roles, A, high value.
    let c1 = customer(&f.east_rep, "一号机械").await;
    buy(c1.clone(), 600_000).await;
    let tech = contact(c1.clone(), "林工", "technical").await;
    let buyer = contact(c1.clone(), "王经理", "purchasing").await;
    touch(c1.clone(), "visit", tech).await;
    touch(c1.clone(), "call", buyer).await;
    // C2 (east rep): nothing — C, healthy.
    customer(&f.east_rep, "二号贸易").await;
    // C3 (south rep): management met — 1 role, C, healthy.
    let c3 = customer(&f.south_rep, "三号电气").await;
    let boss = contact(c3.clone(), "张总", "management").await;
    touch(c3.clone(), "visit", boss).await;
    // C4 (east rep 2): ¥500k, nobody met — B, churn risk.
    let c4 = customer(&f.east_rep2, "四号五金").await;
    buy(c4.clone(), 500_000).await;

    let report = eventually("every grade in", || async {
        let r = app
            .get("/v1/metrics/customers", &admin)
            .await
            .expect(200)
            .body;
        (r["total"]["a"] == 1 && r["total"]["b"] == 1 && r["total"]["coverage_depth"] == 0.75)
            .then_some(r)
    })
    .await;
    let total = &report["total"];
    assert_eq!(
        (total["customers"].as_u64(), total["c"].as_u64()),
        (Some(4), Some(2))
    );
    assert_eq!(
        (
            total["high_value"].as_u64(),
            total["churn_risk"].as_u64(),
            total["healthy"].as_u64(),
            total["high_potential"].as_u64()
        ),
        (Some(1), Some(1), Some(2), Some(0))
    );
    assert_eq!(total["coverage_on_target"], false);
    assert_eq!(report["coverage_target"], 2.3);
    let team = |r: &Value, of: &User| {
        r["teams"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["team"] == json!(of.team))
            .cloned()
            .unwrap()
    };
    let east = team(&report, &f.east_rep);
    assert_eq!(east["name"], "East");
    assert_eq!(
        (
            east["customers"].as_u64(),
            east["a"].as_u64(),
            east["b"].as_u64(),
            east["c"].as_u64()
        ),
        (Some(3), Some(1), Some(1), Some(1))
    );
    assert_eq!(east["coverage_depth"], 0.667);
    let south = team(&report, &f.south_rep);
    assert_eq!(
        (
            south["customers"].as_u64(),
            south["coverage_depth"].as_f64()
        ),
        (Some(1), Some(1.0))
    );

    // Coverage depth per rep: east 1.0 (2+0 over 2), east2 0.0, south 1.0 → TOP 67%, 100%, 67%.
    let rep_row = |r: &Value, u: &User| {
        r["reps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["user"] == json!(u.id))
            .cloned()
    };
    let east1 = rep_row(&report, &f.east_rep).unwrap();
    assert_eq!(east1["coverage_depth"], 1.0);
    assert_eq!(east1["coverage_top_percent"], 67);
    assert_eq!(
        rep_row(&report, &f.east_rep2).unwrap()["coverage_top_percent"],
        100
    );
    assert_eq!(
        rep_row(&report, &f.south_rep).unwrap()["coverage_top_percent"],
        67
    );
    assert_eq!(east1["proposals_per_month"], 0.0);
    assert!(
        east1["lead_activation_rate"].is_null(),
        "no leads in the window"
    );
    assert!(
        east1["suggestion"]
            .as_str()
            .unwrap()
            .starts_with("您的客户覆盖深度处于TOP67%，但方案迭代频率仅TOP100%"),
        "{east1}"
    );

    // Scopes: a rep sees their own customers and row; a manager the team's.
    let mine = app
        .get("/v1/metrics/customers", &app.token(&f.east_rep))
        .await
        .expect(200)
        .body;
    assert_eq!(mine["total"]["customers"], 2);
    assert_eq!(mine["reps"].as_array().unwrap().len(), 1);
    assert_eq!(
        rep_row(&mine, &f.east_rep).unwrap()["coverage_top_percent"],
        67,
        "ranked in the tenant"
    );
    let team_view = app
        .get("/v1/metrics/customers", &app.token(&f.east_manager))
        .await
        .expect(200)
        .body;
    assert_eq!(team_view["total"]["customers"], 3);
    assert_eq!(team_view["teams"].as_array().unwrap().len(), 1);
    assert_eq!(team_view["reps"].as_array().unwrap().len(), 2);
    assert!(rep_row(&team_view, &f.south_rep).is_none());
    let other = app
        .get("/v1/metrics/customers", &app.token(&f.globex_admin))
        .await
        .expect(200)
        .body;
    assert_eq!(other["total"]["customers"], 0);

    // The list carries each row's grade and filters by class and health on the server.
    let names = |page: &Value| -> Vec<String> {
        let items = page["items"].as_array().unwrap();
        let grades = page["grades"].as_array().unwrap();
        assert_eq!(items.len(), grades.len(), "one grade per row: {page}");
        for (item, grade) in items.iter().zip(grades) {
            assert_eq!(
                item["id"], grade["customer"],
                "grades in the order of items"
            );
        }
        items
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = app.get("/v1/customers", &admin).await.expect(200).body;
    assert_eq!(names(&all).len(), 4);
    let c1_row = all["grades"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["customer"] == json!(c1))
        .unwrap();
    assert_eq!(
        (&c1_row["class"], &c1_row["health"], &c1_row["roles_met"]),
        (&json!("a"), &json!("high_value"), &json!(2))
    );
    let listed = |query: &'static str, token: String| {
        let app = &app;
        async move {
            let page = app
                .get(&format!("/v1/customers?{query}"), &token)
                .await
                .expect(200)
                .body;
            names(&page)
        }
    };
    assert_eq!(listed("class=a", admin.clone()).await, ["一号机械"]);
    // One row a page: the A customer is the oldest, found by scanning on.
    assert_eq!(listed("class=a&limit=1", admin.clone()).await, ["一号机械"]);
    assert_eq!(
        listed("health=churn_risk", admin.clone()).await,
        ["四号五金"]
    );
    assert_eq!(
        listed("class=c&health=healthy", admin.clone()).await,
        ["三号电气", "二号贸易"]
    );
    let manager = app.token(&f.east_manager);
    assert_eq!(listed("class=c", manager).await, ["二号贸易"], "team scope");
    assert!(listed("class=a", app.token(&f.south_rep)).await.is_empty());
    let bad = app
        .get("/v1/customers?class=z", &admin)
        .await
        .expect(400)
        .body;
    assert_eq!(bad["code"], "invalid_query", "{bad}");
}

/// A duplicate the de-duplication could not see (the company written another way) is merged
/// by the manager: contacts and activities move to the survivor, the duplicate points at it,
/// is no longer listed or changed, and a retry of the merge answers the same.
async fn a_duplicate_is_refused_and_a_hidden_one_merged() {
    let app = TestApp::spawn().await;
    let f = fixture(&app.state).await;
    let (rep, manager) = (app.token(&f.east_rep), app.token(&f.east_manager));
    let first = app
        .post(
            "/v1/customers",
            &rep,
            &json!({"name": "上海联华超市有限公司", "tags": ["KA"],
                "contacts": [{"name": "王建国", "phones": ["13811112222"], "role": "purchasing"}]}),
        )
        .await
        .expect(201)
        .body;
    let first_id = first["id"].as_str().unwrap().to_owned();
    app.post("/v1/customers", &rep, &json!({"name": "上海联华超市"}))
        .await
        .expect(409);
    // Written another way, it slips through.
    let second = app
        .post(
            "/v1/customers",
            &rep,
            &json!({"name": "联华超市（浦东）", "tags": ["社区店"],
                "contacts": [{"name": "林工", "phones": ["13911113333"], "role": "technical"}]}),
        )
        .await
        .expect(201)
        .body;
    let second_id = second["id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/v1/customers/{second_id}/activities"),
        &rep,
        &json!({"kind": "visit", "summary": "门店拜访", "contact": second["contacts"][0]["id"]}),
    )
    .await
    .expect(201);

    let merge = json!({"duplicate": second_id, "expected_version": 1});
    let path = format!("/v1/customers/{first_id}/merge");
    app.post(&path, &app.token(&f.south_manager), &merge)
        .await
        .expect(403);
    app.post(
        &path,
        &manager,
        &json!({"duplicate": first_id, "expected_version": 1}),
    )
    .await
    .expect(422);
    let merged = app.post(&path, &manager, &merge).await.expect(200).body;
    assert_eq!(merged["version"], 2);
    assert_eq!(merged["tags"], json!(["KA", "社区店"]));
    let names: Vec<&str> = merged["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"林工") && names.contains(&"王建国"));
    let again = app.post(&path, &manager, &merge).await.expect(200).body;
    assert_eq!(again["version"], 2, "a retried merge changes nothing");

    let activities = app
        .get(&format!("/v1/customers/{first_id}/activities"), &rep)
        .await
        .expect(200)
        .body;
    assert_eq!(activities.as_array().unwrap().len(), 1);
    assert_eq!(activities[0]["customer"], json!(first_id));
    let pointer = app
        .get(&format!("/v1/customers/{second_id}"), &rep)
        .await
        .expect(200)
        .body;
    assert_eq!(pointer["merged_into"], json!(first_id));
    app.get(&format!("/v1/customers/{second_id}/grade"), &rep)
        .await
        .expect(409);
    app.patch(
        &format!("/v1/customers/{second_id}"),
        &rep,
        &json!({"expected_version": 2, "changes": {"tags": ["x"]}}),
    )
    .await
    .expect(409);
    let listed = app.get("/v1/customers", &rep).await.expect(200).body;
    let ids: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [first_id.as_str()]);
    // The merged name now finds the survivor.
    let dup = app
        .post("/v1/customers", &rep, &json!({"name": "联华超市（浦东）"}))
        .await
        .expect(409)
        .body;
    assert_eq!(dup["details"]["existing"]["id"], json!(first_id));
    // The survivor's grade counts the technical contact met on the duplicate.
    let grade = app
        .get(&format!("/v1/customers/{first_id}/grade"), &rep)
        .await
        .expect(200)
        .body;
    assert_eq!(grade["coverage"]["score"], 25.0);
}

/// A call logged on a customer's deal is interaction with the customer: its grade follows.
async fn calls_on_a_customers_deal_count_as_interaction() {
    let app = TestApp::spawn().await;
    let f = fixture(&app.state).await;
    let rep = app.token(&f.east_rep);
    let deal = converted_deal(&app, &rep, &lead_body(3)).await;
    let customer = deal["customer"].as_str().unwrap().to_owned();
    let grade = app
        .get(&format!("/v1/customers/{customer}/grade"), &rep)
        .await
        .expect(200)
        .body;
    let calls = |g: &Value| {
        g["interaction"]["parts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["item"] == "call")
            .map(|p| p["input"].as_f64().unwrap())
    };
    assert_eq!(calls(&grade), None);
    app.post(
        &format!("/v1/deals/{}/activities", deal["id"].as_str().unwrap()),
        &rep,
        &json!({"kind": "call", "summary": "报价沟通"}),
    )
    .await
    .expect(201);
    let grade = app
        .get(&format!("/v1/customers/{customer}/grade"), &rep)
        .await
        .expect(200)
        .body;
    assert_eq!(calls(&grade), Some(1.0));
    // The event regrades the stored month too.
    eventually("the month's grade to count the call", || async {
        let h = app
            .get(&format!("/v1/customers/{customer}/grade/history"), &rep)
            .await
            .expect(200)
            .body;
        h.as_array()
            .and_then(|h| h.last())
            .and_then(|s| calls(&s["grade"]))
            .filter(|n| *n == 1.0)
    })
    .await;
}

fieldline_tests::on_both_backends!(
    a_duplicate_company_or_contact_is_refused_with_the_record_that_exists,
    a_converted_lead_holds_its_company_against_later_duplicates,
    a_big_customer_gone_quiet_yields_one_relationship_task,
    the_grading_policy_is_versioned_tenant_data,
    customer_metrics_match_a_hand_computed_fixture,
    a_duplicate_is_refused_and_a_hidden_one_merged,
    calls_on_a_customers_deal_count_as_interaction,
);
