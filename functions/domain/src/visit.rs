//! Store visits (seed 003): a rep checks in at a customer with the phone's position, does the
//! visit's key actions, and checks out; the visit counts as valid only with what the tenant
//! requires, and a check-in far from the customer's known location is flagged, not silently
//! accepted. The seeds' 无效拜访率 (invalid visit rate) is the share of visits that are not.
//!
//! Positions are WGS-84, what phones' GPS reports. Chinese map apps (AMap, Tencent) and the
//! coordinates copied from them use GCJ-02, offset by up to several hundred metres; a position
//! given in GCJ-02 is converted to WGS-84 before it is compared or stored.

use crate::error::DomainError;
use crate::id::{CustomerId, TeamId, TenantId, UploadId, UserId, VisitId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A position as a phone reports it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GeoFix {
    #[cfg_attr(feature = "openapi", schema(minimum = -90.0, maximum = 90.0))]
    pub lat: f64,
    #[cfg_attr(feature = "openapi", schema(minimum = -180.0, maximum = 180.0))]
    pub lon: f64,
    /// The radius of the phone's confidence circle, in metres.
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 10000.0))]
    pub accuracy_m: f64,
    /// `wgs84` (GPS, the default) or `gcj02` (Chinese map apps).
    #[serde(default)]
    pub datum: Datum,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Datum {
    #[default]
    Wgs84,
    Gcj02,
}

impl GeoFix {
    /// Checked, and in WGS-84.
    pub fn normalised(self) -> Result<GeoFix, DomainError> {
        let finite = self.lat.is_finite() && self.lon.is_finite() && self.accuracy_m.is_finite();
        if !finite || !(-90.0..=90.0).contains(&self.lat) || !(-180.0..=180.0).contains(&self.lon) {
            return Err(DomainError::invalid(
                "position",
                "lat within ±90, lon within ±180",
            ));
        }
        if !(0.0..=10_000.0).contains(&self.accuracy_m) {
            return Err(DomainError::invalid(
                "position.accuracy_m",
                "0 to 10000 metres",
            ));
        }
        let (lat, lon) = match self.datum {
            Datum::Wgs84 => (self.lat, self.lon),
            Datum::Gcj02 => gcj02_to_wgs84(self.lat, self.lon),
        };
        Ok(GeoFix {
            lat,
            lon,
            accuracy_m: self.accuracy_m,
            datum: Datum::Wgs84,
        })
    }
}

/// Great-circle distance in metres (haversine, mean Earth radius).
pub fn distance_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    const R: f64 = 6_371_008.8;
    let (la1, la2) = (a.0.to_radians(), b.0.to_radians());
    let dlat = la2 - la1;
    let dlon = (b.1 - a.1).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * R * h.sqrt().asin()
}

/// Whether a point lies in the rough box the published conversion applies the offset in. It
/// is a box, so it also covers places outside mainland China; a client that knows its point
/// was never offset should send it as `wgs84`.
fn in_china(lat: f64, lon: f64) -> bool {
    (72.004..=137.8347).contains(&lon) && (0.8293..=55.8271).contains(&lat)
}

/// The published GCJ-02 offset at a point (Krasovsky ellipsoid constants).
fn gcj02_offset(lat: f64, lon: f64) -> (f64, f64) {
    const A: f64 = 6_378_245.0;
    const EE: f64 = 0.006_693_421_622_965_943;
    let (x, y) = (lon - 105.0, lat - 35.0);
    let pi = std::f64::consts::PI;
    let mut dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    dlat += (20.0 * (6.0 * x * pi).sin() + 20.0 * (2.0 * x * pi).sin()) * 2.0 / 3.0;
    dlat += (20.0 * (y * pi).sin() + 40.0 * (y / 3.0 * pi).sin()) * 2.0 / 3.0;
    dlat += (160.0 * (y / 12.0 * pi).sin() + 320.0 * (y * pi / 30.0).sin()) * 2.0 / 3.0;
    let mut dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    dlon += (20.0 * (6.0 * x * pi).sin() + 20.0 * (2.0 * x * pi).sin()) * 2.0 / 3.0;
    dlon += (20.0 * (x * pi).sin() + 40.0 * (x / 3.0 * pi).sin()) * 2.0 / 3.0;
    dlon += (150.0 * (x / 12.0 * pi).sin() + 300.0 * (x / 30.0 * pi).sin()) * 2.0 / 3.0;
    let rad = lat.to_radians();
    let magic = 1.0 - EE * rad.sin().powi(2);
    let sqrt_magic = magic.sqrt();
    let dlat = (dlat * 180.0) / ((A * (1.0 - EE)) / (magic * sqrt_magic) * pi);
    let dlon = (dlon * 180.0) / (A / sqrt_magic * rad.cos() * pi);
    (dlat, dlon)
}

