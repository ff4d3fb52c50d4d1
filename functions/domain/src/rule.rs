//! "When X then Y" automation kept as data: a rule names the event that triggers it, the
//! conditions over that event and its lead, and the actions to take. Managers edit rules
//! through the API; every change is a new version, so the decision log can always say which
//! version acted. Evaluation here is pure: it returns whether the rule matched and the
//! evidence (the field values that made it true); the application carries out the actions.

use crate::error::DomainError;
use crate::event::EventKind;
use crate::scoring::Priority;
use crate::subject::{Subject, SubjectKind};
use crate::{TeamId, TenantId, Timestamp, UserId};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use strum::IntoEnumIterator;

/// Longest chain of rule-caused events: a rule reacting to an event another rule caused is
/// fine (assign, then start a timer), but past this depth the engine stops and logs a loop.
pub const MAX_RULE_CHAIN: u8 = 4;

/// The events a rule about `subject` can react to: derived from the event type itself.
pub fn triggers(subject: SubjectKind) -> impl Iterator<Item = EventKind> {
    EventKind::iter().filter(move |k| k.concerns(subject))
}

/// A rule's id: a short slug a manager can read in the decision log (`first-contact-sla`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String))]
pub struct RuleId(String);

impl RuleId {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let ok = (2..=64).contains(&raw.len())
            && raw
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !raw.starts_with('-')
            && !raw.ends_with('-');
        if ok {
            Ok(RuleId(raw.to_owned()))
        } else {
            Err(DomainError::invalid(
                "id",
                "2-64 lower-case letters, digits and inner hyphens",
            ))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for RuleId {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        RuleId::parse(&s)
    }
}

impl From<RuleId> for String {
    fn from(id: RuleId) -> String {
        id.0
    }
}

impl std::fmt::Display for RuleId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Comparison operators of a field test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Op {
    Eq,
    Ne,
    In,
    NotIn,
    Gt,
    Gte,
    Lt,
    Lte,
    /// `value` is `[low, high]`, both inclusive.
    Between,
    Present,
    Missing,
    /// The field is a timestamp at least `value` hours before now.
    OlderThanHours,
    /// The field is a timestamp less than `value` hours before now.
    NewerThanHours,
}

/// A condition tree. JSON: `{"all": [...]}`, `{"any": [...]}`, `{"not": {...}}`, or a test
/// `{"field": "lead.prescreen.purchase_urgency", "op": "eq", "value": "within_month"}`.
/// Fields are dotted paths into `{"event": ..., "<subject>": ...}` (`lead.status`,
/// `upload.kind`), checked at save time against the event's and the subject's schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(no_recursion))]
pub enum Condition {
    All {
        all: Vec<Condition>,
    },
    Any {
        any: Vec<Condition>,
    },
    Not {
        not: Box<Condition>,
    },
    Test {
        field: String,
        op: Op,
        #[serde(default, skip_serializing_if = "Value::is_null")]
        value: Value,
    },
}

impl Default for Condition {
    /// No conditions: the trigger alone decides.
    fn default() -> Self {
        Condition::All { all: Vec::new() }
    }
}

/// Whom an assignment picks from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum AssignStrategy {
    /// The team's active reps in turn.
    RoundRobin,
    /// The team's active rep with the fewest open leads.
    LeastLoaded,
    /// One named user.
    User,
}

/// Who a notification goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Recipient {
    Owner,
    /// The managers of the owner's team (or of the lead's team when unowned).
    Manager,
    /// The tenant's admins (the sales director).
    Admins,
    /// The warehouse: users in the warehouse role and the staff the tenant's order policy
    /// names; the owner's team's managers when there is nobody.
    Warehouse,
}

