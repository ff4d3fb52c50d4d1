//! Deals on SQLite: deals, their append-only stage log, customers, contacts and pipelines,
//! each a row with its JSON body beside the columns its queries use. A conversion (lead,
//! customer, contact, deal, log line, events) is one transaction.

use crate::events::insert_events;
use crate::lead::{
    insert_activity, remember_request, replay_activity, seen_request, select_activities,
};
use crate::{
    SqliteStore, newest_first_page, query_bodies, query_body, sql_err, stale_write, to_json,
};
use async_trait::async_trait;
use fieldline_domain::{
    Activity, Deal, DealFacts, DealId, DomainEvent, LeadScope, MaterialPack, Pipeline, StageChange,
    Subject, TenantId,
};
use fieldline_store::error::{StoreError, StoreResult};
use fieldline_store::ports::{
    Conversion, Created, DealQuery, DealStore, IdempotencyRecord, Page, StageTotal,
};
use rusqlite::types::Value;
use rusqlite::{OptionalExtension, Transaction, params, params_from_iter};

const CONVERT_SCOPE: &str = "lead.convert";
const ACTIVITY_SCOPE: &str = "deal.activity";

fn select_deal(
    conn: &rusqlite::Connection,
    tenant: &TenantId,
    id: &str,
) -> StoreResult<Option<Deal>> {
    query_body(
        conn,
        "SELECT body FROM deals WHERE tenant_id = ?1 AND id = ?2",
        params![tenant.as_str(), id],
    )
}

/// Replaces the deal if its stored version is still `expected_version`.
fn replace_deal(tx: &Transaction<'_>, deal: &Deal, expected_version: u64) -> StoreResult<()> {
    let changed = tx
        .execute(
            "UPDATE deals SET owner_id = ?1, team_id = ?2, pipeline = ?3, stage = ?4,
                status = ?5, rots_at = ?6, updated_at = ?7, version = ?8, body = ?9, amount = ?13
             WHERE tenant_id = ?10 AND id = ?11 AND version = ?12",
            params![
                deal.owner.to_string(),
                deal.team.map(|t| t.to_string()),
                deal.pipeline,
                deal.stage,
                deal.status.as_str(),
                deal.rots_at.map(|t| t.timestamp_millis()),
                deal.updated_at.timestamp_millis(),
                deal.version as i64,
                to_json(deal)?,
                deal.tenant.as_str(),
                deal.id.to_string(),
                expected_version as i64,
                amount_column(deal.amount),
            ],
        )
        .map_err(sql_err)?;
    if changed == 0 {
        return Err(stale_write(
            tx,
            &deal.tenant,
            Subject::Deal(deal.id),
            expected_version,
        ));
    }
    Ok(())
}

/// SQLite integers are signed; an amount beyond i64 (no real deal) is kept at the maximum
/// in the column the board sums (the body keeps the exact figure).
fn amount_column(amount: u64) -> i64 {
    i64::try_from(amount).unwrap_or(i64::MAX)
}

/// Inserts a new deal row (see `crate::bulk`).
pub fn insert_deal(tx: &Transaction<'_>, deal: &Deal) -> StoreResult<()> {
    let body = to_json(deal)?;
    tx.prepare_cached(
        "INSERT INTO deals (tenant_id, id, owner_id, team_id, pipeline, stage, status, rots_at,
                            updated_at, version, body, amount, customer_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )
    .and_then(|mut insert| {
        insert.execute(params![
            deal.tenant.as_str(),
            deal.id.to_string(),
            deal.owner.to_string(),
            deal.team.map(|t| t.to_string()),
            deal.pipeline,
            deal.stage,
            deal.status.as_str(),
            deal.rots_at.map(|t| t.timestamp_millis()),
            deal.updated_at.timestamp_millis(),
            deal.version as i64,
            body,
            amount_column(deal.amount),
            deal.customer.to_string(),
        ])
    })
    .map_err(sql_err)?;
    Ok(())
}

/// Appends a stage-log line (see `crate::bulk`).
pub fn append_stage(tx: &Transaction<'_>, change: &StageChange) -> StoreResult<()> {
    let body = to_json(change)?;
    tx.prepare_cached(
        "INSERT INTO deal_stage_log (tenant_id, deal_id, version, at, body)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut insert| {
        insert.execute(params![
            change.tenant.as_str(),
            change.deal.to_string(),
            change.version as i64,
            change.at.timestamp_millis(),
            body,
        ])
    })
    .map_err(sql_err)?;
    Ok(())
}

