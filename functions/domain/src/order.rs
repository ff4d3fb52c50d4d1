//! Orders (seed 002: "仓库说有货、系统显示缺货", "财务未收到预付款"): a customer's order with
//! its lines, checked against the customer's credit and the stock at the shipping location
//! when submitted, held for a manager when the credit is frozen or a discount goes past the
//! tenant's limit, released to the warehouse (待发货) once approved and, on prepayment terms,
//! paid; shipped, delivered, and counted in the customer's purchases.
//!
//! Money is in minor units (分, cents) so totals add up exactly; stock in whole units.

use crate::Timestamp;
use crate::error::DomainError;
use crate::event::{DomainEvent, EventPayload};
use crate::id::{CustomerId, OrderId, TeamId, TenantId, UserId};
use crate::subject::Subject;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A `snake_case` enum with `as_str` and `Display`, for order states.
macro_rules! order_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub enum $name { $($variant),+ }

        impl $name {
            pub fn as_str(&self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            pub fn parse(raw: &str) -> Option<$name> {
                match raw { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// The most lines one order has. Every order write carries its stock moves in one DynamoDB
/// transaction (at most 100 items), and the largest — a relocation — releases each line at
/// one warehouse and reserves it at another, beside the order, its copy and its events:
/// 2 × 48 + 4 = 100.
pub const MAX_ORDER_LINES: usize = 48;
/// The most units one line orders.
pub const MAX_LINE_QUANTITY: u64 = 1_000_000;
/// The largest price, total or payment, in minor units (10¹² 元 is far beyond any order).
pub const MAX_MONEY: u64 = 100_000_000_000_000;
/// The most stock rows one inventory batch sets.
pub const MAX_INVENTORY_BATCH: usize = 1000;

/// A catalogue or location code as an ERP prints it (`SKU-1001`, `WH-SH-01`): 1-64 of
/// letters, digits and `-_./`, case kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String, pattern = r"^[A-Za-z0-9._/-]{1,64}$", example = "SKU-1001"))]
pub struct Code(String);

impl Code {
    pub fn parse(raw: &str, field: &str) -> Result<Code, DomainError> {
        let raw = raw.trim();
        let ok = (1..=64).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'));
        if ok {
            Ok(Code(raw.to_owned()))
        } else {
            Err(DomainError::invalid(
                field,
                "1-64 letters, digits or - _ . /",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Code {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Code::parse(&raw, "code").map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn money(field: &str, value: u64) -> Result<u64, DomainError> {
    if value > MAX_MONEY {
        return Err(DomainError::invalid(field, "at most 10^14 minor units"));
    }
    Ok(value)
}

fn text(field: &str, raw: &str, max: usize) -> Result<String, DomainError> {
    let t = raw.trim();
    if t.is_empty() || t.chars().count() > max || t.chars().any(char::is_control) {
        return Err(DomainError::invalid(
            field,
            format!("1-{max} characters, no control characters"),
        ));
    }
    Ok(t.to_owned())
}

fn currency(raw: &str) -> Result<String, DomainError> {
    if raw.len() == 3 && raw.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(raw.to_owned())
    } else {
        Err(DomainError::invalid(
            "currency",
            "an ISO 4217 code such as CNY",
        ))
    }
}

fn default_currency() -> String {
    "CNY".into()
}

/// A catalogue entry as an admin or the ERP feed writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SkuInput {
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 200,
            pattern = r"[^\s]",
            example = "工业润滑油 18L"
        )
    )]
    pub name: String,
    /// The list price, in minor units.
    #[cfg_attr(feature = "openapi", schema(maximum = 100_000_000_000_000_u64))]
    pub unit_price: u64,
    /// The lowest price a line may carry without a manager's approval, in minor units; at
    /// most the list price.
    #[cfg_attr(feature = "openapi", schema(maximum = 100_000_000_000_000_u64))]
    pub floor_price: u64,
    #[serde(default = "default_currency")]
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[A-Z]{3}$", example = "CNY"))]
    pub currency: String,
    /// Available units below which a location needs replenishing.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(maximum = 1_000_000_000_u64))]
    pub safety_stock: u64,
}

/// A SKU in the tenant's catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Sku {
    pub tenant: TenantId,
    pub code: Code,
    pub name: String,
    pub unit_price: u64,
    pub floor_price: u64,
    pub currency: String,
    pub safety_stock: u64,
    pub updated_at: DateTime<Utc>,
}

impl Sku {
    pub fn new(
        tenant: &TenantId,
        code: Code,
        input: &SkuInput,
        now: Timestamp,
    ) -> Result<Sku, DomainError> {
        let unit_price = money("unit_price", input.unit_price)?;
        let floor_price = money("floor_price", input.floor_price)?;
        if floor_price > unit_price {
            return Err(DomainError::invalid(
                "floor_price",
                "at most the unit price",
            ));
        }
        if input.safety_stock > 1_000_000_000 {
            return Err(DomainError::invalid("safety_stock", "at most 10^9"));
        }
        Ok(Sku {
            tenant: tenant.clone(),
            code,
            name: text("name", &input.name, 200)?,
            unit_price,
            floor_price,
            currency: currency(&input.currency)?,
            safety_stock: input.safety_stock,
            updated_at: now,
        })
    }
}

/// One row of an inventory feed: the units physically at a location (the ERP's count).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StockCount {
    pub sku: Code,
    pub location: Code,
    #[cfg_attr(feature = "openapi", schema(maximum = 1_000_000_000_000_u64))]
    pub on_hand: u64,
}

/// A batch of counts (`PUT /v1/inventory`); each row replaces the location's on-hand count
/// and leaves its reservations alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InventoryBatch {
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 1000))]
    pub items: Vec<StockCount>,
}

