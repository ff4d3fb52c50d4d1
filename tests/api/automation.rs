//! Lead automation end to end on the embedded server, with a clock the test moves: the default
//! rules start the SLA clocks, escalate a broken promise, stop a clock when the rep acts, route
//! unowned leads fairly, send stale leads back to the pool, and explain every step in the
//! decision log. Managers change rules through the API without a restart.

use fieldline_domain::LeadId;
use fieldline_tests::*;
use serde_json::Value;
use std::collections::BTreeMap;

async fn start() -> (TestApp, Fixture, std::sync::Arc<ManualClock>) {
    let clock = ManualClock::at(chrono::Utc::now());
    let app = TestApp::spawn_with_clock(clock.clone()).await;
    let fx = fixture(&app.state).await;
    (app, fx, clock)
}

fn lead_id(raw: &str) -> LeadId {
    raw.parse().unwrap()
}

async fn pending_timers(app: &TestApp, fx: &Fixture, lead: &str) -> Vec<String> {
    app.state
        .timers
        .pending_timers(&fx.acme, lead_id(lead).into())
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect()
}

/// Decisions on a lead as (rule, outcome) once `rule` has logged `count` actions.
async fn decisions_of(
    app: &TestApp,
    token: &str,
    lead: &str,
    rule: &str,
    count: usize,
) -> Vec<Value> {
    let path = format!("/v1/leads/{lead}/decisions");
    decisions_of_rule(app, token, &path, rule, count).await
}

/// The owner a rule gives a lead, once it has one.
async fn assigned_owner(app: &TestApp, token: &str, id: &str) -> String {
    eventually("assigned", || async {
        let lead = app
            .get(&format!("/v1/leads/{id}"), token)
            .await
            .expect(200)
            .body;
        lead["owner"].as_str().map(str::to_owned)
    })
    .await
}

async fn inbox(app: &TestApp, token: &str) -> Vec<Value> {
    app.get("/v1/me/notifications", token)
        .await
        .expect(200)
        .body
        .as_array()
        .unwrap()
        .clone()
}

async fn a_lead_nobody_contacts_escalates_and_a_call_stops_the_activation_clock() {
    let (app, fx, clock) = start().await;
    let rep = app.token(&fx.east_rep);
    let manager = app.token(&fx.east_manager);
    let lead = app.create_lead(&rep, 1).await;

    // Intake: five clocks start, each logged with the rule version that started it.
    let started = decisions_of(&app, &rep, &lead, "intake-sla-clocks", 5).await;
    assert!(
        started
            .iter()
            .all(|d| d["outcome"] == "done" && d["rule_version"] == 1)
    );
    let mut timers = pending_timers(&app, &fx, &lead).await;
    timers.sort();
    assert_eq!(
        timers,
        [
            "activation",
            "first_contact",
            "no_progress",
            "stale",
            "welcome"
        ]
    );

    // Nobody acts for 25 hours: the welcome reminder and the 24 h breach fire.
    clock.advance_hours(25.0);
    let breach = decisions_of(&app, &rep, &lead, "first-contact-breach", 2).await;
    assert_eq!(breach[0]["trigger"], "timer_fired");
    assert_eq!(breach[0]["evidence"][0]["field"], "event.name");
    assert_eq!(breach[0]["evidence"][0]["actual"], "first_contact");
    assert!(breach[0]["detail"].as_str().unwrap().contains("em@acme.cn"));
    let manager_inbox = inbox(&app, &manager).await;
    assert!(
        manager_inbox
            .iter()
            .any(|n| n["kind"] == "escalation" && n["rule"] == "first-contact-breach"),
        "{manager_inbox:?}"
    );
    let rep_inbox = inbox(&app, &rep).await;
    assert!(rep_inbox.iter().any(|n| n["rule"] == "welcome-overdue"));
    // The other team's manager hears nothing.
    assert!(inbox(&app, &app.token(&fx.south_manager)).await.is_empty());

    // The rep finally calls: the activation clock stops, the stale clock restarts.
    app.post(
        &format!("/v1/leads/{lead}/activities"),
        &rep,
        &json!({"kind": "call", "summary": "谈了需求，下周报价"}),
    )
    .await
    .expect(201);
    decisions_of(&app, &rep, &lead, "conversation-stops-activation-clock", 1).await;
    let timers = pending_timers(&app, &fx, &lead).await;
    assert!(!timers.contains(&"activation".to_string()), "{timers:?}");
    assert!(timers.contains(&"stale".to_string()));

    // Past 72 h: no activation escalation, because the clock was cancelled.
    clock.advance_hours(50.0);
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let all = app
        .get(&format!("/v1/leads/{lead}/decisions"), &rep)
        .await
        .expect(200)
        .body;
    assert!(
        !all.as_array()
            .unwrap()
            .iter()
            .any(|d| d["rule"] == "activation-breach"),
        "activation escalated although the rep called"
    );
    // The breach fired once: one escalation in the manager's inbox, and no first-contact
    // timer left pending.
    let escalations = inbox(&app, &manager)
        .await
        .into_iter()
        .filter(|n| n["rule"] == "first-contact-breach")
        .count();
    assert_eq!(escalations, 1);
    let pending = pending_timers(&app, &fx, &lead).await;
    assert!(!pending.contains(&"first_contact".to_string()));
}

