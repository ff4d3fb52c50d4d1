//! Rules kept as data: their versions and dry runs (use cases), and the engine that runs
//! them on every event and writes the decision log.

mod engine;
pub mod http;
mod use_cases;

pub use engine::*;
pub use use_cases::*;
