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
}

/// Imports the catalogue (`skus`), stock counts (`stock`), customers with their contacts
/// (`customers`, one row per contact, de-duplicated against the tenant) or historic orders
/// (`orders`, one row per line, stored delivered and paid) from a spreadsheet: CSV or tab text
/// in UTF-8, UTF-16 or GBK, or an .xlsx workbook's first sheet. Every row is checked first;
/// with any refused row nothing is written (the report says which and why). Headers are
/// recognised in Chinese and English (编码/sku, 名称/name, 单价/unit_price, 仓库/location,
/// 客户名称/company, 联系人/contact, 手机/phone, 订单号/order, 日期/date, 数量/quantity ...) or
/// mapped with `map`. Formulas are refused. Re-importing a file writes nothing new.
#[utoipa::path(post, path = "/v1/imports/{kind}", tag = "orders", security(("bearer" = [])),
    params(("kind" = usecase::ImportKind, Path), ImportParams),
    request_body(content = Vec<u8>, content_type = "text/csv"),
    responses((status = 200, body = usecase::ImportReport), (status = 400, body = ErrorBody),
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
    let report = usecase::import(
        &state,
        &auth.actor,
        kind,
        &body,
        dry_run,
        params.map.as_deref(),
    )
    .await?;
    if !dry_run && !report.committed {
        // A commit that wrote nothing is not a success: 422 with every row's outcome.
        let body = ErrorBody {
            code: "import_rejected".into(),
            message: format!(
                "{} of {} rows are refused; nothing was written",
                report.errors,
                report.rows.len()
            ),
            details: serde_json::to_value(&report).unwrap_or_default(),
        };
        return Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response());
    }
    Ok(Json(report).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportParams {
    /// `csv` (default) or `xlsx`.
    format: Option<usecase::ExportFormat>,
}

/// A list in your scope as CSV (UTF-8 with a byte-order mark for Excel) or .xlsx: `skus` and
/// `customers` (one row per contact) read back with `POST /v1/imports/{kind}`; `orders`.
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
        usecase::ExportKind::Orders => "orders",
        usecase::ExportKind::Customers => "customers",
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
