use crate::customer::load_live_customer;
use crate::error::{AppError, Shortfall};
use crate::lead::load_tenant;
use crate::state::AppState;
use fieldline_domain::demand::order_demand;
use fieldline_domain::id::derived_uuid;
use fieldline_domain::order::{
    Code, InventoryBatch, NewOrder, Order, OrderPolicy, OrderStatus, Sku, SkuInput, StockEffect,
    StockLevel, StockMove, credit_freeze,
};
use fieldline_domain::stock::{
    Breaker, BreakerAction, BreakerState, HeldLine, Location, LocationInput, PendingReallocation,
    breaker_state, plan_reallocations, reallocations, reserve_floor,
};
use fieldline_domain::{Actor, EventPayload, OrderId, Permission};
use fieldline_store::{Created, Cursor, IdempotencyKey, OrderQuery, Page, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The id an order gets: derived from its `Idempotency-Key` (per tenant and user), so a
/// phone's retry finds the draft it made; random without one.
fn order_id(actor: &Actor, key: Option<&IdempotencyKey>) -> OrderId {
    match key {
        Some(key) => OrderId::from_uuid(derived_uuid(&format!(
            "order|{}|{}|{}",
            actor.tenant,
            actor.user,
            key.as_str()
        ))),
        None => OrderId::new(),
    }
}

/// Creates or replaces a catalogue entry (managers and admins; the ERP feed as an admin).
pub async fn put_sku(
    state: &AppState,
    actor: &Actor,
    code: &str,
    input: SkuInput,
) -> Result<Sku, AppError> {
    actor.check(Permission::ManageStock)?;
    let code = Code::parse(code, "code")?;
    let sku = Sku::new(&actor.tenant, code, &input, state.clock.now())?;
    state.orders.put_sku(&sku).await?;
    Ok(sku)
}

/// The catalogue by code, after `after`; everyone in the tenant may read it.
pub async fn list_skus(
    state: &AppState,
    actor: &Actor,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<Sku>, AppError> {
    let after = after.map(|a| Code::parse(a, "after")).transpose()?;
    Ok(state
        .orders
        .list_skus(&actor.tenant, after.as_ref(), limit)
        .await?)
}

/// What an inventory batch changed, and the rows it left below their SKU's safety stock.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InventoryResult {
    pub updated: usize,
    /// Rows whose available units are now below the SKU's safety stock: to replenish.
    pub below_safety: Vec<StockLevel>,
}

/// Sets on-hand counts from a feed (the warehouse, managers and admins). Every SKU must be in
/// the catalogue; the batch is refused whole otherwise.
pub async fn put_inventory(
    state: &AppState,
    actor: &Actor,
    batch: InventoryBatch,
) -> Result<InventoryResult, AppError> {
    actor.check(Permission::RecordStock)?;
    batch.validate()?;
    let mut codes: Vec<Code> = batch.items.iter().map(|r| r.sku.clone()).collect();
    codes.sort();
    codes.dedup();
    let skus = state.orders.get_skus(&actor.tenant, &codes).await?;
    if let Some((i, row)) = batch
        .items
        .iter()
        .enumerate()
        .find(|(_, r)| !skus.iter().any(|s| s.code == r.sku))
    {
        return Err(AppError::InvalidField {
            field: format!("items[{i}].sku"),
            message: format!("{} is not in the catalogue", row.sku),
        });
    }
    state.orders.set_stock(&actor.tenant, &batch.items).await?;
    let mut below_safety = Vec::new();
    for sku in &skus {
        for level in state.orders.stock_of(&actor.tenant, &sku.code).await? {
            let touched = batch
                .items
                .iter()
                .any(|r| r.sku == level.sku && r.location == level.location);
            if touched && level.available < sku.safety_stock as i64 {
                below_safety.push(level);
            }
        }
    }
    notify_below_safety(state, &actor.tenant, &below_safety).await?;
    Ok(InventoryResult {
        updated: batch.items.len(),
        below_safety,
    })
}

/// The rule name on stock notices.
const BELOW_SAFETY: &str = "stock-below-safety";

/// Tells the tenant's admins (the sales director) that a location fell below its safety
/// stock and hands purchasing the replenishment suggestion, once a day per SKU and location;
/// the replenishment list says what to move or buy.
pub(crate) async fn notify_below_safety(
    state: &AppState,
    tenant: &fieldline_domain::TenantId,
    rows: &[StockLevel],
) -> Result<(), AppError> {
    use fieldline_domain::Role;
    if rows.is_empty() {
        return Ok(());
    }
    let now = state.clock.now();
    let users = state.directory.list_users(tenant).await?;
    for row in rows {
        let (sku, loc, n) = (&row.sku, &row.location, row.available);
        for user in users
            .iter()
            .filter(|u| u.active && matches!(u.role, Role::Admin | Role::Purchasing))
        {
            let message = if user.role == Role::Purchasing {
                format!(
                    "补货建议：{sku} 在 {loc} 低于安全库存（可用 {n}），请按补货清单调拨或采购 / Replenish {sku} at {loc}: below its safety stock ({n} available); the replenishment list says what to move or buy"
                )
            } else {
                format!(
                    "{sku} 在 {loc} 低于安全库存（可用 {n}），请查看补货建议 / {sku} at {loc} is below its safety stock ({n} available): see the replenishment list"
                )
            };
            state
                .inbox
                .add_notification(&fieldline_domain::Notification {
                    id: fieldline_domain::NotificationId::new(),
                    tenant: tenant.clone(),
                    user: user.id,
                    subject: None,
                    kind: "notice".into(),
                    message,
                    rule: Some(BELOW_SAFETY.into()),
                    dedupe_key: format!("{BELOW_SAFETY}:{sku}:{loc}:{}", now.date_naive()),
                    created_at: now,
                })
                .await?;
        }
    }
    Ok(())
}

/// A SKU's stock at every location (everyone in the tenant: reps quote from it).
pub async fn stock_of(
    state: &AppState,
    actor: &Actor,
    code: &str,
) -> Result<Vec<StockLevel>, AppError> {
    let code = Code::parse(code, "code")?;
    Ok(state.orders.stock_of(&actor.tenant, &code).await?)
}

/// Drafts an order for a customer the caller works on; it belongs to the customer's owner.
/// A retry with the same `Idempotency-Key` answers the same draft.
#[tracing::instrument(name = "order.create", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user), err(Display))]
pub async fn create_order(
    state: &AppState,
    actor: &Actor,
    input: NewOrder,
    key: Option<IdempotencyKey>,
) -> Result<Created<Order>, AppError> {
    let customer = load_live_customer(state, actor, input.customer).await?;
    let codes: Vec<Code> = input.lines.iter().map(|l| l.sku.clone()).collect();
    let skus = state.orders.get_skus(&actor.tenant, &codes).await?;
    let now = state.clock.now();
    let order = Order::draft(
        &input,
        order_id(actor, key.as_ref()),
        &actor.tenant,
        (customer.owner, customer.team),
        &skus,
        now,
    )?;
    let created = order.event(
        Some(actor.user),
        now,
        EventPayload::OrderCreated {
            customer: order.customer,
            channel: order.channel.clone(),
            total: order.total,
            currency: order.currency.clone(),
        },
    );
    Ok(state.orders.create_order(&order, &[], &[created]).await?)
}

/// An order the caller may see: their customers' (reps), their team's (managers), all
/// (admins); and, for the warehouse (the role, or staff the order policy names), every order
/// in the warehouse's hands (to ship or shipped).
pub async fn get_order(state: &AppState, actor: &Actor, id: OrderId) -> Result<Order, AppError> {
    let order = state
        .orders
        .get_order(&actor.tenant, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("order {id} not found")))?;
    if let Err(e) = actor.check(Permission::AccessOrder(&order))
        && !(in_warehouse_hands(order.status) && on_warehouse_duty(state, actor).await?)
    {
        return Err(e.into());
    }
    Ok(order)
}