async fn unowned_leads_are_spread_round_robin_even_when_they_arrive_together() {
    let (app, fx, _clock) = start().await;
    let admin = app.token(&fx.admin);
    let creates = (0..9).map(|n| {
        let app = &app;
        let admin = admin.clone();
        async move {
            let mut body = lead_body(100 + n);
            body["owner"] = Value::Null;
            app.post("/v1/leads", &admin, &body).await.expect(201).body["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    });
    let leads = futures::future::join_all(creates).await;
    let owners = eventually("all nine leads assigned", || async {
        let mut owners = BTreeMap::new();
        for id in &leads {
            let lead = app
                .get(&format!("/v1/leads/{id}"), &admin)
                .await
                .expect(200)
                .body;
            let owner = lead["owner"].as_str()?.to_owned();
            *owners.entry(owner).or_insert(0) += 1;
        }
        Some(owners)
    })
    .await;
    // Three active reps in acme (two in East, one in South): three leads each.
    assert_eq!(owners.len(), 3, "{owners:?}");
    assert!(owners.values().all(|n| *n == 3), "{owners:?}");
    assert!(!owners.contains_key(&fx.east_manager.id.to_string()));
}

async fn a_stale_lead_goes_back_to_the_pool_and_the_first_claim_wins() {
    let (app, fx, clock) = start().await;
    let rep = app.token(&fx.east_rep);
    let lead = app.create_lead(&rep, 7).await;
    decisions_of(&app, &rep, &lead, "intake-sla-clocks", 5).await;
    // Nothing logged for 7 days: owner and manager are warned, the grace clock starts.
    clock.advance_hours(169.0);
    let warned = decisions_of(&app, &rep, &lead, "stale-warning", 3).await;
    assert!(warned.iter().all(|d| d["outcome"] == "done"), "{warned:?}");
    // Two more days: back to the pool.
    clock.advance_hours(49.0);
    let pooled = decisions_of(&app, &rep, &lead, "return-stale-to-pool", 1).await;
    assert_eq!(pooled[0]["outcome"], "done", "{pooled:?}");
    let admin = app.token(&fx.admin);
    let body = app
        .get(&format!("/v1/leads/{lead}"), &admin)
        .await
        .expect(200)
        .body;
    assert_eq!(body["in_pool"], true);
    assert!(body["owner"].is_null());

    // Every rep sees the pool; two claim at once and exactly one wins.
    let pool = app
        .get("/v1/leads?pool=true", &app.token(&fx.south_rep))
        .await
        .expect(200)
        .body;
    assert_eq!(pool["items"][0]["id"], lead.as_str());
    let (a, b) = (app.token(&fx.east_rep2), app.token(&fx.south_rep));
    let path = format!("/v1/leads/{lead}/claim");
    let empty = json!({});
    let (ra, rb) = tokio::join!(app.post(&path, &a, &empty), app.post(&path, &b, &empty));
    let mut statuses = [ra.status.as_u16(), rb.status.as_u16()];
    statuses.sort();
    assert_eq!(
        statuses,
        [200, 409],
        "one claim wins, the other is told it lost the race"
    );
    let after = app
        .get(&format!("/v1/leads/{lead}"), &admin)
        .await
        .expect(200)
        .body;
    assert_eq!(after["in_pool"], false);
    let winner = after["owner"].as_str().unwrap();
    assert!(
        [fx.east_rep2.id.to_string(), fx.south_rep.id.to_string()].contains(&winner.to_string())
    );
    // Claiming an owned lead is refused: 409 in the winner's scope, 403 outside it.
    let again = app.post(&path, &a, &json!({})).await;
    assert!(
        matches!(again.status.as_u16(), 403 | 409),
        "{}",
        again.status
    );
}

async fn managers_change_rules_through_the_api_and_every_version_is_kept() {
    let (app, fx, clock) = start().await;
    let manager = app.token(&fx.east_manager);
    let rep = app.token(&fx.east_rep);

    let rules = app.get("/v1/rules", &rep).await.expect(200).body;
    assert!(
        rules.as_array().unwrap().len() >= 10,
        "the default rule set is installed"
    );
    let breach = app
        .get("/v1/rules/first-contact-breach", &manager)
        .await
        .expect(200)
        .body;
    assert_eq!(breach["version"], 1);

    // Reps read rules but cannot change them (the same change as `TestApp::disable_rule`).
    let mut draft = breach.clone();
    for key in ["id", "tenant", "version", "changed_by", "changed_at"] {
        draft.as_object_mut().unwrap().remove(key);
    }
    draft["enabled"] = json!(false);
    let put = json!({"expected_version": 1, "rule": draft});
    assert_eq!(
        app.send(
            reqwest::Method::PUT,
            "/v1/rules/first-contact-breach",
            Some(&rep),
            Some(&put)
        )
        .await
        .status,
        403
    );
    // The manager switches the escalation off: no restart needed.
    let v2 = app
        .send(
            reqwest::Method::PUT,
            "/v1/rules/first-contact-breach",
            Some(&manager),
            Some(&put),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(v2["version"], 2);
    assert_eq!(v2["enabled"], false);
    // A stale version is a conflict.
    assert_eq!(
        app.send(
            reqwest::Method::PUT,
            "/v1/rules/first-contact-breach",
            Some(&manager),
            Some(&put)
        )
        .await
        .status,
        409
    );

    let lead = app.create_lead(&rep, 3).await;
    decisions_of(&app, &rep, &lead, "intake-sla-clocks", 5).await;
    clock.advance_hours(25.0);
    decisions_of(&app, &rep, &lead, "welcome-overdue", 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        inbox(&app, &manager)
            .await
            .iter()
            .all(|n| n["rule"] != "first-contact-breach"),
        "a disabled rule must not act"
    );

    // Roll back to version 1: a new version 3 with the old content.
    let v3 = app
        .post(
            "/v1/rules/first-contact-breach/rollback",
            &manager,
            &json!({"to_version": 1, "expected_version": 2}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(v3["version"], 3);
    assert_eq!(v3["enabled"], true);
    let versions = app
        .get("/v1/rules/first-contact-breach/versions", &rep)
        .await
        .expect(200)
        .body;
    assert_eq!(versions.as_array().unwrap().len(), 3);
    assert_eq!(versions[1]["changed_by"], fx.east_manager.id.to_string());

    // Bad rules are refused with stable codes, and nothing is stored.
    let looping = json!({"id": "ping-pong", "rule": {
        "name": "re-assign on assignment", "trigger": "lead_assigned",
        "actions": [{"do": "assign", "strategy": "round_robin", "only_if_unowned": false}]}});
    let reply = app.post("/v1/rules", &manager, &looping).await.expect(422);
    assert!(reply.body["message"].as_str().unwrap().contains("loop"));
    let unknown = json!({"id": "x-rule", "rule": {"name": "x", "trigger": "lead_exploded", "actions": [{"do": "escalate", "message": "x"}]}});
    app.post("/v1/rules", &manager, &unknown).await.expect(422);
    let wrong_type = json!({"id": "x-rule", "rule": {"name": "x", "trigger": "lead_created", "actions": [{"do": "start_timer", "timer": "t", "after_hours": "soon"}]}});
    app.post("/v1/rules", &manager, &wrong_type)
        .await
        .expect(422);
    app.get("/v1/rules/ping-pong", &manager).await.expect(404);
}

async fn a_rule_chain_that_keeps_retriggering_itself_is_stopped_and_logged() {
    let (app, fx, clock) = start().await;
    let manager = app.token(&fx.east_manager);
    let rep = app.token(&fx.east_rep);
    // Each timer firing starts the same timer again: statically legal, dynamically a loop.
    app.post(
        "/v1/rules",
        &manager,
        &json!({"id": "ping-start", "rule": {
        "name": "start ping", "trigger": "lead_created",
        "actions": [{"do": "start_timer", "timer": "ping", "after_hours": 1}]}}),
    )
    .await
    .expect(201);
    app.post(
        "/v1/rules",
        &manager,
        &json!({"id": "ping-again", "rule": {
        "name": "ping again", "trigger": "timer_fired",
        "conditions": {"field": "event.name", "op": "eq", "value": "ping"},
        "actions": [{"do": "start_timer", "timer": "ping", "after_hours": 1}]}}),
    )
    .await
    .expect(201);
    let lead = app.create_lead(&rep, 5).await;
    decisions_of(&app, &rep, &lead, "ping-start", 1).await;
    let mut stopped = Vec::new();
    for hour in 1..=8 {
        clock.advance_hours(1.1);
        let seen = decisions_of(&app, &rep, &lead, "ping-again", hour.min(4)).await;
        stopped = seen
            .into_iter()
            .filter(|d| d["outcome"] == "loop_stopped")
            .collect();
        if !stopped.is_empty() {
            break;
        }
    }
    assert_eq!(stopped.len(), 1, "the chain is cut once, at the limit");
    assert!(stopped[0]["detail"].as_str().unwrap().contains("limit"));
    // Nothing keeps ticking after the stop.
    assert!(
        !pending_timers(&app, &fx, &lead)
            .await
            .contains(&"ping".to_string())
    );
}

/// Hand-computed: see the table in the comments. Rules are switched off so nothing moves.
async fn lead_metrics_match_a_hand_computed_fixture() {
    let t0 = chrono::Utc::now() + chrono::Duration::hours(200);
    let clock = ManualClock::at(t0 - chrono::Duration::hours(200));
    let app = TestApp::spawn_with_clock(clock.clone()).await;
    let fx = fixture(&app.state).await;
    let admin = app.token(&fx.admin);
    let rules = app.get("/v1/rules", &admin).await.expect(200).body;
    for rule in rules.as_array().unwrap() {
        app.disable_rule(&admin, rule["id"].as_str().unwrap()).await;
    }
    let a = app.token(&fx.east_rep);
    let b = app.token(&fx.east_rep2);
    let log = |lead: String, kind: &'static str, token: String| {
        let app = &app;
        async move {
            let body = json!({"kind": kind, "summary": "follow-up"});
            app.post(&format!("/v1/leads/{lead}/activities"), &token, &body)
                .await
                .expect(201);
        }
    };
    // L0 (rep A): 200 h before t0, never touched: outside the period, but stale.
    let _l0 = app.create_lead(&a, 10).await;
    clock.advance_hours(200.0); // t0
    let l1 = app.create_lead(&a, 11).await;
    let l2 = app.create_lead(&a, 12).await;
    // L3 with a thin profile (a phone and a company: 2 of 7 items); the rest are complete.
    let mut thin = lead_body(13);
    thin["contact"].as_object_mut().unwrap().remove("title");
    thin.as_object_mut().unwrap().remove("prescreen");
    app.post("/v1/leads", &a, &thin).await.expect(201);
    let l5 = app.create_lead(&b, 15).await;
    clock.advance_hours(2.0);
    log(l1, "call", a.clone()).await; // L1: contacted and activated at 2 h
    clock.advance_hours(8.0);
    log(l5, "visit", b.clone()).await; // L5: contacted and activated at 10 h
    clock.advance_hours(20.0);
    log(l2, "message", a.clone()).await; // L2: contacted at 30 h (late), never activated
    clock.advance_hours(60.0);
    let _l4 = app.create_lead(&b, 14).await; // L4: at 90 h, its windows still open at 100 h
    clock.advance_hours(10.0); // as of t0 + 100 h

    let from = (t0 - chrono::Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let to = (t0 + chrono::Duration::hours(240)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let path = format!("/v1/metrics/leads?from={from}&to={to}");
    let report = app.get(&path, &admin).await.expect(200).body;
    // Cohort L1, L2, L3, L5, L4. Due for 24 h: L1, L2, L3, L5 (L4's window is open).
    // Answered in 24 h: L1, L5. Activated in 72 h: L1, L5. Breaches: L2 and L3, twice each.
    // First contact hours: 2, 10, 30 -> median 10. Stale: L0 only.
    let total = &report["total"];
    assert_eq!(total["leads"], 5, "{report}");
    assert_eq!(total["response_due"], 4);
    assert_eq!(total["responded_24h"], 2);
    assert_eq!(total["response_rate_24h"], 0.5);
    assert_eq!(total["activation_due"], 4);
    assert_eq!(total["activated_72h"], 2);
    assert_eq!(total["sla_breaches"], 4);
    assert_eq!(total["median_first_contact_hours"], 10.0);
    assert_eq!(total["stale"], 1);
    assert_eq!(report["pool_size"], 0);
    // Completeness: (4 × 7/7 + 2/7) / 5 = 0.857; the bands the cockpit grades by.
    assert_eq!(total["completeness"], 0.857);
    assert_eq!(report["bands"]["response_rate_24h"]["healthy_at"], 0.9);
    assert_eq!(report["bands"]["completeness"]["warning_below"], 0.5);

    let rep = |email: &str| {
        report["reps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["email"] == email)
            .cloned()
            .unwrap()
    };
    // Rep A: L1, L2, L3 -> 1 of 3 answered, median of 2 h and 30 h = 16 h, L0 stale.
    let ra = rep("er1@acme.cn");
    assert_eq!(ra["leads"], 3);
    assert_eq!(ra["response_rate_24h"], 0.333);
    assert_eq!(ra["sla_breaches"], 4);
    assert_eq!(ra["median_first_contact_hours"], 16.0);
    assert_eq!(ra["stale"], 1);
    // Rep B: L5 answered; L4 not yet due.
    let rb = rep("er2@acme.cn");
    assert_eq!(rb["leads"], 2);
    assert_eq!(rb["response_due"], 1);
    assert_eq!(rb["response_rate_24h"], 1.0);
    assert_eq!(rb["sla_breaches"], 0);
    // Team South has no leads: rates are null, not zero.
    let south = report["teams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "South")
        .cloned()
        .unwrap();
    assert_eq!(south["leads"], 0);
    assert!(south["response_rate_24h"].is_null());

    // A rep sees only their own figures; a bad period is a 400.
    let own = app.get(&path, &b).await.expect(200).body;
    assert_eq!(own["total"]["leads"], 2);
    assert_eq!(own["reps"].as_array().unwrap().len(), 1);
    assert!(own["teams"].as_array().unwrap().is_empty());
    app.get(&format!("/v1/metrics/leads?from={to}&to={from}"), &admin)
        .await
        .expect(400);
}

fn urgent_competitor_lead(n: u32) -> Value {
    let mut body = lead_body(n);
    body["owner"] = Value::Null;
    body["prescreen"]["purchase_urgency"] = json!("within_month");
    body["prescreen"]["current_brand"] = json!("ABB");
    body
}

async fn a_dry_run_reports_matches_without_acting_and_a_routing_rule_beats_the_default() {
    let (app, fx, _clock) = start().await;
    let admin = app.token(&fx.admin);
    let rep = app.token(&fx.east_rep);
    // History: two urgent competitor leads and one ordinary lead.
    app.post("/v1/leads", &admin, &urgent_competitor_lead(1))
        .await
        .expect(201);
    app.post("/v1/leads", &admin, &urgent_competitor_lead(2))
        .await
        .expect(201);
    let mut ordinary = lead_body(3);
    ordinary["prescreen"]["purchase_urgency"] = json!("within_quarter");
    app.post("/v1/leads", &rep, &ordinary).await.expect(201);
    let senior = json!({
        "name": "Urgent leads using a competitor's brand go to the senior group (South)",
        "trigger": "lead_created",
        "order": 10,
        "conditions": {"all": [
            {"field": "lead.prescreen.purchase_urgency", "op": "eq", "value": "within_month"},
            {"field": "lead.prescreen.current_brand", "op": "present"},
            {"field": "lead.prescreen.current_brand", "op": "not_in", "value": ["Fieldline"]}
        ]},
        "actions": [{"do": "assign", "strategy": "round_robin", "team": fx.south_rep.team}]
    });
    let report = app
        .post(
            "/v1/rules/dry-run",
            &admin,
            &json!({"rule": senior, "days": 7}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(report["events_examined"], 3, "{report}");
    assert_eq!(report["matched"], 2, "{report:#}");
    assert_eq!(report["matches"][0]["would_do"][0]["do"], "assign");
    assert_eq!(
        report["matches"][0]["evidence"][0]["actual"],
        "within_month"
    );
    assert!(
        app.get("/v1/decisions", &admin)
            .await
            .expect(200)
            .body
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["rule"] != "senior-routing"),
        "a dry run acts on nothing"
    );
    app.post(
        "/v1/rules/dry-run",
        &rep,
        &json!({"rule": senior, "days": 7}),
    )
    .await
    .expect(403);
    app.post(
        "/v1/rules/dry-run",
        &admin,
        &json!({"rule": senior, "days": 365}),
    )
    .await
    .expect(422);

    // Now for real: the routing rule (order 10) runs before the catch-all (order 100).
    app.post(
        "/v1/rules",
        &admin,
        &json!({"id": "senior-routing", "rule": senior}),
    )
    .await
    .expect(201);
    let id = app
        .post("/v1/leads", &admin, &urgent_competitor_lead(4))
        .await
        .expect(201)
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let owner = assigned_owner(&app, &admin, &id).await;
    assert_eq!(owner, fx.south_rep.id.to_string());
    let catch_all = decisions_of(&app, &admin, &id, "route-unowned-leads", 1).await;
    assert_eq!(catch_all[0]["outcome"], "skipped");
}

async fn business_hour_clocks_follow_the_tenant_calendar() {
    // Friday 27 November 2026, 17:00 in Shanghai.
    let friday = chrono::DateTime::parse_from_rfc3339("2026-11-27T17:00:00+08:00")
        .unwrap()
        .to_utc();
    let clock = ManualClock::at(friday);
    let app = TestApp::spawn_with_clock(clock).await;
    let fx = fixture(&app.state).await;
    let admin = app.token(&fx.admin);
    let calendar = json!({
        "time_zone": "Asia/Shanghai", "working_days": [1, 2, 3, 4, 5],
        "day_start": "09:00:00", "day_end": "18:00:00", "holidays": ["2026-11-30"]
    });
    app.send(
        reqwest::Method::PUT,
        "/v1/settings/calendar",
        Some(&app.token(&fx.east_manager)),
        Some(&calendar),
    )
    .await
    .expect(403);
    app.send(
        reqwest::Method::PUT,
        "/v1/settings/calendar",
        Some(&admin),
        Some(&calendar),
    )
    .await
    .expect(200);
    let bad = json!({"time_zone": "Asia/Shanghai", "working_days": [8], "day_start": "09:00:00", "day_end": "18:00:00"});
    app.send(
        reqwest::Method::PUT,
        "/v1/settings/calendar",
        Some(&admin),
        Some(&bad),
    )
    .await
    .expect(422);
    app.post("/v1/rules", &admin, &json!({"id": "callback-8h", "rule": {
        "name": "call back within 8 working hours", "trigger": "lead_created",
        "actions": [{"do": "start_timer", "timer": "callback", "after_hours": 8, "business_hours": true}]}}))
        .await
        .expect(201);
    let lead = app.create_lead(&app.token(&fx.east_rep), 1).await;
    // 1 h on Friday; Monday 30 November is a holiday; 7 h on Tuesday -> Tuesday 16:00.
    let due = eventually("callback timer", || async {
        app.state
            .timers
            .pending_timers(
                &fx.acme,
                fieldline_domain::Subject::Lead(lead.parse().unwrap()),
            )
            .await
            .unwrap()
            .into_iter()
            .find(|t| t.name == "callback")
            .map(|t| t.due_at)
    })
    .await;
    assert_eq!(
        due,
        chrono::DateTime::parse_from_rfc3339("2026-12-01T16:00:00+08:00")
            .unwrap()
            .to_utc()
    );
}

async fn rules_tag_hot_leads_and_give_the_owner_a_task_after_a_visit() {
    let (app, fx, _clock) = start().await;
    let rep = app.token(&fx.east_rep);
    // Tagging is not a default (it would bump every new lead's version); a manager adds it.
    let hot = json!({"id": "tag-hot-leads", "rule": {
        "name": "Label S-priority leads as hot", "trigger": "lead_created",
        "conditions": {"field": "lead.priority", "op": "eq", "value": "S"},
        "actions": [{"do": "add_tag", "tag": "hot"}]}});
    app.post("/v1/rules", &app.token(&fx.east_manager), &hot)
        .await
        .expect(201);
    // lead_body is an S lead (urgent decision maker with budget).
    let lead = app.create_lead(&rep, 1).await;
    let tagged = eventually("hot tag", || async {
        let body = app
            .get(&format!("/v1/leads/{lead}"), &rep)
            .await
            .expect(200)
            .body;
        (body["tags"] == json!(["hot"])).then_some(body)
    })
    .await;
    assert_eq!(tagged["priority"], "S");

    app.post(
        &format!("/v1/leads/{lead}/activities"),
        &rep,
        &json!({"kind": "visit", "summary": "上门拜访，客户要报价"}),
    )
    .await
    .expect(201);
    let tasks = eventually("quote task", || async {
        let body = app.get("/v1/me/tasks", &rep).await.expect(200).body;
        (!body.as_array().unwrap().is_empty()).then_some(body)
    })
    .await;
    assert_eq!(tasks.as_array().unwrap().len(), 1);
    let task = &tasks[0];
    assert_eq!(task["lead"], lead.as_str());
    assert_eq!(task["rule"], "visit-quote-task");
    // Why, in the sentence the rule words, filled in from the lead it matched.
    assert_eq!(
        task["why"],
        "刚拜访了 苏州精密机械有限公司 的 王建国1：48 小时内发出报价 / \
         Visited 王建国1 of 苏州精密机械有限公司: the quote is due within 48 h"
    );
    assert!(task["done_at"].is_null());
    let path = format!("/v1/tasks/{}/complete", task["id"].as_str().unwrap());
    app.post(&path, &app.token(&fx.east_rep2), &json!({}))
        .await
        .expect(403);
    let done = app.post(&path, &rep, &json!({})).await.expect(200).body;
    assert!(done["done_at"].is_string());
    let again = app.post(&path, &rep, &json!({})).await.expect(200).body;
    assert_eq!(
        again["done_at"], done["done_at"],
        "completing twice changes nothing"
    );
}

async fn least_loaded_assignment_picks_the_rep_with_the_fewest_open_leads() {
    let (app, fx, _clock) = start().await;
    let admin = app.token(&fx.admin);
    app.disable_rule(&admin, "route-unowned-leads").await;
    // er1 already works two leads, er2 none.
    let rep1 = app.token(&fx.east_rep);
    app.create_lead(&rep1, 1).await;
    app.create_lead(&rep1, 2).await;
    let team = fx.east_rep.team.unwrap();
    app.post(
        "/v1/rules",
        &admin,
        &json!({"id": "east-least-loaded", "rule": {
        "name": "unowned leads to the least-loaded East rep", "trigger": "lead_created",
        "conditions": {"field": "lead.owner", "op": "missing"},
        "actions": [{"do": "assign", "strategy": "least_loaded", "team": team}]}}),
    )
    .await
    .expect(201);
    let mut owners = Vec::new();
    for n in 10..13 {
        let mut body = lead_body(n);
        body["owner"] = Value::Null;
        let id = app.post("/v1/leads", &admin, &body).await.expect(201).body["id"]
            .as_str()
            .unwrap()
            .to_owned();
        owners.push(assigned_owner(&app, &admin, &id).await);
    }
    // er2 takes the first two (0 -> 1 -> 2), then they are level and the tie goes by id.
    let er2 = fx.east_rep2.id.to_string();
    assert_eq!(owners[0], er2);
    assert_eq!(owners[1], er2);
    assert!(
        owners
            .iter()
            .all(|o| *o == er2 || *o == fx.east_rep.id.to_string())
    );
}

/// Completed tasks carry their outcome; a manager reviews a reproducible 5 % sample per rep
/// and week, which anyone can re-derive from the week, the rep and the tasks.
async fn managers_review_a_reproducible_sample_of_completed_tasks() {
    use chrono::TimeZone;
    use fieldline_domain::{Subject, Task, TaskId};
    // A Wednesday of ISO week 2026-W48.
    let now = chrono::Utc.with_ymd_and_hms(2026, 11, 25, 2, 0, 0).unwrap();
    let clock = ManualClock::at(now);
    let app = TestApp::spawn_with_clock(clock.clone()).await;
    let fx = fixture(&app.state).await;
    let rep = app.token(&fx.east_rep);
    let manager = app.token(&fx.east_manager);
    let lead: LeadId = app.create_lead(&rep, 1).await.parse().unwrap();
    let mut ids = Vec::new();
    for i in 0..30 {
        let task = Task {
            id: TaskId::new(),
            tenant: fx.acme.clone(),
            subject: Subject::Lead(lead),
            assignee: Some(fx.east_rep.id),
            title: format!("回访 {i}"),
            due_at: now + chrono::Duration::hours(2),
            done_at: None,
            created_at: now,
            rule: None,
            dedupe_key: format!("review-{i}"),
            outcome: None,
            review: None,
            remind_at: None,
            escalate_at: None,
            why: None,
        };
        assert!(app.state.tasks.add_task(&task).await.unwrap());
        ids.push(task.id);
    }
    let open = ids.pop().unwrap();
    for id in &ids {
        let done = app
            .post(
                &format!("/v1/tasks/{id}/complete"),
                &rep,
                &json!({"outcome": "客户同意下周签约"}),
            )
            .await
            .expect(200)
            .body;
        assert_eq!(done["outcome"], "客户同意下周签约");
    }
    let queue = app
        .get("/v1/reviews?week=2026-W48", &manager)
        .await
        .expect(200)
        .body;
    let queue = queue.as_array().unwrap();
    assert_eq!(
        queue.len(),
        1,
        "only the rep who completed tasks: {queue:?}"
    );
    assert_eq!(
        (queue[0]["rep"].clone(), queue[0]["completed"].as_u64()),
        (json!(fx.east_rep.id), Some(29))
    );
    // ceil(5 % of 29) = 2, the same two every time, and re-derivable from the facts.
    let sample: Vec<&str> = queue[0]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(sample.len(), 2);
    let again = app
        .get("/v1/reviews?week=2026-W48", &manager)
        .await
        .expect(200)
        .body;
    assert_eq!(again[0]["tasks"], queue[0]["tasks"]);
    let stored = app
        .state
        .tasks
        .list_tasks(&fx.acme, fx.east_rep.id, 100)
        .await
        .unwrap();
    let done: Vec<Task> = stored.into_iter().filter(|t| t.done_at.is_some()).collect();
    let derived = fieldline_domain::task::review_sample("2026-W48", fx.east_rep.id, &done);
    let derived: Vec<String> = derived.iter().map(|t| t.id.to_string()).collect();
    assert_eq!(sample, derived);
    // Another week has nothing; reps have no queue; a malformed week is refused.
    let next = app
        .get("/v1/reviews?week=2026-W49", &manager)
        .await
        .expect(200)
        .body;
    assert!(next.as_array().unwrap().is_empty());
    app.get("/v1/reviews?week=2026-W48", &rep).await.expect(403);
    app.get("/v1/reviews?week=48", &manager).await.expect(400);

    let path = format!("/v1/tasks/{}/review", sample[0]);
    let scored = app
        .post(&path, &manager, &json!({"score": 5, "note": "跟进及时"}))
        .await
        .expect(200)
        .body;
    assert_eq!(scored["review"]["score"], 5);
    assert_eq!(scored["review"]["by"], json!(fx.east_manager.id));
    app.post(&path, &manager, &json!({"score": 6}))
        .await
        .expect(422);
    app.post(&path, &app.token(&fx.south_manager), &json!({"score": 3}))
        .await
        .expect(403);
    app.post(&path, &rep, &json!({"score": 5}))
        .await
        .expect(403);
    let unfinished = app
        .post(
            &format!("/v1/tasks/{open}/review"),
            &manager,
            &json!({"score": 3}),
        )
        .await;
    assert_eq!(unfinished.expect(422).code(), "invalid_transition");

    // Each sampled task is due for scoring 24 h after its completion; a day later the
    // unscored one is overdue, the scored one is not.
    let item = |queue: &Value, id: &str| {
        queue[0]["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == id)
            .cloned()
            .unwrap()
    };
    let first = item(&queue_now(&app, &manager).await, sample[1]);
    let done_at: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(first["done_at"].clone()).unwrap();
    let due: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(first["review_due_at"].clone()).unwrap();
    assert_eq!(due - done_at, chrono::Duration::hours(24));
    assert_eq!(first["review_overdue"], false);
    clock.advance_hours(25.0);
    let later = queue_now(&app, &manager).await;
    assert_eq!(item(&later, sample[1])["review_overdue"], true);
    assert_eq!(
        item(&later, sample[0])["review_overdue"],
        false,
        "scored in time"
    );
}

async fn queue_now(app: &TestApp, manager: &str) -> Value {
    app.get("/v1/reviews?week=2026-W48", manager)
        .await
        .expect(200)
        .body
}

/// A rule's task reminds its assignee before it is due and tells the manager once it is
/// overdue, each once; a task done in time raises neither.
async fn open_tasks_remind_their_assignee_and_escalate_once_overdue() {
    let (app, fx, clock) = start().await;
    let admin = app.token(&fx.admin);
    let rep = app.token(&fx.east_rep);
    let manager = app.token(&fx.east_manager);
    let rule = json!({"id": "call-back-task", "rule": {
        "name": "Call back within 4 h of a new lead",
        "trigger": "lead_created",
        "actions": [{"do": "create_task", "title": "回电 / Call back", "due_in_hours": 4,
            "remind_before_hours": 1, "escalate_after_hours": 2}]}});
    app.post("/v1/rules", &admin, &rule).await.expect(201);
    let bad = json!({"id": "bad-task", "rule": {"name": "x", "trigger": "lead_created",
        "actions": [{"do": "create_task", "title": "x", "due_in_hours": 4,
            "remind_before_hours": -1}]}});
    let refused = app.post("/v1/rules", &admin, &bad).await.expect(422);
    assert_eq!(
        refused.body["details"]["field"],
        "actions.remind_before_hours"
    );

    let ignored = app.create_lead(&rep, 1).await;
    let answered = app.create_lead(&rep, 2).await;
    let task_of = |lead: String| {
        let app = &app;
        let rep = rep.clone();
        async move {
            eventually("the call-back task", || async {
                let tasks = app.get("/v1/me/tasks", &rep).await.expect(200).body;
                tasks
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|t| t["lead"] == lead.as_str() && t["rule"] == "call-back-task")
                    .cloned()
            })
            .await
        }
    };
    let ignored_task = task_of(ignored.clone()).await;
    let answered_task = task_of(answered.clone()).await;
    assert!(ignored_task["remind_at"].is_string());
    let done = format!(
        "/v1/tasks/{}/complete",
        answered_task["id"].as_str().unwrap()
    );
    app.post(&done, &rep, &json!({"outcome": "已回电"}))
        .await
        .expect(200);

    let about = |inbox: &Vec<Value>, kind: &str, lead: &str| {
        inbox
            .iter()
            .filter(|n| n["kind"] == kind && n["lead"] == lead && n["rule"] == "call-back-task")
            .count()
    };
    clock.advance_hours(3.5);
    eventually("the reminder", || async {
        (about(&inbox(&app, &rep).await, "reminder", &ignored) == 1).then_some(())
    })
    .await;
    assert_eq!(
        about(&inbox(&app, &manager).await, "escalation", &ignored),
        0
    );
    clock.advance_hours(3.0);
    eventually("the escalation", || async {
        (about(&inbox(&app, &manager).await, "escalation", &ignored) == 1).then_some(())
    })
    .await;
    clock.advance_hours(24.0);
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let rep_inbox = inbox(&app, &rep).await;
    let manager_inbox = inbox(&app, &manager).await;
    assert_eq!(about(&rep_inbox, "reminder", &ignored), 1);
    assert_eq!(about(&manager_inbox, "escalation", &ignored), 1);
    assert_eq!(about(&rep_inbox, "reminder", &answered), 0);
    assert_eq!(about(&manager_inbox, "escalation", &answered), 0);
    assert_eq!(
        about(
            &inbox(&app, &app.token(&fx.south_manager)).await,
            "escalation",
            &ignored
        ),
        0
    );
}

fieldline_tests::on_both_backends!(
    open_tasks_remind_their_assignee_and_escalate_once_overdue,
    managers_review_a_reproducible_sample_of_completed_tasks,
    a_lead_nobody_contacts_escalates_and_a_call_stops_the_activation_clock,
    unowned_leads_are_spread_round_robin_even_when_they_arrive_together,
    a_stale_lead_goes_back_to_the_pool_and_the_first_claim_wins,
    managers_change_rules_through_the_api_and_every_version_is_kept,
    a_rule_chain_that_keeps_retriggering_itself_is_stopped_and_logged,
    lead_metrics_match_a_hand_computed_fixture,
    a_dry_run_reports_matches_without_acting_and_a_routing_rule_beats_the_default,
    business_hour_clocks_follow_the_tenant_calendar,
    rules_tag_hot_leads_and_give_the_owner_a_task_after_a_visit,
    least_loaded_assignment_picks_the_rep_with_the_fewest_open_leads,
);
