//! Versioned schema. Append new migrations; never edit one that has shipped.

use rusqlite_migration::{M, Migrations};

const V1_FOUNDATION: &str = r#"
CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    body        TEXT NOT NULL
) STRICT;

CREATE TABLE teams (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    id          TEXT NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
) STRICT;

CREATE TABLE users (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    id          TEXT NOT NULL,
    email       TEXT NOT NULL,
    team_id     TEXT,
    body        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, email)
) STRICT;

-- Queried columns are real columns; the whole entity is kept as JSON in `body`.
CREATE TABLE leads (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    id          TEXT NOT NULL,
    owner_id    TEXT,
    team_id     TEXT,
    status      TEXT NOT NULL,
    priority    TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    version     INTEGER NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
) STRICT;
CREATE INDEX leads_by_updated  ON leads (tenant_id, updated_at DESC, id DESC);
CREATE INDEX leads_by_owner    ON leads (tenant_id, owner_id, updated_at DESC, id DESC);
CREATE INDEX leads_by_team     ON leads (tenant_id, team_id, updated_at DESC, id DESC);
CREATE INDEX leads_by_status   ON leads (tenant_id, status, updated_at DESC, id DESC);
CREATE INDEX leads_by_priority ON leads (tenant_id, priority, updated_at DESC, id DESC);

CREATE TABLE activities (
    tenant_id   TEXT NOT NULL,
    id          TEXT NOT NULL,
    lead_id     TEXT NOT NULL,
    occurred_at INTEGER NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, lead_id) REFERENCES leads(tenant_id, id)
) STRICT;
CREATE INDEX activities_by_lead ON activities (tenant_id, lead_id, occurred_at DESC);

CREATE TABLE idempotency_keys (
    tenant_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    scope       TEXT NOT NULL,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, user_id, scope, key)
) STRICT;

-- The outbox: written in the same transaction as the change that produced each event.
CREATE TABLE events (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    id             TEXT NOT NULL UNIQUE,
    tenant_id      TEXT NOT NULL,
    aggregate_type TEXT NOT NULL,
    aggregate_id   TEXT NOT NULL,
    kind           TEXT NOT NULL,
    occurred_at    INTEGER NOT NULL,
    body           TEXT NOT NULL
) STRICT;
CREATE INDEX events_by_aggregate ON events (tenant_id, aggregate_id, seq);

CREATE TABLE consumer_offsets (
    consumer    TEXT PRIMARY KEY,
    last_seq    INTEGER NOT NULL
) STRICT;
"#;

const V2_AUTOMATION: &str = r#"
-- Rule dry runs read a tenant's recent events.
CREATE INDEX events_by_tenant_time ON events (tenant_id, occurred_at);

-- Every version of every rule; `rules` points at the current one.
CREATE TABLE rule_versions (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    rule_id     TEXT NOT NULL,
    version     INTEGER NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, rule_id, version)
) STRICT;
CREATE TABLE rules (
    tenant_id   TEXT NOT NULL,
    rule_id     TEXT NOT NULL,
    version     INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, rule_id),
    FOREIGN KEY (tenant_id, rule_id, version) REFERENCES rule_versions(tenant_id, rule_id, version)
) STRICT;

-- Pending timers are indexed by due time only, so a sweep reads just what is due.
CREATE TABLE timers (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    lead_id     TEXT NOT NULL,
    name        TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'fired', 'cancelled')),
    due_at      INTEGER NOT NULL,
    body        TEXT NOT NULL
) STRICT;
CREATE INDEX timers_due ON timers (due_at) WHERE state = 'pending';
CREATE UNIQUE INDEX timers_one_pending ON timers (tenant_id, lead_id, name) WHERE state = 'pending';

CREATE TABLE decisions (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id    TEXT NOT NULL,
    lead_id      TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    rule_id      TEXT NOT NULL,
    action_index INTEGER NOT NULL,
    body         TEXT NOT NULL,
    UNIQUE (event_id, rule_id, action_index)
) STRICT;
CREATE INDEX decisions_by_lead ON decisions (tenant_id, lead_id, seq);
CREATE INDEX decisions_by_tenant ON decisions (tenant_id, seq);

CREATE TABLE rotations (
    tenant_id   TEXT NOT NULL,
    rotation    TEXT NOT NULL,
    last_user   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, rotation)
) STRICT;

