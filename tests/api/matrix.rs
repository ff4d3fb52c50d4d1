//! Every route's boundary, cell by cell: each operation the router serves (read from the
//! OpenAPI document the router itself generates) × each kind of caller (anonymous, the owner,
//! a teammate, their manager, another team's manager and rep, the admin, another tenant's
//! admin and rep, the warehouse, purchasing) × an owned and a pooled lead where the route is
//! about one. Each cell runs on fresh records and asserts one status. An operation without a
//! row in `expected` fails the test, so no route ships without its boundary written down here.

use fieldline_domain::{Subject, Task, TaskId};
use fieldline_tests::*;
use reqwest::Method;

/// Columns of every row, in this order.
#[derive(Debug, Clone, Copy)]
enum Who {
    Anonymous,
    Owner,
    Teammate,
    Manager,
    OtherManager,
    OtherRep,
    Admin,
    ForeignAdmin,
    ForeignRep,
    Warehouse,
    Purchasing,
}

const WHO: [Who; 11] = [
    Who::Anonymous,
    Who::Owner,
    Who::Teammate,
    Who::Manager,
    Who::OtherManager,
    Who::OtherRep,
    Who::Admin,
    Who::ForeignAdmin,
    Who::ForeignRep,
    Who::Warehouse,
    Who::Purchasing,
];

/// What a lead route acts on; other routes have one scene.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Scene {
    /// A lead owned by the East rep (`Who::Owner`).
    Owned,
    /// An East lead returned to the tenant's pool.
    Pooled,
    Tenant,
}

