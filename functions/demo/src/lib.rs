//! A living demo tenant: three teams, twenty reps and a few hundred leads spread over the last
//! quarter, in Chinese and English, with realistic response times and progress, plus a year of
//! deals walked through the pipeline (so the board, the process metrics, the forecast and its
//! backtest have history on first start). Generated through the same domain rules and store as
//! real traffic, so what the demo shows is real.

use chrono::{Datelike, Duration, Timelike};
use fieldline_app::AppState;
use fieldline_app::admin;
use fieldline_domain::demand::order_demand;
use fieldline_domain::lead::{ContactInput, CreateContext};
use fieldline_domain::{
    ActivityId, ActivityKind, Actor, BudgetRange, ContactId, ConversionIds, CustomerId, DealId,
    DealPatch, DecisionRole, Lead, LeadId, LeadPatch, LeadSource, LeadStatus, NewActivity, NewLead,
    Pipeline, PreScreen, PurchaseUrgency, Region, Role, StageMove, TenantId, Timestamp, User,
    convert_lead,
};
use fieldline_store::Conversion;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

pub const DEMO_TENANT: &str = "demo";

/// Who to log in as after seeding.
#[derive(Debug, Clone)]
pub struct DemoSummary {
    pub tenant: TenantId,
    pub admin: User,
    pub managers: Vec<User>,
    pub reps: Vec<User>,
    /// The back office: warehouse, then purchasing.
    pub back_office: Vec<User>,
    pub leads: usize,
    /// Deals converted from (extra) leads over the last year.
    pub deals: usize,
    /// False when the tenant existed already and nothing was written.
    pub created: bool,
}

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "磊", "强", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超",
    "秀英", "建国", "晓明", "海燕", "志强", "丽华",
];
const FIRST: &[&str] = &[
    "James", "Emily", "Michael", "Sarah", "David", "Olivia", "Daniel", "Grace", "Kevin", "Linda",
    "Ryan", "Chloe",
];
const LAST: &[&str] = &[
    "Smith", "Johnson", "Brown", "Lee", "Wong", "Chan", "Taylor", "Miller", "Nguyen", "Garcia",
];
const CITIES: &[&str] = &[
    "上海", "苏州", "杭州", "宁波", "深圳", "广州", "东莞", "佛山", "南京", "无锡",
];
const TRADES: &[&str] = &[
    "机电",
    "精密",
    "化工",
    "包装",
    "电子",
    "五金",
    "食品",
    "医疗器械",
    "物流",
    "建材",
];
const SUFFIXES: &[&str] = &["有限公司", "科技有限公司", "实业有限公司", "贸易有限公司"];
const EN_PREFIX: &[&str] = &[
    "Pacific",
    "Harbor",
    "Summit",
    "Golden Bridge",
    "Evergreen",
    "Silverline",
    "Orient",
];
const EN_NOUN: &[&str] = &[
    "Precision",
    "Packaging",
    "Automation",
    "Foods",
    "Logistics",
    "Electronics",
    "Materials",
];
const TITLES_ZH: &[&str] = &[
    "采购经理",
    "总经理",
    "技术总监",
    "设备工程师",
    "厂长",
    "采购专员",
    "生产主管",
];
const TITLES_EN: &[&str] = &[
    "Procurement Manager",
    "Plant Manager",
    "CTO",
    "Buyer",
    "Operations Director",
];
const BRANDS: &[&str] = &[
    "ABB",
    "Siemens",
    "Schneider",
    "汇川",
    "正泰",
    "Omron",
    "Mitsubishi",
];
const MOBILE_PREFIXES: &[&str] = &[
    "135", "136", "137", "138", "139", "150", "151", "152", "158", "159", "186", "187", "188",
    "189",
];
const CALL_NOTES: &[&str] = &[
    "电话沟通需求，对方在比较三家供应商",
    "Discussed lead times; wants a quote by Friday",
    "约了下周二上门拜访",
    "客户关心售后响应时间",
    "Sent catalogue by WeChat",
    "对价格敏感，要求阶梯报价",
];

fn chinese_name(rng: &mut StdRng) -> String {
    format!(
        "{}{}",
        SURNAMES.choose(rng).unwrap(),
        GIVEN.choose(rng).unwrap()
    )
}

fn english_name(rng: &mut StdRng) -> String {
    format!(
        "{} {}",
        FIRST.choose(rng).unwrap(),
        LAST.choose(rng).unwrap()
    )
}

fn mobile(rng: &mut StdRng) -> String {
    format!(
        "{} {:04} {:04}",
        MOBILE_PREFIXES.choose(rng).unwrap(),
        rng.random_range(0..10_000),
        rng.random_range(0..10_000)
    )
}

