//! The embedded adapter against a real SQLite database file: the shared port contracts
//! (`fieldline_store::testkit`, also run against DynamoDB) plus what only SQLite has.

use fieldline_domain::*;
use fieldline_store::testkit::{self, fixture, new_lead, t0};
use fieldline_store::*;
use fieldline_store_sqlite::{LocalBlobStore, SqliteStore};

fn temp_db() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fieldline.db");
    (dir, path)
}

/// A fresh database file per contract.
async fn store() -> (tempfile::TempDir, SqliteStore) {
    let (dir, path) = temp_db();
    (dir, SqliteStore::open(&path).unwrap())
}

fieldline_store::backend_contract_tests!(store);

#[tokio::test]
async fn database_is_wal_and_migrated_and_survives_reopen() {
    let (_dir, path) = temp_db();
    let f = fixture(SqliteStore::open(&path).unwrap()).await;
    assert_eq!(f.store.journal_mode().await.unwrap(), "wal");
    assert_eq!(f.store.schema_version().await.unwrap(), 20);
    let (lead, events) = new_lead(&f.rep, t0());
    f.store.create_lead(&lead, &events, None).await.unwrap();
    drop(f.store);
    let reopened = SqliteStore::open(&path).unwrap();
    assert_eq!(
        reopened.get_lead(&f.tenant, lead.id).await.unwrap(),
        Some(lead)
    );
    assert_eq!(
        reopened.schema_version().await.unwrap(),
        20,
        "re-opening does not re-run migrations"
    );
}

#[tokio::test]
async fn outbox_consumers_keep_independent_positions() {
    let (_dir, path) = temp_db();
    let f = fixture(SqliteStore::open(&path).unwrap()).await;
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
async fn local_blobs_meet_the_port_contract() {
    let dir = tempfile::tempdir().unwrap();
    testkit::blob_contract(&LocalBlobStore::new(dir.path())).await;
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
async fn directory_meets_the_port_contract() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("contract.db")).unwrap();
    fieldline_store::testkit::directory_contract(&store).await;
}

/// Users and tenants are cached in memory; a change committed by any other connection (another
/// process, a manual fix) must show on the very next read.
#[tokio::test]
async fn directory_reads_see_changes_from_other_connections_at_once() {
    let (_dir, path) = temp_db();
    let f = fixture(SqliteStore::open(&path).unwrap()).await;
    for _ in 0..2 {
        assert!(
            f.store
                .get_user(&f.tenant, f.rep.id)
                .await
                .unwrap()
                .unwrap()
                .active
        );
        assert!(f.store.get_tenant(&f.tenant).await.unwrap().is_some());
    }
    let other = rusqlite::Connection::open(&path).unwrap();
    other
        .execute(
            "UPDATE users SET body = json_set(body, '$.active', json('false')) WHERE id = ?1",
            [f.rep.id.to_string()],
        )
        .unwrap();
    assert!(
        !f.store
            .get_user(&f.tenant, f.rep.id)
            .await
            .unwrap()
            .unwrap()
            .active
    );
    other
        .execute(
            "UPDATE tenants SET body = json_set(body, '$.name', 'Renamed') WHERE id = ?1",
            [f.tenant.as_str()],
        )
        .unwrap();
    let tenant = f.store.get_tenant(&f.tenant).await.unwrap().unwrap();
    assert_eq!(tenant.name.as_str(), "Renamed");
    other
        .execute("DELETE FROM users WHERE id = ?1", [f.rep.id.to_string()])
        .unwrap();
    assert_eq!(f.store.get_user(&f.tenant, f.rep.id).await.unwrap(), None);
}
