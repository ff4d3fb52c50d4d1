//! The customer store's contract: a customer and its contacts are stored with their
//! de-duplication keys in one write, a key held by another record refuses the whole write
//! and names the holder (even when two writes race), listings are scoped and paged, and
//! tenants keep their own keys.

use super::Backend;
use super::deal::{conversion, qualified_lead};
use super::fixture::{actor_of, count, fixture, t0, tenant_row, user};
use crate::ports::CustomerQuery;
use crate::{Created, StoreError};
use chrono::Duration;
use fieldline_domain::*;

fn new_customer(owner: &User, name: &str, at: Timestamp) -> Customer {
    let input = NewCustomer {
        name: name.into(),
        kind: CustomerKind::Store,
        owner: None,
        addresses: vec![],
        tags: vec![],
        contacts: vec![],
    };
    Customer::create(&input, CustomerId::new(), &actor_of(owner), owner, at).unwrap()
}

fn contact(customer: &Customer, phone: &str, email: Option<&str>) -> Contact {
    NewContact {
        name: "王建国".into(),
        title: None,
        phones: vec![phone.into()],
        emails: email.map(str::to_owned).into_iter().collect(),
        decision_role: None,
        role: None,
    }
    .parse(
        ContactId::new(),
        customer,
        Region::default(),
        None,
        customer.created_at,
    )
    .unwrap()
}

fn query(scope: LeadScope, limit: u32) -> CustomerQuery {
    CustomerQuery {
        scope,
        name_contains: None,
        limit,
        after: None,
    }
}

fn duplicate_of(result: Result<(), StoreError>) -> (String, String) {
    match result {
        Err(StoreError::Duplicate { key, existing }) => (key, existing),
        other => panic!("expected a duplicate, got {other:?}"),
    }
}

