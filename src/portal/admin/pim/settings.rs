//! The role settings form (`/portal/admin/roles/{id}/settings`, and for a group's member or
//! owner access `/portal/admin/groups/{id}/settings/member|owner`): every rule of the policy in
//! one form, in Entra's sections (Activation, Assignment, Notification). Saving sends every rule
//! to `service::policies::update_rules`, which validates each exactly as the API's PATCH does and
//! writes the rules that really changed, with one audit entry each, in one transaction.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use eligo_core::duration::format_duration;
use eligo_core::policy::{
    Approver, Enablement, MAX_APPROVAL_STAGES, NOTIFICATION_RULE_IDS, RolePolicy, ScopeType,
};
use eligo_core::target::is_reserved_role_id;
use eligo_store::Tx;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{Resolved, parse_typed_duration, resolve_principal};
use crate::app::{App, AppState};
use crate::error::{ApiError, ApiResult};
use crate::portal::flash::Flash;
use crate::portal::form::Posted;
use crate::portal::page::{
    Chrome, FieldErrors, PageResult, Section, redirect_with, render, render_status, worded,
};
use crate::portal::session::Viewer;
use crate::service::policies;

/// One input of the form.
struct Field {
    /// text, number, check, select, textarea
    kind: &'static str,
    name: String,
    label: String,
    value: String,
    checked: bool,
    options: Vec<(&'static str, &'static str)>,
    hint: String,
    error: Option<String>,
}

/// A fieldset of related inputs.
struct Group {
    legend: String,
    hint: String,
    fields: Vec<Field>,
}

/// A section of the form (Activation, Assignment, Notification).
struct FormSection {
    id: &'static str,
    title: &'static str,
    intro: &'static str,
    groups: Vec<Group>,
}

#[derive(Template)]
#[template(path = "portal/admin/pim/settings.html")]
struct SettingsPage {
    chrome: Chrome,
    heading: String,
    /// Where the form posts (this page).
    action: String,
    back: String,
    back_label: String,
    may_update: bool,
    loaded: String,
    last_modified: Option<super::ShownTime>,
    sections: Vec<FormSection>,
    errors: FieldErrors,
}

/// What the settings govern, with its names for the page.
struct Subject {
    scope_type: ScopeType,
    scope_id: String,
    role: String,
    heading: String,
    action: String,
    back: String,
    back_label: String,
}

type Values = HashMap<String, String>;

const ON: &str = "on";

fn flag(b: bool) -> String {
    if b { ON.into() } else { String::new() }
}

fn stage_field(n: usize, what: &str) -> String {
    format!("s{n}_{what}")
}

fn notification_label(rule_id: &str) -> (&'static str, &'static str) {
    let trigger = if rule_id.ends_with("Admin_Eligibility") {
        "When a member is made eligible"
    } else if rule_id.ends_with("Admin_Assignment") {
        "When a member is assigned as active"
    } else {
        "When an eligible member activates the role"
    };
    let recipient = match rule_id.split('_').nth(1) {
        Some("Admin") => "Alert to administrators",
        Some("Requestor") => "Notice to the assignee (requestor)",
        _ => "Request to approvers",
    };
    (trigger, recipient)
}

async fn approver_text(tx: &mut dyn Tx, a: &Approver) -> ApiResult<String> {
    Ok(match a {
        Approver::SingleUser { user_id, .. } => tx
            .get_user(*user_id)
            .await?
            .map(|u| u.user_principal_name)
            .unwrap_or_else(|| user_id.to_string()),
        Approver::GroupMembers { group_id, .. } => tx
            .get_group(*group_id)
            .await?
            .map(|g| g.display_name)
            .unwrap_or_else(|| group_id.to_string()),
        Approver::RequestorManager { .. } => "manager".into(),
    })
}

async fn approvers_text(tx: &mut dyn Tx, list: &[Approver]) -> ApiResult<String> {
    let mut out = Vec::new();
    for a in list {
        out.push(approver_text(tx, a).await?);
    }
    Ok(out.join("\n"))
}

