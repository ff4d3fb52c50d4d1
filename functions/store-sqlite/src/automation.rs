use crate::events::insert_events;
use crate::{SqliteStore, from_json, query_bodies, query_body, sql_err, subject_version, to_json};
use async_trait::async_trait;
use fieldline_domain::{
    Channel, Decision, Delivery, DeliveryResult, DomainEvent, EventPayload, Notification, Rule,
    RuleId, Subject, Task, TaskId, TeamId, TenantId, Timer, Timestamp, UserId,
};
use fieldline_store::error::{StoreError, StoreResult};
use fieldline_store::ports::{
    AssignmentStore, DecisionLog, InboxStore, RuleStore, TaskStore, TimerStore, next_in_turn,
};
use rusqlite::{OptionalExtension, params};

#[async_trait]
impl RuleStore for SqliteStore {
    async fn save_rule(&self, rule: &Rule, expected_version: Option<u32>) -> StoreResult<()> {
        let rule = rule.clone();
        self.write(move |tx| {
            let current: Option<u32> = tx
                .query_row(
                    "SELECT version FROM rules WHERE tenant_id = ?1 AND rule_id = ?2",
                    params![rule.tenant.as_str(), rule.id.as_str()],
                    |r| r.get(0),
                )
                .optional().map_err(sql_err)?;
            match (current, expected_version) {
                (Some(_), None) => {
                    return Err(StoreError::AlreadyExists(format!("rule {}", rule.id)));
                }
                (None, Some(_)) => return Err(StoreError::NotFound),
                (Some(actual), Some(expected)) if actual != expected => {
                    return Err(StoreError::VersionConflict {
                        expected: expected.into(),
                        actual: actual.into(),
                    });
                }
                _ => {}
            }
            tx.execute(
                "INSERT INTO rule_versions (tenant_id, rule_id, version, body) VALUES (?1, ?2, ?3, ?4)",
                params![rule.tenant.as_str(), rule.id.as_str(), rule.version, to_json(&rule)?],
            ).map_err(sql_err)?;
            tx.execute(
                "INSERT INTO rules (tenant_id, rule_id, version) VALUES (?1, ?2, ?3)
                 ON CONFLICT (tenant_id, rule_id) DO UPDATE SET version = excluded.version",
                params![rule.tenant.as_str(), rule.id.as_str(), rule.version],
            ).map_err(sql_err)?;
            Ok(())
        })
        .await
    }

    async fn list_rules(&self, tenant: &TenantId) -> StoreResult<Vec<Rule>> {
        let tenant = tenant.clone();
        self.read(move |conn| {
            query_bodies(
                conn,
                "SELECT v.body FROM rules r JOIN rule_versions v
                   ON v.tenant_id = r.tenant_id AND v.rule_id = r.rule_id AND v.version = r.version
                 WHERE r.tenant_id = ?1 ORDER BY r.rule_id",
                params![tenant.as_str()],
            )
        })
        .await
    }

    async fn get_rule(&self, tenant: &TenantId, id: &RuleId) -> StoreResult<Option<Rule>> {
        let (tenant, id) = (tenant.clone(), id.clone());
        self.read(move |conn| {
            query_body(
                conn,
                "SELECT v.body FROM rules r JOIN rule_versions v
                   ON v.tenant_id = r.tenant_id AND v.rule_id = r.rule_id AND v.version = r.version
                 WHERE r.tenant_id = ?1 AND r.rule_id = ?2",
                params![tenant.as_str(), id.as_str()],
            )
        })
        .await
    }

    async fn rule_versions(&self, tenant: &TenantId, id: &RuleId) -> StoreResult<Vec<Rule>> {
        let (tenant, id) = (tenant.clone(), id.clone());
        self.read(move |conn| {
            query_bodies(
                conn,
                "SELECT body FROM rule_versions WHERE tenant_id = ?1 AND rule_id = ?2 ORDER BY version",
                params![tenant.as_str(), id.as_str()],
            )
        })
        .await
    }
}

