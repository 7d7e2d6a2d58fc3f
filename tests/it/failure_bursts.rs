//! Repeated failures in the audit trail (issue 14): the first failed sign-in or step-up of a
//! burst is written at once — an attacker cannot hide by stopping early — and the rest of the
//! burst is one entry with its `failureCount`, written when the burst ends (mock clock), before
//! the owner's next successful sign-in, and at shutdown. No count is ever lost.

use axum::http::{Method, StatusCode};
use chrono::TimeDelta;
use serde_json::{Value, json};

use crate::breakglass::detail;
use crate::harness::*;

async fn wrong_password(t: &TestApp, nick: &str) -> StatusCode {
    t.call(
        Method::POST,
        "/v1/auth/token",
        None,
        Some(json!({ "username": format!("{nick}@contoso.example"), "password": "not it at all" })),
    )
    .await
    .0
}

/// Entries recorded as `activity` with result failure, oldest first.
async fn failed(t: &TestApp, activity: &str) -> Vec<Value> {
    let mut entries: Vec<Value> = t
        .audited_as(activity)
        .await
        .into_iter()
        .filter(|e| e["result"] == "failure")
        .collect();
    entries.sort_by_key(|e| e["sequence"].as_i64());
    entries
}

/// How many failures the entries stand for.
fn counted(entries: &[Value]) -> u64 {
    entries
        .iter()
        .map(|e| detail(e, "failureCount").map_or(1, |c| c.parse().unwrap()))
        .sum()
}

async fn chain_is_valid(t: &TestApp) {
    let mut tx = t.app.store.read().await.unwrap();
    let verdict = eligo::service::audit::verify_chain(&mut *tx).await.unwrap();
    assert!(verdict.valid, "{verdict:?}");
}

#[tokio::test]
async fn a_guessing_burst_is_written_first_at_once_and_then_as_one_count() {
    let t = TestApp::new().await;
    t.user("alice").await;
    for _ in 0..10 {
        let status = wrong_password(&t, "alice").await;
        assert!(
            status == StatusCode::UNAUTHORIZED || status == StatusCode::TOO_MANY_REQUESTS,
            "{status}"
        );
    }
    // Right away, before any flush: the first wrong password and the first throttled attempt
    // are on the record (the attacker stopping now hides nothing).
    let now = failed(&t, "User sign-in failed").await;
    let reasons: Vec<String> = now.iter().filter_map(|e| detail(e, "reason")).collect();
    assert_eq!(reasons, vec!["invalidCredentials", "throttled"], "{now:?}");
    assert!(now.iter().all(|e| detail(e, "failureCount").is_none()));
    // The burst is not over yet: nothing is due.
    assert_eq!(
        eligo::service::audit::flush_failures(&t.app, false)
            .await
            .unwrap(),
        0
    );
    // A window of quiet later, the rest of each burst is one entry with its count.
    t.clock.advance(TimeDelta::seconds(61));
    assert_eq!(
        eligo::service::audit::flush_failures(&t.app, false)
            .await
            .unwrap(),
        2
    );
    let all = failed(&t, "User sign-in failed").await;
    assert_eq!(all.len(), 4, "{all:?}");
    assert_eq!(counted(&all), 10, "every attempt is counted");
    let aggregated: Vec<&Value> = all
        .iter()
        .filter(|e| detail(e, "failureCount").is_some())
        .collect();
    for e in &aggregated {
        assert_eq!(detail(e, "failureCount").as_deref(), Some("4"));
        assert!(detail(e, "firstFailureDateTime").is_some());
        assert!(detail(e, "lastFailureDateTime").is_some());
        assert_eq!(
            e["initiatedBy"]["user"]["userPrincipalName"],
            "alice@contoso.example"
        );
    }
    // The next failure, after the burst ended, is written at once again.
    wrong_password(&t, "alice").await;
    assert_eq!(failed(&t, "User sign-in failed").await.len(), 5);
    chain_is_valid(&t).await;
}

