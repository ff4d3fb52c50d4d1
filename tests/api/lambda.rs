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
    let app = fieldline::build(test_config(dir.path())).unwrap();
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

fn sample(name: &str, fill: &[(&str, &str)]) -> String {
    let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
    let mut text = std::fs::read_to_string(&path).unwrap();
    for (placeholder, value) in fill {
        text = text.replace(placeholder, value);
    }
    text
}

/// The embedded server's upload URLs: a signed ticket for `PUT /v1/upload-tickets/{ticket}` that
/// takes exactly the declared bytes, runs the same check as the S3 upload function, records
/// the attachment once however often the phone retries, and refuses everything else.
#[tokio::test]
async fn the_embedded_server_takes_uploads_through_signed_tickets() {
    let app = TestApp::spawn().await;
    let f = fixture(&app.state).await;
    let rep = app.token(&f.east_rep);
    let lead = app.create_lead(&rep, 1).await;
    let uploads = format!("/v1/leads/{lead}/uploads");
    let photo: Vec<u8> = [&b"\xFF\xD8\xFF\xE0\0\x10JFIF"[..], &[9u8; 500][..]].concat();
    let ask =
        |ct: &str, size: usize| json!({"file_name": "card.jpg", "content_type": ct, "size": size});

    let other_rep = app.token(&f.east_rep2);
    app.post(&uploads, &other_rep, &ask("image/jpeg", 10))
        .await
        .expect(403);
    let too_big = app
        .post(&uploads, &rep, &ask("image/jpeg", 26 << 20))
        .await
        .expect(422);
    assert_eq!(too_big.body["details"]["field"], "size");
    app.post(&uploads, &rep, &ask("application/x-msdownload", 10))
        .await
        .expect(422);

    let ticket = app
        .post(&uploads, &rep, &ask("image/jpeg", photo.len()))
        .await
        .expect(201)
        .body;
    let url = ticket["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with("/v1/upload-tickets/"), "{url}");
    assert_eq!(ticket["headers"], json!({"content-type": "image/jpeg"}));
    let put = |url: String, ct: &'static str, bytes: Vec<u8>| {
        let client = app.client.clone();
        let target = format!("{}{url}", app.base);
        async move {
            let resp = client
                .put(target)
                .header("content-type", ct)
                .body(bytes)
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            (
                status,
                resp.json::<serde_json::Value>().await.unwrap_or_default(),
            )
        }
    };
    let (status, body) = put(url.clone(), "image/png", photo.clone()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("upload_mismatch"))
    );
    let (status, body) = put(url.clone(), "image/jpeg", photo[..100].to_vec()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("upload_mismatch"))
    );
    let (status, first) = put(url.clone(), "image/jpeg", photo.clone()).await;
    assert_eq!(status, 201, "{first:#}");
    assert_eq!(first["outcome"], "recorded");
    let (status, again) = put(url.clone(), "image/jpeg", photo.clone()).await;
    assert_eq!(
        (status, &again),
        (201, &first),
        "a retried upload records nothing twice"
    );
    let notes = app
        .get(&format!("/v1/leads/{lead}/activities"), &rep)
        .await
        .expect(200)
        .body;
    let attachments = notes
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["summary"].as_str().unwrap().starts_with("Attachment: "))
        .count();
    assert_eq!(attachments, 1);
    let key =
        fieldline_store::BlobKey::parse(f.acme.clone(), ticket["key"].as_str().unwrap()).unwrap();
    assert_eq!(app.state.blobs.get(&key).await.unwrap().unwrap().0, photo);

    // Bytes that are not the declared type are refused and not kept.
    let not_jpeg = b"MZ\x90\0 not jpeg".to_vec();
    let ticket = app
        .post(&uploads, &rep, &ask("image/jpeg", not_jpeg.len()))
        .await
        .expect(201)
        .body;
    let (status, body) = put(
        ticket["url"].as_str().unwrap().to_owned(),
        "image/jpeg",
        not_jpeg,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("upload_content_mismatch"))
    );
    let key =
        fieldline_store::BlobKey::parse(f.acme.clone(), ticket["key"].as_str().unwrap()).unwrap();
    assert!(app.state.blobs.get(&key).await.unwrap().is_none());

    // Tickets and bearer tokens do not stand in for each other; tampering is caught.
    let ticket_token = url.trim_start_matches("/v1/upload-tickets/");
    app.get("/v1/me", ticket_token).await.expect(401);
    let (status, _) = put(
        format!("/v1/upload-tickets/{rep}"),
        "image/jpeg",
        photo.clone(),
    )
    .await;
    assert_eq!(status, 401);
    let mut forged = ticket_token.to_owned();
    forged.pop();
    forged.push(if ticket_token.ends_with('A') {
        'B'
    } else {
        'A'
    });
    let (status, _) = put(format!("/v1/upload-tickets/{forged}"), "image/jpeg", photo).await;
    assert_eq!(status, 401);
}

