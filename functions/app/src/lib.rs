//! Fieldline's application layer: use cases, the HTTP API and the wiring shared by the local
//! server and every Lambda function. Domain rules live in `fieldline-domain`; storage behind
//! the ports of `fieldline-store`.

pub mod admin;
pub mod application;
pub mod auth;
pub mod automation;
pub mod channels;
pub mod config;
pub mod egress;
pub mod error;
pub mod extract;
pub mod http;
pub mod leads;
pub mod metrics;
pub mod rules;
pub mod scheduler;
pub mod state;
pub mod telemetry;
pub mod uploads;

pub use application::{Application, Stores};
pub use config::Config;
pub use error::ApiError;
pub use state::AppState;
