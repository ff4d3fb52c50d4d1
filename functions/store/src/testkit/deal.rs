//! The deal store's contract: a conversion is all or nothing and safe to retry, stage moves
//! keep an append-only log under the version check, listings are scoped, filtered (overdue
//! included) and paged, pipelines are versioned, and tenants never see each other's deals.

use super::Backend;
use super::fixture::{actor_of, count, fixture, new_lead, t0, user};
use crate::ports::{Conversion, DealQuery, IdempotencyKey};
use crate::{Created, IdempotencyRecord, StoreError};
use chrono::Duration;
use fieldline_domain::*;

/// A stored lead of `owner`, moved to qualified.
pub(crate) async fn qualified_lead<S: Backend>(store: &S, owner: &User) -> Lead {
    let (mut lead, events) = new_lead(owner, t0());
    store.create_lead(&lead, &events, None).await.unwrap();
    let before = lead.version;
    lead.status = LeadStatus::Qualified;
    lead.version += 1;
    store.update_lead(&lead, before, &[]).await.unwrap();
    lead
}

pub(crate) fn conversion(lead: &Lead, owner: &User, at: Timestamp) -> Conversion {
    let mut converted_lead = lead.clone();
    let pipeline = Pipeline::default_for(&lead.tenant);
    let ids = ConversionIds {
        customer: CustomerId::new(),
        contact: ContactId::new(),
        deal: DealId::new(),
    };
    let made = convert_lead(
        &mut converted_lead,
        ids,
        &pipeline,
        &actor_of(owner),
        at,
        "CNY",
    )
    .unwrap();
    Conversion {
        lead: converted_lead,
        lead_version: lead.version,
        customer: made.customer,
        contact: made.contact,
        new_customer: made.new_customer,
        new_contact: made.new_contact,
        deal: made.deal,
        first_stage: made.first_stage,
        events: made.events,
    }
}

fn query(scope: LeadScope) -> DealQuery {
    DealQuery {
        scope,
        pipeline: None,
        stage: None,
        status: None,
        owner: None,
        overdue_at: None,
        limit: 50,
        after: None,
    }
}

