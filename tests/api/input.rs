//! Bad input gets a clear error with a stable code, and nothing stored changes.

use fieldline_tests::*;
use reqwest::Method;

async fn malformed_wrong_typed_oversized_and_unknown_input() {
    let app = TestApp::spawn().await;
    let f = fixture(&app.state).await;
    let rep = app.token(&f.east_rep);

    let r = app
        .raw(
            Method::POST,
            "/v1/leads",
            &rep,
            "application/json",
            b"{\"source\": ".to_vec(),
        )
        .await
        .expect(400);
    assert_eq!(r.code(), "malformed_json");
    let r = app
        .raw(
            Method::POST,
            "/v1/leads",
            &rep,
            "application/json",
            vec![0xff, 0xfe, 0x00],
        )
        .await
        .expect(400);
    assert_eq!(r.code(), "malformed_json");

    let r = app
        .post(
            "/v1/leads",
            &rep,
            &json!({"source": 5, "contact": {"name": "x", "phone": "13912345678"}}),
        )
        .await
        .expect(422);
    assert_eq!(
        (r.code(), r.body["details"]["field"].as_str()),
        ("invalid_field", Some("source"))
    );
    let r = app
        .post(
            "/v1/leads",
            &rep,
            &json!({"source": "referral", "contact": {"name": ["x"]}}),
        )
        .await
        .expect(422);
    assert_eq!(r.body["details"]["field"], "contact.name");
    let r = app
        .post(
            "/v1/leads",
            &rep,
            &json!({"source": "referral", "contact": {"name": "x"}, "stage": "won"}),
        )
        .await
        .expect(422);
    assert_eq!(r.code(), "invalid_field");
    let r = app
        .post(
            "/v1/leads",
            &rep,
            &json!({"source": "referral", "contact": {"name": "x"}}),
        )
        .await
        .expect(422);
    assert_eq!(r.body["details"]["field"], "contact");
    let r = app
        .post(
            "/v1/leads",
            &rep,
            &json!({"source": "referral", "contact": {"name": "x", "email": "not-an-email"}}),
        )
        .await
        .expect(422);
    assert_eq!(r.body["details"]["field"], "contact.email");
    let mut budget = lead_body(1);
    budget["prescreen"]["budget"] = json!({"min": 500, "max": 100, "currency": "CNY"});
    assert_eq!(
        app.post("/v1/leads", &rep, &budget).await.expect(422).body["details"]["field"],
        "prescreen.budget"
    );
    // Three capital letters are not enough: the code must be one ISO 4217 defines.
    for currency in ["ABC", "RMB", "cny", "CN"] {
        budget["prescreen"]["budget"] = json!({"max": 100, "currency": currency});
        assert_eq!(
            app.post("/v1/leads", &rep, &budget).await.expect(422).body["details"]["field"],
            "prescreen.budget.currency",
            "{currency}"
        );
    }

    let r = app
        .raw(
            Method::POST,
            "/v1/leads",
            &rep,
            "text/plain",
            b"{}".to_vec(),
        )
        .await
        .expect(415);
    assert_eq!(r.code(), "unsupported_media_type");

    let mut huge = lead_body(1);
    huge["notes"] = json!("x".repeat(100 * 1024));
    let r = app.post("/v1/leads", &rep, &huge).await.expect(413);
    assert_eq!(r.code(), "payload_too_large");
    assert_eq!(r.body["details"]["limit_bytes"], 64 * 1024);

    let mut long_notes = lead_body(1);
    long_notes["notes"] = json!("字".repeat(4001));
    assert_eq!(
        app.post("/v1/leads", &rep, &long_notes)
            .await
            .expect(422)
            .body["details"]["field"],
        "notes"
    );

    assert_eq!(
        app.get("/v1/leads/not-a-uuid", &rep)
            .await
            .expect(404)
            .code(),
        "not_found"
    );
    assert_eq!(
        app.get("/v1/leads/01a209cf-b1b1-7423-ac1c-3b100b15ad4b", &rep)
            .await
            .expect(404)
            .code(),
        "not_found"
    );
    assert_eq!(
        app.get("/v1/nothing-here", &rep).await.expect(404).code(),
        "not_found"
    );
    assert_eq!(
        app.send(Method::DELETE, "/v1/leads", Some(&rep), None)
            .await
            .expect(405)
            .code(),
        "method_not_allowed"
    );

    let list = app.get("/v1/leads", &rep).await.expect(200);
    assert!(
        list.body["items"].as_array().unwrap().is_empty(),
        "no failed request stored anything"
    );
}

async fn every_error_has_the_same_shape() {
    let app = TestApp::spawn().await;
    let f = fixture(&app.state).await;
    let rep = app.token(&f.east_rep);
    let replies = [
        app.send(Method::GET, "/v1/leads", None, None).await,
        app.raw(
            Method::POST,
            "/v1/leads",
            &rep,
            "application/json",
            b"[".to_vec(),
        )
        .await,
        app.post("/v1/leads", &rep, &json!({})).await,
        app.get("/v1/nope", &rep).await,
    ];
    for r in replies {
        let obj = r.body.as_object().expect("JSON object");
        let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(keys, ["code", "details", "message"], "{:#}", r.body);
        assert!(!r.code().is_empty());
    }
}

#[tokio::test]
async fn request_ids_are_issued_or_propagated() {
    let app = TestApp::spawn().await;
    let r = app
        .send_with(
            Method::GET,
            "/health",
            None,
            None,
            &[("x-request-id", "phone-abc-123")],
        )
        .await
        .expect(200);
    assert_eq!(r.headers["x-request-id"], "phone-abc-123");
    let r = app
        .send(Method::GET, "/health", None, None)
        .await
        .expect(200);
    assert_eq!(r.headers["x-request-id"].len(), 36);
}

fieldline_tests::on_both_backends!(
    malformed_wrong_typed_oversized_and_unknown_input,
    every_error_has_the_same_shape,
);
