//! Role settings in Entra's tabs (issue 15, item 6): each tab saves only its own rules, stages
//! and approver boxes come and go without JavaScript, approvers show by name and user name and
//! a box that names nobody (or several) says which row, durations are a number and a unit, the
//! confirmation says what changed, and the role's page names its approvers.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::admin_pim::{form_fields, group_id, rule, rules, submit_form, user_id};
use super::browser::{Browser, Page};
use crate::harness::{BOOTSTRAP, TestApp};

const DEMO_PASSWORD: &str = eligo::service::demo::DEMO_PASSWORD;
const HELPDESK: &str = "729827e3-9c14-49f7-bb1b-9608f156bbb8";
const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";

fn action() -> String {
    format!("/portal/admin/roles/{HELPDESK}/settings")
}

fn policy() -> String {
    format!("DirectoryRole_{HELPDESK}")
}

/// The ids of the rules that differ between two readings of a policy.
fn changed(before: &Value, after: &Value) -> Vec<String> {
    before
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r != &rule(after, r["id"].as_str().unwrap()))
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

async fn ada(t: &TestApp) -> Browser<'_> {
    Browser::signed_in_with_mfa(t, "ada@contoso.example", DEMO_PASSWORD)
        .await
        .0
}

async fn post(b: &mut Browser<'_>, fields: &BTreeMap<String, String>) -> Page {
    submit_form(b, &action(), fields).await
}

fn set(fields: &mut BTreeMap<String, String>, pairs: &[(&str, &str)]) {
    for (k, v) in pairs {
        fields.insert(k.to_string(), v.to_string());
    }
}

#[tokio::test]
async fn each_tab_saves_only_its_own_rules() {
    let t = TestApp::demo().await;
    let mut b = ada(&t).await;
    let action = action();
    let before = rules(&t, &policy()).await;

    // Activation, with fields of the other tabs slipped in: they are not this tab's to save.
    let form = b.get(&format!("{action}?tab=activation")).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let mut f = form_fields(&form, &action);
    assert!(!f.contains_key("elig_max") && !f.contains_key("n0_level"));
    set(
        &mut f,
        &[
            ("act_ticket", "on"),
            ("elig_max", "1"),
            ("elig_max_unit", "days"),
            ("n0_level", "None"),
        ],
    );
    let saved = post(&mut b, &f).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(
        saved.location(),
        Some(format!("{action}?tab=activation").as_str())
    );
    let shown = b.follow(&saved).await;
    assert!(
        shown.has("Saved. Activation requires ticket information: No → Yes."),
        "{}",
        shown.body
    );
    let after = rules(&t, &policy()).await;
    assert_eq!(changed(&before, &after), ["Enablement_EndUser_Assignment"]);

    // Assignment: its own form, its own Save, its own rules only.
    let form = b.get(&format!("{action}?tab=assignment")).await;
    assert!(form.has("aria-current=\"page\">Assignment</a>"));
    assert!(form.has("Save assignment settings"));
    let mut f = form_fields(&form, &action);
    assert_eq!(
        (f["elig_max"].as_str(), f["elig_max_unit"].as_str()),
        ("365", "days")
    );
    assert_eq!(
        (f["asg_max"].as_str(), f["asg_max_unit"].as_str()),
        ("180", "days")
    );
    set(
        &mut f,
        &[
            ("asg_max", "90"),
            ("act_max", "1"),
            ("act_max_unit", "minutes"),
        ],
    );
    let saved = post(&mut b, &f).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(
        saved.location(),
        Some(format!("{action}?tab=assignment").as_str())
    );
    let shown = b.follow(&saved).await;
    assert!(
        shown.has("Saved. Active assignment maximum duration: 180 days → 90 days."),
        "{}",
        shown.body
    );
    let before = after;
    let after = rules(&t, &policy()).await;
    assert_eq!(changed(&before, &after), ["Expiration_Admin_Assignment"]);

    // Notification.
    let form = b.get(&format!("{action}?tab=notification")).await;
    let mut f = form_fields(&form, &action);
    assert_eq!(f["n0_level"], "All");
    f.remove("n0_default");
    let saved = post(&mut b, &f).await;
    let shown = b.follow(&saved).await;
    assert!(
        shown.has(
            "Saved. Notify admins when a member is assigned as eligible: default recipients: Yes → No."
        ),
        "{}",
        shown.body
    );
    let before = after;
    let after = rules(&t, &policy()).await;
    assert_eq!(
        changed(&before, &after),
        ["Notification_Admin_Admin_Eligibility"]
    );

    // The same tab again: nothing changes, and the page says so.
    let again = post(&mut b, &f).await;
    let shown = b.follow(&again).await;
    assert!(shown.has("Nothing changed."), "{}", shown.body);
    assert_eq!(rules(&t, &policy()).await, after);
}

