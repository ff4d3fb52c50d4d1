//! Stock signals (seeds 003 and 004): locations on the map, the channel circuit breaker and
//! the imbalance a director looks at.
//!
//! The breaker of a SKU at a location trips when its available units fall below the SKU's
//! safety stock: from then on no new order for it is reserved there, whatever the channel,
//! because the check is part of the reservation's own condition (`StockMove::min_available`)
//! rather than a flag read beforehand. A manager may override it (orders go through down to
//! the last unit) and roll the override back; both are kept in the breaker's history.

use crate::error::DomainError;
use crate::id::{TenantId, UserId};
use crate::order::{Code, StockLevel};
use crate::visit::distance_m;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The most entries a breaker's history keeps (oldest dropped first).
pub const KEPT_BREAKER_STEPS: usize = 50;

/// A stock location as an admin describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LocationInput {
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 100,
            pattern = r"[^\s]",
            example = "上海浦东仓"
        )
    )]
    pub name: String,
    /// WGS-84.
    #[cfg_attr(feature = "openapi", schema(minimum = -90.0, maximum = 90.0))]
    pub lat: f64,
    #[cfg_attr(feature = "openapi", schema(minimum = -180.0, maximum = 180.0))]
    pub lon: f64,
}

/// A warehouse or store room that holds stock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Location {
    pub tenant: TenantId,
    pub code: Code,
    pub name: String,
    pub lat: f64,
    pub lon: f64,
    pub updated_at: DateTime<Utc>,
}

impl Location {
    pub fn new(
        tenant: &TenantId,
        code: Code,
        input: &LocationInput,
        now: DateTime<Utc>,
    ) -> Result<Location, DomainError> {
        let name = input.name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(DomainError::invalid("name", "1-100 characters"));
        }
        let ok = input.lat.is_finite()
            && input.lon.is_finite()
            && (-90.0..=90.0).contains(&input.lat)
            && (-180.0..=180.0).contains(&input.lon);
        if !ok {
            return Err(DomainError::invalid(
                "lat",
                "lat within ±90, lon within ±180",
            ));
        }
        Ok(Location {
            tenant: tenant.clone(),
            code,
            name: name.to_owned(),
            lat: input.lat,
            lon: input.lon,
            updated_at: now,
        })
    }
}

/// What a manager did to a breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum BreakerAction {
    /// Let orders through although stock is below the safety level.
    Override,
    /// Undo the override: the breaker guards again.
    Rollback,
}

/// One audited change, with the stock it was made at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BreakerStep {
    pub at: DateTime<Utc>,
    pub by: UserId,
    pub action: BreakerAction,
    pub reason: String,
    pub available: i64,
    pub threshold: u64,
}

/// The manual state of one SKU's breaker at one location; its automatic state follows the
/// stock (`breaker_state`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Breaker {
    pub tenant: TenantId,
    pub sku: Code,
    pub location: Code,
    pub overridden: bool,
    /// Oldest first, at most `KEPT_BREAKER_STEPS`.
    pub history: Vec<BreakerStep>,
    pub version: u64,
}

impl Breaker {
    pub fn new(tenant: &TenantId, sku: Code, location: Code) -> Breaker {
        Breaker {
            tenant: tenant.clone(),
            sku,
            location,
            overridden: false,
            history: vec![],
            version: 0,
        }
    }

    /// Records `action`; refused when it changes nothing (overriding an overridden breaker).
    pub fn apply(
        &mut self,
        action: BreakerAction,
        by: UserId,
        reason: &str,
        level: Option<&StockLevel>,
        threshold: u64,
        now: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 500 {
            return Err(DomainError::invalid("reason", "1-500 characters"));
        }
        let overridden = action == BreakerAction::Override;
        if overridden == self.overridden {
            return Err(DomainError::Conflict(format!(
                "the breaker of {} at {} is {} already",
                self.sku,
                self.location,
                if overridden {
                    "overridden"
                } else {
                    "not overridden"
                }
            )));
        }
        self.overridden = overridden;
        self.history.push(BreakerStep {
            at: now,
            by,
            action,
            reason: reason.to_owned(),
            available: level.map_or(0, |l| l.available),
            threshold,
        });
        if self.history.len() > KEPT_BREAKER_STEPS {
            self.history.remove(0);
        }
        self.version += 1;
        Ok(())
    }
}

/// Where a SKU's breaker at a location stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum BreakerState {
    /// At or above the safety stock: orders go through.
    Closed,
    /// Below it: new orders are paused on every channel.
    Tripped,
    /// Below it, but a manager lets orders through.
    Overridden,
}

