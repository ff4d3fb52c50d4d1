//! Fieldline's domain core: what a lead, a customer or a team *is*, and which changes are allowed.
//!
//! Nothing here performs I/O or reads a clock: callers pass `now` in, so every rule is testable
//! and behaves the same on one machine or in Lambda.

pub mod access;
pub mod activity;
pub mod calendar;
pub mod capture;
pub mod contact;
pub mod customer;
pub mod customer_metrics;
pub mod deal;
pub mod deal_facts;
pub mod demand;
pub mod error;
pub mod event;
pub mod forecast;
pub mod grading;
pub mod id;
pub mod import;
pub mod lead;
pub mod material;
pub mod metrics;
pub mod notification;
pub mod order;
pub mod pipeline;
pub mod pipeline_metrics;
pub mod retail;
pub mod rule;
pub mod scoring;
pub mod stock;
pub mod subject;
pub mod task;
pub mod timer;
pub mod upload;
pub mod user;
pub mod visit;

pub use access::{Actor, LeadScope, Permission};
pub use activity::{
    Activity, ActivityKind, AttachmentFile, LogTarget, NewActivity, StructuredNote,
};
pub use calendar::BusinessCalendar;
pub use capture::{
    Captured, CapturedField, CardCapture, Correction, MergeProposal, RecordLink, ShelfCapture,
    VoiceCapture,
};
pub use contact::{ContactInfo, EmailAddress, PersonName, PhoneNumber, Region};
pub use customer::{
    Address, Contact, ContactPatch, Customer, CustomerKind, CustomerPatch, DecisionRole, GeoPoint,
    NewContact, NewCustomer, company_key, search_fold,
};
pub use deal::{
    ConversionIds, Converted, Deal, DealDraft, DealPatch, MoveError, StageChange, StageMove,
    convert_lead, home_currency,
};
pub use deal_facts::{DealFacts, StageStep};
pub use error::DomainError;
pub use event::{Cause, DomainEvent, EventKind, EventPayload};
pub use grading::{
    CustomerHealth, Grade, GradeClass, GradePolicy, GradeSnapshot, Month, NewPurchase, Purchase,
    Signal, Tally, Touch,
};
pub use id::{
    ActivityId, ContactId, CustomerId, DealId, EventId, LeadId, MaterialPackId, NotificationId,
    OrderId, SaleTagsId, TaskId, TeamId, TenantId, TimerId, UploadId, UserId, VisitId,
};
pub use lead::{
    BudgetRange, Lead, LeadPatch, LeadSource, LeadStatus, NewLead, PreScreen, PurchaseUrgency,
};
pub use material::{MaterialPack, NewMaterialPack, PackFile};
pub use notification::{Channel, ChannelKind, Delivery, DeliveryResult, Notification};
pub use pipeline::{
    ForecastCategory, Localized, LostReason, Pipeline, Requirement, Stage, StageKind,
};
pub use rule::{Action, Condition, Decision, DecisionOutcome, Evidence, Rule, RuleDraft, RuleId};
pub use scoring::{Priority, ScoreBreakdown, ScoringPolicy};
pub use subject::{Subject, SubjectKind};
pub use task::{FollowUp, Task};
pub use timer::{Timer, TimerState};
pub use upload::{NewUpload, Upload, UploadError, UploadKind, UploadStatus};
pub use user::{Role, Team, Tenant, User};

/// Timestamps everywhere are UTC; local time zones are a presentation concern.
pub type Timestamp = chrono::DateTime<chrono::Utc>;
