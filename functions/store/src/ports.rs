//! The storage ports. Every call takes the tenant explicitly, so no query can forget it.

use crate::error::StoreResult;
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use fieldline_domain::demand::{DemandEstimate, DemandPoint};
use fieldline_domain::order::{Code, Order, OrderStatus, Sku, StockCount, StockLevel, StockMove};
use fieldline_domain::retail::{SaleTags, TagCount};
use fieldline_domain::stock::{Breaker, Location};
use fieldline_domain::{
    Activity, Channel, Contact, ContactId, Customer, CustomerId, Deal, DealFacts, DealId, Decision,
    Delivery, DeliveryResult, DomainEvent, GradeSnapshot, Lead, LeadId, LeadScope, LeadStatus,
    MaterialPack, Notification, OrderId, Pipeline, Priority, Purchase, Rule, RuleId, StageChange,
    StageKind, Subject, Task, TaskId, Team, TeamId, Tenant, TenantId, Timer, Timestamp, Touch,
    Upload, UploadId, User, UserId,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A client-chosen key that makes a create safe to retry (phones retry on flaky networks).
/// 1–128 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Option<Self> {
        let ok = (1..=128).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_graphic());
        ok.then(|| Self(raw.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The key plus who used it and a fingerprint of the request it stood for.
#[derive(Debug, Clone)]
pub struct IdempotencyRecord {
    pub key: IdempotencyKey,
    pub user: UserId,
    /// sha256 of the canonical request; a replay with another body is refused.
    pub fingerprint: String,
}

/// The outcome of a create-if-absent.
#[derive(Debug, Clone, PartialEq)]
pub enum Created<T> {
    New(T),
    /// The same idempotency key and request were seen before; this is the original result.
    Replayed(T),
}

impl<T> Created<T> {
    pub fn into_inner(self) -> T {
        match self {
            Created::New(t) | Created::Replayed(t) => t,
        }
    }
}

/// An opaque position in any listing ordered by (a time, id) descending: every record type
/// pages the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The sort time of the last item served, in milliseconds (`updated_at` for leads).
    pub sort_ms: i64,
    pub id: Uuid,
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}|{}", self.sort_ms, self.id))
    }
    pub fn decode(raw: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let (ms, id) = text.split_once('|')?;
        Some(Cursor {
            sort_ms: ms.parse().ok()?,
            id: Uuid::parse_str(id).ok()?,
        })
    }
}

/// Records that can be listed page by page.
pub trait Paged {
    /// Where a page ending with this item continues.
    fn cursor(&self) -> Cursor;
}

impl Paged for Lead {
    fn cursor(&self) -> Cursor {
        Cursor {
            sort_ms: self.updated_at.timestamp_millis(),
            id: self.id.as_uuid(),
        }
    }
}

impl Paged for Upload {
    fn cursor(&self) -> Cursor {
        Cursor {
            sort_ms: self.updated_at.timestamp_millis(),
            id: self.id.as_uuid(),
        }
    }
}

impl Paged for Customer {
    /// Customers list newest first by creation.
    fn cursor(&self) -> Cursor {
        Cursor {
            sort_ms: self.created_at.timestamp_millis(),
            id: self.id.as_uuid(),
        }
    }
}

impl Paged for Deal {
    fn cursor(&self) -> Cursor {
        Cursor {
            sort_ms: self.updated_at.timestamp_millis(),
            id: self.id.as_uuid(),
        }
    }
}

impl Paged for Order {
    fn cursor(&self) -> Cursor {
        Cursor {
            sort_ms: self.updated_at.timestamp_millis(),
            id: self.id.as_uuid(),
        }
    }
}

/// A paginated listing of orders, newest change first, in the caller's scope.
#[derive(Debug, Clone)]
pub struct OrderQuery {
    pub scope: LeadScope,
    pub status: Option<OrderStatus>,
    pub customer: Option<CustomerId>,
    pub limit: u32,
    pub after: Option<Cursor>,
}

/// A filtered, paginated listing of deals, newest change first. `scope` comes from the
/// caller's role (deals have no pool: `LeadScope::Pool` lists nothing).
#[derive(Debug, Clone)]
pub struct DealQuery {
    pub scope: LeadScope,
    pub pipeline: Option<String>,
    pub stage: Option<String>,
    pub status: Option<StageKind>,
    pub owner: Option<UserId>,
    /// Only deals overdue at this time (`rots_at` before it).
    pub overdue_at: Option<Timestamp>,
    pub limit: u32,
    pub after: Option<Cursor>,
}

impl DealQuery {
    /// Every deal of `pipeline` in `scope`, a full page at a time; narrow it with struct
    /// update syntax (`DealQuery { stage: …, ..DealQuery::in_pipeline(…) }`).
    pub fn in_pipeline(scope: LeadScope, pipeline: &str) -> Self {
        DealQuery {
            scope,
            pipeline: Some(pipeline.to_owned()),
            stage: None,
            status: None,
            owner: None,
            overdue_at: None,
            limit: MAX_PAGE,
            after: None,
        }
    }
}

