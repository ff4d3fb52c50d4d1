//! Rules: every saved version kept; a change names the version it was based on.

use crate::directory::tenant_pk;
use crate::table::{ItemBuilder, TxError, key, n, number_attr, put, put_new};
use crate::{DynamoStore, ENTITY};
use async_trait::async_trait;
use fieldline_domain::{Rule, RuleId, TenantId};
use fieldline_store::error::StoreResult;
use fieldline_store::{RuleStore, StoreError};

fn rule_pk(tenant: &TenantId, id: &RuleId) -> String {
    format!("{}#RULE#{}", tenant_pk(tenant), id.as_str())
}

#[async_trait]
impl RuleStore for DynamoStore {
    async fn save_rule(&self, rule: &Rule, expected_version: Option<u32>) -> StoreResult<()> {
        let version_item = ItemBuilder::new(
            rule_pk(&rule.tenant, &rule.id),
            format!("V#{:08}", rule.version),
        )
        .body(rule)?
        .s(ENTITY, "rule_version")
        .build();
        // The current version sits beside the tenant so one query lists every rule.
        let current = ItemBuilder::new(tenant_pk(&rule.tenant), format!("RULE#{}", rule.id))
            .body(rule)?
            .s(ENTITY, "rule")
            .n("version", rule.version.into())
            .build();
        let current = match expected_version {
            None => put_new(self.table(), current),
            Some(v) => put(
                self.table(),
                current,
                Some("version = :v"),
                &[(":v", n(v.into()))],
            ),
        };
        match self
            .transact(vec![current, put_new(self.table(), version_item)])
            .await
        {
            Ok(()) => Ok(()),
            Err(TxError::Cancelled(_)) => {
                let stored = self
                    .get(key(tenant_pk(&rule.tenant), format!("RULE#{}", rule.id)))
                    .await?;
                match (stored, expected_version) {
                    (Some(_), None) => Err(StoreError::AlreadyExists(format!("rule {}", rule.id))),
                    (None, _) => Err(StoreError::NotFound),
                    (Some(item), Some(expected)) => Err(StoreError::VersionConflict {
                        expected: expected.into(),
                        actual: number_attr(&item, "version").unwrap_or_default() as u64,
                    }),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn list_rules(&self, tenant: &TenantId) -> StoreResult<Vec<Rule>> {
        self.query_prefix(tenant_pk(tenant), "RULE#").await
    }

    async fn get_rule(&self, tenant: &TenantId, id: &RuleId) -> StoreResult<Option<Rule>> {
        self.get_body(tenant_pk(tenant), format!("RULE#{id}")).await
    }

    async fn rule_versions(&self, tenant: &TenantId, id: &RuleId) -> StoreResult<Vec<Rule>> {
        self.query_prefix(rule_pk(tenant, id), "V#").await
    }
}
