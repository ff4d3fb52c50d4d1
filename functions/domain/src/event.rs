//! Domain events: the facts every change emits. They are written in the same transaction as
//! the change (the outbox), so timers, rules and webhooks see each one exactly once per consumer.

use crate::Timestamp;
use crate::activity::ActivityKind;
use crate::id::{ActivityId, EventId, MaterialPackId, TeamId, TenantId, TimerId, UserId};
use crate::lead::{Lead, LeadSource, LeadStatus};
use crate::pipeline::StageKind;
use crate::scoring::{Priority, ScoreBreakdown};
use crate::subject::{Subject, SubjectKind};
use crate::upload::{UploadKind, UploadStatus};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use strum::{EnumDiscriminants, EnumIter, EnumString, IntoStaticStr};
use uuid::Uuid;

/// What happened. The payload's variant is the event's kind ([`EventKind`], derived from this
/// enum, so the list of kinds rules can be triggered by is never kept twice).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, EnumDiscriminants)]
#[serde(tag = "type", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[strum_discriminants(
    name(EventKind),
    derive(
        Hash,
        PartialOrd,
        Ord,
        Serialize,
        Deserialize,
        EnumIter,
        EnumString,
        IntoStaticStr
    ),
    serde(rename_all = "snake_case"),
    strum(serialize_all = "snake_case")
)]
pub enum EventPayload {
    LeadCreated {
        source: LeadSource,
        priority: Priority,
        score: ScoreBreakdown,
        owner: Option<UserId>,
    },
    LeadUpdated {
        changed: Vec<String>,
    },
    LeadPriorityChanged {
        from: Priority,
        to: Priority,
        score: ScoreBreakdown,
    },
    LeadStatusChanged {
        from: LeadStatus,
        to: LeadStatus,
    },
    LeadAssigned {
        from: Option<UserId>,
        to: UserId,
        team: Option<TeamId>,
    },
    LeadFirstContacted {
        at: DateTime<Utc>,
        response_seconds: i64,
    },
    ActivityLogged {
        activity: ActivityId,
        kind: ActivityKind,
        occurred_at: DateTime<Utc>,
        /// A note with the after-call structure (concerns, promise, next contact).
        #[serde(default)]
        structured: bool,
    },
    /// A durable timer came due (an SLA clock, a stale-lead check).
    TimerFired {
        timer: TimerId,
        name: String,
        due_at: DateTime<Utc>,
    },
    /// The lead left its owner for the tenant's pool.
    LeadReturnedToPool {
        from: Option<UserId>,
        reason: String,
    },
    /// A rep took a lead from the pool.
    LeadClaimed {
        by: UserId,
        team: Option<TeamId>,
    },
    /// A phone asked to upload a file; the bytes have not arrived yet.
    UploadCreated {
        kind: UploadKind,
        file_name: String,
        size: u64,
    },
    /// An upload moved on (received, processing, done, failed).
    UploadStatusChanged {
        from: UploadStatus,
        to: UploadStatus,
        /// The stable error code when it failed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A deal was opened (from a converted lead or by hand) in its pipeline's first stage.
    DealCreated {
        pipeline: String,
        stage: String,
        amount: u64,
        currency: String,
        owner: UserId,
    },
    /// A deal's terms changed (amount, currency, expected close, title).
    DealUpdated {
        changed: Vec<String>,
    },
    /// A deal moved to another stage (won and lost are stages too).
    DealStageChanged {
        from: String,
        to: String,
        status: StageKind,
        seconds_in_previous: i64,
        /// A manager moved it past an unmet gate.
        overridden: bool,
    },
    /// A contact was added to a customer (by hand, from a card, or by a conversion).
    ContactAdded {
        contact: crate::id::ContactId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role: Option<String>,
    },
    /// A contact's details changed (an edit, or a card merged into it).
    ContactUpdated {
        contact: crate::id::ContactId,
        /// The fields that changed.
        changed: Vec<String>,
    },
    /// A rep checked in at a customer (`far`: farther than the tenant allows).
    VisitCheckedIn {
        customer: crate::id::CustomerId,
        /// Whole metres.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        distance_m: Option<u32>,
        far: bool,
    },
    /// A rep checked out; the visit was judged against the tenant's policy.
    VisitCheckedOut {
        customer: crate::id::CustomerId,
        valid: bool,
        /// Whole minutes.
        dwell_minutes: u32,
    },
    /// A customer (or store) was created by hand or by an import.
    CustomerCreated {
        name: String,
    },
    /// A customer's own fields changed (name, kind, tags, owner...): what may make it a key
    /// store, for instance.
    CustomerUpdated {
        changed: Vec<String>,
    },
    /// Another customer record was merged into this one (its contacts, activities and
    /// purchases move here).
    CustomerMerged {
        duplicate: crate::id::CustomerId,
    },
    /// A purchase entered the customer's ledger.
    PurchaseRecorded {
        reference: String,
        amount: u64,
        currency: String,
        at: DateTime<Utc>,
    },
    /// A shelf photo of this store was read: its price tags, empty facings, and the prices
    /// under the tenant's floor for the SKUs on the shelf.
    ShelfAudited {
        upload: crate::id::UploadId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        visit: Option<crate::id::VisitId>,
        price_tags: u32,
        gaps: u32,
        out_of_stock: bool,
        /// How many prices read are below the floor, and those prices as printed.
        under_floor: u32,
        #[serde(default)]
        under_floor_prices: Vec<String>,
        /// The tenant counts this store as a key store.
        key_store: bool,
    },
    /// A quick sale tag's share of a region's sales this week rose significantly over its
    /// baseline (the store is the one whose tag tipped it).
    SaleTagSpiked {
        region: String,
        week: String,
        tag: String,
        count: u64,
        sales: u64,
        /// Shares in per mille, so the event stays `Eq`.
        share_permille: u32,
        baseline_permille: u32,
    },
    /// A customer opened a material pack sent on the deal.
    MaterialOpened {
        pack: MaterialPackId,
        name: String,
        /// How often the pack has been opened, this time included.
        opens: u32,
    },
    /// An order was drafted for a customer.
    OrderCreated {
        customer: crate::id::CustomerId,
        channel: String,
        /// Minor units.
        total: u64,
        currency: String,
    },
    /// An order moved (`to`: `submitted` with `holds` waits for a manager; `to_ship` is the
    /// warehouse's queue).
    OrderStatusChanged {
        customer: crate::id::CustomerId,
        from: String,
        to: String,
        holds: Vec<String>,
        /// Minor units.
        total: u64,
        currency: String,
    },
    /// Money was received for an order (minor units).
    OrderPaid {
        customer: crate::id::CustomerId,
        amount: u64,
        paid: u64,
        balance: u64,
        invoiceable: bool,
    },
}

impl EventPayload {
    /// A stable name for routing and storage (`lead_created`, ...).
    pub fn kind(&self) -> EventKind {
        self.into()
    }
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The one kind of subject an event of this kind is about; `None` for kinds every
    /// subject has (`timer_fired`, `activity_logged`).
    pub fn subject_kind(self) -> Option<SubjectKind> {
        use EventKind::*;
        match self {
            LeadCreated | LeadUpdated | LeadPriorityChanged | LeadStatusChanged | LeadAssigned
            | LeadFirstContacted | LeadReturnedToPool | LeadClaimed => Some(SubjectKind::Lead),
            UploadCreated | UploadStatusChanged => Some(SubjectKind::Upload),
            VisitCheckedIn | VisitCheckedOut => Some(SubjectKind::Visit),
            DealCreated | DealUpdated | DealStageChanged | MaterialOpened => {
                Some(SubjectKind::Deal)
            }
            CustomerCreated | CustomerUpdated | ContactAdded | ContactUpdated
            | PurchaseRecorded | CustomerMerged | ShelfAudited | SaleTagSpiked => {
                Some(SubjectKind::Customer)
            }
            OrderCreated | OrderStatusChanged | OrderPaid => Some(SubjectKind::Order),
            ActivityLogged | TimerFired => None,
        }
    }

