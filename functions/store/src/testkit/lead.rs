//! The lead contracts: idempotent creates, versioned writes, scoped listing and paging, tenant isolation.

use super::Backend;
use super::fixture::*;
use crate::*;
use chrono::Duration;
use fieldline_domain::lead::{ContactInput, CreateContext};
use fieldline_domain::*;
use std::sync::Arc;

pub async fn idempotent_create_replays_and_refuses_a_different_request<S: Backend>(store: S) {
    let f = fixture(store).await;
    let key = IdempotencyKey::parse("phone-retry-1").unwrap();
    let rec = IdempotencyRecord {
        key: key.clone(),
        user: f.rep.id,
        fingerprint: "aaa".into(),
    };
    let (first, events) = new_lead(&f.rep, t0());
    assert!(matches!(
        f.store
            .create_lead(&first, &events, Some(&rec))
            .await
            .unwrap(),
        Created::New(_)
    ));

    let (second, events2) = new_lead(&f.rep, t0());
    match f
        .store
        .create_lead(&second, &events2, Some(&rec))
        .await
        .unwrap()
    {
        Created::Replayed(l) => assert_eq!(l.id, first.id),
        other => panic!("expected a replay, got {other:?}"),
    }
    assert_eq!(f.store.get_lead(&f.tenant, second.id).await.unwrap(), None);

    let other = IdempotencyRecord {
        key,
        user: f.rep.id,
        fingerprint: "bbb".into(),
    };
    assert!(matches!(
        f.store.create_lead(&second, &events2, Some(&other)).await,
        Err(StoreError::IdempotencyMismatch)
    ));
    assert_eq!(
        count(&f.store, &f.tenant).await,
        1,
        "only the first create wrote an event"
    );
}

