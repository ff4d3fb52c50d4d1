use fieldline_tests::*;
use reqwest::Method;

async fn health_is_the_only_route_without_a_token() {
    let app = TestApp::spawn().await;
    let health = app
        .send(Method::GET, "/health", None, None)
        .await
        .expect(200);
    assert_eq!(health.body["status"], "ok");
    for (method, path) in [
        (Method::GET, "/v1/leads"),
        (Method::POST, "/v1/leads"),
        (Method::GET, "/v1/me"),
        (Method::GET, "/v1/openapi.json"),
        (
            Method::GET,
            "/v1/leads/01a209cf-b1b1-7423-ac1c-3b100b15ad4b",
        ),
    ] {
        let reply = app.send(method.clone(), path, None, None).await.expect(401);
        assert_eq!(reply.code(), "unauthenticated", "{method} {path}");
        assert_eq!(reply.headers["www-authenticate"], "Bearer");
    }
}

async fn expired_forged_and_malformed_tokens_are_401() {
    let app = TestApp::spawn().await;
    let f = fixture(&app.state).await;
    app.get("/v1/me", &app.token(&f.east_rep)).await.expect(200);

    let expired = app.state.tokens.issue_with_ttl(
        &f.east_rep,
        chrono::Utc::now() - chrono::Duration::hours(3),
        chrono::Duration::hours(1),
    );
    let r = app.get("/v1/me", &expired).await.expect(401);
    assert_eq!(r.body["message"], "token expired");

    let other_keys = fieldline_app::auth::TokenKeys::new(
        b"another-secret-another-secret-0123456",
        "fieldline",
        1,
    )
    .unwrap();
    let forged = other_keys.issue(&f.east_rep, chrono::Utc::now());
    app.get("/v1/me", &forged).await.expect(401);

    // Payload edited to claim admin in another tenant: the signature no longer matches.
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let good = app.token(&f.east_rep);
    let parts: Vec<&str> = good.split('.').collect();
    let mut claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(claims["role"], "rep");
    claims["role"] = json!("admin");
    let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    let tampered = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
    assert_eq!(
        app.get("/v1/me", &tampered).await.expect(401).body["message"],
        "token signature is invalid"
    );
    // An unsigned token ("alg": "none") is refused outright.
    let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    app.get("/v1/me", &format!("{none_header}.{forged_payload}."))
        .await
        .expect(401);

    app.get("/v1/me", "").await.expect(401);
    app.send_with(
        Method::GET,
        "/v1/me",
        None,
        None,
        &[("authorization", "Basic dTpw")],
    )
    .await
    .expect(401);
}

async fn token_for_a_user_that_does_not_exist_is_401() {
    let app = TestApp::spawn().await;
    let f = fixture(&app.state).await;
    let mut ghost = f.east_rep.clone();
    ghost.id = fieldline_domain::UserId::new();
    app.get("/v1/me", &app.token(&ghost)).await.expect(401);
    // A token naming another tenant than the user's is refused too.
    let mut cross = f.east_rep.clone();
    cross.tenant = f.globex_rep.tenant.clone();
    app.get("/v1/me", &app.token(&cross)).await.expect(401);
}

async fn me_reports_role_and_team() {
    let app = TestApp::spawn().await;
    let f = fixture(&app.state).await;
    let me = app
        .get("/v1/me", &app.token(&f.east_manager))
        .await
        .expect(200);
    assert_eq!(me.body["role"], "manager");
    assert_eq!(me.body["email"], "em@acme.cn");
}

/// Every request re-reads its caller, so an admin's change shows on the very next request,
/// however the user lookup is cached.
async fn deactivation_and_team_changes_take_effect_on_the_next_request() {
    use fieldline_app::admin::{UserChange, change_user};
    let app = TestApp::spawn().await;
    let f = fixture(&app.state).await;
    let token = app.token(&f.east_rep);
    let email = f.east_rep.email.as_str();
    let me = app.get("/v1/me", &token).await.expect(200);
    assert_eq!(me.body["team"], f.east_rep.team.unwrap().to_string());

    let off = UserChange {
        active: Some(false),
        ..Default::default()
    };
    change_user(&app.state, &f.acme, email, off).await.unwrap();
    app.get("/v1/me", &token).await.expect(401);
    app.get("/v1/leads", &token).await.expect(401);

    let on = UserChange {
        active: Some(true),
        ..Default::default()
    };
    change_user(&app.state, &f.acme, email, on).await.unwrap();
    app.get("/v1/me", &token).await.expect(200);

    let moved = UserChange {
        team: Some("South"),
        ..Default::default()
    };
    let user = change_user(&app.state, &f.acme, email, moved)
        .await
        .unwrap();
    assert_ne!(user.team, f.east_rep.team);
    let me = app.get("/v1/me", &token).await.expect(200);
    assert_eq!(me.body["team"], user.team.unwrap().to_string());
}

/// The embedded server caches users; a change written by another process (here: another
/// connection that bypasses the store entirely, as an admin command in a second process
/// would) must still show at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_deactivated_by_another_process_is_refused_at_once() {
    let app = TestApp::spawn().await;
    let f = fixture(&app.state).await;
    let token = app.token(&f.east_rep);
    for _ in 0..3 {
        app.get("/v1/me", &token).await.expect(200);
    }
    let db = rusqlite::Connection::open(app.dir.path().join("fieldline.db")).unwrap();
    let changed = db
        .execute(
            "UPDATE users SET body = json_set(body, '$.active', json('false')) WHERE id = ?1",
            [f.east_rep.id.to_string()],
        )
        .unwrap();
    assert_eq!(changed, 1);
    app.get("/v1/me", &token).await.expect(401);
    db.execute(
        "UPDATE users SET body = json_set(body, '$.active', json('true')) WHERE id = ?1",
        [f.east_rep.id.to_string()],
    )
    .unwrap();
    app.get("/v1/me", &token).await.expect(200);
}

fieldline_tests::on_both_backends!(
    health_is_the_only_route_without_a_token,
    expired_forged_and_malformed_tokens_are_401,
    token_for_a_user_that_does_not_exist_is_401,
    me_reports_role_and_team,
    deactivation_and_team_changes_take_effect_on_the_next_request,
);