/// What a rule does when it matches. JSON is tagged by `do`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "do", rename_all = "snake_case", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Action {
    Assign {
        strategy: AssignStrategy,
        /// The team to pick from; default the lead's team.
        #[serde(default)]
        team: Option<TeamId>,
        #[serde(default)]
        user: Option<UserId>,
        /// Leave a lead that already has an owner alone ("who develops the customer owns it").
        #[serde(default = "yes")]
        only_if_unowned: bool,
    },
    SetPriority {
        priority: Priority,
    },
    /// Labels the lead (`hot`, `competitor-abb`).
    AddTag {
        tag: String,
    },
    /// A to-do for the lead's owner with a due time (e.g. "send the quote" 48 h after a visit).
    CreateTask {
        #[cfg_attr(
            feature = "openapi",
            schema(
                max_length = 500,
                pattern = r"[^\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
            )
        )]
        title: String,
        due_in_hours: f64,
        #[serde(default)]
        business_hours: bool,
        /// Remind the assignee this many hours before the task is due, if still open.
        #[serde(default)]
        remind_before_hours: Option<f64>,
        /// Tell the assignee's manager this many hours after it is due, if still open.
        #[serde(default)]
        escalate_after_hours: Option<f64>,
        /// The sentence the assignee reads as the task's reason, with `{field}` standing for
        /// what that field of the event or subject held when the rule matched
        /// (`货架照片显示 {event.gaps} 处空位`). Without it the reason is the rule's name and
        /// the values its conditions matched.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "openapi", schema(max_length = 300))]
        why: Option<String>,
    },
    /// A durable timer on the lead; a running timer of the same name is left as it is.
    StartTimer {
        timer: String,
        after_hours: f64,
        /// Count only the tenant's working hours.
        #[serde(default)]
        business_hours: bool,
        /// Replace a running timer of the same name (restart the clock).
        #[serde(default)]
        restart: bool,
    },
    CancelTimers {
        timers: Vec<String>,
    },
    Notify {
        to: Recipient,
        #[cfg_attr(
            feature = "openapi",
            schema(
                max_length = 1000,
                pattern = r"[^\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
            )
        )]
        message: String,
    },
    /// Tell the owner's manager, marked as an escalation.
    Escalate {
        #[cfg_attr(
            feature = "openapi",
            schema(
                max_length = 1000,
                pattern = r"[^\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
            )
        )]
        message: String,
    },
    /// Take the lead from its owner into the tenant's pool, where reps may claim it.
    ReturnToPool {
        #[cfg_attr(
            feature = "openapi",
            schema(
                max_length = 1000,
                pattern = r"[^\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
            )
        )]
        reason: String,
    },
}

fn yes() -> bool {
    true
}

fn default_order() -> u16 {
    100
}

fn lead_subject() -> SubjectKind {
    SubjectKind::Lead
}

impl Action {
    /// The event kinds this action can cause, for the static loop check.
    pub fn emits(&self) -> &'static [EventKind] {
        match self {
            Action::Assign { .. } => &[EventKind::LeadAssigned],
            Action::SetPriority { .. } => &[EventKind::LeadPriorityChanged],
            Action::AddTag { .. } => &[EventKind::LeadUpdated],
            Action::ReturnToPool { .. } => &[EventKind::LeadReturnedToPool],
            Action::StartTimer { .. } => &[EventKind::TimerFired],
            Action::CancelTimers { .. }
            | Action::Notify { .. }
            | Action::Escalate { .. }
            | Action::CreateTask { .. } => &[],
        }
    }

    /// Whether the action makes sense on a subject of `kind`: timers, tasks and messages
    /// work on every subject; ownership, priority, tags and the pool are a lead's.
    pub fn applies_to(&self, kind: SubjectKind) -> bool {
        match self {
            Action::Assign { .. }
            | Action::SetPriority { .. }
            | Action::AddTag { .. }
            | Action::ReturnToPool { .. } => kind == SubjectKind::Lead,
            Action::CreateTask { .. }
            | Action::StartTimer { .. }
            | Action::CancelTimers { .. }
            | Action::Notify { .. }
            | Action::Escalate { .. } => true,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Action::Assign { .. } => "assign",
            Action::SetPriority { .. } => "set_priority",
            Action::AddTag { .. } => "add_tag",
            Action::CreateTask { .. } => "create_task",
            Action::StartTimer { .. } => "start_timer",
            Action::CancelTimers { .. } => "cancel_timers",
            Action::Notify { .. } => "notify",
            Action::Escalate { .. } => "escalate",
            Action::ReturnToPool { .. } => "return_to_pool",
        }
    }
}

