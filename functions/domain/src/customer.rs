//! Customers and the people at them, de-duplicated within a tenant: a customer by its
//! normalised company name, a contact by each normalised phone and e-mail (`dedupe_keys`).
//! Grading and health scores build on these in later slices.

use crate::access::Actor;
use crate::contact::{EmailAddress, PersonName, PhoneNumber, Region};
use crate::error::DomainError;
use crate::id::{ContactId, CustomerId, LeadId, TeamId, TenantId, UserId};
use crate::lead::snake_enum;
use crate::user::User;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

snake_enum!(/// A person's part in the buying decision; decision-chain coverage is graded on it.
    DecisionRole, "decision_role" {
    DecisionMaker => "decision_maker",
    Influencer => "influencer",
    User => "user",
    Gatekeeper => "gatekeeper",
    Unknown => "unknown",
});

snake_enum!(/// What kind of business a customer is.
    CustomerKind, "kind" {
    Store => "store",
    Distributor => "distributor",
    Enterprise => "enterprise",
    Other => "other",
});

// `snake_enum!` takes no per-variant attributes, so `#[default]` cannot be derived.
#[allow(clippy::derivable_impls)]
impl Default for CustomerKind {
    fn default() -> Self {
        CustomerKind::Other
    }
}

/// A point on the map (WGS 84 degrees), for visits and route planning.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GeoPoint {
    #[cfg_attr(feature = "openapi", schema(minimum = -90.0, maximum = 90.0))]
    pub lat: f64,
    #[cfg_attr(feature = "openapi", schema(minimum = -180.0, maximum = 180.0))]
    pub lon: f64,
}

/// Where a customer can be found: the address as written, and where it is when known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Address {
    #[cfg_attr(
        feature = "openapi",
        schema(
            max_length = 300,
            pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$",
            example = "上海市浦东新区张江路88号"
        )
    )]
    pub text: String,
    pub geo: Option<GeoPoint>,
}

/// A company we sell to, usually born from a converted lead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Customer {
    pub id: CustomerId,
    pub tenant: TenantId,
    pub name: PersonName,
    #[serde(default)]
    pub kind: CustomerKind,
    pub owner: UserId,
    pub team: Option<TeamId>,
    #[serde(default)]
    pub addresses: Vec<Address>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// The lead it was converted from, when it was.
    pub origin_lead: Option<LeadId>,
    pub created_at: DateTime<Utc>,
    pub version: u64,
    /// Set when this record was merged into another: it stays as a pointer (deals and links
    /// that name it still find their customer) but is listed and changed no more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<CustomerId>,
}

/// The fields a rule about a customer may read under `customer.`: the record's top-level
/// fields, and `key_store` (one of the tenant's key stores, by its tags).
pub(crate) const RULE_FIELDS: &[&str] = &[
    "id",
    "tenant",
    "name",
    "kind",
    "owner",
    "team",
    "addresses",
    "tags",
    "origin_lead",
    "created_at",
    "version",
    "merged_into",
    "key_store",
];

/// What a client sends to create a customer, with the contacts it already knows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewCustomer {
    #[cfg_attr(
        feature = "openapi",
        schema(
            max_length = 100,
            pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$",
            example = "上海联华超市有限公司"
        )
    )]
    pub name: String,
    #[serde(default)]
    pub kind: CustomerKind,
    /// Who should own it; reps always own what they create.
    pub owner: Option<UserId>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 10))]
    pub addresses: Vec<Address>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 20))]
    pub tags: Vec<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 20))]
    pub contacts: Vec<NewContact>,
}

/// A change to a customer. An absent field is left alone; a list given replaces the list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomerPatch {
    #[cfg_attr(
        feature = "openapi",
        schema(
            max_length = 100,
            pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
        )
    )]
    pub name: Option<String>,
    pub kind: Option<CustomerKind>,
    #[cfg_attr(feature = "openapi", schema(max_items = 10))]
    pub addresses: Option<Vec<Address>>,
    #[cfg_attr(feature = "openapi", schema(max_items = 20))]
    pub tags: Option<Vec<String>>,
    /// Hands the customer to another user (managers within their team, admins anywhere);
    /// its team follows the new owner's.
    pub owner: Option<UserId>,
}

