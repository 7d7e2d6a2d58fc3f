//! PIM administration in the portal: the roles list, one role's assignments and exposure, and
//! the role settings form (roles and group accesses), on the demo tenant.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use chrono::TimeDelta;
use serde_json::{Value, json};

use super::browser::{Browser, Page};
use crate::harness::{BOOTSTRAP, TestApp};

const DEMO_PASSWORD: &str = eligo::service::demo::DEMO_PASSWORD;
const HELPDESK: &str = "729827e3-9c14-49f7-bb1b-9608f156bbb8";
const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";

fn unescape(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&#47;", "/")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let needle = format!(" {name}=\"");
    let at = tag.find(&needle)? + needle.len();
    let end = tag[at..].find('"')?;
    Some(unescape(&tag[at..at + end]))
}

/// Every field the form posting to `action` would send as it stands (checked boxes, selected
/// options, textareas), without the anti-forgery token (`submit` adds it).
pub(super) fn form_fields(page: &Page, action: &str) -> BTreeMap<String, String> {
    let start = page
        .body
        .find(&format!("action=\"{action}\""))
        .expect("the form");
    let end = start + page.body[start..].find("</form>").unwrap();
    let form = &page.body[start..end];
    let mut out = BTreeMap::new();
    let mut rest = form;
    while let Some(at) = rest.find('<') {
        rest = &rest[at..];
        let close = rest.find('>').unwrap();
        let tag = &rest[..close];
        if tag.starts_with("<input") {
            let name = attr(tag, "name").unwrap();
            let kind = attr(tag, "type").unwrap_or_default();
            if name != "csrf" && (kind != "checkbox" || tag.contains(" checked")) {
                out.insert(name, attr(tag, "value").unwrap_or_default());
            }
        } else if tag.starts_with("<textarea") {
            let name = attr(tag, "name").unwrap();
            let body_end = rest.find("</textarea>").unwrap();
            out.insert(name, unescape(&rest[close + 1..body_end]));
        } else if tag.starts_with("<select") {
            let name = attr(tag, "name").unwrap();
            let body_end = rest.find("</select>").unwrap();
            let options = &rest[close + 1..body_end];
            let selected = options
                .split("<option")
                .find(|o| o.contains(" selected"))
                .and_then(|o| attr(o, "value"))
                .unwrap_or_default();
            out.insert(name, selected);
        }
        rest = &rest[1..];
    }
    out
}

pub(super) async fn submit_form(
    b: &mut Browser<'_>,
    action: &str,
    fields: &BTreeMap<String, String>,
) -> Page {
    let list: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    b.submit(action, &list).await
}

pub(super) async fn rules(t: &TestApp, policy: &str) -> Value {
    let (status, body) = t
        .get(
            &format!("/v1/policies/roleManagementPolicies/{policy}?$expand=rules"),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["rules"].clone()
}

pub(super) fn rule<'a>(rules: &'a Value, id: &str) -> &'a Value {
    rules
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap()
}

pub(super) async fn user_id(t: &TestApp, upn: &str) -> String {
    let (_, body) = t
        .get(
            &format!("/v1/users?$filter=userPrincipalName eq '{upn}'"),
            BOOTSTRAP,
        )
        .await;
    body["value"][0]["id"].as_str().unwrap().to_string()
}

