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
    // All nine are scanned now.
    assert!(AlertKind::ALL.iter().all(|k| k.is_scanned()));
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

// The scans from sign-in and activation history, at each threshold's edge.

fn holder(created: DateTime<Utc>) -> Holder {
    Holder {
        display_name: "Ada".into(),
        upn: Some("ada@contoso.example".into()),
        created,
    }
}

fn eligibility(principal: Uuid, role: Uuid, created: DateTime<Utc>) -> Eligibility {
    Eligibility {
        schedule_id: Uuid::from_u128(principal.as_u128() * 1000 + 1),
        principal_id: principal,
        role_definition_id: role,
        directory_scope_id: "/".into(),
        created_date_time: created,
    }
}

fn days(d: i64) -> chrono::TimeDelta {
    chrono::TimeDelta::days(d)
}

/// Ada (principal 1), created at t0, holds User Administrator actively and eligibly since t0;
/// the scan runs 60 days later.
fn history_tenant() -> Facts {
    let mut f = Facts {
        now: t0() + days(60),
        roles: vec![role(ga(), true), role(ua(), true)],
        ..Default::default()
    };
    f.principals.insert(n(1), holder(t0()));
    f.assignments.push(assignment(n(1), ua()));
    f.eligibilities.push(eligibility(n(1), ua(), t0()));
    f
}

fn with_duration(kind: AlertKind, d: &str) -> Configuration {
    let mut c = Configuration::default_for(kind);
    c.patch(kind, &json!({ "duration": d })).unwrap();
    c
}

#[test]
fn stale_sign_in_at_the_duration_edge() {
    let kind = AlertKind::StaleSignIn;
    let c = Configuration::default_for(kind);
    let mut f = history_tenant();
    let cutoff = f.now - days(30);
    // Exactly 30 days ago: within the duration.
    f.last_sign_ins.insert(n(1), cutoff);
    assert!(stale_sign_in(&f, &c).is_empty());
    // Just inside.
    f.last_sign_ins
        .insert(n(1), cutoff + chrono::TimeDelta::microseconds(1));
    assert!(stale_sign_in(&f, &c).is_empty());
    // Just outside: one incident for the (assignee, role), though active and eligible both.
    let last = cutoff - chrono::TimeDelta::microseconds(1);
    f.last_sign_ins.insert(n(1), last);
    let found = stale_sign_in(&f, &c);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].key, format!("{}_{}", n(1), ua()));
    assert_eq!(found[0].data["assigneeId"], n(1).to_string());
    assert_eq!(
        found[0].data["assigneeUserPrincipalName"],
        "ada@contoso.example"
    );
    assert_eq!(found[0].data["lastSignInDateTime"], json!(last));
    assert_eq!(found[0].data["assignmentCreatedDateTime"], json!(t0()));
    assert_eq!(found[0].data["roleDefinitionId"], ua().to_string());
    assert_eq!(found[0].data["roleTemplateId"], ua().to_string());
    assert_eq!(found[0].data["roleDisplayName"], format!("role {}", ua()));
    // A shorter configured duration applies.
    f.last_sign_ins.insert(n(1), f.now - days(10));
    assert!(stale_sign_in(&f, &c).is_empty());
    assert_eq!(stale_sign_in(&f, &with_duration(kind, "P7D")).len(), 1);
    // Through scan, and nothing when disabled.
    assert_eq!(
        scan(kind, &f, &with_duration(kind, "P7D")).unwrap().len(),
        1
    );
    let mut off = with_duration(kind, "P7D");
    off.is_enabled = false;
    assert_eq!(scan(kind, &f, &off), Some(vec![]));
}

