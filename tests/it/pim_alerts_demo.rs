//! The demo tenant's PIM alerts: "too many Global Administrators" is configured for a tenant of
//! seven (2 and 50%, audited as the demo's change) and a scan at seeding raises it for the two
//! active Global Administrators (the break-glass account and Ada, half of the active role
//! holders), so the alert and the Alerts page show it before anyone refreshes; Carol, eligible
//! only, is not counted.

use axum::http::StatusCode;
use eligo::service::demo::{DEMO_PASSWORD, GLOBAL_ADMIN_COUNT};

use crate::harness::*;
use crate::pim_alerts::{BASE, alert_id, incidents};
use crate::portal::browser::Browser;

#[tokio::test]
async fn the_demo_raises_too_many_global_admins_at_seeding() {
    let t = TestApp::demo().await;
    let id = alert_id(&t, "TooManyGlobalAdminsAssignedToTenantAlert").await;
    let (status, alert) = t.get(&format!("{BASE}/alerts/{id}"), BOOTSTRAP).await;
    assert_eq!(status, StatusCode::OK, "{alert}");
    assert_eq!(alert["isActive"], true, "{alert}");
    assert_eq!(alert["incidentCount"], 2, "{alert}");
    assert_eq!(
        alert["lastScannedDateTime"]
            .as_str()
            .map(|s| s.starts_with("2026-11-22T10:00:00")),
        Some(true),
        "scanned at seeding: {alert}"
    );
    let mut upns: Vec<String> = incidents(&t, &id)
        .await
        .iter()
        .map(|i| {
            i["assigneeUserPrincipalName"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    upns.sort();
    assert_eq!(upns.len(), 2);
    assert_eq!(upns[0], "ada@contoso.example", "{upns:?}");
    assert!(!upns.iter().any(|u| u.starts_with("carol@")), "{upns:?}");

    let (_, config) = t
        .get(&format!("{BASE}/alertConfigurations/{id}"), BOOTSTRAP)
        .await;
    assert_eq!(config["globalAdminCountThreshold"], GLOBAL_ADMIN_COUNT);
    assert_eq!(config["percentageOfGlobalAdminsOutOfRolesThreshold"], 50);
    let changed = t.audited_as("Update PIM alert configuration").await;
    assert_eq!(changed.len(), 1, "{changed:#?}");
    assert_eq!(changed[0]["targetResources"][0]["id"], id.as_str());

    // The demo writes its standing assignments directly, as an import would: the same scan
    // finds them outside PIM (ARCHITECTURE.md says so).
    let outside = alert_id(&t, "RolesAssignedOutsidePimAlert").await;
    assert!(!incidents(&t, &outside).await.is_empty());

    // The Alerts page shows it on first sign-in, before any refresh.
    let (mut b, _) = Browser::signed_in_with_mfa(&t, "ada@contoso.example", DEMO_PASSWORD).await;
    let page = b.get("/portal/admin/alerts").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.has("There are too many global administrators"));
    assert!(
        page.has("Ada Administrator (ada@contoso.example)"),
        "{}",
        page.body
    );
}
