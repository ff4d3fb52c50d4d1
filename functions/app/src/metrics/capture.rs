//! The auto-capture rate (过程数据自动采集率): of the records a rep made in a period — leads,
//! contacts and logged activities — the share capture made from their uploads rather than
//! them typing. The seeds call ≥ 76 % healthy and < 40 % a warning. Records imported from a
//! spreadsheet count neither way.

use crate::error::AppError;
use crate::state::AppState;
use fieldline_domain::metrics::{ACTIVE_REPS_BAND, Band};
use fieldline_domain::{
    ActivityKind, Actor, Captured, EventPayload, LeadScope, Role, TeamId, Timestamp, UploadKind,
    UploadStatus, User, UserId,
};
use serde::Serialize;
use std::collections::HashMap;
use utoipa::ToSchema;

/// At or above 76 %: healthy; below 40 %: a warning (the seeds' thresholds).
pub const CAPTURE_BAND: Band = Band {
    healthy_at: 0.76,
    warning_below: 0.40,
};
const MAX_EVENTS: u32 = 200_000;

/// One rep's, team's or the scope's figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct CaptureFigures {
    /// Leads created, contacts added and activities logged (attachments and approvals aside).
    pub records: u64,
    /// Of those, the ones capture made from an upload.
    pub captured: u64,
    /// `captured / records`, three decimals; `None` without records.
    pub rate: Option<f64>,
    /// `healthy` (≥ 0.76), `watch`, `warning` (< 0.40); `None` without records.
    pub status: Option<String>,
    /// Fields capture filled in (card fields, transcripts, next-contact times, promises, shelf
    /// tags) that nobody typed.
    pub fields_captured: u64,
    /// Uploads read in the period, and how many failed.
    pub uploads_done: u64,
    pub uploads_failed: u64,
}

impl CaptureFigures {
    fn add(&mut self, other: &CaptureFigures) {
        self.records += other.records;
        self.captured += other.captured;
        self.fields_captured += other.fields_captured;
        self.uploads_done += other.uploads_done;
        self.uploads_failed += other.uploads_failed;
    }