/// Follows a listing to its last page: `page(after)` fetches the page after a cursor (the
/// first with `None`). For reports that read everything in a scope.
pub async fn all_pages<T, F, Fut>(mut page: F) -> StoreResult<Vec<T>>
where
    F: FnMut(Option<Cursor>) -> Fut,
    Fut: std::future::Future<Output = StoreResult<Page<T>>>,
{
    let mut items = Vec::new();
    let mut after = None;
    loop {
        let next = page(after).await?;
        items.extend(next.items);
        match next.next {
            Some(cursor) => after = Some(cursor),
            None => return Ok(items),
        }
    }
}

/// One board column's header: how many deals sit in a stage and what they are worth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageTotal {
    pub stage: String,
    pub count: u64,
    pub amount: u64,
}

/// A lead turned into customer, contact and deal: everything one conversion writes.
#[derive(Debug, Clone)]
pub struct Conversion {
    /// The lead, now converted, and the version it was read at.
    pub lead: Lead,
    pub lead_version: u64,
    /// The deal's customer and contact, written only when new (`new_customer`,
    /// `new_contact`); an existing customer must still exist when the conversion lands.
    pub customer: Customer,
    pub contact: Contact,
    pub new_customer: bool,
    pub new_contact: bool,
    pub deal: Deal,
    /// The deal's first stage-log line.
    pub first_stage: StageChange,
    /// The lead's, customer's and deal's events.
    pub events: Vec<DomainEvent>,
}

/// A filtered, paginated listing. `scope` comes from the caller's role, never from the client.
#[derive(Debug, Clone)]
pub struct LeadQuery {
    pub scope: LeadScope,
    pub owner: Option<UserId>,
    pub status: Option<LeadStatus>,
    pub priority: Option<Priority>,
    pub updated_before: Option<Timestamp>,
    pub limit: u32,
    pub after: Option<Cursor>,
}

#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Cursor>,
}

/// The most leads `LeadStore::leads_with_key` returns: a phone shared by more leads than
/// this is a switchboard, not a person.
pub const MATCHING_LEADS: usize = 20;

/// The largest page any listing returns, whatever the caller asks for.
pub const MAX_PAGE: u32 = 200;

/// A requested page size, bounded to 1..=MAX_PAGE.
pub fn page_limit(requested: u32) -> u32 {
    requested.clamp(1, MAX_PAGE)
}

impl<T: Paged> Page<T> {
    /// A page from a listing that read one item more than `limit`: the extra item only says
    /// that there is a next page, which starts after the last item kept.
    pub fn from_overfetched(mut items: Vec<T>, limit: usize) -> Self {
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(Paged::cursor)
        } else {
            None
        };
        Page { items, next }
    }
}

/// Round-robin: the first of `members` (sorted) after the one handed out last, wrapping
/// around. Membership changes between calls simply continue from the right place.
pub fn next_in_turn(members: &[UserId], last: Option<&str>) -> Option<UserId> {
    let first = *members.first()?;
    Some(
        last.and_then(|l| l.parse::<UserId>().ok())
            .and_then(|l| members.iter().find(|m| **m > l).copied())
            .unwrap_or(first),
    )
}

/// Automation rules as versioned data.
#[async_trait]
pub trait RuleStore: Send + Sync {
    /// Stores a new version of a rule. `expected_version` is `None` for a new rule (an existing
    /// id is `AlreadyExists`) or the version the change was based on (else `VersionConflict`).
    async fn save_rule(&self, rule: &Rule, expected_version: Option<u32>) -> StoreResult<()>;
    /// The current version of every rule of the tenant, enabled or not, by id.
    async fn list_rules(&self, tenant: &TenantId) -> StoreResult<Vec<Rule>>;
    async fn get_rule(&self, tenant: &TenantId, id: &RuleId) -> StoreResult<Option<Rule>>;
    /// Every version of one rule, oldest first.
    async fn rule_versions(&self, tenant: &TenantId, id: &RuleId) -> StoreResult<Vec<Rule>>;
}

