//! The weekly digest with a real maildev and the mock clock: mailed to the Global and Privileged
//! Role Administrators (active or eligible, nobody else) with the active alerts and their
//! incident counts, the last 7 days' activations and the roles activated most, and the PIM and
//! access package requests waiting for approval; once per period, across a restart too; never
//! when `ELIGO_DIGEST_INTERVAL` is 0.

use axum::http::StatusCode;
use chrono::TimeDelta;
use eligo::service::digest;
use eligo_core::roles::ids::{
    GLOBAL_ADMINISTRATOR, PRIVILEGED_ROLE_ADMINISTRATOR, SECURITY_READER, USER_ADMINISTRATOR,
};
use eligo_core::schedule::ScheduleKind;
use serde_json::{Value, json};

use crate::entitlement::support::{GroupPackage, open_policy};
use crate::harness::*;
use crate::pim_alerts::{BASE, alert_id, refresh};
use crate::pim_alerts_mail::{PUBLIC, inbox, jobs_of, mail_app};

/// The digest mail jobs so far, as (recipient, digest).
async fn digests(t: &TestApp) -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = jobs_of(t, "mail.digest")
        .await
        .into_iter()
        .map(|p| (p["to"].as_str().unwrap().to_string(), p["digest"].clone()))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn section<'a>(digest: &'a Value, key: &str) -> &'a Value {
    digest["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == key)
        .unwrap_or_else(|| panic!("section {key} in {digest:#}"))
}

