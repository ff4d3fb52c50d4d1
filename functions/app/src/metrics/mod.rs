//! Process-health metrics over leads: response times, SLA breaches, conversion by rep and team.

mod capture;
mod customers;
pub mod http;
mod use_cases;

pub use capture::*;
pub use customers::*;
pub use use_cases::*;