CREATE TABLE notifications (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    dedupe_key  TEXT NOT NULL,
    body        TEXT NOT NULL,
    UNIQUE (tenant_id, user_id, dedupe_key)
) STRICT;
CREATE INDEX notifications_by_user ON notifications (tenant_id, user_id, seq DESC);

CREATE TABLE tasks (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    assignee    TEXT,
    done        INTEGER NOT NULL,
    due_at      INTEGER NOT NULL,
    dedupe_key  TEXT NOT NULL,
    body        TEXT NOT NULL,
    UNIQUE (tenant_id, dedupe_key)
) STRICT;
CREATE INDEX tasks_by_assignee ON tasks (tenant_id, assignee, done, due_at);

CREATE TABLE channels (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    url         TEXT NOT NULL,
    secret      TEXT,
    kinds       TEXT NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX channels_by_tenant ON channels (tenant_id);

CREATE TABLE deliveries (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    channel_id      TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    notification_id TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'dead')),
    attempts        INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    body            TEXT NOT NULL,
    UNIQUE (notification_id, channel_id)
) STRICT;
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state IN ('pending', 'sending');
CREATE INDEX deliveries_dead ON deliveries (tenant_id, next_attempt_at) WHERE state = 'dead';
"#;

const V3_SUBJECTS: &str = r#"
-- Timers and decisions are about any subject, not only leads. Subject ids are UUIDs unique
-- across kinds, so the kind is kept beside the id for reading, not for uniqueness.
ALTER TABLE timers RENAME COLUMN lead_id TO subject_id;
ALTER TABLE timers ADD COLUMN subject_type TEXT NOT NULL DEFAULT 'lead';
ALTER TABLE decisions RENAME COLUMN lead_id TO subject_id;
ALTER TABLE decisions ADD COLUMN subject_type TEXT NOT NULL DEFAULT 'lead';

CREATE TABLE uploads (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    id          TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    status      TEXT NOT NULL,
    updated_at  INTEGER NOT NULL,
    version     INTEGER NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
) STRICT;
CREATE INDEX uploads_by_user ON uploads (tenant_id, created_by, updated_at DESC, id DESC);
"#;

const V4_DIRECTORY_VERSION: &str = r#"
-- Bumped by every change to a user or tenant, from any connection or process, so a cache of
-- them can stay exact: it is valid exactly while this number is unchanged.
CREATE TABLE directory_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
) STRICT;
INSERT INTO directory_version (id, version) VALUES (1, 0);
CREATE TRIGGER users_inserted AFTER INSERT ON users
    BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER users_updated AFTER UPDATE ON users
    BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER users_deleted AFTER DELETE ON users
    BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER tenants_inserted AFTER INSERT ON tenants
    BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER tenants_updated AFTER UPDATE ON tenants
    BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER tenants_deleted AFTER DELETE ON tenants
    BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
"#;

const V5_DEALS: &str = r#"
CREATE TABLE customers (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    id          TEXT NOT NULL,
    owner_id    TEXT NOT NULL,
    version     INTEGER NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
) STRICT;

CREATE TABLE contacts (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    id          TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
) STRICT;
CREATE INDEX contacts_by_customer ON contacts (tenant_id, customer_id);

-- `rots_at` (ms) is when the deal goes overdue in its stage; NULL without a limit or closed.
CREATE TABLE deals (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    id          TEXT NOT NULL,
    owner_id    TEXT NOT NULL,
    team_id     TEXT,
    pipeline    TEXT NOT NULL,
    stage       TEXT NOT NULL,
    status      TEXT NOT NULL,
    rots_at     INTEGER,
    updated_at  INTEGER NOT NULL,
    version     INTEGER NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
) STRICT;
CREATE INDEX deals_by_update ON deals (tenant_id, updated_at DESC, id DESC);
CREATE INDEX deals_by_owner ON deals (tenant_id, owner_id, updated_at DESC, id DESC);
CREATE INDEX deals_by_team ON deals (tenant_id, team_id, updated_at DESC, id DESC);
CREATE INDEX deals_by_stage ON deals (tenant_id, pipeline, stage);

