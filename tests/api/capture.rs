//! Capture end to end: an upload through the API, its bytes to the ticket, the capture
//! sidecar with the real models over HTTP, and the records its reading becomes. On the
//! embedded server and on the AWS functions (S3 event, the capture stream consumer).

use fieldline_app::Config;
use fieldline_tests::capture::{CAPTURE_TOKEN, capture_sidecar, devset, serve_on};
use fieldline_tests::{ManualClock, TestApp, eventually, fixture, on_both_backends};
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::Arc;

on_both_backends!(
    a_card_becomes_a_contact_and_the_same_card_a_merge_proposal,
    a_voice_note_becomes_a_note_and_a_task_due_when_it_says,
    a_shelf_photo_with_an_empty_facing_yields_a_task,
    capture_down_then_up_loses_nothing_and_makes_nothing_twice,
    a_pasted_wechat_card_becomes_a_contact_once,
    a_card_with_no_subject_proposes_the_open_lead_with_its_phone,
    a_crash_before_the_upload_is_marked_done_makes_nothing_twice,
    a_phones_own_reading_is_checked_and_used_without_the_sidecar,
);

/// Monday 23 November 2026, 10:00 in Shanghai (UTC+8).
fn monday_morning() -> Arc<ManualClock> {
    ManualClock::at("2026-11-23T02:00:00Z".parse().unwrap())
}

fn with_capture(base: String) -> impl FnOnce(&mut Config) {
    move |c: &mut Config| {
        c.capture.url = Some(base);
        c.capture.token = Some(CAPTURE_TOKEN.into());
    }
}

