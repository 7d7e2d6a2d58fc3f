//! The Activation tab: what an eligible member must do to activate (how long at most, MFA,
//! justification, ticket) and who approves it, in one to three stages. Only the stages in use
//! are shown; "Add a stage" and "Remove last stage" re-render the form with what was typed.

use chrono::TimeDelta;
use eligo_core::policy::{ApprovalStage, Enablement, MAX_APPROVAL_STAGES, PolicyRules, RolePolicy};
use eligo_store::Tx;
use serde_json::{Value, json};

use super::form::{
    Bounds, Button, Ctx, Group, Values, flag, on, put_duration, put_rows, read_duration,
    read_number, row_field, rows_of, text, words,
};
use super::principals::{self, Names};
use crate::error::ApiResult;
use crate::portal::page::FieldErrors;
use crate::service::directory::Kinds;

/// The rules this tab writes; saving it never sends another.
pub const RULES: [&str; 4] = [
    "Expiration_EndUser_Assignment",
    "Enablement_EndUser_Assignment",
    "AuthenticationContext_EndUser_Assignment",
    "Approval_EndUser_Assignment",
];

const MAX: &str = "Activation maximum duration";
const MFA: &str = "Require multi-factor authentication on activation";
const JUSTIFICATION: &str = "Require justification on activation";
const TICKET: &str = "Require ticket information on activation";
const CONTEXT: &str = "Require a Conditional Access authentication context";
const CLAIM: &str = "Authentication context claim value";
const APPROVAL: &str = "Require approval to activate";
const EXTENSION: &str = "Require approval to extend an activation";
const REQUESTOR_JUSTIFICATION: &str = "Requestor must give a justification for approval";

/// The longest activation the form offers: Entra's own bound. The API keeps the policy's wider
/// range for scripts; a stored value beyond this shows, and must come down before this tab
/// saves.
const LONGEST: TimeDelta = TimeDelta::hours(24);

/// An activation shorter than the server's minimum is always refused, so a maximum below it
/// would make the role impossible to activate.
fn max_bounds(least: TimeDelta) -> Bounds {
    Bounds {
        least,
        most: LONGEST,
        what: "a maximum",
    }
}

fn stage_field(n: usize, what: &str) -> String {
    format!("s{n}_{what}")
}

/// The stages the form shows: posted, or 1.
pub fn stage_count(v: &Values) -> usize {
    text(v, "stage_count")
        .trim()
        .parse::<usize>()
        .unwrap_or(1)
        .clamp(1, MAX_APPROVAL_STAGES)
}

/// The lists of approvers the form shows (for "Add another approver").
pub fn lists(v: &Values) -> Vec<String> {
    (1..=stage_count(v))
        .flat_map(|n| [stage_field(n, "primary"), stage_field(n, "escalation")])
        .collect()
}

/// A new stage starts as the policy's default stage does.
fn default_stage() -> ApprovalStage {
    PolicyRules::default()
        .approval_end_user_assignment
        .approval_stages[0]
        .clone()
}

/// A stage's approvers, primary and escalation.
pub fn all_approvers(s: &ApprovalStage) -> Vec<eligo_core::policy::Approver> {
    let mut out = s.primary_approvers.clone();
    out.extend(s.escalation_approvers.iter().cloned());
    out
}

fn put_stage(v: &mut Values, n: usize, s: &ApprovalStage, names: &Names) {
    v.insert(stage_field(n, "min"), s.minimum_approvals.to_string());
    v.insert(
        stage_field(n, "timeout"),
        s.approval_stage_time_out_in_days.to_string(),
    );
    v.insert(
        stage_field(n, "approver_justification"),
        flag(s.is_approver_justification_required),
    );
    v.insert(stage_field(n, "escalate"), flag(s.is_escalation_enabled));
    if s.escalation_time_in_minutes > 0 {
        put_duration(
            v,
            &stage_field(n, "escalate_after"),
            TimeDelta::minutes(s.escalation_time_in_minutes.into()),
        );
    }
    for (list, approvers) in [
        ("primary", &s.primary_approvers),
        ("escalation", &s.escalation_approvers),
    ] {
        put_rows(
            v,
            &stage_field(n, list),
            approvers.iter().map(|a| names.value(a)).collect(),
        );
    }
}

