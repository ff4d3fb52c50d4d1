//! The embedded adapter: one SQLite file in WAL mode, attachments as local files
//! ([`LocalBlobStore`]). Only the embedded server links this crate; the Lambda functions never
//! compile SQLite.
//!
//! One SQLite file in WAL mode. Readers never block the writer; writes
//! take the write lock up front (`BEGIN IMMEDIATE`) so concurrent writers queue instead of
//! failing half-way.

mod assignment;
mod blob;
mod customer;
mod deal;
mod deal_facts;
mod decision;
mod directory;
mod directory_cache;
mod events;
mod inbox;
mod lead;
pub(crate) mod order;
mod retail;
mod rule;
mod schema;
mod task;
mod timer;
mod upload;

use fieldline_domain::{Subject, SubjectKind, TenantId};
use r2d2::Pool;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::params;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub use blob::LocalBlobStore;

/// The store's own row writers, for bulk loads inside one caller-held transaction (the
/// `deal_reports` and `customer_grading` benchmarks): a load writes exactly the rows and
/// columns the store does.
pub mod bulk {
    pub use crate::customer::{insert_contact, insert_customer, insert_purchase};
    pub use crate::deal::{append_stage, insert_deal};
    /// Call after a deal's row and its log lines are written.
    pub use crate::deal_facts::write as write_deal_facts;
    pub use crate::lead::insert_activity;
    /// Call with an order's `demand::order_demand` once it is submitted.
    pub use crate::order::{add_demand, insert_order, set_count, upsert_sku};
}
use fieldline_store::error::{BoxError, StoreError, StoreResult};

/// The embedded store: implements every port on one SQLite database.
#[derive(Clone)]
pub struct SqliteStore {
    pool: Pool<SqliteConnectionManager>,
    /// Users and tenants, exact across processes (see `directory_cache`).
    directory: Arc<directory_cache::DirectoryCache>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> StoreResult<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| StoreError::backend(format!("create {}", parent.display()), e))?;
        }
        let manager = SqliteConnectionManager::file(path).with_init(|conn| {
            conn.busy_timeout(Duration::from_secs(10))?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            conn.pragma_update(None, "foreign_keys", "ON")?;
            Ok(())
        });
        let pool = Pool::builder()
            .max_size(8)
            .build(manager)
            .map_err(|e| StoreError::backend(format!("open {}", path.display()), e))?;
        let mut conn = pool.get().map_err(backend)?;
        // WAL is a property of the database file, so setting it once persists it.
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(backend)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::backend_msg(format!(
                "journal_mode is {mode}, expected wal"
            )));
        }
        schema::migrations()
            .to_latest(&mut conn)
            .map_err(|e| StoreError::backend("migrate", e))?;
        let directory = Arc::new(directory_cache::DirectoryCache::open(path)?);
        Ok(SqliteStore { pool, directory })
    }

    /// The schema version the database is at (the number of applied migrations).
    pub async fn schema_version(&self) -> StoreResult<i64> {
        self.read(|conn| {
            conn.pragma_query_value(None, "user_version", |r| r.get(0))
                .map_err(sql_err)
        })
        .await
    }

    /// The journal mode, for health checks and tests.
    pub async fn journal_mode(&self) -> StoreResult<String> {
        self.read(|conn| {
            conn.pragma_query_value(None, "journal_mode", |r| r.get(0))
                .map_err(sql_err)
        })
        .await
    }

    async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let conn = pool.get().map_err(backend)?;
            f(&conn)
        })
        .await
        .map_err(|e| StoreError::backend("blocking task", e))?
    }

    /// Runs `f` in one write transaction; it commits only if `f` returns `Ok`.
    async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> StoreResult<T> + Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().map_err(backend)?;
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(backend)?;
            let value = f(&tx)?;
            tx.commit().map_err(backend)?;
            Ok(value)
        })
        .await
        .map_err(|e| StoreError::backend("blocking task", e))?
    }
}

/// A pool or connection failure.
fn backend(e: impl Into<BoxError>) -> StoreError {
    StoreError::backend("SQLite connection", e)
}

/// A statement failure; a broken uniqueness rule is the caller's `AlreadyExists`.
fn sql_err(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::AlreadyExists(e.to_string())
        }
        _ => StoreError::backend("SQLite", e),
    }
}

fn to_json<T: Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::backend("encode", e))
}

fn from_json<T: DeserializeOwned>(body: &str) -> StoreResult<T> {
    serde_json::from_str(body).map_err(|e| StoreError::corrupt("undecodable record", e))
}

/// Runs a query expected to return at most one JSON body and decodes it. Statements are
/// cached per connection: parsing the SQL cost as much as running it.
fn query_body<T: DeserializeOwned>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> StoreResult<Option<T>> {
    let body: Option<String> = conn
        .prepare_cached(sql)
        .and_then(|mut stmt| stmt.query_row(params, |r| r.get(0)))
        .optional()
        .map_err(sql_err)?;
    body.map(|b| from_json(&b)).transpose()
}

fn query_bodies<T: DeserializeOwned>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> StoreResult<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql).map_err(sql_err)?;
    let bodies = stmt
        .query_map(params, |r| r.get::<_, String>(0))
        .map_err(sql_err)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(sql_err)?;
    bodies.iter().map(|b| from_json(b)).collect()
}

/// Ends a listing ordered newest change first: rows after `after` (keyset on
/// `updated_at, id`), then the order and a limit one above the page size, since the extra row
/// says whether a next page exists without a COUNT. Returns the page size.
pub(crate) fn newest_first_page(
    sql: &mut String,
    args: &mut Vec<rusqlite::types::Value>,
    after: Option<&fieldline_store::Cursor>,
    requested: u32,
) -> u32 {
    use rusqlite::types::Value;
    if let Some(after) = after {
        sql.push_str(" AND (updated_at < ? OR (updated_at = ? AND id < ?))");
        args.push(Value::Integer(after.sort_ms));
        args.push(Value::Integer(after.sort_ms));
        args.push(Value::Text(after.id.to_string()));
    }
    let limit = fieldline_store::page_limit(requested);
    sql.push_str(" ORDER BY updated_at DESC, id DESC LIMIT ?");
    args.push(Value::Integer(i64::from(limit) + 1));
    limit
}

/// The current version of `subject`, `None` when it does not exist (or its kind has no
/// records yet). Each record type names its table here.
pub(crate) fn subject_version(
    conn: &Connection,
    tenant: &TenantId,
    subject: Subject,
) -> StoreResult<Option<u64>> {
    let table = match subject.kind() {
        SubjectKind::Lead => "leads",
        SubjectKind::Upload => "uploads",
        SubjectKind::Deal => "deals",
        SubjectKind::Customer => "customers",
        SubjectKind::Order => "orders",
        SubjectKind::Visit => {
            return Ok(None);
        }
    };
    let version: Option<i64> = conn
        .query_row(
            &format!("SELECT version FROM {table} WHERE tenant_id = ?1 AND id = ?2"),
            params![tenant.as_str(), subject.id().to_string()],
            |r| r.get(0),
        )
        .optional()
        .map_err(sql_err)?;
    Ok(version.map(|v| v as u64))
}

/// Why a versioned write to `subject` changed no row: it is gone, or someone moved it on.
fn stale_write(
    conn: &Connection,
    tenant: &TenantId,
    subject: Subject,
    expected: u64,
) -> StoreError {
    match subject_version(conn, tenant, subject) {
        Ok(None) => StoreError::NotFound,
        Ok(Some(actual)) => StoreError::VersionConflict { expected, actual },
        Err(e) => e,
    }
}