/// WGS-84 to GCJ-02 (what a Chinese map app shows for a GPS position).
pub fn wgs84_to_gcj02(lat: f64, lon: f64) -> (f64, f64) {
    if !in_china(lat, lon) {
        return (lat, lon);
    }
    let (dlat, dlon) = gcj02_offset(lat, lon);
    (lat + dlat, lon + dlon)
}

/// GCJ-02 back to WGS-84, by fixed-point iteration on the forward transform (the offset
/// varies slowly, so a few rounds reach centimetres).
pub fn gcj02_to_wgs84(lat: f64, lon: f64) -> (f64, f64) {
    if !in_china(lat, lon) {
        return (lat, lon);
    }
    let (mut wlat, mut wlon) = (lat, lon);
    for _ in 0..10 {
        let (glat, glon) = wgs84_to_gcj02(wlat, wlon);
        wlat -= glat - lat;
        wlon -= glon - lon;
    }
    (wlat, wlon)
}

/// What a tenant requires of a valid visit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VisitPolicy {
    /// A check-in farther than this from the customer's location is flagged (metres; the
    /// phone's stated accuracy is allowed on top, up to 200 m of it).
    pub max_distance_m: f64,
    /// A visit shorter than this is not valid.
    pub min_dwell_minutes: u32,
    pub require_checkout: bool,
    pub require_photo: bool,
    /// At least one key action (陈列调整, 竞品拦截, 试饮…).
    pub require_action: bool,
    /// The key actions reps pick from.
    pub actions: Vec<String>,
}

impl Default for VisitPolicy {
    fn default() -> Self {
        Self {
            max_distance_m: 300.0,
            min_dwell_minutes: 5,
            require_checkout: true,
            require_photo: true,
            require_action: true,
            actions: [
                "陈列调整",
                "竞品拦截",
                "试饮",
                "补货",
                "价签核对",
                "培训店员",
            ]
            .map(String::from)
            .to_vec(),
        }
    }
}

impl VisitPolicy {
    pub fn validate(&self) -> Result<(), DomainError> {
        if !(10.0..=10_000.0).contains(&self.max_distance_m) {
            return Err(DomainError::invalid("max_distance_m", "10 to 10000 metres"));
        }
        if self.min_dwell_minutes > 600 {
            return Err(DomainError::invalid("min_dwell_minutes", "at most 600"));
        }
        if self.actions.is_empty() {
            return Err(DomainError::invalid("actions", "at least one key action"));
        }
        text_list("actions", &self.actions, 30).map(|_| ())
    }
}

/// The accuracy a check-in may add to the distance allowed: a phone that says it is unsure
/// by 2 km does not get 2 km of slack.
const MAX_ACCURACY_SLACK_M: f64 = 200.0;

/// How far a check-in was from where the customer is, and whether that is too far.
pub fn check_distance(
    policy: &VisitPolicy,
    at: &GeoFix,
    known: Option<(f64, f64)>,
) -> (Option<f64>, bool) {
    let Some(known) = known else {
        return (None, false);
    };
    let d = (distance_m((at.lat, at.lon), known) * 10.0).round() / 10.0;
    let allowed = policy.max_distance_m + at.accuracy_m.min(MAX_ACCURACY_SLACK_M);
    (Some(d), d > allowed)
}

/// A visit as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Visit {
    pub id: VisitId,
    pub tenant: TenantId,
    pub customer: CustomerId,
    pub owner: UserId,
    pub team: Option<TeamId>,
    pub purpose: String,
    pub target_skus: Vec<String>,
    pub checked_in_at: DateTime<Utc>,
    pub check_in: GeoFix,
    /// Metres from the customer's first mapped address; `None` without one.
    pub distance_m: Option<f64>,
    /// Farther than the policy allows: shown to the manager, counted against validity.
    pub far: bool,
    pub checked_out_at: Option<DateTime<Utc>>,
    pub check_out: Option<GeoFix>,
    pub actions: Vec<String>,
    pub photos: Vec<UploadId>,
    /// Decided at check-out (or when the visit is closed without one).
    pub valid: Option<bool>,
    pub invalid_reasons: Vec<String>,
    pub version: u64,
}

impl Visit {
    /// The minutes between check-in and check-out.
    pub fn dwell_minutes(&self) -> Option<f64> {
        self.checked_out_at.map(|out| {
            ((out - self.checked_in_at).num_seconds() as f64 / 60.0 * 10.0).round() / 10.0
        })
    }

