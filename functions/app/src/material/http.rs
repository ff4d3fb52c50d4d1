use crate::auth::Authenticated;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{ApiJson, ApiPath, Language};
use crate::material::{self as usecase, CreatedPack, PackDownload};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use fieldline_domain::{DealId, MaterialPack, NewMaterialPack};

/// Bundle files attached to this deal into one link for the customer (no login needed to
/// open it). The link (`url`) is shown once; it expires after `expires_in_days`.
#[utoipa::path(post, path = "/v1/deals/{id}/materials", tag = "deals", security(("bearer" = [])),
    params(("id" = DealId, Path)),
    request_body = NewMaterialPack,
    responses((status = 201, body = CreatedPack), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, description = "A file that is not attached to the deal, a bad name or expiry", body = ErrorBody)))]
pub async fn create_pack(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<DealId>,
    ApiJson(input): ApiJson<NewMaterialPack>,
) -> Result<(StatusCode, Json<CreatedPack>), ApiError> {
    let created = usecase::create_pack(&state, &auth.actor, id, input).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// The deal's material packs, newest first, with how often the customer opened each.
#[utoipa::path(get, path = "/v1/deals/{id}/materials", tag = "deals", security(("bearer" = [])),
    params(("id" = DealId, Path)),
    responses((status = 200, body = Vec<MaterialPack>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_packs(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<DealId>,
) -> Result<Json<Vec<MaterialPack>>, ApiError> {
    Ok(Json(usecase::list_packs(&state, &auth.actor, id).await?))
}

/// Withdraws a pack's link at once (sent to the wrong person, superseded): it answers 410
/// `link_revoked` from then on.
#[utoipa::path(post, path = "/v1/deals/{id}/materials/{pack}/revoke", tag = "deals", security(("bearer" = [])),
    params(("id" = DealId, Path), ("pack" = fieldline_domain::MaterialPackId, Path)),
    responses((status = 200, body = MaterialPack), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_pack(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath((id, pack)): ApiPath<(DealId, fieldline_domain::MaterialPackId)>,
) -> Result<Json<MaterialPack>, ApiError> {
    Ok(Json(
        usecase::revoke_pack(&state, &auth.actor, id, pack).await?,
    ))
}

/// What a customer's link shows: the pack's name and files (each downloadable at
/// `/m/{token}/files/{index}`).
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct OpenedPack {
    pub name: String,
    pub files: Vec<fieldline_domain::PackFile>,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// A customer opens a material link: no login, the link is the authority. A web page by
/// default (Chinese or English by `Accept-Language`), JSON with `Accept: application/json`.
/// Each opening is recorded on the deal as `material_opened`.
#[utoipa::path(get, path = "/m/{token}", tag = "deals",
    params(("token" = String, Path, description = "The link's 43-character token")),
    responses((status = 200, description = "The pack", content(
            (OpenedPack = "application/json"),
            (String = "text/html"))),
        (status = 404, description = "No such link", body = ErrorBody),
        (status = 410, description = "The link expired or was withdrawn", body = ErrorBody),
        (status = 429, description = "Too many requests for this link (see Retry-After)", body = ErrorBody)))]
pub async fn open_pack(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
    Language(language): Language,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let pack = usecase::open_pack(&state, &token).await?;
    let opened = OpenedPack {
        name: pack.name,
        files: pack.files,
        expires_at: pack.expires_at,
    };
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"));
    if wants_json {
        return Ok(Json(opened).into_response());
    }
    Ok(Html(page(&opened, &token, &language)).into_response())
}

/// One file of a link's pack: a redirect to a short-lived download URL on S3, the bytes on
/// the embedded server.
#[utoipa::path(get, path = "/m/{token}/files/{index}", tag = "deals",
    params(("token" = String, Path), ("index" = u32, Path, description = "0 for the first file")),
    responses((status = 200, description = "The file", content_type = "application/octet-stream"),
        (status = 302, description = "Download it from this short-lived URL"),
        (status = 404, body = ErrorBody), (status = 410, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn download(
    State(state): State<AppState>,
    ApiPath((token, index)): ApiPath<(String, u32)>,
) -> Result<Response, ApiError> {
    Ok(
        match usecase::download(&state, &token, index as usize).await? {
            PackDownload::Redirect(url) => {
                (StatusCode::FOUND, [(header::LOCATION, url)]).into_response()
            }
            PackDownload::Bytes {
                bytes,
                content_type,
                file_name,
            } => {
                let encoded: String =
                    url::form_urlencoded::byte_serialize(file_name.as_bytes()).collect();
                let disposition =
                    format!("inline; filename*=UTF-8''{}", encoded.replace('+', "%20"));
                (
                    [
                        (header::CONTENT_TYPE, content_type),
                        (header::CONTENT_DISPOSITION, disposition),
                        (header::CACHE_CONTROL, "private, no-store".to_owned()),
                    ],
                    bytes,
                )
                    .into_response()
            }
        },
    )
}

fn escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

/// The page a customer sees: the pack's name and its files, in their language.
fn page(pack: &OpenedPack, token: &str, language: &str) -> String {
    let zh = language.to_ascii_lowercase().starts_with("zh");
    let (lang, intro, until) = if zh {
        ("zh-CN", "您的资料", "链接有效期至")
    } else {
        ("en", "Your documents", "This link works until")
    };
    let items: String = pack
        .files
        .iter()
        .enumerate()
        .map(|(i, f)| {
            format!(
                "<li><a href=\"/m/{token}/files/{i}\">{}</a> <small>({} KB)</small></li>",
                escape(&f.file_name),
                f.size.div_ceil(1024)
            )
        })
        .collect();
    format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>{name}</title></head>\
         <body><p>{intro}</p><h1>{name}</h1><ul>{items}</ul>\
         <p><small>{until} {expires}</small></p></body></html>",
        name = escape(&pack.name),
        expires = pack.expires_at.format("%Y-%m-%d %H:%M UTC"),
    )
}