fn links(upload: &Value, kind: &str) -> Vec<(String, String)> {
    upload["links"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|l| l["kind"] == kind)
        .map(|l| {
            (
                l["id"].as_str().unwrap().to_owned(),
                l["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn create_customer(app: &TestApp, token: &str, name: &str) -> String {
    let c = app
        .post("/v1/customers", token, &json!({"name": name}))
        .await
        .expect(201)
        .body;
    c["id"].as_str().unwrap().to_owned()
}

async fn contacts_of(app: &TestApp, token: &str, customer: &str) -> Vec<Value> {
    let c = app
        .get(&format!("/v1/customers/{customer}"), token)
        .await
        .expect(200)
        .body;
    c["contacts"].as_array().unwrap().clone()
}

/// A card scanned at a customer becomes its contact, each field with its confidence; a card
/// whose phone a contact already has proposes a merge instead, which the rep settles; the
/// file sent twice to one upload changes nothing. Others cannot read the upload.
async fn a_card_becomes_a_contact_and_the_same_card_a_merge_proposal() {
    let sidecar = capture_sidecar().await;
    let app = TestApp::spawn_with(monday_morning(), with_capture(sidecar)).await;
    let f = fixture(&app.state).await;
    let rep = app.token(&f.east_rep);
    let customer = create_customer(&app, &rep, "深圳新材料集团有限公司").await;
    let card = devset("cards/card-004.jpg");
    let body = json!({"kind": "card", "subject": {"customer": customer},
        "file_name": "名片.jpg", "content_type": "image/jpeg"});
    let started = {
        let mut b = body.clone();
        b["size"] = json!(card.len());
        app.post("/v1/uploads", &rep, &b).await.expect(201).body
    };
    let first = started["upload"]["id"].as_str().unwrap().to_owned();
    app.upload(&started["ticket"], card.clone()).await;
    let done = app.finished_upload(&rep, &first).await;
    assert_eq!(done["status"], "done", "{done}");
    let made = links(&done, "contact");
    assert_eq!(made.len(), 1, "{done}");
    assert_eq!(made[0].1, "created");
    let fields = done["captured"]["fields"].as_array().unwrap();
    let field = |name: &str| fields.iter().find(|f| f["field"] == name).cloned();
    assert_eq!(field("name").unwrap()["value"], "谢文博");
    for f in fields {
        let c = f["confidence"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&c), "{f}");
        assert_eq!(f["confirm"].as_bool().unwrap(), c < 0.85, "{f}");
    }
    let contacts = contacts_of(&app, &rep, &customer).await;
    assert_eq!(contacts.len(), 1);
    assert_eq!(contacts[0]["id"].as_str().unwrap(), made[0].0);
    assert_eq!(contacts[0]["name"], "谢文博");
    assert!(
        contacts[0]["phones"]
            .as_array()
            .unwrap()
            .contains(&json!("+8615147168701")),
        "{}",
        contacts[0]
    );
    // The same bytes again to the same upload: it is done already; nothing new.
    let (status, outcome) = app.upload(&started["ticket"], card.clone()).await;
    assert!((200..300).contains(&status), "{outcome}");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let again = app
        .get(&format!("/v1/uploads/{first}"), &rep)
        .await
        .expect(200)
        .body;
    assert_eq!(again["version"], done["version"]);
    assert_eq!(contacts_of(&app, &rep, &customer).await.len(), 1);

    // A contact typed earlier with card-002's mobile number: that card proposes a merge.
    let chen = app
        .post(
            &format!("/v1/customers/{customer}/contacts"),
            &rep,
            &json!({"name": "陈总", "phones": ["196 5552 3243"]}),
        )
        .await
        .expect(201)
        .body;
    let second = app
        .send_upload(&rep, body, devset("cards/card-002.jpg"))
        .await;
    let proposed = app.finished_upload(&rep, &second).await;
    assert_eq!(proposed["status"], "done", "{proposed}");
    assert_eq!(
        links(&proposed, "contact"),
        [(
            chen["id"].as_str().unwrap().to_owned(),
            "proposed".to_owned()
        )]
    );
    assert_eq!(proposed["captured"]["proposal"]["contact"], chen["id"]);
    assert_eq!(contacts_of(&app, &rep, &customer).await.len(), 2);
    let decide = |decision: &str| {
        let app = &app;
        let rep = rep.clone();
        let path = format!("/v1/uploads/{second}/proposal");
        let body = json!({ "decision": decision });
        async move { app.post(&path, &rep, &body).await }
    };
    let merged = decide("merge").await.expect(200).body;
    assert_eq!(merged["captured"]["proposal"]["decision"], "merged");
    assert_eq!(links(&merged, "contact")[0].1, "changed");
    let read: Vec<String> = merged["captured"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["field"] == "email")
        .map(|f| f["value"].as_str().unwrap().to_lowercase())
        .collect();
    assert!(!read.is_empty(), "{merged}");
    let after = contacts_of(&app, &rep, &customer).await;
    let chen_now = after.iter().find(|c| c["id"] == chen["id"]).unwrap();
    assert_eq!(chen_now["name"], "陈总", "the rep's name stays");
    let stored: Vec<String> = chen_now["emails"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_lowercase())
        .collect();
    assert_eq!(stored, read, "{chen_now}");
    assert_eq!(chen_now["title"], "总经理", "{chen_now}");
    decide("merge").await.expect(200);
    assert_eq!(decide("dismiss").await.expect(409).code(), "conflict");

    // A contact edit by hand, through the same key rules.
    let patch = json!({"phones": ["+8615147168701"]});
    let clash = app
        .patch(
            &format!("/v1/contacts/{}", chen["id"].as_str().unwrap()),
            &rep,
            &patch,
        )
        .await
        .expect(409);
    assert_eq!(clash.body["details"]["key"], "contact:phone:+8615147168701");

    // The auto-capture rate: two contacts made, one by capture (the proposal made none).
    let period = "/v1/metrics/capture?from=2026-11-23T00:00:00Z&to=2026-11-24T00:00:00Z";
    let report = app.get(period, &rep).await.expect(200).body;
    let mine = &report["reps"][0];
    assert_eq!(report["reps"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(
        (
            &mine["records"],
            &mine["captured"],
            &mine["rate"],
            &mine["status"]
        ),
        (&json!(2), &json!(1), &json!(0.5), &json!("watch")),
        "{report}"
    );
    assert_eq!(mine["uploads_done"], 2);
    let card_fields = done["captured"]["fields"].as_array().unwrap().len()
        + proposed["captured"]["fields"].as_array().unwrap().len();
    assert_eq!(mine["fields_captured"], json!(card_fields));
    let team = app
        .get(period, &app.token(&f.east_manager))
        .await
        .expect(200)
        .body;
    assert_eq!(team["total"]["captured"], 1, "{team}");
    // Weekly active reps: the rep who worked; in the team, one of its two reps.
    assert_eq!(
        report["active_reps"],
        json!({"reps": 1, "active": 1, "rate": 1.0, "status": "healthy",
            "band": {"healthy_at": 0.9, "warning_below": 0.6}})
    );
    assert_eq!(
        (&team["active_reps"]["reps"], &team["active_reps"]["active"]),
        (&json!(2), &json!(1)),
        "{team}"
    );
    assert_eq!(team["active_reps"]["status"], "warning");

    // Another team's rep does not see the upload; a manager of the uploader's team does.
    let path = format!("/v1/uploads/{first}");
    app.get(&path, &app.token(&f.south_rep)).await.expect(403);
    app.get(&path, &app.token(&f.east_manager))
        .await
        .expect(200);
    app.get(&path, &app.token(&f.globex_rep)).await.expect(404);
}

/// "明天下午三点再联系" said on Monday morning: a note on the lead with the transcript, and a
/// task due Tuesday 15:00 in the tenant's zone (Shanghai), for the rep who recorded it.
async fn a_voice_note_becomes_a_note_and_a_task_due_when_it_says() {
    let sidecar = capture_sidecar().await;
    let app = TestApp::spawn_with(monday_morning(), with_capture(sidecar)).await;
    let f = fixture(&app.state).await;
    let rep = app.token(&f.east_rep);
    let lead = app.create_lead(&rep, 1).await;
    let body = json!({"kind": "voice", "subject": {"lead": lead},
        "file_name": "note.wav", "content_type": "audio/wav"});
    let id = app
        .send_upload(&rep, body, devset("voice-zh-neural/neural_00_zh.wav"))
        .await;
    let done = app.finished_upload(&rep, &id).await;
    assert_eq!(done["status"], "done", "{done}");
    let voice = &done["captured"];
    assert!(
        voice["transcript"]
            .as_str()
            .unwrap()
            .contains("明天下午三点"),
        "{voice}"
    );
    assert_eq!(voice["next_contact"], "2026-11-24T07:00:00Z");
    let tasks = app.get("/v1/me/tasks", &rep).await.expect(200).body;
    let task_ids: Vec<String> = links(&done, "task").into_iter().map(|(id, _)| id).collect();
    let next = tasks
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["due_at"] == "2026-11-24T07:00:00Z")
        .unwrap_or_else(|| panic!("no task due Tuesday 15:00 Shanghai: {tasks}"));
    assert!(task_ids.contains(&next["id"].as_str().unwrap().to_owned()));
    assert_eq!(next["lead"], json!(lead));
    let activities = app
        .get(&format!("/v1/leads/{lead}/activities"), &rep)
        .await
        .expect(200)
        .body;
    let notes: Vec<&Value> = activities
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| {
            a["summary"]
                .as_str()
                .is_some_and(|s| s.contains("明天下午三点"))
        })
        .collect();
    assert_eq!(notes.len(), 1, "{activities}");

    // The rep corrects the transcript; the machine's stays beside it. Only they may.
    let path = format!("/v1/uploads/{id}/transcript");
    let fix = json!({"text": "明天下午三点再联系王总，把报价单发过去"});
    app.send(
        Method::PUT,
        &path,
        Some(&app.token(&f.east_manager)),
        Some(&fix),
    )
    .await
    .expect(403);
    let corrected = app
        .send(Method::PUT, &path, Some(&rep), Some(&fix))
        .await
        .expect(200)
        .body;
    assert_eq!(corrected["captured"]["corrected"]["text"], fix["text"]);
    assert_eq!(corrected["captured"]["transcript"], voice["transcript"]);
}

/// A shelf photo taken on a visit to a store whose facings show bare wall: an audit note on
/// the store, an out-of-stock task for the rep (the default rule on the audit), and the
/// photo on the visit, which then checks
/// out valid with one key action.
async fn a_shelf_photo_with_an_empty_facing_yields_a_task() {
    let sidecar = capture_sidecar().await;
    let clock = monday_morning();
    let app = TestApp::spawn_with(clock.clone(), with_capture(sidecar)).await;
    let f = fixture(&app.state).await;
    let rep = app.token(&f.east_rep);
    let store = create_customer(&app, &rep, "联华超市张江店").await;
    let visit = app
        .post(
            "/v1/visits",
            &rep,
            &json!({"customer": store, "purpose": "货架检查",
                "position": {"lat": 31.2, "lon": 121.6, "accuracy_m": 10.0}}),
        )
        .await
        .expect(201)
        .body;
    let visit_id = visit["id"].as_str().unwrap().to_owned();
    // Only the rep on the visit adds its photos.
    let other = json!({"kind": "shelf", "subject": {"visit": visit_id}, "file_name": "shelf.jpg",
        "content_type": "image/jpeg", "size": 1000});
    app.post("/v1/uploads", &app.token(&f.east_manager), &other)
        .await
        .expect(403);
    let body = json!({"kind": "shelf", "subject": {"visit": visit_id},
        "file_name": "shelf.jpg", "content_type": "image/jpeg"});
    let id = app
        .send_upload(&rep, body, devset("shelves/shelf-000.jpg"))
        .await;
    let done = app.finished_upload(&rep, &id).await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["captured"]["out_of_stock"], true, "{done}");
    assert!(done["captured"]["price_tags"].as_u64().unwrap() >= 10);
    assert_eq!(
        links(&done, "visit"),
        [(visit_id.clone(), "changed".to_owned())]
    );
    // The audit's event reaches the default rule that makes the restock task.
    let oos = eventually("the out-of-stock task", || async {
        let tasks = app.get("/v1/me/tasks", &rep).await.expect(200).body;
        let oos: Vec<Value> = tasks
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["rule"] == "shelf-out-of-stock-task")
            .cloned()
            .collect();
        (!oos.is_empty()).then_some(oos)
    })
    .await;
    assert_eq!(oos.len(), 1, "{oos:?}");
    assert_eq!(oos[0]["customer"], json!(store));
    assert_eq!(links(&done, "activity").len(), 1);
    let notes = app
        .get(&format!("/v1/customers/{store}/activities"), &rep)
        .await
        .expect(200)
        .body;
    assert!(notes.to_string().contains("货架照片"), "{notes}");

    clock.advance_hours(0.5);
    let out = app
        .post(
            &format!("/v1/visits/{visit_id}/check-out"),
            &rep,
            &json!({"actions": ["补货"]}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(out["photos"], json!([id]));
    assert_eq!(out["valid"], true, "{out}");
}

/// The sidecar is down when the card arrives: the upload waits (attempts, retry_at), nothing
/// is lost; once it is up and the retry is due, the card is read once. A corrupt photo fails
/// with the sidecar's stable code; a wrong content type is refused at the start.
async fn capture_down_then_up_loses_nothing_and_makes_nothing_twice() {
    // A port nothing listens on yet.
    let reserved = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = reserved.local_addr().unwrap();
    drop(reserved);
    let clock = monday_morning();
    let app = TestApp::spawn_with(clock.clone(), with_capture(format!("http://{addr}"))).await;
    let f = fixture(&app.state).await;
    let rep = app.token(&f.east_rep);
    let customer = create_customer(&app, &rep, "杭州精密机械集团有限公司").await;
    let body = json!({"kind": "card", "subject": {"customer": customer},
        "file_name": "card.jpg", "content_type": "image/jpeg"});
    let id = app
        .send_upload(&rep, body.clone(), devset("cards/card-004.jpg"))
        .await;
    let path = format!("/v1/uploads/{id}");
    let waiting = eventually("the upload to wait for capture", || async {
        let u = app.get(&path, &rep).await.expect(200).body;
        (u["attempts"].as_u64() >= Some(1)).then_some(u)
    })
    .await;
    assert_eq!(waiting["status"], "processing");
    assert!(waiting["retry_at"].is_string(), "{waiting}");

    // Capture comes up on that address; the retry falls due.
    serve_on(tokio::net::TcpListener::bind(addr).await.unwrap());
    clock.advance_hours(1.0);
    let done = app.finished_upload(&rep, &id).await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(links(&done, "contact").len(), 1);
    assert_eq!(contacts_of(&app, &rep, &customer).await.len(), 1);
    // Another hour: nothing further happens to it.
    clock.advance_hours(1.0);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let later = app.get(&path, &rep).await.expect(200).body;
    assert_eq!(later["version"], done["version"]);
    assert_eq!(contacts_of(&app, &rep, &customer).await.len(), 1);

    // A photo that is a JPEG only in its first bytes.
    let mut corrupt = b"\xFF\xD8\xFF\xE0".to_vec();
    corrupt.extend(std::iter::repeat_n(0x5Au8, 4000));
    let bad = app.send_upload(&rep, body.clone(), corrupt).await;
    let failed = app.finished_upload(&rep, &bad).await;
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["error"]["code"], "corrupt_image", "{failed}");
    // A card must be an image.
    let mut pdf = body;
    pdf["content_type"] = json!("application/pdf");
    pdf["size"] = json!(1000);
    let refused = app.post("/v1/uploads", &rep, &pdf).await.expect(422);
    assert_eq!(refused.body["details"]["field"], "content_type");
}

/// A WeChat card pasted as text goes through the same extractor: its labelled fields become a
/// contact at the customer; the same paste retried with its key is the same upload.
async fn a_pasted_wechat_card_becomes_a_contact_once() {
    let sidecar = capture_sidecar().await;
    let app = TestApp::spawn_with(monday_morning(), with_capture(sidecar)).await;
    let f = fixture(&app.state).await;
    let rep = app.token(&f.east_rep);
    let customer = create_customer(&app, &rep, "苏州精密机械有限公司").await;
    let body = json!({"subject": {"customer": customer}, "text":
        "姓名：王建国\n公司：苏州精密机械有限公司\n职位：采购经理\n手机：139 1234 5678\n邮箱：wangjg@szjm.com.cn\n微信号：wjg_1980"});
    let paste = |key: &'static str| {
        let (app, rep, body) = (&app, rep.clone(), body.clone());
        async move {
            app.send_with(
                Method::POST,
                "/v1/uploads/card-text",
                Some(&rep),
                Some(&body),
                &[("idempotency-key", key)],
            )
            .await
        }
    };
    let first = paste("wechat-1").await.expect(201).body;
    assert_eq!(first["status"], "processing");
    let again = paste("wechat-1").await.expect(200).body;
    assert_eq!(again["id"], first["id"]);
    let done = app
        .finished_upload(&rep, first["id"].as_str().unwrap())
        .await;
    assert_eq!(done["status"], "done", "{done}");
    let fields = done["captured"]["fields"].as_array().unwrap();
    assert!(
        fields
            .iter()
            .all(|f| f["confidence"] == 1.0 && f["confirm"] == false),
        "{done}"
    );
    let contacts = contacts_of(&app, &rep, &customer).await;
    assert_eq!(contacts.len(), 1, "{contacts:?}");
    assert_eq!(contacts[0]["name"], "王建国");
    assert_eq!(contacts[0]["title"], "采购经理");
    assert_eq!(contacts[0]["phones"], json!(["+8613912345678"]));
    assert_eq!(contacts[0]["emails"], json!(["wangjg@szjm.com.cn"]));
    let blank = json!({"subject": {"customer": customer}, "text": "  "});
    app.post("/v1/uploads/card-text", &rep, &blank)
        .await
        .expect(422);
}

/// A card with no subject would make a lead; an open lead with its phone is proposed instead.
/// Merging fills what the lead lacks and notes the card on it; dismissing a later card makes
/// its own lead (leads may share a phone, unlike contacts); a card processed again after a
/// crash finds the lead it made rather than proposing it to itself.
async fn a_card_with_no_subject_proposes_the_open_lead_with_its_phone() {
    let sidecar = capture_sidecar().await;
    let app = TestApp::spawn_with(monday_morning(), with_capture(sidecar)).await;
    let f = fixture(&app.state).await;
    let rep = app.token(&f.east_rep);
    let typed =
        json!({"source": "cold_call", "contact": {"name": "王先生", "phone": "13912345678"}});
    let typed = app.post("/v1/leads", &rep, &typed).await.expect(201).body;
    let lead = typed["id"].as_str().unwrap().to_owned();
    let paste = |key: &'static str, text: &'static str| {
        let (app, rep) = (&app, rep.clone());
        async move {
            let body = json!({ "text": text });
            let sent = app
                .send_with(
                    Method::POST,
                    "/v1/uploads/card-text",
                    Some(&rep),
                    Some(&body),
                    &[("idempotency-key", key)],
                )
                .await
                .expect(201)
                .body;
            app.finished_upload(&rep, sent["id"].as_str().unwrap())
                .await
        }
    };
    let card = "姓名：王建国\n公司：苏州精密机械有限公司\n职位：采购经理\n手机：139 1234 5678\n邮箱：wangjg@szjm.com.cn";
    let leads = || async {
        let list = app.get("/v1/leads", &rep).await.expect(200).body;
        list["items"].as_array().unwrap().clone()
    };

    let first = paste("card-1", card).await;
    assert_eq!(first["status"], "done", "{first}");
    assert_eq!(
        links(&first, "lead"),
        [(lead.clone(), "proposed".to_owned())]
    );
    let proposal = &first["captured"]["proposal"];
    assert_eq!(proposal["lead"], lead.as_str(), "{first}");
    assert_eq!(proposal["key"], "lead:phone:+8613912345678");
    assert!(proposal["contact"].is_null(), "{first}");
    assert_eq!(leads().await.len(), 1, "no second lead for the same phone");

    let decide = |upload: &Value, decision: &str| {
        let (app, rep) = (&app, rep.clone());
        let path = format!("/v1/uploads/{}/proposal", upload["id"].as_str().unwrap());
        let body = json!({ "decision": decision });
        async move { app.post(&path, &rep, &body).await }
    };
    let merged = decide(&first, "merge").await.expect(200).body;
    assert_eq!(merged["captured"]["proposal"]["decision"], "merged");
    assert_eq!(
        links(&merged, "lead"),
        [(lead.clone(), "changed".to_owned())]
    );
    let now = app
        .get(&format!("/v1/leads/{lead}"), &rep)
        .await
        .expect(200)
        .body;
    assert_eq!(now["contact"]["name"], "王先生", "the rep's name stays");
    assert_eq!(now["contact"]["email"], "wangjg@szjm.com.cn", "{now}");
    assert_eq!(now["contact"]["company"], "苏州精密机械有限公司");
    assert_eq!(now["contact"]["title"], "采购经理");
    let log = app
        .get(&format!("/v1/leads/{lead}/activities"), &rep)
        .await
        .expect(200)
        .body;
    let notes: Vec<&Value> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["summary"].as_str().unwrap_or("").contains("王建国"))
        .collect();
    assert_eq!(notes.len(), 1, "{log}");
    decide(&first, "merge").await.expect(200);
    assert_eq!(leads().await.len(), 1);

    // The same person's card again: proposed again; the rep says it is someone else.
    let second = paste("card-2", card).await;
    assert_eq!(
        links(&second, "lead"),
        [(lead.clone(), "proposed".to_owned())]
    );
    let dismissed = decide(&second, "dismiss").await.expect(200).body;
    let made: Vec<(String, String)> = links(&dismissed, "lead");
    assert_eq!(made.len(), 2, "{dismissed}");
    assert_eq!(made[0], (lead.clone(), "dismissed".to_owned()));
    let (own, action) = &made[1];
    assert_eq!(action, "created");
    assert_ne!(own, &lead);
    let own_lead = app
        .get(&format!("/v1/leads/{own}"), &rep)
        .await
        .expect(200)
        .body;
    assert_eq!(own_lead["source"], "event");
    assert_eq!(own_lead["contact"]["name"], "王建国");
    let again = decide(&second, "dismiss").await.expect(200).body;
    assert_eq!(
        again["version"], dismissed["version"],
        "answering again changes nothing"
    );
    assert_eq!(
        decide(&second, "merge").await.expect(409).code(),
        "conflict"
    );
    assert_eq!(leads().await.len(), 2);

    // A card nobody has: its own lead, found again (not proposed) when processed again.
    let third = paste(
        "card-3",
        "姓名：李娜\n公司：杭州云启科技有限公司\n手机：137 0000 1111",
    )
    .await;
    let made = links(&third, "lead");
    assert_eq!(made.len(), 1, "{third}");
    assert_eq!(made[0].1, "created");
    let replayed = replay_after_crash(&app, third["id"].as_str().unwrap()).await;
    assert_eq!(links(&replayed, "lead"), made, "{replayed}");
    assert!(replayed["captured"]["proposal"].is_null(), "{replayed}");
    assert_eq!(leads().await.len(), 3);
}

