//! Role management policies (Graph's `unifiedRoleManagementPolicy`): one per role (or per group
//! and access kind), made of rules that bound durations, demand MFA, justification and tickets,
//! and require approval. This module holds the rules, their defaults, and the validation of a
//! rule an administrator PATCHes; it decides nothing about a particular request.

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::duration::{format_duration, parse_duration};
use crate::invalid::Invalid;

pub const MAX_APPROVAL_STAGES: usize = 3;

/// What a policy governs: a directory role at a scope, or a group's member/owner access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScopeType {
    DirectoryRole,
    Group,
}

impl ScopeType {
    pub fn as_str(self) -> &'static str {
        match self {
            ScopeType::DirectoryRole => "DirectoryRole",
            ScopeType::Group => "Group",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "DirectoryRole" => Some(ScopeType::DirectoryRole),
            "Group" => Some(ScopeType::Group),
            _ => None,
        }
    }
}

/// A role's (or a group access's) settings. Its id is derived from what it governs, so the
/// default policy of a role that was never changed has a stable id before it is ever stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RolePolicy {
    pub id: String,
    pub scope_id: String,
    pub scope_type: ScopeType,
    /// A role definition id, or `member`/`owner` for groups.
    pub role_definition_id: String,
    pub rules: PolicyRules,
    pub last_modified_by: Option<uuid::Uuid>,
    pub last_modified_date_time: Option<chrono::DateTime<chrono::Utc>>,
}

impl RolePolicy {
    pub fn id_for(scope_type: ScopeType, scope_id: &str, role_definition_id: &str) -> String {
        match scope_type {
            ScopeType::DirectoryRole if scope_id == "/" => {
                format!("DirectoryRole_{role_definition_id}")
            }
            ScopeType::DirectoryRole => format!(
                "DirectoryRole_{role_definition_id}_{}",
                scope_id.replace('/', "~")
            ),
            ScopeType::Group => format!("Group_{scope_id}_{role_definition_id}"),
        }
    }

    /// The policy as it stands before anyone changed it.
    pub fn default_for(scope_type: ScopeType, scope_id: &str, role_definition_id: &str) -> Self {
        Self {
            id: Self::id_for(scope_type, scope_id, role_definition_id),
            scope_id: scope_id.into(),
            scope_type,
            role_definition_id: role_definition_id.into(),
            rules: PolicyRules::default(),
            last_modified_by: None,
            last_modified_date_time: None,
        }
    }

