use super::table::{Table, decode, safe_cell};
use crate::error::AppError;
use crate::state::AppState;
pub use fieldline_domain::import::{ImportKind, ImportPhase, ProgressStep};
use fieldline_domain::order::{Code, Sku, SkuInput, StockCount};
use fieldline_domain::{Actor, Permission};
use fieldline_store::Cursor;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;

/// The imports that write the catalogue side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Catalogue {
    Skus,
    Stock,
}

impl From<Catalogue> for ImportKind {
    fn from(c: Catalogue) -> ImportKind {
        match c {
            Catalogue::Skus => ImportKind::Skus,
            Catalogue::Stock => ImportKind::Stock,
        }
    }
}

/// What happened (or, in a dry run, would happen) to one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RowOutcome {
    Created,
    Updated,
    Unchanged,
    Error,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RowReport {
    /// The row's number in the spreadsheet (the header is row 1).
    pub row: usize,
    pub outcome: RowOutcome,
    /// The record's key (SKU code, or `SKU@location`).
    pub key: String,
    /// Why the row is refused, for people: the column, then what is wrong with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why the row is refused, for programs: a stable code (`invalid_field`, `duplicate_row`,
    /// `duplicate`, `not_found`, `formula_cell`, `forbidden`, `conflict`, `invalid_transition`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The field (as the import names it, not the sheet's header) the refusal is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The stored record an unchanged row matched (`lead …`, `contact …`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched: Option<String>,
}

/// Why a row is refused: a stable code a client can act on, the field it is about (when
/// one is), and a message for people. Rows are checked against the store too, but a store
/// failure is not the row's fault: it fails the whole import instead (`AppError`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub code: &'static str,
    pub field: Option<String>,
    pub message: String,
}

impl RowError {
    /// The cell of `field` is not a valid value.
    pub fn invalid(field: &str, message: impl Into<String>) -> RowError {
        RowError {
            code: "invalid_field",
            field: Some(field.to_owned()),
            message: message.into(),
        }
    }

    /// The record `field` names (customer, SKU, owner) does not exist.
    pub fn not_found(field: &str, message: impl Into<String>) -> RowError {
        RowError {
            code: "not_found",
            field: Some(field.to_owned()),
            message: message.into(),
        }
    }

    /// The record `field` names is not the importer's to use.
    pub fn forbidden(field: &str, message: impl Into<String>) -> RowError {
        RowError {
            code: "forbidden",
            field: Some(field.to_owned()),
            message: message.into(),
        }
    }

    /// An earlier row of the file is the same record.
    pub fn duplicate(what: &str, first: usize) -> RowError {
        RowError {
            code: "duplicate_row",
            field: None,
            message: format!("the same {what} as row {first}"),
        }
    }

    /// The same refusal, about `field` when it named none (an access check about an owner).
    pub fn or_field(mut self, field: &str) -> RowError {
        self.field.get_or_insert_with(|| field.to_owned());
        self
    }

    /// A text cell a spreadsheet would run as a formula.
    pub fn formula(field: &str, raw: &str) -> RowError {
        RowError {
            code: "formula_cell",
            field: Some(field.to_owned()),
            message: format!("{raw:?} looks like a formula"),
        }
    }
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{field}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// A domain refusal keeps its field; its kind becomes the code the API gives it elsewhere.
impl From<fieldline_domain::DomainError> for RowError {
    fn from(e: fieldline_domain::DomainError) -> RowError {
        use fieldline_domain::DomainError as D;
        let code = match &e {
            D::InvalidField { .. } => "invalid_field",
            D::InvalidTransition { .. } => "invalid_transition",
            D::Forbidden(_) => "forbidden",
            D::Conflict(_) => "conflict",
        };
        match e {
            D::InvalidField { field, message } => RowError {
                code,
                field: Some(field),
                message,
            },
            other => RowError {
                code,
                field: None,
                message: other.to_string(),
            },
        }
    }
}

/// A row's check failing: the row's fault (reported; the import goes on to the next row) or
/// the store's (the import stops with it: nothing is known about the row).
#[derive(Debug)]
pub(super) enum Check {
    Row(RowError),
    Store(fieldline_store::StoreError),
}

impl From<RowError> for Check {
    fn from(e: RowError) -> Check {
        Check::Row(e)
    }
}

impl From<fieldline_domain::DomainError> for Check {
    fn from(e: fieldline_domain::DomainError) -> Check {
        Check::Row(e.into())
    }
}

impl From<fieldline_store::StoreError> for Check {
    fn from(e: fieldline_store::StoreError) -> Check {
        Check::Store(e)
    }
}

/// The row's outcome to report, or the store failure that stops the import.
pub(super) fn settle<T>(checked: Result<T, Check>) -> Result<Result<T, RowError>, AppError> {
    match checked {
        Ok(t) => Ok(Ok(t)),
        Err(Check::Row(e)) => Ok(Err(e)),
        Err(Check::Store(e)) => Err(e.into()),
    }
}

/// Where an import reports how far it is: nowhere, unless the caller follows it
/// (`Progress::channel`). Reports about every 1 % so a 100,000-row file sends ~200 steps.
#[derive(Debug, Clone, Default)]
pub struct Progress(Option<tokio::sync::mpsc::UnboundedSender<ProgressStep>>);

impl Progress {
    /// A progress nobody follows.
    pub fn silent() -> Progress {
        Progress(None)
    }

