//! Audit entries that say what changed (issue 15, item 9): every change entry records its
//! modified properties with old and new values; a role-settings save is one entry; a refused
//! activation is audited as a failure, and a flood of them is counted, not written one by one.

use axum::http::StatusCode;
use chrono::TimeDelta;
use serde_json::{Value, json};

use crate::harness::*;

const SECURITY_ADMIN: &str = "194ae4cb-b126-40b2-bd5b-6091b380977d";
const HELPDESK: &str = "729827e3-9c14-49f7-bb1b-9608f156bbb8";

/// Activities that change something: each entry of theirs must say what it changed. A new
/// activity fails `every_change_entry_records_what_it_changed` until it is listed here (and
/// records its modified properties) or in `NOT_CHANGES`.
const CHANGES: &[&str] = &[
    "Add user",
    "Update user",
    "Reset user password",
    "Delete user",
    "Add group",
    "Update group",
    "Delete group",
    "Add member to group",
    "Remove member from group",
    "Add owner to group",
    "Remove owner from group",
    "Add service principal",
    "Remove service principal",
    "Update application – Certificates and secrets management",
    "Add role definition",
    "Add member to role",
    "Update role setting in PIM",
    "Add eligible member to role in PIM completed (timebound)",
    "Update eligible member in role in PIM",
    "Extend eligible member in role in PIM",
    "Remove eligible member from role in PIM completed",
    "Add member to role in PIM completed (timebound)",
    "Remove member from role in PIM completed",
    "Add member to role completed (PIM activation)",
    "Extend member in role completed (PIM activation)",
    "Remove member from role completed (PIM deactivate)",
    "Remove member from role (PIM activation expired)",
    "Remove member from role (PIM activation ended with its eligibility)",
    "Add downstream connector",
    "Update downstream connector",
    "Delete downstream connector",
    "Add webhook subscription",
    "Delete webhook subscription",
    "Admin registered temporary access pass method for user",
    "Admin deleted temporary access pass method for user",
    "User registered security info",
    "User signed out",
];

/// Activities that record an event, not a change of state.
const NOT_CHANGES: &[&str] = &[
    "User signed in",
    "User sign-in failed",
    "Step-up authentication",
    "Break-glass token used",
    "User started security info registration",
    "Add member to role requested (PIM activation)",
    "Extend member in role requested (PIM activation)",
    "Remove member from role requested (PIM deactivate)",
];

async fn all_entries(t: &TestApp) -> Vec<Value> {
    let (status, body) = t
        .get("/v1/auditLogs/directoryAudits?$top=999", BOOTSTRAP)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let all = body["value"].as_array().cloned().unwrap();
    assert!(all.len() < 999);
    all
}

