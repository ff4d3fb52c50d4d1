//! The round-robin contract: each member in turn under concurrency.

use super::Backend;
use super::fixture::*;
use fieldline_domain::*;
use std::sync::Arc;

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
