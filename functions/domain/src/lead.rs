//! A lead from first capture to conversion: validated input, automatic priority, owner,
//! a small status machine, and the events every change emits.

use crate::Timestamp;
use crate::access::Actor;
use crate::activity::{Activity, LogTarget, NewActivity};
use crate::contact::{ContactInfo, EmailAddress, PersonName, PhoneNumber, Region};
use crate::customer::DecisionRole;
use crate::error::DomainError;
use crate::event::{Cause, DomainEvent, EventPayload};
use crate::id::{ActivityId, LeadId, TeamId, TenantId, UserId};
use crate::scoring::{Priority, ScoreBreakdown, ScoringPolicy};
use crate::subject::Subject;
use crate::user::User;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

macro_rules! snake_enum {
    ($(#[$doc:meta])* $name:ident, $field:literal { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub enum $name { $($variant),+ }

        impl $name {
            pub fn as_str(&self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::error::DomainError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::error::DomainError::invalid(
                        $field,
                        concat!("must be one of: ", $($text, " "),+).trim_end(),
                    )),
                }
            }
        }
    };
}
pub(crate) use snake_enum;

snake_enum!(/// Where a lead came from; feeds scoring and channel reports.
    LeadSource, "source" {
    WebForm => "web_form",
    TradeShow => "trade_show",
    Referral => "referral",
    ColdCall => "cold_call",
    Partner => "partner",
    Advertising => "advertising",
    Import => "import",
    Event => "event",
    Other => "other",
});

snake_enum!(/// When the prospect says they will buy.
    PurchaseUrgency, "purchase_urgency" {
    Immediate => "immediate",
    WithinMonth => "within_month",
    WithinQuarter => "within_quarter",
    Later => "later",
    Unknown => "unknown",
});

snake_enum!(/// Where a lead is in its life. `converted` is final; `disqualified` can be reopened.
    LeadStatus, "status" {
    New => "new",
    Contacted => "contacted",
    Qualified => "qualified",
    Converted => "converted",
    Disqualified => "disqualified",
});

impl LeadStatus {
    /// The edges a change of status may take. Staying put is not a transition, and
    /// `converted` is not reached this way: converting makes the customer and the deal too
    /// (`deal::convert_lead`), so a lead is never converted without its deal.
    pub fn can_move_to(self, to: LeadStatus) -> bool {
        use LeadStatus::*;
        matches!(
            (self, to),
            (New, Contacted | Qualified | Disqualified)
                | (Contacted, Qualified | Disqualified)
                | (Qualified, Disqualified)
                | (Disqualified, New)
        )
    }
}

/// A stated budget. Amounts are whole units of `currency` (ISO 4217, e.g. CNY).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BudgetRange {
    pub min: Option<u64>,
    pub max: Option<u64>,
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[A-Z]{3}$", example = "CNY"))]
    pub currency: String,
}

impl BudgetRange {
    pub fn validate(&self) -> Result<(), DomainError> {
        if iso_currency::Currency::from_code(&self.currency).is_none() {
            return Err(DomainError::invalid(
                "prescreen.budget.currency",
                "must be an ISO 4217 code such as CNY",
            ));
        }
        match (self.min, self.max) {
            (None, None) => Err(DomainError::invalid("prescreen.budget", "needs min or max")),
            (Some(lo), Some(hi)) if lo > hi => Err(DomainError::invalid(
                "prescreen.budget",
                "min must not exceed max",
            )),
            _ => Ok(()),
        }
    }
    /// The amount scoring looks at: the top of the range, or its floor when open-ended.
    pub fn upper_amount(&self) -> Option<u64> {
        self.max.or(self.min)
    }
}

/// Pre-screen answers collected before a rep spends time on the lead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PreScreen {
    /// The brand the prospect uses today, if any.
    #[cfg_attr(
        feature = "openapi",
        schema(
            max_length = 100,
            pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
        )
    )]
    pub current_brand: Option<String>,
    pub purchase_urgency: PurchaseUrgency,
    pub decision_role: DecisionRole,
    pub budget: Option<BudgetRange>,
}

