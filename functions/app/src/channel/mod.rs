//! Outbound channels (WeCom, DingTalk, Feishu, webhooks): their configuration (use cases) and
//! the delivery job that sends, retries and dead-letters notifications.

mod delivery;
pub mod http;
mod use_cases;

pub use delivery::*;
pub use use_cases::*;