#[test]
fn stale_sign_in_never_signed_in_judged_by_the_account_age() {
    let c = Configuration::default_for(AlertKind::StaleSignIn);
    let mut f = history_tenant();
    let cutoff = f.now - days(30);
    // Created exactly 30 days ago, and just after: new.
    f.principals.insert(n(1), holder(cutoff));
    assert!(stale_sign_in(&f, &c).is_empty());
    f.principals
        .insert(n(1), holder(cutoff + chrono::TimeDelta::microseconds(1)));
    assert!(stale_sign_in(&f, &c).is_empty());
    // Just older: stale, with a null last sign-in.
    f.principals
        .insert(n(1), holder(cutoff - chrono::TimeDelta::microseconds(1)));
    let found = stale_sign_in(&f, &c);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].data["lastSignInDateTime"], serde_json::Value::Null);
}

#[test]
fn stale_sign_in_leaves_out_break_glass_and_unprivileged_roles() {
    let c = Configuration::default_for(AlertKind::StaleSignIn);
    let mut f = history_tenant();
    f.break_glass.push(n(1));
    assert!(stale_sign_in(&f, &c).is_empty());
    let mut f = history_tenant();
    f.roles[1].privileged = false;
    assert!(stale_sign_in(&f, &c).is_empty());
}

#[test]
fn redundant_assignment_at_the_duration_edges() {
    let kind = AlertKind::RedundantAssignment;
    let c = Configuration::default_for(kind);
    let mut f = history_tenant();
    f.assignments.clear();
    let cutoff = f.now - days(30);
    // Never activated, eligible since t0 (60 days): redundant, with a null last activation.
    let found = redundant_assignment(&f, &c);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].key, format!("{}_{}", n(1), ua()));
    assert_eq!(
        found[0].data["lastActivationDateTime"],
        serde_json::Value::Null
    );
    assert_eq!(found[0].data["assigneeDisplayName"], "Ada");
    // The eligibility's age: exactly 30 days and just under are new; just over is not.
    f.eligibilities[0].created_date_time = cutoff;
    assert!(redundant_assignment(&f, &c).is_empty());
    f.eligibilities[0].created_date_time = cutoff + chrono::TimeDelta::microseconds(1);
    assert!(redundant_assignment(&f, &c).is_empty());
    f.eligibilities[0].created_date_time = cutoff - chrono::TimeDelta::microseconds(1);
    assert_eq!(redundant_assignment(&f, &c).len(), 1);
    // The last activation: exactly 30 days ago and just inside are within; just outside not.
    f.last_activations.insert((n(1), ua()), cutoff);
    assert!(redundant_assignment(&f, &c).is_empty());
    f.last_activations
        .insert((n(1), ua()), cutoff + chrono::TimeDelta::microseconds(1));
    assert!(redundant_assignment(&f, &c).is_empty());
    let last = cutoff - chrono::TimeDelta::microseconds(1);
    f.last_activations.insert((n(1), ua()), last);
    let found = redundant_assignment(&f, &c);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].data["lastActivationDateTime"], json!(last));
    // An activation of another role does not count; a shorter duration applies.
    f.last_activations.insert((n(1), ga()), f.now);
    assert_eq!(redundant_assignment(&f, &c).len(), 1);
    f.last_activations.insert((n(1), ua()), f.now - days(10));
    assert!(redundant_assignment(&f, &c).is_empty());
    assert_eq!(
        redundant_assignment(&f, &with_duration(kind, "P7D")).len(),
        1
    );
    // Active assignments alone are not eligibilities.
    let mut f = history_tenant();
    f.eligibilities.clear();
    assert!(redundant_assignment(&f, &c).is_empty());
}

fn activated(f: &mut Facts, principal: Uuid, role: Uuid, at: DateTime<Utc>) {
    f.recent_activations.push(RoleActivation {
        principal_id: principal,
        role_definition_id: role,
        at,
    });
}