fn modified(e: &Value) -> Vec<(String, String, String)> {
    e["targetResources"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| {
            t["modifiedProperties"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|p| {
            (
                p["displayName"].as_str().unwrap().to_string(),
                p["oldValue"].as_str().unwrap().to_string(),
                p["newValue"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

async fn ok(answer: (StatusCode, Value)) -> Value {
    assert!(answer.0.is_success(), "{} {}", answer.0, answer.1);
    answer.1
}

#[tokio::test]
async fn every_change_entry_records_what_it_changed() {
    let t = TestApp::new().await;
    // Directory.
    let user = ok(t
        .post(
            "/v1/users",
            BOOTSTRAP,
            json!({ "userPrincipalName": "kim@contoso.example", "displayName": "Kim" }),
        )
        .await)
    .await;
    let kim = id_of(&user);
    ok(t.patch(
        &format!("/v1/users/{kim}"),
        BOOTSTRAP,
        json!({ "displayName": "Kim Lee" }),
    )
    .await)
    .await;
    ok(t.patch(
        &format!("/v1/users/{kim}"),
        BOOTSTRAP,
        json!({ "passwordProfile": { "password": "a long enough password 1!" } }),
    )
    .await)
    .await;
    let group = id_of(
        &ok(t
            .post(
                "/v1/groups",
                BOOTSTRAP,
                json!({ "displayName": "Ops", "securityEnabled": true }),
            )
            .await)
        .await,
    );
    ok(t.patch(
        &format!("/v1/groups/{group}"),
        BOOTSTRAP,
        json!({ "description": "on call" }),
    )
    .await)
    .await;
    for relation in ["members", "owners"] {
        ok(t.post(
            &format!("/v1/groups/{group}/{relation}"),
            BOOTSTRAP,
            json!({ "id": kim }),
        )
        .await)
        .await;
        ok(
            t.delete(&format!("/v1/groups/{group}/{relation}/{kim}"), BOOTSTRAP)
                .await,
        )
        .await;
    }
    let sp = ok(t
        .post(
            "/v1/servicePrincipals",
            BOOTSTRAP,
            json!({ "displayName": "Robot" }),
        )
        .await)
    .await;
    let sp_id = id_of(&sp);
    let end = t.clock.now_utc() + TimeDelta::days(1);
    ok(t.post(
        &format!("/v1/servicePrincipals/{sp_id}/addPassword"),
        BOOTSTRAP,
        json!({ "passwordCredential": { "displayName": "rotation", "endDateTime": end } }),
    )
    .await)
    .await;
    ok(
        t.delete(&format!("/v1/servicePrincipals/{sp_id}"), BOOTSTRAP)
            .await,
    )
    .await;
    ok(t.post(
        "/v1/roleManagement/directory/roleDefinitions",
        BOOTSTRAP,
        json!({ "displayName": "Reader of things", "isEnabled": true,
                "rolePermissions": [{ "allowedResourceActions": ["microsoft.directory/users/standard/read"] }] }),
    )
    .await)
    .await;
    // Role settings.
    t.set_rule(
        SECURITY_ADMIN,
        "Expiration_EndUser_Assignment",
        json!({ "isExpirationRequired": true, "maximumDuration": "PT3H" }),
    )
    .await;
    // PIM: an administrator's assignments, then a holder's activation.
    let p = t.person("pat").await;
    let admin = |action: &str, duration: &str| {
        json!({ "action": action, "principalId": kim, "roleDefinitionId": HELPDESK,
                "directoryScopeId": "/", "justification": "rota",
                "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": duration } } })
    };
    ok(
        t.post(ELIGIBILITY_URL, BOOTSTRAP, admin("adminAssign", "P10D"))
            .await,
    )
    .await;
    ok(
        t.post(ELIGIBILITY_URL, BOOTSTRAP, admin("adminUpdate", "P5D"))
            .await,
    )
    .await;
    ok(
        t.post(ELIGIBILITY_URL, BOOTSTRAP, admin("adminExtend", "P20D"))
            .await,
    )
    .await;
    ok(
        t.post(ELIGIBILITY_URL, BOOTSTRAP, admin("adminRemove", "P20D"))
            .await,
    )
    .await;
    ok(
        t.post(ASSIGNMENT_URL, BOOTSTRAP, admin("adminAssign", "P10D"))
            .await,
    )
    .await;
    ok(
        t.post(ASSIGNMENT_URL, BOOTSTRAP, admin("adminRemove", "P10D"))
            .await,
    )
    .await;
    let eligibility = t.make_eligible(p.id, SECURITY_ADMIN).await;
    t.step_up(&p).await;
    ok(t.activate(&p, SECURITY_ADMIN, "PT1H", json!({})).await).await;
    t.clock.advance(TimeDelta::minutes(10));
    t.step_up(&p).await;
    ok(t.activate(
        &p,
        SECURITY_ADMIN,
        "PT2H",
        json!({ "action": "selfExtend" }),
    )
    .await)
    .await;
    t.clock.advance(TimeDelta::minutes(10));
    t.step_up(&p).await;
    ok(t.activate(
        &p,
        SECURITY_ADMIN,
        "PT1H",
        json!({ "action": "selfDeactivate" }),
    )
    .await)
    .await;
    t.step_up(&p).await;
    ok(t.activate(&p, SECURITY_ADMIN, "PT1H", json!({})).await).await;
    t.tick(TimeDelta::hours(2)).await;
    t.step_up(&p).await;
    ok(t.activate(&p, SECURITY_ADMIN, "PT1H", json!({})).await).await;
    // Removing the eligibility ends the activation drawn from it.
    ok(t.post(
        ELIGIBILITY_URL,
        BOOTSTRAP,
        json!({ "action": "adminRemove", "principalId": p.id, "roleDefinitionId": SECURITY_ADMIN,
                "directoryScopeId": "/" }),
    )
    .await)
    .await;
    assert!(eligibility["id"].is_string());
    // Side effects people manage, and credentials.
    let connector = id_of(
        &ok(t
            .post(
                "/v1/connectors",
                BOOTSTRAP,
                json!({ "type": "webhook", "displayName": "downstream",
                        "settings": { "url": "http://127.0.0.1:9/hook", "secret": "0123456789abcdef-secret" } }),
            )
            .await)
        .await,
    );
    ok(t.patch(
        &format!("/v1/connectors/{connector}"),
        BOOTSTRAP,
        json!({ "displayName": "downstream 2", "settings": { "secret": "fedcba9876543210-secret" } }),
    )
    .await)
    .await;
    ok(t.delete(&format!("/v1/connectors/{connector}"), BOOTSTRAP)
        .await)
    .await;
    let subscription = id_of(
        &ok(t
            .post(
                "/v1/subscriptions",
                BOOTSTRAP,
                json!({ "url": "http://127.0.0.1:9/events", "secret": "0123456789abcdef-secret",
                        "eventTypes": ["request.approved"] }),
            )
            .await)
        .await,
    );
    ok(
        t.delete(&format!("/v1/subscriptions/{subscription}"), BOOTSTRAP)
            .await,
    )
    .await;
    let tap = ok(t
        .post(
            &format!("/v1/users/{kim}/authentication/temporaryAccessPassMethods"),
            BOOTSTRAP,
            json!({ "lifetimeInMinutes": 60, "isUsableOnce": true }),
        )
        .await)
    .await;
    ok(t.delete(
        &format!(
            "/v1/users/{kim}/authentication/temporaryAccessPassMethods/{}",
            tap["id"].as_str().unwrap()
        ),
        BOOTSTRAP,
    )
    .await)
    .await;
    ok(t.post("/v1/auth/logout", &p.token, json!({})).await).await;
    ok(t.delete(&format!("/v1/groups/{group}"), BOOTSTRAP).await).await;
    ok(t.delete(&format!("/v1/users/{kim}"), BOOTSTRAP).await).await;

    let entries = all_entries(&t).await;
    let mut seen = std::collections::BTreeSet::new();
    for e in &entries {
        let activity = e["activityDisplayName"].as_str().unwrap();
        seen.insert(activity.to_string());
        if NOT_CHANGES.contains(&activity) || e["result"] == "failure" {
            continue;
        }
        assert!(
            CHANGES.contains(&activity),
            "a new activity: list {activity:?} in CHANGES (recording its modified properties) or in NOT_CHANGES: {e}"
        );
        assert!(
            !modified(e).is_empty(),
            "{activity} records no modified properties: {e}"
        );
    }
    let missing: Vec<&&str> = CHANGES.iter().filter(|a| !seen.contains(**a)).collect();
    assert!(missing.is_empty(), "not driven: {missing:?}");

    // What the values say, for a few.
    let find = |activity: &str| {
        entries
            .iter()
            .find(|e| e["activityDisplayName"] == activity)
            .unwrap()
    };
    assert!(modified(find("Update user")).contains(&(
        "displayName".into(),
        "Kim".into(),
        "Kim Lee".into()
    )));
    let reset = modified(find("Reset user password"));
    assert_eq!(
        reset,
        [("passwordProfile".into(), "".into(), "(changed)".into())]
    );
    let connector_change = modified(find("Update downstream connector"));
    assert!(
        connector_change.contains(&("settings.secret".into(), "".into(), "(changed)".into())),
        "{connector_change:?}"
    );
    assert!(
        !find("Update downstream connector")
            .to_string()
            .contains("fedcba9876543210"),
        "a secret is never a value"
    );
    assert!(
        !find("Add downstream connector")
            .to_string()
            .contains("0123456789abcdef"),
        "a secret is never a value"
    );
    let policy = find("Update role setting in PIM");
    assert_eq!(
        modified(policy),
        [(
            "Activation maximum duration".into(),
            "PT8H".into(),
            "PT3H".into()
        )]
    );
    let extended = modified(find("Extend eligible member in role in PIM"));
    assert!(
        extended
            .iter()
            .any(|(name, old, new)| name == "End" && old < new),
        "{extended:?}"
    );
    let member = find("Add member to group");
    assert_eq!(member["targetResources"][1]["displayName"], "Kim Lee");
    assert_eq!(
        member["targetResources"][1]["userPrincipalName"],
        "kim@contoso.example"
    );
    let (_, verdict) = t.get("/v1/auditLogs/verify", BOOTSTRAP).await;
    assert_eq!(verdict["valid"], true, "{verdict}");
}

#[tokio::test]
async fn one_save_of_several_settings_is_one_entry_naming_each() {
    let t = TestApp::new().await;
    let approver = t.user("vera").await;
    let policy = format!("DirectoryRole_{HELPDESK}");
    let (_, before) = t.get("/v1/auditLogs/directoryAudits", BOOTSTRAP).await;
    let app = &t.app;
    // The use case the settings page calls, with what it returns for the page to say.
    let caller = eligo::auth::Caller::from_token(app, BOOTSTRAP)
        .await
        .unwrap();
    let update = eligo::service::policies::update_rules(
        app,
        &caller,
        &policy,
        &[
            (
                "Expiration_EndUser_Assignment".into(),
                json!({ "isExpirationRequired": true, "maximumDuration": "PT3H" }),
            ),
            (
                "Approval_EndUser_Assignment".into(),
                json!({ "setting": { "isApprovalRequired": true, "approvalStages": [{
                    "primaryApprovers": [{ "@odata.type": "#microsoft.graph.singleUser", "userId": approver }] }] } }),
            ),
        ],
        None,
    )
    .await
    .expect("saved");
    let said: Vec<(&str, &str, &str)> = update
        .changes
        .iter()
        .map(|c| (c.setting.as_str(), c.old.as_str(), c.new.as_str()))
        .collect();
    assert_eq!(said[0], ("Activation maximum duration", "PT8H", "PT3H"));
    assert!(said.contains(&("Activation requires approval", "No", "Yes")));
    assert!(said.contains(&("Approvers (stage 1)", "", &*approver.to_string())));
    let (_, after) = t.get("/v1/auditLogs/directoryAudits", BOOTSTRAP).await;
    let new: Vec<&Value> = after["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["activityDisplayName"] == "Update role setting in PIM")
        .collect();
    assert!(before["value"].as_array().unwrap().len() < after["value"].as_array().unwrap().len());
    assert_eq!(new.len(), 1, "one save, one entry: {new:?}");
    assert_eq!(modified(new[0]).len(), update.changes.len());
    assert_eq!(
        new[0]["targetResources"][0]["displayName"],
        "Helpdesk Administrator"
    );
    // Saving the same again changes nothing and records nothing.
    let again = eligo::service::policies::update_rules(
        app,
        &caller,
        &policy,
        &[(
            "Expiration_EndUser_Assignment".into(),
            json!({ "isExpirationRequired": true, "maximumDuration": "PT3H" }),
        )],
        None,
    )
    .await
    .unwrap();
    assert!(again.changes.is_empty() && again.changed.is_empty());
    assert_eq!(t.audited_as("Update role setting in PIM").await.len(), 1);
}

#[tokio::test]
async fn a_refused_activation_is_audited_and_a_flood_is_counted() {
    let t = TestApp::new().await;
    let p = t.person("mallory").await;
    // Not eligible at all.
    let (status, body) = t.activate(&p, SECURITY_ADMIN, "PT1H", json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let refused = t
        .audited_as("Add member to role requested (PIM activation)")
        .await;
    assert_eq!(refused.len(), 1, "{refused:?}");
    let e = &refused[0];
    assert_eq!(e["result"], "failure");
    assert_eq!(e["initiatedBy"]["user"]["id"], json!(p.id));
    assert_eq!(
        e["targetResources"][0]["displayName"],
        "Security Administrator"
    );
    let details = e["additionalDetails"].to_string();
    assert!(details.contains("NoEligibility"), "{details}");
    assert!(details.contains("\"directoryScopeId\""), "{details}");

    // Eligible, but over the maximum and without a justification: both reasons.
    t.make_eligible(p.id, SECURITY_ADMIN).await;
    let (status, _) = t
        .activate(&p, SECURITY_ADMIN, "PT12H", json!({ "justification": "" }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let refused = t
        .audited_as("Add member to role requested (PIM activation)")
        .await;
    assert_eq!(refused.len(), 2);
    let reason = refused[0]["additionalDetails"].to_string();
    assert!(
        reason.contains("ExpirationRule,JustificationRule"),
        "{reason}"
    );

    // A flood of the same refusal: the first at once, the rest as one counted entry.
    for _ in 0..200 {
        let (status, _) = t
            .activate(&p, SECURITY_ADMIN, "PT12H", json!({ "justification": "" }))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
    let during = t
        .audited_as("Add member to role requested (PIM activation)")
        .await
        .len();
    assert!(
        during <= 3,
        "a flood must not write an entry per attempt: {during}"
    );
    t.clock
        .advance(t.app.config.audit_failure_window + TimeDelta::seconds(1));
    eligo::service::audit::flush_failures(&t.app, false)
        .await
        .unwrap();
    let after = t
        .audited_as("Add member to role requested (PIM activation)")
        .await;
    assert!(after.len() <= 4, "{}", after.len());
    let counted: u64 = after
        .iter()
        .filter_map(|e| {
            e["additionalDetails"]
                .as_array()
                .unwrap()
                .iter()
                .find(|d| d["key"] == "failureCount")
                .and_then(|d| d["value"].as_str()?.parse::<u64>().ok())
        })
        .sum();
    // Every attempt is accounted for: written at once, or counted.
    let written_at_once = after
        .iter()
        .filter(|e| !e.to_string().contains("failureCount"))
        .count() as u64;
    // 202 refusals in all: not eligible (1), then over the maximum (1 + 200).
    assert_eq!(counted + written_at_once, 202, "{after:?}");
    // Nothing was granted by any of it.
    assert!(t.active_roles(&p.token).await.is_empty());
}