/// Durable timers on any subject.
#[async_trait]
pub trait TimerStore: Send + Sync {
    /// Starts a timer. With `restart` a pending timer of the same subject and name is
    /// replaced; without, it is kept and `false` returned.
    async fn start_timer(&self, timer: &Timer, restart: bool) -> StoreResult<bool>;
    /// Cancels the subject's pending timers with these names; returns how many.
    async fn cancel_timers(
        &self,
        tenant: &TenantId,
        subject: Subject,
        names: &[String],
    ) -> StoreResult<u32>;
    /// Fires up to `limit` timers due at `now`, oldest first: each becomes a `timer_fired`
    /// event in the same transaction, so a timer fires exactly once however many sweepers run.
    /// Costs time in the number due, not the number pending. A timer whose subject no longer
    /// exists is spent without an event.
    async fn fire_due_timers(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<Timer>>;
    async fn pending_timers(&self, tenant: &TenantId, subject: Subject) -> StoreResult<Vec<Timer>>;
}

/// The decision log: why automation did what it did.
#[async_trait]
pub trait DecisionLog: Send + Sync {
    /// Appends to the decision log; `false` when this (event, rule, action) is already there,
    /// which is how a redelivered event is recognised.
    async fn record_decision(&self, decision: &Decision) -> StoreResult<bool>;
    /// One subject's decisions oldest first, or (`None`) the tenant's newest first.
    async fn list_decisions(
        &self,
        tenant: &TenantId,
        subject: Option<Subject>,
        limit: u32,
    ) -> StoreResult<Vec<Decision>>;
}

/// What automatic assignment reads and keeps.
#[async_trait]
pub trait AssignmentStore: Send + Sync {
    /// The next of `members` after the one this rotation handed out last, atomically, so
    /// concurrent assignments never pick the same rep twice in a row.
    async fn next_in_rotation(
        &self,
        tenant: &TenantId,
        rotation: &str,
        members: &[UserId],
    ) -> StoreResult<Option<UserId>>;
    /// Open (not converted or disqualified) leads per owner, for least-loaded assignment.
    async fn open_lead_counts(
        &self,
        tenant: &TenantId,
        team: TeamId,
    ) -> StoreResult<Vec<(UserId, u64)>>;
}

/// Tasks for users, on any subject.
#[async_trait]
pub trait TaskStore: Send + Sync {
    /// Adds a task; `false` when its dedupe key was seen (a redelivered event).
    async fn add_task(&self, task: &Task) -> StoreResult<bool>;
    /// A user's tasks, open ones first by due time, then done ones.
    async fn list_tasks(
        &self,
        tenant: &TenantId,
        assignee: UserId,
        limit: u32,
    ) -> StoreResult<Vec<Task>>;
    async fn get_task(&self, tenant: &TenantId, id: TaskId) -> StoreResult<Option<Task>>;
    /// Stores a task's new state (completion).
    async fn update_task(&self, task: &Task) -> StoreResult<()>;
}

/// The in-app inbox and its outbound channels with their delivery queue.
#[async_trait]
pub trait InboxStore: Send + Sync {
    /// Adds to a user's inbox and, in the same transaction, queues a delivery to each of the
    /// tenant's channels that forwards its kind; `false` when the dedupe key was seen for
    /// that user (nothing is queued twice).
    async fn add_notification(&self, notification: &Notification) -> StoreResult<bool>;
    async fn list_notifications(
        &self,
        tenant: &TenantId,
        user: UserId,
        limit: u32,
    ) -> StoreResult<Vec<Notification>>;