impl InventoryBatch {
    /// Checked: 1-1000 rows, each (SKU, location) once, counts within bounds.
    pub fn validate(&self) -> Result<(), DomainError> {
        if self.items.is_empty() || self.items.len() > MAX_INVENTORY_BATCH {
            return Err(DomainError::invalid("items", "1 to 1000 rows"));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, row) in self.items.iter().enumerate() {
            if row.on_hand > 1_000_000_000_000 {
                return Err(DomainError::invalid(
                    format!("items[{i}].on_hand"),
                    "at most 10^12",
                ));
            }
            if !seen.insert((&row.sku, &row.location)) {
                return Err(DomainError::invalid(
                    format!("items[{i}]"),
                    format!("{} at {} is in the batch twice", row.sku, row.location),
                ));
            }
        }
        Ok(())
    }
}

/// A SKU's stock at one location: what is there, and how much of it submitted orders hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StockLevel {
    pub sku: Code,
    pub location: Code,
    pub on_hand: i64,
    pub reserved: i64,
    /// `on_hand - reserved`: what a new order can still take. Negative when a count came in
    /// below what orders already hold.
    pub available: i64,
}

/// What an order does to one stock row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StockEffect {
    /// Hold units for the order; refused unless that many are available.
    Reserve,
    /// Give held units back (a cancelled order).
    Release,
    /// The held units leave the building (shipment): on hand and reserved both fall.
    Consume,
}

/// One stock change an order write carries, applied in the same transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockMove {
    pub sku: Code,
    pub location: Code,
    pub quantity: u64,
    pub effect: StockEffect,
    /// For a reservation: the units that must be available before it takes any (the
    /// breaker's safety stock, `stock::reserve_floor`); the quantity itself when larger.
    pub min_available: i64,
}

impl StockMove {
    /// The units a reservation needs available: its quantity, or the floor when higher.
    pub fn needed(&self) -> i64 {
        (self.quantity as i64).max(self.min_available)
    }
}

/// Payment terms: 款到发货 (paid before shipping) or 账期 (net days after shipment).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum PaymentTerms {
    /// The whole order is paid before the warehouse ships it.
    Prepaid,
    /// Due `days` after shipment.
    Net {
        #[cfg_attr(feature = "openapi", schema(maximum = 365))]
        days: u32,
    },
}

order_enum!(
    /// Where an order is. `submitted` waits for a manager (see `holds`); `to_ship` is the
    /// warehouse's queue (待发货).
    OrderStatus {
        Draft => "draft",
        Submitted => "submitted",
        Approved => "approved",
        ToShip => "to_ship",
        Shipped => "shipped",
        Delivered => "delivered",
        Cancelled => "cancelled",
    }
);

order_enum!(
    /// 发票: `invoiceable` (可开票) once a prepaid order is paid, or a net-terms order shipped.
    InvoiceState {
        NotYet => "not_yet",
        Invoiceable => "invoiceable",
    }
);

/// Why a submitted order waits for a manager.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Hold {
    /// The customer has a payment overdue by more than the tenant allows: credit is frozen.
    CreditFrozen {
        /// The oldest overdue order and by how many days.
        order: OrderId,
        overdue_days: i64,
    },
    /// A line's discount is above the tenant's limit.
    Discount { sku: Code, discount_percent: u32 },
    /// A line's net price is below the SKU's floor.
    BelowFloor {
        sku: Code,
        net_price: u64,
        floor_price: u64,
    },
}

impl Hold {
    pub fn as_str(&self) -> &'static str {
        match self {
            Hold::CreditFrozen { .. } => "credit_frozen",
            Hold::Discount { .. } => "discount",
            Hold::BelowFloor { .. } => "below_floor",
        }
    }
}

/// The tenant's order rules: when credit freezes and which discounts need a manager.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderPolicy {
    /// A customer with a payment overdue by more than this many days is frozen (seed 002: 45).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 365))]
    pub freeze_after_overdue_days: u32,
    /// A line discount above this percentage waits for a manager.
    #[cfg_attr(feature = "openapi", schema(maximum = 100))]
    pub max_discount_percent: u32,
    /// Weeks from ordering stock to having it: the reorder point is the safety stock plus
    /// the forecast demand over this many weeks.
    #[serde(default = "default_lead_weeks")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 26))]
    pub replenish_lead_weeks: u32,
    /// People on warehouse duty beside the warehouse role (in a small team the clerk's
    /// account is often a rep's): told when an order is ready to ship (待发货), with its
    /// delivery address, and allowed to ship and deliver.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 50))]
    pub warehouse: Vec<crate::UserId>,
}

