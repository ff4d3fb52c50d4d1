//! Weekly demand per SKU × region (the warehouse an order ships from), forecast from the
//! tenant's order history, and a rolling-origin backtest that says how far to trust it.
//!
//! The method is classical decomposition plus exponential smoothing, each step small enough to
//! check by hand:
//!
//! 1. **Calendar.** Orders are placed on working days, so a week's demand scales with the
//!    tenant calendar's working days (holidays remove days, 调休 make-up days add them), and the
//!    week before a long holiday stocks up. Both effects are fitted once per tenant by weighted
//!    least squares on its weekly totals' ratio to their normal neighbouring weeks:
//!    `c = ((1 − γ) + γ·days/normal_days) · (1 + u·[a long holiday follows])`.
//! 2. **Season.** Month-of-year indices per SKU, pooled over its regions (a region's own year
//!    or two is too noisy), from ratios to a centred 13-week moving average, shrunk toward 1 and
//!    only once a year of history exists.
//! 3. **Level and trend.** Damped-trend exponential smoothing, ETS(A,Ad,N) (Gardner &
//!    McKenzie), on the calendar- and season-adjusted series; α, β, φ chosen on a grid by
//!    one-step squared error. The h-week interval uses that model's variance
//!    `σ²·(1 + Σ_{j<h} (α + αβφ_j)²)` (Hyndman et al. 2008, table 6.1), then the calendar and
//!    season factors of the target week.
//! 4. **Reps' estimates.** Where a rep has estimated a week, forecast and estimate are combined
//!    with Bates–Granger weights: each weighted by the other's mean squared error, the rep's
//!    measured on weeks already past (shrunk toward the model's when there are few).
//!
//! The backtest refits everything from the history before each origin, forecasts the next
//! `horizon` weeks and scores them against what was ordered: WAPE, bias, interval coverage, and
//! skill against the seasonal naive forecast (the same week a year earlier).

use crate::calendar::BusinessCalendar;
use crate::id::UserId;
use crate::order::{Code, Order, OrderStatus};
use crate::retail::Week;
use crate::{DomainError, TenantId, Timestamp};
use chrono::{Datelike, Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// z for a two-sided 80 % interval.
const Z80: f64 = 1.2816;
/// Weeks of history a series needs before the backtest forecasts from it.
const MIN_TRAIN_WEEKS: usize = 26;
/// Weeks of history before month-of-year indices are estimated at all.
const SEASON_MIN_WEEKS: usize = 60;
/// Pseudo-observations of "index 1" each monthly index is shrunk with.
const SEASON_PRIOR: f64 = 4.0;
/// Pseudo-observations of "as good as the model" a rep's error is shrunk with.
const REP_PRIOR: f64 = 2.0;
pub const MAX_HORIZON_WEEKS: u32 = 26;

/// Demand: what was ordered of a SKU at a warehouse on a day (tenant's time zone), or in
/// the week starting on that Monday (the demand history keeps weekly totals).
#[derive(Debug, Clone, PartialEq)]
pub struct DemandPoint {
    pub day: NaiveDate,
    pub sku: Code,
    pub region: Code,
    pub quantity: u64,
}

/// What a submitted order adds to the weekly demand history: each line in the week the order
/// was created (tenant's zone) at its warehouse; nothing for a draft never submitted. The
/// history takes it once, on submission: cancelled later, it still counts (the customer
/// wanted it); moved later to another warehouse, it stays where the demand arose, so a
/// stock-out that sends orders elsewhere does not hide it.
pub fn order_demand(order: &Order, zone: chrono_tz::Tz) -> Vec<DemandPoint> {
    if !order
        .history
        .iter()
        .any(|s| s.status == OrderStatus::Submitted)
    {
        return Vec::new();
    }
    let week = Week::of(order.created_at, zone).monday();
    let mut out: Vec<DemandPoint> = Vec::with_capacity(order.lines.len());
    for line in order.lines.iter().filter(|l| l.quantity > 0) {
        match out.iter_mut().find(|p| p.sku == line.sku) {
            Some(p) => p.quantity += line.quantity,
            None => out.push(DemandPoint {
                day: week,
                sku: line.sku.clone(),
                region: order.location.clone(),
                quantity: line.quantity,
            }),
        }
    }
    out
}

/// What a rep expects to sell of a SKU in a region in one week.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EstimateInput {
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "LUB-18L"))]
    pub sku: Code,
    /// The warehouse the demand ships from.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "WH-SH"))]
    pub region: Code,
    /// The Monday the week starts on.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "2026-12-07"))]
    pub week: NaiveDate,
    #[cfg_attr(feature = "openapi", schema(maximum = 1_000_000_000))]
    pub quantity: u64,
}

/// A rep's estimate as stored: the latest one per rep, SKU, region and week counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DemandEstimate {
    pub tenant: TenantId,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub sku: Code,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub region: Code,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub week: NaiveDate,
    pub quantity: u64,
    pub by: UserId,
    pub at: chrono::DateTime<chrono::Utc>,
}

impl DemandEstimate {
    pub fn new(
        tenant: &TenantId,
        input: EstimateInput,
        by: UserId,
        at: Timestamp,
    ) -> Result<DemandEstimate, DomainError> {
        if input.week.weekday() != chrono::Weekday::Mon {
            return Err(DomainError::invalid("week", "the Monday a week starts on"));
        }
        if input.quantity > 1_000_000_000 {
            return Err(DomainError::invalid("quantity", "at most 1,000,000,000"));
        }
        Ok(DemandEstimate {
            tenant: tenant.clone(),
            sku: input.sku,
            region: input.region,
            week: input.week,
            quantity: input.quantity,
            by,
            at,
        })
    }
}