    /// A progress and the receiver its steps arrive on.
    pub fn channel() -> (Progress, tokio::sync::mpsc::UnboundedReceiver<ProgressStep>) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        (Progress(Some(tx)), rx)
    }

    fn step(&self, phase: ImportPhase, done: usize, total: usize) {
        let Some(tx) = &self.0 else { return };
        if done == total || done.is_multiple_of((total / 100).max(1)) {
            // A caller that stopped listening does not stop the import.
            let _ = tx.send(ProgressStep { phase, done, total });
        }
    }

    /// `done` of `total` records written.
    pub(super) fn writing(&self, done: usize, total: usize) {
        self.step(ImportPhase::Writing, done, total);
    }
}

/// Every row's outcome and the totals. A commit with any error row writes nothing.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportReport {
    pub kind: ImportKind,
    pub dry_run: bool,
    /// Whether the rows were written (never on a dry run or when any row is refused).
    pub committed: bool,
    /// Which header each field was read from.
    pub columns: HashMap<String, String>,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub errors: usize,
    pub rows: Vec<RowReport>,
    /// Told of every checked row.
    #[serde(skip)]
    progress: Progress,
    /// The file's rows, for progress.
    #[serde(skip)]
    total: usize,
}

impl ImportReport {
    pub(super) fn new(
        kind: ImportKind,
        dry_run: bool,
        table: &Table,
        cols: &Columns,
        progress: &Progress,
    ) -> ImportReport {
        ImportReport {
            kind,
            dry_run,
            committed: false,
            columns: cols
                .0
                .iter()
                .map(|(f, i)| ((*f).to_owned(), table.header[*i].clone()))
                .collect(),
            created: 0,
            updated: 0,
            unchanged: 0,
            errors: 0,
            rows: Vec::with_capacity(table.rows.len()),
            progress: progress.clone(),
            total: table.rows.len(),
        }
    }

    /// Records one row's outcome (an error names the column it is about).
    pub(super) fn count(&mut self, row: usize, key: String, outcome: Result<RowOutcome, RowError>) {
        self.count_matched(row, key, outcome, None);
    }

    /// `count`, naming the stored record the row matched.
    pub(super) fn count_matched(
        &mut self,
        row: usize,
        key: String,
        outcome: Result<RowOutcome, RowError>,
        matched: Option<String>,
    ) {
        let (outcome, error) = match outcome {
            Ok(o) => (o, None),
            Err(e) => (RowOutcome::Error, Some(e)),
        };
        match outcome {
            RowOutcome::Created => self.created += 1,
            RowOutcome::Updated => self.updated += 1,
            RowOutcome::Unchanged => self.unchanged += 1,
            RowOutcome::Error => self.errors += 1,
        }
        self.rows.push(RowReport {
            row,
            outcome,
            key,
            code: error.as_ref().map(|e| e.code.to_owned()),
            field: error.as_ref().and_then(|e| e.field.clone()),
            error: error.map(|e| e.to_string()),
            matched,
        });
        self.progress
            .step(ImportPhase::Checking, self.rows.len(), self.total);
    }
}

/// The header names each field is recognised by (folded: lower case, no spaces, `_`, `-`).
fn aliases(field: &str) -> &'static [&'static str] {
    match field {
        "sku" => &[
            "sku",
            "code",
            "skucode",
            "编码",
            "物料编码",
            "商品编码",
            "存货编码",
            "货号",
        ],
        "name" => &["name", "名称", "商品名称", "品名", "存货名称", "物料名称"],
        "unit_price" => &["unitprice", "price", "单价", "价格", "售价", "零售价"],
        "floor_price" => &["floorprice", "floor", "底价", "最低价", "最低售价"],
        "safety_stock" => &["safetystock", "safety", "安全库存"],
        "currency" => &["currency", "币种", "货币"],
        "location" => &["location", "warehouse", "仓库", "仓库编码", "库位", "仓位"],
        "on_hand" => &[
            "onhand",
            "quantity",
            "qty",
            "stock",
            "库存",
            "数量",
            "现存量",
            "结存数量",
        ],
        "company" => &[
            "company",
            "customer",
            "name",
            "客户",
            "客户名称",
            "公司",
            "公司名称",
            "单位名称",
            "名称",
        ],
        "kind" => &["kind", "type", "类型", "客户类型"],
        "address" => &["address", "地址", "详细地址", "收货地址", "公司地址"],
        "tags" => &["tags", "tag", "标签"],
        "owner" => &["owner", "负责人", "业务员", "销售", "客户经理"],
        "contact" => &["contact", "contactname", "联系人", "姓名"],
        "title" => &["title", "position", "职位", "职务"],
        "phone" => &[
            "phone",
            "mobile",
            "tel",
            "电话",
            "手机",
            "手机号",
            "联系电话",
        ],
        "email" => &["email", "mail", "邮箱", "电子邮件", "电子邮箱"],
        "role" => &["role", "角色"],
        "order" => &[
            "order",
            "orderno",
            "ordernumber",
            "订单号",
            "订单编号",
            "单据编号",
            "单号",
        ],
        "date" => &[
            "date",
            "orderdate",
            "日期",
            "下单日期",
            "单据日期",
            "订单日期",
        ],
        "quantity" => &["quantity", "qty", "数量", "销售数量", "订购数量"],
        "channel" => &["channel", "渠道", "销售渠道"],
        "discount" => &["discount", "discountpercent", "折扣", "折扣率"],
        "lead_name" => &[
            "leadname",
            "name",
            "contact",
            "contactname",
            "姓名",
            "联系人",
            "客户姓名",
        ],
        "source" => &["source", "leadsource", "来源", "线索来源", "客户来源"],
        "notes" => &["notes", "note", "remark", "remarks", "备注", "说明"],
        _ => &[],
    }
}