fn random_lead(rng: &mut StdRng) -> NewLead {
    let english = rng.random_bool(0.3);
    let (name, company, title) = if english {
        (
            english_name(rng),
            format!(
                "{} {} Ltd",
                EN_PREFIX.choose(rng).unwrap(),
                EN_NOUN.choose(rng).unwrap()
            ),
            TITLES_EN.choose(rng).unwrap().to_string(),
        )
    } else {
        (
            chinese_name(rng),
            format!(
                "{}{}{}",
                CITIES.choose(rng).unwrap(),
                TRADES.choose(rng).unwrap(),
                SUFFIXES.choose(rng).unwrap()
            ),
            TITLES_ZH.choose(rng).unwrap().to_string(),
        )
    };
    let has_phone = rng.random_bool(0.85);
    let email = (!has_phone || rng.random_bool(0.4))
        .then(|| format!("contact{}@example.com", rng.random_range(1000..99999)));
    let budget = rng.random_bool(0.6).then(|| {
        let max = [30_000u64, 80_000, 150_000, 400_000, 1_200_000]
            .choose(rng)
            .copied()
            .unwrap();
        BudgetRange {
            min: Some(max / 2),
            max: Some(max),
            currency: "CNY".into(),
        }
    });
    NewLead {
        source: *[
            LeadSource::WebForm,
            LeadSource::WebForm,
            LeadSource::TradeShow,
            LeadSource::Referral,
            LeadSource::ColdCall,
            LeadSource::Partner,
            LeadSource::Advertising,
            LeadSource::Import,
        ]
        .choose(rng)
        .unwrap(),
        contact: ContactInput {
            name,
            phone: has_phone.then(|| mobile(rng)),
            email,
            company: Some(company),
            title: Some(title),
        },
        prescreen: PreScreen {
            current_brand: rng
                .random_bool(0.5)
                .then(|| BRANDS.choose(rng).unwrap().to_string()),
            purchase_urgency: *[
                PurchaseUrgency::Immediate,
                PurchaseUrgency::WithinMonth,
                PurchaseUrgency::WithinQuarter,
                PurchaseUrgency::Later,
                PurchaseUrgency::Unknown,
            ]
            .choose(rng)
            .unwrap(),
            decision_role: *[
                DecisionRole::DecisionMaker,
                DecisionRole::Influencer,
                DecisionRole::User,
                DecisionRole::Gatekeeper,
                DecisionRole::Unknown,
            ]
            .choose(rng)
            .unwrap(),
            budget,
        },
        notes: None,
        owner: None,
    }
}

fn actor_of(user: &User) -> Actor {
    Actor {
        user: user.id,
        tenant: user.tenant.clone(),
        role: user.role,
        team: user.team,
    }
}

/// Seeds the demo tenant unless it exists. Deterministic for a given `seed`.
pub async fn seed(
    state: &AppState,
    lead_count: usize,
    deal_count: usize,
    seed: u64,
) -> anyhow::Result<DemoSummary> {
    let tenant = TenantId::parse(DEMO_TENANT)?;
    if state.directory.get_tenant(&tenant).await?.is_some() {
        return existing(state, tenant).await;
    }
    let mut rng = StdRng::seed_from_u64(seed);
    admin::add_tenant(
        state,
        DEMO_TENANT,
        "华东工业品贸易 East China Industrial Supply",
        "Asia/Shanghai",
        "CN",
    )
    .await?;
    // Mainland holidays and 调休, so SLA clocks skip them and the demand forecast sees them.
    if let Some(mut row) = state.directory.get_tenant(&tenant).await? {
        row.calendar = Some(fieldline_domain::BusinessCalendar::china_mainland());
        state.directory.update_tenant(&row).await?;
    }
    let admin_user = admin::add_user(
        state,
        &tenant,
        "admin@demo.fieldline.dev",
        "Admin 管理员",
        Role::Admin,
        None,
    )
    .await?;
    let team_names = ["华东大区 East", "华南大区 South", "大客户部 Key Accounts"];
    let mut managers = Vec::new();
    let mut reps = Vec::new();
    for (t, team_name) in team_names.iter().enumerate() {
        admin::add_team(state, &tenant, team_name).await?;
        let manager_name = chinese_name(&mut rng);
        managers.push(
            admin::add_user(
                state,
                &tenant,
                &format!("manager{}@demo.fieldline.dev", t + 1),
                &manager_name,
                Role::Manager,
                Some(team_name),
            )
            .await?,
        );
        let rep_count = if t == 2 { 6 } else { 7 };
        for _ in 0..rep_count {
            let n = reps.len() + 1;
            let name = if n % 4 == 0 {
                english_name(&mut rng)
            } else {
                chinese_name(&mut rng)
            };
            reps.push(
                admin::add_user(
                    state,
                    &tenant,
                    &format!("rep{n}@demo.fieldline.dev"),
                    &name,
                    Role::Rep,
                    Some(team_name),
                )
                .await?,
            );
        }
    }

    // The back office: the warehouse ships released orders and keeps the counts; purchasing
    // reads the forecast and buys what runs low.
    let warehouse_user = admin::add_user(
        state,
        &tenant,
        "warehouse@demo.fieldline.dev",
        "仓库 Warehouse",
        Role::Warehouse,
        None,
    )
    .await?;
    let purchasing_user = admin::add_user(
        state,
        &tenant,
        "purchasing@demo.fieldline.dev",
        "采购 Purchasing",
        Role::Purchasing,
        None,
    )
    .await?;

    let now = state.clock.now();
    let region = Region::china();
    let mut written = 0;
    for _ in 0..lead_count {
        // Business hours in Shanghai (UTC+8): 01:00-10:00 UTC.
        let age = Duration::minutes(rng.random_range(0..90 * 24 * 60));
        let mut created = now - age;
        created = created
            .with_hour(rng.random_range(1..10))
            .unwrap_or(created)
            .min(now);
        let unassigned = rng.random_bool(0.12);
        let (creator, owner) = if unassigned {
            (managers.choose(&mut rng).unwrap().clone(), None)
        } else {
            let rep = reps.choose(&mut rng).unwrap().clone();
            (rep.clone(), Some(rep))
        };
        let actor = actor_of(&creator);
        let input = random_lead(&mut rng);
        let (mut lead, events) = Lead::create(
            &input,
            CreateContext {
                id: LeadId::new(),
                actor: &actor,
                owner: owner.as_ref(),
                now: created,
                region,
                policy: &state.policy,
            },
        )?;
        state.leads.create_lead(&lead, &events, None).await?;
        written += 1;
        let Some(owner) = owner else { continue };
        progress(state, &mut rng, &mut lead, &actor_of(&owner), now, region).await?;
    }
    let reps_by_team: Vec<(usize, &User)> = reps
        .iter()
        .map(|r| {
            let team = managers.iter().position(|m| m.team == r.team).unwrap_or(0);
            (team, r)
        })
        .collect();
    for _ in 0..deal_count {
        let (team, rep) = *reps_by_team.choose(&mut rng).unwrap();
        walk_deal(state, &mut rng, rep, team, now, region).await?;
    }
    seed_store_tags(state, &mut rng, &tenant, &reps_by_team, now).await?;
    // Orders draw on a random stream of their own, so the rest of the demo is unchanged.
    let mut order_rng = StdRng::seed_from_u64(seed ^ 0x0D0E_0001);
    seed_orders(state, &mut order_rng, &tenant, &managers, now).await?;
    Ok(DemoSummary {
        tenant,
        admin: admin_user,
        managers,
        reps,
        back_office: vec![warehouse_user, purchasing_user],
        leads: written,
        deals: deal_count,
        created: true,
    })
}