fn default_lead_weeks() -> u32 {
    2
}

impl Default for OrderPolicy {
    fn default() -> Self {
        OrderPolicy {
            freeze_after_overdue_days: 45,
            max_discount_percent: 10,
            replenish_lead_weeks: default_lead_weeks(),
            warehouse: Vec::new(),
        }
    }
}

impl OrderPolicy {
    /// Whether `user` (in `role`) works the warehouse's queue: the warehouse role, or one of
    /// the staff this policy names.
    pub fn on_warehouse_duty(&self, user: crate::UserId, role: crate::Role) -> bool {
        role == crate::Role::Warehouse || self.warehouse.contains(&user)
    }

    pub fn validate(&self) -> Result<(), DomainError> {
        if !(1..=365).contains(&self.freeze_after_overdue_days) {
            return Err(DomainError::invalid(
                "freeze_after_overdue_days",
                "1 to 365",
            ));
        }
        if self.max_discount_percent > 100 {
            return Err(DomainError::invalid("max_discount_percent", "0 to 100"));
        }
        if !(1..=26).contains(&self.replenish_lead_weeks) {
            return Err(DomainError::invalid("replenish_lead_weeks", "1 to 26"));
        }
        if self.warehouse.len() > 50 {
            return Err(DomainError::invalid("warehouse", "at most 50 people"));
        }
        Ok(())
    }
}

/// A line as the rep enters it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LineInput {
    pub sku: Code,
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1_000_000))]
    pub quantity: u64,
    /// The unit price before discount, in minor units; the SKU's list price when absent.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(maximum = 100_000_000_000_000_u64))]
    pub unit_price: Option<u64>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(maximum = 100))]
    pub discount_percent: u32,
}

/// An order as a rep starts it (a draft).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewOrder {
    pub customer: CustomerId,
    /// The sales channel (`direct`, `distributor`, `tmall`, ...).
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = r"^[a-z0-9_-]{1,32}$", example = "direct")
    )]
    pub channel: String,
    /// The location it ships from; its lines are reserved there.
    pub location: Code,
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 48))]
    pub lines: Vec<LineInput>,
    pub payment_terms: PaymentTerms,
    /// Where the warehouse delivers to.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 300, pattern = r"[^\s]")
    )]
    pub delivery_address: String,
}

/// One line of an order, priced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderLine {
    pub sku: Code,
    pub name: String,
    pub quantity: u64,
    pub unit_price: u64,
    pub discount_percent: u32,
    /// The unit price after discount, rounded half up to a minor unit.
    pub net_price: u64,
    pub amount: u64,
}

/// One entry of an order's audit trail: who moved it, when and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderStep {
    pub at: DateTime<Utc>,
    pub by: Option<UserId>,
    pub status: OrderStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// An order as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Order {
    pub id: OrderId,
    pub tenant: TenantId,
    pub customer: CustomerId,
    pub owner: UserId,
    pub team: Option<TeamId>,
    pub channel: String,
    pub location: Code,
    pub lines: Vec<OrderLine>,
    pub currency: String,
    pub total: u64,
    pub payment_terms: PaymentTerms,
    pub delivery_address: String,
    pub status: OrderStatus,
    /// Why it waits for a manager (empty unless `submitted`).
    pub holds: Vec<Hold>,
    /// Paid so far, in minor units.
    pub paid: u64,
    pub invoice: InvoiceState,
    /// When it becomes (or became) invoiceable, where known.
    pub expected_invoice_at: Option<DateTime<Utc>>,
    /// When payment is due (net terms, from shipment).
    pub due_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Every status change, oldest first: the audit trail.
    pub history: Vec<OrderStep>,
    pub version: u64,
}

/// The order's fields a rule may test (`order.status`, `order.total`, ...), checked
/// against a serialised order by a test.
pub(crate) const RULE_FIELDS: &[&str] = &[
    "id",
    "tenant",
    "customer",
    "owner",
    "team",
    "channel",
    "location",
    "lines",
    "currency",
    "total",
    "payment_terms.kind",
    "payment_terms.days",
    "delivery_address",
    "status",
    "holds",
    "paid",
    "invoice",
    "expected_invoice_at",
    "due_at",
    "created_at",
    "updated_at",
    "history",
    "version",
];

/// What the credit check found for a customer when an order was submitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overdue {
    pub order: OrderId,
    pub days: i64,
}

/// The customer's most overdue unpaid order, if any is overdue by more than the policy
/// allows (the credit freeze of seed 002).
pub fn credit_freeze<'a>(
    orders: impl IntoIterator<Item = &'a Order>,
    policy: &OrderPolicy,
    now: Timestamp,
) -> Option<Overdue> {
    orders
        .into_iter()
        .filter(|o| o.balance() > 0)
        .filter_map(|o| {
            let due = o.due_at?;
            let days = (now - due).num_days();
            (days > i64::from(policy.freeze_after_overdue_days))
                .then_some(Overdue { order: o.id, days })
        })
        .max_by_key(|o| o.days)
}

