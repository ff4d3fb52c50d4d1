//! The deal reports' projection: one row per deal holding its `DealFacts` in a compact binary
//! form (postcard), clustered by tenant and pipeline. Every store write that touches a deal
//! rewrites its row from the deal and its stage log inside the same transaction, so the row
//! is exact whenever the deal is; reports then read one small row per deal instead of parsing
//! every deal body and log line (the `deal_reports` benchmark measures the difference).

use crate::{query_bodies, sql_err};
use fieldline_domain::{
    Deal, DealFacts, DealId, LeadScope, StageChange, StageKind, StageStep, TeamId, TenantId,
    Timestamp, UserId,
};
use fieldline_store::error::{StoreError, StoreResult};
use rusqlite::types::Value;
use rusqlite::{Connection, Transaction, params, params_from_iter};
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

fn encode(f: &DealFacts) -> StoreResult<Vec<u8>> {
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
struct StageKeys(Vec<Arc<str>>);

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

fn decode(bytes: &[u8], keys: &mut StageKeys) -> StoreResult<DealFacts> {
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

fn upsert(tx: &Transaction<'_>, deal: &Deal, facts: &DealFacts) -> StoreResult<()> {
    let bytes = encode(facts)?;
    tx.prepare_cached(
        "INSERT INTO deal_facts (tenant_id, pipeline, deal_id, owner_id, team_id, facts)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (tenant_id, pipeline, deal_id) DO UPDATE SET
            owner_id = excluded.owner_id, team_id = excluded.team_id, facts = excluded.facts",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            deal.tenant.as_str(),
            deal.pipeline,
            deal.id.to_string(),
            deal.owner.to_string(),
            deal.team.map(|t| t.to_string()),
            bytes,
        ])
    })
    .map_err(sql_err)?;
    Ok(())
}

/// Rewrites the row of `deal` (as it is being saved) from its stage log as the transaction
/// sees it: call it after the deal's row and any new log line are written.
pub fn write(tx: &Transaction<'_>, deal: &Deal) -> StoreResult<()> {
    let lines: Vec<StageChange> = query_bodies(
        tx,
        "SELECT body FROM deal_stage_log WHERE tenant_id = ?1 AND deal_id = ?2 ORDER BY version",
        params![deal.tenant.as_str(), deal.id.to_string()],
    )?;
    upsert(tx, deal, &DealFacts::of(deal, &lines))
}

/// The facts of every deal of `pipeline` in `scope`.
pub fn select(
    conn: &Connection,
    tenant: &TenantId,
    pipeline: &str,
    scope: &LeadScope,
) -> StoreResult<Vec<DealFacts>> {
    let mut sql =
        String::from("SELECT facts FROM deal_facts WHERE tenant_id = ?1 AND pipeline = ?2");
    let mut args = vec![
        Value::Text(tenant.as_str().to_owned()),
        Value::Text(pipeline.to_owned()),
    ];
    match scope {
        LeadScope::Tenant => {}
        LeadScope::Team(team) => {
            sql.push_str(" AND team_id = ?3");
            args.push(Value::Text(team.to_string()));
        }
        LeadScope::Owner(user) => {
            sql.push_str(" AND owner_id = ?3");
            args.push(Value::Text(user.to_string()));
        }
        // Deals have no pool.
        LeadScope::Pool => return Ok(Vec::new()),
    }
    let mut stmt = conn.prepare_cached(&sql).map_err(sql_err)?;
    let mut rows = stmt.query(params_from_iter(args)).map_err(sql_err)?;
    let mut out = Vec::new();
    let mut keys = StageKeys::default();
    while let Some(row) = rows.next().map_err(sql_err)? {
        let bytes = row.get_ref(0).map_err(sql_err)?.as_blob().map_err(|e| {
            StoreError::corrupt("deal_facts.facts is not a blob", rusqlite::Error::from(e))
        })?;
        out.push(decode(bytes, &mut keys)?);
    }
    Ok(out)
}

/// Fills the table for deals written before it existed (the V10 migration).
pub fn backfill(tx: &Transaction<'_>) -> StoreResult<()> {
    let deals: Vec<Deal> = query_bodies(tx, "SELECT body FROM deals", [])?;
    for deal in &deals {
        write(tx, deal)?;
    }
    Ok(())
}
