//! PIM alerts (migration 0016), on both backends: configurations stored per definition,
//! incidents raised once per cause while unresolved (a resolved one frees its cause key), and
//! each alert's last scan and change.

use std::sync::Arc;

use eligo_core::pim_alerts::{AlertKind, Configuration, Incident};
use eligo_store::{AlertScanTimes, Store};
use serde_json::json;

use crate::common::*;

fn incident(n: u128, kind: AlertKind, key: &str, at: i64) -> Incident {
    Incident {
        id: id(n),
        kind,
        cause_key: key.into(),
        data: json!({ "assigneeId": key }),
        raised_at: t(at),
        resolved_at: None,
    }
}

async fn alert_configurations_are_kept_per_definition(store: Arc<dyn Store>) {
    let kind = AlertKind::TooManyGlobalAdmins;
    let mut tx = read(&store).await;
    assert_eq!(tx.get_alert_configuration(kind).await.unwrap(), None);
    drop(tx);
    let mut config = Configuration::default_for(kind);
    config
        .patch(kind, &json!({ "globalAdminCountThreshold": 3 }))
        .unwrap();
    let mut tx = write(&store).await;
    tx.put_alert_configuration(kind, &config, t(1))
        .await
        .unwrap();
    commit(tx).await;
    config.is_enabled = false;
    let mut tx = write(&store).await;
    tx.put_alert_configuration(kind, &config, t(2))
        .await
        .unwrap();
    commit(tx).await;
    let mut tx = read(&store).await;
    assert_eq!(
        tx.get_alert_configuration(kind).await.unwrap(),
        Some(config)
    );
    assert_eq!(
        tx.get_alert_configuration(AlertKind::StaleSignIn)
            .await
            .unwrap(),
        None
    );
}

contract!(alert_configurations_are_kept_per_definition => alert_configurations_sqlite, alert_configurations_postgres);

async fn alert_incidents_are_unique_per_cause_while_open(store: Arc<dyn Store>) {
    let kind = AlertKind::RolesAssignedOutsidePim;
    let mut tx = write(&store).await;
    tx.insert_alert_incident(&incident(1, kind, "a", 10))
        .await
        .unwrap();
    tx.insert_alert_incident(&incident(2, kind, "b", 11))
        .await
        .unwrap();
    // Another definition may have the same key.
    tx.insert_alert_incident(&incident(3, AlertKind::NoMfaOnRoleActivation, "a", 12))
        .await
        .unwrap();
    commit(tx).await;

    // The same cause again while open: refused.
    let mut tx = write(&store).await;
    assert_conflict(
        tx.insert_alert_incident(&incident(4, kind, "a", 13)).await,
        "alert incident",
    );
    drop(tx);

    // Resolved: once, and the key is free for the cause's next incident.
    let mut tx = write(&store).await;
    assert!(tx.resolve_alert_incident(id(1), t(20)).await.unwrap());
    assert!(!tx.resolve_alert_incident(id(1), t(21)).await.unwrap());
    assert!(!tx.resolve_alert_incident(id(99), t(21)).await.unwrap());
    tx.insert_alert_incident(&incident(5, kind, "a", 30))
        .await
        .unwrap();
    commit(tx).await;

    let mut tx = read(&store).await;
    let open = tx.list_alert_incidents(kind, true).await.unwrap();
    assert_eq!(
        open.iter().map(|i| i.id).collect::<Vec<_>>(),
        vec![id(2), id(5)]
    );
    let all = tx.list_alert_incidents(kind, false).await.unwrap();
    assert_eq!(
        all.iter().map(|i| i.id).collect::<Vec<_>>(),
        vec![id(1), id(2), id(5)]
    );
    let first = tx.get_alert_incident(id(1)).await.unwrap().unwrap();
    assert_eq!(first.resolved_at, Some(t(20)));
    assert_eq!(first.data, json!({ "assigneeId": "a" }));
    assert_eq!(first.kind, kind);
    assert_eq!(tx.get_alert_incident(id(99)).await.unwrap(), None);
}

contract!(alert_incidents_are_unique_per_cause_while_open => alert_incidents_sqlite, alert_incidents_postgres);

async fn alert_times_keep_what_was_not_given(store: Arc<dyn Store>) {
    let kind = AlertKind::NoMfaOnRoleActivation;
    let mut tx = write(&store).await;
    tx.touch_alert(kind, Some(t(1)), Some(t(1))).await.unwrap();
    commit(tx).await;
    let mut tx = write(&store).await;
    tx.touch_alert(kind, Some(t(5)), None).await.unwrap();
    tx.touch_alert(AlertKind::TooManyGlobalAdmins, None, Some(t(3)))
        .await
        .unwrap();
    commit(tx).await;
    let mut tx = read(&store).await;
    let times = tx.list_alert_times().await.unwrap();
    assert_eq!(times.len(), 2);
    assert!(times.contains(&AlertScanTimes {
        kind,
        last_scanned: Some(t(5)),
        last_modified: Some(t(1)),
    }));
    assert!(times.contains(&AlertScanTimes {
        kind: AlertKind::TooManyGlobalAdmins,
        last_scanned: None,
        last_modified: Some(t(3)),
    }));
}

contract!(alert_times_keep_what_was_not_given => alert_times_sqlite, alert_times_postgres);
