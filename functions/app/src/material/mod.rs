//! Material packs (资料包): a rep bundles files attached to a deal into one link for the
//! customer (`/m/{token}`, no login). Links are unguessable (256 random bits, only a hash
//! kept), expire, and are rate-limited; every opening is a `material_opened` event on the
//! deal, so rules can react.

pub mod http;
mod use_cases;

pub use use_cases::*;
