//! The capture service as the server sees it: a card photo, shelf photo or voice note in, a
//! reading out. The HTTP client talks to `fieldline-capture serve` (the sidecar on the
//! embedded machine, or the URL a company runs for its AWS stack) with the sidecar's token.

use async_trait::async_trait;
use fieldline_domain::UploadKind;
use serde::Deserialize;
use std::time::Duration;

/// One file to read.
pub struct CaptureRequest<'a> {
    pub kind: UploadKind,
    pub file_name: &'a str,
    pub content_type: &'a str,
    pub bytes: Vec<u8>,
    /// What relative times in a voice note ("明天下午三点") are resolved against.
    pub recorded_at: chrono::DateTime<chrono::Utc>,
    pub time_zone: &'a str,
}

/// Why a reading did not come back.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The service cannot be reached or cannot read right now (down, restarting, overloaded,
    /// misconfigured): the upload waits and is tried again.
    #[error("capture is unavailable: {0}")]
    Unavailable(String),
    /// The service read the file and refused it for good (`not_an_image`, `audio_too_long`).
    #[error("{code}: {message}")]
    Refused { code: String, message: String },
    /// The service failed on this file (`ocr_failed`): tried again a few times, then given up.
    #[error("capture failed: {0}")]
    Failed(String),
}

#[async_trait]
pub trait CaptureService: Send + Sync {
    async fn read(&self, request: CaptureRequest<'_>) -> Result<Reading, CaptureError>;
}

/// What the sidecar answers, in the formats `../shared/eval` fixes (only the keys used here).
#[derive(Debug, Clone)]
pub enum Reading {
    Card(CardReply),
    Shelf(ShelfReply),
    Voice(VoiceReply),
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct CardReply {
    pub name: Option<String>,
    pub title: Option<String>,
    pub department: Option<String>,
    pub company: Option<String>,
    #[serde(default)]
    pub phones: Vec<PhoneReply>,
    #[serde(default)]
    pub emails: Vec<String>,
    #[serde(default)]
    pub websites: Vec<String>,
    pub address: Option<String>,
    /// The OCR lines, with their confidences (fields take theirs from these).
    #[serde(default)]
    pub lines: Vec<LineReply>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PhoneReply {
    pub number: String,
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LineReply {
    pub text: String,
    pub confidence: f32,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ShelfReply {
    #[serde(default)]
    pub price_tags: Vec<TagReply>,
    #[serde(default)]
    pub out_of_stock: bool,
    #[serde(default)]
    pub gaps: Vec<[f32; 4]>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TagReply {
    pub price: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct VoiceReply {
    pub transcript: String,
    pub language: Option<String>,
    #[serde(default)]
    pub duration_s: f64,
    #[serde(default)]
    pub followup: FollowUpReply,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct FollowUpReply {
    pub next_contact: Option<NextContactReply>,
    #[serde(default)]
    pub commitments: Vec<String>,
    #[serde(default)]
    pub mentions: Vec<MentionReply>,
    #[serde(default)]
    pub concerns: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct NextContactReply {
    /// ISO 8601 with the offset of the zone it was resolved in.
    pub at: String,
    pub phrase: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MentionReply {
    pub name: String,
    pub kind: String,
}

/// The sidecar over HTTP. One client (its connection pool) for the process.
pub struct HttpCapture {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl HttpCapture {
    /// `timeout` bounds one reading (a long voice note takes seconds on two cores).
    pub fn new(base: &str, token: &str, timeout: Duration) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(3))
            .build()?;
        Ok(Self {
            client,
            base: base.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
        })
    }
}

#[derive(Deserialize)]
struct Problem {
    code: String,
    #[serde(default)]
    message: String,
}

#[async_trait]
impl CaptureService for HttpCapture {
    async fn read(&self, request: CaptureRequest<'_>) -> Result<Reading, CaptureError> {
        let route = match request.kind {
            UploadKind::Card if request.content_type == "text/plain" => "/v1/cards/text",
            UploadKind::Card => "/v1/cards",
            UploadKind::Shelf => "/v1/shelves",
            UploadKind::Voice => "/v1/voice",
            UploadKind::Attachment | UploadKind::Import => {
                return Err(CaptureError::Refused {
                    code: "not_capturable".into(),
                    message: "attachments are stored and spreadsheets imported, not read".into(),
                });
            }
        };
        let mut call = self
            .client
            .post(format!("{}{route}", self.base))
            .bearer_auth(&self.token)
            .header(reqwest::header::CONTENT_TYPE, request.content_type)
            // Header values must be visible ASCII: a Chinese file name is sent percent-encoded.
            .header(
                "x-file-name",
                url::form_urlencoded::byte_serialize(request.file_name.as_bytes())
                    .collect::<String>(),
            );
        if request.kind == UploadKind::Voice {
            call = call.query(&[
                ("recorded_at", request.recorded_at.to_rfc3339()),
                ("tz", request.time_zone.to_owned()),
            ]);
        }
        let response = call
            .body(request.bytes)
            .send()
            .await
            .map_err(|e| CaptureError::Unavailable(format!("{e:#}")))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| CaptureError::Unavailable(format!("reading the answer: {e:#}")))?;
        if status.is_success() {
            let parsed = match request.kind {
                UploadKind::Card => serde_json::from_slice(&body).map(Reading::Card),
                UploadKind::Shelf => serde_json::from_slice(&body).map(Reading::Shelf),
                _ => serde_json::from_slice(&body).map(Reading::Voice),
            };
            // An answer this server cannot read is a version mismatch an operator fixes:
            // the upload waits rather than failing for good.
            return parsed.map_err(|e| {
                CaptureError::Unavailable(format!("unreadable answer from capture: {e}"))
            });
        }
        let problem: Option<Problem> = serde_json::from_slice(&body).ok();
        let (code, message) = problem
            .map(|p| (p.code, p.message))
            .unwrap_or_else(|| (format!("http_{}", status.as_u16()), String::new()));
        Err(match status.as_u16() {
            // Bad token, overloaded, model not loaded, gateway in between: wait and retry.
            401 | 403 | 404 | 408 | 429 | 502 | 503 | 504 => {
                CaptureError::Unavailable(format!("{status}: {code} {message}"))
            }
            400..=499 => CaptureError::Refused { code, message },
            _ => CaptureError::Failed(format!("{status}: {code} {message}")),
        })
    }
}

/// The largest reading a phone may send with its upload.
pub const MAX_DEVICE_READING_BYTES: usize = 64 * 1024;

/// A reading the phone's own capture binary made, checked like any input: the sidecar's
/// answer format for the upload's kind, at most 64 KB.
pub fn reading_from_device(kind: UploadKind, value: &serde_json::Value) -> Result<Reading, String> {
    if value.to_string().len() > MAX_DEVICE_READING_BYTES {
        return Err(format!("at most {MAX_DEVICE_READING_BYTES} bytes"));
    }
    let parsed = match kind {
        UploadKind::Card => serde_json::from_value(value.clone()).map(Reading::Card),
        UploadKind::Shelf => serde_json::from_value(value.clone()).map(Reading::Shelf),
        UploadKind::Voice => serde_json::from_value(value.clone()).map(Reading::Voice),
        UploadKind::Attachment | UploadKind::Import => {
            return Err("attachments and spreadsheets carry no reading".into());
        }
    };
    parsed.map_err(|e| format!("not a {kind} reading: {e}"))
}
