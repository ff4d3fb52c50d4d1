//! The AWS adapters of Fieldline's storage ports. One DynamoDB table holds every entity
//! (single-table design, `docs/dynamodb.md`); the tenant id leads every partition key, so a
//! query for one tenant can never read another's items, and no request path scans.
//!
//! Keys, indexes and access patterns are documented in `docs/dynamodb.md`; blobs live in S3
//! (`blob.rs`) with presigned URLs so large bodies never pass through a Lambda function.

mod assignment;
mod blob;
mod customer;
mod deal;
mod decision;
mod directory;
mod events;
mod inbox;
mod lead;
mod order;
mod queue;
mod retail;
mod rule;
mod subject;
mod table;
mod task;
mod timer;
mod upload;

pub use aws_config::SdkConfig;
pub use blob::{ObjectSummary, S3BlobStore, object_key};
pub use events::{EVENT_ENTITY, event_from_image};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};
use fieldline_store::StoreError;
use table::backend;

/// Partition and sort key attribute names, and the one general-purpose index.
pub const PK: &str = "pk";
pub const SK: &str = "sk";
pub const GSI1: &str = "gsi1";
pub const GSI1_PK: &str = "gsi1pk";
pub const GSI1_SK: &str = "gsi1sk";
/// Leads by owner (or the public pool), newest change first.
pub const GSI2: &str = "gsi2";
pub const GSI2_PK: &str = "gsi2pk";
pub const GSI2_SK: &str = "gsi2sk";
/// Leads by team, newest change first.
pub const GSI3: &str = "gsi3";
pub const GSI3_PK: &str = "gsi3pk";
pub const GSI3_SK: &str = "gsi3sk";
/// Epoch seconds after which DynamoDB's TTL deletes the item (idempotency keys).
pub const EXPIRES_AT: &str = "expires_at";
/// What kind of entity an item is, so stream consumers can filter (`event`, `lead`, ...).
pub const ENTITY: &str = "entity";
/// The entity as JSON, so the domain types stay the single source of their shape.
const BODY: &str = "body";

/// The environment's AWS configuration (role credentials inside Lambda), optionally with
/// another endpoint. Load it once per process and build every client from it.
pub async fn sdk_config(endpoint: Option<&str>) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(url) = endpoint {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

/// A local server's configuration: its endpoint, a fixed region and dummy credentials.
pub async fn local_sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "local",
        ))
        .load()
        .await
}

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

    /// A client from an already loaded configuration (see [`sdk_config`]).
    pub fn from_config(config: &aws_config::SdkConfig, table: &str) -> Self {
        Self::new(Client::new(config), table)
    }

    /// A client for a local DynamoDB-protocol server (moto in the tests) with dummy
    /// credentials; never for AWS itself.
    pub async fn connect_local(endpoint: &str, table: &str) -> Self {
        Self::from_config(&local_sdk_config(endpoint).await, table)
    }

    /// The SDK client, for callers that measure the adapter against raw calls.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Creates the table with its indexes, stream and TTL (on-demand). Production tables come from the SAM
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
        let gsi = |name: &str, pk: &str, sk: &str| {
            GlobalSecondaryIndex::builder()
                .index_name(name)
                .key_schema(key(pk, KeyType::Hash))
                .key_schema(key(sk, KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .map_err(|e| StoreError::backend("table definition", e))
        };
        let mut create = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key(PK, KeyType::Hash))
            .key_schema(key(SK, KeyType::Range))
            .stream_specification(
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::NewImage)
                    .build()
                    .map_err(|e| StoreError::backend("table definition", e))?,
            )
            .global_secondary_indexes(gsi(GSI1, GSI1_PK, GSI1_SK)?)
            .global_secondary_indexes(gsi(GSI2, GSI2_PK, GSI2_SK)?)
            .global_secondary_indexes(gsi(GSI3, GSI3_PK, GSI3_SK)?);
        for name in [PK, SK, GSI1_PK, GSI1_SK, GSI2_PK, GSI2_SK, GSI3_PK, GSI3_SK] {
            create = create.attribute_definitions(attribute(name));
        }
        create.send().await.map_err(backend)?;
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name(EXPIRES_AT)
                    .build()
                    .map_err(|e| StoreError::backend("table definition", e))?,
            )
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }
}