    /// Whether the visit meets `policy`, and if not, why (in both languages).
    pub fn judge(&self, policy: &VisitPolicy) -> (bool, Vec<String>) {
        let mut why = Vec::new();
        if self.far {
            why.push("签到位置离客户过远 / checked in too far from the customer".to_owned());
        }
        if policy.require_checkout && self.checked_out_at.is_none() {
            why.push("未签退 / never checked out".to_owned());
        }
        if let Some(minutes) = self.dwell_minutes()
            && minutes < f64::from(policy.min_dwell_minutes)
        {
            why.push(format!(
                "停留 {minutes} 分钟，少于 {} 分钟 / stayed {minutes} min, under {} min",
                policy.min_dwell_minutes, policy.min_dwell_minutes
            ));
        }
        if policy.require_photo && self.photos.is_empty() {
            why.push("没有货架照片 / no shelf photo".to_owned());
        }
        if policy.require_action && self.actions.is_empty() {
            why.push("没有关键动作 / no key action recorded".to_owned());
        }
        (why.is_empty(), why)
    }
}

/// A check-in as a phone sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckIn {
    pub customer: CustomerId,
    pub position: GeoFix,
    /// Why the rep is there (铺货检查, 新品推广…); 1-200 characters.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, pattern = r"\S")
    )]
    pub purpose: String,
    /// The SKUs the visit is about; at most 20.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 20))]
    pub target_skus: Vec<String>,
}

/// A check-out: where the rep was, what they did, the shelf photos they took.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckOut {
    #[serde(default)]
    pub position: Option<GeoFix>,
    /// Key actions done, from the tenant's list (陈列调整, 竞品拦截, 试饮…).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 20))]
    pub actions: Vec<String>,
    /// Uploads (shelf photos) taken during the visit.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 20))]
    pub photos: Vec<UploadId>,
}

pub(crate) fn text_list(
    field: &str,
    items: &[String],
    max: usize,
) -> Result<Vec<String>, DomainError> {
    if items.len() > max {
        return Err(DomainError::invalid(field, format!("at most {max}")));
    }
    items
        .iter()
        .map(|t| {
            let t = t.trim();
            if t.is_empty() || t.chars().count() > 60 || t.chars().any(char::is_control) {
                Err(DomainError::invalid(field, "each 1-60 characters"))
            } else {
                Ok(t.to_owned())
            }
        })
        .collect()
}

impl Visit {
    /// A new visit from a check-in, with the distance to the customer's known location
    /// (`known`, WGS-84) judged against `policy`.
    pub fn check_in(
        input: &CheckIn,
        id: VisitId,
        owner: (UserId, Option<TeamId>),
        tenant: &TenantId,
        known: Option<(f64, f64)>,
        policy: &VisitPolicy,
        now: DateTime<Utc>,
    ) -> Result<Visit, DomainError> {
        let purpose = input.purpose.trim();
        if purpose.is_empty() || purpose.chars().count() > 200 {
            return Err(DomainError::invalid("purpose", "1-200 characters"));
        }
        let position = input.position.normalised()?;
        let (distance_m, far) = check_distance(policy, &position, known);
        Ok(Visit {
            id,
            tenant: tenant.clone(),
            customer: input.customer,
            owner: owner.0,
            team: owner.1,
            purpose: purpose.to_owned(),
            target_skus: text_list("target_skus", &input.target_skus, 20)?,
            checked_in_at: now,
            check_in: position,
            distance_m,
            far,
            checked_out_at: None,
            check_out: None,
            actions: vec![],
            photos: vec![],
            valid: None,
            invalid_reasons: vec![],
            version: 1,
        })
    }

