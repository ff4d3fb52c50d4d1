//! Retail stores beyond visits: shop assistants' quick sale tags, counted per week and region,
//! with the spike test that fires rules; the tenant's retail policy (tag catalogue, spike
//! test, shelf price floors, key stores).

pub mod http;
mod use_cases;

pub use use_cases::*;