/// A change to a contact. An absent field is left alone; a list given replaces the list; a
/// blank title or role clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContactPatch {
    #[cfg_attr(
        feature = "openapi",
        schema(
            max_length = 100,
            pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
        )
    )]
    pub name: Option<String>,
    #[cfg_attr(feature = "openapi", schema(max_length = 100))]
    pub title: Option<String>,
    #[cfg_attr(feature = "openapi", schema(max_items = 5))]
    pub phones: Option<Vec<String>>,
    #[cfg_attr(feature = "openapi", schema(max_items = 5))]
    pub emails: Option<Vec<String>>,
    pub decision_role: Option<DecisionRole>,
    #[cfg_attr(feature = "openapi", schema(max_length = 40))]
    pub role: Option<String>,
}

impl Contact {
    /// This contact with `patch` applied, validated as a new contact would be, and the names
    /// of the fields that changed (empty: nothing to store). `role` is the already-checked
    /// role when the patch names one.
    pub fn patched(
        &self,
        patch: &ContactPatch,
        customer: &Customer,
        region: Region,
        role: Option<Option<String>>,
    ) -> Result<(Contact, Vec<String>), DomainError> {
        let input = NewContact {
            name: patch
                .name
                .clone()
                .unwrap_or_else(|| self.name.as_str().to_owned()),
            title: match &patch.title {
                Some(t) => Some(t.clone()),
                None => self.title.as_ref().map(|t| t.as_str().to_owned()),
            },
            phones: match &patch.phones {
                Some(p) => p.clone(),
                None => self.phones.iter().map(|p| p.e164().to_owned()).collect(),
            },
            emails: match &patch.emails {
                Some(e) => e.clone(),
                None => self.emails.iter().map(|e| e.as_str().to_owned()).collect(),
            },
            decision_role: Some(patch.decision_role.unwrap_or(self.decision_role)),
            role: None,
        };
        let mut next = input.parse(
            self.id,
            customer,
            region,
            role.unwrap_or_else(|| self.role.clone()),
            self.added_at.unwrap_or(customer.created_at),
        )?;
        next.added_at = self.added_at;
        let mut changed = Vec::new();
        let mut note = |differs: bool, field: &str| {
            if differs {
                changed.push(field.to_owned());
            }
        };
        note(next.name != self.name, "name");
        note(next.title != self.title, "title");
        note(next.phones != self.phones, "phones");
        note(next.emails != self.emails, "emails");
        note(next.decision_role != self.decision_role, "decision_role");
        note(next.role != self.role, "role");
        Ok((next, changed))
    }
}

/// A person to add to a customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewContact {
    #[cfg_attr(
        feature = "openapi",
        schema(
            max_length = 100,
            pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$",
            example = "王建国"
        )
    )]
    pub name: String,
    /// Blank means none.
    #[cfg_attr(
        feature = "openapi",
        schema(
            max_length = 100,
            pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*(?:[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?)?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$",
            example = "采购经理"
        )
    )]
    pub title: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 5, example = json!(["138 1234 5678"])))]
    pub phones: Vec<String>,
    /// Work and private addresses; `email` (one address) is accepted too. Blanks are dropped.
    #[serde(default, alias = "email", deserialize_with = "one_or_many")]
    #[cfg_attr(feature = "openapi", schema(max_items = 5, example = json!(["wang@lianhua.cn"])))]
    pub emails: Vec<String>,
    #[serde(default)]
    pub decision_role: Option<DecisionRole>,
    /// Their function in the buying decision, one of the tenant's grading roles
    /// (`purchasing`, `technical`, ...); blank means not known yet.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 40, example = "technical"))]
    pub role: Option<String>,
}

const MAX_ADDRESSES: usize = 10;
const MAX_TAGS: usize = 20;
const MAX_CONTACTS: usize = 20;
const MAX_PHONES: usize = 5;
const MAX_EMAILS: usize = 5;

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    Many(Vec<T>),
    One(T),
}

