//! The few DynamoDB moves every adapter makes: building items, conditional writes,
//! transactions that report which condition failed, queries that follow `LastEvaluatedKey`,
//! and retries with backoff when DynamoDB throttles or transactions collide.

use crate::{BODY, DynamoStore, PK, SK};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem, Update,
};
use fieldline_store::StoreError;
use fieldline_store::error::StoreResult;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

pub(crate) type Item = HashMap<String, AttributeValue>;

/// Attempts before a throttled or conflicting request surfaces as `StoreError::Busy`.
const MAX_ATTEMPTS: u32 = 6;

/// A DynamoDB item under construction: keys first, then attributes.
pub(crate) struct ItemBuilder(Item);

impl ItemBuilder {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Self(key(pk, sk))
    }
    /// The entity as JSON in `body`, so the domain types stay the only definition of shape.
    pub fn body<T: Serialize>(mut self, value: &T) -> StoreResult<Self> {
        let json = serde_json::to_string(value).map_err(|e| StoreError::backend("encode", e))?;
        self.0.insert(BODY.into(), AttributeValue::S(json));
        Ok(self)
    }
    pub fn s(mut self, name: &str, value: impl Into<String>) -> Self {
        self.0.insert(name.into(), AttributeValue::S(value.into()));
        self
    }
    pub fn n(mut self, name: &str, value: i64) -> Self {
        self.0
            .insert(name.into(), AttributeValue::N(value.to_string()));
        self
    }
    pub fn b(mut self, name: &str, value: Vec<u8>) -> Self {
        self.0.insert(
            name.into(),
            AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(value)),
        );
        self
    }
    pub fn s_opt(self, name: &str, value: Option<impl Into<String>>) -> Self {
        match value {
            Some(v) => self.s(name, v),
            None => self,
        }
    }
    pub fn build(self) -> Item {
        self.0
    }
}

pub(crate) fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    HashMap::from([
        (PK.to_owned(), AttributeValue::S(pk.into())),
        (SK.to_owned(), AttributeValue::S(sk.into())),
    ])
}

pub(crate) fn body<T: DeserializeOwned>(item: &Item) -> StoreResult<T> {
    let raw = item
        .get(BODY)
        .and_then(|v| v.as_s().ok())
        .ok_or_else(|| StoreError::corrupt_msg("item without a body"))?;
    serde_json::from_str(raw).map_err(|e| StoreError::corrupt("undecodable record", e))
}

pub(crate) fn string_attr<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

pub(crate) fn number_attr(item: &Item, name: &str) -> Option<i64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
}

/// Milliseconds zero-padded to 13 digits, so string order is time order (until year 2286).
pub(crate) fn ms_key(ms: i64) -> String {
    format!("{:013}", ms.max(0))
}

