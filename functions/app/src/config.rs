//! Configuration: defaults, then `fieldline.toml` (or `--config`), then `FIELDLINE_*` env vars
//! (`FIELDLINE_LISTEN`, `FIELDLINE_AUTH__JWT_SECRET`, ...). One struct for every entry point.

use fieldline_domain::ScoringPolicy;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Database, attachments and the generated signing secret live here.
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    pub auth: AuthConfig,
    pub limits: Limits,
    pub log: LogConfig,
    pub scoring: ScoringPolicy,
    pub scheduler: SchedulerConfig,
    pub storage: StorageConfig,
    pub channels: ChannelsConfig,
    pub capture: CaptureConfig,
}

/// Where the capture service runs (`fieldline-capture serve`): its URL and bearer token.
/// Without a URL the server runs without capture.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CaptureConfig {
    /// e.g. `http://127.0.0.1:8091`.
    pub url: Option<String>,
    /// The sidecar's `FIELDLINE_CAPTURE_TOKEN`.
    pub token: Option<String>,
    /// Longest one reading may take (a 10-minute voice note needs about two minutes on two
    /// cores).
    pub timeout_secs: u64,
}

impl Default for CaptureConfig {
    fn default() -> Self {
        Self {
            url: None,
            token: None,
            timeout_secs: 180,
        }
    }
}

/// Notification channels (webhooks and chat robots) that tenant admins configure.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChannelsConfig {
    /// Let channels reach loopback, private and link-local addresses (an on-premises webhook
    /// receiver). Off by default: tenant admins must not be able to make the server call
    /// into its own network.
    pub allow_private_networks: bool,
}

/// Where data lives: the embedded database and files under `data_dir` (default), or
/// DynamoDB and S3 when a company outgrows one machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StorageBackend {
    Embedded,
    Aws,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    pub backend: StorageBackend,
    /// DynamoDB table (AWS backend).
    pub table: String,
    /// S3 bucket for attachments and uploads (AWS backend).
    pub bucket: String,
    /// A DynamoDB/S3-compatible endpoint instead of AWS's (local runs and tests only).
    pub endpoint: Option<String>,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            backend: StorageBackend::Embedded,
            table: "fieldline".into(),
            bucket: "fieldline-media".into(),
            endpoint: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// HS256 secret (at least 32 bytes). When unset, the embedded server generates one in
    /// `<data_dir>/jwt-secret` on first start and reuses it after.
    pub jwt_secret: Option<String>,
    /// AWS: the Secrets Manager secret holding the HS256 key, read once per cold start so the
    /// key never sits in the functions' configuration. Takes the place of `jwt_secret`.
    pub jwt_secret_arn: Option<String>,
    pub token_ttl_hours: u32,
    pub issuer: String,
    /// Behind API Gateway with a JWT authorizer (AWS): take the caller from the claims the
    /// gateway verified (`email`, `custom:fieldline_tenant`) instead of a Fieldline token.
    pub gateway_claims: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest accepted JSON body; larger requests get 413.
    pub max_body_bytes: usize,
    /// Open connections the embedded server keeps at most; more are closed at once.
    pub max_connections: usize,
    /// Open connections one client address may hold (a phone uses a handful).
    pub max_connections_per_client: usize,
    /// Seconds a client may take to send a request's headers.
    pub header_timeout_secs: u64,
    /// Seconds a request body may stall between two chunks (idle, not total: a 25 MB upload
    /// on a slow line takes long but keeps sending).
    pub body_idle_timeout_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// JSON inside AWS Lambda (CloudWatch parses it), human-readable elsewhere.
    Auto,
    Pretty,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    pub format: LogFormat,
    /// `tracing` filter directives, e.g. `info,fieldline_app=debug`. `RUST_LOG` wins if set.
    pub filter: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SchedulerConfig {
    /// How often in-process jobs (outbox relay, timers) run, in milliseconds.
    pub tick_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            auth: AuthConfig::default(),
            limits: Limits::default(),
            log: LogConfig::default(),
            scoring: ScoringPolicy::default(),
            scheduler: SchedulerConfig::default(),
            storage: StorageConfig::default(),
            channels: ChannelsConfig::default(),
            capture: CaptureConfig::default(),
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            jwt_secret: None,
            jwt_secret_arn: None,
            token_ttl_hours: 12,
            issuer: "fieldline".into(),
            gateway_claims: false,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 256 * 1024,
            max_connections: 768,
            max_connections_per_client: 64,
            header_timeout_secs: 15,
            body_idle_timeout_secs: 30,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Auto,
            filter: "info".into(),
        }
    }
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self { tick_ms: 1000 }
    }
}

/// The top-level keys `FIELDLINE_*` variables may set.
const SERVER_KEYS: &[&str] = &[
    "data_dir",
    "listen",
    "auth",
    "limits",
    "log",
    "scoring",
    "scheduler",
    "storage",
    "channels",
    "capture",
];