pub async fn conversions_are_atomic_idempotent_and_deals_keep_a_stage_log<S: Backend>(store: S) {
    let f = fixture(store).await;
    let lead = qualified_lead(&f.store, &f.rep).await;
    let key = |fingerprint: &str| IdempotencyRecord {
        key: IdempotencyKey::parse("convert-1").unwrap(),
        user: f.rep.id,
        fingerprint: fingerprint.into(),
    };
    let c = conversion(&lead, &f.rep, t0());
    let before = count(&f.store, &f.tenant).await;
    let first = f.store.convert_lead(&c, Some(&key("a"))).await.unwrap();
    assert_eq!(first, Created::New(c.deal.clone()));
    assert_eq!(count(&f.store, &f.tenant).await, before + c.events.len());
    // A retry (new ids, same key and request) returns the first deal and writes nothing.
    let again = conversion(&lead, &f.rep, t0());
    let replay = f.store.convert_lead(&again, Some(&key("a"))).await.unwrap();
    assert_eq!(replay, Created::Replayed(c.deal.clone()));
    assert_eq!(
        f.store.converted_with(&f.tenant, &key("a")).await.unwrap(),
        Some(c.deal.clone())
    );
    assert!(matches!(
        f.store.converted_with(&f.tenant, &key("b")).await,
        Err(StoreError::IdempotencyMismatch)
    ));
    let unused = IdempotencyRecord {
        key: IdempotencyKey::parse("convert-2").unwrap(),
        ..key("a")
    };
    assert_eq!(
        f.store.converted_with(&f.tenant, &unused).await.unwrap(),
        None
    );
    assert!(matches!(
        f.store.convert_lead(&again, Some(&key("b"))).await,
        Err(StoreError::IdempotencyMismatch)
    ));
    // Without a key the stale lead version refuses it, and nothing of it is written.
    assert!(matches!(
        f.store.convert_lead(&again, None).await,
        Err(StoreError::VersionConflict { .. })
    ));
    assert_eq!(
        f.store.get_deal(&f.tenant, again.deal.id).await.unwrap(),
        None
    );
    assert_eq!(
        f.store
            .get_customer(&f.tenant, again.customer.id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(count(&f.store, &f.tenant).await, before + c.events.len());

    let stored_lead = f.store.get_lead(&f.tenant, lead.id).await.unwrap().unwrap();
    assert_eq!(stored_lead.status, LeadStatus::Converted);
    let customer = f
        .store
        .get_customer(&f.tenant, c.customer.id)
        .await
        .unwrap();
    assert_eq!(customer, Some(c.customer.clone()));
    let contacts = f
        .store
        .list_contacts(&f.tenant, c.customer.id)
        .await
        .unwrap();
    assert_eq!(contacts, vec![c.contact.clone()]);

    // A stage move: the deal and its log line together, under the version check.
    let pipeline = Pipeline::default_for(&f.tenant);
    let mut deal = c.deal.clone();
    let actor = actor_of(&f.rep);
    let mv = StageMove {
        to: "first_call",
        reason: None,
        override_gate: false,
    };
    let (change, event) = deal
        .move_stage(&pipeline, &mv, &[], &actor, t0() + Duration::hours(3))
        .unwrap();
    f.store
        .update_deal(&deal, 1, Some(&change), std::slice::from_ref(&event))
        .await
        .unwrap();
    // The same move from the old version is refused and leaves no second log line.
    assert!(matches!(
        f.store.update_deal(&deal, 1, Some(&change), &[event]).await,
        Err(StoreError::VersionConflict {
            expected: 1,
            actual: 2
        })
    ));
    let history = f.store.deal_history(&f.tenant, deal.id).await.unwrap();
    let steps: Vec<(Option<&str>, &str, i64)> = history
        .iter()
        .map(|h| (h.from.as_deref(), h.to.as_str(), h.seconds_in_previous))
        .collect();
    assert_eq!(
        steps,
        [(None, "new", 0), (Some("new"), "first_call", 3 * 3600)]
    );
    let facts = f
        .store
        .deal_facts(&f.tenant, "default", &LeadScope::Tenant)
        .await
        .unwrap();
    assert_eq!(facts, [DealFacts::of(&deal, &history)]);
    assert_eq!(
        f.store.get_deal(&f.tenant, deal.id).await.unwrap(),
        Some(deal.clone())
    );

    let other = TenantId::parse("globex").unwrap();
    assert_eq!(f.store.get_deal(&other, deal.id).await.unwrap(), None);
    assert!(
        f.store
            .deal_history(&other, deal.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        f.store
            .deal_facts(&other, "default", &LeadScope::Tenant)
            .await
            .unwrap()
            .is_empty()
    );
    let theirs = f
        .store
        .list_deals(&other, &query(LeadScope::Tenant))
        .await
        .unwrap();
    assert!(theirs.items.is_empty());
}

/// Activities on a deal are written with the deal (its recent list, its version) and their
/// event; a retry under one idempotency key logs once; a stale deal version logs nothing.
pub async fn deal_activities_are_logged_once_with_their_deal<S: Backend>(store: S) {
    let f = fixture(store).await;
    let lead = qualified_lead(&f.store, &f.rep).await;
    let c = conversion(&lead, &f.rep, t0());
    f.store.convert_lead(&c, None).await.unwrap();
    let actor = actor_of(&f.rep);
    let mut deal = c.deal.clone();
    let key = IdempotencyRecord {
        key: IdempotencyKey::parse("call-1").unwrap(),
        user: f.rep.id,
        fingerprint: "call".into(),
    };
    let mut logged = Vec::new();
    for h in 1..=4 {
        let input = NewActivity {
            kind: ActivityKind::Call,
            summary: format!("第{h}次电话"),
            occurred_at: None,
            structured: None,
            contact: None,
        };
        let before = deal.version;
        let (activity, event) = deal
            .log_activity(&input, ActivityId::new(), &actor, t0() + Duration::hours(h))
            .unwrap();
        let idem = (h == 1).then_some(&key);
        let made = f
            .store
            .record_deal_activity(&deal, before, &activity, std::slice::from_ref(&event), idem)
            .await
            .unwrap();
        assert_eq!(made, Created::New(activity.clone()));
        logged.push(activity);
    }
    let events_before = count(&f.store, &f.tenant).await;
    // The first call retried: the stored one comes back and nothing is written.
    let mut stale = c.deal.clone();
    let input = NewActivity {
        kind: ActivityKind::Call,
        summary: "第1次电话".into(),
        occurred_at: None,
        structured: None,
        contact: None,
    };
    let (retry, event) = stale
        .log_activity(&input, ActivityId::new(), &actor, t0() + Duration::hours(1))
        .unwrap();
    let replay = f
        .store
        .record_deal_activity(&stale, 1, &retry, std::slice::from_ref(&event), Some(&key))
        .await
        .unwrap();
    assert_eq!(replay, Created::Replayed(logged[0].clone()));
    // Without the key the stale version refuses it.
    assert!(matches!(
        f.store
            .record_deal_activity(&stale, 1, &retry, &[event], None)
            .await,
        Err(StoreError::VersionConflict { expected: 1, .. })
    ));
    assert_eq!(count(&f.store, &f.tenant).await, events_before);
    let stored = f.store.get_deal(&f.tenant, deal.id).await.unwrap().unwrap();
    assert_eq!(stored, deal);
    assert_eq!(stored.recent_activities.len(), 3);
    let listed = f
        .store
        .list_deal_activities(&f.tenant, deal.id, 10)
        .await
        .unwrap();
    let newest_first: Vec<_> = logged.iter().rev().cloned().collect();
    assert_eq!(listed, newest_first);
    assert_eq!(
        f.store
            .list_deal_activities(&f.tenant, deal.id, 2)
            .await
            .unwrap(),
        newest_first[..2]
    );
    // A lead's activities and a deal's do not mix, and tenants stay apart.
    assert!(
        f.store
            .list_activities(&f.tenant, lead.id, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let other = TenantId::parse("globex").unwrap();
    assert!(
        f.store
            .list_deal_activities(&other, deal.id, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Material packs are found by their link's token hash from any tenant, listed per deal
/// newest first, and an opening (pack + event) is written under the version check.
pub async fn material_packs_are_found_by_token_and_opened_under_the_version_check<S: Backend>(
    store: S,
) {
    let f = fixture(store).await;
    let lead = qualified_lead(&f.store, &f.rep).await;
    let c = conversion(&lead, &f.rep, t0());
    f.store.convert_lead(&c, None).await.unwrap();
    let deal = c.deal.clone();
    let actor = actor_of(&f.rep);
    let upload = UploadId::new();
    let file = AttachmentFile {
        upload,
        file_name: "报价单.pdf".into(),
        content_type: "application/pdf".into(),
        size: 10,
    };
    let log = [Activity::attachment(
        ActivityId::new(),
        &deal.log_target(),
        file,
        f.rep.id,
        t0(),
    )];
    let input = NewMaterialPack {
        name: "方案".into(),
        files: vec![upload],
        expires_in_days: None,
    };
    let pack = |token: &str, at| {
        MaterialPack::create(
            &input,
            MaterialPackId::new(),
            deal.id,
            &log,
            token,
            &actor,
            at,
        )
        .unwrap()
    };
    let first = pack(&"a".repeat(43), t0());
    let second = pack(&"b".repeat(43), t0() + Duration::hours(1));
    f.store.create_material_pack(&first).await.unwrap();
    f.store.create_material_pack(&second).await.unwrap();
    let clash = MaterialPack {
        id: MaterialPackId::new(),
        ..first.clone()
    };
    assert!(matches!(
        f.store.create_material_pack(&clash).await,
        Err(StoreError::AlreadyExists(_))
    ));
    assert_eq!(
        f.store
            .material_pack_by_token(&first.token_hash)
            .await
            .unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        f.store
            .material_pack_by_token(&material::token_hash("nope"))
            .await
            .unwrap(),
        None
    );
    let listed = f
        .store
        .list_material_packs(&f.tenant, deal.id)
        .await
        .unwrap();
    let ids: Vec<_> = listed.iter().map(|p| p.id).collect();
    assert_eq!(ids, [second.id, first.id]);

    let before = count(&f.store, &f.tenant).await;
    let mut opened = first.clone();
    let event = opened.open(deal.version, t0() + Duration::hours(2));
    f.store
        .update_material_pack(&opened, 1, std::slice::from_ref(&event))
        .await
        .unwrap();
    assert_eq!(count(&f.store, &f.tenant).await, before + 1);
    // A concurrent opening from the same version loses and writes nothing.
    assert!(matches!(
        f.store.update_material_pack(&opened, 1, &[event]).await,
        Err(StoreError::VersionConflict {
            expected: 1,
            actual: 2
        })
    ));
    assert_eq!(count(&f.store, &f.tenant).await, before + 1);
    let stored = f
        .store
        .material_pack_by_token(&first.token_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((stored.opens, stored.version), (1, 2));
    let other = TenantId::parse("globex").unwrap();
    assert!(
        f.store
            .list_material_packs(&other, deal.id)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn deal_listings_are_scoped_filtered_and_paged<S: Backend>(store: S) {
    let f = fixture(store).await;
    let other_team = TeamId::new();
    let mut colleague = user(&f.tenant, Some(other_team), "rep2@acme.cn");
    colleague.role = Role::Rep;
    f.store.create_user(&colleague).await.unwrap();
    let pipeline = Pipeline::default_for(&f.tenant);
    let mut mine = Vec::new();
    for i in 0..5 {
        let lead = qualified_lead(&f.store, &f.rep).await;
        let c = conversion(&lead, &f.rep, t0() + Duration::minutes(i));
        f.store.convert_lead(&c, None).await.unwrap();
        mine.push(c.deal);
    }
    let lead = qualified_lead(&f.store, &colleague).await;
    let theirs = conversion(&lead, &colleague, t0());
    f.store.convert_lead(&theirs, None).await.unwrap();
    // One of mine moves on (and out of "new", whose 2-day limit the others pass).
    let mut moved = mine[0].clone();
    let mv = StageMove {
        to: "first_call",
        reason: None,
        override_gate: false,
    };
    let (change, event) = moved
        .move_stage(
            &pipeline,
            &mv,
            &[],
            &actor_of(&f.rep),
            t0() + Duration::hours(1),
        )
        .unwrap();
    f.store
        .update_deal(&moved, 1, Some(&change), &[event])
        .await
        .unwrap();

    let all = f
        .store
        .list_deals(&f.tenant, &query(LeadScope::Tenant))
        .await
        .unwrap();
    assert_eq!(all.items.len(), 6);
    assert_eq!(all.items[0].id, moved.id, "newest change first");
    let own = f
        .store
        .list_deals(&f.tenant, &query(LeadScope::Owner(f.rep.id)))
        .await
        .unwrap();
    assert_eq!(own.items.len(), 5);
    let team = f
        .store
        .list_deals(&f.tenant, &query(LeadScope::Team(other_team)))
        .await
        .unwrap();
    assert_eq!(
        team.items.iter().map(|d| d.id).collect::<Vec<_>>(),
        [theirs.deal.id]
    );
    let pool = f
        .store
        .list_deals(&f.tenant, &query(LeadScope::Pool))
        .await
        .unwrap();
    assert!(pool.items.is_empty());

    let mut in_new = query(LeadScope::Tenant);
    in_new.stage = Some("new".into());
    in_new.pipeline = Some("default".into());
    assert_eq!(
        f.store
            .list_deals(&f.tenant, &in_new)
            .await
            .unwrap()
            .items
            .len(),
        5
    );
    let mut overdue = query(LeadScope::Owner(f.rep.id));
    overdue.overdue_at = Some(t0() + Duration::days(3));
    let late = f.store.list_deals(&f.tenant, &overdue).await.unwrap();
    assert_eq!(late.items.len(), 4, "the moved deal's clock restarted");
    assert!(late.items.iter().all(|d| d.stage == "new"));

    let totals = f
        .store
        .stage_totals(&f.tenant, &LeadScope::Owner(f.rep.id), "default")
        .await
        .unwrap();
    let mine_in_new: u64 = mine[1..].iter().map(|d| d.amount).sum();
    assert_eq!(
        totals,
        vec![
            crate::StageTotal {
                stage: "first_call".into(),
                count: 1,
                amount: moved.amount
            },
            crate::StageTotal {
                stage: "new".into(),
                count: 4,
                amount: mine_in_new
            },
        ]
    );
    let theirs_only = f
        .store
        .stage_totals(&f.tenant, &LeadScope::Team(other_team), "default")
        .await
        .unwrap();
    assert_eq!(theirs_only.iter().map(|t| t.count).sum::<u64>(), 1);
    assert!(
        f.store
            .stage_totals(&f.tenant, &LeadScope::Tenant, "other")
            .await
            .unwrap()
            .is_empty()
    );

    let mut page = query(LeadScope::Tenant);
    page.limit = 4;
    let first = f.store.list_deals(&f.tenant, &page).await.unwrap();
    assert_eq!(first.items.len(), 4);
    page.after = first.next;
    let second = f.store.list_deals(&f.tenant, &page).await.unwrap();
    assert_eq!(second.items.len(), 2);
    assert!(second.next.is_none());
    let mut seen: Vec<DealId> = first
        .items
        .iter()
        .chain(&second.items)
        .map(|d| d.id)
        .collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 6);
}

/// The board's column totals and the reports' deal facts agree with the deals themselves
/// (and their stage logs) after creations, stage moves, amount changes, an activity and a
/// refused stale write, in every scope.
pub async fn board_totals_and_report_facts_follow_every_deal_write<S: Backend>(store: S) {
    let f = fixture(store).await;
    let pipeline = Pipeline::default_for(&f.tenant);
    let actor = actor_of(&f.rep);
    let mut colleague = user(&f.tenant, Some(TeamId::new()), "rep2@acme.cn");
    colleague.role = Role::Rep;
    f.store.create_user(&colleague).await.unwrap();
    let mut deals = Vec::new();
    for i in 0..4u64 {
        let owner = if i == 3 { &colleague } else { &f.rep };
        let lead = qualified_lead(&f.store, owner).await;
        let mut c = conversion(&lead, owner, t0());
        c.deal.amount = 10_000 * (i + 1);
        f.store.convert_lead(&c, None).await.unwrap();
        deals.push(c.deal);
    }
    // A move, an amount change, a loss.
    let mv = |to: &'static str| StageMove {
        to,
        reason: (to == "lost").then_some("price"),
        override_gate: false,
    };
    let before = deals[0].version;
    let (change, event) = deals[0]
        .move_stage(&pipeline, &mv("first_call"), &[], &actor, t0())
        .unwrap();
    f.store
        .update_deal(&deals[0], before, Some(&change), &[event])
        .await
        .unwrap();
    let before = deals[1].version;
    let patch = DealPatch {
        amount: Some(55_000),
        ..Default::default()
    };
    let events = deals[1].apply_patch(&patch, &actor, t0()).unwrap();
    f.store
        .update_deal(&deals[1], before, None, &events)
        .await
        .unwrap();
    // A stale write changes nothing, totals included.
    let mut stale = deals[1].clone();
    stale.amount = 1;
    assert!(matches!(
        f.store.update_deal(&stale, before, None, &[]).await,
        Err(StoreError::VersionConflict { .. })
    ));
    let before = deals[2].version;
    let (change, event) = deals[2]
        .move_stage(&pipeline, &mv("lost"), &[], &actor, t0())
        .unwrap();
    f.store
        .update_deal(&deals[2], before, Some(&change), &[event])
        .await
        .unwrap();
    let before = deals[0].version;
    let input = NewActivity {
        kind: ActivityKind::Call,
        summary: "called".into(),
        occurred_at: None,
        structured: None,
        contact: None,
    };
    let (activity, event) = deals[0]
        .log_activity(&input, ActivityId::new(), &actor, t0() + Duration::hours(1))
        .unwrap();
    f.store
        .record_deal_activity(
            &deals[0],
            before,
            &activity,
            std::slice::from_ref(&event),
            None,
        )
        .await
        .unwrap();

    for scope in [
        LeadScope::Tenant,
        LeadScope::Team(f.rep.team.unwrap()),
        LeadScope::Owner(f.rep.id),
        LeadScope::Owner(colleague.id),
    ] {
        let mut expected_facts = Vec::new();
        for d in &deals {
            let visible = match &scope {
                LeadScope::Tenant => true,
                LeadScope::Team(t) => d.team == Some(*t),
                LeadScope::Owner(u) => d.owner == *u,
                LeadScope::Pool => false,
            };
            if visible {
                let stored = f.store.get_deal(&f.tenant, d.id).await.unwrap().unwrap();
                assert_eq!(&stored, d);
                let log = f.store.deal_history(&f.tenant, d.id).await.unwrap();
                expected_facts.push(DealFacts::of(&stored, &log));
            }
        }
        let mut facts = f
            .store
            .deal_facts(&f.tenant, "default", &scope)
            .await
            .unwrap();
        facts.sort_by_key(|x| x.id);
        expected_facts.sort_by_key(|x| x.id);
        assert_eq!(facts, expected_facts, "{scope:?}");
        assert!(!facts.is_empty());
        let listed = f
            .store
            .list_deals(&f.tenant, &query(scope.clone()))
            .await
            .unwrap();
        let mut expected: std::collections::BTreeMap<String, (u64, u64)> = Default::default();
        for d in listed.items.iter().filter(|d| d.pipeline == "default") {
            let e = expected.entry(d.stage.clone()).or_default();
            e.0 += 1;
            e.1 += d.amount;
        }
        let totals = f
            .store
            .stage_totals(&f.tenant, &scope, "default")
            .await
            .unwrap();
        let got: std::collections::BTreeMap<String, (u64, u64)> = totals
            .into_iter()
            .map(|t| (t.stage, (t.count, t.amount)))
            .collect();
        assert_eq!(got, expected, "{scope:?}");
    }
    assert!(
        f.store
            .deal_facts(&f.tenant, "other", &LeadScope::Tenant)
            .await
            .unwrap()
            .is_empty()
    );
    let lost = f
        .store
        .stage_totals(&f.tenant, &LeadScope::Owner(f.rep.id), "default")
        .await
        .unwrap();
    assert!(lost.iter().any(|t| t.stage == "lost" && t.amount == 30_000));
    assert!(lost.iter().any(|t| t.stage == "new" && t.amount == 55_000));
}

pub async fn pipelines_are_versioned_tenant_data<S: Backend>(store: S) {
    let f = fixture(store).await;
    assert!(f.store.list_pipelines(&f.tenant).await.unwrap().is_empty());
    let mut p = Pipeline::default_for(&f.tenant);
    f.store.save_pipeline(&p, None).await.unwrap();
    assert!(matches!(
        f.store.save_pipeline(&p, None).await,
        Err(StoreError::AlreadyExists(_))
    ));
    let mut second = Pipeline::default_for(&f.tenant);
    second.id = "projects".into();
    f.store.save_pipeline(&second, None).await.unwrap();
    p.version = 2;
    p.stages[0].rotting_days = Some(1);
    f.store.save_pipeline(&p, Some(1)).await.unwrap();
    assert!(matches!(
        f.store.save_pipeline(&p, Some(1)).await,
        Err(StoreError::VersionConflict {
            expected: 1,
            actual: 2
        })
    ));
    let listed = f.store.list_pipelines(&f.tenant).await.unwrap();
    assert_eq!(listed, vec![p, second]);
    let other = TenantId::parse("globex").unwrap();
    assert!(f.store.list_pipelines(&other).await.unwrap().is_empty());
}
