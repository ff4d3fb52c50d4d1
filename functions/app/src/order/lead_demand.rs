//! The replenishment plan's forecast, fitted ahead of time (`LeadDemand`). Fitting every
//! SKU × warehouse series of a large tenant takes minutes (a million orders: about two and a
//! half on two cores), far beyond an API request. The forecast reads complete weeks only, so
//! a fit made once the week has turned holds all week: `DemandRefits` makes it when the
//! tenant's first order event of a week comes through the outbox (the embedded server's own
//! loop; on AWS the stream's slow consumer) and stores it as a blob; the plan reads it and
//! applies it to the stock as it is at request time.
//!
//! The plan refits inline only what the stored fit cannot hold: none yet or one from another
//! week, calendar or lead time (the whole fit; a last week's fit that took long is applied
//! while the new one is made in the background), and SKUs whose reps' estimates changed since
//! (each SKU alone, which reads as it would among all of them). Orders imported into past
//! weeks change the history: their events make the job fit again.

use super::demand::{Only, current_origin, tenant_estimates, tenant_forecast};
use crate::error::AppError;
use crate::lead::load_tenant;
use crate::scheduler::EventHandler;
use crate::state::AppState;
use async_trait::async_trait;
use chrono::NaiveDate;
use fieldline_domain::demand::{LeadDemand, MAX_HORIZON_WEEKS};
use fieldline_domain::order::Code;
use fieldline_domain::{EventPayload, Subject, Tenant, TenantId, Timestamp};
use fieldline_store::{BlobKey, StoredEvent};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Where the fit is kept, relative to its tenant (not under `uploads/`: storing it is no
/// upload arriving).
const FIT_PATH: &str = "forecasts/lead-demand.json";
/// What the fit was made for, written after it: the job reads this, not the fit (which is
/// tens of megabytes for a large tenant).
const STAMP_PATH: &str = "forecasts/lead-demand-stamp.json";

/// How long the job trusts a tenant record it read (a changed calendar or lead time is
/// seen this late; the plan itself always reads the tenant).
const TENANT_TTL: Duration = Duration::from_secs(60);

/// A plan request waits for a new week's fit only if the last one took at most this long.
const WAIT_FOR_FIT: Duration = Duration::from_secs(5);

/// Orders imported up to this long before a fit started may still have been committing
/// while it read the history: their events make the job fit again.
const IMPORT_MARGIN: chrono::Duration = chrono::Duration::minutes(1);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Stamp {
    origin: NaiveDate,
    basis: String,
    fitted_at: Timestamp,
}

fn key(tenant: &TenantId, path: &str) -> BlobKey {
    BlobKey::parse(tenant.clone(), path).expect("constant blob paths are valid")
}

/// The tenant's replenishment lead time in weeks and the basis a fit must have now.
fn basis_of(tenant: &Tenant) -> (u32, String) {
    let lead = tenant
        .orders
        .clone()
        .unwrap_or_default()
        .replenish_lead_weeks
        .clamp(1, MAX_HORIZON_WEEKS);
    (lead, LeadDemand::basis(&tenant.calendar(), lead))
}

impl Stamp {
    fn of(fit: &LeadDemand) -> Stamp {
        Stamp {
            origin: fit.origin,
            basis: fit.basis.clone(),
            fitted_at: fit.fitted_at,
        }
    }
}

/// Fits every series of the tenant over its lead time from all of its history and stores
/// the fit (then its stamp).
pub async fn refit(state: &AppState, tenant: &TenantId) -> Result<LeadDemand, AppError> {
    fit_tenant(state, &load_tenant(state, tenant).await?).await
}

/// `refit` for a tenant record already read.
async fn fit_tenant(state: &AppState, tenant: &Tenant) -> Result<LeadDemand, AppError> {
    let fitted_at = state.clock.now();
    let origin = current_origin(state, tenant);
    let (lead, basis) = basis_of(tenant);
    let estimates = tenant_estimates(state, tenant, origin).await?;
    let every = Only::default();
    let took = Instant::now();
    let forecast = tenant_forecast(state, tenant, (lead, 1), every, &estimates).await?;
    let mut fit = LeadDemand::from_forecast(&forecast, basis, fitted_at, &estimates);
    fit.fit_millis = took.elapsed().as_millis() as u64;
    store(state, &tenant.id, &fit).await?;
    let stamp = serde_json::to_vec(&Stamp::of(&fit)).expect("a stamp serializes");
    state
        .blobs
        .put(&key(&tenant.id, STAMP_PATH), stamp, "application/json")
        .await?;
    tracing::info!(tenant = %tenant.id, series = fit.series.len(), %origin, "lead-time demand fitted");
    Ok(fit)
}

/// Stores `fit` as the tenant's (the stamp the job reads is left as it is).
pub async fn store(state: &AppState, tenant: &TenantId, fit: &LeadDemand) -> Result<(), AppError> {
    let bytes = serde_json::to_vec(fit).expect("a fit serializes");
    state
        .blobs
        .put(&key(tenant, FIT_PATH), bytes, "application/json")
        .await?;
    Ok(())
}

/// The stored fit; `None` when there is none or it cannot be read (written by an older
/// version, say): it is fitted again.
pub async fn stored(state: &AppState, tenant: &TenantId) -> Result<Option<LeadDemand>, AppError> {
    let Some((bytes, _)) = state.blobs.get(&key(tenant, FIT_PATH)).await? else {
        return Ok(None);
    };
    match serde_json::from_slice(&bytes) {
        Ok(fit) => Ok(Some(fit)),
        Err(e) => {
            tracing::warn!(%tenant, error = %e, "stored lead-time demand unreadable; refitting");
            Ok(None)
        }
    }
}

/// Fits the tenant again on a task of its own, unless this process is already doing so.
fn refit_in_background(state: &AppState, tenant: &Tenant) {
    let mut running = state.fits_running.lock().expect("not poisoned");
    if !running.insert(tenant.id.clone()) {
        return;
    }
    let (state, tenant) = (state.clone(), tenant.clone());
    tokio::spawn(async move {
        if let Err(e) = fit_tenant(&state, &tenant).await {
            let error = crate::error::chain(&e);
            tracing::warn!(tenant = %tenant.id, error, "background fit failed");
        }
        state
            .fits_running
            .lock()
            .expect("not poisoned")
            .remove(&tenant.id);
    });
}

/// The fit the plan applies now: the stored one if it holds this week, else a new one; with
/// the SKUs whose estimates changed since fitted again on their own (and stored back). A
/// last week's fit that took longer than `WAIT_FOR_FIT` is applied as it is while a new one is
/// made in the background (the job normally has it ready: this is a read before the week's
/// first order); the plan says which week its forecast is from.
pub(super) async fn current(state: &AppState, tenant: &TenantId) -> Result<LeadDemand, AppError> {
    let record = load_tenant(state, tenant).await?;
    let origin = current_origin(state, &record);
    let (lead, basis) = basis_of(&record);
    let mut fit = match stored(state, tenant).await? {
        Some(fit) if fit.holds_for(origin, &basis) => fit,
        Some(fit) if fit.basis == basis && fit.fit_millis > WAIT_FOR_FIT.as_millis() as u64 => {
            refit_in_background(state, &record);
            return Ok(fit);
        }
        _ => return fit_tenant(state, &record).await,
    };
    let estimates = tenant_estimates(state, &record, origin).await?;
    let changed = fit.estimates_changed(&estimates);
    if changed.is_empty() {
        return Ok(fit);
    }
    for sku in &changed {
        let only = Only {
            sku: Some(Code::parse(sku, "sku")?),
            ..Only::default()
        };
        let forecast = tenant_forecast(state, &record, (lead, 1), only, &estimates).await?;
        fit.replace(Some(sku), &forecast, &estimates);
    }
    // A fit for the next week stored meanwhile is overwritten by this one; the next read
    // finds it from another week and fits again.
    store(state, tenant, &fit).await?;
    Ok(fit)
}

/// What the job last knew of a tenant.
struct Known {
    tenant: Tenant,
    read: Instant,
    stamp: Option<Stamp>,
}

/// Keeps every ordering tenant's fit current: on an order or purchase event, fits again when
/// the stored fit is from an earlier week or another calendar or lead time, or when the event
/// is an imported one (history changed) the fit may not have seen. Redelivered events find the
/// fit current and do nothing.
pub struct DemandRefits {
    state: AppState,
    known: Mutex<HashMap<TenantId, Known>>,
}

impl DemandRefits {
    pub fn new(state: AppState) -> Self {
        Self {
            state,
            known: Mutex::new(HashMap::new()),
        }
    }

    /// Fits the tenant again if its stored fit does not hold now or may have missed an
    /// order imported at `imported_at`. Returns whether it did.
    pub async fn refresh(
        &self,
        tenant: &TenantId,
        imported_at: Option<Timestamp>,
    ) -> Result<bool, AppError> {
        let cached = {
            let known = self.known.lock().expect("not poisoned");
            known
                .get(tenant)
                .filter(|k| k.read.elapsed() < TENANT_TTL)
                .map(|k| (k.tenant.clone(), k.read, k.stamp.clone()))
        };
        let (record, read, stamp) = match cached {
            Some(cached) => cached,
            None => {
                let read = Instant::now();
                let record = load_tenant(&self.state, tenant).await?;
                let stamp = match self.state.blobs.get(&key(tenant, STAMP_PATH)).await? {
                    Some((bytes, _)) => serde_json::from_slice::<Stamp>(&bytes).ok(),
                    None => None,
                };
                (record, read, stamp)
            }
        };
        let origin = current_origin(&self.state, &record);
        let (_, basis) = basis_of(&record);
        let holds = stamp.as_ref().is_some_and(|s| {
            s.origin == origin
                && s.basis == basis
                && imported_at.is_none_or(|at| at < s.fitted_at - IMPORT_MARGIN)
        });
        let stamp = if holds {
            stamp
        } else {
            // A fresh tenant record: the cached one may be up to `TENANT_TTL` old.
            Some(Stamp::of(&refit(&self.state, tenant).await?))
        };
        let known = Known {
            tenant: record,
            read,
            stamp,
        };
        self.known
            .lock()
            .expect("not poisoned")
            .insert(tenant.clone(), known);
        Ok(!holds)
    }
}

#[async_trait]
impl EventHandler for DemandRefits {
    fn name(&self) -> &str {
        "demand_refits"
    }

    #[tracing::instrument(name = "demand_refit", skip_all, fields(event = %stored.event.id))]
    async fn handle(&self, stored: &StoredEvent) -> anyhow::Result<()> {
        let event = &stored.event;
        // Orders' own events, and purchases: an imported historic order is written with
        // the purchase it adds to its customer as its only event.
        let ordering = matches!(event.subject, Subject::Order(_))
            || matches!(event.payload, EventPayload::PurchaseRecorded { .. });
        if !ordering {
            return Ok(());
        }
        let imported_at = event.imported.then_some(event.occurred_at);
        self.refresh(&event.tenant, imported_at).await?;
        Ok(())
    }
}