/// The demo catalogue: code, name, list price (分), floor, safety stock.
const SKUS: &[(&str, &str, u64, u64, u64)] = &[
    (
        "LUB-18L",
        "工业润滑油 18L Industrial lubricant",
        128_000,
        100_000,
        40,
    ),
    (
        "BRG-6205",
        "深沟球轴承 6205 Deep-groove bearing",
        4_500,
        3_600,
        200,
    ),
    (
        "MTR-2K2",
        "三相电机 2.2kW Three-phase motor",
        168_000,
        140_000,
        10,
    ),
    (
        "VFD-4K0",
        "变频器 4kW Frequency inverter",
        236_000,
        200_000,
        8,
    ),
    ("PLC-S7", "可编程控制器 PLC controller", 512_000, 450_000, 5),
    ("CBL-RVV", "控制电缆 100m Control cable", 56_000, 45_000, 30),
];

/// Warehouses: code, name, WGS-84 position.
const LOCATIONS: &[(&str, &str, f64, f64)] = &[
    ("WH-SH", "上海浦东仓 Shanghai Pudong", 31.22, 121.54),
    ("WH-SZ", "苏州工业园仓 Suzhou SIP", 31.32, 120.72),
    ("WH-GZ", "广州黄埔仓 Guangzhou Huangpu", 23.10, 113.46),
    ("WH-BJ", "北京大兴仓 Beijing Daxing", 39.73, 116.34),
];

