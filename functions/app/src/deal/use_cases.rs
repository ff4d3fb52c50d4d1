use crate::error::AppError;
use crate::lead::{Outcome, idempotency, load_accessible};
use crate::state::AppState;
use fieldline_domain::{
    Actor, ContactId, ConversionIds, CustomerId, Deal, DealId, LeadId, MoveError, Permission,
    Pipeline, StageChange, StageKind, StageMove, UserId, convert_lead as convert, home_currency,
    pipeline::DEFAULT_PIPELINE,
};
use fieldline_store::{Conversion, Cursor, DealQuery, IdempotencyKey, Page, StoreError, all_pages};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The tenant's pipelines: what it stored, or the default every tenant starts with.
#[tracing::instrument(name = "deal.pipelines", level = "debug", skip_all, fields(tenant = %actor.tenant), err(Display))]
pub async fn pipelines(state: &AppState, actor: &Actor) -> Result<Vec<Pipeline>, AppError> {
    let mut stored = state.deals.list_pipelines(&actor.tenant).await?;
    if !stored.iter().any(|p| p.id == DEFAULT_PIPELINE) {
        stored.insert(0, Pipeline::default_for(&actor.tenant));
    }
    Ok(stored)
}

/// A pipeline as an admin writes it; its id is in the path.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PipelineDraft {
    pub name: fieldline_domain::Localized,
    pub stages: Vec<fieldline_domain::Stage>,
    pub lost_reasons: Vec<fieldline_domain::LostReason>,
}

/// Creates (`expected_version` absent) or changes a pipeline. A stage that deals still sit in
/// cannot be removed (move them first).
#[tracing::instrument(name = "deal.save_pipeline", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn save_pipeline(
    state: &AppState,
    actor: &Actor,
    id: &str,
    expected_version: Option<u32>,
    draft: PipelineDraft,
) -> Result<Pipeline, AppError> {
    actor.check(Permission::ManagePipelines)?;
    let stored = state
        .deals
        .list_pipelines(&actor.tenant)
        .await?
        .into_iter()
        .find(|p| p.id == id);
    // The built-in default exists before it is first stored.
    let current = match stored.clone() {
        Some(p) => Some(p),
        None if id == DEFAULT_PIPELINE => Some(Pipeline::default_for(&actor.tenant)),
        None => None,
    };
    let pipeline = Pipeline {
        id: id.to_owned(),
        tenant: actor.tenant.clone(),
        name: draft.name,
        stages: draft.stages,
        lost_reasons: draft.lost_reasons,
        version: expected_version.map_or(1, |v| v + 1),
    };
    pipeline.validate()?;
    match (&current, expected_version) {
        (Some(_), None) => {
            return Err(AppError::Conflict(format!(
                "pipeline {id} exists: send expected_version to change it"
            )));
        }
        (None, Some(_)) => return Err(AppError::NotFound(format!("pipeline {id} not found"))),
        (Some(p), Some(v)) if p.version != v => {
            return Err(AppError::VersionConflict {
                expected: u64::from(v),
                actual: u64::from(p.version),
            });
        }
        _ => {}
    }
    if let Some(old) = &current {
        for stage in old
            .stages
            .iter()
            .filter(|s| pipeline.stage(&s.key).is_none())
        {
            let query = DealQuery {
                stage: Some(stage.key.clone()),
                limit: 1,
                ..DealQuery::in_pipeline(fieldline_domain::LeadScope::Tenant, id)
            };
            if !state
                .deals
                .list_deals(&actor.tenant, &query)
                .await?
                .items
                .is_empty()
            {
                return Err(AppError::Conflict(format!(
                    "deals are still in stage {}: move them before removing it",
                    stage.key
                )));
            }
        }
    }
    // The built-in default is stored on its first change, from version 1.
    let expected = if stored.is_some() {
        expected_version
    } else {
        None
    };
    state.deals.save_pipeline(&pipeline, expected).await?;
    Ok(pipeline)
}

