//! The Alerts page on the demo tenant: alerts listed active first with their incidents, a
//! Refresh, Remediate and the configuration form, each through the API's use cases (the API
//! confirms what changed); a reader sees without forms and is refused by the use case when
//! posting anyway; someone without `alerts/read` is refused the page; a forged form or a
//! session without a fresh second factor changes nothing.

use axum::http::StatusCode;
use eligo_core::roles::ids::{GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR};
use eligo_core::schedule::ScheduleKind;
use serde_json::{Value, json};

use super::browser::{Browser, Page};
use crate::harness::{BOOTSTRAP, PASSWORD, TestApp};
use crate::pim_alerts::{BASE, alert_id, incidents};

const DEMO_PASSWORD: &str = eligo::service::demo::DEMO_PASSWORD;
const PAGE: &str = "/portal/admin/alerts";
const NO_MFA: &str = "NoMfaOnRoleActivationAlert";
const TOO_MANY: &str = "TooManyGlobalAdminsAssignedToTenantAlert";

async fn ada(t: &TestApp) -> Browser<'_> {
    Browser::signed_in_with_mfa(t, "ada@contoso.example", DEMO_PASSWORD)
        .await
        .0
}

async fn configuration(t: &TestApp, id: &str) -> Value {
    let (status, body) = t
        .get(&format!("{BASE}/alertConfigurations/{id}"), BOOTSTRAP)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn last_scanned(t: &TestApp, id: &str) -> Value {
    let (_, body) = t.get(&format!("{BASE}/alerts/{id}"), BOOTSTRAP).await;
    body["lastScannedDateTime"].clone()
}

fn position(page: &Page, text: &str) -> usize {
    page.body
        .find(text)
        .unwrap_or_else(|| panic!("{text} on the page"))
}

#[tokio::test]
async fn the_alerts_page_refreshes_remediates_and_configures_through_the_use_cases() {
    let t = TestApp::demo().await;
    // User Administrator's activation stops asking for a second factor: one incident.
    t.set_rule(
        USER_ADMINISTRATOR,
        "Enablement_EndUser_Assignment",
        json!({ "enabledRules": ["Justification"] }),
    )
    .await;
    let no_mfa = alert_id(&t, NO_MFA).await;
    let too_many = alert_id(&t, TOO_MANY).await;
    // The demo scanned at seeding: a refresh later is told apart by its time.
    let before = last_scanned(&t, &too_many).await;
    t.clock.advance(chrono::TimeDelta::minutes(5));

    let mut b = ada(&t).await;
    let page = b.get(PAGE).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.has("href=\"/portal/admin/alerts\""),
        "linked from the navigation"
    );
    assert!(page.has(">Refresh</button>"));

    // Refresh: the scan of the API's use case, said in a flash.
    let done = b.submit("/portal/admin/alerts/refresh", &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let page = b.follow(&done).await;
    assert!(page.has("Every alert was scanned:"), "{}", page.body);
    assert_ne!(last_scanned(&t, &too_many).await, before);
    let open = incidents(&t, &no_mfa).await;
    assert_eq!(open.len(), 1);
    // Active alerts first, whatever their severity: the MFA alert (medium) and "too many"
    // (low, raised at the demo's seeding) before the downstream strays' (high, not active).
    let inactive_high = position(&page, "Members were added downstream outside Eligo");
    assert!(position(&page, "Roles don&#39;t require multi-factor authentication") < inactive_high);
    assert!(position(&page, "There are too many global administrators") < inactive_high);
    assert!(
        page.has("role User Administrator"),
        "the incident names its role"
    );
    assert!(page.has(">Remediate</button>"));

    // Remediate: the role's MFA rule comes back and the incident resolves.
    let incident = open[0]["id"].as_str().unwrap();
    let done = b
        .submit(
            &format!("/portal/admin/alerts/{no_mfa}/incidents/{incident}/remediate"),
            &[],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let page = b.follow(&done).await;
    assert!(page.has("The fix was applied"), "{}", page.body);
    assert!(incidents(&t, &no_mfa).await.is_empty());
    let (_, rule) = t
        .get(
            &format!("/v1/policies/roleManagementPolicies/DirectoryRole_{USER_ADMINISTRATOR}/rules/Enablement_EndUser_Assignment"),
            BOOTSTRAP,
        )
        .await;
    assert!(
        rule["enabledRules"]
            .as_array()
            .unwrap()
            .contains(&json!("MultiFactorAuthentication"))
    );
    // Again on the resolved incident: said on the page, nothing done.
    let again = b
        .submit(
            &format!("/portal/admin/alerts/{no_mfa}/incidents/{incident}/remediate"),
            &[],
        )
        .await;
    let page = b.follow(&again).await;
    assert!(
        page.has("This incident is resolved already."),
        "{}",
        page.body
    );

    // Configure: a bad threshold is refused on its field, nothing saved.
    let configure = format!("/portal/admin/alerts/{too_many}/configure");
    let refused = b
        .submit(
            &configure,
            &[
                ("isEnabled", "on"),
                ("globalAdminCountThreshold", "0"),
                ("percentageOfGlobalAdminsOutOfRolesThreshold", "50"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(refused.has("Nothing was saved."));
    // The refused form shows what was typed, not what is stored.
    assert!(
        refused.has("id=\"globalAdminCountThreshold-TooManyGlobalAdminsAssignedToTenantAlert\" name=\"globalAdminCountThreshold\" value=\"0\""),
        "{}",
        refused.body
    );
    assert!(
        refused
            .has("id=\"globalAdminCountThreshold-TooManyGlobalAdminsAssignedToTenantAlert-error\""),
        "{}",
        refused.body
    );
    assert_eq!(
        configuration(&t, &too_many).await["globalAdminCountThreshold"],
        eligo::service::demo::GLOBAL_ADMIN_COUNT
    );
    // A good one is saved; an unticked box disables the alert.
    let saved = b
        .submit(
            &configure,
            &[
                ("globalAdminCountThreshold", "3"),
                ("percentageOfGlobalAdminsOutOfRolesThreshold", "40"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let config = configuration(&t, &too_many).await;
    assert_eq!(config["globalAdminCountThreshold"], 3);
    assert_eq!(config["percentageOfGlobalAdminsOutOfRolesThreshold"], 40);
    assert_eq!(config["isEnabled"], false);
    let page = b.follow(&saved).await;
    assert!(
        page.has("The alert&#39;s configuration was saved")
            || page.has("The alert&#x27;s configuration was saved"),
        "{}",
        page.body
    );
    assert!(page.has("value=\"3\""));
}

#[tokio::test]
async fn a_reader_sees_without_forms_and_others_are_refused() {
    let t = TestApp::demo().await;
    let too_many = alert_id(&t, TOO_MANY).await;
    let before = last_scanned(&t, &too_many).await;

    // Dave, Global Reader: the page, no button, no form; posting anyway is refused by the use
    // case and changes nothing.
    let mut dave = Browser::signed_in(&t, "dave@contoso.example", DEMO_PASSWORD).await;
    let page = dave.get(PAGE).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.has("There are too many global administrators"));
    assert!(!page.has(">Refresh</button>") && !page.has("Save configuration"));
    let refused = dave.submit("/portal/admin/alerts/refresh", &[]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    let refused = dave
        .submit(
            &format!("/portal/admin/alerts/{too_many}/configure"),
            &[("globalAdminCountThreshold", "1")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        configuration(&t, &too_many).await["globalAdminCountThreshold"],
        eligo::service::demo::GLOBAL_ADMIN_COUNT
    );
    assert_eq!(last_scanned(&t, &too_many).await, before);

    // Erin, no role: no link, and the page is refused.
    let mut erin = Browser::signed_in(&t, "erin@contoso.example", DEMO_PASSWORD).await;
    let home = erin.get("/portal/roles").await;
    assert!(!home.has("href=\"/portal/admin/alerts\""));
    let page = erin.get(PAGE).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.has("You do not have access"));

    // Ada with a forged token: refused before anything is read.
    let mut b = ada(&t).await;
    b.get(PAGE).await;
    let forged = b
        .post_raw("/portal/admin/alerts/refresh", &[("csrf", "forged")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(forged.has("This form has expired"));
    assert_eq!(last_scanned(&t, &too_many).await, before);

    // A Global Administrator without an authenticator, signed in with the password alone:
    // the use case asks for a second factor.
    let gina = t.user("gina").await;
    t.grant(gina, GLOBAL_ADMINISTRATOR, ScheduleKind::Active, None)
        .await;
    let mut pwd = Browser::signed_in(&t, "gina@contoso.example", PASSWORD).await;
    pwd.get(PAGE).await;
    let refused = pwd.submit("/portal/admin/alerts/refresh", &[]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(refused.has("Verify it is you"), "{}", refused.body);
    assert_eq!(last_scanned(&t, &too_many).await, before);
}