pub fn breaker_state(available: i64, threshold: u64, overridden: bool) -> BreakerState {
    if available >= threshold as i64 {
        BreakerState::Closed
    } else if overridden {
        BreakerState::Overridden
    } else {
        BreakerState::Tripped
    }
}

/// The units a reservation needs available before it takes any: the safety stock while the
/// breaker guards (so a tripped breaker refuses every order there), nothing extra once a
/// manager has overridden it.
pub fn reserve_floor(threshold: u64, overridden: bool) -> i64 {
    if overridden { 0 } else { threshold as i64 }
}

/// Another location that could serve a paused line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reallocation {
    pub location: Code,
    pub available: i64,
    /// Great-circle distance from the paused location; `None` when either is not mapped.
    pub distance_km: Option<f64>,
}

/// Locations that can serve `quantity` while staying at or above the safety stock, nearest
/// first (unmapped ones last, by most available).
pub fn reallocations(
    from: &Code,
    quantity: u64,
    threshold: u64,
    levels: &[StockLevel],
    locations: &[Location],
) -> Vec<Reallocation> {
    let at = |code: &Code| locations.iter().find(|l| &l.code == code);
    let origin = at(from);
    let mut out: Vec<Reallocation> = levels
        .iter()
        .filter(|l| &l.location != from)
        .filter(|l| l.available - quantity as i64 >= threshold as i64)
        .map(|l| Reallocation {
            location: l.location.clone(),
            available: l.available,
            distance_km: match (origin, at(&l.location)) {
                (Some(a), Some(b)) => {
                    Some((distance_m((a.lat, a.lon), (b.lat, b.lon)) / 100.0).round() / 10.0)
                }
                _ => None,
            },
        })
        .collect();
    out.sort_by(|a, b| match (a.distance_km, b.distance_km) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => b.available.cmp(&a.available),
    });
    out
}

/// An order line holding stock where the SKU's breaker has tripped.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldLine {
    pub order: crate::id::OrderId,
    pub customer: crate::id::CustomerId,
    /// The customer's purchases over the grading window, in minor units.
    pub customer_value: u64,
    pub ordered_at: DateTime<Utc>,
    pub sku: Code,
    pub location: Code,
    pub quantity: u64,
}

/// Where a held line could be served from instead (seed 004).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PendingReallocation {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub order: crate::id::OrderId,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub customer: crate::id::CustomerId,
    pub customer_value: u64,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub sku: Code,
    /// The tripped location the line holds stock at.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub from: Code,
    pub quantity: u64,
    /// The nearest location that can still take the line after the lines ranked before it;
    /// `None` when no location can (buy, or wait for the next delivery).
    pub suggested: Option<Reallocation>,
    /// Every location that could take it on its own, nearest first.
    pub alternatives: Vec<Reallocation>,
}

/// Suggestions for the held lines at tripped locations: lines of more valuable customers
/// first (then older orders), each to the nearest location that keeps its safety stock after
/// the lines before it took their share. `levels` are every location's stock of the lines'
/// SKUs, `safety` a SKU's safety stock.
pub fn plan_reallocations(
    lines: &[HeldLine],
    levels: &[StockLevel],
    safety: impl Fn(&Code) -> u64,
    locations: &[Location],
) -> Vec<PendingReallocation> {
    let mut ranked: Vec<&HeldLine> = lines.iter().collect();
    ranked.sort_by(|a, b| {
        b.customer_value
            .cmp(&a.customer_value)
            .then(a.ordered_at.cmp(&b.ordered_at))
            .then(a.order.cmp(&b.order))
    });
    // What each location can still give as suggestions take their share.
    let mut left: Vec<StockLevel> = levels.to_vec();
    ranked
        .into_iter()
        .map(|line| {
            let threshold = safety(&line.sku);
            let of_sku = |all: &[StockLevel]| -> Vec<StockLevel> {
                all.iter().filter(|l| l.sku == line.sku).cloned().collect()
            };
            let alternatives = reallocations(
                &line.location,
                line.quantity,
                threshold,
                &of_sku(levels),
                locations,
            );
            let suggested = reallocations(
                &line.location,
                line.quantity,
                threshold,
                &of_sku(&left),
                locations,
            )
            .into_iter()
            .next();
            if let Some(to) = &suggested
                && let Some(l) = left
                    .iter_mut()
                    .find(|l| l.sku == line.sku && l.location == to.location)
            {
                l.available -= line.quantity as i64;
            }
            PendingReallocation {
                order: line.order,
                customer: line.customer,
                customer_value: line.customer_value,
                sku: line.sku.clone(),
                from: line.location.clone(),
                quantity: line.quantity,
                suggested,
                alternatives,
            }
        })
        .collect()
}

/// Spare units moved from another location.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Transfer {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub from: Code,
    pub quantity: u64,
    pub distance_km: Option<f64>,
}

