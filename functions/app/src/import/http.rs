use crate::auth::Authenticated;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{ApiPath, ApiQuery};
use crate::import as usecase;
use crate::state::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ImportParams {
    /// `true`: report every row's outcome and write nothing.
    dry_run: Option<bool>,
    /// Columns by header where the names are not recognised: `sku=物料编码,on_hand=数量`.
    #[param(max_length = 1000)]
    map: Option<String>,
    /// `true`: follow a long import. Once its rows are being checked the answer is `200`
    /// `application/x-ndjson`: one `{"progress": ProgressStep}` line about every 1 % of the
    /// rows (checking, then writing) and a last line `{"report": ImportReport}` or
    /// `{"error": ErrorBody}` (what the plain call answers with its status). Errors found
    /// before any row is checked answer as the plain call does.
    progress: Option<bool>,
}

/// Imports the catalogue (`skus`), stock counts (`stock`), customers with their contacts
/// (`customers`, one row per contact, de-duplicated against the tenant) or historic orders
/// (`orders`, one row per line, stored delivered and paid) from a spreadsheet: CSV or tab text
/// in UTF-8, UTF-16 or GBK, or an .xlsx workbook's first sheet. Every row is checked first;
/// with any refused row nothing is written (the report says which and why). Headers are
/// recognised in Chinese and English (编码/sku, 名称/name, 单价/unit_price, 仓库/location,
/// 客户名称/company, 联系人/contact, 手机/phone, 订单号/order, 日期/date, 数量/quantity ...) or
/// mapped with `map`. Formulas are refused. Re-importing a file writes nothing new. Leads
/// (`leads`) already known by phone or e-mail — as leads or customers' contacts — are left
/// alone, the report naming the match.
#[utoipa::path(post, path = "/v1/imports/{kind}", tag = "orders", security(("bearer" = [])),
    params(("kind" = usecase::ImportKind, Path), ImportParams),
    request_body(content = Vec<u8>, content_type = "text/csv"),
    responses((status = 200, content(
            (usecase::ImportReport = "application/json"),
            (String = "application/x-ndjson"))),
        (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 422, description = "An unreadable file, or rows refused (`import_rejected`, `details` is the report)", body = ErrorBody)))]
pub async fn import(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(kind): ApiPath<usecase::ImportKind>,
    ApiQuery(params): ApiQuery<ImportParams>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let dry_run = params.dry_run.unwrap_or(false);
    if params.progress != Some(true) {
        let result = usecase::import(
            &state,
            &auth.actor,
            kind,
            &body,
            dry_run,
            params.map.as_deref(),
            &usecase::Progress::silent(),
        )
        .await;
        return Ok(match outcome(result, dry_run) {
            Ok(report) => Json(report).into_response(),
            Err((status, body)) => (status, Json(body)).into_response(),
        });
    }
    let (progress, mut steps) = usecase::Progress::channel();
    let actor = auth.actor.clone();
    let task = tokio::spawn(async move {
        let result = usecase::import(
            &state,
            &actor,
            kind,
            &body,
            dry_run,
            params.map.as_deref(),
            &progress,
        )
        .await;
        outcome(result, dry_run)
    });
    let joined = |r: Result<_, tokio::task::JoinError>| {
        r.unwrap_or_else(|e| {
            let e = ApiError::from(crate::error::AppError::internal("import", e));
            Err((e.status(), e.body()))
        })
    };
    // The first step says the rows are being checked; an import that ends without one
    // (refused before any row) answers as the plain call.
    let Some(first) = steps.recv().await else {
        return Ok(match joined(task.await) {
            Ok(report) => Json(report).into_response(),
            Err((status, body)) => (status, Json(body)).into_response(),
        });
    };
    let line = |value: serde_json::Value| {
        let mut bytes = serde_json::to_vec(&value).unwrap_or_default();
        bytes.push(b'\n');
        Ok::<_, std::convert::Infallible>(Bytes::from(bytes))
    };
    let first = futures_util::stream::once(std::future::ready(line(
        serde_json::json!({ "progress": first }),
    )));
    let rest = futures_util::stream::unfold(Some((steps, task)), move |st| async move {
        let (mut steps, task) = st?;
        match steps.recv().await {
            Some(step) => Some((
                line(serde_json::json!({ "progress": step })),
                Some((steps, task)),
            )),
            None => {
                let last = match joined(task.await) {
                    Ok(report) => serde_json::json!({ "report": report }),
                    Err((_, body)) => serde_json::json!({ "error": body }),
                };
                Some((line(last), None))
            }
        }
    });
    use futures_util::StreamExt;
    Ok((
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        axum::body::Body::from_stream(first.chain(rest)),
    )
        .into_response())
}

