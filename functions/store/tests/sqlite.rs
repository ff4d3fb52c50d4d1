//! The embedded adapter against a real SQLite database file.

use chrono::{Duration, TimeZone, Utc};
use fieldline_domain::lead::{ContactInput, CreateContext};
use fieldline_domain::*;
use fieldline_store::*;
use std::sync::Arc;

struct Fixture {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    store: SqliteStore,
    tenant: TenantId,
    team: TeamId,
    rep: User,
}

fn t0() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap()
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fieldline.db");
    let store = SqliteStore::open(&path).unwrap();
    let tenant = TenantId::parse("acme").unwrap();
    store.create_tenant(&tenant_row(&tenant)).await.unwrap();
    let team = TeamId::new();
    store
        .create_team(&Team {
            id: team,
            tenant: tenant.clone(),
            name: PersonName::parse("华东").unwrap(),
            manager: None,
        })
        .await
        .unwrap();
    let rep = user(&tenant, Some(team), "rep1@acme.cn");
    store.create_user(&rep).await.unwrap();
    Fixture {
        _dir: dir,
        path,
        store,
        tenant,
        team,
        rep,
    }
}

fn tenant_row(id: &TenantId) -> Tenant {
    Tenant {
        id: id.clone(),
        name: PersonName::parse("Acme").unwrap(),
        time_zone: "Asia/Shanghai".into(),
        phone_region: "CN".into(),
        calendar: None,
    }
}

fn user(tenant: &TenantId, team: Option<TeamId>, email: &str) -> User {
    User {
        id: UserId::new(),
        tenant: tenant.clone(),
        name: PersonName::parse("赵磊").unwrap(),
        email: EmailAddress::parse(email).unwrap(),
        role: Role::Rep,
        team,
        active: true,
    }
}

fn actor_of(u: &User) -> Actor {
    Actor {
        user: u.id,
        tenant: u.tenant.clone(),
        role: u.role,
        team: u.team,
    }
}

fn new_lead(owner: &User, now: Timestamp) -> (Lead, Vec<DomainEvent>) {
    let input = NewLead {
        source: LeadSource::WebForm,
        contact: ContactInput {
            name: "Chen Jie".into(),
            email: Some("chen@example.com".into()),
            ..Default::default()
        },
        prescreen: PreScreen::default(),
        notes: None,
        owner: None,
    };
    let policy = ScoringPolicy::default();
    Lead::create(
        &input,
        CreateContext {
            id: LeadId::new(),
            actor: &actor_of(owner),
            owner: Some(owner),
            now,
            region: Region::china(),
            policy: &policy,
        },
    )
    .unwrap()
}

async fn count(store: &SqliteStore, consumer: &str) -> usize {
    store.read_events(consumer, 10_000).await.unwrap().len()
}

#[tokio::test]
async fn database_is_wal_and_migrated_and_survives_reopen() {
    let f = fixture().await;
    assert_eq!(f.store.journal_mode().await.unwrap(), "wal");
    assert_eq!(f.store.schema_version().await.unwrap(), 2);
    let (lead, events) = new_lead(&f.rep, t0());
    f.store.create_lead(&lead, &events, None).await.unwrap();
    drop(f.store);
    let reopened = SqliteStore::open(&f.path).unwrap();
    assert_eq!(
        reopened.get_lead(&f.tenant, lead.id).await.unwrap(),
        Some(lead)
    );
    assert_eq!(
        reopened.schema_version().await.unwrap(),
        2,
        "re-opening does not re-run migrations"
    );
}

#[tokio::test]
async fn idempotent_create_replays_and_refuses_a_different_request() {
    let f = fixture().await;
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
        count(&f.store, "t").await,
        1,
        "only the first create wrote an event"
    );
}

#[tokio::test]
async fn concurrent_retries_with_one_key_create_one_lead() {
    let f = fixture().await;
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
    assert_eq!(count(&f.store, "t").await, 1);
}

