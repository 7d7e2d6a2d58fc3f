//! Eligo's own PIM alerts with the mock clock: `SeparationOfDutiesConflictAlert` raised for each
//! conflict the incompatibility report lists, once however often refreshed, resolved when the
//! conflict goes, and remediated by removing the newer of the two accesses (the older kept),
//! audited.

use axum::http::StatusCode;
use chrono::TimeDelta;
use eligo::clock::Clock;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::entitlement::support::*;
use crate::harness::*;
use crate::pim_alerts::{BASE, alert_id, audits_of, incidents, refresh};

async fn declare(t: &TestApp, package: Uuid, what: &str, url: String) {
    let (s, b) = t
        .post(
            &em(&format!("/accessPackages/{package}/{what}/$ref")),
            BOOTSTRAP,
            json!({ "@odata.id": url }),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
}

async fn remediate(t: &TestApp, id: &str, incident: &Value) -> (StatusCode, Value) {
    t.post(
        &format!(
            "{BASE}/alerts/{id}/alertIncidents/{}/remediate",
            incident["id"].as_str().unwrap()
        ),
        BOOTSTRAP,
        json!({}),
    )
    .await
}

fn live(a: &Value) -> bool {
    a["state"] != "expired" && a["state"] != "Expired"
}

#[tokio::test]
async fn pim_alerts_separation_of_duties_raised_once_and_the_newer_access_removed() {
    let t = TestApp::new().await;
    let alice = t.user("alice").await;
    let alice_token = t.sign_in("alice").await;
    let bob = t.user("bob").await;
    let bob_token = t.sign_in("bob").await;
    let officers = t.group("Compliance officers").await;
    let helpdesk_group = t.group("Help desk").await;
    let risky = t.group("Risky").await;
    let catalog = t.catalog(BOOTSTRAP, "Compliance").await;
    let officer = t
        .group_package(catalog, "Compliance Officer", officers, json!({}))
        .await;
    let helpdesk = t
        .group_package(catalog, "Help Desk Technician", helpdesk_group, json!({}))
        .await;
    let id = alert_id(&t, "SeparationOfDutiesConflictAlert").await;

    // Alice gets the officer package, and ten minutes later the help desk package; Bob the officer
    // package, and ten minutes later a direct membership of Risky. Both before any rule.
    let (s, r) = t
        .ask(&alice_token, "userAdd", &officer, None, json!({}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let alice_officer = assignment_of(&r);
    let (s, r) = t
        .ask(&bob_token, "userAdd", &officer, None, json!({}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let bob_officer = assignment_of(&r);
    t.clock.advance(TimeDelta::minutes(10));
    let (s, r) = t
        .ask(&alice_token, "userAdd", &helpdesk, None, json!({}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let alice_helpdesk = assignment_of(&r);
    t.add_member(risky, bob).await;
    refresh(&t).await;
    assert!(incidents(&t, &id).await.is_empty(), "no rule yet");

    declare(
        &t,
        officer.package,
        "incompatibleAccessPackages",
        format!(
            "https://graph.microsoft.com/v1.0/identityGovernance/entitlementManagement/accessPackages/{}",
            helpdesk.package
        ),
    )
    .await;
    declare(
        &t,
        officer.package,
        "incompatibleGroups",
        format!("https://graph.microsoft.com/v1.0/groups/{risky}"),
    )
    .await;
    refresh(&t).await;
    refresh(&t).await;
    let found = incidents(&t, &id).await;
    assert_eq!(found.len(), 2, "raised once: {found:?}");
    assert_eq!(audits_of(&t, "PIM alert raised", &id).await.len(), 2);
    let of = |p: Uuid| {
        found
            .iter()
            .find(|i| i["principalId"] == p.to_string())
            .cloned()
            .unwrap()
    };
    let a = of(alice);
    assert_eq!(
        a["@odata.type"],
        "#microsoft.graph.separationOfDutiesConflictAlertIncident"
    );
    assert_eq!(a["principalDisplayName"], "alice");
    assert!(
        a["principalUserPrincipalName"]
            .as_str()
            .unwrap()
            .starts_with("alice@")
    );
    assert_eq!(a["conflictType"], "accessPackage");
    let names = [
        a["accessPackageDisplayName"].as_str().unwrap(),
        a["conflictingAccessPackageDisplayName"].as_str().unwrap(),
    ];
    assert!(names.contains(&"Compliance Officer") && names.contains(&"Help Desk Technician"));
    assert_eq!(a["newerAccessType"], "accessPackageAssignment");
    assert_eq!(a["newerAccessId"], alice_helpdesk.to_string());
    let b = of(bob);
    assert_eq!(b["conflictType"], "group");
    assert_eq!(b["accessPackageDisplayName"], "Compliance Officer");
    assert_eq!(b["conflictingGroupId"], risky.to_string());
    assert_eq!(b["conflictingGroupDisplayName"], "Risky");
    assert_eq!(b["newerAccessType"], "groupMembership");

    // Remediating Alice's: the help desk assignment (the newer) goes, the officer one stays.
    let (s, body) = remediate(&t, &id, &a).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
    assert!(!live(&t.assignment(alice_helpdesk).await));
    assert!(live(&t.assignment(alice_officer).await));
    // Remediating Bob's: his membership of Risky (the newer) goes, the package stays.
    let (s, body) = remediate(&t, &id, &b).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
    assert!(!t.members(risky).await.contains(&bob));
    assert!(live(&t.assignment(bob_officer).await));
    assert!(incidents(&t, &id).await.is_empty(), "both resolved");
    assert_eq!(audits_of(&t, "PIM alert resolved", &id).await.len(), 2);
    assert_eq!(t.audited_as("Remediate PIM alert incident").await.len(), 2);
    assert!(!t.audited_as("Remove member from group").await.is_empty());
    let (s, body) = remediate(&t, &id, &a).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(code(&body), "IncidentResolved");

    // The rule now refuses making Bob a member again, and a refresh raises nothing.
    let (s, body) = t
        .post(
            &format!("/v1/groups/{risky}/members/$ref"),
            BOOTSTRAP,
            json!({ "@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{bob}") }),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    refresh(&t).await;
    assert!(incidents(&t, &id).await.is_empty());
}

/// `BreakGlassUsedAlert`: the bootstrap token the tests call with is the break-glass
/// credential, so its first use (announced as `breakglass.used`) is an incident: raised once
/// (further uses in the quiet period are the same announcement), not remediable, and resolved
/// seven days after the use, when the next use announced is a new incident.
#[tokio::test]
async fn pim_alerts_break_glass_use_raised_once_resolved_after_seven_days() {
    let t = TestApp::new().await;
    let id = alert_id(&t, "BreakGlassUsedAlert").await;
    refresh(&t).await;
    refresh(&t).await;
    let found = incidents(&t, &id).await;
    assert_eq!(found.len(), 1, "{found:?}");
    let first = found[0].clone();
    assert_eq!(
        first["@odata.type"],
        "#microsoft.graph.breakGlassUsedAlertIncident"
    );
    assert_eq!(first["credential"], "bootstrapToken");
    assert!(first["accountId"].is_string());
    assert!(first["usedDateTime"].is_string());
    assert!(first.get("ipAddress").is_some());
    assert_eq!(audits_of(&t, "PIM alert raised", &id).await.len(), 1);
    let (s, body) = remediate(&t, &id, &first).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(code(&body), "AlertNotRemediable");

    // Six days on: still active (this refresh is a use past the quiet period: a second one).
    t.clock.advance(TimeDelta::days(6));
    refresh(&t).await;
    let found = incidents(&t, &id).await;
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found.iter().any(|i| i["id"] == first["id"]));
    // Seven days after the first use it resolves; the second stays.
    t.clock.advance(TimeDelta::days(1));
    refresh(&t).await;
    let found = incidents(&t, &id).await;
    assert!(found.iter().all(|i| i["id"] != first["id"]), "{found:?}");
    assert!(!found.is_empty());
    assert_eq!(audits_of(&t, "PIM alert resolved", &id).await.len(), 1);
}

/// A "Members added outside Eligo" alert as connector reconciliation raises it for a stray
/// (written to the store as reconciliation writes it: the downstream systems it talks to are
/// covered in `provisioning`), naming `connector`.
async fn stray_alert(t: &TestApp, connector: Uuid, member: &str) -> Uuid {
    let id = Uuid::new_v4();
    let mut tx = t.app.store.write().await.unwrap();
    tx.insert_alert(&eligo_store::AlertRow {
        id,
        kind: eligo::provisioning::reconcile::STRAY_ALERT.into(),
        status: "active".into(),
        dedupe_key: None,
        data: json!({
            "title": "Members added outside Eligo",
            "severity": "high",
            "member": member,
            "downstreamMember": format!("ref-{member}"),
            "downstreamGroup": "ops",
            "connectorId": connector,
            "connectorDisplayName": "webhook downstream",
            "connectorType": "webhook",
            "detectedDateTime": t.clock.now().to_rfc3339(),
        }),
        created_at: t.clock.now(),
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

/// `MembersAddedOutsideEligoAlert` mirrors the stray alerts of `/v1/alerts`: one incident per
/// active one, raised once, resolved when it is resolved there; remediation reconciles the
/// connector (reconciliation removes strays) and resolves the stray alert, audited.
#[tokio::test]
async fn pim_alerts_strays_mirror_the_stray_alerts_and_are_remediated_by_reconciliation() {
    let t = TestApp::new().await;
    let id = alert_id(&t, "MembersAddedOutsideEligoAlert").await;
    let connector = crate::provisioning::connector(
        &t,
        "webhook",
        json!({ "url": "http://127.0.0.1:9/hook", "secret": "0123456789abcdef-secret" }),
    )
    .await;
    refresh(&t).await;
    assert!(incidents(&t, &id).await.is_empty());
    let mallory = stray_alert(&t, connector, "mallory").await;
    let eve = stray_alert(&t, connector, "eve").await;
    refresh(&t).await;
    refresh(&t).await;
    let found = incidents(&t, &id).await;
    assert_eq!(found.len(), 2, "raised once: {found:?}");
    assert_eq!(audits_of(&t, "PIM alert raised", &id).await.len(), 2);
    let of = |a: Uuid| {
        found
            .iter()
            .find(|i| i["alertId"] == a.to_string())
            .cloned()
            .unwrap()
    };
    let m = of(mallory);
    assert_eq!(
        m["@odata.type"],
        "#microsoft.graph.membersAddedOutsideEligoAlertIncident"
    );
    assert_eq!(m["connectorId"], connector.to_string());
    assert_eq!(m["downstreamGroup"], "ops");
    assert_eq!(m["memberDisplayName"], "mallory");

    // Resolved in /v1/alerts: the incident resolves at the next scan; /v1/alerts unchanged.
    let (s, body) = t
        .patch(
            &format!("/v1/alerts/{eve}"),
            BOOTSTRAP,
            json!({ "status": "resolved" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    refresh(&t).await;
    let found = incidents(&t, &id).await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["alertId"], mallory.to_string());

    // Remediation: the connector is reconciled and the stray alert resolved, then the incident.
    let (s, body) = remediate(&t, &id, &m).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
    assert!(incidents(&t, &id).await.is_empty());
    let (s, body) = t.get(&format!("/v1/alerts/{mallory}"), BOOTSTRAP).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "resolved");
    // Eve's by hand, Mallory's by the remediation.
    assert_eq!(t.audited_as("Update security alert").await.len(), 2);
    assert_eq!(audits_of(&t, "PIM alert resolved", &id).await.len(), 2);
    assert_eq!(t.audited_as("Remediate PIM alert incident").await.len(), 1);
}

/// A sign-in to the break-glass account is a use too: one incident naming the account, with
/// `credential: signIn`, however many sign-ins the quiet period covers.
#[tokio::test]
async fn pim_alerts_break_glass_sign_in_is_an_incident() {
    let t = TestApp::new().await;
    let id = alert_id(&t, "BreakGlassUsedAlert").await;
    let (_, found) = t
        .get(
            "/v1/users?$filter=userPrincipalName eq 'breakglass@eligo.local'",
            BOOTSTRAP,
        )
        .await;
    let account = found["value"][0]["id"].as_str().unwrap().to_string();
    let (status, body) = t
        .patch(
            &format!("/v1/users/{account}"),
            BOOTSTRAP,
            json!({ "passwordProfile": { "password": PASSWORD } }),
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    for _ in 0..2 {
        let (status, body) = t
            .call(
                axum::http::Method::POST,
                "/v1/auth/token",
                None,
                Some(json!({ "username": "breakglass@eligo.local", "password": PASSWORD })),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    refresh(&t).await;
    refresh(&t).await;
    let found = incidents(&t, &id).await;
    let sign_ins: Vec<&Value> = found
        .iter()
        .filter(|i| i["credential"] == "signIn")
        .collect();
    assert_eq!(sign_ins.len(), 1, "{found:?}");
    assert_eq!(sign_ins[0]["accountId"], account);
    assert_eq!(
        sign_ins[0]["accountUserPrincipalName"],
        "breakglass@eligo.local"
    );
    // The token's use of this test is the other one.
    assert_eq!(found.len(), 2, "{found:?}");
}