/// Puts a finished upload back to `processing` with nothing recorded on it, as if the process
/// had died after writing the records and before writing the status; then reads it again.
async fn replay_after_crash(app: &TestApp, id: &str) -> Value {
    let tenant = fieldline_domain::TenantId::parse("acme").unwrap();
    let id = app
        .rewind_upload(&tenant, id, |upload| {
            upload.captured = None;
            upload.links.clear();
            upload.results.clear();
        })
        .await;
    fieldline_app::capture::process(&app.state, &tenant, id)
        .await
        .unwrap();
    serde_json::to_value(app.stored_upload(&tenant, id).await).unwrap()
}

/// A restart between writing a reading's records and marking the upload done: reading the
/// upload again finds the contact, the note and the task it made and only finishes the upload.
async fn a_crash_before_the_upload_is_marked_done_makes_nothing_twice() {
    let sidecar = capture_sidecar().await;
    let app = TestApp::spawn_with(monday_morning(), with_capture(sidecar)).await;
    let f = fixture(&app.state).await;
    let rep = app.token(&f.east_rep);
    let customer = create_customer(&app, &rep, "杭州精密机械集团有限公司").await;
    let card = json!({"kind": "card", "subject": {"customer": customer},
        "file_name": "card.jpg", "content_type": "image/jpeg"});
    let card_id = app
        .send_upload(&rep, card, devset("cards/card-004.jpg"))
        .await;
    let lead = app.create_lead(&rep, 7).await;
    let voice = json!({"kind": "voice", "subject": {"lead": lead},
        "file_name": "note.wav", "content_type": "audio/wav"});
    let voice_id = app
        .send_upload(&rep, voice, devset("voice-zh-neural/neural_00_zh.wav"))
        .await;
    let card_done = app.finished_upload(&rep, &card_id).await;
    let voice_done = app.finished_upload(&rep, &voice_id).await;
    assert_eq!(
        (&card_done["status"], &voice_done["status"]),
        (&json!("done"), &json!("done"))
    );
    let tasks_before = app.get("/v1/me/tasks", &rep).await.expect(200).body;

    let card_again = replay_after_crash(&app, &card_id).await;
    assert_eq!(card_again["status"], "done");
    assert_eq!(card_again["links"], card_done["links"]);
    assert_eq!(contacts_of(&app, &rep, &customer).await.len(), 1);
    let voice_again = replay_after_crash(&app, &voice_id).await;
    assert_eq!(voice_again["links"], voice_done["links"]);
    let activities = app
        .get(&format!("/v1/leads/{lead}/activities"), &rep)
        .await
        .expect(200)
        .body;
    let notes = activities
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| {
            a["summary"]
                .as_str()
                .is_some_and(|s| s.starts_with("语音记录"))
        })
        .count();
    assert_eq!(notes, 1, "{activities}");
    let tasks_after = app.get("/v1/me/tasks", &rep).await.expect(200).body;
    assert_eq!(
        tasks_after.as_array().unwrap().len(),
        tasks_before.as_array().unwrap().len()
    );
}