impl Default for PreScreen {
    fn default() -> Self {
        Self {
            current_brand: None,
            purchase_urgency: PurchaseUrgency::Unknown,
            decision_role: DecisionRole::Unknown,
            budget: None,
        }
    }
}

impl PreScreen {
    fn validate(&self) -> Result<(), DomainError> {
        if let Some(brand) = &self.current_brand {
            PersonName::parse_field(brand, "prescreen.current_brand")?;
        }
        if let Some(budget) = &self.budget {
            budget.validate()?;
        }
        Ok(())
    }
}

/// Raw contact fields as a client sends them; validated into `ContactInfo`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContactInput {
    #[cfg_attr(
        feature = "openapi",
        schema(
            max_length = 100,
            pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
        )
    )]
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// Blank means none.
    #[cfg_attr(
        feature = "openapi",
        schema(
            max_length = 100,
            pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*(?:[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?)?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
        )
    )]
    pub company: Option<String>,
    /// Blank means none.
    #[cfg_attr(
        feature = "openapi",
        schema(
            max_length = 100,
            pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*(?:[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?)?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
        )
    )]
    pub title: Option<String>,
}

impl ContactInput {
    /// Validates the fields, the phone in `region`'s numbering plan unless given with its
    /// country code.
    pub fn parse(&self, region: Region) -> Result<ContactInfo, DomainError> {
        let at = |e: DomainError, field: &str| match e {
            DomainError::InvalidField { message, .. } => DomainError::invalid(field, message),
            other => other,
        };
        let info = ContactInfo {
            name: PersonName::parse(&self.name).map_err(|e| at(e, "contact.name"))?,
            phone: non_blank(&self.phone)
                .map(|p| PhoneNumber::parse(p, region))
                .transpose()
                .map_err(|e| at(e, "contact.phone"))?,
            email: non_blank(&self.email)
                .map(EmailAddress::parse)
                .transpose()
                .map_err(|e| at(e, "contact.email"))?,
            company: unless_blank(&self.company)
                .map(|c| PersonName::parse_field(c, "contact.company"))
                .transpose()?,
            title: unless_blank(&self.title)
                .map(|t| PersonName::parse_field(t, "contact.title"))
                .transpose()?,
        };
        info.validate()?;
        Ok(info)
    }
}

fn non_blank(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The value as sent (so length limits count what was sent), unless it is blank.
fn unless_blank(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.trim().is_empty())
}

/// What a client sends to create a lead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewLead {
    pub source: LeadSource,
    pub contact: ContactInput,
    #[serde(default)]
    pub prescreen: PreScreen,
    /// Blank means none.
    #[cfg_attr(feature = "openapi", schema(max_length = 4000))]
    pub notes: Option<String>,
    /// Who should own it; reps always own what they create.
    pub owner: Option<UserId>,
}

const MAX_NOTES_CHARS: usize = 4000;

fn validate_notes(notes: &Option<String>) -> Result<Option<String>, DomainError> {
    if notes
        .as_ref()
        .is_some_and(|n| n.chars().count() > MAX_NOTES_CHARS)
    {
        return Err(DomainError::invalid(
            "notes",
            format!("must be at most {MAX_NOTES_CHARS} characters"),
        ));
    }
    Ok(non_blank(notes).map(str::to_owned))
}

/// A partial update. An absent field is left alone; `null` clears an optional field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LeadPatch {
    pub source: Option<LeadSource>,
    pub contact: Option<ContactInput>,
    pub prescreen: Option<PreScreen>,
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, max_length = 4000))]
    pub notes: Option<Option<String>>,
    pub status: Option<LeadStatus>,
}

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
pub(crate) fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A lead as stored and served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Lead {
    pub id: LeadId,
    pub tenant: TenantId,
    pub source: LeadSource,
    pub contact: ContactInfo,
    pub prescreen: PreScreen,
    pub notes: Option<String>,
    pub priority: Priority,
    /// The points behind `priority`, so nobody has to trust a bare letter.
    pub score: ScoreBreakdown,
    pub owner: Option<UserId>,
    /// The owner's team at assignment time; managers see their team's leads through it.
    pub team: Option<TeamId>,
    pub status: LeadStatus,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When a rep first called, visited or messaged; drives the 24 h response SLA.
    pub first_contact_at: Option<DateTime<Utc>>,
    /// Bumped by every change; writers must present the version they read.
    pub version: u64,
    /// In the tenant's public pool (no owner; any rep may claim it).
    #[serde(default)]
    pub in_pool: bool,
    /// Labels set by rules (`hot`, `competitor-abb`), for lists and filters.
    #[serde(default)]
    pub tags: Vec<String>,
}

