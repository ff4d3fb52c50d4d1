//! The attachment contract: put, get, integrity, delete.

use crate::*;
use fieldline_domain::*;

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
