//! Bearer-token authentication. Tokens are HS256 JWTs naming the user and tenant; on every
//! request the user is re-read so a deactivated rep or a changed team takes effect at once.

use crate::error::AppError;
use crate::http::error::ApiError;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::Duration;
use fieldline_domain::{Actor, Role, TeamId, TenantId, Timestamp, User, UserId};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// What a token asserts. `role` and `team` are informational; the directory is authoritative.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: UserId,
    pub tenant: TenantId,
    pub role: Role,
    pub team: Option<TeamId>,
    pub iss: String,
    pub iat: i64,
    pub exp: i64,
}

/// The web app's sign-in link for `token`: the token rides in the fragment, which browsers
/// never send to a server (so no access log or proxy sees it); the app keeps it and clears
/// the address bar.
pub fn sign_in_link(base: &str, token: &str) -> String {
    format!("{}/#signin={token}", base.trim_end_matches('/'))
}

/// Signs and verifies tokens with one shared secret.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    ttl: Duration,
}

/// Shortest secret accepted: 256 bits, the HS256 key size.
pub const MIN_SECRET_BYTES: usize = 32;

impl TokenKeys {
    pub fn new(secret: &[u8], issuer: &str, ttl_hours: u32) -> anyhow::Result<Self> {
        anyhow::ensure!(
            secret.len() >= MIN_SECRET_BYTES,
            "the JWT secret must be at least {MIN_SECRET_BYTES} bytes"
        );
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.leeway = 30;
        Ok(Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            issuer: issuer.to_owned(),
            ttl: Duration::hours(i64::from(ttl_hours)),
        })
    }

    /// The configured secret, or the one kept in `<data_dir>/jwt-secret` (created on first use,
    /// readable by the owner only) so `serve` and `token` agree without any set-up.
    pub fn load_or_create_secret(
        configured: Option<&str>,
        data_dir: &Path,
    ) -> anyhow::Result<Vec<u8>> {
        if let Some(secret) = configured {
            return Ok(secret.as_bytes().to_vec());
        }
        let path = data_dir.join("jwt-secret");
        match std::fs::read_to_string(&path) {
            Ok(s) => return Ok(s.trim().as_bytes().to_vec()),
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                anyhow::bail!("cannot read {}: {e}", path.display())
            }
            Err(_) => {}
        }
        std::fs::create_dir_all(data_dir)?;
        let secret = hex::encode(rand::random::<[u8; 32]>());
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        match options.open(&path) {
            Ok(mut file) => {
                use std::io::Write;
                file.write_all(secret.as_bytes())?;
                file.sync_all()?;
                Ok(secret.into_bytes())
            }
            // Another process created it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Ok(std::fs::read_to_string(&path)?.trim().as_bytes().to_vec())
            }
            Err(e) => Err(e.into()),
        }
    }

    pub fn issue(&self, user: &User, now: Timestamp) -> String {
        self.issue_with_ttl(user, now, self.ttl)
    }

    pub fn issue_with_ttl(&self, user: &User, now: Timestamp, ttl: Duration) -> String {
        let claims = Claims {
            sub: user.id,
            tenant: user.tenant.clone(),
            role: user.role,
            team: user.team,
            iss: self.issuer.clone(),
            iat: now.timestamp(),
            exp: (now + ttl).timestamp(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing with a valid key cannot fail")
    }

    pub fn verify(&self, token: &str) -> Result<Claims, AppError> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| {
                let reason = match e.kind() {
                    jsonwebtoken::errors::ErrorKind::ExpiredSignature => "token expired",
                    jsonwebtoken::errors::ErrorKind::InvalidSignature => {
                        "token signature is invalid"
                    }
                    _ => "token is invalid",
                };
                AppError::Unauthenticated(reason.into())
            })
    }
}

/// What an upload ticket allows: one PUT of exactly `size` bytes of `content_type` to `path`
/// in `tenant`, by `sub`, before `exp`. The embedded server's counterpart of a presigned URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadClaims {
    pub aud: String,
    pub iss: String,
    pub exp: i64,
    pub sub: UserId,
    pub tenant: TenantId,
    pub path: String,
    pub content_type: String,
    pub size: u64,
}

/// The audience of upload tickets; bearer tokens have none, so neither passes for the other.
pub const UPLOAD_AUDIENCE: &str = "fieldline-upload";

