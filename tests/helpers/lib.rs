//! Test helpers: a real Fieldline server on 127.0.0.1 with a random port and a temporary data
//! directory, a fixture of two tenants, and a small HTTP client.

use fieldline_app::http::ApiSurface;
use fieldline_app::state::Clock;
use fieldline_app::{AppState, Application, Config, admin};
use fieldline_domain::{Role, TenantId, User};
use fieldline_lambda::Functions;
use fieldline_store_aws::{DynamoStore, S3BlobStore};
use local::StreamRunner;
use reqwest::{Method, StatusCode, header::HeaderMap};
use serde_json::Value;
use std::sync::Arc;
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use serde_json::json;

pub mod bench;
pub mod capture;
pub mod local;

/// A JWT secret for tests; long enough for HS256.
pub const TEST_SECRET: &str = "test-secret-test-secret-test-secret-0123";

pub fn test_config(dir: &std::path::Path) -> Config {
    let mut config = Config {
        data_dir: dir.to_path_buf(),
        listen: "127.0.0.1:0".parse().unwrap(),
        ..Default::default()
    };
    config.auth.jwt_secret = Some(TEST_SECRET.into());
    config.limits.max_body_bytes = 64 * 1024;
    config.scheduler.tick_ms = 50;
    // The channel tests' receivers listen on 127.0.0.1.
    config.channels.allow_private_networks = true;
    config
}

/// A clock tests move by hand, so "nobody acts for 24 hours" takes no time.
pub struct ManualClock(std::sync::Mutex<fieldline_domain::Timestamp>);

impl ManualClock {
    pub fn at(start: fieldline_domain::Timestamp) -> Arc<ManualClock> {
        Arc::new(ManualClock(std::sync::Mutex::new(start)))
    }
    pub fn advance_hours(&self, hours: f64) {
        let mut now = self.0.lock().unwrap();
        *now += chrono::Duration::milliseconds((hours * 3_600_000.0) as i64);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> fieldline_domain::Timestamp {
        *self.0.lock().unwrap()
    }
}

/// Polls `check` until it returns `Some` (the scheduler ticks every 50 ms; on AWS it runs
/// after writes and when the clock moves), for at most 90 s (the AWS deployment's stream and schedule take a few polls of a shared local
/// server; with every AWS scenario of the suite on one moto, six webhook retries once took
/// over 30 s).
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..1800 {
        if let Some(v) = check().await {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

tokio::task_local! {
    /// Set by [`on_aws`]: the scenario's servers are the Lambda functions on DynamoDB + S3.
    static AWS_MODE: bool;
}

/// Runs a black-box scenario against the AWS deployment instead of the embedded server:
/// every `TestApp::spawn*` inside it wires the Lambda functions' handlers to a fresh table
/// and bucket on the local DynamoDB/S3-protocol server (moto), serves the API routers over
/// HTTP, runs the scheduled function, and delivers the table's stream to the stream handler.
pub async fn on_aws<F: std::future::Future>(scenario: F) -> F::Output {
    AWS_MODE.scope(true, scenario).await
}

fn aws_mode() -> bool {
    AWS_MODE.try_with(|on| *on).unwrap_or(false)
}

/// Generates, for each named scenario of the calling module, one test on the embedded
/// server (`embedded::name`) and one on the AWS functions (`aws::name`), so the two
/// deployments cannot drift apart.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name().await
                }
            )*
        }
        mod aws {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::on_aws(super::$name()).await
                }
            )*
        }
    };
}

/// The local DynamoDB/S3 server the test script started.
pub fn moto_endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL_DYNAMODB").expect(
        "AWS_ENDPOINT_URL_DYNAMODB is not set: run `bash scripts/test.sh`, which starts moto",
    )
}