/// A catalogue, four warehouses with stock, and three months of orders of customers won in
/// the deals above: most delivered and paid, some waiting for the warehouse or for payment,
/// one held for a manager because its customer's payment is long overdue, and the Shanghai
/// lubricant stock run below its safety level, so its breaker is tripped on first start.
/// Written with the domain's own state machine and the order store (each write with its stock
/// moves), as the API would.
async fn seed_orders(
    state: &AppState,
    rng: &mut StdRng,
    tenant: &TenantId,
    managers: &[User],
    now: Timestamp,
) -> anyhow::Result<()> {
    use fieldline_domain::order::{
        Code, LineInput, NewOrder, Order, OrderPolicy, PaymentTerms, Sku, SkuInput, StockCount,
        StockEffect, credit_freeze,
    };
    use fieldline_domain::stock::{Location, LocationInput};
    let code = |raw: &str| Code::parse(raw, "code");
    let mut skus = Vec::new();
    for (c, name, price, floor, safety) in SKUS {
        let sku = Sku::new(
            tenant,
            code(c)?,
            &SkuInput {
                name: (*name).into(),
                unit_price: *price,
                floor_price: *floor,
                currency: "CNY".into(),
                safety_stock: *safety,
            },
            now,
        )?;
        state.orders.put_sku(&sku).await?;
        skus.push(sku);
    }
    let mut counts = Vec::new();
    for (c, name, lat, lon) in LOCATIONS {
        let input = LocationInput {
            name: (*name).into(),
            lat: *lat,
            lon: *lon,
        };
        state
            .orders
            .put_location(&Location::new(tenant, code(c)?, &input, now)?)
            .await?;
        for sku in &skus {
            counts.push(StockCount {
                sku: sku.code.clone(),
                location: code(c)?,
                on_hand: sku.safety_stock * rng.random_range(4..12),
            });
        }
    }
    state.orders.set_stock(tenant, &counts).await?;

    let page = state
        .customers
        .list_customers(
            tenant,
            &fieldline_store::CustomerQuery {
                scope: fieldline_domain::LeadScope::Tenant,
                name_contains: None,
                limit: 40,
                after: None,
            },
        )
        .await?;
    let customers = page.items;
    if customers.is_empty() {
        return Ok(());
    }
    let policy = OrderPolicy::default();
    let zone = state
        .directory
        .get_tenant(tenant)
        .await?
        .map_or(chrono_tz::Asia::Shanghai, |t| t.zone());
    let warehouse = managers.first().map(actor_of);
    for n in 0..60 {
        let customer = &customers[n % customers.len()];
        let actor = Actor {
            user: customer.owner,
            tenant: tenant.clone(),
            role: Role::Rep,
            team: customer.team,
        };
        let boss = warehouse.clone().unwrap_or_else(|| actor.clone());
        // One in five from the last three days: the warehouse's and finance's open work.
        let hours = if n % 5 == 0 { 2..72 } else { 72..90 * 24 };
        let at = now - Duration::hours(rng.random_range(hours));
        let line_count = rng.random_range(1..=3);
        let lines: Vec<LineInput> = skus
            .choose_multiple(rng, line_count)
            .map(|s| LineInput {
                sku: s.code.clone(),
                quantity: rng.random_range(1..=(s.safety_stock / 4).max(2)),
                unit_price: None,
                discount_percent: *[0, 0, 3, 5, 12].choose(rng).unwrap(),
            })
            .collect();
        let prepaid = rng.random_bool(0.3);
        let input = NewOrder {
            customer: customer.id,
            channel: ["direct", "distributor", "tmall"][n % 3].into(),
            location: code(LOCATIONS[rng.random_range(0..LOCATIONS.len())].0)?,
            lines,
            payment_terms: if prepaid {
                PaymentTerms::Prepaid
            } else {
                PaymentTerms::Net { days: 30 }
            },
            delivery_address: format!("{} 收货处", customer.name.as_str()),
        };
        let mut order = Order::draft(
            &input,
            fieldline_domain::OrderId::new(),
            tenant,
            (customer.owner, customer.team),
            &skus,
            at,
        )?;
        state.orders.create_order(&order, &[], &[]).await?;
        let history = state.orders.customer_orders(tenant, customer.id).await?;
        let overdue = credit_freeze(history.iter().filter(|o| o.id != order.id), &policy, at);
        let v = order.version;
        order.submit(actor.user, overdue, &skus, &policy, at)?;
        if state
            .orders
            .update_order(
                &order,
                v,
                &order.stock_moves(StockEffect::Reserve),
                &order_demand(&order, zone),
                &[],
            )
            .await
            .is_err()
        {
            continue; // out of stock at that warehouse: the rep would pick another
        }
        let age_days = (now - at).num_days();
        if !order.holds.is_empty() && age_days < 10 {
            continue; // still waiting for the manager
        }
        if !order.holds.is_empty() {
            let v = order.version;
            order.approve(
                boss.user,
                "客户已承诺回款 / payment promised".into(),
                at + Duration::hours(3),
            )?;
            state.orders.update_order(&order, v, &[], &[], &[]).await?;
        }
        if prepaid && age_days >= 2 {
            let v = order.version;
            order.record_payment(order.total, actor.user, at + Duration::hours(20))?;
            state.orders.update_order(&order, v, &[], &[], &[]).await?;
        }
        if order.status == fieldline_domain::order::OrderStatus::ToShip && age_days >= 4 {
            let v = order.version;
            order.ship(boss.user, at + Duration::days(1))?;
            state
                .orders
                .update_order(
                    &order,
                    v,
                    &order.stock_moves(StockEffect::Consume),
                    &[],
                    &[],
                )
                .await?;
            if age_days >= 6 {
                let v = order.version;
                order.deliver(boss.user, at + Duration::days(3))?;
                state.orders.update_order(&order, v, &[], &[], &[]).await?;
            }
            // Most net-terms customers pay; one in six is late, which freezes them later.
            if !prepaid && rng.random_bool(5.0 / 6.0) && age_days >= 30 {
                let v = order.version;
                order.record_payment(order.balance(), actor.user, at + Duration::days(28))?;
                state.orders.update_order(&order, v, &[], &[], &[]).await?;
            }
        }
    }
    seed_order_history(state, rng, tenant, &customers, &skus, now).await?;
    // Shanghai's lubricant runs low (25 free, safety stock 40): its breaker is tripped on
    // first start, while Suzhou has plenty to move.
    let (lub, sh) = (code("LUB-18L")?, code("WH-SH")?);
    let reserved = state
        .orders
        .stock_of(tenant, &lub)
        .await?
        .into_iter()
        .find(|l| l.location == sh)
        .map_or(0, |l| l.reserved.max(0) as u64);
    state
        .orders
        .set_stock(
            tenant,
            &[StockCount {
                sku: lub,
                location: sh,
                on_hand: reserved + 25,
            }],
        )
        .await?;
    Ok(())
}

/// Weekly demand of each SKU at the first warehouse (the others take a share of it).
const WEEKLY_DEMAND: &[(&str, f64)] = &[
    ("LUB-18L", 30.0),
    ("BRG-6205", 160.0),
    ("MTR-2K2", 9.0),
    ("VFD-4K0", 6.0),
    ("PLC-S7", 2.0),
    ("CBL-RVV", 14.0),
];
/// Each warehouse's share of that demand.
const REGION_SHARE: &[f64] = &[1.0, 0.7, 0.8, 0.5];
/// Industrial supply's year: quiet around Spring Festival, busy in 金三银四 and 金九银十.
const MONTH_INDEX: [f64; 12] = [
    0.8, 0.75, 1.15, 1.15, 1.05, 1.0, 0.9, 0.9, 1.1, 1.1, 1.05, 1.0,
];

