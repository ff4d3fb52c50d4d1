//! The outbox: every change's events reach each consumer once, in order, across restarts.

use async_trait::async_trait;
use fieldline_app::scheduler::{EventHandler, OutboxRelay, Scheduler};
use fieldline_app::state::SystemClock;
use fieldline_store::StoredEvent;
use fieldline_tests::*;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<(String, String, String)>>,
    fail_on_call: Mutex<Option<usize>>,
    calls: Mutex<usize>,
}

#[async_trait]
impl EventHandler for Recorder {
    fn name(&self) -> &str {
        "test-recorder"
    }
    async fn handle(&self, e: &StoredEvent) -> anyhow::Result<()> {
        let mut calls = self.calls.lock().unwrap();
        *calls += 1;
        if *self.fail_on_call.lock().unwrap() == Some(*calls) {
            anyhow::bail!("simulated outage");
        }
        self.seen.lock().unwrap().push((
            e.event.id.to_string(),
            e.event.subject.id().to_string(),
            e.event.payload.kind().as_str().to_owned(),
        ));
        Ok(())
    }
}

fn relay_of(app: &TestApp, recorder: Arc<Recorder>) -> Scheduler {
    Scheduler::new(Duration::from_millis(10), Arc::new(SystemClock)).with_job(Arc::new(
        OutboxRelay::new(app.state.events.clone(), recorder),
    ))
}

#[tokio::test]
async fn events_reach_a_consumer_exactly_once_in_order_even_after_a_failure() {
    let app = TestApp::spawn().await;
    let f = fixture(&app.state).await;
    let rep = app.token(&f.east_rep);
    let id = app.create_lead(&rep, 1).await;
    app.post(
        &format!("/v1/leads/{id}/activities"),
        &rep,
        &json!({"kind": "call", "summary": "first call"}),
    )
    .await
    .expect(201);
    // A refused write must not leave events behind.
    app.patch(
        &format!("/v1/leads/{id}"),
        &rep,
        &json!({"expected_version": 1, "changes": {"notes": "stale"}}),
    )
    .await
    .expect(409);

    let recorder = Arc::new(Recorder::default());
    *recorder.fail_on_call.lock().unwrap() = Some(2);
    let scheduler = relay_of(&app, recorder.clone());
    assert_eq!(
        scheduler.run_once().await,
        1,
        "the simulated outage is reported"
    );
    assert_eq!(scheduler.run_once().await, 0);
    assert_eq!(scheduler.run_once().await, 0, "nothing left to deliver");

    let seen = recorder.seen.lock().unwrap().clone();
    let kinds: Vec<&str> = seen.iter().map(|(_, _, k)| k.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "lead_created",
            "activity_logged",
            "lead_first_contacted",
            "lead_status_changed"
        ]
    );
    let mut ids: Vec<&String> = seen.iter().map(|(id, _, _)| id).collect();
    ids.dedup();
    assert_eq!(ids.len(), 4, "no event delivered twice");
    assert!(seen.iter().all(|(_, agg, _)| *agg == id));

    // After a restart the consumer resumes where it stopped.
    let dir = app.stop().await;
    let app = TestApp::spawn_in(dir).await;
    app.post("/v1/leads", &rep, &lead_body(2)).await.expect(201);
    let recorder2 = Arc::new(Recorder::default());
    relay_of(&app, recorder2.clone()).run_once().await;
    let kinds: Vec<String> = recorder2
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|(_, _, k)| k.clone())
        .collect();
    assert_eq!(kinds, ["lead_created"]);
}