#[tokio::test]
async fn stale_writes_are_refused_and_leave_nothing_behind() {
    let f = fixture().await;
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
        count(&f.store, "t").await,
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

#[tokio::test]
async fn listing_is_scoped_filtered_and_paginated() {
    let f = fixture().await;
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

#[tokio::test]
async fn tenants_are_isolated() {
    let f = fixture().await;
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

#[tokio::test]
async fn outbox_consumers_keep_independent_positions() {
    let f = fixture().await;
    for _ in 0..3 {
        let (lead, events) = new_lead(&f.rep, t0());
        f.store.create_lead(&lead, &events, None).await.unwrap();
    }
    let batch = f.store.read_events("timers", 2).await.unwrap();
    assert_eq!(batch.len(), 2);
    assert!(batch[0].seq < batch[1].seq);
    f.store.ack_events("timers", batch[1].seq).await.unwrap();
    let rest = f.store.read_events("timers", 10).await.unwrap();
    assert_eq!(rest.len(), 1);
    assert!(rest[0].seq > batch[1].seq);
    f.store.ack_events("timers", batch[0].seq).await.unwrap();
    assert_eq!(
        f.store.read_events("timers", 10).await.unwrap().len(),
        1,
        "acks never move back"
    );
    assert_eq!(f.store.read_events("webhooks", 10).await.unwrap().len(), 3);
    assert!(matches!(
        rest[0].event.payload,
        EventPayload::LeadCreated { .. }
    ));
}

#[tokio::test]
async fn blobs_are_written_atomically_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let blobs = LocalBlobStore::new(dir.path());
    let key = BlobKey::parse(TenantId::parse("acme").unwrap(), "leads/1/quote.pdf").unwrap();
    let meta = blobs
        .put(&key, b"%PDF-1.7 fake".to_vec(), "application/pdf")
        .await
        .unwrap();
    assert_eq!(meta.size, 13);
    let (bytes, read_meta) = blobs.get(&key).await.unwrap().unwrap();
    assert_eq!(bytes, b"%PDF-1.7 fake");
    assert_eq!(read_meta, meta);
    blobs
        .put(&key, b"v2".to_vec(), "application/pdf")
        .await
        .unwrap();
    assert_eq!(blobs.get(&key).await.unwrap().unwrap().0, b"v2");
    assert!(blobs.delete(&key).await.unwrap());
    assert!(blobs.get(&key).await.unwrap().is_none());
    assert!(!blobs.delete(&key).await.unwrap());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("acme/leads/1"))
        .unwrap()
        .collect();
    assert!(leftovers.is_empty(), "no temporary files left behind");
}

#[tokio::test]
async fn retried_activity_is_recorded_once() {
    let f = fixture().await;
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

fn timer(f: &Fixture, lead: LeadId, name: &str, due: Timestamp) -> Timer {
    Timer {
        id: TimerId::new(),
        tenant: f.tenant.clone(),
        lead,
        name: name.into(),
        due_at: due,
        created_at: t0(),
        cause: None,
    }
}

#[tokio::test]
async fn timers_fire_once_even_when_sweepers_overlap() {
    let f = fixture().await;
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
    let before = count(&f.store, "fresh").await;
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
        count(&f.store, "fresh").await - before,
        151,
        "one timer_fired event each"
    );
    assert_eq!(
        f.store
            .pending_timers(&f.tenant, lead.id)
            .await
            .unwrap()
            .len(),
        49
    );
    // Cancelling and restarting.
    let names: Vec<String> = (151..160).map(|i| format!("t{i}")).collect();
    assert_eq!(
        f.store
            .cancel_timers(&f.tenant, lead.id, &names)
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
    let pending = f.store.pending_timers(&f.tenant, lead.id).await.unwrap();
    assert_eq!(pending.len(), 40);
    assert_eq!(pending[0].name, "t199", "restarted with the new due time");
}

#[tokio::test]
async fn rotation_hands_out_each_member_in_turn_under_concurrency() {
    let f = fixture().await;
    let members: Vec<UserId> = (0..4).map(|_| UserId::new()).collect();
    let store = Arc::new(f.store.clone());
    let picks: Vec<_> = (0..40)
        .map(|_| {
            let (store, members, tenant) = (store.clone(), members.clone(), f.tenant.clone());
            tokio::spawn(async move {
                store
                    .next_in_rotation(&tenant, "team:x", &members)
                    .await
                    .unwrap()
                    .unwrap()
            })
        })
        .collect();
    let mut counts = std::collections::HashMap::new();
    for p in picks {
        *counts.entry(p.await.unwrap()).or_insert(0) += 1;
    }
    assert_eq!(counts.len(), 4);
    assert!(counts.values().all(|n| *n == 10), "{counts:?}");
    assert_eq!(
        f.store
            .next_in_rotation(&f.tenant, "empty", &[])
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn rule_versions_are_kept_and_stale_changes_refused() {
    let f = fixture().await;
    let draft: RuleDraft = serde_json::from_value(serde_json::json!({
        "name": "x", "trigger": "lead_created", "actions": [{"do": "escalate", "message": "m"}]
    }))
    .unwrap();
    let rule = |version| Rule {
        id: RuleId::parse("esc").unwrap(),
        tenant: f.tenant.clone(),
        version,
        draft: draft.clone(),
        changed_by: None,
        changed_at: t0(),
    };
    f.store.save_rule(&rule(1), None).await.unwrap();
    assert!(matches!(
        f.store.save_rule(&rule(1), None).await,
        Err(StoreError::AlreadyExists(_))
    ));
    f.store.save_rule(&rule(2), Some(1)).await.unwrap();
    assert!(matches!(
        f.store.save_rule(&rule(2), Some(1)).await,
        Err(StoreError::VersionConflict {
            expected: 1,
            actual: 2
        })
    ));
    let id = RuleId::parse("esc").unwrap();
    assert_eq!(
        f.store
            .get_rule(&f.tenant, &id)
            .await
            .unwrap()
            .unwrap()
            .version,
        2
    );
    assert_eq!(
        f.store.rule_versions(&f.tenant, &id).await.unwrap().len(),
        2
    );
    let other = TenantId::parse("globex").unwrap();
    assert!(
        f.store.get_rule(&other, &id).await.unwrap().is_none(),
        "rules are per tenant"
    );
}

#[tokio::test]
async fn directory_meets_the_port_contract() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("contract.db")).unwrap();
    fieldline_store::testkit::directory_contract(&store).await;
}
