//! Entitlement management administration in the portal: catalogs, resources, packages, role
//! scopes, a policy with every kind of setting typed into its form (checked through the API),
//! direct assignment and removal, the conflict report; and everyone else refused, changing
//! nothing.

use axum::http::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use super::browser::{Browser, Page};
use crate::harness::{BOOTSTRAP, TestApp, id_of};

const DEMO_PASSWORD: &str = eligo::service::demo::DEMO_PASSWORD;
const EM: &str = "/v1/identityGovernance/entitlementManagement";
const ADMIN: &str = "/portal/admin/entitlement";

async fn admin(t: &TestApp) -> Browser<'_> {
    Browser::signed_in_with_mfa(t, "ada@contoso.example", DEMO_PASSWORD)
        .await
        .0
}

async fn user_id(t: &TestApp, upn: &str) -> Uuid {
    let (s, b) = t
        .get(
            &format!("/v1/users?$filter=userPrincipalName eq '{upn}'"),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    id_of(&b["value"][0])
}

async fn all(t: &TestApp, path: &str) -> Vec<Value> {
    let (s, b) = t.get(&format!("{EM}{path}"), BOOTSTRAP).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b["value"].as_array().unwrap().clone()
}

/// What the test made: the list without what the demo tenant seeds (its catalog, the packages
/// in it and their policies).
async fn list(t: &TestApp, path: &str) -> Vec<Value> {
    use eligo::service::demo::{CATALOG, HELPDESK_PACKAGE, IRM_PACKAGE, OFFICER_PACKAGE};
    let seeded = [CATALOG, HELPDESK_PACKAGE, IRM_PACKAGE, OFFICER_PACKAGE];
    let mut seeded_ids = Vec::new();
    for package in all(t, "/accessPackages").await {
        if seeded.contains(&package["displayName"].as_str().unwrap_or_default()) {
            let policies = format!(
                "/accessPackages/{}/assignmentPolicies",
                package["id"].as_str().unwrap()
            );
            seeded_ids.extend(all(t, &policies).await.into_iter().map(|p| p["id"].clone()));
        }
    }
    all(t, path)
        .await
        .into_iter()
        .filter(|v| {
            !seeded.contains(&v["displayName"].as_str().unwrap_or_default())
                && !seeded_ids.contains(&v["id"])
        })
        .collect()
}

/// The id at the end of a redirect's location (`.../catalogs/{id}`).
fn created(page: &Page) -> Uuid {
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let to = page.location().unwrap();
    Uuid::parse_str(to.rsplit('/').next().unwrap()).unwrap()
}

/// The value of the `<option>` whose text starts with `label`.
fn option(page: &Page, label: &str) -> String {
    let at = page.body.find(&format!("\">{label}")).expect(label);
    let start = page.body[..at].rfind("value=\"").unwrap() + 7;
    page.body[start..at].to_string()
}

#[tokio::test]
async fn administrators_build_a_package_and_a_two_stage_policy_through_the_forms() {
    let t = TestApp::demo().await;
    let mut b = admin(&t).await;
    let home = b.get("/portal/roles").await;
    assert!(home.has("Access packages"), "{}", home.body);

    b.get(&format!("{ADMIN}/catalogs")).await;
    let catalog = created(
        &b.submit(
            &format!("{ADMIN}/catalogs"),
            &[("display_name", "Finance"), ("description", "Money")],
        )
        .await,
    );
    let group = t.group("Auditors").await;
    b.get(&format!("{ADMIN}/catalogs/{catalog}")).await;
    let added = b
        .submit(
            &format!("{ADMIN}/catalogs/{catalog}/resources"),
            &[("kind", "group"), ("who", "Auditors")],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    assert_eq!(
        list(&t, &format!("/catalogs/{catalog}/resources"))
            .await
            .len(),
        1
    );

    // A package without a name is refused under the field; nothing is created.
    b.get(&format!("{ADMIN}/packages")).await;
    let cid = catalog.to_string();
    let refused = b
        .submit(
            &format!("{ADMIN}/packages"),
            &[("catalog", &cid), ("display_name", "")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(refused.has("field-error"), "{}", refused.body);
    assert!(list(&t, "/accessPackages").await.is_empty());

    let package = created(
        &b.submit(
            &format!("{ADMIN}/packages"),
            &[("catalog", &cid), ("display_name", "Audit")],
        )
        .await,
    );
    let page = b.get(&format!("{ADMIN}/packages/{package}")).await;
    let member = option(&page, "Member of Auditors");
    let added = b
        .submit(
            &format!("{ADMIN}/packages/{package}/roles"),
            &[("role", &member)],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let scopes = list(&t, &format!("/accessPackages/{package}/resourceRoleScopes")).await;
    assert_eq!(scopes.len(), 1, "{scopes:?}");

    // The policy: two stages (the manager, then the Auditors' members), a question with a
    // pattern, 30 days.
    b.get(&format!("{ADMIN}/packages/{package}/policies")).await;
    let mut fields = vec![
        ("display_name", "Two stages"),
        ("target_scope", "allMemberUsers"),
        ("self_add", "on"),
        ("self_remove", "on"),
        ("exp_type", "afterDuration"),
        ("exp_n", "30"),
        ("exp_n_unit", "days"),
        ("appr_add", "on"),
        ("appr_justification", "on"),
        ("stages", "2"),
        ("s1_deny", "2"),
        ("s1_deny_unit", "days"),
        ("s1_primary", "manager"),
        ("s1_fallback", "ada@contoso.example"),
        ("s1_min", "1"),
        ("s1_justification", "on"),
        ("s2_deny", "3"),
        ("s2_deny_unit", "days"),
        ("s2_primary", "Auditors"),
        ("s2_min", "1"),
        ("q0_kind", "text"),
        ("q0_text", "Case number"),
        ("q0_regex", "^IRM-[0-9]+$"),
        ("q0_single", "on"),
        ("q0_required", "on"),
        ("rv_enabled", "on"),
        ("rv_start", "2030-01-01"),
        ("rv_duration", "14"),
        ("rv_duration_unit", "days"),
        ("rv_primary", "manager"),
        ("rv_behavior", "removeAccess"),
        ("rv_pattern", "absoluteMonthly"),
        ("rv_interval", "3"),
        ("on_behalf", "manager"),
        ("obo_add", "on"),
        ("notif_disabled", "on"),
    ];
    // "Add a question" answers the form again with one more slot, saving nothing.
    let more = b
        .submit(
            &format!("{ADMIN}/packages/{package}/policies"),
            &[
                ("q_count", "1"),
                ("op", "add_question"),
                ("display_name", "Two stages"),
            ],
        )
        .await;
    assert_eq!(more.status, StatusCode::OK, "{}", more.body);
    assert!(more.has("name=\"q1_text\""), "{}", more.body);
    assert!(list(&t, "/assignmentPolicies").await.is_empty());
    fields.extend([
        ("q_count", "2"),
        ("q1_kind", "choice"),
        ("q1_text", "Site"),
        ("q1_choices", "par = Paris\nlis = Lisbon"),
    ]);
    let saved = b
        .submit(&format!("{ADMIN}/packages/{package}/policies"), &fields)
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let policies = list(&t, "/assignmentPolicies").await;
    assert_eq!(policies.len(), 1);
    let p = &policies[0];
    assert_eq!(p["expiration"]["duration"], "P30D", "{p}");
    let stages = p["requestApprovalSettings"]["stages"].as_array().unwrap();
    assert_eq!(stages.len(), 2, "{p}");
    assert_eq!(stages[0]["durationBeforeAutomaticDenial"], "P2D");
    assert_eq!(stages[0]["primaryApprovers"][0]["managerLevel"], 1, "{p}");
    assert_eq!(
        stages[0]["fallbackPrimaryApprovers"][0]["userId"],
        json!(user_id(&t, "ada@contoso.example").await)
    );
    assert_eq!(stages[1]["primaryApprovers"][0]["groupId"], json!(group));
    assert_eq!(p["questions"][0]["regexPattern"], "^IRM-[0-9]+$", "{p}");
    assert_eq!(p["questions"][0]["isRequired"], true);
    assert_eq!(p["questions"][1]["choices"][1]["actualValue"], "lis", "{p}");
    assert_eq!(p["questions"][1]["choices"][1]["text"], "Lisbon", "{p}");
    assert_eq!(p["reviewSettings"]["isEnabled"], true, "{p}");
    assert_eq!(
        p["reviewSettings"]["schedule"]["expiration"]["duration"], "P14D",
        "{p}"
    );
    assert_eq!(
        p["requestorSettings"]["onBehalfRequestors"][0]["managerLevel"], 1,
        "{p}"
    );
    assert_eq!(
        p["notificationSettings"]["isAssignmentNotificationDisabled"],
        true
    );
    let policy = id_of(p);

    // The stored policy fills the form again.
    let form = b.get(&format!("{ADMIN}/policies/{policy}")).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.has(">manager</textarea>"), "{}", form.body);
    assert!(form.has("Case number"), "{}", form.body);
    assert!(form.has(">ada@contoso.example</textarea>"), "{}", form.body);
    assert!(form.has(">Auditors</textarea>"), "{}", form.body);
    assert!(form.has("par = Paris"), "{}", form.body);

    // Bad input: a stage without approvers (the core's refusal) and a duration that is no
    // number (the form's own): both under their fields, nothing changed.
    let before = list(&t, "/assignmentPolicies").await;
    for (k, v) in fields.iter_mut() {
        if *k == "s2_primary" {
            *v = "";
        }
    }
    let refused = b
        .submit(&format!("{ADMIN}/policies/{policy}"), &fields)
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(
        refused.has("Stage 2, Approvers: a stage needs at least one primary approver"),
        "{}",
        refused.body
    );
    fields.push(("s2_primary", "Auditors"));
    for (k, v) in fields.iter_mut() {
        if *k == "exp_n" {
            *v = "thirty";
        }
    }
    let refused = b
        .submit(&format!("{ADMIN}/policies/{policy}"), &fields)
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(
        refused.has("Enter a whole number above zero."),
        "{}",
        refused.body
    );
    assert_eq!(list(&t, "/assignmentPolicies").await, before);

    // adminAdd with the picker, then adminRemove.
    let erin = user_id(&t, "erin@contoso.example").await;
    let open = t
        .policy(
            BOOTSTRAP,
            package,
            json!({ "displayName": "Direct", "allowedTargetScope": "notSpecified" }),
        )
        .await;
    let open = id_of(&open).to_string();
    b.get(&format!("{ADMIN}/packages/{package}/assignments"))
        .await;
    let assigned = b
        .submit(
            &format!("{ADMIN}/packages/{package}/assignments"),
            &[("who", "erin@contoso.example"), ("policy", &open)],
        )
        .await;
    assert_eq!(assigned.status, StatusCode::SEE_OTHER, "{}", assigned.body);
    let live: Vec<Value> = list(&t, "/assignments")
        .await
        .into_iter()
        .filter(|a| a["target"]["id"] == json!(erin))
        .collect();
    assert_eq!(live.len(), 1, "{live:?}");
    assert_eq!(live[0]["state"], "delivered", "{live:?}");
    let assignment = id_of(&live[0]).to_string();
    let page = b
        .get(&format!("{ADMIN}/packages/{package}/assignments"))
        .await;
    assert!(page.has("Erin Employee"), "{}", page.body);
    assert!(page.has("Request made (adminAdd)"), "{}", page.body);
    let removed = b
        .submit(
            &format!("{ADMIN}/packages/{package}/assignments/remove"),
            &[("assignment", &assignment)],
        )
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.body);
    let (_, a) = t
        .get(&format!("{EM}/assignments/{assignment}"), BOOTSTRAP)
        .await;
    assert_eq!(a["state"], "expired", "{a}");
    let page = b
        .get(&format!("{ADMIN}/packages/{package}/assignments"))
        .await;
    assert!(page.has("Request made (adminRemove)"), "{}", page.body);

    // A post without the anti-forgery token changes nothing.
    let forged = b
        .post_raw(&format!("{ADMIN}/catalogs"), &[("display_name", "Forged")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
    assert_eq!(list(&t, "/catalogs").await.len(), 1);
}

#[tokio::test]
async fn the_conflict_report_lists_a_conflict_granted_before_its_rule() {
    let t = TestApp::demo().await;
    let erin = user_id(&t, "erin@contoso.example").await;
    let catalog = t.catalog(BOOTSTRAP, "Duties").await;
    let pay = t.group("Payments").await;
    let approve = t.group("Approvals").await;
    let a = t.group_package(catalog, "Pay", pay, json!({})).await;
    let b2 = t
        .group_package(catalog, "Approve", approve, json!({}))
        .await;
    for p in [&a, &b2] {
        let (s, r) = t.ask(BOOTSTRAP, "adminAdd", p, Some(erin), json!({})).await;
        assert!(s.is_success(), "{r}");
    }
    let mut b = admin(&t).await;
    let page = b.get(&format!("{ADMIN}/packages/{}", a.package)).await;
    assert!(
        page.has("Nobody holds this package together"),
        "{}",
        page.body
    );
    let other = b2.package.to_string();
    let declared = b
        .submit(
            &format!("{ADMIN}/packages/{}/incompatible", a.package),
            &[("kind", "package"), ("other", &other)],
        )
        .await;
    assert_eq!(declared.status, StatusCode::SEE_OTHER, "{}", declared.body);
    let page = b.get(&format!("{ADMIN}/packages/{}", a.package)).await;
    assert!(page.has("Erin Employee"), "{}", page.body);
    assert!(page.has("Package Approve"), "{}", page.body);
    // A package with live assignments is not deleted: said in a sentence.
    let kept = b
        .submit(&format!("{ADMIN}/packages/{}/delete", a.package), &[])
        .await;
    assert_eq!(kept.status, StatusCode::SEE_OTHER);
    let page = b.follow(&kept).await;
    assert!(page.has("was not deleted"), "{}", page.body);
    assert_eq!(list(&t, "/accessPackages").await.len(), 2);
}

#[tokio::test]
async fn people_without_the_role_see_no_link_and_are_refused_everywhere() {
    let t = TestApp::demo().await;
    let catalog = t.catalog(BOOTSTRAP, "Secret").await;
    let package = t.package(BOOTSTRAP, catalog, "Hidden").await;
    let policy = id_of(
        &t.policy(
            BOOTSTRAP,
            package,
            json!({ "allowedTargetScope": "notSpecified" }),
        )
        .await,
    );
    let mut b = Browser::signed_in(&t, "erin@contoso.example", DEMO_PASSWORD).await;
    let home = b.get("/portal/roles").await;
    assert!(!home.has("Access packages"), "{}", home.body);
    for path in [
        format!("{ADMIN}/catalogs"),
        format!("{ADMIN}/catalogs/{catalog}"),
        format!("{ADMIN}/packages"),
        format!("{ADMIN}/packages/{package}"),
        format!("{ADMIN}/packages/{package}/policies"),
        format!("{ADMIN}/packages/{package}/assignments"),
        format!("{ADMIN}/policies/{policy}"),
    ] {
        let page = b.get(&path).await;
        assert!(
            page.status == StatusCode::FORBIDDEN || page.status == StatusCode::NOT_FOUND,
            "{path}: {}",
            page.status
        );
    }
    b.get("/portal/roles").await;
    let erin = user_id(&t, "erin@contoso.example").await.to_string();
    for (path, fields) in [
        (format!("{ADMIN}/catalogs"), vec![("display_name", "Mine")]),
        (
            format!("{ADMIN}/catalogs/{catalog}"),
            vec![("display_name", "Mine")],
        ),
        (format!("{ADMIN}/catalogs/{catalog}/delete"), vec![]),
        (
            format!("{ADMIN}/catalogs/{catalog}/resources"),
            vec![("kind", "group"), ("who", "Tier 0")],
        ),
        (
            format!("{ADMIN}/packages"),
            vec![("catalog", "x"), ("display_name", "Mine")],
        ),
        (
            format!("{ADMIN}/packages/{package}"),
            vec![("display_name", "Mine")],
        ),
        (format!("{ADMIN}/packages/{package}/delete"), vec![]),
        (
            format!("{ADMIN}/packages/{package}/roles"),
            vec![("role", "x")],
        ),
        (
            format!("{ADMIN}/packages/{package}/incompatible"),
            vec![("kind", "package"), ("other", "x")],
        ),
        (
            format!("{ADMIN}/packages/{package}/policies"),
            vec![("display_name", "Mine"), ("target_scope", "allMemberUsers")],
        ),
        (
            format!("{ADMIN}/policies/{policy}"),
            vec![("display_name", "Mine")],
        ),
        (format!("{ADMIN}/policies/{policy}/delete"), vec![]),
        (
            format!("{ADMIN}/packages/{package}/assignments"),
            vec![("who", erin.as_str()), ("policy", "x")],
        ),
    ] {
        let page = b.submit(&path, &fields).await;
        assert!(
            page.status == StatusCode::FORBIDDEN || page.status == StatusCode::NOT_FOUND,
            "{path}: {} {}",
            page.status,
            page.body
        );
    }
    assert_eq!(list(&t, "/catalogs").await.len(), 1);
    assert_eq!(
        list(&t, "/accessPackages").await[0]["displayName"],
        "Hidden"
    );
    assert_eq!(list(&t, "/assignmentPolicies").await.len(), 1);
    assert!(list(&t, "/assignments").await.is_empty());
}

#[tokio::test]
async fn readers_see_everything_and_change_nothing() {
    let t = TestApp::demo().await;
    let catalog = t.catalog(BOOTSTRAP, "Finance").await;
    let package = t.package(BOOTSTRAP, catalog, "Audit").await;
    let mut b = Browser::signed_in(&t, "dave@contoso.example", DEMO_PASSWORD).await;
    let home = b.get("/portal/roles").await;
    assert!(home.has("Access packages"), "{}", home.body);
    let list_page = b.get(&format!("{ADMIN}/packages")).await;
    assert_eq!(list_page.status, StatusCode::OK, "{}", list_page.body);
    assert!(list_page.has("Audit"), "{}", list_page.body);
    assert!(
        !list_page.has("Create access package"),
        "{}",
        list_page.body
    );
    let page = b.get(&format!("{ADMIN}/packages/{package}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(!page.has("Save access package"), "{}", page.body);
    let refused = b
        .submit(
            &format!("{ADMIN}/packages/{package}"),
            &[("display_name", "Renamed")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    // A policy the form cannot even read is refused for the right, not for the input.
    let refused = b
        .submit(
            &format!("{ADMIN}/packages/{package}/policies"),
            &[
                ("display_name", "P"),
                ("exp_type", "afterDuration"),
                ("exp_n", "x"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert_eq!(list(&t, "/accessPackages").await[0]["displayName"], "Audit");
    assert!(list(&t, "/assignmentPolicies").await.is_empty());
}

#[tokio::test]
async fn administration_without_a_fresh_second_factor_says_so_and_changes_nothing() {
    let t = TestApp::demo().await;
    let mut b = Browser::signed_in(&t, "ada@contoso.example", DEMO_PASSWORD).await;
    b.get(&format!("{ADMIN}/catalogs")).await;
    let refused = b
        .submit(&format!("{ADMIN}/catalogs"), &[("display_name", "Finance")])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(refused.has("Verify it is you"), "{}", refused.body);
    assert!(list(&t, "/catalogs").await.is_empty());
}
