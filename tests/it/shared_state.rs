//! What several servers on one database share through the store (issue 18, item 2): sign-in
//! throttling, used TOTP codes, the scheduler's periodic looks, and a server id held by one
//! server at a time. Two in-process apps (or an app and a second store) on one database stand
//! for two servers.

use axum::http::StatusCode;
use chrono::TimeDelta;
use eligo::auth::totp;
use serde_json::json;

use crate::auth::{enrol, login, token_request};
use crate::harness::*;

#[tokio::test]
async fn failures_on_two_servers_count_against_one_budget() {
    let one = TestApp::new().await;
    one.user("dave").await;
    let two = one.restarted(one.clock.now_utc()).await;
    // Five wrong passwords, spread over both servers: the budget of one server.
    for n in 0..5 {
        let server = if n % 2 == 0 { &one } else { &two };
        let (status, _) = token_request(server, login("dave", "wrong password!!")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    for server in [&one, &two] {
        let (status, body) = token_request(server, login("dave", PASSWORD)).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::TOO_MANY_REQUESTS, "TooManyRequests"),
            "the right password is refused on both servers while throttled"
        );
    }
    // The window passes for both; a success on one clears the account on the other.
    one.clock.advance(TimeDelta::minutes(16));
    two.clock.advance(TimeDelta::minutes(16));
    for _ in 0..4 {
        token_request(&one, login("dave", "wrong password!!")).await;
    }
    assert_eq!(
        token_request(&two, login("dave", PASSWORD)).await.0,
        StatusCode::OK
    );
    token_request(&two, login("dave", "wrong password!!")).await;
    assert_eq!(
        token_request(&one, login("dave", PASSWORD)).await.0,
        StatusCode::OK,
        "four failures before the success were forgotten everywhere"
    );
}