/// The status each caller gets, in `WHO` order; `None` for an operation nobody wrote down.
#[rustfmt::skip]
fn expected(op: &str, scene: Scene) -> Option<[u16; 9]> {
    use Scene::*;
    //                                           anon owner mate  mgr  omgr orep admin fadm frep
    Some(match (op, scene) {
        ("GET /health", Tenant) =>                 [200, 200, 200, 200, 200, 200, 200, 200, 200],
        ("GET /v1/me", Tenant) =>                  [401, 200, 200, 200, 200, 200, 200, 200, 200],
        ("GET /v1/openapi.json", Tenant) =>        [401, 200, 200, 200, 200, 200, 200, 200, 200],
        ("GET /v1/leads", Tenant) =>               [401, 200, 200, 200, 200, 200, 200, 200, 200],
        ("POST /v1/leads", Tenant) =>              [401, 201, 201, 201, 201, 201, 201, 201, 201],

        ("GET /v1/leads/{id}", Owned) =>           [401, 200, 403, 200, 403, 403, 200, 404, 404],
        ("GET /v1/leads/{id}", Pooled) =>          [401, 200, 200, 200, 200, 200, 200, 404, 404],
        ("PATCH /v1/leads/{id}", Owned) =>         [401, 200, 403, 200, 403, 403, 200, 404, 404],
        // Only claiming (or a manager's assignment) changes a pooled lead.
        ("PATCH /v1/leads/{id}", Pooled) =>        [401, 403, 403, 403, 403, 403, 403, 404, 404],
        ("GET /v1/leads/{id}/activities", Owned) =>  [401, 200, 403, 200, 403, 403, 200, 404, 404],
        ("GET /v1/leads/{id}/activities", Pooled) => [401, 200, 200, 200, 200, 200, 200, 404, 404],
        ("POST /v1/leads/{id}/activities", Owned) =>  [401, 201, 403, 201, 403, 403, 201, 404, 404],
        ("POST /v1/leads/{id}/activities", Pooled) => [401, 403, 403, 403, 403, 403, 403, 404, 404],
        ("GET /v1/leads/{id}/decisions", Owned) =>   [401, 200, 403, 200, 403, 403, 200, 404, 404],
        ("GET /v1/leads/{id}/decisions", Pooled) =>  [401, 200, 200, 200, 200, 200, 200, 404, 404],
        ("POST /v1/leads/{id}/uploads", Owned) =>    [401, 201, 403, 201, 403, 403, 201, 404, 404],
        ("POST /v1/leads/{id}/uploads", Pooled) =>   [401, 403, 403, 403, 403, 403, 403, 404, 404],
        // Reps never assign (403 before the lead is looked up); managers within their team.
        ("POST /v1/leads/{id}/assign", Owned) =>     [401, 403, 403, 200, 403, 403, 200, 404, 403],
        ("POST /v1/leads/{id}/assign", Pooled) =>    [401, 403, 403, 200, 403, 403, 200, 404, 403],
        // A lead outside the pool cannot be claimed by anyone in the tenant: 409, as for a
        // lost race. Admins hand leads out; they do not claim them.
        ("POST /v1/leads/{id}/claim", Owned) =>      [401, 409, 409, 409, 409, 409, 409, 404, 404],
        ("POST /v1/leads/{id}/claim", Pooled) =>     [401, 200, 200, 200, 200, 200, 403, 404, 404],
        // Converting changes the lead: not a pooled one (claim it first).
        ("POST /v1/leads/{id}/convert", Owned) =>    [401, 201, 403, 201, 403, 403, 201, 404, 404],
        ("POST /v1/leads/{id}/convert", Pooled) =>   [401, 403, 403, 403, 403, 403, 403, 404, 404],
        ("GET /v1/pipelines", Tenant) =>             [401, 200, 200, 200, 200, 200, 200, 200, 200],
        ("PUT /v1/pipelines/{id}", Tenant) =>        [401, 403, 403, 403, 403, 403, 200, 200, 403],
        ("GET /v1/deals", Tenant) =>                 [401, 200, 200, 200, 200, 200, 200, 200, 200],
        ("GET /v1/deals/board", Tenant) =>           [401, 200, 200, 200, 200, 200, 200, 200, 200],
        // A deal of the East rep: deals have no pool, so the scope is owner, team, tenant.
        ("GET /v1/deals/{id}", Tenant) =>            [401, 200, 403, 200, 403, 403, 200, 404, 404],
        ("PATCH /v1/deals/{id}", Tenant) =>          [401, 200, 403, 200, 403, 403, 200, 404, 404],
        ("POST /v1/deals/{id}/stage", Tenant) =>     [401, 200, 403, 200, 403, 403, 200, 404, 404],
        ("GET /v1/deals/{id}/history", Tenant) =>    [401, 200, 403, 200, 403, 403, 200, 404, 404],
        ("GET /v1/customers", Tenant) =>           [401, 200, 200, 200, 200, 200, 200, 200, 200],
        ("POST /v1/customers", Tenant) =>          [401, 201, 201, 201, 201, 201, 201, 201, 201],
        ("GET /v1/customers/{id}", Tenant) =>      [401, 200, 403, 200, 403, 403, 200, 404, 404],
        ("PATCH /v1/customers/{id}", Tenant) =>    [401, 200, 403, 200, 403, 403, 200, 404, 404],
        ("POST /v1/customers/{id}/contacts", Tenant) => [401, 201, 403, 201, 403, 403, 201, 404, 404],
        ("POST /v1/customers/{id}/merge", Tenant) =>      [401, 200, 403, 200, 403, 403, 200, 404, 404],
        ("GET /v1/customers/{id}/activities", Tenant) =>  [401, 200, 403, 200, 403, 403, 200, 404, 404],
        ("POST /v1/customers/{id}/activities", Tenant) => [401, 201, 403, 201, 403, 403, 201, 404, 404],
        // Purchases are finance's figures: reps never post them (403 before the lookup).
        ("POST /v1/customers/{id}/purchases", Tenant) =>  [401, 403, 403, 201, 403, 403, 201, 404, 403],
        ("GET /v1/customers/{id}/grade", Tenant) =>       [401, 200, 403, 200, 403, 403, 200, 404, 404],
        ("GET /v1/customers/{id}/grade/history", Tenant) => [401, 200, 403, 200, 403, 403, 200, 404, 404],
        ("GET /v1/metrics/customers", Tenant) =>     [401, 200, 200, 200, 200, 200, 200, 200, 200],
        ("GET /v1/metrics/capture", Tenant) =>       [401, 200, 200, 200, 200, 200, 200, 200, 200],
        ("GET /v1/grading/policy", Tenant) =>        [401, 200, 200, 200, 200, 200, 200, 200, 200],
        ("PUT /v1/grading/policy", Tenant) =>        [401, 403, 403, 403, 403, 403, 200, 200, 403],
        // A card scanned at a customer of the East rep: whoever may work on the customer.
        ("POST /v1/uploads", Tenant) =>              [401, 201, 403, 201, 403, 403, 201, 404, 404],
        ("POST /v1/uploads/card-text", Tenant) =>    [401, 201, 403, 201, 403, 403, 201, 404, 404],
        // The East rep's upload: its uploader, their team's manager, admins.
        ("GET /v1/uploads/{id}", Tenant) =>          [401, 200, 403, 200, 403, 403, 200, 404, 404],
        // The East manager's finished import: its uploader and admins read the report.
        ("GET /v1/uploads/{id}/report", Tenant) =>   [401, 403, 403, 200, 403, 403, 200, 404, 404],
        // A card upload without a proposal: 409 for those who may see it.
        ("POST /v1/uploads/{id}/proposal", Tenant) => [401, 409, 403, 409, 403, 403, 409, 404, 404],
        // Only its uploader (or an admin) corrects a transcript; this upload has none (409).
        ("PUT /v1/uploads/{id}/transcript", Tenant) => [401, 409, 403, 403, 403, 403, 409, 404, 404],
        ("PATCH /v1/contacts/{id}", Tenant) =>       [401, 200, 403, 200, 403, 403, 200, 404, 404],
        // A visit at a customer of the East rep; only the rep on it checks out.
        ("POST /v1/visits", Tenant) =>               [401, 201, 403, 201, 403, 403, 201, 404, 404],
        ("GET /v1/visits", Tenant) =>                [401, 200, 200, 200, 200, 200, 200, 200, 200],
        ("GET /v1/visits/{id}", Tenant) =>           [401, 200, 403, 200, 403, 403, 200, 404, 404],
        ("POST /v1/visits/{id}/check-out", Tenant) => [401, 200, 403, 403, 403, 403, 403, 404, 404],
        ("GET /v1/settings/visits", Tenant) =>       [401, 200, 200, 200, 200, 200, 200, 200, 200],
        ("PUT /v1/settings/visits", Tenant) =>       [401, 403, 403, 403, 403, 403, 200, 200, 403],
        ("GET /v1/metrics/visits", Tenant) =>        [401, 200, 200, 200, 200, 200, 200, 200, 200],
        // Quick tags at a store of the East rep: whoever may work on the store.
        ("POST /v1/stores/{id}/sale-tags", Tenant) => [401, 201, 403, 201, 403, 403, 201, 404, 404],
        // The store-tag report is for managers (their region) and admins.
        ("GET /v1/metrics/sale-tags", Tenant) =>     [401, 403, 403, 200, 200, 403, 200, 200, 403],
        ("GET /v1/settings/retail", Tenant) =>       [401, 200, 200, 200, 200, 200, 200, 200, 200],
        ("PUT /v1/settings/retail", Tenant) =>       [401, 403, 403, 403, 403, 403, 200, 200, 403],
        // The catalogue and stock: everyone reads; managers and admins write (the foreign
        // admin's feed names a SKU their tenant does not have: 422).
        ("GET /v1/skus", Tenant) =>                  [401, 200, 200, 200, 200, 200, 200, 200, 200],
        ("PUT /v1/skus/{code}", Tenant) =>           [401, 403, 403, 200, 200, 403, 200, 200, 403],
        ("GET /v1/skus/{code}/stock", Tenant) =>     [401, 200, 200, 200, 200, 200, 200, 200, 200],
        ("PUT /v1/inventory", Tenant) =>             [401, 403, 403, 200, 200, 403, 200, 422, 403],
        // An order for a customer of the East rep; submitting it (the action in the cell).
        ("POST /v1/orders", Tenant) =>               [401, 201, 403, 201, 403, 403, 201, 404, 404],
        ("GET /v1/orders", Tenant) =>                [401, 200, 200, 200, 200, 200, 200, 200, 200],
        ("GET /v1/orders/{id}", Tenant) =>           [401, 200, 403, 200, 403, 403, 200, 404, 404],
        ("POST /v1/orders/{id}/actions", Tenant) =>  [401, 200, 403, 200, 403, 403, 200, 404, 404],
        ("GET /v1/locations", Tenant) =>             [401, 200, 200, 200, 200, 200, 200, 200, 200],
        ("PUT /v1/locations/{code}", Tenant) =>      [401, 403, 403, 200, 200, 403, 200, 200, 403],
        // Each cell overrides or rolls back (whichever changes it) the MX-1 breaker at WH-1.
        // The foreign admin reaches only their own tenant's MX-1 (the PUT row made one), whose
        // untouched breaker is not at the version sent: 409, and Acme's is left alone.
        ("POST /v1/skus/{code}/breaker", Tenant) =>  [401, 403, 403, 200, 200, 403, 200, 409, 403],
        ("GET /v1/stock/imbalance", Tenant) =>       [401, 403, 403, 200, 200, 403, 200, 200, 403],
        // The demand forecast is for the people who plan stock; every rep may estimate a week
        // of a SKU their tenant stocks (the other tenant has no MX-1: 404).
        ("GET /v1/forecast/demand", Tenant) =>       [401, 403, 403, 200, 200, 403, 200, 200, 403],
        ("GET /v1/stock/replenishment", Tenant) =>   [401, 403, 403, 200, 200, 403, 200, 200, 403],
        ("GET /v1/stock/reallocations", Tenant) =>   [401, 403, 403, 200, 200, 403, 200, 200, 403],
        ("PUT /v1/forecast/estimates", Tenant) =>    [401, 200, 200, 200, 200, 200, 200, 404, 404],
        // Imports are for managers and admins (reps 403 before the file is read); the cell
        // sends a JSON body, which is no table: 422 `empty_file` for those allowed.
        ("POST /v1/imports/{kind}", Tenant) =>       [401, 403, 403, 422, 422, 403, 422, 422, 403],
        ("GET /v1/exports/{kind}", Tenant) =>        [401, 200, 200, 200, 200, 200, 200, 200, 200],
        ("GET /v1/settings/orders", Tenant) =>       [401, 200, 200, 200, 200, 200, 200, 200, 200],
        ("PUT /v1/settings/orders", Tenant) =>       [401, 403, 403, 403, 403, 403, 200, 200, 403],
        ("GET /v1/grading/policy/versions", Tenant) => [401, 200, 200, 200, 200, 200, 200, 200, 200],
        ("POST /v1/grading/policy/rollback", Tenant) => [401, 403, 403, 403, 403, 403, 200, 200, 403],
        ("GET /v1/deals/{id}/materials", Tenant) =>  [401, 200, 403, 200, 403, 403, 200, 404, 404],
        ("POST /v1/deals/{id}/materials/{pack}/revoke", Tenant) => [401, 200, 403, 200, 403, 403, 200, 404, 404],
        ("POST /v1/deals/{id}/materials", Tenant) => [401, 201, 403, 201, 403, 403, 201, 404, 404],
        // The link is the authority, like a presigned URL: whoever holds it opens it, with
        // or without a bearer token (expiry and rate limits are tested in deals.rs).
        ("GET /m/{token}", Tenant) =>                [200, 200, 200, 200, 200, 200, 200, 200, 200],
        ("GET /m/{token}/files/{index}", Tenant) =>  [200, 200, 200, 200, 200, 200, 200, 200, 200],
        ("GET /v1/deals/{id}/decisions", Tenant) =>  [401, 200, 403, 200, 403, 403, 200, 404, 404],
        ("GET /v1/deals/{id}/activities", Tenant) => [401, 200, 403, 200, 403, 403, 200, 404, 404],
        ("POST /v1/deals/{id}/activities", Tenant) => [401, 201, 403, 201, 403, 403, 201, 404, 404],
        ("POST /v1/deals/{id}/uploads", Tenant) =>   [401, 201, 403, 201, 403, 403, 201, 404, 404],
        // The ticket is the authority, like a presigned URL: whoever holds it may upload (a
        // forged or expired one is 401, tested in lambda.rs).
        ("PUT /v1/upload-tickets/{ticket}", Tenant) =>      [201, 201, 201, 201, 201, 201, 201, 201, 201],

        ("GET /v1/me/tasks", Tenant) =>              [401, 200, 200, 200, 200, 200, 200, 200, 200],
        ("GET /v1/reviews", Tenant) =>               [401, 403, 403, 200, 200, 403, 200, 200, 403],
        // The assignee's (East) manager or an admin scores a completed task.
        ("POST /v1/tasks/{id}/review", Tenant) =>    [401, 403, 403, 200, 403, 403, 200, 404, 404],
        ("POST /v1/tasks/{id}/complete", Tenant) =>  [401, 200, 403, 403, 403, 403, 403, 404, 404],
        ("GET /v1/me/notifications", Tenant) =>      [401, 200, 200, 200, 200, 200, 200, 200, 200],
        ("GET /v1/metrics/pipeline", Tenant) =>      [401, 200, 200, 200, 200, 200, 200, 200, 200],
        ("GET /v1/forecast", Tenant) =>              [401, 200, 200, 200, 200, 200, 200, 200, 200],
        ("GET /v1/forecast/backtest", Tenant) =>     [401, 200, 200, 200, 200, 200, 200, 200, 200],
        ("GET /v1/metrics/leads", Tenant) =>         [401, 200, 200, 200, 200, 200, 200, 200, 200],
        ("GET /v1/decisions", Tenant) =>             [401, 403, 403, 200, 200, 403, 200, 200, 403],

        ("GET /v1/rules", Tenant) =>                 [401, 200, 200, 200, 200, 200, 200, 200, 200],
        ("POST /v1/rules", Tenant) =>                [401, 403, 403, 201, 201, 403, 201, 201, 403],
        ("POST /v1/rules/dry-run", Tenant) =>        [401, 403, 403, 200, 200, 403, 200, 200, 403],
        ("GET /v1/rules/{id}", Tenant) =>            [401, 200, 200, 200, 200, 200, 200, 404, 404],
        ("GET /v1/rules/{id}/versions", Tenant) =>   [401, 200, 200, 200, 200, 200, 200, 404, 404],
        ("PUT /v1/rules/{id}", Tenant) =>            [401, 403, 403, 200, 200, 403, 200, 404, 403],
        ("POST /v1/rules/{id}/rollback", Tenant) =>  [401, 403, 403, 200, 200, 403, 200, 404, 403],

        ("GET /v1/settings/calendar", Tenant) =>     [401, 200, 200, 200, 200, 200, 200, 200, 200],
        ("PUT /v1/settings/calendar", Tenant) =>     [401, 403, 403, 403, 403, 403, 200, 200, 403],
        ("GET /v1/channels", Tenant) =>              [401, 403, 403, 403, 403, 403, 200, 200, 403],
        ("POST /v1/channels", Tenant) =>             [401, 403, 403, 403, 403, 403, 201, 201, 403],
        ("GET /v1/channels/dead-letters", Tenant) => [401, 403, 403, 403, 403, 403, 200, 200, 403],
        ("DELETE /v1/channels/{id}", Tenant) =>      [401, 403, 403, 403, 403, 403, 204, 404, 403],
        _ => return None,
    })
}