/// Values for a condition: `[(":v", value)]`.
pub(crate) type Values<'a> = &'a [(&'a str, AttributeValue)];

fn values(values: Values<'_>) -> Option<HashMap<String, AttributeValue>> {
    (!values.is_empty()).then(|| {
        values
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    })
}

/// A transaction entry: put the item if `condition` (if any) holds.
pub(crate) fn put(
    table: &str,
    item: Item,
    condition: Option<&str>,
    vals: Values<'_>,
) -> TransactWriteItem {
    TransactWriteItem::builder()
        .put(
            Put::builder()
                .table_name(table)
                .set_item(Some(item))
                .set_condition_expression(condition.map(str::to_owned))
                .set_expression_attribute_values(values(vals))
                .build()
                .expect("put has table and item"),
        )
        .build()
}

/// A transaction entry that only writes when no item has this key yet.
pub(crate) fn put_new(table: &str, item: Item) -> TransactWriteItem {
    put(table, item, Some("attribute_not_exists(pk)"), &[])
}

pub(crate) fn delete(
    table: &str,
    key: Item,
    condition: Option<&str>,
    vals: Values<'_>,
) -> TransactWriteItem {
    TransactWriteItem::builder()
        .delete(
            Delete::builder()
                .table_name(table)
                .set_key(Some(key))
                .set_condition_expression(condition.map(str::to_owned))
                .set_expression_attribute_values(values(vals))
                .build()
                .expect("delete has table and key"),
        )
        .build()
}

/// A transaction entry that runs `update` (an `ADD`/`SET` expression) on the item at `key`,
/// creating it if it does not exist.
pub(crate) fn update(table: &str, key: Item, update: &str, vals: Values<'_>) -> TransactWriteItem {
    TransactWriteItem::builder()
        .update(
            Update::builder()
                .table_name(table)
                .set_key(Some(key))
                .update_expression(update)
                .set_expression_attribute_values(values(vals))
                .build()
                .expect("update has table, key and expression"),
        )
        .build()
}

/// A transaction entry that runs `update` on the item at `key` only if `condition` holds.
pub(crate) fn update_if(
    table: &str,
    key: Item,
    update: &str,
    condition: &str,
    vals: Values<'_>,
) -> TransactWriteItem {
    TransactWriteItem::builder()
        .update(
            Update::builder()
                .table_name(table)
                .set_key(Some(key))
                .update_expression(update)
                .condition_expression(condition)
                .set_expression_attribute_values(values(vals))
                .build()
                .expect("update has table, key and expression"),
        )
        .build()
}

pub(crate) fn check(
    table: &str,
    key: Item,
    condition: &str,
    vals: Values<'_>,
) -> TransactWriteItem {
    TransactWriteItem::builder()
        .condition_check(
            ConditionCheck::builder()
                .table_name(table)
                .set_key(Some(key))
                .condition_expression(condition)
                .set_expression_attribute_values(values(vals))
                .build()
                .expect("condition check is complete"),
        )
        .build()
}

/// How a transaction ended when it did not commit.
#[derive(Debug)]
pub(crate) enum TxError {
    /// One flag per entry, in order: did its condition fail?
    Cancelled(Vec<bool>),
    Store(StoreError),
}

impl From<TxError> for StoreError {
    fn from(e: TxError) -> Self {
        match e {
            TxError::Cancelled(flags) => {
                StoreError::backend_msg(format!("transaction cancelled: {flags:?}"))
            }
            TxError::Store(e) => e,
        }
    }
}

/// Throttling, transaction conflicts and transient server errors: worth another try.
fn is_transient<E: ProvideErrorMetadata>(e: &SdkError<E>) -> bool {
    match e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => true,
        SdkError::ServiceError(s) => matches!(
            s.err().code(),
            Some(
                "ThrottlingException"
                    | "ProvisionedThroughputExceededException"
                    | "RequestLimitExceeded"
                    | "TransactionConflictException"
                    | "TransactionInProgressException"
                    | "InternalServerError"
                    | "ServiceUnavailable"
                    | "SlowDown"
            )
        ),
        _ => false,
    }
}

/// Backoff with full jitter: 25 ms, 50 ms, ... capped at 800 ms.
async fn pause(attempt: u32) {
    let cap = 25u64 << attempt.min(5);
    let wait = rand::random_range(cap / 2..=cap);
    tokio::time::sleep(Duration::from_millis(wait)).await;
}

pub(crate) fn backend<E>(e: SdkError<E>) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
{
    StoreError::backend("DynamoDB call", e)
}

/// Runs `call` until it succeeds, fails for good, or stays throttled past the attempt budget
/// (then `StoreError::Busy`, which the API reports as 503 `storage_busy`).
pub(crate) async fn with_retries<T, E, F, Fut>(what: &str, mut call: F) -> Result<T, SdkError<E>>
where
    E: ProvideErrorMetadata + std::fmt::Debug,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SdkError<E>>>,
{
    let mut attempt = 0;
    loop {
        match call().await {
            Err(e) if is_transient(&e) && attempt + 1 < MAX_ATTEMPTS => {
                tracing::debug!(operation = what, attempt, error = ?e, "dynamodb retry");
                attempt += 1;
                pause(attempt).await;
            }
            other => return other,
        }
    }
}

/// Maps a failed call to a store error, telling "still throttled" apart from real failures.
pub(crate) fn store_error<E>(e: SdkError<E>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    if is_transient(&e) {
        StoreError::Busy(format!("{:?}", e.code()))
    } else {
        backend(e)
    }
}

impl DynamoStore {
    pub(crate) fn table(&self) -> &str {
        &self.table
    }

    /// Commits `items` atomically. Conditions that fail come back as `Cancelled`; conflicts
    /// with concurrent transactions on the same items are retried with backoff first.
    pub(crate) async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), TxError> {
        let mut attempt = 0;
        loop {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let e = match result {
                Ok(_) => return Ok(()),
                Err(e) => e,
            };
            let reasons: Option<Vec<Option<String>>> = match e.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(c)) => Some(
                    c.cancellation_reasons()
                        .iter()
                        .map(|r| r.code().map(str::to_owned))
                        .collect(),
                ),
                _ => None,
            };
            let conflict = match &reasons {
                Some(codes) => codes.iter().flatten().any(|c| {
                    matches!(
                        c.as_str(),
                        "TransactionConflict" | "ThrottlingError" | "ProvisionedThroughputExceeded"
                    )
                }),
                None => is_transient(&e),
            };
            let failed_conditions = reasons.as_ref().map(|codes| {
                codes
                    .iter()
                    .map(|c| c.as_deref() == Some("ConditionalCheckFailed"))
                    .collect::<Vec<_>>()
            });
            match failed_conditions {
                Some(flags) if flags.iter().any(|f| *f) => return Err(TxError::Cancelled(flags)),
                _ if conflict && attempt + 1 < MAX_ATTEMPTS => {
                    attempt += 1;
                    pause(attempt).await;
                }
                _ if conflict => {
                    return Err(TxError::Store(StoreError::Busy(
                        "transaction kept conflicting".into(),
                    )));
                }
                _ => return Err(TxError::Store(backend(e))),
            }
        }
    }

    /// A strongly consistent read of one item.
    pub(crate) async fn get(&self, key: Item) -> StoreResult<Option<Item>> {
        let out = with_retries("get_item", || {
            self.client
                .get_item()
                .table_name(&self.table)
                .set_key(Some(key.clone()))
                .consistent_read(true)
                .send()
        })
        .await
        .map_err(store_error)?;
        Ok(out.item)
    }

    pub(crate) async fn get_body<T: DeserializeOwned>(
        &self,
        pk: impl Into<String>,
        sk: impl Into<String>,
    ) -> StoreResult<Option<T>> {
        self.get(key(pk, sk)).await?.as_ref().map(body).transpose()
    }

    /// Writes one item if `condition` holds; `false` when it does not.
    pub(crate) async fn put_if(
        &self,
        item: Item,
        condition: Option<&str>,
        vals: Values<'_>,
    ) -> StoreResult<bool> {
        let result = with_retries("put_item", || {
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item.clone()))
                .set_condition_expression(condition.map(str::to_owned))
                .set_expression_attribute_values(values(vals))
                .send()
        })
        .await;
        match result {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(store_error(e)),
        }
    }

    /// Deletes one item; `true` when there was one.
    pub(crate) async fn delete_existing(&self, key: Item) -> StoreResult<bool> {
        let out = with_retries("delete_item", || {
            self.client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(key.clone()))
                .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
                .send()
        })
        .await
        .map_err(store_error)?;
        Ok(out.attributes.is_some_and(|a| !a.is_empty()))
    }

    /// `query`, each item's body decoded.
    pub(crate) async fn query_bodies<T: DeserializeOwned>(
        &self,
        q: Query<'_>,
        want: usize,
    ) -> StoreResult<Vec<T>> {
        self.query(q, want).await?.iter().map(body).collect()
    }

    /// Runs a query across pages until `want` items passed its filter or the key range
    /// ends: a filtered page may come back short or empty, and a page stops at 1 MB.
    pub(crate) async fn query(&self, q: Query<'_>, want: usize) -> StoreResult<Vec<Item>> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = with_retries("query", || {
                let mut req = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .key_condition_expression(q.key_condition)
                    .set_expression_attribute_values(values(q.values))
                    .scan_index_forward(q.forward)
                    .set_exclusive_start_key(start.clone())
                    .limit(q.page_size.unwrap_or(want.clamp(1, 1000) as i32));
                if let Some(index) = q.index {
                    req = req.index_name(index);
                } else {
                    req = req.consistent_read(true);
                }
                if let Some(filter) = q.filter {
                    req = req.filter_expression(filter);
                }
                req.send()
            })
            .await
            .map_err(store_error)?;
            out.extend(page.items.unwrap_or_default());
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() && out.len() < want => start = Some(k),
                _ => {
                    out.truncate(want);
                    return Ok(out);
                }
            }
        }
    }
}

