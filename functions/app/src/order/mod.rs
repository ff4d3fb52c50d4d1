//! Orders with credit and stock checks (seed 002): the catalogue and stock feed, drafting,
//! submitting (credit freeze, discount and floor holds, reservations), approval, payment,
//! shipment and delivery; the tenant's order policy; the demand forecast.

mod demand;
pub mod http;
mod use_cases;

pub use demand::*;
pub use use_cases::*;
