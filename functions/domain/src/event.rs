//! Domain events: the facts every change emits. They are written in the same transaction as
//! the change (the outbox), so timers, rules and webhooks see each one exactly once per consumer.

use crate::Timestamp;
use crate::activity::ActivityKind;
use crate::id::{ActivityId, EventId, TeamId, TenantId, TimerId, UserId};
use crate::lead::{Lead, LeadSource, LeadStatus};
use crate::scoring::{Priority, ScoreBreakdown};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
}

impl EventPayload {
    /// A stable name for routing and storage (`lead_created`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            EventPayload::LeadCreated { .. } => "lead_created",
            EventPayload::LeadUpdated { .. } => "lead_updated",
            EventPayload::LeadPriorityChanged { .. } => "lead_priority_changed",
            EventPayload::LeadStatusChanged { .. } => "lead_status_changed",
            EventPayload::LeadAssigned { .. } => "lead_assigned",
            EventPayload::LeadFirstContacted { .. } => "lead_first_contacted",
            EventPayload::ActivityLogged { .. } => "activity_logged",
            EventPayload::TimerFired { .. } => "timer_fired",
            EventPayload::LeadReturnedToPool { .. } => "lead_returned_to_pool",
            EventPayload::LeadClaimed { .. } => "lead_claimed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DomainEvent {
    pub id: EventId,
    pub tenant: TenantId,
    /// `lead`, later `customer`, `deal`, ...
    pub aggregate_type: String,
    pub aggregate_id: Uuid,
    /// The aggregate's version after the change, for ordering and dedup downstream.
    pub aggregate_version: u64,
    /// The user whose request caused it; `None` for automatic actions.
    pub actor: Option<UserId>,
    pub occurred_at: DateTime<Utc>,
    pub payload: EventPayload,
    /// Set when an automation rule caused the event: which rule, and how deep in a chain of
    /// rule-caused events it sits (the loop guard).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<Cause>,
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

impl DomainEvent {
    pub(crate) fn for_lead(
        lead: &Lead,
        actor: Option<UserId>,
        cause: Option<Cause>,
        now: Timestamp,
        payload: EventPayload,
    ) -> Self {
        DomainEvent {
            id: EventId::new(),
            tenant: lead.tenant.clone(),
            aggregate_type: "lead".into(),
            aggregate_id: lead.id.as_uuid(),
            // Events are built before `touch`; creation is version 1 already.
            aggregate_version: if matches!(payload, EventPayload::LeadCreated { .. }) {
                lead.version
            } else {
                lead.version + 1
            },
            actor,
            occurred_at: now,
            payload,
            cause,
        }
    }
}
