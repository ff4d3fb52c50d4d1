use fieldline_demo as demo;
use fieldline_tests::*;
use std::collections::HashSet;

#[tokio::test]
async fn demo_tenant_is_alive_and_seeding_twice_is_harmless() {
    let app = TestApp::spawn().await;
    let summary = demo::seed(&app.state, 150, 7).await.unwrap();
    assert!(summary.created);
    assert_eq!(
        (summary.managers.len(), summary.reps.len(), summary.leads),
        (3, 20, 150)
    );
    let admin = app.token(&summary.admin);

    let mut all = Vec::new();
    let mut path = "/v1/leads?limit=200".to_owned();
    loop {
        let page = app.get(&path, &admin).await.expect(200).body;
        all.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/leads?limit=200&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(all.len(), 150);
    let statuses: HashSet<&str> = all.iter().map(|l| l["status"].as_str().unwrap()).collect();
    assert!(
        statuses.contains("new")
            && statuses.contains("contacted")
            && statuses.contains("qualified"),
        "{statuses:?}"
    );
    let priorities: HashSet<&str> = all
        .iter()
        .map(|l| l["priority"].as_str().unwrap())
        .collect();
    assert!(priorities.len() >= 3, "{priorities:?}");
    let names: Vec<&str> = all
        .iter()
        .map(|l| l["contact"]["name"].as_str().unwrap())
        .collect();
    assert!(
        names
            .iter()
            .any(|n| n.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))),
        "Chinese names"
    );
    assert!(names.iter().any(|n| n.is_ascii()), "English names");

    let rep = &summary.reps[0];
    let mine = app
        .get("/v1/leads?limit=200", &app.token(rep))
        .await
        .expect(200)
        .body;
    assert!(
        mine["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["owner"] == json!(rep.id))
    );

    let again = demo::seed(&app.state, 150, 7).await.unwrap();
    assert!(!again.created);
    assert_eq!(again.reps.len(), 20);
}
