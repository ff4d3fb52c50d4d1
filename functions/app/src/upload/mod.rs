//! Attachments: upload tickets, receiving the bytes, checking them and recording them on
//! their subject.

pub mod http;
mod use_cases;

pub use use_cases::*;
