//! The AWS adapters of Fieldline's storage ports. One DynamoDB table holds every entity
//! (single-table design, `docs/dynamodb.md`); the tenant id leads every partition key, so a
//! query for one tenant can never read another's items, and no request path scans.
//!
//! This slice implements the directory (tenants, teams, users). The lead, event, automation
//! and blob ports follow the same patterns (see the plan in `docs/dynamodb.md`).

mod directory;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, ScalarAttributeType,
};
use fieldline_store::StoreError;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;

/// Partition and sort key attribute names, and the one general-purpose index.
pub const PK: &str = "pk";
pub const SK: &str = "sk";
pub const GSI1: &str = "gsi1";
pub const GSI1_PK: &str = "gsi1pk";
pub const GSI1_SK: &str = "gsi1sk";
/// The entity as JSON, so the domain types stay the single source of their shape.
const BODY: &str = "body";

/// The DynamoDB adapter: a client (built once per cold start) and the table name.
#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// A client for `endpoint` (a local test server) or, with `None`, the environment's
    /// AWS configuration.
    pub async fn connect(endpoint: Option<&str>, table: &str) -> Self {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(url) = endpoint {
            loader = loader.endpoint_url(url);
        }
        let config = loader.load().await;
        Self::new(Client::new(&config), table)
    }

    /// A client for a local DynamoDB-protocol server (moto in the tests) with dummy
    /// credentials; never for AWS itself.
    pub async fn connect_local(endpoint: &str, table: &str) -> Self {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "test", "test", None, None, "local",
            ))
            .load()
            .await;
        Self::new(Client::new(&config), table)
    }

    /// Creates the table with its index (on-demand). Production tables come from the SAM
    /// template; this is for tests and local runs.
    pub async fn create_table(&self) -> Result<(), StoreError> {
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .expect("key schema is complete")
        };
        let attribute = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attribute definition is complete")
        };
        let gsi = GlobalSecondaryIndex::builder()
            .index_name(GSI1)
            .key_schema(key(GSI1_PK, KeyType::Hash))
            .key_schema(key(GSI1_SK, KeyType::Range))
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build()
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        self.client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key(PK, KeyType::Hash))
            .key_schema(key(SK, KeyType::Range))
            .attribute_definitions(attribute(PK))
            .attribute_definitions(attribute(SK))
            .attribute_definitions(attribute(GSI1_PK))
            .attribute_definitions(attribute(GSI1_SK))
            .global_secondary_indexes(gsi)
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }
}

/// An item: keys plus the JSON body.
fn item<T: Serialize>(
    pk: String,
    sk: String,
    body: &T,
) -> Result<HashMap<String, AttributeValue>, StoreError> {
    let json =
        serde_json::to_string(body).map_err(|e| StoreError::Backend(format!("encode: {e}")))?;
    Ok(HashMap::from([
        (PK.to_owned(), AttributeValue::S(pk)),
        (SK.to_owned(), AttributeValue::S(sk)),
        (BODY.to_owned(), AttributeValue::S(json)),
    ]))
}

fn body<T: DeserializeOwned>(item: &HashMap<String, AttributeValue>) -> Result<T, StoreError> {
    let raw = item
        .get(BODY)
        .and_then(|v| v.as_s().ok())
        .ok_or_else(|| StoreError::Corrupt("item without a body".into()))?;
    serde_json::from_str(raw).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn backend<E: std::fmt::Debug>(e: SdkError<E>) -> StoreError {
    StoreError::Backend(format!("{e:?}"))
}
