//! Fieldline's domain core: what a lead, a customer or a team *is*, and which changes are allowed.
//!
//! Nothing here performs I/O or reads a clock: callers pass `now` in, so every rule is testable
//! and behaves the same on one machine or in Lambda.

pub mod access;
pub mod activity;
pub mod contact;
pub mod customer;
pub mod error;
pub mod event;
pub mod id;
pub mod lead;
pub mod scoring;
pub mod user;

pub use access::{Actor, LeadScope};
pub use activity::{Activity, ActivityKind, NewActivity};
pub use contact::{ContactInfo, EmailAddress, PersonName, PhoneNumber, Region};
pub use customer::{Contact, Customer, DecisionRole};
pub use error::DomainError;
pub use event::{DomainEvent, EventPayload};
pub use id::{ActivityId, ContactId, CustomerId, EventId, LeadId, TeamId, TenantId, UserId};
pub use lead::{
    BudgetRange, Lead, LeadPatch, LeadSource, LeadStatus, NewLead, PreScreen, PurchaseUrgency,
};
pub use scoring::{Priority, ScoreBreakdown, ScoringPolicy};
pub use user::{Role, Team, Tenant, User};

/// Timestamps everywhere are UTC; local time zones are a presentation concern.
pub type Timestamp = chrono::DateTime<chrono::Utc>;
