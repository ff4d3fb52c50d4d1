use fieldline_tests::*;

/// The web app's API types are generated from `web/openapi.json`: it must be the document the
/// server serves, or the UI could call what no longer exists. After an API change:
/// `cargo run -q -p fieldline -- openapi > web/openapi.json`.
#[tokio::test]
async fn the_web_apps_copy_of_the_openapi_document_is_current() {
    let app = TestApp::spawn().await;
    let f = fixture(&app.state).await;
    let served = app
        .get("/v1/openapi.json", &app.token(&f.east_rep))
        .await
        .expect(200)
        .body;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../web/openapi.json");
    let copy: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("web/openapi.json")).unwrap();
    assert!(
        copy == served,
        "web/openapi.json is stale: run `cargo run -q -p fieldline -- openapi > web/openapi.json`"
    );
}

/// Every `$ref` in the served document names a schema it defines (generators stop at one
/// that does not).
#[tokio::test]
async fn every_reference_in_the_openapi_document_resolves() {
    fn refs(value: &serde_json::Value, found: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(serde_json::Value::String(r)) = map.get("$ref") {
                    found.push(r.clone());
                }
                map.values().for_each(|v| refs(v, found));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
            _ => {}
        }
    }
    let doc = serde_json::to_value(fieldline_app::http::openapi_of(
        fieldline_app::http::ApiSurface::All,
    ))
    .unwrap();
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(found.len() > 50, "{} references", found.len());
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let dangling: Vec<&String> = found
        .iter()
        .filter(|r| {
            r.strip_prefix("#/components/schemas/")
                .is_none_or(|name| !schemas.contains_key(name))
        })
        .collect();
    assert!(dangling.is_empty(), "unresolved: {dangling:?}");
}

/// The embedded server serves the web app at `/` and keeps JSON errors under `/v1`.
#[tokio::test]
async fn the_web_app_is_served_beside_the_api() {
    let app = TestApp::spawn().await;
    let client = reqwest::Client::new();
    let page = client.get(format!("{}/", app.base)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(page.text().await.unwrap().contains("<html"));
    let missing = client
        .get(format!("{}/v1/no-such-thing", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let body: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(body["code"], "not_found");
}

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

/// What the document promises, checked against the document and the server: every
/// authenticated operation documents 401, every body 400/413/415/422, every query 400, and
/// each documented `limit` maximum is the one enforced.
#[tokio::test]
async fn the_document_tells_the_truth_about_errors_and_limits() {
    let app = TestApp::spawn().await;
    let f = fixture(&app.state).await;
    let manager = app.token(&f.east_manager);
    let doc = serde_json::to_value(fieldline_app::http::openapi()).unwrap();
    let mut limits = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            let has = |code: &str| responses.contains_key(code);
            let at = format!("{method} {path}");
            if op["security"].as_array().is_some_and(|s| !s.is_empty()) {
                assert!(has("401"), "{at}: no 401");
            }
            if op.get("requestBody").is_some() {
                for code in ["400", "413", "415", "422"] {
                    assert!(has(code), "{at}: no {code}");
                }
            }
            for p in op["parameters"].as_array().into_iter().flatten() {
                if p["in"] == "query" {
                    assert!(has("400"), "{at}: no 400 for its query");
                }
                if p["name"] == "limit" {
                    assert_eq!(p["in"], "query", "{at}");
                    let max = p["schema"]["maximum"].as_u64();
                    assert!(max.is_some(), "{at}: limit without a maximum");
                    limits.push((method.clone(), path.clone(), max.unwrap()));
                }
            }
        }
    }
    let metrics = &doc["paths"]["/v1/metrics/leads"]["get"]["parameters"];
    for p in metrics.as_array().unwrap() {
        assert_eq!(
            (p["in"].as_str(), p["required"].as_bool()),
            (Some("query"), Some(true))
        );
    }
    app.get("/v1/metrics/leads", &manager).await.expect(400);

    // Each documented maximum is accepted and one more is refused.
    let rep = app.token(&f.east_rep);
    let lead = app.create_lead(&rep, 1).await;
    let converted = crate::deals::converted_deal(&app, &rep, &lead_body(2)).await;
    let deal = converted["id"].as_str().unwrap();
    let customer = converted["customer"].as_str().unwrap();
    assert!(limits.len() >= 3, "{limits:?}");
    for (_, path, max) in limits {
        let id = if path.starts_with("/v1/deals/") {
            deal
        } else if path.starts_with("/v1/customers/") {
            customer
        } else {
            &lead
        };
        let path = path.replace("{id}", id);
        app.get(&format!("{path}?limit={max}"), &manager)
            .await
            .expect(200);
        let over = app
            .get(&format!("{path}?limit={}", max + 1), &manager)
            .await
            .expect(400);
        assert_eq!(over.body["code"], "invalid_query", "{path}");
        app.get(&format!("{path}?limit=0"), &manager)
            .await
            .expect(400);
    }
}

/// Found by Schemathesis: a stored rule was documented as the draft (which forbids extra
/// properties) plus its stamp, so no rule the server returned matched its own schema; a path
/// id that cannot be a rule id answered 422 where every path id answers 404.
#[tokio::test]
async fn rules_are_documented_as_served_and_malformed_ids_are_not_found() {
    let app = TestApp::spawn().await;
    let f = fixture(&app.state).await;
    let doc = serde_json::to_value(fieldline_app::http::openapi()).unwrap();
    let rule = &doc["components"]["schemas"]["Rule"];
    assert!(rule.get("allOf").is_none(), "{rule:#}");
    let served = app
        .get("/v1/rules/intake-sla-clocks", &app.token(&f.east_manager))
        .await
        .expect(200)
        .body;
    let properties = rule["properties"].as_object().unwrap();
    for key in served.as_object().unwrap().keys() {
        assert!(properties.contains_key(key), "{key} is not documented");
    }
    for required in rule["required"].as_array().unwrap() {
        assert!(
            served.get(required.as_str().unwrap()).is_some(),
            "{required}"
        );
    }
    for path in ["/v1/rules/Not_A-Rule", "/v1/rules/x/versions"] {
        let reply = app.get(path, &app.token(&f.east_manager)).await;
        assert_eq!(reply.expect(404).code(), "not_found", "{path}");
    }
}

/// One route of the SAM template's HTTP API: the function it invokes, its method (`ANY`) and
/// path (`/v1/visits/{proxy+}`).
#[derive(Debug)]
struct TemplateRoute {
    function: String,
    method: String,
    path: String,
}

/// The HTTP API routes in `infra/template.yaml`, read line by line (CloudFormation's `!Ref`
/// tags and the one-line `{ Path: …, Method: … }` maps are all this needs).
fn template_routes() -> Vec<TemplateRoute> {
    let template = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../infra/template.yaml"
    ))
    .unwrap();
    let value_after = |line: &str, key: &str| -> Option<String> {
        let rest = line[line.find(key)? + key.len()..].trim_start();
        Some(match rest.strip_prefix('"') {
            Some(quoted) => quoted[..quoted.find('"')?].to_owned(),
            None => rest[..rest.find([',', '}']).unwrap_or(rest.len())]
                .trim()
                .to_owned(),
        })
    };
    let mut routes = Vec::new();
    let (mut function, mut path) = (String::new(), None::<String>);
    for line in template.lines() {
        // Resources are the two-space-indented keys.
        if line.starts_with("  ") && !line.starts_with("   ") && line.trim_end().ends_with(':') {
            function = line.trim().trim_end_matches(':').to_owned();
        }
        if let Some(p) = value_after(line, "Path:") {
            path = Some(p);
        }
        if let (Some(method), Some(p)) = (value_after(line, "Method:"), path.clone()) {
            routes.push(TemplateRoute {
                function: function.clone(),
                method: method.to_uppercase(),
                path: p,
            });
            path = None;
        }
    }
    routes
}