pub(super) async fn group_id(t: &TestApp, name: &str) -> String {
    let (_, body) = t.get("/v1/groups", BOOTSTRAP).await;
    body["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["displayName"] == name)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn setting_audits(t: &TestApp, by: &str) -> Vec<Value> {
    let (status, body) = t
        .get(
            &format!(
                "/v1/auditLogs/directoryAudits?$filter=activityDisplayName eq 'Update role setting in PIM' and initiatedBy/user/id eq '{by}'"
            ),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["value"].as_array().unwrap().clone()
}

#[tokio::test]
async fn ada_shortens_helpdesk_activation_and_requires_justification() {
    let t = TestApp::demo().await;
    let ada = user_id(&t, "ada@contoso.example").await;
    let mut b = Browser::signed_in_with_mfa(&t, "ada@contoso.example", DEMO_PASSWORD)
        .await
        .0;

    let list = b.get("/portal/admin/roles").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(list.has("Helpdesk Administrator"));
    assert!(list.has(&format!("/portal/admin/roles/{HELPDESK}/settings")));

    let action = format!("/portal/admin/roles/{HELPDESK}/settings");
    let form = b.get(&action).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.has("Role settings: Helpdesk Administrator"));
    // Entra's three tabs, as links; the first is open.
    for tab in ["activation", "assignment", "notification"] {
        assert!(form.has(&format!("href=\"{action}?tab={tab}\"")), "{tab}");
    }
    assert!(form.has("aria-current=\"page\">Activation</a>"));
    let mut fields = form_fields(&form, &action);
    assert_eq!(
        (fields["act_max"].as_str(), fields["act_max_unit"].as_str()),
        ("8", "hours")
    );
    assert!(fields.contains_key("act_mfa"));
    assert!(!fields.contains_key("act_justification"));
    fields.insert("act_max".into(), "4".into());
    fields.insert("act_justification".into(), "on".into());

    let saved = submit_form(&mut b, &action, &fields).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(
        saved.location(),
        Some(format!("{action}?tab=activation").as_str())
    );
    let after = b.follow(&saved).await;
    assert!(
        after.has("Saved. Activation maximum duration: 8 hours → 4 hours. Activation requires justification: No → Yes."),
        "{}",
        after.body
    );
    assert_eq!(after.input_value("act_max").as_deref(), Some("4"));

    let now = rules(&t, &format!("DirectoryRole_{HELPDESK}")).await;
    assert_eq!(
        rule(&now, "Expiration_EndUser_Assignment")["maximumDuration"],
        "PT4H"
    );
    assert_eq!(
        rule(&now, "Enablement_EndUser_Assignment")["enabledRules"],
        json!(["MultiFactorAuthentication", "Justification"])
    );
    // One save, one audit entry, attributed to ada, naming each changed setting with its old
    // and new value; nothing for the untouched rules.
    let audits = setting_audits(&t, &ada).await;
    assert_eq!(audits.len(), 1, "{audits:#?}");
    let changed: Vec<&str> = audits[0]["targetResources"][0]["modifiedProperties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["displayName"].as_str().unwrap())
        .collect();
    assert!(
        changed.contains(&"Activation maximum duration"),
        "{changed:?}"
    );
    assert!(
        changed.iter().all(|c| c.starts_with("Activation")),
        "{changed:?}"
    );
    assert!(
        audits
            .iter()
            .all(|a| a["initiatedBy"]["user"]["displayName"] == "Ada Administrator")
    );

    // The same form again: nothing changes twice, and the page says so.
    let again = submit_form(&mut b, &action, &fields).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
    let shown = b.follow(&again).await;
    assert!(shown.has("Nothing changed."), "{}", shown.body);
    assert_eq!(setting_audits(&t, &ada).await.len(), 1);
    assert_eq!(rules(&t, &format!("DirectoryRole_{HELPDESK}")).await, now);
}

#[tokio::test]
async fn approval_stages_name_approvers_and_bad_input_changes_nothing() {
    let t = TestApp::demo().await;
    let dave = user_id(&t, "dave@contoso.example").await;
    let mut b = Browser::signed_in_with_mfa(&t, "ada@contoso.example", DEMO_PASSWORD)
        .await
        .0;
    let policy = format!("DirectoryRole_{HELPDESK}");
    let action = format!("/portal/admin/roles/{HELPDESK}/settings");

    let form = b.get(&action).await;
    let mut fields = form_fields(&form, &action);
    fields.insert("appr_required".into(), "on".into());
    fields.insert("s1_primary_0".into(), "dave@contoso.example".into());
    fields.insert("s1_min".into(), "1".into());
    let saved = submit_form(&mut b, &action, &fields).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let shown = b.follow(&saved).await;
    assert!(
        shown.has("Dave Auditor (dave@contoso.example)"),
        "{}",
        shown.body
    );
    let before = rules(&t, &policy).await;
    let approval = &rule(&before, "Approval_EndUser_Assignment")["setting"];
    assert_eq!(approval["isApprovalRequired"], true);
    assert_eq!(
        approval["approvalStages"][0]["primaryApprovers"][0]["userId"],
        dave.as_str()
    );

    // An unknown approver: a field error, everything typed kept, nothing saved.
    let form = b.get(&action).await;
    let mut fields = form_fields(&form, &action);
    fields.insert("act_max".into(), "2".into());
    fields.insert("s1_primary_1".into(), "nobody@contoso.example".into());
    let refused = submit_form(&mut b, &action, &fields).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.has("Stage 1, approver 2: No user has the user name"),
        "{}",
        refused.body
    );
    assert!(refused.has("class=\"form-errors\" role=\"alert\""));
    assert!(refused.has("aria-describedby=\"s1_primary_1-error\""));
    assert_eq!(refused.input_value("act_max").as_deref(), Some("2"));
    assert_eq!(rules(&t, &policy).await, before);

    // A duration beyond the limits: a field error that says what to enter, typed value kept.
    let mut fields = form_fields(&form, &action);
    fields.insert("act_max".into(), "5000".into());
    fields.insert("act_max_unit".into(), "days".into());
    let refused = submit_form(&mut b, &action, &fields).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.has("Enter a maximum between 5 minutes and 24 hours."),
        "{}",
        refused.body
    );
    assert!(refused.has("id=\"act_max-error\""));
    assert_eq!(refused.input_value("act_max").as_deref(), Some("5000"));
    // Not a number at all.
    fields.insert("act_max".into(), "a while".into());
    let refused = submit_form(&mut b, &action, &fields).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.has("Enter a whole number of days."));
    assert_eq!(rules(&t, &policy).await, before);

    // Two approvals needed by one stage (the two-person rule), and a second stage of a group,
    // added with "Add a stage" (no JavaScript: the form comes back with one stage more).
    let mut fields = form_fields(&form, &action);
    fields.insert("s1_min".into(), "2".into());
    fields.insert("op".into(), "add_stage".into());
    let two = submit_form(&mut b, &action, &fields).await;
    assert_eq!(two.status, StatusCode::OK, "{}", two.body);
    let mut fields = form_fields(&two, &action);
    assert_eq!(fields["s1_min"], "2");
    fields.insert("s2_primary_0".into(), "Tier 0 Operators".into());
    let saved = submit_form(&mut b, &action, &fields).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let now = rules(&t, &policy).await;
    let approval = &rule(&now, "Approval_EndUser_Assignment")["setting"];
    assert_eq!(approval["approvalStages"][0]["minimumApprovals"], 2);
    assert_eq!(
        approval["approvalStages"][1]["primaryApprovers"][0]["@odata.type"],
        "#microsoft.graph.groupMembers"
    );

    // A change made elsewhere after the form was opened is not overwritten by a stale form.
    t.clock.advance(TimeDelta::seconds(5));
    t.set_rule(
        HELPDESK,
        "Expiration_EndUser_Assignment",
        json!({"isExpirationRequired": true, "maximumDuration": "PT3H"}),
    )
    .await;
    let mut stale = form_fields(&form, &action);
    stale.insert("act_justification".into(), "on".into());
    let refused = submit_form(&mut b, &action, &stale).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert!(refused.has("Someone changed these settings"));
    assert_eq!(
        rule(&rules(&t, &policy).await, "Expiration_EndUser_Assignment")["maximumDuration"],
        "PT3H"
    );
}

