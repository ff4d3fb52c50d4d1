//! An upload: a file a phone sends (business card, shelf photo, voice note, attachment) and
//! the processing it goes through. It is a subject of its own, so rules, timers and the
//! decision log treat "an upload failed" like any other fact.

use crate::access::Actor;
use crate::error::DomainError;
use crate::event::{DomainEvent, EventPayload};
use crate::id::{TenantId, UploadId, UserId};
use crate::import::{ImportRequest, ImportTotals, MAX_MAPPING_CHARS, ProgressStep};
use crate::lead::snake_enum;
use crate::subject::Subject;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

snake_enum!(/// What the file is for; decides which capture step reads it.
    UploadKind, "kind" {
    Card => "card",
    Shelf => "shelf",
    Voice => "voice",
    Attachment => "attachment",
    Import => "import",
});

impl UploadKind {
    /// The largest file of this kind: spreadsheets for an import may be larger than a
    /// phone's photo or voice note.
    pub fn max_bytes(self) -> u64 {
        match self {
            UploadKind::Import => crate::import::MAX_IMPORT_BYTES,
            _ => MAX_UPLOAD_BYTES,
        }
    }
}

snake_enum!(/// Where an upload is: waiting for bytes, being read, done, or failed for good.
    UploadStatus, "status" {
    Pending => "pending",
    Processing => "processing",
    Done => "done",
    Failed => "failed",
});

impl UploadStatus {
    /// The edges of the status machine. `processing → pending` puts a file back in the
    /// queue when capture is unavailable; done and failed are final.
    pub fn can_move_to(self, to: UploadStatus) -> bool {
        use UploadStatus::*;
        matches!(
            (self, to),
            (Pending, Processing | Failed) | (Processing, Done | Failed | Pending)
        )
    }
}

/// The largest file a phone may upload (25 MiB: a 10-minute voice note, a 50 MP photo).
pub const MAX_UPLOAD_BYTES: u64 = 25 * 1024 * 1024;

/// What a client sends to start an upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewUpload {
    pub kind: UploadKind,
    /// The record the file belongs to, if any (a card scanned at a customer).
    #[serde(default)]
    pub subject: Option<Subject>,
    pub file_name: String,
    pub content_type: String,
    pub size: u64,
    /// What the phone's own capture binary read, in the sidecar's answer format: the server
    /// checks it like any input and uses it instead of calling the capture service.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub device_reading: Option<serde_json::Value>,
    /// What to import from the file: required for `kind: import`, refused otherwise.
    #[serde(default)]
    pub import: Option<ImportRequest>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Upload {
    pub id: UploadId,
    pub tenant: TenantId,
    pub kind: UploadKind,
    /// The record the file belongs to.
    pub subject: Option<Subject>,
    pub file_name: String,
    pub content_type: String,
    pub size: u64,
    pub status: UploadStatus,
    /// The stable code and message of a failure (`not_an_image`, `capture_unavailable`…).
    pub error: Option<UploadError>,
    /// Every record processing created or changed.
    #[serde(default)]
    pub results: Vec<Subject>,
    /// Capture tries that found the service unavailable (the next is due at `retry_at`); for
    /// an import, the runs started.
    #[serde(default)]
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<DateTime<Utc>>,
    /// What capture read, for the phone to show and the rep to confirm or correct.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub captured: Option<crate::capture::Captured>,
    /// Every record processing made, changed or proposes to change (contacts, tasks...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<crate::capture::RecordLink>,
    /// A reading the phone made itself (see `NewUpload::device_reading`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub device_reading: Option<serde_json::Value>,
    /// An import's request (`kind: import`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import: Option<ImportRequest>,
    /// How far a running import is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<ProgressStep>,
    /// What a finished import did (also when its rows were refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported: Option<ImportTotals>,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UploadError {
    pub code: String,
    pub message: String,
}

/// The fields rules may read under `upload.` (see `SubjectKind::fields`).
pub(crate) const RULE_FIELDS: &[&str] = &[
    "id",
    "tenant",
    "kind",
    "subject",
    "file_name",
    "content_type",
    "size",
    "status",
    "error.code",
    "error.message",
    "results",
    "attempts",
    "import.kind",
    "import.dry_run",
    "imported.committed",
    "imported.rows",
    "imported.created",
    "imported.updated",
    "imported.unchanged",
    "imported.errors",
    "created_by",
    "created_at",
    "updated_at",
    "version",
];