#[tokio::test]
async fn the_owners_sign_in_comes_after_its_counted_failures_and_shutdown_keeps_every_count() {
    let t = TestApp::new().await;
    t.user("bob").await;
    t.user("carol").await;
    for _ in 0..3 {
        wrong_password(&t, "bob").await;
        wrong_password(&t, "carol").await;
    }
    // Bob gets it right: his two counted failures are written first, then the sign-in.
    t.password_sign_in("bob").await;
    let mut bobs: Vec<Value> = t
        .audited_as("User sign-in failed")
        .await
        .into_iter()
        .chain(t.audited_as("User signed in").await)
        .filter(|e| e["initiatedBy"]["user"]["userPrincipalName"] == "bob@contoso.example")
        .collect();
    bobs.sort_by_key(|e| e["sequence"].as_i64());
    let story: Vec<(String, Option<String>)> = bobs
        .iter()
        .map(|e| {
            (
                e["activityDisplayName"].as_str().unwrap().to_string(),
                detail(e, "failureCount"),
            )
        })
        .collect();
    assert_eq!(
        story,
        vec![
            ("User sign-in failed".to_string(), None),
            ("User sign-in failed".to_string(), Some("2".to_string())),
            ("User signed in".to_string(), None),
        ]
    );
    // Carol's burst is still counting; a graceful shutdown writes it without waiting.
    let carols = |all: Vec<Value>| -> Vec<Value> {
        all.into_iter()
            .filter(|e| e["initiatedBy"]["user"]["userPrincipalName"] == "carol@contoso.example")
            .collect()
    };
    assert_eq!(carols(failed(&t, "User sign-in failed").await).len(), 1);
    assert_eq!(
        eligo::service::audit::flush_failures(&t.app, true)
            .await
            .unwrap(),
        1
    );
    assert_eq!(counted(&carols(failed(&t, "User sign-in failed").await)), 3);
    assert_eq!(t.app.failure_bursts.pending(), 0);
    chain_is_valid(&t).await;
}

#[tokio::test]
async fn a_steady_guesser_leaves_one_entry_per_window_and_step_up_failures_count_per_session() {
    let t = TestApp::new().await;
    let p = t.person("dave").await;
    // Four wrong codes on one session: one entry now, three counted.
    for _ in 0..4 {
        let (status, _) = t
            .post("/v1/auth/stepup", &p.token, json!({ "otp": "000000" }))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(failed(&t, "Step-up authentication").await.len(), 1);
    t.clock.advance(TimeDelta::minutes(2));
    eligo::service::audit::flush_failures(&t.app, false)
        .await
        .unwrap();
    let entries = failed(&t, "Step-up authentication").await;
    assert_eq!(entries.len(), 2);
    assert_eq!(counted(&entries), 4);

    // A guesser trying every 10 seconds for 5 minutes (the throttle answers most of them):
    // a handful of entries, every attempt counted.
    t.user("erin").await;
    let before = counted(&failed(&t, "User sign-in failed").await);
    for _ in 0..30 {
        wrong_password(&t, "erin").await;
        t.clock.advance(TimeDelta::seconds(10));
        eligo::service::audit::flush_failures(&t.app, false)
            .await
            .unwrap();
    }
    t.clock.advance(TimeDelta::minutes(2));
    eligo::service::audit::flush_failures(&t.app, false)
        .await
        .unwrap();
    let erins: Vec<Value> = failed(&t, "User sign-in failed")
        .await
        .into_iter()
        .filter(|e| e["initiatedBy"]["user"]["userPrincipalName"] == "erin@contoso.example")
        .collect();
    assert_eq!(counted(&erins), 30, "{erins:?}");
    assert!(erins.len() <= 14, "{} entries for 30 attempts", erins.len());
    assert_eq!(
        before,
        counted(&failed(&t, "User sign-in failed").await) - 30
    );
    chain_is_valid(&t).await;
}
