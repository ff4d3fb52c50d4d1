//! Extractors that turn axum's rejections into our error shape with stable codes.

use crate::http::error::ApiError;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use bytes::Bytes;
use serde::de::DeserializeOwned;

/// A JSON body: 400 for broken JSON, 422 for wrong types or missing fields (naming the field),
/// 413 when too big, 415 without a JSON content type.
///
/// Parsing happens in two steps because serde_json reports some type errors (a number where an
/// enum is expected) as syntax errors; going through `Value` keeps the two classes apart.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let limit = req
            .extensions()
            .get::<BodyLimit>()
            .map(|l| l.0)
            .unwrap_or(0);
        if !is_json(req.headers()) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let body = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge { limit }
            } else {
                ApiError::bad_request("unreadable_body", e.body_text())
            }
        })?;
        parse_json(&body).map(ApiJson)
    }
}

fn is_json(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json"
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
        .unwrap_or(false)
}

/// Bytes to `T`, with the error classes of the API.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| ApiError::MalformedJson(e.to_string()))?;
    // Every request body is an object; serde would also read a struct from an array.
    if !value.is_object() {
        return Err(ApiError::InvalidField {
            field: "body".into(),
            message: "must be a JSON object".into(),
        });
    }
    whole_numbers_as_integers(&mut value);
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        ApiError::InvalidField {
            field: if path == "." { "body".into() } else { path },
            message: e.inner().to_string(),
        }
    })
}

/// JSON Schema counts `3.0` as an integer, and so do clients that only have floats: a whole
/// number spelled as a float becomes an integer before typed parsing, so an integer field
/// accepts it. Fractions stay floats and are refused where an integer is expected.
fn whole_numbers_as_integers(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            // Within ±2^53 every whole float is exactly the integer it spells.
            if f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0 {
                *value = Value::from(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(whole_numbers_as_integers),
        Value::Object(fields) => fields.values_mut().for_each(whole_numbers_as_integers),
        _ => {}
    }
}

/// The caller's language from `Accept-Language` (its first tag; `en` when absent): the
/// words of refusals that have them in both languages.
pub struct Language(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Language {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let tag = parts
            .headers
            .get(axum::http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split([',', ';']).next())
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= 35)
            .unwrap_or("en");
        Ok(Language(tag.to_owned()))
    }
}

/// The configured body limit, made visible to `ApiJson` for its 413 message.
#[derive(Clone, Copy)]
pub struct BodyLimit(pub usize);

/// Query-string parameters; a bad one is a 400 `invalid_query`.
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e: QueryRejection| ApiError::bad_request("invalid_query", e.body_text()))
    }
}

/// Path parameters; an unparsable id cannot name anything, so it is a 404.
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|e: PathRejection| {
                ApiError::NotFound(format!("no such resource ({})", e.body_text()))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldline_domain::NewLead;

    fn field_of(body: &str) -> (u16, String) {
        match parse_json::<NewLead>(body.as_bytes()) {
            Ok(_) => (200, String::new()),
            Err(e) => {
                let field = match &e {
                    ApiError::InvalidField { field, .. } => field.clone(),
                    _ => String::new(),
                };
                (e.status().as_u16(), field)
            }
        }
    }

    #[test]
    fn syntax_errors_are_400_and_shape_errors_are_422_with_the_field() {
        assert_eq!(field_of(r#"{"source":"#).0, 400);
        assert_eq!(field_of("not json").0, 400);
        assert_eq!(
            field_of(r#"{"source": 5, "contact": {"name": "x"}}"#),
            (422, "source".into())
        );
        assert_eq!(
            field_of(r#"{"source": "fax", "contact": {"name": "x"}}"#),
            (422, "source".into())
        );
        assert_eq!(
            field_of(r#"{"source": "referral", "contact": {"name": 7}}"#),
            (422, "contact.name".into())
        );
        assert_eq!(field_of(r#"{"source": "referral"}"#).0, 422);
        assert_eq!(field_of(r#"[1, 2]"#).0, 422);
        assert_eq!(
            field_of(r#"{"source": "referral", "contact": {"name": "x"}}"#).0,
            200
        );
    }

    #[test]
    fn a_body_is_an_object_even_where_every_field_is_optional() {
        #[derive(Debug, serde::Deserialize)]
        struct AllOptional {
            #[allow(dead_code)]
            note: Option<String>,
        }
        assert!(parse_json::<AllOptional>(b"{}").is_ok());
        for body in [&b"[]"[..], b"[null]", b"\"x\"", b"3", b"null"] {
            match parse_json::<AllOptional>(body) {
                Err(ApiError::InvalidField { field, .. }) => assert_eq!(field, "body"),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn whole_floats_are_integers_and_fractions_are_not() {
        #[derive(Debug, serde::Deserialize)]
        struct Versioned {
            #[allow(dead_code)]
            expected_version: u32,
        }
        assert!(parse_json::<Versioned>(br#"{"expected_version": 3.0}"#).is_ok());
        assert!(parse_json::<Versioned>(br#"{"expected_version": 3e0}"#).is_ok());
        let fraction = parse_json::<Versioned>(br#"{"expected_version": 3.5}"#);
        assert!(matches!(fraction, Err(ApiError::InvalidField { .. })));
        let negative = parse_json::<Versioned>(br#"{"expected_version": -1.0}"#);
        assert!(matches!(negative, Err(ApiError::InvalidField { .. })));
    }
}