fn round_div(n: u128, d: u128) -> u128 {
    (n + d / 2) / d
}

impl Order {
    /// A draft, priced from the catalogue: `skus` must hold every line's SKU.
    #[allow(clippy::too_many_arguments)]
    pub fn draft(
        input: &NewOrder,
        id: OrderId,
        tenant: &TenantId,
        owner: (UserId, Option<TeamId>),
        skus: &[Sku],
        now: Timestamp,
    ) -> Result<Order, DomainError> {
        let channel = input.channel.trim();
        if channel.is_empty()
            || channel.len() > 32
            || !channel
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        {
            return Err(DomainError::invalid(
                "channel",
                "1-32 lowercase letters, digits, _ or -",
            ));
        }
        if input.lines.is_empty() || input.lines.len() > MAX_ORDER_LINES {
            return Err(DomainError::invalid(
                "lines",
                format!("1 to {MAX_ORDER_LINES} lines"),
            ));
        }
        if let PaymentTerms::Net { days } = input.payment_terms
            && days > 365
        {
            return Err(DomainError::invalid("payment_terms.days", "at most 365"));
        }
        let mut lines = Vec::with_capacity(input.lines.len());
        let mut currency: Option<&str> = None;
        let mut total: u128 = 0;
        for (i, l) in input.lines.iter().enumerate() {
            let field = |f: &str| format!("lines[{i}].{f}");
            if input.lines[..i].iter().any(|o| o.sku == l.sku) {
                return Err(DomainError::invalid(
                    field("sku"),
                    format!("{} is on the order twice: add the quantities", l.sku),
                ));
            }
            let sku = skus.iter().find(|s| s.code == l.sku).ok_or_else(|| {
                DomainError::invalid(field("sku"), format!("{} is not in the catalogue", l.sku))
            })?;
            if !(1..=MAX_LINE_QUANTITY).contains(&l.quantity) {
                return Err(DomainError::invalid(field("quantity"), "1 to 1000000"));
            }
            if l.discount_percent > 100 {
                return Err(DomainError::invalid(field("discount_percent"), "0 to 100"));
            }
            match currency {
                None => currency = Some(&sku.currency),
                Some(c) if c != sku.currency => {
                    return Err(DomainError::invalid(
                        field("sku"),
                        format!("priced in {}, the order in {c}", sku.currency),
                    ));
                }
                Some(_) => {}
            }
            let unit_price = money(&field("unit_price"), l.unit_price.unwrap_or(sku.unit_price))?;
            let net_price = round_div(
                u128::from(unit_price) * u128::from(100 - l.discount_percent),
                100,
            ) as u64;
            let amount = u128::from(net_price) * u128::from(l.quantity);
            total += amount;
            if total > u128::from(MAX_MONEY) {
                return Err(DomainError::invalid("lines", "the total is beyond 10^14"));
            }
            lines.push(OrderLine {
                sku: sku.code.clone(),
                name: sku.name.clone(),
                quantity: l.quantity,
                unit_price,
                discount_percent: l.discount_percent,
                net_price,
                amount: amount as u64,
            });
        }
        Ok(Order {
            id,
            tenant: tenant.clone(),
            customer: input.customer,
            owner: owner.0,
            team: owner.1,
            channel: channel.to_owned(),
            location: input.location.clone(),
            lines,
            currency: currency.unwrap_or("CNY").to_owned(),
            total: total as u64,
            payment_terms: input.payment_terms,
            delivery_address: text("delivery_address", &input.delivery_address, 300)?,
            status: OrderStatus::Draft,
            holds: vec![],
            paid: 0,
            invoice: InvoiceState::NotYet,
            expected_invoice_at: None,
            due_at: None,
            created_at: now,
            updated_at: now,
            history: vec![OrderStep {
                at: now,
                by: Some(owner.0),
                status: OrderStatus::Draft,
                note: None,
            }],
            version: 1,
        })
    }

    /// The delivered order as the customer's purchase (its value counts in the grade): whole
    /// units of the currency, bought `at`, referenced by the order so it is counted once.
    pub fn purchase(
        &self,
        at: Timestamp,
        recorded_by: UserId,
        recorded_at: Timestamp,
    ) -> crate::grading::Purchase {
        crate::grading::Purchase {
            tenant: self.tenant.clone(),
            customer: self.customer,
            reference: format!("order:{}", self.id),
            amount: (self.total + 50) / 100,
            currency: self.currency.clone(),
            at,
            recorded_by,
            recorded_at,
        }
    }

    /// What is still owed, in minor units.
    pub fn balance(&self) -> u64 {
        self.total.saturating_sub(self.paid)
    }

    /// Whether its lines hold stock now (submitted and not yet shipped or cancelled).
    pub fn holds_stock(&self) -> bool {
        matches!(
            self.status,
            OrderStatus::Submitted | OrderStatus::Approved | OrderStatus::ToShip
        )
    }

    /// The stock changes `effect` means for every line.
    pub fn stock_moves(&self, effect: StockEffect) -> Vec<StockMove> {
        self.lines
            .iter()
            .map(|l| StockMove {
                sku: l.sku.clone(),
                location: self.location.clone(),
                quantity: l.quantity,
                effect,
                min_available: 0,
            })
            .collect()
    }