/// The condition that limits deals (and orders) to `scope`; neither has a pool, so `Pool`
/// matches none.
pub(crate) fn scope_clause(scope: &LeadScope) -> (&'static str, Option<Value>) {
    match scope {
        LeadScope::Tenant => ("", None),
        LeadScope::Team(team) => (" AND team_id = ?", Some(Value::Text(team.to_string()))),
        LeadScope::Owner(user) => (" AND owner_id = ?", Some(Value::Text(user.to_string()))),
        LeadScope::Pool => (" AND 0 = 1", None),
    }
}

#[async_trait]
impl DealStore for SqliteStore {
    async fn convert_lead(
        &self,
        conversion: &Conversion,
        idempotency: Option<&IdempotencyRecord>,
    ) -> StoreResult<Created<Deal>> {
        let c = conversion.clone();
        let idempotency = idempotency.cloned();
        self.write(move |tx| {
            let tenant = &c.deal.tenant;
            if let Some(rec) = &idempotency {
                if let Some(id) = seen_request(tx, tenant, rec, CONVERT_SCOPE)? {
                    let original = select_deal(tx, tenant, &id)?.ok_or_else(|| {
                        StoreError::corrupt_msg(format!(
                            "idempotency key points at missing deal {id}"
                        ))
                    })?;
                    return Ok(Created::Replayed(original));
                }
                remember_request(
                    tx,
                    tenant,
                    rec,
                    CONVERT_SCOPE,
                    &c.deal.id.to_string(),
                    c.deal.created_at,
                )?;
            }
            crate::lead::replace_lead(tx, &c.lead, c.lead_version)?;
            // New records join the de-duplication keys where nobody holds them yet.
            if c.new_customer {
                crate::customer::insert_customer(tx, &c.customer)?;
                crate::customer::claim_keys_if_free(
                    tx,
                    tenant,
                    &c.customer.dedupe_keys(),
                    &c.customer.id.to_string(),
                )?;
            } else {
                crate::customer::require_customer(tx, tenant, c.customer.id)?;
            }
            if c.new_contact {
                crate::customer::insert_contact(tx, &c.contact)?;
                crate::customer::claim_keys_if_free(
                    tx,
                    tenant,
                    &c.contact.dedupe_keys(),
                    &c.contact.id.to_string(),
                )?;
            }
            insert_deal(tx, &c.deal)?;
            append_stage(tx, &c.first_stage)?;
            crate::deal_facts::write(tx, &c.deal)?;
            insert_events(tx, &c.events)?;
            Ok(Created::New(c.deal.clone()))
        })
        .await
    }

    async fn converted_with(
        &self,
        tenant: &TenantId,
        idempotency: &IdempotencyRecord,
    ) -> StoreResult<Option<Deal>> {
        let tenant = tenant.clone();
        let rec = idempotency.clone();
        self.read(
            move |conn| match seen_request(conn, &tenant, &rec, CONVERT_SCOPE)? {
                Some(id) => select_deal(conn, &tenant, &id),
                None => Ok(None),
            },
        )
        .await
    }

    async fn get_deal(&self, tenant: &TenantId, id: DealId) -> StoreResult<Option<Deal>> {
        let tenant = tenant.clone();
        self.read(move |conn| select_deal(conn, &tenant, &id.to_string()))
            .await
    }

    async fn update_deal(
        &self,
        deal: &Deal,
        expected_version: u64,
        change: Option<&StageChange>,
        events: &[DomainEvent],
    ) -> StoreResult<()> {
        let deal = deal.clone();
        let change = change.cloned();
        let events = events.to_vec();
        StoreError::check_advances(deal.version, expected_version)?;
        self.write(move |tx| {
            replace_deal(tx, &deal, expected_version)?;
            if let Some(change) = &change {
                append_stage(tx, change)?;
            }
            crate::deal_facts::write(tx, &deal)?;
            insert_events(tx, &events)
        })
        .await
    }

