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

pub fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(V1_FOUNDATION),
        M::up(V2_AUTOMATION),
        M::up(V3_SUBJECTS),
    ])
}

#[cfg(test)]
mod tests {
    #[test]
    fn migrations_are_valid() {
        super::migrations().validate().unwrap();
    }
}
