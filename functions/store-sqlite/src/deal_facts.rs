//! The deal reports' projection: one row per deal holding its `DealFacts` in their compact
//! binary form (`fieldline_store::facts_codec`), clustered by tenant and pipeline. Every
//! store write that touches a deal rewrites its row from the deal and its stage log inside
//! the same transaction, so the row is exact whenever the deal is; reports then read one
//! small row per deal instead of parsing every deal body and log line (the `deal_reports`
//! benchmark measures the difference).

use crate::{query_bodies, sql_err};
use fieldline_domain::{Deal, DealFacts, LeadScope, StageChange, TenantId};
use fieldline_store::error::{StoreError, StoreResult};
use fieldline_store::facts_codec::{StageKeys, decode, encode};
use rusqlite::types::Value;
use rusqlite::{Connection, Transaction, params, params_from_iter};

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
