use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;
use uuid::Uuid;

use super::*;
use crate::roles::ids::{GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap()
}

fn ga() -> Uuid {
    Uuid::parse_str(GLOBAL_ADMINISTRATOR).unwrap()
}

fn ua() -> Uuid {
    Uuid::parse_str(USER_ADMINISTRATOR).unwrap()
}

fn n(i: u128) -> Uuid {
    Uuid::from_u128(i)
}

fn assignment(principal: Uuid, role: Uuid) -> ActiveAssignment {
    ActiveAssignment {
        schedule_id: Uuid::from_u128(principal.as_u128() * 1000 + role.as_u128() % 1000),
        principal_id: principal,
        principal_display_name: format!("p{}", principal.as_u128()),
        principal_upn: Some(format!("p{}@contoso.example", principal.as_u128())),
        role_definition_id: role,
        directory_scope_id: "/".into(),
        permanent: false,
        created_using: Some(Uuid::from_u128(7)),
        activated: false,
        created_date_time: t0(),
    }
}

fn role(id: Uuid, mfa: bool) -> RoleFacts {
    RoleFacts {
        id,
        display_name: format!("role {id}"),
        template_id: Some(id),
        privileged: true,
        mfa_on_activation: mfa,
    }
}

/// `gas` Global Administrators (principals 1..=gas) and `others` User Administrators.
fn tenant(gas: u128, others: u128) -> Facts {
    let mut f = Facts {
        roles: vec![role(ga(), true), role(ua(), true)],
        ..Default::default()
    };
    for i in 1..=gas {
        f.assignments.push(assignment(n(i), ga()));
    }
    for i in 0..others {
        f.assignments.push(assignment(n(100 + i), ua()));
    }
    f
}

fn config(count: u32, pct: u32) -> Configuration {
    let mut c = Configuration::default_for(AlertKind::TooManyGlobalAdmins);
    c.patch(
        AlertKind::TooManyGlobalAdmins,
        &json!({ "globalAdminCountThreshold": count, "percentageOfGlobalAdminsOutOfRolesThreshold": pct }),
    )
    .unwrap();
    c
}

#[test]
fn ids_round_trip_for_the_tenant_only() {
    let tenant = n(42);
    for kind in AlertKind::ALL {
        let id = kind.id(tenant);
        assert!(id.starts_with("DirectoryRole_00000000-0000-0000-0000-00000000002a_"));
        assert_eq!(AlertKind::from_id(tenant, &id), Some(kind));
        assert_eq!(AlertKind::from_id(n(43), &id), None);
        let d = kind.definition(tenant);
        assert_eq!(d["scopeId"], "/");
        assert_eq!(d["scopeType"], "DirectoryRole");
        assert_eq!(d["isRemediatable"], kind.is_remediatable());
    }
    assert_eq!(
        AlertKind::from_id(tenant, "DirectoryRole_x_NoSuchAlert"),
        None
    );
    assert_eq!(
        AlertKind::TooManyGlobalAdmins.definition(tenant)["severityLevel"],
        "low"
    );
    assert_eq!(
        AlertKind::RolesAssignedOutsidePim.definition(tenant)["severityLevel"],
        "high"
    );
}

#[test]
fn defaults_are_the_documented_ones() {
    let c = Configuration::default_for(AlertKind::TooManyGlobalAdmins);
    assert_eq!(c.count_threshold(), 5);
    assert_eq!(c.percentage_threshold(), 50);
    assert!(c.is_enabled);
    let g = c.to_graph(n(1), AlertKind::TooManyGlobalAdmins);
    assert_eq!(
        g["@odata.type"],
        "#microsoft.graph.tooManyGlobalAdminsAssignedToTenantAlertConfiguration"
    );
    assert_eq!(g["globalAdminCountThreshold"], 5);
    for kind in [AlertKind::RedundantAssignment, AlertKind::StaleSignIn] {
        assert_eq!(
            Configuration::default_for(kind).duration.as_deref(),
            Some("P30D")
        );
    }
    let s = Configuration::default_for(AlertKind::SequentialActivationRenewals);
    assert!(s.sequential_activation_counter_threshold.is_some());
    assert!(s.time_interval_between_activations.is_some());
    let plain = Configuration::default_for(AlertKind::NoMfaOnRoleActivation)
        .to_graph(n(1), AlertKind::NoMfaOnRoleActivation);
    assert!(plain.get("duration").is_none());
}