    async fn record_deal_activity(
        &self,
        deal: &Deal,
        expected_version: u64,
        activity: &Activity,
        events: &[DomainEvent],
        idempotency: Option<&IdempotencyRecord>,
    ) -> StoreResult<Created<Activity>> {
        let deal = deal.clone();
        let activity = activity.clone();
        let events = events.to_vec();
        let idempotency = idempotency.cloned();
        StoreError::check_advances(deal.version, expected_version)?;
        self.write(move |tx| {
            if let Some(rec) = &idempotency
                && let Some(original) = replay_activity(tx, rec, ACTIVITY_SCOPE, &activity)?
            {
                return Ok(Created::Replayed(original));
            }
            // The deal's report facts stay as they are: an activity changes nothing in them.
            replace_deal(tx, &deal, expected_version)?;
            insert_activity(tx, &activity)?;
            insert_events(tx, &events)?;
            Ok(Created::New(activity))
        })
        .await
    }

    async fn list_deal_activities(
        &self,
        tenant: &TenantId,
        deal: DealId,
        limit: u32,
    ) -> StoreResult<Vec<Activity>> {
        let tenant = tenant.clone();
        self.read(move |conn| select_activities(conn, &tenant, Subject::Deal(deal), limit))
            .await
    }

    async fn create_material_pack(&self, pack: &MaterialPack) -> StoreResult<()> {
        let pack = pack.clone();
        self.write(move |tx| {
            let inserted = tx.execute(
                "INSERT INTO material_packs (tenant_id, id, deal_id, token_hash, created_at, version, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
                params![
                    pack.tenant.as_str(),
                    pack.id.to_string(),
                    pack.deal.to_string(),
                    pack.token_hash,
                    pack.created_at.timestamp_millis(),
                    pack.version as i64,
                    to_json(&pack)?,
                ],
            )
            .map_err(sql_err)?;
            if inserted == 0 {
                return Err(StoreError::AlreadyExists(format!("material pack {}", pack.id)));
            }
            Ok(())
        })
        .await
    }

    async fn material_pack_by_token(&self, token_hash: &str) -> StoreResult<Option<MaterialPack>> {
        let hash = token_hash.to_owned();
        self.read(move |conn| {
            let found: Option<MaterialPack> = query_body(
                conn,
                "SELECT body FROM material_packs WHERE token_hash = ?1",
                params![hash],
            )?;
            Ok(found.map(|pack| MaterialPack {
                token_hash: hash,
                ..pack
            }))
        })
        .await
    }

    async fn list_material_packs(
        &self,
        tenant: &TenantId,
        deal: DealId,
    ) -> StoreResult<Vec<MaterialPack>> {
        let tenant = tenant.clone();
        self.read(move |conn| {
            query_bodies(
                conn,
                "SELECT body FROM material_packs WHERE tenant_id = ?1 AND deal_id = ?2
                 ORDER BY created_at DESC, id DESC",
                params![tenant.as_str(), deal.to_string()],
            )
        })
        .await
    }