/// The back office's cells (warehouse, purchasing) beside a row: over sales records they have
/// a rep's reach and own none of the East rep's, so they get what the other team's rep gets;
/// their duties differ.
fn with_back_office(op: &str, scene: Scene, row: [u16; 9]) -> [u16; 11] {
    let other_rep = row[5];
    let [warehouse, purchasing] = match (op, scene) {
        // Pooled leads are claimed by those who sell.
        ("POST /v1/leads/{id}/claim", Scene::Pooled) => [403, 403],
        // The warehouse keeps the counts; purchasing plans what to buy.
        ("PUT /v1/inventory", _) => [200, 403],
        ("GET /v1/forecast/demand" | "GET /v1/stock/replenishment", _) => [403, 200],
        _ => [other_rep, other_rep],
    };
    let mut all = [0; 11];
    all[..9].copy_from_slice(&row);
    all[9] = warehouse;
    all[10] = purchasing;
    all
}

/// Every operation the router serves: the generated document's, plus the document itself
/// (served beside the documented routes).
fn operations() -> Vec<(Method, String)> {
    let doc = serde_json::to_value(fieldline_app::http::openapi()).unwrap();
    let mut ops = vec![(Method::GET, "/v1/openapi.json".to_owned())];
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            ops.push((method, path.clone()));
        }
    }
    ops
}

