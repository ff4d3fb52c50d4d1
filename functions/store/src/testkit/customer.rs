//! The customer store's contract: a customer and its contacts are stored with their
//! de-duplication keys in one write, a key held by another record refuses the whole write
//! and names the holder (even when two writes race), listings are scoped and paged, and
//! tenants keep their own keys.

use super::Backend;
use super::deal::{conversion, qualified_lead};
use super::fixture::{actor_of, fixture, t0, tenant_row, user};
use crate::StoreError;
use crate::ports::CustomerQuery;
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
        email: email.map(str::to_owned),
        decision_role: None,
    }
    .parse(ContactId::new(), customer, Region::default())
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
        .create_customer(&lianhua, std::slice::from_ref(&wang))
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
    let (key, existing) = duplicate_of(f.store.create_customer(&again, &[]).await);
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
            .create_customer(&vanguard, std::slice::from_ref(&clash))
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
        .create_customer(&vanguard, std::slice::from_ref(&li))
        .await
        .unwrap();

    // Contacts added later claim their keys too.
    let zhao = contact(&lianhua, "13700002222", Some("zhao@lianhua.cn"));
    f.store.add_contact(&zhao).await.unwrap();
    let copy = contact(&vanguard, "13600003333", Some("ZHAO@lianhua.cn"));
    let (key, existing) = duplicate_of(f.store.add_contact(&copy).await);
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
        f.store.add_contact(&orphan).await,
        Err(StoreError::NotFound)
    ));

    // Two requests racing for one name: exactly one wins.
    let (a, b) = (
        new_customer(&f.rep, "Acme Co., Ltd.", t0() + Duration::minutes(3)),
        new_customer(&f.rep, "ACME Limited", t0() + Duration::minutes(3)),
    );
    let (ra, rb) = tokio::join!(
        f.store.create_customer(&a, &[]),
        f.store.create_customer(&b, &[])
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
    f.store.create_customer(&theirs, &[]).await.unwrap();
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
    f.store.create_customer(&same_name, &[]).await.unwrap();
}

/// A conversion onto a customer the tenant has writes no second customer (nor contact when
/// the person is known), and refuses as a whole when that customer is gone.
pub async fn conversions_join_known_customers<S: Backend>(store: S) {
    let f = fixture(store).await;
    let known = new_customer(&f.rep, "苏州精密机械", t0());
    let person = contact(&known, "13812345678", None);
    f.store
        .create_customer(&known, std::slice::from_ref(&person))
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
/// customer's name, or from a stale version, changes nothing.
pub async fn renames_move_the_name_key<S: Backend>(store: S) {
    let f = fixture(store).await;
    let mut first = new_customer(&f.rep, "宁波海天贸易", t0());
    f.store.create_customer(&first, &[]).await.unwrap();
    let other = new_customer(&f.rep, "温州瓯海电器", t0());
    f.store.create_customer(&other, &[]).await.unwrap();

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
    let (key, existing) = duplicate_of(f.store.update_customer(&onto_other, 1).await);
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
    f.store.update_customer(&first, 1).await.unwrap();
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
    f.store.create_customer(&newcomer, &[]).await.unwrap();

    // A stale version changes nothing.
    let mut stale = first.clone();
    stale.version = 2;
    stale.tags = vec!["旧".into()];
    assert!(matches!(
        f.store.update_customer(&stale, 1).await,
        Err(StoreError::VersionConflict {
            expected: 1,
            actual: 2
        })
    ));
    assert_eq!(
        f.store.get_customer(&f.tenant, first.id).await.unwrap(),
        Some(first)
    );
}
