use crate::auth::Authenticated;
use crate::customer::{self as usecase, CustomerDetail, ListedGrade};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::idempotency::{IdempotencyHeader, created};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use fieldline_domain::{
    Activity, Contact, ContactId, ContactPatch, Customer, CustomerHealth, CustomerId,
    CustomerPatch, Grade, GradeClass, GradePolicy, GradeSnapshot, NewActivity, NewContact,
    NewCustomer, NewPurchase, Purchase,
};
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
    /// Only customers of this class (this month's grade).
    class: Option<GradeClass>,
    /// Only customers in this health category (this month's grade).
    health: Option<CustomerHealth>,
}

/// One page of customers, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CustomerPage {
    pub items: Vec<Customer>,
    /// Each listed customer's grade this month, in the order of `items`.
    pub grades: Vec<ListedGrade>,
    /// Pass as `cursor` for the next page; absent on the last page. A page filtered by
    /// `class` or `health` may hold fewer than `limit` customers (even none) and still have
    /// a next one: each request reads a bounded part of the list.
    pub next_cursor: Option<String>,
}

/// The customers you can see: your own (rep), your team's (manager), the tenant's (admin),
/// each with this month's grade; `q` searches their names, `class` and `health` keep one
/// grade or health category.
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
    let filter = usecase::GradeFilter {
        class: params.class,
        health: params.health,
    };
    let page = usecase::list_customers(&state, &auth.actor, params.q, limit, params.cursor, filter)
        .await?;
    Ok(Json(CustomerPage {
        items: page.items,
        grades: page.grades,
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

/// Change a contact (a customer you may work on). A list given replaces the list; phones and
/// e-mails it gains must not belong to another contact (409 `duplicate`).
#[utoipa::path(patch, path = "/v1/contacts/{id}", tag = "customers", security(("bearer" = [])),
    params(("id" = ContactId, Path)),
    request_body = ContactPatch,
    responses((status = 200, body = Contact), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "A phone or e-mail belongs to another contact (`duplicate`), or the customer was merged away", body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn update_contact(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<ContactId>,
    ApiJson(patch): ApiJson<ContactPatch>,
) -> Result<Json<Contact>, ApiError> {
    Ok(Json(
        usecase::update_contact(&state, &auth.actor, id, patch).await?,
    ))
}

/// Log a call, visit, message, consultation, sample request or event attendance with this
/// customer. Name the `contact` it was with: meeting a contact is what counts their role as
/// covered in the grade. The grade follows within a scheduler tick.
#[utoipa::path(post, path = "/v1/customers/{id}/activities", tag = "customers", security(("bearer" = [])),
    params(("id" = CustomerId, Path), ("Idempotency-Key" = Option<String>, Header, pattern = r"^[!-~]{1,128}$", description = "Makes retries safe")),
    request_body = NewActivity,
    responses((status = 201, body = Activity), (status = 200, description = "A retry; the original activity", body = Activity),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn log_activity(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<CustomerId>,
    IdempotencyHeader(key): IdempotencyHeader,
    ApiJson(input): ApiJson<NewActivity>,
) -> Result<Response, ApiError> {
    let outcome = usecase::log_activity(&state, &auth.actor, id, input, key).await?;
    Ok(created(outcome, None))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CustomerActivityParams {
    /// At most this many, newest first (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
}

/// The customer's activity log, newest first.
#[utoipa::path(get, path = "/v1/customers/{id}/activities", tag = "customers", security(("bearer" = [])),
    params(("id" = CustomerId, Path), CustomerActivityParams),
    responses((status = 200, body = Vec<Activity>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_activities(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<CustomerId>,
    ApiQuery(params): ApiQuery<CustomerActivityParams>,
) -> Result<Json<Vec<Activity>>, ApiError> {
    let limit = params.limit.unwrap_or(crate::lead::DEFAULT_PAGE);
    Ok(Json(
        usecase::list_activities(&state, &auth.actor, id, limit).await?,
    ))
}

/// Enter a purchase in the customer's ledger (managers and admins), the transaction-value
/// input of the grade until orders feed it. `reference` is your invoice or delivery number:
/// the same reference again records nothing (200 with the first); with other figures it is
/// refused (409).
#[utoipa::path(post, path = "/v1/customers/{id}/purchases", tag = "customers", security(("bearer" = [])),
    params(("id" = CustomerId, Path)),
    request_body = NewPurchase,
    responses((status = 201, body = Purchase), (status = 200, description = "Recorded before; the first", body = Purchase),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "The reference is recorded with other figures", body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn add_purchase(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<CustomerId>,
    ApiJson(input): ApiJson<NewPurchase>,
) -> Result<Response, ApiError> {
    let outcome = usecase::add_purchase(&state, &auth.actor, id, input).await?;
    Ok(created(outcome, None))
}

/// The customer's grade now: class A/B/C, health category, and for each dimension (value,
/// interaction, coverage) its score, weight and the parts that add up to it — every input
/// number, rate and threshold the tenant's policy used.
#[utoipa::path(get, path = "/v1/customers/{id}/grade", tag = "customers", security(("bearer" = [])),
    params(("id" = CustomerId, Path)),
    responses((status = 200, body = Grade), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "The customer was merged into another (`merged_into`); ask that one", body = ErrorBody)))]
pub async fn grade(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<CustomerId>,
) -> Result<Json<Grade>, ApiError> {
    Ok(Json(usecase::grade(&state, &auth.actor, id).await?))
}

/// The customer's grade per month, oldest first: closed months hold the grade at their end;
/// the current month's follows every change.
#[utoipa::path(get, path = "/v1/customers/{id}/grade/history", tag = "customers", security(("bearer" = [])),
    params(("id" = CustomerId, Path)),
    responses((status = 200, body = Vec<GradeSnapshot>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn grade_history(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<CustomerId>,
) -> Result<Json<Vec<GradeSnapshot>>, ApiError> {
    Ok(Json(usecase::grade_history(&state, &auth.actor, id).await?))
}

/// How customers are graded: roles, weights, point rules, windows and thresholds.
#[utoipa::path(get, path = "/v1/grading/policy", tag = "customers", security(("bearer" = [])),
    responses((status = 200, body = GradePolicy)))]
pub async fn grade_policy(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<Json<GradePolicy>, ApiError> {
    Ok(Json(usecase::grade_policy(&state, &auth.actor).await?))
}

/// Replace the grading policy (admins). It becomes the next version; `version` in the body
/// is ignored.
#[utoipa::path(put, path = "/v1/grading/policy", tag = "customers", security(("bearer" = [])),
    request_body = GradePolicy,
    responses((status = 200, body = GradePolicy), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_grade_policy(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(policy): ApiJson<GradePolicy>,
) -> Result<Json<GradePolicy>, ApiError> {
    Ok(Json(
        usecase::set_grade_policy(&state, &auth.actor, policy).await?,
    ))
}

/// Every kept grading policy (the last 20 replaced), the one in force first.
#[utoipa::path(get, path = "/v1/grading/policy/versions", tag = "customers", security(("bearer" = [])),
    responses((status = 200, body = Vec<GradePolicy>)))]
pub async fn grade_policy_versions(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<Json<Vec<GradePolicy>>, ApiError> {
    Ok(Json(
        usecase::grade_policy_versions(&state, &auth.actor).await?,
    ))
}

/// Put a kept grading policy back in force as the next version (admins). With
/// `expected_version`, refused when another version came into force meanwhile.
#[utoipa::path(post, path = "/v1/grading/policy/rollback", tag = "customers", security(("bearer" = [])),
    request_body = usecase::PolicyRollback,
    responses((status = 200, body = GradePolicy), (status = 403, body = ErrorBody),
        (status = 404, description = "No such version is kept", body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn rollback_grade_policy(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(req): ApiJson<usecase::PolicyRollback>,
) -> Result<Json<GradePolicy>, ApiError> {
    Ok(Json(
        usecase::rollback_grade_policy(&state, &auth.actor, req).await?,
    ))
}

/// Merge another customer record (`duplicate`) into this one: its contacts, activities and
/// purchases move here (a purchase reference both have stays this one's), its tags and
/// addresses are added, and it remains as a pointer (`merged_into`) that is no longer listed
/// or changed. You must be able to work on both. `expected_version` is this customer's.
#[utoipa::path(post, path = "/v1/customers/{id}/merge", tag = "customers", security(("bearer" = [])),
    params(("id" = CustomerId, Path)),
    request_body = usecase::MergeRequest,
    responses((status = 200, description = "The customer after the merge", body = CustomerDetail),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "Changed since `expected_version`, or one of them was merged away", body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn merge_customer(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<CustomerId>,
    ApiJson(req): ApiJson<usecase::MergeRequest>,
) -> Result<Json<CustomerDetail>, ApiError> {
    Ok(Json(
        usecase::merge_customer(&state, &auth.actor, id, req).await?,
    ))
}
