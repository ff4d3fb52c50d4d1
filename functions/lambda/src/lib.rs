//! Fieldline on AWS. Each binary in `src/bin` is one Lambda function: `main` only builds a
//! [`Functions`] once per cold start (clients, keys, config) and hands events to the
//! matching method here. Tests and the local runner call the same methods directly.

use anyhow::Context;
use aws_lambda_events::event::dynamodb::Event as DynamoDbEvent;
use aws_lambda_events::event::s3::S3Event;
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use fieldline_app::auth::GatewayIdentity;
use fieldline_app::capture::CaptureIngest;
use fieldline_app::channel::Notifier;
use fieldline_app::customer::grading::CustomerGrading;
use fieldline_app::http::ApiSurface;
use fieldline_app::import::job::ImportJobs;
use fieldline_app::order::DemandRefits;
use fieldline_app::rule::RuleEngine;
use fieldline_app::scheduler::{EventHandler, Job};
use fieldline_app::state::{Clock, SystemClock};
use fieldline_app::task::TaskFollowUps;
use fieldline_app::timer::TimerSweeper;
use fieldline_app::upload::{self, UploadOutcome};
use fieldline_app::{Application, Config, Stores};
use fieldline_store::{BlobStore, StoredEvent};
use fieldline_store_aws::{S3BlobStore, event_from_image};
use lambda_http::request::RequestContext;
use serde::Serialize;
use std::sync::Arc;

/// How many leading bytes the upload check reads (magic numbers).
const UPLOAD_HEAD_BYTES: usize = 16;

/// Everything a function needs, built once per cold start and shared by every invocation.
#[derive(Clone)]
pub struct Functions {
    app: Arc<Application>,
    s3: S3BlobStore,
    rules: Arc<RuleEngine>,
    follow_ups: Arc<TaskFollowUps>,
    grading: Arc<CustomerGrading>,
    capture: Arc<CaptureIngest>,
    imports: Arc<ImportJobs>,
    refits: Arc<DemandRefits>,
    sweeper: Arc<TimerSweeper>,
    notifier: Arc<Notifier>,
}

/// What one scheduled run did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    pub timers_fired: usize,
}

/// What one S3 event did, per object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UploadReport {
    pub key: String,
    #[serde(flatten)]
    pub outcome: UploadOutcome,
}

/// Copies the claims API Gateway's JWT authorizer verified into the request, where the
/// app's `Authenticated` extractor finds them. Requests without them (direct invokes) fall
/// back to Fieldline's own bearer tokens.
async fn attach_gateway_identity(mut req: axum::extract::Request) -> axum::extract::Request {
    let claims = match req.extensions().get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx
            .authorizer
            .as_ref()
            .and_then(|a| a.jwt.as_ref())
            .map(|jwt| jwt.claims.clone()),
        _ => None,
    };
    if let Some(claims) = claims {
        let verified = claims.get("email_verified").map(String::as_str) == Some("true");
        if let (true, Some(tenant), Some(email)) = (
            verified,
            claims.get("custom:fieldline_tenant"),
            claims.get("email"),
        ) {
            let identity = GatewayIdentity {
                tenant: tenant.clone(),
                email: email.clone(),
            };
            req.extensions_mut().insert(identity);
        }
    }
    req
}

impl Functions {
    /// Configuration from the environment (`FIELDLINE_*`), the system clock.
    pub async fn from_env() -> anyhow::Result<Functions> {
        let config = Config::load(None)?;
        fieldline_app::telemetry::init(&config.log);
        Self::build(config, Arc::new(SystemClock)).await
    }

