//! Notification channels against a real HTTP receiver on 127.0.0.1: each service's message
//! format and signature, retries with backoff, no duplicates, and the dead-letter list.

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine;
use fieldline_tests::*;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const DING_SECRET: &str = "SECdingtalk-test-secret";
const FEISHU_SECRET: &str = "feishu-test-secret";
const HOOK_SECRET: &str = "webhook-test-secret";

#[derive(Default)]
struct Receiver {
    /// (path, verified, body) per request.
    got: Mutex<Vec<(String, bool, Value)>>,
    /// Requests per path so far, to fail the first ones.
    seen: Mutex<HashMap<String, u32>>,
}

fn hmac_b64(key: &[u8], msg: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(msg);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

async fn receive(
    State(rx): State<Arc<Receiver>>,
    Path(path): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: String,
) -> (axum::http::StatusCode, Json<Value>) {
    let json: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let n = {
        let mut seen = rx.seen.lock().unwrap();
        let n = seen.entry(path.clone()).or_insert(0);
        *n += 1;
        *n
    };
    let ok = axum::http::StatusCode::OK;
    let (verified, reply) = match path.as_str() {
        "wecom" => (
            json["msgtype"] == "text" && json["text"]["content"].is_string(),
            (ok, json!({"errcode": 0, "errmsg": "ok"})),
        ),
        "dingtalk" => {
            let ts = query.get("timestamp").cloned().unwrap_or_default();
            let sign = query.get("sign").cloned().unwrap_or_default();
            let valid = sign
                == hmac_b64(
                    DING_SECRET.as_bytes(),
                    format!("{ts}\n{DING_SECRET}").as_bytes(),
                );
            let reply = if valid {
                json!({"errcode": 0, "errmsg": "ok"})
            } else {
                json!({"errcode": 310000, "errmsg": "sign not match"})
            };
            (valid && json["msgtype"] == "text", (ok, reply))
        }
        "feishu" => {
            let ts = json["timestamp"].as_str().unwrap_or_default();
            let valid = json["sign"].as_str()
                == Some(hmac_b64(format!("{ts}\n{FEISHU_SECRET}").as_bytes(), b"").as_str());
            let reply = if valid {
                json!({"code": 0, "msg": "success"})
            } else {
                json!({"code": 19021, "msg": "sign match fail"})
            };
            (valid && json["msg_type"] == "text", (ok, reply))
        }
        "hook" => {
            let mut mac = Hmac::<Sha256>::new_from_slice(HOOK_SECRET.as_bytes()).unwrap();
            mac.update(body.as_bytes());
            let want = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
            let valid = headers
                .get("x-fieldline-signature")
                .and_then(|v| v.to_str().ok())
                == Some(want.as_str())
                && headers.contains_key("x-fieldline-delivery");
            // The first two attempts fail: the notifier must retry, and deliver once.
            let status = if n <= 2 {
                axum::http::StatusCode::INTERNAL_SERVER_ERROR
            } else {
                axum::http::StatusCode::NO_CONTENT
            };
            (valid, (status, Json(Value::Null).0))
        }
        _ => (
            true,
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": "down"}),
            ),
        ),
    };
    rx.got.lock().unwrap().push((path, verified, json));
    (reply.0, Json(reply.1))
}

async fn spawn_receiver() -> (String, Arc<Receiver>) {
    let rx = Arc::new(Receiver::default());
    let app = Router::new()
        .route("/{path}", post(receive))
        .with_state(rx.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, rx)
}