/// What `POST /v1/leads/{id}/convert` may set; everything else comes from the lead.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConvertRequest {
    /// The pipeline the deal starts in (default `default`).
    #[serde(default)]
    pub pipeline: Option<String>,
}

/// Turns a qualified lead into customer + contact + deal in one transaction, joining the
/// customer and person the tenant already has when the lead's phone, e-mail or company
/// name is known. A retry with the same `Idempotency-Key` returns the first deal.
#[tracing::instrument(name = "deal.convert_lead", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn convert_lead(
    state: &AppState,
    actor: &Actor,
    lead_id: LeadId,
    req: ConvertRequest,
    key: Option<IdempotencyKey>,
) -> Result<Outcome<Deal>, AppError> {
    let record = idempotency(actor, key, "lead.convert", &(lead_id, &req));
    let lead = load_accessible(state, actor, lead_id).await?;
    actor.check(Permission::ConvertLead(&lead))?;
    let wanted = req.pipeline.as_deref().unwrap_or(DEFAULT_PIPELINE);
    let pipeline = pipelines(state, actor)
        .await?
        .into_iter()
        .find(|p| p.id == wanted)
        .ok_or_else(|| AppError::InvalidField {
            field: "pipeline".into(),
            message: format!("{wanted} is not one of this tenant's pipelines"),
        })?;
    // A retry is answered from the key: its lead is converted by now.
    if let Some(rec) = &record
        && let Some(deal) = state.deals.converted_with(&actor.tenant, rec).await?
    {
        return Ok(Outcome::Replayed(deal));
    }
    let mut converted_lead = lead.clone();
    let ids = ConversionIds {
        customer: CustomerId::new(),
        contact: ContactId::new(),
        deal: DealId::new(),
    };
    let tenant = state.directory.get_tenant(&actor.tenant).await?;
    let currency = tenant
        .as_ref()
        .map_or_else(|| "CNY".to_owned(), |t| home_currency(&t.phone_region));
    let made = convert(
        &mut converted_lead,
        ids,
        &pipeline,
        actor,
        state.clock.now(),
        &currency,
    )?;
    let (known_customer, known_contact) = known_records(state, actor, &lead, &made).await?;
    let made = made.onto(known_customer, known_contact);
    let conversion = Conversion {
        lead: converted_lead,
        lead_version: lead.version,
        customer: made.customer,
        contact: made.contact,
        new_customer: made.new_customer,
        new_contact: made.new_contact,
        deal: made.deal,
        first_stage: made.first_stage,
        events: made.events,
    };
    let outcome = state
        .deals
        .convert_lead(&conversion, record.as_ref())
        .await?;
    // A new customer is graded from the start (its months close from now on).
    if conversion.new_customer
        && let Outcome::New(_) = &outcome
        && let Some(tenant) = &tenant
    {
        crate::customer::grading::regrade(state, tenant, conversion.customer.id).await?;
    }
    Ok(outcome)
}

/// The customer and person a conversion should join instead of creating them again: the
/// person when a phone or e-mail of theirs is known (with their customer), else the company
/// when its name is (a lead without a company is a person, whose name says too little).
pub async fn known_records(
    state: &AppState,
    actor: &Actor,
    lead: &fieldline_domain::Lead,
    made: &fieldline_domain::Converted,
) -> Result<
    (
        Option<fieldline_domain::Customer>,
        Option<fieldline_domain::Contact>,
    ),
    AppError,
> {
    let customers = &state.customers;
    for key in made.contact.dedupe_keys() {
        let Some(holder) = customers.key_holder(&actor.tenant, &key).await? else {
            continue;
        };
        let Ok(id) = holder.parse() else { continue };
        if let Some(contact) = customers.get_contact(&actor.tenant, id).await?
            && let Some(customer) = customers
                .get_customer(&actor.tenant, contact.customer)
                .await?
        {
            return Ok((Some(customer), Some(contact)));
        }
    }
    if lead.contact.company.is_some() {
        for key in made.customer.dedupe_keys() {
            let Some(holder) = customers.key_holder(&actor.tenant, &key).await? else {
                continue;
            };
            let Ok(id) = holder.parse() else { continue };
            if let Some(customer) = customers.get_customer(&actor.tenant, id).await? {
                return Ok((Some(customer), None));
            }
        }
    }
    Ok((None, None))
}

