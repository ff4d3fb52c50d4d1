//! Deals (商机): a customer's opportunity moving through a pipeline. Every stage move is
//! checked against the target stage's gate and kept in an append-only stage log, from which
//! dwell times, penetration rates and forecasts are rebuilt.

use crate::access::Actor;
use crate::activity::{Activity, ActivityKind, LogTarget, NewActivity};
use crate::customer::{Contact, Customer, CustomerKind};
use crate::error::DomainError;
use crate::event::{DomainEvent, EventPayload};
use crate::id::{ActivityId, ContactId, CustomerId, DealId, LeadId, TeamId, TenantId, UserId};
use crate::lead::{Lead, LeadStatus};
use crate::pipeline::{Pipeline, StageKind, unmet};
use crate::subject::Subject;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Deal {
    pub id: DealId,
    pub tenant: TenantId,
    pub title: String,
    pub customer: CustomerId,
    pub contacts: Vec<ContactId>,
    pub owner: UserId,
    pub team: Option<TeamId>,
    /// Whole units of `currency`; 0 until known.
    pub amount: u64,
    /// ISO 4217.
    pub currency: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub expected_close: Option<NaiveDate>,
    pub source_lead: Option<LeadId>,
    pub pipeline: String,
    pub stage: String,
    /// The kind of the current stage: open, won or lost.
    pub status: StageKind,
    /// When it entered its current stage: the rotting clock starts here.
    pub stage_entered_at: DateTime<Utc>,
    /// When it goes overdue in this stage (entered + the stage's rotting limit); `None` for
    /// a stage without a limit and for closed deals. Stored, so "overdue" is a query.
    pub rots_at: Option<DateTime<Utc>>,
    /// The tenant's reason key when lost.
    pub lost_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// The latest activities (at most 3, newest first), so a list shows what happened last
    /// without a read per deal.
    #[serde(default)]
    pub recent_activities: Vec<ActivityRef>,
    pub version: u64,
}

/// An activity as a deal list shows it: enough to read, with the id to open it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActivityRef {
    pub id: ActivityId,
    pub kind: ActivityKind,
    /// The summary's first 120 characters.
    pub summary: String,
    pub occurred_at: DateTime<Utc>,
}

/// How many activities a deal carries for its list item.
pub const RECENT_ACTIVITIES: usize = 3;

/// The fields rules and gates may read under `deal.` (see `SubjectKind::fields`).
pub(crate) const RULE_FIELDS: &[&str] = &[
    "id",
    "tenant",
    "title",
    "customer",
    "contacts",
    "owner",
    "team",
    "amount",
    "currency",
    "expected_close",
    "source_lead",
    "pipeline",
    "stage",
    "status",
    "stage_entered_at",
    "rots_at",
    "lost_reason",
    "created_at",
    "updated_at",
    "closed_at",
    "recent_activities",
    "version",
];

/// One line of a deal's stage log. Append-only: forecasts and penetration rates are rebuilt
/// from it, so it is kept from the first day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StageChange {
    pub tenant: TenantId,
    pub deal: DealId,
    /// `None` for the stage the deal was created in.
    pub from: Option<String>,
    pub to: String,
    pub at: DateTime<Utc>,
    pub by: UserId,
    pub reason: Option<String>,
    /// Seconds spent in `from` (0 on creation).
    pub seconds_in_previous: i64,
    /// The gate requirements a manager overrode to allow this move (their messages, in
    /// English), empty for a normal move.
    #[serde(default)]
    pub overridden: Vec<String>,
    /// The deal's version after the move: orders the log.
    pub version: u64,
}

/// What a new deal starts from (a converted lead, or a rep's entry).
#[derive(Debug, Clone)]
pub struct DealDraft {
    pub title: String,
    pub customer: CustomerId,
    pub contacts: Vec<ContactId>,
    pub owner: UserId,
    pub team: Option<TeamId>,
    pub amount: u64,
    pub currency: String,
    pub expected_close: Option<NaiveDate>,
    pub source_lead: Option<LeadId>,
}