    /// Whether a rule about `subject` may be triggered by this kind.
    pub fn concerns(self, subject: SubjectKind) -> bool {
        self.subject_kind().is_none_or(|k| k == subject)
    }

    /// The fields a rule condition may read under `event.`: the payload's own fields and
    /// the envelope's (`type`, `actor`, `occurred_at`, `automatic`).
    pub fn fields(self) -> &'static [&'static str] {
        use EventKind::*;
        match self {
            LeadCreated => &[
                "source",
                "priority",
                "score.urgency",
                "score.decision_role",
                "score.budget",
                "score.source",
                "score.current_brand",
                "score.total",
                "owner",
            ],
            LeadUpdated => &["changed"],
            LeadPriorityChanged => &[
                "from",
                "to",
                "score.urgency",
                "score.decision_role",
                "score.budget",
                "score.source",
                "score.current_brand",
                "score.total",
            ],
            LeadStatusChanged => &["from", "to"],
            LeadAssigned => &["from", "to", "team"],
            LeadFirstContacted => &["at", "response_seconds"],
            ActivityLogged => &["activity", "kind", "occurred_at", "structured"],
            TimerFired => &["timer", "name", "due_at"],
            LeadReturnedToPool => &["from", "reason"],
            LeadClaimed => &["by", "team"],
            UploadCreated => &["kind", "file_name", "size"],
            UploadStatusChanged => &["from", "to", "error"],
            ContactAdded => &["contact", "role"],
            ContactUpdated => &["contact", "changed"],
            VisitCheckedIn => &["customer", "distance_m", "far"],
            VisitCheckedOut => &["customer", "valid", "dwell_minutes"],
            CustomerCreated => &["name"],
            CustomerUpdated => &["changed"],
            CustomerMerged => &["duplicate"],
            PurchaseRecorded => &["reference", "amount", "currency", "at"],
            DealCreated => &["pipeline", "stage", "amount", "currency", "owner"],
            DealUpdated => &["changed"],
            DealStageChanged => &["from", "to", "status", "seconds_in_previous", "overridden"],
            MaterialOpened => &["pack", "name", "opens"],
            ShelfAudited => &[
                "upload",
                "visit",
                "price_tags",
                "gaps",
                "out_of_stock",
                "under_floor",
                "under_floor_prices",
                "key_store",
            ],
            OrderCreated => &["customer", "channel", "total", "currency"],
            OrderStatusChanged => &["customer", "from", "to", "holds", "total", "currency"],
            OrderPaid => &["customer", "amount", "paid", "balance", "invoiceable"],
            SaleTagSpiked => &[
                "region",
                "week",
                "tag",
                "count",
                "sales",
                "share_permille",
                "baseline_permille",
            ],
        }
    }