    async fn save_channel(&self, channel: &Channel) -> StoreResult<()>;
    async fn list_channels(&self, tenant: &TenantId) -> StoreResult<Vec<Channel>>;
    /// Removes a channel; its queued deliveries are dropped.
    async fn delete_channel(&self, tenant: &TenantId, id: uuid::Uuid) -> StoreResult<bool>;
    /// Reserves up to `limit` deliveries due at `now` (pending, or sending with an expired
    /// lease after a crash) until `lease_until`, and returns them with their channels.
    async fn claim_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<(Delivery, Channel)>>;
    async fn finish_delivery(
        &self,
        tenant: &TenantId,
        id: uuid::Uuid,
        result: &DeliveryResult,
    ) -> StoreResult<()>;
    /// Deliveries that gave up, newest first.
    async fn dead_deliveries(&self, tenant: &TenantId, limit: u32) -> StoreResult<Vec<Delivery>>;
}

/// Uploads and their processing status. Each write stores the change and its events
/// atomically, like every aggregate store.
#[async_trait]
pub trait UploadStore: Send + Sync {
    /// Inserts `upload` unless `idempotency` names a request already served.
    async fn create_upload(
        &self,
        upload: &Upload,
        events: &[DomainEvent],
        idempotency: Option<&IdempotencyRecord>,
    ) -> StoreResult<Created<Upload>>;
    async fn get_upload(&self, tenant: &TenantId, id: UploadId) -> StoreResult<Option<Upload>>;
    /// Replaces the upload if its stored version is still `expected_version`.
    async fn update_upload(
        &self,
        upload: &Upload,
        expected_version: u64,
        events: &[DomainEvent],
    ) -> StoreResult<()>;
    /// The tenant's uploads by one user, newest change first.
    async fn list_uploads(
        &self,
        tenant: &TenantId,
        created_by: UserId,
        limit: u32,
        after: Option<Cursor>,
    ) -> StoreResult<Page<Upload>>;
}

/// Deals with their append-only stage log, the customers and contacts they belong to, and
/// the tenant's pipelines. Each write stores the change and its events atomically.
#[async_trait]
pub trait DealStore: Send + Sync {
    /// Writes a conversion in one transaction: the lead (if still at `lead_version`, else
    /// `VersionConflict`), customer, contact, deal, first log line and every event. With an
    /// idempotency record a retried conversion returns the deal it first made.
    async fn convert_lead(
        &self,
        conversion: &Conversion,
        idempotency: Option<&IdempotencyRecord>,
    ) -> StoreResult<Created<Deal>>;
    /// The deal an earlier conversion with this idempotency key made (`IdempotencyMismatch`
    /// when the key came with another request), so a retry is answered even though its lead
    /// is no longer convertible.
    async fn converted_with(
        &self,
        tenant: &TenantId,
        idempotency: &IdempotencyRecord,
    ) -> StoreResult<Option<Deal>>;
    async fn get_deal(&self, tenant: &TenantId, id: DealId) -> StoreResult<Option<Deal>>;
    /// Replaces the deal if its stored version is still `expected_version`, appending
    /// `change` to its stage log when the write is a stage move.
    async fn update_deal(
        &self,
        deal: &Deal,
        expected_version: u64,
        change: Option<&StageChange>,
        events: &[DomainEvent],
    ) -> StoreResult<()>;
    /// Appends an activity and saves the deal it changed (its recent list, its version) under
    /// the same version check. With an idempotency record, a retried request (or a
    /// redelivered upload event) returns the activity it first created.
    async fn record_deal_activity(
        &self,
        deal: &Deal,
        expected_version: u64,
        activity: &Activity,
        events: &[DomainEvent],
        idempotency: Option<&IdempotencyRecord>,
    ) -> StoreResult<Created<Activity>>;
    /// The deal's activities, newest first, at most `limit` (the evidence gates read).
    async fn list_deal_activities(
        &self,
        tenant: &TenantId,
        deal: DealId,
        limit: u32,
    ) -> StoreResult<Vec<Activity>>;
    /// Stores a new material pack under its token hash (a hash already taken is
    /// `AlreadyExists`).
    async fn create_material_pack(&self, pack: &MaterialPack) -> StoreResult<()>;
    /// The pack a link's token hash names, whichever tenant it is in: the link is the
    /// authority, as a presigned URL is.
    async fn material_pack_by_token(&self, token_hash: &str) -> StoreResult<Option<MaterialPack>>;
    /// The deal's packs, newest first.
    async fn list_material_packs(
        &self,
        tenant: &TenantId,
        deal: DealId,
    ) -> StoreResult<Vec<MaterialPack>>;
    /// Replaces the pack if its stored version is still `expected_version`, with the events
    /// (an opening, a revocation) in the same write.
    async fn update_material_pack(
        &self,
        pack: &MaterialPack,
        expected_version: u64,
        events: &[DomainEvent],
    ) -> StoreResult<()>;
    /// The deal's stage log, oldest first.
    async fn deal_history(&self, tenant: &TenantId, id: DealId) -> StoreResult<Vec<StageChange>>;
    /// What the deal reports read of every deal of `pipeline` in `scope` (no pool: deals
    /// have none), each exactly as `DealFacts::of` the deal and its stage log.
    async fn deal_facts(
        &self,
        tenant: &TenantId,
        pipeline: &str,
        scope: &LeadScope,
    ) -> StoreResult<Vec<DealFacts>>;
    async fn list_deals(&self, tenant: &TenantId, query: &DealQuery) -> StoreResult<Page<Deal>>;
    /// Per stage of `pipeline`, the number of deals in `scope` and their amount total (the
    /// board's column headers), stages without deals left out.
    async fn stage_totals(
        &self,
        tenant: &TenantId,
        scope: &LeadScope,
        pipeline: &str,
    ) -> StoreResult<Vec<StageTotal>>;
    /// Stores a pipeline version: `expected_version` `None` for a new one (an existing id is
    /// `AlreadyExists`), else the version the change was based on (else `VersionConflict`).
    async fn save_pipeline(
        &self,
        pipeline: &Pipeline,
        expected_version: Option<u32>,
    ) -> StoreResult<()>;
    /// The tenant's stored pipelines by id (empty until the first is saved).
    async fn list_pipelines(&self, tenant: &TenantId) -> StoreResult<Vec<Pipeline>>;
}

/// Which customers a listing returns, newest first, one page at a time.
#[derive(Debug, Clone)]
pub struct CustomerQuery {
    /// Deals' reach: the tenant, a team, an owner (`Pool` lists nothing).
    pub scope: LeadScope,
    /// Only customers whose name, folded by `search_fold`, contains this (already folded).
    pub name_contains: Option<String>,
    pub limit: u32,
    pub after: Option<Cursor>,
}

/// Everything grading reads about one customer, read in one go.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerFile {
    pub customer: Customer,
    /// Oldest first.
    pub contacts: Vec<Contact>,
    /// The activities logged on it and on its deals that occurred at or after the
    /// `activities_since` asked for, newest first, as grading reads them.
    pub activities: Vec<Touch>,
    /// Those made after the `purchases_since` asked for, oldest first.
    pub purchases: Vec<Purchase>,
    /// Its two latest monthly grades, oldest first (a month's close needs the month before;
    /// the streak it may continue is carried in it).
    pub grades: Vec<GradeSnapshot>,
}