-- Append-only: one row per stage move, keyed by the deal's version after it.
CREATE TABLE deal_stage_log (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    deal_id     TEXT NOT NULL,
    version     INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, deal_id, version)
) STRICT;
CREATE INDEX deal_stage_log_by_time ON deal_stage_log (tenant_id, at);

CREATE TABLE pipelines (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    id          TEXT NOT NULL,
    version     INTEGER NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
) STRICT;
"#;

/// A board column is a stage's newest deals: the stage index carries the sort order, so a
/// column reads its page instead of sorting every deal in the stage (measured by the
/// `deal_reports` benchmark).
const V6_BOARD_INDEX: &str = r#"
DROP INDEX deals_by_stage;
CREATE INDEX deals_by_stage ON deals (tenant_id, pipeline, stage, updated_at DESC, id DESC);
"#;

/// Activities belong to any subject (leads, deals): the table loses its lead foreign key and
/// names the subject's kind beside its id. Existing rows are leads'.
const V7_SUBJECT_ACTIVITIES: &str = r#"
CREATE TABLE subject_activities (
    tenant_id    TEXT NOT NULL,
    id           TEXT NOT NULL,
    subject_kind TEXT NOT NULL,
    subject_id   TEXT NOT NULL,
    occurred_at  INTEGER NOT NULL,
    body         TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
) STRICT;
INSERT INTO subject_activities (tenant_id, id, subject_kind, subject_id, occurred_at, body)
    SELECT tenant_id, id, 'lead', lead_id, occurred_at, body FROM activities;
DROP TABLE activities;
ALTER TABLE subject_activities RENAME TO activities;
CREATE INDEX activities_by_subject ON activities (tenant_id, subject_id, occurred_at DESC, id DESC);
"#;

/// Material packs: found by their link's token hash (unique), listed per deal.
const V8_MATERIAL_PACKS: &str = r#"
CREATE TABLE material_packs (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    id          TEXT NOT NULL,
    deal_id     TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    version     INTEGER NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
) STRICT;
CREATE INDEX material_packs_by_deal ON material_packs (tenant_id, deal_id, created_at DESC);
"#;

/// The board's column totals read the amount from a column and covering indexes (per
/// tenant, team and owner scope) instead of parsing every deal's body: measured by the
/// `deal_reports` benchmark (a 40,000-deal board went from ~140 ms to a few).
const V9_DEAL_AMOUNTS: &str = r#"
ALTER TABLE deals ADD COLUMN amount INTEGER NOT NULL DEFAULT 0;
UPDATE deals SET amount = coalesce(json_extract(body, '$.amount'), 0);
CREATE INDEX deals_stage_amounts ON deals (tenant_id, pipeline, stage, amount);
CREATE INDEX deals_team_stage_amounts ON deals (tenant_id, pipeline, team_id, stage, amount);
CREATE INDEX deals_owner_stage_amounts ON deals (tenant_id, pipeline, owner_id, stage, amount);
"#;

/// The deal reports' projection (see `deal_facts`), filled for deals already stored. Rows
/// are clustered by tenant and pipeline, and deliberately have no team or owner index: the
/// planner would prefer such a narrower index for the whole-pipeline read and then fetch
/// every row through it (measured about five times slower than the clustered scan), while a
/// team's or a rep's report costs at most the clustered scan with a filter.
const V10_DEAL_FACTS: &str = r#"
CREATE TABLE deal_facts (
    tenant_id   TEXT NOT NULL,
    pipeline    TEXT NOT NULL,
    deal_id     TEXT NOT NULL,
    owner_id    TEXT NOT NULL,
    team_id     TEXT,
    facts       BLOB NOT NULL,
    PRIMARY KEY (tenant_id, pipeline, deal_id)
) STRICT, WITHOUT ROWID;
"#;

/// Customers get the columns their listings need (team, sort time) and the tenant's
/// de-duplication keys a table of their own; existing records are given their keys.
const V11_CUSTOMER_KEYS: &str = r#"
ALTER TABLE customers ADD COLUMN team_id TEXT;
ALTER TABLE customers ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
UPDATE customers SET team_id = json_extract(body, '$.team'),
    updated_at = coalesce(CAST(unixepoch(json_extract(body, '$.created_at'), 'subsec') * 1000 AS INTEGER), 0);
