//! Lambda: the leads surface of the HTTP API (`/v1/leads/**`, `/v1/me`, `/health`) behind
//! API Gateway.

use fieldline_app::http::ApiSurface;
use fieldline_lambda::Functions;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let functions = Functions::from_env().await?;
    lambda_http::run(functions.router(ApiSurface::Leads)).await
}
