//! Test support: a fresh Eligo per test (SQLite in a temp dir, or PostgreSQL from the testkit),
//! a mock clock, and helpers that speak HTTP to the router exactly as a client would.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use chrono::{DateTime, TimeDelta, Utc};
use eligo::app::AppState;
use eligo::clock::MockClock;
use eligo::config::{Config, Secret};
use eligo::router::build_router;
use eligo_core::audit::{AuditEvent, Category, Initiator};
use eligo_core::schedule::{AssignmentType, RoleSchedule, ScheduleKind};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use uuid::Uuid;

pub const BOOTSTRAP: &str = "test-bootstrap-token-0123456789";
/// The master key of every in-process test app (base64 of 32 bytes).
pub const TEST_MASTER_KEY: &str = "dGVzdC1tYXN0ZXIta2V5LW9mLWVsaWdvLXRlc3RzLTE=";
pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    pub app: AppState,
    pub router: Router,
    pub clock: Arc<MockClock>,
    pub dir: std::path::PathBuf,
    /// The TOTP secrets of the people `person` enrolled, by nick (`sign_in` needs them).
    pub secrets: std::sync::Mutex<std::collections::HashMap<String, String>>,
}

pub fn start_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// Every `.rs` file below `dir` (for the tests that read the sources: layers, imports).
pub fn rust_sources(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

pub fn temp_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("eligo-it-{tag}-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

impl TestApp {
    pub async fn new() -> Self {
        let dir = temp_dir("app");
        let url = format!("sqlite://{}", dir.join("eligo.db").display());
        Self::with_url(url, dir).await
    }

    /// The same app on a fresh PostgreSQL database; None (after the testkit's loud SKIPPED
    /// message) where no PostgreSQL can be had.
    pub async fn postgres() -> Option<Self> {
        let url = eligo_testkit::postgres_database().await?;
        Some(Self::with_url(url, temp_dir("pg")).await)
    }

    /// As [`Self::postgres`], with the configuration `adjust` changes first.
    pub async fn postgres_configured(adjust: impl FnOnce(&mut Config)) -> Option<Self> {
        let url = eligo_testkit::postgres_database().await?;
        Some(Self::build(url, temp_dir("pg"), adjust).await)
    }

    /// A second Eligo on the same database, as after a restart, with its own clock set to
    /// `at` (the first instance stays alive only so its Drop does not remove the database).
    pub async fn restarted(&self, at: DateTime<Utc>) -> Self {
        let url = self.app.config.database_url.expose().to_string();
        let t = Self::with_url(url, temp_dir("restart")).await;
        t.clock.set(at);
        t
    }

    /// As [`Self::restarted`], with the configuration `adjust` changes (mail, intervals...).
    pub async fn restarted_with(
        &self,
        at: DateTime<Utc>,
        adjust: impl FnOnce(&mut Config),
    ) -> Self {
        let url = self.app.config.database_url.expose().to_string();
        let t = Self::build(url, temp_dir("restart"), adjust).await;
        t.clock.set(at);
        t
    }

    /// A fresh app (SQLite) whose configuration `adjust` changes first (mail, links...).
    pub async fn configured(adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = temp_dir("app");
        let url = format!("sqlite://{}", dir.join("eligo.db").display());
        Self::build(url, dir, adjust).await
    }

    async fn with_url(url: String, dir: std::path::PathBuf) -> Self {
        Self::build(url, dir, |_| {}).await
    }

    /// A fresh app (SQLite) with the demo tenant of `eligo serve --demo`.
    pub async fn demo() -> Self {
        let dir = temp_dir("demo");
        let url = format!("sqlite://{}", dir.join("eligo.db").display());
        Self::build_with(url, dir, |_| {}, true).await
    }

    /// The demo tenant with the configuration `adjust` changes first (a public URL...).
    pub async fn demo_configured(adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = temp_dir("demo");
        let url = format!("sqlite://{}", dir.join("eligo.db").display());
        Self::build_with(url, dir, adjust, true).await
    }

    async fn build(url: String, dir: std::path::PathBuf, adjust: impl FnOnce(&mut Config)) -> Self {
        Self::build_with(url, dir, adjust, false).await
    }

    async fn build_with(
        url: String,
        dir: std::path::PathBuf,
        adjust: impl FnOnce(&mut Config),
        demo: bool,
    ) -> Self {
        let mut config = Config::defaults();
        config.database_url = Secret::new(url);
        config.data_dir = dir.clone();
        config.bootstrap_token = Some(Secret::new(BOOTSTRAP));
        // One key for every test app, so a restart on the same database opens it.
        config.master_key = Some(Secret::new(TEST_MASTER_KEY));
        // The tests' receivers, slapd and SCIM servers listen on loopback.
        config.outbound_allow = loopback_nets();
        // Tests verify the chain before and after what they do; the walk's ration (one per
        // interval) is tested on its own in `limits`.
        config.audit_verify_interval = TimeDelta::zero();
        adjust(&mut config);
        let clock = Arc::new(MockClock::at(start_time()));
        let (app, _) = eligo::server::prepare(config, clock.clone(), demo)
            .await
            .expect("app starts");
        let router = build_router(app.clone());
        Self {
            app,
            router,
            clock,
            dir,
            secrets: Default::default(),
        }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        // Tests write filters readably (`$filter=x eq 'y'`); encode what a URI cannot hold.
        let uri = path.replace(' ', "%20").replace('\'', "%27");
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let req = match body {
            Some(b) => req
                .header("content-type", "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        }
        .unwrap();
        self.raw(req).await
    }

    pub async fn raw(&self, req: Request<Body>) -> (StatusCode, Value) {
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        (status, body)
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, Some(token), None).await
    }

    /// Creates a user with `PASSWORD` through the API (as break-glass) and returns its id.
    pub async fn user(&self, nick: &str) -> Uuid {
        let (status, body) = self
            .post(
                "/v1/users",
                BOOTSTRAP,
                json!({ "userPrincipalName": format!("{nick}@contoso.example"), "displayName": nick, "passwordProfile": { "password": PASSWORD } }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        Uuid::parse_str(body["id"].as_str().unwrap()).unwrap()
    }

    /// A session for `nick`: the password sign-in for people without an authenticator; for
    /// people `person` enrolled, a session that proved password and code now (written directly,
    /// so the mock clock need not move to the next TOTP step).
    pub async fn sign_in(&self, nick: &str) -> String {
        let enrolled = self.secrets.lock().unwrap().contains_key(nick);
        if enrolled {
            return self.mfa_session(nick).await;
        }
        self.password_sign_in(nick).await
    }

    async fn mfa_session(&self, nick: &str) -> String {
        let user = {
            let mut tx = self.app.store.read().await.unwrap();
            tx.find_user_by_upn(&format!("{nick}@contoso.example"))
                .await
                .unwrap()
                .expect("user")
        };
        self.session_of(user.id, eligo_store::SessionChannel::Api)
            .await
    }

    /// A portal session (the cookie's value) for `principal` that proved password and code now,
    /// as the portal's sign-in makes it.
    pub async fn portal_session(&self, principal: Uuid) -> String {
        self.session_of(principal, eligo_store::SessionChannel::Portal)
            .await
    }

    /// A portal session for `principal` from the password alone (as the portal grants people
    /// without an authenticator).
    pub async fn portal_password_session(&self, principal: Uuid) -> String {
        let raw = self
            .session_of(principal, eligo_store::SessionChannel::Portal)
            .await;
        let mut tx = self.app.store.write().await.unwrap();
        let hash = eligo::auth::token::digest(&raw);
        let mut record = tx.get_token(&hash).await.unwrap().unwrap();
        record.last_mfa_at = None;
        record.amr = vec!["pwd".into()];
        tx.update_token(&record).await.unwrap();
        tx.commit().await.unwrap();
        raw
    }

    /// A session for `principal` on `channel` that proved password and code now, written directly.
    pub async fn session_of(
        &self,
        principal: Uuid,
        channel: eligo_store::SessionChannel,
    ) -> String {
        let now = self.clock.now_utc();
        let mut tx = self.app.store.write().await.unwrap();
        let raw = eligo::auth::token::generate("elg_");
        tx.insert_token(&eligo_store::TokenRecord {
            token_hash: eligo::auth::token::digest(&raw),
            principal_id: principal,
            created_at: now,
            expires_at: Some(now + self.app.config.token_lifetime),
            revoked_at: None,
            last_mfa_at: Some(now),
            amr: vec!["pwd".into(), "otp".into()],
            channel,
            acr: None,
            acr_at: None,
        })
        .await
        .unwrap();
        tx.commit().await.unwrap();
        raw
    }

    /// Signs in with the password alone (the API refuses it for people with an authenticator).
    pub async fn password_sign_in(&self, nick: &str) -> String {
        let (status, body) = self
            .call(
                Method::POST,
                "/v1/auth/token",
                None,
                Some(
                    json!({ "username": format!("{nick}@contoso.example"), "password": PASSWORD }),
                ),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["access_token"].as_str().unwrap().to_string()
    }

    /// A user holding `role` actively (permanent), signed in. Role assignment has its own API
    /// in the PIM issue; here the schedule is written through the store with its audit entry.
    /// The session has a fresh second factor (the authenticator was just enrolled), as
    /// administration needs (threat-model rule 4); `admin_person` keeps the secret to step up.
    pub async fn admin(&self, nick: &str, role: &str) -> (Uuid, String) {
        let p = self.admin_person(nick, role).await;
        (p.id, p.token)
    }

    /// A user holding `role` actively (permanent), with an authenticator, signed in with MFA.
    pub async fn admin_person(&self, nick: &str, role: &str) -> Person {
        let p = self.person(nick).await;
        self.grant(p.id, role, ScheduleKind::Active, None).await;
        p
    }

    pub async fn grant(
        &self,
        principal: Uuid,
        role: &str,
        kind: ScheduleKind,
        end: Option<TimeDelta>,
    ) {
        let now = self.clock.now_utc();
        let role_id = Uuid::parse_str(role).unwrap();
        let mut tx = self.app.store.write().await.unwrap();
        tx.insert_role_schedule(&RoleSchedule::new(
            Uuid::new_v4(),
            kind,
            principal,
            role_id,
            "/",
            (now, end.map(|d| now + d)),
            AssignmentType::Assigned,
            None,
            now,
        ))
        .await
        .unwrap();
        tx.append_audit(
            AuditEvent::new(
                now,
                Category::RoleManagement,
                "Add member to role",
                Initiator::system(),
            )
            .target(role_id, "Role", None)
            .target(principal, "User", None)
            .modified("Assignment type", "", "Active"),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
}

pub trait NowUtc {
    fn now_utc(&self) -> DateTime<Utc>;
}

impl NowUtc for MockClock {
    fn now_utc(&self) -> DateTime<Utc> {
        eligo::clock::Clock::now(self)
    }
}

impl TestApp {
    /// How many audit entries record something that happened: every entry but the records of
    /// refused attempts and of the break-glass token's own use (which reading with it adds).
    pub async fn recorded_changes(&self) -> usize {
        let (status, body) = self
            .get("/v1/auditLogs/directoryAudits?$top=999", BOOTSTRAP)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let all = body["value"].as_array().cloned().unwrap_or_default();
        assert!(all.len() < 999, "too many entries to count");
        all.iter()
            .filter(|e| {
                e["activityDisplayName"] != "Break-glass token used" && e["result"] != "failure"
            })
            .count()
    }
}

/// Loopback, where the tests' components listen: what `ELIGO_OUTBOUND_ALLOW` opens for them.
pub fn loopback_nets() -> Vec<ipnet::IpNet> {
    eligo::config::networks::parse("127.0.0.0/8, ::1").unwrap()
}

/// The outbound policy of the tests: internal addresses refused, loopback allowed.
pub fn loopback() -> eligo::outbound::Outbound {
    eligo::outbound::Outbound::allowing(loopback_nets())
}

/// The ids `/v1/groups/{group}/{what}` answers (`members`, `owners`, `transitiveMembers`).
pub async fn member_ids(t: &TestApp, group: Uuid, what: &str) -> Vec<Uuid> {
    let (status, body) = t
        .get(&format!("/v1/groups/{group}/{what}"), BOOTSTRAP)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect()
}

pub fn id_of(v: &Value) -> Uuid {
    Uuid::parse_str(v["id"].as_str().expect("an id")).unwrap()
}

pub fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("<no error code>")
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Best effort: a test's database lives only as long as the test.
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A signed-in user with TOTP enrolled, able to step up.
pub struct Person {
    pub id: Uuid,
    pub token: String,
    pub secret: String,
}

pub const ASSIGNMENT_URL: &str = "/v1/roleManagement/directory/roleAssignmentScheduleRequests";
pub const ELIGIBILITY_URL: &str = "/v1/roleManagement/directory/roleEligibilityScheduleRequests";

impl TestApp {
    /// A user, signed in, with a verified authenticator.
    pub async fn person(&self, nick: &str) -> Person {
        let id = self.user(nick).await;
        let token = self.sign_in(nick).await;
        let (status, body) = self
            .post("/v1/me/authenticationMethods/totp", &token, json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let secret = body["secret"].as_str().unwrap().to_string();
        let code = eligo::auth::totp::code_at(&secret, self.clock.now_utc()).unwrap();
        let (status, body) = self
            .post(
                "/v1/me/authenticationMethods/totp/verify",
                &token,
                json!({ "otp": code }),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        self.secrets
            .lock()
            .unwrap()
            .insert(nick.to_string(), secret.clone());
        Person { id, token, secret }
    }

    /// Proves a fresh second factor on the person's session (moving the clock to the next
    /// TOTP step, since a code is accepted once).
    pub async fn step_up(&self, p: &Person) {
        self.clock.advance(TimeDelta::seconds(30));
        let code = eligo::auth::totp::code_at(&p.secret, self.clock.now_utc()).unwrap();
        let (status, body) = self
            .post("/v1/auth/stepup", &p.token, json!({ "otp": code }))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    /// Makes `principal` eligible for `role` at `/` for 30 days, through the API.
    pub async fn make_eligible(&self, principal: Uuid, role: &str) -> Value {
        let (status, body) = self
            .post(
                ELIGIBILITY_URL,
                BOOTSTRAP,
                json!({
                    "action": "adminAssign", "principalId": principal, "roleDefinitionId": role,
                    "directoryScopeId": "/", "justification": "standing eligibility",
                    "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "P30D" } },
                }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }

    /// Changes one rule of `role`'s policy as break-glass.
    pub async fn set_rule(&self, role: &str, rule_id: &str, body: Value) {
        let policy = format!("DirectoryRole_{role}");
        let (status, answer) = self
            .patch(
                &format!("/v1/policies/roleManagementPolicies/{policy}/rules/{rule_id}"),
                BOOTSTRAP,
                body,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }

    /// A self-activation of `role` at `/` for `duration`, with whatever else `extra` adds.
    pub async fn activate(
        &self,
        p: &Person,
        role: &str,
        duration: &str,
        extra: Value,
    ) -> (StatusCode, Value) {
        let mut body = json!({
            "action": "selfActivate", "principalId": p.id, "roleDefinitionId": role,
            "directoryScopeId": "/", "justification": "incident response",
            "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": duration } },
        });
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                b.insert(k.clone(), v.clone());
            }
        }
        self.post(ASSIGNMENT_URL, &p.token, body).await
    }

    /// Moves the clock and runs the scheduler as `eligo serve` would.
    pub async fn tick(&self, d: TimeDelta) -> eligo::service::pim::scheduler::Pass {
        self.clock.advance(d);
        eligo::service::pim::scheduler::run_due(&self.app)
            .await
            .expect("scheduler pass")
    }

    /// The caller's active role ids right now, from `/v1/me/roles`.
    pub async fn active_roles(&self, token: &str) -> Vec<String> {
        let (status, body) = self.get("/v1/me/roles", token).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["value"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["kind"] == "active" && r["isCurrent"] == true)
            .filter_map(|r| r["roleDefinitionId"].as_str().map(String::from))
            .collect()
    }
}

/// The detail codes of a refusal, in order.
pub fn detail_codes(v: &Value) -> Vec<String> {
    v["error"]["details"]
        .as_array()
        .map(|d| {
            d.iter()
                .map(|x| x["code"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

impl TestApp {
    /// The audit entries recorded as `activity`, newest first (read with the break-glass token).
    pub async fn audited_as(&self, activity: &str) -> Vec<Value> {
        let (status, body) = self
            .get(
                &format!(
                    "/v1/auditLogs/directoryAudits?$filter=activityDisplayName eq '{activity}'"
                ),
                BOOTSTRAP,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["value"].as_array().cloned().unwrap_or_default()
    }

    /// Asserts that exactly one attempt at `activity` was refused, with `code`, by `who`.
    pub async fn assert_one_refusal(&self, activity: &str, code: &str, who: Uuid) {
        let entries = self.audited_as(activity).await;
        let refused: Vec<&Value> = entries
            .iter()
            .filter(|e| e["result"] == "failure")
            .collect();
        assert_eq!(refused.len(), 1, "{activity}: {entries:?}");
        let e = refused[0];
        assert_eq!(e["initiatedBy"]["user"]["id"], json!(who), "{e}");
        let details = e["additionalDetails"].as_array().unwrap();
        assert!(
            details
                .iter()
                .any(|d| d["key"] == "code" && d["value"] == code),
            "{e}"
        );
    }
}