    fn finish(mut self) -> Self {
        self.rate = (self.records > 0).then(|| {
            (self.captured.min(self.records) as f64 / self.records as f64 * 1000.0).round() / 1000.0
        });
        self.status = CAPTURE_BAND.grade(self.rate).map(str::to_owned);
        self
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RepCapture {
    pub user: UserId,
    pub email: String,
    pub team: Option<TeamId>,
    #[serde(flatten)]
    pub figures: CaptureFigures,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TeamCapture {
    pub team: TeamId,
    #[serde(flatten)]
    pub figures: CaptureFigures,
}

/// How often a concern or competitor came up in the period's voice notes.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TagCount {
    pub tag: String,
    pub count: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CaptureReport {
    pub from: chrono::DateTime<chrono::Utc>,
    pub to: chrono::DateTime<chrono::Utc>,
    pub healthy_at: f64,
    pub warning_below: f64,
    pub total: CaptureFigures,
    pub teams: Vec<TeamCapture>,
    pub reps: Vec<RepCapture>,
    /// The concerns and competitors (`竞品:…`) voice notes named in the scope, most frequent
    /// first (at most 20; ties by name).
    pub voice_tags: Vec<TagCount>,
    /// 周活跃代表: the reps in scope who made a record or sent a file in the period.
    pub active_reps: ActiveReps,
}

/// How many of the reps in scope worked in the system in the period: made a lead, a contact
/// or a follow-up (by hand or through capture), or sent a file.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActiveReps {
    pub reps: u64,
    pub active: u64,
    /// `active / reps`, three decimals; `None` without reps.
    pub rate: Option<f64>,
    /// `healthy`, `watch` or `warning` by `band`; `None` without reps.
    pub status: Option<String>,
    pub band: Band,
}

/// Whether an event is a record a person makes (by hand or through capture).
fn is_record(payload: &EventPayload) -> bool {
    match payload {
        EventPayload::LeadCreated { .. } | EventPayload::ContactAdded { .. } => true,
        EventPayload::ActivityLogged { kind, .. } => {
            !matches!(kind, ActivityKind::Attachment | ActivityKind::Approval)
        }
        _ => false,
    }
}

fn fields_of(captured: &Captured) -> u64 {
    match captured {
        Captured::Card(c) => c.fields.len() as u64,
        Captured::Voice(v) => {
            u64::from(!v.transcript.trim().is_empty())
                + u64::from(v.next_contact.is_some())
                + v.commitments.len() as u64
                + v.tags.len() as u64
        }
        Captured::Shelf(s) => u64::from(s.price_tags) + u64::from(s.out_of_stock),
    }
}

/// The report for `[from, to)`, scoped like the lead report: reps see themselves, managers
/// their team, admins the tenant.
#[tracing::instrument(name = "metrics.capture_report", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn capture_report(
    state: &AppState,
    actor: &Actor,
    from: Timestamp,
    to: Timestamp,
) -> Result<CaptureReport, AppError> {
    if from >= to {
        return Err(AppError::rejected(
            "invalid_query",
            "from must be before to",
        ));
    }
    let users = state.directory.list_users(&actor.tenant).await?;
    let visible: Vec<&User> = users
        .iter()
        .filter(|u| u.role.sells() || u.id == actor.user)
        .filter(|u| match actor.lead_scope() {
            LeadScope::Tenant => true,
            LeadScope::Team(t) => u.team == Some(t),
            LeadScope::Owner(me) => u.id == me,
            LeadScope::Pool => false,
        })
        .collect();
    let mut tags: HashMap<String, u64> = HashMap::new();
    let mut figures: HashMap<UserId, CaptureFigures> = visible
        .iter()
        .map(|u| (u.id, CaptureFigures::default()))
        .collect();
    let events = state
        .events
        .tenant_events_since(&actor.tenant, from, MAX_EVENTS)
        .await?;
    for e in events.iter().filter(|e| e.event.occurred_at < to) {
        // Imported rows were typed once, elsewhere: neither the rep's typing nor capture.
        if is_record(&e.event.payload)
            && !e.event.imported
            && let Some(f) = e.event.actor.and_then(|a| figures.get_mut(&a))
        {
            f.records += 1;
        }
    }
    for user in &visible {
        let uploads = fieldline_store::all_pages(|after| async move {
            state
                .uploads
                .list_uploads(&actor.tenant, user.id, fieldline_store::MAX_PAGE, after)
                .await
        })
        .await?;
        let f = figures
            .get_mut(&user.id)
            .expect("every visible user has figures");
        // Spreadsheets imported are no capture: neither read nor failed reading.
        for u in uploads
            .iter()
            .filter(|u| u.kind != UploadKind::Import && u.updated_at >= from && u.updated_at < to)
        {
            match u.status {
                UploadStatus::Done => {
                    f.uploads_done += 1;
                    f.captured += u
                        .links
                        .iter()
                        .filter(|l| {
                            l.action == "created"
                                && matches!(l.kind.as_str(), "lead" | "contact" | "activity")
                        })
                        .count() as u64;
                    f.fields_captured += u.captured.as_ref().map(fields_of).unwrap_or(0);
                    if let Some(Captured::Voice(v)) = &u.captured {
                        for tag in &v.tags {
                            *tags.entry(tag.clone()).or_default() += 1;
                        }
                    }
                }
                UploadStatus::Failed => f.uploads_failed += 1,
                _ => {}
            }
        }
    }
    let reps_in_scope: Vec<&&User> = visible.iter().filter(|u| u.role == Role::Rep).collect();
    let active = reps_in_scope
        .iter()
        .filter(|u| {
            figures
                .get(&u.id)
                .is_some_and(|f| f.records > 0 || f.uploads_done > 0 || f.uploads_failed > 0)
        })
        .count() as u64;
    let rate = (!reps_in_scope.is_empty())
        .then(|| (active as f64 / reps_in_scope.len() as f64 * 1000.0).round() / 1000.0);
    let active_reps = ActiveReps {
        reps: reps_in_scope.len() as u64,
        active,
        rate,
        status: ACTIVE_REPS_BAND.grade(rate).map(str::to_owned),
        band: ACTIVE_REPS_BAND,
    };
    let mut total = CaptureFigures::default();
    let mut by_team: HashMap<TeamId, CaptureFigures> = HashMap::new();
    let mut reps = Vec::new();
    for user in &visible {
        let f = figures.remove(&user.id).unwrap_or_default();
        total.add(&f);
        if let Some(team) = user.team {
            by_team.entry(team).or_default().add(&f);
        }
        reps.push(RepCapture {
            user: user.id,
            email: user.email.as_str().to_owned(),
            team: user.team,
            figures: f.finish(),
        });
    }
    let mut teams: Vec<TeamCapture> = by_team
        .into_iter()
        .map(|(team, f)| TeamCapture {
            team,
            figures: f.finish(),
        })
        .collect();
    teams.sort_by_key(|t| t.team);
    let mut voice_tags: Vec<TagCount> = tags
        .into_iter()
        .map(|(tag, count)| TagCount { tag, count })
        .collect();
    voice_tags.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.tag.cmp(&b.tag)));
    voice_tags.truncate(20);
    Ok(CaptureReport {
        from,
        to,
        healthy_at: CAPTURE_BAND.healthy_at,
        warning_below: CAPTURE_BAND.warning_below,
        total: total.finish(),
        teams,
        reps,
        voice_tags,
        active_reps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_graded_against_the_seeds_thresholds() {
        let f = |records, captured| {
            CaptureFigures {
                records,
                captured,
                ..Default::default()
            }
            .finish()
        };
        assert_eq!(f(0, 0).rate, None);
        assert_eq!(f(0, 0).status, None);
        assert_eq!(f(100, 76).status.as_deref(), Some("healthy"));
        assert_eq!(f(100, 75).status.as_deref(), Some("watch"));
        assert_eq!(f(100, 40).status.as_deref(), Some("watch"));
        assert_eq!(f(100, 39).status.as_deref(), Some("warning"));
        assert_eq!(f(3, 2).rate, Some(0.667));
    }
}
