//! `eligo bench scim`: an identity provider pushing its directory through SCIM (issue 19).
//! One provisioning client, over real HTTP to the router `eligo serve` uses, on loopback:
//! --users users, each looked up by userName first and then created (as Entra ID and Okta do),
//! from --concurrency clients; then --groups groups, each created empty and filled with one
//! PATCH adding its members (the users in turn, --members each). Then the last page of the
//! user list and one filtered lookup are timed, every count is checked, and the audit chain
//! must verify. One RESULT line: time and rate of each phase, p50/p99, peak memory.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use uuid::Uuid;

use crate::clock::Stopwatch;
use crate::config::Secret;

use super::{BenchDb, Outcome, ms, percentile};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

pub struct Params {
    pub users: usize,
    pub groups: usize,
    pub members: usize,
    pub concurrency: usize,
}

async fn send(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Option<Value>,
) -> anyhow::Result<(u16, Value)> {
    let mut req = http.request(method, url).bearer_auth(token);
    if let Some(body) = body {
        req = req
            .header("content-type", "application/scim+json")
            .body(body.to_string());
    }
    let resp = req.send().await?;
    let status = resp.status().as_u16();
    let text = resp.text().await?;
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

pub async fn run(url: Option<String>, p: Params) -> anyhow::Result<Outcome> {
    let db = BenchDb::new(url);
    let token = format!("bench-{}", Uuid::new_v4().simple());
    let app = db
        .open(|c| c.bootstrap_token = Some(Secret::new(token.clone())))
        .await?;
    let result = measure(&app, &token, &p).await;
    app.store.close().await;
    db.remove();
    result
}

/// Runs `work(i)` for every i in 0..n from `concurrency` tasks; the time of each call.
async fn spread<F, Fut>(n: usize, concurrency: usize, work: F) -> anyhow::Result<Vec<Duration>>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let work = Arc::new(work);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (work, next) = (work.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    return anyhow::Ok(times);
                }
                let started = Stopwatch::start();
                work(i).await?;
                times.push(started.elapsed());
            }
        }));
    }
    let mut all = Vec::with_capacity(n);
    for t in tasks {
        all.extend(t.await??);
    }
    all.sort();
    Ok(all)
}

