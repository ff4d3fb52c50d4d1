//! The compact binary form of `DealFacts` both adapters store (postcard: a SQLite blob, a
//! DynamoDB binary attribute). Reports decode one per deal, so it is built for reading fast:
//! instants as nanoseconds, days as day numbers, strings borrowed from the bytes and stage
//! keys shared across a read.

use crate::error::{StoreError, StoreResult};
use fieldline_domain::{DealFacts, DealId, StageKind, StageStep, TeamId, Timestamp, UserId};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The stored form: instants as nanoseconds and days as day numbers, which encode and decode
/// far faster than chrono's text forms.
#[derive(Serialize, Deserialize)]
struct Packed<'a> {
    id: DealId,
    title: &'a str,
    owner: UserId,
    team: Option<TeamId>,
    amount: u64,
    expected_close: Option<i32>,
    created_at: i64,
    closed_at: Option<i64>,
    status: StageKind,
    stage: &'a str,
    rots_at: Option<i64>,
    path: Vec<(&'a str, i64, i64)>,
}

fn nanos(t: Timestamp) -> i64 {
    // Instants up to the year 2262 fit; the domain never makes later ones.
    t.timestamp_nanos_opt().unwrap_or(i64::MAX)
}

fn instant(n: i64) -> Timestamp {
    chrono::DateTime::from_timestamp_nanos(n)
}

fn day_number(d: chrono::NaiveDate) -> i32 {
    use chrono::Datelike;
    d.num_days_from_ce()
}

pub fn encode(f: &DealFacts) -> StoreResult<Vec<u8>> {
    let packed = Packed {
        id: f.id,
        title: &f.title,
        owner: f.owner,
        team: f.team,
        amount: f.amount,
        expected_close: f.expected_close.map(day_number),
        created_at: nanos(f.created_at),
        closed_at: f.closed_at.map(nanos),
        status: f.status,
        stage: &f.stage,
        rots_at: f.rots_at.map(nanos),
        path: f
            .path
            .iter()
            .map(|s| (&*s.to, nanos(s.at), s.seconds_in_previous))
            .collect(),
    };
    postcard::to_allocvec(&packed)
        .map_err(|e| StoreError::corrupt(format!("encode facts of deal {}", f.id), e))
}

/// One shared copy of each stage key a read meets.
#[derive(Default)]
pub struct StageKeys(Vec<Arc<str>>);

impl StageKeys {
    fn get(&mut self, key: &str) -> Arc<str> {
        // A pipeline has a handful of stages: a scan beats hashing.
        if let Some(found) = self.0.iter().find(|k| &***k == key) {
            return found.clone();
        }
        let new: Arc<str> = Arc::from(key);
        self.0.push(new.clone());
        new
    }
}

pub fn decode(bytes: &[u8], keys: &mut StageKeys) -> StoreResult<DealFacts> {
    let p: Packed =
        postcard::from_bytes(bytes).map_err(|e| StoreError::corrupt("decode deal facts", e))?;
    let day = |n: i32| {
        chrono::NaiveDate::from_num_days_from_ce_opt(n)
            .ok_or_else(|| StoreError::corrupt_msg(format!("deal {}: day number {n}", p.id)))
    };
    Ok(DealFacts {
        id: p.id,
        title: p.title.to_owned(),
        owner: p.owner,
        team: p.team,
        amount: p.amount,
        expected_close: p.expected_close.map(day).transpose()?,
        created_at: instant(p.created_at),
        closed_at: p.closed_at.map(instant),
        status: p.status,
        stage: keys.get(p.stage),
        rots_at: p.rots_at.map(instant),
        path: p
            .path
            .into_iter()
            .map(|(to, at, seconds_in_previous)| StageStep {
                to: keys.get(to),
                at: instant(at),
                seconds_in_previous,
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn facts_survive_the_round_trip_to_the_nanosecond() {
        let at = chrono::Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap()
            + chrono::Duration::nanoseconds(123_456_789);
        let facts = DealFacts {
            id: DealId::new(),
            title: "华东批发 Q4".into(),
            owner: UserId::new(),
            team: Some(TeamId::new()),
            amount: u64::MAX,
            expected_close: chrono::NaiveDate::from_ymd_opt(2027, 1, 31),
            created_at: at,
            closed_at: Some(at + chrono::Duration::days(3)),
            status: StageKind::Won,
            stage: Arc::from("won"),
            rots_at: None,
            path: vec![
                StageStep {
                    to: Arc::from("new"),
                    at,
                    seconds_in_previous: 0,
                },
                StageStep {
                    to: Arc::from("won"),
                    at: at + chrono::Duration::days(3),
                    seconds_in_previous: 3 * 86_400,
                },
            ],
        };
        let mut keys = StageKeys::default();
        let back = decode(&encode(&facts).unwrap(), &mut keys).unwrap();
        assert_eq!(back, facts);
        // One shared copy per distinct key.
        assert!(Arc::ptr_eq(&back.stage, &back.path[1].to));
        assert!(decode(&[0xff, 0x01], &mut keys).is_err());
    }
}