/// Two years of delivered, paid distributor orders up to last week, so the demand forecast
/// and its backtest mean something on first start: each warehouse's customers order twice a
/// week on working days, with demand following the season, 12 % yearly growth, the working
/// days in the week and stocking up before a long holiday (from the tenant calendar).
async fn seed_order_history(
    state: &AppState,
    rng: &mut StdRng,
    tenant: &TenantId,
    customers: &[fieldline_domain::Customer],
    skus: &[fieldline_domain::order::Sku],
    now: Timestamp,
) -> anyhow::Result<()> {
    use fieldline_domain::order::{Code, LineInput, NewOrder, Order, OrderPolicy, PaymentTerms};
    use rand_distr::{Distribution, Poisson};
    let calendar = state
        .directory
        .get_tenant(tenant)
        .await?
        .map(|t| t.calendar())
        .unwrap_or_default();
    let tz = calendar.time_zone;
    let this_week = fieldline_domain::retail::Week::of(now, tz).monday();
    let policy = OrderPolicy::default();
    for back in (1..=104i64).rev() {
        let monday = this_week - Duration::weeks(back);
        let days: Vec<chrono::NaiveDate> = (0..7)
            .map(|d| monday + Duration::days(d))
            .filter(|d| calendar.is_working_day(*d))
            .collect();
        if days.is_empty() {
            continue;
        }
        let next_week_days = (7..14)
            .filter(|d| calendar.is_working_day(monday + Duration::days(*d)))
            .count();
        let stocking_up = if days.len() >= 5 && next_week_days <= 3 {
            1.3
        } else {
            1.0
        };
        let month = (monday + Duration::days(3)).month0() as usize;
        let growth = 1.0 + 0.12 * (104 - back) as f64 / 52.0;
        let factor = MONTH_INDEX[month] * growth * stocking_up * days.len() as f64 / 5.0;
        for (r, (location, ..)) in LOCATIONS.iter().enumerate() {
            for half in 0..2 {
                let lines: Vec<LineInput> = WEEKLY_DEMAND
                    .iter()
                    .filter_map(|(sku, weekly)| {
                        let mean = weekly * REGION_SHARE[r] * factor / 2.0;
                        let quantity = Poisson::new(mean).ok()?.sample(rng) as u64;
                        (quantity > 0).then(|| LineInput {
                            sku: Code::parse(sku, "sku").expect("demo SKU"),
                            quantity,
                            unit_price: None,
                            discount_percent: 0,
                        })
                    })
                    .collect();
                if lines.is_empty() {
                    continue;
                }
                let customer = &customers[(r * 7 + half + back as usize) % customers.len()];
                let day = days[rng.random_range(0..days.len())];
                let at = day
                    .and_hms_opt(rng.random_range(9..17), rng.random_range(0..60), 0)
                    .and_then(|t| t.and_local_timezone(tz).earliest())
                    .map_or(now, |t| t.to_utc());
                let input = NewOrder {
                    customer: customer.id,
                    channel: ["distributor", "direct"][half].into(),
                    location: Code::parse(location, "location")?,
                    lines,
                    payment_terms: PaymentTerms::Net { days: 30 },
                    delivery_address: format!("{} 收货处", customer.name.as_str()),
                };
                let mut order = Order::draft(
                    &input,
                    fieldline_domain::OrderId::new(),
                    tenant,
                    (customer.owner, customer.team),
                    skus,
                    at,
                )?;
                order.submit(customer.owner, None, skus, &policy, at)?;
                order.ship(customer.owner, at + Duration::days(1))?;
                order.deliver(customer.owner, at + Duration::days(3))?;
                order.record_payment(order.total, customer.owner, at + Duration::days(25))?;
                let demand = order_demand(&order, tz);
                state.orders.create_order(&order, &demand, &[]).await?;
            }
        }
    }
    Ok(())
}

/// Outlet stores of the East and South teams (五金机电门店) where shop assistants tag sales.
const STORES: &[(&str, usize)] = &[
    ("五金机电城 上海七宝店", 0),
    ("五金机电城 苏州园区店", 0),
    ("工控器材 杭州滨江店", 0),
    ("工控器材 宁波北仑店", 0),
    ("机电之家 南京江宁店", 0),
    ("五金机电城 广州黄埔店", 1),
    ("工控器材 深圳宝安店", 1),
    ("机电之家 东莞长安店", 1),
    ("五金机电城 佛山顺德店", 1),
];

