use fieldline_tests::*;

#[tokio::test]
async fn data_and_tokens_survive_a_restart() {
    let app = TestApp::spawn().await;
    let f = fixture(&app.state).await;
    let rep_token = app.token(&f.east_rep);
    let created = app
        .post("/v1/leads", &rep_token, &lead_body(1))
        .await
        .expect(201)
        .body;
    let id = created["id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/v1/leads/{id}/activities"),
        &rep_token,
        &json!({"kind": "visit", "summary": "上门拜访"}),
    )
    .await
    .expect(201);
    let before = app
        .get(&format!("/v1/leads/{id}"), &rep_token)
        .await
        .expect(200)
        .body;
    let dir = app.stop().await;

    let app = TestApp::spawn_in(dir).await;
    let after = app
        .get(&format!("/v1/leads/{id}"), &rep_token)
        .await
        .expect(200)
        .body;
    assert_eq!(after, before, "the lead reads back exactly as it was");
    let log = app
        .get(&format!("/v1/leads/{id}/activities"), &rep_token)
        .await
        .expect(200)
        .body;
    assert_eq!(log.as_array().unwrap().len(), 1);
    // Writes continue from the stored version.
    app.patch(
        &format!("/v1/leads/{id}"),
        &rep_token,
        &json!({"expected_version": 2, "changes": {"status": "qualified"}}),
    )
    .await
    .expect(200);
}
