//! The web app, embedded: the files `npm run build` wrote to `web/dist` are compiled into the
//! binary (see `build.rs`), so the embedded server needs nothing beside it. The app uses hash
//! routes, so any path without a file extension gets `index.html`.

use axum::Router;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use rust_embed::Embed;

#[derive(Embed)]
#[folder = "$OUT_DIR/web"]
struct Assets;

/// Content Security Policy: the app's own scripts, styles and API only; no framing.
const CSP: &str = "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; \
style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; \
base-uri 'none'; form-action 'self'; object-src 'none'";

/// The router serving the app; the API router uses it for whatever is not under `/v1`.
pub fn site() -> Router {
    Router::new().fallback(serve)
}

/// Whether this binary carries a built app (not the placeholder).
pub fn is_built() -> bool {
    Assets::iter().any(|path| path.starts_with("assets/"))
}

async fn serve(method: Method, uri: Uri) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let path = uri.path().trim_start_matches('/');
    let (path, file) = match Assets::get(if path.is_empty() { "index.html" } else { path }) {
        Some(file) => (path, file),
        // A client-side route (no extension): the app itself.
        None if !path.rsplit('/').next().unwrap_or("").contains('.') => {
            match Assets::get("index.html") {
                Some(file) => ("index.html", file),
                None => return StatusCode::NOT_FOUND.into_response(),
            }
        }
        None => return StatusCode::NOT_FOUND.into_response(),
    };
    // Built assets carry a content hash in their names: they never change under one name.
    let cache = if path.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut response = Response::new(axum::body::Body::from(file.data.into_owned()));
    let headers = response.headers_mut();
    let mime = file.metadata.mimetype();
    if let Ok(value) = HeaderValue::from_str(mime) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn get(path: &str) -> (StatusCode, Option<String>, String) {
        let response = site()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let kind = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned());
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, kind, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn the_app_is_served_at_the_root_and_for_client_routes() {
        let (status, kind, body) = get("/").await;
        assert_eq!(status, StatusCode::OK);
        assert!(kind.unwrap().starts_with("text/html"));
        assert!(body.contains("<html"), "{body}");
        let (status, _, again) = get("/today").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(again, body);
        let (status, _, _) = get("/assets/nothing-here.js").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn every_built_file_is_served_with_its_type() {
        for path in Assets::iter() {
            let (status, kind, _) = get(&format!("/{path}")).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            let kind = kind.unwrap();
            if path.ends_with(".js") {
                assert!(kind.contains("javascript"), "{path}: {kind}");
            }
            if path.ends_with(".css") {
                assert_eq!(kind, "text/css", "{path}");
            }
        }
    }
}
