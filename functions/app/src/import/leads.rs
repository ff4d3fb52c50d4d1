//! Leads from a sheet (a trade-show list, an old CRM's export): one row per person. Phones are
//! normalised in the tenant's region; a person the tenant already has — an open or closed
//! lead, or a customer's contact, by phone or e-mail — is not created again, and the report
//! names the record it matched. New leads are scored and routed by the tenant's rules like any
//! other (an empty owner leaves them to the assignment rules). A lead's id derives from its
//! phone (else e-mail), so a commit cut short and run again creates only what is missing.

use super::table::Table;
use super::use_cases::{
    Check, ImportKind, ImportReport, Progress, RowError, RowOutcome, columns, settle, text_cell,
};
use crate::error::AppError;
use crate::lead::{load_tenant, region_of};
use crate::state::AppState;
use fieldline_domain::id::derived_uuid;
use fieldline_domain::lead::{ContactInput, CreateContext, LeadSource, NewLead, PreScreen};
use fieldline_domain::{Actor, DomainEvent, Lead, LeadId, Permission, User};
use std::collections::HashMap;

pub(super) const FIELDS: &[(&str, bool)] = &[
    ("lead_name", true),
    ("phone", false),
    ("email", false),
    ("company", false),
    ("title", false),
    ("source", false),
    ("owner", false),
    ("notes", false),
];

/// The lead export's header: the import's own field names (and a few it ignores), so it
/// reads back.
pub(super) const EXPORT_HEADER: &[&str] = &[
    "lead_name",
    "phone",
    "email",
    "company",
    "title",
    "source",
    "owner",
    "notes",
    "status",
    "priority",
    "created_at",
];

/// A source as a sheet names it: our own names, or the words Chinese CRMs print.
fn source(raw: &str) -> Result<LeadSource, RowError> {
    let folded = raw.trim().to_lowercase().replace([' ', '-'], "_");
    if folded.is_empty() {
        return Ok(LeadSource::Import);
    }
    if let Ok(s) = folded.parse() {
        return Ok(s);
    }
    Ok(match folded.as_str() {
        "官网" | "网站" | "官网表单" | "网站表单" | "网页" | "在线咨询" | "website" => {
            LeadSource::WebForm
        }
        "展会" | "展览会" | "展会名单" => LeadSource::TradeShow,
        "转介绍" | "推荐" | "介绍" | "客户推荐" => LeadSource::Referral,
        "电话" | "陌拜" | "陌生拜访" | "电销" | "外呼" => LeadSource::ColdCall,
        "合作伙伴" | "渠道" | "代理商" | "经销商" => LeadSource::Partner,
        "广告" | "投放" | "搜索广告" => LeadSource::Advertising,
        "活动" | "会议" | "沙龙" | "研讨会" => LeadSource::Event,
        "导入" => LeadSource::Import,
        "其他" | "其它" => LeadSource::Other,
        _ => {
            return Err(RowError::invalid(
                "source",
                format!(
                    "{raw:?} is not web_form, trade_show, referral, cold_call, partner, \
                     advertising, event, import or other (or 官网, 展会, 转介绍, 电话, 渠道, 广告, 活动)"
                ),
            ));
        }
    })
}

/// A new lead and the event it is created with.
struct NewRow {
    lead: Lead,
    events: Vec<DomainEvent>,
}