#[tokio::test]
async fn stages_and_approvers_come_and_go_without_javascript() {
    let t = TestApp::demo().await;
    let dave = user_id(&t, "dave@contoso.example").await;
    let mut b = ada(&t).await;
    let action = action();
    let before = rules(&t, &policy()).await;

    // Only the stages in use are shown.
    let form = b.get(&action).await;
    assert!(form.has("Approval stage 1"));
    assert!(!form.has("Approval stage 2"));
    assert!(form.has("Add a stage"));
    assert!(!form.has("Remove last stage"));
    assert!(form.has("data-picker=\"principals\""));

    // "Add another approver": one more box, what was typed kept, nothing saved.
    let mut f = form_fields(&form, &action);
    set(
        &mut f,
        &[
            ("act_max", "3"),
            ("s1_primary_0", "dave@contoso.example"),
            ("op", "more:s1_primary"),
        ],
    );
    let more = post(&mut b, &f).await;
    assert_eq!(more.status, StatusCode::OK, "{}", more.body);
    assert!(more.has("<label for=\"s1_primary_1\">Approver 2</label>"));
    assert!(more.has("id=\"s1_primary_1\" name=\"s1_primary_1\" value=\"\" data-picker=\"principals\" autocomplete=\"off\" autofocus"));
    assert_eq!(more.input_value("act_max").as_deref(), Some("3"));
    assert_eq!(
        more.input_value("s1_primary_0").as_deref(),
        Some("dave@contoso.example")
    );

    // "Add a stage", twice: three stages, the most there are.
    let mut f = form_fields(&more, &action);
    f.insert("op".into(), "add_stage".into());
    let two = post(&mut b, &f).await;
    assert_eq!(two.status, StatusCode::OK, "{}", two.body);
    assert!(two.has("Approval stage 2"));
    assert!(two.has("Remove last stage"));
    let mut f = form_fields(&two, &action);
    assert_eq!((f["s2_min"].as_str(), f["s2_timeout"].as_str()), ("1", "1"));
    assert_eq!(f["act_max"], "3");
    f.insert("op".into(), "add_stage".into());
    let three = post(&mut b, &f).await;
    assert!(three.has("Approval stage 3"));
    assert!(!three.has("Add a stage"));
    // A fourth, asked for anyway, is not there.
    let mut f = form_fields(&three, &action);
    f.insert("op".into(), "add_stage".into());
    let still = post(&mut b, &f).await;
    assert!(still.has("Approval stage 3") && !still.has("Approval stage 4"));
    // "Remove last stage".
    let mut f = form_fields(&still, &action);
    f.insert("op".into(), "remove_stage".into());
    let back = post(&mut b, &f).await;
    assert!(back.has("Approval stage 2") && !back.has("Approval stage 3"));
    assert_eq!(rules(&t, &policy()).await, before, "nothing was saved");

    // Save: approval with two stages, a user and a group, then the requestor's manager.
    let mut f = form_fields(&back, &action);
    f.remove("op");
    set(
        &mut f,
        &[
            ("appr_required", "on"),
            ("s1_primary_1", "Tier 0 Operators"),
            ("s2_primary_0", "Requestor's manager"),
        ],
    );
    let saved = post(&mut b, &f).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let shown = b.follow(&saved).await;
    for said in [
        "Saved. Activation maximum duration: 8 hours → 3 hours.",
        "Activation requires approval: No → Yes.",
        "Approval stages: 1 → 2.",
        "Approvers (stage 1): none → Dave Auditor (dave@contoso.example), Tier 0 Operators (group).",
        "Approvers (stage 2): none → Requestor&#39;s manager.",
    ] {
        assert!(shown.has(said), "{said}: {}", shown.body);
    }
    let now = rules(&t, &policy()).await;
    let setting = &rule(&now, "Approval_EndUser_Assignment")["setting"];
    assert_eq!(setting["approvalMode"], "Serial");
    let stages = setting["approvalStages"].as_array().unwrap();
    assert_eq!(stages.len(), 2);
    assert_eq!(stages[0]["primaryApprovers"][0]["userId"], dave.as_str());
    assert_eq!(
        stages[0]["primaryApprovers"][1]["@odata.type"],
        "#microsoft.graph.groupMembers"
    );
    assert_eq!(
        stages[1]["primaryApprovers"][0]["@odata.type"],
        "#microsoft.graph.requestorManager"
    );

    // Shown by name and user name, never by id; saved again as shown, nothing changes.
    let page = b.get(&action).await;
    assert_eq!(
        page.input_value("s1_primary_0").as_deref(),
        Some("Dave Auditor (dave@contoso.example)")
    );
    assert_eq!(
        page.input_value("s1_primary_1").as_deref(),
        Some("Tier 0 Operators (group)")
    );
    assert_eq!(
        page.input_value("s2_primary_0").as_deref(),
        Some("Requestor's manager")
    );
    assert!(!page.has(&dave));
    let again = post(&mut b, &form_fields(&page, &action)).await;
    let shown = b.follow(&again).await;
    assert!(shown.has("Nothing changed."), "{}", shown.body);
    assert_eq!(rules(&t, &policy()).await, now);
}

