//! Deals on DynamoDB. A deal lives at `TENANT#{t}#DEAL#{id}` / `DEAL` with its stage log
//! beside it (`STAGE#{version}`), so "a deal and its history" is one partition; listings use
//! the same three indexes as leads under deal-specific partitions (tenant, owner, team).
//! Customers sit at `TENANT#{t}#CUSTOMER#{id}` / `CUSTOMER` with their contacts
//! (`CONTACT#{id}`); pipelines beside the tenant (`PIPELINE#{id}`). A conversion is one
//! transaction: lead, customer, contact, deal, log line, events.

use crate::directory::tenant_pk;
use crate::lead::{events_items, idempotency_item, lead_item, listing_sk, newest_first_key};
use crate::subject::{record_sk, subject_pk};
use crate::table::{
    ItemBuilder, Query, TxError, body, key, ms_key, n, number_attr, put, put_new, s, string_attr,
    update,
};
use crate::{
    DynamoStore, ENTITY, GSI1, GSI1_PK, GSI1_SK, GSI2, GSI2_PK, GSI2_SK, GSI3, GSI3_PK, GSI3_SK, PK,
};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use fieldline_domain::{
    Activity, Deal, DealFacts, DealId, DomainEvent, LeadScope, MaterialPack, Pipeline, StageChange,
    Subject, SubjectKind, TenantId,
};
use fieldline_store::error::StoreResult;
use fieldline_store::{
    Conversion, Created, DealQuery, DealStore, IdempotencyRecord, Page, StageTotal, StoreError,
    facts_codec, page_limit,
};

const CONVERT_SCOPE: &str = "lead.convert";

fn deal_pk(tenant: &TenantId, id: DealId) -> String {
    subject_pk(tenant, Subject::Deal(id))
}

/// A pack lives under its deal, ordered by creation.
fn pack_key(pack: &MaterialPack) -> (String, String) {
    (
        deal_pk(&pack.tenant, pack.deal),
        format!(
            "PACK#{}#{}",
            ms_key(pack.created_at.timestamp_millis()),
            pack.id
        ),
    )
}

/// The board's column totals, kept as counters beside the deals: one item per pipeline,
/// scope (the tenant, a team, an owner) and stage, counting the deals there and summing their
/// amounts. Every deal write adjusts them in its own transaction, so a board reads a few
/// items instead of every deal in scope.
fn board_pk(tenant: &TenantId, pipeline: &str) -> String {
    format!("{}#BOARD#{pipeline}", tenant_pk(tenant))
}

fn scope_prefix(scope: &LeadScope) -> Option<String> {
    match scope {
        LeadScope::Tenant => Some("ALL#".to_owned()),
        LeadScope::Team(team) => Some(format!("TEAM#{team}#")),
        LeadScope::Owner(user) => Some(format!("OWNER#{user}#")),
        LeadScope::Pool => None,
    }
}

/// The counter keys a deal counts under, with its count and amount.
fn board_entries(deal: &Deal) -> Vec<(String, i64, i64)> {
    let amount = i64::try_from(deal.amount).unwrap_or(i64::MAX);
    let mut scopes = vec![LeadScope::Tenant, LeadScope::Owner(deal.owner)];
    scopes.extend(deal.team.map(LeadScope::Team));
    scopes
        .iter()
        .filter_map(scope_prefix)
        .map(|prefix| (format!("{prefix}{}", deal.stage), 1, amount))
        .collect()
}