impl<T> From<OneOrMany<T>> for Vec<T> {
    fn from(v: OneOrMany<T>) -> Vec<T> {
        match v {
            OneOrMany::Many(v) => v,
            OneOrMany::One(t) => vec![t],
        }
    }
}

/// A list an input may also give as one value (`"email": "a@b.cn"`).
fn one_or_many<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    OneOrMany::<T>::deserialize(d).map(Vec::from)
}

/// A list that stored bodies from before it was one give as one value or null.
fn stored_one_or_many<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<OneOrMany<T>>::deserialize(d)?
        .map(Vec::from)
        .unwrap_or_default())
}

fn validate_addresses(addresses: &[Address]) -> Result<Vec<Address>, DomainError> {
    if addresses.len() > MAX_ADDRESSES {
        return Err(DomainError::invalid(
            "addresses",
            format!("at most {MAX_ADDRESSES}"),
        ));
    }
    addresses
        .iter()
        .map(|a| {
            let text = a.text.trim();
            if text.is_empty() || a.text.chars().count() > 300 || text.chars().any(char::is_control)
            {
                return Err(DomainError::invalid(
                    "addresses.text",
                    "1-300 characters, no control characters",
                ));
            }
            if let Some(g) = a.geo
                && !((-90.0..=90.0).contains(&g.lat) && (-180.0..=180.0).contains(&g.lon))
            {
                return Err(DomainError::invalid(
                    "addresses.geo",
                    "lat within ±90, lon within ±180",
                ));
            }
            Ok(Address {
                text: text.to_owned(),
                geo: a.geo,
            })
        })
        .collect()
}

fn validate_tags(tags: &[String]) -> Result<Vec<String>, DomainError> {
    if tags.len() > MAX_TAGS {
        return Err(DomainError::invalid("tags", format!("at most {MAX_TAGS}")));
    }
    let mut out: Vec<String> = Vec::new();
    for tag in tags {
        let t = tag.trim();
        if t.is_empty() || t.chars().count() > 30 || t.chars().any(char::is_control) {
            return Err(DomainError::invalid(
                "tags",
                "each 1-30 characters, no control characters",
            ));
        }
        if !out.iter().any(|o| o == t) {
            out.push(t.to_owned());
        }
    }
    Ok(out)
}