    /// Whether `path` (without `event.`) names something a rule can read on this event.
    pub fn has_field(self, path: &str) -> bool {
        ["type", "actor", "occurred_at", "automatic"].contains(&path)
            || crate::subject::has_path(self.fields(), path)
    }
}

/// The OpenAPI schema: a string enum of every kind (strum derives the type, so this is
/// written out once here).
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for EventKind {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use strum::IntoEnumIterator;
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(EventKind::iter().map(EventKind::as_str)))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for EventKind {}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A fact about one subject. Stored (outbox rows, DynamoDB stream images) with the subject as
/// `aggregate_type` + `aggregate_id`, the shape every stored event already has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "StoredShape", from = "StoredShape")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DomainEvent {
    pub id: EventId,
    pub tenant: TenantId,
    /// What the event is about.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub subject: Subject,
    /// The subject's version after the change, for ordering and dedup downstream.
    pub aggregate_version: u64,
    /// The user whose request caused it; `None` for automatic actions.
    pub actor: Option<UserId>,
    pub occurred_at: DateTime<Utc>,
    pub payload: EventPayload,
    /// Set when an automation rule caused the event: which rule, and how deep in a chain of
    /// rule-caused events it sits (the loop guard).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<Cause>,
    /// Made by importing a spreadsheet (an old CRM's leads, a customer list), not typed or
    /// captured in Fieldline: process figures such as the auto-capture rate leave it out.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub imported: bool,
}

/// The rule behind an automatic change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Cause {
    pub rule: String,
    pub rule_version: u32,
    /// 1 for a rule reacting to a person's change; each further rule-caused step adds one.
    pub depth: u8,
}

/// The serialised form of `DomainEvent`.
#[derive(Serialize, Deserialize)]
struct StoredShape {
    id: EventId,
    tenant: TenantId,
    aggregate_type: SubjectKind,
    aggregate_id: Uuid,
    aggregate_version: u64,
    actor: Option<UserId>,
    occurred_at: DateTime<Utc>,
    payload: EventPayload,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cause: Option<Cause>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    imported: bool,
}

