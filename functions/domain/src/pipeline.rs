//! Sales pipelines as tenant data: ordered stages, each with its kind (open, won, lost), its
//! forecast category, a default win probability, an optional rotting limit counted from
//! entering the stage, and a gate — the evidence a deal needs to enter it, written as rule
//! conditions so a manager edits it like a rule. A tenant may keep several pipelines.

use crate::activity::{Activity, ActivityKind, AttachmentFile};
use crate::error::DomainError;
use crate::rule::{Condition, evaluate};
use crate::subject::SubjectKind;
use crate::{TenantId, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Text shown to people, in both first-class languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Localized {
    pub zh: String,
    pub en: String,
}

impl Localized {
    pub fn new(zh: &str, en: &str) -> Self {
        Localized {
            zh: zh.to_owned(),
            en: en.to_owned(),
        }
    }

    /// The text for a language tag (`zh-CN`, `en-US`, ...): Chinese for `zh*`, else English.
    pub fn pick(&self, language: &str) -> &str {
        if language.to_ascii_lowercase().starts_with("zh") {
            &self.zh
        } else {
            &self.en
        }
    }

    fn validate(&self, field: &str) -> Result<(), DomainError> {
        let ok = |s: &str| !s.trim().is_empty() && s.chars().count() <= 500;
        if ok(&self.zh) && ok(&self.en) {
            Ok(())
        } else {
            Err(DomainError::invalid(
                field,
                "zh and en, 1-500 characters each",
            ))
        }
    }
}

crate::lead::snake_enum!(/// Whether a deal in the stage is still being worked, won or lost.
    StageKind, "kind" {
    Open => "open",
    Won => "won",
    Lost => "lost",
});

crate::lead::snake_enum!(/// Which forecast total a deal in the stage counts towards.
    ForecastCategory, "forecast" {
    Pipeline => "pipeline",
    BestCase => "best_case",
    Commit => "commit",
    Closed => "closed",
    Omitted => "omitted",
});

/// One piece of evidence a stage asks for, with what to tell the rep when it is missing.
/// Exactly one of `when`, `attachment` and `activity` says what is needed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Requirement {
    /// A rule condition on the deal (`deal.amount`, `deal.expected_close`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Condition>,
    /// A file uploaded on the deal (a quote, a contract).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<AttachmentNeed>,
    /// An activity logged on the deal (a demo visit; an `approval` by a manager).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity: Option<ActivityNeed>,
    /// What the rep must do, in their language.
    pub message: Localized,
}

/// A file the deal must carry: of a media type, named with one of some words, and sent
/// soon enough after the customer last wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttachmentNeed {
    /// `application/pdf`; any type when absent. The type is checked against the bytes
    /// when the file arrives.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 100))]
    pub content_type: Option<String>,
    /// The file name must contain one of these (case-insensitive: `报价单`, `quote`); any
    /// name when empty.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 20))]
    pub name_contains: Vec<String>,
    /// Uploaded no later than this many hours after the latest `message` activity on the
    /// deal (the customer's last word), and not before it. No bound when the deal has no
    /// message yet.
    #[serde(default)]
    pub within_hours_of_last_message: Option<u32>,
}

/// An activity the deal must carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActivityNeed {
    pub kind: ActivityKind,
    /// Only activities that happened in the last this many days count.
    #[serde(default)]
    pub within_days: Option<u32>,
}

impl AttachmentNeed {
    fn matches(&self, file: &AttachmentFile) -> bool {
        let type_ok = self
            .content_type
            .as_ref()
            .is_none_or(|t| t.eq_ignore_ascii_case(&file.content_type));
        let name = file.file_name.to_lowercase();
        let name_ok = self.name_contains.is_empty()
            || self
                .name_contains
                .iter()
                .any(|word| name.contains(&word.to_lowercase()));
        type_ok && name_ok
    }

    fn met_by(&self, log: &[Activity]) -> bool {
        let last_message = log
            .iter()
            .filter(|a| a.kind == ActivityKind::Message)
            .map(|a| a.occurred_at)
            .max();
        log.iter().any(|a| {
            if !a.attachment.as_ref().is_some_and(|f| self.matches(f)) {
                return false;
            }
            match (self.within_hours_of_last_message, last_message) {
                (Some(hours), Some(message)) => {
                    a.recorded_at >= message
                        && a.recorded_at - message <= chrono::Duration::hours(i64::from(hours))
                }
                _ => true,
            }
        })
    }
}

impl ActivityNeed {
    fn met_by(&self, log: &[Activity], now: Timestamp) -> bool {
        log.iter().any(|a| {
            a.kind == self.kind
                && self
                    .within_days
                    .is_none_or(|d| now - a.occurred_at <= chrono::Duration::days(i64::from(d)))
        })
    }
}

