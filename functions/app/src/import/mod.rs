//! Spreadsheets in and out: the catalogue, stock counts, customers with their contacts, leads
//! and historic orders imported from CSV (UTF-8, UTF-16 or GBK) or .xlsx with column mapping, a
//! dry run that reports every row, and no write unless every row is good; lists exported as CSV
//! or .xlsx in the caller's scope. `ErpConnector` is the seam an ERP adapter (Kingdee, Yonyou)
//! plugs into.

mod customers;
pub mod erp;
pub mod http;
pub mod job;
mod leads;
mod orders;
pub mod table;
mod use_cases;

pub use use_cases::*;