/// What a manager sends to create or change a rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuleDraft {
    #[cfg_attr(
        feature = "openapi",
        schema(
            max_length = 200,
            pattern = r"[^\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
        )
    )]
    pub name: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Rules triggered by the same event run in ascending order (then by id): a specific
    /// routing rule at 10 runs before the catch-all default at 100.
    #[serde(default = "default_order")]
    #[cfg_attr(feature = "openapi", schema(maximum = 65535))]
    pub order: u16,
    /// The kind of record the rule is about; `lead` when omitted.
    #[serde(default = "lead_subject")]
    pub subject: SubjectKind,
    /// The event kind that triggers the rule (see `triggers`).
    pub trigger: EventKind,
    #[serde(default)]
    pub conditions: Condition,
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 20))]
    pub actions: Vec<Action>,
}

/// A stored rule version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub id: RuleId,
    pub tenant: TenantId,
    /// 1 for the first version; every change adds one.
    pub version: u32,
    #[serde(flatten)]
    pub draft: RuleDraft,
    /// `None` for the shipped defaults.
    pub changed_by: Option<UserId>,
    pub changed_at: chrono::DateTime<chrono::Utc>,
}

/// A stored rule's schema is the draft's properties merged with its own. utoipa would render
/// the flattened draft as an `allOf` that keeps the draft's `additionalProperties: false`, a
/// schema no stored rule (it has `id`, `version`…) can satisfy.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Rule {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::RefOr;
        use utoipa::openapi::schema::{
            KnownFormat, Object, ObjectBuilder, Schema, SchemaFormat, Type,
        };
        let mut rule: Object = ObjectBuilder::new()
            .description(Some(
                "A stored rule version: the draft's fields and their stamp.",
            ))
            .property("id", RuleId::schema())
            .required("id")
            .property("tenant", TenantId::schema())
            .required("tenant")
            .property("version", u32::schema())
            .required("version")
            .property("changed_by", <Option<UserId>>::schema())
            .property(
                "changed_at",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))),
            )
            .required("changed_at")
            .build();
        if let RefOr::T(Schema::Object(draft)) = RuleDraft::schema() {
            rule.properties.extend(draft.properties);
            rule.required.extend(draft.required);
        }
        RefOr::T(Schema::Object(rule))
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Rule {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        <RuleDraft as utoipa::ToSchema>::schemas(schemas);
    }
}