/// Whether the caller works the warehouse's queue: the warehouse role, or staff the order
/// policy names (any role: in a small team the clerk's account is often a rep's). They see
/// the orders waiting to ship or on their way, tenant-wide, and confirm shipment and
/// delivery — nothing else of an order not theirs.
async fn on_warehouse_duty(state: &AppState, actor: &Actor) -> Result<bool, AppError> {
    if actor.role == fieldline_domain::Role::Warehouse {
        return Ok(true); // no need to read the tenant's policy
    }
    Ok(load_tenant(state, &actor.tenant)
        .await?
        .order_policy()
        .on_warehouse_duty(actor.user, actor.role))
}

/// The statuses the warehouse works on: 待发货 and shipped (awaiting delivery).
fn in_warehouse_hands(status: OrderStatus) -> bool {
    matches!(status, OrderStatus::ToShip | OrderStatus::Shipped)
}

/// Shipping and delivery are confirmed by the warehouse, managers and admins, or the staff
/// the order policy names.
async fn check_can_ship(state: &AppState, actor: &Actor) -> Result<(), AppError> {
    match actor.check(Permission::ShipOrders) {
        Err(_) if on_warehouse_duty(state, actor).await? => Ok(()),
        other => Ok(other?),
    }
}

/// Which orders a listing keeps.
#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    pub status: Option<OrderStatus>,
    pub customer: Option<fieldline_domain::CustomerId>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// The orders the caller may see, newest change first.
