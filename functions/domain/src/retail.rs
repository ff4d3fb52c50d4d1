//! What happens at a retail store besides a visit (seed 000): shop assistants tag a sale in
//! three taps from the tenant's catalogue (what the customer cared about, what held them
//! back, which competitor they compared), the tags are counted per week and region, and a
//! tag whose share in a region rises well over its baseline is a spike that fires rules.
//! The shelf checks a store's photos are held to (price floors per SKU, key stores) are
//! tenant policy here too.
//!
//! A region is the store's sales team: teams are how territories are cut (华东大区), and a
//! store's team is known without an address parser.

use crate::error::DomainError;
use crate::id::{CustomerId, SaleTagsId, TenantId, UserId};
use crate::visit::text_list;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The three things a quick tag records, in the order the phone asks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum TagDimension {
    /// What the customer cared about (price, taste, packaging…).
    Focus,
    /// What held them back.
    Obstacle,
    /// The competitor they compared.
    Competitor,
}

impl TagDimension {
    pub const ALL: [TagDimension; 3] = [Self::Focus, Self::Obstacle, Self::Competitor];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Focus => "focus",
            Self::Obstacle => "obstacle",
            Self::Competitor => "competitor",
        }
    }
}

/// The tags a tenant's shop assistants pick from, per dimension.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SaleTagCatalogue {
    pub focus: Vec<String>,
    pub obstacle: Vec<String>,
    pub competitor: Vec<String>,
}

impl Default for SaleTagCatalogue {
    fn default() -> Self {
        let list = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect();
        Self {
            focus: list(&["价格", "口感", "包装", "品牌", "促销", "健康"]),
            obstacle: list(&["太贵", "没听说过", "口味不合", "规格不合适", "缺货"]),
            competitor: list(&["农夫山泉", "怡宝", "康师傅", "统一", "元气森林"]),
        }
    }
}

impl SaleTagCatalogue {
    pub fn of(&self, dimension: TagDimension) -> &[String] {
        match dimension {
            TagDimension::Focus => &self.focus,
            TagDimension::Obstacle => &self.obstacle,
            TagDimension::Competitor => &self.competitor,
        }
    }

    fn validate(&self) -> Result<(), DomainError> {
        for dimension in TagDimension::ALL {
            let field = format!("sale_tags.{}", dimension.as_str());
            let items = text_list(&field, self.of(dimension), 50)?;
            if items.is_empty() {
                return Err(DomainError::invalid(field, "at least one tag"));
            }
            if items.iter().any(|t| t.contains(':')) {
                return Err(DomainError::invalid(field, "tags cannot contain ':'"));
            }
            if items.iter().collect::<BTreeSet<_>>().len() != items.len() {
                return Err(DomainError::invalid(field, "each tag once"));
            }
        }
        Ok(())
    }
}

/// When a tag's share in a region counts as a spike: a one-sided two-proportion z-test of
/// this week's share against the pooled share of the `baseline_weeks` before it. The
/// default z of 3.09 is α = 0.001, strict because every tag in every region is tested each
/// week; `min_count` and `min_lift` keep a tiny or barely-higher share from alarming anyone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SpikeTest {
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 12))]
    pub baseline_weeks: u32,
    /// Tagged sales of the tag this week, at least.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 10000))]
    pub min_count: u32,
    /// This week's share over the baseline's, at least.
    #[cfg_attr(feature = "openapi", schema(minimum = 1.0, maximum = 100.0))]
    pub min_lift: f64,
    #[cfg_attr(feature = "openapi", schema(minimum = 1.0, maximum = 10.0))]
    pub z: f64,
}

impl Default for SpikeTest {
    fn default() -> Self {
        Self {
            baseline_weeks: 4,
            min_count: 5,
            min_lift: 1.5,
            z: 3.09,
        }
    }
}

impl SpikeTest {
    fn validate(&self) -> Result<(), DomainError> {
        if !(1..=12).contains(&self.baseline_weeks) {
            return Err(DomainError::invalid("spike.baseline_weeks", "1 to 12"));
        }
        if !(1..=10_000).contains(&self.min_count) {
            return Err(DomainError::invalid("spike.min_count", "1 to 10000"));
        }
        if !(1.0..=100.0).contains(&self.min_lift) {
            return Err(DomainError::invalid("spike.min_lift", "1 to 100"));
        }
        if !(1.0..=10.0).contains(&self.z) {
            return Err(DomainError::invalid("spike.z", "1 to 10"));
        }
        Ok(())
    }

