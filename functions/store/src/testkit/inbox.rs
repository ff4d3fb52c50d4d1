//! The inbox and delivery contracts: notifications, leases, retries, dead letters.

use super::Backend;
use super::fixture::*;
use chrono::Duration;
use fieldline_domain::*;

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