/// Customers and their contacts, de-duplicated within the tenant: every customer and contact
/// claims its `dedupe_keys` in the same write that stores it, so two records can never hold
/// one key, however the requests race.
#[async_trait]
pub trait CustomerStore: Send + Sync {
    /// Stores a new customer with its first contacts in one write; a key another record
    /// holds fails it all with `Duplicate` naming the holder. The events go in the same write.
    async fn create_customer(
        &self,
        customer: &Customer,
        contacts: &[Contact],
        events: &[DomainEvent],
    ) -> StoreResult<()>;
    /// Replaces the customer if its stored version is still `expected_version`, moving its
    /// keys with it: a key it no longer has is released, a new one claimed (`Duplicate` when
    /// another record holds it; then nothing changes).
    async fn update_customer(
        &self,
        customer: &Customer,
        expected_version: u64,
        events: &[DomainEvent],
    ) -> StoreResult<()>;
    /// Adds a contact to a stored customer, claiming its keys likewise, with its events.
    async fn add_contact(&self, contact: &Contact, events: &[DomainEvent]) -> StoreResult<()>;
    /// Stores a new visit with its events; a visit with its id stored already is returned as
    /// `Replayed` and nothing is written (a phone's retried check-in).
    async fn create_visit(
        &self,
        visit: &fieldline_domain::visit::Visit,
        events: &[DomainEvent],
    ) -> StoreResult<Created<fieldline_domain::visit::Visit>>;
    async fn get_visit(
        &self,
        tenant: &TenantId,
        id: fieldline_domain::VisitId,
    ) -> StoreResult<Option<fieldline_domain::visit::Visit>>;
    /// Replaces a visit at `expected_version` with its next version and its events.
    async fn update_visit(
        &self,
        visit: &fieldline_domain::visit::Visit,
        expected_version: u64,
        events: &[DomainEvent],
    ) -> StoreResult<()>;
    /// The tenant's visits checked in at or after `since`, oldest first (reports).
    async fn visits_since(
        &self,
        tenant: &TenantId,
        since: Timestamp,
    ) -> StoreResult<Vec<fieldline_domain::visit::Visit>>;
    /// Replaces `previous` (as the caller read it) with `contact`, same id and customer: the
    /// phone and e-mail keys it gains are claimed (one held by another record refuses the
    /// whole write with `Duplicate`), the ones it loses released. `NotFound` when it is gone.
    async fn update_contact(
        &self,
        previous: &Contact,
        contact: &Contact,
        events: &[DomainEvent],
    ) -> StoreResult<()>;
    async fn get_customer(
        &self,
        tenant: &TenantId,
        id: CustomerId,
    ) -> StoreResult<Option<Customer>>;
    async fn get_contact(&self, tenant: &TenantId, id: ContactId) -> StoreResult<Option<Contact>>;
    /// A customer's contacts, oldest first.
    async fn list_contacts(
        &self,
        tenant: &TenantId,
        customer: CustomerId,
    ) -> StoreResult<Vec<Contact>>;
    async fn list_customers(
        &self,
        tenant: &TenantId,
        query: &CustomerQuery,
    ) -> StoreResult<Page<Customer>>;
    /// The id of the record holding a de-duplication key, if any.
    async fn key_holder(&self, tenant: &TenantId, key: &str) -> StoreResult<Option<String>>;