    pub async fn build(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Functions> {
        let aws = fieldline_aws::connect(config).await?;
        Self::from_parts(aws.config, aws.stores, aws.s3, clock)
    }

    pub fn from_parts(
        config: Config,
        stores: Stores,
        s3: S3BlobStore,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Functions> {
        let app = Application::from_parts(config, stores, clock)?;
        let state = app.state().clone();
        Ok(Functions {
            rules: Arc::new(RuleEngine::new(state.clone())),
            follow_ups: Arc::new(TaskFollowUps::new(state.clone())),
            grading: Arc::new(CustomerGrading::new(state.clone())),
            capture: Arc::new(CaptureIngest::new(state.clone())),
            imports: Arc::new(ImportJobs::new(state.clone())),
            refits: Arc::new(DemandRefits::new(state.clone())),
            sweeper: Arc::new(TimerSweeper::new(state.clone())),
            notifier: Arc::new(Notifier::new(state)),
            app: Arc::new(app),
            s3,
        })
    }

    pub fn application(&self) -> &Application {
        &self.app
    }

    /// The HTTP router of one API function. With `auth.gateway_claims`, callers are the
    /// identities API Gateway's JWT authorizer verified.
    pub fn router(&self, surface: ApiSurface) -> axum::Router {
        let router = fieldline_app::http::router_for(
            surface,
            self.app.state().clone(),
            &self.app.config().limits,
        );
        if self.app.config().auth.gateway_claims {
            router.layer(axum::middleware::map_request(attach_gateway_identity))
        } else {
            router
        }
    }

    /// The EventBridge schedule: fire due timers (into the outbox, so the stream takes them
    /// to the rules), then send due notification deliveries.
    pub async fn on_schedule(&self) -> anyhow::Result<SweepReport> {
        let now = self.app.state().clock.now();
        let timers_fired = self.sweeper.sweep(now).await?;
        self.notifier.run(now).await?;
        Ok(SweepReport { timers_fired })
    }

    /// The table's stream: every new outbox item goes to the rules engine, the task
    /// follow-ups and customer grading.
    pub async fn on_stream(&self, event: DynamoDbEvent) -> DynamoDbEventResponse {
        let handlers: [&dyn EventHandler; 3] = [
            self.rules.as_ref(),
            self.follow_ups.as_ref(),
            self.grading.as_ref(),
        ];
        deliver(event, &handlers).await
    }

    /// The same stream, second consumer, for the slow work: uploads to read go to the
    /// capture service, spreadsheets that arrived are imported, and the replenishment plan's
    /// forecast is fitted again when a tenant's week turns. Its own function, so a
    /// minute-long voice note, a 100,000-row import or a large tenant's weekly fit never
    /// holds up the rules' shard (a third consumer would share the shard's read capacity
    /// with these two).
    pub async fn on_capture_stream(&self, event: DynamoDbEvent) -> DynamoDbEventResponse {
        deliver(
            event,
            &[
                self.capture.as_ref(),
                self.imports.as_ref(),
                self.refits.as_ref(),
            ],
        )
        .await
    }

    /// S3 "object created": check each upload and record it on its lead; refused uploads
    /// are deleted so nothing unchecked stays in the bucket.
    pub async fn on_upload(&self, event: S3Event) -> anyhow::Result<Vec<UploadReport>> {
        let mut reports = Vec::new();
        for record in event.records {
            let Some(raw_key) = record.s3.object.key.as_deref() else {
                continue;
            };
            // S3 event keys are URL-encoded, with '+' for spaces.
            let object_key = percent_encoding::percent_decode_str(&raw_key.replace('+', " "))
                .decode_utf8()
                .context("object key is not UTF-8")?
                .into_owned();
            let outcome = self.check_upload(&object_key).await?;
            if let UploadOutcome::Rejected { code, detail } = &outcome {
                tracing::warn!(key = %object_key, code, detail, "upload rejected and deleted");
            }
            reports.push(UploadReport {
                key: object_key,
                outcome,
            });
        }
        Ok(reports)
    }

    async fn check_upload(&self, object_key: &str) -> anyhow::Result<UploadOutcome> {
        let Some(key) = S3BlobStore::blob_key_of(object_key) else {
            return Ok(UploadOutcome::Ignored);
        };
        let Some(object) = self.s3.inspect(&key, UPLOAD_HEAD_BYTES).await? else {
            // Deleted since the event was sent (e.g. a replay after a rejection).
            return Ok(UploadOutcome::Ignored);
        };
        let outcome = upload::accept_upload(
            self.app.state(),
            &key.tenant,
            key.path(),
            object.size,
            &object.content_type,
            &object.head,
            &object.etag,
        )
        .await
        .with_context(|| format!("checking upload {object_key}"))?;
        if matches!(outcome, UploadOutcome::Rejected { .. }) {
            self.s3.delete(&key).await?;
        }
        Ok(outcome)
    }
}

/// Hands each new outbox record of a stream batch to `handlers` in order. A record that fails
/// is reported by its sequence number, so Lambda retries from there instead of replaying the
/// whole batch; records after it are not attempted (order per lead holds). Each handler
/// deduplicates, so a retried record repeats nothing any did.
async fn deliver(event: DynamoDbEvent, handlers: &[&dyn EventHandler]) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    for record in event.records {
        if record.event_name != "INSERT" {
            continue;
        }
        let image = serde_json::to_value(&record.change.new_image).unwrap_or_default();
        let text = |name: &str| {
            image
                .get(name)
                .and_then(|v| v.get("S"))
                .and_then(|v| v.as_str())
        };
        let Some(decoded) = event_from_image(text("entity"), text("body")) else {
            continue;
        };
        let result = match decoded {
            Ok(event) => {
                let seq = event.occurred_at.timestamp_millis();
                let stored = StoredEvent { seq, event };
                let mut result = Ok(());
                for handler in handlers {
                    result = handler.handle(&stored).await;
                    if result.is_err() {
                        break;
                    }
                }
                result
            }
            // A record that can never decode is logged and skipped, not retried forever.
            Err(e) => {
                tracing::error!(error = %fieldline_app::error::chain(&e), event_id = %record.event_id, "undecodable outbox record skipped");
                Ok(())
            }
        };
        if let Err(e) = result {
            tracing::warn!(error = format!("{e:#}"), event_id = %record.event_id, "outbox record failed; Lambda retries from it");
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = record.change.sequence_number.clone();
            response.batch_item_failures.push(failure);
            break;
        }
    }
    response
}
