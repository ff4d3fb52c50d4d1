//! Material packs (资料包): a named set of a deal's files sent to a customer as one link. The
//! link's token is 256 random bits shown once; only its SHA-256 is kept, so a leaked database
//! opens nothing. Links expire and can be revoked; every opening is a `material_opened` event
//! on the deal, which rules can act on ("the customer just read the quote: call now").

use crate::access::Actor;
use crate::activity::Activity;
use crate::error::DomainError;
use crate::event::{DomainEvent, EventPayload};
use crate::id::{DealId, MaterialPackId, TenantId, UploadId, UserId};
use crate::subject::Subject;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// What a rep sends to make a pack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewMaterialPack {
    /// Shown to the customer; 1-100 characters.
    #[cfg_attr(
        feature = "openapi",
        schema(
            max_length = 100,
            pattern = r"[^\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
        )
    )]
    pub name: String,
    /// Uploads attached to the deal, 1 to 20, in the order the customer sees them.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 20))]
    pub files: Vec<UploadId>,
    /// Days the link works (1-90, default 14).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 90))]
    pub expires_in_days: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PackFile {
    pub upload: UploadId,
    pub file_name: String,
    pub content_type: String,
    pub size: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MaterialPack {
    pub id: MaterialPackId,
    pub tenant: TenantId,
    pub deal: DealId,
    pub name: String,
    pub files: Vec<PackFile>,
    /// SHA-256 (hex) of the link's token; the token itself is never stored. Kept beside the
    /// body by the stores (the lookup key), never in what the API shows.
    #[serde(skip)]
    pub token_hash: String,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked: bool,
    /// How often the customer opened it.
    pub opens: u32,
    pub first_opened_at: Option<DateTime<Utc>>,
    pub last_opened_at: Option<DateTime<Utc>>,
    pub version: u64,
}

const DEFAULT_DAYS: u32 = 14;
const MAX_DAYS: u32 = 90;
const MAX_FILES: usize = 20;

/// The SHA-256 (hex) a token is found by.
pub fn token_hash(token: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Whether `raw` has the shape of a token this module issues (43 base64url characters), so a
/// malformed link is refused before any lookup.
pub fn token_shape_ok(raw: &str) -> bool {
    raw.len() == 43
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl MaterialPack {
    /// A pack of the deal's attachments named in `input`; `token` is the fresh random link
    /// token (its hash is kept). `attachments` is the deal's activity log.
    pub fn create(
        input: &NewMaterialPack,
        id: MaterialPackId,
        deal: DealId,
        attachments: &[Activity],
        token: &str,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<MaterialPack, DomainError> {
        let name = input.name.trim();
        if name.is_empty() || input.name.chars().count() > 100 {
            return Err(DomainError::invalid("name", "1-100 characters"));
        }
        if input.files.is_empty() || input.files.len() > MAX_FILES {
            return Err(DomainError::invalid(
                "files",
                format!("1 to {MAX_FILES} files"),
            ));
        }
        let days = input.expires_in_days.unwrap_or(DEFAULT_DAYS);
        if !(1..=MAX_DAYS).contains(&days) {
            return Err(DomainError::invalid(
                "expires_in_days",
                format!("1 to {MAX_DAYS}"),
            ));
        }
        let mut files = Vec::new();
        for upload in &input.files {
            if files.iter().any(|f: &PackFile| f.upload == *upload) {
                return Err(DomainError::invalid(
                    "files",
                    format!("{upload} is listed twice"),
                ));
            }
            let file = attachments
                .iter()
                .filter_map(|a| a.attachment.as_ref())
                .find(|f| f.upload == *upload)
                .ok_or_else(|| {
                    DomainError::invalid(
                        "files",
                        format!("{upload} is not a file attached to this deal"),
                    )
                })?;
            files.push(PackFile {
                upload: file.upload,
                file_name: file.file_name.clone(),
                content_type: file.content_type.clone(),
                size: file.size,
            });
        }
        Ok(MaterialPack {
            id,
            tenant: actor.tenant.clone(),
            deal,
            name: name.to_owned(),
            files,
            token_hash: token_hash(token),
            created_by: actor.user,
            created_at: now,
            expires_at: now + Duration::days(i64::from(days)),
            revoked: false,
            opens: 0,
            first_opened_at: None,
            last_opened_at: None,
            version: 1,
        })
    }

    /// Whether the link still opens.
    pub fn live(&self, now: DateTime<Utc>) -> bool {
        !self.revoked && now < self.expires_at
    }

    /// Stops the link for good (sent to the wrong person, superseded). Returns whether this
    /// call changed anything: revoking twice is harmless.
    pub fn revoke(&mut self) -> bool {
        if self.revoked {
            return false;
        }
        self.revoked = true;
        self.version += 1;
        true
    }

    /// Counts an opening and returns its `material_opened` event on the deal (`deal_version`
    /// is the deal's current version, for ordering downstream).
    pub fn open(&mut self, deal_version: u64, now: DateTime<Utc>) -> DomainEvent {
        self.opens += 1;
        self.first_opened_at.get_or_insert(now);
        self.last_opened_at = Some(now);
        self.version += 1;
        DomainEvent::new(
            self.tenant.clone(),
            Subject::Deal(self.deal),
            deal_version,
            None,
            None,
            now,
            EventPayload::MaterialOpened {
                pack: self.id,
                name: self.name.clone(),
                opens: self.opens,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activity::{AttachmentFile, LogTarget};
    use crate::id::ActivityId;
    use crate::user::Role;

    #[test]
    fn packs_hold_the_deals_files_expire_and_count_openings() {
        let actor = Actor {
            user: UserId::new(),
            tenant: TenantId::parse("acme").unwrap(),
            role: Role::Rep,
            team: None,
        };
        let now: DateTime<Utc> = "2026-11-27T10:00:00Z".parse().unwrap();
        let deal = DealId::new();
        let target = LogTarget {
            subject: Subject::Deal(deal),
            tenant: &actor.tenant,
            created_at: now,
        };
        let quote = UploadId::new();
        let file = AttachmentFile {
            upload: quote,
            file_name: "报价单.pdf".into(),
            content_type: "application/pdf".into(),
            size: 1234,
        };
        let log = [Activity::attachment(
            ActivityId::new(),
            &target,
            file,
            actor.user,
            now,
        )];
        let token = "A".repeat(43);
        let input = NewMaterialPack {
            name: "方案与报价".into(),
            files: vec![quote],
            expires_in_days: Some(7),
        };
        let mut pack = MaterialPack::create(
            &input,
            MaterialPackId::new(),
            deal,
            &log,
            &token,
            &actor,
            now,
        )
        .unwrap();
        assert_eq!(pack.token_hash, token_hash(&token));
        assert_ne!(pack.token_hash, token);
        assert_eq!(pack.files[0].file_name, "报价单.pdf");
        assert!(pack.live(now + Duration::days(6)));
        assert!(!pack.live(now + Duration::days(7)));
        let e = pack.open(3, now);
        assert_eq!(e.subject, Subject::Deal(deal));
        assert_eq!(e.kind().as_str(), "material_opened");
        pack.open(3, now + Duration::hours(1));
        assert_eq!((pack.opens, pack.first_opened_at), (2, Some(now)));
        let bad = |input: NewMaterialPack| {
            MaterialPack::create(
                &input,
                MaterialPackId::new(),
                deal,
                &log,
                &token,
                &actor,
                now,
            )
            .is_err()
        };
        assert!(bad(NewMaterialPack {
            files: vec![UploadId::new()],
            ..input.clone()
        }));
        assert!(bad(NewMaterialPack {
            files: vec![quote, quote],
            ..input.clone()
        }));
        assert!(bad(NewMaterialPack {
            expires_in_days: Some(91),
            ..input.clone()
        }));
        assert!(bad(NewMaterialPack {
            name: " ".into(),
            ..input
        }));
        assert!(pack.revoke());
        assert!(!pack.revoke());
        assert!(!pack.live(now));
        assert!(token_shape_ok(&token));
        assert!(!token_shape_ok("short"));
        assert!(!token_shape_ok(&"/".repeat(43)));
    }
}