/// A ticket outlives the right it was issued under: bytes sent after the lead moved away are
/// refused as forbidden (403 `upload_forbidden`, saying why), not as bad content.
#[tokio::test]
async fn an_upload_after_losing_the_lead_is_forbidden_and_says_why() {
    let app = TestApp::spawn().await;
    let f = fixture(&app.state).await;
    let rep = app.token(&f.east_rep);
    let lead = app.create_lead(&rep, 1).await;
    let photo: Vec<u8> = [&b"\xFF\xD8\xFF\xE0\0\x10JFIF"[..], &[9u8; 200][..]].concat();
    let ask = json!({"file_name": "card.jpg", "content_type": "image/jpeg", "size": photo.len()});
    let ticket = app
        .post(&format!("/v1/leads/{lead}/uploads"), &rep, &ask)
        .await
        .expect(201)
        .body;
    let current = app
        .get(&format!("/v1/leads/{lead}"), &rep)
        .await
        .expect(200)
        .body;
    let assign = json!({"owner": f.east_rep2.id, "expected_version": current["version"]});
    app.post(
        &format!("/v1/leads/{lead}/assign"),
        &app.token(&f.east_manager),
        &assign,
    )
    .await
    .expect(200);
    let resp = app
        .client
        .put(format!("{}{}", app.base, ticket["url"].as_str().unwrap()))
        .header("content-type", "image/jpeg")
        .body(photo)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "upload_forbidden");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains(&lead) && message.contains("may no longer change"),
        "{message}"
    );
}