fn lines(section: &Value) -> Vec<String> {
    section["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn digest_says_alerts_activations_and_pending_approvals_once_per_period() {
    let Some((t, maildev)) = mail_app().await else {
        return;
    };
    // Recipients: Gail (active Global Administrator), Pria (eligible Privileged Role
    // Administrator). Not Uma (User Administrator).
    let gail = t.user("gail").await;
    t.grant(gail, GLOBAL_ADMINISTRATOR, ScheduleKind::Active, None)
        .await;
    let pria = t.user("pria").await;
    t.make_eligible(pria, PRIVILEGED_ROLE_ADMINISTRATOR).await;
    let uma = t.user("uma").await;
    t.grant(uma, USER_ADMINISTRATOR, ScheduleKind::Active, None)
        .await;

    // An active alert: two active Global Administrators reach the lowered thresholds.
    let too_many = alert_id(&t, "TooManyGlobalAdminsAssignedToTenantAlert").await;
    let (status, body) = t
        .patch(
            &format!("{BASE}/alertConfigurations/{too_many}"),
            BOOTSTRAP,
            json!({ "globalAdminCountThreshold": 2, "percentageOfGlobalAdminsOutOfRolesThreshold": 1 }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    refresh(&t).await;

    // Two activations of User Administrator and one of Security Reader's request waiting for
    // Gail's approval.
    for nick in ["ann", "ben"] {
        let p = t.person(nick).await;
        t.make_eligible(p.id, USER_ADMINISTRATOR).await;
        let (status, body) = t.activate(&p, USER_ADMINISTRATOR, "PT1H", json!({})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    t.set_rule(
        SECURITY_READER,
        "Approval_EndUser_Assignment",
        json!({ "setting": { "isApprovalRequired": true, "approvalStages": [{ "primaryApprovers": [
            { "@odata.type": "#microsoft.graph.singleUser", "userId": gail } ] }] } }),
    )
    .await;
    let cat = t.person("cat").await;
    t.make_eligible(cat.id, SECURITY_READER).await;
    let (status, body) = t.activate(&cat, SECURITY_READER, "PT1H", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["status"], "PendingApproval", "{body}");

    // An access package request waiting for Gail's approval.
    let group = t.group("Auditors").await;
    let catalog = t.catalog(BOOTSTRAP, "Audit").await;
    let package = t.package(BOOTSTRAP, catalog, "Audit access").await;
    t.add_role_scope(catalog, package, &group.to_string(), "AadGroup", "Member")
        .await;
    let policy = t
        .policy(
            BOOTSTRAP,
            package,
            open_policy(
                json!({ "requestApprovalSettings": { "isApprovalRequiredForAdd": true,
                "stages": [{ "durationBeforeAutomaticDenial": "P2D", "primaryApprovers": [
                    { "@odata.type": "#microsoft.graph.singleUser", "userId": gail } ] }] } }),
            ),
        )
        .await;
    let p = GroupPackage {
        catalog,
        package,
        policy: id_of(&policy),
    };
    t.user("dora").await;
    let dora = t.sign_in("dora").await;
    let (status, body) = t.ask(&dora, "userAdd", &p, None, json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["state"], "pendingApproval", "{body}");

    // The digest: one mail per recipient.
    let sent = digest::send_due(&t.app).await.unwrap().expect("due");
    let mails = digests(&t).await;
    assert_eq!(sent, mails.len());
    let to: Vec<&str> = mails.iter().map(|(to, _)| to.as_str()).collect();
    assert!(to.contains(&"gail@contoso.example"), "{to:?}");
    assert!(to.contains(&"pria@contoso.example"), "{to:?}");
    assert!(
        !to.iter()
            .any(|t| t.starts_with("uma@") || t.starts_with("ann@")),
        "{to:?}"
    );
    let d = &mails[0].1;
    let alerts = section(d, "alerts");
    assert!(
        lines(alerts).contains(
            &"There are too many global administrators (low severity): 2 incidents".to_string()
        ),
        "{alerts:#}"
    );
    let activations = section(d, "activations");
    assert_eq!(activations["count"], 2, "{activations:#}");
    assert_eq!(
        lines(activations),
        vec!["User Administrator: 2 activations"]
    );
    let pim = section(d, "pimApprovals");
    assert_eq!(pim["count"], 1);
    assert!(
        lines(pim)[0].starts_with("cat asks for Security Reader (since "),
        "{pim:#}"
    );
    let packages = section(d, "packageApprovals");
    assert_eq!(packages["count"], 1);
    assert!(
        lines(packages)[0].starts_with("dora asks for access package Audit access (since "),
        "{packages:#}"
    );

    // What Pria reads.
    eligo::outbox::worker::run_due(&t.app).await.unwrap();
    let got = inbox(&maildev, 1).await;
    let mail = got
        .iter()
        .find(|m| {
            m["to"][0]["address"] == "pria@contoso.example"
                && m["subject"].as_str().unwrap().contains("digest")
        })
        .expect("Pria's digest");
    assert_eq!(mail["subject"], "Eligo: Weekly digest of 2026-11-22");
    let text = mail["text"].as_str().unwrap();
    assert!(
        text.contains("Activations in the last 7 days: 2 activations since 2026-11-15"),
        "{text}"
    );
    assert!(
        text.contains("- User Administrator: 2 activations"),
        "{text}"
    );
    assert!(
        text.contains("PIM requests waiting for approval: 1 PIM request is waiting for approval."),
        "{text}"
    );
    assert!(
        text.contains(&format!("{PUBLIC}/portal/admin/alerts")),
        "{text}"
    );

    // Once per period: not again the same day, nor a day later, nor after a restart.
    assert_eq!(digest::send_due(&t.app).await.unwrap(), None);
    t.clock.advance(TimeDelta::days(1));
    assert_eq!(digest::send_due(&t.app).await.unwrap(), None);
    let maildev_url = maildev.smtp_url();
    // A restart: the first server's connections are gone before the next one opens the file.
    t.app.store.close().await;
    let again = t
        .restarted_with(t.clock.now_utc(), |c| {
            c.smtp_url = Some(eligo::config::Secret::new(maildev_url));
            c.public_url = PUBLIC.into();
        })
        .await;
    // The first app is gone from here on (one server per SQLite database; two stores open on
    // one file are a test's artefact): every read goes through the restarted one.
    assert_eq!(digest::send_due(&again.app).await.unwrap(), None);
    assert_eq!(digests(&again).await.len(), sent);

    // The next week: sent again; the activations have left the 7 days.
    again.clock.advance(TimeDelta::days(7));
    assert_eq!(digest::send_due(&again.app).await.unwrap(), Some(sent));
    let mails = digests(&again).await;
    assert_eq!(mails.len(), 2 * sent);
    let newest = mails
        .iter()
        .map(|(_, d)| d)
        .max_by_key(|d| d["generatedAt"].as_str().unwrap().to_string())
        .unwrap();
    assert_eq!(section(newest, "activations")["count"], 0);
    assert_eq!(section(newest, "pimApprovals")["count"], 1);
}

#[tokio::test]
async fn digest_is_not_sent_when_disabled() {
    let Some(maildev) = eligo_testkit::maildev::maildev().await else {
        return;
    };
    let t = TestApp::configured(|c| {
        c.smtp_url = Some(eligo::config::Secret::new(maildev.smtp_url()));
        c.digest_interval = TimeDelta::zero();
    })
    .await;
    let gail = t.user("gail").await;
    t.grant(gail, GLOBAL_ADMINISTRATOR, ScheduleKind::Active, None)
        .await;
    assert_eq!(digest::send_due(&t.app).await.unwrap(), None);
    t.clock.advance(TimeDelta::days(8));
    assert_eq!(digest::send_due(&t.app).await.unwrap(), None);
    assert!(digests(&t).await.is_empty());
}

#[tokio::test]
async fn digest_counts_access_review_decisions_nobody_has_made() {
    let t = TestApp::new().await;
    let rev = t.person("rev").await;
    let team = t.group("Digest Team").await;
    for nick in ["d1", "d2"] {
        let u = t.user(nick).await;
        t.add_member(team, u).await;
    }
    let (s, def) = t
        .post(
            "/v1/identityGovernance/accessReviews/definitions",
            BOOTSTRAP,
            json!({ "displayName": "Digest review",
                    "scope": { "query": format!("/groups/{team}/members") },
                    "reviewers": [{ "query": format!("/users/{}", rev.id) }] }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{def}");
    let assembled = |t: &TestApp| {
        let app = t.app.clone();
        let now = t.clock.now_utc();
        async move {
            let mut tx = app.store.read().await.unwrap();
            serde_json::to_value(digest::assemble(&mut *tx, now).await.unwrap()).unwrap()
        }
    };
    let d = assembled(&t).await;
    let reviews = section(&d, "reviews");
    assert_eq!(reviews["count"], 2, "{reviews}");
    assert!(lines(reviews)[0].starts_with("Digest review: 2 of 2 decisions not made yet"));
    let def_id = id_of(&def);
    let (_, instances) = t
        .get(
            &format!("/v1/identityGovernance/accessReviews/definitions/{def_id}/instances"),
            BOOTSTRAP,
        )
        .await;
    let instance = id_of(&instances["value"][0]);
    let (s, b) = t
        .post(
            &format!("/v1/identityGovernance/accessReviews/definitions/{def_id}/instances/{instance}/batchRecordDecisions"),
            &rev.token,
            json!({ "decision": "Approve", "justification": "fine" }),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let d = assembled(&t).await;
    assert_eq!(section(&d, "reviews")["count"], 0);
}