/// A pipeline of the tenant by id: 404 when there is none.
pub async fn find_pipeline(
    state: &AppState,
    actor: &Actor,
    id: &str,
) -> Result<Pipeline, AppError> {
    pipelines(state, actor)
        .await?
        .into_iter()
        .find(|p| p.id == id)
        .ok_or_else(|| AppError::NotFound(format!("pipeline {id} not found")))
}

/// What the reports read of every deal of `pipeline` the caller may see.
pub async fn report_facts(
    state: &AppState,
    actor: &Actor,
    pipeline: &str,
) -> Result<Vec<fieldline_domain::DealFacts>, AppError> {
    Ok(state
        .deals
        .deal_facts(&actor.tenant, pipeline, &actor.lead_scope())
        .await?)
}

/// A calendar month in the tenant's time zone, as `[start, end)` instants.
fn month_bounds(
    tz: chrono_tz::Tz,
    year: i32,
    month: u32,
) -> Option<(fieldline_domain::Timestamp, fieldline_domain::Timestamp)> {
    use chrono::TimeZone;
    let first = chrono::NaiveDate::from_ymd_opt(year, month, 1)?;
    let next = if month == 12 {
        chrono::NaiveDate::from_ymd_opt(year + 1, 1, 1)?
    } else {
        chrono::NaiveDate::from_ymd_opt(year, month + 1, 1)?
    };
    let at = |d: chrono::NaiveDate| {
        tz.from_local_datetime(&d.and_hms_opt(0, 0, 0)?)
            .earliest()
            .map(|t| t.to_utc())
    };
    Some((at(first)?, at(next)?))
}

async fn tenant_zone(state: &AppState, actor: &Actor) -> Result<chrono_tz::Tz, AppError> {
    let tenant = state.directory.get_tenant(&actor.tenant).await?;
    Ok(tenant
        .and_then(|t| t.time_zone.parse().ok())
        .unwrap_or(chrono_tz::Asia::Shanghai))
}

/// The forecast for a month (`YYYY-MM`, in the tenant's time zone) over the deals the caller
/// may see; probabilities come from the tenant's deals closed so far.
#[tracing::instrument(name = "deal.forecast", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn forecast(
    state: &AppState,
    actor: &Actor,
    pipeline: Option<String>,
    period: &str,
) -> Result<fieldline_domain::forecast::Forecast, AppError> {
    let bad = || AppError::rejected("invalid_query", "period must be a month such as 2026-11");
    let (year, month) = period.split_once('-').ok_or_else(bad)?;
    let (year, month): (i32, u32) = (
        year.parse().map_err(|_| bad())?,
        month.parse().map_err(|_| bad())?,
    );
    if !(2000..=2100).contains(&year) || period.len() != 7 {
        return Err(bad());
    }
    let tz = tenant_zone(state, actor).await?;
    let (from, to) = month_bounds(tz, year, month).ok_or_else(bad)?;
    let pipeline = find_pipeline(
        state,
        actor,
        pipeline.as_deref().unwrap_or(DEFAULT_PIPELINE),
    )
    .await?;
    let deals = report_facts(state, actor, &pipeline.id).await?;
    let now = state.clock.now();
    Ok(fieldline_domain::forecast::forecast(
        &pipeline, &deals, from, to, now,
    ))
}