pub async fn list_orders(
    state: &AppState,
    actor: &Actor,
    filter: OrderFilter,
) -> Result<Page<Order>, AppError> {
    let after = filter
        .cursor
        .as_deref()
        .map(|c| {
            Cursor::decode(c)
                .ok_or_else(|| AppError::rejected("invalid_cursor", "cursor is not one we issued"))
        })
        .transpose()?;
    // The warehouse lists its queue tenant-wide (`status=to_ship|shipped`).
    let scope = match filter.status {
        Some(status)
            if in_warehouse_hands(status)
                && actor.lead_scope() != fieldline_domain::LeadScope::Tenant
                && on_warehouse_duty(state, actor).await? =>
        {
            fieldline_domain::LeadScope::Tenant
        }
        _ => actor.lead_scope(),
    };
    let query = OrderQuery {
        scope,
        status: filter.status,
        customer: filter.customer,
        limit: filter.limit.unwrap_or(50),
        after,
    };
    Ok(state.orders.list_orders(&actor.tenant, &query).await?)
}

/// What to do with an order. Each is applied only if the order is still at
/// `expected_version`, so a phone's retry cannot do it twice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "do", rename_all = "snake_case", deny_unknown_fields)]
pub enum OrderAction {
    /// Check credit and stock, reserve every line; held orders wait for a manager.
    Submit { expected_version: u64 },
    /// A manager lets a held order through; the note is kept in its history.
    Approve {
        expected_version: u64,
        #[schema(min_length = 1, max_length = 500, pattern = r"[^\s]")]
        note: String,
    },
    /// Money received (minor units); a prepaid order paid in full becomes invoiceable and
    /// goes to the warehouse.
    Pay {
        expected_version: u64,
        #[schema(minimum = 1, maximum = 100_000_000_000_000_u64)]
        amount: u64,
    },
    /// The warehouse shipped it (the warehouse role, managers, admins, or the staff the order
    /// policy names).
    Ship { expected_version: u64 },
    /// The customer received it; it counts as the customer's purchase (same people as
    /// `ship`).
    Deliver { expected_version: u64 },
    /// Cancels an order that has not shipped, releasing its stock.
    Cancel {
        expected_version: u64,
        #[schema(min_length = 1, max_length = 500, pattern = r"[^\s]")]
        reason: String,
    },
    /// Serves an order still holding stock from another warehouse (managers and admins; see
    /// `GET /v1/stock/reallocations`): released here and reserved there in one write, or
    /// refused with the shortfall; the move and its reason join the history.
    Relocate {
        expected_version: u64,
        #[schema(value_type = String, pattern = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
        location: Code,
        #[schema(min_length = 1, max_length = 500, pattern = r"[^\s]")]
        reason: String,
    },
}

