//! Process-health metrics over leads: response times, SLA breaches, conversion by rep and team.

pub mod http;
mod use_cases;

pub use use_cases::*;