impl From<DomainEvent> for StoredShape {
    fn from(e: DomainEvent) -> Self {
        StoredShape {
            id: e.id,
            tenant: e.tenant,
            aggregate_type: e.subject.kind(),
            aggregate_id: e.subject.id(),
            aggregate_version: e.aggregate_version,
            actor: e.actor,
            occurred_at: e.occurred_at,
            payload: e.payload,
            cause: e.cause,
            imported: e.imported,
        }
    }
}

impl From<StoredShape> for DomainEvent {
    fn from(s: StoredShape) -> Self {
        DomainEvent {
            id: s.id,
            tenant: s.tenant,
            subject: Subject::new(s.aggregate_type, s.aggregate_id),
            aggregate_version: s.aggregate_version,
            actor: s.actor,
            occurred_at: s.occurred_at,
            payload: s.payload,
            cause: s.cause,
            imported: s.imported,
        }
    }
}

impl DomainEvent {
    pub fn kind(&self) -> EventKind {
        self.payload.kind()
    }

    /// An event about `subject`, whose version after the change is `version`.
    pub fn new(
        tenant: TenantId,
        subject: Subject,
        version: u64,
        actor: Option<UserId>,
        cause: Option<Cause>,
        now: Timestamp,
        payload: EventPayload,
    ) -> Self {
        DomainEvent {
            id: EventId::new(),
            tenant,
            subject,
            aggregate_version: version,
            actor,
            occurred_at: now,
            payload,
            cause,
            imported: false,
        }
    }

    /// The same event, marked as made by an import.
    pub fn imported(self) -> Self {
        DomainEvent {
            imported: true,
            ..self
        }
    }

