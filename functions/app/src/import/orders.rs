//! Historic orders from a sheet (an ERP's sales history): one row per order line, rows with
//! the same order number make one order. Each becomes a delivered, paid order dated on its
//! day, counted in the customer's purchases (and grade) and in the demand forecast's
//! history; stock is not touched (it left the warehouse long ago). An order's id derives
//! from its number (or, without one, from the row), so importing the same file again finds
//! every order and writes nothing.

use super::table::Table;
use super::use_cases::{
    Check, ImportKind, ImportReport, Progress, RowError, RowOutcome, columns, count, money, settle,
    text_cell,
};
use crate::error::AppError;
use crate::lead::load_tenant;
use crate::state::AppState;
use chrono::{NaiveDate, NaiveTime};
use fieldline_domain::id::derived_uuid;
use fieldline_domain::order::{Code, LineInput, NewOrder, Order, PaymentTerms, Sku};
use fieldline_domain::{Actor, Customer, OrderId, Permission, company_key};
use std::collections::{BTreeMap, HashMap};

pub(super) const FIELDS: &[(&str, bool)] = &[
    ("order", false),
    ("date", true),
    ("company", true),
    ("sku", true),
    ("quantity", true),
    ("unit_price", false),
    ("discount", false),
    ("location", true),
    ("channel", false),
];

/// The order export's header: one row per line, the import's own field names first (the
/// rest it ignores), so an export reads back as the same orders.
pub(super) const EXPORT_HEADER: &[&str] = &[
    "order",
    "date",
    "company",
    "sku",
    "quantity",
    "unit_price",
    "discount",
    "amount",
    "location",
    "channel",
    "status",
    "owner",
    "total",
    "paid",
    "currency",
    "invoice",
];

/// A discount as sheets write it: `10` or `10%`. Fractions (`0.1`) are refused rather than
/// guessed: a sheet's 0.5 could be half or half a percent.
fn discount(raw: &str) -> Result<u32, RowError> {
    let t = raw.trim().trim_end_matches(['%', '％']).trim();
    match t.parse::<u32>() {
        Ok(p) if p <= 100 => Ok(p),
        _ => Err(RowError::invalid(
            "discount",
            format!("{raw:?} is not a whole percentage from 0 to 100"),
        )),
    }
}

/// A day as sheets write it: `2025-03-14`, `2025/3/14`, `2025.3.14`, `2025年3月14日`, or an
/// Excel serial day number (what a date cell reads as).
fn day(raw: &str) -> Result<NaiveDate, RowError> {
    let t = raw.trim();
    for f in ["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日"] {
        if let Ok(d) = NaiveDate::parse_from_str(t, f) {
            return Ok(d);
        }
    }
    // Dates with a time of day: the day is enough.
    if let Some((d, _)) = t.split_once([' ', 'T'])
        && let Ok(d) = day(d)
    {
        return Ok(d);
    }
    match t.parse::<f64>() {
        // Excel's day 1 is 1900-01-01, counting the 1900 leap day that never was.
        Ok(serial) if (1.0..100_000.0).contains(&serial) => {
            Ok(NaiveDate::from_ymd_opt(1899, 12, 30).expect("valid date")
                + chrono::Duration::days(serial.trunc() as i64))
        }
        _ => Err(RowError::invalid(
            "date",
            format!("{raw:?} is not a date (2025-03-14)"),
        )),
    }
}

/// One order being assembled from its rows.
struct Draft {
    first_row: usize,
    customer: Customer,
    location: Code,
    channel: String,
    day: NaiveDate,
    lines: Vec<LineInput>,
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
    let tz = tenant.calendar().time_zone;
    let now = state.clock.now();
    let today = now.with_timezone(&tz).date_naive();
    let mut report = ImportReport::new(ImportKind::Orders, dry_run, table, &cols, progress);

    // The catalogue entries the file names, read once.
    let mut codes: Vec<Code> = table
        .rows
        .iter()
        .filter_map(|(_, row)| Code::parse(&cell(row, "sku"), "sku").ok())
        .collect();
    codes.sort();
    codes.dedup();
    let mut skus: HashMap<String, Sku> = HashMap::new();
    for chunk in codes.chunks(500) {
        for s in state.orders.get_skus(&actor.tenant, chunk).await? {
            skus.insert(s.code.to_string(), s);
        }
    }
    let mut customers: HashMap<String, Option<Customer>> = HashMap::new();
    let mut orders: BTreeMap<String, Draft> = BTreeMap::new();
    let mut row_order: Vec<(usize, String, Result<String, RowError>)> = Vec::new();

