//! PIM alerts from sign-in and activation history, with the mock clock: stale accounts in a
//! privileged role (`StaleSignInAlert`), eligibilities nobody activates
//! (`RedundantAssignmentAlert`) and roles activated again and again
//! (`SequentialActivationRenewalsAlert`): each raised past its threshold and not before,
//! resolved when its cause goes, the configuration applied by the next refresh, remediation
//! through the administrators' own removals, and every new incident audited.

use axum::http::StatusCode;
use chrono::TimeDelta;
use eligo_core::roles::ids::{SECURITY_ADMINISTRATOR, USER_ADMINISTRATOR};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::harness::*;
use crate::pim_alerts::{BASE, alert_id, incidents, refresh};

/// A time-bound (90 days) assignment or eligibility made through the API by break-glass.
async fn hold(t: &TestApp, url: &str, principal: Uuid, role: &str) {
    let (status, body) = t
        .post(
            url,
            BOOTSTRAP,
            json!({
                "action": "adminAssign", "principalId": principal, "roleDefinitionId": role,
                "directoryScopeId": "/", "justification": "on call",
                "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "P90D" } },
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

fn of(found: &[Value], who: Uuid) -> Option<&Value> {
    found.iter().find(|i| i["assigneeId"] == who.to_string())
}

/// The "PIM alert raised" audit entries of alert `id`.
async fn raised_audits(t: &TestApp, id: &str) -> usize {
    t.audited_as("PIM alert raised")
        .await
        .iter()
        .filter(|e| {
            e["targetResources"]
                .as_array()
                .is_some_and(|r| r.iter().any(|r| r["id"] == id))
        })
        .count()
}

async fn remediate(t: &TestApp, id: &str, incident: &Value) -> (StatusCode, Value) {
    let incident_id = incident["id"].as_str().unwrap();
    t.post(
        &format!("{BASE}/alerts/{id}/alertIncidents/{incident_id}/remediate"),
        BOOTSTRAP,
        json!({}),
    )
    .await
}

async fn schedules(t: &TestApp, kind: &str, principal: Uuid) -> Vec<Value> {
    let (status, body) = t
        .get(
            &format!(
                "/v1/roleManagement/directory/role{kind}ScheduleInstances?$filter=principalId eq '{principal}'"
            ),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["value"].as_array().unwrap().clone()
}

#[tokio::test]
async fn pim_alerts_stale_sign_in_raised_resolved_configured_and_remediated() {
    stale_sign_in(&TestApp::new().await).await;
}

/// The same on PostgreSQL (skipped loudly by the testkit where there is none).
#[tokio::test]
async fn pim_alerts_stale_sign_in_on_postgres() {
    let Some(t) = TestApp::postgres().await else {
        return;
    };
    stale_sign_in(&t).await;
}

async fn stale_sign_in(t: &TestApp) {
    let id = alert_id(t, "StaleSignInAlert").await;
    // Ada signs in and is eligible; Bob holds the role actively and never signs in; both
    // accounts are new. The break-glass account is left out throughout.
    let ada = t.user("ada").await;
    let bob = t.user("bob").await;
    hold(t, ELIGIBILITY_URL, ada, SECURITY_ADMINISTRATOR).await;
    hold(t, ASSIGNMENT_URL, bob, USER_ADMINISTRATOR).await;
    t.password_sign_in("ada").await;
    let signed_in = t.clock.now_utc();
    refresh(t).await;
    assert!(incidents(t, &id).await.is_empty());

    // 29 days on: both still within the default P30D.
    t.clock.advance(TimeDelta::days(29));
    refresh(t).await;
    assert!(incidents(t, &id).await.is_empty());

    // 31 days on: Ada's last sign-in is older than the duration, and Bob's account too.
    t.clock.advance(TimeDelta::days(2));
    refresh(t).await;
    let found = incidents(t, &id).await;
    assert_eq!(found.len(), 2, "{found:?}");
    let a = of(&found, ada).unwrap();
    assert_eq!(
        a["@odata.type"],
        "#microsoft.graph.staleSignInAlertIncident"
    );
    assert_eq!(a["assigneeDisplayName"], "ada");
    assert_eq!(a["assigneeUserPrincipalName"], "ada@contoso.example");
    assert_eq!(a["roleDefinitionId"], SECURITY_ADMINISTRATOR);
    assert_eq!(a["roleTemplateId"], SECURITY_ADMINISTRATOR);
    assert_eq!(a["roleDisplayName"], "Security Administrator");
    assert_eq!(a["lastSignInDateTime"], json!(signed_in));
    assert!(a["assignmentCreatedDateTime"].is_string());
    let b = of(&found, bob).unwrap();
    assert_eq!(b["lastSignInDateTime"], Value::Null);
    assert_eq!(b["roleDefinitionId"], USER_ADMINISTRATOR);
    assert_eq!(raised_audits(t, &id).await, 2);
    // Raised once: a second refresh changes nothing.
    refresh(t).await;
    assert_eq!(incidents(t, &id).await.len(), 2);
    assert_eq!(raised_audits(t, &id).await, 2);

    // Ada signs in: resolved at the next refresh.
    t.password_sign_in("ada").await;
    refresh(t).await;
    let found = incidents(t, &id).await;
    assert_eq!(found.len(), 1);
    assert!(of(&found, ada).is_none());

    // A shorter configured duration applies: eight days without a sign-in raise Ada anew.
    let (status, body) = t
        .patch(
            &format!("{BASE}/alertConfigurations/{id}"),
            BOOTSTRAP,
            json!({ "@odata.type": "#microsoft.graph.staleSignInAlertConfiguration", "duration": "P7D" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    t.clock.advance(TimeDelta::days(6));
    refresh(t).await;
    assert!(of(&incidents(t, &id).await, ada).is_none());
    t.clock.advance(TimeDelta::days(2));
    refresh(t).await;
    assert!(of(&incidents(t, &id).await, ada).is_some());
    assert_eq!(raised_audits(t, &id).await, 3);

    // Remediation removes Bob's assignment through the administrators' removal, and resolves.
    let found = incidents(t, &id).await;
    let (status, body) = remediate(t, &id, of(&found, bob).unwrap()).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert!(schedules(t, "Assignment", bob).await.is_empty());
    let found = incidents(t, &id).await;
    assert!(of(&found, bob).is_none(), "{found:?}");
    // And Ada's eligibility through the eligibility removal.
    let (status, body) = remediate(t, &id, of(&found, ada).unwrap()).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert!(schedules(t, "Eligibility", ada).await.is_empty());
    assert!(incidents(t, &id).await.is_empty());
    assert_eq!(t.audited_as("Remediate PIM alert incident").await.len(), 2);
}

#[tokio::test]
async fn pim_alerts_redundant_assignment_raised_resolved_and_remediated() {
    let t = TestApp::new().await;
    let id = alert_id(&t, "RedundantAssignmentAlert").await;
    let pat = t.person("pat").await;
    let bob = t.user("bob").await;
    hold(&t, ELIGIBILITY_URL, pat.id, SECURITY_ADMINISTRATOR).await;
    hold(&t, ELIGIBILITY_URL, bob, USER_ADMINISTRATOR).await;
    // An active assignment is no eligibility: never redundant.
    let cyd = t.user("cyd").await;
    hold(&t, ASSIGNMENT_URL, cyd, USER_ADMINISTRATOR).await;
    refresh(&t).await;
    assert!(incidents(&t, &id).await.is_empty());

    // 30 days: new still (the eligibility is not older than the duration).
    t.clock.advance(TimeDelta::days(30));
    refresh(&t).await;
    assert!(incidents(&t, &id).await.is_empty());

    // Past 30 days, never activated: redundant.
    t.clock.advance(TimeDelta::minutes(1));
    refresh(&t).await;
    let found = incidents(&t, &id).await;
    assert_eq!(found.len(), 2, "{found:?}");
    let p = of(&found, pat.id).unwrap();
    assert_eq!(
        p["@odata.type"],
        "#microsoft.graph.redundantAssignmentAlertIncident"
    );
    assert_eq!(p["lastActivationDateTime"], Value::Null);
    assert_eq!(p["assigneeUserPrincipalName"], "pat@contoso.example");
    assert_eq!(p["roleDefinitionId"], SECURITY_ADMINISTRATOR);
    assert_eq!(p["roleDisplayName"], "Security Administrator");
    assert_eq!(p["roleTemplateId"], SECURITY_ADMINISTRATOR);
    assert_eq!(raised_audits(&t, &id).await, 2);

    // Pat activates: resolved at the next refresh.
    let pat = Person {
        token: t.sign_in("pat").await,
        ..pat
    };
    let (status, body) = t
        .activate(&pat, SECURITY_ADMINISTRATOR, "PT1H", json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    refresh(&t).await;
    let found = incidents(&t, &id).await;
    assert_eq!(found.len(), 1);
    assert!(of(&found, pat.id).is_none());

    // Remediation removes Bob's eligibility, and the incident resolves.
    let (status, body) = remediate(&t, &id, of(&found, bob).unwrap()).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert!(schedules(&t, "Eligibility", bob).await.is_empty());
    assert!(incidents(&t, &id).await.is_empty());
    assert_eq!(raised_audits(&t, &id).await, 2);
}

#[tokio::test]
async fn pim_alerts_sequential_activations_at_the_count_not_below_and_not_remediable() {
    sequential_activations(&TestApp::new().await).await;
}

/// The same on PostgreSQL (skipped loudly by the testkit where there is none).
#[tokio::test]
async fn pim_alerts_sequential_activations_on_postgres() {
    let Some(t) = TestApp::postgres().await else {
        return;
    };
    sequential_activations(&t).await;
}

async fn sequential_activations(t: &TestApp) {
    let id = alert_id(t, "SequentialActivationRenewalsAlert").await;
    let pat = t.person("pat").await;
    hold(t, ELIGIBILITY_URL, pat.id, SECURITY_ADMINISTRATOR).await;
    let activate = async |p: Person| {
        let p = Person {
            token: t.sign_in("pat").await,
            ..p
        };
        let (status, body) = t
            .activate(&p, SECURITY_ADMINISTRATOR, "PT30M", json!({}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["status"], "Provisioned", "{body}");
        p
    };
    // One activation: below the default count of two.
    let pat = activate(pat).await;
    let first = t.clock.now_utc();
    refresh(t).await;
    assert!(incidents(t, &id).await.is_empty());

    // It ends after 30 minutes; renewed a minute later, within the default hour: two.
    t.tick(TimeDelta::minutes(31)).await;
    let pat = activate(pat).await;
    let second = t.clock.now_utc();
    refresh(t).await;
    let found = incidents(t, &id).await;
    assert_eq!(found.len(), 1, "{found:?}");
    let i = &found[0];
    assert_eq!(
        i["@odata.type"],
        "#microsoft.graph.sequentialActivationRenewalsAlertIncident"
    );
    assert_eq!(i["assigneeId"], pat.id.to_string());
    assert_eq!(i["assigneeDisplayName"], "pat");
    assert_eq!(i["assigneeUserPrincipalName"], "pat@contoso.example");
    assert_eq!(i["activationCount"], 2);
    assert_eq!(i["sequenceStartDateTime"], json!(first));
    assert_eq!(i["sequenceEndDateTime"], json!(second));
    assert_eq!(i["roleDisplayName"], "Security Administrator");
    assert_eq!(i["roleTemplateId"], SECURITY_ADMINISTRATOR);
    assert_eq!(raised_audits(t, &id).await, 1);

    // Not remediable: 400, nothing changed.
    let (status, body) = remediate(t, &id, i).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(code(&body), "AlertNotRemediable");
    assert_eq!(incidents(t, &id).await.len(), 1);

    // A day later the sequence has left the 24-hour window: resolved.
    t.tick(TimeDelta::hours(25)).await;
    refresh(t).await;
    assert!(incidents(t, &id).await.is_empty());
}