/// The form's values for a stored policy.
pub async fn values_of(tx: &mut dyn Tx, policy: &RolePolicy) -> ApiResult<Values> {
    let r = &policy.rules;
    let mut v = Values::new();
    put_duration(
        &mut v,
        "act_max",
        r.expiration_end_user_assignment.maximum_duration,
    );
    let e = &r.enablement_end_user_assignment;
    v.insert(
        "act_mfa".into(),
        flag(e.contains(&Enablement::MultiFactorAuthentication)),
    );
    v.insert(
        "act_justification".into(),
        flag(e.contains(&Enablement::Justification)),
    );
    v.insert(
        "act_ticket".into(),
        flag(e.contains(&Enablement::Ticketing)),
    );
    let ac = &r.authentication_context_end_user_assignment;
    v.insert("authctx_enabled".into(), flag(ac.is_enabled));
    v.insert(
        "authctx_claim".into(),
        ac.claim_value.clone().unwrap_or_default(),
    );
    let a = &r.approval_end_user_assignment;
    v.insert("appr_required".into(), flag(a.is_approval_required));
    v.insert(
        "appr_extension".into(),
        flag(a.is_approval_required_for_extension),
    );
    v.insert(
        "appr_requestor_justification".into(),
        flag(a.is_requestor_justification_required),
    );
    let approvers = a.approval_stages.iter().flat_map(all_approvers).collect();
    let names = Names::of(tx, approvers).await?;
    let stages = if a.approval_stages.is_empty() {
        vec![default_stage()]
    } else {
        a.approval_stages.clone()
    };
    v.insert("stage_count".into(), stages.len().to_string());
    for (i, s) in stages.iter().enumerate() {
        put_stage(&mut v, i + 1, s, &names);
    }
    Ok(v)
}

/// "Add a stage" / "Remove last stage": the form with one stage more or less, what was typed
/// kept. Returns the field to focus, or None when `op` is not this tab's.
pub fn change(v: &mut Values, op: &str) -> Option<Option<String>> {
    let count = stage_count(v);
    match op {
        "add_stage" if count < MAX_APPROVAL_STAGES => {
            let n = count + 1;
            // A stage removed and added again starts afresh.
            let prefix = format!("s{n}_");
            v.retain(|k, _| !k.starts_with(&prefix));
            put_stage(v, n, &default_stage(), &Names::default());
            v.insert("stage_count".into(), n.to_string());
            Some(Some(row_field(&stage_field(n, "primary"), 0)))
        }
        "remove_stage" if count > 1 => {
            let prefix = format!("s{count}_");
            v.retain(|k, _| !k.starts_with(&prefix));
            v.insert("stage_count".into(), (count - 1).to_string());
            Some(None)
        }
        "add_stage" | "remove_stage" => Some(None),
        _ => None,
    }
}

/// The approvers typed into list `list`, each resolved; a row that names nobody (or more than
/// one) gets its error, naming the row as the page labels it.
async fn approvers_of(
    tx: &mut dyn Tx,
    listable: Kinds,
    v: &Values,
    list: &str,
    row_label: &str,
    errors: &mut FieldErrors,
) -> ApiResult<Vec<Value>> {
    let mut out: Vec<Value> = Vec::new();
    for (position, (index, typed)) in rows_of(v, list).into_iter().enumerate() {
        if typed.trim().is_empty() {
            continue;
        }
        match principals::approver(tx, listable, &typed).await? {
            // The same approver twice counts once.
            Ok(a) if out.contains(&a) => {}
            Ok(a) => out.push(a),
            Err(message) => errors.add(
                &row_field(list, index),
                format!("{row_label} {}: {message}", position + 1),
            ),
        }
    }
    Ok(out)
}

