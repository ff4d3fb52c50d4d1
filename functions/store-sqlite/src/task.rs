//! Tasks the rules create, deduplicated by key, listed by due time.

use crate::{SqliteStore, query_bodies, query_body, sql_err, to_json};
use async_trait::async_trait;
use fieldline_domain::{Task, TaskId, TenantId, UserId};
use fieldline_store::error::{StoreError, StoreResult};
use fieldline_store::ports::TaskStore;
use rusqlite::params;

#[async_trait]
impl TaskStore for SqliteStore {
    async fn add_task(&self, task: &Task) -> StoreResult<bool> {
        let t = task.clone();
        self.write(move |tx| {
            let n = tx
                .execute(
                    "INSERT INTO tasks (id, tenant_id, assignee, done, due_at, dedupe_key, body)
                 VALUES (?1, ?2, ?3, 0, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
                    params![
                        t.id.to_string(),
                        t.tenant.as_str(),
                        t.assignee.map(|u| u.to_string()),
                        t.due_at.timestamp_millis(),
                        t.dedupe_key,
                        to_json(&t)?
                    ],
                )
                .map_err(sql_err)?;
            Ok(n == 1)
        })
        .await
    }

    async fn list_tasks(
        &self,
        tenant: &TenantId,
        assignee: UserId,
        limit: u32,
    ) -> StoreResult<Vec<Task>> {
        let tenant = tenant.clone();
        self.read(move |conn| {
            query_bodies(
                conn,
                "SELECT body FROM tasks WHERE tenant_id = ?1 AND assignee = ?2
                 ORDER BY done, due_at LIMIT ?3",
                params![tenant.as_str(), assignee.to_string(), limit],
            )
        })
        .await
    }

    async fn get_task(&self, tenant: &TenantId, id: TaskId) -> StoreResult<Option<Task>> {
        let tenant = tenant.clone();
        self.read(move |conn| {
            query_body(
                conn,
                "SELECT body FROM tasks WHERE tenant_id = ?1 AND id = ?2",
                params![tenant.as_str(), id.to_string()],
            )
        })
        .await
    }

    async fn update_task(&self, task: &Task) -> StoreResult<()> {
        let t = task.clone();
        self.write(move |tx| {
            let n = tx
                .execute(
                    "UPDATE tasks SET done = ?3, body = ?4 WHERE tenant_id = ?1 AND id = ?2",
                    params![
                        t.tenant.as_str(),
                        t.id.to_string(),
                        t.done_at.is_some(),
                        to_json(&t)?
                    ],
                )
                .map_err(sql_err)?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
        })
        .await
    }
}
