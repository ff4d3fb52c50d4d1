//! Capture in the server: the client of the capture service, and the queue that turns an
//! upload's reading into contacts, leads, activities and tasks.

pub mod client;
mod ingest;
mod reading;

pub use client::{
    CaptureError, CaptureRequest, CaptureService, HttpCapture, Reading, reading_from_device,
};
pub use ingest::{CaptureIngest, RETRY_TIMER, process};
pub(crate) use ingest::{lead_from_card, merge_into_lead};
