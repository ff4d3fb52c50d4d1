//! Identifiers. Each entity gets its own type so a `UserId` can never be passed where a
//! `LeadId` is expected, and a `TenantId` is parsed once and never holds garbage.

use crate::error::DomainError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

/// A UUID that is the same for the same `seed` (the first 16 bytes of its SHA-256): ids
/// derived from an `Idempotency-Key` or another natural key, so a retry finds what it made.
pub fn derived_uuid(seed: &str) -> Uuid {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(seed);
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String, format = Uuid))]
        pub struct $name(Uuid);

        impl $name {
            /// A new time-ordered id (UUIDv7), so ids sort roughly by creation.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
            pub fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = DomainError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s.trim())
                    .map(Self)
                    .map_err(|_| DomainError::invalid($field, "must be a UUID"))
            }
        }
    };
}

uuid_id!(/// A user (rep, manager or admin) inside one tenant.
    UserId, "user_id");
uuid_id!(/// A sales team; each has at most one manager.
    TeamId, "team_id");
uuid_id!(/// A lead: a potential customer not yet converted.
    LeadId, "lead_id");
uuid_id!(/// One entry in the follow-up log.
    ActivityId, "activity_id");
uuid_id!(/// A customer account.
    CustomerId, "customer_id");
uuid_id!(/// A person at a customer.
    ContactId, "contact_id");
uuid_id!(/// A domain event; consumers deduplicate on it.
    EventId, "event_id");
uuid_id!(/// A durable timer (SLA clock, stale-lead check).
    TimerId, "timer_id");
uuid_id!(/// An in-app notification.
    NotificationId, "notification_id");
uuid_id!(/// A task for a rep.
    TaskId, "task_id");
uuid_id!(/// A deal (商机) in a pipeline.
    DealId, "deal_id");
uuid_id!(/// A visit to a customer or store.
    VisitId, "visit_id");
uuid_id!(/// A customer's order.
    OrderId, "order_id");
uuid_id!(/// A file a phone uploaded (card, shelf photo, voice note, attachment).
    UploadId, "upload_id");
uuid_id!(/// One sale a shop assistant tagged (customer focus, obstacle, competitor compared).
    SaleTagsId, "sale_tags_id");
uuid_id!(/// A material pack: files sent to a customer as one link.
    MaterialPackId, "material_pack_id");

/// A tenant's slug: 2–40 lowercase ASCII letters, digits or inner hyphens (`acme`, `huadong-trading`).
/// Slugs appear in tokens and logs, so they are kept short and unambiguous.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String, example = "acme"))]
pub struct TenantId(String);

impl TenantId {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let ok_len = (2..=40).contains(&raw.len());
        let ok_chars = raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        let ok_edges = !raw.starts_with('-') && !raw.ends_with('-');
        if ok_len && ok_chars && ok_edges {
            Ok(Self(raw.to_owned()))
        } else {
            Err(DomainError::invalid(
                "tenant",
                "must be 2-40 lowercase letters, digits or inner hyphens",
            ))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for TenantId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        TenantId::parse(&raw).map_err(serde::de::Error::custom)
    }
}

impl FromStr for TenantId {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_slugs_are_validated() {
        assert!(TenantId::parse("acme").is_ok());
        assert!(TenantId::parse("huadong-trading-2").is_ok());
        for bad in [
            "",
            "a",
            "Acme",
            "-acme",
            "acme-",
            "ac me",
            "华东",
            &"x".repeat(41),
        ] {
            assert!(TenantId::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn tenant_id_deserialization_validates() {
        assert!(serde_json::from_str::<TenantId>("\"ACME\"").is_err());
        assert_eq!(
            serde_json::from_str::<TenantId>("\"acme\"")
                .unwrap()
                .as_str(),
            "acme"
        );
    }

    #[test]
    fn uuid_ids_round_trip_and_refuse_garbage() {
        let id = LeadId::new();
        assert_eq!(id.to_string().parse::<LeadId>().unwrap(), id);
        assert!("not-a-uuid".parse::<LeadId>().is_err());
    }
}
