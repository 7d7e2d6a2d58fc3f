//! The portal in a real browser: Debian's Chromium driven by playwright-core walks the seed
//! scenarios (`tests/e2e/walk.mjs`) against a real `eligo serve --demo` on `localhost`.
//! Screenshots go to a temporary folder, or to `ELIGO_E2E_SCREENSHOTS` (e.g. `docs/screenshots`
//! to refresh the README's pictures). The access package walk (`tests/e2e/package.mjs`) adds
//! a real maildev and slapd.

use std::path::PathBuf;
use std::time::Duration;

use eligo_testkit::browser::Runner;
use eligo_testkit::slapd::Slapd;
use serde_json::{Value, json};

use crate::harness::{BOOTSTRAP, temp_dir};
use crate::process::support::{Api, Server, Spec};

/// Runs the browser script `script` against `server`, shows what it printed, and fails the
/// test (with the server's log) when the walk failed.
pub async fn run_walk(
    runner: &Runner,
    script: &str,
    env: &[(&str, String)],
    server: &Server,
    deadline: Duration,
) {
    let outcome = runner.run(script, env, deadline).await;
    println!("{}", outcome.output);
    assert!(
        outcome.success,
        "the browser walk {script} failed:\n{}\n--- server stderr ---\n{}",
        outcome.output,
        server.stderr()
    );
}