/// The counter updates that turn `before`'s contribution into `after`'s (either may be
/// absent); keys whose figures do not change are left alone, and each key is updated once.
fn board_updates(table: &str, before: Option<&Deal>, after: &Deal) -> Vec<TransactWriteItem> {
    let mut delta: std::collections::BTreeMap<String, (String, i64, i64)> = Default::default();
    let mut add = |deal: &Deal, sign: i64| {
        for (sk, count, amount) in board_entries(deal) {
            let e = delta
                .entry(sk)
                .or_insert_with(|| (deal.stage.clone(), 0, 0));
            e.1 += sign * count;
            e.2 = e.2.saturating_add(sign.saturating_mul(amount));
        }
    };
    if let Some(before) = before {
        add(before, -1);
    }
    add(after, 1);
    delta
        .into_iter()
        .filter(|(_, (_, count, amount))| *count != 0 || *amount != 0)
        .map(|(sk, (stage, count, amount))| {
            update(
                table,
                key(board_pk(&after.tenant, &after.pipeline), sk),
                // Names clear of DynamoDB's reserved words (count, status, ...).
                "SET board_stage = :stage ADD deal_count :n, amount_sum :a",
                &[(":stage", s(stage)), (":n", n(count)), (":a", n(amount))],
            )
        })
        .collect()
}

/// The deal reports' projection: one item per deal under its pipeline's partition, holding
/// its `DealFacts` in their compact binary form, rewritten in every transaction that moves or
/// changes the deal (under the deal's version condition, so it is exact whenever the deal
/// is). A report queries one partition instead of every deal body and the whole stage log.
fn facts_pk(tenant: &TenantId, pipeline: &str) -> String {
    format!("{}#FACTS#{pipeline}", tenant_pk(tenant))
}

fn facts_item(deal: &Deal, facts: &DealFacts) -> StoreResult<crate::table::Item> {
    Ok(
        ItemBuilder::new(facts_pk(&deal.tenant, &deal.pipeline), deal.id.to_string())
            .s(ENTITY, "deal_facts")
            .s("owner_id", deal.owner.to_string())
            .s_opt("team_id", deal.team.map(|t| t.to_string()))
            .b(FACTS, facts_codec::encode(facts)?)
            .build(),
    )
}

const FACTS: &str = "facts";

/// The pack's item: its body, its version (the CAS field) and its token hash.
fn pack_item(pack: &MaterialPack) -> StoreResult<crate::table::Item> {
    let (pk, sk) = pack_key(pack);
    Ok(ItemBuilder::new(pk, sk)
        .body(pack)?
        .s(ENTITY, "material_pack")
        .s("token_hash", pack.token_hash.clone())
        .n("version", pack.version as i64)
        .build())
}

fn deal_item(deal: &Deal) -> StoreResult<crate::table::Item> {
    let t = tenant_pk(&deal.tenant);
    let sort = listing_sk(deal.updated_at.timestamp_millis(), deal.id);
    let mut item = ItemBuilder::new(deal_pk(&deal.tenant, deal.id), record_sk(SubjectKind::Deal))
        .body(deal)?
        .s(ENTITY, "deal")
        .n("version", deal.version as i64)
        .s("pipeline", deal.pipeline.clone())
        .s("stage", deal.stage.clone())
        .s("deal_status", deal.status.as_str())
        .s("owner_id", deal.owner.to_string())
        .s_opt("team_id", deal.team.map(|t| t.to_string()))
        .s(GSI1_PK, format!("{t}#DEALS"))
        .s(GSI1_SK, sort.clone())
        .s(GSI2_PK, format!("{t}#DEALOWNER#{}", deal.owner))
        .s(GSI2_SK, sort.clone());
    if let Some(at) = deal.rots_at {
        item = item.n("rots_at", at.timestamp_millis());
    }
    if let Some(team) = deal.team {
        item = item
            .s(GSI3_PK, format!("{t}#DEALTEAM#{team}"))
            .s(GSI3_SK, sort);
    }
    Ok(item.build())
}

fn stage_item(change: &StageChange) -> StoreResult<crate::table::Item> {
    Ok(ItemBuilder::new(
        deal_pk(&change.tenant, change.deal),
        format!("STAGE#{:012}", change.version),
    )
    .body(change)?
    .s(ENTITY, "deal_stage")
    .build())
}