#[test]
fn sequential_activations_at_the_count_and_the_interval() {
    let kind = AlertKind::SequentialActivationRenewals;
    // Defaults: two activations, each within an hour of the one before.
    let c = Configuration::default_for(kind);
    let hour = chrono::TimeDelta::hours(1);
    let us = chrono::TimeDelta::microseconds(1);
    let mut f = history_tenant();
    let start = f.now - chrono::TimeDelta::hours(5);
    // One activation: below the count.
    activated(&mut f, n(1), ua(), start);
    assert!(sequential_activation_renewals(&f, &c).is_empty());
    // The second just outside the interval: two sequences of one.
    activated(&mut f, n(1), ua(), start + hour + us);
    assert!(sequential_activation_renewals(&f, &c).is_empty());
    // Exactly at the interval: a sequence of two, at the count.
    f.recent_activations.pop();
    activated(&mut f, n(1), ua(), start + hour);
    let found = sequential_activation_renewals(&f, &c);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].key, format!("{}_{}", n(1), ua()));
    assert_eq!(found[0].data["activationCount"], 2);
    assert_eq!(found[0].data["sequenceStartDateTime"], json!(start));
    assert_eq!(found[0].data["sequenceEndDateTime"], json!(start + hour));
    assert_eq!(found[0].data["roleTemplateId"], ua().to_string());
    assert_eq!(
        found[0].data["assigneeUserPrincipalName"],
        "ada@contoso.example"
    );
    // Just inside the interval, out of order: the same.
    f.recent_activations.pop();
    activated(&mut f, n(1), ua(), start + hour - us);
    assert_eq!(sequential_activation_renewals(&f, &c).len(), 1);
    // A threshold of three: two are below it, three at it.
    let mut three = Configuration::default_for(kind);
    three
        .patch(kind, &json!({ "sequentialActivationCounterThreshold": 3 }))
        .unwrap();
    assert!(sequential_activation_renewals(&f, &three).is_empty());
    activated(&mut f, n(1), ua(), start + hour * 2 - us);
    let found = sequential_activation_renewals(&f, &three);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].data["activationCount"], 3);
    // Other roles and other people are counted apart.
    let mut f = history_tenant();
    activated(&mut f, n(1), ua(), start);
    activated(&mut f, n(1), ga(), start + chrono::TimeDelta::minutes(5));
    activated(&mut f, n(2), ua(), start + chrono::TimeDelta::minutes(6));
    assert!(sequential_activation_renewals(&f, &c).is_empty());
}

#[test]
fn sequential_activations_in_the_last_24_hours_only() {
    let c = Configuration::default_for(AlertKind::SequentialActivationRenewals);
    let us = chrono::TimeDelta::microseconds(1);
    let mut f = history_tenant();
    let from = f.now - SEQUENTIAL_WINDOW;
    // The first just before the window: one left, below the count.
    activated(&mut f, n(1), ua(), from - us);
    activated(&mut f, n(1), ua(), from + chrono::TimeDelta::minutes(30));
    assert!(sequential_activation_renewals(&f, &c).is_empty());
    // At the window's start: included.
    f.recent_activations[0].at = from;
    assert_eq!(sequential_activation_renewals(&f, &c).len(), 1);
    // Of two sequences, the latest is reported.
    let now = f.now;
    activated(&mut f, n(1), ua(), now - chrono::TimeDelta::minutes(20));
    activated(&mut f, n(1), ua(), now - chrono::TimeDelta::minutes(10));
    activated(&mut f, n(1), ua(), now);
    let found = sequential_activation_renewals(&f, &c);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].data["activationCount"], 3);
    assert_eq!(found[0].data["sequenceEndDateTime"], json!(f.now));
}

fn held(package: u128, at: DateTime<Utc>) -> HeldPackage {
    HeldPackage {
        assignment_id: n(package * 10),
        package_id: n(package),
        display_name: format!("package {package}"),
        since: at,
    }
}

fn sod_tenant() -> Facts {
    use crate::entitlement::incompatible::Rules;
    // Packages 1 and 2 are incompatible; package 1 with group 9.
    Facts {
        now: t0(),
        sod_rules: Rules {
            packages: vec![(n(2), n(1))],
            groups: vec![(n(1), n(9))],
        },
        ..Default::default()
    }
}