/// The forecast as it would have been made at the start of each of the last `months` months
/// (the current one excluded), scored against what was won.
#[tracing::instrument(name = "deal.backtest", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn backtest(
    state: &AppState,
    actor: &Actor,
    pipeline: Option<String>,
    months: u32,
) -> Result<fieldline_domain::forecast::Backtest, AppError> {
    use chrono::Datelike;
    let tz = tenant_zone(state, actor).await?;
    let today = state.clock.now().with_timezone(&tz).date_naive();
    let mut bounds = Vec::new();
    let (mut year, mut month) = (today.year(), today.month());
    for _ in 0..months {
        (year, month) = if month == 1 {
            (year - 1, 12)
        } else {
            (year, month - 1)
        };
        bounds.push(month_bounds(tz, year, month).ok_or_else(|| {
            AppError::internal("deal backtest", format!("no month {year}-{month}"))
        })?);
    }
    bounds.reverse();
    let pipeline = find_pipeline(
        state,
        actor,
        pipeline.as_deref().unwrap_or(DEFAULT_PIPELINE),
    )
    .await?;
    let deals = report_facts(state, actor, &pipeline.id).await?;
    Ok(fieldline_domain::forecast::backtest(
        &pipeline, &deals, &bounds,
    ))
}

pub(crate) async fn load_deal(
    state: &AppState,
    actor: &Actor,
    id: DealId,
) -> Result<Deal, AppError> {
    let deal = state
        .deals
        .get_deal(&actor.tenant, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("deal {id} not found")))?;
    actor.check(Permission::AccessDeal(&deal))?;
    Ok(deal)
}

#[tracing::instrument(name = "deal.get_deal", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn get_deal(state: &AppState, actor: &Actor, id: DealId) -> Result<Deal, AppError> {
    load_deal(state, actor, id).await
}

/// What the list and board can be narrowed by.
#[derive(Debug, Clone, Default)]
pub struct DealFilter {
    pub pipeline: Option<String>,
    pub stage: Option<String>,
    pub status: Option<StageKind>,
    pub owner: Option<UserId>,
    pub overdue: bool,
    pub sort: DealSort,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// How a deal list is ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DealSort {
    /// Newest change first, paged with a cursor.
    #[default]
    Updated,
    /// Overdue deals only, most days past the stage's limit first; one page.
    Overdue,
}

#[tracing::instrument(name = "deal.list_deals", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn list_deals(
    state: &AppState,
    actor: &Actor,
    filter: DealFilter,
) -> Result<Page<Deal>, AppError> {
    let after = match &filter.cursor {
        Some(raw) => Some(Cursor::decode(raw).ok_or_else(|| {
            AppError::rejected("invalid_cursor", "cursor is not one this API issued")
        })?),
        None => None,
    };
    let by_overdue = filter.sort == DealSort::Overdue;
    if by_overdue && after.is_some() {
        return Err(AppError::rejected(
            "invalid_cursor",
            "sort=overdue answers in one page; it takes no cursor",
        ));
    }
    let limit = filter.limit.unwrap_or(50);
    let query = DealQuery {
        scope: actor.lead_scope(),
        pipeline: filter.pipeline,
        stage: filter.stage,
        status: filter.status,
        owner: filter.owner,
        overdue_at: (filter.overdue || by_overdue).then(|| state.clock.now()),
        limit,
        after,
    };
    if !by_overdue {
        return Ok(state.deals.list_deals(&actor.tenant, &query).await?);
    }
    // The overdue set is the stalled part of a pipeline: read it whole, most overdue first.
    let mut overdue = all_pages(|after| {
        let query = DealQuery {
            after,
            limit: fieldline_store::MAX_PAGE,
            ..query.clone()
        };
        async move { state.deals.list_deals(&actor.tenant, &query).await }
    })
    .await?;
    overdue.sort_by_key(|d| (d.rots_at, d.id));
    overdue.truncate(fieldline_store::page_limit(limit) as usize);
    Ok(Page {
        items: overdue,
        next: None,
    })
}

/// One column of the board: a stage with its newest deals, and the count and amount total of
/// every deal in it (that you may see).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BoardColumn {
    pub stage: fieldline_domain::Stage,
    pub deals: Vec<Deal>,
    pub count: u64,
    pub amount_total: u64,
    /// More deals than this page holds: page on with `GET /v1/deals?stage=`.
    pub more: bool,
}