/// Eight weeks of quick sale tags at the outlet stores, from an industrial catalogue; this
/// week the South stores hear "delivery too slow" far more often, so the store-tag report
/// shows a spike on first start. Written through the store port (each sale and its counters
/// in one write), as the API would.
async fn seed_store_tags(
    state: &AppState,
    rng: &mut StdRng,
    tenant: &TenantId,
    reps_by_team: &[(usize, &User)],
    now: Timestamp,
) -> anyhow::Result<()> {
    use fieldline_domain::retail::{RetailPolicy, SaleTagCatalogue, SaleTags, Week};
    let list = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let catalogue = SaleTagCatalogue {
        focus: list(&["价格", "交期", "质量", "品牌", "售后服务"]),
        obstacle: list(&["太贵", "交期太长", "没有现货", "规格不合适"]),
        competitor: list(&["西门子", "ABB", "施耐德", "正泰", "德力西"]),
    };
    let mut row = state
        .directory
        .get_tenant(tenant)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the demo tenant vanished"))?;
    row.retail = Some(RetailPolicy {
        sale_tags: catalogue.clone(),
        ..RetailPolicy::default()
    });
    state.directory.update_tenant(&row).await?;
    let zone = row.zone();
    let local = now.with_timezone(&zone);
    let into_week = i64::from(local.weekday().num_days_from_monday()) * 24 * 60
        + i64::from(local.hour()) * 60
        + i64::from(local.minute());
    for (name, team) in STORES {
        let Some((_, rep)) = reps_by_team.iter().find(|(t, _)| t == team) else {
            continue;
        };
        let input = fieldline_domain::NewCustomer {
            name: (*name).to_owned(),
            kind: fieldline_domain::CustomerKind::Store,
            owner: None,
            addresses: vec![],
            tags: if rng.random_bool(0.4) {
                vec!["重点门店".into()]
            } else {
                vec![]
            },
            contacts: vec![],
        };
        let opened = now - Duration::days(90);
        let store = fieldline_domain::Customer::create(
            &input,
            CustomerId::new(),
            &actor_of(rep),
            rep,
            opened,
        )?;
        state.customers.create_customer(&store, &[], &[]).await?;
        let region = store
            .team
            .map_or_else(|| "none".to_owned(), |t| t.to_string());
        for weeks_ago in (0..8i64).rev() {
            let spiking = *team == 1 && weeks_ago == 0;
            for _ in 0..rng.random_range(12..24) {
                let back = if weeks_ago == 0 {
                    // Within this week so far, however early in the week the demo starts.
                    Duration::minutes(rng.random_range(0..120.min(into_week).max(1)))
                } else {
                    Duration::days(7 * weeks_ago) + Duration::hours(rng.random_range(0..48))
                };
                let at = now - back;
                let mut tags = vec![format!("focus:{}", catalogue.focus.choose(rng).unwrap())];
                let obstacle = if spiking && rng.random_bool(0.6) {
                    Some("交期太长")
                } else if rng.random_bool(0.5) {
                    catalogue.obstacle.choose(rng).map(String::as_str)
                } else {
                    None
                };
                if let Some(o) = obstacle {
                    tags.push(format!("obstacle:{o}"));
                }
                if rng.random_bool(0.5) {
                    let c = catalogue.competitor.choose(rng).unwrap();
                    tags.push(format!("competitor:{c}"));
                }
                let sale = SaleTags {
                    id: fieldline_domain::SaleTagsId::new(),
                    tenant: tenant.clone(),
                    store: store.id,
                    region: region.clone(),
                    week: Week::of(at, zone).to_string(),
                    tags,
                    by: rep.id,
                    at,
                };
                state.retail.record_sale_tags(&sale).await?;
            }
        }
    }
    Ok(())
}

/// Typical days in each open stage of the default pipeline (min, max), and the chance a deal
/// goes on from it. The key-accounts team (index 2) haggles longer over price, which the
/// dwell heat map should show.
const STAGE_DAYS: &[(&str, i64, i64, f64)] = &[
    ("new", 0, 3, 0.85),
    ("first_call", 1, 8, 0.75),
    ("demo_done", 2, 12, 0.7),
    ("proposal_sent", 3, 15, 0.65),
    ("price_negotiation", 2, 8, 0.7),
    ("contract_pending", 1, 10, 0.8),
];
const LOST_REASONS: &[&str] = &["price", "competitor", "no_budget", "no_decision"];

/// A lead from some day of the last year, qualified and converted, then walked through the
/// pipeline until it is won, lost, or still open today.
async fn walk_deal(
    state: &AppState,
    rng: &mut StdRng,
    rep: &User,
    team: usize,
    now: Timestamp,
    region: Region,
) -> anyhow::Result<()> {
    let actor = actor_of(rep);
    let created = (now - Duration::minutes(rng.random_range(0..365 * 24 * 60)))
        .with_hour(rng.random_range(1..10))
        .unwrap_or(now)
        .min(now);
    let input = random_lead(rng);
    let (mut lead, events) = Lead::create(
        &input,
        CreateContext {
            id: LeadId::new(),
            actor: &actor,
            owner: Some(rep),
            now: created,
            region,
            policy: &state.policy,
        },
    )?;
    state.leads.create_lead(&lead, &events, None).await?;
    let before = lead.version;
    let qualify = LeadPatch {
        status: Some(LeadStatus::Qualified),
        ..Default::default()
    };
    let events = lead.apply_patch(&qualify, &actor, created, region, &state.policy)?;
    state.leads.update_lead(&lead, before, &events).await?;

    let pipeline = Pipeline::default_for(&actor.tenant);
    let lead_version = lead.version;
    let mut converted = lead.clone();
    let at = created + Duration::hours(1);
    let ids = ConversionIds {
        customer: CustomerId::new(),
        contact: ContactId::new(),
        deal: DealId::new(),
    };
    let made = convert_lead(&mut converted, ids, &pipeline, &actor, at, "CNY")?;
    // As the API converts: a company already seeded is one customer.
    let (known_customer, known_contact) =
        fieldline_app::deal::known_records(state, &actor, &lead, &made).await?;
    let made = made.onto(known_customer, known_contact);
    let conversion = Conversion {
        lead: converted,
        lead_version,
        customer: made.customer,
        contact: made.contact,
        new_customer: made.new_customer,
        new_contact: made.new_contact,
        deal: made.deal,
        first_stage: made.first_stage,
        events: made.events,
    };
    state.deals.convert_lead(&conversion, None).await?;
    let mut deal = conversion.deal;
    let terms = DealPatch {
        amount: Some(rng.random_range(2..80) * 10_000),
        expected_close: Some(Some(
            (at + Duration::days(rng.random_range(20..120))).date_naive(),
        )),
        ..Default::default()
    };
    let before = deal.version;
    let events = deal.apply_patch(&terms, &actor, at)?;
    state
        .deals
        .update_deal(&deal, before, None, &events)
        .await?;

    let mut at = at;
    for (i, &(stage, lo, hi, go_on)) in STAGE_DAYS.iter().enumerate() {
        let slow = if team == 2 && stage == "price_negotiation" {
            2
        } else {
            1
        };
        at += Duration::hours(rng.random_range(lo * 24..=hi * 24 + 12) * slow);
        if at >= now {
            return Ok(()); // still here today
        }
        let next = if !rng.random_bool(go_on) {
            if rng.random_bool(0.3) {
                return Ok(()); // stuck: neither moving nor closed
            }
            "lost"
        } else {
            STAGE_DAYS.get(i + 1).map_or("won", |s| s.0)
        };
        let reason = (next == "lost").then(|| *LOST_REASONS.choose(rng).unwrap());
        let request = StageMove {
            to: next,
            reason,
            override_gate: false,
        };
        // The touch that moved it on; before the price talks, the customer's ask and the
        // quote the gate wants.
        let touch = *[
            ActivityKind::Call,
            ActivityKind::Message,
            ActivityKind::Visit,
        ]
        .choose(rng)
        .unwrap();
        log_on_deal(
            state,
            &mut deal,
            &actor,
            touch,
            DEAL_NOTES.choose(rng).unwrap(),
            at,
        )
        .await?;
        if next == "price_negotiation" {
            let asked = at - Duration::hours(rng.random_range(2..48));
            log_on_deal(
                state,
                &mut deal,
                &actor,
                ActivityKind::Message,
                "客户：请发一份正式报价",
                asked,
            )
            .await?;
            attach_quote(state, &mut deal, &actor, at).await?;
        }
        let evidence = state
            .deals
            .list_deal_activities(&actor.tenant, deal.id, 100)
            .await?;
        let before = deal.version;
        let (change, event) = deal
            .move_stage(&pipeline, &request, &evidence, &actor, at)
            .map_err(|e| anyhow::anyhow!("demo deal move to {next}: {e:?}"))?;
        state
            .deals
            .update_deal(&deal, before, Some(&change), &[event])
            .await?;
        if next == "won" {
            let customer = state
                .customers
                .get_customer(&actor.tenant, deal.customer)
                .await?
                .ok_or_else(|| {
                    anyhow::anyhow!("demo deal's customer {} is missing", deal.customer)
                })?;
            record_purchase(state, &customer, &deal, &actor, at).await?;
            // Its own random stream (from what the main one made), so the deals after it
            // come out as they always have.
            let mut buyers = StdRng::seed_from_u64({
                use std::hash::{Hash, Hasher};
                let mut h = std::hash::DefaultHasher::new();
                (&deal.title, deal.amount).hash(&mut h);
                h.finish()
            });
            // A company another rep already had is theirs to visit.
            if customer.owner == actor.user {
                meet_the_buyers(state, &mut buyers, customer.id, &actor, at, now).await?;
            }
        }
        if next == "lost" || next == "won" {
            return Ok(());
        }
    }
    Ok(())
}