CREATE INDEX customers_by_time ON customers (tenant_id, updated_at DESC, id DESC);
CREATE INDEX customers_by_team ON customers (tenant_id, team_id, updated_at DESC, id DESC);
CREATE INDEX customers_by_owner ON customers (tenant_id, owner_id, updated_at DESC, id DESC);
CREATE TABLE dedupe_keys (
    tenant_id   TEXT NOT NULL,
    key         TEXT NOT NULL,
    record_id   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, key)
) STRICT, WITHOUT ROWID;
"#;

/// A customer's name folded for search (`search_fold`), filled for customers already stored.
const V12_CUSTOMER_SEARCH: &str = r#"
ALTER TABLE customers ADD COLUMN search TEXT NOT NULL DEFAULT '';
"#;

/// Customer grading: the purchase ledger (one row per customer and reference, so a re-posted
/// invoice is recorded once) and the monthly grade snapshots (one row per customer and month).
/// Customer activities use the activities table with the index it has (tenant, subject, time).
const V13_GRADING: &str = r#"
CREATE TABLE purchases (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    customer_id TEXT NOT NULL,
    reference   TEXT NOT NULL,
    at          INTEGER NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, customer_id, reference)
) STRICT, WITHOUT ROWID;
CREATE INDEX purchases_by_time ON purchases (tenant_id, customer_id, at);

CREATE TABLE customer_grades (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    customer_id TEXT NOT NULL,
    month       TEXT NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, customer_id, month)
) STRICT, WITHOUT ROWID;
CREATE INDEX customer_grades_by_month ON customer_grades (tenant_id, month);
"#;

/// A deal's customer as a column, so a customer's grade finds the activities logged on its
/// deals (filled from the bodies of deals already stored).
const V14_DEAL_CUSTOMER: &str = r#"
ALTER TABLE deals ADD COLUMN customer_id TEXT;
UPDATE deals SET customer_id = json_extract(body, '$.customer');
CREATE INDEX deals_by_customer ON deals (tenant_id, customer_id);
"#;

/// Store visits: the body, and the columns reports and the version check read.
const V15_VISITS: &str = r#"
CREATE TABLE visits (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    checked_in_at INTEGER NOT NULL,
    version INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX visits_by_time ON visits (tenant_id, checked_in_at);
"#;

/// Quick sale tags: each tagged sale once (by id), and the counters reports read, one row per
/// tenant, region, week and tag (`*`: the week's sales). Spikes announced, once each.
const V16_SALE_TAGS: &str = r#"
CREATE TABLE sale_tags (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    store_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE TABLE sale_tag_counts (
    tenant_id TEXT NOT NULL,
    week TEXT NOT NULL,
    region TEXT NOT NULL,
    tag TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, week, region, tag)
) WITHOUT ROWID;
CREATE TABLE sale_tag_spikes (
    tenant_id TEXT NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (tenant_id, key)
) WITHOUT ROWID;
"#;

/// The catalogue, stock per location (on hand and reserved, so a reservation is one
/// conditional UPDATE), orders (listed by change time per scope and by customer), stock
/// locations and the breakers managers touched.
const V18_ORDERS: &str = r#"
CREATE TABLE skus (
    tenant_id TEXT NOT NULL,
    code TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (tenant_id, code)
) WITHOUT ROWID;
CREATE TABLE stock (
    tenant_id TEXT NOT NULL,
    sku TEXT NOT NULL,
    location TEXT NOT NULL,
    on_hand INTEGER NOT NULL,
    reserved INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, sku, location)
) WITHOUT ROWID;
CREATE TABLE orders (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    team_id TEXT,
    status TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX orders_by_update ON orders (tenant_id, updated_at DESC, id DESC);
CREATE INDEX orders_by_customer ON orders (tenant_id, customer_id);
CREATE INDEX orders_by_owner ON orders (tenant_id, owner_id, updated_at DESC);
CREATE INDEX orders_by_team ON orders (tenant_id, team_id, updated_at DESC);
CREATE TABLE locations (
    tenant_id TEXT NOT NULL,
    code TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (tenant_id, code)
) WITHOUT ROWID;
CREATE TABLE breakers (
    tenant_id TEXT NOT NULL,
    sku TEXT NOT NULL,
    location TEXT NOT NULL,
    version INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (tenant_id, sku, location)
) WITHOUT ROWID;
"#;

/// Reps' weekly demand estimates, one per rep, SKU, region and week.
const V19_DEMAND_ESTIMATES: &str = r#"
CREATE TABLE demand_estimates (
    tenant_id TEXT NOT NULL,
    week TEXT NOT NULL,
    sku TEXT NOT NULL,
    region TEXT NOT NULL,
    by_user TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (tenant_id, week, sku, region, by_user)
) WITHOUT ROWID;
"#;

/// The weekly demand history the forecast reads: what was ordered of each SKU at each
/// warehouse per week (its Monday, tenant's zone), added to as orders are submitted.
const V20_DEMAND_WEEKS: &str = r#"
CREATE TABLE demand_weeks (
    tenant_id TEXT NOT NULL,
    sku TEXT NOT NULL,
    region TEXT NOT NULL,
    week TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, sku, region, week)
) WITHOUT ROWID;
CREATE INDEX demand_weeks_by_week ON demand_weeks (tenant_id, week, quantity);
"#;