#[tracing::instrument(name = "deal.board", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn board(
    state: &AppState,
    actor: &Actor,
    pipeline_id: Option<String>,
    per_column: u32,
) -> Result<Vec<BoardColumn>, AppError> {
    let id = pipeline_id.unwrap_or_else(|| DEFAULT_PIPELINE.to_owned());
    let pipeline = find_pipeline(state, actor, &id).await?;
    let totals = state
        .deals
        .stage_totals(&actor.tenant, &actor.lead_scope(), &pipeline.id)
        .await?;
    let mut columns = Vec::new();
    for stage in pipeline.stages {
        let total = totals.iter().find(|t| t.stage == stage.key);
        let page = state
            .deals
            .list_deals(
                &actor.tenant,
                &DealQuery {
                    stage: Some(stage.key.clone()),
                    limit: per_column,
                    ..DealQuery::in_pipeline(actor.lead_scope(), &pipeline.id)
                },
            )
            .await?;
        columns.push(BoardColumn {
            count: total.map_or(0, |t| t.count),
            amount_total: total.map_or(0, |t| t.amount),
            more: page.next.is_some(),
            deals: page.items,
            stage,
        });
    }
    Ok(columns)
}

/// Changes an open deal's terms, if it is still at `expected_version`.
#[tracing::instrument(name = "deal.update_deal", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn update_deal(
    state: &AppState,
    actor: &Actor,
    id: DealId,
    expected_version: u64,
    patch: fieldline_domain::DealPatch,
) -> Result<Deal, AppError> {
    let mut deal = load_deal(state, actor, id).await?;
    if deal.version != expected_version {
        return Err(AppError::VersionConflict {
            expected: expected_version,
            actual: deal.version,
        });
    }
    let events = deal.apply_patch(&patch, actor, state.clock.now())?;
    if !events.is_empty() {
        state
            .deals
            .update_deal(&deal, expected_version, None, &events)
            .await?;
    }
    Ok(deal)
}

/// A stage move as the client asks for it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveRequest {
    /// The target stage's key.
    pub to: String,
    pub expected_version: u64,
    /// Why: a lost reason's key when losing; required to override a gate.
    #[serde(default)]
    pub reason: Option<String>,
    /// A manager moves past unmet gate requirements (audited in the stage log).
    #[serde(default)]
    pub override_gate: bool,
}

#[tracing::instrument(name = "deal.move_stage", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn move_stage(
    state: &AppState,
    actor: &Actor,
    id: DealId,
    req: MoveRequest,
) -> Result<Deal, AppError> {
    let mut deal = load_deal(state, actor, id).await?;
    if deal.version != req.expected_version {
        return Err(AppError::VersionConflict {
            expected: req.expected_version,
            actual: deal.version,
        });
    }
    let pipeline = find_pipeline(state, actor, &deal.pipeline).await?;
    let request = StageMove {
        to: &req.to,
        reason: req.reason.as_deref(),
        override_gate: req.override_gate,
    };
    let evidence = state
        .deals
        .list_deal_activities(&actor.tenant, id, crate::deal::activity::GATE_EVIDENCE)
        .await?;
    let now = state.clock.now();
    let (change, event) = match deal.move_stage(&pipeline, &request, &evidence, actor, now) {
        Ok(done) => done,
        Err(MoveError::Invalid(e)) => return Err(e.into()),
        Err(MoveError::Forbidden(m)) => return Err(AppError::Forbidden(m)),
        Err(MoveError::Blocked(unmet)) => return Err(AppError::TransitionBlocked { unmet }),
    };
    match state
        .deals
        .update_deal(&deal, req.expected_version, Some(&change), &[event])
        .await
    {
        Ok(()) => Ok(deal),
        Err(StoreError::VersionConflict { expected, actual }) => {
            Err(AppError::VersionConflict { expected, actual })
        }
        Err(e) => Err(e.into()),
    }
}

#[tracing::instrument(name = "deal.history", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn history(
    state: &AppState,
    actor: &Actor,
    id: DealId,
) -> Result<Vec<StageChange>, AppError> {
    load_deal(state, actor, id).await?;
    Ok(state.deals.deal_history(&actor.tenant, id).await?)
}