struct World {
    app: TestApp,
    f: Fixture,
}

impl World {
    fn user(&self, who: Who) -> Option<&fieldline_domain::User> {
        let f = &self.f;
        Some(match who {
            Who::Anonymous => return None,
            Who::Owner => &f.east_rep,
            Who::Teammate => &f.east_rep2,
            Who::Manager => &f.east_manager,
            Who::OtherManager => &f.south_manager,
            Who::OtherRep => &f.south_rep,
            Who::Admin => &f.admin,
            Who::ForeignAdmin => &f.globex_admin,
            Who::ForeignRep => &f.globex_rep,
            Who::Warehouse => &f.warehouse,
            Who::Purchasing => &f.purchasing,
        })
    }

    fn token(&self, who: Who) -> Option<String> {
        self.user(who).map(|u| self.app.token(u))
    }

    fn admin(&self) -> String {
        self.app.token(&self.f.admin)
    }

    /// A fresh lead owned by the East rep, settled (intake rules done), qualified and
    /// pooled if asked.
    async fn lead(&self, n: u32, scene: Scene, qualified: bool) -> String {
        let rep = self.app.token(&self.f.east_rep);
        let id = self.app.create_lead(&rep, n).await;
        wait_for_intake(&self.app, &rep, &id).await;
        if qualified {
            let v = self.version(&id).await;
            let patch = json!({"expected_version": v, "changes": {"status": "qualified"}});
            let path = format!("/v1/leads/{id}");
            self.app.patch(&path, &rep, &patch).await.expect(200);
        }
        if scene == Scene::Pooled {
            send_to_pool(&self.app, &self.f.acme, &id).await;
        }
        id
    }

    /// A fresh deal of the East rep (converted from a qualified lead).
    async fn deal(&self, n: u32) -> String {
        let lead = self.lead(n, Scene::Owned, true).await;
        let rep = self.app.token(&self.f.east_rep);
        let path = format!("/v1/leads/{lead}/convert");
        let reply = self.app.post(&path, &rep, &json!({})).await;
        reply.expect(201).body["id"].as_str().unwrap().to_owned()
    }

    /// A fresh customer of the East rep.
    async fn customer(&self, n: u32) -> String {
        let rep = self.app.token(&self.f.east_rep);
        let body = json!({"name": format!("矩阵客户 {n} 有限公司")});
        let reply = self.app.post("/v1/customers", &rep, &body).await;
        reply.expect(201).body["id"].as_str().unwrap().to_owned()
    }