/// The phone and e-mail of each lead's contact (`Lead::contact_keys`), so a business card is
/// matched against leads too. Not unique: two leads may share a phone.
const V17_LEAD_KEYS: &str = r#"
CREATE TABLE lead_keys (
    tenant_id TEXT NOT NULL,
    key TEXT NOT NULL,
    lead_id TEXT NOT NULL,
    PRIMARY KEY (tenant_id, key, lead_id)
) WITHOUT ROWID;
CREATE INDEX lead_keys_by_lead ON lead_keys (tenant_id, lead_id);
"#;

pub fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(V1_FOUNDATION),
        M::up(V2_AUTOMATION),
        M::up(V3_SUBJECTS),
        M::up(V4_DIRECTORY_VERSION),
        M::up(V5_DEALS),
        M::up(V6_BOARD_INDEX),
        M::up(V7_SUBJECT_ACTIVITIES),
        M::up(V8_MATERIAL_PACKS),
        M::up(V9_DEAL_AMOUNTS),
        M::up_with_hook(V10_DEAL_FACTS, |tx: &rusqlite::Transaction| {
            crate::deal_facts::backfill(tx)
                .map_err(|e| rusqlite_migration::HookError::Hook(format!("{e:#}")))
        }),
        M::up_with_hook(V11_CUSTOMER_KEYS, |tx: &rusqlite::Transaction| {
            crate::customer::backfill_keys(tx)
                .map_err(|e| rusqlite_migration::HookError::Hook(format!("{e:#}")))
        }),
        M::up_with_hook(V12_CUSTOMER_SEARCH, |tx: &rusqlite::Transaction| {
            crate::customer::backfill_search(tx)
                .map_err(|e| rusqlite_migration::HookError::Hook(format!("{e:#}")))
        }),
        M::up(V13_GRADING),
        M::up(V14_DEAL_CUSTOMER),
        M::up(V15_VISITS),
        M::up(V16_SALE_TAGS),
        M::up_with_hook(V17_LEAD_KEYS, |tx: &rusqlite::Transaction| {
            crate::lead::backfill_keys(tx)
                .map_err(|e| rusqlite_migration::HookError::Hook(format!("{e:#}")))
        }),
        M::up(V18_ORDERS),
        M::up(V19_DEMAND_ESTIMATES),
        M::up_with_hook(V20_DEMAND_WEEKS, |tx: &rusqlite::Transaction| {
            crate::order::backfill_demand(tx)
                .map_err(|e| rusqlite_migration::HookError::Hook(format!("{e:#}")))
        }),
    ])
}

#[cfg(test)]
mod tests {
    use crate::SqliteStore;
    use fieldline_domain::{LeadId, Subject, TenantId};
    use fieldline_store::{DecisionLog, TimerStore};
    use rusqlite::params;

    /// A deal as the store would hold it, with its first log line.
    fn stored_deal(amount: u64) -> (fieldline_domain::Deal, fieldline_domain::StageChange) {
        use fieldline_domain::*;
        let tenant = TenantId::parse("acme").unwrap();
        let actor = Actor {
            user: UserId::new(),
            tenant: tenant.clone(),
            role: Role::Rep,
            team: None,
        };
        let draft = DealDraft {
            title: "批发合作".into(),
            customer: CustomerId::new(),
            contacts: vec![],
            owner: actor.user,
            team: None,
            amount,
            currency: "CNY".into(),
            expected_close: chrono::NaiveDate::from_ymd_opt(2026, 12, 20),
            source_lead: None,
        };
        let at = "2026-11-02T09:00:00Z".parse().unwrap();
        let pipeline = Pipeline::default_for(&tenant);
        let (deal, first, _) = Deal::create(draft, DealId::new(), &pipeline, &actor, at).unwrap();
        (deal, first)
    }