fn fold(header: &str) -> String {
    header
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '_' | '-'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Each field's column in a table.
pub(super) struct Columns(HashMap<&'static str, usize>);

impl Columns {
    /// `field`'s cell in `row` as written; empty when the file has no such column.
    pub(super) fn cell<'r>(&self, row: &'r [String], field: &str) -> &'r str {
        self.0
            .get(field)
            .and_then(|i| row.get(*i))
            .map_or("", String::as_str)
    }
}

/// Each field's column: from `mapping` (`field=Header`, comma-separated) where given, else
/// by the known names. A required field without a column refuses the whole file.
pub(super) fn columns(
    table: &Table,
    fields: &[(&'static str, bool)],
    mapping: Option<&str>,
) -> Result<Columns, AppError> {
    let mut explicit: HashMap<String, String> = HashMap::new();
    for pair in mapping
        .unwrap_or_default()
        .split(',')
        .filter(|p| !p.trim().is_empty())
    {
        let (field, header) = pair.split_once('=').ok_or_else(|| {
            AppError::rejected(
                "invalid_query",
                format!("map: {pair:?} is not field=Header"),
            )
        })?;
        if !fields.iter().any(|(f, _)| *f == field.trim()) {
            return Err(AppError::rejected(
                "invalid_query",
                format!("map: {} is not a field of this import", field.trim()),
            ));
        }
        explicit.insert(field.trim().to_owned(), header.trim().to_owned());
    }
    let mut out: HashMap<&'static str, usize> = HashMap::new();
    for (field, required) in fields {
        // A header read for an earlier field (a lead's "name") is not read again for a
        // later one that shares the alias (its company's "name").
        let found = match explicit.get(*field) {
            Some(header) => table.header.iter().position(|h| h == header),
            None => table.header.iter().enumerate().position(|(i, h)| {
                !out.values().any(|taken| *taken == i) && aliases(field).contains(&fold(h).as_str())
            }),
        };
        match found {
            Some(i) => {
                out.insert(*field, i);
            }
            None if *required => {
                return Err(AppError::Unprocessable {
                    code: "missing_column",
                    message: format!(
                        "no column for {field} (headers: {}); name it or pass map={field}=<header>",
                        table.header.join(", ")
                    ),
                });
            }
            None => {}
        }
    }
    Ok(Columns(out))
}

/// Money as printed in a sheet (`12.80`, `¥12.8`, `12.8元`, `1,280.00`) in minor units.
pub(super) fn money(raw: &str) -> Result<u64, String> {
    let t: String = raw
        .trim()
        .trim_start_matches(['¥', '￥', '$', '€'])
        .trim_end_matches(['元', '圆'])
        .chars()
        .filter(|c| *c != ',')
        .collect();
    let (whole, cents) = match t.split_once('.') {
        Some((w, c)) if c.len() <= 2 && c.bytes().all(|b| b.is_ascii_digit()) => {
            (w, format!("{c:0<2}"))
        }
        Some(_) => return Err(format!("{raw:?} is not an amount with at most 2 decimals")),
        None => (t.as_str(), "00".to_owned()),
    };
    let whole: u64 = whole
        .parse()
        .map_err(|_| format!("{raw:?} is not an amount"))?;
    whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(cents.parse::<u64>().unwrap_or(0)))
        .ok_or_else(|| format!("{raw:?} is too large"))
}

pub(super) fn count(raw: &str) -> Result<u64, String> {
    let t = raw.trim().replace(',', "");
    let t = t.strip_suffix(".0").unwrap_or(&t);
    t.parse()
        .map_err(|_| format!("{raw:?} is not a whole number"))
}

/// Text cells that a spreadsheet would run as a formula are refused, not imported.
pub(super) fn text_cell(raw: &str, field: &str) -> Result<String, RowError> {
    if raw.starts_with(['=', '+', '@']) || (raw.starts_with('-') && raw.parse::<f64>().is_err()) {
        return Err(RowError::formula(field, raw));
    }
    Ok(raw.to_owned())
}

/// Reads a file, reports every row, and (unless `dry_run`) writes the rows when none is
/// refused. Managers and admins.
#[tracing::instrument(name = "import.run", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn import(
    state: &AppState,
    actor: &Actor,
    kind: ImportKind,
    bytes: &[u8],
    dry_run: bool,
    mapping: Option<&str>,
    progress: &Progress,
) -> Result<ImportReport, AppError> {
    let mut report = import_kind(state, actor, kind, bytes, dry_run, mapping, progress).await?;
    // The report no longer reports: a follower's channel closes when the import ends.
    report.progress = Progress::silent();
    Ok(report)
}