    /// Merges `duplicate` into `survivor`, both given as their new versions (see
    /// `Customer::absorb`) and written only if still at their expected versions: the
    /// duplicate becomes a pointer to the survivor and its keys point there too; its
    /// contacts, activities and purchases move to the survivor (a purchase reference both
    /// hold stays the survivor's), its grades go. What a backend cannot move in the merge's
    /// own write it moves in `finish_merge`.
    async fn merge_customers(
        &self,
        survivor: &Customer,
        survivor_expected: u64,
        duplicate: &Customer,
        duplicate_expected: u64,
        events: &[DomainEvent],
    ) -> StoreResult<()>;
    /// Moves whatever is still filed under a merged customer to the record it was merged
    /// into; how many items moved (0 once everything has). Safe to repeat.
    async fn finish_merge(&self, tenant: &TenantId, duplicate: CustomerId) -> StoreResult<u32>;
    /// Logs an activity on a stored customer with its events. With an idempotency record, a
    /// retried request returns the activity it first created.
    async fn record_customer_activity(
        &self,
        activity: &Activity,
        events: &[DomainEvent],
        idempotency: Option<&IdempotencyRecord>,
    ) -> StoreResult<Created<Activity>>;
    /// A customer's activities that occurred at or after `since`, newest first, at most
    /// `limit` (grading reads a window; the HTTP listing a page).
    async fn customer_activities(
        &self,
        tenant: &TenantId,
        customer: CustomerId,
        since: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<Activity>>;
    /// Records a purchase once per (customer, reference), with its events; `false` when the
    /// reference was recorded before (nothing is written then).
    async fn add_purchase(&self, purchase: &Purchase, events: &[DomainEvent]) -> StoreResult<bool>;
    /// A customer's purchases made after `since`, oldest first.
    async fn purchases_since(
        &self,
        tenant: &TenantId,
        customer: CustomerId,
        since: Timestamp,
    ) -> StoreResult<Vec<Purchase>>;
    /// The customer with its grading inputs and grades, or `None` when it does not exist.
    async fn customer_file(
        &self,
        tenant: &TenantId,
        id: CustomerId,
        activities_since: Timestamp,
        purchases_since: Timestamp,
    ) -> StoreResult<Option<CustomerFile>>;
    /// Stores a month's grade, replacing what that month had, except that an open grade
    /// never replaces a closed one (a closed month is final).
    async fn save_grade(&self, snapshot: &GradeSnapshot) -> StoreResult<()>;
    /// Every customer's grade for `month` (reports: the distribution, coverage depth).
    async fn grades_of_month(
        &self,
        tenant: &TenantId,
        month: fieldline_domain::Month,
    ) -> StoreResult<Vec<GradeSnapshot>>;
    /// A customer's monthly grades, oldest first.
    async fn grade_history(
        &self,
        tenant: &TenantId,
        customer: CustomerId,
    ) -> StoreResult<Vec<GradeSnapshot>>;
}

/// Quick sale tags at stores, counted per week, region and tag as they are written, so the
/// weekly report and the spike test read a few counters, never every tag of thousands of
/// stores.
#[async_trait]
pub trait RetailStore: Send + Sync {
    /// Stores a tagged sale and adds one to its week's and region's counters (each tag's and
    /// the sales total, `SALES_KEY`) in one write; `false` when a sale with its id was
    /// already recorded (a phone's retry counts once). `NotFound` when the store is not one
    /// of the tenant's customers.
    async fn record_sale_tags(&self, sale: &SaleTags) -> StoreResult<bool>;
    /// The counters of weeks `from..=to` (`2026-W44`), of one region or of all.
    async fn sale_tag_counts(
        &self,
        tenant: &TenantId,
        region: Option<&str>,
        from: &str,
        to: &str,
    ) -> StoreResult<Vec<TagCount>>;
    /// Marks the spike `key` announced and writes `events` with the mark, once: `false`
    /// (nothing written) when it was announced before.
    async fn announce_spike(
        &self,
        tenant: &TenantId,
        key: &str,
        events: &[DomainEvent],
    ) -> StoreResult<bool>;
}

/// Orders, the catalogue and stock. An order write and its stock moves are one transaction:
/// a reservation that does not fit refuses the whole write (`OutOfStock`), so two channels
/// can never both take the last units.
#[async_trait]
pub trait OrderStore: Send + Sync {
    /// Creates or replaces a catalogue entry.
    async fn put_sku(&self, sku: &Sku) -> StoreResult<()>;
    /// Creates or replaces many entries (imports): one transaction on SQLite, transactions
    /// of 100 on DynamoDB (upserts, so a retried import converges).
    async fn put_skus(&self, skus: &[Sku]) -> StoreResult<()>;
    /// The entries of `codes` that exist, in no particular order.
    async fn get_skus(&self, tenant: &TenantId, codes: &[Code]) -> StoreResult<Vec<Sku>>;
    /// The catalogue by code, the codes after `after`, at most `limit` (≤ `MAX_PAGE`).
    async fn list_skus(
        &self,
        tenant: &TenantId,
        after: Option<&Code>,
        limit: u32,
    ) -> StoreResult<Vec<Sku>>;
    /// Sets each row's on-hand count and leaves its reservations alone. Counts are absolute,
    /// so a retried batch sets the same values (on DynamoDB each 100 rows are one
    /// transaction).
    async fn set_stock(&self, tenant: &TenantId, counts: &[StockCount]) -> StoreResult<()>;
    /// `sku` at every location that has a row for it, by location.
    async fn stock_of(&self, tenant: &TenantId, sku: &Code) -> StoreResult<Vec<StockLevel>>;
    /// Stores a new order with its events, and adds `demand` to the weekly demand history
    /// (an imported order arrives submitted; a draft adds none); a retry of the same id
    /// answers the stored one (`Replayed`) and adds nothing. `NotFound` when the customer
    /// does not exist.
    async fn create_order(
        &self,
        order: &Order,
        demand: &[DemandPoint],
        events: &[DomainEvent],
    ) -> StoreResult<Created<Order>>;
    async fn get_order(&self, tenant: &TenantId, id: OrderId) -> StoreResult<Option<Order>>;
    /// Stores `order` if it is still at `expected_version`, with `moves` applied to the stock,
    /// `demand` added to the weekly demand history (on submission) and `events`, all or
    /// nothing: `VersionConflict`, or `OutOfStock` naming a line whose reservation did not
    /// fit.
    async fn update_order(
        &self,
        order: &Order,
        expected_version: u64,
        moves: &[StockMove],
        demand: &[DemandPoint],
        events: &[DomainEvent],
    ) -> StoreResult<()>;
    /// Every order of one customer (the credit check reads their balances and due dates).
    async fn customer_orders(
        &self,
        tenant: &TenantId,
        customer: CustomerId,
    ) -> StoreResult<Vec<Order>>;
    async fn list_orders(&self, tenant: &TenantId, query: &OrderQuery) -> StoreResult<Page<Order>>;
    /// Creates or replaces a stock location.
    async fn put_location(&self, location: &Location) -> StoreResult<()>;
    /// Every location of the tenant, by code (a tenant has tens to hundreds).
    async fn list_locations(&self, tenant: &TenantId) -> StoreResult<Vec<Location>>;
    /// Every stock row of the tenant, by SKU then location (the imbalance map; at the scale
    /// in the issue, 10,000 SKUs × 200 locations, a caller pages by SKU instead).
    async fn list_stock(&self, tenant: &TenantId) -> StoreResult<Vec<StockLevel>>;
    /// The breaker of `sku` at `location`, if a manager ever touched it.
    async fn get_breaker(
        &self,
        tenant: &TenantId,
        sku: &Code,
        location: &Code,
    ) -> StoreResult<Option<Breaker>>;
    /// Every touched breaker of the tenant.
    async fn list_breakers(&self, tenant: &TenantId) -> StoreResult<Vec<Breaker>>;
    /// Stores `breaker` if the stored one is still at `expected_version` (0: none stored);
    /// `VersionConflict` otherwise.
    async fn save_breaker(&self, breaker: &Breaker, expected_version: u64) -> StoreResult<()>;
    /// The weekly demand history from the week starting `since` on: one point per SKU,
    /// warehouse and week with any demand, dated the week's Monday, in that order; `sku`
    /// keeps one SKU's.
    /// Kept as orders are written, so a forecast reads thousands of totals instead of a
    /// million orders.
    async fn demand_history(
        &self,
        tenant: &TenantId,
        since: chrono::NaiveDate,
        sku: Option<&Code>,
    ) -> StoreResult<Vec<DemandPoint>>;
    /// Replaces the tenant's weekly demand history of the weeks before `before` (a Monday)
    /// with `points` (one per SKU, warehouse and week; points from `before` on are ignored),
    /// the weekly totals with it; weeks from `before` on stay as order writes keep them, so
    /// orders submitted meanwhile are neither lost nor counted twice. What `fieldline
    /// rebuild-demand` writes from every order: a DynamoDB table from before the history was
    /// kept, or weeks cut in a time zone the tenant has since left. One transaction on
    /// SQLite; on DynamoDB a run cut short leaves part of it, and running it again mends it.
    async fn replace_demand_history(
        &self,
        tenant: &TenantId,
        before: chrono::NaiveDate,
        points: &[DemandPoint],
    ) -> StoreResult<()>;
    /// The tenant's demand per week from `since` on (Monday, quantity), oldest first: what
    /// one SKU's forecast fits the calendar effect on.
    async fn demand_totals(
        &self,
        tenant: &TenantId,
        since: chrono::NaiveDate,
    ) -> StoreResult<Vec<(chrono::NaiveDate, u64)>>;
    /// Stores a rep's estimate, replacing theirs for the same SKU, region and week.
    async fn put_estimate(&self, estimate: &DemandEstimate) -> StoreResult<()>;
    /// Every estimate for a week starting on or after `since`.
    async fn estimates_since(
        &self,
        tenant: &TenantId,
        since: chrono::NaiveDate,
    ) -> StoreResult<Vec<DemandEstimate>>;
}

/// Every record port at once: what a complete backend (SQLite, DynamoDB) implements, so the
/// wiring and the contract suite name the list in one place.
pub trait RecordStores:
    LeadStore
    + DealStore
    + CustomerStore
    + UploadStore
    + DirectoryStore
    + EventLog
    + RuleStore
    + TimerStore
    + DecisionLog
    + AssignmentStore
    + TaskStore
    + InboxStore
    + RetailStore
    + OrderStore
    + 'static
{
}

impl<T> RecordStores for T where
    T: LeadStore
        + DealStore
        + CustomerStore
        + UploadStore
        + DirectoryStore
        + EventLog
        + RuleStore
        + TimerStore
        + DecisionLog
        + AssignmentStore
        + TaskStore
        + InboxStore
        + RetailStore
        + OrderStore
        + 'static
{
}

/// Leads and their follow-up log. Each write stores the change and its events atomically.
#[async_trait]
pub trait LeadStore: Send + Sync {
    /// Inserts `lead` unless `idempotency` names a request already served.
    async fn create_lead(
        &self,
        lead: &Lead,
        events: &[DomainEvent],
        idempotency: Option<&IdempotencyRecord>,
    ) -> StoreResult<Created<Lead>>;