#[async_trait]
impl DealStore for DynamoStore {
    async fn convert_lead(
        &self,
        c: &Conversion,
        idempotency: Option<&IdempotencyRecord>,
    ) -> StoreResult<Created<Deal>> {
        let tenant = &c.deal.tenant;
        let pk = deal_pk(tenant, c.deal.id);
        let sk = record_sk(SubjectKind::Deal);
        let mut items = Vec::new();
        if let Some(rec) = idempotency {
            if let Some(original) = self.replay(tenant, rec, CONVERT_SCOPE).await? {
                return Ok(Created::Replayed(original));
            }
            items.push(put_new(
                self.table(),
                idempotency_item(tenant, rec, CONVERT_SCOPE, (&pk, &sk), c.deal.created_at),
            ));
        }
        let lead_at = items.len();
        items.push(self.versioned_put(lead_item(&c.lead)?, c.lead.version, c.lead_version)?);
        let customer_at = items.len();
        if c.new_customer {
            items.push(put_new(
                self.table(),
                crate::customer::customer_item(&c.customer)?,
            ));
        } else {
            items.push(crate::customer::customer_exists(
                self.table(),
                tenant,
                c.customer.id,
            ));
        }
        if c.new_contact {
            items.extend(crate::customer::contact_items(self.table(), &c.contact)?);
        }
        items.push(put_new(self.table(), deal_item(&c.deal)?));
        items.push(put(
            self.table(),
            crate::customer::deal_link_item(&c.deal),
            None,
            &[],
        ));
        items.push(put_new(self.table(), stage_item(&c.first_stage)?));
        let facts = DealFacts::of(&c.deal, std::slice::from_ref(&c.first_stage));
        items.push(put(self.table(), facts_item(&c.deal, &facts)?, None, &[]));
        items.extend(board_updates(self.table(), None, &c.deal));
        items.extend(events_items(self.table(), &c.events)?);
        match self.transact(items).await {
            Ok(()) => {
                // New records join the de-duplication keys where nobody holds them yet.
                if c.new_customer {
                    self.claim_keys_if_free(
                        tenant,
                        &c.customer.dedupe_keys(),
                        &c.customer.id.to_string(),
                    )
                    .await?;
                }
                if c.new_contact {
                    self.claim_keys_if_free(
                        tenant,
                        &c.contact.dedupe_keys(),
                        &c.contact.id.to_string(),
                    )
                    .await?;
                }
                Ok(Created::New(c.deal.clone()))
            }
            // Another request with the same key won the race: answer with its deal.
            Err(TxError::Cancelled(flags)) if idempotency.is_some() && flags[0] => {
                let rec = idempotency.expect("checked above");
                self.replay(tenant, rec, CONVERT_SCOPE)
                    .await?
                    .map(Created::Replayed)
                    .ok_or_else(|| StoreError::corrupt_msg("idempotency key vanished"))
            }
            Err(TxError::Cancelled(flags))
                if !c.new_customer && flags.get(customer_at).copied().unwrap_or(false) =>
            {
                Err(StoreError::NotFound)
            }
            Err(TxError::Cancelled(flags)) if flags.get(lead_at).copied().unwrap_or(false) => {
                Err(self
                    .version_failure(tenant, c.lead.id.into(), c.lead_version)
                    .await)
            }
            Err(TxError::Cancelled(_)) => {
                Err(StoreError::AlreadyExists(format!("deal {}", c.deal.id)))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn converted_with(
        &self,
        tenant: &TenantId,
        idempotency: &IdempotencyRecord,
    ) -> StoreResult<Option<Deal>> {
        self.replay(tenant, idempotency, CONVERT_SCOPE).await
    }

    async fn get_deal(&self, tenant: &TenantId, id: DealId) -> StoreResult<Option<Deal>> {
        self.get_body(deal_pk(tenant, id), record_sk(SubjectKind::Deal))
            .await
    }

    async fn update_deal(
        &self,
        deal: &Deal,
        expected_version: u64,
        change: Option<&StageChange>,
        events: &[DomainEvent],
    ) -> StoreResult<()> {
        // The stored deal at the expected version is what the board counters hold now; the
        // version condition below makes sure it is still that one when the write lands.
        let before: Option<Deal> = self
            .get_body(deal_pk(&deal.tenant, deal.id), record_sk(SubjectKind::Deal))
            .await?;
        match &before {
            None => return Err(StoreError::NotFound),
            Some(b) if b.version != expected_version => {
                return Err(StoreError::VersionConflict {
                    expected: expected_version,
                    actual: b.version,
                });
            }
            Some(_) => {}
        }
        // The log as it stands at the expected version (lines are written with the version
        // they lead to, so none newer exists while the condition below holds).
        let mut log = self.deal_history(&deal.tenant, deal.id).await?;
        let mut items =
            vec![self.versioned_put(deal_item(deal)?, deal.version, expected_version)?];
        if let Some(change) = change {
            items.push(put_new(self.table(), stage_item(change)?));
            log.push(change.clone());
        }
        let facts = DealFacts::of(deal, &log);
        items.push(put(self.table(), facts_item(deal, &facts)?, None, &[]));
        items.extend(board_updates(self.table(), before.as_ref(), deal));
        items.extend(events_items(self.table(), events)?);
        match self.transact(items).await {
            Ok(()) => Ok(()),
            Err(TxError::Cancelled(_)) => Err(self
                .version_failure(&deal.tenant, Subject::Deal(deal.id), expected_version)
                .await),
            Err(e) => Err(e.into()),
        }
    }

    async fn record_deal_activity(
        &self,
        deal: &Deal,
        expected_version: u64,
        activity: &Activity,
        events: &[DomainEvent],
        idempotency: Option<&IdempotencyRecord>,
    ) -> StoreResult<Created<Activity>> {
        let record = self.versioned_put(deal_item(deal)?, deal.version, expected_version)?;
        self.record_subject_activity(
            record,
            expected_version,
            activity,
            events,
            idempotency.map(|rec| (rec, "deal.activity")),
        )
        .await
    }

    async fn list_deal_activities(
        &self,
        tenant: &TenantId,
        deal: DealId,
        limit: u32,
    ) -> StoreResult<Vec<Activity>> {
        self.subject_activities(tenant, Subject::Deal(deal), limit)
            .await
    }

    async fn create_material_pack(&self, pack: &MaterialPack) -> StoreResult<()> {
        let (pk, sk) = pack_key(pack);
        let main = pack_item(pack)?;
        // The link's lookup item: token hash → the pack's key (never changes).
        let lookup = ItemBuilder::new(format!("MPACK#{}", pack.token_hash), "MPACK")
            .s(ENTITY, "material_link")
            .s("pack_pk", pk)
            .s("pack_sk", sk)
            .build();
        let items = vec![put_new(self.table(), main), put_new(self.table(), lookup)];
        match self.transact(items).await {
            Ok(()) => Ok(()),
            Err(TxError::Cancelled(_)) => Err(StoreError::AlreadyExists(format!(
                "material pack {}",
                pack.id
            ))),
            Err(e) => Err(e.into()),
        }
    }

    async fn material_pack_by_token(&self, token_hash: &str) -> StoreResult<Option<MaterialPack>> {
        let Some(link) = self
            .get(key(format!("MPACK#{token_hash}"), "MPACK"))
            .await?
        else {
            return Ok(None);
        };
        let (Some(pk), Some(sk)) = (string_attr(&link, "pack_pk"), string_attr(&link, "pack_sk"))
        else {
            return Err(StoreError::corrupt_msg(
                "material link without its pack key",
            ));
        };
        let pack: Option<MaterialPack> = self.get_body(pk.to_owned(), sk.to_owned()).await?;
        Ok(pack.map(|p| MaterialPack {
            token_hash: token_hash.to_owned(),
            ..p
        }))
    }

    async fn list_material_packs(
        &self,
        tenant: &TenantId,
        deal: DealId,
    ) -> StoreResult<Vec<MaterialPack>> {
        let mut packs: Vec<MaterialPack> =
            self.query_prefix(deal_pk(tenant, deal), "PACK#").await?;
        packs.reverse();
        Ok(packs)
    }

    async fn update_material_pack(
        &self,
        pack: &MaterialPack,
        expected_version: u64,
        events: &[DomainEvent],
    ) -> StoreResult<()> {
        let (pk, sk) = pack_key(pack);
        let item = pack_item(pack)?;
        let mut items = vec![self.versioned_put(item, pack.version, expected_version)?];
        items.extend(events_items(self.table(), events)?);
        match self.transact(items).await {
            Ok(()) => Ok(()),
            Err(TxError::Cancelled(_)) => match self.get(key(pk, sk)).await? {
                None => Err(StoreError::NotFound),
                Some(stored) => Err(StoreError::VersionConflict {
                    expected: expected_version,
                    actual: number_attr(&stored, "version").unwrap_or_default() as u64,
                }),
            },
            Err(e) => Err(e.into()),
        }
    }

    async fn deal_history(&self, tenant: &TenantId, id: DealId) -> StoreResult<Vec<StageChange>> {
        self.query_prefix(deal_pk(tenant, id), "STAGE#").await
    }

    async fn deal_facts(
        &self,
        tenant: &TenantId,
        pipeline: &str,
        scope: &LeadScope,
    ) -> StoreResult<Vec<DealFacts>> {
        let mut values = vec![(":p", s(facts_pk(tenant, pipeline)))];
        let filter = match scope {
            LeadScope::Tenant => None,
            LeadScope::Team(team) => {
                values.push((":who", s(team.to_string())));
                Some("team_id = :who")
            }
            LeadScope::Owner(user) => {
                values.push((":who", s(user.to_string())));
                Some("owner_id = :who")
            }
            LeadScope::Pool => return Ok(Vec::new()),
        };
        let condition = format!("{PK} = :p");
        let mut q = Query::table(&condition, &values);
        if let Some(f) = filter {
            q = q.filter(f);
        }
        let mut keys = facts_codec::StageKeys::default();
        self.query(q, usize::MAX)
            .await?
            .iter()
            .map(|item| {
                let bytes = item
                    .get(FACTS)
                    .and_then(|v| v.as_b().ok())
                    .ok_or_else(|| StoreError::corrupt_msg("deal facts item without facts"))?;
                facts_codec::decode(bytes.as_ref(), &mut keys)
            })
            .collect()
    }

    async fn list_deals(&self, tenant: &TenantId, query: &DealQuery) -> StoreResult<Page<Deal>> {
        let t = tenant_pk(tenant);
        // The narrowest index the scope allows; what it cannot express becomes a filter.
        let (index, pk_name, sk_name, partition) = match (&query.scope, query.owner) {
            (LeadScope::Pool, _) => {
                return Ok(Page {
                    items: Vec::new(),
                    next: None,
                });
            }
            (LeadScope::Owner(user), _) => {
                (GSI2, GSI2_PK, GSI2_SK, format!("{t}#DEALOWNER#{user}"))
            }
            (_, Some(owner)) => (GSI2, GSI2_PK, GSI2_SK, format!("{t}#DEALOWNER#{owner}")),
            (LeadScope::Team(team), None) => {
                (GSI3, GSI3_PK, GSI3_SK, format!("{t}#DEALTEAM#{team}"))
            }
            (LeadScope::Tenant, None) => (GSI1, GSI1_PK, GSI1_SK, format!("{t}#DEALS")),
        };
        let mut values: Vec<(&str, AttributeValue)> = vec![(":p", s(partition))];
        let key_condition = newest_first_key(pk_name, sk_name, query.after.as_ref(), &mut values);
        let mut filters = Vec::new();
        if let (LeadScope::Team(team), true) = (&query.scope, index != GSI3) {
            filters.push("team_id = :team");
            values.push((":team", s(team.to_string())));
        }
        if let (Some(owner), LeadScope::Owner(_)) = (query.owner, &query.scope) {
            filters.push("owner_id = :owner");
            values.push((":owner", s(owner.to_string())));
        }
        if let Some(pipeline) = &query.pipeline {
            filters.push("pipeline = :pipeline");
            values.push((":pipeline", s(pipeline.clone())));
        }
        if let Some(stage) = &query.stage {
            filters.push("stage = :stage");
            values.push((":stage", s(stage.clone())));
        }
        if let Some(status) = query.status {
            filters.push("deal_status = :status");
            values.push((":status", s(status.as_str())));
        }
        if let Some(at) = query.overdue_at {
            filters.push("rots_at < :now");
            values.push((":now", n(at.timestamp_millis())));
        }
        let filter = filters.join(" AND ");
        let limit = page_limit(query.limit) as usize;
        let mut q = Query::index(index, &key_condition, &values).newest_first();
        if !filter.is_empty() {
            q = q.filter(&filter);
        }
        let items = self.query(q, limit + 1).await?;
        let deals: Vec<Deal> = items.iter().map(body).collect::<StoreResult<_>>()?;
        Ok(Page::from_overfetched(deals, limit))
    }

    /// The scope's counter items (see `board_updates`): a few reads, however many deals.
    async fn stage_totals(
        &self,
        tenant: &TenantId,
        scope: &LeadScope,
        pipeline: &str,
    ) -> StoreResult<Vec<StageTotal>> {
        let Some(prefix) = scope_prefix(scope) else {
            return Ok(Vec::new());
        };
        let values = [
            (":pk", s(board_pk(tenant, pipeline))),
            (":prefix", s(prefix)),
        ];
        let q = Query::table("pk = :pk AND begins_with(sk, :prefix)", &values);
        let items = self.query(q, usize::MAX).await?;
        let mut totals: std::collections::BTreeMap<String, StageTotal> = Default::default();
        for item in &items {
            let count = number_attr(item, "deal_count").unwrap_or_default();
            if count <= 0 {
                continue;
            }
            let stage = string_attr(item, "board_stage")
                .ok_or_else(|| StoreError::corrupt_msg("board total without its stage"))?
                .to_owned();
            totals.insert(
                stage.clone(),
                StageTotal {
                    stage,
                    count: count as u64,
                    amount: number_attr(item, "amount_sum").unwrap_or_default().max(0) as u64,
                },
            );
        }
        Ok(totals.into_values().collect())
    }

    async fn save_pipeline(
        &self,
        pipeline: &Pipeline,
        expected_version: Option<u32>,
    ) -> StoreResult<()> {
        let sk = format!("PIPELINE#{}", pipeline.id);
        let item = ItemBuilder::new(tenant_pk(&pipeline.tenant), sk.clone())
            .body(pipeline)?
            .s(ENTITY, "pipeline")
            .n("version", pipeline.version.into())
            .build();
        let write = match expected_version {
            None => put_new(self.table(), item),
            Some(v) => put(
                self.table(),
                item,
                Some("version = :v"),
                &[(":v", n(v.into()))],
            ),
        };
        match self.transact(vec![write]).await {
            Ok(()) => Ok(()),
            Err(TxError::Cancelled(_)) => {
                let stored = self.get(key(tenant_pk(&pipeline.tenant), sk)).await?;
                match (stored, expected_version) {
                    (Some(_), None) => Err(StoreError::AlreadyExists(format!(
                        "pipeline {}",
                        pipeline.id
                    ))),
                    (None, _) => Err(StoreError::NotFound),
                    (Some(item), Some(expected)) => Err(StoreError::VersionConflict {
                        expected: expected.into(),
                        actual: number_attr(&item, "version").unwrap_or_default() as u64,
                    }),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn list_pipelines(&self, tenant: &TenantId) -> StoreResult<Vec<Pipeline>> {
        self.query_prefix(tenant_pk(tenant), "PIPELINE#").await
    }
}