/// The form's values for a stored policy.
async fn values_of(tx: &mut dyn Tx, policy: &RolePolicy) -> ApiResult<Values> {
    let r = &policy.rules;
    let mut v = Values::new();
    let mut put = |k: &str, val: String| {
        v.insert(k.to_string(), val);
    };
    put(
        "act_max",
        format_duration(r.expiration_end_user_assignment.maximum_duration),
    );
    for (prefix, list) in [
        ("act", &r.enablement_end_user_assignment),
        ("elig", &r.enablement_admin_eligibility),
        ("asg", &r.enablement_admin_assignment),
    ] {
        put(
            &format!("{prefix}_mfa"),
            flag(list.contains(&Enablement::MultiFactorAuthentication)),
        );
        put(
            &format!("{prefix}_justification"),
            flag(list.contains(&Enablement::Justification)),
        );
        put(
            &format!("{prefix}_ticket"),
            flag(list.contains(&Enablement::Ticketing)),
        );
    }
    let ac = &r.authentication_context_end_user_assignment;
    put("authctx_enabled", flag(ac.is_enabled));
    put("authctx_claim", ac.claim_value.clone().unwrap_or_default());
    let a = &r.approval_end_user_assignment;
    put("appr_required", flag(a.is_approval_required));
    put("appr_extension", flag(a.is_approval_required_for_extension));
    put(
        "appr_requestor_justification",
        flag(a.is_requestor_justification_required),
    );
    put("stage_count", a.approval_stages.len().max(1).to_string());
    for n in 1..=MAX_APPROVAL_STAGES {
        let (approvers, timeout, justification, min, esc, esc_min, esc_approvers) =
            match a.approval_stages.get(n - 1) {
                Some(s) => (
                    approvers_text(tx, &s.primary_approvers).await?,
                    s.approval_stage_time_out_in_days.to_string(),
                    s.is_approver_justification_required,
                    s.minimum_approvals.to_string(),
                    s.is_escalation_enabled,
                    s.escalation_time_in_minutes.to_string(),
                    approvers_text(tx, &s.escalation_approvers).await?,
                ),
                None => (
                    String::new(),
                    "1".into(),
                    true,
                    "1".into(),
                    false,
                    "0".into(),
                    String::new(),
                ),
            };
        v.insert(stage_field(n, "approvers"), approvers);
        v.insert(stage_field(n, "timeout"), timeout);
        v.insert(
            stage_field(n, "approver_justification"),
            flag(justification),
        );
        v.insert(stage_field(n, "min"), min);
        v.insert(stage_field(n, "escalation"), flag(esc));
        v.insert(stage_field(n, "escalation_minutes"), esc_min);
        v.insert(stage_field(n, "escalation_approvers"), esc_approvers);
    }
    for (prefix, rule) in [
        ("elig", &r.expiration_admin_eligibility),
        ("asg", &r.expiration_admin_assignment),
    ] {
        v.insert(
            format!("{prefix}_permanent"),
            flag(!rule.is_expiration_required),
        );
        v.insert(
            format!("{prefix}_max"),
            format_duration(rule.maximum_duration),
        );
    }
    for (i, (_, n)) in r.notifications.iter().enumerate() {
        v.insert(format!("n{i}_level"), n.notification_level.clone());
        v.insert(
            format!("n{i}_default"),
            flag(n.is_default_recipients_enabled),
        );
        v.insert(
            format!("n{i}_recipients"),
            n.notification_recipients.join(", "),
        );
    }
    Ok(v)
}

fn text(v: &Values, k: &str) -> String {
    v.get(k).cloned().unwrap_or_default()
}

fn on(v: &Values, k: &str) -> bool {
    v.get(k).is_some_and(|x| !x.is_empty())
}

fn enablement(v: &Values, prefix: &str) -> Value {
    let mut list = Vec::new();
    if on(v, &format!("{prefix}_mfa")) {
        list.push("MultiFactorAuthentication");
    }
    if on(v, &format!("{prefix}_justification")) {
        list.push("Justification");
    }
    if on(v, &format!("{prefix}_ticket")) {
        list.push("Ticketing");
    }
    json!({ "enabledRules": list })
}

fn duration_field(v: &Values, name: &str, errors: &mut FieldErrors) -> Option<String> {
    match parse_typed_duration(&text(v, name)) {
        Ok(d) => Some(format_duration(d)),
        Err(m) => {
            errors.add(name, m);
            None
        }
    }
}

fn number_field(v: &Values, name: &str, label: &str, errors: &mut FieldErrors) -> u32 {
    match text(v, name).trim().parse::<u32>() {
        Ok(n) => n,
        Err(_) => {
            errors.add(name, format!("{label} is a whole number."));
            0
        }
    }
}

