//! The upload store's contract: the checklist's proof that a new record type gets the same
//! guarantees as leads (idempotent create, version CAS with events, tenant isolation, paging,
//! timers on its subject).

use super::Backend;
use super::fixture::{actor_of, count, fixture, t0};
use crate::ports::IdempotencyKey;
use crate::{Created, IdempotencyRecord, StoreError};
use chrono::Duration;
use fieldline_domain::*;

fn new_upload(actor: &Actor, name: &str, at: Timestamp) -> (Upload, DomainEvent) {
    let input = NewUpload {
        kind: UploadKind::Card,
        subject: None,
        file_name: name.into(),
        content_type: "image/jpeg".into(),
        size: 1000,
        device_reading: None,
        import: None,
    };
    Upload::create(&input, UploadId::new(), actor, at).unwrap()
}

pub async fn uploads_are_idempotent_versioned_and_fire_their_timers<S: Backend>(store: S) {
    let f = fixture(store).await;
    let actor = actor_of(&f.rep);
    let key = |fingerprint: &str| IdempotencyRecord {
        key: IdempotencyKey::parse("card-1").unwrap(),
        user: f.rep.id,
        fingerprint: fingerprint.into(),
    };
    let (up, created) = new_upload(&actor, "card.jpg", t0());
    let before = count(&f.store, &f.tenant).await;
    let first = f
        .store
        .create_upload(&up, std::slice::from_ref(&created), Some(&key("a")))
        .await
        .unwrap();
    assert!(matches!(first, Created::New(_)));
    // A phone's retry returns the first upload and writes nothing.
    let (again, again_event) = new_upload(&actor, "card.jpg", t0());
    let replay = f
        .store
        .create_upload(&again, std::slice::from_ref(&again_event), Some(&key("a")))
        .await
        .unwrap();
    assert_eq!(replay, Created::Replayed(up.clone()));
    assert!(matches!(
        f.store
            .create_upload(&again, &[again_event], Some(&key("b")))
            .await,
        Err(StoreError::IdempotencyMismatch)
    ));
    assert_eq!(count(&f.store, &f.tenant).await, before + 1);
    assert_eq!(
        f.store.get_upload(&f.tenant, up.id).await.unwrap(),
        Some(up.clone())
    );
    let other = TenantId::parse("globex").unwrap();
    assert_eq!(f.store.get_upload(&other, up.id).await.unwrap(), None);

    // Version CAS: the stale writer loses and leaves no event behind.
    let mut processing = up.clone();
    let moved = processing
        .advance(UploadStatus::Processing, None, vec![], t0())
        .unwrap();
    f.store
        .update_upload(&processing, 1, std::slice::from_ref(&moved))
        .await
        .unwrap();
    assert!(matches!(
        f.store.update_upload(&processing, 1, &[moved]).await,
        Err(StoreError::VersionConflict {
            expected: 1,
            actual: 2
        })
    ));
    assert_eq!(count(&f.store, &f.tenant).await, before + 2);

    // A timer on the upload fires once, as an event about the upload at its version.
    let timer = Timer {
        id: TimerId::new(),
        tenant: f.tenant.clone(),
        subject: Subject::Upload(up.id),
        name: "processing_stuck".into(),
        due_at: t0() + Duration::minutes(10),
        created_at: t0(),
        cause: None,
    };
    assert!(f.store.start_timer(&timer, false).await.unwrap());
    assert_eq!(
        f.store
            .pending_timers(&f.tenant, Subject::Upload(up.id))
            .await
            .unwrap(),
        vec![timer.clone()]
    );
    let fired = f
        .store
        .fire_due_timers(t0() + Duration::minutes(11), 10)
        .await
        .unwrap();
    assert_eq!(fired, vec![timer]);
    let events = f
        .store
        .tenant_events_since(&f.tenant, chrono::DateTime::UNIX_EPOCH, 100)
        .await
        .unwrap();
    let timer_event = events
        .iter()
        .map(|e| &e.event)
        .find(|e| e.kind() == EventKind::TimerFired)
        .expect("timer_fired event");
    assert_eq!(timer_event.subject, Subject::Upload(up.id));
    assert_eq!(timer_event.aggregate_version, 2);

    // Listing: newest change first, page by page, nothing twice.
    for i in 0..4 {
        let (u, e) = new_upload(
            &actor,
            &format!("shelf-{i}.jpg"),
            t0() + Duration::seconds(i),
        );
        f.store.create_upload(&u, &[e], None).await.unwrap();
    }
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = f
            .store
            .list_uploads(&f.tenant, f.rep.id, 2, after)
            .await
            .unwrap();
        assert!(page.items.len() <= 2);
        seen.extend(page.items.iter().map(|u| u.file_name.clone()));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(
        seen,
        [
            "shelf-3.jpg",
            "shelf-2.jpg",
            "shelf-1.jpg",
            "shelf-0.jpg",
            "card.jpg"
        ]
    );
    assert!(
        f.store
            .list_uploads(&other, f.rep.id, 10, None)
            .await
            .unwrap()
            .items
            .is_empty()
    );
}