/// A server without a capture service: a phone that read its note itself sends the reading
/// with the upload (checked like any input) and gets its records; a card without one fails
/// with `capture_unavailable` instead of waiting for a service that is not configured.
async fn a_phones_own_reading_is_checked_and_used_without_the_sidecar() {
    let app = TestApp::spawn_with(monday_morning(), |_| {}).await;
    let f = fixture(&app.state).await;
    let rep = app.token(&f.east_rep);
    let lead = app.create_lead(&rep, 3).await;
    let reading = json!({"transcript": "明天下午三点再联系，我把报价单发给您", "language": "zh",
        "duration_s": 3.5, "followup": {
            "next_contact": {"at": "2026-11-24T15:00:00+08:00", "phrase": "明天下午三点"},
            "commitments": ["我把报价单发给您"],
            "mentions": [{"name": "西门子", "kind": "competitor"}, {"name": "我们的泵", "kind": "product"}],
            "concerns": ["价格偏高"]}});
    let body = json!({"kind": "voice", "subject": {"lead": lead}, "file_name": "note.wav",
        "content_type": "audio/wav", "device_reading": reading});
    let id = app
        .send_upload(
            &rep,
            body.clone(),
            devset("voice-zh-neural/neural_00_zh.wav"),
        )
        .await;
    let done = app.finished_upload(&rep, &id).await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["captured"]["next_contact"], "2026-11-24T07:00:00Z");
    assert_eq!(
        links(&done, "task").len(),
        2,
        "next contact and the promise"
    );
    assert_eq!(links(&done, "activity").len(), 1);
    assert_eq!(done["captured"]["tags"], json!(["价格偏高", "竞品:西门子"]));
    // Reports count them.
    let period = "/v1/metrics/capture?from=2026-11-23T00:00:00Z&to=2026-11-24T00:00:00Z";
    let report = app.get(period, &rep).await.expect(200).body;
    assert_eq!(
        report["voice_tags"],
        json!([{"tag": "价格偏高", "count": 1}, {"tag": "竞品:西门子", "count": 1}])
    );

    let mut bad = body.clone();
    bad["device_reading"] = json!({"transcript": 5});
    bad["size"] = json!(1000);
    let refused = app.post("/v1/uploads", &rep, &bad).await.expect(422);
    assert_eq!(refused.body["details"]["field"], "device_reading");

    let card = json!({"kind": "card", "file_name": "card.jpg", "content_type": "image/jpeg"});
    let failed = app
        .send_upload(&rep, card, devset("cards/card-004.jpg"))
        .await;
    let failed = app.finished_upload(&rep, &failed).await;
    assert_eq!(failed["error"]["code"], "capture_unavailable", "{failed}");
}