    fn step(&mut self, to: OrderStatus, by: Option<UserId>, note: Option<String>, now: Timestamp) {
        self.status = to;
        self.updated_at = now;
        self.history.push(OrderStep {
            at: now,
            by,
            status: to,
            note,
        });
    }

    fn refuse(&self, to: OrderStatus) -> DomainError {
        DomainError::InvalidTransition {
            from: self.status.to_string(),
            to: to.to_string(),
        }
    }

    /// Whether the warehouse may ship it: paid first on prepaid terms.
    fn payment_allows_shipping(&self) -> bool {
        match self.payment_terms {
            PaymentTerms::Prepaid => self.paid >= self.total,
            PaymentTerms::Net { .. } => true,
        }
    }

    /// An approved order whose payment allows it moves on to the warehouse (待发货).
    fn release(&mut self, by: Option<UserId>, now: Timestamp) {
        if self.status == OrderStatus::Approved && self.payment_allows_shipping() {
            self.step(OrderStatus::ToShip, by, None, now);
        }
    }

    /// Submits a draft: the holds the credit check and the lines find make it wait for a
    /// manager; without any it is approved at once (and released when payment allows).
    /// The caller reserves the stock in the same write (`stock_moves(Reserve)`).
    pub fn submit(
        &mut self,
        by: UserId,
        overdue: Option<Overdue>,
        skus: &[Sku],
        policy: &OrderPolicy,
        now: Timestamp,
    ) -> Result<(), DomainError> {
        if self.status != OrderStatus::Draft {
            return Err(self.refuse(OrderStatus::Submitted));
        }
        let mut holds = Vec::new();
        if let Some(o) = overdue {
            holds.push(Hold::CreditFrozen {
                order: o.order,
                overdue_days: o.days,
            });
        }
        for l in &self.lines {
            if l.discount_percent > policy.max_discount_percent {
                holds.push(Hold::Discount {
                    sku: l.sku.clone(),
                    discount_percent: l.discount_percent,
                });
            }
            if let Some(sku) = skus.iter().find(|s| s.code == l.sku)
                && l.net_price < sku.floor_price
            {
                holds.push(Hold::BelowFloor {
                    sku: l.sku.clone(),
                    net_price: l.net_price,
                    floor_price: sku.floor_price,
                });
            }
        }
        let held = !holds.is_empty();
        self.holds = holds;
        self.step(OrderStatus::Submitted, Some(by), None, now);
        if !held {
            self.step(
                OrderStatus::Approved,
                None,
                Some("no hold: approved on submission".into()),
                now,
            );
            self.release(None, now);
        }
        self.version += 1;
        Ok(())
    }

    /// A manager lets a held order through; `note` is kept in the audit trail.
    pub fn approve(&mut self, by: UserId, note: String, now: Timestamp) -> Result<(), DomainError> {
        if self.status != OrderStatus::Submitted {
            return Err(self.refuse(OrderStatus::Approved));
        }
        let held: Vec<&str> = self.holds.iter().map(Hold::as_str).collect();
        let note = text("note", &note, 500)?;
        self.step(
            OrderStatus::Approved,
            Some(by),
            Some(format!("{note} (holds: {})", held.join(", "))),
            now,
        );
        self.release(Some(by), now);
        self.version += 1;
        Ok(())
    }

    /// Records money received. On prepaid terms, paying in full makes the order invoiceable
    /// (可开票) and releases an approved order to the warehouse.
    pub fn record_payment(
        &mut self,
        amount: u64,
        by: UserId,
        now: Timestamp,
    ) -> Result<(), DomainError> {
        if amount == 0 || amount > self.balance() {
            return Err(DomainError::invalid(
                "amount",
                format!("1 to the balance, {}", self.balance()),
            ));
        }
        if matches!(self.status, OrderStatus::Draft | OrderStatus::Cancelled) {
            return Err(DomainError::Conflict(format!(
                "a {} order takes no payment",
                self.status
            )));
        }
        self.paid += amount;
        self.updated_at = now;
        if self.payment_terms == PaymentTerms::Prepaid && self.paid >= self.total {
            self.invoice = InvoiceState::Invoiceable;
            self.expected_invoice_at = Some(now);
        }
        self.release(Some(by), now);
        self.version += 1;
        Ok(())
    }

    /// Moves an order that holds stock to another location (a tripped breaker's
    /// reallocation, seed 004): the caller releases its lines at the old location and
    /// reserves them at the new one in the same write. Kept in the history with the reason.
    pub fn relocate(
        &mut self,
        to: Code,
        by: UserId,
        reason: String,
        now: Timestamp,
    ) -> Result<(), DomainError> {
        if !self.holds_stock() {
            return Err(DomainError::Conflict(format!(
                "a {} order holds no stock to move",
                self.status
            )));
        }
        if to == self.location {
            return Err(DomainError::invalid(
                "location",
                format!("the order already ships from {to}"),
            ));
        }
        // Orders stored while the limit was 50 lines: a move releases and reserves every line
        // in one write, which holds 48 on every backend (DynamoDB's 100-item transactions).
        if self.lines.len() > MAX_ORDER_LINES {
            return Err(DomainError::Conflict(format!(
                "an order of {} lines cannot move in one step (at most {MAX_ORDER_LINES}): \
                 cancel it and enter it again as two orders",
                self.lines.len()
            )));
        }
        let from = std::mem::replace(&mut self.location, to);
        let note = format!("{from} → {}: {reason}", self.location);
        self.step(self.status, Some(by), Some(note), now);
        self.version += 1;
        Ok(())
    }

