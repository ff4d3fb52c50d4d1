//! Tenants, teams and users. Items of one tenant share the partition `TENANT#{id}`:
//! the tenant itself (`TENANT`), its teams (`TEAM#{id}`), users (`USER#{id}`) and one
//! `EMAIL#{address}` guard item per user that makes e-mail addresses unique per tenant
//! (written in the same transaction as the user).

use crate::{DynamoStore, PK, SK, backend, body, item};
use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Put, TransactWriteItem};
use fieldline_domain::{Team, Tenant, TenantId, User, UserId};
use fieldline_store::error::StoreResult;
use fieldline_store::{DirectoryStore, StoreError};
use serde::de::DeserializeOwned;
use std::collections::HashMap;

fn tenant_pk(tenant: &TenantId) -> String {
    format!("TENANT#{}", tenant.as_str())
}

fn key(pk: String, sk: String) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (PK.to_owned(), AttributeValue::S(pk)),
        (SK.to_owned(), AttributeValue::S(sk)),
    ])
}

fn tenant_exists(tenant: &TenantId, table: &str) -> TransactWriteItem {
    TransactWriteItem::builder()
        .condition_check(
            ConditionCheck::builder()
                .table_name(table)
                .set_key(Some(key(tenant_pk(tenant), "TENANT".into())))
                .condition_expression("attribute_exists(pk)")
                .build()
                .expect("condition check is complete"),
        )
        .build()
}

fn put_new(table: &str, item: HashMap<String, AttributeValue>) -> TransactWriteItem {
    TransactWriteItem::builder()
        .put(
            Put::builder()
                .table_name(table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .expect("put is complete"),
        )
        .build()
}

/// Which transaction items failed their condition (DynamoDB reports one reason per item).
fn failed_conditions(e: &SdkError<TransactWriteItemsError>) -> Option<Vec<bool>> {
    match e.as_service_error()? {
        TransactWriteItemsError::TransactionCanceledException(c) => Some(
            c.cancellation_reasons()
                .iter()
                .map(|r| r.code() == Some("ConditionalCheckFailed"))
                .collect(),
        ),
        _ => None,
    }
}

impl DynamoStore {
    async fn get_body<T: DeserializeOwned>(
        &self,
        pk: String,
        sk: String,
    ) -> StoreResult<Option<T>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        out.item().map(body).transpose()
    }

    /// Writes the tenant item if `condition` holds; `false` when it does not.
    async fn put_if(&self, tenant: &Tenant, condition: &str) -> StoreResult<bool> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item(tenant_pk(&tenant.id), "TENANT".into(), tenant)?))
            .condition_expression(condition)
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(backend(e)),
        }
    }

    /// Every item of a partition whose sort key starts with `prefix`, across pages.
    async fn query_prefix<T: DeserializeOwned>(
        &self,
        pk: String,
        prefix: &str,
    ) -> StoreResult<Vec<T>> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":pk", AttributeValue::S(pk.clone()))
                .expression_attribute_values(":prefix", AttributeValue::S(prefix.to_owned()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(backend)?;
            for item in page.items() {
                out.push(body(item)?);
            }
            match page.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => return Ok(out),
            }
        }
    }
}

#[async_trait]
impl DirectoryStore for DynamoStore {
    async fn create_tenant(&self, tenant: &Tenant) -> StoreResult<bool> {
        self.put_if(tenant, "attribute_not_exists(pk)").await
    }

    async fn get_tenant(&self, id: &TenantId) -> StoreResult<Option<Tenant>> {
        self.get_body(tenant_pk(id), "TENANT".into()).await
    }

    async fn update_tenant(&self, tenant: &Tenant) -> StoreResult<()> {
        if self.put_if(tenant, "attribute_exists(pk)").await? {
            Ok(())
        } else {
            Err(StoreError::NotFound)
        }
    }

    async fn create_team(&self, team: &Team) -> StoreResult<()> {
        let result = self
            .client
            .transact_write_items()
            .transact_items(tenant_exists(&team.tenant, &self.table))
            .transact_items(put_new(
                &self.table,
                item(tenant_pk(&team.tenant), format!("TEAM#{}", team.id), team)?,
            ))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => match failed_conditions(&e).as_deref() {
                Some([true, ..]) => Err(StoreError::NotFound),
                Some([_, true]) => Err(StoreError::AlreadyExists(format!("team {}", team.id))),
                _ => Err(backend(e)),
            },
        }
    }

    async fn list_teams(&self, tenant: &TenantId) -> StoreResult<Vec<Team>> {
        self.query_prefix(tenant_pk(tenant), "TEAM#").await
    }

    async fn create_user(&self, user: &User) -> StoreResult<()> {
        let email_guard = HashMap::from([
            (PK.to_owned(), AttributeValue::S(tenant_pk(&user.tenant))),
            (
                SK.to_owned(),
                AttributeValue::S(format!("EMAIL#{}", user.email.as_str())),
            ),
            ("user".to_owned(), AttributeValue::S(user.id.to_string())),
        ]);
        let result = self
            .client
            .transact_write_items()
            .transact_items(tenant_exists(&user.tenant, &self.table))
            .transact_items(put_new(
                &self.table,
                item(tenant_pk(&user.tenant), format!("USER#{}", user.id), user)?,
            ))
            .transact_items(put_new(&self.table, email_guard))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => match failed_conditions(&e).as_deref() {
                Some([true, ..]) => Err(StoreError::NotFound),
                Some([_, _, true]) => Err(StoreError::AlreadyExists(format!(
                    "user {}",
                    user.email.as_str()
                ))),
                Some([_, true, _]) => Err(StoreError::AlreadyExists(format!("user {}", user.id))),
                _ => Err(backend(e)),
            },
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
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(tenant_pk(tenant), format!("EMAIL#{email}"))))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        let Some(id) = out
            .item()
            .and_then(|i| i.get("user"))
            .and_then(|v| v.as_s().ok())
        else {
            return Ok(None);
        };
        let id: UserId = id
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("email guard points at {id}")))?;
        self.get_user(tenant, id).await
    }

    async fn list_users(&self, tenant: &TenantId) -> StoreResult<Vec<User>> {
        self.query_prefix(tenant_pk(tenant), "USER#").await
    }
}
