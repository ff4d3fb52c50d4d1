use thiserror::Error;

/// Any underlying error an adapter hands up as the cause of a [`StoreError`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Storage failures the application must tell apart; anything else is `Backend`. Backend and
/// corruption failures keep the adapter's error as their `source`, so a log shows the driver's
/// own message under ours.
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
    /// A de-duplication key (`Customer::dedupe_keys`, `Contact::dedupe_keys`) is held by
    /// another record: `existing` is its id.
    #[error("duplicate: {key} is held by {existing}")]
    Duplicate { key: String, existing: String },
    /// A uniqueness rule (e.g. one e-mail per tenant) would be broken.
    #[error("already exists: {0}")]
    AlreadyExists(String),
    /// Stored data no longer decodes: a bug or manual tampering, never user input.
    #[error("corrupt record: {context}")]
    Corrupt {
        context: String,
        #[source]
        source: Option<BoxError>,
    },
    /// The backend kept refusing under load (throttling, transaction conflicts) after
    /// retries with backoff; the caller may try again later.
    #[error("storage busy: {0}")]
    Busy(String),
    /// The backend does not offer this operation (e.g. polling the outbox where a stream
    /// delivers events instead).
    #[error("not supported by this backend: {0}")]
    Unsupported(&'static str),
    /// A reservation did not fit: fewer units of `sku` are available at `location` than the
    /// write asked for. Nothing was written.
    #[error("not enough {sku} at {location}")]
    OutOfStock { sku: String, location: String },
    #[error("storage backend: {context}")]
    Backend {
        context: String,
        #[source]
        source: Option<BoxError>,
    },
}

impl StoreError {
    /// A backend failure caused by `source`.
    pub fn backend(context: impl Into<String>, source: impl Into<BoxError>) -> StoreError {
        StoreError::Backend {
            context: context.into(),
            source: Some(source.into()),
        }
    }

    /// A versioned write must move the version forward: a caller presenting a record whose
    /// version does not exceed the one it was read at has a bug, not a conflict.
    pub fn check_advances(new_version: u64, expected: u64) -> StoreResult<()> {
        if new_version > expected {
            Ok(())
        } else {
            Err(StoreError::backend_msg(format!(
                "new version {new_version} must exceed expected {expected}"
            )))
        }
    }

    /// A backend failure found by our own checks (no underlying error).
    pub fn backend_msg(context: impl Into<String>) -> StoreError {
        StoreError::Backend {
            context: context.into(),
            source: None,
        }
    }

    /// A stored record that no longer decodes, and why.
    pub fn corrupt(context: impl Into<String>, source: impl Into<BoxError>) -> StoreError {
        StoreError::Corrupt {
            context: context.into(),
            source: Some(source.into()),
        }
    }

    /// A stored record that breaks an invariant our own checks found.
    pub fn corrupt_msg(context: impl Into<String>) -> StoreError {
        StoreError::Corrupt {
            context: context.into(),
            source: None,
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;