/// Who may import what: the sales side is for those who assign work, the catalogue for those
/// who manage stock, counts for those who record it.
pub fn permission(kind: ImportKind) -> Permission<'static> {
    match kind {
        ImportKind::Customers | ImportKind::Orders | ImportKind::Leads => Permission::AssignLeads,
        ImportKind::Skus => Permission::ManageStock,
        ImportKind::Stock => Permission::RecordStock,
    }
}

async fn import_kind(
    state: &AppState,
    actor: &Actor,
    kind: ImportKind,
    bytes: &[u8],
    dry_run: bool,
    mapping: Option<&str>,
    progress: &Progress,
) -> Result<ImportReport, AppError> {
    actor.check(permission(kind))?;
    let table = decode(bytes)?;
    if table.rows.is_empty() {
        return Err(AppError::Unprocessable {
            code: "empty_file",
            message: "the file has a header but no rows".into(),
        });
    }
    let kind = match kind {
        ImportKind::Customers => {
            return super::customers::import(state, actor, &table, dry_run, mapping, progress)
                .await;
        }
        ImportKind::Orders => {
            return super::orders::import(state, actor, &table, dry_run, mapping, progress).await;
        }
        ImportKind::Leads => {
            return super::leads::import(state, actor, &table, dry_run, mapping, progress).await;
        }
        ImportKind::Skus => Catalogue::Skus,
        ImportKind::Stock => Catalogue::Stock,
    };
    let fields: &[(&str, bool)] = match kind {
        Catalogue::Skus => &[
            ("sku", true),
            ("name", true),
            ("unit_price", true),
            ("floor_price", false),
            ("safety_stock", false),
            ("currency", false),
        ],
        Catalogue::Stock => &[("sku", true), ("location", true), ("on_hand", true)],
    };
    let cols = columns(&table, fields, mapping)?;
    let cell = |row: &[String], field: &str| cols.cell(row, field).to_owned();
    let now = state.clock.now();
    let mut report = ImportReport::new(kind.into(), dry_run, &table, &cols, progress);
    let mut first_row: HashMap<String, usize> = HashMap::new();
    let mut skus: Vec<Sku> = Vec::new();
    let mut counts: Vec<StockCount> = Vec::new();
    let mut parsed: Vec<(usize, String, Result<(), RowError>)> = Vec::new();
    for (line, row) in &table.rows {
        let result: Result<String, (String, RowError)> = (|| {
            let code =
                Code::parse(&cell(row, "sku"), "sku").map_err(|e| (cell(row, "sku"), e.into()))?;
            match kind {
                Catalogue::Skus => {
                    let key = code.to_string();
                    let k = |e: RowError| (key.clone(), e);
                    let unit_price = money(&cell(row, "unit_price"))
                        .map_err(|m| k(RowError::invalid("unit_price", m)))?;
                    let floor = cell(row, "floor_price");
                    let floor_price = if floor.is_empty() {
                        unit_price
                    } else {
                        money(&floor).map_err(|m| k(RowError::invalid("floor_price", m)))?
                    };
                    let safety = cell(row, "safety_stock");
                    let safety_stock = if safety.is_empty() {
                        0
                    } else {
                        count(&safety).map_err(|m| k(RowError::invalid("safety_stock", m)))?
                    };
                    let currency = match cell(row, "currency") {
                        c if c.is_empty() => "CNY".to_owned(),
                        c => c.to_uppercase(),
                    };
                    let name = text_cell(&cell(row, "name"), "name").map_err(k)?;
                    let input = SkuInput {
                        name,
                        unit_price,
                        floor_price,
                        currency,
                        safety_stock,
                    };
                    let sku =
                        Sku::new(&actor.tenant, code, &input, now).map_err(|e| k(e.into()))?;
                    skus.push(sku);
                    Ok(key)
                }
                Catalogue::Stock => {
                    let location = Code::parse(&cell(row, "location"), "location")
                        .map_err(|e| (code.to_string(), e.into()))?;
                    let key = format!("{code}@{location}");
                    let on_hand = count(&cell(row, "on_hand"))
                        .map_err(|m| (key.clone(), RowError::invalid("on_hand", m)))?;
                    counts.push(StockCount {
                        sku: code,
                        location,
                        on_hand,
                    });
                    Ok(key)
                }
            }
        })();
        match result {
            Ok(key) => {
                let dup = first_row.get(&key).copied();
                first_row.entry(key.clone()).or_insert(*line);
                let check = match dup {
                    Some(first) => Err(RowError::duplicate("record", first)),
                    None => Ok(()),
                };
                parsed.push((*line, key, check));
            }
            Err((key, message)) => parsed.push((*line, key, Err(message))),
        }
    }

    // Against what is stored: created, updated or unchanged; stock rows need their SKU.
    let codes: Vec<Code> = match kind {
        Catalogue::Skus => skus.iter().map(|s| s.code.clone()).collect(),
        Catalogue::Stock => counts.iter().map(|c| c.sku.clone()).collect(),
    };
    let mut stored: HashMap<String, Sku> = HashMap::new();
    for chunk in codes.chunks(500) {
        for s in state.orders.get_skus(&actor.tenant, chunk).await? {
            stored.insert(s.code.to_string(), s);
        }
    }
    let by_code: HashMap<&str, &Sku> = skus.iter().map(|s| (s.code.as_str(), s)).collect();
    for (line, key, check) in parsed {
        let outcome = match (&check, kind) {
            (Err(_), _) => RowOutcome::Error,
            (Ok(()), Catalogue::Skus) => match (stored.get(&key), by_code.get(key.as_str())) {
                (None, _) => RowOutcome::Created,
                (Some(old), Some(new)) if same_sku(old, new) => RowOutcome::Unchanged,
                (Some(_), _) => RowOutcome::Updated,
            },
            (Ok(()), Catalogue::Stock) => {
                let sku = key.split('@').next().unwrap_or_default();
                if stored.contains_key(sku) {
                    RowOutcome::Updated
                } else {
                    let error =
                        RowError::not_found("sku", format!("{sku} is not in the catalogue"));
                    report.count(line, key, Err(error));
                    continue;
                }
            }
        };
        report.count(line, key, check.map(|()| outcome));
    }
    if dry_run || report.errors > 0 {
        return Ok(report);
    }
    match kind {
        Catalogue::Skus => {
            let changed: Vec<Sku> = skus
                .iter()
                .filter(|s| {
                    stored
                        .get(s.code.as_str())
                        .is_none_or(|old| !same_sku(old, s))
                })
                .cloned()
                .collect();
            for (i, chunk) in changed.chunks(1000).enumerate() {
                state.orders.put_skus(chunk).await?;
                progress.writing((i * 1000 + chunk.len()).min(changed.len()), changed.len());
            }
        }
        Catalogue::Stock => {
            for (i, chunk) in counts.chunks(1000).enumerate() {
                state.orders.set_stock(&actor.tenant, chunk).await?;
                progress.writing(i * 1000 + chunk.len(), counts.len());
            }
            let touched: std::collections::HashSet<(&str, &str)> = counts
                .iter()
                .map(|c| (c.sku.as_str(), c.location.as_str()))
                .collect();
            let below: Vec<_> = state
                .orders
                .list_stock(&actor.tenant)
                .await?
                .into_iter()
                .filter(|l| touched.contains(&(l.sku.as_str(), l.location.as_str())))
                .filter(|l| {
                    stored
                        .get(l.sku.as_str())
                        .is_some_and(|s| l.available < s.safety_stock as i64)
                })
                .collect();
            crate::order::notify_below_safety(state, &actor.tenant, &below).await?;
        }
    }
    report.committed = true;
    tracing::info!(kind = ?kind, rows = report.rows.len(), "import committed");
    Ok(report)
}