/// This tab's rules as the form sets them, or its field errors.
pub async fn rules_of(
    tx: &mut dyn Tx,
    listable: Kinds,
    policy: &RolePolicy,
    v: &Values,
    least: TimeDelta,
    errors: &mut FieldErrors,
) -> ApiResult<Vec<(String, Value)>> {
    let r = &policy.rules;
    let mut out: Vec<(String, Value)> = Vec::new();
    if let Some(d) = read_duration(v, "act_max", &max_bounds(least), errors) {
        out.push((
            RULES[0].into(),
            json!({
                "isExpirationRequired": r.expiration_end_user_assignment.is_expiration_required,
                "maximumDuration": eligo_core::duration::format_duration(d),
            }),
        ));
    }
    let mut enabled = Vec::new();
    for (field, rule) in [
        ("act_mfa", "MultiFactorAuthentication"),
        ("act_justification", "Justification"),
        ("act_ticket", "Ticketing"),
    ] {
        if on(v, field) {
            enabled.push(rule);
        }
    }
    out.push((RULES[1].into(), json!({ "enabledRules": enabled })));
    let claim = text(v, "authctx_claim").trim().to_string();
    if on(v, "authctx_enabled") && claim.is_empty() {
        errors.add(
            "authctx_claim",
            "Enter the authentication context's claim value, or turn it off.",
        );
    }
    out.push((
        RULES[2].into(),
        json!({
            "isEnabled": on(v, "authctx_enabled"),
            "claimValue": if claim.is_empty() { Value::Null } else { json!(claim) },
        }),
    ));
    let count = stage_count(v);
    let mut stages = Vec::new();
    for n in 1..=count {
        let primary = approvers_of(
            tx,
            listable,
            v,
            &stage_field(n, "primary"),
            &format!("Stage {n}, approver"),
            errors,
        )
        .await?;
        let escalation = approvers_of(
            tx,
            listable,
            v,
            &stage_field(n, "escalation"),
            &format!("Stage {n}, escalation approver"),
            errors,
        )
        .await?;
        // The policy checks the same ranges; here they are said as what to enter.
        let timeout = read_number(
            v,
            &stage_field(n, "timeout"),
            (1, 30),
            "the time-out in days",
            errors,
        );
        let minimum = read_number(
            v,
            &stage_field(n, "min"),
            (1, 5),
            "the approvals needed",
            errors,
        );
        let escalate = on(v, &stage_field(n, "escalate"));
        let after = stage_field(n, "escalate_after");
        let minutes = if escalate || !text(v, &after).trim().is_empty() {
            let bounds = Bounds {
                least: TimeDelta::minutes(1),
                most: TimeDelta::days(timeout.into()),
                what: "an escalation time",
            };
            read_duration(v, &after, &bounds, errors).map_or(0, |d| d.num_minutes())
        } else {
            0
        };
        if escalate && escalation.is_empty() {
            errors.add(
                &stage_field(n, "escalation"),
                format!(
                    "Enter at least one escalation approver for stage {n}, or turn escalation off."
                ),
            );
        }
        stages.push(json!({
            "approvalStageTimeOutInDays": timeout,
            "isApproverJustificationRequired": on(v, &stage_field(n, "approver_justification")),
            "escalationTimeInMinutes": minutes,
            "isEscalationEnabled": escalate,
            "primaryApprovers": primary,
            "escalationApprovers": escalation,
            "minimumApprovals": minimum,
        }));
    }
    let current = &r.approval_end_user_assignment;
    // Graph's mode follows the number of stages; a mode set through the API stays while the
    // number of stages does.
    let mode = if count == current.approval_stages.len() {
        current.approval_mode.clone()
    } else if count == 1 {
        "SingleStage".into()
    } else {
        "Serial".into()
    };
    out.push((
        RULES[3].into(),
        json!({ "setting": {
            "isApprovalRequired": on(v, "appr_required"),
            "isApprovalRequiredForExtension": on(v, "appr_extension"),
            "isRequestorJustificationRequired": on(v, "appr_requestor_justification"),
            "approvalMode": mode,
            "approvalStages": stages,
        }}),
    ));
    Ok(out)
}

