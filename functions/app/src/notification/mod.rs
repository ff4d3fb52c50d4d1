//! The in-app inbox: notifications the rules addressed to me.

pub mod http;
mod use_cases;

pub use use_cases::*;