    /// The z statistic of `x` of `n` this week against `x0` of `n0` in the baseline, when
    /// the test applies (both periods have sales).
    pub fn z_score(x: u64, n: u64, x0: u64, n0: u64) -> Option<f64> {
        if n == 0 || n0 == 0 {
            return None;
        }
        let (x, n, x0, n0) = (x as f64, n as f64, x0 as f64, n0 as f64);
        let pooled = (x + x0) / (n + n0);
        let se = (pooled * (1.0 - pooled) * (1.0 / n + 1.0 / n0)).sqrt();
        (se > 0.0).then(|| (x / n - x0 / n0) / se)
    }
}

/// The lowest shelf price a SKU may show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PriceFloor {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 60))]
    pub sku: String,
    /// In the currency's units as printed on tags (`"4.50"`).
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = r"^[0-9]{1,7}(\.[0-9]{1,2})?$", example = "4.50")
    )]
    pub floor: String,
}

/// A tenant's retail settings: the quick-tag catalogue, the spike test, and what shelf
/// photos are checked against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RetailPolicy {
    pub sale_tags: SaleTagCatalogue,
    pub spike: SpikeTest,
    /// A shelf price under its SKU's floor makes a task (rule `shelf-price-under-floor`).
    #[cfg_attr(feature = "openapi", schema(max_items = 500))]
    pub price_floors: Vec<PriceFloor>,
    /// A store customer with one of these tags is a key store, whose shelf must be
    /// photographed every few days (rules `key-store-shelf-*`).
    pub key_store_tags: Vec<String>,
}

impl Default for RetailPolicy {
    fn default() -> Self {
        Self {
            sale_tags: SaleTagCatalogue::default(),
            spike: SpikeTest::default(),
            price_floors: Vec::new(),
            key_store_tags: vec!["key".into(), "重点门店".into(), "KA".into()],
        }
    }
}

impl RetailPolicy {
    pub fn validate(&self) -> Result<(), DomainError> {
        self.sale_tags.validate()?;
        self.spike.validate()?;
        text_list("key_store_tags", &self.key_store_tags, 20)?;
        if self.price_floors.len() > 500 {
            return Err(DomainError::invalid("price_floors", "at most 500"));
        }
        let mut seen = BTreeSet::new();
        for floor in &self.price_floors {
            let sku = floor.sku.trim();
            if sku.is_empty() || sku.chars().count() > 60 || !seen.insert(sku) {
                return Err(DomainError::invalid(
                    "price_floors.sku",
                    "1-60 characters, each SKU once",
                ));
            }
            if price_cents(&floor.floor).is_none() {
                return Err(DomainError::invalid(
                    "price_floors.floor",
                    "a price such as 4.50",
                ));
            }
        }
        Ok(())
    }

    /// The floor (in cents) a shelf photo's prices are held to: the lowest among `skus`'
    /// floors, or among all floors when the photo names no floored SKU. Tags are not yet
    /// matched to SKUs, so only a price under every candidate floor is surely too low.
    pub fn floor_for(&self, skus: &[String]) -> Option<u64> {
        let floors = |only: Option<&[String]>| {
            self.price_floors
                .iter()
                .filter(|f| only.is_none_or(|skus| skus.iter().any(|s| s.trim() == f.sku.trim())))
                .filter_map(|f| price_cents(&f.floor))
                .min()
        };
        floors(Some(skus)).or_else(|| floors(None))
    }

    /// Whether `customer` is one of the tenant's key stores: a store with a key-store tag.
    pub fn is_key_store(&self, customer: &crate::customer::Customer) -> bool {
        customer.kind == crate::customer::CustomerKind::Store && self.has_key_tag(&customer.tags)
    }

    fn has_key_tag(&self, tags: &[String]) -> bool {
        tags.iter().any(|t| {
            self.key_store_tags
                .iter()
                .any(|k| k.eq_ignore_ascii_case(t.trim()))
        })
    }
}