/// The fields rules may read under `lead.` (see `SubjectKind::fields`); a test checks them
/// against a serialised lead.
pub(crate) const RULE_FIELDS: &[&str] = &[
    "id",
    "tenant",
    "source",
    "contact.name",
    "contact.phone",
    "contact.email",
    "contact.company",
    "contact.title",
    "prescreen.current_brand",
    "prescreen.purchase_urgency",
    "prescreen.decision_role",
    "prescreen.budget.min",
    "prescreen.budget.max",
    "prescreen.budget.currency",
    "notes",
    "priority",
    "score.urgency",
    "score.decision_role",
    "score.budget",
    "score.source",
    "score.current_brand",
    "score.total",
    "owner",
    "team",
    "status",
    "created_by",
    "created_at",
    "updated_at",
    "first_contact_at",
    "version",
    "in_pool",
    "tags",
];

/// Everything `Lead::create` needs besides the client's input.
pub struct CreateContext<'a> {
    pub id: LeadId,
    pub actor: &'a Actor,
    /// The resolved owner, already checked against `Actor::check_can_assign_to` by the caller.
    pub owner: Option<&'a User>,
    pub now: DateTime<Utc>,
    pub region: Region,
    pub policy: &'a ScoringPolicy,
}

/// The keys a lead with this contact is found by (its phone, its e-mail): what makes two
/// leads the same person.
pub fn contact_keys(contact: &ContactInfo) -> Vec<String> {
    let mut keys = Vec::new();
    if let Some(phone) = &contact.phone {
        keys.push(format!("lead:phone:{}", phone.e164()));
    }
    if let Some(email) = &contact.email {
        keys.push(format!("lead:email:{}", email.as_str().to_lowercase()));
    }
    keys
}

impl Lead {
    /// The keys a card is matched on before it makes another lead: the phone (already
    /// E.164) and the e-mail, case folded. Unlike a contact's, they are not exclusive: two
    /// leads may share a phone, a card only proposes to merge into one of them.
    pub fn contact_keys(&self) -> Vec<String> {
        contact_keys(&self.contact)
    }

    pub fn create(
        input: &NewLead,
        ctx: CreateContext<'_>,
    ) -> Result<(Lead, Vec<DomainEvent>), DomainError> {
        let contact = input.contact.parse(ctx.region)?;
        input.prescreen.validate()?;
        let notes = validate_notes(&input.notes)?;
        let (priority, score) = ctx.policy.score(input.source, &input.prescreen);
        let (owner, team) = match ctx.owner {
            Some(user) => (Some(user.id), user.team),
            // Unassigned leads stay visible to the creating manager's team.
            None => (None, ctx.actor.team.filter(|_| ctx.actor.role.oversees())),
        };
        let lead = Lead {
            id: ctx.id,
            tenant: ctx.actor.tenant.clone(),
            source: input.source,
            contact,
            prescreen: input.prescreen.clone(),
            notes,
            priority,
            score: score.clone(),
            owner,
            team,
            status: LeadStatus::New,
            created_by: ctx.actor.user,
            created_at: ctx.now,
            updated_at: ctx.now,
            first_contact_at: None,
            version: 1,
            in_pool: false,
            tags: Vec::new(),
        };
        let event = lead.event(
            ctx.actor,
            ctx.now,
            EventPayload::LeadCreated {
                source: lead.source,
                priority,
                score,
                owner,
            },
        );
        Ok((lead, vec![event]))
    }