#[tokio::test]
async fn a_totp_code_used_on_one_server_is_refused_on_the_other() {
    let one = TestApp::new().await;
    one.user("alice").await;
    let token = one.sign_in("alice").await;
    let secret = enrol(&one, &token).await;
    one.clock.advance(TimeDelta::seconds(30));
    let two = one.restarted(one.clock.now_utc()).await;
    let mut body = login("alice", PASSWORD);
    body["otp"] = json!(totp::code_at(&secret, one.clock.now_utc()).unwrap());
    let (status, issued) = token_request(&one, body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{issued}");
    let (status, replay) = token_request(&two, body).await;
    assert_eq!(
        (status, code(&replay)),
        (StatusCode::UNAUTHORIZED, "InvalidCredentials")
    );
}

#[tokio::test]
async fn servers_look_for_reminders_once_per_period_between_them() {
    use eligo::service::pim::scheduler::{REMINDER_LOOK_EVERY, remind_if_due};
    let one = TestApp::new().await;
    let two = one.restarted(one.clock.now_utc()).await;
    assert!(remind_if_due(&one.app).await.unwrap().is_some());
    assert_eq!(
        remind_if_due(&two.app).await.unwrap(),
        None,
        "the other server looked a moment ago"
    );
    assert_eq!(remind_if_due(&one.app).await.unwrap(), None);
    two.clock.advance(REMINDER_LOOK_EVERY);
    assert!(remind_if_due(&two.app).await.unwrap().is_some());
    one.clock.advance(REMINDER_LOOK_EVERY);
    assert_eq!(remind_if_due(&one.app).await.unwrap(), None);
}

/// An `audit.entry` feed is delivered by one job at a time, whichever server runs it: while a
/// server holds its job, another server's plan queues none (it would post the same entries
/// concurrently, out of order); once that job is done, the next plan queues one.
#[tokio::test]
async fn a_feed_being_delivered_on_one_server_is_not_queued_again_on_another() {
    use eligo::notify::audit_feed::plan;
    let one = TestApp::new().await;
    let (url, _inbox) = crate::breakglass::receiver(&one).await;
    let (status, sub) = crate::breakglass::subscribe(&one, BOOTSTRAP, &url, &["audit.entry"]).await;
    assert_eq!(status, StatusCode::CREATED, "{sub}");
    let two = one.restarted(one.clock.now_utc()).await;
    assert_eq!(plan(&one.app).await.unwrap(), 1);
    // Server one claims the feed's job (its delivery is under way).
    let now = one.clock.now_utc();
    let mut tx = one.app.store.write().await.unwrap();
    let claimed = tx
        .claim_jobs(now, now + TimeDelta::minutes(1), 10, "one")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(claimed.len(), 1);
    // More entries meanwhile; server two finds the feed behind and in flight: nothing queued.
    one.user("another").await;
    assert_eq!(plan(&two.app).await.unwrap(), 0);
    assert_eq!(plan(&one.app).await.unwrap(), 0);
    let mut tx = one.app.store.write().await.unwrap();
    assert!(
        tx.complete_job(claimed[0].id, &eligo_store::JobOutcome::Delivered, now)
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
    // Done (its cursor not moved here): the next plan, on either server, queues the feed again.
    assert_eq!(plan(&two.app).await.unwrap(), 1);
    assert_eq!(plan(&one.app).await.unwrap(), 0, "queued already");
}

/// The timed PIM alert scan runs once per interval between the servers (a store marker written
/// with the scan), not once per server.
#[tokio::test]
async fn servers_scan_for_alerts_once_per_interval_between_them() {
    use eligo::service::pim_alerts::scan_if_due;
    let one = TestApp::new().await;
    let two = one.restarted(one.clock.now_utc()).await;
    let every = TimeDelta::hours(1);
    assert!(scan_if_due(&one.app, every).await.unwrap().is_some());
    assert!(scan_if_due(&two.app, every).await.unwrap().is_none());
    two.clock.advance(every);
    assert!(scan_if_due(&two.app, every).await.unwrap().is_some());
    one.clock.advance(every + TimeDelta::minutes(1));
    assert!(scan_if_due(&one.app, every).await.unwrap().is_none());
}

/// Two servers on one PostgreSQL run their scheduler passes at the same moment over the same
/// due approval timeouts: each is handled and audited once (a pass reads what is due inside its
/// write transaction, which holds the audit head's lock).
#[tokio::test]
async fn two_schedulers_at_once_expire_each_approval_timeout_once() {
    use eligo::service::pim::scheduler::run_due;
    use eligo_core::roles::ids;
    let Some(one) = TestApp::postgres().await else {
        return;
    };
    const ROLE: &str = ids::SECURITY_ADMINISTRATOR;
    let approver = one.person("appr").await;
    one.set_rule(
        ROLE,
        "Approval_EndUser_Assignment",
        json!({ "setting": { "isApprovalRequired": true, "approvalStages": [{
            "approvalStageTimeOutInDays": 1,
            "primaryApprovers": [{ "@odata.type": "#microsoft.graph.singleUser", "userId": approver.id }]
        }] } }),
    )
    .await;
    for i in 0..4 {
        let p = one.person(&format!("req{i}")).await;
        one.make_eligible(p.id, ROLE).await;
        one.step_up(&p).await;
        let (status, body) = one.activate(&p, ROLE, "PT1H", json!({})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["status"], "PendingApproval");
    }
    let two = one.restarted(one.clock.now_utc()).await;
    let later = one.clock.now_utc() + TimeDelta::days(2);
    one.clock.set(later);
    two.clock.set(later);
    let (a, b) = tokio::join!(run_due(&one.app), run_due(&two.app));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.expired_requests + b.expired_requests, 4, "{a:?} {b:?}");
    let (_, log) = one
        .get(
            "/v1/auditLogs/directoryAudits?$filter=activityDisplayName eq 'PIM activation request expired'",
            BOOTSTRAP,
        )
        .await;
    assert_eq!(log["value"].as_array().unwrap().len(), 4, "{log}");
    let (a, b) = tokio::join!(run_due(&one.app), run_due(&two.app));
    assert_eq!(a.unwrap().expired_requests + b.unwrap().expired_requests, 0);
}

/// Two approvers decide one request at the same moment through two servers on one PostgreSQL
/// (issue 18, item 6): one decision wins, the other is refused, both servers then tell the
/// same outcome, and the trail holds one decision.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_decisions_on_two_servers_have_one_outcome() {
    use eligo_core::roles::ids;
    let Some(one) = TestApp::postgres().await else {
        return;
    };
    let requester = one.person("rhea").await;
    let approvers = [one.person("abe").await, one.person("bea").await];
    one.set_rule(
        ids::SECURITY_ADMINISTRATOR,
        "Approval_EndUser_Assignment",
        json!({ "setting": { "isApprovalRequired": true, "approvalStages": [{ "primaryApprovers": [
            { "@odata.type": "#microsoft.graph.singleUser", "userId": approvers[0].id },
            { "@odata.type": "#microsoft.graph.singleUser", "userId": approvers[1].id }
        ] }] } }),
    )
    .await;
    one.make_eligible(requester.id, ids::SECURITY_ADMINISTRATOR)
        .await;
    let (status, body) = one
        .activate(&requester, ids::SECURITY_ADMINISTRATOR, "PT1H", json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let approval = body["approvalId"].as_str().unwrap().to_string();
    for a in &approvers {
        one.step_up(a).await;
    }
    let two = one.restarted(one.clock.now_utc()).await;
    let url = format!("/v1/roleManagement/directory/roleAssignmentApprovals/{approval}");
    let (_, a) = one.get(&url, &approvers[0].token).await;
    let step = a["steps"][0]["id"].as_str().unwrap().to_string();
    let decide = |t: &'static str| json!({ "reviewResult": t, "justification": "at once" });
    let step_url = format!("{url}/steps/{step}");
    let ((s1, b1), (s2, b2)) = tokio::join!(
        one.patch(&step_url, &approvers[0].token, decide("Approve")),
        two.patch(&step_url, &approvers[1].token, decide("Deny")),
    );
    let won: Vec<bool> = [s1, s2].iter().map(|s| s.is_success()).collect();
    assert_eq!(
        won.iter().filter(|w| **w).count(),
        1,
        "exactly one decision: {s1} {b1} / {s2} {b2}"
    );
    let loser = if won[0] { &b2 } else { &b1 };
    assert!(
        !code(loser).is_empty(),
        "the other is refused with a code: {loser}"
    );
    let expected = if won[0] { "Provisioned" } else { "Denied" };
    let path = format!("{ASSIGNMENT_URL}?$filter=principalId eq '{}'", requester.id)
        .replace(' ', "%20")
        .replace('\'', "%27");
    for server in [&one, &two] {
        let (status, list) = server.get(&path, BOOTSTRAP).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        let statuses: Vec<&str> = list["value"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["action"] == "selfActivate")
            .map(|r| r["status"].as_str().unwrap())
            .collect();
        assert_eq!(statuses, vec![expected], "{list}");
    }
}

/// A server cut off from the database lost the session that held its id, and another server
/// started with the same id meanwhile: the first delivers no outbox job (the two would deliver
/// each other's) until the other stops and it has its id back; then it delivers what waited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_whose_id_another_took_delivers_nothing_until_it_is_back() {
    use crate::breakglass::{deliver, receiver, subscribe};
    use eligo_core::roles::ids;
    use sqlx::Connection;
    let Some(t) = TestApp::postgres().await else {
        return;
    };
    let url = t.app.config.database_url.expose().to_string();
    t.app.store.hold_server_id("node-1").await.unwrap();
    let (hook, inbox) = receiver(&t).await;
    let (status, body) = subscribe(&t, BOOTSTRAP, &hook, &["eligibility.granted"]).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // The session holding the id ends (a network cut); another server starts with the id.
    let mut admin = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND application_name = 'eligo server id'",
    )
    .execute(&mut admin)
    .await
    .unwrap();
    let keys = |_: Option<&str>| {
        let key =
            eligo_store::seal::MasterKey::parse(TEST_MASTER_KEY).map_err(|e| e.to_string())?;
        Ok(eligo_store::seal::Keyring::new(key, Vec::new()))
    };
    let other = eligo_store::open(&url, &keys).await.unwrap();
    other.hold_server_id("node-1").await.unwrap();
    let taken = async {
        for _ in 0..200 {
            if t.app.store.server_id_taken() {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        false
    };
    assert!(taken.await, "the server learns its id was taken");

    let dave = t.user("dave").await;
    t.make_eligible(dave, ids::GLOBAL_READER).await;
    assert_eq!(deliver(&t).await.delivered, 0);
    assert!(inbox.take().is_empty());

    other.close().await;
    let mut delivered = 0;
    for _ in 0..200 {
        delivered = deliver(&t).await.delivered;
        if delivered > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        delivered, 1,
        "the job that waited is delivered once the id is back"
    );
    assert_eq!(inbox.take().len(), 1);
}
