//! Deals: converting a qualified lead, pipelines, the deal list and board columns, stage
//! moves through gates (with a manager's override), the stage log, and the activity log
//! the gates read.

pub(crate) mod activity;
pub mod http;
mod use_cases;

pub use activity::{list_activities, log_activity};
pub use use_cases::*;
