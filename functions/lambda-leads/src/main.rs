//! AWS Lambda entry point for the leads API: the same router as the local server, behind
//! API Gateway (REST or HTTP API). The client and keys are built once per container.
//!
//! Storage today is the embedded adapter on `FIELDLINE_DATA_DIR` (an EFS mount in AWS); the
//! DynamoDB + S3 adapters plug in behind the same ports without touching this file's shape.

use fieldline_app::{Application, Config, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let config = Config::load(None)?;
    telemetry::init(&config.log);
    let app = Application::build(config)?;
    lambda_http::run(app.router()).await
}