impl OrderAction {
    fn expected_version(&self) -> u64 {
        match self {
            OrderAction::Submit { expected_version }
            | OrderAction::Approve {
                expected_version, ..
            }
            | OrderAction::Pay {
                expected_version, ..
            }
            | OrderAction::Ship { expected_version }
            | OrderAction::Deliver { expected_version }
            | OrderAction::Cancel {
                expected_version, ..
            }
            | OrderAction::Relocate {
                expected_version, ..
            } => *expected_version,
        }
    }
}

/// Applies `action` to an order the caller may work on, with its stock moves and events in
/// one write.
#[tracing::instrument(name = "order.act", level = "debug", skip_all, fields(tenant = %actor.tenant, user = %actor.user, order = %id), err(Display))]
pub async fn act(
    state: &AppState,
    actor: &Actor,
    id: OrderId,
    action: OrderAction,
) -> Result<Order, AppError> {
    let mut order = get_order(state, actor, id).await?;
    // Warehouse staff reach orders not theirs only to ship and deliver them.
    if !matches!(
        action,
        OrderAction::Ship { .. } | OrderAction::Deliver { .. }
    ) {
        actor.check(Permission::AccessOrder(&order))?;
    }
    let expected = action.expected_version();
    if order.version != expected {
        // A retried delivery whose purchase write failed after the order's heals it here.
        if matches!(action, OrderAction::Deliver { .. }) && order.status == OrderStatus::Delivered {
            check_can_ship(state, actor).await?;
            record_purchase(state, actor, &order).await?;
        }
        return Err(AppError::VersionConflict {
            expected,
            actual: order.version,
        });
    }
    let now = state.clock.now();
    let from = order.status;
    let held_stock = order.holds_stock();
    let mut moves = Vec::new();
    let mut demand = Vec::new();
    let mut events = Vec::new();
    match &action {
        OrderAction::Submit { .. } => {
            let tenant = load_tenant(state, &actor.tenant).await?;
            let policy = tenant.order_policy();
            let history = state
                .orders
                .customer_orders(&actor.tenant, order.customer)
                .await?;
            let overdue = credit_freeze(history.iter().filter(|o| o.id != order.id), &policy, now);
            let codes: Vec<Code> = order.lines.iter().map(|l| l.sku.clone()).collect();
            let skus = state.orders.get_skus(&actor.tenant, &codes).await?;
            order.submit(actor.user, overdue, &skus, &policy, now)?;
            moves = order.stock_moves(StockEffect::Reserve);
            breaker_floors(state, actor, &skus, &mut moves).await?;
            demand = order_demand(&order, tenant.zone());
        }
        OrderAction::Approve { note, .. } => {
            actor.check(Permission::ApproveOrder(&order))?;
            order.approve(actor.user, note.clone(), now)?;
        }
        OrderAction::Pay { amount, .. } => {
            order.record_payment(*amount, actor.user, now)?;
            events.push(order.event(
                Some(actor.user),
                now,
                EventPayload::OrderPaid {
                    customer: order.customer,
                    amount: *amount,
                    paid: order.paid,
                    balance: order.balance(),
                    invoiceable: order.invoice
                        == fieldline_domain::order::InvoiceState::Invoiceable,
                },
            ));
        }
        OrderAction::Ship { .. } => {
            check_can_ship(state, actor).await?;
            order.ship(actor.user, now)?;
            moves = order.stock_moves(StockEffect::Consume);
        }
        OrderAction::Deliver { .. } => {
            check_can_ship(state, actor).await?;
            order.deliver(actor.user, now)?;
        }
        OrderAction::Cancel { reason, .. } => {
            order.cancel(actor.user, reason.clone(), now)?;
            if held_stock {
                moves = order.stock_moves(StockEffect::Release);
            }
        }
        OrderAction::Relocate {
            location, reason, ..
        } => {
            actor.check(Permission::ManageStock)?;
            let known = state.orders.list_locations(&actor.tenant).await?;
            if !known.iter().any(|l| &l.code == location) {
                return Err(AppError::InvalidField {
                    field: "location".into(),
                    message: format!("no warehouse {location}"),
                });
            }
            moves = order.stock_moves(StockEffect::Release);
            order.relocate(location.clone(), actor.user, reason.clone(), now)?;
            // The new warehouse's breaker holds as for a new order.
            let mut reserved = order.stock_moves(StockEffect::Reserve);
            let codes: Vec<Code> = order.lines.iter().map(|l| l.sku.clone()).collect();
            let skus = state.orders.get_skus(&actor.tenant, &codes).await?;
            breaker_floors(state, actor, &skus, &mut reserved).await?;
            moves.extend(reserved);
        }
    }
    if order.status != from {
        events.push(order.status_event(from, Some(actor.user), now));
    }
    match state
        .orders
        .update_order(&order, expected, &moves, &demand, &events)
        .await
    {
        Ok(()) => {}
        Err(StoreError::OutOfStock { .. }) => {
            let shortfall = shortfall(state, actor, &order, &moves).await?;
            if shortfall.is_empty() {
                return Err(AppError::Conflict(
                    "the stock changed while the order was submitted; submit it again".into(),
                ));
            }
            return Err(AppError::OutOfStock { shortfall });
        }
        Err(e) => return Err(e.into()),
    }
    if order.status == OrderStatus::Delivered {
        record_purchase(state, actor, &order).await?;
    }
    Ok(order)
}

