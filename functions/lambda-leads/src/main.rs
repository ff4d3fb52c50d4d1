//! AWS Lambda entry point for the leads API: the same router as the local server, behind
//! API Gateway (REST or HTTP API). The client and keys are built once per container.
//!
//! Storage is whatever `Application::build` wires. Today that is only the embedded SQLite
//! adapter, which is not fit for Lambda (ephemeral /tmp, and WAL is unsafe on EFS/NFS): this
//! binary proves the wiring and the API Gateway event shapes (see `tests/api/lambda.rs`) until
//! the DynamoDB + S3 adapters land behind the same ports.

use fieldline_app::{Application, Config, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let config = Config::load(None)?;
    telemetry::init(&config.log);
    let app = Application::build(config)?;
    lambda_http::run(app.router()).await
}