async fn escalations_reach_every_channel_in_its_format_once_with_retries_and_dead_letters() {
    let (hooks, rx) = spawn_receiver().await;
    let clock = ManualClock::at(chrono::Utc::now());
    let app = TestApp::spawn_with_clock(clock.clone()).await;
    let fx = fixture(&app.state).await;
    let admin = app.token(&fx.admin);
    let escalations = json!(["escalation"]);
    for (kind, path, secret) in [
        ("wecom", "wecom", None),
        ("dingtalk", "dingtalk", Some(DING_SECRET)),
        ("feishu", "feishu", Some(FEISHU_SECRET)),
        ("webhook", "hook", Some(HOOK_SECRET)),
        ("webhook", "down", None),
    ] {
        let body = json!({"kind": kind, "url": format!("{hooks}/{path}"), "secret": secret, "kinds": escalations});
        let created = app
            .post("/v1/channels", &admin, &body)
            .await
            .expect(201)
            .body;
        assert!(created.get("secret").is_none(), "secrets are never echoed");
    }
    // Reps and managers cannot configure channels or read dead letters; bad input is refused.
    let rep = app.token(&fx.east_rep);
    app.post(
        "/v1/channels",
        &rep,
        &json!({"kind": "wecom", "url": format!("{hooks}/x")}),
    )
    .await
    .expect(403);
    app.post(
        "/v1/channels",
        &admin,
        &json!({"kind": "wecom", "url": "ftp://x"}),
    )
    .await
    .expect(422);
    app.post(
        "/v1/channels",
        &admin,
        &json!({"kind": "pager", "url": "http://x"}),
    )
    .await
    .expect(422);
    app.get("/v1/channels/dead-letters", &app.token(&fx.east_manager))
        .await
        .expect(403);

    // A lead nobody contacts: after 24 h one escalation goes out.
    let lead = app.create_lead(&rep, 1).await;
    eventually("intake timers", || async {
        (app.state
            .timers
            .pending_timers(
                &fx.acme,
                fieldline_domain::Subject::Lead(lead.parse().unwrap()),
            )
            .await
            .unwrap()
            .len()
            == 5)
            .then_some(())
    })
    .await;
    clock.advance_hours(25.0);
    eventually("robots delivered", || async {
        let got = rx.got.lock().unwrap();
        ["wecom", "dingtalk", "feishu"]
            .iter()
            .all(|p| got.iter().any(|(path, ok, _)| path == p && *ok))
            .then_some(())
    })
    .await;
    // Each retry waits for the clock to pass its backoff, and for the scheduler to see it:
    // the clock moves on only once the attempt before arrived.
    let attempts = |p: &str| {
        rx.got
            .lock()
            .unwrap()
            .iter()
            .filter(|(path, _, _)| path == p)
            .count()
    };
    let attempt = |p: &'static str, n: usize| {
        let attempts = &attempts;
        async move {
            let what = format!("attempt {n} at {p}");
            eventually(&what, || async move { (attempts(p) >= n).then_some(()) }).await
        }
    };
    // The webhook fails twice, then succeeds after backoff (30 s, then 60 s).
    attempt("hook", 1).await;
    for n in 2..=3 {
        clock.advance_hours(0.05);
        attempt("hook", n).await;
    }
    // The dead endpoint gives up after six attempts and lands in the dead-letter list.
    for n in attempts("down") + 1..=6 {
        clock.advance_hours(1.5);
        attempt("down", n).await;
    }
    let dead = eventually("dead letter", || async {
        let body = app
            .get("/v1/channels/dead-letters", &admin)
            .await
            .expect(200)
            .body;
        (!body.as_array().unwrap().is_empty()).then_some(body)
    })
    .await;
    assert_eq!(dead.as_array().unwrap().len(), 1, "{dead}");
    assert_eq!(dead[0]["attempts"], 6);
    assert!(dead[0]["last_error"].as_str().unwrap().contains("503"));
    assert_eq!(dead[0]["notification"]["kind"], "escalation");

    let got = rx.got.lock().unwrap();
    let count = |p: &str| got.iter().filter(|(path, _, _)| path == p).count();
    // Exactly one message per robot (no duplicates), all verified; the webhook got 3 tries
    // (2 failures and 1 success) and nothing after it succeeded; the dead one got 6.
    assert_eq!(
        (count("wecom"), count("dingtalk"), count("feishu")),
        (1, 1, 1)
    );
    assert_eq!(count("hook"), 3);
    assert_eq!(count("down"), 6);
    assert!(
        got.iter().all(|(_, ok, _)| *ok),
        "every request carried a valid format and signature"
    );
    let wecom = &got.iter().find(|(p, _, _)| p == "wecom").unwrap().2;
    assert!(
        wecom["text"]["content"].as_str().unwrap().contains("24"),
        "{wecom}"
    );
    let hook = &got.iter().find(|(p, _, _)| p == "hook").unwrap().2;
    assert_eq!(hook["kind"], "escalation");
    assert_eq!(hook["lead"], lead.as_str());
}

fieldline_tests::on_both_backends!(
    escalations_reach_every_channel_in_its_format_once_with_retries_and_dead_letters,
);

/// With the default configuration a tenant admin cannot point a channel into the server's own
/// network (SSRF): loopback, private, link-local (cloud metadata) and `localhost` URLs are
/// refused with 422, public ones accepted.
#[tokio::test]
async fn channels_cannot_point_into_the_servers_network_by_default() {
    let app = TestApp::spawn_configured(|c| c.channels.allow_private_networks = false).await;
    let f = fixture(&app.state).await;
    let admin = app.token(&f.admin);
    for url in [
        "http://127.0.0.1:9000/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.8/hook",
        "http://[::1]:8080/hook",
        "http://localhost/hook",
    ] {
        let reply = app
            .post(
                "/v1/channels",
                &admin,
                &json!({"kind": "webhook", "url": url}),
            )
            .await
            .expect(422);
        assert_eq!(reply.body["details"]["field"], "url", "{url}");
    }
    app.post(
        "/v1/channels",
        &admin,
        &json!({"kind": "dingtalk", "url": "https://oapi.dingtalk.com/robot/send?access_token=x"}),
    )
    .await
    .expect(201);
}
