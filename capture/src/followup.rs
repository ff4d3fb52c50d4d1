//! From a voice note's transcript to what a sales follow-up needs: when to contact next
//! (resolved against the recording time in the rep's time zone), amounts and budgets,
//! commitments the rep made, products and competitors from the tenant's catalogue, and the
//! customer's concerns. Chinese and English. Nothing is guessed: a phrase that does not parse
//! leaves its field empty.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Weekday};
use chrono_tz::Tz;
use once_cell::sync::Lazy;
use regex::Regex;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NextContact {
    /// ISO 8601 with the rep's offset, e.g. `2026-11-24T15:00:00+08:00`.
    pub at: String,
    /// The words it was read from.
    pub phrase: String,
    /// `time` when a clock time was said, `part_of_day` for "morning", `day` for a bare day.
    pub precision: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Amount {
    pub value: f64,
    pub currency: Option<&'static str>,
    pub phrase: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mention {
    pub name: String,
    /// `product` (ours) or `competitor`.
    pub kind: &'static str,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FollowUp {
    pub next_contact: Option<NextContact>,
    pub amounts: Vec<Amount>,
    pub commitments: Vec<String>,
    pub mentions: Vec<Mention>,
    pub concerns: Vec<String>,
}

/// A tenant's products and competitors, each with the aliases reps say aloud.
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    pub products: Vec<(String, Vec<String>)>,
    pub competitors: Vec<(String, Vec<String>)>,
}

impl Catalogue {
    /// Reads `{"products": {"Name": ["alias", ...]}, "competitors": {...}}`, the file a
    /// tenant exports (mentions are reported in name order).
    pub fn from_json(text: &str) -> Result<Catalogue, serde_json::Error> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct File {
            #[serde(default)]
            products: serde_json::Map<String, serde_json::Value>,
            #[serde(default)]
            competitors: serde_json::Map<String, serde_json::Value>,
        }
        let file: File = serde_json::from_str(text)?;
        let entries = |map: serde_json::Map<String, serde_json::Value>| {
            map.into_iter()
                .map(|(name, aliases)| {
                    let aliases: Vec<String> = serde_json::from_value(aliases)?;
                    Ok((name, aliases))
                })
                .collect::<Result<Vec<_>, serde_json::Error>>()
        };
        Ok(Catalogue {
            products: entries(file.products)?,
            competitors: entries(file.competitors)?,
        })
    }
}

/// Chinese numerals up to the thousands ("三", "十二", "两百五十") and plain digits.
pub fn chinese_number(s: &str) -> Option<f64> {
    if let Ok(v) = s.parse::<f64>() {
        return Some(v);
    }
    let digit = |c: char| {
        "零一二三四五六七八九"
            .find(c)
            .map(|i| (i / 3) as f64)
            .or((c == '两').then_some(2.0))
    };
    let (mut total, mut current) = (0.0, 0.0);
    let mut seen = false;
    for c in s.chars() {
        if let Some(d) = digit(c) {
            current = d;
            seen = true;
            continue;
        }
        let unit = match c {
            '十' => 10.0,
            '百' => 100.0,
            '千' => 1000.0,
            _ => return None,
        };
        total += if current == 0.0 { 1.0 } else { current } * unit;
        current = 0.0;
        seen = true;
    }
    seen.then_some(total + current)
}

const ZH_NUM: &str = r"[0-9零一二三四五六七八九十两]+";

static ZH_WHEN: Lazy<Regex> = Lazy::new(|| {
    Regex::new(&format!(
        r"(今天|明天|后天|大后天|下下?(?:个)?(?:周|星期|礼拜)[一二三四五六日天]|(?:周|星期|礼拜)[一二三四五六日天]|({ZH_NUM})月({ZH_NUM})[日号]|({ZH_NUM})[日号])?\s*(早上|上午|中午|下午|傍晚|晚上)?\s*(?:({ZH_NUM})点(?:(半)|(一刻)|({ZH_NUM})分?)?)?"
    ))
    .unwrap()
});

static EN_WHEN: Lazy<Regex> = Lazy::new(|| {
    Regex::new(
        r"(?i)\b(today|tomorrow|the day after tomorrow|(?:next|this|on)\s+(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday))\b(?:\s+(morning|afternoon|evening|night))?(?:\s+(?:at\s+)?(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?)?",
    )
    .unwrap()
});

fn weekday_zh(c: char) -> Option<Weekday> {
    Some(match c {
        '一' => Weekday::Mon,
        '二' => Weekday::Tue,
        '三' => Weekday::Wed,
        '四' => Weekday::Thu,
        '五' => Weekday::Fri,
        '六' => Weekday::Sat,
        '日' | '天' => Weekday::Sun,
        _ => return None,
    })
}

