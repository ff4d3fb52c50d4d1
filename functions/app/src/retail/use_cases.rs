use crate::customer::load_live_customer;
use crate::error::AppError;
use crate::lead::load_tenant;
use crate::state::AppState;
use fieldline_domain::id::derived_uuid;
use fieldline_domain::retail::{
    NO_REGION, NewSaleTags, RegionWeek, RetailPolicy, SaleTags, Spike, SpikeTest, Week,
    find_spikes, region_weeks,
};
use fieldline_domain::{Actor, EventId, EventPayload, LeadScope, Permission, SaleTagsId, TenantId};
use fieldline_store::{Created, IdempotencyKey};
use serde::Serialize;
use utoipa::ToSchema;

/// The id a tagged sale gets: derived from its `Idempotency-Key` (per tenant, user and
/// store), so a phone's retry counts once; random without one.
fn sale_id(actor: &Actor, store: &str, key: Option<&IdempotencyKey>) -> SaleTagsId {
    match key {
        Some(key) => SaleTagsId::from_uuid(derived_uuid(&format!(
            "sale-tags|{}|{}|{store}|{}",
            actor.tenant,
            actor.user,
            key.as_str()
        ))),
        None => SaleTagsId::new(),
    }
}

/// Counts a sale's quick tags at a store the caller works (its owner, the team's managers,
/// admins). When the sale tips one of its tags into a spike in the store's region this week,
/// a `sale_tag_spiked` event is written once for that tag, region and week; rules take it
/// from there. A retry with the same `Idempotency-Key` counts nothing again.
#[tracing::instrument(name = "retail.tag_sale", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn tag_sale(
    state: &AppState,
    actor: &Actor,
    store: fieldline_domain::CustomerId,
    input: NewSaleTags,
    key: Option<IdempotencyKey>,
) -> Result<Created<SaleTags>, AppError> {
    let customer = load_live_customer(state, actor, store).await?;
    let tenant = load_tenant(state, &actor.tenant).await?;
    let policy = tenant.retail_policy();
    let now = state.clock.now();
    let region = customer
        .team
        .map_or_else(|| NO_REGION.to_owned(), |t| t.to_string());
    let sale = SaleTags::new(
        &input,
        sale_id(actor, &store.to_string(), key.as_ref()),
        &actor.tenant,
        store,
        region,
        actor.user,
        &policy.sale_tags,
        tenant.zone(),
        now,
    )?;
    if !state.retail.record_sale_tags(&sale).await? {
        return Ok(Created::Replayed(sale));
    }
    let week = Week::parse(&sale.week).expect("a week SaleTags::new named");
    for spike in spikes_of(state, &actor.tenant, &sale, week, &policy.spike).await? {
        let mut event = customer.event(
            actor,
            now,
            EventPayload::SaleTagSpiked {
                region: spike.region.clone(),
                week: spike.week.clone(),
                tag: spike.tag.clone(),
                count: spike.count,
                sales: spike.sales,
                share_permille: permille(spike.share),
                baseline_permille: permille(spike.baseline_share),
            },
        );
        // The event's id comes from the spike's key: however often the spike is announced,
        // rules and inboxes (which de-duplicate by event id) see one event.
        event.id = EventId::from_uuid(derived_uuid(&format!(
            "spike|{}|{}",
            actor.tenant,
            spike.key()
        )));
        let fresh = state
            .retail
            .announce_spike(&actor.tenant, &spike.key(), &[event])
            .await?;
        if fresh {
            tracing::info!(region = %spike.region, week = %spike.week, tag = %spike.tag, z = spike.z, "sale tag spike");
        }
    }
    Ok(Created::New(sale))
}

fn permille(share: f64) -> u32 {
    (share * 1000.0).round().clamp(0.0, 1000.0) as u32
}

/// The spikes this sale's tags are in, in its region and week.
async fn spikes_of(
    state: &AppState,
    tenant: &TenantId,
    sale: &SaleTags,
    week: Week,
    test: &SpikeTest,
) -> Result<Vec<Spike>, AppError> {
    let first = (0..test.baseline_weeks).fold(week, |w, _| w.previous());
    let counts = state
        .retail
        .sale_tag_counts(tenant, Some(&sale.region), &first.to_string(), &sale.week)
        .await?;
    Ok(find_spikes(&counts, week, test, Some(&sale.tags)))
}

