//! Tasks the rules create, deduplicated by key, listed by due time.

use crate::directory::tenant_pk;
use crate::table::{Item, ItemBuilder, Query, TxError, ms_key, put_new, s};
use crate::{DynamoStore, ENTITY, GSI1, GSI1_PK, GSI1_SK};
use async_trait::async_trait;
use fieldline_domain::{Task, TaskId, TenantId, UserId};
use fieldline_store::error::StoreResult;
use fieldline_store::{StoreError, TaskStore};

fn task_item(t: &Task) -> StoreResult<Item> {
    let item = ItemBuilder::new(format!("{}#TASK#{}", tenant_pk(&t.tenant), t.id), "TASK")
        .body(t)?
        .s(ENTITY, "task");
    let item = match t.assignee {
        Some(user) => item
            .s(GSI1_PK, format!("{}#ASSIGNEE#{user}", tenant_pk(&t.tenant)))
            .s(
                GSI1_SK,
                format!(
                    "{}#{}#{}",
                    u8::from(t.done_at.is_some()),
                    ms_key(t.due_at.timestamp_millis()),
                    t.id
                ),
            ),
        None => item,
    };
    Ok(item.build())
}

#[async_trait]
impl TaskStore for DynamoStore {
    async fn add_task(&self, task: &Task) -> StoreResult<bool> {
        let guard = ItemBuilder::new(
            format!("{}#TASKKEY#{}", tenant_pk(&task.tenant), task.dedupe_key),
            "KEY",
        )
        .build();
        match self
            .transact(vec![
                put_new(self.table(), guard),
                put_new(self.table(), task_item(task)?),
            ])
            .await
        {
            Ok(()) => Ok(true),
            Err(TxError::Cancelled(_)) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    async fn list_tasks(
        &self,
        tenant: &TenantId,
        assignee: UserId,
        limit: u32,
    ) -> StoreResult<Vec<Task>> {
        let values = [(
            ":p",
            s(format!("{}#ASSIGNEE#{assignee}", tenant_pk(tenant))),
        )];
        let q = Query::index(GSI1, "gsi1pk = :p", &values);
        self.query_bodies(q, limit.max(1) as usize).await
    }

    async fn get_task(&self, tenant: &TenantId, id: TaskId) -> StoreResult<Option<Task>> {
        self.get_body(format!("{}#TASK#{id}", tenant_pk(tenant)), "TASK")
            .await
    }

    async fn update_task(&self, task: &Task) -> StoreResult<()> {
        if self
            .put_if(task_item(task)?, Some("attribute_exists(pk)"), &[])
            .await?
        {
            Ok(())
        } else {
            Err(StoreError::NotFound)
        }
    }
}
