//! The timer contract: due timers fire once, even when sweepers overlap.

use super::Backend;
use super::fixture::*;
use chrono::Duration;
use fieldline_domain::*;
use std::sync::Arc;

fn timer<S>(f: &Fixture<S>, lead: LeadId, name: &str, due: Timestamp) -> Timer {
    Timer {
        id: TimerId::new(),
        tenant: f.tenant.clone(),
        subject: Subject::Lead(lead),
        name: name.into(),
        due_at: due,
        created_at: t0(),
        cause: None,
    }
}

pub async fn timers_fire_once_even_when_sweepers_overlap<S: Backend>(store: S) {
    let f = fixture(store).await;
    let (lead, events) = new_lead(&f.rep, t0());
    f.store.create_lead(&lead, &events, None).await.unwrap();
    for i in 0..200 {
        let due = t0() + Duration::minutes(i);
        assert!(
            f.store
                .start_timer(&timer(&f, lead.id, &format!("t{i}"), due), false)
                .await
                .unwrap()
        );
    }
    // Not yet due ones stay; a second start of the same name is refused unless restarted.
    assert!(
        !f.store
            .start_timer(&timer(&f, lead.id, "t0", t0()), false)
            .await
            .unwrap()
    );
    let before = count(&f.store, &f.tenant).await;
    let store = Arc::new(f.store.clone());
    let sweeps: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut fired = 0;
                loop {
                    let n = store
                        .fire_due_timers(t0() + Duration::minutes(150), 7)
                        .await
                        .unwrap()
                        .len();
                    fired += n;
                    if n == 0 {
                        return fired;
                    }
                }
            })
        })
        .collect();
    let mut total = 0;
    for s in sweeps {
        total += s.await.unwrap();
    }
    assert_eq!(
        total, 151,
        "minutes 0..=150 are due, each fired by exactly one sweeper"
    );
    assert_eq!(
        count(&f.store, &f.tenant).await - before,
        151,
        "one timer_fired event each"
    );
    assert_eq!(
        f.store
            .pending_timers(&f.tenant, lead.id.into())
            .await
            .unwrap()
            .len(),
        49
    );
    // Cancelling and restarting.
    let names: Vec<String> = (151..160).map(|i| format!("t{i}")).collect();
    assert_eq!(
        f.store
            .cancel_timers(&f.tenant, lead.id.into(), &names)
            .await
            .unwrap(),
        9
    );
    assert!(
        f.store
            .start_timer(&timer(&f, lead.id, "t199", t0()), true)
            .await
            .unwrap()
    );
    let pending = f
        .store
        .pending_timers(&f.tenant, lead.id.into())
        .await
        .unwrap();
    assert_eq!(pending.len(), 40);
    assert_eq!(pending[0].name, "t199", "restarted with the new due time");
}
