//! Store visits: check-in with the phone's position, check-out with the key actions and shelf
//! photos, judged against the tenant's visit policy; the invalid-visit rate per rep.

pub mod http;
mod use_cases;

pub use use_cases::*;
