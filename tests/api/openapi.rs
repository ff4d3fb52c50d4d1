use fieldline_tests::*;

#[tokio::test]
async fn openapi_document_is_generated_from_the_code() {
    let app = TestApp::spawn().await;
    let f = fixture(&app.state).await;
    let doc = app
        .get("/v1/openapi.json", &app.token(&f.east_rep))
        .await
        .expect(200)
        .body;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/health",
        "/v1/me",
        "/v1/leads",
        "/v1/leads/{id}",
        "/v1/leads/{id}/assign",
        "/v1/leads/{id}/activities",
    ] {
        assert!(paths.contains_key(p), "missing {p}");
    }
    assert!(paths["/v1/leads"]["post"]["responses"]["201"].is_object());
    assert!(paths["/v1/leads/{id}"]["patch"]["responses"]["409"].is_object());
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for s in [
        "Lead",
        "NewLead",
        "LeadPatch",
        "ErrorBody",
        "Priority",
        "LeadPage",
        "NewActivity",
    ] {
        assert!(schemas.contains_key(s), "missing schema {s}");
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert_eq!(
        doc,
        serde_json::to_value(fieldline_app::http::openapi()).unwrap(),
        "served document = generated document"
    );
}