#[tokio::test]
async fn group_membership_settings_save() {
    let t = TestApp::demo().await;
    let group = group_id(&t, "Compliance Portal Admins").await;
    let mut b = Browser::signed_in_with_mfa(&t, "ada@contoso.example", DEMO_PASSWORD)
        .await
        .0;
    let action = format!("/portal/admin/groups/{group}/settings/member");
    let form = b.get(&action).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.has("Membership settings: Compliance Portal Admins"));
    let mut fields = form_fields(&form, &action);
    fields.insert("act_max".into(), "2".into());
    let saved = submit_form(&mut b, &action, &fields).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let shown = b.follow(&saved).await;
    assert!(shown.has("Saved. Activation maximum duration: 8 hours → 2 hours."));
    // Notifications are a tab of their own.
    let form = b.get(&format!("{action}?tab=notification")).await;
    let mut fields = form_fields(&form, &action);
    fields.insert("n6_level".into(), "Critical".into());
    fields.insert("n6_recipients_0".into(), "soc@contoso.example".into());
    let saved = submit_form(&mut b, &action, &fields).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let shown = b.follow(&saved).await;
    assert!(
        shown.has("Saved. Notify admins when an eligible member activates: level: All → Critical."),
        "{}",
        shown.body
    );
    let now = rules(&t, &format!("Group_{group}_member")).await;
    assert_eq!(
        rule(&now, "Expiration_EndUser_Assignment")["maximumDuration"],
        "PT2H"
    );
    let n = rule(&now, "Notification_Admin_EndUser_Assignment");
    assert_eq!(n["notificationLevel"], "Critical");
    assert_eq!(n["notificationRecipients"], json!(["soc@contoso.example"]));
    // The other access of a group, and an access that does not exist.
    let owner = b
        .get(&format!("/portal/admin/groups/{group}/settings/owner"))
        .await;
    assert_eq!(owner.status, StatusCode::OK);
    assert!(owner.has("Ownership settings"));
    let none = b
        .get(&format!("/portal/admin/groups/{group}/settings/admin"))
        .await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);
}