/// A price as shelf tags print it (`12.80`, `12,80`, `¥12.8`, `12.8元`, `2,75 €`) in cents;
/// `None` for anything else (thousands separators are not shelf-tag prices).
pub fn price_cents(raw: &str) -> Option<u64> {
    let digits: String = raw
        .trim()
        .trim_start_matches(['¥', '￥', '$', '€', '£'])
        .trim_end_matches(['元', '€', '$'])
        .trim()
        .replace(',', ".");
    let (whole, frac) = match digits.split_once('.') {
        Some((w, f)) => (w, f),
        None => (digits.as_str(), ""),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || whole.len() > 7
        || frac.len() > 2
        || !all_digits(whole)
        || !all_digits(frac)
    {
        return None;
    }
    let cents = match frac.len() {
        0 => 0,
        1 => frac.parse::<u64>().ok()? * 10,
        _ => frac.parse::<u64>().ok()?,
    };
    Some(whole.parse::<u64>().ok()? * 100 + cents)
}

/// An ISO week (Monday to Sunday), named `2026-W48`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Week(NaiveDate);

impl Week {
    /// The week `at` falls in, in the tenant's zone.
    pub fn of(at: DateTime<Utc>, zone: chrono_tz::Tz) -> Week {
        Week::containing(at.with_timezone(&zone).date_naive())
    }

    pub fn containing(day: NaiveDate) -> Week {
        Week(day - Duration::days(i64::from(day.weekday().num_days_from_monday())))
    }

    /// The Monday it starts on.
    pub fn monday(self) -> NaiveDate {
        self.0
    }

    pub fn previous(self) -> Week {
        Week(self.0 - Duration::days(7))
    }

    /// `2026-W48`; `None` for anything else.
    pub fn parse(raw: &str) -> Option<Week> {
        let (year, week) = raw.split_once("-W")?;
        if week.len() != 2 {
            return None;
        }
        let day = NaiveDate::from_isoywd_opt(
            year.parse().ok()?,
            week.parse().ok()?,
            chrono::Weekday::Mon,
        )?;
        Some(Week(day))
    }
}

impl std::fmt::Display for Week {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let iso = self.0.iso_week();
        write!(f, "{}-W{:02}", iso.year(), iso.week())
    }
}

/// What a shop assistant sends: one tag per dimension, at least one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewSaleTags {
    #[serde(default)]
    pub focus: Option<String>,
    #[serde(default)]
    pub obstacle: Option<String>,
    #[serde(default)]
    pub competitor: Option<String>,
    /// When the sale happened (a phone that was offline sends it later); default now. At
    /// most 14 days ago.
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
}

/// The longest a phone may hold a tag before sending it.
pub const MAX_TAG_AGE_DAYS: i64 = 14;

/// One tagged sale at a store, counted in its week and region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SaleTags {
    pub id: SaleTagsId,
    pub tenant: TenantId,
    pub store: CustomerId,
    /// The store's team id, or `none` for a store without a team.
    pub region: String,
    /// `2026-W48`, in the tenant's zone.
    pub week: String,
    /// `dimension:tag` (`obstacle:太贵`), in the order focus, obstacle, competitor.
    pub tags: Vec<String>,
    pub by: UserId,
    pub at: DateTime<Utc>,
}

/// The region of stores without a team.
pub const NO_REGION: &str = "none";

/// The counter key every sale adds one to: the denominator of every share.
pub const SALES_KEY: &str = "*";

impl SaleTags {
    /// Checks the tags against the catalogue and the time against `now`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        input: &NewSaleTags,
        id: SaleTagsId,
        tenant: &TenantId,
        store: CustomerId,
        region: String,
        by: UserId,
        catalogue: &SaleTagCatalogue,
        zone: chrono_tz::Tz,
        now: DateTime<Utc>,
    ) -> Result<SaleTags, DomainError> {
        let mut tags = Vec::new();
        for (dimension, value) in [
            (TagDimension::Focus, &input.focus),
            (TagDimension::Obstacle, &input.obstacle),
            (TagDimension::Competitor, &input.competitor),
        ] {
            let Some(value) = value.as_deref().map(str::trim) else {
                continue;
            };
            if !catalogue.of(dimension).iter().any(|t| t.trim() == value) {
                return Err(DomainError::invalid(
                    dimension.as_str(),
                    "a tag from the tenant's catalogue (GET /v1/settings/retail)",
                ));
            }
            tags.push(format!("{}:{value}", dimension.as_str()));
        }
        if tags.is_empty() {
            return Err(DomainError::invalid(
                "focus",
                "at least one of focus, obstacle and competitor",
            ));
        }
        let at = input.at.unwrap_or(now);
        if at > now + Duration::minutes(5) || at < now - Duration::days(MAX_TAG_AGE_DAYS) {
            return Err(DomainError::invalid(
                "at",
                format!("within the last {MAX_TAG_AGE_DAYS} days"),
            ));
        }
        Ok(SaleTags {
            id,
            tenant: tenant.clone(),
            store,
            region,
            week: Week::of(at, zone).to_string(),
            tags,
            by,
            at,
        })
    }
}

