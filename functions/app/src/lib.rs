//! Fieldline's application layer: use cases, the HTTP API and the wiring shared by the local
//! server and every Lambda function. Domain rules live in `fieldline-domain`; storage behind
//! the ports of `fieldline-store`.

pub mod admin;
pub mod application;
pub mod auth;
pub mod calendar;
pub mod capture;
pub mod channel;
pub mod config;
pub mod customer;
pub mod deal;
pub mod egress;
pub mod error;
pub mod http;
pub mod import;
pub mod lead;
pub mod material;
pub mod metrics;
pub mod notification;
pub mod order;
pub mod retail;
pub mod rule;
pub mod scheduler;
pub mod state;
pub mod task;
pub mod telemetry;
pub mod timer;
pub mod upload;
pub mod visit;

pub use application::{Application, Stores};
pub use config::Config;
pub use error::AppError;
pub use http::error::ApiError;
pub use state::AppState;
