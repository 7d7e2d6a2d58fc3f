//! The audit trail to webhooks (issue 14): `audit.entry` delivers every entry in order, at least
//! once, resuming after a refusal and after a restart; `audit.checkpoint` delivers every signed
//! checkpoint; only those who may read the audit log may subscribe to either, and `*` covers
//! neither.

use axum::http::StatusCode;
use chrono::TimeDelta;
use eligo_core::roles::ids;
use eligo_core::schedule::ScheduleKind;
use serde_json::{Value, json};

use crate::breakglass::{deliver, receiver, subscribe};
use crate::harness::*;

/// The sequences of the `audit.entry` events in `events`, checking each against the API's copy
/// of the entry.
async fn sequences(t: &TestApp, events: &[Value]) -> Vec<i64> {
    let mut out = Vec::new();
    for e in events {
        assert_eq!(e["type"], "audit.entry", "{e}");
        let entry = &e["data"];
        assert_eq!(e["id"], entry["id"], "the event id is the entry's id");
        out.push(entry["sequence"].as_i64().unwrap());
    }
    // Spot-check one against the API (the data is the entry exactly as served).
    if let Some(e) = events.last() {
        let id = e["data"]["id"].as_str().unwrap();
        let (_, page) = t
            .get("/v1/auditLogs/directoryAudits?$top=999", BOOTSTRAP)
            .await;
        let served = page["value"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == id)
            .cloned()
            .expect("the entry is served");
        assert_eq!(served, e["data"]);
    }
    out
}

async fn head(t: &TestApp) -> i64 {
    t.app
        .store
        .read()
        .await
        .unwrap()
        .audit_head()
        .await
        .unwrap()
        .0
}

#[tokio::test]
async fn every_audit_entry_reaches_the_subscriber_in_order_through_refusals_and_restarts() {
    let t = TestApp::new().await;
    let (url, inbox) = receiver(&t).await;
    let (status, sub) = subscribe(&t, BOOTSTRAP, &url, &["audit.entry"]).await;
    assert_eq!(status, StatusCode::CREATED, "{sub}");
    let sub_id = id_of(&sub);
    for i in 0..3 {
        t.user(&format!("feed{i}")).await;
    }
    deliver(&t).await;
    let got = inbox.take();
    let seqs = sequences(&t, &got).await;
    // It starts with its own creation, and nothing is missing up to the head at that time.
    assert_eq!(
        got[0]["data"]["activityDisplayName"],
        "Add webhook subscription"
    );
    assert_eq!(got[0]["data"]["targetResources"][0]["id"], json!(sub_id));
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "in order, no gap: {seqs:?}"
    );
    let mut last = *seqs.last().unwrap();
    assert_eq!(
        eligo::notify::audit_feed::cursor(&t.app, sub_id)
            .await
            .unwrap(),
        Some(last)
    );

    // The receiver goes down after taking one entry: the feed stops there, keeps its place,
    // and says why in the outbox.
    for i in 0..3 {
        t.user(&format!("later{i}")).await;
    }
    let target = head(&t).await;
    *inbox.budget.lock().unwrap() = Some(1);
    let done = deliver(&t).await;
    assert_eq!(done.retried, 1, "{done:?}");
    let one = sequences(&t, &inbox.take()).await;
    assert_eq!(one, vec![last + 1], "one accepted");
    last += 1;
    assert_eq!(
        eligo::notify::audit_feed::cursor(&t.app, sub_id)
            .await
            .unwrap(),
        Some(last),
        "the cursor is exactly what was acknowledged"
    );
    let (_, pending) = t.get("/v1/outbox?status=pending", BOOTSTRAP).await;
    let feed = pending["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["kind"] == "audit.feed")
        .cloned()
        .expect("the feed job waits for its retry");
    assert!(
        feed["lastError"].as_str().unwrap().contains("503"),
        "{feed}"
    );
    // Back up: the retry sends everything from the cursor on, in order.
    *inbox.budget.lock().unwrap() = None;
    t.clock.advance(TimeDelta::minutes(5));
    inbox.set_clock(&t);
    deliver(&t).await;
    let got = inbox.take();
    let seqs = sequences(&t, &got).await;
    assert_eq!(seqs[0], last + 1, "resumes right after the cursor");
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    assert!(*seqs.last().unwrap() >= target);
    last = *seqs.last().unwrap();

    // A restart (same database, new process state): the cursor is in the store.
    let t2 = t.restarted(t.clock.now_utc()).await;
    inbox.set_clock(&t2);
    t2.user("after-restart").await;
    deliver(&t2).await;
    let got = inbox.take();
    let seqs = sequences(&t2, &got).await;
    assert_eq!(seqs[0], last + 1, "{seqs:?}");
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    assert!(
        got.iter()
            .any(|e| e["data"]["targetResources"][0]["userPrincipalName"]
                == "after-restart@contoso.example"),
        "{got:?}"
    );
    // Unsubscribed: the feed stops.
    let (status, _) = t2
        .delete(&format!("/v1/subscriptions/{sub_id}"), BOOTSTRAP)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    t2.user("unsubscribed").await;
    deliver(&t2).await;
    assert!(inbox.take().is_empty());
}