    async fn get_lead(&self, tenant: &TenantId, id: LeadId) -> StoreResult<Option<Lead>>;

    /// Replaces the lead if its stored version is still `expected_version`.
    async fn update_lead(
        &self,
        lead: &Lead,
        expected_version: u64,
        events: &[DomainEvent],
    ) -> StoreResult<()>;

    /// Appends an activity and saves the lead it changed, under the same version check.
    /// With an idempotency record, a retried request returns the activity it first created.
    async fn record_activity(
        &self,
        lead: &Lead,
        expected_version: u64,
        activity: &Activity,
        events: &[DomainEvent],
        idempotency: Option<&IdempotencyRecord>,
    ) -> StoreResult<Created<Activity>>;

    async fn list_leads(&self, tenant: &TenantId, query: &LeadQuery) -> StoreResult<Page<Lead>>;

    /// The leads whose contact holds `key` now (one of `Lead::contact_keys`), newest change
    /// first, at most `MATCHING_LEADS`: what a business card is matched against.
    async fn leads_with_key(&self, tenant: &TenantId, key: &str) -> StoreResult<Vec<Lead>>;

    /// Newest first.
    async fn list_activities(
        &self,
        tenant: &TenantId,
        lead: LeadId,
        limit: u32,
    ) -> StoreResult<Vec<Activity>>;
}

/// Tenants, teams and users: read on every request, written rarely.
#[async_trait]
pub trait DirectoryStore: Send + Sync {
    /// Creates the tenant; returns false if it already existed (left unchanged).
    async fn create_tenant(&self, tenant: &Tenant) -> StoreResult<bool>;
    async fn get_tenant(&self, id: &TenantId) -> StoreResult<Option<Tenant>>;
    /// Replaces a tenant's settings (name, time zone, calendar).
    async fn update_tenant(&self, tenant: &Tenant) -> StoreResult<()>;
    async fn create_team(&self, team: &Team) -> StoreResult<()>;
    async fn list_teams(&self, tenant: &TenantId) -> StoreResult<Vec<Team>>;
    async fn create_user(&self, user: &User) -> StoreResult<()>;
    /// Changes a user's name, role, team or active flag (deactivating keeps the history).
    /// The e-mail is an identity and cannot change here: a different one is refused.
    /// `NotFound` when the user does not exist. Takes effect on the next request.
    async fn update_user(&self, user: &User) -> StoreResult<()>;
    async fn get_user(&self, tenant: &TenantId, id: UserId) -> StoreResult<Option<User>>;
    async fn find_user_by_email(&self, tenant: &TenantId, email: &str)
    -> StoreResult<Option<User>>;
    async fn list_users(&self, tenant: &TenantId) -> StoreResult<Vec<User>>;
}

/// An event as kept in the outbox, with its position in the global order.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub seq: i64,
    pub event: DomainEvent,
}

