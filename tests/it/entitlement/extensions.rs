//! Custom extensions: administered per catalog (the endpoint held to the outbound rules),
//! named by policies only from their package's catalog, called at a request's stages with a
//! signed event through the outbox (a real receiver on loopback verifies each signature), and,
//! with a callback, holding the request until `resume` lets it go on or ends it, or until its
//! timeout denies it. Resuming is an administrator's (the endpoint's identity) with the stage
//! instance id that only the endpoint got, once, in time; every refusal changes nothing and is
//! audited.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use chrono::TimeDelta;
use eligo::notify::signing;
use eligo_core::roles::ids;
use serde_json::{Value, json};
use uuid::Uuid;

use super::support::*;
use crate::harness::*;

#[derive(Clone, Default)]
struct Endpoint {
    secret: Arc<Mutex<Vec<u8>>>,
    now: Arc<Mutex<i64>>,
    /// Each event and whether its signature verified.
    events: Arc<Mutex<Vec<(Value, bool)>>>,
}

async fn receive(State(e): State<Endpoint>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let secret = e.secret.lock().unwrap().clone();
    let now = *e.now.lock().unwrap();
    let ok = headers
        .get(signing::SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|sig| {
            signing::verify(&secret, sig, &body, now, signing::REPLAY_WINDOW_SECS).is_ok()
        });
    let event: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    e.events.lock().unwrap().push((event, ok));
    if ok {
        StatusCode::ACCEPTED
    } else {
        StatusCode::UNAUTHORIZED
    }
}

async fn endpoint() -> (String, Endpoint) {
    let e = Endpoint::default();
    let app = Router::new()
        .route("/callout", post(receive))
        .with_state(e.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/callout", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, e)
}

impl Endpoint {
    /// Every event received so far, each verified.
    fn verified(&self) -> Vec<Value> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .map(|(e, ok)| {
                assert!(ok, "every event verifies: {e}");
                e.clone()
            })
            .collect()
    }
}

fn extensions(catalog: Uuid) -> String {
    em(&format!("/catalogs/{catalog}/customWorkflowExtensions"))
}

fn extension_body(url: &str, callback: Option<&str>) -> Value {
    let mut b = json!({
        "@odata.type": "#microsoft.graph.accessPackageAssignmentRequestWorkflowExtension",
        "displayName": "SoD check", "description": "Asks the risk engine",
        "endpointConfiguration": { "@odata.type": "#microsoft.graph.logicAppTriggerEndpointConfiguration",
            "subscriptionId": "sub", "resourceGroupName": "rg", "logicAppWorkflowName": "sod", "url": url },
    });
    if let Some(t) = callback {
        b["callbackConfiguration"] = json!({
            "@odata.type": "#microsoft.graph.customExtensionCallbackConfiguration", "timeoutDuration": t });
    }
    b
}

/// A catalog with a group package whose open policy calls a fresh extension (on the loopback
/// endpoint) at `stages`; the endpoint knows the extension's secret.
struct Setup {
    alice: Uuid,
    token: String,
    group: Uuid,
    p: GroupPackage,
    endpoint: Endpoint,
    extension: Uuid,
}

