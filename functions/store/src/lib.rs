//! Where Fieldline keeps its data: `ports` defines what the application needs, shaped by its
//! access patterns. Each adapter lives in its own crate so a binary links only the backend it
//! runs on (`fieldline-store-sqlite`: embedded SQLite + local files; `fieldline-store-aws`:
//! DynamoDB + S3); `testkit` is the contract suite both are tested against.

pub mod error;
pub mod facts_codec;
pub mod ports;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use error::StoreError;
pub use ports::{
    AssignmentStore, BlobKey, BlobMeta, BlobStore, Conversion, Created, Cursor, CustomerFile,
    CustomerQuery, CustomerStore, DealQuery, DealStore, DecisionLog, DirectoryStore, EventLog,
    IdempotencyKey, IdempotencyRecord, InboxStore, LeadQuery, LeadStore, MATCHING_LEADS, MAX_PAGE,
    OrderQuery, OrderStore, Page, Paged, PresignedRequest, RecordStores, RetailStore, RuleStore,
    StageTotal, StoredEvent, TaskStore, TimerStore, UploadStore, all_pages, next_in_turn,
    page_limit,
};
