//! `eligo bench propagation`: how long a change made through one server takes to hold on
//! another, on PostgreSQL (issue 18). Two servers in this process, each with its own store
//! (its own connections, change feed and access index) on the same database and its own HTTP
//! listener on loopback, exactly as two `eligo serve` would be. Each round toggles a user's
//! membership of a group through server A over HTTP and then measures, from A's answer:
//! - on even rounds, when B's index has applied the change by itself (the NOTIFY path, no
//!   request to B);
//! - on odd rounds, when B first answers `GET /v1/access/check` with the new state (a read is
//!   answered from B's index while B is current within the staleness bound), and how many of
//!   B's first answers were still the old state (reads may lag by the feed's latency; writes
//!   never do).

use std::time::Duration;

use serde_json::{Value, json};
use uuid::Uuid;

use crate::app::AppState;
use crate::clock::Stopwatch;
use crate::config::Secret;

use super::{BenchDb, Outcome, ms, percentile};

async fn send(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Option<Value>,
) -> anyhow::Result<(u16, Value)> {
    let mut req = http.request(method, url).bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await?;
    let status = resp.status().as_u16();
    let text = resp.text().await?;
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

pub async fn run(url: Option<String>, rounds: usize) -> anyhow::Result<Outcome> {
    let Some(url) = url.filter(|u| u.starts_with("postgres")) else {
        anyhow::bail!(
            "propagation is between servers on one PostgreSQL: give --database-url postgres://..."
        );
    };
    let db = BenchDb::new(Some(url));
    let token = format!("bench-{}", Uuid::new_v4().simple());
    let tune = |c: &mut crate::config::Config| c.bootstrap_token = Some(Secret::new(token.clone()));
    let a = db.open(tune).await?;
    let b = db.open(tune).await?;
    let result = measure(&a, &b, &token, rounds.max(2)).await;
    a.store.close().await;
    b.store.close().await;
    result
}

async fn measure(
    a: &AppState,
    b: &AppState,
    token: &str,
    rounds: usize,
) -> anyhow::Result<Outcome> {
    let (base_a, server_a) = super::serve_in_process(a).await?;
    let (base_b, server_b) = super::serve_in_process(b).await?;
    let http = reqwest::Client::new();
    let nick = Uuid::new_v4().simple().to_string();
    let (status, user) = send(
        &http,
        reqwest::Method::POST,
        format!("{base_a}/v1/users"),
        token,
        Some(
            json!({ "userPrincipalName": format!("p{nick}@bench.example"),
                     "displayName": "Propagation", "accountEnabled": true }),
        ),
    )
    .await?;
    anyhow::ensure!(status == 201, "creating the user: {status} {user}");
    let (status, group) = send(
        &http,
        reqwest::Method::POST,
        format!("{base_a}/v1/groups"),
        token,
        Some(
            json!({ "displayName": "Propagation", "mailNickname": format!("p{nick}"),
                     "securityEnabled": true }),
        ),
    )
    .await?;
    anyhow::ensure!(status == 201, "creating the group: {status} {group}");
    let (user, group) = (
        user["id"].as_str().unwrap_or_default(),
        group["id"].as_str().unwrap_or_default(),
    );
    let check =
        format!("{base_b}/v1/access/check?principalId={user}&groupId={group}&accessId=member");

    let mut index = Vec::new();
    let mut answer = Vec::new();
    let mut wrong_first = 0usize;
    let mut problems = Vec::new();
    for round in 0..rounds {
        let member = round % 2 == 0;
        let (status, body) = if member {
            send(
                &http,
                reqwest::Method::POST,
                format!("{base_a}/v1/groups/{group}/members/$ref"),
                token,
                Some(json!({ "@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{user}") })),
            )
            .await?
        } else {
            send(
                &http,
                reqwest::Method::DELETE,
                format!("{base_a}/v1/groups/{group}/members/{user}/$ref"),
                token,
                None,
            )
            .await?
        };
        let acked = Stopwatch::start();
        if status != 204 {
            problems.push(format!("round {round}: write answered {status} {body}"));
            continue;
        }
        if (round / 2) % 2 == 0 {
            // B's index, by itself: A's own position is the number to reach.
            let target = a.store.feed_status().map(|s| s.applied).unwrap_or(0);
            while b.store.feed_status().map(|s| s.applied).unwrap_or(0) < target {
                if acked.elapsed() > Duration::from_secs(10) {
                    problems.push(format!("round {round}: B's index never reached {target}"));
                    break;
                }
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
            index.push(acked.elapsed());
        } else {
            let mut first = true;
            loop {
                let (status, body) =
                    send(&http, reqwest::Method::GET, check.clone(), token, None).await?;
                if status == 200 && body["allowed"].as_bool() == Some(member) {
                    break;
                }
                if first {
                    wrong_first += 1;
                    first = false;
                }
                if acked.elapsed() > Duration::from_secs(10) {
                    problems.push(format!("round {round}: B never answered {member}"));
                    break;
                }
            }
            answer.push(acked.elapsed());
        }
    }
    server_a.stop().await?;
    server_b.stop().await?;
    index.sort();
    answer.sort();
    let line = format!(
        "RESULT rounds={rounds} index_p50_ms={:.2} index_p99_ms={:.2} index_max_ms={:.2} answer_p50_ms={:.2} answer_p99_ms={:.2} answer_max_ms={:.2} stale_first_answers={wrong_first}",
        ms(percentile(&index, 0.5)),
        ms(percentile(&index, 0.99)),
        ms(index.last().copied().unwrap_or_default()),
        ms(percentile(&answer, 0.5)),
        ms(percentile(&answer, 0.99)),
        ms(answer.last().copied().unwrap_or_default()),
    );
    Ok(Outcome {
        line,
        details: vec![format!(
            "DETAIL index: {} rounds timed until B's index applied the change unasked; answer: {} rounds timed until B's first right answer over HTTP",
            index.len(),
            answer.len()
        )],
        problems,
    })
}