pub async fn concurrent_retries_with_one_key_create_one_lead<S: Backend>(store: S) {
    let f = fixture(store).await;
    let store = Arc::new(f.store.clone());
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        let rep = f.rep.clone();
        tasks.push(tokio::spawn(async move {
            let rec = IdempotencyRecord {
                key: IdempotencyKey::parse("same-key").unwrap(),
                user: rep.id,
                fingerprint: "fp".into(),
            };
            let (lead, events) = new_lead(&rep, t0());
            store
                .create_lead(&lead, &events, Some(&rec))
                .await
                .unwrap()
                .into_inner()
                .id
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "every retry sees the same lead");
    let page = f
        .store
        .list_leads(
            &f.tenant,
            &LeadQuery {
                scope: LeadScope::Tenant,
                owner: None,
                status: None,
                priority: None,
                updated_before: None,
                limit: 100,
                after: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(count(&f.store, &f.tenant).await, 1);
}

pub async fn stale_writes_are_refused_and_leave_nothing_behind<S: Backend>(store: S) {
    let f = fixture(store).await;
    let (lead, events) = new_lead(&f.rep, t0());
    f.store.create_lead(&lead, &events, None).await.unwrap();
    let actor = actor_of(&f.rep);
    let policy = ScoringPolicy::default();

    let mut a = lead.clone();
    let ev_a = a
        .apply_patch(
            &LeadPatch {
                notes: Some(Some("A".into())),
                ..Default::default()
            },
            &actor,
            t0(),
            Region::china(),
            &policy,
        )
        .unwrap();
    let mut b = lead.clone();
    let ev_b = b
        .apply_patch(
            &LeadPatch {
                notes: Some(Some("B".into())),
                ..Default::default()
            },
            &actor,
            t0(),
            Region::china(),
            &policy,
        )
        .unwrap();

    f.store.update_lead(&a, 1, &ev_a).await.unwrap();
    let err = f.store.update_lead(&b, 1, &ev_b).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::VersionConflict {
                expected: 1,
                actual: 2
            }
        ),
        "{err:?}"
    );
    let stored = f.store.get_lead(&f.tenant, lead.id).await.unwrap().unwrap();
    assert_eq!(stored.notes.as_deref(), Some("A"));
    assert_eq!(
        count(&f.store, &f.tenant).await,
        2,
        "the refused write added no event"
    );

    // An activity recorded against a stale version is refused as a whole too.
    let mut c = lead.clone();
    let (activity, ev_c) = c
        .log_activity(
            &NewActivity {
                kind: ActivityKind::Call,
                summary: "hi".into(),
                occurred_at: None,
                structured: None,
                contact: None,
            },
            ActivityId::new(),
            &actor,
            t0(),
        )
        .unwrap();
    assert!(
        f.store
            .record_activity(&c, 1, &activity, &ev_c, None)
            .await
            .is_err()
    );
    assert!(
        f.store
            .list_activities(&f.tenant, lead.id, 10)
            .await
            .unwrap()
            .is_empty()
    );

    let mut ghost = lead.clone();
    ghost.id = LeadId::new();
    ghost.version = 2;
    assert!(matches!(
        f.store.update_lead(&ghost, 1, &[]).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn listing_is_scoped_filtered_and_paginated<S: Backend>(store: S) {
    let f = fixture(store).await;
    let other_rep = user(&f.tenant, Some(f.team), "rep2@acme.cn");
    f.store.create_user(&other_rep).await.unwrap();
    let mut mine = Vec::new();
    for i in 0..25 {
        let owner = if i % 5 == 0 { &other_rep } else { &f.rep };
        // Several leads share a timestamp, so the id tiebreak is exercised.
        let (lead, events) = new_lead(owner, t0() + Duration::minutes(i / 3));
        f.store.create_lead(&lead, &events, None).await.unwrap();
        if owner.id == f.rep.id {
            mine.push(lead.id);
        }
    }
    let mut query = LeadQuery {
        scope: LeadScope::Owner(f.rep.id),
        owner: None,
        status: None,
        priority: None,
        updated_before: None,
        limit: 7,
        after: None,
    };
    let mut seen = Vec::new();
    let mut last_key = None;
    loop {
        let page = f.store.list_leads(&f.tenant, &query).await.unwrap();
        for l in &page.items {
            assert_eq!(l.owner, Some(f.rep.id));
            let key = (l.updated_at, l.id);
            if let Some(prev) = last_key {
                assert!(key < prev, "strictly descending");
            }
            last_key = Some(key);
            seen.push(l.id);
        }
        match page.next {
            Some(c) => query.after = Some(c),
            None => break,
        }
    }
    seen.sort();
    mine.sort();
    assert_eq!(seen, mine, "every lead exactly once");

    let team_page = f
        .store
        .list_leads(
            &f.tenant,
            &LeadQuery {
                scope: LeadScope::Team(f.team),
                limit: 100,
                after: None,
                ..query.clone()
            },
        )
        .await
        .unwrap();
    assert_eq!(team_page.items.len(), 25);
    let early = f
        .store
        .list_leads(
            &f.tenant,
            &LeadQuery {
                scope: LeadScope::Tenant,
                limit: 100,
                after: None,
                updated_before: Some(t0() + Duration::minutes(2)),
                ..query.clone()
            },
        )
        .await
        .unwrap();
    assert_eq!(early.items.len(), 6, "minutes 0 and 1, three leads each");
    let none = f
        .store
        .list_leads(
            &f.tenant,
            &LeadQuery {
                scope: LeadScope::Tenant,
                limit: 100,
                after: None,
                status: Some(LeadStatus::Qualified),
                ..query.clone()
            },
        )
        .await
        .unwrap();
    assert!(none.items.is_empty());
}

pub async fn tenants_are_isolated<S: Backend>(store: S) {
    let f = fixture(store).await;
    let globex = TenantId::parse("globex").unwrap();
    f.store.create_tenant(&tenant_row(&globex)).await.unwrap();
    let (lead, events) = new_lead(&f.rep, t0());
    f.store.create_lead(&lead, &events, None).await.unwrap();
    assert_eq!(f.store.get_lead(&globex, lead.id).await.unwrap(), None);
    let page = f
        .store
        .list_leads(
            &globex,
            &LeadQuery {
                scope: LeadScope::Tenant,
                owner: None,
                status: None,
                priority: None,
                updated_before: None,
                limit: 50,
                after: None,
            },
        )
        .await
        .unwrap();
    assert!(page.items.is_empty());
    assert!(
        f.store
            .find_user_by_email(&globex, "rep1@acme.cn")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        f.store
            .find_user_by_email(&f.tenant, "REP1@acme.cn")
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        !f.store.create_tenant(&tenant_row(&globex)).await.unwrap(),
        "create-if-absent"
    );
    assert!(matches!(
        f.store
            .create_user(&user(&f.tenant, Some(f.team), "rep1@acme.cn"))
            .await,
        Err(StoreError::AlreadyExists(_))
    ));
}

pub async fn retried_activity_is_recorded_once<S: Backend>(store: S) {
    let f = fixture(store).await;
    let (lead, events) = new_lead(&f.rep, t0());
    f.store.create_lead(&lead, &events, None).await.unwrap();
    let actor = actor_of(&f.rep);
    let rec = IdempotencyRecord {
        key: IdempotencyKey::parse("act-1").unwrap(),
        user: f.rep.id,
        fingerprint: "x".into(),
    };
    let input = NewActivity {
        kind: ActivityKind::Visit,
        summary: "拜访".into(),
        occurred_at: None,
        structured: None,
        contact: None,
    };

    let mut first = lead.clone();
    let (activity, ev) = first
        .log_activity(&input, ActivityId::new(), &actor, t0())
        .unwrap();
    let created = f
        .store
        .record_activity(&first, 1, &activity, &ev, Some(&rec))
        .await
        .unwrap();
    assert!(matches!(created, Created::New(_)));

    // The phone never saw the answer and sends again, from the version it had.
    let mut retry = lead.clone();
    let (again, ev2) = retry
        .log_activity(&input, ActivityId::new(), &actor, t0())
        .unwrap();
    match f
        .store
        .record_activity(&retry, 1, &again, &ev2, Some(&rec))
        .await
        .unwrap()
    {
        Created::Replayed(a) => assert_eq!(a.id, activity.id),
        other => panic!("expected replay, got {other:?}"),
    }
    assert_eq!(
        f.store
            .list_activities(&f.tenant, lead.id, 10)
            .await
            .unwrap()
            .len(),
        1
    );
}

/// Leads big enough that a listing crosses DynamoDB's 1 MB page limit, with the few matches
/// spread across the pages: every match is still found, in order, exactly once.
pub async fn listing_follows_pages_past_one_megabyte<S: Backend>(store: S) {
    let f = fixture(store).await;
    let filler = "备注 notes ".repeat(2_500); // ~30 KB per lead
    let mut contacted = Vec::new();
    for i in 0..48 {
        let (mut lead, events) = new_lead(&f.rep, t0() + Duration::seconds(i));
        lead.notes = Some(filler.clone());
        if i % 16 == 3 {
            lead.status = LeadStatus::Contacted;
            contacted.push(lead.id);
        }
        f.store.create_lead(&lead, &events, None).await.unwrap();
    }
    let page = f
        .store
        .list_leads(
            &f.tenant,
            &LeadQuery {
                scope: LeadScope::Tenant,
                owner: None,
                status: Some(LeadStatus::Contacted),
                priority: None,
                updated_before: None,
                limit: 10,
                after: None,
            },
        )
        .await
        .unwrap();
    let found: Vec<LeadId> = page.items.iter().map(|l| l.id).collect();
    contacted.reverse();
    assert_eq!(found, contacted, "all three matches, newest first");
    assert!(page.next.is_none());
}

/// A business card is matched against leads by phone and e-mail: the index follows every
/// create and contact change, a refused write changes nothing, and tenants do not mix.
pub async fn leads_are_found_by_their_contacts_phone_and_email<S: Backend>(store: S) {
    let f = fixture(store).await;
    let actor = actor_of(&f.rep);
    let policy = ScoringPolicy::default();
    let ids = |leads: Vec<Lead>| leads.into_iter().map(|l| l.id).collect::<Vec<_>>();
    let chen = "lead:email:chen@example.com";
    let phone = "lead:phone:+8613800138000";

    let (first, events) = new_lead(&f.rep, t0());
    f.store.create_lead(&first, &events, None).await.unwrap();
    let input = NewLead {
        source: LeadSource::Event,
        contact: ContactInput {
            name: "陈杰".into(),
            phone: Some("138 0013 8000".into()),
            email: Some("Chen@Example.com".into()),
            ..Default::default()
        },
        prescreen: PreScreen::default(),
        notes: None,
        owner: None,
    };
    let context = CreateContext {
        id: LeadId::new(),
        actor: &actor,
        owner: Some(&f.rep),
        now: t0() + Duration::hours(1),
        region: Region::china(),
        policy: &policy,
    };
    let (second, events) = Lead::create(&input, context).unwrap();
    f.store.create_lead(&second, &events, None).await.unwrap();

    let found = ids(f.store.leads_with_key(&f.tenant, chen).await.unwrap());
    assert_eq!(found, vec![second.id, first.id], "newest change first");
    let found = ids(f.store.leads_with_key(&f.tenant, phone).await.unwrap());
    assert_eq!(found, vec![second.id]);

    // The first lead's e-mail changes: found under the new one only.
    let patch = LeadPatch {
        contact: Some(ContactInput {
            name: "Chen Jie".into(),
            email: Some("wang@example.com".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut moved = first.clone();
    let ev = moved
        .apply_patch(
            &patch,
            &actor,
            t0() + Duration::hours(2),
            Region::china(),
            &policy,
        )
        .unwrap();
    // A stale write of the same change is refused and moves no key.
    let mut stale = moved.clone();
    stale.version += 1;
    assert!(f.store.update_lead(&stale, 5, &ev).await.is_err());
    let found = ids(f.store.leads_with_key(&f.tenant, chen).await.unwrap());
    assert_eq!(
        found,
        vec![second.id, first.id],
        "a refused write moves nothing"
    );
    f.store.update_lead(&moved, 1, &ev).await.unwrap();
    let found = ids(f.store.leads_with_key(&f.tenant, chen).await.unwrap());
    assert_eq!(found, vec![second.id]);
    let wang = "lead:email:wang@example.com";
    let found = ids(f.store.leads_with_key(&f.tenant, wang).await.unwrap());
    assert_eq!(found, vec![first.id]);

    let globex = TenantId::parse("globex").unwrap();
    f.store.create_tenant(&tenant_row(&globex)).await.unwrap();
    assert!(
        f.store
            .leads_with_key(&globex, chen)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        f.store
            .leads_with_key(&f.tenant, "lead:email:nobody@example.com")
            .await
            .unwrap()
            .is_empty()
    );
}
