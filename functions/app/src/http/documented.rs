//! The answers every operation can give besides its own, added to the OpenAPI document from
//! what each operation is, so the document cannot forget them: 401 on every authenticated
//! route, 400/413/415/422 wherever a JSON body is read, 400 wherever a query is parsed,
//! 400/409 wherever an `Idempotency-Key` is read, 404 wherever a path id is parsed, and
//! 500/503 everywhere.

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};

fn error(description: &str) -> RefOr<utoipa::openapi::Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build(),
    )
}

fn complete(op: &mut Operation) {
    let mut add = |status: &str, description: &str| {
        op.responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| error(description));
    };
    let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
    let has_body = op.request_body.is_some();
    let params = op.parameters.clone().unwrap_or_default();
    let has_query = params.iter().any(|p| p.parameter_in == ParameterIn::Query);
    let has_path = params.iter().any(|p| p.parameter_in == ParameterIn::Path);
    let idempotent = params
        .iter()
        .any(|p| p.parameter_in == ParameterIn::Header && p.name == "Idempotency-Key");
    if secured {
        add(
            "401",
            "Missing, invalid or expired token, or a deactivated user (`unauthenticated`)",
        );
    }
    if has_body {
        add(
            "400",
            "The body is not JSON (`malformed_json`) or cannot be read",
        );
        add(
            "413",
            "The body exceeds the size limit (`payload_too_large`)",
        );
        add(
            "415",
            "The body is not `application/json` (`unsupported_media_type`)",
        );
        add(
            "422",
            "A field is missing or has the wrong type (`invalid_field`)",
        );
    }
    if has_query {
        add(
            "400",
            "A query parameter is malformed or out of range (`invalid_query`)",
        );
    }
    if idempotent {
        add(
            "400",
            "The `Idempotency-Key` is malformed (`invalid_idempotency_key`)",
        );
        add(
            "409",
            "The `Idempotency-Key` was used for a different request (`idempotency_key_reused`)",
        );
    }
    if has_path {
        add("404", "No such record in your tenant (`not_found`)");
    }
    add(
        "500",
        "An internal failure; the cause is logged, not returned (`internal`)",
    );
    add(
        "503",
        "Storage is busy; retry after `Retry-After` (`storage_busy`)",
    );
}

/// Adds the common answers to every operation of `api`.
pub fn complete_responses(api: &mut OpenApi) {
    for item in api.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            complete(op);
        }
    }
}
