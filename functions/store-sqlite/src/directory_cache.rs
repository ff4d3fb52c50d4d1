//! Users and tenants in memory, because every request re-reads its caller (role, team, active)
//! and most re-read the tenant (phone region, time zone): those reads were a third of a
//! request's cost. The cache stays exact, across connections and processes (an admin command
//! in another process included): entries are valid exactly while `directory_version`, which
//! triggers bump on every change to `users` or `tenants`, is unchanged. A
//! dedicated connection's `PRAGMA data_version` tells cheaply whether anything at all was
//! committed since the last look; only then is the version row read.

use crate::sql_err;
use fieldline_domain::{Tenant, TenantId, User, UserId};
use fieldline_store::error::{StoreError, StoreResult};
use rusqlite::{Connection, OpenFlags};
use std::collections::HashMap;
use std::hash::Hash;
use std::path::Path;
use std::sync::{Mutex, RwLock};
use std::time::Duration;

/// Beyond this many entries a map starts over rather than grow without bound.
const MAX_ENTRIES: usize = 50_000;

pub(crate) struct DirectoryCache {
    watch: Mutex<Watch>,
    users: RwLock<HashMap<(TenantId, UserId), User>>,
    tenants: RwLock<HashMap<TenantId, Tenant>>,
}

struct Watch {
    conn: Connection,
    data_version: i64,
    directory_version: i64,
}

fn poisoned<T>(_: T) -> StoreError {
    StoreError::backend_msg("directory cache lock poisoned")
}

impl DirectoryCache {
    pub(crate) fn open(path: &Path) -> StoreResult<DirectoryCache> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sql_err)?;
        // As the pool's connections: wait out a checkpoint instead of failing a request.
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(sql_err)?;
        let data_version = data_version(&conn)?;
        let directory_version = directory_version(&conn)?;
        Ok(DirectoryCache {
            watch: Mutex::new(Watch {
                conn,
                data_version,
                directory_version,
            }),
            users: RwLock::new(HashMap::new()),
            tenants: RwLock::new(HashMap::new()),
        })
    }

    /// The directory version as of now, forgetting every cached entry if it moved.
    pub(crate) fn current(&self) -> StoreResult<i64> {
        let mut watch = self.watch.lock().map_err(poisoned)?;
        let now = data_version(&watch.conn)?;
        if now != watch.data_version {
            watch.data_version = now;
            let version = directory_version(&watch.conn)?;
            if version != watch.directory_version {
                watch.directory_version = version;
                self.users.write().map_err(poisoned)?.clear();
                self.tenants.write().map_err(poisoned)?.clear();
            }
        }
        Ok(watch.directory_version)
    }

    pub(crate) fn user(&self, tenant: &TenantId, id: UserId) -> StoreResult<Option<User>> {
        lookup(&self.users, &(tenant.clone(), id))
    }

    pub(crate) fn tenant(&self, id: &TenantId) -> StoreResult<Option<Tenant>> {
        lookup(&self.tenants, id)
    }

    /// Keeps `user`, read while the directory was at `version`, unless it has moved since
    /// (then the read may be stale and the next lookup reads again).
    pub(crate) fn keep_user(&self, version: i64, user: &User) -> StoreResult<()> {
        self.keep(version, &self.users, (user.tenant.clone(), user.id), user)
    }

    /// As [`Self::keep_user`], for a tenant.
    pub(crate) fn keep_tenant(&self, version: i64, tenant: &Tenant) -> StoreResult<()> {
        self.keep(version, &self.tenants, tenant.id.clone(), tenant)
    }

    fn keep<K: Eq + Hash, V: Clone>(
        &self,
        version: i64,
        map: &RwLock<HashMap<K, V>>,
        key: K,
        value: &V,
    ) -> StoreResult<()> {
        // Held while inserting, so no invalidation can slip between the check and the insert.
        let watch = self.watch.lock().map_err(poisoned)?;
        if watch.directory_version == version {
            let mut entries = map.write().map_err(poisoned)?;
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(key, value.clone());
        }
        Ok(())
    }
}

fn lookup<K: Eq + Hash, V: Clone>(map: &RwLock<HashMap<K, V>>, key: &K) -> StoreResult<Option<V>> {
    Ok(map.read().map_err(poisoned)?.get(key).cloned())
}

/// Both statements are cached: parsing them cost more than the rest of an authenticated
/// request.
fn data_version(conn: &Connection) -> StoreResult<i64> {
    conn.prepare_cached("PRAGMA data_version")
        .and_then(|mut s| s.query_row([], |r| r.get(0)))
        .map_err(sql_err)
}

fn directory_version(conn: &Connection) -> StoreResult<i64> {
    conn.prepare_cached("SELECT version FROM directory_version WHERE id = 1")
        .and_then(|mut s| s.query_row([], |r| r.get(0)))
        .map_err(sql_err)
}