impl RuleDraft {
    /// Checks what serde cannot: known trigger, sane numbers, sane paths, and no rule that
    /// re-triggers itself (`lead_assigned` → assign).
    pub fn validate(&self) -> Result<(), DomainError> {
        if self.name.trim().is_empty() || self.name.chars().count() > 200 {
            return Err(DomainError::invalid("name", "1-200 characters"));
        }
        if !self.trigger.concerns(self.subject) {
            let valid: Vec<&str> = triggers(self.subject).map(EventKind::as_str).collect();
            return Err(DomainError::invalid(
                "trigger",
                format!("a {} rule takes one of {}", self.subject, valid.join(", ")),
            ));
        }
        if self.actions.is_empty() || self.actions.len() > 20 {
            return Err(DomainError::invalid("actions", "1-20 actions"));
        }
        validate_condition(&self.conditions, 0, self.subject, self.trigger)?;
        for action in &self.actions {
            if !action.applies_to(self.subject) {
                return Err(DomainError::invalid(
                    "actions",
                    format!("{} does not apply to a {}", action.name(), self.subject),
                ));
            }
            match action {
                Action::StartTimer {
                    timer, after_hours, ..
                } => {
                    timer_name(timer)?;
                    if !(after_hours.is_finite()
                        && *after_hours > 0.0
                        && *after_hours <= 24.0 * 366.0)
                    {
                        return Err(DomainError::invalid(
                            "actions.after_hours",
                            "more than 0 and at most a year",
                        ));
                    }
                }
                Action::CancelTimers { timers } => {
                    for t in timers {
                        timer_name(t)?;
                    }
                }
                Action::Assign { strategy, user, .. } => {
                    if (*strategy == AssignStrategy::User) != user.is_some() {
                        return Err(DomainError::invalid(
                            "actions.user",
                            "required with strategy user, and only then",
                        ));
                    }
                }
                Action::Notify { message, .. }
                | Action::Escalate { message }
                | Action::ReturnToPool { reason: message } => {
                    if message.trim().is_empty() || message.chars().count() > 1000 {
                        return Err(DomainError::invalid("actions.message", "1-1000 characters"));
                    }
                }
                Action::AddTag { tag } => {
                    let ok = (1..=40).contains(&tag.chars().count())
                        && tag
                            .chars()
                            .all(|c| c.is_alphanumeric() || c == '-' || c == '_');
                    if !ok {
                        return Err(DomainError::invalid(
                            "actions.tag",
                            "1-40 letters, digits, hyphens or underscores",
                        ));
                    }
                }
                Action::CreateTask {
                    title,
                    due_in_hours,
                    remind_before_hours,
                    escalate_after_hours,
                    why,
                    ..
                } => {
                    if title.trim().is_empty() || title.chars().count() > 500 {
                        return Err(DomainError::invalid("actions.title", "1-500 characters"));
                    }
                    if let Some(why) = why {
                        self.validate_why(why)?;
                    }
                    let within = |h: &Option<f64>| {
                        h.is_none_or(|h| h.is_finite() && h > 0.0 && h <= 24.0 * 366.0)
                    };
                    if !within(remind_before_hours) {
                        return Err(DomainError::invalid(
                            "actions.remind_before_hours",
                            "more than 0, at most a year",
                        ));
                    }
                    if !within(escalate_after_hours) {
                        return Err(DomainError::invalid(
                            "actions.escalate_after_hours",
                            "more than 0, at most a year",
                        ));
                    }
                    if !(due_in_hours.is_finite()
                        && *due_in_hours >= 0.0
                        && *due_in_hours <= 24.0 * 366.0)
                    {
                        return Err(DomainError::invalid("actions.due_in_hours", "0 to a year"));
                    }
                }
                Action::SetPriority { .. } => {}
            }
            if action.emits().contains(&self.trigger)
                && !matches!(action, Action::StartTimer { .. })
            {
                return Err(DomainError::invalid(
                    "actions",
                    format!(
                        "{} would trigger this rule again ({}): a loop",
                        action.name(),
                        self.trigger
                    ),
                ));
            }
        }
        Ok(())
    }
}

impl RuleDraft {
    /// A task's reason sentence: 1-300 characters whose every `{field}` is one the rule can
    /// read (a misspelt field would show the rep a dash forever).
    fn validate_why(&self, why: &str) -> Result<(), DomainError> {
        if why.trim().is_empty() || why.chars().count() > 300 {
            return Err(DomainError::invalid("actions.why", "1-300 characters"));
        }
        for piece in why_pieces(why).map_err(|e| DomainError::invalid("actions.why", e))? {
            if let WhyPiece::Field(field) = piece
                && !known_field(field, self.subject, self.trigger)
            {
                return Err(DomainError::invalid(
                    "actions.why",
                    format!(
                        "{{{field}}}: not a field of a {} event (event.…) or of a {} ({}.…)",
                        self.trigger, self.subject, self.subject
                    ),
                ));
            }
        }
        Ok(())
    }
}