    for (line, row) in &table.rows {
        let number = cell(row, "order");
        let key = if number.is_empty() {
            format!("row {line}")
        } else {
            number.clone()
        };
        let result: Result<String, Check> = async {
            let day = day(&cell(row, "date"))?;
            if day > today {
                return Err(RowError::invalid("date", format!("{day} is in the future")).into());
            }
            let name = cell(row, "company");
            let ckey = company_key(&name);
            if !customers.contains_key(&ckey) {
                let found = super::customers::stored_company(state, &actor.tenant, &ckey).await?;
                customers.insert(ckey.clone(), found);
            }
            let customer = customers[&ckey]
                .clone()
                .ok_or_else(|| {
                    RowError::not_found(
                        "company",
                        format!("no customer {name:?}; import customers first"),
                    )
                })?;
            actor
                .check(Permission::AccessCustomer(&customer))
                .map_err(|_| {
                    RowError::forbidden("company", format!("{name} is another team's customer"))
                })?;
            let sku = Code::parse(&cell(row, "sku"), "sku")?;
            let stored = skus
                .get(sku.as_str())
                .ok_or_else(|| RowError::not_found("sku", format!("{sku} is not in the catalogue")))?;
            let quantity =
                count(&cell(row, "quantity")).map_err(|m| RowError::invalid("quantity", m))?;
            if quantity == 0 {
                return Err(RowError::invalid("quantity", "at least 1").into());
            }
            let unit_price = match cell(row, "unit_price") {
                p if p.is_empty() => None,
                p => Some(money(&p).map_err(|m| RowError::invalid("unit_price", m))?),
            };
            let discount_percent = match cell(row, "discount") {
                d if d.is_empty() => 0,
                d => discount(&d)?,
            };
            let location = Code::parse(&cell(row, "location"), "location")?;
            let channel = match cell(row, "channel") {
                c if c.is_empty() => "import".to_owned(),
                c => text_cell(&c, "channel")?,
            };
            let line_input = LineInput {
                sku: stored.code.clone(),
                quantity,
                unit_price,
                discount_percent,
            };
            match orders.get_mut(&key) {
                Some(draft) => {
                    if draft.customer.id != customer.id
                        || draft.location != location
                        || draft.day != day
                    {
                        return Err(RowError::invalid(
                            "order",
                            format!(
                                "{key}: its lines must share the customer, date and location of row {}",
                                draft.first_row
                            ),
                        )
                        .into());
                    }
                    draft.lines.push(line_input);
                }
                None => {
                    orders.insert(
                        key.clone(),
                        Draft {
                            first_row: *line,
                            customer,
                            location,
                            channel,
                            day,
                            lines: vec![line_input],
                        },
                    );
                }
            }
            Ok(key.clone())
        }
        .await;
        row_order.push((*line, key, settle(result)?));
    }

    // Build each order as it was: submitted, (approved,) shipped, delivered and paid on its
    // day. Known orders (same id) are left alone.
    let catalogue: Vec<Sku> = skus.into_values().collect();
    let policy = tenant.order_policy();
    let mut built: HashMap<String, Result<Option<Order>, RowError>> = HashMap::new();
    for (key, draft) in &orders {
        // An order number that is one of our order ids (our own export) keeps that id.
        let id = key.parse::<OrderId>().unwrap_or_else(|_| {
            OrderId::from_uuid(derived_uuid(&format!(
                "import-order|{}|{key}|{}",
                actor.tenant,
                if key.starts_with("row ") {
                    format!("{}|{}|{:?}", draft.customer.id, draft.day, draft.lines)
                } else {
                    String::new()
                }
            )))
        });
        let result: Result<Option<Order>, Check> = async {
            if state.orders.get_order(&actor.tenant, id).await?.is_some() {
                return Ok(None);
            }
            let at = draft
                .day
                .and_time(NaiveTime::from_hms_opt(12, 0, 0).expect("valid time"))
                .and_local_timezone(tz)
                .earliest()
                .map_or(now, |t| t.to_utc());
            let input = NewOrder {
                customer: draft.customer.id,
                channel: draft.channel.clone(),
                location: draft.location.clone(),
                lines: draft.lines.clone(),
                payment_terms: PaymentTerms::Net { days: 30 },
                delivery_address: draft.customer.addresses.first().map_or_else(
                    || draft.customer.name.as_str().to_owned(),
                    |a| a.text.clone(),
                ),
            };
            let owner = (draft.customer.owner, draft.customer.team);
            let mut order = Order::draft(&input, id, &actor.tenant, owner, &catalogue, at)?;
            let by = actor.user;
            order.submit(by, None, &catalogue, &policy, at)?;
            if !order.holds.is_empty() {
                order.approve(by, "导入的历史订单 / imported history".into(), at)?;
            }
            order.ship(by, at)?;
            order.deliver(by, at)?;
            order.record_payment(order.total, by, at)?;
            Ok(Some(order))
        }
        .await;
        built.insert(key.clone(), settle(result)?);
    }

    for (line, key, result) in row_order {
        let outcome = result.and_then(|k| match &built[&k] {
            Err(e) => Err(e.clone()),
            Ok(None) => Ok(RowOutcome::Unchanged),
            Ok(Some(_)) => Ok(RowOutcome::Created),
        });
        report.count(line, key, outcome);
    }
    if dry_run || report.errors > 0 {
        return Ok(report);
    }
    let mut written = 0usize;
    let total = built.values().filter(|r| matches!(r, Ok(Some(_)))).count();
    for (key, result) in built {
        let Ok(Some(order)) = result else { continue };
        let customer = &orders[&key].customer;
        let demand = fieldline_domain::demand::order_demand(&order, tz);
        state.orders.create_order(&order, &demand, &[]).await?;
        let purchase = order.purchase(order.created_at, actor.user, now);
        let event = customer.event(actor, now, purchase.recorded()).imported();
        state.customers.add_purchase(&purchase, &[event]).await?;
        written += 1;
        progress.writing(written, total);
    }
    report.committed = true;
    tracing::info!(
        orders = written,
        rows = report.rows.len(),
        "order history import committed"
    );
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_read_as_sheets_write_them() {
        let d = NaiveDate::from_ymd_opt(2025, 3, 14).unwrap();
        for raw in [
            "2025-03-14",
            "2025/3/14",
            "2025.3.14",
            "2025年3月14日",
            "2025-03-14 10:30:00",
            "2025-03-14T10:30:00",
            // What an .xlsx date cell reads as: days since 1899-12-30.
            "45730",
            "45730.4375",
        ] {
            assert_eq!(day(raw), Ok(d), "{raw}");
        }
        for raw in ["14/03/2025", "next week", "", "0"] {
            assert!(day(raw).is_err(), "{raw}");
        }
    }
}
