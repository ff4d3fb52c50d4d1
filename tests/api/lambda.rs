//! The Lambda entry point's router, fed the API Gateway events kept in `events/`.

use axum::body::Body;
use fieldline_tests::*;
use tower::ServiceExt;

fn event(name: &str, token: &str) -> lambda_http::Request {
    let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("{{TOKEN}}", token);
    lambda_http::request::from_str(&text).expect("a valid API Gateway event")
}

async fn call(router: axum::Router, req: lambda_http::Request) -> (u16, serde_json::Value) {
    let (parts, body) = req.into_parts();
    let req = axum::http::Request::from_parts(parts, Body::from(body.to_vec()));
    let resp = router.oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test]
async fn api_gateway_events_drive_the_shared_router() {
    let dir = tempfile::tempdir().unwrap();
    let app = fieldline_app::Application::build(test_config(dir.path())).unwrap();
    let f = fixture(app.state()).await;
    let token = app.state().tokens.issue(&f.east_rep, chrono::Utc::now());

    let (status, lead) = call(app.router(), event("apigw-http-create-lead.json", &token)).await;
    assert_eq!(status, 201, "{lead:#}");
    assert_eq!(lead["contact"]["phone"], "+85291234567");
    assert_eq!(lead["priority"], "B");
    let (status, again) = call(app.router(), event("apigw-http-create-lead.json", &token)).await;
    assert_eq!(
        status, 200,
        "the event's Idempotency-Key makes a Lambda retry harmless"
    );
    assert_eq!(again["id"], lead["id"]);

    let (status, page) = call(app.router(), event("apigw-http-list-leads.json", &token)).await;
    assert_eq!(status, 200);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);

    let (status, err) = call(app.router(), event("apigw-http-list-leads.json", "forged")).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (401, Some("unauthenticated"))
    );
}
