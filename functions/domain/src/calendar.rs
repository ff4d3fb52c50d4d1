//! A tenant's working calendar, so SLA clocks can count business hours: "first contact within
//! 8 working hours" for a lead that arrives on Friday evening falls due on Monday, not on
//! Saturday morning. Time zone default Asia/Shanghai, Monday to Friday 09:00-18:00.

use crate::Timestamp;
use chrono::{Datelike, Duration, NaiveDate, NaiveTime, TimeZone};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BusinessCalendar {
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "Asia/Shanghai"))]
    pub time_zone: Tz,
    /// Working days, Monday = 1 ... Sunday = 7.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 7))]
    pub working_days: Vec<u8>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "09:00:00"))]
    pub day_start: NaiveTime,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "18:00:00"))]
    pub day_end: NaiveTime,
    /// Public holidays and company days off.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub holidays: Vec<NaiveDate>,
    /// Make-up working days that fall on a weekend (调休), common in China.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub extra_working_days: Vec<NaiveDate>,
}

impl Default for BusinessCalendar {
    fn default() -> Self {
        BusinessCalendar {
            time_zone: chrono_tz::Asia::Shanghai,
            working_days: vec![1, 2, 3, 4, 5],
            day_start: NaiveTime::from_hms_opt(9, 0, 0).expect("valid time"),
            day_end: NaiveTime::from_hms_opt(18, 0, 0).expect("valid time"),
            holidays: Vec::new(),
            extra_working_days: Vec::new(),
        }
    }
}

impl BusinessCalendar {
    /// Mainland China's working week with the State Council's public holidays and make-up
    /// working days (调休) for 2024-2026, as published: a starting point a tenant then edits
    /// (later years are added when they are announced, usually in November).
    pub fn china_mainland() -> BusinessCalendar {
        // (first day off, last day off), then the make-up working days.
        const OFF: &[(&str, &str)] = &[
            ("2024-01-01", "2024-01-01"),
            ("2024-02-10", "2024-02-17"),
            ("2024-04-04", "2024-04-06"),
            ("2024-05-01", "2024-05-05"),
            ("2024-06-10", "2024-06-10"),
            ("2024-09-15", "2024-09-17"),
            ("2024-10-01", "2024-10-07"),
            ("2025-01-01", "2025-01-01"),
            ("2025-01-28", "2025-02-04"),
            ("2025-04-04", "2025-04-06"),
            ("2025-05-01", "2025-05-05"),
            ("2025-05-31", "2025-06-02"),
            ("2025-10-01", "2025-10-08"),
            ("2026-01-01", "2026-01-03"),
            ("2026-02-15", "2026-02-23"),
            ("2026-04-04", "2026-04-06"),
            ("2026-05-01", "2026-05-05"),
            ("2026-06-19", "2026-06-21"),
            ("2026-09-25", "2026-09-27"),
            ("2026-10-01", "2026-10-07"),
        ];
        const MAKE_UP: &[&str] = &[
            "2024-02-04",
            "2024-02-18",
            "2024-04-07",
            "2024-04-28",
            "2024-05-11",
            "2024-09-14",
            "2024-09-29",
            "2024-10-12",
            "2025-01-26",
            "2025-02-08",
            "2025-04-27",
            "2025-09-28",
            "2025-10-11",
            "2026-01-04",
            "2026-02-14",
            "2026-02-28",
            "2026-05-09",
            "2026-09-20",
            "2026-10-10",
        ];
        let day = |raw: &str| NaiveDate::parse_from_str(raw, "%Y-%m-%d").expect("valid date");
        let mut holidays = Vec::new();
        for (from, to) in OFF {
            let mut d = day(from);
            while d <= day(to) {
                holidays.push(d);
                d += Duration::days(1);
            }
        }
        BusinessCalendar {
            holidays,
            extra_working_days: MAKE_UP.iter().map(|d| day(d)).collect(),
            ..BusinessCalendar::default()
        }
    }

    /// Whether a tenant may save this calendar: working days 1-7, a day that starts before
    /// it ends, and a bounded list of dates.
    pub fn validate(&self) -> Result<(), crate::DomainError> {
        if self.day_start >= self.day_end
            || self.working_days.is_empty()
            || self.working_days.len() > 7
            || self.working_days.iter().any(|d| !(1..=7).contains(d))
            || self.holidays.len() + self.extra_working_days.len() > 1000
        {
            return Err(crate::DomainError::invalid(
                "calendar",
                "working_days 1-7 (Monday = 1, at most 7 entries), day_start before day_end, at most 1000 dates",
            ));
        }
        Ok(())
    }