impl NewContact {
    /// The contact this input describes, at `customer`.
    /// `role` is the already-checked role (see `GradePolicy::parse_role`); `now` is when the
    /// contact was left with us.
    pub fn parse(
        &self,
        id: ContactId,
        customer: &Customer,
        region: Region,
        role: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Contact, DomainError> {
        let name = PersonName::parse(&self.name)?;
        // Blank means none; the limit counts what was sent, as the schema says.
        let title = match self.title.as_deref() {
            Some(t) if t.chars().count() > 100 => {
                return Err(DomainError::invalid("title", "at most 100 characters"));
            }
            Some(t) if !t.trim().is_empty() => Some(PersonName::parse_field(t, "title")?),
            _ => None,
        };
        if self.phones.len() > MAX_PHONES {
            return Err(DomainError::invalid(
                "phones",
                format!("at most {MAX_PHONES}"),
            ));
        }
        let mut phones: Vec<PhoneNumber> = Vec::new();
        for raw in &self.phones {
            let phone = PhoneNumber::parse(raw, region)?;
            if !phones.contains(&phone) {
                phones.push(phone);
            }
        }
        if self.emails.len() > MAX_EMAILS {
            return Err(DomainError::invalid(
                "emails",
                format!("at most {MAX_EMAILS}"),
            ));
        }
        let mut emails: Vec<EmailAddress> = Vec::new();
        for raw in self
            .emails
            .iter()
            .map(|e| e.trim())
            .filter(|e| !e.is_empty())
        {
            let email = EmailAddress::parse(raw)?;
            if !emails
                .iter()
                .any(|e| e.as_str().eq_ignore_ascii_case(email.as_str()))
            {
                emails.push(email);
            }
        }
        Ok(Contact {
            id,
            tenant: customer.tenant.clone(),
            customer: customer.id,
            name,
            title,
            phones,
            emails,
            decision_role: self.decision_role.unwrap_or(DecisionRole::Unknown),
            role,
            added_at: Some(now),
        })
    }
}

/// Company-form words dropped from the end of a Latin-script name ("Acme Co., Ltd.").
const LATIN_SUFFIXES: &[&str] = &[
    "co",
    "company",
    "ltd",
    "limited",
    "inc",
    "incorporated",
    "llc",
    "corp",
    "corporation",
    "gmbh",
    "ag",
    "plc",
    "sa",
    "srl",
    "ltda",
    "jsc",
    "pte",
];

/// Company-form endings dropped from a Chinese name, longest first.
const CJK_SUFFIXES: &[&str] = &[
    "股份有限公司",
    "有限责任公司",
    "集团有限公司",
    "有限公司",
    "集团公司",
    "公司",
];

/// Text as searches compare it: NFKC (full-width folded to half-width), case folded, only
/// letters and digits. "ＡＣＭＥ Co." and "acme co" both fold to "acmeco".
pub fn search_fold(text: &str) -> String {
    text.nfkc()
        .collect::<String>()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// A company name as the de-duplication compares it: full-width folded to half-width and
/// compatibility forms unified (NFKC), case folded, punctuation and spaces removed, and
/// company-form endings dropped — so "上海联华超市有限公司", "上海联华超市 （有限公司）" and
/// "ＡＣＭＥ Co., Ltd." / "Acme Limited" meet. A name that is nothing but a company form keeps
/// its letters.
pub fn company_key(name: &str) -> String {
    let folded: String = name.nfkc().collect::<String>().to_lowercase();
    let mut tokens: Vec<&str> = folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .collect();
    let all: String = tokens.concat();
    while tokens.last().is_some_and(|t| LATIN_SUFFIXES.contains(t)) {
        tokens.pop();
    }
    let mut key = tokens.concat();
    while let Some(suffix) = CJK_SUFFIXES.iter().find(|s| key.ends_with(**s)) {
        key.truncate(key.len() - suffix.len());
    }
    if key.is_empty() { all } else { key }
}

impl Customer {
    /// A new customer from `input`, owned by `owner` (resolved and permitted by the caller)
    /// and in the owner's team.
    pub fn create(
        input: &NewCustomer,
        id: CustomerId,
        actor: &Actor,
        owner: &User,
        now: DateTime<Utc>,
    ) -> Result<Customer, DomainError> {
        if input.contacts.len() > MAX_CONTACTS {
            return Err(DomainError::invalid(
                "contacts",
                format!("at most {MAX_CONTACTS}"),
            ));
        }
        Ok(Customer {
            id,
            tenant: actor.tenant.clone(),
            name: PersonName::parse(&input.name)?,
            kind: input.kind,
            owner: owner.id,
            team: owner.team,
            addresses: validate_addresses(&input.addresses)?,
            tags: validate_tags(&input.tags)?,
            origin_lead: None,
            created_at: now,
            version: 1,
            merged_into: None,
        })
    }

    /// An event about this customer, at its current version.
    pub fn event(
        &self,
        actor: &Actor,
        now: DateTime<Utc>,
        payload: crate::event::EventPayload,
    ) -> crate::event::DomainEvent {
        crate::event::DomainEvent::new(
            self.tenant.clone(),
            crate::subject::Subject::Customer(self.id),
            self.version,
            Some(actor.user),
            None,
            now,
            payload,
        )
    }

    /// Refuses a change to a record that was merged away.
    pub fn ensure_live(&self) -> Result<(), DomainError> {
        match self.merged_into {
            Some(into) => Err(DomainError::Conflict(format!(
                "customer {} was merged into {into}",
                self.id
            ))),
            None => Ok(()),
        }
    }

    /// Takes in what `duplicate` knows that this record does not (its tags and addresses), as
    /// a new version; the duplicate becomes a pointer here, as a new version of its own. Each
    /// record's contacts, activities and purchases move with the store's merge.
    pub fn absorb(&mut self, duplicate: &mut Customer) -> Result<(), DomainError> {
        self.ensure_live()?;
        duplicate.ensure_live()?;
        if self.id == duplicate.id || self.tenant != duplicate.tenant {
            return Err(DomainError::invalid(
                "duplicate",
                "must be another customer of the tenant",
            ));
        }
        for tag in &duplicate.tags {
            if !self.tags.contains(tag) && self.tags.len() < MAX_TAGS {
                self.tags.push(tag.clone());
            }
        }
        for address in &duplicate.addresses {
            if !self.addresses.iter().any(|a| a.text == address.text)
                && self.addresses.len() < MAX_ADDRESSES
            {
                self.addresses.push(address.clone());
            }
        }
        if self.origin_lead.is_none() {
            self.origin_lead = duplicate.origin_lead;
        }
        self.version += 1;
        duplicate.merged_into = Some(self.id);
        duplicate.version += 1;
        Ok(())
    }

    /// Applies `patch` as a new version; `false` (and no new version) when it changes
    /// nothing. `new_owner` is the user `patch.owner` names, resolved and permitted by the
    /// caller.
    pub fn apply_patch(
        &mut self,
        patch: &CustomerPatch,
        new_owner: Option<&User>,
    ) -> Result<bool, DomainError> {
        let mut next = self.clone();
        if let Some(owner) = new_owner {
            next.owner = owner.id;
            next.team = owner.team;
        }
        if let Some(name) = &patch.name {
            next.name = PersonName::parse(name)?;
        }
        if let Some(kind) = patch.kind {
            next.kind = kind;
        }
        if let Some(addresses) = &patch.addresses {
            next.addresses = validate_addresses(addresses)?;
        }
        if let Some(tags) = &patch.tags {
            next.tags = validate_tags(tags)?;
        }
        if next == *self {
            return Ok(false);
        }
        next.version += 1;
        *self = next;
        Ok(true)
    }

    /// The fields a person may change (`apply_patch`) that differ from `before`.
    pub fn changed_fields(&self, before: &Customer) -> Vec<String> {
        let mut changed = Vec::new();
        let mut note = |differs: bool, field: &str| {
            if differs {
                changed.push(field.to_owned());
            }
        };
        note(self.name != before.name, "name");
        note(self.kind != before.kind, "kind");
        note(self.addresses != before.addresses, "addresses");
        note(self.tags != before.tags, "tags");
        note(self.owner != before.owner, "owner");
        changed
    }

    /// The keys no other customer of the tenant may share.
    pub fn dedupe_keys(&self) -> Vec<String> {
        vec![format!("customer:name:{}", company_key(self.name.as_str()))]
    }
}

/// A person at a customer, with their place in the decision chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Contact {
    pub id: ContactId,
    pub tenant: TenantId,
    pub customer: CustomerId,
    pub name: PersonName,
    pub title: Option<PersonName>,
    pub phones: Vec<PhoneNumber>,
    /// Stored bodies from before several addresses were kept say `email`.
    #[serde(default, alias = "email", deserialize_with = "stored_one_or_many")]
    pub emails: Vec<EmailAddress>,
    pub decision_role: DecisionRole,
    /// Their function in the buying decision (the tenant's grading roles).
    #[serde(default)]
    pub role: Option<String>,
    /// When they were added (a new contact counts as interaction, 留下联系方式).
    #[serde(default)]
    pub added_at: Option<DateTime<Utc>>,
}

impl Contact {
    /// The keys no other contact of the tenant may share: each phone (already E.164) and
    /// each e-mail, case folded.
    pub fn dedupe_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .phones
            .iter()
            .map(|p| format!("contact:phone:{}", p.e164()))
            .collect();
        keys.extend(
            self.emails
                .iter()
                .map(|e| format!("contact:email:{}", e.as_str().to_lowercase())),
        );
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(name: &str) -> Customer {
        Customer {
            id: CustomerId::new(),
            tenant: TenantId::parse("acme").unwrap(),
            name: PersonName::parse(name).unwrap(),
            kind: CustomerKind::Store,
            owner: UserId::new(),
            team: None,
            addresses: vec![],
            tags: vec![],
            origin_lead: None,
            created_at: Utc::now(),
            version: 1,
            merged_into: None,
        }
    }

