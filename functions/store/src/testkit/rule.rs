//! The rule contract: versions kept, stale changes refused.

use super::Backend;
use super::fixture::*;
use crate::*;
use fieldline_domain::*;

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