#[async_trait]
impl TimerStore for SqliteStore {
    async fn start_timer(&self, timer: &Timer, restart: bool) -> StoreResult<bool> {
        let timer = timer.clone();
        self.write(move |tx| {
            if restart {
                tx.execute(
                    "UPDATE timers SET state = 'cancelled'
                     WHERE tenant_id = ?1 AND subject_id = ?2 AND name = ?3 AND state = 'pending'",
                    params![timer.tenant.as_str(), timer.subject.id().to_string(), timer.name],
                ).map_err(sql_err)?;
            }
            let inserted = tx.execute(
                "INSERT INTO timers (id, tenant_id, subject_id, subject_type, name, state, due_at, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?7)
                 ON CONFLICT DO NOTHING",
                params![
                    timer.id.to_string(),
                    timer.tenant.as_str(),
                    timer.subject.id().to_string(),
                    timer.subject.kind().as_str(),
                    timer.name,
                    timer.due_at.timestamp_millis(),
                    to_json(&timer)?
                ],
            ).map_err(sql_err)?;
            Ok(inserted == 1)
        })
        .await
    }

    async fn cancel_timers(
        &self,
        tenant: &TenantId,
        subject: Subject,
        names: &[String],
    ) -> StoreResult<u32> {
        let (tenant, names) = (tenant.clone(), names.to_vec());
        self.write(move |tx| {
            let mut stmt = tx
                .prepare_cached(
                    "UPDATE timers SET state = 'cancelled'
                 WHERE tenant_id = ?1 AND subject_id = ?2 AND name = ?3 AND state = 'pending'",
                )
                .map_err(sql_err)?;
            let mut n = 0;
            for name in &names {
                n += stmt
                    .execute(params![tenant.as_str(), subject.id().to_string(), name])
                    .map_err(sql_err)? as u32;
            }
            Ok(n)
        })
        .await
    }

    async fn fire_due_timers(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<Timer>> {
        self.write(move |tx| {
            let timers: Vec<Timer> = query_bodies(
                tx,
                "SELECT body FROM timers WHERE state = 'pending' AND due_at <= ?1
                 ORDER BY due_at LIMIT ?2",
                params![now.timestamp_millis(), limit.max(1)],
            )?;
            let mut fired = Vec::with_capacity(timers.len());
            let mut events = Vec::with_capacity(timers.len());
            for timer in timers {
                let changed = tx
                    .execute(
                        "UPDATE timers SET state = 'fired' WHERE id = ?1 AND state = 'pending'",
                        params![timer.id.to_string()],
                    )
                    .map_err(sql_err)?;
                if changed == 0 {
                    continue;
                }
                // A timer on a subject that no longer exists is spent without an event.
                if let Some(version) = subject_version(tx, &timer.tenant, timer.subject)? {
                    events.push(DomainEvent::new(
                        timer.tenant.clone(),
                        timer.subject,
                        version,
                        None,
                        timer.cause.clone(),
                        now,
                        EventPayload::TimerFired {
                            timer: timer.id,
                            name: timer.name.clone(),
                            due_at: timer.due_at,
                        },
                    ));
                }
                fired.push(timer);
            }
            insert_events(tx, &events)?;
            Ok(fired)
        })
        .await
    }

    async fn pending_timers(&self, tenant: &TenantId, subject: Subject) -> StoreResult<Vec<Timer>> {
        let tenant = tenant.clone();
        self.read(move |conn| {
            query_bodies(
                conn,
                "SELECT body FROM timers WHERE tenant_id = ?1 AND subject_id = ?2 AND state = 'pending'
                 ORDER BY due_at",
                params![tenant.as_str(), subject.id().to_string()],
            )
        })
        .await
    }
}

#[async_trait]
impl DecisionLog for SqliteStore {
    async fn record_decision(&self, decision: &Decision) -> StoreResult<bool> {
        let d = decision.clone();
        self.write(move |tx| {
            let n = tx
                .execute(
                    "INSERT INTO decisions
                   (tenant_id, subject_id, subject_type, event_id, rule_id, action_index, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
                    params![
                        d.tenant.as_str(),
                        d.subject.id().to_string(),
                        d.subject.kind().as_str(),
                        d.event.to_string(),
                        d.rule.as_str(),
                        d.action_index,
                        to_json(&d)?
                    ],
                )
                .map_err(sql_err)?;
            Ok(n == 1)
        })
        .await
    }

    async fn list_decisions(
        &self,
        tenant: &TenantId,
        subject: Option<Subject>,
        limit: u32,
    ) -> StoreResult<Vec<Decision>> {
        let tenant = tenant.clone();
        self.read(move |conn| match subject {
            Some(subject) => query_bodies(
                conn,
                "SELECT body FROM decisions WHERE tenant_id = ?1 AND subject_id = ?2 ORDER BY seq LIMIT ?3",
                params![tenant.as_str(), subject.id().to_string(), limit],
            ),
            None => query_bodies(
                conn,
                "SELECT body FROM decisions WHERE tenant_id = ?1 ORDER BY seq DESC LIMIT ?2",
                params![tenant.as_str(), limit],
            ),
        })
        .await
    }
}

#[async_trait]
impl AssignmentStore for SqliteStore {
    async fn next_in_rotation(
        &self,
        tenant: &TenantId,
        rotation: &str,
        members: &[UserId],
    ) -> StoreResult<Option<UserId>> {
        let (tenant, rotation) = (tenant.clone(), rotation.to_owned());
        let mut members = members.to_vec();
        members.sort();
        self.write(move |tx| {
            let last: Option<String> = tx
                .query_row(
                    "SELECT last_user FROM rotations WHERE tenant_id = ?1 AND rotation = ?2",
                    params![tenant.as_str(), rotation],
                    |r| r.get(0),
                )
                .optional()
                .map_err(sql_err)?;
            let Some(next) = next_in_turn(&members, last.as_deref()) else {
                return Ok(None);
            };
            tx.execute(
                "INSERT INTO rotations (tenant_id, rotation, last_user) VALUES (?1, ?2, ?3)
                 ON CONFLICT (tenant_id, rotation) DO UPDATE SET last_user = excluded.last_user",
                params![tenant.as_str(), rotation, next.to_string()],
            )
            .map_err(sql_err)?;
            Ok(Some(next))
        })
        .await
    }