enum WhyPiece<'a> {
    Text(&'a str),
    Field(&'a str),
}

/// Splits a reason sentence into text and `{field}`s; an unclosed or empty brace is an error.
fn why_pieces(template: &str) -> Result<Vec<WhyPiece<'_>>, &'static str> {
    let mut pieces = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find(['{', '}']) {
        if rest[open..].starts_with('}') {
            return Err("a '}' without its '{'");
        }
        pieces.push(WhyPiece::Text(&rest[..open]));
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or("a '{' without its '}'")?;
        let field = after[..close].trim();
        if field.is_empty() || field.contains('{') {
            return Err("'{…}' must name one field, e.g. {event.gaps}");
        }
        pieces.push(WhyPiece::Field(field));
        rest = &after[close + 1..];
    }
    pieces.push(WhyPiece::Text(rest));
    Ok(pieces)
}

/// A task's reason from its rule's sentence: each `{field}` replaced by what it held in
/// `context` (a dash when absent; a list joined with commas).
pub fn render_why(template: &str, context: &Value) -> String {
    let Ok(pieces) = why_pieces(template) else {
        return template.to_owned();
    };
    let show = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    pieces
        .into_iter()
        .map(|piece| match piece {
            WhyPiece::Text(text) => text.to_owned(),
            WhyPiece::Field(field) => match lookup(context, field) {
                None => "—".to_owned(),
                Some(Value::Array(items)) => items.iter().map(show).collect::<Vec<_>>().join(", "),
                Some(value) => show(value),
            },
        })
        .collect()
}

/// Whether a rule on `subject` triggered by `trigger` can read `field` (`event.…` or
/// `<subject>.…`).
fn known_field(field: &str, subject: SubjectKind, trigger: EventKind) -> bool {
    match field.split_once('.') {
        Some(("event", rest)) => trigger.has_field(rest),
        Some((root, rest)) if root == subject.as_str() => subject.has_field(rest),
        _ => false,
    }
}

/// Timer names are short slugs (`first_contact`).
pub fn timer_name(raw: &str) -> Result<&str, DomainError> {
    let ok = (1..=40).contains(&raw.len())
        && raw
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(raw)
    } else {
        Err(DomainError::invalid(
            "timer",
            "1-40 lower-case letters, digits and underscores",
        ))
    }
}

fn validate_condition(
    c: &Condition,
    depth: usize,
    subject: SubjectKind,
    trigger: EventKind,
) -> Result<(), DomainError> {
    if depth > 8 {
        return Err(DomainError::invalid(
            "conditions",
            "nested more than 8 deep",
        ));
    }
    match c {
        Condition::All { all: list } | Condition::Any { any: list } => {
            if list.len() > 50 {
                return Err(DomainError::invalid("conditions", "at most 50 per group"));
            }
            list.iter()
                .try_for_each(|c| validate_condition(c, depth + 1, subject, trigger))
        }
        Condition::Not { not } => validate_condition(not, depth + 1, subject, trigger),
        Condition::Test { field, op, value } => {
            if !known_field(field, subject, trigger) {
                return Err(DomainError::invalid(
                    "conditions.field",
                    format!(
                        "{field:?}: not a field of a {trigger} event (event.…) or of a {subject} ({subject}.…)"
                    ),
                ));
            }
            let ok = match op {
                Op::Present | Op::Missing => true,
                Op::In | Op::NotIn => value.is_array(),
                Op::Between => value
                    .as_array()
                    .is_some_and(|a| a.len() == 2 && a.iter().all(Value::is_number)),
                Op::OlderThanHours | Op::NewerThanHours | Op::Gt | Op::Gte | Op::Lt | Op::Lte => {
                    value.is_number() || value.is_string()
                }
                Op::Eq | Op::Ne => !value.is_null(),
            };
            if ok {
                Ok(())
            } else {
                Err(DomainError::invalid(
                    "conditions.value",
                    format!("{field:?}: the value does not suit {op:?}"),
                ))
            }
        }
    }
}

/// One field value that took part in a match: the decision log's evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Evidence {
    pub field: String,
    pub op: Op,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub expected: Value,
    /// What the field held (null when absent).
    pub actual: Value,
}

