//! The port-level contract, written once and run against every backend (SQLite in this crate's
//! tests, DynamoDB in fieldline-store-aws's), so the adapters cannot drift apart.

mod contract;
mod upload;

pub use contract::*;
pub use upload::*;

use crate::{BlobKey, BlobStore, DirectoryStore, RecordStores, StoreError};
use fieldline_domain::*;

/// One test per contract scenario for a backend. `$open` is an async fn returning
/// `(guard, store)`: the guard (e.g. a temporary directory) lives as long as the test.
#[macro_export]
macro_rules! backend_contract_tests {
    ($open:path) => {
        $crate::backend_contract_tests!(@each $open;
            idempotent_create_replays_and_refuses_a_different_request,
            concurrent_retries_with_one_key_create_one_lead,
            stale_writes_are_refused_and_leave_nothing_behind,
            listing_is_scoped_filtered_and_paginated,
            tenants_are_isolated,
            retried_activity_is_recorded_once,
            timers_fire_once_even_when_sweepers_overlap,
            rotation_hands_out_each_member_in_turn_under_concurrency,
            rule_versions_are_kept_and_stale_changes_refused,
            listing_follows_pages_past_one_megabyte,
            decisions_and_open_lead_counts,
            inbox_and_deliveries,
            tasks_are_deduplicated_and_ordered,
            uploads_are_idempotent_versioned_and_fire_their_timers,
        );
    };
    (@each $open:path; $($name:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let (_guard, store) = $open().await;
            $crate::testkit::$name(store).await;
        }
    )*};
}

/// Everything a full backend offers; the contracts take one and exercise every port.
pub trait Backend: RecordStores + Clone + Send + Sync {}

impl<T> Backend for T where T: RecordStores + Clone + Send + Sync {}

fn tenant(id: &str) -> Tenant {
    Tenant {
        id: TenantId::parse(id).unwrap(),
        name: PersonName::parse("Acme 机电").unwrap(),
        time_zone: "Asia/Shanghai".into(),
        phone_region: "CN".into(),
        calendar: None,
    }
}

fn directory_user(tenant: &TenantId, team: TeamId, email: &str) -> User {
    User {
        id: UserId::new(),
        tenant: tenant.clone(),
        name: PersonName::parse("李娜").unwrap(),
        email: EmailAddress::parse(email).unwrap(),
        role: Role::Rep,
        team: Some(team),
        active: true,
    }
}

/// Tenants, teams and users: creation is idempotent for tenants, unique e-mails per tenant,
/// teams and users need their tenant, and nothing crosses tenants.
pub async fn directory_contract(store: &dyn DirectoryStore) {
    let acme = tenant("acme");
    assert!(store.create_tenant(&acme).await.unwrap());
    assert!(
        !store.create_tenant(&acme).await.unwrap(),
        "second create is a no-op"
    );
    assert_eq!(
        store.get_tenant(&acme.id).await.unwrap(),
        Some(acme.clone())
    );
    let mut renamed = acme.clone();
    renamed.time_zone = "Asia/Hong_Kong".into();
    store.update_tenant(&renamed).await.unwrap();
    assert_eq!(
        store.get_tenant(&acme.id).await.unwrap().unwrap().time_zone,
        "Asia/Hong_Kong"
    );
    assert!(matches!(
        store.update_tenant(&tenant("nobody")).await,
        Err(StoreError::NotFound)
    ));
    let globex = tenant("globex");
    store.create_tenant(&globex).await.unwrap();

    let team = Team {
        id: TeamId::new(),
        tenant: acme.id.clone(),
        name: PersonName::parse("华东").unwrap(),
        manager: None,
    };
    store.create_team(&team).await.unwrap();
    assert_eq!(
        store.list_teams(&acme.id).await.unwrap(),
        vec![team.clone()]
    );
    assert!(store.list_teams(&globex.id).await.unwrap().is_empty());
    let orphan = Team {
        tenant: TenantId::parse("missing").unwrap(),
        ..team.clone()
    };
    assert!(
        store.create_team(&orphan).await.is_err(),
        "a team needs its tenant"
    );

    let li = directory_user(&acme.id, team.id, "li@acme.cn");
    store.create_user(&li).await.unwrap();
    let twin = directory_user(&acme.id, team.id, "li@acme.cn");
    assert!(matches!(
        store.create_user(&twin).await,
        Err(StoreError::AlreadyExists(_))
    ));
    // The same address in another tenant is another person.
    store
        .create_user(&directory_user(&globex.id, TeamId::new(), "li@acme.cn"))
        .await
        .unwrap();
    assert_eq!(
        store.get_user(&acme.id, li.id).await.unwrap(),
        Some(li.clone())
    );
    assert_eq!(store.get_user(&globex.id, li.id).await.unwrap(), None);
    assert_eq!(
        store
            .find_user_by_email(&acme.id, "li@acme.cn")
            .await
            .unwrap(),
        Some(li.clone())
    );
    assert_eq!(
        store
            .find_user_by_email(&acme.id, "nobody@acme.cn")
            .await
            .unwrap(),
        None
    );
    for n in 0..30 {
        store
            .create_user(&directory_user(
                &acme.id,
                team.id,
                &format!("rep{n}@acme.cn"),
            ))
            .await
            .unwrap();
    }
    assert_eq!(store.list_users(&acme.id).await.unwrap().len(), 31);
    assert_eq!(store.list_users(&globex.id).await.unwrap().len(), 1);
}

/// Blobs: written whole, read back with their metadata, replaced, deleted, and kept apart
/// per tenant even under the same path.
pub async fn blob_contract(store: &dyn BlobStore) {
    let acme = TenantId::parse("acme").unwrap();
    let globex = TenantId::parse("globex").unwrap();
    let key = BlobKey::parse(acme.clone(), "leads/1/quote.pdf").unwrap();
    let meta = store
        .put(&key, b"%PDF-1.7 quote".to_vec(), "application/pdf")
        .await
        .unwrap();
    assert_eq!(meta.size, 14);
    let (bytes, read_meta) = store.get(&key).await.unwrap().unwrap();
    assert_eq!(bytes, b"%PDF-1.7 quote");
    assert_eq!(read_meta, meta);
    let theirs = BlobKey::parse(globex, "leads/1/quote.pdf").unwrap();
    assert!(
        store.get(&theirs).await.unwrap().is_none(),
        "same path, other tenant"
    );
    store
        .put(&key, b"v2".to_vec(), "application/pdf")
        .await
        .unwrap();
    assert_eq!(store.get(&key).await.unwrap().unwrap().0, b"v2");
    assert!(store.delete(&key).await.unwrap());
    assert!(store.get(&key).await.unwrap().is_none());
    assert!(!store.delete(&key).await.unwrap());
}