/// The Lambda functions' wiring on table and bucket `name` of the local server; `create`
/// makes both first (without, calls fail as they would against a missing table).
pub async fn aws_functions(
    name: &str,
    data_dir: &std::path::Path,
    clock: Arc<dyn Clock>,
    create: bool,
    adjust: impl FnOnce(&mut Config),
) -> Functions {
    let endpoint = moto_endpoint();
    let dynamo = DynamoStore::connect_local(&endpoint, name).await;
    let s3 = S3BlobStore::connect_local(&endpoint, name).await;
    if create {
        dynamo.create_table().await.expect("table created");
        s3.create_bucket().await.expect("bucket created");
    }
    let stores = fieldline_aws::stores_of(dynamo, s3.clone());
    let mut config = test_config(data_dir);
    config.storage.backend = fieldline_app::config::StorageBackend::Aws;
    config.storage.table = name.to_owned();
    config.storage.bucket = name.to_owned();
    adjust(&mut config);
    Functions::from_parts(config, stores, s3, clock).expect("functions build")
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub state: AppState,
    pub dir: Arc<TempDir>,
    /// The Lambda handlers behind an AWS-mode app (`None` on the embedded server).
    pub functions: Option<Functions>,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<anyhow::Result<()>>>,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        if aws_mode() {
            return Self::spawn_aws(Arc::new(fieldline_app::state::SystemClock)).await;
        }
        Self::spawn_in(Arc::new(tempfile::tempdir().unwrap())).await
    }

    /// Starts a server (or the AWS functions) with a clock the test moves and the test
    /// configuration changed by `adjust`.
    pub async fn spawn_with(clock: Arc<ManualClock>, adjust: impl FnOnce(&mut Config)) -> TestApp {
        if aws_mode() {
            return Self::spawn_aws_with(clock, adjust).await;
        }
        let dir = Arc::new(tempfile::tempdir().unwrap());
        let mut config = test_config(dir.path());
        adjust(&mut config);
        let app = fieldline::build_with_clock(config, clock).expect("application builds");
        Self::serve(app, dir).await
    }

    /// Starts a server whose clock the test moves.
    pub async fn spawn_with_clock(clock: Arc<ManualClock>) -> TestApp {
        if aws_mode() {
            return Self::spawn_aws(clock).await;
        }
        let dir = Arc::new(tempfile::tempdir().unwrap());
        let config = test_config(dir.path());
        let app = fieldline::build_with_clock(config, clock).expect("application builds");
        Self::serve(app, dir).await
    }

    /// Starts a server with the test configuration changed by `adjust`.
    pub async fn spawn_configured(adjust: impl FnOnce(&mut Config)) -> TestApp {
        let dir = Arc::new(tempfile::tempdir().unwrap());
        let mut config = test_config(dir.path());
        adjust(&mut config);
        let app = fieldline::build(config).expect("application builds");
        Self::serve(app, dir).await
    }

    /// Starts a server on an existing data directory (a restart).
    pub async fn spawn_in(dir: Arc<TempDir>) -> TestApp {
        let config = test_config(dir.path());
        let app = fieldline::build(config).expect("application builds");
        Self::serve(app, dir).await
    }

    /// The AWS deployment on the local DynamoDB/S3 server (see [`on_aws`]).
    async fn spawn_aws(clock: Arc<dyn Clock>) -> TestApp {
        Self::spawn_aws_with(clock, |_| {}).await
    }

    async fn spawn_aws_with(clock: Arc<dyn Clock>, adjust: impl FnOnce(&mut Config)) -> TestApp {
        let endpoint = moto_endpoint();
        let dir = Arc::new(tempfile::tempdir().unwrap());
        let name = format!("fieldline-e2e-{}", uuid::Uuid::now_v7().simple());
        let functions = aws_functions(&name, dir.path(), clock, true, adjust).await;
        let state = functions.application().state().clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = oneshot::channel::<()>();
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let tick = std::time::Duration::from_millis(50);
        let stream = StreamRunner::new(functions.clone(), &endpoint, &name);
        let capture = StreamRunner::capture(functions.clone(), &endpoint, &name);
        let wrote = Arc::new(tokio::sync::Notify::new());
        let jobs = [
            tokio::spawn(stream.run(tick, wrote.clone(), stop_rx.clone())),
            tokio::spawn(capture.run(tick, wrote.clone(), stop_rx.clone())),
            tokio::spawn(local::run_schedule(functions.clone(), wrote, stop_rx)),
        ];
        let router = functions.router(ApiSurface::All);
        let handle = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                    let _ = stop_tx.send(true);
                })
                .await?;
            for job in jobs {
                job.await?;
            }
            Ok(())
        });
        TestApp {
            base,
            client: reqwest::Client::new(),
            state,
            dir,
            functions: Some(functions),
            shutdown: Some(tx),
            handle: Some(handle),
        }
    }

    async fn serve(app: Application, dir: Arc<TempDir>) -> TestApp {
        let state = app.state().clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(app.serve(listener, async {
            let _ = rx.await;
        }));
        TestApp {
            base,
            client: reqwest::Client::new(),
            state,
            dir,
            functions: None,
            shutdown: Some(tx),
            handle: Some(handle),
        }
    }

    /// Stops gracefully and hands back the data directory.
    pub async fn stop(mut self) -> Arc<TempDir> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            h.await.unwrap().unwrap();
        }
        self.dir.clone()
    }

    pub fn token(&self, user: &User) -> String {
        self.state.tokens.issue(user, chrono::Utc::now())
    }

    /// Sends a request; returns status, JSON body (Null when empty) and headers.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Reply {
        self.send_with(method, path, token, body, &[]).await
    }

    pub async fn send_with(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = self
            .client
            .request(method, format!("{}{}", self.base, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Reply::from(req.send().await.expect("request sent")).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.send(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Reply {
        self.send(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: &Value) -> Reply {
        self.send(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    /// Switches an automation rule off through the API (for tests that assign by hand).
    pub async fn disable_rule(&self, token: &str, id: &str) {
        let mut rule = self
            .get(&format!("/v1/rules/{id}"), token)
            .await
            .expect(200)
            .body;
        let version = rule["version"].clone();
        let draft = rule.as_object_mut().unwrap();
        for key in ["id", "tenant", "version", "changed_by", "changed_at"] {
            draft.remove(key);
        }
        draft.insert("enabled".into(), Value::Bool(false));
        let body = json!({"expected_version": version, "rule": draft});
        self.send(
            Method::PUT,
            &format!("/v1/rules/{id}"),
            Some(token),
            Some(&body),
        )
        .await
        .expect(200);
    }

    /// Creates a lead from `lead_body(n)` and returns its id.
    pub async fn create_lead(&self, token: &str, n: u32) -> String {
        let reply = self
            .post("/v1/leads", token, &lead_body(n))
            .await
            .expect(201);
        reply.body["id"].as_str().expect("lead id").to_owned()
    }

    /// Sends `bytes` to an upload ticket the API handed out, as a phone does: to this server
    /// (embedded) or to S3 (AWS), where the test then delivers the bucket's "object created"
    /// event to the upload function, as S3 would. Returns the status of the PUT and what the
    /// check made of the file (the embedded server's reply, the function's outcome on AWS).
    pub async fn upload(&self, ticket: &Value, bytes: Vec<u8>) -> (u16, Value) {
        let url = ticket["url"].as_str().expect("an upload url");
        let target = if url.starts_with('/') {
            format!("{}{url}", self.base)
        } else {
            url.to_owned()
        };
        let mut req = self.client.put(target).body(bytes);
        for (name, value) in ticket["headers"].as_object().expect("upload headers") {
            req = req.header(name, value.as_str().unwrap());
        }
        let resp = req.send().await.expect("upload sent");
        let status = resp.status().as_u16();
        let body = resp.json::<Value>().await.unwrap_or_default();
        let Some(functions) = &self.functions else {
            return (status, body);
        };
        assert!(
            (200..300).contains(&status),
            "S3 refused the upload: {status}"
        );
        // A path-style URL: http://host/{bucket}/{object key}?{signature}
        let path = url.split('?').next().unwrap();
        let mut parts = path.splitn(5, '/');
        let bucket = parts.nth(3).expect("a path-style S3 url").to_owned();
        let key = parts.next().expect("an object key").to_owned();
        let sample = format!(
            "{}/../events/s3-object-created-upload.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(sample)
            .expect("the S3 event sample")
            .replace("{{BUCKET}}", &bucket)
            .replace("{{KEY}}", &key);
        let event: aws_lambda_events::event::s3::S3Event =
            serde_json::from_str(&text).expect("an S3 event");
        let outcomes = functions
            .on_upload(event)
            .await
            .expect("the upload function ran");
        (status, serde_json::to_value(&outcomes[0]).unwrap())
    }

    /// Starts an upload (`POST /v1/uploads` with `body`, its size filled in) and sends
    /// `bytes` to its ticket, as a phone or the web app does; the upload's id.
    pub async fn send_upload(&self, token: &str, mut body: Value, bytes: Vec<u8>) -> String {
        body["size"] = serde_json::json!(bytes.len());
        let started = self
            .post("/v1/uploads", token, &body)
            .await
            .expect(201)
            .body;
        assert_eq!(started["upload"]["status"], "pending");
        let (status, outcome) = self.upload(&started["ticket"], bytes).await;
        assert!((200..300).contains(&status), "{status} {outcome}");
        started["upload"]["id"].as_str().unwrap().to_owned()
    }

    /// Puts an upload of `tenant` back to `processing`, changed by `reset`, as if the process
    /// had died before marking it finished; its id.
    pub async fn rewind_upload(
        &self,
        tenant: &TenantId,
        id: &str,
        reset: impl FnOnce(&mut fieldline_domain::Upload),
    ) -> fieldline_domain::UploadId {
        let id: fieldline_domain::UploadId = id.parse().expect("an upload id");
        let mut upload = self.stored_upload(tenant, id).await;
        let before = upload.version;
        upload.status = fieldline_domain::UploadStatus::Processing;
        reset(&mut upload);
        upload.version += 1;
        self.state
            .uploads
            .update_upload(&upload, before, &[])
            .await
            .expect("the upload rewound");
        id
    }

    /// An upload as stored, read past the API.
    pub async fn stored_upload(
        &self,
        tenant: &TenantId,
        id: fieldline_domain::UploadId,
    ) -> fieldline_domain::Upload {
        self.state
            .uploads
            .get_upload(tenant, id)
            .await
            .expect("the upload read")
            .expect("the upload exists")
    }

    /// The upload once processing (capture, an import) is finished with it: done or failed.
    pub async fn finished_upload(&self, token: &str, id: &str) -> Value {
        let path = format!("/v1/uploads/{id}");
        eventually("the upload to finish", || async {
            let u = self.get(&path, token).await.expect(200).body;
            matches!(u["status"].as_str(), Some("done" | "failed")).then_some(u)
        })
        .await
    }

    /// The body of a GET that must answer 200 (an export file), as bytes.
    pub async fn download(&self, path: &str, token: &str) -> Vec<u8> {
        let resp = self
            .client
            .get(format!("{}{}", self.base, path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request sent");
        assert_eq!(resp.status().as_u16(), 200, "{path}");
        resp.bytes().await.expect("body read").to_vec()
    }

    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Reply {
        let req = self
            .client
            .request(method, format!("{}{}", self.base, path))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body);
        Reply::from(req.send().await.expect("request sent")).await
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub headers: HeaderMap,
}

impl Reply {
    async fn from(resp: reqwest::Response) -> Reply {
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Reply {
            status,
            body,
            headers,
        }
    }

    /// The stable error code of an error reply.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    #[track_caller]
    pub fn expect(self, status: u16) -> Reply {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected reply: {:#}",
            self.body
        );
        self
    }
}

/// Two tenants. In `acme`: team East (manager + two reps), team South (manager + one rep), an
/// admin. In `globex`: an admin and a rep.
pub struct Fixture {
    pub acme: TenantId,
    pub admin: User,
    pub east_manager: User,
    pub east_rep: User,
    pub east_rep2: User,
    pub south_manager: User,
    pub south_rep: User,
    /// The back office: no team, duties instead of sales records.
    pub warehouse: User,
    pub purchasing: User,
    pub globex_admin: User,
    pub globex_rep: User,
}

pub async fn fixture(state: &AppState) -> Fixture {
    admin::add_tenant(state, "acme", "Acme 机电", "Asia/Shanghai", "CN")
        .await
        .unwrap();
    admin::add_tenant(state, "globex", "Globex", "America/New_York", "US")
        .await
        .unwrap();
    let acme = TenantId::parse("acme").unwrap();
    let globex = TenantId::parse("globex").unwrap();
    admin::add_team(state, &acme, "East").await.unwrap();
    admin::add_team(state, &acme, "South").await.unwrap();
    admin::add_team(state, &globex, "Sales").await.unwrap();
    let user = |t: &TenantId, email: &str, role: Role, team: Option<&str>| {
        let t = t.clone();
        let email = email.to_owned();
        let team = team.map(str::to_owned);
        async move {
            admin::add_user(state, &t, &email, "测试 User", role, team.as_deref())
                .await
                .unwrap()
        }
    };
    Fixture {
        admin: user(&acme, "admin@acme.cn", Role::Admin, None).await,
        east_manager: user(&acme, "em@acme.cn", Role::Manager, Some("East")).await,
        east_rep: user(&acme, "er1@acme.cn", Role::Rep, Some("East")).await,
        east_rep2: user(&acme, "er2@acme.cn", Role::Rep, Some("East")).await,
        south_manager: user(&acme, "sm@acme.cn", Role::Manager, Some("South")).await,
        south_rep: user(&acme, "sr1@acme.cn", Role::Rep, Some("South")).await,
        warehouse: user(&acme, "wh@acme.cn", Role::Warehouse, None).await,
        purchasing: user(&acme, "buy@acme.cn", Role::Purchasing, None).await,
        globex_admin: user(&globex, "admin@globex.com", Role::Admin, None).await,
        globex_rep: user(&globex, "rep@globex.com", Role::Rep, Some("Sales")).await,
        acme,
    }
}

/// A valid lead body; `n` varies the contact so leads are distinguishable.
pub fn lead_body(n: u32) -> Value {
    json!({
        "source": "trade_show",
        "contact": {
            "name": format!("王建国{n}"),
            "phone": format!("139 {:04} {:04}", n / 10_000 % 10_000, n % 10_000),
            "company": "苏州精密机械有限公司",
            "title": "采购经理"
        },
        "prescreen": {
            "current_brand": "ABB",
            "purchase_urgency": "within_month",
            "decision_role": "decision_maker",
            "budget": {"min": 100000, "max": 300000, "currency": "CNY"}
        }
    })
}

/// Waits until the rules have handled a lead's creation (the intake rule's decision is in its
/// log). The rules read the lead as it is when they run, so a test that changes a lead behind
/// their back (e.g. pools it) waits for this first.
/// The decisions at `path` (a lead's or a deal's decision log) made by `rule`, once there
/// are at least `count` of them.
pub async fn decisions_of_rule(
    app: &TestApp,
    token: &str,
    path: &str,
    rule: &str,
    count: usize,
) -> Vec<Value> {
    eventually(&format!("{count} decisions of {rule}"), || async {
        let all = app.get(path, token).await.expect(200).body;
        let of_rule: Vec<Value> = all
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["rule"] == rule)
            .cloned()
            .collect();
        (of_rule.len() >= count).then_some(of_rule)
    })
    .await
}

pub async fn wait_for_intake(app: &TestApp, token: &str, id: &str) {
    eventually("creation handled by the rules", || async {
        let decisions = app
            .get(&format!("/v1/leads/{id}/decisions"), token)
            .await
            .expect(200)
            .body;
        decisions
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["rule"] == "intake-sla-clocks")
            .then_some(())
    })
    .await;
}

/// Puts a lead in the pool the way the stale-lead rule does.
pub async fn send_to_pool(app: &TestApp, tenant: &fieldline_domain::TenantId, id: &str) {
    let id: fieldline_domain::LeadId = id.parse().unwrap();
    let mut lead = app.state.leads.get_lead(tenant, id).await.unwrap().unwrap();
    let before = lead.version;
    let cause = fieldline_domain::Cause {
        rule: "return-stale-to-pool".into(),
        rule_version: 1,
        depth: 1,
    };
    let events = lead
        .return_to_pool("stale", &cause, chrono::Utc::now())
        .unwrap();
    app.state
        .leads
        .update_lead(&lead, before, &events)
        .await
        .unwrap();
}
