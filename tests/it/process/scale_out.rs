//! Three servers on one PostgreSQL under load, one of them killed with SIGKILL mid-way (issue 18,
//! items 2, 5 and 6): every write a server acknowledged is in the store and its audit trail,
//! and every outbox job is delivered by the servers left. A job the killed server had claimed
//! comes back to the others after its lease (`ELIGO_OUTBOX_LEASE`, short here) and may reach
//! the receiver twice, under the same event id; no other job may.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use eligo_core::roles::ids;
use eligo_store::JobStatus;
use serde_json::{Value, json};

use super::support::*;
use crate::harness::{BOOTSTRAP, TEST_MASTER_KEY, temp_dir};

const ROLE: &str = ids::HELPDESK_ADMINISTRATOR;
const GRANTED: &str = "Add eligible member to role in PIM completed (timebound)";
/// The sink answers this late, so each server always has claims in flight.
const SINK_DELAY: Duration = Duration::from_millis(400);
const DEADLINE: Duration = Duration::from_secs(40);
const PEOPLE: usize = 36;

/// What the sink received: (event id header, principal id), in arrival order.
type Got = Arc<Mutex<Vec<(String, String)>>>;

async fn sink(State(got): State<Got>, headers: HeaderMap, body: axum::body::Bytes) -> StatusCode {
    tokio::time::sleep(SINK_DELAY).await;
    let event: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let id = headers
        .get("eligo-event-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let principal = event["data"]["principal"]["id"]
        .as_str()
        .unwrap_or("")
        .to_string();
    got.lock().unwrap().push((id, principal));
    StatusCode::NO_CONTENT
}

/// A user made eligible (a `eligibility.granted` webhook job) through `api`: its id when the
/// server acknowledged both writes, None when it did not (e.g. it was killed meanwhile).
async fn grant(api: &Api, nick: &str) -> Option<String> {
    let (status, user) = api
        .post(
            "/v1/users",
            BOOTSTRAP,
            json!({ "userPrincipalName": format!("{nick}@contoso.example"), "displayName": nick }),
        )
        .await;
    if status != 201 {
        return None;
    }
    let id = user["id"].as_str()?.to_string();
    let (status, _) = api
        .post(
            "/v1/roleManagement/directory/roleEligibilityScheduleRequests",
            BOOTSTRAP,
            json!({ "action": "adminAssign", "principalId": id, "roleDefinitionId": ROLE,
                "directoryScopeId": "/", "justification": "scale-out",
                "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "P1D" } } }),
        )
        .await;
    (status == 201).then_some(id)
}

async fn open_store(url: &str) -> Arc<dyn eligo_store::Store> {
    use eligo_store::seal::{Keyring, MasterKey};
    let keys = |_: Option<&str>| {
        let key = MasterKey::parse(TEST_MASTER_KEY).map_err(|e| e.to_string())?;
        Ok(Keyring::new(key, Vec::new()))
    };
    eligo_store::open(url, &keys)
        .await
        .expect("the test opens the store")
}

/// Webhook jobs `server` holds claimed now: their event ids.
async fn claimed_by(store: &dyn eligo_store::Store, server: &str) -> HashSet<String> {
    let mut tx = store.read().await.unwrap();
    let running = tx
        .list_jobs(Some(JobStatus::Running), eligo_store::Page::ALL)
        .await
        .unwrap();
    running
        .iter()
        .filter(|j| j.claimed_by.as_deref() == Some(server))
        .filter_map(|j| j.payload["notice"]["id"].as_str().map(String::from))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_one_server_under_load_loses_nothing_acknowledged() {
    let Some(url) = eligo_testkit::postgres_database().await else {
        return;
    };
    let dir = temp_dir("scale-out");
    let spec = Spec::postgres(&dir, url.clone()).setting("ELIGO_OUTBOX_LEASE", "PT4S");
    let servers: Vec<Server> = {
        let mut v = Vec::new();
        for n in 1..=3 {
            let s = Server::start(&spec.clone().setting("ELIGO_SERVER_ID", &format!("s{n}"))).await;
            // Item 5: `eligo serve` says which server it is.
            s.wait_for_stdout("its server id", |e| {
                e.contains(&format!("eligo server id: s{n}"))
            })
            .await;
            v.push(s);
        }
        v
    };
    let store = open_store(&url).await;

    let got: Got = Arc::default();
    let port = eligo_testkit::free_port();
    let app = Router::new()
        .route("/hook", post(sink))
        .with_state(got.clone());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let apis: Vec<Api> = servers.iter().map(Server::client).collect();
    let (status, body) = apis[0]
        .post(
            "/v1/subscriptions",
            BOOTSTRAP,
            json!({ "url": format!("http://127.0.0.1:{port}/hook"),
                    "secret": "scale-out-secret-0123456789", "eventTypes": ["eligibility.granted"] }),
        )
        .await;
    assert_eq!(status, 201, "{body}");

    // The first half through all three servers.
    let mut acknowledged = Vec::new();
    for i in 0..PEOPLE / 2 {
        acknowledged.extend(grant(&apis[i % 3], &format!("load{i}")).await);
    }
    assert_eq!(acknowledged.len(), PEOPLE / 2, "every server acknowledges");
    // s2 holds claims (its deliveries wait on the slow sink) when it is killed.
    let mut held = HashSet::new();
    for _ in 0..50 {
        held = claimed_by(&*store, "s2").await;
        if !held.is_empty() {
            break;
        }
        acknowledged.extend(grant(&apis[1], &format!("burst{}", acknowledged.len())).await);
    }
    let mut servers = servers;
    let killed = servers.remove(1);
    killed.kill9().await;
    let held = held
        .union(&claimed_by(&*store, "s2").await)
        .cloned()
        .collect::<HashSet<_>>();
    assert!(!held.is_empty(), "s2 held claims when it was killed");

    // The second half through the servers left.
    let apis: Vec<Api> = servers.iter().map(Server::client).collect();
    for i in PEOPLE / 2..PEOPLE {
        acknowledged.extend(grant(&apis[i % 2], &format!("load{i}")).await);
    }

    // Every acknowledged write is in the audit trail, once.
    for id in &acknowledged {
        let path = format!(
            "/v1/auditLogs/directoryAudits?$filter=activityDisplayName eq '{GRANTED}' and targetId eq '{id}'"
        )
        .replace(' ', "%20")
        .replace('\'', "%27");
        let (status, log) = apis[0].get(&path, BOOTSTRAP).await;
        assert_eq!(status, 200, "{log}");
        assert_eq!(log["value"].as_array().unwrap().len(), 1, "{id}: {log}");
    }
    // Every one reaches the sink, s2's claims after their lease.
    let mut waited = Duration::ZERO;
    let wanted: HashSet<&String> = acknowledged.iter().collect();
    loop {
        let seen: HashSet<String> = got.lock().unwrap().iter().map(|(_, p)| p.clone()).collect();
        let missing = wanted.iter().filter(|p| !seen.contains(**p)).count();
        if missing == 0 {
            break;
        }
        assert!(
            waited < DEADLINE,
            "{missing} acknowledged grants never reached the sink"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        waited += Duration::from_millis(200);
    }
    // Let deliveries in flight finish, then count duplicates by event id.
    tokio::time::sleep(SINK_DELAY * 2).await;
    let received = got.lock().unwrap().clone();
    assert!(
        received.iter().all(|(id, _)| !id.is_empty()),
        "every delivery names its event"
    );
    let mut times: HashMap<&str, usize> = HashMap::new();
    for (id, _) in &received {
        *times.entry(id.as_str()).or_default() += 1;
    }
    let repeated: Vec<&str> = times
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(id, _)| *id)
        .collect();
    eprintln!(
        "scale-out: {} grants acknowledged, {} deliveries, {} events repeated (s2 held {} claims at its kill)",
        acknowledged.len(),
        received.len(),
        repeated.len(),
        held.len()
    );
    for id in &repeated {
        assert!(
            held.contains(*id),
            "event {id} was delivered twice but s2 never held it"
        );
    }
    // And the outbox agrees: nothing left pending or running.
    let mut waited = Duration::ZERO;
    loop {
        let counts = store.read().await.unwrap().count_jobs().await.unwrap();
        if counts
            .iter()
            .all(|(s, n)| *n == 0 || *s == JobStatus::Delivered)
        {
            break;
        }
        assert!(waited < DEADLINE, "jobs left undelivered: {counts:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
        waited += Duration::from_millis(200);
    }
    // The API names the server that delivered each job.
    let (status, jobs) = apis[0].get("/v1/outbox?status=delivered", BOOTSTRAP).await;
    assert_eq!(status, 200, "{jobs}");
    let jobs = jobs["value"].as_array().unwrap();
    assert!(!jobs.is_empty());
    for job in jobs {
        let by = job["claimedBy"].as_str().unwrap_or_default();
        assert!(["s1", "s2", "s3"].contains(&by), "{job}");
    }
    let (_, verdict) = apis[0].get("/v1/auditLogs/verify", BOOTSTRAP).await;
    assert_eq!(verdict["valid"], true, "{verdict}");
    for s in servers {
        s.stop().await;
    }
    store.close().await;
    let _ = std::fs::remove_dir_all(dir);
}