/// How many sales in a week and region carried a tag (`tag` = `SALES_KEY`: all sales).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagCount {
    pub week: String,
    pub region: String,
    pub tag: String,
    pub count: u64,
}

/// A tag whose share of a region's sales this week is significantly over its baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Spike {
    pub region: String,
    pub week: String,
    pub tag: String,
    pub count: u64,
    pub sales: u64,
    pub share: f64,
    pub baseline_share: f64,
    pub baseline_sales: u64,
    pub z: f64,
}

impl Spike {
    /// The key that makes a spike announced once.
    pub fn key(&self) -> String {
        format!("{}|{}|{}", self.region, self.week, self.tag)
    }
}

/// Counts by region, then week, then tag.
type Table = BTreeMap<String, BTreeMap<String, BTreeMap<String, u64>>>;

fn table(counts: &[TagCount]) -> Table {
    let mut table = Table::new();
    for c in counts {
        *table
            .entry(c.region.clone())
            .or_default()
            .entry(c.week.clone())
            .or_default()
            .entry(c.tag.clone())
            .or_default() += c.count;
    }
    table
}

/// The spikes in `week` among `counts` (which must hold that week and the baseline weeks
/// before it), for `only` these tags when given.
pub fn find_spikes(
    counts: &[TagCount],
    week: Week,
    test: &SpikeTest,
    only: Option<&[String]>,
) -> Vec<Spike> {
    let baseline: Vec<String> =
        std::iter::successors(Some(week.previous()), |w| Some(w.previous()))
            .take(test.baseline_weeks as usize)
            .map(|w| w.to_string())
            .collect();
    let week = week.to_string();
    let mut spikes = Vec::new();
    for (region, weeks) in table(counts) {
        let Some(now) = weeks.get(&week) else {
            continue;
        };
        let sales = now.get(SALES_KEY).copied().unwrap_or(0);
        let in_baseline = |tag: &str| -> u64 {
            baseline
                .iter()
                .filter_map(|w| weeks.get(w).and_then(|t| t.get(tag)))
                .sum()
        };
        let baseline_sales = in_baseline(SALES_KEY);
        for (tag, &count) in now {
            if tag == SALES_KEY || only.is_some_and(|o| !o.contains(tag)) {
                continue;
            }
            let before = in_baseline(tag);
            let Some(z) = SpikeTest::z_score(count, sales, before, baseline_sales) else {
                continue;
            };
            let share = count as f64 / sales as f64;
            let baseline_share = before as f64 / baseline_sales as f64;
            if count >= u64::from(test.min_count)
                && z >= test.z
                && share >= baseline_share * test.min_lift
            {
                spikes.push(Spike {
                    region: region.clone(),
                    week: week.clone(),
                    tag: tag.clone(),
                    count,
                    sales,
                    share,
                    baseline_share,
                    baseline_sales,
                    z,
                });
            }
        }
    }
    spikes
}

/// One tag's count and share of a region's week.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TagShare {
    pub tag: String,
    pub count: u64,
    pub share: f64,
}

/// A region's week: its tagged sales and each tag's share, most frequent first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegionWeek {
    pub region: String,
    pub week: String,
    pub sales: u64,
    pub tags: Vec<TagShare>,
}

