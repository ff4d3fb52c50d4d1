//! Orders with credit and stock checks (seed 002): the catalogue and stock feed, drafting,
//! submitting (credit freeze, discount and floor holds, reservations), approval, payment,
//! shipment and delivery; the tenant's order policy; the demand forecast and the replenishment plan's stored fit.

mod demand;
pub mod http;
mod lead_demand;
mod use_cases;

pub use demand::*;
pub use lead_demand::{
    DemandRefits, refit as refit_lead_demand, store as store_lead_demand,
    stored as stored_lead_demand,
};
pub use use_cases::*;