#[test]
fn patch_refuses_every_bad_field_and_changes_nothing() {
    let kind = AlertKind::TooManyGlobalAdmins;
    let mut c = Configuration::default_for(kind);
    let before = c.clone();
    let err = c
        .patch(
            kind,
            &json!({
                "globalAdminCountThreshold": 0,
                "percentageOfGlobalAdminsOutOfRolesThreshold": 101,
                "duration": "P1D",
                "isEnabled": "yes",
                "@odata.type": "#microsoft.graph.staleSignInAlertConfiguration",
            }),
        )
        .unwrap_err();
    let targets: Vec<&str> = err.iter().map(|i| i.target.as_str()).collect();
    for f in [
        "globalAdminCountThreshold",
        "percentageOfGlobalAdminsOutOfRolesThreshold",
        "duration",
        "isEnabled",
        "@odata.type",
    ] {
        assert!(targets.contains(&f), "{f} in {targets:?}");
    }
    assert_eq!(c, before);
    // Not clamped: 2.5 and -1 are refused, not rounded.
    assert!(
        c.patch(kind, &json!({"globalAdminCountThreshold": 2.5}))
            .is_err()
    );
    assert!(
        c.patch(kind, &json!({"globalAdminCountThreshold": -1}))
            .is_err()
    );
    assert!(c.patch(kind, &json!([])).is_err());
    c.patch(
        kind,
        &json!({"@odata.type": "microsoft.graph.tooManyGlobalAdminsAssignedToTenantAlertConfiguration", "globalAdminCountThreshold": 3, "isEnabled": false}),
    )
    .unwrap();
    assert_eq!(c.count_threshold(), 3);
    assert!(!c.is_enabled);
}

#[test]
fn patch_checks_durations() {
    let kind = AlertKind::StaleSignIn;
    let mut c = Configuration::default_for(kind);
    assert!(c.patch(kind, &json!({"duration": "soon"})).is_err());
    assert!(c.patch(kind, &json!({"duration": "PT1H"})).is_err());
    assert!(c.patch(kind, &json!({"duration": "P400D"})).is_err());
    c.patch(kind, &json!({"duration": "P7D"})).unwrap();
    assert_eq!(c.duration.as_deref(), Some("P7D"));
    let kind = AlertKind::SequentialActivationRenewals;
    let mut s = Configuration::default_for(kind);
    assert!(
        s.patch(kind, &json!({"sequentialActivationCounterThreshold": 1}))
            .is_err()
    );
    assert!(
        s.patch(kind, &json!({"timeIntervalBetweenActivations": "P2D"}))
            .is_err()
    );
    s.patch(
        kind,
        &json!({"sequentialActivationCounterThreshold": 4, "timeIntervalBetweenActivations": "PT30M"}),
    )
    .unwrap();
    assert_eq!(s.sequential_activation_counter_threshold, Some(4));
}

#[test]
fn too_many_global_admins_at_below_and_above_the_count() {
    // 100% of holders are Global Administrators: the count decides.
    let c = config(5, 50);
    assert!(too_many_global_admins(&tenant(4, 0), &c).is_empty());
    let at = too_many_global_admins(&tenant(5, 0), &c);
    assert_eq!(at.len(), 5);
    assert_eq!(at[0].data["assigneeId"], n(1).to_string());
    assert_eq!(
        at[0].data["assigneeUserPrincipalName"],
        "p1@contoso.example"
    );
    assert_eq!(too_many_global_admins(&tenant(6, 0), &c).len(), 6);
}

#[test]
fn too_many_global_admins_at_below_and_above_the_share() {
    // 5 Global Administrators: the share decides. 5 of 10 is 50%.
    let c = config(5, 50);
    assert_eq!(too_many_global_admins(&tenant(5, 5), &c).len(), 5);
    assert!(too_many_global_admins(&tenant(5, 6), &c).is_empty());
    assert_eq!(too_many_global_admins(&tenant(5, 4), &c).len(), 5);
}

#[test]
fn too_many_global_admins_counts_people_not_assignments() {
    let mut f = tenant(2, 0);
    // A second assignment of the same person (another scope) is one admin.
    let mut again = assignment(n(1), ga());
    again.schedule_id = n(999);
    again.directory_scope_id = "/administrativeUnits/x".into();
    f.assignments.push(again);
    assert!(too_many_global_admins(&f, &config(3, 1)).is_empty());
    assert_eq!(too_many_global_admins(&f, &config(2, 1)).len(), 2);
}

