use crate::auth::Authenticated;
use crate::customer::{self as usecase, CustomerDetail};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use fieldline_domain::{Contact, Customer, CustomerId, CustomerPatch, NewContact, NewCustomer};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Creates a customer with the contacts already known. Reps own what they create; managers
/// and admins may name an owner. A company the tenant already has (same name once widths,
/// case, punctuation and company forms such as 有限公司 / Co., Ltd. are set aside), or a
/// contact whose phone or e-mail another contact has, is refused with 409 `duplicate` and
/// the record that exists in `details.existing` (only its id when it is outside your scope).
#[utoipa::path(post, path = "/v1/customers", tag = "customers", security(("bearer" = [])),
    request_body = NewCustomer,
    responses((status = 201, body = CustomerDetail), (status = 403, body = ErrorBody),
        (status = 409, description = "The company or a contact exists already (`duplicate`)", body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn create_customer(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(input): ApiJson<NewCustomer>,
) -> Result<(StatusCode, Json<CustomerDetail>), ApiError> {
    let created = usecase::create_customer(&state, &auth.actor, &auth.user, input).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CustomerListParams {
    /// Only customers whose name contains this, compared without case, width, spaces or
    /// punctuation ("联华 超市" finds 上海联华超市有限公司).
    #[param(min_length = 1, max_length = 100)]
    q: Option<String>,
    /// Page size (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
    /// `next_cursor` from the previous page.
    cursor: Option<String>,
}

/// One page of customers, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CustomerPage {
    pub items: Vec<Customer>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// The customers you can see: your own (rep), your team's (manager), the tenant's (admin);
/// `q` searches their names.
#[utoipa::path(get, path = "/v1/customers", tag = "customers", security(("bearer" = [])),
    params(CustomerListParams),
    responses((status = 200, body = CustomerPage), (status = 400, body = ErrorBody)))]
pub async fn list_customers(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(params): ApiQuery<CustomerListParams>,
) -> Result<Json<CustomerPage>, ApiError> {
    let limit = params
        .limit
        .map(|l| crate::lead::checked_limit(l, 200))
        .transpose()?;
    let page = usecase::list_customers(&state, &auth.actor, params.q, limit, params.cursor).await?;
    Ok(Json(CustomerPage {
        items: page.items,
        next_cursor: page.next.map(|c| c.encode()),
    }))
}

/// A customer with its contacts.
#[utoipa::path(get, path = "/v1/customers/{id}", tag = "customers", security(("bearer" = [])),
    params(("id" = CustomerId, Path)),
    responses((status = 200, body = CustomerDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_customer(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<CustomerId>,
) -> Result<Json<CustomerDetail>, ApiError> {
    Ok(Json(usecase::get_customer(&state, &auth.actor, id).await?))
}

/// A change to a customer, applied only if it is still at `expected_version`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCustomerRequest {
    pub expected_version: u64,
    pub changes: CustomerPatch,
}

/// Changes a customer's name, kind, addresses or tags, or hands it to another owner
/// (managers within their team, admins anywhere; reps cannot). A new name the tenant already
/// has for another customer is refused with 409 `duplicate`.
#[utoipa::path(patch, path = "/v1/customers/{id}", tag = "customers", security(("bearer" = [])),
    params(("id" = CustomerId, Path)), request_body = UpdateCustomerRequest,
    responses((status = 200, body = Customer), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "Changed since `expected_version`, or the new name is another customer's (`duplicate`)", body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn update_customer(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<CustomerId>,
    ApiJson(req): ApiJson<UpdateCustomerRequest>,
) -> Result<Json<Customer>, ApiError> {
    Ok(Json(
        usecase::update_customer(&state, &auth.actor, id, req.expected_version, req.changes)
            .await?,
    ))
}

/// Adds a person at this customer; a phone or e-mail another contact has is refused with
/// 409 `duplicate`.
#[utoipa::path(post, path = "/v1/customers/{id}/contacts", tag = "customers", security(("bearer" = [])),
    params(("id" = CustomerId, Path)),
    request_body = NewContact,
    responses((status = 201, body = Contact), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "A contact with this phone or e-mail exists (`duplicate`)", body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn add_contact(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<CustomerId>,
    ApiJson(input): ApiJson<NewContact>,
) -> Result<(StatusCode, Json<Contact>), ApiError> {
    let contact = usecase::add_contact(&state, &auth.actor, id, input).await?;
    Ok((StatusCode::CREATED, Json(contact)))
}
