//! Tasks the rules create for people: my open tasks, completing one.

pub mod http;
mod use_cases;

pub use use_cases::*;
