//! Imports from an uploaded file, run as a job. A large spreadsheet does not fit through an
//! API request on AWS (API Gateway answers within 30 s, Lambda takes 6 MB), so it travels
//! like a photo: `POST /v1/uploads` with `kind: import` hands out a URL, the bytes go
//! straight to the blob store, and the arrival moves the upload to `processing`. That event
//! (the outbox on the embedded server, the table's stream on AWS) brings it here: the rows
//! are checked and written by the same import as `POST /v1/imports/{kind}`, the upload
//! carries the progress while it runs, and the report with every row's outcome is kept as a
//! blob beside it (`GET /v1/uploads/{id}/report`).
//!
//! Delivery is at least once. A redelivery after the report was stored only finishes the
//! upload; one after a crash midway runs the import again, which finds what it wrote and
//! writes nothing twice (its rows come back `unchanged`).

use super::use_cases::{self as usecase, ImportReport, Progress};
use crate::error::AppError;
use crate::http::error::ApiError;
use crate::scheduler::EventHandler;
use crate::state::AppState;
use crate::upload::{fail_upload, finish_upload, record_key, save_upload, uploader_actor};
use async_trait::async_trait;
use fieldline_domain::import::{ImportTotals, ProgressStep};
use fieldline_domain::{
    EventPayload, Subject, TenantId, Upload, UploadError, UploadId, UploadKind, UploadStatus,
};
use fieldline_store::BlobKey;
use serde::Deserialize;
use std::time::{Duration, Instant};

/// How often a running import writes its progress to the upload (about every 1 % of the
/// rows is reported to it; a phone polling once a second sees no difference).
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// How often an import is started before it is given up: each run that ends without a report
/// (a crash, a Lambda stopped at its time limit) would otherwise come back for ever.
const MAX_RUNS: u32 = 3;

/// Where an import upload's report is kept, relative to its tenant (not under `uploads/`,
/// so storing it is no upload arriving).
pub fn report_key(upload: UploadId) -> String {
    format!("imports/{upload}/report.json")
}

/// Runs the imports whose files arrived.
pub struct ImportJobs {
    state: AppState,
}

impl ImportJobs {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

#[async_trait]
impl EventHandler for ImportJobs {
    fn name(&self) -> &str {
        "imports"
    }