async fn approvers_of(
    tx: &mut dyn Tx,
    v: &Values,
    name: &str,
    errors: &mut FieldErrors,
) -> ApiResult<Vec<Value>> {
    let mut out = Vec::new();
    let raw = text(v, name);
    for line in raw
        .split(['\n', ';'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        if line.eq_ignore_ascii_case("manager") || line.eq_ignore_ascii_case("requestor's manager")
        {
            out.push(
                json!({ "@odata.type": "#microsoft.graph.requestorManager", "managerLevel": 1 }),
            );
            continue;
        }
        match resolve_principal(tx, line, false).await? {
            Ok(Resolved::User(id)) => {
                out.push(json!({ "@odata.type": "#microsoft.graph.singleUser", "userId": id }))
            }
            Ok(Resolved::Group(id)) => {
                out.push(json!({ "@odata.type": "#microsoft.graph.groupMembers", "groupId": id }))
            }
            Ok(Resolved::ServicePrincipal(_)) => errors.add(
                name,
                format!("'{line}' is a service principal; approvers are users or groups."),
            ),
            Err(message) => errors.add(name, format!("Unknown approver: {message}")),
        }
    }
    Ok(out)
}

/// Every rule of the policy as the form sets it, or the form's field errors.
async fn rules_of(
    tx: &mut dyn Tx,
    policy: &RolePolicy,
    v: &Values,
    errors: &mut FieldErrors,
) -> ApiResult<Vec<(String, Value)>> {
    let r = &policy.rules;
    let mut out: Vec<(String, Value)> = Vec::new();
    if let Some(d) = duration_field(v, "act_max", errors) {
        out.push((
            "Expiration_EndUser_Assignment".into(),
            json!({ "isExpirationRequired": r.expiration_end_user_assignment.is_expiration_required, "maximumDuration": d }),
        ));
    }
    for (prefix, rule) in [
        ("elig", "Expiration_Admin_Eligibility"),
        ("asg", "Expiration_Admin_Assignment"),
    ] {
        if let Some(d) = duration_field(v, &format!("{prefix}_max"), errors) {
            out.push((
                rule.into(),
                json!({ "isExpirationRequired": !on(v, &format!("{prefix}_permanent")), "maximumDuration": d }),
            ));
        }
    }
    for (prefix, rule) in [
        ("act", "Enablement_EndUser_Assignment"),
        ("elig", "Enablement_Admin_Eligibility"),
        ("asg", "Enablement_Admin_Assignment"),
    ] {
        out.push((rule.into(), enablement(v, prefix)));
    }
    let claim = text(v, "authctx_claim").trim().to_string();
    if on(v, "authctx_enabled") && claim.is_empty() {
        errors.add(
            "authctx_claim",
            "Give the authentication context's claim value, or turn it off.",
        );
    }
    out.push((
        "AuthenticationContext_EndUser_Assignment".into(),
        json!({ "isEnabled": on(v, "authctx_enabled"), "claimValue": if claim.is_empty() { Value::Null } else { json!(claim) } }),
    ));
    let count = match text(v, "stage_count").trim().parse::<usize>() {
        Ok(n) if (1..=MAX_APPROVAL_STAGES).contains(&n) => n,
        _ => {
            errors.add("stage_count", "Choose 1, 2 or 3 stages.");
            1
        }
    };
    let mut stages = Vec::new();
    for n in 1..=count {
        let primary = approvers_of(tx, v, &stage_field(n, "approvers"), errors).await?;
        let escalation =
            approvers_of(tx, v, &stage_field(n, "escalation_approvers"), errors).await?;
        stages.push(json!({
            "approvalStageTimeOutInDays": number_field(v, &stage_field(n, "timeout"), "The timeout in days", errors),
            "isApproverJustificationRequired": on(v, &stage_field(n, "approver_justification")),
            "escalationTimeInMinutes": number_field(v, &stage_field(n, "escalation_minutes"), "The escalation time in minutes", errors),
            "isEscalationEnabled": on(v, &stage_field(n, "escalation")),
            "primaryApprovers": primary,
            "escalationApprovers": escalation,
            "minimumApprovals": number_field(v, &stage_field(n, "min"), "The number of approvals", errors),
        }));
    }
    let current = &r.approval_end_user_assignment;
    let mode = if count == current.approval_stages.len() {
        current.approval_mode.clone()
    } else if count == 1 {
        "SingleStage".into()
    } else {
        "Serial".into()
    };
    out.push((
        "Approval_EndUser_Assignment".into(),
        json!({ "setting": {
            "isApprovalRequired": on(v, "appr_required"),
            "isApprovalRequiredForExtension": on(v, "appr_extension"),
            "isRequestorJustificationRequired": on(v, "appr_requestor_justification"),
            "approvalMode": mode,
            "approvalStages": stages,
        }}),
    ));
    for (i, (id, n)) in r.notifications.iter().enumerate() {
        let level = text(v, &format!("n{i}_level"));
        if !["None", "Critical", "All"].contains(&level.as_str()) {
            errors.add(&format!("n{i}_level"), "Choose All, Critical only or None.");
        }
        let recipients: Vec<String> = text(v, &format!("n{i}_recipients"))
            .split([',', ';', '\n', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        out.push((
            id.clone(),
            json!({
                "notificationType": n.notification_type,
                "recipientType": n.recipient_type,
                "notificationLevel": level,
                "isDefaultRecipientsEnabled": on(v, &format!("n{i}_default")),
                "notificationRecipients": recipients,
            }),
        ));
    }
    Ok(out)
}

/// The form field an `update_rules` refusal detail (`Rule_Id:target`) belongs to.
fn field_of(target: &str) -> Option<String> {
    let (rule, inner) = target.split_once(':')?;
    Some(match rule {
        "Expiration_EndUser_Assignment" => "act_max".into(),
        "Expiration_Admin_Eligibility" => "elig_max".into(),
        "Expiration_Admin_Assignment" => "asg_max".into(),
        "Enablement_EndUser_Assignment" => "act_mfa".into(),
        "Enablement_Admin_Eligibility" => "elig_mfa".into(),
        "Enablement_Admin_Assignment" => "asg_mfa".into(),
        "AuthenticationContext_EndUser_Assignment" => "authctx_claim".into(),
        "Approval_EndUser_Assignment" => {
            let Some(rest) = inner.strip_prefix("setting.approvalStages[") else {
                return Some(if inner == "setting.approvalStages" {
                    "stage_count".into()
                } else {
                    "appr_required".into()
                });
            };
            let (index, field) = rest.split_once("].")?;
            let n = index.parse::<usize>().ok()? + 1;
            let what = match field {
                "approvalStageTimeOutInDays" => "timeout",
                "minimumApprovals" => "min",
                "escalationApprovers" | "escalationTimeInMinutes" => "escalation_approvers",
                _ => "approvers",
            };
            stage_field(n, what)
        }
        id => {
            let i = NOTIFICATION_RULE_IDS.iter().position(|n| *n == id)?;
            if inner.contains("Recipients") {
                format!("n{i}_recipients")
            } else {
                format!("n{i}_level")
            }
        }
    })
}

fn field(kind: &'static str, name: &str, label: &str, v: &Values, e: &FieldErrors) -> Field {
    Field {
        kind,
        name: name.to_string(),
        label: label.to_string(),
        value: text(v, name),
        checked: on(v, name),
        options: Vec::new(),
        hint: String::new(),
        error: e.of(name).map(String::from),
    }
}

fn hinted(mut f: Field, hint: &str) -> Field {
    f.hint = hint.to_string();
    f
}

fn sections(policy: &RolePolicy, v: &Values, e: &FieldErrors) -> Vec<FormSection> {
    let duration_hint = "e.g. PT8H (8 hours), PT30M, P90D (90 days), or \"4 hours\", \"30 days\".";
    let mut activation = vec![
        Group {
            legend: "Activation".into(),
            hint: String::new(),
            fields: vec![
                hinted(
                    field("text", "act_max", "Activation maximum duration", v, e),
                    duration_hint,
                ),
                field(
                    "check",
                    "act_mfa",
                    "Require multi-factor authentication on activation",
                    v,
                    e,
                ),
                field(
                    "check",
                    "act_justification",
                    "Require justification on activation",
                    v,
                    e,
                ),
                field(
                    "check",
                    "act_ticket",
                    "Require ticket information on activation",
                    v,
                    e,
                ),
                field(
                    "check",
                    "authctx_enabled",
                    "Require a Conditional Access authentication context",
                    v,
                    e,
                ),
                hinted(
                    field(
                        "text",
                        "authctx_claim",
                        "Authentication context claim value",
                        v,
                        e,
                    ),
                    "e.g. c1; only used when the authentication context is required.",
                ),
            ],
        },
        Group {
            legend: "Approval".into(),
            hint:
                "With approval required, activation waits for the approvers of each stage in turn."
                    .into(),
            fields: vec![
                field(
                    "check",
                    "appr_required",
                    "Require approval to activate",
                    v,
                    e,
                ),
                field(
                    "check",
                    "appr_extension",
                    "Require approval to extend an activation",
                    v,
                    e,
                ),
                field(
                    "check",
                    "appr_requestor_justification",
                    "Requestor must give a justification for approval",
                    v,
                    e,
                ),
                Field {
                    options: vec![
                        ("1", "1 stage"),
                        ("2", "2 stages (serial)"),
                        ("3", "3 stages (serial)"),
                    ],
                    ..field("select", "stage_count", "Approval stages", v, e)
                },
            ],
        },
    ];
    for n in 1..=MAX_APPROVAL_STAGES {
        activation.push(Group {
            legend: format!("Approval stage {n}"),
            hint: if n == 1 {
                "Approvers: one per line, a user's user name (e.g. ada@contoso.example), a group's name, or \"manager\" (the requestor's manager). With none named, the Global and Privileged Role Administrators of the moment decide.".into()
            } else {
                format!("Used when {n} or more stages are chosen above.")
            },
            fields: vec![
                field("textarea", &stage_field(n, "approvers"), &format!("Stage {n} approvers"), v, e),
                hinted(
                    field("number", &stage_field(n, "min"), &format!("Stage {n}: approvals needed"), v, e),
                    "2 or more: the two-person rule (distinct approvers).",
                ),
                field("number", &stage_field(n, "timeout"), &format!("Stage {n}: time-out in days"), v, e),
                field("check", &stage_field(n, "approver_justification"), &format!("Stage {n}: approver must give a justification"), v, e),
                field("check", &stage_field(n, "escalation"), &format!("Stage {n}: escalate when nobody decides"), v, e),
                field("number", &stage_field(n, "escalation_minutes"), &format!("Stage {n}: escalate after (minutes)"), v, e),
                field("textarea", &stage_field(n, "escalation_approvers"), &format!("Stage {n} escalation approvers"), v, e),
            ],
        });
    }
    let assignment = vec![
        Group {
            legend: "Eligible assignments".into(),
            hint: String::new(),
            fields: vec![
                field(
                    "check",
                    "elig_permanent",
                    "Allow permanent eligible assignment",
                    v,
                    e,
                ),
                hinted(
                    field(
                        "text",
                        "elig_max",
                        "Expire eligible assignments after (at most)",
                        v,
                        e,
                    ),
                    duration_hint,
                ),
                field(
                    "check",
                    "elig_mfa",
                    "Require multi-factor authentication to make someone eligible",
                    v,
                    e,
                ),
                field(
                    "check",
                    "elig_justification",
                    "Require justification to make someone eligible",
                    v,
                    e,
                ),
                field(
                    "check",
                    "elig_ticket",
                    "Require ticket information to make someone eligible",
                    v,
                    e,
                ),
            ],
        },
        Group {
            legend: "Active assignments".into(),
            hint: String::new(),
            fields: vec![
                field(
                    "check",
                    "asg_permanent",
                    "Allow permanent active assignment",
                    v,
                    e,
                ),
                hinted(
                    field(
                        "text",
                        "asg_max",
                        "Expire active assignments after (at most)",
                        v,
                        e,
                    ),
                    duration_hint,
                ),
                field(
                    "check",
                    "asg_mfa",
                    "Require multi-factor authentication on active assignment",
                    v,
                    e,
                ),
                field(
                    "check",
                    "asg_justification",
                    "Require justification on active assignment",
                    v,
                    e,
                ),
                field(
                    "check",
                    "asg_ticket",
                    "Require ticket information on active assignment",
                    v,
                    e,
                ),
            ],
        },
    ];
    let mut notification = Vec::new();
    for (i, (id, _)) in policy.rules.notifications.iter().enumerate() {
        let (trigger, recipient) = notification_label(id);
        notification.push(Group {
            legend: format!("{trigger}: {recipient}"),
            hint: String::new(),
            fields: vec![
                Field {
                    options: vec![
                        ("All", "All notifications"),
                        ("Critical", "Critical only"),
                        ("None", "None (off)"),
                    ],
                    ..field(
                        "select",
                        &format!("n{i}_level"),
                        &format!("{recipient}: which notifications"),
                        v,
                        e,
                    )
                },
                field(
                    "check",
                    &format!("n{i}_default"),
                    &format!("{recipient}: send to the default recipients"),
                    v,
                    e,
                ),
                hinted(
                    field(
                        "text",
                        &format!("n{i}_recipients"),
                        &format!("{recipient}: additional recipients"),
                        v,
                        e,
                    ),
                    "Email addresses, separated by commas.",
                ),
            ],
        });
    }
    vec![
        FormSection {
            id: "activation",
            title: "Activation",
            intro: "What an eligible member must do to activate, and for how long.",
            groups: activation,
        },
        FormSection {
            id: "assignment",
            title: "Assignment",
            intro: "How long administrators may make members eligible or active, and what they must give.",
            groups: assignment,
        },
        FormSection {
            id: "notification",
            title: "Notification",
            intro: "Who hears about assignments and activations by email.",
            groups: notification,
        },
    ]
}

/// Role settings are for those who may read them (the service decides).
fn may_read(app: &App, viewer: &Viewer) -> PageResult<()> {
    policies::reader(app, &viewer.caller)
        .map(drop)
        .map_err(worded("role settings need roleManagementPolicies/read"))
}

async fn role_subject(app: &App, id: &str) -> PageResult<Subject> {
    let role = Uuid::parse_str(id).map_err(|_| ApiError::not_found("role definition"))?;
    if is_reserved_role_id(role) {
        return Err(ApiError::not_found("role definition").into());
    }
    let def = app
        .store
        .read()
        .await?
        .get_role_definition(role)
        .await?
        .ok_or_else(|| ApiError::not_found("role definition"))?;
    Ok(Subject {
        scope_type: ScopeType::DirectoryRole,
        scope_id: "/".into(),
        role: role.to_string(),
        heading: format!("Role settings: {}", def.display_name),
        action: format!("/portal/admin/roles/{role}/settings"),
        back: format!("/portal/admin/roles/{role}"),
        back_label: def.display_name,
    })
}

async fn group_subject(app: &App, id: &str, access: &str) -> PageResult<Subject> {
    let group = Uuid::parse_str(id).map_err(|_| ApiError::not_found("group"))?;
    if !matches!(access, "member" | "owner") {
        return Err(ApiError::not_found("group access").into());
    }
    let g = app
        .store
        .read()
        .await?
        .get_group(group)
        .await?
        .ok_or_else(|| ApiError::not_found("group"))?;
    Ok(Subject {
        scope_type: ScopeType::Group,
        scope_id: group.to_string(),
        role: access.to_string(),
        heading: format!(
            "{} settings: {}",
            if access == "member" {
                "Membership"
            } else {
                "Ownership"
            },
            g.display_name
        ),
        action: format!("/portal/admin/groups/{group}/settings/{access}"),
        back: format!("/portal/admin/groups/{group}"),
        back_label: g.display_name,
    })
}

fn stamp(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true))
        .unwrap_or_default()
}

fn page(
    viewer: &Viewer,
    subject: &Subject,
    policy: &RolePolicy,
    values: &Values,
    loaded: String,
    errors: FieldErrors,
) -> SettingsPage {
    SettingsPage {
        chrome: viewer.chrome(Section::Administration),
        heading: subject.heading.clone(),
        action: subject.action.clone(),
        back: subject.back.clone(),
        back_label: subject.back_label.clone(),
        may_update: viewer.can.update_policies,
        loaded,
        last_modified: policy.last_modified_date_time.map(super::ShownTime::of),
        sections: sections(policy, values, &errors),
        errors,
    }
}

async fn show(app: &App, viewer: &Viewer, subject: Subject) -> PageResult<Response> {
    may_read(app, viewer)?;
    let mut tx = app.store.read().await?;
    let policy = policies::load(
        &mut *tx,
        subject.scope_type,
        &subject.scope_id,
        &subject.role,
    )
    .await?;
    let values = values_of(&mut *tx, &policy).await?;
    drop(tx);
    let loaded = stamp(policy.last_modified_date_time);
    Ok(render(&page(
        viewer,
        &subject,
        &policy,
        &values,
        loaded,
        FieldErrors::new(),
    )))
}

async fn save(
    app: &App,
    viewer: &Viewer,
    subject: Subject,
    posted: Vec<(String, String)>,
) -> PageResult<Response> {
    // `role_save` and `group_save` asked `policies::may_update` before anything was looked up.
    let values: Values = posted.into_iter().collect();
    let loaded = text(&values, "loaded");
    let mut tx = app.store.read().await?;
    let policy = policies::load(
        &mut *tx,
        subject.scope_type,
        &subject.scope_id,
        &subject.role,
    )
    .await?;
    let mut errors = FieldErrors::new();
    let rules = rules_of(&mut *tx, &policy, &values, &mut errors).await?;
    drop(tx);
    let mut status = StatusCode::BAD_REQUEST;
    if errors.is_empty() {
        let seen = match values.get("loaded") {
            None => None,
            Some(s) if s.is_empty() => Some(None),
            Some(s) => DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|t| Some(t.with_timezone(&Utc))),
        };
        match policies::update_rules(app, &viewer.caller, &policy.id, &rules, seen).await {
            Ok(done) if done.changed.is_empty() => {
                return Ok(redirect_with(
                    app,
                    &subject.action,
                    Flash::info(
                        "Nothing to save: the settings already are as submitted. Nothing was changed.",
                    ),
                ));
            }
            Ok(done) => {
                return Ok(redirect_with(
                    app,
                    &subject.action,
                    Flash::success(format!(
                        "Settings saved ({} rule{} changed). They apply to requests made from now on.",
                        done.changed.len(),
                        if done.changed.len() == 1 { "" } else { "s" }
                    )),
                ));
            }
            Err(e) if e.status() == StatusCode::CONFLICT => {
                status = e.status();
                errors.add_general(
                    "Someone changed these settings after you opened this page, so nothing was saved. Reload the page to see the current settings, then make your change again.",
                );
            }
            Err(e) if e.status() == StatusCode::BAD_REQUEST => {
                for d in &e.details {
                    let message = if d.message.is_empty() {
                        e.message.clone()
                    } else {
                        d.message.clone()
                    };
                    match field_of(&d.target) {
                        Some(f) => errors.add(&f, message),
                        None => errors.add_general(message),
                    }
                }
                if e.details.is_empty() {
                    errors.add_general(e.message.clone());
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(render_status(
        status,
        &page(viewer, &subject, &policy, &values, loaded, errors),
    ))
}

pub async fn role_form(
    State(app): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> PageResult<Response> {
    may_read(&app, &viewer)?;
    let subject = role_subject(&app, &id).await?;
    show(&app, &viewer, subject).await
}

pub async fn role_save(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<Vec<(String, String)>>,
) -> PageResult<Response> {
    let Posted { viewer, form } = posted;
    // Refused before anything is looked up (the use case decides; its refusal is audited).
    policies::may_update(&app, &viewer.caller).await?;
    let subject = role_subject(&app, &id).await?;
    save(&app, &viewer, subject, form).await
}

pub async fn group_form(
    State(app): State<AppState>,
    viewer: Viewer,
    Path((id, access)): Path<(String, String)>,
) -> PageResult<Response> {
    may_read(&app, &viewer)?;
    let subject = group_subject(&app, &id, &access).await?;
    show(&app, &viewer, subject).await
}

pub async fn group_save(
    State(app): State<AppState>,
    Path((id, access)): Path<(String, String)>,
    posted: Posted<Vec<(String, String)>>,
) -> PageResult<Response> {
    let Posted { viewer, form } = posted;
    // Refused before anything is looked up (the use case decides; its refusal is audited).
    policies::may_update(&app, &viewer.caller).await?;
    let subject = group_subject(&app, &id, &access).await?;
    save(&app, &viewer, subject, form).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_land_on_their_fields() {
        assert_eq!(
            field_of("Expiration_EndUser_Assignment:maximumDuration").as_deref(),
            Some("act_max")
        );
        assert_eq!(
            field_of("Approval_EndUser_Assignment:setting.approvalStages[1].minimumApprovals")
                .as_deref(),
            Some("s2_min")
        );
        assert_eq!(
            field_of("Notification_Admin_EndUser_Assignment:notificationRecipients").as_deref(),
            Some("n6_recipients")
        );
        assert_eq!(field_of("nothing"), None);
    }
}