#[test]
fn no_mfa_one_incident_per_role_without_it() {
    let mut f = tenant(0, 0);
    assert!(no_mfa_on_role_activation(&f).is_empty());
    f.roles[1].mfa_on_activation = false;
    let found = no_mfa_on_role_activation(&f);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].key, ua().to_string());
    assert_eq!(found[0].data["roleTemplateId"], ua().to_string());
}

#[test]
fn outside_pim_finds_unrequested_and_permanent_privileged() {
    let mut f = tenant(0, 0);
    let glass = n(50);
    f.break_glass = vec![glass];
    // Through Eligo, time-bound: fine.
    f.assignments.push(assignment(n(1), ua()));
    // Not created by any request: outside.
    let mut imported = assignment(n(2), ua());
    imported.created_using = None;
    f.assignments.push(imported.clone());
    // Permanent privileged through a request: outside too.
    let mut permanent = assignment(n(3), ua());
    permanent.permanent = true;
    f.assignments.push(permanent.clone());
    // From an access package (its assignment id is created_using): fine.
    let package = assignment(n(4), ua());
    f.assignments.push(package);
    // An activation: fine.
    let mut activation = assignment(n(5), ua());
    activation.activated = true;
    f.assignments.push(activation);
    // The break-glass account's standing Global Administrator: by design.
    let mut standing = assignment(glass, ga());
    standing.permanent = true;
    standing.created_using = None;
    f.assignments.push(standing);
    let found = roles_assigned_outside_pim(&f);
    let keys: Vec<&str> = found.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(
        keys,
        vec![
            imported.schedule_id.to_string(),
            permanent.schedule_id.to_string()
        ]
    );
    assert_eq!(found[0].data["roleDefinitionId"], ua().to_string());
    assert!(found[0].data["assignmentCreatedDateTime"].is_string());
    // A permanent assignment of an unprivileged role made through Eligo is not outside.
    f.roles[1].privileged = false;
    assert_eq!(roles_assigned_outside_pim(&f).len(), 1);
}

#[test]
fn scan_skips_unscanned_and_disabled() {
    let f = tenant(6, 0);
    let kind = AlertKind::TooManyGlobalAdmins;
    let mut c = Configuration::default_for(kind);
    assert_eq!(scan(kind, &f, &c).unwrap().len(), 6);
    c.is_enabled = false;
    assert_eq!(scan(kind, &f, &c), Some(vec![]));
    let stale = AlertKind::StaleSignIn;
    assert_eq!(scan(stale, &f, &Configuration::default_for(stale)), None);
}

#[test]
fn reconcile_raises_once_resolves_and_raises_anew() {
    let cause = |k: &str| Cause {
        key: k.into(),
        data: json!({}),
    };
    // Nothing open: both raised (a duplicate cause only once).
    let r = reconcile(&[], &[cause("a"), cause("b"), cause("a")]);
    assert_eq!(r.raise.len(), 2);
    assert!(r.resolve.is_empty());
    // Open and still there: nothing to do.
    let open = vec![(n(1), "a".to_string()), (n(2), "b".to_string())];
    assert_eq!(
        reconcile(&open, &[cause("a"), cause("b")]),
        Reconciled::default()
    );
    // b went: resolved; c came: raised.
    let r = reconcile(&open, &[cause("a"), cause("c")]);
    assert_eq!(r.resolve, vec![n(2)]);
    assert_eq!(r.raise, vec![cause("c")]);
    // b comes back after its incident was resolved: raised anew.
    let r = reconcile(&[(n(1), "a".to_string())], &[cause("a"), cause("b")]);
    assert_eq!(r.raise, vec![cause("b")]);
}

#[test]
fn incident_as_graph() {
    let i = Incident {
        id: n(9),
        kind: AlertKind::NoMfaOnRoleActivation,
        cause_key: "k".into(),
        data: json!({"roleDisplayName": "X"}),
        raised_at: t0(),
        resolved_at: None,
    };
    let g = i.to_graph();
    assert_eq!(
        g["@odata.type"],
        "#microsoft.graph.noMfaOnRoleActivationAlertIncident"
    );
    assert_eq!(g["roleDisplayName"], "X");
    let a = alert(n(1), AlertKind::NoMfaOnRoleActivation, 2, Some(t0()), None);
    assert_eq!(a["isActive"], true);
    assert_eq!(a["incidentCount"], 2);
}
