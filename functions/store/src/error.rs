use thiserror::Error;

/// Storage failures the application must tell apart; anything else is `Backend`.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// Optimistic concurrency: someone else changed the record since it was read.
    #[error("version conflict: expected {expected}, found {actual}")]
    VersionConflict { expected: u64, actual: u64 },
    /// The idempotency key was already used for a different request.
    #[error("idempotency key reused with a different request")]
    IdempotencyMismatch,
    /// A uniqueness rule (e.g. one e-mail per tenant) would be broken.
    #[error("already exists: {0}")]
    AlreadyExists(String),
    /// Stored data no longer decodes: a bug or manual tampering, never user input.
    #[error("corrupt record: {0}")]
    Corrupt(String),
    /// The backend kept refusing under load (throttling, transaction conflicts) after
    /// retries with backoff; the caller may try again later.
    #[error("storage busy: {0}")]
    Busy(String),
    /// The backend does not offer this operation (e.g. polling the outbox where a stream
    /// delivers events instead).
    #[error("not supported by this backend: {0}")]
    Unsupported(&'static str),
    #[error("storage backend: {0}")]
    Backend(String),
}

pub type StoreResult<T> = Result<T, StoreError>;