/// Puts each reservation's breaker floor in its own condition, so every channel sees the
/// same trip at the same moment.
async fn breaker_floors(
    state: &AppState,
    actor: &Actor,
    skus: &[Sku],
    moves: &mut [StockMove],
) -> Result<(), AppError> {
    for m in moves {
        let threshold = skus
            .iter()
            .find(|s| s.code == m.sku)
            .map_or(0, |s| s.safety_stock);
        let overridden = state
            .orders
            .get_breaker(&actor.tenant, &m.sku, &m.location)
            .await?
            .is_some_and(|b| b.overridden);
        m.min_available = reserve_floor(threshold, overridden);
    }
    Ok(())
}

/// Every line the location cannot cover now (as read right after the refusal), or could
/// only by going under a tripped breaker's floor, with the nearest locations that could.
async fn shortfall(
    state: &AppState,
    actor: &Actor,
    order: &Order,
    moves: &[StockMove],
) -> Result<Vec<Shortfall>, AppError> {
    let locations = state.orders.list_locations(&actor.tenant).await?;
    let codes: Vec<Code> = order.lines.iter().map(|l| l.sku.clone()).collect();
    let skus = state.orders.get_skus(&actor.tenant, &codes).await?;
    let mut out = Vec::new();
    for m in moves {
        let levels = state.orders.stock_of(&actor.tenant, &m.sku).await?;
        let available = levels
            .iter()
            .find(|l| l.location == m.location)
            .map_or(0, |l| l.available);
        if available >= m.needed() {
            continue;
        }
        let safety_stock = skus
            .iter()
            .find(|s| s.code == m.sku)
            .map_or(0, |s| s.safety_stock);
        out.push(Shortfall {
            sku: m.sku.to_string(),
            location: m.location.to_string(),
            requested: m.quantity,
            available,
            safety_stock,
            paused: available >= m.quantity as i64,
            reallocations: reallocations(
                &m.location,
                m.quantity,
                safety_stock,
                &levels,
                &locations,
            ),
        });
    }
    Ok(out)
}

