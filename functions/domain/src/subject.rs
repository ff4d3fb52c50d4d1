//! What automation is about. Events, timers, tasks, decisions and notifications each carry a
//! `Subject`: a lead today, a deal, customer, visit, order or upload as those land. The engine
//! never compares type names as strings; a new record type is a new variant here plus its
//! field schema (see `docs/architecture.md`, "Adding a record type").

use crate::id::{CustomerId, DealId, LeadId, OrderId, UploadId, VisitId};
use serde::{Deserialize, Serialize};
use std::fmt;
use strum::{EnumIter, EnumString, IntoStaticStr};
use uuid::Uuid;

/// One record automation can act on. Serialised as a single key naming its kind
/// (`{"lead": "0193…"}`), so a parent that flattens it keeps the field it always had
/// (`task.lead`, `notification.lead`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Subject {
    Lead(LeadId),
    Deal(DealId),
    Customer(CustomerId),
    Visit(VisitId),
    Order(OrderId),
    Upload(UploadId),
}

/// The kind of a `Subject`, without its id: what rules are written for.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    EnumIter,
    EnumString,
    IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SubjectKind {
    Lead,
    Deal,
    Customer,
    Visit,
    Order,
    Upload,
}

impl Subject {
    /// The subject of `kind` with this id (ids are UUIDs for every kind).
    pub fn new(kind: SubjectKind, id: Uuid) -> Subject {
        match kind {
            SubjectKind::Lead => Subject::Lead(LeadId::from_uuid(id)),
            SubjectKind::Deal => Subject::Deal(DealId::from_uuid(id)),
            SubjectKind::Customer => Subject::Customer(CustomerId::from_uuid(id)),
            SubjectKind::Visit => Subject::Visit(VisitId::from_uuid(id)),
            SubjectKind::Order => Subject::Order(OrderId::from_uuid(id)),
            SubjectKind::Upload => Subject::Upload(UploadId::from_uuid(id)),
        }
    }

    pub fn kind(&self) -> SubjectKind {
        match self {
            Subject::Lead(_) => SubjectKind::Lead,
            Subject::Deal(_) => SubjectKind::Deal,
            Subject::Customer(_) => SubjectKind::Customer,
            Subject::Visit(_) => SubjectKind::Visit,
            Subject::Order(_) => SubjectKind::Order,
            Subject::Upload(_) => SubjectKind::Upload,
        }
    }

    pub fn id(&self) -> Uuid {
        match self {
            Subject::Lead(id) => id.as_uuid(),
            Subject::Deal(id) => id.as_uuid(),
            Subject::Customer(id) => id.as_uuid(),
            Subject::Visit(id) => id.as_uuid(),
            Subject::Order(id) => id.as_uuid(),
            Subject::Upload(id) => id.as_uuid(),
        }
    }

    pub fn as_lead(&self) -> Option<LeadId> {
        match self {
            Subject::Lead(id) => Some(*id),
            _ => None,
        }
    }
}

impl From<LeadId> for Subject {
    fn from(id: LeadId) -> Self {
        Subject::Lead(id)
    }
}

impl fmt::Display for Subject {
    /// `lead:0193…`: the form used in logs and storage keys.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind().as_str(), self.id())
    }
}

impl SubjectKind {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The fields a rule condition may read under `<kind>.` (leaf paths; an object's own path
    /// is valid too, for `present` / `missing`). Checked against a serialised record in each
    /// kind's tests, so the schema cannot drift from the type. Kinds whose records have not
    /// landed yet have none: a rule cannot test a field that does not exist.
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            SubjectKind::Lead => crate::lead::RULE_FIELDS,
            SubjectKind::Upload => crate::upload::RULE_FIELDS,
            SubjectKind::Deal => crate::deal::RULE_FIELDS,
            SubjectKind::Customer => crate::customer::RULE_FIELDS,
            SubjectKind::Order => crate::order::RULE_FIELDS,
            SubjectKind::Visit => &[],
        }
    }

    /// Whether `path` (without the `<kind>.` prefix) names a field or an object of fields.
    pub fn has_field(self, path: &str) -> bool {
        has_path(self.fields(), path)
    }
}

impl fmt::Display for SubjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether `path` is one of `leaves` or the object holding some of them.
pub(crate) fn has_path(leaves: &[&str], path: &str) -> bool {
    leaves.iter().any(|leaf| {
        *leaf == path
            || leaf
                .strip_prefix(path)
                .is_some_and(|rest| rest.starts_with('.'))
    })
}

/// Every leaf path of a JSON value (arrays are leaves), for the schema tests.
#[cfg(test)]
pub(crate) fn leaf_paths(value: &serde_json::Value) -> std::collections::BTreeSet<String> {
    fn walk(v: &serde_json::Value, prefix: &str, out: &mut std::collections::BTreeSet<String>) {
        match v {
            serde_json::Value::Object(map) if !map.is_empty() => {
                for (k, child) in map {
                    let path = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(child, &path, out);
                }
            }
            _ => {
                out.insert(prefix.to_owned());
            }
        }
    }
    let mut out = std::collections::BTreeSet::new();
    walk(value, "", &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use strum::IntoEnumIterator;

    #[test]
    fn subjects_round_trip_as_one_key_and_flatten_into_parents() {
        let lead = LeadId::new();
        let s = Subject::Lead(lead);
        assert_eq!(
            serde_json::to_value(s).unwrap(),
            serde_json::json!({"lead": lead.to_string()})
        );
        assert_eq!(Subject::new(s.kind(), s.id()), s);
        assert_eq!(s.to_string(), format!("lead:{lead}"));
        for kind in SubjectKind::iter() {
            assert_eq!(kind.as_str().parse::<SubjectKind>().unwrap(), kind);
            let id = Uuid::now_v7();
            assert_eq!(Subject::new(kind, id).kind(), kind);
            assert_eq!(Subject::new(kind, id).id(), id);
        }
        assert!("opportunity".parse::<SubjectKind>().is_err());
    }

    #[test]
    fn object_paths_are_valid_for_presence_tests() {
        let leaves = ["prescreen.budget.max", "status"];
        assert!(has_path(&leaves, "prescreen"));
        assert!(has_path(&leaves, "prescreen.budget"));
        assert!(has_path(&leaves, "status"));
        assert!(!has_path(&leaves, "prescreen.bud"));
        assert!(!has_path(&leaves, "stat"));
    }
}