    /// What governs a policy id, for ids of policies that were never stored. A GUID in the id
    /// is answered in its one canonical form (lower case, hyphenated) whatever case it was
    /// written in, so `DirectoryRole_62E9...` names the very policy enforcement reads.
    pub fn parse_id(id: &str) -> Option<(ScopeType, String, String)> {
        if let Some(rest) = id.strip_prefix("DirectoryRole_") {
            let (role, scope) = match rest.split_once('_') {
                Some((role, scope)) => (role, scope.replace('~', "/")),
                None => (rest, "/".to_string()),
            };
            let role = uuid::Uuid::parse_str(role).ok()?.to_string();
            // A directory role's settings are the directory's (as in Entra): an activation at
            // any scope is decided by them, so a policy named at another scope would be stored
            // and shown as in force while nothing enforced it.
            if scope != "/" {
                return None;
            }
            return Some((ScopeType::DirectoryRole, scope, role));
        }
        let rest = id.strip_prefix("Group_")?;
        let (group, access) = rest.split_once('_')?;
        let group = uuid::Uuid::parse_str(group).ok()?.to_string();
        matches!(access, "member" | "owner").then(|| (ScopeType::Group, group, access.to_string()))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpirationRule {
    pub is_expiration_required: bool,
    #[serde(with = "iso_duration")]
    pub maximum_duration: TimeDelta,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Enablement {
    MultiFactorAuthentication,
    Justification,
    Ticketing,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "@odata.type")]
pub enum Approver {
    #[serde(rename = "#microsoft.graph.singleUser")]
    SingleUser {
        #[serde(rename = "userId")]
        user_id: uuid::Uuid,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
    },
    #[serde(rename = "#microsoft.graph.groupMembers")]
    GroupMembers {
        #[serde(rename = "groupId")]
        group_id: uuid::Uuid,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
    },
    #[serde(rename = "#microsoft.graph.requestorManager")]
    RequestorManager {
        #[serde(rename = "managerLevel", default = "one")]
        manager_level: u8,
    },
}

fn one() -> u8 {
    1
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalStage {
    #[serde(default = "one_day")]
    pub approval_stage_time_out_in_days: u32,
    #[serde(default)]
    pub is_approver_justification_required: bool,
    #[serde(default)]
    pub escalation_time_in_minutes: u32,
    #[serde(default)]
    pub is_escalation_enabled: bool,
    #[serde(default)]
    pub primary_approvers: Vec<Approver>,
    #[serde(default)]
    pub escalation_approvers: Vec<Approver>,
    /// Eligo: how many distinct approvers must approve this stage (two-person rule).
    #[serde(default = "one_u32")]
    pub minimum_approvals: u32,
}

fn single_stage() -> String {
    "SingleStage".into()
}

fn one_day() -> u32 {
    1
}

fn one_u32() -> u32 {
    1
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalSetting {
    pub is_approval_required: bool,
    #[serde(default)]
    pub is_approval_required_for_extension: bool,
    #[serde(default)]
    pub is_requestor_justification_required: bool,
    /// Graph's values: SingleStage, Serial, Parallel, NoApproval.
    #[serde(default = "single_stage")]
    pub approval_mode: String,
    pub approval_stages: Vec<ApprovalStage>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationRule {
    pub notification_type: String,
    pub recipient_type: String,
    pub notification_level: String,
    pub is_default_recipients_enabled: bool,
    pub notification_recipients: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationContextRule {
    pub is_enabled: bool,
    pub claim_value: Option<String>,
}

/// Every rule of a policy, by Graph's rule id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyRules {
    pub expiration_admin_eligibility: ExpirationRule,
    pub expiration_admin_assignment: ExpirationRule,
    pub expiration_end_user_assignment: ExpirationRule,
    pub enablement_admin_eligibility: Vec<Enablement>,
    pub enablement_admin_assignment: Vec<Enablement>,
    pub enablement_end_user_assignment: Vec<Enablement>,
    pub approval_end_user_assignment: ApprovalSetting,
    pub authentication_context_end_user_assignment: AuthenticationContextRule,
    /// Keyed by rule id, e.g. `Notification_Admin_EndUser_Assignment`.
    pub notifications: Vec<(String, NotificationRule)>,
}

/// The three recipients × three triggers Graph defines.
pub const NOTIFICATION_RULE_IDS: [&str; 9] = [
    "Notification_Admin_Admin_Eligibility",
    "Notification_Requestor_Admin_Eligibility",
    "Notification_Approver_Admin_Eligibility",
    "Notification_Admin_Admin_Assignment",
    "Notification_Requestor_Admin_Assignment",
    "Notification_Approver_Admin_Assignment",
    "Notification_Admin_EndUser_Assignment",
    "Notification_Requestor_EndUser_Assignment",
    "Notification_Approver_EndUser_Assignment",
];

pub const RULE_IDS: [&str; 8] = [
    "Expiration_Admin_Eligibility",
    "Expiration_Admin_Assignment",
    "Expiration_EndUser_Assignment",
    "Enablement_Admin_Eligibility",
    "Enablement_Admin_Assignment",
    "Enablement_EndUser_Assignment",
    "Approval_EndUser_Assignment",
    "AuthenticationContext_EndUser_Assignment",
];

impl Default for PolicyRules {
    /// api.md's defaults: eligibility P365D, active assignment P180D, activation at most PT8H
    /// needing MFA and justification, no approval (stage timeout 1 day when turned on).
    fn default() -> Self {
        let expiring = |d| ExpirationRule {
            is_expiration_required: true,
            maximum_duration: d,
        };
        Self {
            expiration_admin_eligibility: expiring(TimeDelta::days(365)),
            expiration_admin_assignment: expiring(TimeDelta::days(180)),
            expiration_end_user_assignment: expiring(TimeDelta::hours(8)),
            enablement_admin_eligibility: vec![],
            enablement_admin_assignment: vec![Enablement::Justification],
            enablement_end_user_assignment: vec![
                Enablement::MultiFactorAuthentication,
                Enablement::Justification,
            ],
            approval_end_user_assignment: ApprovalSetting {
                is_approval_required: false,
                is_approval_required_for_extension: false,
                is_requestor_justification_required: true,
                approval_mode: "SingleStage".into(),
                approval_stages: vec![ApprovalStage {
                    approval_stage_time_out_in_days: 1,
                    is_approver_justification_required: true,
                    escalation_time_in_minutes: 0,
                    is_escalation_enabled: false,
                    primary_approvers: vec![],
                    escalation_approvers: vec![],
                    minimum_approvals: 1,
                }],
            },
            authentication_context_end_user_assignment: AuthenticationContextRule {
                is_enabled: false,
                claim_value: None,
            },
            notifications: NOTIFICATION_RULE_IDS
                .iter()
                .map(|id| {
                    let recipient = id.split('_').nth(1).unwrap_or("Admin");
                    (
                        id.to_string(),
                        NotificationRule {
                            notification_type: "Email".into(),
                            recipient_type: recipient.into(),
                            notification_level: "All".into(),
                            is_default_recipients_enabled: true,
                            notification_recipients: vec![],
                        },
                    )
                })
                .collect(),
        }
    }
}

fn target(rule_id: &str) -> Value {
    let caller = if rule_id.contains("EndUser") {
        "EndUser"
    } else {
        "Admin"
    };
    let level = if rule_id.ends_with("Eligibility") {
        "Eligibility"
    } else {
        "Assignment"
    };
    json!({ "caller": caller, "operations": ["All"], "level": level, "inheritableSettings": [], "enforcedSettings": [] })
}

impl PolicyRules {
    /// The rules as Graph lists them (`$expand=rules`), each with its `@odata.type` and target.
    pub fn to_graph(&self) -> Vec<Value> {
        let mut out = Vec::new();
        let expiration = |id: &str, r: &ExpirationRule| {
            json!({
                "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyExpirationRule",
                "id": id, "isExpirationRequired": r.is_expiration_required,
                "maximumDuration": format_duration(r.maximum_duration), "target": target(id),
            })
        };
        let enablement = |id: &str, e: &Vec<Enablement>| json!({ "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyEnablementRule", "id": id, "enabledRules": e, "target": target(id) });
        out.push(expiration(
            "Expiration_Admin_Eligibility",
            &self.expiration_admin_eligibility,
        ));
        out.push(expiration(
            "Expiration_Admin_Assignment",
            &self.expiration_admin_assignment,
        ));
        out.push(expiration(
            "Expiration_EndUser_Assignment",
            &self.expiration_end_user_assignment,
        ));
        out.push(enablement(
            "Enablement_Admin_Eligibility",
            &self.enablement_admin_eligibility,
        ));
        out.push(enablement(
            "Enablement_Admin_Assignment",
            &self.enablement_admin_assignment,
        ));
        out.push(enablement(
            "Enablement_EndUser_Assignment",
            &self.enablement_end_user_assignment,
        ));
        out.push(json!({
            "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyApprovalRule",
            "id": "Approval_EndUser_Assignment", "setting": self.approval_end_user_assignment,
            "target": target("Approval_EndUser_Assignment"),
        }));
        let ac = &self.authentication_context_end_user_assignment;
        out.push(json!({
            "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyAuthenticationContextRule",
            "id": "AuthenticationContext_EndUser_Assignment", "isEnabled": ac.is_enabled, "claimValue": ac.claim_value,
            "target": target("AuthenticationContext_EndUser_Assignment"),
        }));
        for (id, n) in &self.notifications {
            let mut v = json!(n);
            v["@odata.type"] =
                json!("#microsoft.graph.unifiedRoleManagementPolicyNotificationRule");
            v["id"] = json!(id);
            v["target"] = target(id);
            out.push(v);
        }
        out
    }

    /// Replaces one rule from the JSON an administrator PATCHed. Every problem is reported,
    /// and on any problem nothing changes.
    pub fn apply(&mut self, rule_id: &str, body: &Value) -> Result<(), Vec<Invalid>> {
        self.apply_with(rule_id, body, false)
    }

    /// As `apply`; `auth_context_supported`: the deployment has an identity provider that
    /// can vouch for an authentication context (OpenID Connect's `acr`), so the rule may be
    /// enabled, with a `claimValue`.
    pub fn apply_with(
        &mut self,
        rule_id: &str,
        body: &Value,
        auth_context_supported: bool,
    ) -> Result<(), Vec<Invalid>> {
        let mut next = self.clone();
        let result = match rule_id {
            "Expiration_Admin_Eligibility" => {
                parse_expiration(body).map(|r| next.expiration_admin_eligibility = r)
            }
            "Expiration_Admin_Assignment" => {
                parse_expiration(body).map(|r| next.expiration_admin_assignment = r)
            }
            "Expiration_EndUser_Assignment" => {
                parse_expiration(body).map(|r| next.expiration_end_user_assignment = r)
            }
            "Enablement_Admin_Eligibility" => {
                parse_enablement(body).map(|r| next.enablement_admin_eligibility = r)
            }
            "Enablement_Admin_Assignment" => {
                parse_enablement(body).map(|r| next.enablement_admin_assignment = r)
            }
            "Enablement_EndUser_Assignment" => {
                parse_enablement(body).map(|r| next.enablement_end_user_assignment = r)
            }
            "Approval_EndUser_Assignment" => {
                parse_approval(body).map(|r| next.approval_end_user_assignment = r)
            }
            // Eligo has no identity provider that can satisfy a Conditional Access
            // authentication context yet, so enabling one is refused rather than stored and
            // silently ignored (Entra admins turn it on *instead of* the MFA rule).
            "AuthenticationContext_EndUser_Assignment"
                if body.get("isEnabled").and_then(Value::as_bool) == Some(true)
                    && auth_context_supported
                    && body
                        .get("claimValue")
                        .and_then(Value::as_str)
                        .is_none_or(|v| v.trim().is_empty()) =>
            {
                Err(vec![Invalid::new(
                    "ClaimValueRequired",
                    "claimValue",
                    "name the authentication context class (the provider's acr value) this rule asks for",
                )])
            }
            "AuthenticationContext_EndUser_Assignment"
                if body.get("isEnabled").and_then(Value::as_bool) == Some(true)
                    && !auth_context_supported =>
            {
                Err(vec![Invalid::new(
                    "AuthenticationContextNotSupported",
                    "isEnabled",
                    "Eligo enforces an authentication context only with single sign-on (an OpenID Connect provider carries acr); configure one, or require multifactor authentication in Enablement_EndUser_Assignment instead",
                )])
            }
            "AuthenticationContext_EndUser_Assignment" => {
                parse_field(body, "isEnabled").map(|is_enabled| {
                    let claim_value = body
                        .get("claimValue")
                        .and_then(Value::as_str)
                        .map(String::from);
                    next.authentication_context_end_user_assignment = AuthenticationContextRule {
                        is_enabled,
                        claim_value,
                    };
                })
            }
            id if NOTIFICATION_RULE_IDS.contains(&id) => parse_notification(body).map(|n| {
                if let Some(slot) = next.notifications.iter_mut().find(|(k, _)| k == id) {
                    slot.1 = n;
                }
            }),
            other => Err(vec![Invalid::new(
                "UnknownRule",
                "id",
                format!("'{other}' is not a rule of this policy"),
            )]),
        };
        result?;
        *self = next;
        Ok(())
    }
}

fn parse_field<T: serde::de::DeserializeOwned>(
    body: &Value,
    field: &str,
) -> Result<T, Vec<Invalid>> {
    let v = body
        .get(field)
        .ok_or_else(|| vec![Invalid::new("MissingField", field, "is required")])?;
    serde_json::from_value(v.clone())
        .map_err(|e| vec![Invalid::new("InvalidField", field, e.to_string())])
}

fn parse_expiration(body: &Value) -> Result<ExpirationRule, Vec<Invalid>> {
    let is_expiration_required: bool = parse_field(body, "isExpirationRequired")?;
    let text: String = parse_field(body, "maximumDuration")?;
    let maximum_duration = parse_duration(&text).map_err(|e| {
        vec![Invalid::new(
            "InvalidDuration",
            "maximumDuration",
            e.to_string(),
        )]
    })?;
    if maximum_duration <= TimeDelta::zero() || maximum_duration > TimeDelta::days(3650) {
        return Err(vec![Invalid::new(
            "InvalidDuration",
            "maximumDuration",
            "must be more than zero and at most P3650D",
        )]);
    }
    Ok(ExpirationRule {
        is_expiration_required,
        maximum_duration,
    })
}

fn parse_enablement(body: &Value) -> Result<Vec<Enablement>, Vec<Invalid>> {
    let mut rules: Vec<Enablement> = parse_field(body, "enabledRules")?;
    rules.sort_by_key(|r| *r as u8);
    rules.dedup();
    Ok(rules)
}

fn parse_notification(body: &Value) -> Result<NotificationRule, Vec<Invalid>> {
    let rule: NotificationRule = serde_json::from_value(strip_annotations(body)).map_err(|e| {
        vec![Invalid::new(
            "InvalidField",
            "notificationRule",
            e.to_string(),
        )]
    })?;
    let mut broken = Vec::new();
    if rule.notification_type != "Email" {
        broken.push(Invalid::new(
            "InvalidField",
            "notificationType",
            "only Email is supported",
        ));
    }
    if !["None", "Critical", "All"].contains(&rule.notification_level.as_str()) {
        broken.push(Invalid::new(
            "InvalidField",
            "notificationLevel",
            "must be None, Critical or All",
        ));
    }
    for r in &rule.notification_recipients {
        if crate::directory::validate_mail(r).is_err() {
            broken.push(Invalid::new(
                "InvalidField",
                "notificationRecipients",
                format!("'{r}' is not an email address"),
            ));
        }
    }
    if broken.is_empty() {
        Ok(rule)
    } else {
        Err(broken)
    }
}

fn parse_approval(body: &Value) -> Result<ApprovalSetting, Vec<Invalid>> {
    let setting = body
        .get("setting")
        .ok_or_else(|| vec![Invalid::new("MissingField", "setting", "is required")])?;
    let s: ApprovalSetting = serde_json::from_value(strip_annotations(setting))
        .map_err(|e| vec![Invalid::new("InvalidField", "setting", e.to_string())])?;
    let mut broken = Vec::new();
    if s.is_approval_required && s.approval_stages.is_empty() {
        broken.push(Invalid::new(
            "InvalidApprovalStages",
            "setting.approvalStages",
            "approval needs at least one stage",
        ));
    }
    if s.approval_stages.len() > MAX_APPROVAL_STAGES {
        broken.push(Invalid::new(
            "InvalidApprovalStages",
            "setting.approvalStages",
            "at most 3 stages",
        ));
    }
    for (i, stage) in s.approval_stages.iter().enumerate() {
        let at = |f: &str| format!("setting.approvalStages[{i}].{f}");
        // No primary approvers named: the stage goes to whoever holds Global Administrator or
        // Privileged Role Administrator at the time (as in Entra).
        if !(1..=30).contains(&stage.approval_stage_time_out_in_days) {
            broken.push(Invalid::new(
                "InvalidField",
                at("approvalStageTimeOutInDays"),
                "must be between 1 and 30",
            ));
        }
        if stage.minimum_approvals < 1 || stage.minimum_approvals > 5 {
            broken.push(Invalid::new(
                "InvalidField",
                at("minimumApprovals"),
                "must be between 1 and 5",
            ));
        }
        if stage.is_escalation_enabled
            && (stage.escalation_approvers.is_empty() || stage.escalation_time_in_minutes == 0)
        {
            broken.push(Invalid::new(
                "InvalidField",
                at("escalationApprovers"),
                "escalation needs approvers and a time",
            ));
        }
    }
    if broken.is_empty() {
        Ok(s)
    } else {
        Err(broken)
    }
}

/// Graph clients send `@odata.type` on nested settings; the typed parse does not want them,
/// except on approvers, where the type says which kind.
fn strip_annotations(v: &Value) -> Value {
    match v {
        Value::Object(map) => {
            let is_approver = map
                .get("@odata.type")
                .and_then(Value::as_str)
                .is_some_and(|t| {
                    [
                        "#microsoft.graph.singleUser",
                        "#microsoft.graph.groupMembers",
                        "#microsoft.graph.requestorManager",
                    ]
                    .contains(&t)
                });
            Value::Object(
                map.iter()
                    .filter(|(k, _)| is_approver || !k.starts_with('@'))
                    .filter(|(k, _)| !matches!(k.as_str(), "id" | "target" | "isBackup"))
                    .map(|(k, v)| (k.clone(), strip_annotations(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(strip_annotations).collect()),
        other => other.clone(),
    }
}

mod iso_duration {
    use chrono::TimeDelta;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &TimeDelta, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::duration::format_duration(*d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<TimeDelta, D::Error> {
        let text = String::deserialize(d)?;
        crate::duration::parse_duration(&text).map_err(serde::de::Error::custom)
    }
}

pub(crate) mod iso_duration_opt {
    use chrono::TimeDelta;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Option<TimeDelta>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&crate::duration::format_duration(*d)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<TimeDelta>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| crate::duration::parse_duration(&text).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_contract() {
        let r = PolicyRules::default();
        let graph = r.to_graph();
        assert_eq!(graph.len(), 17);
        let find = |id: &str| graph.iter().find(|g| g["id"] == id).unwrap().clone();
        assert_eq!(
            find("Expiration_Admin_Eligibility")["maximumDuration"],
            "P365D"
        );
        assert_eq!(
            find("Expiration_Admin_Assignment")["maximumDuration"],
            "P180D"
        );
        assert_eq!(
            find("Expiration_EndUser_Assignment")["maximumDuration"],
            "PT8H"
        );
        assert_eq!(
            find("Enablement_EndUser_Assignment")["enabledRules"],
            json!(["MultiFactorAuthentication", "Justification"])
        );
        assert_eq!(
            find("Approval_EndUser_Assignment")["setting"]["isApprovalRequired"],
            false
        );
        assert_eq!(
            find("Expiration_EndUser_Assignment")["target"]["caller"],
            "EndUser"
        );
    }

    fn check_apply(rule: &str, body: Value, ok: bool) {
        let mut r = PolicyRules::default();
        let before = r.clone();
        let result = r.apply(rule, &body);
        assert_eq!(result.is_ok(), ok, "{rule} {body}: {result:?}");
        if !ok {
            assert_eq!(r, before, "a refused patch changes nothing");
        }
    }

    #[test]
    fn rule_patches_are_validated() {
        check_apply(
            "Expiration_EndUser_Assignment",
            json!({"isExpirationRequired": true, "maximumDuration": "PT1H"}),
            true,
        );
        check_apply(
            "Expiration_EndUser_Assignment",
            json!({"isExpirationRequired": true, "maximumDuration": "1 hour"}),
            false,
        );
        check_apply(
            "Expiration_EndUser_Assignment",
            json!({"isExpirationRequired": true, "maximumDuration": "PT0S"}),
            false,
        );
        check_apply(
            "Expiration_EndUser_Assignment",
            json!({"maximumDuration": "PT1H"}),
            false,
        );
        check_apply(
            "Enablement_EndUser_Assignment",
            json!({"enabledRules": ["MultiFactorAuthentication", "Ticketing"]}),
            true,
        );
        check_apply(
            "Enablement_EndUser_Assignment",
            json!({"enabledRules": ["Telepathy"]}),
            false,
        );
        check_apply("Nope_Rule", json!({}), false);
        let approver = json!({"@odata.type": "#microsoft.graph.singleUser", "userId": "62e90394-69f5-4237-9190-012177145e10"});
        let stage = |approvers: Value| json!({"approvalStageTimeOutInDays": 1, "primaryApprovers": approvers, "minimumApprovals": 2});
        let setting = |stages: Value| {
            json!({"@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyApprovalRule", "setting": {
            "@odata.type": "#microsoft.graph.approvalSettings", "isApprovalRequired": true, "isApprovalRequiredForExtension": false,
            "isRequestorJustificationRequired": true, "approvalMode": "Serial", "approvalStages": stages}})
        };
        check_apply(
            "Approval_EndUser_Assignment",
            setting(json!([stage(json!([approver]))])),
            true,
        );
        // No approvers named: the role administrators of the moment decide.
        check_apply(
            "Approval_EndUser_Assignment",
            setting(json!([stage(json!([]))])),
            true,
        );
        check_apply("Approval_EndUser_Assignment", setting(json!([])), false);
        let four = json!([
            stage(json!([approver])),
            stage(json!([approver])),
            stage(json!([approver])),
            stage(json!([approver]))
        ]);
        check_apply("Approval_EndUser_Assignment", setting(four), false);
        check_apply(
            "Approval_EndUser_Assignment",
            setting(json!([stage(
                json!([{"@odata.type": "#microsoft.graph.requestorManager"}])
            )])),
            true,
        );
        check_apply(
            "Notification_Admin_EndUser_Assignment",
            json!({"notificationType": "Email", "recipientType": "Admin",
            "notificationLevel": "Critical", "isDefaultRecipientsEnabled": false, "notificationRecipients": ["soc@contoso.example"]}),
            true,
        );
        check_apply(
            "Notification_Admin_EndUser_Assignment",
            json!({"notificationType": "Email", "recipientType": "Admin",
            "notificationLevel": "Loud", "isDefaultRecipientsEnabled": false, "notificationRecipients": ["not-an-address"]}),
            false,
        );
    }

    #[test]
    fn policy_ids_name_what_they_govern() {
        let role = "62e90394-69f5-4237-9190-012177145e10";
        for (t, scope, r) in [
            (ScopeType::DirectoryRole, "/", role),
            (
                ScopeType::Group,
                "0b3c5a4e-9a8b-4b7c-8a3e-1f2d3c4b5a69",
                "member",
            ),
        ] {
            let id = RolePolicy::id_for(t, scope, r);
            assert_eq!(
                RolePolicy::parse_id(&id),
                Some((t, scope.to_string(), r.to_string())),
                "{id}"
            );
        }
        assert_eq!(RolePolicy::parse_id("DirectoryRole_nope"), None);
        // A directory role's settings exist at the root only: nothing decides by another's.
        let scoped = RolePolicy::id_for(ScopeType::DirectoryRole, "/administrativeUnits/x", role);
        assert_eq!(RolePolicy::parse_id(&scoped), None);
        assert_eq!(
            RolePolicy::parse_id("Group_0b3c5a4e-9a8b-4b7c-8a3e-1f2d3c4b5a69_admin"),
            None
        );
        assert_eq!(RolePolicy::parse_id("Other"), None);
    }

    #[test]
    fn policy_ids_answer_their_guid_in_lower_case() {
        let lower = "62e90394-69f5-4237-9190-012177145e10";
        for written in [
            "DirectoryRole_62E90394-69F5-4237-9190-012177145E10",
            "DirectoryRole_62E90394-69F5-4237-9190-012177145E10_~",
            "DirectoryRole_{62E90394-69F5-4237-9190-012177145E10}",
            "DirectoryRole_62E9039469F542379190012177145E10",
        ] {
            assert_eq!(
                RolePolicy::parse_id(written),
                Some((ScopeType::DirectoryRole, "/".to_string(), lower.to_string())),
                "{written}"
            );
        }
        assert_eq!(
            RolePolicy::parse_id("Group_0B3C5A4E-9A8B-4B7C-8A3E-1F2D3C4B5A69_member"),
            Some((
                ScopeType::Group,
                "0b3c5a4e-9a8b-4b7c-8a3e-1f2d3c4b5a69".to_string(),
                "member".to_string()
            ))
        );
    }

    #[test]
    fn rules_round_trip_through_json() {
        let r = PolicyRules::default();
        let back: PolicyRules = serde_json::from_value(serde_json::to_value(&r).unwrap()).unwrap();
        assert_eq!(back, r);
    }
}