/// The most weeks one report covers.
pub const MAX_REPORT_WEEKS: u32 = 26;

/// A region as the report names it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RegionName {
    /// The team's id, or `none`.
    pub region: String,
    pub name: String,
}

/// Quick sale tags by week and region, with the spikes of every week shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SaleTagReport {
    /// The weeks covered, oldest first (`2026-W48`, in the tenant's zone).
    pub weeks: Vec<String>,
    pub regions: Vec<RegionName>,
    /// Each region's weeks that had tagged sales.
    pub counts: Vec<RegionWeek>,
    /// Tags whose share rose significantly over the weeks before (see `test`).
    pub spikes: Vec<Spike>,
    pub test: SpikeTest,
}

/// The last `weeks` weeks (this one included) of the regions the caller oversees: admins
/// every region, a manager their team's. Reps get their own stores' tags through the stores.
pub async fn sale_tag_report(
    state: &AppState,
    actor: &Actor,
    weeks: u32,
) -> Result<SaleTagReport, AppError> {
    if !(1..=MAX_REPORT_WEEKS).contains(&weeks) {
        return Err(AppError::InvalidField {
            field: "weeks".into(),
            message: format!("1 to {MAX_REPORT_WEEKS}"),
        });
    }
    let region = match actor.lead_scope() {
        LeadScope::Tenant => None,
        LeadScope::Team(team) => Some(team.to_string()),
        LeadScope::Owner(_) | LeadScope::Pool => {
            return Err(AppError::Forbidden(
                "the store-tag report is for managers and admins".into(),
            ));
        }
    };
    let tenant = load_tenant(state, &actor.tenant).await?;
    let test = tenant.retail_policy().spike;
    let this_week = Week::of(state.clock.now(), tenant.zone());
    let shown: Vec<Week> = {
        let mut w: Vec<Week> = std::iter::successors(Some(this_week), |w| Some(w.previous()))
            .take(weeks as usize)
            .collect();
        w.reverse();
        w
    };
    // The baseline of the oldest week shown reaches back further.
    let first = (0..test.baseline_weeks).fold(shown[0], |w, _| w.previous());
    let counts = state
        .retail
        .sale_tag_counts(
            &actor.tenant,
            region.as_deref(),
            &first.to_string(),
            &this_week.to_string(),
        )
        .await?;
    let mut spikes: Vec<Spike> = shown
        .iter()
        .flat_map(|w| find_spikes(&counts, *w, &test, None))
        .collect();
    // Newest week first, then by region, the strongest first.
    spikes.sort_by(|a, b| {
        b.week
            .cmp(&a.week)
            .then_with(|| a.region.cmp(&b.region))
            .then_with(|| b.z.total_cmp(&a.z))
    });
    let rows = region_weeks(&counts, &shown);
    let teams = state.directory.list_teams(&actor.tenant).await?;
    let mut regions: Vec<RegionName> = rows
        .iter()
        .map(|r| r.region.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .map(|region| RegionName {
            name: teams
                .iter()
                .find(|t| t.id.to_string() == region)
                .map_or_else(|| region.clone(), |t| t.name.as_str().to_owned()),
            region,
        })
        .collect();
    regions.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(SaleTagReport {
        weeks: shown.iter().map(Week::to_string).collect(),
        regions,
        counts: rows,
        spikes,
        test,
    })
}

pub async fn retail_policy(state: &AppState, actor: &Actor) -> Result<RetailPolicy, AppError> {
    Ok(load_tenant(state, &actor.tenant).await?.retail_policy())
}

/// Replaces the tenant's retail policy (admins).
pub async fn set_retail_policy(
    state: &AppState,
    actor: &Actor,
    policy: RetailPolicy,
) -> Result<RetailPolicy, AppError> {
    actor.check(Permission::ManageCalendar)?;
    policy.validate()?;
    let mut tenant = load_tenant(state, &actor.tenant).await?;
    tenant.retail = Some(policy.clone());
    state.directory.update_tenant(&tenant).await?;
    Ok(policy)
}