/// Each AWS function's handler on its sample event, wired to DynamoDB and S3 on the local
/// server: the API split by domain, the schedule, S3 uploads (good, bad, replayed) and the
/// stream (redelivered events, undecodable and foreign records, partial batch failures).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_functions_handle_their_sample_events() {
    on_aws(async {
        let app = TestApp::spawn().await;
        let functions = app.functions.clone().expect("an AWS-mode app");
        let f = fixture(&app.state).await;
        let rep = app.token(&f.east_rep);

        // The API is split by domain: each function answers only its own routes.
        let leads_api = functions.router(fieldline_app::http::ApiSurface::Leads);
        let automation_api = functions.router(fieldline_app::http::ApiSurface::Automation);
        let (status, lead) = call(
            leads_api.clone(),
            event("apigw-http-create-lead.json", &rep),
        )
        .await;
        assert_eq!(status, 201, "{lead:#}");
        let (status, _) = call(
            leads_api.clone(),
            event("apigw-http-create-lead.json", &rep),
        )
        .await;
        assert_eq!(status, 200, "an API Gateway retry replays");
        let (status, rules) = call(
            automation_api.clone(),
            event("apigw-http-list-rules.json", &rep),
        )
        .await;
        assert_eq!(status, 200);
        assert!(rules.as_array().unwrap().len() >= 10);
        let (status, _) = call(leads_api, event("apigw-http-list-rules.json", &rep)).await;
        assert_eq!(status, 404, "rules are not the leads function's routes");
        let (status, _) = call(automation_api, event("apigw-http-create-lead.json", &rep)).await;
        assert_eq!(status, 404);
        let lead_id = lead["id"].as_str().unwrap().to_owned();

        // The schedule's payload decodes and the run reports what it did.
        let schedule: aws_lambda_events::event::eventbridge::EventBridgeEvent<serde_json::Value> =
            serde_json::from_str(&sample("eventbridge-schedule.json", &[])).unwrap();
        assert_eq!(schedule.detail_type, "Scheduled Event");
        functions.on_schedule().await.expect("a scheduled run");

        // A phone uploads a business-card photo through the URL the API hands out.
        let photo: Vec<u8> = [&b"\xFF\xD8\xFF\xE0\0\x10JFIF"[..], &[7u8; 2000][..]].concat();
        let ask =
            json!({"file_name": "名片.jpg", "content_type": "image/jpeg", "size": photo.len()});
        let ticket = app
            .post(&format!("/v1/leads/{lead_id}/uploads"), &rep, &ask)
            .await
            .expect(201)
            .body;
        let put = |url: &str, bytes: Vec<u8>, headers: &serde_json::Value| {
            let mut req = app.client.put(url).body(bytes);
            for (name, value) in headers.as_object().unwrap() {
                req = req.header(name, value.as_str().unwrap());
            }
            req.header("content-type", "image/jpeg").send()
        };
        let sent = put(
            ticket["url"].as_str().unwrap(),
            photo.clone(),
            &ticket["headers"],
        )
        .await
        .unwrap();
        assert!(sent.status().is_success());
        let object_key = format!("t/acme/{}", ticket["key"].as_str().unwrap());
        let bucket_name = ticket["url"]
            .as_str()
            .unwrap()
            .split('/')
            .nth(3)
            .unwrap()
            .to_owned();
        let s3_event = |key: &str| {
            serde_json::from_str::<aws_lambda_events::event::s3::S3Event>(&sample(
                "s3-object-created-upload.json",
                &[("{{BUCKET}}", &bucket_name), ("{{KEY}}", key)],
            ))
            .unwrap()
        };
        let first = functions.on_upload(s3_event(&object_key)).await.unwrap();
        let again = functions.on_upload(s3_event(&object_key)).await.unwrap();
        assert_eq!(
            first, again,
            "S3 delivers at least once; the second delivery changes nothing"
        );
        let recorded = serde_json::to_value(&first[0]).unwrap();
        assert_eq!(recorded["outcome"], "recorded", "{recorded:#}");
        let notes = app
            .get(&format!("/v1/leads/{lead_id}/activities"), &rep)
            .await
            .expect(200)
            .body;
        let attachments: Vec<_> = notes
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["summary"].as_str().unwrap().starts_with("Attachment: "))
            .collect();
        assert_eq!(attachments.len(), 1, "{notes:#}");
        assert!(
            attachments[0]["summary"]
                .as_str()
                .unwrap()
                .contains("2010 bytes")
        );

        // Bytes that are not what the URL was issued for are refused and deleted.
        let ask = json!({"file_name": "quote.jpg", "content_type": "image/jpeg", "size": 13});
        let ticket = app
            .post(&format!("/v1/leads/{lead_id}/uploads"), &rep, &ask)
            .await
            .expect(201)
            .body;
        put(
            ticket["url"].as_str().unwrap(),
            b"MZ\x90\0 not jpeg".to_vec(),
            &ticket["headers"],
        )
        .await
        .unwrap();
        let bad_key = format!("t/acme/{}", ticket["key"].as_str().unwrap());
        let rejected = functions.on_upload(s3_event(&bad_key)).await.unwrap();
        let rejected = serde_json::to_value(&rejected[0]).unwrap();
        assert_eq!(rejected["outcome"], "rejected");
        assert_eq!(rejected["code"], "upload_content_mismatch");
        let blob = fieldline_store::BlobKey::parse(f.acme.clone(), ticket["key"].as_str().unwrap())
            .unwrap();
        assert!(
            app.state.blobs.get(&blob).await.unwrap().is_none(),
            "deleted"
        );
        // Keys outside the upload layout are left alone.
        let foreign = functions
            .on_upload(s3_event("exports%2Freport.csv"))
            .await
            .unwrap();
        assert_eq!(
            serde_json::to_value(&foreign[0]).unwrap()["outcome"],
            "ignored"
        );

        // The stream: the lead's creation event, delivered again as Lambda may.
        let created = app
            .state
            .events
            .tenant_events_since(&f.acme, chrono::DateTime::UNIX_EPOCH, 1000)
            .await
            .unwrap()
            .into_iter()
            .find(|e| {
                e.event.subject.id().to_string() == lead_id
                    && e.event.payload.kind().as_str() == "lead_created"
            })
            .expect("the creation event")
            .event;
        let decisions = || async {
            app.get(&format!("/v1/leads/{lead_id}/decisions"), &rep)
                .await
                .expect(200)
                .body
        };
        let before = eventually("the stream to run the intake rule", || async {
            let d = decisions().await;
            (d.as_array().unwrap().len() >= 5).then_some(d)
        })
        .await;
        let event_json = serde_json::to_string(&serde_json::to_string(&created).unwrap()).unwrap();
        let batch = sample(
            "dynamodb-stream-batch.json",
            &[
                ("{{LEAD}}", &lead_id),
                ("{{EVENT}}", &created.id.to_string()),
                ("\"{{EVENT_JSON}}\"", &event_json),
            ],
        );
        let batch: aws_lambda_events::event::dynamodb::Event =
            serde_json::from_str(&batch).unwrap();
        let response = functions.on_stream(batch.clone()).await;
        assert!(response.batch_item_failures.is_empty());
        assert_eq!(
            decisions().await,
            before,
            "a redelivered event decides nothing twice"
        );

        // A function whose table is unreachable reports the first event record it could not
        // handle, so Lambda retries from there instead of replaying or skipping the batch.
        let broken = aws_functions(
            "fieldline-missing-table",
            app.dir.path(),
            std::sync::Arc::new(fieldline_app::state::SystemClock),
            false,
            |_| {},
        )
        .await;
        let response = broken.on_stream(batch).await;
        let failed: Vec<_> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.clone().unwrap())
            .collect();
        assert_eq!(failed, ["111000000000000000002"]);
        app.stop().await;
    })
    .await
}

