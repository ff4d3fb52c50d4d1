//! Leads: create, read, list, update, assign, log activities, claim from the pool.

pub mod http;
mod use_cases;

pub use use_cases::*;