    /// The warehouse confirms the shipment; the caller consumes the reserved stock in the
    /// same write. Net terms start their clock here.
    pub fn ship(&mut self, by: UserId, now: Timestamp) -> Result<(), DomainError> {
        if self.status != OrderStatus::ToShip {
            return Err(self.refuse(OrderStatus::Shipped));
        }
        if let PaymentTerms::Net { days } = self.payment_terms {
            self.due_at = Some(now + chrono::Duration::days(i64::from(days)));
            self.invoice = InvoiceState::Invoiceable;
            self.expected_invoice_at = Some(now);
        }
        self.step(OrderStatus::Shipped, Some(by), None, now);
        self.version += 1;
        Ok(())
    }

    /// The customer received it: the loop is closed, and the order counts as a purchase.
    pub fn deliver(&mut self, by: UserId, now: Timestamp) -> Result<(), DomainError> {
        if self.status != OrderStatus::Shipped {
            return Err(self.refuse(OrderStatus::Delivered));
        }
        self.step(OrderStatus::Delivered, Some(by), None, now);
        self.version += 1;
        Ok(())
    }

    /// Cancels an order that has not shipped; the caller releases its stock when it held
    /// any (`holds_stock` before the call).
    pub fn cancel(
        &mut self,
        by: UserId,
        reason: String,
        now: Timestamp,
    ) -> Result<(), DomainError> {
        if matches!(
            self.status,
            OrderStatus::Shipped | OrderStatus::Delivered | OrderStatus::Cancelled
        ) {
            return Err(self.refuse(OrderStatus::Cancelled));
        }
        let reason = text("reason", &reason, 500)?;
        self.holds.clear();
        self.step(OrderStatus::Cancelled, Some(by), Some(reason), now);
        self.version += 1;
        Ok(())
    }

    /// An event about this order at its current version.
    pub fn event(
        &self,
        actor: Option<UserId>,
        now: Timestamp,
        payload: EventPayload,
    ) -> DomainEvent {
        DomainEvent::new(
            self.tenant.clone(),
            Subject::Order(self.id),
            self.version,
            actor,
            None,
            now,
            payload,
        )
    }