pub async fn customers_are_deduplicated_scoped_and_paged<S: Backend>(store: S) {
    let f = fixture(store).await;
    let lianhua = new_customer(&f.rep, "上海联华超市有限公司", t0());
    let wang = contact(&lianhua, "13812345678", Some("wang@lianhua.cn"));
    f.store
        .create_customer(&lianhua, std::slice::from_ref(&wang), &[])
        .await
        .unwrap();
    assert_eq!(
        f.store.get_customer(&f.tenant, lianhua.id).await.unwrap(),
        Some(lianhua.clone())
    );
    assert_eq!(
        f.store.get_contact(&f.tenant, wang.id).await.unwrap(),
        Some(wang.clone())
    );

    // The same company written another way is refused, naming the first.
    let again = new_customer(&f.rep, "上海联华超市", t0() + Duration::minutes(1));
    let (key, existing) = duplicate_of(f.store.create_customer(&again, &[], &[]).await);
    assert_eq!(
        (key.as_str(), existing),
        ("customer:name:上海联华超市", lianhua.id.to_string())
    );
    assert_eq!(
        f.store.get_customer(&f.tenant, again.id).await.unwrap(),
        None
    );

    // A new company whose contact's phone is taken is refused as a whole: neither it nor its
    // name key is kept, so it can be created once the contact is fixed.
    let vanguard = new_customer(&f.rep, "华润万家", t0() + Duration::minutes(2));
    let clash = contact(&vanguard, "+86 138 1234 5678", None);
    let (key, existing) = duplicate_of(
        f.store
            .create_customer(&vanguard, std::slice::from_ref(&clash), &[])
            .await,
    );
    assert_eq!(
        (key.as_str(), existing),
        ("contact:phone:+8613812345678", wang.id.to_string())
    );
    assert_eq!(
        f.store.get_customer(&f.tenant, vanguard.id).await.unwrap(),
        None
    );
    assert_eq!(
        f.store.get_contact(&f.tenant, clash.id).await.unwrap(),
        None
    );
    let li = contact(&vanguard, "13900001111", None);
    f.store
        .create_customer(&vanguard, std::slice::from_ref(&li), &[])
        .await
        .unwrap();

    // Contacts added later claim their keys too.
    let zhao = contact(&lianhua, "13700002222", Some("zhao@lianhua.cn"));
    f.store.add_contact(&zhao, &[]).await.unwrap();
    let copy = contact(&vanguard, "13600003333", Some("ZHAO@lianhua.cn"));
    let (key, existing) = duplicate_of(f.store.add_contact(&copy, &[]).await);
    assert_eq!(
        (key.as_str(), existing),
        ("contact:email:zhao@lianhua.cn", zhao.id.to_string())
    );
    let contacts = f.store.list_contacts(&f.tenant, lianhua.id).await.unwrap();
    assert_eq!(contacts.len(), 2);
    let orphan = Contact {
        customer: CustomerId::new(),
        ..contact(&lianhua, "13500004444", None)
    };
    assert!(matches!(
        f.store.add_contact(&orphan, &[]).await,
        Err(StoreError::NotFound)
    ));

    // Two requests racing for one name: exactly one wins.
    let (a, b) = (
        new_customer(&f.rep, "Acme Co., Ltd.", t0() + Duration::minutes(3)),
        new_customer(&f.rep, "ACME Limited", t0() + Duration::minutes(3)),
    );
    let (ra, rb) = tokio::join!(
        f.store.create_customer(&a, &[], &[]),
        f.store.create_customer(&b, &[], &[])
    );
    assert_eq!(
        [&ra, &rb].iter().filter(|r| r.is_ok()).count(),
        1,
        "{ra:?} {rb:?}"
    );

    // Listings: newest first, paged, scoped.
    let mut colleague = user(&f.tenant, Some(TeamId::new()), "rep2@acme.cn");
    colleague.role = Role::Rep;
    f.store.create_user(&colleague).await.unwrap();
    let theirs = new_customer(&colleague, "深圳永辉", t0() + Duration::minutes(4));
    f.store.create_customer(&theirs, &[], &[]).await.unwrap();
    let all = f
        .store
        .list_customers(&f.tenant, &query(LeadScope::Tenant, 50))
        .await
        .unwrap();
    assert_eq!(all.items.len(), 4);
    assert_eq!(all.items[0].id, theirs.id);
    let first = f
        .store
        .list_customers(&f.tenant, &query(LeadScope::Owner(f.rep.id), 2))
        .await
        .unwrap();
    let second = f
        .store
        .list_customers(
            &f.tenant,
            &CustomerQuery {
                after: first.next,
                ..query(LeadScope::Owner(f.rep.id), 2)
            },
        )
        .await
        .unwrap();
    assert_eq!((first.items.len(), second.items.len()), (2, 1));
    assert!(second.next.is_none());
    assert!(
        first
            .items
            .iter()
            .chain(&second.items)
            .all(|c| c.owner == f.rep.id)
    );
    let team = f
        .store
        .list_customers(
            &f.tenant,
            &query(LeadScope::Team(colleague.team.unwrap()), 50),
        )
        .await
        .unwrap();
    assert_eq!(team.items, vec![theirs.clone()]);
    // Search by a part of the name, however it is written; within the scope.
    let search = |text: &str, scope: LeadScope| CustomerQuery {
        name_contains: Some(search_fold(text)),
        ..query(scope, 50)
    };
    let found = f
        .store
        .list_customers(&f.tenant, &search("联华 超市", LeadScope::Tenant))
        .await
        .unwrap();
    assert_eq!(found.items, vec![lianhua.clone()]);
    let acme = f
        .store
        .list_customers(&f.tenant, &search("ＡＣＭＥ", LeadScope::Tenant))
        .await
        .unwrap();
    assert_eq!(acme.items.len(), 1);
    let outside = f
        .store
        .list_customers(&f.tenant, &search("永辉", LeadScope::Owner(f.rep.id)))
        .await
        .unwrap();
    assert!(outside.items.is_empty());

    // Another tenant sees none of it and keeps its own keys.
    let globex = TenantId::parse("globex").unwrap();
    f.store.create_tenant(&tenant_row(&globex)).await.unwrap();
    let mut outsider = user(&globex, Some(TeamId::new()), "rep@globex.cn");
    outsider.role = Role::Rep;
    f.store.create_user(&outsider).await.unwrap();
    assert!(
        f.store
            .list_customers(&globex, &query(LeadScope::Tenant, 50))
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert_eq!(
        f.store.get_customer(&globex, lianhua.id).await.unwrap(),
        None
    );
    let same_name = new_customer(&outsider, "上海联华超市", t0());
    f.store.create_customer(&same_name, &[], &[]).await.unwrap();
}

/// A conversion onto a customer the tenant has writes no second customer (nor contact when
/// the person is known), and refuses as a whole when that customer is gone.
pub async fn conversions_join_known_customers<S: Backend>(store: S) {
    let f = fixture(store).await;
    let known = new_customer(&f.rep, "苏州精密机械", t0());
    let person = contact(&known, "13812345678", None);
    f.store
        .create_customer(&known, std::slice::from_ref(&person), &[])
        .await
        .unwrap();

    let lead = qualified_lead(&f.store, &f.rep).await;
    let mut c = conversion(&lead, &f.rep, t0());
    c.customer = known.clone();
    c.contact = person.clone();
    c.new_customer = false;
    c.new_contact = false;
    c.deal.customer = known.id;
    c.deal.contacts = vec![person.id];
    f.store.convert_lead(&c, None).await.unwrap();
    let deal = f
        .store
        .get_deal(&f.tenant, c.deal.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (deal.customer, deal.contacts.clone()),
        (known.id, vec![person.id])
    );
    assert_eq!(
        f.store.list_contacts(&f.tenant, known.id).await.unwrap(),
        vec![person.clone()]
    );
    let listed = f
        .store
        .list_customers(&f.tenant, &query(LeadScope::Tenant, 50))
        .await
        .unwrap();
    assert_eq!(listed.items, vec![known.clone()]);

    // Onto a customer that is not there: nothing is written, the lead stays convertible.
    let lead = qualified_lead(&f.store, &f.rep).await;
    let mut gone = conversion(&lead, &f.rep, t0());
    let ghost = new_customer(&f.rep, "不存在的公司", t0());
    gone.customer = ghost.clone();
    gone.new_customer = false;
    gone.deal.customer = ghost.id;
    gone.contact.customer = ghost.id;
    assert!(matches!(
        f.store.convert_lead(&gone, None).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        f.store.get_deal(&f.tenant, gone.deal.id).await.unwrap(),
        None
    );
    assert_eq!(
        f.store
            .get_lead(&f.tenant, lead.id)
            .await
            .unwrap()
            .unwrap()
            .version,
        lead.version
    );
    assert_eq!(
        f.store
            .key_holder(&f.tenant, "customer:name:苏州精密机械")
            .await
            .unwrap(),
        Some(known.id.to_string())
    );
}

/// A renamed customer takes its new name's key and frees the old one; a rename onto another
/// customer's name, or from a stale version, changes nothing (its event included).
pub async fn renames_move_the_name_key<S: Backend>(store: S) {
    let f = fixture(store).await;
    let actor = actor_of(&f.rep);
    let mut first = new_customer(&f.rep, "宁波海天贸易", t0());
    let created = first.event(
        &actor,
        t0(),
        EventPayload::CustomerCreated {
            name: "宁波海天贸易".into(),
        },
    );
    f.store
        .create_customer(&first, &[], &[created])
        .await
        .unwrap();
    assert_eq!(
        count(&f.store, &f.tenant).await,
        1,
        "written with the customer"
    );
    let renamed = |c: &Customer| {
        c.event(
            &actor,
            t0(),
            EventPayload::CustomerUpdated {
                changed: vec!["name".into()],
            },
        )
    };
    let other = new_customer(&f.rep, "温州瓯海电器", t0());
    f.store.create_customer(&other, &[], &[]).await.unwrap();

    let rename = |name: &str| CustomerPatch {
        name: Some(name.into()),
        ..Default::default()
    };
    let mut onto_other = first.clone();
    assert!(
        onto_other
            .apply_patch(&rename("温州瓯海电器有限公司"), None)
            .unwrap()
    );
    let (key, existing) = duplicate_of(
        f.store
            .update_customer(&onto_other, 1, &[renamed(&onto_other)])
            .await,
    );
    assert_eq!(
        count(&f.store, &f.tenant).await,
        1,
        "a refused rename tells nobody"
    );
    assert_eq!(
        (key.as_str(), existing),
        ("customer:name:温州瓯海电器", other.id.to_string())
    );
    assert_eq!(
        f.store.get_customer(&f.tenant, first.id).await.unwrap(),
        Some(first.clone())
    );

    assert!(
        first
            .apply_patch(&rename("宁波海天国际贸易"), None)
            .unwrap()
    );
    f.store
        .update_customer(&first, 1, &[renamed(&first)])
        .await
        .unwrap();
    assert_eq!(count(&f.store, &f.tenant).await, 2);
    assert_eq!(
        f.store.get_customer(&f.tenant, first.id).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        f.store
            .key_holder(&f.tenant, "customer:name:宁波海天国际贸易")
            .await
            .unwrap(),
        Some(first.id.to_string())
    );
    // The old name is free: another customer may take it.
    let newcomer = new_customer(&f.rep, "宁波海天贸易", t0() + Duration::minutes(1));
    f.store.create_customer(&newcomer, &[], &[]).await.unwrap();

    // A stale version changes nothing.
    let mut stale = first.clone();
    stale.version = 2;
    stale.tags = vec!["旧".into()];
    assert!(matches!(
        f.store.update_customer(&stale, 1, &[renamed(&stale)]).await,
        Err(StoreError::VersionConflict {
            expected: 1,
            actual: 2
        })
    ));
    assert_eq!(
        count(&f.store, &f.tenant).await,
        2,
        "a stale write tells nobody"
    );
    assert_eq!(
        f.store.get_customer(&f.tenant, first.id).await.unwrap(),
        Some(first)
    );
}

/// A customer's grading inputs and grades: activities logged once per idempotency key and
/// read back by time window, purchases recorded once per reference, a month's grade replaced
/// in place, history oldest first; each write with its events, nothing on a missing customer.
pub async fn customer_ledger_and_grades_are_kept_once<S: Backend>(store: S) {
    use crate::ports::{Created, IdempotencyKey, IdempotencyRecord};
    let f = fixture(store).await;
    let rep = actor_of(&f.rep);
    let lianhua = new_customer(&f.rep, "联华超市", t0());
    f.store.create_customer(&lianhua, &[], &[]).await.unwrap();
    let wang = contact(&lianhua, "13812345678", None);
    let added = DomainEvent::new(
        f.tenant.clone(),
        Subject::Customer(lianhua.id),
        1,
        Some(f.rep.id),
        None,
        t0(),
        EventPayload::ContactAdded {
            contact: wang.id,
            role: Some("technical".into()),
        },
    );
    f.store.add_contact(&wang, &[added]).await.unwrap();

    let target = LogTarget {
        subject: Subject::Customer(lianhua.id),
        tenant: &f.tenant,
        created_at: lianhua.created_at,
    };
    let visit = |days: i64, at_now: Timestamp| {
        let input = NewActivity {
            kind: ActivityKind::Visit,
            summary: "拜访".into(),
            occurred_at: Some(t0() + Duration::days(days)),
            structured: None,
            contact: Some(wang.id),
        };
        Activity::record(&input, ActivityId::new(), &target, &rep, at_now).unwrap()
    };
    let now = t0() + Duration::days(40);
    let first = visit(1, now);
    let logged = |a: &Activity| {
        DomainEvent::new(
            f.tenant.clone(),
            Subject::Customer(lianhua.id),
            1,
            Some(f.rep.id),
            None,
            now,
            EventPayload::ActivityLogged {
                activity: a.id,
                kind: a.kind,
                occurred_at: a.occurred_at,
                structured: false,
            },
        )
    };
    let key = IdempotencyRecord {
        key: IdempotencyKey::parse("visit-1").unwrap(),
        user: f.rep.id,
        fingerprint: "visit".into(),
    };
    let stored = f
        .store
        .record_customer_activity(&first, &[logged(&first)], Some(&key))
        .await
        .unwrap();
    assert_eq!(stored, Created::New(first.clone()));
    let retry = visit(1, now);
    let replayed = f
        .store
        .record_customer_activity(&retry, &[logged(&retry)], Some(&key))
        .await
        .unwrap();
    assert_eq!(replayed, Created::Replayed(first.clone()));
    let later = visit(30, now);
    f.store
        .record_customer_activity(&later, &[logged(&later)], None)
        .await
        .unwrap();
    let orphan = Activity {
        subject: Subject::Customer(CustomerId::new()),
        ..visit(2, now)
    };
    assert!(matches!(
        f.store.record_customer_activity(&orphan, &[], None).await,
        Err(StoreError::NotFound)
    ));
    let all = f
        .store
        .customer_activities(&f.tenant, lianhua.id, t0(), 100)
        .await
        .unwrap();
    assert_eq!(all, vec![later.clone(), first.clone()], "newest first");
    let recent = f
        .store
        .customer_activities(&f.tenant, lianhua.id, t0() + Duration::days(10), 100)
        .await
        .unwrap();
    assert_eq!(recent, vec![later.clone()]);

    let purchase = |reference: &str, amount: u64, days: i64| Purchase {
        tenant: f.tenant.clone(),
        customer: lianhua.id,
        reference: reference.into(),
        amount,
        currency: "CNY".into(),
        at: t0() + Duration::days(days),
        recorded_by: f.rep.id,
        recorded_at: now,
    };
    let bought = |p: &Purchase| {
        DomainEvent::new(
            f.tenant.clone(),
            Subject::Customer(lianhua.id),
            1,
            Some(f.rep.id),
            None,
            now,
            EventPayload::PurchaseRecorded {
                reference: p.reference.clone(),
                amount: p.amount,
                currency: p.currency.clone(),
                at: p.at,
            },
        )
    };
    let inv1 = purchase("INV-1", 120_000, 3);
    let inv2 = purchase("INV-2", 80_000, 20);
    assert!(f.store.add_purchase(&inv1, &[bought(&inv1)]).await.unwrap());
    assert!(f.store.add_purchase(&inv2, &[bought(&inv2)]).await.unwrap());
    let again = purchase("INV-1", 999, 5);
    assert!(
        !f.store
            .add_purchase(&again, &[bought(&again)])
            .await
            .unwrap(),
        "a reference is recorded once"
    );
    let other = Purchase {
        customer: CustomerId::new(),
        ..purchase("INV-3", 1, 1)
    };
    assert!(matches!(
        f.store.add_purchase(&other, &[]).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        f.store
            .purchases_since(&f.tenant, lianhua.id, t0())
            .await
            .unwrap(),
        vec![inv1.clone(), inv2.clone()]
    );
    assert_eq!(
        f.store
            .purchases_since(&f.tenant, lianhua.id, t0() + Duration::days(3))
            .await
            .unwrap(),
        vec![inv2.clone()],
        "strictly after"
    );

    // Every write above left exactly its events.
    let events = f
        .store
        .tenant_events_since(&f.tenant, chrono::DateTime::UNIX_EPOCH, 1000)
        .await
        .unwrap();
    let mut kinds: Vec<&str> = events
        .iter()
        .filter(|e| e.event.subject == Subject::Customer(lianhua.id))
        .map(|e| e.event.payload.kind().as_str())
        .collect();
    kinds.sort_unstable();
    assert_eq!(
        kinds,
        [
            "activity_logged",
            "activity_logged",
            "contact_added",
            "purchase_recorded",
            "purchase_recorded"
        ]
    );

    let policy = GradePolicy::default();
    let snapshot = |month: &str, amount: u64| {
        let tally = Tally {
            purchases_total: amount,
            ..Tally::default()
        };
        GradeSnapshot {
            tenant: f.tenant.clone(),
            customer: lianhua.id,
            month: month.parse().unwrap(),
            grade: policy.grade(&tally, now),
            closed: false,
            owner: Some(f.rep.id),
            team: Some(f.team),
            quiet_since: None,
        }
    };
    f.store.save_grade(&snapshot("2026-12", 1)).await.unwrap();
    f.store.save_grade(&snapshot("2026-11", 1)).await.unwrap();
    let replaced = GradeSnapshot {
        closed: true,
        ..snapshot("2026-11", 400_000)
    };
    f.store.save_grade(&replaced).await.unwrap();
    // A late open grade does not reopen the closed month.
    f.store.save_grade(&snapshot("2026-11", 7)).await.unwrap();
    let history = f.store.grade_history(&f.tenant, lianhua.id).await.unwrap();
    assert_eq!(history, vec![replaced.clone(), snapshot("2026-12", 1)]);
    let month = |m: &str| m.parse::<Month>().unwrap();
    assert_eq!(
        f.store
            .grades_of_month(&f.tenant, month("2026-11"))
            .await
            .unwrap(),
        vec![replaced]
    );
    assert!(
        f.store
            .grades_of_month(&f.tenant, month("2026-10"))
            .await
            .unwrap()
            .is_empty()
    );
    // Grading's one read gathers the same pieces, windows applied.
    let file = f
        .store
        .customer_file(
            &f.tenant,
            lianhua.id,
            t0() + Duration::days(10),
            t0() + Duration::days(3),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(file.customer, lianhua);
    assert_eq!(file.contacts, vec![wang.clone()]);
    assert_eq!(file.activities, vec![Touch::from(&later)]);
    assert_eq!(file.purchases, vec![inv2.clone()]);
    assert_eq!(
        file.grades,
        f.store.grade_history(&f.tenant, lianhua.id).await.unwrap(),
        "the two latest"
    );
    assert_eq!(
        f.store
            .customer_file(&f.tenant, CustomerId::new(), t0(), t0())
            .await
            .unwrap(),
        None
    );
    let elsewhere = TenantId::parse("other").unwrap();
    assert!(
        f.store
            .grade_history(&elsewhere, lianhua.id)
            .await
            .unwrap()
            .is_empty()
    );
}

/// A merge keeps everything: the duplicate's contacts, activities and purchases end up under
/// the survivor (a reference both hold stays the survivor's), the duplicate is a pointer that
/// listings skip, its keys point at the survivor, its grades go; a stale version refuses it
/// all; finishing again moves nothing.
pub async fn merges_keep_every_record_under_the_survivor<S: Backend>(store: S) {
    let f = fixture(store).await;
    let rep = actor_of(&f.rep);
    let now = t0() + Duration::days(3);
    let mut a = new_customer(&f.rep, "联华超市", t0());
    let b = new_customer(&f.rep, "联华超市浦东店", t0() + Duration::minutes(1));
    let a1 = contact(&a, "13811110001", None);
    let b1 = contact(&b, "13811110002", Some("b1@lianhua.cn"));
    f.store
        .create_customer(&a, std::slice::from_ref(&a1), &[])
        .await
        .unwrap();
    f.store
        .create_customer(&b, std::slice::from_ref(&b1), &[])
        .await
        .unwrap();
    let log = |on: &Customer, who: ContactId, days: i64| {
        let target = LogTarget {
            subject: Subject::Customer(on.id),
            tenant: &f.tenant,
            created_at: on.created_at,
        };
        let input = NewActivity {
            kind: ActivityKind::Visit,
            summary: "拜访".into(),
            occurred_at: Some(t0() + Duration::days(days)),
            structured: None,
            contact: Some(who),
        };
        Activity::record(&input, ActivityId::new(), &target, &rep, now).unwrap()
    };
    let (on_a, on_b1, on_b2) = (log(&a, a1.id, 1), log(&b, b1.id, 1), log(&b, b1.id, 2));
    for act in [&on_a, &on_b1, &on_b2] {
        f.store
            .record_customer_activity(act, &[], None)
            .await
            .unwrap();
    }
    let purchase = |on: &Customer, reference: &str, amount: u64| Purchase {
        tenant: f.tenant.clone(),
        customer: on.id,
        reference: reference.into(),
        amount,
        currency: "CNY".into(),
        at: t0() + Duration::days(1),
        recorded_by: f.rep.id,
        recorded_at: now,
    };
    f.store
        .add_purchase(&purchase(&a, "INV-1", 100), &[])
        .await
        .unwrap();
    f.store
        .add_purchase(&purchase(&b, "INV-1", 999), &[])
        .await
        .unwrap();
    f.store
        .add_purchase(&purchase(&b, "INV-2", 200), &[])
        .await
        .unwrap();
    let policy = GradePolicy::default();
    let grade = GradeSnapshot {
        tenant: f.tenant.clone(),
        customer: b.id,
        month: "2026-11".parse().unwrap(),
        grade: policy.grade(&Tally::default(), now),
        closed: false,
        owner: Some(f.rep.id),
        team: Some(f.team),
        quiet_since: None,
    };
    f.store.save_grade(&grade).await.unwrap();

    // The duplicate changed after the merge was decided: the whole merge is refused.
    let (mut a2, mut b2) = (a.clone(), b.clone());
    a2.absorb(&mut b2).unwrap();
    let mut changed = b.clone();
    changed.tags = vec!["改过".into()];
    changed.version = 2;
    f.store.update_customer(&changed, 1, &[]).await.unwrap();
    assert!(matches!(
        f.store.merge_customers(&a2, 1, &b2, 1, &[]).await,
        Err(StoreError::VersionConflict { .. })
    ));
    assert_eq!(
        f.store.get_customer(&f.tenant, b.id).await.unwrap(),
        Some(changed.clone())
    );
    assert_eq!(
        f.store.get_customer(&f.tenant, a.id).await.unwrap(),
        Some(a.clone())
    );
    assert_eq!(
        f.store.list_contacts(&f.tenant, b.id).await.unwrap().len(),
        1,
        "nothing moved"
    );

    let mut b = changed;
    a.absorb(&mut b).unwrap();
    f.store.merge_customers(&a, 1, &b, 2, &[]).await.unwrap();
    assert_eq!(
        f.store.finish_merge(&f.tenant, b.id).await.unwrap(),
        0,
        "the merge moved everything (again moves nothing)"
    );
    let stored_b = f
        .store
        .get_customer(&f.tenant, b.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored_b.merged_into, Some(a.id));
    let listed = f
        .store
        .list_customers(&f.tenant, &query(LeadScope::Tenant, 50))
        .await
        .unwrap();
    assert_eq!(
        listed.items.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![a.id]
    );
    let contacts = f.store.list_contacts(&f.tenant, a.id).await.unwrap();
    let mut ids: Vec<ContactId> = contacts.iter().map(|c| c.id).collect();
    ids.sort();
    let mut want = vec![a1.id, b1.id];
    want.sort();
    assert_eq!(ids, want);
    assert!(contacts.iter().all(|c| c.customer == a.id));
    assert_eq!(
        f.store
            .get_contact(&f.tenant, b1.id)
            .await
            .unwrap()
            .unwrap()
            .customer,
        a.id
    );
    assert!(
        f.store
            .list_contacts(&f.tenant, b.id)
            .await
            .unwrap()
            .is_empty()
    );
    let acts = f
        .store
        .customer_activities(&f.tenant, a.id, t0(), 100)
        .await
        .unwrap();
    assert_eq!(acts.len(), 3);
    assert!(acts.iter().all(|x| x.subject == Subject::Customer(a.id)));
    let bought = f
        .store
        .purchases_since(&f.tenant, a.id, t0())
        .await
        .unwrap();
    let figures: Vec<(&str, u64)> = bought
        .iter()
        .map(|p| (p.reference.as_str(), p.amount))
        .collect();
    assert_eq!(figures, [("INV-1", 100), ("INV-2", 200)]);
    assert!(
        f.store
            .purchases_since(&f.tenant, b.id, t0())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        f.store
            .grade_history(&f.tenant, b.id)
            .await
            .unwrap()
            .is_empty()
    );
    // The duplicate's name and its contact's keys now name the survivor or the contact.
    let name_key = &b.dedupe_keys()[0];
    assert_eq!(
        f.store.key_holder(&f.tenant, name_key).await.unwrap(),
        Some(a.id.to_string())
    );
    let again = new_customer(&f.rep, "联华超市浦东店", now);
    let (key, existing) = duplicate_of(f.store.create_customer(&again, &[], &[]).await);
    assert_eq!(
        (key.as_str(), existing),
        (name_key.as_str(), a.id.to_string())
    );
}

/// A merge carries the duplicate's deals too: the activities logged on them count toward the
/// survivor's interaction, and merging again moves nothing.
pub async fn merges_carry_the_duplicates_deals<S: Backend>(store: S) {
    let f = fixture(store).await;
    let lead = qualified_lead(&f.store, &f.rep).await;
    let c = conversion(&lead, &f.rep, t0());
    f.store.convert_lead(&c, None).await.unwrap();
    let mut deal = c.deal.clone();
    let input = NewActivity {
        kind: ActivityKind::Visit,
        summary: "上门演示".into(),
        occurred_at: None,
        structured: None,
        contact: None,
    };
    let before = deal.version;
    let (visit, event) = deal
        .log_activity(
            &input,
            ActivityId::new(),
            &actor_of(&f.rep),
            t0() + Duration::hours(2),
        )
        .unwrap();
    f.store
        .record_deal_activity(&deal, before, &visit, std::slice::from_ref(&event), None)
        .await
        .unwrap();

    let mut survivor = new_customer(&f.rep, "苏州精密机械", t0());
    f.store.create_customer(&survivor, &[], &[]).await.unwrap();
    let file_of = |id: CustomerId| {
        let store = f.store.clone();
        let tenant = f.tenant.clone();
        async move {
            store
                .customer_file(&tenant, id, t0(), t0())
                .await
                .unwrap()
                .unwrap()
        }
    };
    assert!(file_of(survivor.id).await.activities.is_empty());
    assert_eq!(
        file_of(c.customer.id).await.activities,
        vec![Touch::from(&visit)]
    );

    let mut duplicate = c.customer.clone();
    survivor.absorb(&mut duplicate).unwrap();
    f.store
        .merge_customers(&survivor, 1, &duplicate, c.customer.version, &[])
        .await
        .unwrap();
    assert_eq!(
        file_of(survivor.id).await.activities,
        vec![Touch::from(&visit)],
        "the deal's visit now counts for the survivor"
    );
    assert!(file_of(duplicate.id).await.activities.is_empty());
    assert_eq!(
        f.store.finish_merge(&f.tenant, duplicate.id).await.unwrap(),
        0
    );
    // The deal itself is untouched: its body names the pointer, which leads to the survivor.
    let stored = f.store.get_deal(&f.tenant, deal.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.customer, stored.version),
        (duplicate.id, deal.version)
    );
}

/// A contact's edit claims the keys it gains and frees the ones it loses, in one write; a key
/// another contact holds refuses all of it, and a contact that is gone is not brought back.
pub async fn contact_edits_move_their_keys<S: Backend>(store: S) {
    let f = fixture(store).await;
    let shop = new_customer(&f.rep, "杭州精密机械", t0());
    let wang = contact(&shop, "13812345678", Some("wang@hzjm.cn"));
    let li = contact(&shop, "13900001111", None);
    f.store
        .create_customer(&shop, &[wang.clone(), li.clone()], &[])
        .await
        .unwrap();
    let mut edited = wang.clone();
    edited.phones = vec![PhoneNumber::parse("13700002222", Region::default()).unwrap()];
    edited
        .emails
        .push(EmailAddress::parse("wjg@qq.com").unwrap());
    f.store.update_contact(&wang, &edited, &[]).await.unwrap();
    assert_eq!(
        f.store.get_contact(&f.tenant, wang.id).await.unwrap(),
        Some(edited.clone())
    );
    let holder = |k: &'static str| {
        let store = f.store.clone();
        let tenant = f.tenant.clone();
        async move { store.key_holder(&tenant, k).await.unwrap() }
    };
    let me = Some(wang.id.to_string());
    assert_eq!(holder("contact:phone:+8613700002222").await, me);
    assert_eq!(holder("contact:email:wjg@qq.com").await, me);
    assert_eq!(holder("contact:email:wang@hzjm.cn").await, me);
    assert_eq!(holder("contact:phone:+8613812345678").await, None, "freed");

    // Li's phone is Li's: the whole edit is refused and nothing of it stays.
    let mut grab = edited.clone();
    grab.phones
        .push(PhoneNumber::parse("13900001111", Region::default()).unwrap());
    grab.emails = vec![EmailAddress::parse("new@hzjm.cn").unwrap()];
    match f.store.update_contact(&edited, &grab, &[]).await {
        Err(StoreError::Duplicate { key, existing }) => {
            assert_eq!(key, "contact:phone:+8613900001111");
            assert_eq!(existing, li.id.to_string());
        }
        other => panic!("expected a duplicate, got {other:?}"),
    }
    assert_eq!(
        f.store.get_contact(&f.tenant, wang.id).await.unwrap(),
        Some(edited.clone())
    );
    assert_eq!(holder("contact:email:new@hzjm.cn").await, None);
    assert_eq!(holder("contact:email:wjg@qq.com").await, me);

    // The freed phone can be someone else's now.
    let zhao = contact(&shop, "13812345678", None);
    f.store.add_contact(&zhao, &[]).await.unwrap();
    // A contact that was never stored is not created by an edit.
    let ghost = contact(&shop, "13600003333", None);
    assert!(matches!(
        f.store.update_contact(&ghost, &ghost, &[]).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(holder("contact:phone:+8613600003333").await, None);
}

/// Visits: stored with their events once (a retried check-in is the same visit), changed
/// under the version check, listed by check-in time for reports, kept per tenant.
pub async fn visits_are_stored_once_versioned_and_listed_by_time<S: Backend>(store: S) {
    use fieldline_domain::visit::{Datum, GeoFix, Visit};
    let f = fixture(store).await;
    let shop = new_customer(&f.rep, "联华超市张江店", t0());
    f.store.create_customer(&shop, &[], &[]).await.unwrap();
    let visit = |at: Timestamp| Visit {
        id: VisitId::new(),
        tenant: f.tenant.clone(),
        customer: shop.id,
        owner: f.rep.id,
        team: f.rep.team,
        purpose: "铺货检查".into(),
        target_skus: vec!["SKU-1".into()],
        checked_in_at: at,
        check_in: GeoFix {
            lat: 31.2,
            lon: 121.6,
            accuracy_m: 8.0,
            datum: Datum::Wgs84,
        },
        distance_m: Some(12.0),
        far: false,
        checked_out_at: None,
        check_out: None,
        actions: vec![],
        photos: vec![],
        valid: None,
        invalid_reasons: vec![],
        version: 1,
    };
    let first = visit(t0() + Duration::hours(2));
    let second = visit(t0() + Duration::hours(1));
    assert_eq!(
        f.store.create_visit(&first, &[]).await.unwrap(),
        Created::New(first.clone())
    );
    let mut retry = first.clone();
    retry.purpose = "重试".into();
    assert_eq!(
        f.store.create_visit(&retry, &[]).await.unwrap(),
        Created::Replayed(first.clone()),
        "the stored visit, nothing written"
    );
    f.store.create_visit(&second, &[]).await.unwrap();
    let nowhere = Visit {
        customer: CustomerId::new(),
        ..visit(t0())
    };
    assert!(matches!(
        f.store.create_visit(&nowhere, &[]).await,
        Err(StoreError::NotFound)
    ));

    let mut out = first.clone();
    out.checked_out_at = Some(t0() + Duration::hours(3));
    out.valid = Some(true);
    out.version = 2;
    f.store.update_visit(&out, 1, &[]).await.unwrap();
    assert!(matches!(
        f.store.update_visit(&out, 1, &[]).await,
        Err(StoreError::VersionConflict {
            expected: 1,
            actual: 2
        })
    ));
    assert_eq!(
        f.store.get_visit(&f.tenant, first.id).await.unwrap(),
        Some(out.clone())
    );
    let listed = f.store.visits_since(&f.tenant, t0()).await.unwrap();
    assert_eq!(listed, vec![second.clone(), out.clone()]);
    let later = f
        .store
        .visits_since(&f.tenant, t0() + Duration::minutes(90))
        .await
        .unwrap();
    assert_eq!(later, vec![out]);
    let elsewhere = TenantId::parse("other").unwrap();
    assert!(
        f.store
            .visits_since(&elsewhere, t0())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(f.store.get_visit(&elsewhere, first.id).await.unwrap(), None);
}