    #[tracing::instrument(name = "import_job", skip_all, fields(event = %stored.event.id))]
    async fn handle(&self, stored: &fieldline_store::StoredEvent) -> anyhow::Result<()> {
        let event = &stored.event;
        let Subject::Upload(id) = event.subject else {
            return Ok(());
        };
        if matches!(
            event.payload,
            EventPayload::UploadStatusChanged {
                to: UploadStatus::Processing,
                ..
            }
        ) {
            run(&self.state, &event.tenant, id).await?;
        }
        Ok(())
    }
}

/// The totals of a stored report, read back when a redelivery finds the job had finished.
#[derive(Deserialize)]
struct StoredReport {
    committed: bool,
    dry_run: bool,
    created: usize,
    updated: usize,
    unchanged: usize,
    errors: usize,
    rows: Vec<serde::de::IgnoredAny>,
}

impl StoredReport {
    fn totals(&self) -> ImportTotals {
        ImportTotals {
            committed: self.committed,
            rows: self.rows.len(),
            created: self.created,
            updated: self.updated,
            unchanged: self.unchanged,
            errors: self.errors,
        }
    }
}

fn totals(report: &ImportReport) -> ImportTotals {
    ImportTotals {
        committed: report.committed,
        rows: report.rows.len(),
        created: report.created,
        updated: report.updated,
        unchanged: report.unchanged,
        errors: report.errors,
    }
}

/// Runs one import upload if it is due. Storage failures propagate (the event comes back);
/// everything about the file itself ends in the upload's status.
#[tracing::instrument(name = "import.job", level = "debug", skip_all, fields(tenant = %tenant, upload = %id), err(Display))]
pub async fn run(state: &AppState, tenant: &TenantId, id: UploadId) -> Result<(), AppError> {
    let Some(upload) = state.uploads.get_upload(tenant, id).await? else {
        return Ok(());
    };
    if upload.kind != UploadKind::Import || upload.status != UploadStatus::Processing {
        return Ok(());
    }
    let Some(request) = upload.import.clone() else {
        return fail_upload(state, upload, "import_invalid", "nothing to import").await;
    };
    let report_at = BlobKey::parse(tenant.clone(), &report_key(id))
        .ok_or_else(|| AppError::internal("import report key", "not a valid key"))?;
    if let Some((bytes, _)) = state.blobs.get(&report_at).await? {
        let stored: StoredReport = serde_json::from_slice(&bytes)
            .map_err(|e| AppError::internal("reading a stored import report", e))?;
        return finish(state, upload, stored.totals(), stored.dry_run).await;
    }
    if upload.attempts >= MAX_RUNS {
        let detail = format!(
            "the import was interrupted {MAX_RUNS} times before it finished (a restart, or the \
             function's time limit); split the file and import the parts"
        );
        return fail_upload(state, upload, "import_interrupted", &detail).await;
    }
    let upload = count_run(state, upload).await?;
    let actor = match uploader_actor(state, tenant, upload.created_by).await? {
        Ok(actor) => actor,
        Err((code, detail)) => return fail_upload(state, upload, code, &detail).await,
    };
    let file = BlobKey::parse(tenant.clone(), &record_key(id, &upload.file_name))
        .ok_or_else(|| AppError::internal("upload key", "not a valid key"))?;
    let Some((bytes, _)) = state.blobs.get(&file).await? else {
        return fail_upload(state, upload, "upload_missing", "the file is not stored").await;
    };
    let (progress, mut steps) = Progress::channel();
    let work = usecase::import(
        state,
        &actor,
        request.kind,
        &bytes,
        request.dry_run,
        request.map.as_deref(),
        &progress,
    );
    tokio::pin!(work);
    let mut upload = upload;
    let mut written: Option<Instant> = None;
    let result = loop {
        tokio::select! {
            biased;
            result = &mut work => break result,
            Some(step) = steps.recv() => {
                if written.is_none_or(|at| at.elapsed() >= PROGRESS_EVERY) {
                    written = Some(Instant::now());
                    upload = save_progress(state, upload, step).await;
                }
            }
        }
    };
    match result {
        Ok(report) => {
            let json = serde_json::to_vec(&report)
                .map_err(|e| AppError::internal("writing an import report", e))?;
            state
                .blobs
                .put(&report_at, json, "application/json")
                .await?;
            finish(state, upload, totals(&report), request.dry_run).await
        }
        // Ours, not the file's: the event comes back and the import runs again.
        Err(e @ (AppError::Busy(_) | AppError::Internal { .. })) => Err(e),
        Err(e) => {
            // The same stable code and message the synchronous import answers with.
            let body = ApiError::from(e).body();
            fail_upload(state, upload, &body.code, &body.message).await
        }
    }
}

/// Marks the import done with its totals, or failed `import_rejected` when a commit found
/// refused rows and wrote nothing (the report says which and why).
async fn finish(
    state: &AppState,
    upload: Upload,
    totals: ImportTotals,
    dry_run: bool,
) -> Result<(), AppError> {
    let now = state.clock.now();
    let error = (!dry_run && !totals.committed).then(|| UploadError {
        code: "import_rejected".into(),
        message: format!(
            "{} of {} rows are refused; nothing was written",
            totals.errors, totals.rows
        ),
    });
    finish_upload(state, upload, |u| {
        u.imported = Some(totals);
        let to = match error {
            Some(_) => UploadStatus::Failed,
            None => UploadStatus::Done,
        };
        Ok(vec![u.advance(to, error.clone(), vec![], now)?])
    })
    .await
}

/// Counts a run on the upload before it starts (`attempts`), so an import that never gets to
/// its end is given up after `MAX_RUNS`.
async fn count_run(state: &AppState, mut upload: Upload) -> Result<Upload, AppError> {
    upload.attempts += 1;
    save_upload(state, upload).await
}

/// Writes how far the import is onto its upload (the last step written stays when it ends).
/// Progress is a courtesy: a failed write is
/// logged and the import goes on (stopping midway through writing would be worse).
async fn save_progress(state: &AppState, mut upload: Upload, step: ProgressStep) -> Upload {
    for _ in 0..2 {
        let mut next = upload.clone();
        next.progress = Some(step);
        match save_upload(state, next).await {
            Ok(saved) => return saved,
            Err(AppError::VersionConflict { .. }) => {
                match state.uploads.get_upload(&upload.tenant, upload.id).await {
                    Ok(Some(fresh)) => upload = fresh,
                    _ => break,
                }
            }
            Err(e) => {
                tracing::warn!(upload = %upload.id, error = %e, "import progress not saved");
                return upload;
            }
        }
    }
    upload
}

/// The report of an import upload the caller may see (its uploader, their manager, admins):
/// every row's outcome, as `POST /v1/imports/{kind}` answers it.
#[tracing::instrument(name = "import.report", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn report(
    state: &AppState,
    actor: &fieldline_domain::Actor,
    id: UploadId,
) -> Result<Vec<u8>, AppError> {
    let upload = crate::upload::get_upload(state, actor, id).await?;
    if upload.kind != UploadKind::Import {
        return Err(AppError::NotFound(format!("upload {id} is not an import")));
    }
    let at = BlobKey::parse(actor.tenant.clone(), &report_key(id))
        .ok_or_else(|| AppError::internal("import report key", "not a valid key"))?;
    match state.blobs.get(&at).await? {
        Some((bytes, _)) => Ok(bytes),
        None => Err(AppError::NotFound(format!(
            "upload {id} has no report yet: the import is {}",
            upload.status
        ))),
    }
}