/// The fitted calendar effects, for the report.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CalendarEffect {
    /// γ: 1 when demand is proportional to working days, 0 when holidays do not matter.
    pub working_day_weight: f64,
    /// u: the extra share ordered in the week before a long holiday.
    pub pre_holiday_uplift: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Smoothing {
    pub alpha: f64,
    pub beta: f64,
    pub phi: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WeekForecast {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub week: NaiveDate,
    pub working_days: u32,
    /// The model's forecast and its 80 % interval.
    pub model: f64,
    pub lower: f64,
    pub upper: f64,
    /// The model blended with the reps' estimate where there is one, else the model.
    pub forecast: f64,
    /// Sum of the reps' latest estimates for the week, and the weight they got.
    pub rep_estimate: Option<u64>,
    pub rep_weight: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SeriesForecast {
    pub sku: String,
    pub region: String,
    /// Weeks since the first order of this SKU in this region.
    pub history_weeks: u32,
    pub total_ordered: u64,
    pub smoothing: Smoothing,
    pub weeks: Vec<WeekForecast>,
    /// This series' backtest WAPE (absent without enough history or with no demand).
    pub backtest_wape: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Score {
    /// Forecast points scored, and what was actually ordered over them.
    pub points: u64,
    pub actual: f64,
    /// Σ|forecast − actual| / Σ actual.
    pub wape: Option<f64>,
    /// Σ(forecast − actual) / Σ actual: above zero over-forecasts.
    pub bias: Option<f64>,
    /// The same for the seasonal naive forecast, on the same points.
    pub seasonal_naive_wape: Option<f64>,
    /// 1 − wape / seasonal_naive_wape: above zero beats the baseline.
    pub skill: Option<f64>,
    /// Share of actuals inside the 80 % interval.
    pub interval_coverage: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HorizonScore {
    pub horizon: u32,
    #[serde(flatten)]
    pub score: Score,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DemandBacktest {
    /// The forecast origins, the Mondays the history was cut at.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub origins: Vec<NaiveDate>,
    pub horizon_weeks: u32,
    pub overall: Score,
    pub by_horizon: Vec<HorizonScore>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DemandForecast {
    /// The first forecast week (the Monday of the current week: it is not complete yet).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub origin: NaiveDate,
    pub horizon_weeks: u32,
    pub interval: f64,
    pub method: String,
    pub calendar_effect: CalendarEffect,
    /// The series asked for, largest first, at most `limit`; `series_total` counts them all.
    pub series: Vec<SeriesForecast>,
    pub series_total: u32,
    pub backtest: DemandBacktest,
}

/// What to forecast.
#[derive(Debug, Clone)]
pub struct DemandRequest {
    /// The first week to forecast: history is every complete week before it.
    pub origin: NaiveDate,
    pub horizon: u32,
    /// How many past origins the backtest uses (the weeks before `origin`).
    pub backtest_origins: u32,
    /// At most this many series are forecast and backtested: the largest by what was ordered
    /// of those `sku` and `region` keep (the fit is what costs; a tenant may have a million).
    pub max_series: usize,
    /// Only this SKU's / region's series are forecast and backtested. The calendar effect
    /// comes from the tenant's weekly totals and a SKU's season from all of its regions, so
    /// a series reads the same asked for alone or with all the others.
    pub sku: Option<String>,
    pub region: Option<String>,
    /// The tenant's weekly demand totals (Monday, quantity), when `points` hold only some of
    /// its SKUs (each of them with all of its regions); `None`: `points` are all of it.
    pub totals: Option<Vec<(NaiveDate, u64)>>,
}

/// Weekly history on one week grid shared by every series, with the calendar of each week.
struct Grid {
    first: NaiveDate,
    /// Working days per week, history and horizon.
    days: Vec<u32>,
    normal_days: f64,
}

impl Grid {
    fn new(cal: &BusinessCalendar, first: NaiveDate, weeks: usize) -> Grid {
        let days = (0..weeks)
            .map(|w| {
                let monday = first + Duration::weeks(w as i64);
                (0..7)
                    .filter(|d| cal.is_working_day(monday + Duration::days(*d)))
                    .count() as u32
            })
            .collect();
        let mut weekdays = cal.working_days.clone();
        weekdays.sort_unstable();
        weekdays.dedup();
        Grid {
            first,
            days,
            normal_days: weekdays.len().max(1) as f64,
        }
    }

    fn monday(&self, w: usize) -> NaiveDate {
        self.first + Duration::weeks(w as i64)
    }

    fn ratio(&self, w: usize) -> f64 {
        f64::from(self.days[w]) / self.normal_days
    }

    /// A normal week followed by one that loses two or more working days.
    fn before_holiday(&self, w: usize) -> bool {
        let normal = self.ratio(w) >= 1.0 - 0.5 / self.normal_days;
        normal
            && self
                .days
                .get(w + 1)
                .is_some_and(|&next| f64::from(next) <= self.normal_days - 2.0)
    }

    fn is_plain(&self, w: usize) -> bool {
        (self.ratio(w) - 1.0).abs() < 1e-9 && !self.before_holiday(w)
    }

    fn factor(&self, effect: &CalendarEffect, w: usize) -> f64 {
        let g = effect.working_day_weight;
        let days = ((1.0 - g) + g * self.ratio(w)).max(0.05);
        let pre = if self.before_holiday(w) {
            1.0 + effect.pre_holiday_uplift
        } else {
            1.0
        };
        days * pre
    }
}

/// One SKU × region: weekly quantities on the grid, from its first order's week.
struct Series {
    sku: String,
    region: String,
    start: usize,
    qty: Vec<f64>,
}

/// A week's ratio to the mean of its plain neighbours (two either side, at least two of them),
/// with the neighbours' mean as the sample's weight.
fn neighbour_ratio(grid: &Grid, s: &Series, w: usize, stop: usize) -> Option<(f64, f64)> {
    let neighbours: Vec<f64> = [w.wrapping_sub(2), w.wrapping_sub(1), w + 1, w + 2]
        .into_iter()
        .filter(|&n| n >= s.start && n < stop && grid.is_plain(n))
        .map(|n| s.qty[n])
        .collect();
    if neighbours.len() < 2 {
        return None;
    }
    let reference = neighbours.iter().sum::<f64>() / neighbours.len() as f64;
    (reference > 0.0).then(|| (s.qty[w] / reference, reference))
}

/// Fits the calendar effects on the tenant's weekly totals before `end`: γ by weighted least
/// squares on the weeks with more or fewer working days, then u on the weeks before a long
/// holiday once their own working days are accounted for (a make-up Saturday often falls in
/// them). Each week's ratio to its neighbours is weighted by their level, so the totals give
/// what pooling every series' ratios would, weighted by volume, at the cost of one series.
fn fit_calendar(grid: &Grid, s: &Series, end: usize) -> CalendarEffect {
    let (mut sxy, mut sxx) = (0.0, 0.0);
    let mut before = Vec::new();
    let stop = end.min(s.qty.len());
    for w in s.start..stop {
        if grid.is_plain(w) {
            continue;
        }
        let Some((r, weight)) = neighbour_ratio(grid, s, w, stop) else {
            continue;
        };
        if grid.before_holiday(w) {
            before.push((w, r, weight));
        } else {
            let d = grid.ratio(w) - 1.0;
            sxy += weight * d * (r - 1.0);
            sxx += weight * d * d;
        }
    }
    let working_day_weight = if sxx > 0.0 {
        (sxy / sxx).clamp(0.0, 1.0)
    } else {
        1.0
    };
    let days =
        |w: usize| ((1.0 - working_day_weight) + working_day_weight * grid.ratio(w)).max(0.05);
    let (su, sw) = before.iter().fold((0.0, 0.0), |(su, sw), &(w, r, weight)| {
        (su + weight * (r / days(w) - 1.0), sw + weight)
    });
    // Shrunk toward no uplift by two average samples' weight.
    let prior = if before.is_empty() {
        1.0
    } else {
        2.0 * sw / before.len() as f64
    };
    CalendarEffect {
        working_day_weight,
        pre_holiday_uplift: (su / (sw + prior)).clamp(-0.5, 3.0),
    }
}

/// The month a week belongs to (that of its Thursday), 0-11.
fn month_of(grid: &Grid, w: usize) -> usize {
    (grid.monday(w) + Duration::days(3)).month0() as usize
}

/// Month-of-year indices per SKU from the calendar-adjusted weeks before `end`.
fn fit_seasons<'a>(
    grid: &Grid,
    series: impl Iterator<Item = &'a Series>,
    effect: &CalendarEffect,
    end: usize,
) -> BTreeMap<String, [f64; 12]> {
    let mut sums: BTreeMap<&str, ([f64; 12], [f64; 12])> = BTreeMap::new();
    for s in series {
        let stop = end.min(s.qty.len());
        if stop.saturating_sub(s.start) < SEASON_MIN_WEEKS {
            continue;
        }
        let adjusted: Vec<f64> = (s.start..stop)
            .map(|w| s.qty[w] / grid.factor(effect, w))
            .collect();
        let entry = sums.entry(&s.sku).or_insert(([0.0; 12], [0.0; 12]));
        for i in 6..adjusted.len().saturating_sub(6) {
            let mean = adjusted[i - 6..=i + 6].iter().sum::<f64>() / 13.0;
            if mean <= 0.0 {
                continue;
            }
            let m = month_of(grid, s.start + i);
            entry.0[m] += adjusted[i] / mean;
            entry.1[m] += 1.0;
        }
    }
    sums.into_iter()
        .map(|(sku, (ratio, count))| {
            let mut index = [1.0; 12];
            for m in 0..12 {
                index[m] = (ratio[m] + SEASON_PRIOR) / (count[m] + SEASON_PRIOR);
            }
            let mean = index.iter().sum::<f64>() / 12.0;
            for i in &mut index {
                *i /= mean;
            }
            (sku.to_owned(), index)
        })
        .collect()
}

/// Damped-trend exponential smoothing fitted to `y`.
#[derive(Debug, Clone, Copy)]
struct Holt {
    params: Smoothing,
    level: f64,
    trend: f64,
    sigma2: f64,
}

impl Holt {
    fn run(y: &[f64], p: Smoothing) -> (f64, f64, f64, usize) {
        let warm = y.len().min(4);
        let mut level = y[..warm].iter().sum::<f64>() / warm.max(1) as f64;
        let mut trend = 0.0;
        let (mut sse, mut n) = (0.0, 0usize);
        for (t, &obs) in y.iter().enumerate() {
            let predicted = level + p.phi * trend;
            let error = obs - predicted;
            if t >= warm {
                sse += error * error;
                n += 1;
            }
            let new_level = predicted + p.alpha * error;
            trend = p.phi * trend + p.alpha * p.beta * error;
            level = new_level;
        }
        (level, trend, sse, n)
    }

    fn fit(y: &[f64]) -> Holt {
        let mut best: Option<(f64, Holt)> = None;
        for alpha in [0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.7] {
            for beta in [0.0, 0.05, 0.1, 0.2] {
                for phi in [0.8, 0.9, 0.98] {
                    let params = Smoothing { alpha, beta, phi };
                    let (level, trend, sse, n) = Holt::run(y, params);
                    let holt = Holt {
                        params,
                        level,
                        trend,
                        sigma2: if n > 0 { sse / n as f64 } else { 0.0 },
                    };
                    if best.as_ref().is_none_or(|(b, _)| sse < *b - 1e-12) {
                        best = Some((sse, holt));
                    }
                }
            }
        }
        best.map(|(_, h)| h).unwrap_or(Holt {
            params: Smoothing {
                alpha: 0.1,
                beta: 0.0,
                phi: 0.9,
            },
            level: 0.0,
            trend: 0.0,
            sigma2: 0.0,
        })
    }

    /// Mean and standard deviation `h` steps ahead (h ≥ 1), on the adjusted scale.
    fn ahead(&self, h: usize) -> (f64, f64) {
        let Smoothing { alpha, beta, phi } = self.params;
        let (mut phi_sum, mut power) = (0.0, 1.0);
        let mut spread = 1.0;
        for j in 1..=h {
            power *= phi;
            if j < h {
                let c = alpha + alpha * beta * (phi_sum + power);
                spread += c * c;
            }
            phi_sum += power;
        }
        let mean = (self.level + phi_sum * self.trend).max(0.0);
        (mean, (self.sigma2 * spread).sqrt())
    }
}

/// A forecast week: the mean and its 80 % interval.
#[derive(Debug, Clone, Copy)]
struct Band {
    mean: f64,
    lower: f64,
    upper: f64,
}

/// A fitted forecaster for every series, from the weeks before `end`.
struct Model {
    effect: CalendarEffect,
    seasons: BTreeMap<String, [f64; 12]>,
}

impl Model {
    /// The calendar effect from the totals; the seasons of the SKUs `pool` holds (every
    /// region of each).
    fn fit(grid: &Grid, total: &Series, pool: &[&Series], end: usize) -> Model {
        let effect = fit_calendar(grid, total, end);
        let seasons = fit_seasons(grid, pool.iter().copied(), &effect, end);
        Model { effect, seasons }
    }

    fn factor(&self, grid: &Grid, sku: &str, w: usize) -> f64 {
        let season = self.seasons.get(sku).map_or(1.0, |s| s[month_of(grid, w)]);
        grid.factor(&self.effect, w) * season
    }

    /// (mean, lower, upper) for weeks `end .. end + horizon` of `s`, and the smoother; `None`
    /// when the series has no history before `end`.
    fn forecast(
        &self,
        grid: &Grid,
        s: &Series,
        end: usize,
        horizon: usize,
    ) -> Option<(Vec<Band>, Smoothing)> {
        let stop = end.min(s.qty.len());
        if stop <= s.start {
            return None;
        }
        let adjusted: Vec<f64> = (s.start..stop)
            .map(|w| s.qty[w] / self.factor(grid, &s.sku, w))
            .collect();
        let holt = Holt::fit(&adjusted);
        let points = (1..=horizon)
            .map(|h| {
                let (mean, sd) = holt.ahead(h);
                let f = self.factor(grid, &s.sku, end + h - 1);
                Band {
                    mean: mean * f,
                    lower: (mean - Z80 * sd).max(0.0) * f,
                    upper: (mean + Z80 * sd) * f,
                }
            })
            .collect();
        Some((points, holt.params))
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    points: u64,
    actual: f64,
    abs_error: f64,
    error: f64,
    naive_abs_error: f64,
    naive_points: u64,
    covered: u64,
}

impl Tally {
    fn add(&mut self, actual: f64, forecast: Band, naive: f64) {
        self.points += 1;
        self.actual += actual;
        self.abs_error += (forecast.mean - actual).abs();
        self.error += forecast.mean - actual;
        self.naive_abs_error += (naive - actual).abs();
        self.naive_points += 1;
        self.covered +=
            u64::from(actual >= forecast.lower - 1e-9 && actual <= forecast.upper + 1e-9);
    }

    fn score(&self) -> Score {
        let share = |x: f64| (self.actual > 0.0).then(|| x / self.actual);
        let wape = share(self.abs_error);
        let naive = share(self.naive_abs_error);
        Score {
            points: self.points,
            actual: self.actual,
            wape,
            bias: share(self.error),
            seasonal_naive_wape: naive,
            skill: match (wape, naive) {
                (Some(w), Some(n)) if n > 0.0 => Some(1.0 - w / n),
                _ => None,
            },
            interval_coverage: (self.points > 0).then(|| self.covered as f64 / self.points as f64),
        }
    }
}

/// The forecast and its backtest for every SKU × region in `points`.
pub fn forecast_demand(
    calendar: &BusinessCalendar,
    points: &[DemandPoint],
    estimates: &[DemandEstimate],
    request: &DemandRequest,
) -> DemandForecast {
    let origin = Week::containing(request.origin).monday();
    let horizon = request.horizon.clamp(1, MAX_HORIZON_WEEKS) as usize;
    let totals: Vec<(NaiveDate, u64)> = match &request.totals {
        Some(totals) => totals
            .iter()
            .map(|(day, q)| (Week::containing(*day).monday(), *q))
            .collect(),
        None => points
            .iter()
            .map(|p| (Week::containing(p.day).monday(), p.quantity))
            .collect(),
    };
    let first = totals
        .iter()
        .map(|(w, _)| *w)
        .chain(points.iter().map(|p| Week::containing(p.day).monday()))
        .filter(|w| *w < origin)
        .min()
        .unwrap_or(origin);
    let history = ((origin - first).num_days() / 7) as usize;
    let grid = Grid::new(calendar, first, history + horizon);
    let mut total_qty = vec![0.0; history];
    for (w, q) in &totals {
        if *w >= first && *w < origin {
            total_qty[((*w - first).num_days() / 7) as usize] += *q as f64;
        }
    }
    let total = Series {
        sku: String::new(),
        region: String::new(),
        start: total_qty.iter().position(|q| *q > 0.0).unwrap_or(0),
        qty: total_qty,
    };

    let in_history = |p: &DemandPoint| {
        let w = Week::containing(p.day).monday();
        (w >= first && w < origin).then(|| ((w - first).num_days() / 7) as usize)
    };
    // The series asked for, largest first, at most `max_series` of them: chosen on what each
    // ordered before any weekly series is built (a tenant may have a million series).
    let mut volume: HashMap<(&str, &str), u64> = HashMap::new();
    for p in points {
        if in_history(p).is_some()
            && request.sku.as_ref().is_none_or(|k| k == p.sku.as_str())
            && request
                .region
                .as_ref()
                .is_none_or(|r| r == p.region.as_str())
        {
            *volume
                .entry((p.sku.as_str(), p.region.as_str()))
                .or_default() += p.quantity;
        }
    }
    let series_total = volume.len() as u32;
    let mut matching: Vec<((&str, &str), u64)> = volume.into_iter().collect();
    matching.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    matching.truncate(request.max_series);
    let chosen: BTreeSet<(&str, &str)> = matching.iter().map(|(k, _)| *k).collect();
    // Weekly series for every warehouse of the SKUs asked for: seasons are pooled over them.
    let skus: BTreeSet<&str> = chosen.iter().map(|(sku, _)| *sku).collect();
    let mut by_key: BTreeMap<(&str, &str), Vec<f64>> = BTreeMap::new();
    for p in points.iter().filter(|p| skus.contains(p.sku.as_str())) {
        let Some(w) = in_history(p) else { continue };
        let qty = by_key
            .entry((p.sku.as_str(), p.region.as_str()))
            .or_insert_with(|| vec![0.0; history]);
        qty[w] += p.quantity as f64;
    }
    let wanted: Vec<bool> = by_key.keys().map(|k| chosen.contains(k)).collect();
    let series: Vec<Series> = by_key
        .into_iter()
        .map(|((sku, region), qty)| Series {
            sku: sku.to_owned(),
            region: region.to_owned(),
            start: qty.iter().position(|q| *q > 0.0).unwrap_or(0),
            qty,
        })
        .collect();
    let pool: Vec<&Series> = series.iter().collect();

    // Backtest: refit at each past origin, score the weeks that have happened since.
    let origins: Vec<usize> = (history.saturating_sub(request.backtest_origins as usize)..history)
        .filter(|&o| o >= MIN_TRAIN_WEEKS)
        .collect();
    let mut overall = Tally::default();
    let mut by_horizon = vec![Tally::default(); horizon];
    let mut per_series = vec![Tally::default(); series.len()];
    for &o in &origins {
        let model = Model::fit(&grid, &total, &pool, o);
        for (i, s) in series.iter().enumerate() {
            if !wanted[i] || o < s.start + MIN_TRAIN_WEEKS {
                continue;
            }
            let Some((predicted, _)) = model.forecast(&grid, s, o, horizon) else {
                continue;
            };
            for (h, forecast) in predicted.into_iter().enumerate() {
                let w = o + h;
                if w >= history {
                    break;
                }
                let naive = if w >= s.start + 52 {
                    s.qty[w - 52]
                } else {
                    continue;
                };
                let actual = s.qty[w];
                overall.add(actual, forecast, naive);
                by_horizon[h].add(actual, forecast, naive);
                per_series[i].add(actual, forecast, naive);
            }
        }
    }

    // The forecast from all of the history, blended with the reps' estimates.
    let model = Model::fit(&grid, &total, &pool, history);
    let mut latest: BTreeMap<(&str, &str, NaiveDate, UserId), &DemandEstimate> = BTreeMap::new();
    for e in estimates {
        let key = (e.sku.as_str(), e.region.as_str(), e.week, e.by);
        if latest.get(&key).is_none_or(|old| old.at <= e.at) {
            latest.insert(key, e);
        }
    }
    let mut rep_week: BTreeMap<(&str, &str, NaiveDate), u64> = BTreeMap::new();
    for ((sku, region, week, _), e) in &latest {
        *rep_week.entry((sku, region, *week)).or_default() += e.quantity;
    }
    let mut out: Vec<SeriesForecast> = series
        .iter()
        .enumerate()
        .filter(|(i, _)| wanted[*i])
        .filter_map(|(i, s)| {
            let (predicted, smoothing) = model.forecast(&grid, s, history, horizon)?;
            let model_mse = if per_series[i].points > 0 {
                let t = &per_series[i];
                // Mean absolute error squared: a robust stand-in for the model's MSE.
                (t.abs_error / t.points as f64).powi(2)
            } else {
                predicted
                    .first()
                    .map_or(0.0, |p| ((p.upper - p.lower) / (2.0 * Z80)).powi(2))
            };
            let (mut rep_sq, mut rep_n) = (0.0, 0.0);
            for w in s.start..history {
                if let Some(q) = rep_week.get(&(&s.sku, &s.region, grid.monday(w))) {
                    rep_sq += (*q as f64 - s.qty[w]).powi(2);
                    rep_n += 1.0;
                }
            }
            let rep_mse = (rep_sq + REP_PRIOR * model_mse) / (rep_n + REP_PRIOR);
            let rep_weight = if model_mse + rep_mse > 0.0 {
                model_mse / (model_mse + rep_mse)
            } else {
                0.5
            };
            let weeks = predicted
                .into_iter()
                .enumerate()
                .map(|(h, band)| {
                    let Band { mean, lower, upper } = band;
                    let w = history + h;
                    let week = grid.monday(w);
                    let rep = rep_week
                        .get(&(s.sku.as_str(), s.region.as_str(), week))
                        .copied();
                    let forecast =
                        rep.map_or(mean, |q| rep_weight * q as f64 + (1.0 - rep_weight) * mean);
                    WeekForecast {
                        week,
                        working_days: grid.days[w],
                        model: mean,
                        lower,
                        upper,
                        forecast,
                        rep_estimate: rep,
                        rep_weight: rep.map(|_| rep_weight),
                    }
                })
                .collect();
            Some(SeriesForecast {
                sku: s.sku.clone(),
                region: s.region.clone(),
                history_weeks: (history - s.start) as u32,
                total_ordered: s.qty.iter().sum::<f64>() as u64,
                smoothing,
                weeks,
                backtest_wape: per_series[i].score().wape,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.total_ordered
            .cmp(&a.total_ordered)
            .then_with(|| (&a.sku, &a.region).cmp(&(&b.sku, &b.region)))
    });
    DemandForecast {
        origin,
        horizon_weeks: horizon as u32,
        interval: 0.8,
        method: "working-day and pre-holiday factors from the tenant calendar, month-of-year \
                 indices per SKU, damped-trend exponential smoothing ETS(A,Ad,N); reps' \
                 estimates blended by Bates-Granger weights"
            .into(),
        calendar_effect: model.effect,
        series: out,
        series_total,
        backtest: DemandBacktest {
            origins: origins.iter().map(|&o| grid.monday(o)).collect(),
            horizon_weeks: horizon as u32,
            overall: overall.score(),
            by_horizon: by_horizon
                .iter()
                .enumerate()
                .map(|(h, t)| HorizonScore {
                    horizon: h as u32 + 1,
                    score: t.score(),
                })
                .collect(),
        },
    }
}

/// The forecast demand over the replenishment lead time of every SKU × region, as the
/// replenishment plan reads it. Fitting every series takes minutes for a large tenant, so a
/// job fits it once a week (the forecast uses complete weeks only: nothing changes until the
/// week turns) and stores it; the plan applies it to the stock as it is at request time.
/// What else the fit depends on is recorded so a reader can tell when it no longer holds:
/// the tenant's calendar and lead time (`basis`), each SKU's estimates (`estimated`) and
/// orders imported into past weeks (`fitted_at`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeadDemand {
    /// The first forecast week (the Monday of the week the fit was made in).
    pub origin: NaiveDate,
    pub lead_weeks: u32,
    /// Fingerprint of the calendar and lead time it was fitted with (`LeadDemand::basis`).
    pub basis: String,
    pub fitted_at: Timestamp,
    /// How long fitting every series took: whether a reader can wait for the next one.
    #[serde(default)]
    pub fit_millis: u64,
    /// Fingerprint of the estimates blended in, per SKU (`LeadDemand::estimate_prints`).
    pub estimated: BTreeMap<String, String>,
    pub series: Vec<LeadSeries>,
}

/// One series' demand over the lead time. Written as `[sku, region, quantity]`: a large
/// tenant has a million series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeadSeries(pub String, pub String, pub f64);

/// The first 12 bytes of a SHA-256, in hex: fingerprints that are stable across builds.
fn fingerprint(parts: &[&[u8]]) -> String {
    use sha2::Digest;
    let mut hash = sha2::Sha256::new();
    for part in parts {
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part);
    }
    hex::encode(&hash.finalize()[..12])
}

impl LeadDemand {
    /// What a fit depends on besides the history and the estimates: the calendar (holidays,
    /// 调休, time zone) and the lead time.
    pub fn basis(calendar: &BusinessCalendar, lead_weeks: u32) -> String {
        let calendar = serde_json::to_vec(calendar).unwrap_or_default();
        fingerprint(&[&calendar, &lead_weeks.to_le_bytes()])
    }

    /// A fingerprint of each SKU's estimates: any estimate given, changed or gone changes it.
    /// Times are compared as well as figures, so two estimates of the same figure in one
    /// millisecond are the only change it cannot see (and they change nothing).
    pub fn estimate_prints(estimates: &[DemandEstimate]) -> BTreeMap<String, String> {
        let mut by_sku: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for e in estimates {
            by_sku.entry(e.sku.as_str()).or_default().push(format!(
                "{}|{}|{}|{}|{}",
                e.region.as_str(),
                e.week,
                e.by,
                e.quantity,
                e.at.timestamp_micros()
            ));
        }
        by_sku
            .into_iter()
            .map(|(sku, mut lines)| {
                lines.sort();
                (sku.to_owned(), fingerprint(&[lines.join("\n").as_bytes()]))
            })
            .collect()
    }

    /// The lead-time demand of every series `forecast` holds (the forecast of every series
    /// with `horizon` = the lead time), made with `estimates`.
    pub fn from_forecast(
        forecast: &DemandForecast,
        basis: String,
        fitted_at: Timestamp,
        estimates: &[DemandEstimate],
    ) -> LeadDemand {
        let mut out = LeadDemand {
            origin: forecast.origin,
            lead_weeks: forecast.horizon_weeks,
            basis,
            fitted_at,
            fit_millis: 0,
            estimated: BTreeMap::new(),
            series: Vec::new(),
        };
        out.replace(None, forecast, estimates);
        out
    }

    /// Replaces the series of `sku` (`None`: every series) by those of `forecast`, and its
    /// estimates' fingerprint by that of `estimates` (all of the tenant's it was made with).
    pub fn replace(
        &mut self,
        sku: Option<&str>,
        forecast: &DemandForecast,
        estimates: &[DemandEstimate],
    ) {
        self.series.retain(|s| sku.is_some_and(|sku| s.0 != sku));
        self.series.extend(forecast.series.iter().map(|s| {
            let sum = s.weeks.iter().map(|w| w.forecast).sum();
            LeadSeries(s.sku.clone(), s.region.clone(), sum)
        }));
        self.series.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        let mut prints = Self::estimate_prints(estimates);
        match sku {
            None => self.estimated = prints,
            Some(sku) => match prints.remove(sku) {
                Some(print) => {
                    self.estimated.insert(sku.to_owned(), print);
                }
                None => {
                    self.estimated.remove(sku);
                }
            },
        }
    }

    /// Whether it was fitted for the week starting `origin` on `basis`.
    pub fn holds_for(&self, origin: NaiveDate, basis: &str) -> bool {
        self.origin == origin && self.basis == basis
    }

    /// The SKUs whose estimates differ from those it blended in (given, changed or gone).
    pub fn estimates_changed(&self, estimates: &[DemandEstimate]) -> Vec<String> {
        let now = Self::estimate_prints(estimates);
        let mut changed: BTreeSet<&String> = BTreeSet::new();
        for (sku, print) in &now {
            if self.estimated.get(sku) != Some(print) {
                changed.insert(sku);
            }
        }
        changed.extend(self.estimated.keys().filter(|sku| !now.contains_key(*sku)));
        changed.into_iter().cloned().collect()
    }

    /// Demand over the lead time per (SKU, region).
    pub fn by_series(&self) -> HashMap<(&str, &str), f64> {
        self.series
            .iter()
            .map(|s| ((s.0.as_str(), s.1.as_str()), s.2))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(raw: &str) -> NaiveDate {
        NaiveDate::parse_from_str(raw, "%Y-%m-%d").unwrap()
    }

    fn code(raw: &str) -> Code {
        Code::parse(raw, "code").unwrap()
    }

    fn request(origin: &str) -> DemandRequest {
        DemandRequest {
            origin: day(origin),
            horizon: 4,
            backtest_origins: 13,
            max_series: 100,
            sku: None,
            region: None,
            totals: None,
        }
    }

    /// A reproducible stream of standard normal draws (xorshift + Box-Muller).
    struct Noise(u64);
    impl Noise {
        fn uniform(&mut self) -> f64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        }
        fn normal(&mut self) -> f64 {
            let (u, v) = (self.uniform(), self.uniform());
            (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
        }
    }

    /// Two years of weekly orders for two SKUs in two regions, made with known effects:
    /// demand proportional to working days, 30 % more in the week before a long holiday, a
    /// yearly swing of ±30 %, and Poisson-like noise.
    fn synthetic(cal: &BusinessCalendar, seed: u64) -> Vec<DemandPoint> {
        let grid = Grid::new(cal, day("2024-11-25"), 104);
        let mut noise = Noise(seed);
        let mut points = Vec::new();
        for (sku, base) in [("LUB-18L", 120.0), ("BRG-6205", 400.0)] {
            for (region, share) in [("WH-SH", 1.0), ("WH-GZ", 0.6)] {
                for w in 0..104 {
                    let month = month_of(&grid, w) as f64;
                    let season = 1.0 + 0.3 * (2.0 * std::f64::consts::PI * month / 12.0).sin();
                    let pre = if grid.before_holiday(w) { 1.3 } else { 1.0 };
                    let mean = base * share * season * grid.ratio(w) * pre;
                    let q = (mean + mean.sqrt() * noise.normal()).round().max(0.0);
                    points.push(DemandPoint {
                        day: grid.monday(w) + Duration::days(2),
                        sku: code(sku),
                        region: code(region),
                        quantity: q as u64,
                    });
                }
            }
        }
        points
    }

    #[test]
    fn steady_demand_is_forecast_exactly_and_the_backtest_has_no_error() {
        let cal = BusinessCalendar::default();
        let first = day("2024-11-25");
        let points: Vec<DemandPoint> = (0..104)
            .map(|w| DemandPoint {
                day: first + Duration::weeks(w),
                sku: code("A"),
                region: code("R"),
                quantity: 10,
            })
            .collect();
        let f = forecast_demand(&cal, &points, &[], &request("2026-11-23"));
        assert_eq!(f.origin, day("2026-11-23"));
        assert_eq!(f.series.len(), 1);
        let s = &f.series[0];
        assert_eq!((s.history_weeks, s.total_ordered), (104, 1040));
        for w in &s.weeks {
            assert!((w.model - 10.0).abs() < 1e-9, "{w:?}");
            assert!((w.lower - 10.0).abs() < 1e-9 && (w.upper - 10.0).abs() < 1e-9);
        }
        // 13 origins × 4 weeks, minus the weeks not yet happened at the last three origins.
        assert_eq!(f.backtest.overall.points, 13 * 4 - 6);
        assert_eq!(f.backtest.overall.wape, Some(0.0));
        assert_eq!(f.backtest.overall.bias, Some(0.0));
        assert_eq!(f.backtest.overall.seasonal_naive_wape, Some(0.0));
        assert_eq!(
            f.backtest.overall.skill, None,
            "no skill against a perfect baseline"
        );
    }

    #[test]
    fn the_backtest_scores_what_it_says_by_hand() {
        // Plain calendar (no holidays), 60 weeks of 10, then 10 weeks of 20: the seasonal naive
        // forecast says 10 for all of them, the smoother catches up. Origins 68 and 69 forecast
        // weeks 68-69 and 69: the naive error is 10 per point over 3 points of 20.
        let cal = BusinessCalendar::default();
        let first = day("2024-11-25");
        let points: Vec<DemandPoint> = (0..70)
            .map(|w| DemandPoint {
                day: first + Duration::weeks(w),
                sku: code("A"),
                region: code("R"),
                quantity: if w < 60 { 10 } else { 20 },
            })
            .collect();
        let origin = first + Duration::weeks(70);
        let f = forecast_demand(
            &cal,
            &points,
            &[],
            &DemandRequest {
                origin,
                horizon: 2,
                backtest_origins: 2,
                max_series: 10,
                sku: None,
                region: None,
                totals: None,
            },
        );
        let o = &f.backtest.overall;
        assert_eq!(
            f.backtest.origins,
            vec![first + Duration::weeks(68), first + Duration::weeks(69)]
        );
        assert_eq!((o.points, o.actual), (3, 60.0));
        assert_eq!(o.seasonal_naive_wape, Some(0.5));
        // The smoother, refit at each origin, is within a unit of 20 after 8 weeks of 20.
        assert!(o.wape.unwrap() < 0.05, "{o:?}");
        assert!(o.skill.unwrap() > 0.9);
        assert_eq!(f.backtest.by_horizon[1].score.points, 1);
    }

    #[test]
    fn holidays_and_season_are_recovered_and_beat_the_seasonal_naive_forecast() {
        let cal = BusinessCalendar::china_mainland();
        let points = synthetic(&cal, 0x5EED);
        let f = forecast_demand(&cal, &points, &[], &request("2026-11-23"));
        let e = f.calendar_effect;
        assert!((e.working_day_weight - 1.0).abs() < 0.15, "{e:?}");
        assert!((e.pre_holiday_uplift - 0.3).abs() < 0.12, "{e:?}");
        let o = &f.backtest.overall;
        // Noise alone costs about sqrt(2/(π·mean)) ≈ 5-10 % here.
        assert!(o.wape.unwrap() < 0.12, "{o:?}");
        assert!(o.bias.unwrap().abs() < 0.05, "{o:?}");
        assert!(o.skill.unwrap() > 0.2, "{o:?}");
        assert!(o.interval_coverage.unwrap() > 0.6, "{o:?}");
        assert_eq!(f.series.len(), 4);
        assert_eq!(f.series[0].sku, "BRG-6205", "largest first");
    }

    #[test]
    fn a_series_asked_for_alone_reads_as_it_does_among_all() {
        let cal = BusinessCalendar::china_mainland();
        let points = synthetic(&cal, 0x5EED);
        let all = forecast_demand(&cal, &points, &[], &request("2026-11-23"));
        let only = forecast_demand(
            &cal,
            &points,
            &[],
            &DemandRequest {
                sku: Some("LUB-18L".into()),
                region: Some("WH-GZ".into()),
                ..request("2026-11-23")
            },
        );
        assert_eq!(only.series_total, 1);
        let alone = &only.series[0];
        let among = all
            .series
            .iter()
            .find(|s| s.sku == "LUB-18L" && s.region == "WH-GZ")
            .unwrap();
        assert_eq!(alone.weeks, among.weeks);
        assert_eq!(alone.backtest_wape, among.backtest_wape);
        assert_eq!(only.calendar_effect, all.calendar_effect);
        // The backtest scores that series only: a quarter of the points.
        assert_eq!(
            only.backtest.overall.points * 4,
            all.backtest.overall.points
        );
        let sku_only = forecast_demand(
            &cal,
            &points,
            &[],
            &DemandRequest {
                sku: Some("BRG-6205".into()),
                ..request("2026-11-23")
            },
        );
        assert_eq!(sku_only.series_total, 2);
        assert!(sku_only.series.iter().all(|s| s.sku == "BRG-6205"));

        // Given the tenant's weekly totals, that SKU's points alone (what the demand history
        // reads for one SKU) forecast it as all the points do.
        let mut totals: BTreeMap<NaiveDate, u64> = BTreeMap::new();
        for p in &points {
            *totals.entry(Week::containing(p.day).monday()).or_default() += p.quantity;
        }
        let totals: Vec<(NaiveDate, u64)> = totals.into_iter().collect();
        let own: Vec<DemandPoint> = points
            .iter()
            .filter(|p| p.sku.as_str() == "BRG-6205")
            .cloned()
            .collect();
        let from_own = forecast_demand(
            &cal,
            &own,
            &[],
            &DemandRequest {
                sku: Some("BRG-6205".into()),
                totals: Some(totals.clone()),
                ..request("2026-11-23")
            },
        );
        assert_eq!(from_own, sku_only);

        // Asked for the largest one only, it is the one forecast and backtested, and the
        // total still counts all four.
        let top = forecast_demand(
            &cal,
            &points,
            &[],
            &DemandRequest {
                max_series: 1,
                ..request("2026-11-23")
            },
        );
        assert_eq!(top.series_total, 4);
        assert_eq!(top.series, all.series[..1]);
        assert_eq!(top.calendar_effect, all.calendar_effect);
        assert!(top.backtest.overall.points * 4 == all.backtest.overall.points);
    }

    #[test]
    fn the_largest_series_are_ranked_on_history_before_the_origin_ties_by_sku_then_region() {
        // Per week: A at R1 3, B at R1 2, A at R2 2, C at R2 1 — and in the origin's week
        // (not history) C at R2 orders 1,000, which must not lift it.
        let cal = BusinessCalendar::default();
        let first = day("2025-11-24");
        let origin = first + Duration::weeks(20);
        let mut points = Vec::new();
        for w in 0..20 {
            for (sku, region, quantity) in [("A", "R1", 3), ("B", "R1", 2), ("A", "R2", 2)] {
                points.push(DemandPoint {
                    day: first + Duration::weeks(w),
                    sku: code(sku),
                    region: code(region),
                    quantity,
                });
            }
            points.push(DemandPoint {
                day: first + Duration::weeks(w),
                sku: code("C"),
                region: code("R2"),
                quantity: 1,
            });
        }
        points.push(DemandPoint {
            day: origin,
            sku: code("C"),
            region: code("R2"),
            quantity: 1000,
        });
        let ask = |max_series: usize, region: Option<&str>| {
            let f = forecast_demand(
                &cal,
                &points,
                &[],
                &DemandRequest {
                    origin,
                    horizon: 1,
                    backtest_origins: 1,
                    max_series,
                    sku: None,
                    region: region.map(str::to_owned),
                    totals: None,
                },
            );
            let names: Vec<String> = f
                .series
                .iter()
                .map(|s| format!("{}@{}", s.sku, s.region))
                .collect();
            (names, f.series_total)
        };
        assert_eq!(
            ask(3, None),
            (vec!["A@R1".into(), "A@R2".into(), "B@R1".into()], 4)
        );
        assert_eq!(ask(1, Some("R2")), (vec!["A@R2".into()], 2));
        assert_eq!(ask(9, Some("R9")), (vec![], 0));
    }

    #[test]
    fn holiday_weeks_are_forecast_low_and_the_week_before_a_long_one_high() {
        let cal = BusinessCalendar::china_mainland();
        let series = |origin: &str| {
            let points: Vec<DemandPoint> = synthetic(&cal, 7)
                .into_iter()
                .filter(|p| p.day < day(origin))
                .collect();
            let f = forecast_demand(&cal, &points, &[], &request(origin));
            f.series
                .into_iter()
                .find(|s| s.sku == "LUB-18L" && s.region == "WH-SH")
                .unwrap()
        };
        // Spring Festival 2026: a plain week; the week before (Sat 14 Feb made up: 6 days);
        // the festival (none); the week after (Mon 23 off, Sat 28 made up: 5).
        let s = series("2026-02-02");
        let days: Vec<u32> = s.weeks.iter().map(|w| w.working_days).collect();
        assert_eq!(days, vec![5, 6, 0, 5]);
        let m: Vec<f64> = s.weeks.iter().map(|w| w.model).collect();
        assert!(m[1] > 1.3 * m[0], "{m:?}");
        assert!(m[2] < 0.2 * m[0], "{m:?}");
        assert!((m[3] / m[0] - 1.0).abs() < 0.15, "{m:?}");
        // Mid-autumn and National Day 2026: Sun 20 Sep made up, then 4, 3 and 3 days.
        let s = series("2026-09-14");
        let days: Vec<u32> = s.weeks.iter().map(|w| w.working_days).collect();
        assert_eq!(days, vec![6, 4, 3, 3]);
        assert!(s.weeks[2].model < 0.75 * s.weeks[0].model, "{:?}", s.weeks);
    }

    #[test]
    fn reps_estimates_are_blended_by_their_past_accuracy() {
        let cal = BusinessCalendar::default();
        let first = day("2024-11-25");
        let points: Vec<DemandPoint> = (0..80)
            .map(|w| DemandPoint {
                day: first + Duration::weeks(w),
                sku: code("A"),
                region: code("R"),
                quantity: 100 + (w as u64 % 3) * 10,
            })
            .collect();
        let origin = first + Duration::weeks(80);
        let estimate = |week: NaiveDate, quantity: u64, minutes: i64| DemandEstimate {
            tenant: TenantId::parse("tt").unwrap(),
            sku: code("A"),
            region: code("R"),
            week,
            quantity,
            by: UserId::from_uuid(uuid::Uuid::nil()),
            at: chrono::DateTime::UNIX_EPOCH + Duration::minutes(minutes),
        };
        // A rep who estimated the past weeks spot on, then a revised estimate (the later one
        // counts) for the first forecast week.
        let mut estimates: Vec<DemandEstimate> = (60..80)
            .map(|w| estimate(first + Duration::weeks(w), 100 + (w as u64 % 3) * 10, 0))
            .collect();
        estimates.push(estimate(origin, 500, 1));
        estimates.push(estimate(origin, 200, 2));
        let f = forecast_demand(&cal, &points, &estimates, &request(&origin.to_string()));
        let w = &f.series[0].weeks[0];
        assert_eq!(w.rep_estimate, Some(200));
        let weight = w.rep_weight.unwrap();
        assert!(
            weight > 0.8,
            "an accurate rep weighs more than the model: {weight}"
        );
        assert!((w.forecast - (weight * 200.0 + (1.0 - weight) * w.model)).abs() < 1e-9);
        assert_eq!(f.series[0].weeks[1].rep_estimate, None);
        assert_eq!(f.series[0].weeks[1].forecast, f.series[0].weeks[1].model);
    }

    #[test]
    fn estimates_are_for_whole_weeks() {
        let input = EstimateInput {
            sku: code("A"),
            region: code("R"),
            week: day("2026-12-08"),
            quantity: 5,
        };
        let t = TenantId::parse("tt").unwrap();
        let by = UserId::from_uuid(uuid::Uuid::nil());
        assert!(DemandEstimate::new(&t, input.clone(), by, chrono::Utc::now()).is_err());
        let monday = EstimateInput {
            week: day("2026-12-07"),
            ..input
        };
        assert!(DemandEstimate::new(&t, monday, by, chrono::Utc::now()).is_ok());
    }

    /// The plan's stored fit: the sums of the lead-time forecast; a SKU patched alone with a
    /// new estimate reads as a fit of everything with it; what changed is found by SKU.
    #[test]
    fn a_stored_fit_is_patched_by_sku_and_knows_which_estimates_it_blended() {
        let cal = BusinessCalendar::default();
        let points = synthetic(&cal, 11);
        let plan = DemandRequest {
            horizon: 2,
            backtest_origins: 1,
            max_series: usize::MAX,
            ..request("2026-11-23")
        };
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        let fit_time = at("2026-11-23T01:00:00Z");
        let all = forecast_demand(&cal, &points, &[], &plan);
        let basis = LeadDemand::basis(&cal, 2);
        let mut fit = LeadDemand::from_forecast(&all, basis.clone(), fit_time, &[]);
        assert_eq!((fit.origin, fit.lead_weeks), (day("2026-11-23"), 2));
        assert_eq!(fit.series.len(), 4);
        for s in &all.series {
            let sum: f64 = s.weeks.iter().map(|w| w.forecast).sum();
            assert_eq!(fit.by_series()[&(s.sku.as_str(), s.region.as_str())], sum);
        }
        assert!(fit.estimates_changed(&[]).is_empty());
        assert!(fit.holds_for(day("2026-11-23"), &basis));
        assert!(!fit.holds_for(day("2026-11-30"), &basis));
        assert_ne!(LeadDemand::basis(&cal, 3), basis);
        let los_angeles = BusinessCalendar {
            time_zone: chrono_tz::America::Los_Angeles,
            ..cal.clone()
        };
        assert_ne!(LeadDemand::basis(&los_angeles, 2), basis);

        let estimate = DemandEstimate {
            tenant: TenantId::parse("tt").unwrap(),
            sku: code("LUB-18L"),
            region: code("WH-SH"),
            week: day("2026-11-30"),
            quantity: 900,
            by: UserId::new(),
            at: at("2026-11-24T08:00:00Z"),
        };
        let estimates = vec![estimate.clone()];
        assert_eq!(fit.estimates_changed(&estimates), ["LUB-18L"]);

        // Patched with that SKU forecast alone (its points and the tenant's totals, as the
        // demand history reads it), the fit is what fitting everything with the estimate gives.
        let mut totals: BTreeMap<NaiveDate, u64> = BTreeMap::new();
        for p in &points {
            *totals.entry(Week::containing(p.day).monday()).or_default() += p.quantity;
        }
        let own: Vec<DemandPoint> = points
            .iter()
            .filter(|p| p.sku.as_str() == "LUB-18L")
            .cloned()
            .collect();
        let alone = DemandRequest {
            sku: Some("LUB-18L".into()),
            totals: Some(totals.into_iter().collect()),
            ..plan.clone()
        };
        let lub = forecast_demand(&cal, &own, &estimates, &alone);
        let before = fit.by_series()[&("LUB-18L", "WH-SH")];
        fit.replace(Some("LUB-18L"), &lub, &estimates);
        let everything = forecast_demand(&cal, &points, &estimates, &plan);
        let refitted = LeadDemand::from_forecast(&everything, basis, fit_time, &estimates);
        assert_close(&fit, &refitted);
        assert!(fit.by_series()[&("LUB-18L", "WH-SH")] > before + 100.0);
        assert!(fit.estimates_changed(&estimates).is_empty());

        // A changed figure, a new time, or the estimate gone: that SKU again, and only it.
        let changed = [DemandEstimate {
            quantity: 901,
            ..estimate.clone()
        }];
        assert_eq!(fit.estimates_changed(&changed), ["LUB-18L"]);
        let restated = [DemandEstimate {
            at: at("2026-11-25T08:00:00Z"),
            ..estimate.clone()
        }];
        assert_eq!(fit.estimates_changed(&restated), ["LUB-18L"]);
        assert_eq!(fit.estimates_changed(&[]), ["LUB-18L"]);
        let other = DemandEstimate {
            sku: code("BRG-6205"),
            ..estimate.clone()
        };
        assert_eq!(fit.estimates_changed(&[estimate, other]), ["BRG-6205"]);

        // Stored as JSON and read back, it is the same fit.
        let json = serde_json::to_string(&fit).unwrap();
        assert!(json.contains(r#"["LUB-18L","WH-GZ","#), "{json}");
        assert_close(&serde_json::from_str::<LeadDemand>(&json).unwrap(), &fit);
    }

    /// The same fit, quantities to within rounding (summed in another order, or through JSON).
    fn assert_close(a: &LeadDemand, b: &LeadDemand) {
        let strip = |f: &LeadDemand| LeadDemand {
            series: Vec::new(),
            ..f.clone()
        };
        assert_eq!(strip(a), strip(b));
        assert_eq!(a.series.len(), b.series.len());
        for (x, y) in a.series.iter().zip(&b.series) {
            assert_eq!((&x.0, &x.1), (&y.0, &y.1));
            assert!((x.2 - y.2).abs() < 1e-9 * y.2.max(1.0), "{x:?} {y:?}");
        }
    }
}