    #[test]
    fn company_names_meet_across_widths_cases_and_company_forms() {
        let same = [
            "上海联华超市有限公司",
            "上海联华超市 （有限公司）",
            "上海联华超市股份有限公司",
            "上海联华超市",
        ];
        for name in same {
            assert_eq!(company_key(name), "上海联华超市", "{name}");
        }
        for name in [
            "ACME Co., Ltd.",
            "Acme Limited",
            "ＡＣＭＥ　ＣＯ．，ＬＴＤ．",
            "acme inc",
            "Acme",
        ] {
            assert_eq!(company_key(name), "acme", "{name}");
        }
        // Form words are dropped only as whole trailing words, never inside a name.
        assert_eq!(company_key("Costco"), "costco");
        assert_eq!(company_key("Co Op Foods"), "coopfoods");
        assert_ne!(company_key("Acme Trading"), company_key("Acme"));
        // A name that is only a company form keeps its letters rather than becoming empty.
        assert_eq!(company_key("有限公司"), "有限公司");
        assert_eq!(company_key("Limited Co"), "limitedco");
        assert_eq!(search_fold("ＡＣＭＥ Co., Ltd."), "acmecoltd");
        assert_eq!(search_fold("上海 联华（超市）"), "上海联华超市");
    }

    #[test]
    fn contacts_are_keyed_by_every_phone_and_the_folded_email() {
        let customer = store("联华");
        let input = NewContact {
            name: "王建国".into(),
            title: Some(" ".into()),
            phones: vec!["138 1234 5678".into(), "+86 138-1234-5678".into()],
            emails: vec![
                "Wang@LianHua.cn".into(),
                " ".into(),
                "wang@lianhua.CN".into(),
            ],
            decision_role: Some(DecisionRole::DecisionMaker),
            role: Some("purchasing".into()),
        };
        let now = customer.created_at;
        let contact = input
            .parse(
                ContactId::new(),
                &customer,
                Region::default(),
                input.role.clone(),
                now,
            )
            .unwrap();
        assert_eq!(contact.title, None);
        assert_eq!(
            contact.dedupe_keys(),
            [
                "contact:phone:+8613812345678",
                "contact:email:wang@lianhua.cn"
            ]
        );
        let bad = NewContact {
            phones: vec!["12".into()],
            ..input
        };
        assert!(
            bad.parse(ContactId::new(), &customer, Region::default(), None, now)
                .is_err()
        );
    }