    async fn open_lead_counts(
        &self,
        tenant: &TenantId,
        team: TeamId,
    ) -> StoreResult<Vec<(UserId, u64)>> {
        let tenant = tenant.clone();
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT owner_id, count(*) FROM leads
                 WHERE tenant_id = ?1 AND team_id = ?2 AND owner_id IS NOT NULL
                   AND status NOT IN ('converted', 'disqualified')
                 GROUP BY owner_id",
                )
                .map_err(sql_err)?;
            let rows = stmt
                .query_map(params![tenant.as_str(), team.to_string()], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
                })
                .map_err(sql_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(sql_err)?;
            rows.into_iter()
                .map(|(id, n)| {
                    Ok((
                        id.parse()
                            .map_err(|_| StoreError::corrupt_msg(format!("owner id {id}")))?,
                        n as u64,
                    ))
                })
                .collect()
        })
        .await
    }
}

#[async_trait]
impl TaskStore for SqliteStore {
    async fn add_task(&self, task: &Task) -> StoreResult<bool> {
        let t = task.clone();
        self.write(move |tx| {
            let n = tx
                .execute(
                    "INSERT INTO tasks (id, tenant_id, assignee, done, due_at, dedupe_key, body)
                 VALUES (?1, ?2, ?3, 0, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
                    params![
                        t.id.to_string(),
                        t.tenant.as_str(),
                        t.assignee.map(|u| u.to_string()),
                        t.due_at.timestamp_millis(),
                        t.dedupe_key,
                        to_json(&t)?
                    ],
                )
                .map_err(sql_err)?;
            Ok(n == 1)
        })
        .await
    }

    async fn list_tasks(
        &self,
        tenant: &TenantId,
        assignee: UserId,
        limit: u32,
    ) -> StoreResult<Vec<Task>> {
        let tenant = tenant.clone();
        self.read(move |conn| {
            query_bodies(
                conn,
                "SELECT body FROM tasks WHERE tenant_id = ?1 AND assignee = ?2
                 ORDER BY done, due_at LIMIT ?3",
                params![tenant.as_str(), assignee.to_string(), limit],
            )
        })
        .await
    }

    async fn get_task(&self, tenant: &TenantId, id: TaskId) -> StoreResult<Option<Task>> {
        let tenant = tenant.clone();
        self.read(move |conn| {
            query_body(
                conn,
                "SELECT body FROM tasks WHERE tenant_id = ?1 AND id = ?2",
                params![tenant.as_str(), id.to_string()],
            )
        })
        .await
    }

    async fn update_task(&self, task: &Task) -> StoreResult<()> {
        let t = task.clone();
        self.write(move |tx| {
            let n = tx
                .execute(
                    "UPDATE tasks SET done = ?3, body = ?4 WHERE tenant_id = ?1 AND id = ?2",
                    params![
                        t.tenant.as_str(),
                        t.id.to_string(),
                        t.done_at.is_some(),
                        to_json(&t)?
                    ],
                )
                .map_err(sql_err)?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl InboxStore for SqliteStore {
    async fn add_notification(&self, n: &Notification) -> StoreResult<bool> {
        let n = n.clone();
        self.write(move |tx| {
            let inserted = tx.execute(
                "INSERT INTO notifications (tenant_id, user_id, dedupe_key, body) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT DO NOTHING",
                params![n.tenant.as_str(), n.user.to_string(), n.dedupe_key, to_json(&n)?],
            ).map_err(sql_err)?;
            if inserted == 0 {
                return Ok(false);
            }
            for channel in channels_of(tx, &n.tenant)? {
                if !channel.forwards(&n.kind) {
                    continue;
                }
                let delivery = Delivery {
                    id: uuid::Uuid::now_v7(),
                    channel: channel.id,
                    notification: n.clone(),
                    state: "pending".into(),
                    attempts: 0,
                    next_attempt_at: n.created_at,
                    last_error: None,
                };
                tx.execute(
                    "INSERT INTO deliveries (id, tenant_id, channel_id, notification_id, state, attempts, next_attempt_at, body)
                     VALUES (?1, ?2, ?3, ?4, 'pending', 0, ?5, ?6) ON CONFLICT DO NOTHING",
                    params![
                        delivery.id.to_string(),
                        n.tenant.as_str(),
                        channel.id.to_string(),
                        n.id.to_string(),
                        n.created_at.timestamp_millis(),
                        to_json(&delivery)?
                    ],
                ).map_err(sql_err)?;
            }
            Ok(true)
        })
        .await
    }

    async fn list_notifications(
        &self,
        tenant: &TenantId,
        user: UserId,
        limit: u32,
    ) -> StoreResult<Vec<Notification>> {
        let tenant = tenant.clone();
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT body FROM notifications WHERE tenant_id = ?1 AND user_id = ?2
                 ORDER BY seq DESC LIMIT ?3",
                )
                .map_err(sql_err)?;
            let bodies = stmt
                .query_map(params![tenant.as_str(), user.to_string(), limit], |r| {
                    r.get::<_, String>(0)
                })
                .map_err(sql_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(sql_err)?;
            bodies.iter().map(|b| from_json(b)).collect()
        })
        .await
    }

    async fn save_channel(&self, channel: &Channel) -> StoreResult<()> {
        let c = channel.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO channels (id, tenant_id, kind, url, secret, kinds, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    c.id.to_string(),
                    c.tenant.as_str(),
                    c.kind.as_str(),
                    c.url,
                    c.secret,
                    to_json(&c.kinds)?,
                    c.created_at.timestamp_millis()
                ],
            )
            .map_err(sql_err)?;
            Ok(())
        })
        .await
    }

