//! The tenant's business calendar (working hours, holidays) that SLA timers count in.

pub mod http;
mod use_cases;

pub use use_cases::*;