/// A won deal invoiced: the purchase that grading counts as the customer's value (until
/// orders exist, the tenant posts or imports purchases), with its event as the API writes it.
async fn record_purchase(
    state: &AppState,
    customer: &fieldline_domain::Customer,
    deal: &fieldline_domain::Deal,
    actor: &Actor,
    at: Timestamp,
) -> anyhow::Result<()> {
    use fieldline_domain::Purchase;
    let purchase = Purchase {
        tenant: actor.tenant.clone(),
        customer: customer.id,
        reference: format!("INV-{}", deal.id),
        amount: deal.amount,
        currency: deal.currency.clone(),
        at,
        recorded_by: actor.user,
        recorded_at: at,
    };
    let event = customer.event(actor, at, purchase.recorded());
    state.customers.add_purchase(&purchase, &[event]).await?;
    Ok(())
}

/// The people a won customer's rep keeps seeing: one to four of the decision chain's roles,
/// each visited within the last two months (not before the win), so grades differ in
/// interaction and coverage.
async fn meet_the_buyers(
    state: &AppState,
    rng: &mut StdRng,
    customer: CustomerId,
    actor: &Actor,
    won_at: Timestamp,
    now: Timestamp,
) -> anyhow::Result<()> {
    use fieldline_domain::NewContact;
    const ROLES: [(&str, &str, &str); 4] = [
        ("purchasing", "采购经理", "周"),
        ("technical", "技术主管", "吴"),
        ("production", "生产经理", "郑"),
        ("management", "总经理", "钱"),
    ];
    let met = *[1, 1, 2, 2, 3, 4].choose(rng).unwrap();
    for (role, title, family) in ROLES.choose_multiple(rng, met) {
        let contact = fieldline_app::customer::add_contact(
            state,
            actor,
            customer,
            NewContact {
                name: format!(
                    "{family}{}",
                    ["伟", "芳", "磊", "静", "强"].choose(rng).unwrap()
                ),
                title: Some((*title).to_owned()),
                phones: Vec::new(),
                emails: Vec::new(),
                decision_role: None,
                role: Some((*role).to_owned()),
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("demo contact: {e}"))?;
        let visit = NewActivity {
            kind: ActivityKind::Visit,
            summary: format!("回访{title}，确认使用情况和下一批需求"),
            occurred_at: Some((now - Duration::hours(rng.random_range(24..60 * 24))).max(won_at)),
            structured: None,
            contact: Some(contact.id),
        };
        fieldline_app::customer::log_activity(state, actor, customer, visit, None)
            .await
            .map_err(|e| anyhow::anyhow!("demo visit: {e}"))?;
    }
    Ok(())
}

const DEAL_NOTES: &[&str] = &[
    "电话确认了需求和预算范围",
    "上门演示，客户技术负责人在场",
    "微信发送了案例资料",
    "Call: walked through the proposal with purchasing",
    "Visit: met the plant manager, agreed next steps",
];

async fn log_on_deal(
    state: &AppState,
    deal: &mut fieldline_domain::Deal,
    actor: &Actor,
    kind: ActivityKind,
    summary: &str,
    at: Timestamp,
) -> anyhow::Result<()> {
    let input = NewActivity {
        kind,
        summary: summary.to_owned(),
        occurred_at: Some(at),
        structured: None,
        contact: None,
    };
    let before = deal.version;
    let (activity, event) = deal.log_activity(&input, ActivityId::new(), actor, at)?;
    state
        .deals
        .record_deal_activity(deal, before, &activity, &[event], None)
        .await?;
    Ok(())
}

/// The smallest well-formed PDF: the demo's quotes are real files a material link can serve.
const DEMO_PDF: &[u8] = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";

/// A quote uploaded on the deal the way a phone does it: an upload record, its bytes, and
/// the attachment activity the check logs.
async fn attach_quote(
    state: &AppState,
    deal: &mut fieldline_domain::Deal,
    actor: &Actor,
    at: Timestamp,
) -> anyhow::Result<()> {
    use fieldline_domain::{
        AttachmentFile, NewUpload, Subject, Upload, UploadId, UploadKind, UploadStatus,
    };
    let input = NewUpload {
        kind: UploadKind::Attachment,
        subject: Some(Subject::Deal(deal.id)),
        file_name: format!("报价单-{}.pdf", &deal.id.to_string()[..8]),
        content_type: "application/pdf".into(),
        size: DEMO_PDF.len() as u64,
        device_reading: None,
        import: None,
    };
    let id = UploadId::new();
    let (mut upload, created) = Upload::create(&input, id, actor, at)?;
    let mut events = vec![created];
    events.push(upload.advance(UploadStatus::Processing, None, vec![], at)?);
    events.push(upload.advance(UploadStatus::Done, None, vec![Subject::Deal(deal.id)], at)?);
    let key =
        fieldline_store::BlobKey::parse(actor.tenant.clone(), &format!("uploads/{id}/quote.pdf"))
            .expect("a valid key");
    state
        .blobs
        .put(&key, DEMO_PDF.to_vec(), "application/pdf")
        .await?;
    state.uploads.create_upload(&upload, &events, None).await?;
    let file = AttachmentFile {
        upload: id,
        file_name: upload.file_name.clone(),
        content_type: upload.content_type.clone(),
        size: upload.size,
    };
    let activity = fieldline_domain::Activity::attachment(
        ActivityId::new(),
        &deal.log_target(),
        file,
        actor.user,
        at,
    );
    let before = deal.version;
    let event = deal.attach(&activity, actor, at);
    state
        .deals
        .record_deal_activity(deal, before, &activity, &[event], None)
        .await?;
    Ok(())
}

/// Most leads get a first call (some late, some never), then a share qualify, convert or drop.
async fn progress(
    state: &AppState,
    rng: &mut StdRng,
    lead: &mut Lead,
    rep: &Actor,
    now: Timestamp,
    region: Region,
) -> anyhow::Result<()> {
    if rng.random_bool(0.25) {
        return Ok(()); // never contacted: what the 24 h SLA exists for
    }
    let delay = Duration::minutes(*[20i64, 90, 240, 600, 1500, 3000, 5000].choose(rng).unwrap());
    let mut at = lead.created_at + delay;
    if at >= now {
        return Ok(());
    }
    let kinds = [
        ActivityKind::Call,
        ActivityKind::Call,
        ActivityKind::Message,
        ActivityKind::Visit,
    ];
    let touches = rng.random_range(1..4);
    for _ in 0..touches {
        let input = NewActivity {
            kind: *kinds.choose(rng).unwrap(),
            summary: CALL_NOTES.choose(rng).unwrap().to_string(),
            occurred_at: Some(at),
            structured: None,
            contact: None,
        };
        let before = lead.version;
        let (activity, events) = lead.log_activity(&input, ActivityId::new(), rep, at)?;
        state
            .leads
            .record_activity(lead, before, &activity, &events, None)
            .await?;
        at += Duration::hours(rng.random_range(20..120));
        if at >= now {
            return Ok(());
        }
    }
    let outcome = rng.random_range(0..100);
    let path: &[LeadStatus] = match outcome {
        0..=9 => &[LeadStatus::Disqualified],
        // Conversions, with their deals, are the year of deals seeded apart.
        10..=49 => &[LeadStatus::Qualified],
        _ => &[],
    };
    for status in path {
        let before = lead.version;
        let patch = LeadPatch {
            status: Some(*status),
            ..Default::default()
        };
        let events = lead.apply_patch(&patch, rep, at, region, &state.policy)?;
        state.leads.update_lead(lead, before, &events).await?;
        at += Duration::days(rng.random_range(2..10));
        if at >= now {
            break;
        }
    }
    Ok(())
}

async fn existing(state: &AppState, tenant: TenantId) -> anyhow::Result<DemoSummary> {
    let users = state.directory.list_users(&tenant).await?;
    let by_role = |role: Role| {
        users
            .iter()
            .filter(|u| u.role == role)
            .cloned()
            .collect::<Vec<_>>()
    };
    let admin = by_role(Role::Admin)
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("demo tenant has no admin"))?;
    let mut reps = by_role(Role::Rep);
    reps.sort_by_key(|u| {
        u.email
            .as_str()
            .trim_start_matches("rep")
            .split('@')
            .next()
            .and_then(|n| n.parse::<u32>().ok())
    });
    Ok(DemoSummary {
        tenant,
        admin,
        managers: by_role(Role::Manager),
        reps,
        back_office: [by_role(Role::Warehouse), by_role(Role::Purchasing)].concat(),
        leads: 0,
        deals: 0,
        created: false,
    })
}
