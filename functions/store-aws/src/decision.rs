//! The decision log: what each rule did with each event, newest first.

use crate::directory::tenant_pk;
use crate::subject::subject_pk;
use crate::table::{ItemBuilder, Query, ms_key, s};
use crate::{DynamoStore, ENTITY, GSI1, GSI1_PK, GSI1_SK};
use async_trait::async_trait;
use fieldline_domain::{Decision, Subject, TenantId};
use fieldline_store::DecisionLog;
use fieldline_store::error::StoreResult;

#[async_trait]
impl DecisionLog for DynamoStore {
    async fn record_decision(&self, d: &Decision) -> StoreResult<bool> {
        let unique = format!("{}#{}#{:04}", d.event, d.rule, d.action_index);
        let item = ItemBuilder::new(subject_pk(&d.tenant, d.subject), format!("DEC#{unique}"))
            .body(d)?
            .s(ENTITY, "decision")
            .s(GSI1_PK, format!("{}#DECISIONS", tenant_pk(&d.tenant)))
            .s(
                GSI1_SK,
                format!("{}#{unique}", ms_key(d.at.timestamp_millis())),
            )
            .build();
        self.put_if(item, Some("attribute_not_exists(pk)"), &[])
            .await
    }

    async fn list_decisions(
        &self,
        tenant: &TenantId,
        subject: Option<Subject>,
        limit: u32,
    ) -> StoreResult<Vec<Decision>> {
        match subject {
            Some(subject) => {
                let mut all: Vec<Decision> = self
                    .query_prefix(subject_pk(tenant, subject), "DEC#")
                    .await?;
                all.sort_by_key(|d| d.at);
                all.truncate(limit as usize);
                Ok(all)
            }
            None => {
                let values = [(":p", s(format!("{}#DECISIONS", tenant_pk(tenant))))];
                let q = Query::index(GSI1, "gsi1pk = :p", &values).newest_first();
                self.query_bodies(q, limit.max(1) as usize).await
            }
        }
    }
}