    async fn update_material_pack(
        &self,
        pack: &MaterialPack,
        expected_version: u64,
        events: &[DomainEvent],
    ) -> StoreResult<()> {
        let pack = pack.clone();
        let events = events.to_vec();
        StoreError::check_advances(pack.version, expected_version)?;
        self.write(move |tx| {
            let changed = tx
                .execute(
                    "UPDATE material_packs SET version = ?1, body = ?2
                     WHERE tenant_id = ?3 AND id = ?4 AND version = ?5",
                    params![
                        pack.version as i64,
                        to_json(&pack)?,
                        pack.tenant.as_str(),
                        pack.id.to_string(),
                        expected_version as i64,
                    ],
                )
                .map_err(sql_err)?;
            if changed == 0 {
                let actual: Option<i64> = tx
                    .query_row(
                        "SELECT version FROM material_packs WHERE tenant_id = ?1 AND id = ?2",
                        params![pack.tenant.as_str(), pack.id.to_string()],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(sql_err)?;
                return Err(match actual {
                    Some(actual) => StoreError::VersionConflict {
                        expected: expected_version,
                        actual: actual as u64,
                    },
                    None => StoreError::NotFound,
                });
            }
            insert_events(tx, &events)
        })
        .await
    }

    async fn deal_history(&self, tenant: &TenantId, id: DealId) -> StoreResult<Vec<StageChange>> {
        let tenant = tenant.clone();
        self.read(move |conn| {
            query_bodies(
                conn,
                "SELECT body FROM deal_stage_log WHERE tenant_id = ?1 AND deal_id = ?2
                 ORDER BY version",
                params![tenant.as_str(), id.to_string()],
            )
        })
        .await
    }

    async fn deal_facts(
        &self,
        tenant: &TenantId,
        pipeline: &str,
        scope: &LeadScope,
    ) -> StoreResult<Vec<DealFacts>> {
        let (tenant, pipeline, scope) = (tenant.clone(), pipeline.to_owned(), scope.clone());
        self.read(move |conn| crate::deal_facts::select(conn, &tenant, &pipeline, &scope))
            .await
    }

    async fn list_deals(&self, tenant: &TenantId, query: &DealQuery) -> StoreResult<Page<Deal>> {
        let mut sql = String::from("SELECT body FROM deals WHERE tenant_id = ?");
        let mut args: Vec<Value> = vec![Value::Text(tenant.as_str().to_owned())];
        let (clause, value) = scope_clause(&query.scope);
        sql.push_str(clause);
        args.extend(value);
        let mut filter = |clause: &str, value: Value| {
            sql.push_str(clause);
            args.push(value);
        };
        if let Some(owner) = query.owner {
            filter(" AND owner_id = ?", Value::Text(owner.to_string()));
        }
        if let Some(pipeline) = &query.pipeline {
            filter(" AND pipeline = ?", Value::Text(pipeline.clone()));
        }
        if let Some(stage) = &query.stage {
            filter(" AND stage = ?", Value::Text(stage.clone()));
        }
        if let Some(status) = query.status {
            filter(" AND status = ?", Value::Text(status.as_str().to_owned()));
        }
        if let Some(at) = query.overdue_at {
            filter(" AND rots_at < ?", Value::Integer(at.timestamp_millis()));
        }
        let limit = newest_first_page(&mut sql, &mut args, query.after.as_ref(), query.limit);
        self.read(move |conn| {
            let items: Vec<Deal> = query_bodies(conn, &sql, params_from_iter(args))?;
            Ok(Page::from_overfetched(items, limit as usize))
        })
        .await
    }

    async fn stage_totals(
        &self,
        tenant: &TenantId,
        scope: &LeadScope,
        pipeline: &str,
    ) -> StoreResult<Vec<StageTotal>> {
        let mut sql = String::from(
            "SELECT stage, count(*), coalesce(sum(amount), 0)
             FROM deals WHERE tenant_id = ? AND pipeline = ?",
        );
        let mut args: Vec<Value> = vec![
            Value::Text(tenant.as_str().to_owned()),
            Value::Text(pipeline.to_owned()),
        ];
        let (clause, value) = scope_clause(scope);
        sql.push_str(clause);
        args.extend(value);
        sql.push_str(" GROUP BY stage ORDER BY stage");
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(&sql).map_err(sql_err)?;
            let rows = stmt
                .query_map(params_from_iter(args), |r| {
                    Ok(StageTotal {
                        stage: r.get(0)?,
                        count: r.get::<_, i64>(1)? as u64,
                        amount: r.get::<_, i64>(2)? as u64,
                    })
                })
                .map_err(sql_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(sql_err)?;
            Ok(rows)
        })
        .await
    }

    async fn save_pipeline(
        &self,
        pipeline: &Pipeline,
        expected_version: Option<u32>,
    ) -> StoreResult<()> {
        let p = pipeline.clone();
        self.write(move |tx| {
            let current: Option<u32> = tx
                .query_row(
                    "SELECT version FROM pipelines WHERE tenant_id = ?1 AND id = ?2",
                    params![p.tenant.as_str(), p.id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(sql_err)?;
            match (current, expected_version) {
                (Some(_), None) => {
                    return Err(StoreError::AlreadyExists(format!("pipeline {}", p.id)));
                }
                (None, Some(_)) => return Err(StoreError::NotFound),
                (Some(actual), Some(expected)) if actual != expected => {
                    return Err(StoreError::VersionConflict {
                        expected: u64::from(expected),
                        actual: u64::from(actual),
                    });
                }
                _ => {}
            }
            tx.execute(
                "INSERT INTO pipelines (tenant_id, id, version, body) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (tenant_id, id) DO UPDATE SET version = ?3, body = ?4",
                params![p.tenant.as_str(), p.id, p.version, to_json(&p)?],
            )
            .map_err(sql_err)?;
            Ok(())
        })
        .await
    }

    async fn list_pipelines(&self, tenant: &TenantId) -> StoreResult<Vec<Pipeline>> {
        let tenant = tenant.clone();
        self.read(move |conn| {
            query_bodies(
                conn,
                "SELECT body FROM pipelines WHERE tenant_id = ?1 ORDER BY id",
                params![tenant.as_str()],
            )
        })
        .await
    }
}
