//! The lead, outbox-history and automation contracts: the same scenarios against every
//! backend (SQLite on a real file; DynamoDB on a real wire-protocol server).

use super::Backend;
use crate::*;
use chrono::{Duration, TimeZone, Utc};
use fieldline_domain::lead::{ContactInput, CreateContext};
use fieldline_domain::*;
use std::sync::Arc;

/// A tenant with one team and one rep, on the backend under test.
pub struct Fixture<S> {
    pub store: S,
    pub tenant: TenantId,
    pub team: TeamId,
    pub rep: User,
}

/// The contracts' "now".
pub fn t0() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap()
}

pub async fn fixture<S: Backend>(store: S) -> Fixture<S> {
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

pub fn user(tenant: &TenantId, team: Option<TeamId>, email: &str) -> User {
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

pub(crate) fn actor_of(u: &User) -> Actor {
    Actor {
        user: u.id,
        tenant: u.tenant.clone(),
        role: u.role,
        team: u.team,
    }
}

/// A valid new lead owned by `owner`, with its creation events.
pub fn new_lead(owner: &User, now: Timestamp) -> (Lead, Vec<DomainEvent>) {
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

/// Every event the tenant has in the outbox.
pub(crate) async fn count<S: Backend>(store: &S, tenant: &TenantId) -> usize {
    let epoch = chrono::DateTime::UNIX_EPOCH;
    store
        .tenant_events_since(tenant, epoch, 100_000)
        .await
        .unwrap()
        .len()
}

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

pub async fn rotation_hands_out_each_member_in_turn_under_concurrency<S: Backend>(store: S) {
    let f = fixture(store).await;
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

pub async fn rule_versions_are_kept_and_stale_changes_refused<S: Backend>(store: S) {
    let f = fixture(store).await;
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

fn decision<S>(
    f: &Fixture<S>,
    lead: LeadId,
    event: EventId,
    index: u32,
    at: Timestamp,
) -> Decision {
    Decision {
        tenant: f.tenant.clone(),
        rule: RuleId::parse("first-contact").unwrap(),
        rule_version: 1,
        event,
        trigger: EventKind::LeadCreated,
        subject: Subject::Lead(lead),
        action_index: index,
        action: serde_json::json!({"do": "notify"}),
        evidence: vec![],
        outcome: DecisionOutcome::Done,
        detail: String::new(),
        at,
    }
}

/// The decision log is unique per (event, rule, action), listed per lead oldest first and
/// per tenant newest first; open-lead counts ignore closed leads and other teams.
pub async fn decisions_and_open_lead_counts<S: Backend>(store: S) {
    let f = fixture(store).await;
    let (lead, events) = new_lead(&f.rep, t0());
    f.store.create_lead(&lead, &events, None).await.unwrap();
    let event = EventId::new();
    for i in 0..3 {
        let at = t0() + Duration::minutes(i.into());
        assert!(
            f.store
                .record_decision(&decision(&f, lead.id, event, i, at))
                .await
                .unwrap()
        );
    }
    assert!(
        !f.store
            .record_decision(&decision(&f, lead.id, event, 1, t0() + Duration::hours(1)))
            .await
            .unwrap(),
        "a redelivered event records nothing twice"
    );
    let of_lead = f
        .store
        .list_decisions(&f.tenant, Some(lead.id.into()), 10)
        .await
        .unwrap();
    assert_eq!(
        of_lead.iter().map(|d| d.action_index).collect::<Vec<_>>(),
        [0, 1, 2]
    );
    let recent = f.store.list_decisions(&f.tenant, None, 2).await.unwrap();
    assert_eq!(
        recent.iter().map(|d| d.action_index).collect::<Vec<_>>(),
        [2, 1]
    );
    let other = TenantId::parse("globex").unwrap();
    assert!(
        f.store
            .list_decisions(&other, None, 10)
            .await
            .unwrap()
            .is_empty()
    );

    let rep2 = user(&f.tenant, Some(f.team), "rep2@acme.cn");
    f.store.create_user(&rep2).await.unwrap();
    for (owner, status) in [
        (&rep2, LeadStatus::New),
        (&rep2, LeadStatus::Contacted),
        (&rep2, LeadStatus::Converted),
        (&f.rep, LeadStatus::Disqualified),
    ] {
        let (mut l, ev) = new_lead(owner, t0());
        l.status = status;
        f.store.create_lead(&l, &ev, None).await.unwrap();
    }
    let mut counts = f.store.open_lead_counts(&f.tenant, f.team).await.unwrap();
    counts.sort();
    let mut expected = vec![(f.rep.id, 1), (rep2.id, 2)];
    expected.sort();
    assert_eq!(counts, expected);
    assert!(
        f.store
            .open_lead_counts(&f.tenant, TeamId::new())
            .await
            .unwrap()
            .is_empty()
    );
}

fn note<S>(f: &Fixture<S>, key: &str, at: Timestamp) -> Notification {
    Notification {
        id: NotificationId::new(),
        tenant: f.tenant.clone(),
        user: f.rep.id,
        subject: None,
        kind: "escalation".into(),
        message: format!("lead waits: {key}"),
        rule: Some("first-contact".into()),
        dedupe_key: key.into(),
        created_at: at,
    }
}

/// The inbox deduplicates; each notification queues one delivery per forwarding channel in
/// the same write; deliveries are leased (a crashed sender's lease expires), retried at
/// their time, dead-lettered, and dropped with their channel.
pub async fn inbox_and_deliveries<S: Backend>(store: S) {
    let f = fixture(store).await;
    let channel = Channel {
        id: uuid::Uuid::now_v7(),
        tenant: f.tenant.clone(),
        kind: ChannelKind::Dingtalk,
        url: "https://oapi.dingtalk.example/robot/send?access_token=x".into(),
        secret: Some("SEC-signing-secret".into()),
        kinds: vec!["escalation".into()],
        created_at: t0(),
    };
    f.store.save_channel(&channel).await.unwrap();
    let listed = f.store.list_channels(&f.tenant).await.unwrap();
    assert_eq!(listed, vec![channel.clone()], "the secret is kept");

    let first = note(&f, "lead-1:first-contact", t0());
    assert!(f.store.add_notification(&first).await.unwrap());
    assert!(
        !f.store.add_notification(&first).await.unwrap(),
        "deduplicated"
    );
    let second = note(&f, "lead-2:first-contact", t0() + Duration::minutes(1));
    assert!(f.store.add_notification(&second).await.unwrap());
    let inbox = f
        .store
        .list_notifications(&f.tenant, f.rep.id, 10)
        .await
        .unwrap();
    assert_eq!(
        inbox.iter().map(|n| n.id).collect::<Vec<_>>(),
        [second.id, first.id]
    );

    let now = t0() + Duration::minutes(2);
    let lease = now + Duration::seconds(60);
    let claimed = f.store.claim_deliveries(now, lease, 10).await.unwrap();
    assert_eq!(claimed.len(), 2, "one delivery per notification");
    assert_eq!(claimed[0].1.secret.as_deref(), Some("SEC-signing-secret"));
    assert_eq!(claimed[0].0.notification.id, first.id, "oldest first");
    assert!(
        f.store
            .claim_deliveries(now, lease, 10)
            .await
            .unwrap()
            .is_empty(),
        "leased deliveries are not handed out twice"
    );
    // The sender of the second one crashed: after its lease it is handed out again.
    let (sent, crashed) = (&claimed[0].0, &claimed[1].0);
    f.store
        .finish_delivery(&f.tenant, sent.id, &DeliveryResult::Sent)
        .await
        .unwrap();
    let later = lease + Duration::seconds(1);
    let again = f
        .store
        .claim_deliveries(later, later + Duration::seconds(60), 10)
        .await
        .unwrap();
    assert_eq!(
        again.iter().map(|(d, _)| d.id).collect::<Vec<_>>(),
        [crashed.id]
    );

    let retry_at = later + Duration::minutes(5);
    let retry = DeliveryResult::Retry {
        at: retry_at,
        error: "HTTP 502".into(),
    };
    f.store
        .finish_delivery(&f.tenant, crashed.id, &retry)
        .await
        .unwrap();
    let before = retry_at - Duration::seconds(1);
    assert!(
        f.store
            .claim_deliveries(before, before, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let retried = f
        .store
        .claim_deliveries(retry_at, retry_at + Duration::seconds(60), 10)
        .await
        .unwrap();
    assert_eq!(retried.len(), 1);
    assert_eq!(retried[0].0.attempts, 1);
    let dead = DeliveryResult::Dead {
        error: "HTTP 410".into(),
    };
    f.store
        .finish_delivery(&f.tenant, crashed.id, &dead)
        .await
        .unwrap();
    let letters = f.store.dead_deliveries(&f.tenant, 10).await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].last_error.as_deref(), Some("HTTP 410"));
    assert_eq!(letters[0].attempts, 2);
    let far = retry_at + Duration::days(1);
    assert!(
        f.store
            .claim_deliveries(far, far, 10)
            .await
            .unwrap()
            .is_empty(),
        "sent and dead stay put"
    );

    // A channel's removal drops what it still had queued.
    f.store
        .add_notification(&note(&f, "lead-3:first-contact", far))
        .await
        .unwrap();
    assert!(f.store.delete_channel(&f.tenant, channel.id).await.unwrap());
    assert!(!f.store.delete_channel(&f.tenant, channel.id).await.unwrap());
    assert!(
        f.store
            .claim_deliveries(far, far, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

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
