//! The lead lifecycle through the API: create, read, list, update, follow up.

use fieldline_tests::*;
use reqwest::Method;
use std::collections::HashSet;

async fn create_scores_normalises_and_owns() {
    let app = TestApp::spawn().await;
    let f = fixture(&app.state).await;
    let r = app
        .post("/v1/leads", &app.token(&f.east_rep), &lead_body(1))
        .await
        .expect(201);
    let id = r.body["id"].as_str().unwrap();
    assert_eq!(r.headers["location"], format!("/v1/leads/{id}").as_str());
    assert_eq!(r.body["contact"]["phone"], "+8613900000001");
    assert_eq!(r.body["priority"], "S");
    assert_eq!(r.body["score"]["total"], 81);
    assert_eq!(r.body["owner"], json!(f.east_rep.id));
    assert_eq!(r.body["status"], "new");
    assert_eq!(r.body["version"], 1);
    assert!(r.headers.contains_key("x-request-id"));

    // The tenant's region decides how national numbers read: Globex is in the US.
    let mut us = lead_body(2);
    us["contact"]["phone"] = json!("(415) 555-2671");
    let r = app
        .post("/v1/leads", &app.token(&f.globex_rep), &us)
        .await
        .expect(201);
    assert_eq!(r.body["contact"]["phone"], "+14155552671");
}

async fn retried_creates_return_the_original_and_reused_keys_are_refused() {
    let app = TestApp::spawn().await;
    let f = fixture(&app.state).await;
    let rep = app.token(&f.east_rep);
    let key = [("idempotency-key", "6f1c2a9e-retry")];
    let first = app
        .send_with(
            Method::POST,
            "/v1/leads",
            Some(&rep),
            Some(&lead_body(1)),
            &key,
        )
        .await
        .expect(201);
    let again = app
        .send_with(
            Method::POST,
            "/v1/leads",
            Some(&rep),
            Some(&lead_body(1)),
            &key,
        )
        .await
        .expect(200);
    assert_eq!(first.body["id"], again.body["id"]);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    let other = app
        .send_with(
            Method::POST,
            "/v1/leads",
            Some(&rep),
            Some(&lead_body(2)),
            &key,
        )
        .await
        .expect(409);
    assert_eq!(other.code(), "idempotency_key_reused");
    let bad = app
        .send_with(
            Method::POST,
            "/v1/leads",
            Some(&rep),
            Some(&lead_body(3)),
            &[("idempotency-key", "has space")],
        )
        .await;
    assert_eq!(bad.expect(400).code(), "invalid_idempotency_key");
    let list = app.get("/v1/leads", &rep).await.expect(200);
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
}

async fn concurrent_retries_from_a_phone_create_one_lead() {
    let app = TestApp::spawn().await;
    let f = fixture(&app.state).await;
    let rep = app.token(&f.east_rep);
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let client = app.client.clone();
        let url = format!("{}/v1/leads", app.base);
        let rep = rep.clone();
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .bearer_auth(rep)
                .header("idempotency-key", "burst-1")
                .json(&lead_body(7))
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{}", r.status());
            r.json::<serde_json::Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }));
    }
    let mut ids = HashSet::new();
    for t in tasks {
        ids.insert(t.await.unwrap());
    }
    assert_eq!(ids.len(), 1);
    let list = app.get("/v1/leads", &rep).await.expect(200);
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
}

