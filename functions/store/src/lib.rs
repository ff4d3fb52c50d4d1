//! Where Fieldline keeps its data. `ports` defines what the application needs, shaped by its
//! access patterns; each adapter (embedded SQLite + local files today, DynamoDB + S3 next)
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
    AutomationStore, BlobKey, BlobMeta, BlobStore, Created, Cursor, DirectoryStore, EventLog,
    IdempotencyKey, IdempotencyRecord, LeadQuery, LeadStore, Page, PresignedRequest, StoredEvent,
};
pub use sqlite::SqliteStore;