    /// Deals stored before the reports' projection (V9) are in it after the upgrade, exactly
    /// as the deal and its log say.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn deals_stored_before_the_projection_are_in_it() {
        use fieldline_store::DealStore;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v9.db");
        let (deal, first) = stored_deal(88_000);
        {
            let mut conn = rusqlite::Connection::open(&path).unwrap();
            super::migrations().to_version(&mut conn, 9).unwrap();
            // The customer row is not what this is about.
            conn.pragma_update(None, "foreign_keys", false).unwrap();
            let tx = conn.transaction().unwrap();
            // The V9 row, as the V9 code wrote it.
            tx.execute(
                "INSERT INTO deals (tenant_id, id, owner_id, team_id, pipeline, stage, status,
                                    rots_at, updated_at, version, body, amount)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                params![
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
                    serde_json::to_string(&deal).unwrap(),
                    deal.amount as i64,
                ],
            )
            .unwrap();
            crate::bulk::append_stage(&tx, &first).unwrap();
            tx.commit().unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        // V14 filled the deal's customer column from its body.
        let customer: String = rusqlite::Connection::open(&path)
            .unwrap()
            .query_row("SELECT customer_id FROM deals", [], |r| r.get(0))
            .unwrap();
        assert_eq!(customer, deal.customer.to_string());
        let facts = store
            .deal_facts(
                &deal.tenant,
                "default",
                &fieldline_domain::LeadScope::Tenant,
            )
            .await
            .unwrap();
        assert_eq!(facts, [fieldline_domain::DealFacts::of(&deal, &[first])]);
    }

    #[test]
    fn migrations_are_valid() {
        super::migrations().validate().unwrap();
    }

    /// Deals written before the amount column (V8) sum to their amounts on the board after
    /// the upgrade.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn deal_amounts_move_into_their_column() {
        use fieldline_store::DealStore;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v8.db");
        let acme = TenantId::parse("acme").unwrap();
        {
            let mut conn = rusqlite::Connection::open(&path).unwrap();
            super::migrations().to_version(&mut conn, 8).unwrap();
            conn.pragma_update(None, "foreign_keys", false).unwrap();
            for (i, amount) in [120_000u64, 30_000].into_iter().enumerate() {
                let (deal, _) = stored_deal(amount);
                conn.execute(
                    "INSERT INTO deals (tenant_id, id, owner_id, team_id, pipeline, stage, status,
                                        rots_at, updated_at, version, body)
                     VALUES ('acme', ?1, 'u', NULL, 'default', 'new', 'open', NULL, ?2, 1, ?3)",
                    params![
                        deal.id.to_string(),
                        i as i64,
                        serde_json::to_string(&deal).unwrap()
                    ],
                )
                .unwrap();
            }
        }
        let store = SqliteStore::open(&path).unwrap();
        let totals = store
            .stage_totals(&acme, &fieldline_domain::LeadScope::Tenant, "default")
            .await
            .unwrap();
        assert_eq!(totals.len(), 1);
        assert_eq!((totals[0].count, totals[0].amount), (2, 150_000));
    }

    /// A lead's activity written before activities belonged to any subject (V6) reads back
    /// on the current schema, as the lead's.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn lead_activities_survive_the_move_to_subject_activities() {
        use fieldline_store::LeadStore;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v6.db");
        let lead = LeadId::new();
        let activity = fieldline_domain::Activity {
            id: fieldline_domain::ActivityId::new(),
            tenant: TenantId::parse("acme").unwrap(),
            subject: Subject::Lead(lead),
            kind: fieldline_domain::ActivityKind::Call,
            summary: "电话沟通".into(),
            occurred_at: "2026-03-01T09:00:00Z".parse().unwrap(),
            author: fieldline_domain::UserId::new(),
            recorded_at: "2026-03-01T09:00:00Z".parse().unwrap(),
            structured: None,
            contact: None,
            attachment: None,
        };
        {
            let mut conn = rusqlite::Connection::open(&path).unwrap();
            super::migrations().to_version(&mut conn, 6).unwrap();
            // The lead row itself is not what this is about.
            conn.pragma_update(None, "foreign_keys", false).unwrap();
            conn.execute(
                "INSERT INTO activities (tenant_id, id, lead_id, occurred_at, body)
                 VALUES ('acme', ?1, ?2, ?3, ?4)",
                params![
                    activity.id.to_string(),
                    lead.to_string(),
                    activity.occurred_at.timestamp_millis(),
                    serde_json::to_string(&activity).unwrap()
                ],
            )
            .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.schema_version().await.unwrap(), 20);
        let listed = store
            .list_activities(&activity.tenant, lead, 10)
            .await
            .unwrap();
        assert_eq!(listed, vec![activity]);
    }

    /// Orders stored before the demand history (V20) are in it after the upgrade: submitted
    /// ones in their week in the tenant's zone, drafts not at all.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn orders_stored_before_v20_fill_the_demand_history() {
        use chrono::TimeZone;
        use fieldline_domain::order::{
            Code, LineInput, NewOrder, Order, OrderPolicy, PaymentTerms, Sku, SkuInput,
        };
        use fieldline_store::OrderStore;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v19.db");
        let tenant = TenantId::parse("acme").unwrap();
        let code = |c: &str| Code::parse(c, "code").unwrap();
        // Sunday 18:00 UTC: Monday 02:00 in Shanghai, the tenant's zone.
        let at = chrono::Utc.with_ymd_and_hms(2026, 3, 8, 18, 0, 0).unwrap();
        let sku = Sku::new(
            &tenant,
            code("LUB-18L"),
            &SkuInput {
                name: "润滑油".into(),
                unit_price: 1000,
                floor_price: 0,
                currency: "CNY".into(),
                safety_stock: 0,
            },
            at,
        )
        .unwrap();
        let order = |quantity| {
            let input = NewOrder {
                customer: fieldline_domain::CustomerId::new(),
                channel: "direct".into(),
                location: code("WH-SH"),
                lines: vec![LineInput {
                    sku: code("LUB-18L"),
                    quantity,
                    unit_price: None,
                    discount_percent: 0,
                }],
                payment_terms: PaymentTerms::Prepaid,
                delivery_address: "上海".into(),
            };
            let owner = (fieldline_domain::UserId::new(), None);
            Order::draft(
                &input,
                fieldline_domain::OrderId::new(),
                &tenant,
                owner,
                std::slice::from_ref(&sku),
                at,
            )
            .unwrap()
        };
        let (mut first, mut second, draft) = (order(3), order(4), order(100));
        for o in [&mut first, &mut second] {
            o.submit(
                o.owner,
                None,
                std::slice::from_ref(&sku),
                &OrderPolicy::default(),
                at,
            )
            .unwrap();
        }
        {
            let mut conn = rusqlite::Connection::open(&path).unwrap();
            super::migrations().to_version(&mut conn, 19).unwrap();
            let tx = conn.transaction().unwrap();
            let row = fieldline_domain::Tenant::new(
                tenant.clone(),
                fieldline_domain::PersonName::parse("Acme").unwrap(),
                "Asia/Shanghai",
                "CN",
            );
            tx.execute(
                "INSERT INTO tenants (id, body) VALUES (?1, ?2)",
                params![tenant.as_str(), serde_json::to_string(&row).unwrap()],
            )
            .unwrap();
            for o in [&first, &second, &draft] {
                crate::bulk::insert_order(&tx, o).unwrap();
            }
            tx.commit().unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        let since = chrono::NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
        let history = store.demand_history(&tenant, since, None).await.unwrap();
        let got: Vec<_> = history
            .iter()
            .map(|p| {
                (
                    p.day.to_string(),
                    p.sku.as_str(),
                    p.region.as_str(),
                    p.quantity,
                )
            })
            .collect();
        assert_eq!(got, [("2026-03-09".to_owned(), "LUB-18L", "WH-SH", 7)]);
    }

    /// Leads written before the card matcher existed are found by their phone after the
    /// upgrade: V17 indexes what is stored.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn leads_stored_before_v17_are_indexed_by_their_contact() {
        use fieldline_store::LeadStore;
        use fieldline_store::testkit::{new_lead, t0, user};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v16.db");
        let acme = TenantId::parse("acme").unwrap();
        let rep = user(&acme, None, "rep@acme.cn");
        let (mut lead, _) = new_lead(&rep, t0());
        lead.contact.email =
            Some(fieldline_domain::EmailAddress::parse("Old@Example.com").unwrap());
        {
            let mut conn = rusqlite::Connection::open(&path).unwrap();
            super::migrations().to_version(&mut conn, 16).unwrap();
            conn.pragma_update(None, "foreign_keys", false).unwrap();
            conn.execute(
                "INSERT INTO leads (tenant_id, id, status, priority, created_at, updated_at, version, body)
                 VALUES ('acme', ?1, 'new', 'b', 0, 0, 1, ?2)",
                params![lead.id.to_string(), serde_json::to_string(&lead).unwrap()],
            )
            .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        let found = store
            .leads_with_key(&acme, "lead:email:old@example.com")
            .await
            .unwrap();
        assert_eq!(found, vec![lead]);
    }

    /// A database last written by the V2 code (timers and decisions keyed by `lead_id`, bodies
    /// as V2 wrote them) opens on the current schema with nothing lost: the pending timer is
    /// still pending, fires once, and the decision log reads back per lead.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn timers_and_decisions_written_by_v2_survive_the_upgrade() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v2.db");
        let lead = LeadId::new();
        let timer_id = uuid::Uuid::now_v7();
        let event_id = uuid::Uuid::now_v7();
        let due = chrono::DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z").unwrap();
        {
            let mut conn = rusqlite::Connection::open(&path).unwrap();
            super::migrations().to_version(&mut conn, 2).unwrap();
            conn.execute(
                "INSERT INTO tenants (id, body) VALUES ('acme', ?1)",
                [r#"{"id":"acme","name":"Acme","time_zone":"Asia/Shanghai","region":"CN"}"#],
            )
            .unwrap();
            let timer = format!(
                r#"{{"id":"{timer_id}","tenant":"acme","lead":"{lead}","name":"first_contact",
                "due_at":"2026-03-02T09:00:00Z","created_at":"2026-03-01T09:00:00Z","cause":null}}"#
            );
            conn.execute(
                "INSERT INTO timers (id, tenant_id, lead_id, name, state, due_at, body)
                 VALUES (?1, 'acme', ?2, 'first_contact', 'pending', ?3, ?4)",
                params![
                    timer_id.to_string(),
                    lead.to_string(),
                    due.timestamp_millis(),
                    timer
                ],
            )
            .unwrap();
            let decision = format!(
                r#"{{"tenant":"acme","rule":"assign-round-robin","rule_version":1,
                "event":"{event_id}","trigger":"lead_created","lead":"{lead}","action_index":0,
                "action":{{"type":"assign_round_robin"}},"evidence":[],"outcome":"done",
                "detail":"assigned","at":"2026-03-01T09:00:00Z"}}"#
            );
            conn.execute(
                "INSERT INTO decisions (tenant_id, lead_id, event_id, rule_id, action_index, body)
                 VALUES ('acme', ?1, ?2, 'assign-round-robin', 0, ?3)",
                params![lead.to_string(), event_id.to_string(), decision],
            )
            .unwrap();
        }

        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.schema_version().await.unwrap(), 20, "V2 -> V20");
        let acme = TenantId::parse("acme").unwrap();
        let pending = store
            .pending_timers(&acme, Subject::Lead(lead))
            .await
            .unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].id.to_string(), timer_id.to_string());
        assert_eq!(pending[0].subject, Subject::Lead(lead));
        let later = due.with_timezone(&chrono::Utc) + chrono::Duration::minutes(1);
        assert_eq!(store.fire_due_timers(later, 10).await.unwrap().len(), 1);
        assert!(store.fire_due_timers(later, 10).await.unwrap().is_empty());
        let decisions = store
            .list_decisions(&acme, Some(Subject::Lead(lead)), 10)
            .await
            .unwrap();
        assert_eq!(decisions.len(), 1);
        assert_eq!(decisions[0].subject, Subject::Lead(lead));
        assert_eq!(decisions[0].event.to_string(), event_id.to_string());
    }
}