impl Requirement {
    /// Whether the deal (as JSON) with its activity log meets this requirement.
    pub fn met(&self, deal: &Value, log: &[Activity], now: Timestamp) -> bool {
        let by_condition = self
            .when
            .as_ref()
            .is_none_or(|when| evaluate(when, &serde_json::json!({ "deal": deal }), now).is_some());
        let by_file = self.attachment.as_ref().is_none_or(|need| need.met_by(log));
        let by_activity = self
            .activity
            .as_ref()
            .is_none_or(|need| need.met_by(log, now));
        by_condition && by_file && by_activity
    }

    fn validate(&self) -> Result<(), DomainError> {
        self.message.validate("stages.gate.message")?;
        let set = [
            self.when.is_some(),
            self.attachment.is_some(),
            self.activity.is_some(),
        ];
        if set.iter().filter(|s| **s).count() != 1 {
            return Err(DomainError::invalid(
                "stages.gate",
                "each requirement has exactly one of when, attachment, activity",
            ));
        }
        if let Some(when) = &self.when {
            check_deal_paths(when, 0)?;
        }
        if let Some(need) = &self.attachment {
            let type_ok = need.content_type.as_ref().is_none_or(|t| {
                t.len() <= 100
                    && t.split_once('/')
                        .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty())
            });
            if !type_ok {
                return Err(DomainError::invalid(
                    "stages.gate.attachment.content_type",
                    "a media type such as application/pdf",
                ));
            }
            let words_ok = need.name_contains.len() <= 20
                && need
                    .name_contains
                    .iter()
                    .all(|w| !w.trim().is_empty() && w.chars().count() <= 100);
            if !words_ok {
                return Err(DomainError::invalid(
                    "stages.gate.attachment.name_contains",
                    "at most 20 words of 1-100 characters",
                ));
            }
        }
        if let Some(need) = &self.activity {
            if need.kind == ActivityKind::Attachment {
                return Err(DomainError::invalid(
                    "stages.gate.activity.kind",
                    "ask for a file with an attachment requirement",
                ));
            }
            if need.within_days.is_some_and(|d| d == 0 || d > 3650) {
                return Err(DomainError::invalid(
                    "stages.gate.activity.within_days",
                    "1 to 3650",
                ));
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Stage {
    /// A slug, unique in the pipeline (`price_negotiation`).
    pub key: String,
    pub name: Localized,
    pub kind: StageKind,
    pub forecast: ForecastCategory,
    /// The default chance a deal here is won, 0 to 1 (until the tenant's own history says
    /// otherwise).
    pub win_probability: f64,
    /// Days a deal may sit in this stage, counted from entering it, before it is overdue.
    #[serde(default)]
    pub rotting_days: Option<u32>,
    /// What a deal needs to enter this stage.
    #[serde(default)]
    pub gate: Vec<Requirement>,
}

/// A reason a deal was lost, from the tenant's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LostReason {
    pub key: String,
    pub name: Localized,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Pipeline {
    /// A slug, unique in the tenant (`default`).
    pub id: String,
    pub tenant: TenantId,
    pub name: Localized,
    /// In board order; won and lost stages last.
    pub stages: Vec<Stage>,
    pub lost_reasons: Vec<LostReason>,
    /// 1 for the first version; every change adds one.
    pub version: u32,
}

/// The id of the pipeline every tenant starts with.
pub const DEFAULT_PIPELINE: &str = "default";

fn slug_ok(raw: &str) -> bool {
    (1..=64).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

impl Pipeline {
    /// The seeds' pipeline: 留资未触达 → 首次电话沟通 → 产品演示完成 → 方案已提交 →
    /// 价格谈判中 → 合同待签署 → 赢单 / 输单. Entering price negotiation needs an amount, and
    /// the contract stage an expected close date.
    pub fn default_for(tenant: &TenantId) -> Pipeline {
        use ForecastCategory as F;
        use StageKind as K;
        let stage =
            |key: &str, zh: &str, en: &str, kind, forecast, p: f64, rot: Option<u32>| Stage {
                key: key.into(),
                name: Localized::new(zh, en),
                kind,
                forecast,
                win_probability: p,
                rotting_days: rot,
                gate: Vec::new(),
            };
        let mut stages = vec![
            stage(
                "new",
                "留资未触达",
                "New, not contacted",
                K::Open,
                F::Pipeline,
                0.05,
                Some(2),
            ),
            stage(
                "first_call",
                "首次电话沟通",
                "First call",
                K::Open,
                F::Pipeline,
                0.10,
                Some(7),
            ),
            stage(
                "demo_done",
                "产品演示完成",
                "Demo done",
                K::Open,
                F::Pipeline,
                0.25,
                Some(14),
            ),
            stage(
                "proposal_sent",
                "方案已提交",
                "Proposal sent",
                K::Open,
                F::BestCase,
                0.40,
                Some(14),
            ),
            stage(
                "price_negotiation",
                "价格谈判中",
                "Price negotiation",
                K::Open,
                F::BestCase,
                0.60,
                Some(7),
            ),
            stage(
                "contract_pending",
                "合同待签署",
                "Contract pending",
                K::Open,
                F::Commit,
                0.80,
                Some(7),
            ),
            stage("won", "赢单", "Won", K::Won, F::Closed, 1.0, None),
            stage("lost", "输单", "Lost", K::Lost, F::Omitted, 0.0, None),
        ];
        stages[4].gate.push(Requirement {
            when: Some(
                serde_json::from_value(
                    serde_json::json!({"field": "deal.amount", "op": "gt", "value": 0}),
                )
                .expect("a valid condition"),
            ),
            attachment: None,
            activity: None,
            message: Localized::new(
                "请先填写商机金额，再进入价格谈判",
                "Enter the deal amount before price negotiation",
            ),
        });
        // The seeds' example: a quote goes out before the haggling starts, and promptly.
        stages[4].gate.push(Requirement {
            when: None,
            attachment: Some(AttachmentNeed {
                content_type: Some("application/pdf".into()),
                name_contains: vec!["报价单".into(), "quote".into()],
                within_hours_of_last_message: Some(72),
            }),
            activity: None,
            message: Localized::new(
                "请上传报价单（PDF，文件名含“报价单”或 quote），且在客户最后一条消息后 72 小时内发出",
                "Upload the quote (a PDF named with 报价单 or \"quote\") within 72 hours of the customer's last message",
            ),
        });
        stages[5].gate.push(Requirement {
            when: Some(
                serde_json::from_value(
                    serde_json::json!({"field": "deal.expected_close", "op": "present"}),
                )
                .expect("a valid condition"),
            ),
            attachment: None,
            activity: None,
            message: Localized::new(
                "请填写预计成交日期，再进入合同待签署",
                "Enter the expected close date before the contract stage",
            ),
        });
        let reason = |key: &str, zh: &str, en: &str| LostReason {
            key: key.into(),
            name: Localized::new(zh, en),
        };
        Pipeline {
            id: DEFAULT_PIPELINE.into(),
            tenant: tenant.clone(),
            name: Localized::new("标准销售流程", "Standard sales process"),
            stages,
            lost_reasons: vec![
                reason("price", "价格没有竞争力", "Price not competitive"),
                reason("competitor", "选择了竞争对手", "Chose a competitor"),
                reason("no_budget", "客户没有预算", "No budget"),
                reason("no_decision", "客户不再推进", "No decision"),
                reason("other", "其他", "Other"),
            ],
            version: 1,
        }
    }

    pub fn stage(&self, key: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| s.key == key)
    }

    /// The stage deals start in: the first open one.
    pub fn first_stage(&self) -> &Stage {
        self.stages
            .iter()
            .find(|s| s.kind == StageKind::Open)
            .expect("a validated pipeline has an open stage")
    }

    pub fn position(&self, key: &str) -> Option<usize> {
        self.stages.iter().position(|s| s.key == key)
    }

    pub fn lost_reason(&self, key: &str) -> Option<&LostReason> {
        self.lost_reasons.iter().find(|r| r.key == key)
    }

    /// What a saved pipeline must be: slugs unique, an open, a won and a lost stage,
    /// probabilities in 0..=1, gates that read real deal fields, a lost-reason list.
    pub fn validate(&self) -> Result<(), DomainError> {
        if !slug_ok(&self.id) {
            return Err(DomainError::invalid(
                "id",
                "1-64 lower-case letters, digits, _ or -",
            ));
        }
        self.name.validate("name")?;
        if self.stages.is_empty() || self.stages.len() > 30 {
            return Err(DomainError::invalid("stages", "1-30 stages"));
        }
        for (i, stage) in self.stages.iter().enumerate() {
            if !slug_ok(&stage.key) {
                return Err(DomainError::invalid(
                    "stages.key",
                    "1-64 lower-case letters, digits, _ or -",
                ));
            }
            if self.stages[..i].iter().any(|s| s.key == stage.key) {
                return Err(DomainError::invalid(
                    "stages.key",
                    format!("{} appears twice", stage.key),
                ));
            }
            stage.name.validate("stages.name")?;
            if !(0.0..=1.0).contains(&stage.win_probability) {
                return Err(DomainError::invalid("stages.win_probability", "0 to 1"));
            }
            if stage.rotting_days.is_some_and(|d| d == 0 || d > 3650) {
                return Err(DomainError::invalid("stages.rotting_days", "1 to 3650"));
            }
            if stage.gate.len() > 20 {
                return Err(DomainError::invalid(
                    "stages.gate",
                    "at most 20 requirements",
                ));
            }
            for req in &stage.gate {
                req.validate()?;
            }
        }
        for kind in [StageKind::Open, StageKind::Won, StageKind::Lost] {
            if !self.stages.iter().any(|s| s.kind == kind) {
                return Err(DomainError::invalid(
                    "stages",
                    format!("needs at least one {kind} stage"),
                ));
            }
        }
        if self.lost_reasons.is_empty() {
            return Err(DomainError::invalid("lost_reasons", "at least one"));
        }
        for r in &self.lost_reasons {
            if !slug_ok(&r.key) {
                return Err(DomainError::invalid("lost_reasons.key", "a slug"));
            }
            r.name.validate("lost_reasons.name")?;
        }
        Ok(())
    }
}

/// Gate conditions read the deal only: `deal.<field>` paths of the deal's schema.
fn check_deal_paths(c: &Condition, depth: usize) -> Result<(), DomainError> {
    if depth > 8 {
        return Err(DomainError::invalid(
            "stages.gate.when",
            "nested more than 8 deep",
        ));
    }
    match c {
        Condition::All { all: list } | Condition::Any { any: list } => {
            list.iter().try_for_each(|c| check_deal_paths(c, depth + 1))
        }
        Condition::Not { not } => check_deal_paths(not, depth + 1),
        Condition::Test { field, .. } => {
            let known = field
                .strip_prefix("deal.")
                .is_some_and(|rest| SubjectKind::Deal.has_field(rest));
            if known {
                Ok(())
            } else {
                Err(DomainError::invalid(
                    "stages.gate.when",
                    format!("{field} is not a deal field"),
                ))
            }
        }
    }
}

/// The requirements of `stage` that `deal` (as JSON), with its activity log, does not meet.
pub fn unmet<'a>(
    stage: &'a Stage,
    deal: &Value,
    log: &[Activity],
    now: Timestamp,
) -> Vec<&'a Requirement> {
    stage
        .gate
        .iter()
        .filter(|req| !req.met(deal, log, now))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_pipeline_is_valid_and_follows_the_seeds() {
        let p = Pipeline::default_for(&TenantId::parse("acme").unwrap());
        p.validate().unwrap();
        let names: Vec<&str> = p.stages.iter().map(|s| s.name.zh.as_str()).collect();
        assert_eq!(
            names,
            [
                "留资未触达",
                "首次电话沟通",
                "产品演示完成",
                "方案已提交",
                "价格谈判中",
                "合同待签署",
                "赢单",
                "输单"
            ]
        );
        assert_eq!(p.first_stage().key, "new");
    }

    #[test]
    fn invalid_pipelines_are_refused_with_the_field() {
        let tenant = TenantId::parse("acme").unwrap();
        let field_of = |p: Pipeline| match p.validate() {
            Err(DomainError::InvalidField { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        let mut p = Pipeline::default_for(&tenant);
        p.stages[1].key = "new".into();
        assert_eq!(field_of(p), "stages.key");
        let mut p = Pipeline::default_for(&tenant);
        p.stages.retain(|s| s.kind != StageKind::Lost);
        assert_eq!(field_of(p), "stages");
        let mut p = Pipeline::default_for(&tenant);
        p.stages[0].win_probability = 1.5;
        assert_eq!(field_of(p), "stages.win_probability");
        let mut p = Pipeline::default_for(&tenant);
        let typo = Requirement {
            when: Some(
                serde_json::from_value(
                    serde_json::json!({"field": "deal.amuont", "op": "present"}),
                )
                .unwrap(),
            ),
            attachment: None,
            activity: None,
            message: Localized::new("金额", "amount"),
        };
        p.stages[0].gate.push(typo.clone());
        assert_eq!(field_of(p), "stages.gate.when");
        // One kind of evidence per requirement, and files are asked for as files.
        let mut p = Pipeline::default_for(&tenant);
        p.stages[0].gate.push(Requirement {
            when: None,
            ..typo.clone()
        });
        assert_eq!(field_of(p), "stages.gate");
        let mut p = Pipeline::default_for(&tenant);
        p.stages[0].gate.push(Requirement {
            when: None,
            activity: Some(ActivityNeed {
                kind: ActivityKind::Attachment,
                within_days: None,
            }),
            ..typo
        });
        assert_eq!(field_of(p), "stages.gate.activity.kind");
    }

    #[test]
    fn languages_pick_their_text() {
        let l = Localized::new("赢单", "Won");
        assert_eq!(l.pick("zh-CN"), "赢单");
        assert_eq!(l.pick("en-US"), "Won");
        assert_eq!(l.pick("pt-BR"), "Won");
    }
}