/// The field a refusal detail of the policy's validation (`Rule_Id:target`) belongs to.
pub fn field_of(rule: &str, inner: &str) -> Option<String> {
    Some(match rule {
        "Expiration_EndUser_Assignment" => "act_max".into(),
        "Enablement_EndUser_Assignment" => "act_mfa".into(),
        "AuthenticationContext_EndUser_Assignment" => "authctx_enabled".into(),
        "Approval_EndUser_Assignment" => {
            let Some(rest) = inner.strip_prefix("setting.approvalStages[") else {
                return Some("appr_required".into());
            };
            let (index, field) = rest.split_once("].")?;
            let n = index.parse::<usize>().ok()? + 1;
            let what = match field {
                "approvalStageTimeOutInDays" => "timeout",
                "minimumApprovals" => "min",
                "escalationApprovers" => "escalation",
                "escalationTimeInMinutes" => "escalate_after",
                _ => "primary",
            };
            stage_field(n, what)
        }
        _ => return None,
    })
}

/// The tab's fieldsets.
pub fn groups(c: &Ctx, least: TimeDelta) -> Vec<Group> {
    let mut out = vec![
        Group::new(
            "Activation",
            vec![
                c.duration("act_max", MAX).hint(&format!(
                    "From {} to {}.",
                    words(least),
                    words(LONGEST)
                )),
                c.check("act_mfa", MFA),
                c.check("act_justification", JUSTIFICATION),
                c.check("act_ticket", TICKET),
                c.check("authctx_enabled", CONTEXT),
                c.text("authctx_claim", CLAIM).hint(
                    "For example c1. Eligo cannot enforce an authentication context yet: require multi-factor authentication instead.",
                ),
            ],
        ),
        Group::new(
            "Approval",
            vec![
                c.check("appr_required", APPROVAL),
                c.check("appr_extension", EXTENSION),
                c.check("appr_requestor_justification", REQUESTOR_JUSTIFICATION),
            ],
        )
        .hint("With approval required, an activation waits for each stage's approvers in turn. The stages below are used only then."),
    ];
    let count = stage_count(c.v);
    for n in 1..=count {
        let mut group = Group::new(
            format!("Approval stage {n}"),
            vec![
                c.rows(
                    &stage_field(n, "primary"),
                    "Approvers",
                    "Approver",
                    "Add another approver",
                )
                .hint("A user (name or user name), a group, or \"Requestor's manager\". Clear a box to remove that approver. With none named, the Global and Privileged Role Administrators of the moment decide."),
                c.number(&stage_field(n, "min"), "Approvals needed", 1)
                    .hint("2 or more: the two-person rule (that many different approvers)."),
                c.number(&stage_field(n, "timeout"), "Time-out (days)", 1)
                    .hint("An undecided request expires after this many days (1 to 30)."),
                c.check(
                    &stage_field(n, "approver_justification"),
                    "Approver must give a justification",
                ),
                c.check(&stage_field(n, "escalate"), "Escalate when nobody decides"),
                c.duration(&stage_field(n, "escalate_after"), "Escalate after"),
                c.rows(
                    &stage_field(n, "escalation"),
                    "Escalation approvers",
                    "Escalation approver",
                    "Add another escalation approver",
                ),
            ],
        );
        if n == count && c.may_update {
            if count < MAX_APPROVAL_STAGES {
                group.buttons.push(Button {
                    op: "add_stage".into(),
                    label: "Add a stage".into(),
                });
            }
            if count > 1 {
                group.buttons.push(Button {
                    op: "remove_stage".into(),
                    label: "Remove last stage".into(),
                });
            }
        }
        out.push(group);
    }
    out
}