#[tokio::test]
async fn the_seed_scenarios_walk_through_in_chromium() {
    let scripts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/e2e");
    let Some(runner) = eligo_testkit::browser::runner(&scripts) else {
        return;
    };
    let dir = temp_dir("e2e");
    // A one-second minimum lets the walk deactivate what it just activated, in real time.
    let spec = Spec::sqlite(&dir)
        .args(&["--demo"])
        .setting("ELIGO_MIN_DURATION", "PT1S");
    let server = Server::start(&spec).await;
    let shots = std::env::var("ELIGO_E2E_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| dir.join("screenshots"));
    let env = [
        ("ELIGO_URL", format!("http://localhost:{}", server.port)),
        ("SHOTS", shots.display().to_string()),
    ];
    run_walk(&runner, "walk.mjs", &env, &server, Duration::from_secs(240)).await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// The access package scenario end to end: erin requests Insider Risk Management in the portal,
/// her manager alice follows the mail's link (a real maildev) and approves; the group and the
/// mapped slapd group gain erin and the audit log names the assignment; erin removes her
/// access, and both lose her again.
#[tokio::test]
async fn an_access_package_goes_from_request_through_mail_approval_to_ldap_and_back() {
    let scripts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/e2e");
    let Some(runner) = eligo_testkit::browser::runner(&scripts) else {
        return;
    };
    let Some(mail) = eligo_testkit::maildev::maildev().await else {
        return;
    };
    let Some(ldap) = eligo_testkit::slapd::slapd().await else {
        return;
    };
    let erin_dn = ldap.add_user("erin", "erin@contoso.example").await;
    let group_dn = ldap.add_group_of_names("insider-risk", &[]).await;
    let dir = temp_dir("e2e-package");
    let spec = Spec::sqlite(&dir)
        .args(&["--demo"])
        .setting("ELIGO_SMTP_URL", &mail.smtp_url())
        .setting("ELIGO_PUBLIC_URL", "http://localhost:{port}");
    let server = Server::start(&spec).await;
    let api = server.client();
    let group = group_named(&api, eligo::service::demo::IRM_GROUP).await;
    let (status, body) = api
        .post(
            "/v1/connectors",
            BOOTSTRAP,
            json!({ "type": "ldap", "displayName": "Directory", "settings": {
                "url": ldap.url(), "bindDn": ldap.admin_dn(), "bindPassword": ldap.admin_password(),
                "userBaseDn": ldap.people_dn(), "timeoutSeconds": 5 } }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = api
        .post(
            &format!("/v1/groups/{group}/provisioning"),
            BOOTSTRAP,
            json!({ "connectorId": body["id"], "target": group_dn }),
        )
        .await;
    assert_eq!(status, 201, "{body}");

    let walk = |phase: &'static str| {
        let env = vec![
            ("ELIGO_URL", format!("http://localhost:{}", server.port)),
            ("MAILDEV_URL", mail.api_url()),
            ("PHASE", phase.to_string()),
            ("SHOTS", dir.join("screenshots").display().to_string()),
        ];
        let runner = &runner;
        let server = &server;
        async move {
            let outcome = runner
                .run("package.mjs", &env, Duration::from_secs(180))
                .await;
            println!("{}", outcome.output);
            assert!(
                outcome.success,
                "the access package walk ({phase}) failed:\n{}\n--- server stderr ---\n{}",
                outcome.output,
                server.stderr()
            );
        }
    };

    walk("request").await;
    let erin = member_named(&api, &group, "erin@contoso.example")
        .await
        .unwrap_or_else(|| panic!("erin is not a member of {group} after approval"));
    let erin = erin["id"].as_str().unwrap();
    assert!(
        audited(&api, "Add member to group", &group, erin).await,
        "the audit log does not show erin joining the group"
    );
    wait_for_ldap(&ldap, &group_dn, &erin_dn, true).await;

    walk("remove").await;
    assert!(
        member_named(&api, &group, "erin@contoso.example")
            .await
            .is_none(),
        "erin is still a member after removing her access"
    );
    assert!(
        audited(&api, "Remove member from group", &group, erin).await,
        "the audit log does not show erin leaving the group"
    );
    wait_for_ldap(&ldap, &group_dn, &erin_dn, false).await;
    let _ = std::fs::remove_dir_all(&dir);
}

async fn group_named(api: &Api, name: &str) -> String {
    let (status, body) = api.get("/v1/groups?$top=999", BOOTSTRAP).await;
    assert_eq!(status, 200, "{body}");
    body["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["displayName"] == name)
        .unwrap_or_else(|| panic!("no group {name}: {body}"))["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn member_named(api: &Api, group: &str, upn: &str) -> Option<Value> {
    let (status, body) = api
        .get(&format!("/v1/groups/{group}/members"), BOOTSTRAP)
        .await;
    assert_eq!(status, 200, "{body}");
    body["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["userPrincipalName"] == upn)
        .cloned()
}

/// Is there an audit entry `activity` about `member` and `group`, caused by an access package
/// assignment?
async fn audited(api: &Api, activity: &str, group: &str, member: &str) -> bool {
    let (status, body) = api
        .get("/v1/auditLogs/directoryAudits?$top=200", BOOTSTRAP)
        .await;
    assert_eq!(status, 200, "{body}");
    body["value"].as_array().unwrap().iter().any(|e| {
        let text = e.to_string();
        e["activityDisplayName"] == activity
            && text.contains(group)
            && text.contains(member)
            && text.contains("accessPackageAssignmentId")
    })
}

/// Waits (bounded) for the outbox to push erin's membership to slapd, or its removal.
async fn wait_for_ldap(ldap: &Slapd, group_dn: &str, member_dn: &str, present: bool) {
    let norm = |d: &str| eligo::connectors::ldap::dn::normalize(d).unwrap();
    for _ in 0..100 {
        let members = ldap.group_members(group_dn).await;
        if members.iter().any(|m| norm(m) == norm(member_dn)) == present {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!(
        "slapd's {group_dn} {} {member_dn}: {:?}",
        if present {
            "never gained"
        } else {
            "still holds"
        },
        ldap.group_members(group_dn).await
    );
}

/// The demo's access review end to end (`tests/e2e/review.mjs`): the manager's mail (a real
/// maildev) leads to the review, the recommendations are accepted, an administrator stops the
/// review, auto-apply removes Frank's stale Global Administrator eligibility (gone from his My
/// roles, and here from the store, removed by the review).
#[tokio::test]
async fn the_demo_review_goes_from_mail_to_the_removal_of_the_stale_eligibility() {
    let scripts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/e2e");
    let Some(runner) = eligo_testkit::browser::runner(&scripts) else {
        return;
    };
    let Some(mail) = eligo_testkit::maildev::maildev().await else {
        return;
    };
    let dir = temp_dir("e2e-review");
    let spec = Spec::sqlite(&dir)
        .args(&["--demo"])
        .setting("ELIGO_SMTP_URL", &mail.smtp_url())
        .setting("ELIGO_PUBLIC_URL", "http://localhost:{port}");
    let server = Server::start(&spec).await;
    let env = [
        ("ELIGO_URL", format!("http://localhost:{}", server.port)),
        ("MAILDEV_URL", mail.api_url()),
        ("SHOTS", dir.join("screenshots").display().to_string()),
    ];
    run_walk(
        &runner,
        "review.mjs",
        &env,
        &server,
        Duration::from_secs(180),
    )
    .await;
    let api = server.client();
    let eligible = |upn: &'static str| {
        let api = &api;
        async move {
            let (status, users) = api
                .get(
                    &format!("/v1/users?$filter=userPrincipalName eq '{upn}'"),
                    BOOTSTRAP,
                )
                .await;
            assert_eq!(status, 200, "{users}");
            let id = users["value"][0]["id"].as_str().unwrap().to_string();
            let (status, body) = api
                .get(
                    &format!("/v1/roleManagement/directory/roleEligibilityScheduleInstances?$filter=principalId eq '{id}'"),
                    BOOTSTRAP,
                )
                .await;
            assert_eq!(status, 200, "{body}");
            body["value"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["roleDefinitionId"] == eligo_core::roles::ids::GLOBAL_ADMINISTRATOR)
        }
    };
    assert!(
        !eligible("frank@contoso.example").await,
        "frank is still eligible"
    );
    assert!(
        eligible("grace@contoso.example").await,
        "grace lost her eligibility"
    );
    let (status, body) = api
        .get("/v1/auditLogs/directoryAudits?$top=500", BOOTSTRAP)
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["value"].as_array().unwrap().iter().any(|e| {
            e.to_string()
                .contains("Access review: Global Administrator eligibility")
                && e.to_string().contains("Remove eligible")
        }),
        "no removal audited with the review as its cause"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
