//! Store visits through HTTP on both backends: a check-in near the store (given in GCJ-02, as
//! a Chinese map app shows it) and one 2 km away, a retried check-in, check-outs judged
//! against the tenant's policy, and the invalid-visit rate.

use fieldline_domain::visit::wgs84_to_gcj02;
use fieldline_tests::{ManualClock, TestApp, fixture, on_both_backends};
use reqwest::Method;
use serde_json::{Value, json};

on_both_backends!(visits_are_judged_and_far_check_ins_flagged);

/// The store's mapped location (WGS-84).
const STORE: (f64, f64) = (31.2304, 121.4737);

async fn visits_are_judged_and_far_check_ins_flagged() {
    let clock = ManualClock::at("2026-11-23T02:00:00Z".parse().unwrap());
    let app = TestApp::spawn_with(clock.clone(), |_| {}).await;
    let f = fixture(&app.state).await;
    let rep = app.token(&f.east_rep);
    let store = app
        .post(
            "/v1/customers",
            &rep,
            &json!({"name": "联华超市南京东路店", "kind": "store",
                "addresses": [{"text": "上海市黄浦区南京东路1号", "geo": {"lat": STORE.0, "lon": STORE.1}}]}),
        )
        .await
        .expect(201)
        .body;
    let customer = store["id"].as_str().unwrap().to_owned();
    let check_in = |body: Value, key: &'static str| {
        let (app, rep) = (&app, rep.clone());
        async move {
            app.send_with(
                Method::POST,
                "/v1/visits",
                Some(&rep),
                Some(&body),
                &[("idempotency-key", key)],
            )
            .await
        }
    };

    // At the door, as AMap shows it (GCJ-02): about 500 m off in raw numbers, 0 m once converted.
    let (glat, glon) = wgs84_to_gcj02(STORE.0, STORE.1);
    let near = json!({"customer": customer, "purpose": "铺货检查", "target_skus": ["SKU-COLA-330"],
        "position": {"lat": glat, "lon": glon, "accuracy_m": 15.0, "datum": "gcj02"}});
    let visit = check_in(near.clone(), "visit-1").await.expect(201).body;
    assert_eq!(visit["far"], false, "{visit}");
    assert!(visit["distance_m"].as_f64().unwrap() < 1.0, "{visit}");
    let again = check_in(near, "visit-1").await.expect(200).body;
    assert_eq!(again["id"], visit["id"], "a retry is the same visit");

    // A minute later, 2 km north: flagged, and it will not count as valid.
    clock.advance_hours(1.0 / 60.0);
    let far = json!({"customer": customer, "purpose": "铺货检查",
        "position": {"lat": STORE.0 + 0.018, "lon": STORE.1, "accuracy_m": 10.0}});
    let far_visit = check_in(far, "visit-2").await.expect(201).body;
    assert_eq!(far_visit["far"], true);
    assert!(far_visit["distance_m"].as_f64().unwrap() > 1900.0);

    // A shelf photo taken on the visit (an upload of the rep's).
    let photo = app
        .post(
            "/v1/uploads",
            &rep,
            &json!({"kind": "shelf", "subject": {"customer": customer}, "file_name": "shelf.jpg",
                "content_type": "image/jpeg", "size": 1000}),
        )
        .await
        .expect(201)
        .body["upload"]["id"]
        .clone();
    clock.advance_hours(0.5);
    let out = |id: &Value, body: Value| {
        let (app, rep) = (&app, rep.clone());
        let path = format!("/v1/visits/{}/check-out", id.as_str().unwrap());
        async move { app.post(&path, &rep, &body).await }
    };
    // Another rep cannot check the visit out; an unknown action is refused.
    let other = app.token(&f.east_rep2);
    app.post(
        &format!("/v1/visits/{}/check-out", visit["id"].as_str().unwrap()),
        &other,
        &json!({}),
    )
    .await
    .expect(403);
    assert_eq!(
        out(&visit["id"], json!({"actions": ["跳舞"]}))
            .await
            .expect(422)
            .body["details"]["field"],
        "actions"
    );
    let done = out(
        &visit["id"],
        json!({"actions": ["陈列调整", "竞品拦截"], "photos": [photo],
            "position": {"lat": STORE.0, "lon": STORE.1, "accuracy_m": 12.0}}),
    )
    .await
    .expect(200)
    .body;
    assert_eq!(done["valid"], true, "{done}");
    let retried = out(&visit["id"], json!({})).await.expect(200).body;
    assert_eq!(
        retried["version"], done["version"],
        "a retried check-out changes nothing"
    );
    let far_done = out(&far_visit["id"], json!({"actions": ["试饮"]}))
        .await
        .expect(200)
        .body;
    assert_eq!(far_done["valid"], false);
    let reasons = far_done["invalid_reasons"].as_array().unwrap();
    assert_eq!(reasons.len(), 2, "too far and no photo: {far_done}");

    // The invalid-visit rate: one of two.
    let period = "/v1/metrics/visits?from=2026-11-23T00:00:00Z&to=2026-11-24T00:00:00Z";
    let mine = app.get(period, &rep).await.expect(200).body;
    assert_eq!(mine["total"]["visits"], 2);
    assert_eq!(mine["total"]["invalid"], 1);
    assert_eq!(mine["total"]["far"], 1);
    assert_eq!(mine["total"]["invalid_rate"], 0.5);
    let day = "/v1/visits?from=2026-11-23T00:00:00Z&to=2026-11-24T00:00:00Z";
    let listed = app.get(day, &rep).await.expect(200).body;
    let ids: Vec<&Value> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|v| &v["id"])
        .collect();
    assert_eq!(ids, [&far_visit["id"], &visit["id"]], "newest first");
    let theirs = app
        .get(day, &app.token(&f.south_rep))
        .await
        .expect(200)
        .body;
    assert_eq!(theirs, json!([]));
    let manager = app
        .get(day, &app.token(&f.east_manager))
        .await
        .expect(200)
        .body;
    assert_eq!(manager.as_array().unwrap().len(), 2);
    let south = app
        .get(period, &app.token(&f.south_manager))
        .await
        .expect(200)
        .body;
    assert_eq!(
        south["total"]["visits"], 0,
        "another team's visits are not theirs"
    );
    app.get(
        &format!("/v1/visits/{}", visit["id"].as_str().unwrap()),
        &app.token(&f.south_rep),
    )
    .await
    .expect(403);

    // A stricter policy (admins): 50 m.
    let admin = app.token(&f.admin);
    let mut policy = app.get("/v1/settings/visits", &rep).await.expect(200).body;
    policy["max_distance_m"] = json!(50.0);
    app.send(
        Method::PUT,
        "/v1/settings/visits",
        Some(&rep),
        Some(&policy),
    )
    .await
    .expect(403);
    let saved = app
        .send(
            Method::PUT,
            "/v1/settings/visits",
            Some(&admin),
            Some(&policy),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(saved["max_distance_m"], 50.0);

    // The visits export: the rep's two visits, customer by name, far one flagged; another
    // team's rep exports none of them.
    let mine = String::from_utf8(app.download("/v1/exports/visits", &rep).await).unwrap();
    let rows: Vec<&str> = mine.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{mine}");
    let row_of = |v: &Value| {
        *rows
            .iter()
            .find(|r| r.starts_with(v["id"].as_str().unwrap()))
            .unwrap()
    };
    assert!(
        rows.iter()
            .all(|r| r.contains(",联华超市南京东路店,er1@acme.cn,")),
        "{mine}"
    );
    assert!(row_of(&visit).contains(",0,false,"), "at the door: {mine}");
    assert!(
        row_of(&far_visit).contains(",2002,true,"),
        "the far one: {mine}"
    );
    let theirs = String::from_utf8(
        app.download("/v1/exports/visits", &app.token(&f.south_rep))
            .await,
    )
    .unwrap();
    assert_eq!(theirs.lines().count(), 1, "{theirs}");
}
