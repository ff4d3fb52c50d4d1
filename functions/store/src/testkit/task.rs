//! The task contract: deduplicated by key, ordered by due time.

use super::Backend;
use super::fixture::*;
use crate::*;
use chrono::Duration;
use fieldline_domain::*;

fn task<S>(f: &Fixture<S>, key: &str, due: Timestamp) -> Task {
    Task {
        id: TaskId::new(),
        tenant: f.tenant.clone(),
        subject: Subject::Lead(LeadId::new()),
        assignee: Some(f.rep.id),
        title: format!("send the quote ({key})"),
        due_at: due,
        done_at: None,
        created_at: t0(),
        rule: Some("quote-after-visit".into()),
        dedupe_key: key.into(),
        outcome: None,
        review: None,
        remind_at: None,
        escalate_at: None,
        why: None,
    }
}

/// Tasks are deduplicated, listed open ones first by due time, and updated in place.
pub async fn tasks_are_deduplicated_and_ordered<S: Backend>(store: S) {
    let f = fixture(store).await;
    let late = task(&f, "a", t0() + Duration::hours(5));
    let soon = task(&f, "b", t0() + Duration::hours(1));
    let middle = task(&f, "c", t0() + Duration::hours(3));
    for t in [&late, &soon, &middle] {
        assert!(f.store.add_task(t).await.unwrap());
    }
    assert!(
        !f.store.add_task(&task(&f, "a", t0())).await.unwrap(),
        "same dedupe key"
    );
    let mut done = soon.clone();
    done.done_at = Some(t0() + Duration::hours(2));
    f.store.update_task(&done).await.unwrap();
    let listed = f.store.list_tasks(&f.tenant, f.rep.id, 10).await.unwrap();
    assert_eq!(
        listed.iter().map(|t| t.id).collect::<Vec<_>>(),
        [middle.id, late.id, soon.id]
    );
    assert_eq!(
        f.store.get_task(&f.tenant, soon.id).await.unwrap(),
        Some(done)
    );
    let other = TenantId::parse("globex").unwrap();
    assert_eq!(f.store.get_task(&other, soon.id).await.unwrap(), None);
    let mut ghost = late.clone();
    ghost.id = TaskId::new();
    assert!(matches!(
        f.store.update_task(&ghost).await,
        Err(StoreError::NotFound)
    ));
}