/// A SKU at a location at or below its reorder point (seed 003): a suggestion for the
/// director and purchasing, moving spare stock first and buying the rest.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Replenishment {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub sku: Code,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub location: Code,
    pub available: i64,
    pub safety_stock: u64,
    /// Forecast demand over the replenishment lead time.
    pub lead_time_demand: f64,
    /// Safety stock plus lead-time demand: at or below it, replenish.
    pub reorder_point: f64,
    /// Units to bring the location up to its reorder point plus one more lead time's demand.
    pub suggested: u64,
    /// Spare units elsewhere (above their own reorder point), nearest first.
    pub transfers: Vec<Transfer>,
    /// What is left to buy.
    pub purchase: u64,
}

/// Replenishment for every location of `sku` at or below its reorder point (safety stock +
/// forecast demand over the lead time; order-up-to one lead time beyond it). `demand` is each
/// location's forecast demand over the lead time.
pub fn replenishments(
    sku: &crate::order::Sku,
    levels: &[StockLevel],
    demand: impl Fn(&Code) -> f64,
    locations: &[Location],
) -> Vec<Replenishment> {
    let safety = sku.safety_stock as f64;
    let reorder = |l: &StockLevel| safety + demand(&l.location);
    let mut spare: Vec<(Code, f64)> = levels
        .iter()
        .filter(|l| l.sku == sku.code)
        .map(|l| {
            (
                l.location.clone(),
                (l.available as f64 - reorder(l)).floor().max(0.0),
            )
        })
        .collect();
    let mut out = Vec::new();
    for level in levels.iter().filter(|l| l.sku == sku.code) {
        let point = reorder(level);
        if level.available as f64 > point {
            continue;
        }
        let lead = demand(&level.location);
        let mut needed = (point + lead - level.available as f64).ceil().max(0.0) as u64;
        let suggested = needed;
        let mut transfers = Vec::new();
        let nearest = reallocations(&level.location, 0, 0, levels, locations);
        for candidate in nearest.iter().filter(|c| c.location != level.location) {
            if needed == 0 {
                break;
            }
            let Some(entry) = spare.iter_mut().find(|(c, _)| c == &candidate.location) else {
                continue;
            };
            let take = (entry.1 as u64).min(needed);
            if take > 0 {
                entry.1 -= take as f64;
                needed -= take;
                transfers.push(Transfer {
                    from: candidate.location.clone(),
                    quantity: take,
                    distance_km: candidate.distance_km,
                });
            }
        }
        out.push(Replenishment {
            sku: sku.code.clone(),
            location: level.location.clone(),
            available: level.available,
            safety_stock: sku.safety_stock,
            lead_time_demand: lead,
            reorder_point: point,
            suggested,
            transfers,
            purchase: needed,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn code(c: &str) -> Code {
        Code::parse(c, "code").unwrap()
    }

    fn level(loc: &str, available: i64) -> StockLevel {
        StockLevel {
            sku: code("A"),
            location: code(loc),
            on_hand: available,
            reserved: 0,
            available,
        }
    }

    fn place(c: &str, lat: f64, lon: f64) -> Location {
        Location::new(
            &TenantId::parse("acme").unwrap(),
            code(c),
            &LocationInput {
                name: c.into(),
                lat,
                lon,
            },
            Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn the_breaker_trips_below_the_safety_stock_unless_overridden() {
        assert_eq!(breaker_state(20, 20, false), BreakerState::Closed);
        assert_eq!(breaker_state(19, 20, false), BreakerState::Tripped);
        assert_eq!(breaker_state(19, 20, true), BreakerState::Overridden);
        assert_eq!(reserve_floor(20, false), 20);
        assert_eq!(reserve_floor(20, true), 0);
    }

    #[test]
    fn overrides_and_rollbacks_are_audited_and_never_repeated() {
        let now = Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap();
        let mut b = Breaker::new(&TenantId::parse("acme").unwrap(), code("A"), code("SH"));
        let by = UserId::new();
        let l = level("SH", 3);
        b.apply(BreakerAction::Override, by, "大客户急单", Some(&l), 20, now)
            .unwrap();
        assert!(b.overridden);
        assert!(matches!(
            b.apply(BreakerAction::Override, by, "again", Some(&l), 20, now),
            Err(DomainError::Conflict(_))
        ));
        b.apply(BreakerAction::Rollback, by, "补货未到", Some(&l), 20, now)
            .unwrap();
        assert_eq!(b.history.len(), 2);
        assert_eq!(b.history[0].available, 3);
        assert_eq!(b.version, 2);
    }

    #[test]
    fn held_lines_of_valuable_customers_get_the_nearest_spare_stock_first() {
        let places = [
            place("SH", 31.23, 121.47),
            place("SZ", 31.30, 120.58),
            place("BJ", 39.90, 116.40),
        ];
        // Suzhou can spare 15 units above its safety stock of 20, Beijing 480.
        let levels = [level("SH", 5), level("SZ", 35), level("BJ", 500)];
        let at = |h| Utc.with_ymd_and_hms(2026, 11, 2, h, 0, 0).unwrap();
        let held = |value, hour, quantity| HeldLine {
            order: crate::id::OrderId::new(),
            customer: crate::id::CustomerId::new(),
            customer_value: value,
            ordered_at: at(hour),
            sku: code("A"),
            location: code("SH"),
            quantity,
        };
        let small = held(1_000, 1, 10);
        let big = held(900_000, 3, 10);
        let older_small = held(1_000, 0, 4);
        let plan = plan_reallocations(
            &[small.clone(), big.clone(), older_small.clone()],
            &levels,
            |_| 20,
            &places,
        );
        let got: Vec<(crate::id::OrderId, Option<&str>)> = plan
            .iter()
            .map(|p| (p.order, p.suggested.as_ref().map(|r| r.location.as_str())))
            .collect();
        // The valuable customer takes Suzhou's spare (35 → 25); the older small order's 4
        // units still fit there (25 → 21); the last 10 would leave Suzhou below 20: Beijing.
        assert_eq!(
            got,
            [
                (big.order, Some("SZ")),
                (older_small.order, Some("SZ")),
                (small.order, Some("BJ"))
            ]
        );
        assert_eq!(
            plan[2]
                .alternatives
                .iter()
                .map(|r| r.location.as_str())
                .collect::<Vec<_>>(),
            ["SZ", "BJ"],
            "on its own it would fit the nearest"
        );
        let none = plan_reallocations(&[held(1, 0, 1_000)], &levels, |_| 20, &places);
        assert_eq!(none[0].suggested, None, "nowhere can take 1,000");
    }

    #[test]
    fn reallocation_prefers_the_nearest_location_that_stays_safe() {
        let places = [
            place("SH", 31.23, 121.47),
            place("SZ", 31.30, 120.58),
            place("BJ", 39.90, 116.40),
        ];
        let levels = [
            level("SH", 2),
            level("SZ", 25),
            level("BJ", 500),
            level("XX", 900),
        ];
        let out = reallocations(&code("SH"), 10, 20, &levels, &places);
        let order: Vec<&str> = out.iter().map(|r| r.location.as_str()).collect();
        // Suzhou would fall to 15 (< 20): left out. Beijing is mapped, XX is not.
        assert_eq!(order, ["BJ", "XX"]);
        assert!((1000.0..1200.0).contains(&out[0].distance_km.unwrap()));
    }

    #[test]
    fn replenishment_moves_spare_stock_from_the_nearest_first_and_buys_the_rest() {
        let sku = crate::order::Sku::new(
            &TenantId::parse("acme").unwrap(),
            code("A"),
            &crate::order::SkuInput {
                name: "润滑油".into(),
                unit_price: 100,
                floor_price: 80,
                currency: "CNY".into(),
                safety_stock: 20,
            },
            Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap(),
        )
        .unwrap();
        let places = [
            place("SH", 31.23, 121.47),
            place("SZ", 31.30, 120.58),
            place("BJ", 39.90, 116.40),
        ];
        // 15 units of demand expected everywhere over the lead time: reorder point 35.
        let levels = [
            level("SH", 10),
            level("SZ", 50),
            level("BJ", 60),
            level("GZ", 36),
        ];
        let out = replenishments(&sku, &levels, |_| 15.0, &places);
        assert_eq!(out.len(), 1, "only Shanghai is at or below 35: {out:?}");
        let r = &out[0];
        assert_eq!((r.location.as_str(), r.reorder_point), ("SH", 35.0));
        // Up to 35 + 15 = 50 from 10: 40 units; Suzhou spares 15, Beijing 25, nothing to buy.
        assert_eq!(r.suggested, 40);
        let moves: Vec<(&str, u64)> = r
            .transfers
            .iter()
            .map(|t| (t.from.as_str(), t.quantity))
            .collect();
        assert_eq!(moves, [("SZ", 15), ("BJ", 25)]);
        assert_eq!(r.purchase, 0);

        // With more demand nobody has spare stock: all of it is bought.
        let out = replenishments(&sku, &levels, |_| 40.0, &places);
        let sh = out.iter().find(|r| r.location.as_str() == "SH").unwrap();
        assert_eq!((sh.suggested, sh.purchase), (90, 90));
        assert!(sh.transfers.is_empty());
        assert_eq!(out.len(), 4, "everyone is at or below 60 now");
    }
}
