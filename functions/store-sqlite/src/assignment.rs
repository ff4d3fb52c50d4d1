//! Round-robin assignment: each team member in turn, and open-lead counts per owner.

use crate::{SqliteStore, sql_err};
use async_trait::async_trait;
use fieldline_domain::{TeamId, TenantId, UserId};
use fieldline_store::error::{StoreError, StoreResult};
use fieldline_store::ports::{AssignmentStore, next_in_turn};
use rusqlite::{OptionalExtension, params};

#[async_trait]
impl AssignmentStore for SqliteStore {
    async fn next_in_rotation(
        &self,
        tenant: &TenantId,
        rotation: &str,
        members: &[UserId],
    ) -> StoreResult<Option<UserId>> {
        let (tenant, rotation) = (tenant.clone(), rotation.to_owned());
        let mut members = members.to_vec();
        members.sort();
        self.write(move |tx| {
            let last: Option<String> = tx
                .query_row(
                    "SELECT last_user FROM rotations WHERE tenant_id = ?1 AND rotation = ?2",
                    params![tenant.as_str(), rotation],
                    |r| r.get(0),
                )
                .optional()
                .map_err(sql_err)?;
            let Some(next) = next_in_turn(&members, last.as_deref()) else {
                return Ok(None);
            };
            tx.execute(
                "INSERT INTO rotations (tenant_id, rotation, last_user) VALUES (?1, ?2, ?3)
                 ON CONFLICT (tenant_id, rotation) DO UPDATE SET last_user = excluded.last_user",
                params![tenant.as_str(), rotation, next.to_string()],
            )
            .map_err(sql_err)?;
            Ok(Some(next))
        })
        .await
    }

    async fn open_lead_counts(
        &self,
        tenant: &TenantId,
        team: TeamId,
    ) -> StoreResult<Vec<(UserId, u64)>> {
        let tenant = tenant.clone();
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT owner_id, count(*) FROM leads
                 WHERE tenant_id = ?1 AND team_id = ?2 AND owner_id IS NOT NULL
                   AND status NOT IN ('converted', 'disqualified')
                 GROUP BY owner_id",
                )
                .map_err(sql_err)?;
            let rows = stmt
                .query_map(params![tenant.as_str(), team.to_string()], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
                })
                .map_err(sql_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(sql_err)?;
            rows.into_iter()
                .map(|(id, n)| {
                    Ok((
                        id.parse()
                            .map_err(|_| StoreError::corrupt_msg(format!("owner id {id}")))?,
                        n as u64,
                    ))
                })
                .collect()
        })
        .await
    }
}