    pub(crate) fn for_lead(
        lead: &Lead,
        actor: Option<UserId>,
        cause: Option<Cause>,
        now: Timestamp,
        payload: EventPayload,
    ) -> Self {
        // Events are built before `touch`; creation is version 1 already.
        let version = if matches!(payload, EventPayload::LeadCreated { .. }) {
            lead.version
        } else {
            lead.version + 1
        };
        DomainEvent::new(
            lead.tenant.clone(),
            Subject::Lead(lead.id),
            version,
            actor,
            cause,
            now,
            payload,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activity::ActivityKind;
    use crate::upload::{UploadKind, UploadStatus};
    use strum::IntoEnumIterator;

    fn score() -> ScoreBreakdown {
        ScoreBreakdown {
            urgency: 1,
            decision_role: 2,
            budget: 3,
            source: 4,
            current_brand: 5,
            total: 15,
        }
    }

    /// One payload of every kind, with every optional field set.
    fn samples() -> Vec<EventPayload> {
        let now = chrono::Utc::now();
        let user = Some(UserId::new());
        vec![
            EventPayload::LeadCreated {
                source: LeadSource::Referral,
                priority: Priority::A,
                score: score(),
                owner: user,
            },
            EventPayload::LeadUpdated {
                changed: vec!["notes".into()],
            },
            EventPayload::LeadPriorityChanged {
                from: Priority::B,
                to: Priority::A,
                score: score(),
            },
            EventPayload::LeadStatusChanged {
                from: LeadStatus::New,
                to: LeadStatus::Contacted,
            },
            EventPayload::LeadAssigned {
                from: user,
                to: UserId::new(),
                team: Some(TeamId::new()),
            },
            EventPayload::LeadFirstContacted {
                at: now,
                response_seconds: 60,
            },
            EventPayload::ActivityLogged {
                activity: ActivityId::new(),
                kind: ActivityKind::Call,
                occurred_at: now,
                structured: false,
            },
            EventPayload::TimerFired {
                timer: TimerId::new(),
                name: "first_contact".into(),
                due_at: now,
            },
            EventPayload::LeadReturnedToPool {
                from: user,
                reason: "no answer".into(),
            },
            EventPayload::LeadClaimed {
                by: UserId::new(),
                team: Some(TeamId::new()),
            },
            EventPayload::UploadCreated {
                kind: UploadKind::Card,
                file_name: "card.jpg".into(),
                size: 1,
            },
            EventPayload::UploadStatusChanged {
                from: UploadStatus::Processing,
                to: UploadStatus::Failed,
                error: Some("not_an_image".into()),
            },
            EventPayload::DealCreated {
                pipeline: "default".into(),
                stage: "new".into(),
                amount: 10,
                currency: "CNY".into(),
                owner: UserId::new(),
            },
            EventPayload::DealUpdated {
                changed: vec!["amount".into()],
            },
            EventPayload::DealStageChanged {
                from: "new".into(),
                to: "first_call".into(),
                status: StageKind::Open,
                seconds_in_previous: 60,
                overridden: false,
            },
            EventPayload::ContactAdded {
                contact: crate::id::ContactId::new(),
                role: Some("technical".into()),
            },
            EventPayload::ContactUpdated {
                contact: crate::id::ContactId::new(),
                changed: vec!["emails".into()],
            },
            EventPayload::VisitCheckedIn {
                customer: crate::id::CustomerId::new(),
                distance_m: Some(42),
                far: false,
            },
            EventPayload::VisitCheckedOut {
                customer: crate::id::CustomerId::new(),
                valid: true,
                dwell_minutes: 25,
            },
            EventPayload::CustomerCreated {
                name: "苏州精密机械有限公司".into(),
            },
            EventPayload::CustomerUpdated {
                changed: vec!["tags".into()],
            },
            EventPayload::CustomerMerged {
                duplicate: crate::id::CustomerId::new(),
            },
            EventPayload::PurchaseRecorded {
                reference: "INV-1".into(),
                amount: 600_000,
                currency: "CNY".into(),
                at: DateTime::UNIX_EPOCH,
            },
            EventPayload::ShelfAudited {
                upload: crate::id::UploadId::new(),
                visit: Some(crate::id::VisitId::new()),
                price_tags: 6,
                gaps: 1,
                out_of_stock: true,
                under_floor: 1,
                under_floor_prices: vec!["2.50".into()],
                key_store: true,
            },
            EventPayload::SaleTagSpiked {
                region: "none".into(),
                week: "2026-W48".into(),
                tag: "obstacle:太贵".into(),
                count: 30,
                sales: 100,
                share_permille: 300,
                baseline_permille: 100,
            },
            EventPayload::MaterialOpened {
                pack: crate::id::MaterialPackId::new(),
                name: "方案与报价".into(),
                opens: 1,
            },
            EventPayload::OrderCreated {
                customer: crate::id::CustomerId::new(),
                channel: "direct".into(),
                total: 128_000,
                currency: "CNY".into(),
            },
            EventPayload::OrderStatusChanged {
                customer: crate::id::CustomerId::new(),
                from: "draft".into(),
                to: "submitted".into(),
                holds: vec!["credit_frozen".into()],
                total: 128_000,
                currency: "CNY".into(),
            },
            EventPayload::OrderPaid {
                customer: crate::id::CustomerId::new(),
                amount: 28_000,
                paid: 128_000,
                balance: 0,
                invoiceable: true,
            },
        ]
    }

    #[test]
    fn every_kind_has_a_sample_and_its_rule_fields_match_the_payload() {
        let samples = samples();
        let kinds: Vec<EventKind> = samples.iter().map(EventPayload::kind).collect();
        assert_eq!(kinds, EventKind::iter().collect::<Vec<_>>());
        for payload in samples {
            let mut paths = crate::subject::leaf_paths(&serde_json::to_value(&payload).unwrap());
            assert!(paths.remove("type"));
            let listed: std::collections::BTreeSet<String> = payload
                .kind()
                .fields()
                .iter()
                .map(|s| s.to_string())
                .collect();
            assert_eq!(paths, listed, "{}", payload.kind());
            assert_eq!(
                serde_json::to_value(payload.kind()).unwrap(),
                serde_json::json!(payload.kind().as_str())
            );
        }
    }

    #[test]
    fn events_keep_their_stored_shape() {
        let lead = crate::LeadId::new();
        let e = DomainEvent::new(
            TenantId::parse("acme").unwrap(),
            Subject::Lead(lead),
            3,
            None,
            None,
            chrono::Utc::now(),
            EventPayload::LeadUpdated { changed: vec![] },
        );
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["aggregate_type"], "lead");
        assert_eq!(v["aggregate_id"], lead.to_string());
        assert_eq!(serde_json::from_value::<DomainEvent>(v.clone()).unwrap(), e);
        // Events stored before the import marker read as not imported; the marker is kept.
        assert_eq!(v.get("imported"), None, "written only when set");
        let imported = e.clone().imported();
        let stored = serde_json::to_value(&imported).unwrap();
        assert_eq!(stored["imported"], true);
        assert!(
            serde_json::from_value::<DomainEvent>(stored)
                .unwrap()
                .imported
        );
    }
}
