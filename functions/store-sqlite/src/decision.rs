//! The decision log: what each rule did with each event, newest first.

use crate::{SqliteStore, query_bodies, sql_err, to_json};
use async_trait::async_trait;
use fieldline_domain::{Decision, Subject, TenantId};
use fieldline_store::error::StoreResult;
use fieldline_store::ports::DecisionLog;
use rusqlite::params;

#[async_trait]
impl DecisionLog for SqliteStore {
    async fn record_decision(&self, decision: &Decision) -> StoreResult<bool> {
        let d = decision.clone();
        self.write(move |tx| {
            let n = tx
                .execute(
                    "INSERT INTO decisions
                   (tenant_id, subject_id, subject_type, event_id, rule_id, action_index, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
                    params![
                        d.tenant.as_str(),
                        d.subject.id().to_string(),
                        d.subject.kind().as_str(),
                        d.event.to_string(),
                        d.rule.as_str(),
                        d.action_index,
                        to_json(&d)?
                    ],
                )
                .map_err(sql_err)?;
            Ok(n == 1)
        })
        .await
    }

    async fn list_decisions(
        &self,
        tenant: &TenantId,
        subject: Option<Subject>,
        limit: u32,
    ) -> StoreResult<Vec<Decision>> {
        let tenant = tenant.clone();
        self.read(move |conn| match subject {
            Some(subject) => query_bodies(
                conn,
                "SELECT body FROM decisions WHERE tenant_id = ?1 AND subject_id = ?2 ORDER BY seq LIMIT ?3",
                params![tenant.as_str(), subject.id().to_string(), limit],
            ),
            None => query_bodies(
                conn,
                "SELECT body FROM decisions WHERE tenant_id = ?1 ORDER BY seq DESC LIMIT ?2",
                params![tenant.as_str(), limit],
            ),
        })
        .await
    }
}