#[tokio::test]
async fn a_long_backlog_goes_out_in_batches_in_one_worker_pass() {
    let t = TestApp::new().await;
    let (url, inbox) = receiver(&t).await;
    let (status, sub) = subscribe(&t, BOOTSTRAP, &url, &["audit.entry"]).await;
    assert_eq!(status, StatusCode::CREATED, "{sub}");
    // 250 entries written straight to the store (more than two batches of 100).
    {
        let mut tx = t.app.store.write().await.unwrap();
        for i in 0..250 {
            tx.append_audit(eligo_core::audit::AuditEvent::new(
                t.clock.now_utc(),
                eligo_core::audit::Category::Policy,
                format!("Backlog {i}"),
                eligo_core::audit::Initiator::system(),
            ))
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
    }
    let target = head(&t).await;
    deliver(&t).await;
    let seqs = sequences(&t, &inbox.take()).await;
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    assert!(
        *seqs.last().unwrap() >= target,
        "{} < {target}",
        seqs.last().unwrap()
    );
    assert!(seqs.len() >= 251);
}

/// A custom role with exactly `actions`, held by a new person with a fresh second factor.
async fn holder_of(t: &TestApp, nick: &str, actions: &[&str]) -> Person {
    let (status, role) = t
        .post(
            "/v1/roleManagement/directory/roleDefinitions",
            BOOTSTRAP,
            json!({ "displayName": format!("Custom {nick}"), "isEnabled": true,
                    "rolePermissions": [{ "allowedResourceActions": actions }] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{role}");
    let p = t.person(nick).await;
    t.grant(
        p.id,
        role["id"].as_str().unwrap(),
        ScheduleKind::Active,
        None,
    )
    .await;
    p
}

#[tokio::test]
async fn only_audit_readers_subscribe_to_audit_events_and_the_wildcard_never_covers_them() {
    let t = TestApp::new().await;
    let (url, inbox) = receiver(&t).await;
    let hooks = holder_of(
        &t,
        "hooks",
        &[
            "microsoft.directory/subscriptions/update",
            "microsoft.directory/subscriptions/read",
        ],
    )
    .await;
    for types in [
        &["audit.entry"][..],
        &["audit.checkpoint"],
        &["access.activated", "audit.entry"],
        &["*", "audit.entry"],
    ] {
        let (status, body) = subscribe(&t, &hooks.token, &url, types).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{types:?}: {body}");
    }
    let refused = t.audited_as("Add webhook subscription").await;
    assert_eq!(
        refused.iter().filter(|e| e["result"] == "failure").count(),
        4,
        "each refusal is audited"
    );
    // Notices and the wildcard are theirs to subscribe to, and carry no audit entry.
    let (status, body) = subscribe(&t, &hooks.token, &url, &["*"]).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    t.user("someone").await;
    deliver(&t).await;
    assert!(
        inbox
            .take()
            .iter()
            .all(|e| !e["type"].as_str().unwrap().starts_with("audit.")),
        "* covers no audit event"
    );
    // A Security Reader may read the log but not subscribe at all.
    let reader = t.person("reader").await;
    t.grant(reader.id, ids::SECURITY_READER, ScheduleKind::Active, None)
        .await;
    let (status, _) = subscribe(&t, &reader.token, &url, &["audit.entry"]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Both permissions: allowed.
    let siem = holder_of(
        &t,
        "siem",
        &[
            "microsoft.directory/subscriptions/update",
            "microsoft.directory/auditLogs/read",
        ],
    )
    .await;
    let (status, body) =
        subscribe(&t, &siem.token, &url, &["audit.entry", "audit.checkpoint"]).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn every_signed_checkpoint_goes_to_its_subscribers() {
    let t = TestApp::new().await;
    let (url, inbox) = receiver(&t).await;
    let (status, _) = subscribe(&t, BOOTSTRAP, &url, &["audit.checkpoint"]).await;
    assert_eq!(status, StatusCode::CREATED);
    let (other_url, other) = receiver(&t).await;
    let (status, _) = subscribe(&t, BOOTSTRAP, &other_url, &["audit.entry"]).await;
    assert_eq!(status, StatusCode::CREATED);
    t.user("signed").await;
    let signer = eligo::checkpoint::Signer::open(&t.app.config.checkpoint_dir()).unwrap();
    let mut last = None;
    eligo::checkpoint::sign_head(&t.app, &signer, &mut last)
        .await
        .unwrap();
    // An unmoved head is not signed (nor sent) twice.
    eligo::checkpoint::sign_head(&t.app, &signer, &mut last)
        .await
        .unwrap();
    deliver(&t).await;
    let got = inbox.take();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["type"], "audit.checkpoint");
    let checkpoint: eligo::checkpoint::Checkpoint =
        serde_json::from_value(got[0]["data"].clone()).unwrap();
    assert!(eligo::checkpoint::verify_signature(
        &checkpoint,
        &signer.public_key()
    ));
    let (signed_seq, signed_hash) = last.unwrap();
    assert_eq!(checkpoint.sequence, signed_seq);
    assert_eq!(checkpoint.hash, signed_hash);
    // The file has the same line.
    let (_, in_file) = eligo::checkpoint::read_dir(&t.app.config.checkpoint_dir()).unwrap();
    assert_eq!(in_file.last(), Some(&checkpoint));
    // The entry subscriber got entries, no checkpoint.
    assert!(other.take().iter().all(|e| e["type"] == "audit.entry"));
}