/// A delivered order counts in the customer's transaction value (grading). Written after the
/// order; the purchase's reference is the order, so a retry records it once.
async fn record_purchase(state: &AppState, actor: &Actor, order: &Order) -> Result<(), AppError> {
    // Not the caller's scope: the warehouse delivers orders of customers it does not work on,
    // and the delivery (already authorised) is what records the purchase.
    let customer = state
        .customers
        .get_customer(&actor.tenant, order.customer)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("customer {} not found", order.customer)))?;
    customer.ensure_live()?;
    let now = state.clock.now();
    let purchase = order.purchase(now, actor.user, now);
    let event = customer.event(actor, now, purchase.recorded());
    state.customers.add_purchase(&purchase, &[event]).await?;
    Ok(())
}

/// Calls `each` with every order of the caller's tenant in `scope` (of `status`, when given),
/// newest change first, a page at a time; stops after the page that reaches `max` (exports
/// cap their rows).
pub(crate) async fn for_each_order(
    state: &AppState,
    actor: &Actor,
    scope: fieldline_domain::LeadScope,
    status: Option<OrderStatus>,
    max: usize,
    mut each: impl FnMut(&Order),
) -> Result<(), AppError> {
    let (mut after, mut seen) = (None, 0usize);
    loop {
        let page = state
            .orders
            .list_orders(
                &actor.tenant,
                &OrderQuery {
                    scope: scope.clone(),
                    status,
                    customer: None,
                    limit: fieldline_store::MAX_PAGE,
                    after,
                },
            )
            .await?;
        page.items.iter().for_each(&mut each);
        seen += page.items.len();
        match page.next {
            Some(next) if seen < max => after = Some(next),
            _ => return Ok(()),
        }
    }
}

pub async fn order_policy(state: &AppState, actor: &Actor) -> Result<OrderPolicy, AppError> {
    Ok(load_tenant(state, &actor.tenant).await?.order_policy())
}

/// Replaces the tenant's order policy (admins).
pub async fn set_order_policy(
    state: &AppState,
    actor: &Actor,
    policy: OrderPolicy,
) -> Result<OrderPolicy, AppError> {
    actor.check(Permission::ManageCalendar)?;
    policy.validate()?;
    let users = state.directory.list_users(&actor.tenant).await?;
    if let Some(stranger) = policy
        .warehouse
        .iter()
        .find(|id| !users.iter().any(|u| u.id == **id && u.active))
    {
        return Err(AppError::InvalidField {
            field: "warehouse".into(),
            message: format!("{stranger} is not an active user of this tenant"),
        });
    }
    let mut tenant = load_tenant(state, &actor.tenant).await?;
    tenant.orders = Some(policy.clone());
    state.directory.update_tenant(&tenant).await?;
    Ok(policy)
}

/// Creates or replaces a stock location (managers and admins).
pub async fn put_location(
    state: &AppState,
    actor: &Actor,
    code: &str,
    input: LocationInput,
) -> Result<Location, AppError> {
    actor.check(Permission::ManageStock)?;
    let code = Code::parse(code, "code")?;
    let location = Location::new(&actor.tenant, code, &input, state.clock.now())?;
    state.orders.put_location(&location).await?;
    Ok(location)
}

pub async fn list_locations(state: &AppState, actor: &Actor) -> Result<Vec<Location>, AppError> {
    Ok(state.orders.list_locations(&actor.tenant).await?)
}

/// A manager's change to a breaker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BreakerChange {
    pub location: Code,
    pub action: BreakerAction,
    #[schema(min_length = 1, max_length = 500, pattern = r"[^\s]")]
    pub reason: String,
    /// The breaker's version as read (0 for one never touched), so two managers cannot
    /// undo each other unseen.
    pub expected_version: u64,
}