    /// `order_status_changed` for the move from `from` to where it is now.
    pub fn status_event(
        &self,
        from: OrderStatus,
        actor: Option<UserId>,
        now: Timestamp,
    ) -> DomainEvent {
        self.event(
            actor,
            now,
            EventPayload::OrderStatusChanged {
                customer: self.customer,
                from: from.to_string(),
                to: self.status.to_string(),
                holds: self.holds.iter().map(|h| h.as_str().to_owned()).collect(),
                total: self.total,
                currency: self.currency.clone(),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(day: u32) -> Timestamp {
        chrono::Utc.with_ymd_and_hms(2026, 3, day, 9, 0, 0).unwrap()
    }

    fn tenant() -> TenantId {
        TenantId::parse("acme").unwrap()
    }

    fn sku(code: &str, price: u64, floor: u64) -> Sku {
        Sku::new(
            &tenant(),
            Code::parse(code, "code").unwrap(),
            &SkuInput {
                name: format!("{code} name"),
                unit_price: price,
                floor_price: floor,
                currency: "CNY".into(),
                safety_stock: 10,
            },
            at(1),
        )
        .unwrap()
    }

    fn input(lines: Vec<(&str, u64, u32)>, terms: PaymentTerms) -> NewOrder {
        NewOrder {
            customer: CustomerId::new(),
            channel: "direct".into(),
            location: Code::parse("WH-1", "location").unwrap(),
            lines: lines
                .into_iter()
                .map(|(s, q, d)| LineInput {
                    sku: Code::parse(s, "sku").unwrap(),
                    quantity: q,
                    unit_price: None,
                    discount_percent: d,
                })
                .collect(),
            payment_terms: terms,
            delivery_address: "上海市浦东新区张江路 1 号".into(),
        }
    }

    fn draft(lines: Vec<(&str, u64, u32)>, terms: PaymentTerms, skus: &[Sku]) -> Order {
        Order::draft(
            &input(lines, terms),
            OrderId::new(),
            &tenant(),
            (UserId::new(), None),
            skus,
            at(2),
        )
        .unwrap()
    }

    #[test]
    fn lines_are_priced_exactly_and_checked() {
        let skus = [sku("A", 1999, 1500), sku("B", 333, 0)];
        let o = draft(vec![("A", 3, 5), ("B", 7, 0)], PaymentTerms::Prepaid, &skus);
        // 1999 × 0.95 = 1899.05 → 1899; × 3 = 5697; 333 × 7 = 2331.
        assert_eq!(o.lines[0].net_price, 1899);
        assert_eq!(o.total, 5697 + 2331);
        assert_eq!(o.status, OrderStatus::Draft);

        let twice = Order::draft(
            &input(vec![("A", 1, 0), ("A", 2, 0)], PaymentTerms::Prepaid),
            OrderId::new(),
            &tenant(),
            (UserId::new(), None),
            &skus,
            at(2),
        );
        assert!(
            matches!(twice, Err(DomainError::InvalidField { field, .. }) if field == "lines[1].sku")
        );
        let unknown = Order::draft(
            &input(vec![("Z", 1, 0)], PaymentTerms::Prepaid),
            OrderId::new(),
            &tenant(),
            (UserId::new(), None),
            &skus,
            at(2),
        );
        assert!(
            matches!(unknown, Err(DomainError::InvalidField { field, .. }) if field == "lines[0].sku")
        );
        assert!(Code::parse("bad code", "sku").is_err());
        assert!(Code::parse("", "sku").is_err());
    }

    #[test]
    fn a_clean_net_terms_order_goes_straight_to_the_warehouse() {
        let skus = [sku("A", 1000, 800)];
        let mut o = draft(vec![("A", 2, 0)], PaymentTerms::Net { days: 30 }, &skus);
        o.submit(o.owner, None, &skus, &OrderPolicy::default(), at(3))
            .unwrap();
        assert_eq!(o.status, OrderStatus::ToShip);
        assert!(o.holds.is_empty());
        let states: Vec<_> = o.history.iter().map(|s| s.status).collect();
        assert_eq!(
            states,
            [
                OrderStatus::Draft,
                OrderStatus::Submitted,
                OrderStatus::Approved,
                OrderStatus::ToShip
            ]
        );
        o.ship(o.owner, at(4)).unwrap();
        assert_eq!(o.due_at, Some(at(4) + chrono::Duration::days(30)));
        assert_eq!(o.invoice, InvoiceState::Invoiceable);
        assert!(o.ship(o.owner, at(4)).is_err(), "shipped once");
    }

    #[test]
    fn prepaid_orders_wait_for_the_money_and_then_become_invoiceable() {
        let skus = [sku("A", 1000, 800)];
        let mut o = draft(vec![("A", 2, 0)], PaymentTerms::Prepaid, &skus);
        o.submit(o.owner, None, &skus, &OrderPolicy::default(), at(3))
            .unwrap();
        assert_eq!(o.status, OrderStatus::Approved);
        assert_eq!(o.invoice, InvoiceState::NotYet);
        o.record_payment(500, o.owner, at(3)).unwrap();
        assert_eq!(o.status, OrderStatus::Approved, "half paid");
        assert!(
            o.record_payment(1501, o.owner, at(3)).is_err(),
            "more than owed"
        );
        o.record_payment(1500, o.owner, at(5)).unwrap();
        assert_eq!(o.status, OrderStatus::ToShip);
        assert_eq!(o.invoice, InvoiceState::Invoiceable);
        assert_eq!(o.expected_invoice_at, Some(at(5)));
    }

    #[test]
    fn holds_wait_for_a_manager_who_is_audited() {
        let skus = [sku("A", 1000, 850)];
        let policy = OrderPolicy::default();
        let mut o = draft(vec![("A", 1, 20)], PaymentTerms::Net { days: 30 }, &skus);
        let overdue = Overdue {
            order: OrderId::new(),
            days: 50,
        };
        o.submit(o.owner, Some(overdue), &skus, &policy, at(3))
            .unwrap();
        assert_eq!(o.status, OrderStatus::Submitted);
        let kinds: Vec<_> = o.holds.iter().map(Hold::as_str).collect();
        assert_eq!(kinds, ["credit_frozen", "discount", "below_floor"]);
        let manager = UserId::new();
        o.approve(manager, "客户已承诺本周回款".into(), at(4))
            .unwrap();
        assert_eq!(o.status, OrderStatus::ToShip);
        let approval = &o.history[2];
        assert_eq!(approval.by, Some(manager));
        assert_eq!(approval.status, OrderStatus::Approved);
        assert!(approval.note.as_deref().unwrap().contains("credit_frozen"));
    }

    #[test]
    fn credit_freezes_only_past_the_tenants_days() {
        let skus = [sku("A", 1000, 0)];
        let policy = OrderPolicy::default();
        let mut shipped = draft(vec![("A", 1, 0)], PaymentTerms::Net { days: 30 }, &skus);
        shipped
            .submit(shipped.owner, None, &skus, &policy, at(1))
            .unwrap();
        shipped.ship(shipped.owner, at(1)).unwrap();
        let due = shipped.due_at.unwrap();
        let orders = [shipped.clone()];
        assert_eq!(
            credit_freeze(&orders, &policy, due + chrono::Duration::days(45)),
            None
        );
        let frozen = credit_freeze(&orders, &policy, due + chrono::Duration::days(46)).unwrap();
        assert_eq!(frozen.days, 46);
        shipped.record_payment(1000, shipped.owner, at(2)).unwrap();
        assert_eq!(
            credit_freeze([&shipped], &policy, due + chrono::Duration::days(90)),
            None,
            "paid orders never freeze"
        );
    }

    #[test]
    fn cancelling_is_refused_after_shipment() {
        let skus = [sku("A", 1000, 0)];
        let mut o = draft(vec![("A", 1, 0)], PaymentTerms::Net { days: 0 }, &skus);
        o.submit(o.owner, None, &skus, &OrderPolicy::default(), at(1))
            .unwrap();
        assert!(o.holds_stock());
        o.ship(o.owner, at(2)).unwrap();
        assert!(matches!(
            o.cancel(o.owner, "客户取消".into(), at(3)),
            Err(DomainError::InvalidTransition { .. })
        ));
    }

    #[test]
    fn only_an_order_holding_stock_moves_and_the_move_is_kept() {
        let skus = [sku("A", 1000, 0)];
        let mut o = draft(vec![("A", 1, 0)], PaymentTerms::Net { days: 0 }, &skus);
        let to = Code::parse("WH-SZ", "location").unwrap();
        assert!(matches!(
            o.relocate(to.clone(), o.owner, "x".into(), at(1)),
            Err(DomainError::Conflict(_))
        ));
        o.submit(o.owner, None, &skus, &OrderPolicy::default(), at(1))
            .unwrap();
        let (from, version, status) = (o.location.clone(), o.version, o.status);
        assert!(
            o.relocate(from.clone(), o.owner, "x".into(), at(2))
                .is_err()
        );
        o.relocate(to.clone(), o.owner, "告急".into(), at(2))
            .unwrap();
        assert_eq!((o.location.clone(), o.status), (to.clone(), status));
        assert_eq!(o.version, version + 1);
        let last = o.history.last().unwrap();
        assert_eq!(
            last.note.as_deref(),
            Some(format!("{from} → {to}: 告急").as_str())
        );
        // An order stored under the earlier 50-line limit is refused whole, not half moved.
        let mut big = o.clone();
        let line = big.lines[0].clone();
        big.lines.resize(MAX_ORDER_LINES + 1, line);
        let version = big.version;
        assert!(matches!(
            big.relocate(from.clone(), big.owner, "x".into(), at(3)),
            Err(DomainError::Conflict(m)) if m.contains("cannot move in one step")
        ));
        assert_eq!((big.location.clone(), big.version), (to.clone(), version));
    }

    #[test]
    fn the_rule_schema_matches_the_serialised_order() {
        let skus = [sku("A", 1000, 0)];
        let o = draft(vec![("A", 1, 0)], PaymentTerms::Net { days: 30 }, &skus);
        let paths = crate::subject::leaf_paths(&serde_json::to_value(&o).unwrap());
        let schema: std::collections::BTreeSet<String> =
            RULE_FIELDS.iter().map(|s| s.to_string()).collect();
        assert_eq!(paths, schema);
    }

    #[test]
    fn demand_counts_from_submission_in_the_tenants_week_and_warehouse() {
        use crate::demand::order_demand;
        let skus = [sku("A", 1000, 0), sku("B", 500, 0)];
        let mut o = draft(
            vec![("A", 3, 0), ("B", 2, 0)],
            PaymentTerms::Net { days: 30 },
            &skus,
        );
        // Sunday 20:00 UTC is already Monday morning in Shanghai.
        o.created_at = chrono::Utc.with_ymd_and_hms(2026, 3, 8, 20, 0, 0).unwrap();
        let zone = chrono_tz::Asia::Shanghai;
        assert!(order_demand(&o, zone).is_empty(), "a draft is not demand");
        let mut cancelled_draft = o.clone();
        cancelled_draft
            .cancel(o.owner, "typo".into(), at(3))
            .unwrap();
        assert!(order_demand(&cancelled_draft, zone).is_empty());

        o.submit(o.owner, None, &skus, &OrderPolicy::default(), at(9))
            .unwrap();
        let counted = order_demand(&o, zone);
        let monday = chrono::NaiveDate::from_ymd_opt(2026, 3, 9).unwrap();
        let got: Vec<_> = counted
            .iter()
            .map(|p| (p.day, p.sku.as_str(), p.region.as_str(), p.quantity))
            .collect();
        assert_eq!(got, [(monday, "A", "WH-1", 3), (monday, "B", "WH-1", 2)]);
        // In UTC the same order falls in the week before.
        assert_eq!(
            order_demand(&o, chrono_tz::UTC)[0].day,
            chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap()
        );
        // Cancelled after submission, it still counts.
        o.cancel(o.owner, "customer withdrew".into(), at(10))
            .unwrap();
        assert_eq!(order_demand(&o, zone), counted);
    }

    #[test]
    fn inventory_batches_refuse_repeats() {
        let row = StockCount {
            sku: Code::parse("A", "sku").unwrap(),
            location: Code::parse("WH", "location").unwrap(),
            on_hand: 3,
        };
        let batch = InventoryBatch {
            items: vec![row.clone(), row],
        };
        assert!(batch.validate().is_err());
    }
}