/// The report, or the status and body the import is refused with: a commit that wrote
/// nothing is not a success but a 422 `import_rejected` carrying every row's outcome.
fn outcome(
    result: Result<usecase::ImportReport, crate::error::AppError>,
    dry_run: bool,
) -> Result<usecase::ImportReport, (axum::http::StatusCode, ErrorBody)> {
    let report = result.map_err(|e| {
        let e = ApiError::from(e);
        (e.status(), e.body())
    })?;
    if !dry_run && !report.committed {
        return Err((
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            ErrorBody {
                code: "import_rejected".into(),
                message: format!(
                    "{} of {} rows are refused; nothing was written",
                    report.errors,
                    report.rows.len()
                ),
                details: serde_json::to_value(&report).unwrap_or_default(),
            },
        ));
    }
    Ok(report)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportParams {
    /// `csv` (default) or `xlsx`.
    format: Option<usecase::ExportFormat>,
}

/// A list in your scope as CSV (UTF-8 with a byte-order mark for Excel) or .xlsx: `skus`,
/// `stock`, `customers` (one row per contact), `leads` and `orders` (one row per line) read
/// back with `POST /v1/imports/{kind}`; `deals`; `visits` (the last 365 days).
#[utoipa::path(get, path = "/v1/exports/{kind}", tag = "orders", security(("bearer" = [])),
    params(("kind" = usecase::ExportKind, Path), ExportParams),
    responses((status = 200, description = "The list as a file", content(
            (String = "text/csv"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 400, body = ErrorBody)))]
pub async fn export(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(kind): ApiPath<usecase::ExportKind>,
    ApiQuery(params): ApiQuery<ExportParams>,
) -> Result<Response, ApiError> {
    let format = params.format.unwrap_or_default();
    let bytes = usecase::export(&state, &auth.actor, kind, format).await?;
    let stem = match kind {
        usecase::ExportKind::Skus => "skus",
        usecase::ExportKind::Stock => "stock",
        usecase::ExportKind::Orders => "orders",
        usecase::ExportKind::Customers => "customers",
        usecase::ExportKind::Leads => "leads",
        usecase::ExportKind::Deals => "deals",
        usecase::ExportKind::Visits => "visits",
    };
    let (name, content_type) = match format {
        usecase::ExportFormat::Csv => (format!("{stem}.csv"), "text/csv; charset=utf-8"),
        usecase::ExportFormat::Xlsx => (
            format!("{stem}.xlsx"),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// The report of an import started as an upload (`POST /v1/uploads` with `kind: import`):
/// every row's outcome, as `POST /v1/imports/{kind}` answers. There once the upload is done,
/// or failed with `import_rejected`; follow `GET /v1/uploads/{id}` (`progress`, `imported`)
/// until then.
#[utoipa::path(get, path = "/v1/uploads/{id}/report", tag = "orders", security(("bearer" = [])),
    params(("id" = fieldline_domain::UploadId, Path)),
    responses((status = 200, body = usecase::ImportReport),
        (status = 403, body = ErrorBody),
        (status = 404, description = "No such import, or it has not finished", body = ErrorBody)))]
pub async fn import_report(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<fieldline_domain::UploadId>,
) -> Result<Response, ApiError> {
    let bytes = usecase::job::report(&state, &auth.actor, id).await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], bytes).into_response())
}