    /// Checks the visit out and judges it; `false` when it was checked out already (a
    /// retry changes nothing).
    pub fn check_out(
        &mut self,
        input: &CheckOut,
        policy: &VisitPolicy,
        now: DateTime<Utc>,
    ) -> Result<bool, DomainError> {
        if self.checked_out_at.is_some() {
            return Ok(false);
        }
        let actions = text_list("actions", &input.actions, 20)?;
        if let Some(unknown) = actions.iter().find(|a| !policy.actions.contains(a)) {
            return Err(DomainError::invalid(
                "actions",
                format!("{unknown} is not one of the tenant's key actions"),
            ));
        }
        // Photos capture attached during the visit stay; the check-out adds its own.
        let mut photos = self.photos.clone();
        for p in &input.photos {
            if !photos.contains(p) {
                photos.push(*p);
            }
        }
        if photos.len() > 20 {
            return Err(DomainError::invalid("photos", "at most 20 in all"));
        }
        self.check_out = input.position.map(GeoFix::normalised).transpose()?;
        self.checked_out_at = Some(now.max(self.checked_in_at));
        self.actions = actions;
        self.photos = photos;
        let (valid, why) = self.judge(policy);
        self.valid = Some(valid);
        self.invalid_reasons = why;
        self.version += 1;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gcj02_round_trips_to_centimetres_and_leaves_the_rest_of_the_world_alone() {
        // The Bund, Shanghai (WGS-84).
        let (lat, lon) = (31.2400, 121.4900);
        let (glat, glon) = wgs84_to_gcj02(lat, lon);
        let shift = distance_m((lat, lon), (glat, glon));
        assert!((300.0..700.0).contains(&shift), "GCJ-02 shift {shift} m");
        let back = gcj02_to_wgs84(glat, glon);
        assert!(distance_m((lat, lon), back) < 0.05);
        assert_eq!(wgs84_to_gcj02(51.5, -0.12), (51.5, -0.12));
        let fix = GeoFix {
            lat: glat,
            lon: glon,
            accuracy_m: 10.0,
            datum: Datum::Gcj02,
        }
        .normalised()
        .unwrap();
        assert!(distance_m((fix.lat, fix.lon), (lat, lon)) < 0.05);
        assert_eq!(fix.datum, Datum::Wgs84);
    }

    #[test]
    fn distances_match_known_figures() {
        // Shanghai to Beijing, about 1,067 km.
        let d = distance_m((31.2304, 121.4737), (39.9042, 116.4074));
        assert!((1_060_000.0..1_075_000.0).contains(&d), "{d}");
        assert_eq!(distance_m((10.0, 10.0), (10.0, 10.0)), 0.0);
    }

    #[test]
    fn far_check_ins_are_flagged_with_bounded_slack_for_accuracy() {
        let policy = VisitPolicy::default();
        let store = (31.2400, 121.4900);
        let at = |north_m: f64, accuracy_m: f64| GeoFix {
            lat: store.0 + north_m / 111_195.0,
            lon: store.1,
            accuracy_m,
            datum: Datum::Wgs84,
        };
        assert!(!check_distance(&policy, &at(250.0, 10.0), Some(store)).1);
        assert!(check_distance(&policy, &at(350.0, 10.0), Some(store)).1);
        assert!(!check_distance(&policy, &at(350.0, 80.0), Some(store)).1);
        assert!(check_distance(&policy, &at(900.0, 5000.0), Some(store)).1);
        assert_eq!(
            check_distance(&policy, &at(900.0, 5.0), None),
            (None, false)
        );
        let bad = GeoFix {
            lat: 91.0,
            ..at(0.0, 5.0)
        };
        assert!(bad.normalised().is_err());
    }

    #[test]
    fn a_visit_is_valid_only_with_what_the_tenant_requires() {
        let t0: DateTime<Utc> = "2026-11-23T02:00:00Z".parse().unwrap();
        let fix = GeoFix {
            lat: 31.24,
            lon: 121.49,
            accuracy_m: 8.0,
            datum: Datum::Wgs84,
        };
        let mut v = Visit {
            id: VisitId::new(),
            tenant: TenantId::parse("acme").unwrap(),
            customer: CustomerId::new(),
            owner: UserId::new(),
            team: None,
            purpose: "铺货检查".into(),
            target_skus: vec![],
            checked_in_at: t0,
            check_in: fix,
            distance_m: Some(12.0),
            far: false,
            checked_out_at: None,
            check_out: None,
            actions: vec![],
            photos: vec![],
            valid: None,
            invalid_reasons: vec![],
            version: 1,
        };
        let policy = VisitPolicy::default();
        let (ok, why) = v.judge(&policy);
        assert!(!ok);
        assert_eq!(why.len(), 3, "{why:?}");
        v.checked_out_at = Some(t0 + chrono::Duration::minutes(3));
        v.actions = vec!["陈列调整".into()];
        v.photos = vec![UploadId::new()];
        assert_eq!(v.dwell_minutes(), Some(3.0));
        assert_eq!(v.judge(&policy).1.len(), 1, "too short");
        v.checked_out_at = Some(t0 + chrono::Duration::minutes(25));
        assert_eq!(v.judge(&policy), (true, vec![]));
        let lenient = VisitPolicy {
            require_photo: false,
            ..VisitPolicy::default()
        };
        v.photos.clear();
        assert!(v.judge(&lenient).0);
        v.far = true;
        assert!(!v.judge(&lenient).0);
    }
}