async fn listing_paginates_filters_and_validates() {
    let app = TestApp::spawn().await;
    let f = fixture(&app.state).await;
    let rep = app.token(&f.east_rep);
    let mut created = HashSet::new();
    for n in 0..23 {
        let mut body = lead_body(n);
        if n % 4 == 0 {
            body["prescreen"] = json!({"purchase_urgency": "later", "decision_role": "unknown"});
        }
        created.insert(
            app.post("/v1/leads", &rep, &body).await.expect(201).body["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let mut seen = HashSet::new();
    let mut path = "/v1/leads?limit=5".to_owned();
    let mut pages = 0;
    loop {
        let page = app.get(&path, &rep).await.expect(200);
        pages += 1;
        for l in page.body["items"].as_array().unwrap() {
            assert!(
                seen.insert(l["id"].as_str().unwrap().to_owned()),
                "no lead twice"
            );
        }
        match page.body["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/leads?limit=5&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, created);
    assert_eq!(pages, 5);

    let c = app.get("/v1/leads?priority=C", &rep).await.expect(200);
    assert_eq!(c.body["items"].as_array().unwrap().len(), 6);
    let s = app
        .get("/v1/leads?priority=S&status=new", &rep)
        .await
        .expect(200);
    assert_eq!(s.body["items"].as_array().unwrap().len(), 17);
    let old = app
        .get("/v1/leads?updated_before=2020-01-01T00:00:00Z", &rep)
        .await
        .expect(200);
    assert!(old.body["items"].as_array().unwrap().is_empty());

    for bad in [
        "limit=0",
        "limit=201",
        "priority=Z",
        "status=won",
        "cursor=xyz",
        "updated_before=yesterday",
        "colour=red",
    ] {
        let r = app.get(&format!("/v1/leads?{bad}"), &rep).await.expect(400);
        assert!(
            ["invalid_query", "invalid_cursor"].contains(&r.code()),
            "{bad}: {}",
            r.code()
        );
    }
}

async fn updates_need_the_current_version_and_fail_whole() {
    let app = TestApp::spawn().await;
    let f = fixture(&app.state).await;
    let rep = app.token(&f.east_rep);
    let id = app.create_lead(&rep, 1).await;
    let path = format!("/v1/leads/{id}");

    let r = app
        .patch(&path, &rep, &json!({"expected_version": 1, "changes": {"notes": "预算已批", "prescreen": {"purchase_urgency": "later", "decision_role": "influencer"}}}))
        .await
        .expect(200);
    assert_eq!(r.body["version"], 2);
    assert_eq!(r.body["priority"], "C"); // 5 + 15 + 0 + 8 + 0 = 28

    let stale = app
        .patch(
            &path,
            &rep,
            &json!({"expected_version": 1, "changes": {"notes": "lost update"}}),
        )
        .await
        .expect(409);
    assert_eq!(stale.code(), "version_conflict");
    assert_eq!(stale.body["details"], json!({"expected": 1, "actual": 2}));

    let illegal = app
        .patch(
            &path,
            &rep,
            &json!({"expected_version": 2, "changes": {"status": "converted"}}),
        )
        .await
        .expect(422);
    assert_eq!(illegal.code(), "invalid_transition");
    let unknown = app
        .patch(
            &path,
            &rep,
            &json!({"expected_version": 2, "changes": {"status": "won"}}),
        )
        .await
        .expect(422);
    assert_eq!(unknown.code(), "invalid_field");
    // A valid note with an invalid phone in the same patch: nothing is applied.
    let half = app
        .patch(&path, &rep, &json!({"expected_version": 2, "changes": {"notes": "half", "contact": {"name": "王", "phone": "12"}}}))
        .await
        .expect(422);
    assert_eq!(half.body["details"]["field"], "contact.phone");

    let stored = app.get(&path, &rep).await.expect(200);
    assert_eq!(stored.body["version"], 2);
    assert_eq!(stored.body["notes"], "预算已批");

    let cleared = app
        .patch(
            &path,
            &rep,
            &json!({"expected_version": 2, "changes": {"notes": null}}),
        )
        .await
        .expect(200);
    assert!(cleared.body["notes"].is_null());
    assert_eq!(cleared.body["version"], 3);
}

async fn first_contact_stops_the_clock_and_retries_do_not_duplicate() {
    let app = TestApp::spawn().await;
    let f = fixture(&app.state).await;
    let rep = app.token(&f.east_rep);
    let id = app.create_lead(&rep, 1).await;
    let path = format!("/v1/leads/{id}/activities");

    app.post(&path, &rep, &json!({"kind": "note", "summary": "看了官网"}))
        .await
        .expect(201);
    let lead = app.get(&format!("/v1/leads/{id}"), &rep).await.expect(200);
    assert!(
        lead.body["first_contact_at"].is_null(),
        "a note is not contact"
    );

    let key = [("idempotency-key", "call-1")];
    let call = json!({"kind": "call", "summary": "约了周四拜访 / visit on Thursday"});
    let first = app
        .send_with(Method::POST, &path, Some(&rep), Some(&call), &key)
        .await
        .expect(201);
    assert_eq!(first.body["lead"]["status"], "contacted");
    assert!(first.body["lead"]["first_contact_at"].is_string());
    let retry = app
        .send_with(Method::POST, &path, Some(&rep), Some(&call), &key)
        .await
        .expect(200);
    assert_eq!(retry.body["activity"]["id"], first.body["activity"]["id"]);

    let log = app.get(&path, &rep).await.expect(200);
    let kinds: Vec<&str> = log
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["call", "note"]);

    let future = json!({"kind": "visit", "summary": "x", "occurred_at": "2999-01-01T00:00:00Z"});
    assert_eq!(
        app.post(&path, &rep, &future).await.expect(422).body["details"]["field"],
        "occurred_at"
    );
    app.post(&path, &rep, &json!({"kind": "fax", "summary": "x"}))
        .await
        .expect(422);
    app.post(&path, &rep, &json!({"kind": "call", "summary": "   "}))
        .await
        .expect(422);
}

/// Client-stated times are bounded, and the SLA runs on when the server heard of the contact:
/// backdating neither dates an activity before its lead nor fakes a fast response.
async fn activities_cannot_be_backdated_into_the_sla() {
    let app = TestApp::spawn().await;
    let f = fixture(&app.state).await;
    let rep = app.token(&f.east_rep);
    let id = app.create_lead(&rep, 3).await;
    let path = format!("/v1/leads/{id}/activities");
    for before in ["0001-01-01T00:00:00Z", "2020-01-01T00:00:00Z"] {
        let early = json!({"kind": "call", "summary": "x", "occurred_at": before});
        let refused = app.post(&path, &rep, &early).await.expect(422);
        assert_eq!(refused.body["details"]["field"], "occurred_at");
    }
    let lead = app
        .get(&format!("/v1/leads/{id}"), &rep)
        .await
        .expect(200)
        .body;
    assert!(lead["first_contact_at"].is_null(), "nothing was stored");

    // Stated a minute before the lead existed (phone clock skew): kept as stated, but the
    // first contact is the server's receipt time.
    let created: chrono::DateTime<chrono::Utc> =
        lead["created_at"].as_str().unwrap().parse().unwrap();
    let stated = created - chrono::Duration::minutes(1);
    let call = json!({"kind": "call", "summary": "打过电话", "occurred_at": stated});
    let logged = app.post(&path, &rep, &call).await.expect(201).body;
    let occurred: chrono::DateTime<chrono::Utc> = logged["activity"]["occurred_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(occurred, stated);
    let first: chrono::DateTime<chrono::Utc> = logged["lead"]["first_contact_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let recorded: chrono::DateTime<chrono::Utc> = logged["activity"]["recorded_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(first, recorded);
    assert!(first >= created);
}

async fn concurrent_activities_on_one_lead_are_all_kept() {
    let app = TestApp::spawn().await;
    let f = fixture(&app.state).await;
    let rep = app.token(&f.east_rep);
    let id = app.create_lead(&rep, 1).await;
    let mut tasks = Vec::new();
    for n in 0..16 {
        let client = app.client.clone();
        let url = format!("{}/v1/leads/{id}/activities", app.base);
        let rep = rep.clone();
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(rep)
                .json(&json!({"kind": "message", "summary": format!("msg {n}")}))
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    for t in tasks {
        let status = t.await.unwrap();
        assert!(status.is_success(), "{status}");
    }
    let log = app
        .get(&format!("/v1/leads/{id}/activities?limit=50"), &rep)
        .await
        .expect(200);
    assert_eq!(log.body.as_array().unwrap().len(), 16);
    let lead = app.get(&format!("/v1/leads/{id}"), &rep).await.expect(200);
    assert_eq!(
        lead.body["version"], 17,
        "one version per activity, none lost"
    );
}

fieldline_tests::on_both_backends!(
    create_scores_normalises_and_owns,
    activities_cannot_be_backdated_into_the_sla,
    retried_creates_return_the_original_and_reused_keys_are_refused,
    concurrent_retries_from_a_phone_create_one_lead,
    listing_paginates_filters_and_validates,
    updates_need_the_current_version_and_fail_whole,
    first_contact_stops_the_clock_and_retries_do_not_duplicate,
    concurrent_activities_on_one_lead_are_all_kept,
);