    /// A visit the East rep checked in to, at a customer of theirs.
    async fn visit(&self, n: u32) -> String {
        let rep = self.app.token(&self.f.east_rep);
        let body = json!({"customer": self.customer(n).await, "purpose": "铺货检查",
            "position": {"lat": 31.23, "lon": 121.47, "accuracy_m": 10.0}});
        let reply = self.app.post("/v1/visits", &rep, &body).await;
        reply.expect(201).body["id"].as_str().unwrap().to_owned()
    }

    /// A card the East rep started uploading (no subject).
    async fn capture_upload(&self) -> String {
        let rep = self.app.token(&self.f.east_rep);
        let body = json!({"kind": "card", "file_name": "card.jpg", "content_type": "image/jpeg",
            "size": 1000});
        let reply = self.app.post("/v1/uploads", &rep, &body).await;
        reply.expect(201).body["upload"]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// A lead list the East manager imported through an upload, once the job has run.
    async fn finished_import(&self, n: u32) -> String {
        let manager = self.app.token(&self.f.east_manager);
        let sheet = format!("name,mobile\n矩阵{n},1380000{n:04}\n").into_bytes();
        let body = json!({"kind": "import", "import": {"kind": "leads"},
            "file_name": "leads.csv", "content_type": "text/csv"});
        let id = self.app.send_upload(&manager, body, sheet).await;
        let done = self.app.finished_upload(&manager, &id).await;
        assert_eq!(done["status"], "done", "{done:#}");
        id
    }

    /// A deal of the East rep with a quote attached: (deal, upload).
    async fn deal_with_file(&self, n: u32) -> (String, String) {
        let deal = self.deal(n).await;
        let rep = self.app.token(&self.f.east_rep);
        let pdf = b"%PDF-1.4 matrix".to_vec();
        let ask = json!({"file_name": "报价单.pdf", "content_type": "application/pdf",
            "size": pdf.len()});
        let path = format!("/v1/deals/{deal}/uploads");
        let ticket = self.app.post(&path, &rep, &ask).await.expect(201).body;
        let (_, outcome) = self.app.upload(&ticket, pdf).await;
        assert_eq!(outcome["outcome"], "recorded", "{outcome}");
        (deal, ticket["upload"].as_str().unwrap().to_owned())
    }

    /// A live material link (its path) on a deal of the East rep.
    async fn material_link(&self, n: u32) -> String {
        let (deal, upload) = self.deal_with_file(n).await;
        let rep = self.app.token(&self.f.east_rep);
        let body = json!({"name": "资料", "files": [upload]});
        let path = format!("/v1/deals/{deal}/materials");
        let created = self.app.post(&path, &rep, &body).await.expect(201).body;
        created["url"].as_str().unwrap().to_owned()
    }

    /// A SKU of the tenant with plenty of stock at `WH-1`.
    async fn stocked_sku(&self) {
        let admin = self.admin();
        let sku = json!({"name": "矩阵润滑油", "unit_price": 10000, "floor_price": 8000});
        self.app
            .send(Method::PUT, "/v1/skus/MX-1", Some(&admin), Some(&sku))
            .await
            .expect(200);
        let feed = json!({"items": [{"sku": "MX-1", "location": "WH-1", "on_hand": 100000}]});
        self.app
            .send(Method::PUT, "/v1/inventory", Some(&admin), Some(&feed))
            .await
            .expect(200);
    }

    /// An order body for a fresh customer of the East rep.
    async fn order_body(&self, n: u32) -> serde_json::Value {
        self.stocked_sku().await;
        json!({"customer": self.customer(n).await, "channel": "direct", "location": "WH-1",
            "lines": [{"sku": "MX-1", "quantity": 1}], "payment_terms": {"kind": "prepaid"},
            "delivery_address": "上海市浦东新区张江路 1 号"})
    }

    /// A draft order of the East rep's.
    async fn order(&self, n: u32) -> serde_json::Value {
        let rep = self.app.token(&self.f.east_rep);
        let body = self.order_body(n).await;
        self.app
            .post("/v1/orders", &rep, &body)
            .await
            .expect(201)
            .body
    }

    async fn version(&self, lead: &str) -> u64 {
        let id = lead.parse().unwrap();
        let lead = self.app.state.leads.get_lead(&self.f.acme, id).await;
        lead.unwrap().unwrap().version
    }

    async fn rule(&self, n: u32) -> String {
        let id = format!("matrix-{n}");
        let body = json!({"id": id, "rule": rule_draft()});
        self.app
            .post("/v1/rules", &self.admin(), &body)
            .await
            .expect(201);
        id
    }

    async fn channel(&self) -> String {
        let body = json!({"kind": "webhook", "url": "http://127.0.0.1:9/matrix"});
        let reply = self.app.post("/v1/channels", &self.admin(), &body).await;
        reply.expect(201).body["id"].as_str().unwrap().to_owned()
    }

    async fn task(&self, lead: &str) -> String {
        let now = chrono::Utc::now();
        let task = Task {
            id: TaskId::new(),
            tenant: self.f.acme.clone(),
            subject: Subject::Lead(lead.parse().unwrap()),
            assignee: Some(self.f.east_rep.id),
            title: "回电话".into(),
            due_at: now + chrono::Duration::hours(2),
            done_at: None,
            created_at: now,
            rule: None,
            dedupe_key: format!("matrix-{}", TaskId::new()),
            outcome: None,
            review: None,
            remind_at: None,
            escalate_at: None,
            why: None,
        };
        assert!(self.app.state.tasks.add_task(&task).await.unwrap());
        task.id.to_string()
    }

    async fn upload_ticket(&self, lead: &str) -> String {
        let rep = self.app.token(&self.f.east_rep);
        let body = json!({"file_name": "card.jpg", "content_type": "image/jpeg", "size": 4});
        let reply = self
            .app
            .post(&format!("/v1/leads/{lead}/uploads"), &rep, &body)
            .await;
        reply.expect(201).body["url"].as_str().unwrap().to_owned()
    }

    /// Sends `op` as `who` against fresh records; returns the status and the body.
    async fn cell(
        &self,
        method: &Method,
        path: &str,
        scene: Scene,
        who: Who,
        n: u32,
    ) -> (u16, serde_json::Value) {
        let token = self.token(who);
        let token = token.as_deref();
        let op = format!("{method} {path}");
        let lead = if path.starts_with("/v1/leads/{id}") || path.starts_with("/v1/tasks/{id}") {
            let scene = if scene == Scene::Tenant {
                Scene::Owned
            } else {
                scene
            };
            Some(
                self.lead(n, scene, op == "POST /v1/leads/{id}/convert")
                    .await,
            )
        } else {
            None
        };
        let lead_id = lead.clone().unwrap_or_default();
        let (url, body): (String, Option<serde_json::Value>) = match op.as_str() {
            "POST /v1/leads" => {
                // In international form: the other tenant's region is the US.
                let mut body = lead_body(100_000 + n);
                let phone = body["contact"]["phone"].as_str().unwrap().to_owned();
                body["contact"]["phone"] = json!(format!("+86 {phone}"));
                (path.into(), Some(body))
            }
            "PATCH /v1/leads/{id}" => {
                let v = self.version(&lead_id).await;
                let body = json!({"expected_version": v, "changes": {"notes": "矩阵"}});
                (path.replace("{id}", &lead_id), Some(body))
            }
            "POST /v1/leads/{id}/activities" => {
                let body = json!({"kind": "call", "summary": "电话沟通"});
                (path.replace("{id}", &lead_id), Some(body))
            }
            "POST /v1/leads/{id}/assign" => {
                let v = self.version(&lead_id).await;
                let body = json!({"owner": self.f.east_rep2.id, "expected_version": v});
                (path.replace("{id}", &lead_id), Some(body))
            }
            "POST /v1/leads/{id}/uploads" => {
                let body =
                    json!({"file_name": "card.jpg", "content_type": "image/jpeg", "size": 4});
                (path.replace("{id}", &lead_id), Some(body))
            }
            "POST /v1/leads/{id}/claim" => (path.replace("{id}", &lead_id), None),
            "PUT /v1/upload-tickets/{ticket}" => {
                let lead = self.lead(n, Scene::Owned, false).await;
                let url = self.upload_ticket(&lead).await;
                let mut req = self
                    .app
                    .client
                    .put(format!("{}{url}", self.app.base))
                    .header("content-type", "image/jpeg")
                    .body(b"\xFF\xD8\xFF\xE0".to_vec());
                if let Some(t) = token {
                    req = req.bearer_auth(t);
                }
                let status = req.send().await.unwrap().status().as_u16();
                return (status, serde_json::Value::Null);
            }
            "GET /v1/reviews" => (format!("{path}?week=2026-W48"), None),
            "POST /v1/tasks/{id}/review" => {
                let task = self.task(&lead_id).await;
                let rep = self.app.token(&self.f.east_rep);
                let done = format!("/v1/tasks/{task}/complete");
                self.app.post(&done, &rep, &json!({})).await.expect(200);
                (path.replace("{id}", &task), Some(json!({"score": 4})))
            }
            "POST /v1/tasks/{id}/complete" => {
                let task = self.task(&lead_id).await;
                (path.replace("{id}", &task), Some(json!({})))
            }
            "GET /v1/forecast" => (format!("{path}?period=2026-11"), None),
            "GET /v1/metrics/leads"
            | "GET /v1/metrics/pipeline"
            | "GET /v1/metrics/capture"
            | "GET /v1/metrics/visits"
            | "GET /v1/visits" => (
                format!("{path}?from=2026-01-01T00:00:00Z&to=2026-12-31T00:00:00Z"),
                None,
            ),
            "POST /v1/rules" => {
                let body = json!({"id": format!("matrix-new-{n}"), "rule": rule_draft()});
                (path.into(), Some(body))
            }
            "POST /v1/rules/dry-run" => {
                (path.into(), Some(json!({"rule": rule_draft(), "days": 7})))
            }
            "GET /v1/rules/{id}" | "GET /v1/rules/{id}/versions" => {
                (path.replace("{id}", &self.rule(n).await), None)
            }
            "PUT /v1/rules/{id}" => {
                let body = json!({"expected_version": 1, "rule": rule_draft()});
                (path.replace("{id}", &self.rule(n).await), Some(body))
            }
            "POST /v1/rules/{id}/rollback" => {
                let body = json!({"to_version": 1, "expected_version": 1});
                (path.replace("{id}", &self.rule(n).await), Some(body))
            }
            "PUT /v1/settings/calendar" => {
                let body = json!({"time_zone": "Asia/Shanghai", "working_days": [1, 2, 3, 4, 5],
                    "day_start": "09:00:00", "day_end": "18:00:00"});
                (path.into(), Some(body))
            }
            "POST /v1/channels" => {
                let body = json!({"kind": "webhook", "url": "http://127.0.0.1:9/matrix"});
                (path.into(), Some(body))
            }
            "POST /v1/leads/{id}/convert" => (path.replace("{id}", &lead_id), Some(json!({}))),
            "POST /v1/customers" => {
                let body = json!({"name": format!("矩阵新客户 {n}"),
                    "contacts": [{"name": "王建国", "phones": [format!("+86136{n:08}")]}]});
                (path.into(), Some(body))
            }
            "GET /v1/customers/{id}"
            | "GET /v1/customers/{id}/activities"
            | "GET /v1/customers/{id}/grade"
            | "GET /v1/customers/{id}/grade/history" => {
                (path.replace("{id}", &self.customer(n).await), None)
            }
            "POST /v1/customers/{id}/merge" => {
                let duplicate = self.customer(n + 5000).await;
                let body = json!({"duplicate": duplicate, "expected_version": 1});
                (path.replace("{id}", &self.customer(n).await), Some(body))
            }
            "POST /v1/customers/{id}/activities" => {
                let body = json!({"kind": "call", "summary": "电话回访"});
                (path.replace("{id}", &self.customer(n).await), Some(body))
            }
            "POST /v1/customers/{id}/purchases" => {
                let body = json!({"reference": format!("INV-{n}"), "amount": 5000,
                    "at": "2026-01-05T08:00:00Z"});
                (path.replace("{id}", &self.customer(n).await), Some(body))
            }
            "POST /v1/grading/policy/rollback" => (path.into(), Some(json!({"to_version": 1}))),
            "POST /v1/uploads" => {
                let body = json!({"kind": "card", "subject": {"customer": self.customer(n).await},
                    "file_name": "card.jpg", "content_type": "image/jpeg", "size": 1000});
                (path.into(), Some(body))
            }
            "GET /v1/uploads/{id}" => (path.replace("{id}", &self.capture_upload().await), None),
            "GET /v1/uploads/{id}/report" => {
                (path.replace("{id}", &self.finished_import(n).await), None)
            }
            "POST /v1/visits" => {
                let body = json!({"customer": self.customer(n).await, "purpose": "铺货检查",
                    "position": {"lat": 31.23, "lon": 121.47, "accuracy_m": 10.0}});
                (path.into(), Some(body))
            }
            "GET /v1/visits/{id}" => (path.replace("{id}", &self.visit(n).await), None),
            "POST /v1/visits/{id}/check-out" => {
                let body = json!({"actions": ["陈列调整"]});
                (path.replace("{id}", &self.visit(n).await), Some(body))
            }
            "POST /v1/stores/{id}/sale-tags" => (
                path.replace("{id}", &self.customer(n).await),
                Some(json!({"focus": "价格", "competitor": "怡宝"})),
            ),
            "PUT /v1/settings/retail" => {
                let body = serde_json::to_value(fieldline_domain::retail::RetailPolicy::default())
                    .unwrap();
                (path.into(), Some(body))
            }
            "PUT /v1/skus/{code}" => {
                let body = json!({"name": "矩阵润滑油", "unit_price": 10000, "floor_price": 8000});
                (path.replace("{code}", "MX-1"), Some(body))
            }
            "GET /v1/skus/{code}/stock" => (path.replace("{code}", "MX-1"), None),
            "PUT /v1/inventory" => {
                self.stocked_sku().await;
                let body =
                    json!({"items": [{"sku": "MX-1", "location": "WH-1", "on_hand": 100000}]});
                (path.into(), Some(body))
            }
            "POST /v1/orders" => (path.into(), Some(self.order_body(n).await)),
            "PUT /v1/forecast/estimates" => {
                self.stocked_sku().await;
                let body = json!({"sku": "MX-1", "region": "WH-1", "week": "2030-01-07",
                    "quantity": 40});
                (path.into(), Some(body))
            }
            "POST /v1/imports/{kind}" => (
                path.replace("{kind}", "skus") + "?dry_run=true",
                Some(json!({"sku": "MX-9"})),
            ),
            "GET /v1/exports/{kind}" => (path.replace("{kind}", "orders"), None),
            "PUT /v1/locations/{code}" => (
                path.replace("{code}", "WH-1"),
                Some(json!({"name": "矩阵仓", "lat": 31.2, "lon": 121.5})),
            ),
            "POST /v1/skus/{code}/breaker" => {
                self.stocked_sku().await;
                let id = fieldline_domain::order::Code::parse("MX-1", "sku").unwrap();
                let at = fieldline_domain::order::Code::parse("WH-1", "location").unwrap();
                let breaker = self
                    .app
                    .state
                    .orders
                    .get_breaker(&self.f.acme, &id, &at)
                    .await;
                let breaker = breaker.unwrap();
                let (version, overridden) =
                    breaker.map_or((0, false), |b| (b.version, b.overridden));
                let action = if overridden { "rollback" } else { "override" };
                let body = json!({"location": "WH-1", "action": action, "reason": "矩阵",
                    "expected_version": version});
                (path.replace("{code}", "MX-1"), Some(body))
            }
            "GET /v1/orders/{id}" => {
                let order = self.order(n).await;
                (path.replace("{id}", order["id"].as_str().unwrap()), None)
            }
            "POST /v1/orders/{id}/actions" => {
                let order = self.order(n).await;
                let body = json!({"do": "submit", "expected_version": order["version"]});
                (
                    path.replace("{id}", order["id"].as_str().unwrap()),
                    Some(body),
                )
            }
            "PUT /v1/settings/orders" => {
                let body =
                    serde_json::to_value(fieldline_domain::order::OrderPolicy::default()).unwrap();
                (path.into(), Some(body))
            }
            "PUT /v1/settings/visits" => {
                let body =
                    serde_json::to_value(fieldline_domain::visit::VisitPolicy::default()).unwrap();
                (path.into(), Some(body))
            }
            "POST /v1/uploads/card-text" => {
                let body = json!({"subject": {"customer": self.customer(n).await},
                    "text": "姓名：王建国\n手机：13912345678"});
                (path.into(), Some(body))
            }
            "POST /v1/uploads/{id}/proposal" => {
                let body = json!({"decision": "merge"});
                (
                    path.replace("{id}", &self.capture_upload().await),
                    Some(body),
                )
            }
            "PUT /v1/uploads/{id}/transcript" => {
                let body = json!({"text": "明天下午三点再联系"});
                (
                    path.replace("{id}", &self.capture_upload().await),
                    Some(body),
                )
            }
            "PATCH /v1/contacts/{id}" => {
                let rep = self.app.token(&self.f.east_rep);
                let customer = self.customer(n).await;
                let body = json!({"name": "王建国", "phones": [format!("135{n:08}")]});
                let contact = self
                    .app
                    .post(&format!("/v1/customers/{customer}/contacts"), &rep, &body)
                    .await
                    .expect(201)
                    .body;
                let id = contact["id"].as_str().unwrap().to_owned();
                (
                    path.replace("{id}", &id),
                    Some(json!({"title": "采购经理"})),
                )
            }
            "PUT /v1/grading/policy" => {
                let body = serde_json::to_value(fieldline_domain::GradePolicy::default()).unwrap();
                (path.into(), Some(body))
            }
            "PATCH /v1/customers/{id}" => {
                let body = json!({"expected_version": 1, "changes": {"tags": ["重点"]}});
                (path.replace("{id}", &self.customer(n).await), Some(body))
            }
            "POST /v1/customers/{id}/contacts" => {
                let body = json!({"name": "李娜", "phones": [format!("137{n:08}")],
                    "decision_role": "influencer"});
                (path.replace("{id}", &self.customer(n).await), Some(body))
            }
            "GET /v1/deals/{id}"
            | "GET /v1/deals/{id}/history"
            | "GET /v1/deals/{id}/activities"
            | "GET /v1/deals/{id}/decisions" => (path.replace("{id}", &self.deal(n).await), None),
            "POST /v1/deals/{id}/materials" => {
                let (deal, upload) = self.deal_with_file(n).await;
                let body = json!({"name": "资料", "files": [upload]});
                (path.replace("{id}", &deal), Some(body))
            }
            "GET /v1/deals/{id}/materials" => (path.replace("{id}", &self.deal(n).await), None),
            "GET /m/{token}" => (self.material_link(n).await, None),
            "POST /v1/deals/{id}/materials/{pack}/revoke" => {
                let (deal, upload) = self.deal_with_file(n).await;
                let rep = self.app.token(&self.f.east_rep);
                let body = json!({"name": "资料", "files": [upload]});
                let path = format!("/v1/deals/{deal}/materials");
                let made = self.app.post(&path, &rep, &body).await.expect(201).body;
                let pack = made["pack"]["id"].as_str().unwrap().to_owned();
                (format!("{path}/{pack}/revoke"), None)
            }
            "GET /m/{token}/files/{index}" => {
                (format!("{}/files/0", self.material_link(n).await), None)
            }
            "POST /v1/deals/{id}/activities" => {
                let body = json!({"kind": "call", "summary": "电话沟通"});
                (path.replace("{id}", &self.deal(n).await), Some(body))
            }
            "POST /v1/deals/{id}/uploads" => {
                let body = json!({"file_name": "报价单.pdf", "content_type": "application/pdf",
                    "size": 4});
                (path.replace("{id}", &self.deal(n).await), Some(body))
            }
            "PUT /v1/pipelines/{id}" => {
                let mut p =
                    serde_json::to_value(fieldline_domain::Pipeline::default_for(&self.f.acme))
                        .unwrap();
                let draft = json!({"name": p["name"].take(), "stages": p["stages"].take(),
                    "lost_reasons": p["lost_reasons"].take()});
                (
                    path.replace("{id}", &format!("matrix-{n}")),
                    Some(json!({"pipeline": draft})),
                )
            }
            "PATCH /v1/deals/{id}" => {
                let body = json!({"expected_version": 1, "changes": {"amount": 88000}});
                (path.replace("{id}", &self.deal(n).await), Some(body))
            }
            "POST /v1/deals/{id}/stage" => {
                let body = json!({"to": "first_call", "expected_version": 1});
                (path.replace("{id}", &self.deal(n).await), Some(body))
            }
            "DELETE /v1/channels/{id}" => (path.replace("{id}", &self.channel().await), None),
            _ => (path.replace("{id}", &lead_id), None),
        };
        let reply = self
            .app
            .send(method.clone(), &url, token, body.as_ref())
            .await;
        (reply.status.as_u16(), reply.body)
    }
}

fn rule_draft() -> serde_json::Value {
    json!({"name": "矩阵 rule", "trigger": "lead_created", "enabled": false,
        "actions": [{"do": "set_priority", "priority": "A"}]})
}

#[tokio::test]
async fn every_route_answers_each_caller_as_written_down() {
    let app = TestApp::spawn_configured(|c| c.channels.allow_private_networks = true).await;
    let f = fixture(&app.state).await;
    let world = World { app, f };
    let ops = operations();
    let unwritten: Vec<String> = ops
        .iter()
        .map(|(m, p)| format!("{m} {p}"))
        .filter(|op| {
            let scenes: &[Scene] = if op.contains("/v1/leads/{id}") {
                &[Scene::Owned, Scene::Pooled]
            } else {
                &[Scene::Tenant]
            };
            scenes.iter().any(|s| expected(op, *s).is_none())
        })
        .collect();
    assert!(
        unwritten.is_empty(),
        "routes without a row in the matrix: {unwritten:?}"
    );
    assert!(ops.len() >= 31, "{} operations", ops.len());

    let mut wrong = Vec::new();
    let mut n = 0;
    let mut cells = 0;
    for (method, path) in &ops {
        let op = format!("{method} {path}");
        let scenes: &[Scene] = if path.starts_with("/v1/leads/{id}") {
            &[Scene::Owned, Scene::Pooled]
        } else {
            &[Scene::Tenant]
        };
        for &scene in scenes {
            let row = with_back_office(&op, scene, expected(&op, scene).unwrap());
            for (who, want) in WHO.iter().zip(row) {
                n += 1;
                cells += 1;
                let (got, body) = world.cell(method, path, scene, *who, n).await;
                if got != want {
                    wrong.push(format!(
                        "{op} [{scene:?}] as {who:?}: {got} {body}, expected {want}"
                    ));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {cells} cells differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
