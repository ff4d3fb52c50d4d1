//! Where Fieldline keeps its data. `ports` defines what the application needs, shaped by its
//! access patterns; each adapter (embedded SQLite + local files here, DynamoDB + S3 in fieldline-store-aws)
//! implements those ports and is tested against the real engine.

pub mod blob;
pub mod error;
pub mod ports;
pub mod sqlite;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use blob::LocalBlobStore;
pub use error::StoreError;
pub use ports::{
    AssignmentStore, BlobKey, BlobMeta, BlobStore, Created, Cursor, DecisionLog, DirectoryStore,
    EventLog, IdempotencyKey, IdempotencyRecord, InboxStore, LeadQuery, LeadStore, MAX_PAGE, Page,
    Paged, PresignedRequest, RecordStores, RuleStore, StoredEvent, TaskStore, TimerStore,
    UploadStore, next_in_turn, page_limit,
};
pub use sqlite::SqliteStore;