async fn eligibilities(t: &TestApp, principal: &str) -> usize {
    let (status, body) = t
        .get(
            &format!(
                "/v1/roleManagement/directory/roleEligibilityScheduleInstances?$filter=principalId eq '{principal}' and roleDefinitionId eq '{HELPDESK}'"
            ),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["value"].as_array().unwrap().len()
}

#[tokio::test]
async fn ada_makes_erin_eligible_and_removes_it() {
    let t = TestApp::demo().await;
    let erin = user_id(&t, "erin@contoso.example").await;
    let mut b = Browser::signed_in_with_mfa(&t, "ada@contoso.example", DEMO_PASSWORD)
        .await
        .0;
    let role_page = format!("/portal/admin/roles/{HELPDESK}");
    let page = b.get(&role_page).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.has("Alice Helpdesk-Lead"));
    assert!(page.has("Add assignment"));

    let add = format!("{role_page}/assignments");
    // Nobody by that name: a field error, the typed values kept, nothing assigned.
    let refused = b
        .submit(
            &add,
            &[
                ("principal", "nobody@contoso.example"),
                ("kind", "eligible"),
                ("end_type", "duration"),
                ("duration", "30 days"),
                ("justification", "onboarding"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.has("No user has the user name"), "{}", refused.body);
    assert!(refused.has("id=\"principal-error\""));
    assert_eq!(refused.input_value("duration").as_deref(), Some("30 days"));
    // No group or service principal of that name either.
    let refused = b
        .submit(
            &add,
            &[
                ("principal", "Night Shift"),
                ("kind", "eligible"),
                ("end_type", "duration"),
                ("duration", "30 days"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.has("Nothing is called “Night Shift”"));

    // Permanent eligibility, which Helpdesk Administrator's policy forbids.
    let refused = b
        .submit(
            &add,
            &[
                ("principal", "erin@contoso.example"),
                ("kind", "eligible"),
                ("end_type", "permanent"),
                ("justification", "onboarding"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.has("does not allow permanent access"),
        "{}",
        refused.body
    );
    assert!(refused.has("id=\"end_type-error\""));
    assert_eq!(
        refused.input_value("principal").as_deref(),
        Some("erin@contoso.example")
    );
    assert_eq!(eligibilities(&t, &erin).await, 0);

    // Thirty days: granted, through the same use case as the API.
    let done = b
        .submit(
            &add,
            &[
                ("principal", "erin@contoso.example"),
                ("kind", "eligible"),
                ("scope", "/"),
                ("start", ""),
                ("end_type", "duration"),
                ("duration", "30 days"),
                ("justification", "onboarding"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let shown = b.follow(&done).await;
    assert!(
        shown.has(
            "Erin Employee is now eligible for Helpdesk Administrator until 2026-12-22 10:00 UTC"
        ),
        "{}",
        shown.body
    );
    assert!(shown.has("Erin Employee"));
    assert_eq!(eligibilities(&t, &erin).await, 1);

    let remove = format!("{role_page}/assignments/remove");
    let fields = [
        ("principal_id", erin.as_str()),
        ("kind", "eligible"),
        ("scope", "/"),
    ];
    let removed = b.submit(&remove, &fields).await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.body);
    let shown = b.follow(&removed).await;
    assert!(shown.has("Removed: Erin Employee"), "{}", shown.body);
    assert_eq!(eligibilities(&t, &erin).await, 0);
    // Twice: a clear message, nothing else happens.
    let again = b.submit(&remove, &fields).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    let shown = b.follow(&again).await;
    assert!(shown.has("already removed"), "{}", shown.body);
}

#[tokio::test]
async fn exposure_shows_every_path_to_global_administrator_and_weak_policies_stand_out() {
    let t = TestApp::demo().await;
    let mut b = Browser::signed_in_with_mfa(&t, "ada@contoso.example", DEMO_PASSWORD)
        .await
        .0;
    let page = b.get(&format!("/portal/admin/roles/{GLOBAL_ADMIN}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.has("Exposure: who can hold Global Administrator"));
    assert!(page.has("Ada Administrator"));
    assert!(page.has("Holds it (assigned)"));
    assert!(page.has("Carol Security"));
    assert!(page.has("Can activate it"));
    assert!(page.has("Directly"));

    // Privileged Role Administrator comes to Carol through Tier 0 Operators.
    let pra = "e8611ab8-c189-46e8-94e1-60213ab1f814";
    let page = b.get(&format!("/portal/admin/roles/{pra}")).await;
    assert!(page.has("Tier 0 Operators"), "{}", page.body);
    assert!(page.has("By activating membership of group Tier 0 Operators"));

    // A role whose activation needs no MFA is marked weak on the list.
    let list = b.get("/portal/admin/roles").await;
    assert!(!list.has("No MFA on activation"));
    t.set_rule(
        HELPDESK,
        "Enablement_EndUser_Assignment",
        json!({ "enabledRules": [] }),
    )
    .await;
    let list = b.get("/portal/admin/roles").await;
    assert!(list.has("Weak: No MFA on activation"), "{}", list.body);

    let missing = b
        .get("/portal/admin/roles/00000000-0000-0000-0000-000000000001")
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_user_administrator_may_not_read_or_change_role_settings() {
    let t = TestApp::demo().await;
    let policy = format!("DirectoryRole_{HELPDESK}");
    let before = rules(&t, &policy).await;
    let mut b = Browser::signed_in_with_mfa(&t, "uma@contoso.example", DEMO_PASSWORD)
        .await
        .0;
    // uma reads role definitions, nothing more.
    let list = b.get("/portal/admin/roles").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(list.has("Helpdesk Administrator"));
    assert!(!list.has("/settings"));

    let action = format!("/portal/admin/roles/{HELPDESK}/settings");
    let denied = b.get(&action).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert!(denied.has("You do not have access"));
    let denied = b.get(&format!("/portal/admin/roles/{HELPDESK}")).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);

    let refused = b
        .submit(
            &action,
            &[("act_max", "PT1H"), ("act_mfa", "on"), ("stage_count", "1")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let refused = b
        .submit(
            &format!("/portal/admin/roles/{HELPDESK}/assignments"),
            &[
                ("principal", "uma@contoso.example"),
                ("kind", "active"),
                ("end_type", "permanent"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(rules(&t, &policy).await, before);
    let uma = user_id(&t, "uma@contoso.example").await;
    assert_eq!(eligibilities(&t, &uma).await, 0);
    // The refused settings form is on the record once, as the change it attempted.
    t.assert_one_refusal(
        "Update role setting in PIM",
        "Authorization_RequestDenied",
        uma.parse().unwrap(),
    )
    .await;
}

#[tokio::test]
async fn a_global_reader_reads_settings_without_a_save_button() {
    let t = TestApp::demo().await;
    let mut b = Browser::signed_in(&t, "dave@contoso.example", DEMO_PASSWORD).await;
    let page = b
        .get(&format!("/portal/admin/roles/{HELPDESK}/settings"))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.has("You can read these settings"));
    assert!(!page.has("Save activation settings"));
    assert!(!page.has("Add another approver"));

    // A reader who posts the forms anyway changes nothing; each refusal is on the record once,
    // as the change it attempted.
    let policy = format!("DirectoryRole_{HELPDESK}");
    let before = rules(&t, &policy).await;
    let refused = b
        .submit(
            &format!("/portal/admin/roles/{HELPDESK}/settings"),
            &[("act_max", "PT1H"), ("act_mfa", "on"), ("stage_count", "1")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let refused = b
        .submit(
            &format!("/portal/admin/roles/{HELPDESK}/assignments"),
            &[
                ("principal", "dave@contoso.example"),
                ("kind", "active"),
                ("end_type", "permanent"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(rules(&t, &policy).await, before);
    let dave = user_id(&t, "dave@contoso.example").await.parse().unwrap();
    for activity in [
        "Update role setting in PIM",
        "Add member to role in PIM requested",
    ] {
        t.assert_one_refusal(activity, "Authorization_RequestDenied", dave)
            .await;
    }
}

const SECURITY_ADMIN: &str = "194ae4cb-b126-40b2-bd5b-6091b380977d";

/// The end of `principal`'s eligibility for `role` now (None: permanent; "none": nothing).
async fn eligibility_end(t: &TestApp, principal: &str, role: &str) -> String {
    let (status, body) = t
        .get(
            &format!(
                "/v1/roleManagement/directory/roleEligibilityScheduleInstances?$filter=principalId eq '{principal}' and roleDefinitionId eq '{role}'"
            ),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    match body["value"].as_array().unwrap().as_slice() {
        [] => "none".into(),
        [one] => one["endDateTime"]
            .as_str()
            .unwrap_or("permanent")
            .to_string(),
        many => panic!("{} eligibilities", many.len()),
    }
}

fn assignment_link(mode: &str, role: &str, principal: &str, kind: &str) -> String {
    format!(
        "/portal/admin/assignments/{mode}?role={role}&scope=%2F&principal={principal}&kind={kind}"
    )
}

fn change_fields<'a>(
    role: &'a str,
    principal: &'a str,
    kind: &'a str,
    more: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut out = vec![
        ("role", role),
        ("scope", "/"),
        ("principal", principal),
        ("kind", kind),
    ];
    out.extend_from_slice(more);
    out
}

#[tokio::test]
async fn ada_edits_extends_and_renews_assignments() {
    let t = TestApp::demo().await;
    let alice = user_id(&t, "alice@contoso.example").await;
    let erin = user_id(&t, "erin@contoso.example").await;
    let mut b = Browser::signed_in_with_mfa(&t, "ada@contoso.example", DEMO_PASSWORD)
        .await
        .0;

    // Alice's Security Administrator eligibility ends within 14 days: Extend is offered, with
    // the days left; Edit on every assignment an administrator gave.
    let page = b
        .get(&format!("/portal/admin/roles/{SECURITY_ADMIN}"))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.has("Ends in 10 days"), "{}", page.body);
    let extend = assignment_link("extend", SECURITY_ADMIN, &alice, "eligible");
    let edit_helpdesk = assignment_link("edit", HELPDESK, &alice, "eligible");
    assert!(page.has(&extend.replace('&', "&#38;")), "{}", page.body);
    let helpdesk = b.get(&format!("/portal/admin/roles/{HELPDESK}")).await;
    assert!(helpdesk.has(&edit_helpdesk.replace('&', "&#38;")));
    // A year away: no Extend for Helpdesk Administrator.
    assert!(!helpdesk.has("/portal/admin/assignments/extend"));

    // Edit: the form shows the current end (UTC, for the script to show locally).
    let form = b.get(&edit_helpdesk).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.has("Edit the eligible assignment of Alice Helpdesk-Lead"));
    assert_eq!(
        form.input_value("end_date").as_deref(),
        Some("2027-11-22T10:00")
    );
    assert!(form.has("data-utc=\"2027-11-22T10:00:00Z\""));
    let edit = "/portal/admin/assignments/edit";
    // Beyond the settings' maximum: a field error, what was typed kept, nothing changed.
    let refused = b
        .submit(
            edit,
            &change_fields(
                HELPDESK,
                &alice,
                "eligible",
                &[("end_type", "duration"), ("duration", "400 days")],
            ),
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(refused.has("id=\"duration-error\""), "{}", refused.body);
    assert_eq!(refused.input_value("duration").as_deref(), Some("400 days"));
    assert_eq!(
        eligibility_end(&t, &alice, HELPDESK).await,
        "2027-11-22T10:00:00Z"
    );
    // Permanent, which the settings forbid.
    let refused = b
        .submit(
            edit,
            &change_fields(HELPDESK, &alice, "eligible", &[("end_type", "permanent")]),
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.has("id=\"end_type-error\""), "{}", refused.body);
    // A date typed in Berlin (UTC+1 in winter): read there.
    let done = b
        .submit(
            edit,
            &change_fields(
                HELPDESK,
                &alice,
                "eligible",
                &[
                    ("end_type", "date"),
                    ("end_date", "2026-12-31T19:00"),
                    ("end_date_offset", "60"),
                    ("justification", "project ends with the year"),
                ],
            ),
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let shown = b.follow(&done).await;
    assert!(
        shown.has("Alice Helpdesk-Lead&#39;s eligible assignment of Helpdesk Administrator at / is changed: it lasts until 2026-12-31 18:00 UTC."),
        "{}",
        shown.body
    );
    assert_eq!(
        eligibility_end(&t, &alice, HELPDESK).await,
        "2026-12-31T18:00:00Z"
    );

    // Extend: beyond the maximum is refused on its field; within it, granted.
    let form = b.get(&extend).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let extend_post = "/portal/admin/assignments/extend";
    let refused = b
        .submit(
            extend_post,
            &change_fields(
                SECURITY_ADMIN,
                &alice,
                "eligible",
                &[("end_type", "duration"), ("duration", "P366D")],
            ),
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(refused.has("id=\"duration-error\""));
    assert_eq!(
        eligibility_end(&t, &alice, SECURITY_ADMIN).await,
        "2026-12-02T10:00:00Z"
    );
    let done = b
        .submit(
            extend_post,
            &change_fields(
                SECURITY_ADMIN,
                &alice,
                "eligible",
                &[("end_type", "duration"), ("duration", "90 days")],
            ),
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(
        eligibility_end(&t, &alice, SECURITY_ADMIN).await,
        "2027-02-20T10:00:00Z"
    );

    // Renew: Erin's five-minute eligibility expires and shows under Expired, with Renew.
    let add = format!("/portal/admin/roles/{HELPDESK}/assignments");
    let added = b
        .submit(
            &add,
            &[
                ("principal", "erin@contoso.example"),
                ("kind", "eligible"),
                ("end_type", "duration"),
                ("duration", "5 minutes"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    t.clock.advance(TimeDelta::minutes(6));
    let page = b.get(&format!("/portal/admin/roles/{HELPDESK}")).await;
    let renew = assignment_link("renew", HELPDESK, &erin, "eligible");
    assert!(page.has("id=\"expired-heading\""), "{}", page.body);
    assert!(page.has(&renew.replace('&', "&#38;")), "{}", page.body);
    let form = b.get(&renew).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.has("Renew the eligible assignment of Erin Employee"));
    let done = b
        .submit(
            "/portal/admin/assignments/renew",
            &change_fields(
                HELPDESK,
                &erin,
                "eligible",
                &[("end_type", "duration"), ("duration", "30 days")],
            ),
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(
        eligibility_end(&t, &erin, HELPDESK).await,
        "2026-12-22T10:06:00Z"
    );
    // Given again: no longer under Expired. A removed one is not offered for renewal either.
    let page = b.get(&format!("/portal/admin/roles/{HELPDESK}")).await;
    assert!(!page.has("id=\"expired-heading\""), "{}", page.body);
    let removed = b
        .submit(
            &format!("/portal/admin/roles/{HELPDESK}/assignments/remove"),
            &[
                ("principal_id", erin.as_str()),
                ("kind", "eligible"),
                ("scope", "/"),
            ],
        )
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    let page = b.get(&format!("/portal/admin/roles/{HELPDESK}")).await;
    assert!(!page.has(&renew.replace('&', "&#38;")), "{}", page.body);
    // Nothing to edit any more: a clear page, not a 500.
    let gone = b
        .get(&assignment_link("edit", HELPDESK, &erin, "eligible"))
        .await;
    assert_eq!(gone.status, StatusCode::BAD_REQUEST, "{}", gone.body);
    assert!(gone.has("has no eligible assignment"), "{}", gone.body);
}

#[tokio::test]
async fn a_reader_is_refused_edit_extend_renew_and_decline_and_nothing_changes() {
    let t = TestApp::demo().await;
    let alice = user_id(&t, "alice@contoso.example").await;
    let dave = user_id(&t, "dave@contoso.example").await;
    // Erin had a day of Helpdesk Administrator, which ended: something to renew.
    let erin = user_id(&t, "erin@contoso.example").await;
    let (status, body) = t
        .post(
            crate::harness::ELIGIBILITY_URL,
            BOOTSTRAP,
            json!({
                "action": "adminAssign", "principalId": erin, "roleDefinitionId": HELPDESK,
                "directoryScopeId": "/", "justification": "one day",
                "scheduleInfo": {"expiration": {"type": "afterDuration", "duration": "P1D"}}
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    t.clock.advance(TimeDelta::days(2));
    let mut b = Browser::signed_in_with_mfa(&t, "dave@contoso.example", DEMO_PASSWORD)
        .await
        .0;
    // Dave reads the role's page: no Edit, Extend or Renew.
    let page = b
        .get(&format!("/portal/admin/roles/{SECURITY_ADMIN}"))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(!page.has("/portal/admin/assignments/"), "{}", page.body);
    let before = eligibility_end(&t, &alice, SECURITY_ADMIN).await;
    for (mode, role, who, activity) in [
        (
            "edit",
            SECURITY_ADMIN,
            &alice,
            "Update eligible member in role in PIM requested",
        ),
        (
            "extend",
            SECURITY_ADMIN,
            &alice,
            "Extend eligible member in role in PIM requested",
        ),
        (
            "renew",
            HELPDESK,
            &erin,
            "Renew eligible member in role in PIM requested",
        ),
    ] {
        let refused = b
            .submit(
                &format!("/portal/admin/assignments/{mode}"),
                &change_fields(
                    role,
                    who,
                    "eligible",
                    &[("end_type", "duration"), ("duration", "30 days")],
                ),
            )
            .await;
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "{mode}: {}",
            refused.body
        );
        t.assert_one_refusal(
            activity,
            "Authorization_RequestDenied",
            dave.parse().unwrap(),
        )
        .await;
    }
    assert_eq!(eligibility_end(&t, &erin, HELPDESK).await, "none");
    // An extension request Dave may read but not decide.
    let (status, token) = t
        .call(
            axum::http::Method::POST,
            "/v1/auth/token",
            None,
            Some(json!({ "username": "alice@contoso.example", "password": DEMO_PASSWORD })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{token}");
    let alice_token = token["access_token"].as_str().unwrap().to_string();
    let (status, asked) = t
        .post(
            crate::harness::ELIGIBILITY_URL,
            &alice_token,
            json!({
                "action": "selfExtend", "principalId": alice, "roleDefinitionId": SECURITY_ADMIN,
                "directoryScopeId": "/", "justification": "the audit runs into January",
                "scheduleInfo": {"expiration": {"type": "afterDuration", "duration": "P90D"}}
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{asked}");
    assert_eq!(asked["status"], "PendingAdminDecision");
    let id = asked["id"].as_str().unwrap();
    let page = b
        .get(&format!("/portal/admin/roles/{SECURITY_ADMIN}"))
        .await;
    assert!(!page.has("/portal/admin/assignments/decline"));
    let refused = b
        .submit("/portal/admin/assignments/decline", &[("id", id)])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    t.assert_one_refusal(
        "Decline extension request (PIM)",
        "Authorization_RequestDenied",
        dave.parse().unwrap(),
    )
    .await;
    let (_, still) = t
        .get(
            &format!("/v1/roleManagement/directory/roleEligibilityScheduleRequests/{id}"),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(still["status"], "PendingAdminDecision", "{still}");
    assert_eq!(eligibility_end(&t, &alice, SECURITY_ADMIN).await, before);
    // Without the page's anti-forgery token nothing is even read.
    let forged = b
        .post_raw(
            "/portal/admin/assignments/extend",
            &change_fields(
                SECURITY_ADMIN,
                &alice,
                "eligible",
                &[("duration", "90 days")],
            ),
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}