    pub fn is_working_day(&self, day: NaiveDate) -> bool {
        if self.extra_working_days.contains(&day) {
            return true;
        }
        let weekday = day.weekday().number_from_monday() as u8;
        self.working_days.contains(&weekday) && !self.holidays.contains(&day)
    }

    fn usable(&self) -> bool {
        self.day_start < self.day_end && self.working_days.iter().any(|d| (1..=7).contains(d))
    }

    /// `from` plus `hours` of working time. A misconfigured calendar (no working days, or a day
    /// that ends before it starts) falls back to wall-clock hours rather than never firing.
    pub fn add_business_hours(&self, from: Timestamp, hours: f64) -> Timestamp {
        let mut remaining = Duration::milliseconds((hours * 3_600_000.0).round() as i64);
        if !self.usable() {
            return from + remaining;
        }
        let mut local = from.with_timezone(&self.time_zone).naive_local();
        // Two years of holidays at most; past that the calendar is broken.
        for _ in 0..800 {
            let day = local.date();
            if self.is_working_day(day) {
                let start = day.and_time(self.day_start);
                let end = day.and_time(self.day_end);
                let begin = local.max(start);
                if begin < end {
                    let available = end - begin;
                    if remaining <= available {
                        return self.to_utc(begin + remaining);
                    }
                    remaining -= available;
                }
            }
            local = (day + Duration::days(1)).and_time(NaiveTime::MIN);
        }
        from + Duration::milliseconds((hours * 3_600_000.0).round() as i64)
    }

    fn to_utc(&self, local: chrono::NaiveDateTime) -> Timestamp {
        // Working hours never fall in a DST gap in practice; take the earliest reading if so.
        match self.time_zone.from_local_datetime(&local) {
            chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => t.to_utc(),
            chrono::LocalResult::None => self.time_zone.from_utc_datetime(&local).to_utc(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shanghai(y: i32, m: u32, d: u32, h: u32, min: u32) -> Timestamp {
        chrono_tz::Asia::Shanghai
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .unwrap()
            .to_utc()
    }

    #[test]
    fn hours_inside_one_working_day() {
        let cal = BusinessCalendar::default();
        // Monday 23 Nov 2026, 10:00 + 3 h = 13:00.
        assert_eq!(
            cal.add_business_hours(shanghai(2026, 11, 23, 10, 0), 3.0),
            shanghai(2026, 11, 23, 13, 0)
        );
    }

    #[test]
    fn friday_evening_leads_fall_due_on_monday() {
        let cal = BusinessCalendar::default();
        // Friday 27 Nov, 17:00 + 8 working hours: 1 h on Friday, 7 h on Monday -> Mon 16:00.
        assert_eq!(
            cal.add_business_hours(shanghai(2026, 11, 27, 17, 0), 8.0),
            shanghai(2026, 11, 30, 16, 0)
        );
        // Arriving Saturday night: the clock starts Monday 09:00.
        assert_eq!(
            cal.add_business_hours(shanghai(2026, 11, 28, 22, 0), 24.0),
            shanghai(2026, 12, 2, 15, 0)
        );
    }

    #[test]
    fn holidays_are_skipped_and_make_up_days_count() {
        let cal = BusinessCalendar {
            holidays: vec![NaiveDate::from_ymd_opt(2026, 10, 1).unwrap()],
            extra_working_days: vec![NaiveDate::from_ymd_opt(2026, 10, 10).unwrap()],
            ..BusinessCalendar::default()
        };
        // Wed 30 Sep 17:00 + 2 h: 1 h Wed, Thu 1 Oct is a holiday, so Fri 2 Oct 10:00.
        assert_eq!(
            cal.add_business_hours(shanghai(2026, 9, 30, 17, 0), 2.0),
            shanghai(2026, 10, 2, 10, 0)
        );
        // Fri 9 Oct 17:30 + 1 h: Saturday 10 Oct is a make-up working day -> Sat 09:30.
        assert_eq!(
            cal.add_business_hours(shanghai(2026, 10, 9, 17, 30), 1.0),
            shanghai(2026, 10, 10, 9, 30)
        );
    }

    #[test]
    fn a_broken_calendar_falls_back_to_wall_clock_hours() {
        let cal = BusinessCalendar {
            working_days: vec![],
            ..BusinessCalendar::default()
        };
        let from = shanghai(2026, 11, 23, 10, 0);
        assert_eq!(cal.add_business_hours(from, 5.0), from + Duration::hours(5));
    }
}