impl Upload {
    /// Validates the request and returns the pending upload with its `upload_created` event.
    pub fn create(
        input: &NewUpload,
        id: UploadId,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(Upload, DomainEvent), DomainError> {
        let file_name = input.file_name.trim();
        let name_ok = (1..=200).contains(&file_name.chars().count())
            && !file_name.contains(['/', '\\'])
            && !file_name.chars().any(char::is_control);
        if !name_ok {
            return Err(DomainError::invalid(
                "file_name",
                "1-200 characters, no path separators",
            ));
        }
        let ct = input.content_type.trim();
        let ct_ok = ct.len() <= 100
            && ct.split_once('/').is_some_and(|(a, b)| {
                !a.is_empty() && !b.is_empty() && ct.bytes().all(|c| c.is_ascii_graphic())
            });
        if !ct_ok {
            return Err(DomainError::invalid(
                "content_type",
                "a media type such as image/jpeg",
            ));
        }
        let max = input.kind.max_bytes();
        if input.size == 0 || input.size > max {
            return Err(DomainError::invalid("size", format!("1 to {max} bytes")));
        }
        match (&input.import, input.kind) {
            (None, UploadKind::Import) => {
                return Err(DomainError::invalid(
                    "import",
                    "an import upload says what it imports",
                ));
            }
            (Some(_), kind) if kind != UploadKind::Import => {
                return Err(DomainError::invalid("import", "only for kind import"));
            }
            (Some(req), _)
                if req
                    .map
                    .as_ref()
                    .is_some_and(|m| m.chars().count() > MAX_MAPPING_CHARS) =>
            {
                return Err(DomainError::invalid(
                    "import.map",
                    format!("at most {MAX_MAPPING_CHARS} characters"),
                ));
            }
            _ => {}
        }
        let upload = Upload {
            id,
            tenant: actor.tenant.clone(),
            kind: input.kind,
            subject: input.subject,
            file_name: file_name.to_owned(),
            content_type: ct.to_ascii_lowercase(),
            size: input.size,
            status: UploadStatus::Pending,
            error: None,
            results: Vec::new(),
            attempts: 0,
            retry_at: None,
            captured: None,
            links: Vec::new(),
            device_reading: input.device_reading.clone(),
            import: input.import.clone(),
            progress: None,
            imported: None,
            created_by: actor.user,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let event = DomainEvent::new(
            upload.tenant.clone(),
            Subject::Upload(id),
            1,
            Some(actor.user),
            None,
            now,
            EventPayload::UploadCreated {
                kind: upload.kind,
                file_name: upload.file_name.clone(),
                size: upload.size,
            },
        );
        Ok((upload, event))
    }

    /// Moves the upload to `to` (with an error when it failed, with the records it made
    /// when done) and returns the `upload_status_changed` event.
    pub fn advance(
        &mut self,
        to: UploadStatus,
        error: Option<UploadError>,
        results: Vec<Subject>,
        now: DateTime<Utc>,
    ) -> Result<DomainEvent, DomainError> {
        if !self.status.can_move_to(to) {
            return Err(DomainError::InvalidTransition {
                from: self.status.to_string(),
                to: to.to_string(),
            });
        }
        if (to == UploadStatus::Failed) != error.is_some() {
            return Err(DomainError::invalid(
                "error",
                "required when the upload failed, and only then",
            ));
        }
        let from = self.status;
        self.status = to;
        self.error = error;
        self.results.extend(results);
        self.updated_at = now;
        self.version += 1;
        Ok(DomainEvent::new(
            self.tenant.clone(),
            Subject::Upload(self.id),
            self.version,
            None,
            None,
            now,
            EventPayload::UploadStatusChanged {
                from,
                to,
                error: self.error.as_ref().map(|e| e.code.clone()),
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::LeadId;
    use crate::subject::{SubjectKind, leaf_paths};
    use crate::user::Role;

    fn actor() -> Actor {
        Actor {
            user: UserId::new(),
            tenant: TenantId::parse("acme").unwrap(),
            role: Role::Rep,
            team: None,
        }
    }

    fn input() -> NewUpload {
        NewUpload {
            kind: UploadKind::Card,
            subject: Some(Subject::Lead(LeadId::new())),
            file_name: "名片.jpg".into(),
            content_type: "image/JPEG".into(),
            size: 120_000,
            device_reading: None,
            import: None,
        }
    }

    fn now() -> DateTime<Utc> {
        "2026-11-27T10:00:00Z".parse().unwrap()
    }

    #[test]
    fn an_upload_walks_its_status_machine_and_says_so() {
        let (mut up, created) = Upload::create(&input(), UploadId::new(), &actor(), now()).unwrap();
        assert_eq!(created.subject, Subject::Upload(up.id));
        assert_eq!(created.kind(), crate::EventKind::UploadCreated);
        assert_eq!(up.content_type, "image/jpeg");
        let e = up
            .advance(UploadStatus::Processing, None, vec![], now())
            .unwrap();
        assert_eq!(e.aggregate_version, 2);
        assert!(
            up.advance(UploadStatus::Pending, None, vec![], now())
                .is_ok()
        );
        up.advance(UploadStatus::Processing, None, vec![], now())
            .unwrap();
        let contact = Subject::Lead(LeadId::new());
        up.advance(UploadStatus::Done, None, vec![contact], now())
            .unwrap();
        assert_eq!(up.results, vec![contact]);
        assert!(matches!(
            up.advance(UploadStatus::Processing, None, vec![], now()),
            Err(DomainError::InvalidTransition { .. })
        ));
    }

    #[test]
    fn failures_need_a_code_and_bad_requests_are_refused() {
        let (mut up, _) = Upload::create(&input(), UploadId::new(), &actor(), now()).unwrap();
        assert!(
            up.advance(UploadStatus::Failed, None, vec![], now())
                .is_err()
        );
        let err = UploadError {
            code: "not_an_image".into(),
            message: "the file is not an image".into(),
        };
        let e = up
            .advance(UploadStatus::Failed, Some(err), vec![], now())
            .unwrap();
        assert!(matches!(
            e.payload,
            EventPayload::UploadStatusChanged { error: Some(ref c), .. } if c == "not_an_image"
        ));
        for bad in [
            NewUpload { size: 0, ..input() },
            NewUpload {
                size: MAX_UPLOAD_BYTES + 1,
                ..input()
            },
            NewUpload {
                file_name: "../etc/passwd".into(),
                ..input()
            },
            NewUpload {
                content_type: "jpeg".into(),
                ..input()
            },
            NewUpload {
                kind: UploadKind::Import,
                ..input()
            },
            NewUpload {
                import: Some(ImportRequest {
                    kind: crate::import::ImportKind::Leads,
                    dry_run: false,
                    map: None,
                }),
                ..input()
            },
        ] {
            assert!(Upload::create(&bad, UploadId::new(), &actor(), now()).is_err());
        }
    }

    #[test]
    fn the_rule_schema_matches_the_serialised_upload() {
        let (mut up, _) = Upload::create(&input(), UploadId::new(), &actor(), now()).unwrap();
        up.error = Some(UploadError {
            code: "x".into(),
            message: "y".into(),
        });
        up.import = Some(ImportRequest {
            kind: crate::import::ImportKind::Customers,
            dry_run: true,
            map: None,
        });
        up.imported = Some(ImportTotals {
            committed: false,
            rows: 3,
            created: 2,
            updated: 0,
            unchanged: 0,
            errors: 1,
        });
        let paths = leaf_paths(&serde_json::to_value(&up).unwrap());
        let schema: std::collections::BTreeSet<String> =
            RULE_FIELDS.iter().map(|s| s.to_string()).collect();
        // `subject` is an object of one key (its kind), read as a whole.
        let paths: std::collections::BTreeSet<String> = paths
            .into_iter()
            .map(|p| {
                if p.starts_with("subject.") {
                    "subject".into()
                } else {
                    p
                }
            })
            .collect();
        assert_eq!(paths, schema);
        assert!(SubjectKind::Upload.has_field("error"));
        assert!(!SubjectKind::Upload.has_field("eror.code"));
    }
}