impl TokenKeys {
    pub fn issue_upload(&self, claims: &UploadClaims) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .expect("HS256 signing with a valid key cannot fail")
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The claims of an upload ticket valid at `now`: its expiry is checked against the
    /// application's clock, the one that set it.
    pub fn verify_upload(
        &self,
        ticket: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<UploadClaims, AppError> {
        let mut validation = self.validation.clone();
        validation.set_audience(&[UPLOAD_AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
        validation.validate_exp = false;
        let invalid = || AppError::Unauthenticated("upload ticket is invalid or expired".into());
        let claims = jsonwebtoken::decode::<UploadClaims>(ticket, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|_| invalid())?;
        if claims.exp < now.timestamp() {
            return Err(invalid());
        }
        Ok(claims)
    }
}

/// An identity that API Gateway's JWT authorizer has already verified (a Cognito ID token's
/// `email` and `custom:fieldline_tenant`). Only server-side code can put it in a request's
/// extensions (the Lambda adapter, when `auth.gateway_claims` is on); nothing a client sends
/// becomes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayIdentity {
    pub tenant: String,
    pub email: String,
}

impl GatewayIdentity {
    /// The Fieldline user behind a verified identity: known, active, in that tenant.
    async fn resolve(&self, state: &AppState) -> Result<User, AppError> {
        let unknown = || AppError::Unauthenticated("user is unknown or deactivated".into());
        let tenant = TenantId::parse(&self.tenant).map_err(|_| unknown())?;
        state
            .directory
            .find_user_by_email(&tenant, &self.email)
            .await?
            .filter(|u| u.active)
            .ok_or_else(unknown)
    }
}

/// The caller of an authenticated route. Extracting it is what makes a route authenticated.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub actor: Actor,
    pub user: User,
}

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(identity) = parts.extensions.get::<GatewayIdentity>() {
            let user = identity.resolve(state).await?;
            return Ok(Authenticated {
                actor: Actor {
                    user: user.id,
                    tenant: user.tenant.clone(),
                    role: user.role,
                    team: user.team,
                },
                user,
            });
        }
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| {
                ApiError::Unauthenticated("missing Authorization: Bearer <token>".into())
            })?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::Unauthenticated("expected Authorization: Bearer <token>".into())
            })?;
        let claims = state.tokens.verify(token)?;
        let user = state
            .directory
            .get_user(&claims.tenant, claims.sub)
            .await?
            .filter(|u| u.active)
            .ok_or_else(|| ApiError::Unauthenticated("user is unknown or deactivated".into()))?;
        if claims.tenant != user.tenant {
            return Err(ApiError::Unauthenticated("token is invalid".into()));
        }
        let actor = Actor {
            user: user.id,
            tenant: user.tenant.clone(),
            role: user.role,
            team: user.team,
        };
        Ok(Authenticated { actor, user })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use fieldline_domain::{EmailAddress, PersonName};

    fn user() -> User {
        User {
            id: UserId::new(),
            tenant: TenantId::parse("acme").unwrap(),
            name: PersonName::parse("Li").unwrap(),
            email: EmailAddress::parse("li@acme.cn").unwrap(),
            role: Role::Rep,
            team: None,
            active: true,
        }
    }

    #[test]
    fn tokens_verify_and_expire() {
        let keys = TokenKeys::new(&[7u8; 32], "fieldline", 12).unwrap();
        let u = user();
        let claims = keys.verify(&keys.issue(&u, Utc::now())).unwrap();
        assert_eq!(claims.sub, u.id);
        let old = keys.issue_with_ttl(&u, Utc::now() - Duration::hours(2), Duration::hours(1));
        assert!(
            matches!(keys.verify(&old), Err(AppError::Unauthenticated(m)) if m == "token expired")
        );
    }

    #[test]
    fn forged_and_foreign_tokens_are_refused() {
        let keys = TokenKeys::new(&[7u8; 32], "fieldline", 12).unwrap();
        let other = TokenKeys::new(&[8u8; 32], "fieldline", 12).unwrap();
        let u = user();
        assert!(keys.verify(&other.issue(&u, Utc::now())).is_err());
        let wrong_issuer = TokenKeys::new(&[7u8; 32], "someone-else", 12).unwrap();
        assert!(keys.verify(&wrong_issuer.issue(&u, Utc::now())).is_err());
        assert!(keys.verify("not.a.token").is_err());
        assert!(TokenKeys::new(b"short", "fieldline", 1).is_err());
    }

    #[test]
    fn generated_secret_is_persisted_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let a = TokenKeys::load_or_create_secret(None, dir.path()).unwrap();
        let b = TokenKeys::load_or_create_secret(None, dir.path()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("jwt-secret"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(
            TokenKeys::load_or_create_secret(Some("x".repeat(40).as_str()), dir.path())
                .unwrap()
                .len(),
            40
        );
    }
}