/// One query: a key condition on the table (strongly consistent) or an index.
pub(crate) struct Query<'a> {
    pub index: Option<&'a str>,
    pub key_condition: &'a str,
    pub filter: Option<&'a str>,
    pub values: Values<'a>,
    pub forward: bool,
    /// Items DynamoDB reads per page; defaults to what is wanted.
    pub page_size: Option<i32>,
}

impl<'a> Query<'a> {
    pub fn table(key_condition: &'a str, values: Values<'a>) -> Self {
        Self {
            index: None,
            key_condition,
            filter: None,
            values,
            forward: true,
            page_size: None,
        }
    }
    pub fn index(index: &'a str, key_condition: &'a str, values: Values<'a>) -> Self {
        Self {
            index: Some(index),
            ..Self::table(key_condition, values)
        }
    }
    /// A filter applies after DynamoDB read the page, so filtered queries read big pages
    /// (up to DynamoDB's 1 MB) rather than as many items as are wanted.
    pub fn filter(mut self, filter: &'a str) -> Self {
        self.filter = Some(filter);
        self.page_size.get_or_insert(1000);
        self
    }
    pub fn newest_first(mut self) -> Self {
        self.forward = false;
        self
    }
}

pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(crate) fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::operation::get_item::GetItemError;

    #[tokio::test(start_paused = true)]
    async fn persistent_timeouts_are_retried_then_reported_busy() {
        let mut attempts = 0;
        let result: Result<(), SdkError<GetItemError>> = with_retries("get_item", || {
            attempts += 1;
            async { Err(SdkError::timeout_error("no answer")) }
        })
        .await;
        assert_eq!(attempts, MAX_ATTEMPTS);
        let error = store_error(result.unwrap_err());
        assert!(matches!(error, StoreError::Busy(_)), "{error:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_transient_failure_then_success_is_a_success() {
        let mut attempts = 0;
        let result: Result<u32, SdkError<GetItemError>> = with_retries("get_item", || {
            attempts += 1;
            let outcome = if attempts < 3 {
                Err(SdkError::timeout_error("slow"))
            } else {
                Ok(7)
            };
            async move { outcome }
        })
        .await;
        assert_eq!(result.unwrap(), 7);
        assert_eq!(attempts, 3);
    }

    #[test]
    fn milliseconds_sort_as_strings() {
        assert!(ms_key(999) < ms_key(1_000));
        assert!(ms_key(1_795_428_000_000) < ms_key(1_795_428_000_001));
        assert_eq!(ms_key(-5), "0000000000000");
    }
}
