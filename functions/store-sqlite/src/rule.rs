//! Rules: every saved version kept; a change names the version it was based on.

use crate::{SqliteStore, query_bodies, query_body, sql_err, to_json};
use async_trait::async_trait;
use fieldline_domain::{Rule, RuleId, TenantId};
use fieldline_store::error::{StoreError, StoreResult};
use fieldline_store::ports::RuleStore;
use rusqlite::{OptionalExtension, params};

#[async_trait]
impl RuleStore for SqliteStore {
    async fn save_rule(&self, rule: &Rule, expected_version: Option<u32>) -> StoreResult<()> {
        let rule = rule.clone();
        self.write(move |tx| {
            let current: Option<u32> = tx
                .query_row(
                    "SELECT version FROM rules WHERE tenant_id = ?1 AND rule_id = ?2",
                    params![rule.tenant.as_str(), rule.id.as_str()],
                    |r| r.get(0),
                )
                .optional().map_err(sql_err)?;
            match (current, expected_version) {
                (Some(_), None) => {
                    return Err(StoreError::AlreadyExists(format!("rule {}", rule.id)));
                }
                (None, Some(_)) => return Err(StoreError::NotFound),
                (Some(actual), Some(expected)) if actual != expected => {
                    return Err(StoreError::VersionConflict {
                        expected: expected.into(),
                        actual: actual.into(),
                    });
                }
                _ => {}
            }
            tx.execute(
                "INSERT INTO rule_versions (tenant_id, rule_id, version, body) VALUES (?1, ?2, ?3, ?4)",
                params![rule.tenant.as_str(), rule.id.as_str(), rule.version, to_json(&rule)?],
            ).map_err(sql_err)?;
            tx.execute(
                "INSERT INTO rules (tenant_id, rule_id, version) VALUES (?1, ?2, ?3)
                 ON CONFLICT (tenant_id, rule_id) DO UPDATE SET version = excluded.version",
                params![rule.tenant.as_str(), rule.id.as_str(), rule.version],
            ).map_err(sql_err)?;
            Ok(())
        })
        .await
    }

    async fn list_rules(&self, tenant: &TenantId) -> StoreResult<Vec<Rule>> {
        let tenant = tenant.clone();
        self.read(move |conn| {
            query_bodies(
                conn,
                "SELECT v.body FROM rules r JOIN rule_versions v
                   ON v.tenant_id = r.tenant_id AND v.rule_id = r.rule_id AND v.version = r.version
                 WHERE r.tenant_id = ?1 ORDER BY r.rule_id",
                params![tenant.as_str()],
            )
        })
        .await
    }

    async fn get_rule(&self, tenant: &TenantId, id: &RuleId) -> StoreResult<Option<Rule>> {
        let (tenant, id) = (tenant.clone(), id.clone());
        self.read(move |conn| {
            query_body(
                conn,
                "SELECT v.body FROM rules r JOIN rule_versions v
                   ON v.tenant_id = r.tenant_id AND v.rule_id = r.rule_id AND v.version = r.version
                 WHERE r.tenant_id = ?1 AND r.rule_id = ?2",
                params![tenant.as_str(), id.as_str()],
            )
        })
        .await
    }

    async fn rule_versions(&self, tenant: &TenantId, id: &RuleId) -> StoreResult<Vec<Rule>> {
        let (tenant, id) = (tenant.clone(), id.clone());
        self.read(move |conn| {
            query_bodies(
                conn,
                "SELECT body FROM rule_versions WHERE tenant_id = ?1 AND rule_id = ?2 ORDER BY version",
                params![tenant.as_str(), id.as_str()],
            )
        })
        .await
    }
}