async fn setup(t: &TestApp, callback: Option<&str>, stages: &[&str]) -> Setup {
    let alice = t.user("alice").await;
    let token = t.sign_in("alice").await;
    let group = t.group("IRM Admins").await;
    let catalog = t.catalog(BOOTSTRAP, "Compliance").await;
    let (url, endpoint) = endpoint().await;
    *endpoint.now.lock().unwrap() = t.clock.now_utc().timestamp();
    let (s, e) = t
        .post(
            &extensions(catalog),
            BOOTSTRAP,
            extension_body(&url, callback),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    *endpoint.secret.lock().unwrap() = e["signingSecret"].as_str().unwrap().as_bytes().to_vec();
    let extension = id_of(&e);
    let settings: Vec<Value> = stages
        .iter()
        .map(|s| json!({ "stage": s, "customExtension": { "id": extension } }))
        .collect();
    let p = t
        .group_package(
            catalog,
            "Insider Risk Management",
            group,
            json!({ "customExtensionStageSettings": settings }),
        )
        .await;
    Setup {
        alice,
        token,
        group,
        p,
        endpoint,
        extension,
    }
}

fn resume_body(stage: &str, instance: &Value, state: Option<&str>) -> Value {
    let mut data = json!({ "@odata.type": "microsoft.graph.accessPackageAssignmentRequestCallbackData",
        "stage": stage, "customExtensionStageInstanceId": instance,
        "customExtensionStageInstanceDetail": "This user is all verified" });
    if let Some(s) = state {
        data["state"] = json!(s);
    }
    json!({ "source": "Contoso.SodCheckProcess",
        "type": format!("microsoft.graph.accessPackageCustomExtensionStage.{stage}"), "data": data })
}

fn resume_url(request: &str) -> String {
    em(&format!("{REQUESTS}/{request}/resume"))
}

#[tokio::test]
async fn extensions_are_administered_per_catalog_and_never_aimed_inside() {
    let t = TestApp::new().await;
    let catalog = t.catalog(BOOTSTRAP, "Compliance").await;
    let other = t.catalog(BOOTSTRAP, "Help desk").await;
    let (url, _) = endpoint().await;
    let (s, e) = t
        .post(
            &extensions(catalog),
            BOOTSTRAP,
            extension_body(&url, Some("PT1H")),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    assert_eq!(e["callbackConfiguration"]["timeoutDuration"], "PT1H");
    assert_eq!(e["endpointConfiguration"]["url"], url.as_str());
    assert_eq!(e["signingSecret"].as_str().unwrap().len(), 64);
    let id = id_of(&e);
    let one = format!("{}/{id}", extensions(catalog));
    let (s, got) = t.get(&one, BOOTSTRAP).await;
    assert_eq!(s, StatusCode::OK, "{got}");
    assert!(got.get("signingSecret").is_none(), "shown once: {got}");
    let (s, b) = t
        .patch(
            &one,
            BOOTSTRAP,
            json!({ "description": "Checks SoD in the HR system" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["description"], "Checks SoD in the HR system");
    let (s, all) = t.get(&extensions(catalog), BOOTSTRAP).await;
    assert_eq!(s, StatusCode::OK, "{all}");
    assert_eq!(all["value"].as_array().unwrap().len(), 1);
    // Not another catalog's.
    let (s, _) = t
        .get(&format!("{}/{id}", extensions(other)), BOOTSTRAP)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Inside addresses are refused by the outbound rules, at creation and at change.
    for inside in ["http://10.1.2.3/hook", "http://169.254.169.254/latest"] {
        let (s, b) = t
            .post(
                &extensions(catalog),
                BOOTSTRAP,
                extension_body(inside, None),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
        assert_eq!(code(&b), "OutboundRefused", "{b}");
    }
    let (s, b) = t
        .patch(&one, BOOTSTRAP, json!({ "endpointConfiguration": {
            "@odata.type": "#microsoft.graph.httpRequestEndpoint", "targetUrl": "http://192.168.1.1/" } }))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    let (_, got) = t.get(&one, BOOTSTRAP).await;
    assert_eq!(
        got["endpointConfiguration"]["url"],
        url.as_str(),
        "unchanged"
    );
    // Bad bodies name every problem.
    let (s, b) = t
        .post(
            &extensions(catalog),
            BOOTSTRAP,
            json!({ "endpointConfiguration": { "url": "ftp://x" } }),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(code(&b), "InvalidCustomExtension");

    // Someone without the role changes nothing, audited.
    t.user("mallory").await;
    let mallory = t.sign_in("mallory").await;
    let (s, _) = t
        .post(&extensions(catalog), &mallory, extension_body(&url, None))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = t.delete(&one, &mallory).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let refused = t.audited_as("Delete custom extension").await;
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["result"], "failure");

    // A policy names only its catalog's extensions; one in use is not deleted.
    let group = t.group("IRM Admins").await;
    let package = t
        .package(BOOTSTRAP, catalog, "Insider Risk Management")
        .await;
    t.add_role_scope(catalog, package, &group.to_string(), "AadGroup", "Member")
        .await;
    let (s, theirs) = t
        .post(&extensions(other), BOOTSTRAP, extension_body(&url, None))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{theirs}");
    for (ext, code_) in [
        (json!(id_of(&theirs)), "UnknownCustomExtension"),
        (json!("not-a-guid"), "UnknownCustomExtension"),
    ] {
        let mut body = open_policy(json!({}));
        body["displayName"] = json!("p");
        body["accessPackage"] = json!({ "id": package });
        body["customExtensionStageSettings"] =
            json!([{ "stage": "assignmentRequestGranted", "customExtension": { "id": ext } }]);
        let (s, b) = t.post(&em("/assignmentPolicies"), BOOTSTRAP, body).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
        assert!(b.to_string().contains(code_), "{b}");
    }
    let policy = t
        .policy(
            BOOTSTRAP,
            package,
            open_policy(
                json!({ "displayName": "Employees", "customExtensionStageSettings":
                [{ "stage": "assignmentRequestGranted", "customExtension": { "id": id } }] }),
            ),
        )
        .await;
    let (s, b) = t.delete(&one, BOOTSTRAP).await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert_eq!(code(&b), "CustomExtensionInUse");
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("'Employees'"),
        "{b}"
    );
    let (s, _) = t
        .delete(
            &em(&format!("/assignmentPolicies/{}", id_of(&policy))),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = t.delete(&one, BOOTSTRAP).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let created = t.audited_as("Create custom extension").await;
    let ok = created.iter().filter(|e| e["result"] == "success").count();
    assert_eq!(
        (ok, created.len()),
        (2, 3),
        "mallory's refusal too: {created:?}"
    );
}

#[tokio::test]
async fn stages_are_called_with_signed_events_through_the_outbox() {
    let t = TestApp::new().await;
    let s = setup(
        &t,
        None,
        &[
            "assignmentRequestCreated",
            "assignmentRequestGranted",
            "assignmentRequestRemoved",
        ],
    )
    .await;
    let (st, r) = t.ask(&s.token, "UserAdd", &s.p, None, json!({})).await;
    assert_eq!(st, StatusCode::CREATED, "{r}");
    assert_eq!(r["state"], "delivered", "no callback: nothing waits");
    assert!(
        s.endpoint.verified().is_empty(),
        "sent after the commit, by the outbox"
    );
    crate::provisioning::deliver(&t).await;
    // Jobs may be delivered side by side: the events are found by their stage, not order.
    let events = s.endpoint.verified();
    let mut types: Vec<_> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    types.sort();
    assert_eq!(
        types,
        [
            "microsoft.graph.accessPackageCustomExtensionStage.assignmentRequestCreated",
            "microsoft.graph.accessPackageCustomExtensionStage.assignmentRequestGranted",
        ]
    );
    let stage = |name: &str| {
        events
            .iter()
            .find(|e| e["type"].as_str().is_some_and(|t| t.ends_with(name)))
            .unwrap()
            .clone()
    };
    let granted = stage("assignmentRequestGranted");
    assert_eq!(granted["data"]["assignmentRequest"]["id"], r["id"]);
    assert_eq!(granted["data"]["assignment"]["id"], r["assignment"]["id"]);
    assert_eq!(granted["data"]["customExtensionId"], json!(s.extension));
    assert!(stage("assignmentRequestCreated")["data"]["callbackUriPath"].is_null());

    let (st, b) = t
        .remove_assignment(&s.token, "UserRemove", assignment_of(&r))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    crate::provisioning::deliver(&t).await;
    let events = s.endpoint.verified();
    assert_eq!(events.len(), 3, "{events:?}");
    assert!(
        events.iter().any(|e| e["type"]
            == "microsoft.graph.accessPackageCustomExtensionStage.assignmentRequestRemoved"),
        "{events:?}"
    );
}

#[tokio::test]
async fn a_callback_holds_the_request_until_the_endpoint_resumes_it_once() {
    let t = TestApp::new().await;
    let s = setup(&t, Some("PT1H"), &["assignmentRequestCreated"]).await;
    let (st, r) = t.ask(&s.token, "UserAdd", &s.p, None, json!({})).await;
    assert_eq!(st, StatusCode::CREATED, "{r}");
    assert_eq!(r["state"], "pendingApproval", "{r}");
    assert_eq!(r["status"], "WaitingForCallback");
    assert_eq!(
        r["customExtensionCalloutInstances"][0]["status"],
        "waitingForCallback"
    );
    let id = r["id"].as_str().unwrap().to_string();
    assert!(
        t.members(s.group).await.is_empty(),
        "nothing before the callback"
    );
    crate::provisioning::deliver(&t).await;
    let events = s.endpoint.verified();
    assert_eq!(events.len(), 1);
    let data = &events[0]["data"];
    assert_eq!(
        data["callbackUriPath"],
        format!("/v1/identityGovernance/entitlementManagement/assignmentRequests/{id}/resume")
    );
    let instance = data["customExtensionStageInstanceId"].clone();
    assert!(instance.is_string());
    let ok = resume_body("assignmentRequestCreated", &instance, None);

    // The requester cannot let their own request through; nor a guessed instance id; nor the
    // wrong stage.
    let (st, b) = t.post(&resume_url(&id), &s.token, ok.clone()).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{b}");
    let guessed = resume_body("assignmentRequestCreated", &json!(Uuid::new_v4()), None);
    let (st, b) = t.post(&resume_url(&id), BOOTSTRAP, guessed).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{b}");
    assert_eq!(code(&b), "StageInstanceMismatch");
    let wrong_stage = resume_body("assignmentRequestGranted", &instance, None);
    let (st, b) = t.post(&resume_url(&id), BOOTSTRAP, wrong_stage).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{b}");
    let (st, b) = t
        .post(
            &resume_url(&id),
            BOOTSTRAP,
            json!({ "type": "x", "data": {} }),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    let (st, _) = t
        .post(
            &resume_url(&Uuid::new_v4().to_string()),
            BOOTSTRAP,
            ok.clone(),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert!(t.members(s.group).await.is_empty(), "nothing changed");

    let (st, b) = t.post(&resume_url(&id), BOOTSTRAP, ok.clone()).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(b["state"], "delivered", "{b}");
    assert_eq!(
        b["customExtensionCalloutInstances"][0]["status"],
        "callbackReceived"
    );
    assert_eq!(t.members(s.group).await, [s.alice]);
    // Once.
    let (st, b) = t.post(&resume_url(&id), BOOTSTRAP, ok).await;
    assert_eq!(st, StatusCode::CONFLICT, "{b}");
    assert_eq!(code(&b), "RequestNotWaitingForCallback");

    let entries = t
        .audited_as("Resume access package assignment request")
        .await;
    let failures = entries.iter().filter(|e| e["result"] == "failure").count();
    let successes = entries.iter().filter(|e| e["result"] == "success").count();
    assert_eq!((successes, failures), (1, 6), "{entries:?}");
}

#[tokio::test]
async fn a_callback_may_deny_and_one_that_never_comes_times_out() {
    let t = TestApp::new().await;
    let s = setup(&t, Some("PT1H"), &["assignmentRequestCreated"]).await;
    let (_, r) = t.ask(&s.token, "UserAdd", &s.p, None, json!({})).await;
    let id = r["id"].as_str().unwrap().to_string();
    crate::provisioning::deliver(&t).await;
    let instance = s.endpoint.verified()[0]["data"]["customExtensionStageInstanceId"].clone();
    let (st, b) = t
        .post(
            &resume_url(&id),
            BOOTSTRAP,
            resume_body("assignmentRequestCreated", &instance, Some("Denied")),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(b["state"], "denied", "{b}");
    assert!(t.members(s.group).await.is_empty());

    // A second request nobody answers: denied at the timeout, and too late to resume.
    let (st, r) = t.ask(&s.token, "UserAdd", &s.p, None, json!({})).await;
    assert_eq!(st, StatusCode::CREATED, "{r}");
    let id = r["id"].as_str().unwrap().to_string();
    crate::provisioning::deliver(&t).await;
    let instance = s.endpoint.verified()[1]["data"]["customExtensionStageInstanceId"].clone();
    let run = || eligo::service::pim::scheduler::run_due(&t.app);
    t.clock.advance(TimeDelta::minutes(59));
    assert_eq!(run().await.unwrap().timed_out_package_requests, 0);
    t.clock.advance(TimeDelta::minutes(1));
    let (st, b) = t
        .post(
            &resume_url(&id),
            BOOTSTRAP,
            resume_body("assignmentRequestCreated", &instance, None),
        )
        .await;
    assert_eq!(
        st,
        StatusCode::CONFLICT,
        "past its timeout, even before the scheduler: {b}"
    );
    assert_eq!(run().await.unwrap().timed_out_package_requests, 1);
    assert_eq!(run().await.unwrap().timed_out_package_requests, 0);
    let (_, r) = t.get(&em(&format!("{REQUESTS}/{id}")), BOOTSTRAP).await;
    assert_eq!(r["state"], "denied", "{r}");
    assert_eq!(r["status"], "TimedOut");
    assert_eq!(
        r["customExtensionCalloutInstances"][0]["status"],
        "callbackTimedOut"
    );
    assert!(t.members(s.group).await.is_empty());
}

/// A resumed request that needs approval starts its stages then; the approver delivers it.
#[tokio::test]
async fn after_the_callback_the_approval_stages_start() {
    let t = TestApp::new().await;
    let boss = t.person("boss").await;
    let alice = t.user("alice").await;
    let token = t.sign_in("alice").await;
    let group = t.group("IRM Admins").await;
    let catalog = t.catalog(BOOTSTRAP, "Compliance").await;
    let (url, endpoint) = endpoint().await;
    *endpoint.now.lock().unwrap() = t.clock.now_utc().timestamp();
    let (_, e) = t
        .post(
            &extensions(catalog),
            BOOTSTRAP,
            extension_body(&url, Some("PT1H")),
        )
        .await;
    *endpoint.secret.lock().unwrap() = e["signingSecret"].as_str().unwrap().as_bytes().to_vec();
    let p = t
        .group_package(
            catalog,
            "Insider Risk Management",
            group,
            json!({ "customExtensionStageSettings": [
                    { "stage": "assignmentRequestCreated", "customExtension": { "id": id_of(&e) } },
                    { "stage": "assignmentRequestApproved", "customExtension": { "id": id_of(&e) } }],
                "requestApprovalSettings": { "isApprovalRequiredForAdd": true, "stages": [
                    { "durationBeforeAutomaticDenial": "P2D", "primaryApprovers": [
                        { "@odata.type": "#microsoft.graph.singleUser", "userId": boss.id }] }] } }),
        )
        .await;
    let (_, r) = t.ask(&token, "UserAdd", &p, None, json!({})).await;
    let id = r["id"].as_str().unwrap().to_string();
    let approvals = em(&format!("/accessPackageAssignmentApprovals/{id}"));
    // No stage to decide while the extension has not answered.
    let (s, _) = t.get(&approvals, &boss.token).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    crate::provisioning::deliver(&t).await;
    let instance = endpoint.verified()[0]["data"]["customExtensionStageInstanceId"].clone();
    let (s, b) = t
        .post(
            &resume_url(&id),
            BOOTSTRAP,
            resume_body("assignmentRequestCreated", &instance, None),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["state"], "pendingApproval", "{b}");
    assert_eq!(b["status"], "PendingApproval");
    let (s, a) = t.get(&approvals, &boss.token).await;
    assert_eq!(s, StatusCode::OK, "{a}");
    let stage = a["stages"][0]["id"].as_str().unwrap().to_string();
    let (s, b) = t
        .patch(
            &format!("{approvals}/stages/{stage}"),
            &boss.token,
            json!({ "reviewResult": "Approve", "justification": "known work" }),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    assert_eq!(t.members(group).await, [alice]);
    crate::provisioning::deliver(&t).await;
    let types: Vec<String> = endpoint
        .verified()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        types,
        [
            "microsoft.graph.accessPackageCustomExtensionStage.assignmentRequestCreated",
            "microsoft.graph.accessPackageCustomExtensionStage.assignmentRequestApproved",
        ]
    );
}

/// An Identity Governance Administrator may resume requests, but not their own: the request
/// they made for themselves is not shown to them with its stage instance id, and presenting the
/// endpoint's id is refused as self-approval (403, audited), the request still waiting.
#[tokio::test]
async fn nobody_resumes_their_own_request_even_as_an_administrator() {
    let t = TestApp::new().await;
    let s = setup(&t, Some("PT1H"), &["assignmentRequestCreated"]).await;
    let iga = t
        .admin_person("iga", ids::IDENTITY_GOVERNANCE_ADMINISTRATOR)
        .await;
    let (st, r) = t.ask(&iga.token, "UserAdd", &s.p, None, json!({})).await;
    assert_eq!(st, StatusCode::CREATED, "{r}");
    assert_eq!(r["status"], "WaitingForCallback", "{r}");
    let callout = &r["customExtensionCalloutInstances"][0];
    assert_eq!(callout["status"], "waitingForCallback", "{r}");
    assert!(callout["id"].is_null(), "not shown to its requester: {r}");
    let id = r["id"].as_str().unwrap().to_string();
    let one = em(&format!("{REQUESTS}/{id}"));
    let (_, mine) = t.get(&one, &iga.token).await;
    assert!(
        mine["customExtensionCalloutInstances"][0]["id"].is_null(),
        "{mine}"
    );
    crate::provisioning::deliver(&t).await;
    let instance = s.endpoint.verified()[0]["data"]["customExtensionStageInstanceId"].clone();
    let (_, seen) = t.get(&one, BOOTSTRAP).await;
    assert_eq!(
        seen["customExtensionCalloutInstances"][0]["id"], instance,
        "administrators see it"
    );

    let ok = resume_body("assignmentRequestCreated", &instance, None);
    let (st, b) = t.post(&resume_url(&id), &iga.token, ok.clone()).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{b}");
    assert_eq!(code(&b), "SelfApprovalNotAllowed", "{b}");
    let (_, still) = t.get(&one, BOOTSTRAP).await;
    assert_eq!(still["state"], "pendingApproval", "{still}");
    assert_eq!(still["status"], "WaitingForCallback", "{still}");
    assert!(t.members(s.group).await.is_empty(), "nothing delivered");
    t.assert_one_refusal(
        "Resume access package assignment request",
        "SelfApprovalNotAllowed",
        iga.id,
    )
    .await;

    // The endpoint's identity (here break-glass) still lets it go on.
    let (st, b) = t.post(&resume_url(&id), BOOTSTRAP, ok).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(b["state"], "delivered", "{b}");
    assert_eq!(t.members(s.group).await, [iga.id]);
}