    fn event(&self, actor: &Actor, now: Timestamp, payload: EventPayload) -> DomainEvent {
        DomainEvent::for_lead(self, Some(actor.user), None, now, payload)
    }

    fn automatic_event(&self, cause: &Cause, now: Timestamp, payload: EventPayload) -> DomainEvent {
        DomainEvent::for_lead(self, None, Some(cause.clone()), now, payload)
    }

    /// A rule hands the lead to `owner` (an active rep or manager the engine picked).
    pub fn assign_automatically(
        &mut self,
        owner: &User,
        cause: &Cause,
        now: Timestamp,
    ) -> Vec<DomainEvent> {
        self.hand_to(owner, None, Some(cause.clone()), now)
    }

    /// Moves ownership (and the team with it) and emits `LeadAssigned`; nothing when unchanged.
    fn hand_to(
        &mut self,
        owner: &User,
        actor: Option<&Actor>,
        cause: Option<Cause>,
        now: Timestamp,
    ) -> Vec<DomainEvent> {
        if self.owner == Some(owner.id) && self.team == owner.team && !self.in_pool {
            return Vec::new();
        }
        let event = DomainEvent::for_lead(
            self,
            actor.map(|a| a.user),
            cause,
            now,
            EventPayload::LeadAssigned {
                from: self.owner,
                to: owner.id,
                team: owner.team,
            },
        );
        self.owner = Some(owner.id);
        self.team = owner.team;
        self.in_pool = false;
        self.touch(now);
        vec![event]
    }

    /// A rule changes the priority (a manager's override of the score).
    pub fn set_priority_automatically(
        &mut self,
        priority: Priority,
        cause: &Cause,
        now: Timestamp,
    ) -> Vec<DomainEvent> {
        if self.priority == priority {
            return Vec::new();
        }
        let event = self.automatic_event(
            cause,
            now,
            EventPayload::LeadPriorityChanged {
                from: self.priority,
                to: priority,
                score: self.score.clone(),
            },
        );
        self.priority = priority;
        self.touch(now);
        vec![event]
    }

    /// A rule labels the lead; a tag it already has changes nothing.
    pub fn add_tag_automatically(
        &mut self,
        tag: &str,
        cause: &Cause,
        now: Timestamp,
    ) -> Vec<DomainEvent> {
        if self.tags.iter().any(|t| t == tag) {
            return Vec::new();
        }
        let event = self.automatic_event(
            cause,
            now,
            EventPayload::LeadUpdated {
                changed: vec!["tags".into()],
            },
        );
        self.tags.push(tag.to_owned());
        self.touch(now);
        vec![event]
    }

    /// Takes the lead from its owner into the pool. Converted and lost leads stay put.
    pub fn return_to_pool(
        &mut self,
        reason: &str,
        cause: &Cause,
        now: Timestamp,
    ) -> Result<Vec<DomainEvent>, DomainError> {
        if self.in_pool {
            return Ok(Vec::new());
        }
        if matches!(
            self.status,
            LeadStatus::Converted | LeadStatus::Disqualified
        ) {
            return Err(DomainError::InvalidTransition {
                from: format!("{:?}", self.status).to_lowercase(),
                to: "the pool".into(),
            });
        }
        let event = self.automatic_event(
            cause,
            now,
            EventPayload::LeadReturnedToPool {
                from: self.owner,
                reason: reason.to_owned(),
            },
        );
        self.owner = None;
        self.in_pool = true;
        self.touch(now);
        Ok(vec![event])
    }