fn weekday_en(s: &str) -> Option<Weekday> {
    s.parse::<Weekday>().ok()
}

/// The first `day` strictly after `today`. English "next Tuesday" is read this way (said on a
/// Monday it means tomorrow); Chinese 下周二 is explicit and uses `in_next_week`.
fn upcoming(today: NaiveDate, day: Weekday) -> NaiveDate {
    let ahead = (day.num_days_from_monday() as i64 - today.weekday().num_days_from_monday() as i64)
        .rem_euclid(7);
    today + Duration::days(if ahead == 0 { 7 } else { ahead })
}

/// `day` in the week after this one (weeks start on Monday), as 下周二 means.
fn in_next_week(today: NaiveDate, day: Weekday, weeks: i64) -> NaiveDate {
    let monday = today - Duration::days(today.weekday().num_days_from_monday() as i64);
    monday + Duration::days(7 * weeks + day.num_days_from_monday() as i64)
}

/// Default clock time for a part of the day when no time was said.
fn part_default(part: &str) -> (u32, bool) {
    match part {
        "早上" | "上午" | "morning" => (9, false),
        "中午" => (12, false),
        "下午" | "afternoon" => (14, false),
        "傍晚" => (17, false),
        "晚上" | "evening" | "night" => (19, false),
        _ => (9, true),
    }
}

fn to_24h(hour: u32, part: Option<&str>) -> u32 {
    match part {
        Some("下午" | "傍晚" | "晚上" | "afternoon" | "evening" | "night" | "pm" | "p.m.")
            if hour < 12 =>
        {
            hour + 12
        }
        Some("中午") if hour < 6 => hour + 12,
        _ => hour,
    }
}

fn resolve(
    date: NaiveDate,
    hour: Option<(u32, u32)>,
    part: Option<&str>,
    tz: Tz,
    phrase: &str,
) -> Option<NextContact> {
    let (h, m, precision) = match hour {
        Some((h, m)) => (to_24h(h, part), m, "time"),
        None => {
            let (h, bare) = part_default(part.unwrap_or(""));
            (h, 0, if bare { "day" } else { "part_of_day" })
        }
    };
    let local = date.and_time(NaiveTime::from_hms_opt(h, m, 0)?);
    let at = tz.from_local_datetime(&local).earliest()?;
    Some(NextContact {
        at: at.to_rfc3339(),
        phrase: phrase.trim().to_owned(),
        precision,
    })
}

fn next_contact_zh(text: &str, now: DateTime<Tz>) -> Option<NextContact> {
    let today = now.date_naive();
    for caps in ZH_WHEN.captures_iter(text) {
        let phrase = caps.get(0)?.as_str();
        if caps.get(1).is_none() && caps.get(6).is_none() {
            continue; // needs a day, or at least a clock time
        }
        if caps.get(1).is_none()
            && caps.get(5).is_none()
            && !["钟", "半", "刻", "分"].iter().any(|m| phrase.contains(m))
        {
            continue; // a bare "一点" is usually "a little" (低一点), not one o'clock
        }
        let end = caps.get(0)?.end();
        let clause = text[end..]
            .split(['，', '。', ',', '.', '；', ';', '！', '!', '？', '?'])
            .next()
            .unwrap_or("");
        if matches!(caps.get(1).map(|m| m.as_str()), None | Some("今天")) && clause.contains('了')
        {
            continue; // "今天见了李经理": what happened, not what comes next
        }
        let date = match caps.get(1).map(|m| m.as_str()) {
            None => today,
            Some("今天") => today,
            Some("明天") => today + Duration::days(1),
            Some("后天") => today + Duration::days(2),
            Some("大后天") => today + Duration::days(3),
            Some(_) if caps.get(2).is_some() => {
                let (month, dom) = (
                    chinese_number(&caps[2])? as u32,
                    chinese_number(&caps[3])? as u32,
                );
                let this_year = NaiveDate::from_ymd_opt(today.year(), month, dom)?;
                if this_year < today {
                    NaiveDate::from_ymd_opt(today.year() + 1, month, dom)?
                } else {
                    this_year
                }
            }
            Some(_) if caps.get(4).is_some() => {
                let dom = chinese_number(&caps[4])? as u32;
                let this_month = NaiveDate::from_ymd_opt(today.year(), today.month(), dom)?;
                if this_month < today {
                    this_month.checked_add_months(chrono::Months::new(1))?
                } else {
                    this_month
                }
            }
            Some(day) => {
                let wd = weekday_zh(day.chars().last()?)?;
                if day.starts_with("下下") {
                    in_next_week(today, wd, 2)
                } else if day.starts_with('下') {
                    in_next_week(today, wd, 1)
                } else {
                    upcoming(today, wd)
                }
            }
        };
        let hour = caps.get(6).and_then(|h| {
            let minutes = if caps.get(7).is_some() {
                30
            } else if caps.get(8).is_some() {
                15
            } else {
                caps.get(9)
                    .and_then(|m| chinese_number(m.as_str()))
                    .unwrap_or(0.0) as u32
            };
            Some((chinese_number(h.as_str())? as u32, minutes))
        });
        if let Some(found) = resolve(
            date,
            hour,
            caps.get(5).map(|m| m.as_str()),
            now.timezone(),
            phrase,
        ) {
            return Some(found);
        }
    }
    None
}