/// The outbox, read by named consumers that each keep their own position.
#[async_trait]
pub trait EventLog: Send + Sync {
    /// Events after the consumer's acknowledged position, oldest first.
    async fn read_events(&self, consumer: &str, limit: u32) -> StoreResult<Vec<StoredEvent>>;
    /// Moves the consumer's position forward to `seq` (never backwards).
    async fn ack_events(&self, consumer: &str, seq: i64) -> StoreResult<()>;
    /// A tenant's events since `since`, oldest first, at most `limit` (rule dry runs).
    async fn tenant_events_since(
        &self,
        tenant: &TenantId,
        since: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<StoredEvent>>;
}

/// A blob's address: tenant plus a relative path of safe segments (`leads/<id>/quote.pdf`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobKey {
    pub tenant: TenantId,
    path: String,
}

impl BlobKey {
    pub fn parse(tenant: TenantId, path: &str) -> Option<Self> {
        let segment_ok = |s: &str| {
            !s.is_empty()
                && s != "."
                && s != ".."
                && s.len() <= 128
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        };
        let ok = path.len() <= 512 && path.split('/').all(segment_ok);
        ok.then(|| BlobKey {
            tenant,
            path: path.to_owned(),
        })
    }
    pub fn path(&self) -> &str {
        &self.path
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobMeta {
    pub size: u64,
    pub sha256: String,
    pub content_type: String,
}

impl BlobMeta {
    /// The metadata of `bytes` stored as `content_type`.
    pub fn of(bytes: &[u8], content_type: &str) -> Self {
        use sha2::{Digest, Sha256};
        BlobMeta {
            size: bytes.len() as u64,
            sha256: hex::encode(Sha256::digest(bytes)),
            content_type: content_type.to_owned(),
        }
    }
}

/// Attachments (quotes, photos, voice notes).
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Writes atomically: readers see the old blob or the new one, never a torn file.
    async fn put(&self, key: &BlobKey, bytes: Vec<u8>, content_type: &str)
    -> StoreResult<BlobMeta>;
    async fn get(&self, key: &BlobKey) -> StoreResult<Option<(Vec<u8>, BlobMeta)>>;
    async fn delete(&self, key: &BlobKey) -> StoreResult<bool>;
    /// A URL a phone can PUT exactly `size` bytes of `content_type` to, straight into the
    /// store (S3), so large bodies never pass through the API. `None` where the store has no
    /// such URLs and uploads go through the API instead (the embedded default).
    async fn presign_put(
        &self,
        _key: &BlobKey,
        _content_type: &str,
        _size: u64,
        _expires_in: std::time::Duration,
    ) -> StoreResult<Option<PresignedRequest>> {
        Ok(None)
    }
    /// A short-lived download URL; `None` where downloads go through the API.
    async fn presign_get(
        &self,
        _key: &BlobKey,
        _expires_in: std::time::Duration,
    ) -> StoreResult<Option<PresignedRequest>> {
        Ok(None)
    }
}

/// A signed request the client makes itself: it must send exactly these headers, which the
/// signature covers (content type and length for uploads).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresignedRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub expires_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let c = Cursor {
            sort_ms: 1_700_000_000_123,
            id: LeadId::new().as_uuid(),
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        for bad in ["", "!!!", "MTIz", &URL_SAFE_NO_PAD.encode("x|y")] {
            assert_eq!(Cursor::decode(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn blob_keys_cannot_escape() {
        let t = TenantId::parse("acme").unwrap();
        assert!(BlobKey::parse(t.clone(), "leads/abc/quote.pdf").is_some());
        for bad in [
            "../etc/passwd",
            "a//b",
            "/abs",
            "a/../b",
            "sp ace",
            "",
            "a/",
        ] {
            assert!(BlobKey::parse(t.clone(), bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn idempotency_keys_are_bounded() {
        assert!(IdempotencyKey::parse("0b7c-42").is_some());
        assert!(IdempotencyKey::parse("").is_none());
        assert!(IdempotencyKey::parse("has space").is_none());
        assert!(IdempotencyKey::parse(&"k".repeat(129)).is_none());
    }
}