/// A change to an open deal's terms. An absent field is left alone; `null` clears the date.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DealPatch {
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub title: Option<String>,
    pub amount: Option<u64>,
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[A-Z]{3}$"))]
    pub currency: Option<String>,
    #[serde(default, deserialize_with = "crate::lead::present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub expected_close: Option<Option<NaiveDate>>,
}

/// A refused stage move.
#[derive(Debug, Clone, PartialEq)]
pub enum MoveError {
    /// Not a move this deal can make (unknown stage, same stage, a closed deal, no reason).
    Invalid(DomainError),
    /// The target stage's gate is not met: one message per missing piece of evidence, in
    /// both languages.
    Blocked(Vec<crate::pipeline::Localized>),
    Forbidden(String),
}

impl From<DomainError> for MoveError {
    fn from(e: DomainError) -> Self {
        MoveError::Invalid(e)
    }
}

/// A stage move as asked for.
#[derive(Debug, Clone)]
pub struct StageMove<'a> {
    pub to: &'a str,
    /// Required to lose a deal (a key of the pipeline's lost reasons) and to override a gate.
    pub reason: Option<&'a str>,
    /// A manager's choice to move past unmet requirements (audited).
    pub override_gate: bool,
}

impl Deal {
    /// A deal in `pipeline`'s first open stage, with its `deal_created` event and first log
    /// line.
    pub fn create(
        draft: DealDraft,
        id: DealId,
        pipeline: &Pipeline,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(Deal, StageChange, DomainEvent), DomainError> {
        let title = draft.title.trim();
        if title.is_empty() || title.chars().count() > 200 {
            return Err(DomainError::invalid("title", "1-200 characters"));
        }
        if iso_currency::Currency::from_code(&draft.currency).is_none() {
            return Err(DomainError::invalid(
                "currency",
                "must be an ISO 4217 code such as CNY",
            ));
        }
        let stage = pipeline.first_stage();
        let deal = Deal {
            id,
            tenant: actor.tenant.clone(),
            title: title.to_owned(),
            customer: draft.customer,
            contacts: draft.contacts,
            owner: draft.owner,
            team: draft.team,
            amount: draft.amount,
            currency: draft.currency,
            expected_close: draft.expected_close,
            source_lead: draft.source_lead,
            pipeline: pipeline.id.clone(),
            stage: stage.key.clone(),
            status: stage.kind,
            stage_entered_at: now,
            rots_at: rots_at(stage, now),
            lost_reason: None,
            created_at: now,
            updated_at: now,
            closed_at: None,
            recent_activities: Vec::new(),
            version: 1,
        };
        let change = StageChange {
            tenant: deal.tenant.clone(),
            deal: id,
            from: None,
            to: deal.stage.clone(),
            at: now,
            by: actor.user,
            reason: None,
            seconds_in_previous: 0,
            overridden: Vec::new(),
            version: 1,
        };
        let event = deal.event(
            actor,
            now,
            EventPayload::DealCreated {
                pipeline: deal.pipeline.clone(),
                stage: deal.stage.clone(),
                amount: deal.amount,
                currency: deal.currency.clone(),
                owner: deal.owner,
            },
        );
        Ok((deal, change, event))
    }

    fn event(&self, actor: &Actor, now: DateTime<Utc>, payload: EventPayload) -> DomainEvent {
        DomainEvent::new(
            self.tenant.clone(),
            Subject::Deal(self.id),
            self.version,
            Some(actor.user),
            None,
            now,
            payload,
        )
    }

    /// Moves the deal to another stage of its pipeline if the target's gate is met (or a
    /// manager overrides it with a reason). Losing needs a reason from the tenant's list;
    /// a won or lost deal can be reopened by a manager only.
    /// `log` is the deal's activity log, the evidence attachment and activity requirements
    /// read.
    pub fn move_stage(
        &mut self,
        pipeline: &Pipeline,
        request: &StageMove<'_>,
        log: &[Activity],
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(StageChange, DomainEvent), MoveError> {
        let manager = actor.role.oversees();
        let target = pipeline.stage(request.to).ok_or_else(|| {
            DomainError::invalid(
                "to",
                format!("{} is not a stage of this pipeline", request.to),
            )
        })?;
        if target.key == self.stage {
            return Err(DomainError::InvalidTransition {
                from: self.stage.clone(),
                to: target.key.clone(),
            }
            .into());
        }
        if self.status != StageKind::Open && !manager {
            return Err(MoveError::Forbidden(
                "a closed deal is reopened by a manager".into(),
            ));
        }
        let reason = request.reason.map(str::trim).filter(|r| !r.is_empty());
        if reason.is_some_and(|r| r.chars().count() > 1000) {
            return Err(DomainError::invalid("reason", "at most 1000 characters").into());
        }
        if target.kind == StageKind::Lost {
            match reason {
                Some(key) if pipeline.lost_reason(key).is_some() => {}
                _ => {
                    let keys: Vec<&str> = pipeline
                        .lost_reasons
                        .iter()
                        .map(|r| r.key.as_str())
                        .collect();
                    return Err(DomainError::invalid(
                        "reason",
                        format!("a lost deal needs one of: {}", keys.join(", ")),
                    )
                    .into());
                }
            }
        }
        let deal_json = serde_json::to_value(&*self).unwrap_or_default();
        let missing: Vec<_> = unmet(target, &deal_json, log, now)
            .into_iter()
            .map(|r| r.message.clone())
            .collect();
        let mut overridden = Vec::new();
        if !missing.is_empty() {
            if !request.override_gate {
                return Err(MoveError::Blocked(missing));
            }
            if !manager {
                return Err(MoveError::Forbidden(
                    "only managers may move a deal past its gate".into(),
                ));
            }
            if reason.is_none() {
                return Err(DomainError::invalid(
                    "reason",
                    "an override needs a reason of its own",
                )
                .into());
            }
            overridden = missing.into_iter().map(|m| m.en).collect();
        }
        let from = std::mem::replace(&mut self.stage, target.key.clone());
        let seconds_in_previous = (now - self.stage_entered_at).num_seconds().max(0);
        self.status = target.kind;
        self.stage_entered_at = now;
        self.rots_at = rots_at(target, now);
        self.lost_reason =
            (target.kind == StageKind::Lost).then(|| reason.unwrap_or("").to_owned());
        self.closed_at = (target.kind != StageKind::Open).then_some(now);
        self.updated_at = now;
        self.version += 1;
        let change = StageChange {
            tenant: self.tenant.clone(),
            deal: self.id,
            from: Some(from.clone()),
            to: self.stage.clone(),
            at: now,
            by: actor.user,
            reason: reason.map(str::to_owned),
            seconds_in_previous,
            overridden: overridden.clone(),
            version: self.version,
        };
        let event = self.event(
            actor,
            now,
            EventPayload::DealStageChanged {
                from,
                to: self.stage.clone(),
                status: self.status,
                seconds_in_previous,
                overridden: !overridden.is_empty(),
            },
        );
        Ok((change, event))
    }

    /// Changes the deal's terms while it is open; returns `deal_updated` naming what changed
    /// (nothing when nothing did, so a retried PATCH is harmless).
    pub fn apply_patch(
        &mut self,
        patch: &DealPatch,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Vec<DomainEvent>, DomainError> {
        if self.status != StageKind::Open {
            return Err(DomainError::InvalidTransition {
                from: self.status.to_string(),
                to: "edited (reopen the deal first)".into(),
            });
        }
        let mut next = self.clone();
        let mut changed = Vec::new();
        if let Some(title) = &patch.title {
            if title.chars().count() > 200 || title.trim().is_empty() {
                return Err(DomainError::invalid("title", "1-200 characters"));
            }
            if title.trim() != self.title {
                next.title = title.trim().to_owned();
                changed.push("title".to_owned());
            }
        }
        if let Some(amount) = patch.amount.filter(|a| *a != self.amount) {
            next.amount = amount;
            changed.push("amount".to_owned());
        }
        if let Some(currency) = patch.currency.as_ref().filter(|c| **c != self.currency) {
            if iso_currency::Currency::from_code(currency).is_none() {
                return Err(DomainError::invalid(
                    "currency",
                    "must be an ISO 4217 code such as CNY",
                ));
            }
            next.currency = currency.clone();
            changed.push("currency".to_owned());
        }
        if let Some(close) = patch.expected_close.filter(|c| *c != self.expected_close) {
            next.expected_close = close;
            changed.push("expected_close".to_owned());
        }
        if changed.is_empty() {
            return Ok(Vec::new());
        }
        next.updated_at = now;
        next.version += 1;
        *self = next;
        Ok(vec![self.event(
            actor,
            now,
            EventPayload::DealUpdated { changed },
        )])
    }

    /// The activity a client logs on the deal (a call, a structured note, a manager's
    /// approval), with its `activity_logged` event. Closed deals take activities too: what
    /// happens after a loss is what a reopening is argued from.
    pub fn log_activity(
        &mut self,
        input: &NewActivity,
        id: ActivityId,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(Activity, DomainEvent), DomainError> {
        let activity = Activity::record(input, id, &self.log_target(), actor, now)?;
        let event = self.attach(&activity, actor, now);
        Ok((activity, event))
    }

    /// Where activities on this deal are logged.
    pub fn log_target(&self) -> LogTarget<'_> {
        LogTarget {
            subject: Subject::Deal(self.id),
            tenant: &self.tenant,
            created_at: self.created_at,
        }
    }

    /// Adds an activity (a client's or a checked upload's) to the deal's recent list and
    /// returns its `activity_logged` event.
    pub fn attach(
        &mut self,
        activity: &Activity,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> DomainEvent {
        self.recent_activities.push(ActivityRef {
            id: activity.id,
            kind: activity.kind,
            summary: activity.summary.chars().take(120).collect(),
            occurred_at: activity.occurred_at,
        });
        self.recent_activities
            .sort_by_key(|a| std::cmp::Reverse((a.occurred_at, a.id)));
        self.recent_activities.truncate(RECENT_ACTIVITIES);
        self.updated_at = now;
        self.version += 1;
        self.event(
            actor,
            now,
            EventPayload::ActivityLogged {
                activity: activity.id,
                kind: activity.kind,
                occurred_at: activity.occurred_at,
                structured: activity.structured.is_some(),
            },
        )
    }

    /// Whole days past the current stage's rotting limit; 0 when not overdue (or closed).
    pub fn overdue_days(&self, now: DateTime<Utc>) -> u32 {
        self.rots_at.map_or(0, |at| {
            (now - at).num_days().clamp(0, i64::from(u32::MAX)) as u32
        })
    }
}

fn rots_at(stage: &crate::pipeline::Stage, entered: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let days = stage
        .rotting_days
        .filter(|_| stage.kind == StageKind::Open)?;
    Some(entered + chrono::Duration::days(i64::from(days)))
}

/// The currency of a tenant's country (`CN` → `CNY`, `US` → `USD`): what a deal is counted in
/// when its lead stated no budget. `CNY` for a region the ISO tables do not know.
pub fn home_currency(region: &str) -> String {
    region
        .to_ascii_uppercase()
        .parse::<iso_currency::Country>()
        .map(|c| iso_currency::Currency::from(c).code().to_owned())
        .unwrap_or_else(|_| "CNY".to_owned())
}

/// Everything converting a lead makes, for the store to write in one transaction.
#[derive(Debug, Clone)]
pub struct Converted {
    pub customer: Customer,
    pub contact: Contact,
    /// Whether the customer and the contact are new records (else the tenant had them).
    pub new_customer: bool,
    pub new_contact: bool,
    pub deal: Deal,
    pub first_stage: StageChange,
    /// The lead's status change and the deal's creation.
    pub events: Vec<DomainEvent>,
}

impl Converted {
    /// Moves the conversion onto records the tenant already has, so a company is one
    /// customer however many of its leads convert: `contact`, a person already known by a
    /// phone or e-mail, brings their customer; else `customer`, a company known by name.
    /// The deal belongs to that customer and names that person. A known person at another
    /// company than the one chosen stays out (the lead's person is added there as new).
    pub fn onto(mut self, customer: Option<Customer>, contact: Option<Contact>) -> Converted {
        if let Some(customer) = customer {
            self.contact.customer = customer.id;
            self.deal.customer = customer.id;
            self.customer = customer;
            self.new_customer = false;
        }
        if let Some(contact) = contact.filter(|c| c.customer == self.customer.id) {
            self.deal.contacts = vec![contact.id];
            self.contact = contact;
            self.new_contact = false;
        }
        self
    }
}

/// Ids for the records a conversion makes (chosen by the caller, like every id).
#[derive(Debug, Clone, Copy)]
pub struct ConversionIds {
    pub customer: CustomerId,
    pub contact: ContactId,
    pub deal: DealId,
}

/// Turns a qualified lead into a customer (its company, or the person when there is none),
/// a contact (the person, with their decision role) and a deal in `pipeline`'s first stage,
/// sized by the stated budget. The lead becomes `converted`.
pub fn convert_lead(
    lead: &mut Lead,
    ids: ConversionIds,
    pipeline: &Pipeline,
    actor: &Actor,
    now: DateTime<Utc>,
    default_currency: &str,
) -> Result<Converted, DomainError> {
    if lead.status != LeadStatus::Qualified {
        return Err(DomainError::InvalidTransition {
            from: lead.status.to_string(),
            to: "converted (qualify the lead first)".into(),
        });
    }
    let owner = lead
        .owner
        .ok_or_else(|| DomainError::invalid("owner", "assign the lead before converting it"))?;
    let mut events = lead.mark_converted(actor, now);
    let company = lead.contact.company.clone();
    let customer = Customer {
        id: ids.customer,
        tenant: lead.tenant.clone(),
        name: company.clone().unwrap_or_else(|| lead.contact.name.clone()),
        kind: CustomerKind::default(),
        owner,
        team: lead.team,
        addresses: vec![],
        tags: vec![],
        origin_lead: Some(lead.id),
        created_at: now,
        version: 1,
        merged_into: None,
    };
    let contact = Contact {
        id: ids.contact,
        tenant: lead.tenant.clone(),
        customer: customer.id,
        name: lead.contact.name.clone(),
        title: lead.contact.title.clone(),
        phones: lead.contact.phone.clone().into_iter().collect(),
        emails: lead.contact.email.clone().into_iter().collect(),
        decision_role: lead.prescreen.decision_role,
        role: None,
        added_at: Some(now),
    };
    let budget = lead.prescreen.budget.as_ref();
    let draft = DealDraft {
        title: customer.name.as_str().to_owned(),
        customer: customer.id,
        contacts: vec![contact.id],
        owner,
        team: lead.team,
        amount: budget.and_then(|b| b.upper_amount()).unwrap_or(0),
        currency: budget.map_or_else(|| default_currency.to_owned(), |b| b.currency.clone()),
        expected_close: None,
        source_lead: Some(lead.id),
    };
    let (deal, first_stage, created) = Deal::create(draft, ids.deal, pipeline, actor, now)?;
    events.push(created);
    Ok(Converted {
        customer,
        contact,
        new_customer: true,
        new_contact: true,
        deal,
        first_stage,
        events,
    })
}

/// Deals with a history, built through the real state machine, for the report tests.
#[cfg(test)]
pub(crate) mod test_support {
    use super::*;
    use crate::user::Role;

    /// An activity log holding the quote the default pipeline's price stage asks for.
    pub fn quote_sent(deal: &Deal, at: DateTime<Utc>) -> Vec<Activity> {
        let file = crate::activity::AttachmentFile {
            upload: crate::id::UploadId::new(),
            file_name: "报价单-2026.pdf".into(),
            content_type: "application/pdf".into(),
            size: 1000,
        };
        vec![Activity::attachment(
            ActivityId::new(),
            &deal.log_target(),
            file,
            deal.owner,
            at,
        )]
    }

    /// A deal of `team` created at `start` that walks `path` (stage, at) as a manager would:
    /// its log is what the store would hold. Lost moves give the reason `price`.
    pub(crate) fn walked(
        p: &Pipeline,
        team: Option<TeamId>,
        amount: u64,
        expected_close: Option<NaiveDate>,
        start: DateTime<Utc>,
        path: &[(&str, DateTime<Utc>)],
    ) -> (Deal, Vec<StageChange>) {
        let actor = Actor {
            user: UserId::new(),
            tenant: p.tenant.clone(),
            role: Role::Manager,
            team,
        };
        let draft = DealDraft {
            title: "d".into(),
            customer: CustomerId::new(),
            contacts: vec![],
            owner: actor.user,
            team,
            amount,
            currency: "CNY".into(),
            expected_close,
            source_lead: None,
        };
        let (mut deal, first, _) = Deal::create(draft, DealId::new(), p, &actor, start).unwrap();
        let quote = quote_sent(&deal, start);
        let mut log = vec![first];
        for (to, at) in path {
            let reason = (*to == "lost").then_some("price");
            let mv = StageMove {
                to,
                reason,
                override_gate: false,
            };
            log.push(deal.move_stage(p, &mv, &quote, &actor, *at).unwrap().0);
        }
        (deal, log)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::user::Role;
    use chrono::{Duration, TimeZone};

    fn actor(role: Role) -> Actor {
        Actor {
            user: UserId::new(),
            tenant: TenantId::parse("acme").unwrap(),
            role,
            team: None,
        }
    }

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap()
    }

    fn deal(amount: u64) -> (Deal, Pipeline) {
        let rep = actor(Role::Rep);
        let pipeline = Pipeline::default_for(&rep.tenant);
        let draft = DealDraft {
            title: "苏州精密 产线改造".into(),
            customer: CustomerId::new(),
            contacts: vec![],
            owner: rep.user,
            team: None,
            amount,
            currency: "CNY".into(),
            expected_close: None,
            source_lead: None,
        };
        let (deal, change, event) =
            Deal::create(draft, DealId::new(), &pipeline, &rep, t0()).unwrap();
        assert_eq!((change.from, change.to.as_str()), (None, "new"));
        assert_eq!(event.kind().as_str(), "deal_created");
        (deal, pipeline)
    }

    fn to<'a>(stage: &'a str) -> StageMove<'a> {
        StageMove {
            to: stage,
            reason: None,
            override_gate: false,
        }
    }

    fn company(name: &str) -> Customer {
        Customer {
            id: CustomerId::new(),
            tenant: TenantId::parse("acme").unwrap(),
            name: crate::contact::PersonName::parse(name).unwrap(),
            kind: CustomerKind::default(),
            owner: UserId::new(),
            team: None,
            addresses: vec![],
            tags: vec![],
            origin_lead: None,
            created_at: t0(),
            version: 1,
            merged_into: None,
        }
    }

    fn person(at: &Customer) -> Contact {
        Contact {
            id: crate::id::ContactId::new(),
            tenant: at.tenant.clone(),
            customer: at.id,
            name: crate::contact::PersonName::parse("王建国").unwrap(),
            title: None,
            phones: vec![],
            emails: vec![],
            decision_role: crate::customer::DecisionRole::Unknown,
            role: None,
            added_at: None,
        }
    }

    #[test]
    fn a_conversion_moves_onto_the_company_and_person_the_tenant_knows() {
        let (mut d, p) = deal(10);
        let fresh = company("苏州精密机械有限公司");
        let new_person = person(&fresh);
        d.customer = fresh.id;
        d.contacts = vec![new_person.id];
        let first = StageChange {
            tenant: d.tenant.clone(),
            deal: d.id,
            from: None,
            to: p.first_stage().key.clone(),
            at: t0(),
            by: d.owner,
            reason: None,
            seconds_in_previous: 0,
            overridden: vec![],
            version: 1,
        };
        let made = Converted {
            customer: fresh.clone(),
            contact: new_person.clone(),
            new_customer: true,
            new_contact: true,
            deal: d,
            first_stage: first,
            events: vec![],
        };
        // Nothing known: all new.
        let same = made.clone().onto(None, None);
        assert!(same.new_customer && same.new_contact);
        // The company known: the deal and the new person move to it.
        let known = company("苏州精密机械");
        let joined = made.clone().onto(Some(known.clone()), None);
        assert!(!joined.new_customer && joined.new_contact);
        assert_eq!(
            (joined.deal.customer, joined.contact.customer),
            (known.id, known.id)
        );
        // The person known at that company: the deal names them; nobody new.
        let them = person(&known);
        let both = made.clone().onto(Some(known.clone()), Some(them.clone()));
        assert!(!both.new_customer && !both.new_contact);
        assert_eq!(both.deal.contacts, vec![them.id]);
        // A known person at another company stays out.
        let elsewhere = person(&company("常州精工"));
        let apart = made.onto(Some(known.clone()), Some(elsewhere));
        assert!(apart.new_contact);
        assert_eq!(apart.deal.contacts, vec![apart.contact.id]);
    }

    #[test]
    fn a_move_logs_the_dwell_in_the_previous_stage() {
        let (mut d, p) = deal(0);
        let rep = actor(Role::Rep);
        let (change, event) = d
            .move_stage(&p, &to("first_call"), &[], &rep, t0() + Duration::hours(5))
            .unwrap();
        assert_eq!(change.from.as_deref(), Some("new"));
        assert_eq!(change.seconds_in_previous, 5 * 3600);
        assert_eq!(change.version, 2);
        assert_eq!(event.kind().as_str(), "deal_stage_changed");
        assert_eq!(d.stage_entered_at, t0() + Duration::hours(5));
    }

    #[test]
    fn a_gate_blocks_with_a_message_per_missing_piece_and_a_manager_may_override() {
        let (mut d, p) = deal(0);
        let rep = actor(Role::Rep);
        match d.move_stage(&p, &to("price_negotiation"), &[], &rep, t0()) {
            Err(MoveError::Blocked(msgs)) => {
                assert_eq!(msgs.len(), 2, "the amount and the quote");
                assert!(msgs[0].zh.contains("金额"));
                assert!(msgs[1].zh.contains("报价单"));
            }
            other => panic!("{other:?}"),
        }
        let forced = StageMove {
            to: "price_negotiation",
            reason: Some("客户口头确认预算"),
            override_gate: true,
        };
        assert!(matches!(
            d.move_stage(&p, &forced, &[], &rep, t0()),
            Err(MoveError::Forbidden(_))
        ));
        let manager = actor(Role::Manager);
        let (change, _) = d.move_stage(&p, &forced, &[], &manager, t0()).unwrap();
        assert_eq!(change.overridden.len(), 2);
        assert_eq!(change.reason.as_deref(), Some("客户口头确认预算"));
        // With the amount and the quote the gate opens for anyone.
        let (mut d, p) = deal(50_000);
        let quote = test_support::quote_sent(&d, t0());
        d.move_stage(&p, &to("price_negotiation"), &quote, &rep, t0())
            .unwrap();
    }

    /// The seeds' quote gate: a PDF named 报价单 or quote, sent within 72 h of the
    /// customer's last message and not before it.
    #[test]
    fn the_quote_gate_reads_type_name_and_timing_from_the_activity_log() {
        let (mut d, p) = deal(50_000);
        let rep = actor(Role::Rep);
        let target = p.stage("price_negotiation").unwrap();
        let json = |d: &Deal| serde_json::to_value(d).unwrap();
        let file = |name: &str, ct: &str, at| {
            Activity::attachment(
                ActivityId::new(),
                &d.log_target(),
                crate::activity::AttachmentFile {
                    upload: crate::id::UploadId::new(),
                    file_name: name.into(),
                    content_type: ct.into(),
                    size: 10,
                },
                rep.user,
                at,
            )
        };
        let message = |at| {
            let input = NewActivity {
                kind: ActivityKind::Message,
                summary: "客户：请尽快报价".into(),
                occurred_at: Some(at),
                structured: None,
                contact: None,
            };
            Activity::record(&input, ActivityId::new(), &d.log_target(), &rep, at).unwrap()
        };
        let unmet_count =
            |log: &[Activity], now| crate::pipeline::unmet(target, &json(&d), log, now).len();
        let t = |h: i64| t0() + Duration::hours(h);
        assert_eq!(unmet_count(&[], t(1)), 1);
        assert_eq!(
            unmet_count(&[file("Quote-v2.PDF", "application/pdf", t(1))], t(1)),
            0
        );
        assert_eq!(
            unmet_count(&[file("报价单.pdf", "image/png", t(1))], t(1)),
            1
        );
        assert_eq!(
            unmet_count(&[file("合同.pdf", "application/pdf", t(1))], t(1)),
            1
        );
        // Timing against the customer's last message.
        let in_time = [
            message(t(10)),
            message(t(2)),
            file("报价单.pdf", "application/pdf", t(80)),
        ];
        assert_eq!(unmet_count(&in_time, t(90)), 0);
        let late = [message(t(2)), file("报价单.pdf", "application/pdf", t(75))];
        assert_eq!(unmet_count(&late, t(90)), 1);
        let before = [file("报价单.pdf", "application/pdf", t(1)), message(t(2))];
        assert_eq!(
            unmet_count(&before, t(90)),
            1,
            "sent before the customer's last word"
        );
        d.move_stage(&p, &to("price_negotiation"), &in_time, &rep, t(90))
            .unwrap();
    }

    #[test]
    fn activities_keep_the_three_latest_on_the_deal() {
        let (mut d, _) = deal(10);
        let rep = actor(Role::Rep);
        for h in [3, 1, 4, 2] {
            let input = NewActivity {
                kind: ActivityKind::Call,
                summary: format!("call {h}"),
                occurred_at: Some(t0() + Duration::hours(h)),
                structured: None,
                contact: None,
            };
            let (_, event) = d
                .log_activity(&input, ActivityId::new(), &rep, t0() + Duration::hours(5))
                .unwrap();
            assert_eq!(event.kind().as_str(), "activity_logged");
        }
        let summaries: Vec<&str> = d
            .recent_activities
            .iter()
            .map(|a| a.summary.as_str())
            .collect();
        assert_eq!(summaries, ["call 4", "call 3", "call 2"]);
        assert_eq!(d.version, 5);
    }

    #[test]
    fn losing_needs_a_reason_from_the_list_and_closed_deals_stay_closed_for_reps() {
        let (mut d, p) = deal(10);
        let rep = actor(Role::Rep);
        assert!(matches!(
            d.move_stage(&p, &to("lost"), &[], &rep, t0()),
            Err(MoveError::Invalid(_))
        ));
        let lost = StageMove {
            to: "lost",
            reason: Some("competitor"),
            override_gate: false,
        };
        d.move_stage(&p, &lost, &[], &rep, t0()).unwrap();
        assert_eq!(d.status, StageKind::Lost);
        assert_eq!(d.lost_reason.as_deref(), Some("competitor"));
        assert!(d.closed_at.is_some());
        assert!(matches!(
            d.move_stage(&p, &to("new"), &[], &rep, t0()),
            Err(MoveError::Forbidden(_))
        ));
        d.move_stage(&p, &to("new"), &[], &actor(Role::Manager), t0())
            .unwrap();
        assert_eq!(
            (d.status, d.lost_reason.clone(), d.closed_at),
            (StageKind::Open, None, None)
        );
    }

    #[test]
    fn overdue_days_count_from_entering_the_stage() {
        let (mut d, p) = deal(10);
        // "new" rots after 2 days.
        assert_eq!(d.overdue_days(t0() + Duration::days(2)), 0);
        assert_eq!(d.overdue_days(t0() + Duration::days(9)), 7);
        let rep = actor(Role::Rep);
        d.move_stage(&p, &to("first_call"), &[], &rep, t0() + Duration::days(9))
            .unwrap();
        assert_eq!(d.overdue_days(t0() + Duration::days(10)), 0);
    }

    #[test]
    fn a_tenants_home_currency_follows_its_country() {
        assert_eq!(home_currency("CN"), "CNY");
        assert_eq!(home_currency("us"), "USD");
        assert_eq!(home_currency("VN"), "VND");
        assert_eq!(home_currency("ZZ"), "CNY");
    }

    #[test]
    fn rule_fields_match_the_serialised_deal() {
        let (d, _) = deal(10);
        let json = serde_json::to_value(&d).unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut expected: Vec<&str> = RULE_FIELDS.to_vec();
        expected.sort_unstable();
        let mut keys = keys;
        keys.sort_unstable();
        assert_eq!(keys, expected);
    }
}