fn next_contact_en(text: &str, now: DateTime<Tz>) -> Option<NextContact> {
    let today = now.date_naive();
    let caps = EN_WHEN.captures(text)?;
    let day = caps[1].to_lowercase();
    let date = match day.as_str() {
        "today" => today,
        "tomorrow" => today + Duration::days(1),
        "the day after tomorrow" => today + Duration::days(2),
        other => {
            let mut words = other.split_whitespace();
            let (qualifier, name) = (words.next()?, words.next()?);
            let wd = weekday_en(name)?;
            match qualifier {
                // "this Friday": the Friday of this week, or today's when it is Friday.
                "this" if wd.num_days_from_monday() >= today.weekday().num_days_from_monday() => {
                    in_next_week(today, wd, 0)
                }
                _ => upcoming(today, wd),
            }
        }
    };
    let meridiem = caps.get(5).map(|m| m.as_str().to_lowercase());
    let part = caps.get(2).map(|m| m.as_str().to_lowercase());
    let hour = caps.get(3).and_then(|h| {
        Some((
            h.as_str().parse().ok()?,
            caps.get(4)
                .and_then(|m| m.as_str().parse().ok())
                .unwrap_or(0),
        ))
    });
    let part_ref = meridiem.as_deref().or(part.as_deref());
    resolve(date, hour, part_ref, now.timezone(), caps.get(0)?.as_str())
}

static ZH_AMOUNT: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"([0-9]+(?:\.[0-9]+)?|[零一二三四五六七八九十两百千]+)\s*(亿|万|千)?\s*(元|块钱|块|人民币)?").unwrap()
});
static EN_AMOUNT: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"(?i)([$¥￥€£])\s?(\d[\d,]*(?:\.\d+)?)\s*(k|m|million|thousand)?\b|\b(\d[\d,]*(?:\.\d+)?)\s*(k|million|thousand)?\s*(dollars|usd|rmb|yuan|euros?)\b").unwrap()
});

fn amounts(text: &str) -> Vec<Amount> {
    let mut out = Vec::new();
    for caps in EN_AMOUNT.captures_iter(text) {
        let (symbol, number, scale) = match (caps.get(1), caps.get(4)) {
            (Some(s), _) => (
                Some(s.as_str()),
                caps.get(2).map(|m| m.as_str()),
                caps.get(3).map(|m| m.as_str()),
            ),
            (None, Some(n)) => (
                caps.get(6).map(|m| m.as_str()),
                Some(n.as_str()),
                caps.get(5).map(|m| m.as_str()),
            ),
            _ => continue,
        };
        let Some(mut value) = number.and_then(|n| n.replace(',', "").parse::<f64>().ok()) else {
            continue;
        };
        value *= match scale.map(str::to_lowercase).as_deref() {
            Some("k" | "thousand") => 1e3,
            Some("m" | "million") => 1e6,
            _ => 1.0,
        };
        let currency = symbol.map(|s| match s.to_lowercase().as_str() {
            "$" | "dollars" | "usd" => "USD",
            "¥" | "￥" | "rmb" | "yuan" => "CNY",
            "€" | "euro" | "euros" => "EUR",
            _ => "GBP",
        });
        out.push(Amount {
            value,
            currency,
            phrase: caps[0].trim().to_owned(),
        });
    }
    for caps in ZH_AMOUNT.captures_iter(text) {
        // A Chinese amount needs a unit (万, 元, 块 ...) to be money rather than a count or a time.
        if caps.get(2).is_none() && caps.get(3).is_none() {
            continue;
        }
        let end = caps.get(0).unwrap().end();
        if text[end..].starts_with(['点', '号', '日', '月', '个', '台', '天']) {
            continue;
        }
        let Some(base) = chinese_number(&caps[1]) else {
            continue;
        };
        let value = base
            * match caps.get(2).map(|m| m.as_str()) {
                Some("亿") => 1e8,
                Some("万") => 1e4,
                Some("千") => 1e3,
                _ => 1.0,
            };
        let phrase = caps[0].trim().to_owned();
        if !out
            .iter()
            .any(|a: &Amount| a.phrase.contains(&phrase) || phrase.contains(&a.phrase))
        {
            out.push(Amount {
                value,
                currency: Some("CNY"),
                phrase,
            });
        }
    }
    out
}

