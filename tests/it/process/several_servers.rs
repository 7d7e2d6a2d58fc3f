//! Several `eligo serve` on one PostgreSQL (issue 18): started together on an empty database
//! they agree on one bootstrap; a change made through one server is answered by the others
//! within the staleness bound and never undone afterwards; a user created through one is known
//! to the others' next write; a role removed through one server stops the very next write
//! through another (a write reads its session and waits for the head in the same snapshot, and
//! decides again under the head lock); and a server cut off from the database answers 503,
//! never from its stale index, and recovers by itself.

use std::sync::Arc;
use std::time::Duration;

use eligo_core::roles::ids;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

use super::support::*;
use crate::harness::{BOOTSTRAP, PASSWORD, temp_dir};

async fn create_user(api: &Api, nick: &str) -> String {
    let (status, user) = api
        .post(
            "/v1/users",
            BOOTSTRAP,
            json!({ "userPrincipalName": format!("{nick}@contoso.example"), "displayName": nick,
                    "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, 201, "{user}");
    user["id"].as_str().unwrap().to_string()
}

async fn set_membership(api: &Api, group: &str, user: &str, member: bool) {
    let (status, body) = if member {
        api.post(
            &format!("/v1/groups/{group}/members/$ref"),
            BOOTSTRAP,
            json!({ "@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{user}") }),
        )
        .await
    } else {
        api.call(
            reqwest::Method::DELETE,
            &format!("/v1/groups/{group}/members/{user}/$ref"),
            Some(BOOTSTRAP),
            None,
        )
        .await
        .unwrap()
    };
    assert_eq!(status, 204, "{body}");
}

async fn is_member(api: &Api, group: &str, user: &str) -> bool {
    let (status, answer) = api
        .get(
            &format!("/v1/access/check?principalId={user}&groupId={group}&accessId=member"),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    answer["allowed"].as_bool().unwrap()
}

async fn assignment(api: &Api, action: &str, user: &str) -> (u16, Value) {
    api.post(
        "/v1/roleManagement/directory/roleAssignmentScheduleRequests",
        BOOTSTRAP,
        json!({ "action": action, "principalId": user, "roleDefinitionId": ids::USER_ADMINISTRATOR,
                "directoryScopeId": "/", "justification": "several servers",
                "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "P1D" } } }),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_servers_agree_on_every_change_from_the_next_request_on() {
    let Some(url) = eligo_testkit::postgres_database().await else {
        return;
    };
    let dir = temp_dir("three-agree");
    let spec = Spec::postgres(&dir, url);
    // Started together on an empty database: one bootstrap, honoured by all three at once.
    let (a, b, c) = tokio::join!(
        Server::start(&spec),
        Server::start(&spec),
        Server::start(&spec)
    );
    let apis = [a.client(), b.client(), c.client()];
    let mut people = Vec::new();
    for (i, api) in apis.iter().enumerate() {
        // Each creates a user; the others know it from the next request on.
        people.push(create_user(api, &format!("agree{i}")).await);
    }
    for api in &apis {
        for id in &people {
            let (status, user) = api.get(&format!("/v1/users/{id}"), BOOTSTRAP).await;
            assert_eq!(status, 200, "{user}");
        }
    }
    let (status, group) = apis[0]
        .post(
            "/v1/groups",
            BOOTSTRAP,
            json!({ "displayName": "Operators", "mailNickname": "ops", "securityEnabled": true }),
        )
        .await;
    assert_eq!(status, 201, "{group}");
    let group = group["id"].as_str().unwrap().to_string();

    // Membership changed through one server, asked at once through the other two (reads are
    // answered from each server's index and session table): the new answer within the
    // staleness bound, and once given, never the old one again.
    let user = &people[0];
    for round in 0..24 {
        let writer = round % 3;
        let member = round % 2 == 0;
        set_membership(&apis[writer], &group, user, member).await;
        for (i, api) in apis.iter().enumerate() {
            if i == writer {
                continue;
            }
            // 400 polls 5 ms apart: twice the default bound of a second.
            let mut polls = 0;
            while is_member(api, &group, user).await != member {
                polls += 1;
                assert!(
                    polls < 400,
                    "round {round}: written through {writer}, still old through {i}"
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            for _ in 0..3 {
                assert_eq!(
                    is_member(api, &group, user).await,
                    member,
                    "round {round}: through {i}, the old answer came back"
                );
            }
        }
    }

    // A role granted through A works through B; removed through A, B refuses the next write.
    let admin = &people[1];
    let (status, body) = assignment(&apis[0], "adminAssign", admin).await;
    assert_eq!(status, 201, "{body}");
    let (status, token) = apis[1].sign_in("agree1@contoso.example", PASSWORD).await;
    assert_eq!(status, 200, "{token}");
    let token = token["access_token"].as_str().unwrap().to_string();
    let new_user = |n: &str| {
        json!({ "userPrincipalName": format!("{n}@contoso.example"),
                                     "displayName": n, "password": PASSWORD })
    };
    let (status, body) = apis[1].post("/v1/users", &token, new_user("made1")).await;
    assert_eq!(status, 201, "granted through A, used through B: {body}");
    let (status, body) = assignment(&apis[0], "adminRemove", admin).await;
    assert_eq!(status, 201, "{body}");
    for api in &apis[1..] {
        let (status, body) = api.post("/v1/users", &token, new_user("made2")).await;
        assert_eq!(status, 403, "removed through A, refused everywhere: {body}");
    }

    // Each server's feed is current and says so.
    for api in &apis {
        let (status, health) = api.get("/readyz", BOOTSTRAP).await;
        assert_eq!(status, 200, "{health}");
        assert_eq!(health["feed"]["gap"], false, "{health}");
        assert_eq!(health["feed"]["fresh"], true, "{health}");
    }
    let (_, verdict) = apis[2].get("/v1/auditLogs/verify", BOOTSTRAP).await;
    assert_eq!(verdict["valid"], true, "{verdict}");
    for s in [a, b, c] {
        s.stop().await;
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// A TCP relay between a server and PostgreSQL that the test can take down (every connection
/// dropped, the port closed so new ones are refused, as when the database restarts) and bring
/// back on the same port.
struct Relay {
    port: u16,
    target: u16,
    accepting: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    cut: Arc<Notify>,
}

impl Relay {
    async fn start(target: u16) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let relay = Relay {
            port: listener.local_addr().unwrap().port(),
            target,
            accepting: Default::default(),
            cut: Arc::new(Notify::new()),
        };
        relay.accept(listener);
        relay
    }

    fn accept(&self, listener: TcpListener) {
        let (cut, target) = (self.cut.clone(), self.target);
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let cut = cut.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(("127.0.0.1", target)).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.notified() => {}
                    }
                });
            }
        });
        *self.accepting.lock().unwrap() = Some(task);
    }

    async fn down(&self) {
        let accepting = self.accepting.lock().unwrap().take();
        if let Some(task) = accepting {
            task.abort();
            let _ = task.await;
        }
        self.cut.notify_waiters();
    }

    async fn restore(&self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        self.accept(listener);
    }
}

/// `url` with its port replaced by `port`.
fn through(url: &str, port: u16) -> (String, u16) {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (authority, path) = rest.split_once('/').unwrap();
    let (host, target) = authority.rsplit_once(':').unwrap();
    (
        format!("{scheme}://{host}:{port}/{path}"),
        target.parse().unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_cut_off_from_the_database_answers_503_and_recovers_by_itself() {
    let Some(url) = eligo_testkit::postgres_database().await else {
        return;
    };
    let dir = temp_dir("cut-off");
    let (_, pg_port) = through(&url, 0);
    let relay = Relay::start(pg_port).await;
    let (relayed, _) = through(&url, relay.port);
    // A writes directly; B reaches the database only through the relay.
    let a = Server::start(&Spec::postgres(&dir, url)).await;
    let b = Server::start(&Spec::postgres(&dir, relayed)).await;
    let (api_a, api_b) = (a.client(), b.client());
    let user = create_user(&api_a, "cutoff").await;
    let (status, group) = api_a
        .post(
            "/v1/groups",
            BOOTSTRAP,
            json!({ "displayName": "Cut", "mailNickname": "cut", "securityEnabled": true }),
        )
        .await;
    assert_eq!(status, 201, "{group}");
    let group = group["id"].as_str().unwrap().to_string();
    set_membership(&api_a, &group, &user, true).await;
    assert!(is_member(&api_b, &group, &user).await);

    relay.down().await;
    // Removed through A while B cannot see the database.
    set_membership(&api_a, &group, &user, false).await;
    let check = format!("/v1/access/check?principalId={user}&groupId={group}&accessId=member");
    let (status, body) = api_b.get(&check, BOOTSTRAP).await;
    assert_eq!(status, 503, "never the stale grant: {body}\n{}", b.stderr());
    assert_eq!(body["error"]["code"], "ServiceUnavailable", "{body}");
    let (status, _) = api_b.get("/readyz", BOOTSTRAP).await;
    assert_eq!(status, 503);

    relay.restore().await;
    // B recovers without a restart, and answers with the removal.
    let mut answer = None;
    for _ in 0..100 {
        let (status, body) = api_b.get(&check, BOOTSTRAP).await;
        if status == 200 {
            answer = Some(body["allowed"].as_bool().unwrap());
            break;
        }
        assert_eq!(status, 503, "{body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(answer, Some(false), "B came back with the current state");
    let (status, _) = api_b.get("/readyz", BOOTSTRAP).await;
    assert_eq!(status, 200);
    for s in [a, b] {
        s.stop().await;
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// Rolling restart behind a load balancer that follows `/readyz` (a small one, here in the
/// test): each server in turn gets SIGTERM, drains (`/readyz` 503 while it still serves),
/// stops, and a new one takes its place; a client asking all along sees no failed request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_fails_no_request() {
    let Some(url) = eligo_testkit::postgres_database().await else {
        return;
    };
    let dir = temp_dir("rolling");
    let spec = Spec::postgres(&dir, url).setting("ELIGO_SHUTDOWN_DRAIN", "PT1S");
    let first = [Server::start(&spec).await, Server::start(&spec).await];
    let backends: Arc<std::sync::Mutex<Vec<(String, bool)>>> = Arc::new(std::sync::Mutex::new(
        first.iter().map(|s| (s.base.clone(), true)).collect(),
    ));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    // The balancer's health checks, every 100 ms.
    let checker = {
        let (backends, stop) = (backends.clone(), stop.clone());
        tokio::spawn(async move {
            let http = http();
            loop {
                let bases: Vec<String> = backends
                    .lock()
                    .unwrap()
                    .iter()
                    .map(|b| b.0.clone())
                    .collect();
                for base in bases {
                    let ready = matches!(
                        http.get(format!("{base}/readyz")).timeout(Duration::from_millis(500)).send().await,
                        Ok(r) if r.status() == 200
                    );
                    for b in backends.lock().unwrap().iter_mut().filter(|b| b.0 == base) {
                        b.1 = ready;
                    }
                }
                if stop.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    // The client: round robin over the backends the balancer thinks ready.
    let client = {
        let (backends, stop) = (backends.clone(), stop.clone());
        tokio::spawn(async move {
            let http = http();
            let (mut sent, mut failed, mut turn) = (0u32, Vec::new(), 0usize);
            loop {
                let ready: Vec<String> = backends
                    .lock()
                    .unwrap()
                    .iter()
                    .filter(|b| b.1)
                    .map(|b| b.0.clone())
                    .collect();
                if let Some(base) = ready.get(turn % ready.len().max(1)) {
                    turn += 1;
                    sent += 1;
                    match http
                        .get(format!("{base}/v1/me"))
                        .bearer_auth(BOOTSTRAP)
                        .send()
                        .await
                    {
                        Ok(r) if r.status() == 200 => {}
                        Ok(r) => failed.push(format!("{base}: {}", r.status())),
                        Err(e) => failed.push(format!("{base}: {e}")),
                    }
                }
                if stop.load(std::sync::atomic::Ordering::SeqCst) {
                    return (sent, failed);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    let mut running = Vec::new();
    for mut old in first {
        let replacement = Server::start(&spec).await;
        backends
            .lock()
            .unwrap()
            .push((replacement.base.clone(), false));
        old.signal("TERM");
        old.wait_exit(Duration::from_secs(30)).await;
        backends.lock().unwrap().retain(|b| b.0 != old.base);
        running.push(replacement);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let (sent, failed) = client.await.unwrap();
    checker.abort();
    assert!(sent > 50, "the client kept asking: {sent}");
    assert!(
        failed.is_empty(),
        "{} of {sent} failed: {failed:?}",
        failed.len()
    );
    for s in running {
        s.stop().await;
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// A sign-out through one server holds on the other: at once for a write (which reads its
/// session from the store), within the staleness bound for a read (answered from the session
/// table), and never undone; a disabled account likewise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_out_or_a_disabled_account_holds_on_every_server() {
    let Some(url) = eligo_testkit::postgres_database().await else {
        return;
    };
    let dir = temp_dir("sign-out");
    let spec = Spec::postgres(&dir, url);
    let (a, b) = tokio::join!(Server::start(&spec), Server::start(&spec));
    let (api_a, api_b) = (a.client(), b.client());
    for nick in ["leaver", "disabled"] {
        create_user(&api_a, nick).await;
    }
    let token_of = |body: Value| body["access_token"].as_str().unwrap().to_string();
    let (_, signed) = api_a.sign_in("leaver@contoso.example", PASSWORD).await;
    let leaver = token_of(signed);
    let (_, signed) = api_b.sign_in("disabled@contoso.example", PASSWORD).await;
    let disabled = token_of(signed);
    for token in [&leaver, &disabled] {
        // Each session works on the server that did not issue it.
        for api in [&api_a, &api_b] {
            let (status, me) = api.get("/v1/me", token).await;
            assert_eq!(status, 200, "{me}");
        }
    }

    let (status, body) = api_a.post("/v1/auth/logout", &leaver, json!({})).await;
    assert!(status == 204 || status == 200, "{status} {body}");
    let (_, me) = api_b.get("/v1/me", &disabled).await;
    let id_disabled = me["id"].as_str().unwrap().to_string();
    let (status, body) = api_a
        .call(
            reqwest::Method::PATCH,
            &format!("/v1/users/{id_disabled}"),
            Some(BOOTSTRAP),
            Some(json!({ "accountEnabled": false })),
        )
        .await
        .unwrap();
    assert!(status == 204 || status == 200, "{status} {body}");

    for token in [&leaver, &disabled] {
        // A write through B: refused at once.
        let (status, body) = api_b
            .post("/v1/me/authenticationMethods/totp", token, json!({}))
            .await;
        assert_eq!(status, 401, "a write with a dead session: {body}");
        // A read through B: refused within the bound, and from then on.
        let mut polls = 0;
        while api_b.get("/v1/me", token).await.0 != 401 {
            polls += 1;
            assert!(polls < 400, "a read with a dead session still answered");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        for _ in 0..3 {
            assert_eq!(api_b.get("/v1/me", token).await.0, 401);
            assert_eq!(api_a.get("/v1/me", token).await.0, 401);
        }
    }
    for s in [a, b] {
        s.stop().await;
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// Two live servers with one `ELIGO_SERVER_ID` would release and deliver each other's claimed
/// outbox jobs: the second refuses to start, naming the id, and changes nothing. A server
/// killed with SIGKILL lets its id go with its database session, so a restart with the same id
/// (which takes back the jobs it left running) starts at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_id_serves_one_live_server_at_a_time() {
    let Some(url) = eligo_testkit::postgres_database().await else {
        return;
    };
    let dir = temp_dir("server-id");
    let spec = Spec::postgres(&dir, url).setting("ELIGO_SERVER_ID", "node-a");
    let first = Server::start(&spec).await;
    let api = first.client();
    let before = api.all_upns(BOOTSTRAP).await;

    let port = eligo_testkit::free_port().to_string();
    let second = run_on(
        &spec,
        &["serve", "--listen", &format!("127.0.0.1:{port}")],
        &[],
    )
    .await;
    assert!(!second.ok(), "{}", second.show());
    assert!(
        second.stderr.contains("server id \"node-a\"") && second.stderr.contains("ELIGO_SERVER_ID"),
        "{}",
        second.show()
    );
    assert_eq!(api.all_upns(BOOTSTRAP).await, before);
    // Another id on the same database is another server.
    let other = Server::start(&spec.clone().setting("ELIGO_SERVER_ID", "node-b")).await;

    first.kill9().await;
    let again = Server::start(&spec).await;
    again
        .wait_for_stdout("its server id", |o| o.contains("eligo server id: node-a"))
        .await;
    assert_eq!(again.client().all_upns(BOOTSTRAP).await, before);
    drop(other);
}
