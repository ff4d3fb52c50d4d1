//! Logging: JSON lines in AWS (CloudWatch Insights can query them), readable text locally.

use crate::config::{LogConfig, LogFormat};
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber; later calls (tests) are ignored.
pub fn init(config: &LogConfig) {
    let json = match config.format {
        LogFormat::Json => true,
        LogFormat::Pretty => false,
        LogFormat::Auto => std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some(),
    };
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&config.filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder
            .json()
            .with_current_span(true)
            .flatten_event(true)
            .try_init()
    } else {
        builder.compact().try_init()
    };
}