fn sod_holder(id: u128, packages: Vec<HeldPackage>, groups: Vec<HeldGroup>) -> SodHolder {
    SodHolder {
        principal_id: n(id),
        display_name: format!("p{id}"),
        upn: Some(format!("p{id}@contoso.example")),
        packages,
        groups,
    }
}

#[test]
fn separation_of_duties_one_incident_per_conflict_naming_the_newer_access() {
    let mut f = sod_tenant();
    let group = |direct: Option<DateTime<Utc>>| HeldGroup {
        group_id: n(9),
        display_name: "Risky".into(),
        direct_since: direct,
    };
    f.sod_holders = vec![
        // Both packages, package 1 the newer: one incident, the pair once.
        sod_holder(
            100,
            vec![held(1, t0() + days(2)), held(2, t0())],
            Vec::new(),
        ),
        // Package 1 and a direct membership made later: the membership is the newer.
        sod_holder(101, vec![held(1, t0())], vec![group(Some(t0() + days(1)))]),
        // Package 1 and the group through nesting only: the assignment is what can go.
        sod_holder(102, vec![held(1, t0())], vec![group(None)]),
        // Package 2 and the group: no rule.
        sod_holder(103, vec![held(2, t0())], vec![group(Some(t0()))]),
    ];
    let config = Configuration::default_for(AlertKind::SeparationOfDutiesConflict);
    let found = scan(AlertKind::SeparationOfDutiesConflict, &f, &config).unwrap();
    assert_eq!(found.len(), 3, "{found:?}");
    let of = |p: u128| {
        found
            .iter()
            .find(|c| c.data["principalId"] == n(p).to_string())
    };
    let both = of(100).unwrap();
    assert_eq!(
        both.key,
        format!("{}:{}:accessPackage:{}", n(100), n(1), n(2))
    );
    assert_eq!(both.data["conflictType"], "accessPackage");
    assert_eq!(both.data["accessPackageDisplayName"], "package 1");
    assert_eq!(
        both.data["conflictingAccessPackageDisplayName"],
        "package 2"
    );
    assert_eq!(
        both.data["principalUserPrincipalName"],
        "p100@contoso.example"
    );
    assert_eq!(both.data["newerAccessType"], "accessPackageAssignment");
    assert_eq!(both.data["newerAccessId"], n(10).to_string());
    let member = of(101).unwrap();
    assert_eq!(member.data["conflictType"], "group");
    assert_eq!(member.data["conflictingGroupDisplayName"], "Risky");
    assert_eq!(member.data["newerAccessType"], "groupMembership");
    assert_eq!(member.data["newerAccessId"], n(9).to_string());
    let nested = of(102).unwrap();
    assert_eq!(nested.data["newerAccessType"], "accessPackageAssignment");
    assert_eq!(nested.data["newerAccessId"], n(10).to_string());
    assert!(of(103).is_none());

    // The same causes again raise nothing; one gone resolves its incident.
    let open: Vec<(Uuid, String)> = found
        .iter()
        .enumerate()
        .map(|(i, c)| (n(5000 + i as u128), c.key.clone()))
        .collect();
    assert!(reconcile(&open, &found).raise.is_empty());
    f.sod_holders.remove(0);
    let now = scan(AlertKind::SeparationOfDutiesConflict, &f, &config).unwrap();
    let r = reconcile(&open, &now);
    assert_eq!(r.resolve, [open[0].0]);
    // Disabled: nothing.
    let mut off = config.clone();
    off.is_enabled = false;
    assert!(
        scan(AlertKind::SeparationOfDutiesConflict, &f, &off)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn the_newer_of_two_assignments_on_a_tie_is_the_second() {
    let (a, b) = (held(1, t0()), held(2, t0()));
    assert_eq!(newer(&a, Ok(&b)), Newer::Assignment(b.assignment_id));
    let later = held(1, t0() + days(1));
    assert_eq!(
        newer(&later, Ok(&b)),
        Newer::Assignment(later.assignment_id)
    );
    let same_time = HeldGroup {
        group_id: n(9),
        display_name: "g".into(),
        direct_since: Some(t0()),
    };
    assert_eq!(
        newer(&a, Err(&same_time)),
        Newer::Assignment(a.assignment_id)
    );
}

#[test]
fn break_glass_use_raised_once_and_resolved_seven_days_after() {
    let use_at = |notice: &str, at: DateTime<Utc>| BreakGlassUse {
        notice_id: notice.into(),
        account_id: n(1),
        account_upn: Some("breakglass@eligo.local".into()),
        at,
        credential: "bootstrapToken",
        ip_address: Some("203.0.113.9".into()),
    };
    let mut f = Facts {
        now: t0(),
        break_glass_uses: vec![use_at("a", t0() - days(1)), use_at("old", t0() - days(7))],
        ..Default::default()
    };
    let config = Configuration::default_for(AlertKind::BreakGlassUsed);
    let found = scan(AlertKind::BreakGlassUsed, &f, &config).unwrap();
    assert_eq!(
        found.len(),
        1,
        "seven days old is past the window: {found:?}"
    );
    assert_eq!(found[0].key, "a");
    assert_eq!(found[0].data["ipAddress"], "203.0.113.9");
    assert_eq!(
        found[0].data["accountUserPrincipalName"],
        "breakglass@eligo.local"
    );
    assert_eq!(found[0].data["credential"], "bootstrapToken");
    let open = vec![(n(900), "a".to_string())];
    assert!(reconcile(&open, &found).raise.is_empty(), "raised once");
    // Just before seven days it is still active; at seven days it resolves.
    f.now = t0() - days(1) + days(7) - chrono::TimeDelta::seconds(1);
    assert_eq!(
        scan(AlertKind::BreakGlassUsed, &f, &config).unwrap().len(),
        1
    );
    f.now = t0() - days(1) + days(7);
    let later = scan(AlertKind::BreakGlassUsed, &f, &config).unwrap();
    assert_eq!(reconcile(&open, &later).resolve, [n(900)]);
    assert!(!AlertKind::BreakGlassUsed.is_remediatable());
}

#[test]
fn a_stray_alert_is_one_incident_until_it_is_resolved() {
    let stray = Stray {
        alert_id: n(77),
        connector_id: Some(n(5)),
        connector_display_name: Some("scim downstream".into()),
        connector_type: Some("scim".into()),
        downstream_group: Some("ops".into()),
        downstream_member: Some("ref-1".into()),
        member: Some("mallory".into()),
        group_id: Some(n(9)),
        group_display_name: Some("Ops".into()),
        detected: t0(),
    };
    let mut f = Facts {
        now: t0(),
        strays: vec![stray],
        ..Default::default()
    };
    let kind = AlertKind::MembersAddedOutsideEligo;
    let config = Configuration::default_for(kind);
    let found = scan(kind, &f, &config).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].key, n(77).to_string());
    assert_eq!(found[0].data["connectorId"], n(5).to_string());
    assert_eq!(found[0].data["downstreamGroup"], "ops");
    assert_eq!(found[0].data["memberDisplayName"], "mallory");
    assert_eq!(
        kind.incident_type(),
        "#microsoft.graph.membersAddedOutsideEligoAlertIncident"
    );
    let open = vec![(n(900), n(77).to_string())];
    assert!(reconcile(&open, &found).raise.is_empty());
    // The stray alert resolved: no longer read, so its incident resolves.
    f.strays.clear();
    let r = reconcile(&open, &scan(kind, &f, &config).unwrap());
    assert_eq!(r.resolve, [n(900)]);
}