/// How API Gateway picks a route for a request: an exact path over a greedy `{proxy+}`, the
/// longest proxy prefix, then a named method over `ANY`.
fn route_for<'a>(
    routes: &'a [TemplateRoute],
    method: &str,
    path: &str,
) -> Option<&'a TemplateRoute> {
    routes
        .iter()
        .filter(|r| r.method == "ANY" || r.method == method)
        .filter_map(|r| {
            let rank = if r.path == path {
                usize::MAX
            } else {
                let prefix = r.path.strip_suffix("/{proxy+}")?;
                path.strip_prefix(prefix)?.strip_prefix('/')?;
                prefix.len()
            };
            Some(((rank, r.method != "ANY"), r))
        })
        .max_by_key(|(rank, _)| *rank)
        .map(|(_, r)| r)
}

/// Every operation each API function serves has a route in the SAM template that reaches
/// that function (a route added to the router but not to the template is a 404 on AWS only).
#[test]
fn the_aws_template_routes_every_operation_to_the_function_serving_it() {
    use fieldline_app::http::{ApiSurface, openapi_of};
    let routes = template_routes();
    assert!(routes.len() > 20, "{routes:?}");
    let mut missing = Vec::new();
    for (surface, function) in [
        (ApiSurface::Leads, "ApiLeadsFunction"),
        (ApiSurface::Automation, "ApiAutomationFunction"),
    ] {
        let api = openapi_of(surface);
        for (path, item) in &api.paths.paths {
            let methods = [
                ("GET", item.get.is_some()),
                ("POST", item.post.is_some()),
                ("PUT", item.put.is_some()),
                ("PATCH", item.patch.is_some()),
                ("DELETE", item.delete.is_some()),
            ];
            for (method, _) in methods.iter().filter(|(_, served)| *served) {
                // Embedded only: on AWS a phone PUTs its bytes to the presigned S3 URL.
                if *path == "/v1/upload-tickets/{ticket}" {
                    continue;
                }
                let reached = route_for(&routes, method, path).map(|r| r.function.as_str());
                if reached != Some(function) {
                    missing.push(format!(
                        "{method} {path} -> {reached:?}, served by {function}"
                    ));
                }
            }
        }
    }
    assert!(missing.is_empty(), "{missing:#?}");
}
