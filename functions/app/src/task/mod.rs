//! Tasks the rules create for people: my open tasks, completing one, their reminders and
//! escalations, and the managers' review sample.

mod follow_up;
pub mod http;
mod use_cases;

pub use follow_up::TaskFollowUps;
pub use use_cases::*;
