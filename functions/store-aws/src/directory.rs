//! Tenants, teams and users. Items of one tenant share the partition `TENANT#{id}`:
//! the tenant itself (`TENANT`), its teams (`TEAM#{id}`), users (`USER#{id}`) and one
//! `EMAIL#{address}` guard item per user that makes e-mail addresses unique per tenant
//! (written in the same transaction as the user).

use crate::DynamoStore;
use crate::table::{ItemBuilder, Query, TxError, check, key, put_new, s, string_attr};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::TransactWriteItem;
use fieldline_domain::{Team, Tenant, TenantId, User, UserId};
use fieldline_store::error::StoreResult;
use fieldline_store::{DirectoryStore, StoreError};
use serde::de::DeserializeOwned;

pub(crate) fn tenant_pk(tenant: &TenantId) -> String {
    format!("TENANT#{}", tenant.as_str())
}

fn tenant_exists(tenant: &TenantId, table: &str) -> TransactWriteItem {
    check(
        table,
        key(tenant_pk(tenant), "TENANT"),
        "attribute_exists(pk)",
        &[],
    )
}

impl DynamoStore {
    async fn put_tenant_if(&self, tenant: &Tenant, condition: &str) -> StoreResult<bool> {
        let item = ItemBuilder::new(tenant_pk(&tenant.id), "TENANT")
            .body(tenant)?
            .build();
        self.put_if(item, Some(condition), &[]).await
    }

    /// Every item of a partition whose sort key starts with `prefix`, across pages.
    pub(crate) async fn query_prefix<T: DeserializeOwned>(
        &self,
        pk: String,
        prefix: &str,
    ) -> StoreResult<Vec<T>> {
        let values = [(":pk", s(pk)), (":prefix", s(prefix))];
        let q = Query::table("pk = :pk AND begins_with(sk, :prefix)", &values);
        self.query_bodies(q, usize::MAX).await
    }
}

#[async_trait]
impl DirectoryStore for DynamoStore {
    async fn create_tenant(&self, tenant: &Tenant) -> StoreResult<bool> {
        self.put_tenant_if(tenant, "attribute_not_exists(pk)").await
    }

    async fn get_tenant(&self, id: &TenantId) -> StoreResult<Option<Tenant>> {
        self.get_body(tenant_pk(id), "TENANT").await
    }

    async fn update_tenant(&self, tenant: &Tenant) -> StoreResult<()> {
        if self.put_tenant_if(tenant, "attribute_exists(pk)").await? {
            Ok(())
        } else {
            Err(StoreError::NotFound)
        }
    }

    async fn create_team(&self, team: &Team) -> StoreResult<()> {
        let team_item = ItemBuilder::new(tenant_pk(&team.tenant), format!("TEAM#{}", team.id))
            .body(team)?
            .build();
        let result = self
            .transact(vec![
                tenant_exists(&team.tenant, self.table()),
                put_new(self.table(), team_item),
            ])
            .await;
        match result {
            Ok(()) => Ok(()),
            Err(TxError::Cancelled(flags)) => match flags.as_slice() {
                [true, ..] => Err(StoreError::NotFound),
                _ => Err(StoreError::AlreadyExists(format!("team {}", team.id))),
            },
            Err(e) => Err(e.into()),
        }
    }

    async fn list_teams(&self, tenant: &TenantId) -> StoreResult<Vec<Team>> {
        self.query_prefix(tenant_pk(tenant), "TEAM#").await
    }

    async fn create_user(&self, user: &User) -> StoreResult<()> {
        let email_guard = ItemBuilder::new(
            tenant_pk(&user.tenant),
            format!("EMAIL#{}", user.email.as_str().to_lowercase()),
        )
        .s("user", user.id.to_string())
        .build();
        let user_item = ItemBuilder::new(tenant_pk(&user.tenant), format!("USER#{}", user.id))
            .body(user)?
            .build();
        let result = self
            .transact(vec![
                tenant_exists(&user.tenant, self.table()),
                put_new(self.table(), user_item),
                put_new(self.table(), email_guard),
            ])
            .await;
        match result {
            Ok(()) => Ok(()),
            Err(TxError::Cancelled(flags)) => match flags.as_slice() {
                [true, ..] => Err(StoreError::NotFound),
                [_, _, true] => Err(StoreError::AlreadyExists(format!(
                    "user {}",
                    user.email.as_str()
                ))),
                _ => Err(StoreError::AlreadyExists(format!("user {}", user.id))),
            },
            Err(e) => Err(e.into()),
        }
    }

    async fn update_user(&self, user: &User) -> StoreResult<()> {
        let Some(stored) = self.get_user(&user.tenant, user.id).await? else {
            return Err(StoreError::NotFound);
        };
        if !stored
            .email
            .as_str()
            .eq_ignore_ascii_case(user.email.as_str())
        {
            return Err(StoreError::AlreadyExists(format!(
                "user {} has the e-mail {}; it cannot change",
                user.id,
                stored.email.as_str()
            )));
        }
        let item = ItemBuilder::new(tenant_pk(&user.tenant), format!("USER#{}", user.id))
            .body(user)?
            .build();
        if self.put_if(item, Some("attribute_exists(pk)"), &[]).await? {
            Ok(())
        } else {
            Err(StoreError::NotFound)
        }
    }

    async fn get_user(&self, tenant: &TenantId, id: UserId) -> StoreResult<Option<User>> {
        self.get_body(tenant_pk(tenant), format!("USER#{id}")).await
    }

    async fn find_user_by_email(
        &self,
        tenant: &TenantId,
        email: &str,
    ) -> StoreResult<Option<User>> {
        let guard = self
            .get(key(
                tenant_pk(tenant),
                format!("EMAIL#{}", email.trim().to_lowercase()),
            ))
            .await?;
        let Some(id) = guard.as_ref().and_then(|g| string_attr(g, "user")) else {
            return Ok(None);
        };
        let id: UserId = id
            .parse()
            .map_err(|_| StoreError::corrupt_msg(format!("email guard points at {id}")))?;
        self.get_user(tenant, id).await
    }

    async fn list_users(&self, tenant: &TenantId) -> StoreResult<Vec<User>> {
        self.query_prefix(tenant_pk(tenant), "USER#").await
    }
}
