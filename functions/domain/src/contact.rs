//! Contact details. Each value is validated on the way in so storage and downstream code
//! (dialers, dedup, SLA timers) can trust it.

use crate::error::DomainError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// An ISO 3166 region used to read phone numbers written without a country code
/// (a tenant in Shanghai writes `021 6234 5678`, not `+86 21 ...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region(phonenumber::country::Id);

impl Region {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        raw.trim()
            .to_ascii_uppercase()
            .parse::<phonenumber::country::Id>()
            .map(Region)
            .map_err(|_| DomainError::invalid("region", "must be an ISO 3166 alpha-2 code"))
    }
    pub fn china() -> Self {
        Region(phonenumber::country::Id::CN)
    }
}

impl Default for Region {
    fn default() -> Self {
        Self::china()
    }
}

/// A phone number known to be valid, kept in E.164 form (`+8613812345678`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String, example = "+8613812345678"))]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parse what a person typed: spaces, dashes, brackets, a `+` prefix or a national
    /// trunk prefix are all accepted; the number must be valid for its region.
    pub fn parse(raw: &str, default_region: Region) -> Result<Self, DomainError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.len() > 40 {
            return Err(DomainError::invalid("phone", "must be a phone number"));
        }
        // A number in international form names its own country; the default region only
        // reads national forms (and would misread some international ones, see the tests).
        let region = (!trimmed.starts_with('+')).then_some(default_region.0);
        let parsed = phonenumber::parse(region, trimmed)
            .map_err(|_| DomainError::invalid("phone", "is not a phone number"))?;
        if !phonenumber::is_valid(&parsed) {
            return Err(DomainError::invalid(
                "phone",
                "is not a valid number for its region",
            ));
        }
        Ok(PhoneNumber(
            parsed.format().mode(phonenumber::Mode::E164).to_string(),
        ))
    }
    pub fn e164(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for PhoneNumber {
    /// Only stored records (and events) carry a `PhoneNumber`; what clients send is parsed
    /// with [`PhoneNumber::parse`]. Stored values were validated when written, so reading
    /// checks their E.164 shape only: a full re-parse against the numbering plan was a fifth
    /// of the CPU of every lead read.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        if is_e164(&raw) {
            Ok(PhoneNumber(raw))
        } else {
            Err(serde::de::Error::custom(format!(
                "stored phone {raw:?} is not in E.164 form"
            )))
        }
    }
}