/// How one action of a matched rule ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum DecisionOutcome {
    Done,
    /// Nothing to do (already running, already owned…); `detail` says why.
    Skipped,
    Failed,
    /// The event sat too deep in a chain of rule-caused events: a probable loop.
    LoopStopped,
}

/// One automatic action and why it was taken: the answer to "who moved my lead?".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Decision {
    pub tenant: TenantId,
    pub rule: RuleId,
    pub rule_version: u32,
    /// The event that triggered the rule, and its kind.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub event: crate::EventId,
    pub trigger: EventKind,
    /// What the rule acted on; serialised as its kind's key (`"lead": "0193…"`).
    #[serde(flatten)]
    pub subject: Subject,
    /// Position of the action in the rule (one entry per action).
    pub action_index: u32,
    /// The action as configured; `null` for a loop stop.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub action: Value,
    pub evidence: Vec<Evidence>,
    pub outcome: DecisionOutcome,
    pub detail: String,
    pub at: chrono::DateTime<chrono::Utc>,
}

fn lookup<'a>(context: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(context, |v, key| v.get(key))
        .filter(|v| !v.is_null())
}

fn as_time(v: &Value) -> Option<Timestamp> {
    v.as_str()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.to_utc())
}

fn compare(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => match (as_time(a), as_time(b)) {
            (Some(s), Some(t)) => Some(s.cmp(&t)),
            _ => Some(x.cmp(y)),
        },
        _ => None,
    }
}