    async fn list_channels(&self, tenant: &TenantId) -> StoreResult<Vec<Channel>> {
        let tenant = tenant.clone();
        self.read(move |conn| channels_of(conn, &tenant)).await
    }

    async fn delete_channel(&self, tenant: &TenantId, id: uuid::Uuid) -> StoreResult<bool> {
        let tenant = tenant.clone();
        self.write(move |tx| {
            tx.execute(
                "DELETE FROM deliveries WHERE channel_id = ?1 AND tenant_id = ?2",
                params![id.to_string(), tenant.as_str()],
            )
            .map_err(sql_err)?;
            let n = tx
                .execute(
                    "DELETE FROM channels WHERE id = ?1 AND tenant_id = ?2",
                    params![id.to_string(), tenant.as_str()],
                )
                .map_err(sql_err)?;
            Ok(n == 1)
        })
        .await
    }

    async fn claim_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<(Delivery, Channel)>> {
        self.write(move |tx| {
            let rows: Vec<(String, String, String)> = {
                let mut stmt = tx.prepare_cached(
                    "SELECT d.body, d.channel_id, d.tenant_id FROM deliveries d
                     WHERE d.state IN ('pending', 'sending') AND d.next_attempt_at <= ?1
                     ORDER BY d.next_attempt_at LIMIT ?2",
                ).map_err(sql_err)?;
                stmt.query_map(params![now.timestamp_millis(), limit.max(1)], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                }).map_err(sql_err)?
                .collect::<Result<_, _>>().map_err(sql_err)?
            };
            let mut claimed = Vec::with_capacity(rows.len());
            for (body, channel_id, tenant_id) in rows {
                let mut delivery: Delivery = from_json(&body)?;
                let Some(channel) = channels_of(tx, &TenantId::parse(&tenant_id).map_err(|e| StoreError::corrupt("undecodable record", e))?)?
                    .into_iter()
                    .find(|c| c.id.to_string() == channel_id)
                else {
                    continue;
                };
                delivery.state = "sending".into();
                delivery.next_attempt_at = lease_until;
                tx.execute(
                    "UPDATE deliveries SET state = 'sending', next_attempt_at = ?2, body = ?3 WHERE id = ?1",
                    params![delivery.id.to_string(), lease_until.timestamp_millis(), to_json(&delivery)?],
                ).map_err(sql_err)?;
                claimed.push((delivery, channel));
            }
            Ok(claimed)
        })
        .await
    }

    async fn finish_delivery(
        &self,
        tenant: &TenantId,
        id: uuid::Uuid,
        result: &DeliveryResult,
    ) -> StoreResult<()> {
        let result = result.clone();
        let tenant = tenant.clone();
        self.write(move |tx| {
            let body: Option<String> = tx
                .query_row(
                    "SELECT body FROM deliveries WHERE id = ?1 AND tenant_id = ?2",
                    params![id.to_string(), tenant.as_str()],
                    |r| r.get(0),
                )
                .optional().map_err(sql_err)?;
            let Some(body) = body else { return Ok(()) };
            let mut d: Delivery = from_json(&body)?;
            d.finish(&result);
            tx.execute(
                "UPDATE deliveries SET state = ?2, attempts = ?3, next_attempt_at = ?4, body = ?5 WHERE id = ?1",
                params![
                    id.to_string(),
                    d.state,
                    d.attempts,
                    d.next_attempt_at.timestamp_millis(),
                    to_json(&d)?
                ],
            ).map_err(sql_err)?;
            Ok(())
        })
        .await
    }

    async fn dead_deliveries(&self, tenant: &TenantId, limit: u32) -> StoreResult<Vec<Delivery>> {
        let tenant = tenant.clone();
        self.read(move |conn| {
            query_bodies(
                conn,
                "SELECT body FROM deliveries WHERE tenant_id = ?1 AND state = 'dead'
                 ORDER BY next_attempt_at DESC LIMIT ?2",
                params![tenant.as_str(), limit],
            )
        })
        .await
    }
}

fn channels_of(conn: &rusqlite::Connection, tenant: &TenantId) -> StoreResult<Vec<Channel>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, kind, url, secret, kinds, created_at FROM channels WHERE tenant_id = ?1 ORDER BY created_at",
    ).map_err(sql_err)?;
    let rows = stmt
        .query_map(params![tenant.as_str()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, i64>(5)?,
            ))
        })
        .map_err(sql_err)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(sql_err)?;
    rows.into_iter()
        .map(|(id, kind, url, secret, kinds, created)| {
            Ok(Channel {
                id: id
                    .parse()
                    .map_err(|_| StoreError::corrupt_msg(format!("channel id {id}")))?,
                tenant: tenant.clone(),
                kind: from_json(&format!("\"{kind}\""))?,
                url,
                secret,
                kinds: from_json(&kinds)?,
                created_at: chrono::DateTime::from_timestamp_millis(created)
                    .ok_or_else(|| StoreError::corrupt_msg(format!("channel time {created}")))?,
            })
        })
        .collect()
}