/// Behind API Gateway's JWT authorizer the caller is the verified Cognito identity: its
/// e-mail in its tenant, re-read on every request; unverified or unknown identities and
/// requests without claims get 401.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_verified_identities_are_the_callers() {
    on_aws(async {
        let app = TestApp::spawn().await;
        let f = fixture(&app.state).await;
        let name = format!("fieldline-claims-{}", uuid::Uuid::now_v7().simple());
        let functions = aws_functions(
            &name,
            app.dir.path(),
            std::sync::Arc::new(fieldline_app::state::SystemClock),
            true,
            |config| config.auth.gateway_claims = true,
        )
        .await;
        let g = fixture(functions.application().state()).await;
        let router = functions.router(fieldline_app::http::ApiSurface::Leads);
        let me = |email: &str, tenant: &str, verified: &str| {
            let text = std::fs::read_to_string(format!(
                "{}/../events/apigw-http-me-cognito.json",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap()
            .replace("{{EMAIL}}", email)
            .replace("{{TENANT}}", tenant)
            .replace(
                "\"email_verified\": \"true\"",
                &format!("\"email_verified\": \"{verified}\""),
            );
            lambda_http::request::from_str(&text).expect("a valid API Gateway event")
        };
        let (status, body) = call(router.clone(), me("er1@acme.cn", "acme", "true")).await;
        assert_eq!(status, 200, "{body:#}");
        assert_eq!(body["id"], g.east_rep.id.to_string());
        assert_eq!(body["role"], "rep");
        let (status, _) = call(router.clone(), me("er1@acme.cn", "acme", "false")).await;
        assert_eq!(status, 401, "unverified e-mail");
        let (status, _) = call(router.clone(), me("er1@acme.cn", "globex", "true")).await;
        assert_eq!(status, 401, "the address is not a user of that tenant");
        let (status, _) = call(router.clone(), me("nobody@acme.cn", "acme", "true")).await;
        assert_eq!(status, 401);
        // Without the gateway's claims only a Fieldline token counts.
        let other_keys = app.token(&f.east_rep);
        let (status, _) = call(router, event("apigw-http-list-leads.json", &other_keys)).await;
        assert_eq!(
            status, 401,
            "a token for a user this deployment does not know"
        );
        app.stop().await;
    })
    .await
}

/// On AWS the token key comes from Secrets Manager at cold start (`auth.jwt_secret_arn`),
/// read from the local server here; tokens signed with it are accepted and others are not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_key_is_read_from_secrets_manager() {
    let endpoint = moto_endpoint();
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
            "test", "test", None, None, "local",
        ))
        .load()
        .await;
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let name = format!("fieldline/jwt-{}", uuid::Uuid::now_v7().simple());
    let key = "a-key-from-secrets-manager-0123456789abcdef";
    let created = secrets
        .create_secret()
        .name(&name)
        .secret_string(key)
        .send()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    config.auth.jwt_secret = None;
    config.auth.jwt_secret_arn = created.arn().map(str::to_owned);
    fieldline_aws::resolve_jwt_secret(&mut config, &secrets)
        .await
        .unwrap();
    assert_eq!(config.auth.jwt_secret.as_deref(), Some(key));

    let mut missing = test_config(dir.path());
    missing.auth.jwt_secret_arn = Some(format!("{name}-absent"));
    let err = fieldline_aws::resolve_jwt_secret(&mut missing, &secrets)
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("-absent"), "{err:#}");

    let table = format!("fieldline-secret-{}", uuid::Uuid::now_v7().simple());
    let functions = aws_functions(
        &table,
        dir.path(),
        std::sync::Arc::new(fieldline_app::state::SystemClock),
        true,
        |c| c.auth.jwt_secret = Some(key.to_owned()),
    )
    .await;
    let f = fixture(functions.application().state()).await;
    let router = functions.router(fieldline_app::http::ApiSurface::Leads);
    let good = functions
        .application()
        .state()
        .tokens
        .issue(&f.east_rep, chrono::Utc::now());
    let (status, _) = call(router.clone(), event("apigw-http-list-leads.json", &good)).await;
    assert_eq!(status, 200);
    let other = fieldline_app::auth::TokenKeys::new(TEST_SECRET.as_bytes(), "fieldline", 1)
        .unwrap()
        .issue(&f.east_rep, chrono::Utc::now());
    let (status, _) = call(router, event("apigw-http-list-leads.json", &other)).await;
    assert_eq!(status, 401, "a token signed with another key");
}