/// Whether `condition` holds in `context` at `now`, and if so the evidence. A test on a missing
/// field is false (except `missing`), never an error: rules must not break on sparse leads.
pub fn evaluate(condition: &Condition, context: &Value, now: Timestamp) -> Option<Vec<Evidence>> {
    match condition {
        Condition::All { all } => {
            let mut evidence = Vec::new();
            for c in all {
                evidence.extend(evaluate(c, context, now)?);
            }
            Some(evidence)
        }
        Condition::Any { any } => any.iter().find_map(|c| evaluate(c, context, now)),
        Condition::Not { not } => match evaluate(not, context, now) {
            Some(_) => None,
            None => Some(Vec::new()),
        },
        Condition::Test { field, op, value } => {
            let actual = lookup(context, field);
            let hours_since = || {
                actual
                    .and_then(as_time)
                    .map(|t| (now - t).num_seconds() as f64 / 3600.0)
            };
            let holds = match op {
                Op::Present => actual.is_some(),
                Op::Missing => actual.is_none(),
                Op::Eq => actual == Some(value),
                Op::Ne => actual != Some(value),
                Op::In => value
                    .as_array()
                    .is_some_and(|list| actual.is_some_and(|a| list.contains(a))),
                Op::NotIn => value
                    .as_array()
                    .is_some_and(|list| !actual.is_some_and(|a| list.contains(a))),
                Op::Gt | Op::Gte | Op::Lt | Op::Lte => actual
                    .and_then(|a| compare(a, value))
                    .is_some_and(|o| match op {
                        Op::Gt => o.is_gt(),
                        Op::Gte => o.is_ge(),
                        Op::Lt => o.is_lt(),
                        _ => o.is_le(),
                    }),
                Op::Between => value.as_array().is_some_and(|b| {
                    actual.is_some_and(|a| {
                        compare(a, &b[0]).is_some_and(|o| o.is_ge())
                            && compare(a, &b[1]).is_some_and(|o| o.is_le())
                    })
                }),
                Op::OlderThanHours => value
                    .as_f64()
                    .zip(hours_since())
                    .is_some_and(|(limit, h)| h >= limit),
                Op::NewerThanHours => value
                    .as_f64()
                    .zip(hours_since())
                    .is_some_and(|(limit, h)| h < limit),
            };
            holds.then(|| {
                vec![Evidence {
                    field: field.clone(),
                    op: *op,
                    expected: value.clone(),
                    actual: actual.cloned().unwrap_or(Value::Null),
                }]
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> Timestamp {
        "2026-11-23T10:00:00Z".parse().unwrap()
    }

    fn context() -> Value {
        json!({
            "event": {"type": "lead_created", "priority": "S"},
            "lead": {
                "status": "new",
                "owner": null,
                "prescreen": {"purchase_urgency": "within_month", "current_brand": "ABB",
                              "budget": {"min": 100000, "max": 300000}},
                "updated_at": "2026-11-15T09:00:00Z"
            }
        })
    }

    fn condition(v: Value) -> Condition {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn nested_conditions_hold_and_report_their_evidence() {
        let c = condition(json!({"all": [
            {"field": "lead.prescreen.purchase_urgency", "op": "eq", "value": "within_month"},
            {"not": {"field": "lead.prescreen.current_brand", "op": "in", "value": ["Fieldline", "我们"]}},
            {"any": [
                {"field": "lead.prescreen.budget.max", "op": "gte", "value": 500000},
                {"field": "event.priority", "op": "in", "value": ["S", "A"]}
            ]},
            {"field": "lead.owner", "op": "missing"},
            {"field": "lead.updated_at", "op": "older_than_hours", "value": 168}
        ]}));
        let evidence = evaluate(&c, &context(), now()).expect("matches");
        let fields: Vec<&str> = evidence.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "lead.prescreen.purchase_urgency",
                "event.priority",
                "lead.owner",
                "lead.updated_at"
            ]
        );
        assert_eq!(evidence[1].actual, json!("S"));
    }

    #[test]
    fn failing_and_missing_fields_do_not_match() {
        let ctx = context();
        for c in [
            json!({"field": "lead.prescreen.budget.max", "op": "between", "value": [1, 1000]}),
            json!({"field": "lead.nope", "op": "eq", "value": 1}),
            json!({"field": "lead.nope", "op": "gt", "value": 1}),
            json!({"field": "lead.updated_at", "op": "newer_than_hours", "value": 24}),
            json!({"field": "lead.status", "op": "not_in", "value": ["new"]}),
        ] {
            assert!(
                evaluate(&condition(c.clone()), &ctx, now()).is_none(),
                "{c}"
            );
        }
        assert!(
            evaluate(&Condition::default(), &ctx, now()).is_some(),
            "no conditions: the trigger decides"
        );
    }

    fn draft(trigger: &str, actions: Value) -> RuleDraft {
        serde_json::from_value(json!({
            "name": "test", "trigger": trigger, "actions": actions
        }))
        .unwrap()
    }

    fn parse_draft(v: Value) -> RuleDraft {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn validation_refuses_self_loops_unknown_triggers_and_bad_values() {
        let loop_rule = draft(
            "lead_assigned",
            json!([{"do": "assign", "strategy": "round_robin", "only_if_unowned": false}]),
        );
        let err = loop_rule.validate().unwrap_err().to_string();
        assert!(err.contains("loop"), "{err}");
        assert!(
            serde_json::from_value::<RuleDraft>(json!({
                "name": "test", "trigger": "lead_exploded",
                "actions": [{"do": "escalate", "message": "x"}]
            }))
            .is_err(),
            "an unknown trigger is refused when parsed"
        );
        assert!(
            draft(
                "lead_created",
                json!([{"do": "start_timer", "timer": "First Contact", "after_hours": 24}])
            )
            .validate()
            .is_err()
        );
        assert!(
            draft(
                "lead_created",
                json!([{"do": "start_timer", "timer": "first_contact", "after_hours": -1}])
            )
            .validate()
            .is_err()
        );
        assert!(draft(
            "lead_created",
            json!([{"do": "start_timer", "timer": "first_contact", "after_hours": 24, "business_hours": true}])
        )
        .validate()
        .is_ok());
        // Unknown action keys are refused rather than ignored.
        assert!(
            serde_json::from_value::<Action>(
                json!({"do": "escalate", "message": "x", "to": "ceo"})
            )
            .is_err()
        );
        let bad_path: RuleDraft = serde_json::from_value(json!({
            "name": "x", "trigger": "lead_created",
            "conditions": {"field": "password", "op": "present"},
            "actions": [{"do": "escalate", "message": "x"}]
        }))
        .unwrap();
        assert!(bad_path.validate().is_err());
    }

    #[test]
    fn a_task_reason_sentence_names_real_fields_and_is_filled_from_the_match() {
        let with_why = |why: &str| {
            parse_draft(json!({
                "name": "x", "subject": "customer", "trigger": "shelf_audited",
                "actions": [{"do": "create_task", "title": "补货", "due_in_hours": 24, "why": why}]
            }))
            .validate()
        };
        assert!(
            with_why("货架照片显示 {event.gaps} 处空位，低于底价：{event.under_floor_prices}")
                .is_ok()
        );
        for bad in [
            "{event.gapz} 处空位",
            "空位 {event.gaps",
            "空位 }",
            "{}",
            "  ",
            &"长".repeat(301),
        ] {
            let err = with_why(bad).unwrap_err().to_string();
            assert!(err.contains("actions.why"), "{bad}: {err}");
        }
        let context = json!({
            "event": {"gaps": 3, "under_floor_prices": ["2.50", "3.10"], "key_store": true},
            "customer": {"name": "联华超市"}
        });
        assert_eq!(
            render_why(
                "{customer.name}：{event.gaps} 处空位，低于底价 {event.under_floor_prices}（{event.nothing}）",
                &context
            ),
            "联华超市：3 处空位，低于底价 2.50, 3.10（—）"
        );
        assert_eq!(render_why("no fields", &context), "no fields");
    }

    #[test]
    fn paths_are_checked_against_the_subject_and_event_schemas() {
        let with = |subject: &str, trigger: &str, field: &str| {
            parse_draft(json!({
                "name": "x", "subject": subject, "trigger": trigger,
                "conditions": {"field": field, "op": "present"},
                "actions": [{"do": "escalate", "message": "x"}]
            }))
            .validate()
        };
        assert!(with("lead", "lead_created", "lead.prescreen.budget.max").is_ok());
        assert!(with("lead", "lead_created", "event.priority").is_ok());
        assert!(with("lead", "timer_fired", "event.name").is_ok());
        assert!(with("lead", "activity_logged", "event.kind").is_ok());
        // Typos in the subject's fields or the event's are refused.
        let err = with("lead", "lead_created", "lead.prescreen.budget.mx").unwrap_err();
        assert!(err.to_string().contains("conditions.field"), "{err}");
        assert!(with("lead", "lead_created", "event.nmae").is_err());
        // A field of another event kind is not on this one.
        assert!(with("lead", "lead_created", "event.response_seconds").is_err());
        // Another subject's root is not readable from a lead rule.
        assert!(with("lead", "lead_created", "upload.kind").is_err());
        assert!(with("upload", "upload_status_changed", "upload.error.code").is_ok());
        assert!(with("upload", "upload_status_changed", "event.to").is_ok());
        // Triggers belong to their subject; generic ones to every subject.
        assert!(with("upload", "lead_created", "event.type").is_err());
        assert!(with("upload", "timer_fired", "upload.status").is_ok());
        // Lead-only actions are refused on other subjects.
        let assign_upload = parse_draft(json!({
            "name": "x", "subject": "upload", "trigger": "upload_created",
            "actions": [{"do": "set_priority", "priority": "S"}]
        }));
        assert!(assign_upload.validate().is_err());
        assert!(triggers(SubjectKind::Lead).any(|k| k == EventKind::LeadClaimed));
        assert!(!triggers(SubjectKind::Upload).any(|k| k == EventKind::LeadClaimed));
    }

    #[test]
    fn rule_ids_are_slugs() {
        assert!(RuleId::parse("first-contact-sla").is_ok());
        for bad in ["", "A", "-x", "x-", "has space", "很好"] {
            assert!(RuleId::parse(bad).is_err(), "{bad}");
        }
    }
}