/// A breaker as the director sees it: the manual state and the stock it guards.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BreakerView {
    pub breaker: Breaker,
    pub state: BreakerState,
    pub available: i64,
    pub safety_stock: u64,
}

/// Overrides a SKU's breaker at a location, or rolls the override back (managers and
/// admins); the change, its reason and the stock at that moment join the breaker's history.
pub async fn change_breaker(
    state: &AppState,
    actor: &Actor,
    sku: &str,
    change: BreakerChange,
) -> Result<BreakerView, AppError> {
    actor.check(Permission::ManageStock)?;
    let code = Code::parse(sku, "code")?;
    let sku = state
        .orders
        .get_skus(&actor.tenant, std::slice::from_ref(&code))
        .await?
        .pop()
        .ok_or_else(|| AppError::NotFound(format!("SKU {code} not found")))?;
    let mut breaker = state
        .orders
        .get_breaker(&actor.tenant, &code, &change.location)
        .await?
        .unwrap_or_else(|| Breaker::new(&actor.tenant, code.clone(), change.location.clone()));
    if breaker.version != change.expected_version {
        return Err(AppError::VersionConflict {
            expected: change.expected_version,
            actual: breaker.version,
        });
    }
    let level = state
        .orders
        .stock_of(&actor.tenant, &code)
        .await?
        .into_iter()
        .find(|l| l.location == change.location);
    let expected = breaker.version;
    breaker.apply(
        change.action,
        actor.user,
        &change.reason,
        level.as_ref(),
        sku.safety_stock,
        state.clock.now(),
    )?;
    state.orders.save_breaker(&breaker, expected).await?;
    tracing::info!(sku = %code, location = %change.location, action = ?change.action, "breaker changed");
    let available = level.map_or(0, |l| l.available);
    Ok(BreakerView {
        state: breaker_state(available, sku.safety_stock, breaker.overridden),
        available,
        safety_stock: sku.safety_stock,
        breaker,
    })
}

/// One cell of the imbalance map.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImbalanceCell {
    pub location: Code,
    pub available: i64,
    pub safety_stock: u64,
    /// Available over safety stock (1.0 = exactly safe); `None` when the SKU has no safety
    /// stock.
    pub cover: Option<f64>,
    pub state: BreakerState,
}

/// One SKU's row of the imbalance map.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImbalanceRow {
    pub sku: Code,
    pub name: String,
    pub cells: Vec<ImbalanceCell>,
    /// Tripped locations beside locations with units to spare: stock to move, not to buy.
    pub rebalance: bool,
}

/// The imbalance map (the director's heat map, managers and admins): every SKU with stock
/// rows, each location's cover and breaker state; rows with a tripped location first.
pub async fn imbalance(state: &AppState, actor: &Actor) -> Result<Vec<ImbalanceRow>, AppError> {
    actor.check(Permission::ManageStock)?;
    let levels = state.orders.list_stock(&actor.tenant).await?;
    let breakers = state.orders.list_breakers(&actor.tenant).await?;
    let mut codes: Vec<Code> = levels.iter().map(|l| l.sku.clone()).collect();
    codes.dedup();
    let skus = state.orders.get_skus(&actor.tenant, &codes).await?;
    let mut rows: Vec<ImbalanceRow> = codes
        .iter()
        .map(|code| {
            let sku = skus.iter().find(|s| &s.code == code);
            let safety = sku.map_or(0, |s| s.safety_stock);
            let cells: Vec<ImbalanceCell> = levels
                .iter()
                .filter(|l| &l.sku == code)
                .map(|l| {
                    let overridden = breakers
                        .iter()
                        .any(|b| &b.sku == code && b.location == l.location && b.overridden);
                    ImbalanceCell {
                        location: l.location.clone(),
                        available: l.available,
                        safety_stock: safety,
                        cover: (safety > 0)
                            .then(|| (l.available as f64 / safety as f64 * 100.0).round() / 100.0),
                        state: breaker_state(l.available, safety, overridden),
                    }
                })
                .collect();
            let tripped = cells.iter().any(|c| c.state != BreakerState::Closed);
            let spare = cells
                .iter()
                .any(|c| c.available > 2 * safety as i64 && safety > 0);
            ImbalanceRow {
                sku: code.clone(),
                name: sku.map_or_else(String::new, |s| s.name.clone()),
                cells,
                rebalance: tripped && spare,
            }
        })
        .collect();
    rows.sort_by_key(|r| {
        (
            !r.cells.iter().any(|c| c.state == BreakerState::Tripped),
            r.sku.clone(),
        )
    });
    Ok(rows)
}