/// `+`, then 7 to 15 digits without a leading zero.
fn is_e164(raw: &str) -> bool {
    raw.strip_prefix('+').is_some_and(|digits| {
        (7..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0')
    })
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An e-mail address in a syntactically valid form, lower-cased domain kept as typed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String, format = Email))]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let trimmed = raw.trim();
        email_address::EmailAddress::from_str(trimmed)
            .map(|e| EmailAddress(e.to_string()))
            .map_err(|_| DomainError::invalid("email", "is not an e-mail address"))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for EmailAddress {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        EmailAddress::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// A person's or company's display name: at most 100 characters as sent (not bytes: 王小明 is
/// 3), not blank, and no control characters once trimmed. Input fields that become one carry
/// a schema pattern saying exactly this (whitespace as `char::is_whitespace` knows it).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String, example = "王小明"))]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        Self::parse_field(raw, "name")
    }
    /// Same rules, reported under another field name (company, title, ...).
    pub fn parse_field(raw: &str, field: &str) -> Result<Self, DomainError> {
        if raw.chars().count() > 100 {
            return Err(DomainError::invalid(
                field,
                "must be at most 100 characters",
            ));
        }
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(DomainError::invalid(field, "must not be empty"));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(DomainError::invalid(
                field,
                "must not contain control characters",
            ));
        }
        Ok(PersonName(trimmed.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for PersonName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        PersonName::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// How to reach the person behind a lead. A lead needs a name and at least one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContactInfo {
    pub name: PersonName,
    pub phone: Option<PhoneNumber>,
    pub email: Option<EmailAddress>,
    pub company: Option<PersonName>,
    pub title: Option<PersonName>,
}

impl ContactInfo {
    pub fn validate(&self) -> Result<(), DomainError> {
        if self.phone.is_none() && self.email.is_none() {
            return Err(DomainError::invalid(
                "contact",
                "needs a phone number or an e-mail address",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn stored_phones_are_read_back_by_shape() {
        let read = |raw: &str| serde_json::from_value::<PhoneNumber>(serde_json::json!(raw));
        let cn = Region::china();
        let stored = PhoneNumber::parse("138 1234 5678", cn).unwrap();
        let json = serde_json::to_value(&stored).unwrap();
        assert_eq!(serde_json::from_value::<PhoneNumber>(json).unwrap(), stored);
        for bad in [
            "13812345678",
            "+86 138 1234 5678",
            "+0123456789",
            "+123",
            "+1234567890123456",
            "+86１３８",
        ] {
            assert!(read(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn chinese_mobiles_and_landlines_normalise_to_e164() {
        let cn = Region::china();
        assert_eq!(
            PhoneNumber::parse("138 1234 5678", cn).unwrap().e164(),
            "+8613812345678"
        );
        assert_eq!(
            PhoneNumber::parse("(021) 6234-5678", cn).unwrap().e164(),
            "+862162345678"
        );
        assert_eq!(
            PhoneNumber::parse("+1 415 555 2671", cn).unwrap().e164(),
            "+14155552671"
        );
    }

    #[test]
    fn invalid_phones_are_refused() {
        let cn = Region::china();
        for bad in ["", "12", "abc", "138123456789999", "+86 000"] {
            assert!(PhoneNumber::parse(bad, cn).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn international_numbers_are_read_in_any_region() {
        // phonenumber 0.3.10 drops the leading 1 of "+86 138…" when told the region is the
        // US (the US trunk prefix is 1), so a US tenant could not record a Chinese mobile.
        let us = Region::parse("us").unwrap();
        for raw in ["+86 138 1234 5678", "+8613812345678", " +86-138-1234-5678 "] {
            assert_eq!(
                PhoneNumber::parse(raw, us).unwrap().e164(),
                "+8613812345678",
                "{raw}"
            );
        }
        assert_eq!(
            PhoneNumber::parse("+1 415 555 2671", Region::china())
                .unwrap()
                .e164(),
            "+14155552671"
        );
    }

    #[test]
    fn regional_reading_differs() {
        let us = Region::parse("us").unwrap();
        assert_eq!(
            PhoneNumber::parse("(415) 555-2671", us).unwrap().e164(),
            "+14155552671"
        );
        assert!(Region::parse("zz").is_err());
    }

    #[test]
    fn names_count_characters_not_bytes() {
        assert!(PersonName::parse(&"王".repeat(100)).is_ok());
        assert!(PersonName::parse(&"王".repeat(101)).is_err());
        assert!(PersonName::parse("   ").is_err());
        assert!(PersonName::parse("a\u{0}b").is_err());
        assert_eq!(PersonName::parse("  Li Lei ").unwrap().as_str(), "Li Lei");
    }

    #[test]
    fn emails_are_validated() {
        assert!(EmailAddress::parse("wang@example.cn").is_ok());
        assert!(EmailAddress::parse("not an email").is_err());
    }

    proptest! {
        #[test]
        fn phone_parsing_never_panics(s in "\\PC{0,60}") {
            let _ = PhoneNumber::parse(&s, Region::china());
        }

        #[test]
        fn parsed_phones_are_e164(d in "1[3-9][0-9]{9}") {
            if let Ok(p) = PhoneNumber::parse(&d, Region::china()) {
                prop_assert!(p.e164().starts_with("+86"));
                prop_assert_eq!(p.e164().len(), 14);
            }
        }
    }
}