    /// A rep takes a pooled lead. The store's version check makes the first claim win.
    pub fn claim(
        &mut self,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Vec<DomainEvent>, DomainError> {
        if !self.in_pool {
            return Err(DomainError::InvalidTransition {
                from: "owned".into(),
                to: "claimed (only pooled leads can be claimed)".into(),
            });
        }
        if matches!(
            self.status,
            LeadStatus::Converted | LeadStatus::Disqualified
        ) {
            return Err(DomainError::InvalidTransition {
                from: self.status.as_str().into(),
                to: "claimed (a closed lead is not work to take)".into(),
            });
        }
        if actor.tenant != self.tenant || !actor.role.sells() {
            return Err(DomainError::Forbidden(
                "pooled leads are claimed by reps and managers".into(),
            ));
        }
        let event = self.event(
            actor,
            now,
            EventPayload::LeadClaimed {
                by: actor.user,
                team: actor.team,
            },
        );
        self.owner = Some(actor.user);
        self.team = actor.team;
        self.in_pool = false;
        self.touch(now);
        Ok(vec![event])
    }

    fn touch(&mut self, now: Timestamp) {
        self.updated_at = now.max(self.updated_at);
        self.version += 1;
    }

    /// A qualified lead became a customer and a deal (`deal::convert_lead` checks the rest).
    pub(crate) fn mark_converted(&mut self, actor: &Actor, now: DateTime<Utc>) -> Vec<DomainEvent> {
        let event = self.event(
            actor,
            now,
            EventPayload::LeadStatusChanged {
                from: self.status,
                to: LeadStatus::Converted,
            },
        );
        self.status = LeadStatus::Converted;
        self.touch(now);
        vec![event]
    }

    /// Applies a partial update; re-scores when scoring inputs change. Returns the events,
    /// empty when nothing changed (so a retried PATCH is harmless).
    pub fn apply_patch(
        &mut self,
        patch: &LeadPatch,
        actor: &Actor,
        now: DateTime<Utc>,
        region: Region,
        policy: &ScoringPolicy,
    ) -> Result<Vec<DomainEvent>, DomainError> {
        let mut next = self.clone();
        let mut changed = Vec::new();
        if let Some(source) = patch.source.filter(|s| *s != self.source) {
            next.source = source;
            changed.push("source");
        }
        if let Some(contact) = &patch.contact {
            let contact = contact.parse(region)?;
            if contact != self.contact {
                next.contact = contact;
                changed.push("contact");
            }
        }
        if let Some(pre) = patch.prescreen.as_ref().filter(|p| **p != self.prescreen) {
            pre.validate()?;
            next.prescreen = pre.clone();
            changed.push("prescreen");
        }
        if let Some(notes) = &patch.notes {
            let notes = validate_notes(notes)?;
            if notes != self.notes {
                next.notes = notes;
                changed.push("notes");
            }
        }
        let mut events = Vec::new();
        if let Some(status) = patch.status.filter(|s| *s != self.status) {
            if !self.status.can_move_to(status) {
                return Err(DomainError::InvalidTransition {
                    from: self.status.to_string(),
                    to: status.to_string(),
                });
            }
            next.status = status;
            events.push(self.event(
                actor,
                now,
                EventPayload::LeadStatusChanged {
                    from: self.status,
                    to: status,
                },
            ));
        }
        if !changed.is_empty() {
            events.insert(
                0,
                self.event(
                    actor,
                    now,
                    EventPayload::LeadUpdated {
                        changed: changed.iter().map(|s| s.to_string()).collect(),
                    },
                ),
            );
        }
        let (priority, score) = policy.score(next.source, &next.prescreen);
        if priority != self.priority {
            events.push(self.event(
                actor,
                now,
                EventPayload::LeadPriorityChanged {
                    from: self.priority,
                    to: priority,
                    score: score.clone(),
                },
            ));
        }
        next.priority = priority;
        next.score = score;
        if !events.is_empty() {
            next.touch(now);
            *self = next;
        }
        Ok(events)
    }

    /// Hands the lead to `owner` (checked by the caller with `Actor::check_can_assign_to`).
    pub fn assign(&mut self, owner: &User, actor: &Actor, now: Timestamp) -> Vec<DomainEvent> {
        self.hand_to(owner, Some(actor), None, now)
    }

    /// Records a follow-up. The first call, visit or message stamps `first_contact_at`
    /// (the 24 h SLA clock stops) and moves a new lead to `contacted`.
    pub fn log_activity(
        &mut self,
        input: &NewActivity,
        id: ActivityId,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(Activity, Vec<DomainEvent>), DomainError> {
        if self.status == LeadStatus::Converted {
            return Err(DomainError::InvalidTransition {
                from: "converted".into(),
                to: "a new activity on the lead (log it on the customer)".into(),
            });
        }
        let target = LogTarget {
            subject: Subject::Lead(self.id),
            tenant: &self.tenant,
            created_at: self.created_at,
        };
        let activity = Activity::record(input, id, &target, actor, now)?;
        let mut events = vec![self.event(
            actor,
            now,
            EventPayload::ActivityLogged {
                activity: activity.id,
                kind: activity.kind,
                occurred_at: activity.occurred_at,
                structured: activity.structured.is_some(),
            },
        )];
        // SLA facts run on the server's receipt time; the rep's stated time stays on the
        // activity, so backdating cannot fake a response inside the 24 h window.
        if activity.kind.is_contact() && self.first_contact_at.is_none() {
            let at = activity.recorded_at;
            self.first_contact_at = Some(at);
            let response_seconds = (at - self.created_at).num_seconds().max(0);
            events.push(self.event(
                actor,
                now,
                EventPayload::LeadFirstContacted {
                    at,
                    response_seconds,
                },
            ));
            if self.status == LeadStatus::New {
                events.push(self.event(
                    actor,
                    now,
                    EventPayload::LeadStatusChanged {
                        from: LeadStatus::New,
                        to: LeadStatus::Contacted,
                    },
                ));
                self.status = LeadStatus::Contacted;
            }
        }
        self.touch(now);
        Ok((activity, events))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::Role;
    use crate::activity::ActivityKind;
    use chrono::{Duration, TimeZone, Utc};

    fn t0() -> Timestamp {
        Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap()
    }

    /// A rep of a team, and their actor (other modules' tests make leads with it too).
    pub(crate) fn rep() -> (Actor, User) {
        let team = TeamId::new();
        let user = User {
            id: UserId::new(),
            tenant: TenantId::parse("acme").unwrap(),
            name: PersonName::parse("李娜").unwrap(),
            email: EmailAddress::parse("lina@acme.cn").unwrap(),
            role: Role::Rep,
            team: Some(team),
            active: true,
        };
        let actor = Actor {
            user: user.id,
            tenant: user.tenant.clone(),
            role: Role::Rep,
            team: Some(team),
        };
        (actor, user)
    }

    /// A lead with every profile item filled in.
    pub(crate) fn input() -> NewLead {
        NewLead {
            source: LeadSource::TradeShow,
            contact: ContactInput {
                name: "王建国".into(),
                phone: Some("139 1234 5678".into()),
                email: None,
                company: Some("华东机电有限公司".into()),
                title: Some("采购经理".into()),
            },
            prescreen: PreScreen {
                current_brand: Some("ABB".into()),
                purchase_urgency: PurchaseUrgency::WithinMonth,
                decision_role: DecisionRole::DecisionMaker,
                budget: Some(BudgetRange {
                    min: Some(100_000),
                    max: Some(300_000),
                    currency: "CNY".into(),
                }),
            },
            notes: None,
            owner: None,
        }
    }

    fn create_from(
        input: &NewLead,
        actor: &Actor,
        owner: &User,
    ) -> Result<(Lead, Vec<DomainEvent>), DomainError> {
        let policy = ScoringPolicy::default();
        Lead::create(
            input,
            CreateContext {
                id: LeadId::new(),
                actor,
                owner: Some(owner),
                now: t0(),
                region: Region::china(),
                policy: &policy,
            },
        )
    }

    fn create(actor: &Actor, owner: &User) -> (Lead, Vec<DomainEvent>) {
        create_from(&input(), actor, owner).unwrap()
    }

    #[test]
    fn budgets_name_a_currency_iso_4217_defines() {
        let budget = |currency: &str| BudgetRange {
            min: None,
            max: Some(100),
            currency: currency.into(),
        };
        for known in ["CNY", "USD", "EUR", "HKD", "JPY"] {
            assert!(budget(known).validate().is_ok(), "{known}");
        }
        for unknown in ["RMB", "ABC", "cny", "CN", "CNYY", ""] {
            assert!(budget(unknown).validate().is_err(), "{unknown:?}");
        }
    }

    #[test]
    fn the_rule_schema_matches_the_serialised_lead() {
        let (actor, user) = rep();
        let mut lead = create(&actor, &user).0;
        lead.contact.email = Some(EmailAddress::parse("wjg@huadong.cn").unwrap());
        lead.notes = Some("预算已批".into());
        lead.first_contact_at = Some(t0());
        let paths = crate::subject::leaf_paths(&serde_json::to_value(&lead).unwrap());
        let schema: std::collections::BTreeSet<String> =
            RULE_FIELDS.iter().map(|s| s.to_string()).collect();
        assert_eq!(paths, schema);
        use crate::subject::SubjectKind;
        assert!(SubjectKind::Lead.has_field("prescreen.budget"));
        assert!(!SubjectKind::Lead.has_field("prescreen.budgte.max"));
    }

    #[test]
    fn creation_scores_normalises_and_emits() {
        let (actor, user) = rep();
        let (lead, events) = create(&actor, &user);
        assert_eq!(
            lead.contact.phone.as_ref().unwrap().e164(),
            "+8613912345678"
        );
        // 25 + 25 + 18 + 8 + 5 = 81
        assert_eq!(lead.score.total, 81);
        assert_eq!(lead.priority, Priority::S);
        assert_eq!(lead.owner, Some(user.id));
        assert_eq!(lead.team, user.team);
        assert_eq!(lead.version, 1);
        assert_eq!(events.len(), 1);
        assert!(matches!(
            events[0].payload,
            EventPayload::LeadCreated { .. }
        ));
    }

    #[test]
    fn creation_requires_a_reachable_contact() {
        let (actor, user) = rep();
        let mut bad = input();
        bad.contact.phone = Some("   ".into());
        let err = create_from(&bad, &actor, &user).unwrap_err();
        assert_eq!(
            err,
            DomainError::invalid("contact", "needs a phone number or an e-mail address")
        );
        bad.contact.phone = Some("12345".into());
        let err = create_from(&bad, &actor, &user).unwrap_err();
        assert!(
            matches!(err, DomainError::InvalidField { ref field, .. } if field == "contact.phone")
        );
    }

    #[test]
    fn first_contact_stamps_sla_and_moves_status() {
        let (actor, user) = rep();
        let (mut lead, _) = create(&actor, &user);
        let note = NewActivity {
            kind: ActivityKind::Note,
            summary: "看了官网".into(),
            occurred_at: None,
            structured: None,
            contact: None,
        };
        let (_, events) = lead
            .log_activity(&note, ActivityId::new(), &actor, t0() + Duration::hours(1))
            .unwrap();
        assert_eq!(events.len(), 1, "a note is not a contact");
        assert_eq!(lead.first_contact_at, None);

        let call = NewActivity {
            kind: ActivityKind::Call,
            summary: "约了周四拜访".into(),
            occurred_at: None,
            structured: None,
            contact: None,
        };
        let at = t0() + Duration::hours(3);
        let (activity, events) = lead
            .log_activity(&call, ActivityId::new(), &actor, at)
            .unwrap();
        assert_eq!(activity.occurred_at, at);
        assert_eq!(lead.first_contact_at, Some(at));
        assert_eq!(lead.status, LeadStatus::Contacted);
        assert_eq!(lead.version, 3);
        assert!(events.iter().any(|e| matches!(
            e.payload,
            EventPayload::LeadFirstContacted {
                response_seconds: 10800,
                ..
            }
        )));

        let (_, events) = lead
            .log_activity(&call, ActivityId::new(), &actor, at + Duration::hours(1))
            .unwrap();
        assert_eq!(events.len(), 1, "only the first contact stops the clock");
        assert_eq!(lead.first_contact_at, Some(at));
    }

    #[test]
    fn status_machine_refuses_illegal_moves() {
        let (actor, user) = rep();
        let (mut lead, _) = create(&actor, &user);
        let policy = ScoringPolicy::default();
        let to = |s| LeadPatch {
            status: Some(s),
            ..Default::default()
        };
        let err = lead
            .apply_patch(
                &to(LeadStatus::Converted),
                &actor,
                t0(),
                Region::china(),
                &policy,
            )
            .unwrap_err();
        assert!(matches!(err, DomainError::InvalidTransition { .. }));
        assert_eq!(
            lead.version, 1,
            "a refused change leaves the lead untouched"
        );
        lead.apply_patch(
            &to(LeadStatus::Qualified),
            &actor,
            t0(),
            Region::china(),
            &policy,
        )
        .unwrap();
        // Even a qualified lead is converted only with its deal (`deal::convert_lead`).
        let err = lead
            .apply_patch(
                &to(LeadStatus::Converted),
                &actor,
                t0(),
                Region::china(),
                &policy,
            )
            .unwrap_err();
        assert!(matches!(err, DomainError::InvalidTransition { .. }));
        lead.mark_converted(&actor, t0());
        assert_eq!(lead.status, LeadStatus::Converted);
        for s in [
            LeadStatus::New,
            LeadStatus::Contacted,
            LeadStatus::Disqualified,
        ] {
            assert!(!LeadStatus::Converted.can_move_to(s));
        }
    }

    #[test]
    fn patch_rescoring_and_no_op_patches() {
        let (actor, user) = rep();
        let (mut lead, _) = create(&actor, &user);
        let policy = ScoringPolicy::default();
        let none = lead
            .apply_patch(
                &LeadPatch::default(),
                &actor,
                t0(),
                Region::china(),
                &policy,
            )
            .unwrap();
        assert!(none.is_empty());
        assert_eq!(lead.version, 1);

        let mut pre = lead.prescreen.clone();
        pre.purchase_urgency = PurchaseUrgency::Later;
        pre.budget = None;
        let patch = LeadPatch {
            prescreen: Some(pre),
            notes: Some(Some("预算冻结".into())),
            ..Default::default()
        };
        let events = lead
            .apply_patch(&patch, &actor, t0(), Region::china(), &policy)
            .unwrap();
        assert_eq!(lead.priority, Priority::B); // 5 + 25 + 0 + 8 + 5 = 43
        assert!(
            matches!(&events[0].payload, EventPayload::LeadUpdated { changed } if changed == &["prescreen", "notes"])
        );
        assert!(events.iter().any(|e| matches!(
            e.payload,
            EventPayload::LeadPriorityChanged {
                from: Priority::S,
                to: Priority::B,
                ..
            }
        )));
        assert_eq!(lead.version, 2);

        let clear = LeadPatch {
            notes: Some(None),
            ..Default::default()
        };
        lead.apply_patch(&clear, &actor, t0(), Region::china(), &policy)
            .unwrap();
        assert_eq!(lead.notes, None);
    }

    #[test]
    fn patch_json_distinguishes_absent_from_null() {
        let absent: LeadPatch = serde_json::from_str("{}").unwrap();
        assert_eq!(absent.notes, None);
        let null: LeadPatch = serde_json::from_str(r#"{"notes": null}"#).unwrap();
        assert_eq!(null.notes, Some(None));
        assert!(serde_json::from_str::<LeadPatch>(r#"{"stage": "x"}"#).is_err());
        assert!(serde_json::from_str::<LeadPatch>(r#"{"status": "won"}"#).is_err());
    }

    #[test]
    fn reassignment_moves_team_and_emits_once() {
        let (actor, user) = rep();
        let (mut lead, _) = create(&actor, &user);
        let (_, other) = rep();
        assert_eq!(lead.assign(&other, &actor, t0()).len(), 1);
        assert_eq!(lead.team, other.team);
        assert!(
            lead.assign(&other, &actor, t0()).is_empty(),
            "re-assigning to the same owner is a no-op"
        );
    }
}
