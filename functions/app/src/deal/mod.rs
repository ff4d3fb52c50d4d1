//! Deals: converting a qualified lead, pipelines, the deal list and board columns, stage
//! moves through gates (with a manager's override), and the stage log.

pub mod http;
mod use_cases;

pub use use_cases::*;
