//! Round-robin assignment: each team member in turn, and open-lead counts per owner.

use crate::DynamoStore;
use crate::directory::tenant_pk;
use crate::table::{Query, key, s, string_attr};
use async_trait::async_trait;
use fieldline_domain::{LeadStatus, TeamId, TenantId, UserId};
use fieldline_store::error::StoreResult;
use fieldline_store::{AssignmentStore, StoreError, next_in_turn};
use std::collections::HashMap;

#[async_trait]
impl AssignmentStore for DynamoStore {
    async fn next_in_rotation(
        &self,
        tenant: &TenantId,
        rotation: &str,
        members: &[UserId],
    ) -> StoreResult<Option<UserId>> {
        let mut members = members.to_vec();
        members.sort();
        if members.is_empty() {
            return Ok(None);
        }
        let rotation_key = || key(tenant_pk(tenant), format!("ROTATION#{rotation}"));
        // Compare-and-set on the last member handed out; a lost race reads again.
        for _ in 0..50 {
            let last = self
                .get(rotation_key())
                .await?
                .and_then(|item| string_attr(&item, "last_user").map(str::to_owned));
            let next = next_in_turn(&members, last.as_deref()).expect("members is not empty");
            let mut item = rotation_key();
            item.insert("last_user".into(), s(next.to_string()));
            let stored = match &last {
                None => {
                    self.put_if(item, Some("attribute_not_exists(pk)"), &[])
                        .await?
                }
                Some(prev) => {
                    self.put_if(
                        item,
                        Some("last_user = :prev"),
                        &[(":prev", s(prev.clone()))],
                    )
                    .await?
                }
            };
            if stored {
                return Ok(Some(next));
            }
        }
        Err(StoreError::Busy(format!(
            "rotation {rotation} kept changing"
        )))
    }

    async fn open_lead_counts(
        &self,
        tenant: &TenantId,
        team: TeamId,
    ) -> StoreResult<Vec<(UserId, u64)>> {
        let values = [
            (":p", s(format!("{}#TEAM#{team}", tenant_pk(tenant)))),
            (":converted", s(LeadStatus::Converted.as_str())),
            (":disqualified", s(LeadStatus::Disqualified.as_str())),
        ];
        let q = Query::index(crate::GSI3, "gsi3pk = :p", &values)
            .filter("attribute_exists(owner_id) AND lead_status <> :converted AND lead_status <> :disqualified");
        let mut counts: HashMap<UserId, u64> = HashMap::new();
        for item in self.query(q, usize::MAX).await? {
            let owner = string_attr(&item, "owner_id")
                .and_then(|o| o.parse().ok())
                .ok_or_else(|| StoreError::corrupt_msg("lead owner id"))?;
            *counts.entry(owner).or_default() += 1;
        }
        let mut counts: Vec<_> = counts.into_iter().collect();
        counts.sort();
        Ok(counts)
    }
}