/// The same catalogue entry but for when it was written.
fn same_sku(a: &Sku, b: &Sku) -> bool {
    (
        &a.name,
        a.unit_price,
        a.floor_price,
        a.safety_stock,
        &a.currency,
    ) == (
        &b.name,
        b.unit_price,
        b.floor_price,
        b.safety_stock,
        &b.currency,
    )
}

/// What an export lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExportKind {
    Skus,
    Stock,
    Orders,
    Customers,
    Leads,
    Deals,
    /// The last 365 days' visits.
    Visits,
}

/// The most rows one export writes.
pub const MAX_EXPORT_ROWS: usize = 100_000;

fn yuan(minor: u64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

/// A list as rows: the header, which columns are numbers, and the cells as text.
struct Sheet {
    header: Vec<&'static str>,
    numeric: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Sheet {
    fn new(header: &[&'static str], numeric: &[&'static str]) -> Sheet {
        Sheet {
            header: header.to_vec(),
            numeric: numeric.to_vec(),
            rows: Vec::new(),
        }
    }

    fn full(&self) -> bool {
        self.rows.len() >= MAX_EXPORT_ROWS
    }

    /// CSV, UTF-8 with a byte-order mark (so Excel reads Chinese right), every text cell
    /// defused against formula injection.
    fn csv(&self) -> Result<Vec<u8>, AppError> {
        let mut out = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
        let csv_err = |e: csv::Error| AppError::internal("export", e);
        out.write_record(&self.header).map_err(csv_err)?;
        for row in &self.rows {
            out.write_record(row.iter().map(|c| safe_cell(c)))
                .map_err(csv_err)?;
        }
        out.into_inner()
            .map_err(|e| AppError::internal("export", e.into_error()))
    }

    /// An .xlsx workbook: text as text cells (never formulas), the numeric columns as numbers.
    fn xlsx(&self) -> Result<Vec<u8>, AppError> {
        use rust_xlsxwriter::{Format, Workbook};
        let err = |e: rust_xlsxwriter::XlsxError| AppError::internal("export", e);
        let mut book = Workbook::new();
        let sheet = book.add_worksheet();
        let bold = Format::new().set_bold();
        for (c, name) in self.header.iter().enumerate() {
            sheet
                .write_string_with_format(0, c as u16, *name, &bold)
                .map_err(err)?;
        }
        for (r, row) in self.rows.iter().enumerate() {
            let r = r as u32 + 1;
            for (c, cell) in row.iter().enumerate() {
                let number = self
                    .numeric
                    .contains(&self.header[c])
                    .then(|| cell.parse::<f64>().ok())
                    .flatten();
                match number {
                    Some(n) => sheet.write_number(r, c as u16, n),
                    None => sheet.write_string(r, c as u16, cell),
                }
                .map_err(err)?;
            }
        }
        book.save_to_buffer().map_err(err)
    }
}

/// The file an export is written as.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    #[default]
    Csv,
    Xlsx,
}

/// A list in the caller's scope as CSV or .xlsx: the catalogue and stock for everyone; orders
/// (one row per line), customers (one row per contact), leads, deals and the last year's
/// visits as their listings show them to the caller. Every export but deals reads back with `POST /v1/imports/{kind}`
/// as the same records (orders as history: delivered and paid).
pub async fn export(
    state: &AppState,
    actor: &Actor,
    kind: ExportKind,
    format: ExportFormat,
) -> Result<Vec<u8>, AppError> {
    let sheet = match kind {
        ExportKind::Skus => export_skus(state, actor).await?,
        ExportKind::Stock => export_stock(state, actor).await?,
        ExportKind::Orders => export_orders(state, actor).await?,
        ExportKind::Customers => export_customers(state, actor).await?,
        ExportKind::Leads => export_leads(state, actor).await?,
        ExportKind::Deals => export_deals(state, actor).await?,
        ExportKind::Visits => export_visits(state, actor).await?,
    };
    match format {
        ExportFormat::Csv => sheet.csv(),
        ExportFormat::Xlsx => sheet.xlsx(),
    }
}

async fn export_skus(state: &AppState, actor: &Actor) -> Result<Sheet, AppError> {
    let mut sheet = Sheet::new(
        &[
            "sku",
            "name",
            "unit_price",
            "floor_price",
            "safety_stock",
            "currency",
        ],
        &["unit_price", "floor_price", "safety_stock"],
    );
    let mut after: Option<Code> = None;
    loop {
        let page = state
            .orders
            .list_skus(&actor.tenant, after.as_ref(), 200)
            .await?;
        for s in &page {
            sheet.rows.push(vec![
                s.code.to_string(),
                s.name.clone(),
                yuan(s.unit_price),
                yuan(s.floor_price),
                s.safety_stock.to_string(),
                s.currency.clone(),
            ]);
        }
        match page.last() {
            Some(last) if page.len() == 200 && !sheet.full() => after = Some(last.code.clone()),
            _ => break,
        }
    }
    Ok(sheet)
}

async fn export_stock(state: &AppState, actor: &Actor) -> Result<Sheet, AppError> {
    let mut sheet = Sheet::new(
        &["sku", "location", "on_hand", "reserved", "available"],
        &["on_hand", "reserved", "available"],
    );
    for l in state.orders.list_stock(&actor.tenant).await? {
        if sheet.full() {
            break;
        }
        sheet.rows.push(vec![
            l.sku.to_string(),
            l.location.to_string(),
            l.on_hand.to_string(),
            l.reserved.to_string(),
            l.available.to_string(),
        ]);
    }
    Ok(sheet)
}

/// Names of the customers an export mentions, each read once.
struct CustomerNames(HashMap<fieldline_domain::CustomerId, String>);

impl CustomerNames {
    async fn of(
        &mut self,
        state: &AppState,
        actor: &Actor,
        id: fieldline_domain::CustomerId,
    ) -> Result<String, AppError> {
        if let Some(name) = self.0.get(&id) {
            return Ok(name.clone());
        }
        let name = state
            .customers
            .get_customer(&actor.tenant, id)
            .await?
            .map(|c| c.name.as_str().to_owned())
            .unwrap_or_else(|| id.to_string());
        self.0.insert(id, name.clone());
        Ok(name)
    }
}

/// E-mail addresses by user, for owner columns (what the imports read owners by).
struct Owners(HashMap<fieldline_domain::UserId, String>);

impl Owners {
    async fn of_tenant(state: &AppState, actor: &Actor) -> Result<Owners, AppError> {
        Ok(Owners(
            state
                .directory
                .list_users(&actor.tenant)
                .await?
                .into_iter()
                .map(|u| (u.id, u.email.as_str().to_owned()))
                .collect(),
        ))
    }

    /// `user`'s e-mail; empty for one no longer in the tenant.
    fn email(&self, user: fieldline_domain::UserId) -> String {
        self.0.get(&user).cloned().unwrap_or_default()
    }
}

/// One row per order line, in the columns the order-history import reads (the order's id as
/// its number, so importing the file into the same tenant finds every order).
async fn export_orders(state: &AppState, actor: &Actor) -> Result<Sheet, AppError> {
    let mut sheet = Sheet::new(
        super::orders::EXPORT_HEADER,
        &[
            "quantity",
            "unit_price",
            "discount",
            "amount",
            "total",
            "paid",
        ],
    );
    let tz = crate::lead::load_tenant(state, &actor.tenant)
        .await?
        .calendar()
        .time_zone;
    let owners = Owners::of_tenant(state, actor).await?;
    let mut orders = Vec::new();
    crate::order::for_each_order(
        state,
        actor,
        actor.lead_scope(),
        None,
        MAX_EXPORT_ROWS,
        |o| {
            orders.push(o.clone());
        },
    )
    .await?;
    let mut names = CustomerNames(HashMap::new());
    for o in orders {
        let company = names.of(state, actor, o.customer).await?;
        for l in &o.lines {
            sheet.rows.push(vec![
                o.id.to_string(),
                o.created_at.with_timezone(&tz).date_naive().to_string(),
                company.clone(),
                l.sku.to_string(),
                l.quantity.to_string(),
                yuan(l.unit_price),
                l.discount_percent.to_string(),
                yuan(l.amount),
                o.location.to_string(),
                o.channel.clone(),
                o.status.to_string(),
                owners.email(o.owner),
                yuan(o.total),
                yuan(o.paid),
                o.currency.clone(),
                o.invoice.to_string(),
            ]);
        }
    }
    Ok(sheet)
}

/// Leads in the caller's scope, in the columns the lead import reads.
async fn export_leads(state: &AppState, actor: &Actor) -> Result<Sheet, AppError> {
    let mut sheet = Sheet::new(super::leads::EXPORT_HEADER, &[]);
    let owners = Owners::of_tenant(state, actor).await?;
    let mut after: Option<Cursor> = None;
    loop {
        let page = state
            .leads
            .list_leads(
                &actor.tenant,
                &fieldline_store::LeadQuery {
                    scope: actor.lead_scope(),
                    owner: None,
                    status: None,
                    priority: None,
                    updated_before: None,
                    limit: 200,
                    after,
                },
            )
            .await?;
        for l in &page.items {
            let c = &l.contact;
            let text = |v: Option<&fieldline_domain::PersonName>| {
                v.map(|v| v.as_str().to_owned()).unwrap_or_default()
            };
            sheet.rows.push(vec![
                c.name.as_str().to_owned(),
                c.phone
                    .as_ref()
                    .map(|p| p.e164().to_owned())
                    .unwrap_or_default(),
                c.email
                    .as_ref()
                    .map(|e| e.as_str().to_owned())
                    .unwrap_or_default(),
                text(c.company.as_ref()),
                text(c.title.as_ref()),
                l.source.to_string(),
                l.owner.map(|o| owners.email(o)).unwrap_or_default(),
                l.notes.clone().unwrap_or_default(),
                l.status.to_string(),
                l.priority.as_str().to_owned(),
                l.created_at.to_rfc3339(),
            ]);
        }
        match page.next {
            Some(next) if !sheet.full() => after = Some(next),
            _ => break,
        }
    }
    Ok(sheet)
}

/// Deals in the caller's scope, open and closed.
async fn export_deals(state: &AppState, actor: &Actor) -> Result<Sheet, AppError> {
    let mut sheet = Sheet::new(
        &[
            "id",
            "title",
            "company",
            "pipeline",
            "stage",
            "status",
            "amount",
            "currency",
            "owner",
            "expected_close",
            "stage_entered_at",
            "created_at",
            "closed_at",
            "lost_reason",
        ],
        &["amount"],
    );
    let owners = Owners::of_tenant(state, actor).await?;
    let mut names = CustomerNames(HashMap::new());
    let mut after: Option<Cursor> = None;
    loop {
        let page = state
            .deals
            .list_deals(
                &actor.tenant,
                &fieldline_store::DealQuery {
                    scope: actor.lead_scope(),
                    pipeline: None,
                    stage: None,
                    status: None,
                    owner: None,
                    overdue_at: None,
                    limit: 200,
                    after,
                },
            )
            .await?;
        for d in &page.items {
            sheet.rows.push(vec![
                d.id.to_string(),
                d.title.clone(),
                names.of(state, actor, d.customer).await?,
                d.pipeline.clone(),
                d.stage.clone(),
                d.status.to_string(),
                yuan(d.amount),
                d.currency.clone(),
                owners.email(d.owner),
                d.expected_close.map(|d| d.to_string()).unwrap_or_default(),
                d.stage_entered_at.to_rfc3339(),
                d.created_at.to_rfc3339(),
                d.closed_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                d.lost_reason.clone().unwrap_or_default(),
            ]);
        }
        match page.next {
            Some(next) if !sheet.full() => after = Some(next),
            _ => break,
        }
    }
    Ok(sheet)
}

/// The last 365 days' visits the caller may see, as `GET /v1/visits` lists them (newest
/// first), with the verdict and its reasons.
async fn export_visits(state: &AppState, actor: &Actor) -> Result<Sheet, AppError> {
    let mut sheet = Sheet::new(
        &[
            "id",
            "checked_in_at",
            "company",
            "owner",
            "purpose",
            "distance_m",
            "far",
            "checked_out_at",
            "actions",
            "photos",
            "valid",
            "invalid_reasons",
        ],
        &["distance_m", "photos"],
    );
    let now = state.clock.now();
    let owners = Owners::of_tenant(state, actor).await?;
    let mut names = CustomerNames(HashMap::new());
    let visits = crate::visit::list_visits(
        state,
        actor,
        now - chrono::Duration::days(365),
        now + chrono::Duration::seconds(1),
    )
    .await?;
    for v in visits.iter().take(MAX_EXPORT_ROWS) {
        sheet.rows.push(vec![
            v.id.to_string(),
            v.checked_in_at.to_rfc3339(),
            names.of(state, actor, v.customer).await?,
            owners.email(v.owner),
            v.purpose.clone(),
            v.distance_m.map(|d| format!("{d:.0}")).unwrap_or_default(),
            v.far.to_string(),
            v.checked_out_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
            v.actions.join("、"),
            v.photos.len().to_string(),
            v.valid.map(|b| b.to_string()).unwrap_or_default(),
            v.invalid_reasons.join("; "),
        ]);
    }
    Ok(sheet)
}

/// One row per contact (a customer without contacts gets one row), in the columns the
/// customer import reads.
async fn export_customers(state: &AppState, actor: &Actor) -> Result<Sheet, AppError> {
    let mut sheet = Sheet::new(super::customers::EXPORT_HEADER, &[]);
    let owners = Owners::of_tenant(state, actor).await?;
    let mut after: Option<Cursor> = None;
    loop {
        let page = state
            .customers
            .list_customers(
                &actor.tenant,
                &fieldline_store::CustomerQuery {
                    scope: actor.lead_scope(),
                    name_contains: None,
                    limit: 200,
                    after,
                },
            )
            .await?;
        for c in &page.items {
            let contacts = state.customers.list_contacts(&actor.tenant, c.id).await?;
            let company = [
                c.name.as_str().to_owned(),
                c.kind.to_string(),
                c.addresses
                    .first()
                    .map(|a| a.text.clone())
                    .unwrap_or_default(),
                c.tags.join("、"),
                owners.email(c.owner),
            ];
            if contacts.is_empty() {
                let mut row = company.to_vec();
                row.extend(std::iter::repeat_n(String::new(), 5));
                sheet.rows.push(row);
            }
            for p in &contacts {
                let mut row = company.to_vec();
                row.extend([
                    p.name.as_str().to_owned(),
                    p.title
                        .as_ref()
                        .map(|t| t.as_str().to_owned())
                        .unwrap_or_default(),
                    p.phones
                        .iter()
                        .map(|n| n.e164().to_owned())
                        .collect::<Vec<_>>()
                        .join("; "),
                    p.emails
                        .iter()
                        .map(|e| e.as_str().to_owned())
                        .collect::<Vec<_>>()
                        .join("; "),
                    p.role.clone().unwrap_or_default(),
                ]);
                sheet.rows.push(row);
            }
        }
        match page.next {
            Some(next) if !sheet.full() => after = Some(next),
            _ => break,
        }
    }
    Ok(sheet)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_row_keeps_its_code_and_field_and_a_store_failure_stops_the_import() {
        use fieldline_domain::DomainError;
        let bad: RowError = DomainError::invalid("unit_price", "must be positive").into();
        assert_eq!(
            (bad.code, bad.field.as_deref(), bad.to_string().as_str()),
            (
                "invalid_field",
                Some("unit_price"),
                "unit_price: must be positive"
            )
        );
        let moved: RowError = DomainError::InvalidTransition {
            from: "delivered".into(),
            to: "shipped".into(),
        }
        .into();
        assert_eq!(
            moved.clone().or_field("owner").field.as_deref(),
            Some("owner")
        );
        assert_eq!((moved.code, moved.field), ("invalid_transition", None));
        assert_eq!(
            bad.clone().or_field("owner").field.as_deref(),
            Some("unit_price")
        );
        assert_eq!(RowError::duplicate("person", 4).code, "duplicate_row");
        assert_eq!(RowError::formula("name", "=1+1").code, "formula_cell");

        let row: Result<(), Check> = Err(RowError::not_found("sku", "X is unknown").into());
        assert_eq!(settle(row).unwrap().unwrap_err().code, "not_found");
        let store: Result<(), Check> = Err(fieldline_store::StoreError::NotFound.into());
        assert!(
            settle(store).is_err(),
            "not a row's outcome: the import stops"
        );
    }

    #[test]
    fn money_reads_what_sheets_print() {
        assert_eq!(money("12.80"), Ok(1280));
        assert_eq!(money("¥12.8"), Ok(1280));
        assert_eq!(money("12.8元"), Ok(1280));
        assert_eq!(money("1,280"), Ok(128_000));
        assert!(money("12.805").is_err());
        assert!(money("abc").is_err());
        assert_eq!(count("1,200"), Ok(1200));
        assert_eq!(count("7.0"), Ok(7));
        assert!(count("-3").is_err());
        assert!(text_cell("=cmd|' /C calc'!A0", "name").is_err());
        assert!(text_cell("润滑油", "name").is_ok());
    }
}