pub(super) async fn import(
    state: &AppState,
    actor: &Actor,
    table: &Table,
    dry_run: bool,
    mapping: Option<&str>,
    progress: &Progress,
) -> Result<ImportReport, AppError> {
    actor.check(Permission::AssignLeads)?;
    let cols = columns(table, FIELDS, mapping)?;
    let cell = |row: &[String], field: &str| cols.cell(row, field).trim().to_owned();
    let tenant = load_tenant(state, &actor.tenant).await?;
    let region = region_of(&tenant)?;
    let users = state.directory.list_users(&actor.tenant).await?;
    let now = state.clock.now();
    let mut report = ImportReport::new(ImportKind::Leads, dry_run, table, &cols, progress);
    // Each contact key (`lead:phone:…`, `lead:email:…`) → the first row with it.
    let mut first_row: HashMap<String, usize> = HashMap::new();
    let mut new: Vec<NewRow> = Vec::new();

    for (line, row) in &table.rows {
        let name = cell(row, "lead_name");
        let outcome: Result<(RowOutcome, Option<String>), Check> = async {
            let owner: Option<&User> = match cell(row, "owner") {
                o if o.is_empty() => None,
                o => Some(
                    users
                        .iter()
                        .find(|u| u.active && u.email.as_str().eq_ignore_ascii_case(&o))
                        .ok_or_else(|| {
                            RowError::not_found("owner", format!("no active user {o}"))
                        })?,
                ),
            };
            if let Some(owner) = owner {
                actor
                    .check(Permission::CreateLeadFor(Some(owner.id)))
                    .and_then(|()| actor.check_can_assign_to(owner))
                    .map_err(|e| RowError::from(e).or_field("owner"))?;
            }
            let optional = |field: &str| -> Result<Option<String>, RowError> {
                match cell(row, field) {
                    v if v.is_empty() => Ok(None),
                    v => text_cell(&v, field).map(Some),
                }
            };
            // Phones (`+86 …`) and e-mails are checked by their own parsers, not as text.
            let raw = |field: &str| Some(cell(row, field)).filter(|v| !v.is_empty());
            let input = NewLead {
                source: source(&cell(row, "source"))?,
                contact: ContactInput {
                    name: text_cell(&name, "lead_name")?,
                    phone: raw("phone"),
                    email: raw("email"),
                    company: optional("company")?,
                    title: optional("title")?,
                },
                prescreen: PreScreen::default(),
                notes: optional("notes")?,
                owner: owner.map(|o| o.id),
            };
            // The domain names the lead's contact fields `contact.…`; the sheet's are plain.
            let rename = |e: fieldline_domain::DomainError| {
                let mut e = RowError::from(e);
                if let Some(field) = e.field.as_mut() {
                    *field = match field.strip_prefix("contact.") {
                        Some("name") => "lead_name".to_owned(),
                        Some(plain) => plain.to_owned(),
                        None => field.clone(),
                    };
                }
                e
            };
            // The contact's keys name the lead's id, so a commit run again finds its own.
            let keys =
                fieldline_domain::lead::contact_keys(&input.contact.parse(region).map_err(rename)?);
            // A lead has a phone or an e-mail (`Lead::create` refuses one without).
            let identity = keys.first().cloned().unwrap_or_default();
            let id = LeadId::from_uuid(derived_uuid(&format!(
                "import-lead|{}|{identity}",
                actor.tenant
            )));
            if let Some(first) = keys.iter().find_map(|k| first_row.get(k)) {
                return Err(RowError::duplicate("person", *first).into());
            }
            for k in &keys {
                first_row.insert(k.clone(), *line);
            }
            if let Some(found) = known(state, actor, id, &keys).await? {
                return Ok((RowOutcome::Unchanged, Some(found)));
            }
            let (lead, events) = Lead::create(
                &input,
                CreateContext {
                    id,
                    actor,
                    owner,
                    now,
                    region,
                    policy: &state.policy,
                },
            )
            .map_err(rename)?;
            let events = events.into_iter().map(DomainEvent::imported).collect();
            new.push(NewRow { lead, events });
            Ok((RowOutcome::Created, None))
        }
        .await;
        match settle(outcome)? {
            Ok((o, matched)) => report.count_matched(*line, name, Ok(o), matched),
            Err(e) => report.count(*line, name, Err(e)),
        }
    }
    if dry_run || report.errors > 0 {
        return Ok(report);
    }
    let total = new.len();
    for (done, row) in new.iter().enumerate() {
        state
            .leads
            .create_lead(&row.lead, &row.events, None)
            .await?;
        progress.writing(done + 1, total);
    }
    report.committed = true;
    tracing::info!(
        leads = total,
        rows = report.rows.len(),
        "lead import committed"
    );
    Ok(report)
}

/// The record a row's person already is, if any: this import's own lead (a commit run
/// again), a lead with one of its phones or e-mails, or a customer's contact.
async fn known(
    state: &AppState,
    actor: &Actor,
    id: LeadId,
    keys: &[String],
) -> Result<Option<String>, fieldline_store::StoreError> {
    if state.leads.get_lead(&actor.tenant, id).await?.is_some() {
        return Ok(Some(format!("lead {id}")));
    }
    for key in keys {
        if let Some(lead) = state
            .leads
            .leads_with_key(&actor.tenant, key)
            .await?
            .first()
        {
            return Ok(Some(format!("lead {}", lead.id)));
        }
        // Leads key as `lead:phone:…`, contacts as `contact:phone:…`.
        let contact_key = key.replacen("lead:", "contact:", 1);
        if let Some(holder) = state
            .customers
            .key_holder(&actor.tenant, &contact_key)
            .await?
        {
            return Ok(Some(format!("contact {holder}")));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_read_in_either_language() {
        assert_eq!(source(""), Ok(LeadSource::Import));
        assert_eq!(source("trade_show"), Ok(LeadSource::TradeShow));
        assert_eq!(source("Trade Show"), Ok(LeadSource::TradeShow));
        assert_eq!(source("展会"), Ok(LeadSource::TradeShow));
        assert_eq!(source("转介绍"), Ok(LeadSource::Referral));
        assert!(source("carrier pigeon").is_err());
    }
}