    #[test]
    fn a_contact_keeps_several_emails_and_reads_bodies_that_had_one() {
        let customer = store("联华");
        let one: NewContact =
            serde_json::from_value(serde_json::json!({"name": "赵", "email": "zhao@a.cn"}))
                .unwrap();
        assert_eq!(one.emails, ["zhao@a.cn"]);
        // The schema says a list: null is not one.
        assert!(
            serde_json::from_value::<NewContact>(serde_json::json!({"name": "赵", "emails": null}))
                .is_err()
        );
        let many = NewContact {
            emails: vec!["zhao@a.cn".into(), "Zhao@B.com".into()],
            ..one
        };
        let contact = many
            .parse(
                ContactId::new(),
                &customer,
                Region::default(),
                None,
                customer.created_at,
            )
            .unwrap();
        assert_eq!(
            contact.dedupe_keys(),
            ["contact:email:zhao@a.cn", "contact:email:zhao@b.com"]
        );
        let six = NewContact {
            emails: (0..6).map(|i| format!("z{i}@a.cn")).collect(),
            ..many.clone()
        };
        assert!(
            six.parse(
                ContactId::new(),
                &customer,
                Region::default(),
                None,
                customer.created_at
            )
            .is_err()
        );
        let bad = NewContact {
            emails: vec!["zhao@a.cn".into(), "not mail".into()],
            ..many
        };
        assert!(
            bad.parse(
                ContactId::new(),
                &customer,
                Region::default(),
                None,
                customer.created_at
            )
            .is_err()
        );
        // A body stored before `emails` existed.
        let mut stored = serde_json::to_value(&contact).unwrap();
        let obj = stored.as_object_mut().unwrap();
        obj.remove("emails");
        obj.insert("email".into(), "old@a.cn".into());
        let old: Contact = serde_json::from_value(stored).unwrap();
        assert_eq!(old.emails, [EmailAddress::parse("old@a.cn").unwrap()]);
    }

