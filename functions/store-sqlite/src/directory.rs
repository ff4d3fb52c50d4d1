use crate::{SqliteStore, query_bodies, query_body, sql_err, to_json};
use async_trait::async_trait;
use fieldline_domain::{Team, Tenant, TenantId, User, UserId};
use fieldline_store::error::{StoreError, StoreResult};
use fieldline_store::ports::DirectoryStore;
use rusqlite::{OptionalExtension, params};

#[async_trait]
impl DirectoryStore for SqliteStore {
    async fn create_tenant(&self, tenant: &Tenant) -> StoreResult<bool> {
        let tenant = tenant.clone();
        self.write(move |tx| {
            let inserted = tx
                .execute(
                    "INSERT INTO tenants (id, body) VALUES (?1, ?2) ON CONFLICT (id) DO NOTHING",
                    params![tenant.id.as_str(), to_json(&tenant)?],
                )
                .map_err(sql_err)?;
            Ok(inserted == 1)
        })
        .await
    }

    async fn update_tenant(&self, tenant: &Tenant) -> StoreResult<()> {
        let tenant = tenant.clone();
        self.write(move |tx| {
            let n = tx
                .execute(
                    "UPDATE tenants SET body = ?2 WHERE id = ?1",
                    params![tenant.id.as_str(), to_json(&tenant)?],
                )
                .map_err(sql_err)?;
            if n == 0 {
                return Err(fieldline_store::error::StoreError::NotFound);
            }
            Ok(())
        })
        .await
    }

    /// Served from the directory cache when nothing changed since (see `directory_cache`).
    async fn get_tenant(&self, id: &TenantId) -> StoreResult<Option<Tenant>> {
        let version = self.directory.current()?;
        if let Some(tenant) = self.directory.tenant(id)? {
            return Ok(Some(tenant));
        }
        let key = id.clone();
        let tenant: Option<Tenant> = self
            .read(move |conn| {
                query_body(
                    conn,
                    "SELECT body FROM tenants WHERE id = ?1",
                    params![key.as_str()],
                )
            })
            .await?;
        if let Some(tenant) = &tenant {
            self.directory.keep_tenant(version, tenant)?;
        }
        Ok(tenant)
    }

    async fn create_team(&self, team: &Team) -> StoreResult<()> {
        let team = team.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO teams (tenant_id, id, body) VALUES (?1, ?2, ?3)",
                params![team.tenant.as_str(), team.id.to_string(), to_json(&team)?],
            )
            .map_err(sql_err)?;
            Ok(())
        })
        .await
    }

    async fn list_teams(&self, tenant: &TenantId) -> StoreResult<Vec<Team>> {
        let tenant = tenant.clone();
        self.read(move |conn| {
            query_bodies(
                conn,
                "SELECT body FROM teams WHERE tenant_id = ?1 ORDER BY id",
                params![tenant.as_str()],
            )
        })
        .await
    }

    async fn create_user(&self, user: &User) -> StoreResult<()> {
        user.validate()
            .map_err(|e| StoreError::backend("refusing an invalid user", e))?;
        let user = user.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO users (tenant_id, id, email, team_id, body) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    user.tenant.as_str(),
                    user.id.to_string(),
                    user.email.as_str().to_lowercase(),
                    user.team.map(|t| t.to_string()),
                    to_json(&user)?,
                ],
            )
            .map_err(|e| match sql_err(e) {
                StoreError::AlreadyExists(_) => StoreError::AlreadyExists(format!("user {}", user.email.as_str())),
                other => other,
            })?;
            Ok(())
        })
        .await
    }

    async fn update_user(&self, user: &User) -> StoreResult<()> {
        user.validate()
            .map_err(|e| StoreError::backend("refusing an invalid user", e))?;
        let user = user.clone();
        self.write(move |tx| {
            let stored: Option<String> = tx
                .query_row(
                    "SELECT email FROM users WHERE tenant_id = ?1 AND id = ?2",
                    params![user.tenant.as_str(), user.id.to_string()],
                    |r| r.get(0),
                )
                .optional()
                .map_err(sql_err)?;
            match stored {
                None => return Err(StoreError::NotFound),
                Some(email) if email != user.email.as_str().to_lowercase() => {
                    return Err(StoreError::AlreadyExists(format!(
                        "user {} has the e-mail {email}; it cannot change",
                        user.id
                    )));
                }
                Some(_) => {}
            }
            tx.execute(
                "UPDATE users SET team_id = ?3, body = ?4 WHERE tenant_id = ?1 AND id = ?2",
                params![
                    user.tenant.as_str(),
                    user.id.to_string(),
                    user.team.map(|t| t.to_string()),
                    to_json(&user)?,
                ],
            )
            .map_err(sql_err)?;
            Ok(())
        })
        .await
    }

    /// Served from the directory cache when nothing changed since (see `directory_cache`).
    async fn get_user(&self, tenant: &TenantId, id: UserId) -> StoreResult<Option<User>> {
        let version = self.directory.current()?;
        if let Some(user) = self.directory.user(tenant, id)? {
            return Ok(Some(user));
        }
        let key = tenant.clone();
        let user: Option<User> = self
            .read(move |conn| {
                query_body(
                    conn,
                    "SELECT body FROM users WHERE tenant_id = ?1 AND id = ?2",
                    params![key.as_str(), id.to_string()],
                )
            })
            .await?;
        if let Some(user) = &user {
            self.directory.keep_user(version, user)?;
        }
        Ok(user)
    }

    async fn find_user_by_email(
        &self,
        tenant: &TenantId,
        email: &str,
    ) -> StoreResult<Option<User>> {
        let tenant = tenant.clone();
        let email = email.trim().to_lowercase();
        self.read(move |conn| {
            query_body(
                conn,
                "SELECT body FROM users WHERE tenant_id = ?1 AND email = ?2",
                params![tenant.as_str(), email],
            )
        })
        .await
    }

    async fn list_users(&self, tenant: &TenantId) -> StoreResult<Vec<User>> {
        let tenant = tenant.clone();
        self.read(move |conn| {
            query_bodies(
                conn,
                "SELECT body FROM users WHERE tenant_id = ?1 ORDER BY email",
                params![tenant.as_str()],
            )
        })
        .await
    }
}