impl Config {
    /// Loads defaults < config file < environment. A missing default file is fine; a missing
    /// file named explicitly is an error.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Config> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) => {
                anyhow::ensure!(
                    path.exists(),
                    "config file {} does not exist",
                    path.display()
                );
                figment = figment.merge(Toml::file(path));
            }
            None => figment = figment.merge(Toml::file("fieldline.toml")),
        }
        // Only the server's own keys: other tools share the prefix (FIELDLINE_CAPTURE_TOKEN,
        // FIELDLINE_MODELS_DIR) and must not make the server refuse to start.
        let env = Env::prefixed("FIELDLINE_").split("__").filter(|key| {
            let top = key.as_str().split('.').next().unwrap_or("");
            SERVER_KEYS.iter().any(|k| k.eq_ignore_ascii_case(top))
        });
        let config: Config = figment.merge(env).extract()?;
        config.validate()?;
        Ok(config)
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        self.scoring
            .validate()
            .map_err(|e| anyhow::anyhow!("invalid scoring policy: {e}"))?;
        anyhow::ensure!(
            self.limits.max_body_bytes >= 1024,
            "limits.max_body_bytes must be at least 1024"
        );
        anyhow::ensure!(
            self.limits.max_connections >= 1
                && (1..=self.limits.max_connections)
                    .contains(&self.limits.max_connections_per_client),
            "limits.max_connections_per_client must be between 1 and limits.max_connections"
        );
        anyhow::ensure!(
            self.limits.header_timeout_secs >= 1 && self.limits.body_idle_timeout_secs >= 1,
            "limits.header_timeout_secs and limits.body_idle_timeout_secs must be at least 1"
        );
        anyhow::ensure!(
            self.auth.token_ttl_hours >= 1,
            "auth.token_ttl_hours must be at least 1"
        );
        anyhow::ensure!(
            self.scheduler.tick_ms >= 10,
            "scheduler.tick_ms must be at least 10"
        );
        if let Some(url) = &self.capture.url {
            anyhow::ensure!(
                url.starts_with("http://") || url.starts_with("https://"),
                "capture.url must be an http(s) URL"
            );
            anyhow::ensure!(
                self.capture.token.as_deref().is_some_and(|t| t.len() >= 16),
                "capture.url needs capture.token (the sidecar's token, at least 16 characters)"
            );
            anyhow::ensure!(
                self.capture.timeout_secs >= 1,
                "capture.timeout_secs must be at least 1"
            );
        }
        if self.storage.backend == StorageBackend::Aws {
            // Functions have no disk that outlives them to keep a generated secret on.
            anyhow::ensure!(
                self.auth.jwt_secret.is_some() || self.auth.jwt_secret_arn.is_some(),
                "storage.backend = \"aws\" needs auth.jwt_secret_arn \
                 (FIELDLINE_AUTH__JWT_SECRET_ARN) or auth.jwt_secret"
            );
            anyhow::ensure!(
                !self.storage.table.is_empty() && !self.storage.bucket.is_empty(),
                "storage.table and storage.bucket must be set for the AWS backend"
            );
        }
        Ok(())
    }

    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("fieldline.db")
    }

    pub fn blob_dir(&self) -> PathBuf {
        self.data_dir.join("blobs")
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment's Jail API fixes the error type
mod tests {
    use super::*;

    #[test]
    fn other_tools_fieldline_variables_are_ignored() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("FIELDLINE_CAPTURE_TOKEN", "sidecar-token-0123456789");
            jail.set_env("FIELDLINE_MODELS_DIR", "/opt/models");
            jail.set_env("FIELDLINE_LISTEN", "127.0.0.1:9100");
            let config = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!(config.listen.port(), 9100);
            Ok(())
        });
    }

    #[test]
    fn file_then_env_override_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "fieldline.toml",
                r#"
                listen = "127.0.0.1:9000"
                [scoring.thresholds]
                s = 80
                a = 60
                b = 40
                "#,
            )?;
            jail.set_env("FIELDLINE_AUTH__TOKEN_TTL_HOURS", "2");
            let c = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!(c.listen.port(), 9000);
            assert_eq!(c.scoring.thresholds.s, 80);
            assert_eq!(c.auth.token_ttl_hours, 2);
            assert_eq!(c.data_dir, PathBuf::from("data"));
            Ok(())
        });
    }

    #[test]
    fn bad_config_is_refused_with_a_reason() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "fieldline.toml",
                "[scoring.thresholds]\ns = 10\na = 60\nb = 40\n",
            )?;
            let err = Config::load(None).unwrap_err().to_string();
            assert!(err.contains("scoring"), "{err}");
            jail.create_file("fieldline.toml", "lisen = \"x\"\n")?;
            assert!(
                Config::load(None).is_err(),
                "typos are not silently ignored"
            );
            assert!(Config::load(Some(Path::new("/nonexistent.toml"))).is_err());
            Ok(())
        });
    }
}
