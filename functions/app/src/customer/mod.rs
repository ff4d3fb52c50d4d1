//! Customers (客户) and their contacts: created by hand or from a converted lead,
//! de-duplicated within the tenant on a normalised company name and on each contact's phones
//! and e-mail. A duplicate is refused with the record that already exists, so a phone that
//! retries, or a rep who did not search first, ends up at the one customer.

pub mod grading;
pub mod http;
mod use_cases;

pub use use_cases::*;