/// Orders holding stock where a SKU's breaker has tripped, and where each line could be
/// served from instead (seed 004; managers and admins, their own scope): lines of the
/// customers who bought most over the grading window first, each to the nearest location
/// that keeps its safety stock. Suggestions: a manager moves an order with `relocate`.
pub async fn pending_reallocations(
    state: &AppState,
    actor: &Actor,
) -> Result<Vec<PendingReallocation>, AppError> {
    actor.check(Permission::ManageStock)?;
    let levels = state.orders.list_stock(&actor.tenant).await?;
    let breakers = state.orders.list_breakers(&actor.tenant).await?;
    let mut codes: Vec<Code> = levels.iter().map(|l| l.sku.clone()).collect();
    codes.sort();
    codes.dedup();
    let skus = state.orders.get_skus(&actor.tenant, &codes).await?;
    let safety = |c: &Code| {
        skus.iter()
            .find(|s| &s.code == c)
            .map_or(0, |s| s.safety_stock)
    };
    let tripped: std::collections::HashSet<(&str, &str)> = levels
        .iter()
        .filter(|l| {
            let overridden = breakers
                .iter()
                .any(|b| b.sku == l.sku && b.location == l.location && b.overridden);
            breaker_state(l.available, safety(&l.sku), overridden) == BreakerState::Tripped
        })
        .map(|l| (l.sku.as_str(), l.location.as_str()))
        .collect();
    if tripped.is_empty() {
        return Ok(Vec::new());
    }
    let tenant = load_tenant(state, &actor.tenant).await?;
    let now = state.clock.now();
    let since = now - chrono::Duration::days(tenant.grade_policy().value_window_days.into());
    let mut values: std::collections::HashMap<fieldline_domain::CustomerId, u64> =
        std::collections::HashMap::new();
    let mut orders: Vec<Order> = Vec::new();
    for status in [
        OrderStatus::Submitted,
        OrderStatus::Approved,
        OrderStatus::ToShip,
    ] {
        for_each_order(
            state,
            actor,
            actor.lead_scope(),
            Some(status),
            usize::MAX,
            |o| {
                if o.lines
                    .iter()
                    .any(|l| tripped.contains(&(l.sku.as_str(), o.location.as_str())))
                {
                    orders.push(o.clone());
                }
            },
        )
        .await?;
    }
    let mut held = Vec::new();
    for o in &orders {
        let value = match values.get(&o.customer) {
            Some(v) => *v,
            None => {
                let v = state
                    .customers
                    .purchases_since(&actor.tenant, o.customer, since)
                    .await?
                    .iter()
                    .map(|p| p.amount)
                    .sum();
                values.insert(o.customer, v);
                v
            }
        };
        for l in &o.lines {
            if tripped.contains(&(l.sku.as_str(), o.location.as_str())) {
                held.push(HeldLine {
                    order: o.id,
                    customer: o.customer,
                    customer_value: value,
                    ordered_at: o.created_at,
                    sku: l.sku.clone(),
                    location: o.location.clone(),
                    quantity: l.quantity,
                });
            }
        }
    }
    let locations = state.orders.list_locations(&actor.tenant).await?;
    Ok(plan_reallocations(&held, &levels, safety, &locations))
}