async fn measure(app: &crate::app::AppState, token: &str, p: &Params) -> anyhow::Result<Outcome> {
    let (base, server) = super::serve_in_process(app).await?;
    let http = reqwest::Client::new();
    let (status, created) = send(
        &http,
        reqwest::Method::POST,
        format!("{base}/v1/scim/clients"),
        token,
        Some(json!({ "displayName": "bench IdP" })),
    )
    .await?;
    anyhow::ensure!(status == 201, "creating the client: {status} {created}");
    let client = created["token"].as_str().unwrap_or_default().to_string();
    let scim = format!("{base}/scim/v2");
    let ids = Arc::new(std::sync::Mutex::new(vec![String::new(); p.users]));

    let users_started = Stopwatch::start();
    let user_times = {
        let (http, scim, client, ids) = (http.clone(), scim.clone(), client.clone(), ids.clone());
        spread(p.users, p.concurrency, move |i| {
            let (http, scim, client, ids) =
                (http.clone(), scim.clone(), client.clone(), ids.clone());
            async move {
                let name = format!("user{i:06}@idp.example");
                let (status, found) = send(
                    &http,
                    reqwest::Method::GET,
                    format!("{scim}/Users?filter=userName%20eq%20%22{name}%22"),
                    &client,
                    None,
                )
                .await?;
                anyhow::ensure!(
                    status == 200 && found["totalResults"] == 0,
                    "lookup {name}: {status} {found}"
                );
                let body = json!({
                    "schemas": [USER], "userName": name, "externalId": format!("ext-{i}"),
                    "name": { "givenName": "User", "familyName": format!("{i:06}") },
                    "displayName": format!("User {i:06}"),
                    "emails": [{ "value": name, "type": "work", "primary": true }],
                    "active": true,
                });
                let (status, user) = send(
                    &http,
                    reqwest::Method::POST,
                    format!("{scim}/Users"),
                    &client,
                    Some(body),
                )
                .await?;
                anyhow::ensure!(status == 201, "creating {name}: {status} {user}");
                ids.lock().expect("ids")[i] = user["id"].as_str().unwrap_or_default().to_string();
                Ok(())
            }
        })
        .await?
    };
    let users_elapsed = users_started.elapsed();

    let ids: Arc<Vec<String>> = Arc::new(ids.lock().expect("ids").clone());
    let groups_started = Stopwatch::start();
    let group_times = {
        let (http, scim, client, ids) = (http.clone(), scim.clone(), client.clone(), ids.clone());
        let members = p.members;
        spread(p.groups, p.concurrency, move |g| {
            let (http, scim, client, ids) = (http.clone(), scim.clone(), client.clone(), ids.clone());
            async move {
                let body = json!({ "schemas": [GROUP], "displayName": format!("Group {g:05}"), "externalId": format!("g-{g}") });
                let (status, group) =
                    send(&http, reqwest::Method::POST, format!("{scim}/Groups"), &client, Some(body)).await?;
                anyhow::ensure!(status == 201, "creating group {g}: {status} {group}");
                let id = group["id"].as_str().unwrap_or_default();
                let added: Vec<Value> = (0..members)
                    .map(|k| json!({ "value": ids[(g * members + k) % ids.len().max(1)] }))
                    .collect();
                let ops = json!({ "schemas": [PATCH_OP], "Operations": [{ "op": "add", "path": "members", "value": added }] });
                let (status, patched) =
                    send(&http, reqwest::Method::PATCH, format!("{scim}/Groups/{id}"), &client, Some(ops)).await?;
                anyhow::ensure!(status == 200, "filling group {g}: {status} {patched}");
                let n = patched["members"].as_array().map_or(0, Vec::len);
                anyhow::ensure!(n == members.min(ids.len()), "group {g} has {n} members");
                Ok(())
            }
        })
        .await?
    };
    let groups_elapsed = groups_started.elapsed();

    let mut problems = Vec::new();
    let page_started = Stopwatch::start();
    let start = p.users.saturating_sub(99).max(1);
    let (status, page) = send(
        &http,
        reqwest::Method::GET,
        format!("{scim}/Users?startIndex={start}&count=100"),
        &client,
        None,
    )
    .await?;
    let last_page = page_started.elapsed();
    if status != 200 || page["totalResults"] != p.users {
        problems.push(format!(
            "the user list answered {status} with {} users",
            page["totalResults"]
        ));
    }
    let lookup_started = Stopwatch::start();
    let (status, found) = send(
        &http,
        reqwest::Method::GET,
        format!("{scim}/Users?filter=userName%20eq%20%22user000000@idp.example%22"),
        &client,
        None,
    )
    .await?;
    let lookup = lookup_started.elapsed();
    if status != 200 || found["totalResults"] != 1 {
        problems.push(format!("the lookup answered {status}: {found}"));
    }
    let (status, groups) = send(
        &http,
        reqwest::Method::GET,
        format!("{scim}/Groups?count=1"),
        &client,
        None,
    )
    .await?;
    if status != 200 || groups["totalResults"] != p.groups {
        problems.push(format!(
            "the group list answered {status} with {} groups",
            groups["totalResults"]
        ));
    }
    server.stop().await?;
    let verified = Stopwatch::start();
    let verdict = super::chain_verifies(app).await?;
    if !verdict.valid {
        problems.push(format!("the audit chain does not verify: {verdict:?}"));
    }
    let verify = verified.elapsed();
    let rate = |n: usize, d: Duration| n as f64 / d.as_secs_f64().max(1e-9);
    let line = format!(
        "RESULT users={} groups={} members_per_group={} concurrency={} users_s={:.1} users_per_s={:.0} user_p50_ms={:.2} user_p99_ms={:.2} groups_s={:.1} groups_per_s={:.0} group_p50_ms={:.2} group_p99_ms={:.2} last_page_ms={:.1} lookup_ms={:.2} verify_s={:.2} peak_rss_mib={}",
        p.users,
        p.groups,
        p.members,
        p.concurrency,
        users_elapsed.as_secs_f64(),
        rate(p.users, users_elapsed),
        ms(percentile(&user_times, 0.5)),
        ms(percentile(&user_times, 0.99)),
        groups_elapsed.as_secs_f64(),
        rate(p.groups, groups_elapsed),
        ms(percentile(&group_times, 0.5)),
        ms(percentile(&group_times, 0.99)),
        ms(last_page),
        ms(lookup),
        verify.as_secs_f64(),
        super::peak_rss(),
    );
    Ok(Outcome {
        line,
        details: vec![
            "DETAIL user: a userName lookup and a POST; group: a POST and a PATCH adding its members; last_page: GET /Users?startIndex=..&count=100 at the end of the list".to_string(),
        ],
        problems,
    })
}