fn sentences(text: &str) -> Vec<&str> {
    text.split(['。', '！', '？', '；', '.', '!', '?', ';', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// Clauses: a concern is usually one clause of a longer sentence ("..., but worried about delivery").
fn clauses(text: &str) -> Vec<&str> {
    text.split(['。', '！', '？', '；', '.', '!', '?', ';', '\n', '，', ','])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

static COMMITMENT: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"(?i)\b(i'll|i will|we'll|we will|i'm going to|i am going to|let me|i promised to)\b|我(会|来|去|再|先|今天|明天|下午|马上|尽快)?.{0,6}(发|寄|送|准备|安排|联系|回复|确认|报价|打电话|拜访)|答应(他|她|客户)").unwrap()
});
const CONCERNS: &[&str] = &[
    "太贵",
    "价格",
    "预算不够",
    "预算有限",
    "交期",
    "交货",
    "售后",
    "质量",
    "担心",
    "顾虑",
    "不满意",
    "too expensive",
    "expensive",
    "price",
    "budget",
    "lead time",
    "delivery",
    "quality",
    "worried",
    "concern",
    "support",
    "warranty",
];

fn mentions(text: &str, catalogue: &Catalogue) -> Vec<Mention> {
    let lower = text.to_lowercase();
    let mut out = Vec::new();
    for (kind, list) in [
        ("product", &catalogue.products),
        ("competitor", &catalogue.competitors),
    ] {
        for (name, aliases) in list {
            let said = std::iter::once(name)
                .chain(aliases)
                .any(|a| !a.is_empty() && lower.contains(&a.to_lowercase()));
            if said {
                out.push(Mention {
                    name: name.clone(),
                    kind,
                });
            }
        }
    }
    out
}

pub fn extract(transcript: &str, recorded_at: DateTime<Tz>, catalogue: &Catalogue) -> FollowUp {
    let next_contact = sentences(transcript)
        .into_iter()
        .find_map(|s| next_contact_zh(s, recorded_at).or_else(|| next_contact_en(s, recorded_at)));
    let commitments = sentences(transcript)
        .into_iter()
        .filter(|s| COMMITMENT.is_match(s))
        .map(str::to_owned)
        .collect();
    let concerns = clauses(transcript)
        .into_iter()
        .filter(|s| {
            let l = s.to_lowercase();
            CONCERNS.iter().any(|c| l.contains(c))
        })
        .map(str::to_owned)
        .collect();
    FollowUp {
        next_contact,
        amounts: amounts(transcript),
        commitments,
        mentions: mentions(transcript, catalogue),
        concerns,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Asia::Shanghai;

    /// Monday 23 November 2026, 10:20 in Shanghai.
    fn monday() -> DateTime<Tz> {
        Shanghai.with_ymd_and_hms(2026, 11, 23, 10, 20, 0).unwrap()
    }

    fn when(text: &str) -> Option<(String, &'static str)> {
        extract(text, monday(), &Catalogue::default())
            .next_contact
            .map(|n| (n.at, n.precision))
    }

    #[test]
    fn catalogue_reads_from_json_and_rejects_wrong_shapes() {
        let c = Catalogue::from_json(
            r#"{"products": {"Fieldline Pro": ["pro", "专业版"]}, "competitors": {"Contoso": []}}"#,
        )
        .unwrap();
        assert_eq!(c.products[0].1, vec!["pro", "专业版"]);
        assert_eq!(c.competitors[0].0, "Contoso");
        assert!(Catalogue::from_json(r#"{"products": {"X": "not a list"}}"#).is_err());
        assert!(Catalogue::from_json(r#"{"prodcts": {}}"#).is_err());
    }

    #[test]
    fn chinese_phrases_that_are_not_appointments_are_left_alone() {
        assert_eq!(when("竞争对手的价格比我们低一点。"), None);
        assert_eq!(when("今天见了李经理，聊得很好。"), None);
        // A clock time with minutes or 钟 still counts without a day.
        assert_eq!(when("三点半再打给他").map(|w| w.1), Some("time"));
    }

    #[test]
    fn chinese_times_resolve_against_the_recording() {
        assert_eq!(
            when("客户说明天下午三点再联系"),
            Some(("2026-11-24T15:00:00+08:00".into(), "time"))
        );
        assert_eq!(
            when("下周二上午十点半过去拜访"),
            Some(("2026-12-01T10:30:00+08:00".into(), "time"))
        );
        assert_eq!(
            when("周五上午见"),
            Some(("2026-11-27T09:00:00+08:00".into(), "part_of_day"))
        );
        assert_eq!(
            when("后天再打电话"),
            Some(("2026-11-25T09:00:00+08:00".into(), "day"))
        );
        assert_eq!(
            when("12月3号下午两点开会"),
            Some(("2026-12-03T14:00:00+08:00".into(), "time"))
        );
        assert_eq!(
            when("晚上8点15分回电话"),
            Some(("2026-11-23T20:15:00+08:00".into(), "time"))
        );
        assert_eq!(when("客户对价格有顾虑"), None);
    }

    #[test]
    fn english_times_resolve_against_the_recording() {
        assert_eq!(
            when("Call her back next Tuesday morning."),
            Some(("2026-11-24T09:00:00+08:00".into(), "part_of_day"))
        );
        assert_eq!(
            when("Meeting tomorrow at 3pm to go through the quote"),
            Some(("2026-11-24T15:00:00+08:00".into(), "time"))
        );
        assert_eq!(
            when("Visit on Friday at 10:30 am"),
            Some(("2026-11-27T10:30:00+08:00".into(), "time"))
        );
        assert_eq!(when("They liked the demo"), None);
    }

    #[test]
    fn the_rep_time_zone_decides_the_instant() {
        let ny = chrono_tz::America::New_York
            .with_ymd_and_hms(2026, 11, 23, 10, 0, 0)
            .unwrap();
        let f = extract("tomorrow at 9am", ny, &Catalogue::default());
        assert_eq!(f.next_contact.unwrap().at, "2026-11-24T09:00:00-05:00");
    }

    #[test]
    fn amounts_in_both_languages() {
        let f = extract(
            "预算大概50万，首付三十万元。They mentioned $12,000 for training and a 5k deposit.",
            monday(),
            &Catalogue::default(),
        );
        let values: Vec<(f64, Option<&str>)> =
            f.amounts.iter().map(|a| (a.value, a.currency)).collect();
        assert!(values.contains(&(500_000.0, Some("CNY"))), "{values:?}");
        assert!(values.contains(&(300_000.0, Some("CNY"))), "{values:?}");
        assert!(values.contains(&(12_000.0, Some("USD"))), "{values:?}");
        let none = extract(
            "明天下午三点，2台设备，12号见",
            monday(),
            &Catalogue::default(),
        );
        assert!(none.amounts.is_empty(), "{:?}", none.amounts);
    }

    #[test]
    fn commitments_mentions_and_concerns() {
        let catalogue = Catalogue {
            products: vec![(
                "FL-200 伺服电机".into(),
                vec!["FL-200".into(), "伺服".into()],
            )],
            competitors: vec![
                ("Siemens".into(), vec!["西门子".into()]),
                ("ABB".into(), vec![]),
            ],
        };
        let f = extract(
            "客户现在用的是西门子，对FL-200有兴趣，但是担心交期。我明天把报价发给他。I'll send the brochure tonight.",
            monday(),
            &catalogue,
        );
        assert_eq!(
            f.commitments,
            ["我明天把报价发给他", "I'll send the brochure tonight"]
        );
        assert_eq!(
            f.mentions,
            [
                Mention {
                    name: "FL-200 伺服电机".into(),
                    kind: "product"
                },
                Mention {
                    name: "Siemens".into(),
                    kind: "competitor"
                }
            ]
        );
        assert_eq!(f.concerns, ["但是担心交期"]);
        assert_eq!(f.next_contact.unwrap().precision, "day");
    }

    #[test]
    fn chinese_numerals() {
        for (s, v) in [
            ("三", 3.0),
            ("十", 10.0),
            ("十二", 12.0),
            ("二十", 20.0),
            ("两百五十", 250.0),
            ("三千零五", 3005.0),
            ("15", 15.0),
        ] {
            assert_eq!(chinese_number(s), Some(v), "{s}");
        }
        assert_eq!(chinese_number("点"), None);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_transcripts_never_panic(s in "\\PC{0,120}") {
            let _ = extract(&s, monday(), &Catalogue::default());
        }
    }
}