/// The weeks `weeks` of `counts` as region-weeks, by region then week.
pub fn region_weeks(counts: &[TagCount], weeks: &[Week]) -> Vec<RegionWeek> {
    let wanted: BTreeSet<String> = weeks.iter().map(Week::to_string).collect();
    let mut out = Vec::new();
    for (region, by_week) in table(counts) {
        for (week, tags) in by_week {
            if !wanted.contains(&week) {
                continue;
            }
            let sales = tags.get(SALES_KEY).copied().unwrap_or(0);
            let mut shares: Vec<TagShare> = tags
                .iter()
                .filter(|(t, _)| t.as_str() != SALES_KEY)
                .map(|(tag, &count)| TagShare {
                    tag: tag.clone(),
                    count,
                    share: if sales == 0 {
                        0.0
                    } else {
                        count as f64 / sales as f64
                    },
                })
                .collect();
            shares.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.tag.cmp(&b.tag)));
            out.push(RegionWeek {
                region: region.clone(),
                week,
                sales,
                tags: shares,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(week: &str, tag: &str, n: u64) -> TagCount {
        TagCount {
            week: week.into(),
            region: "r1".into(),
            tag: tag.into(),
            count: n,
        }
    }

    fn baseline(weeks: &[&str], sales: u64, of_tag: u64) -> Vec<TagCount> {
        weeks
            .iter()
            .flat_map(|w| {
                [
                    count(w, SALES_KEY, sales),
                    count(w, "obstacle:太贵", of_tag),
                ]
            })
            .collect()
    }

    const BASE: [&str; 4] = ["2026-W44", "2026-W45", "2026-W46", "2026-W47"];

    #[test]
    fn weeks_are_iso_weeks_in_the_tenants_zone() {
        // Sunday 16:30 UTC is already Monday 00:30 in Shanghai.
        let at: DateTime<Utc> = "2026-11-29T16:30:00Z".parse().unwrap();
        assert_eq!(
            Week::of(at, chrono_tz::Asia::Shanghai).to_string(),
            "2026-W49"
        );
        assert_eq!(Week::of(at, chrono_tz::UTC).to_string(), "2026-W48");
        let w = Week::parse("2026-W01").unwrap();
        assert_eq!(w.previous().to_string(), "2025-W52");
        assert_eq!(Week::parse("2026-W1"), None);
        assert_eq!(Week::parse("2026-W54"), None);
    }

    #[test]
    fn a_share_that_jumps_is_a_spike_and_a_steady_one_is_not() {
        let week = Week::parse("2026-W48").unwrap();
        let mut counts = baseline(&BASE, 100, 10);
        counts.push(count("2026-W48", SALES_KEY, 100));
        counts.push(count("2026-W48", "obstacle:太贵", 30));
        let spikes = find_spikes(&counts, week, &SpikeTest::default(), None);
        assert_eq!(spikes.len(), 1, "{spikes:?}");
        let s = &spikes[0];
        assert_eq!((s.count, s.sales, s.baseline_sales), (30, 100, 400));
        assert!((s.share - 0.3).abs() < 1e-9 && (s.baseline_share - 0.1).abs() < 1e-9);
        assert!(s.z > 3.09, "{}", s.z);

        // Same share as before: no spike.
        let mut steady = baseline(&BASE, 100, 10);
        steady.push(count("2026-W48", SALES_KEY, 100));
        steady.push(count("2026-W48", "obstacle:太贵", 12));
        assert!(find_spikes(&steady, week, &SpikeTest::default(), None).is_empty());
    }

    #[test]
    fn small_numbers_and_missing_baselines_do_not_alarm() {
        let week = Week::parse("2026-W48").unwrap();
        // 4 of 5 sales is a high share, but under the minimum count.
        let mut few = baseline(&BASE, 100, 5);
        few.push(count("2026-W48", SALES_KEY, 5));
        few.push(count("2026-W48", "obstacle:太贵", 4));
        assert!(find_spikes(&few, week, &SpikeTest::default(), None).is_empty());
        // No baseline sales at all: nothing to compare with.
        let fresh = vec![
            count("2026-W48", SALES_KEY, 50),
            count("2026-W48", "obstacle:太贵", 40),
        ];
        assert!(find_spikes(&fresh, week, &SpikeTest::default(), None).is_empty());
        // Only the asked-for tags are tested.
        let mut counts = baseline(&BASE, 100, 10);
        counts.push(count("2026-W48", SALES_KEY, 100));
        counts.push(count("2026-W48", "obstacle:太贵", 30));
        let other = ["focus:价格".to_owned()];
        assert!(find_spikes(&counts, week, &SpikeTest::default(), Some(&other)).is_empty());
    }

    #[test]
    fn the_z_score_matches_the_textbook_value() {
        // 30/100 against 40/400: pooled 0.14, se = sqrt(.14*.86*(.01+.0025)) = 0.03880.
        let z = SpikeTest::z_score(30, 100, 40, 400).unwrap();
        assert!((z - 5.1547).abs() < 1e-3, "{z}");
        assert_eq!(SpikeTest::z_score(1, 0, 1, 10), None);
        assert_eq!(SpikeTest::z_score(0, 10, 0, 10), None);
    }

    #[test]
    fn tags_come_from_the_catalogue() {
        let catalogue = SaleTagCatalogue::default();
        let now: DateTime<Utc> = "2026-11-27T03:00:00Z".parse().unwrap();
        let make = |input: NewSaleTags| {
            SaleTags::new(
                &input,
                SaleTagsId::new(),
                &TenantId::parse("acme").unwrap(),
                CustomerId::new(),
                NO_REGION.into(),
                UserId::new(),
                &catalogue,
                chrono_tz::Asia::Shanghai,
                now,
            )
        };
        let ok = make(NewSaleTags {
            focus: Some("价格".into()),
            obstacle: None,
            competitor: Some(" 怡宝 ".into()),
            at: None,
        })
        .unwrap();
        assert_eq!(ok.tags, ["focus:价格", "competitor:怡宝"]);
        assert_eq!(ok.week, "2026-W48");
        let unknown = NewSaleTags {
            focus: Some("颜值".into()),
            obstacle: None,
            competitor: None,
            at: None,
        };
        assert!(make(unknown).is_err());
        let none = NewSaleTags {
            focus: None,
            obstacle: None,
            competitor: None,
            at: None,
        };
        assert!(make(none).is_err());
        let stale = NewSaleTags {
            focus: Some("价格".into()),
            obstacle: None,
            competitor: None,
            at: Some(now - Duration::days(15)),
        };
        assert!(make(stale).is_err());
    }

    #[test]
    fn shelf_prices_read_as_tags_print_them() {
        assert_eq!(price_cents("12.80"), Some(1280));
        assert_eq!(price_cents("12,8"), Some(1280));
        assert_eq!(price_cents("¥4.5"), Some(450));
        assert_eq!(price_cents("3元"), Some(300));
        assert_eq!(price_cents("2,75 €"), Some(275));
        assert_eq!(price_cents("1.234.5"), None);
        assert_eq!(price_cents("abc"), None);
        assert_eq!(price_cents(""), None);
    }

    #[test]
    fn the_floor_is_the_photographed_skus_or_else_the_lowest() {
        let policy = RetailPolicy {
            price_floors: vec![
                PriceFloor {
                    sku: "COLA-500".into(),
                    floor: "3.50".into(),
                },
                PriceFloor {
                    sku: "TEA-500".into(),
                    floor: "2.80".into(),
                },
            ],
            ..RetailPolicy::default()
        };
        policy.validate().unwrap();
        assert_eq!(policy.floor_for(&["COLA-500".into()]), Some(350));
        assert_eq!(policy.floor_for(&["OTHER".into()]), Some(280));
        assert_eq!(policy.floor_for(&[]), Some(280));
        assert_eq!(RetailPolicy::default().floor_for(&[]), None);
        assert!(policy.has_key_tag(&["重点门店".into()]));
        assert!(policy.has_key_tag(&["Key".into()]));
        assert!(!policy.has_key_tag(&["new".into()]));
    }

    #[test]
    fn a_bad_policy_is_refused() {
        let mut p = RetailPolicy::default();
        p.sale_tags.focus.clear();
        assert!(p.validate().is_err());
        let mut p = RetailPolicy::default();
        p.sale_tags.obstacle.push("太贵".into());
        assert!(p.validate().is_err());
        let mut p = RetailPolicy::default();
        p.price_floors.push(PriceFloor {
            sku: "X".into(),
            floor: "cheap".into(),
        });
        assert!(p.validate().is_err());
        let p = RetailPolicy {
            spike: SpikeTest {
                z: 0.5,
                ..SpikeTest::default()
            },
            ..RetailPolicy::default()
        };
        assert!(p.validate().is_err());
        RetailPolicy::default().validate().unwrap();
    }
}