#[tokio::test]
async fn an_approver_that_names_nobody_or_several_is_refused_by_row() {
    let t = TestApp::demo().await;
    for _ in 0..2 {
        let (status, body) = t
            .post(
                "/v1/groups",
                BOOTSTRAP,
                json!({ "displayName": "Night Shift", "securityEnabled": true, "isAssignableToRole": false }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let mut b = ada(&t).await;
    let action = action();
    let before = rules(&t, &policy()).await;
    let form = b.get(&action).await;
    let mut f = form_fields(&form, &action);
    set(
        &mut f,
        &[
            ("appr_required", "on"),
            ("s1_primary_0", "nobody@contoso.example"),
            ("s1_primary_1", "Night Shift"),
            ("s1_primary_2", "ada@contoso.example"),
            ("s1_escalation_0", "Day Shift"),
        ],
    );
    let refused = post(&mut b, &f).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    for said in [
        "Stage 1, approver 1: No user has the user name",
        "Stage 1, approver 2: Several are called",
        "Stage 1, escalation approver 1: Nothing is called",
    ] {
        assert!(refused.has(said), "{said}: {}", refused.body);
    }
    for row in ["s1_primary_0", "s1_primary_1", "s1_escalation_0"] {
        assert!(
            refused.has(&format!("aria-describedby=\"{row}-error\"")),
            "{row}"
        );
    }
    assert!(!refused.has("aria-describedby=\"s1_primary_2-error\""));
    assert_eq!(
        refused.input_value("s1_primary_1").as_deref(),
        Some("Night Shift")
    );
    assert_eq!(rules(&t, &policy()).await, before);

    // One of two groups of a name, by its id: saved, and shown so that it resolves again.
    let (_, groups) = t.get("/v1/groups", BOOTSTRAP).await;
    let night = groups["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["displayName"] == "Night Shift")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    set(
        &mut f,
        &[
            ("s1_primary_0", "ada@contoso.example"),
            ("s1_primary_1", &night),
            ("s1_primary_2", ""),
            ("s1_escalation_0", ""),
        ],
    );
    let saved = post(&mut b, &f).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let page = b.get(&action).await;
    assert_eq!(
        page.input_value("s1_primary_1"),
        Some(format!("Night Shift ({night})"))
    );
    let again = post(&mut b, &form_fields(&page, &action)).await;
    assert!(b.follow(&again).await.has("Nothing changed."));
}

#[tokio::test]
async fn durations_are_a_number_and_a_unit() {
    let t = TestApp::demo().await;
    let mut b = ada(&t).await;
    let action = action();
    let form = b.get(&action).await;
    assert!(form.has("<select id=\"act_max_unit\" name=\"act_max_unit\" aria-label=\"Activation maximum duration: unit\">"));
    let fields = form_fields(&form, &action);
    let before = rules(&t, &policy()).await;
    for (number, unit, said) in [
        (
            "2",
            "days",
            "Enter a maximum between 5 minutes and 24 hours.",
        ),
        (
            "0",
            "hours",
            "Enter a maximum between 5 minutes and 24 hours.",
        ),
        (
            "4",
            "minutes",
            "Enter a maximum between 5 minutes and 24 hours.",
        ),
        ("1.5", "hours", "Enter a whole number of hours."),
        ("", "hours", "Enter a number of hours."),
        ("3", "weeks", "Choose minutes, hours or days."),
    ] {
        let mut f = fields.clone();
        set(&mut f, &[("act_max", number), ("act_max_unit", unit)]);
        let refused = post(&mut b, &f).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{number} {unit}");
        assert!(refused.has(said), "{number} {unit}: {}", refused.body);
        assert!(refused.has("id=\"act_max-error\""));
    }
    assert_eq!(rules(&t, &policy()).await, before);

    // 90 minutes, and an escalation after 2 hours.
    let mut f = fields.clone();
    set(
        &mut f,
        &[
            ("act_max", "90"),
            ("act_max_unit", "minutes"),
            ("s1_escalate", "on"),
            ("s1_escalate_after", "2"),
            ("s1_escalate_after_unit", "hours"),
            ("s1_escalation_0", "ada@contoso.example"),
        ],
    );
    let saved = post(&mut b, &f).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let shown = b.follow(&saved).await;
    assert!(
        shown.has("Activation maximum duration: 8 hours → 1 hour 30 minutes."),
        "{}",
        shown.body
    );
    assert!(shown.has("Escalation after minutes (stage 1): 0 → 120."));
    let now = rules(&t, &policy()).await;
    assert_eq!(
        rule(&now, "Expiration_EndUser_Assignment")["maximumDuration"],
        "PT1H30M"
    );
    let stage = &rule(&now, "Approval_EndUser_Assignment")["setting"]["approvalStages"][0];
    assert_eq!(stage["escalationTimeInMinutes"], 120);
    // Escalation without anyone to escalate to says what to do.
    let page = b.get(&action).await;
    let mut f = form_fields(&page, &action);
    f.insert("s1_escalation_0".into(), String::new());
    let refused = post(&mut b, &f).await;
    assert!(
        refused.has("Enter at least one escalation approver for stage 1, or turn escalation off.")
    );

    // Assignment: 30 days, and permanent active assignment allowed.
    let page = b.get(&format!("{action}?tab=assignment")).await;
    let mut f = form_fields(&page, &action);
    set(
        &mut f,
        &[
            ("elig_max", "30"),
            ("elig_max_unit", "days"),
            ("asg_permanent", "on"),
        ],
    );
    let saved = post(&mut b, &f).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let now = rules(&t, &policy()).await;
    assert_eq!(
        rule(&now, "Expiration_Admin_Eligibility")["maximumDuration"],
        "P30D"
    );
    assert_eq!(
        rule(&now, "Expiration_Admin_Assignment")["isExpirationRequired"],
        false
    );
}

#[tokio::test]
async fn recipients_are_addresses_or_users() {
    let t = TestApp::demo().await;
    let mut b = ada(&t).await;
    let action = action();
    let page = b.get(&format!("{action}?tab=notification")).await;
    assert!(page.has("When eligible members activate"));
    let mut f = form_fields(&page, &action);
    set(
        &mut f,
        &[
            ("n6_recipients_0", "soc@contoso.example"),
            ("n6_recipients_1", "Tier 0 Operators"),
            ("n6_recipients_2", "not an address@"),
        ],
    );
    let refused = post(&mut b, &f).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(
        refused.has("is a group; notifications go to addresses"),
        "{}",
        refused.body
    );
    assert!(refused.has("is not an email address. Enter one such as soc@contoso.example."));
    assert!(refused.has("aria-describedby=\"n6_recipients_1-error\""));
    assert!(refused.has("aria-describedby=\"n6_recipients_2-error\""));
    // A user stands for their address.
    set(
        &mut f,
        &[
            ("n6_recipients_1", "Carol Security (carol@contoso.example)"),
            ("n6_recipients_2", ""),
        ],
    );
    let saved = post(&mut b, &f).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let shown = b.follow(&saved).await;
    assert!(
        shown.has("Saved. Notify admins when an eligible member activates: additional recipients: none → soc@contoso.example, carol@contoso.example."),
        "{}",
        shown.body
    );
}

#[tokio::test]
async fn the_role_page_names_its_approvers() {
    let t = TestApp::demo().await;
    let mut b = ada(&t).await;
    let page = b.get(&format!("/portal/admin/roles/{GLOBAL_ADMIN}")).await;
    assert!(
        page.has("Activation needs approval from: Ada Administrator (ada@contoso.example)."),
        "{}",
        page.body
    );
    let page = b.get(&format!("/portal/admin/roles/{HELPDESK}")).await;
    assert!(
        page.has("Activation does not need approval."),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn group_access_settings_have_the_same_tabs() {
    let t = TestApp::demo().await;
    let group = group_id(&t, "Compliance Portal Admins").await;
    let mut b = ada(&t).await;
    let action = format!("/portal/admin/groups/{group}/settings/owner");
    let page = b.get(&format!("{action}?tab=assignment")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.has("Ownership settings: Compliance Portal Admins"));
    assert!(page.has(&format!("href=\"{action}?tab=notification\"")));
    let mut f = form_fields(&page, &action);
    f.insert("elig_max".into(), "90".into());
    let saved = submit_form(&mut b, &action, &f).await;
    assert_eq!(
        saved.location(),
        Some(format!("{action}?tab=assignment").as_str())
    );
    let shown = b.follow(&saved).await;
    assert!(
        shown.has("Saved. Eligible assignment maximum duration: 365 days → 90 days."),
        "{}",
        shown.body
    );
    let now = rules(&t, &format!("Group_{group}_owner")).await;
    assert_eq!(
        rule(&now, "Expiration_Admin_Eligibility")["maximumDuration"],
        "P90D"
    );
}

#[tokio::test]
async fn a_user_administrator_cannot_open_or_change_a_tab() {
    let t = TestApp::demo().await;
    let before = rules(&t, &policy()).await;
    let mut b = Browser::signed_in_with_mfa(&t, "uma@contoso.example", DEMO_PASSWORD)
        .await
        .0;
    let denied = b.get(&format!("{}?tab=notification", action())).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    // Not even a re-render: a form-changing button is refused like a save.
    let refused = b
        .submit(
            &action(),
            &[
                ("tab", "activation"),
                ("op", "add_stage"),
                ("stage_count", "1"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(!refused.has("Approval stage"));
    assert_eq!(rules(&t, &policy()).await, before);
    let uma = user_id(&t, "uma@contoso.example").await;
    t.assert_one_refusal(
        "Update role setting in PIM",
        "Authorization_RequestDenied",
        uma.parse().unwrap(),
    )
    .await;
}