    #[test]
    fn a_contact_patch_says_what_changed_and_is_validated_like_a_new_contact() {
        let customer = store("联华");
        let input = NewContact {
            name: "王建国".into(),
            title: Some("采购经理".into()),
            phones: vec!["13812345678".into()],
            emails: vec![],
            decision_role: None,
            role: None,
        };
        let wang = input
            .parse(
                ContactId::new(),
                &customer,
                Region::default(),
                None,
                customer.created_at,
            )
            .unwrap();
        let same = ContactPatch {
            phones: Some(vec!["+86 138 1234 5678".into()]),
            ..Default::default()
        };
        let (unchanged, changed) = wang
            .patched(&same, &customer, Region::default(), None)
            .unwrap();
        assert!(changed.is_empty());
        assert_eq!(unchanged, wang);
        let more = ContactPatch {
            title: Some(" ".into()),
            emails: Some(vec!["wang@lh.cn".into()]),
            ..Default::default()
        };
        let (next, changed) = wang
            .patched(
                &more,
                &customer,
                Region::default(),
                Some(Some("purchasing".into())),
            )
            .unwrap();
        assert_eq!(changed, ["title", "emails", "role"]);
        assert_eq!((next.title, next.added_at), (None, wang.added_at));
        let bad = ContactPatch {
            phones: Some(vec!["12".into()]),
            ..Default::default()
        };
        assert!(
            wang.patched(&bad, &customer, Region::default(), None)
                .is_err()
        );
    }

    #[test]
    fn a_patch_is_a_new_version_only_when_it_changes_something() {
        let mut c = Customer {
            tags: vec!["a".into()],
            ..store("联华")
        };
        let same = CustomerPatch {
            kind: Some(CustomerKind::Store),
            tags: Some(vec![" a ".into()]),
            ..Default::default()
        };
        assert_eq!(c.apply_patch(&same, None), Ok(false));
        assert_eq!(c.version, 1);
        let rename = CustomerPatch {
            name: Some("上海联华超市".into()),
            ..Default::default()
        };
        assert_eq!(c.apply_patch(&rename, None), Ok(true));
        assert_eq!((c.name.as_str(), c.version), ("上海联华超市", 2));
        let bad = CustomerPatch {
            tags: Some(vec!["".into()]),
            ..Default::default()
        };
        assert!(c.apply_patch(&bad, None).is_err());
        assert_eq!(c.version, 2, "a refused patch changes nothing");
    }

    #[test]
    fn absorbing_a_duplicate_takes_its_tags_and_leaves_a_pointer() {
        let mut a = store("联华超市");
        a.tags = vec!["KA".into()];
        let mut b = store("联华超市浦东店");
        b.tags = vec!["KA".into(), "社区店".into()];
        b.addresses = vec![Address {
            text: "上海市浦东新区".into(),
            geo: None,
        }];
        a.absorb(&mut b).unwrap();
        assert_eq!(a.tags, ["KA", "社区店"]);
        assert_eq!(a.addresses.len(), 1);
        assert_eq!((a.version, b.version), (2, 2));
        assert_eq!(b.merged_into, Some(a.id));
        assert!(b.ensure_live().is_err());
        let mut c = store("另一家");
        assert!(
            c.absorb(&mut b).is_err(),
            "a pointer cannot be merged again"
        );
        let mut same = a.clone();
        assert!(a.absorb(&mut same).is_err(), "not into itself");
    }
}
