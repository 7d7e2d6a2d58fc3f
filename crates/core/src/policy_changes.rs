//! What a role-settings save changed, setting by setting, in the words of the settings page:
//! "Activation maximum duration" from `PT8H` to `PT3H`, "Approvers (stage 1)" from one list of
//! ids to another. The audit entry of the save records these as its modified properties, and
//! the page that saved says them back ("Saved: Activation maximum duration 8 hours → 3
//! hours"). Pure: two sets of rules in, the differences out, in the order the page shows them.

use crate::duration::format_duration;
use crate::policy::{
    ApprovalSetting, ApprovalStage, Approver, Enablement, ExpirationRule, NotificationRule,
    PolicyRules,
};

/// What kind of value a setting holds, so a reader can say it in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// An ISO 8601 duration (`PT8H`).
    Duration,
    /// `Yes` or `No`.
    YesNo,
    /// A number.
    Number,
    /// Approvers: user and group ids, or "Requestor's manager", separated by ", ".
    Approvers,
    /// Anything else (a mode, e-mail addresses).
    Text,
}

/// One setting that changed. `old` and `new` are text (empty: none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The Graph rule the setting belongs to (`Expiration_EndUser_Assignment`).
    pub rule_id: String,
    /// The setting in words, as the settings page names it.
    pub setting: String,
    pub old: String,
    pub new: String,
    pub kind: ValueKind,
}

impl From<Change> for crate::audit::ModifiedProperty {
    fn from(c: Change) -> Self {
        Self {
            display_name: c.setting,
            old_value: c.old,
            new_value: c.new,
        }
    }
}

/// Every setting that differs between `old` and `new`, in the settings page's order.
pub fn changes(old: &PolicyRules, new: &PolicyRules) -> Vec<Change> {
    let mut out = Changes(Vec::new());
    for (rule_id, what, o, n) in [
        (
            "Expiration_EndUser_Assignment",
            "Activation",
            &old.expiration_end_user_assignment,
            &new.expiration_end_user_assignment,
        ),
        (
            "Expiration_Admin_Eligibility",
            "Eligible assignment",
            &old.expiration_admin_eligibility,
            &new.expiration_admin_eligibility,
        ),
        (
            "Expiration_Admin_Assignment",
            "Active assignment",
            &old.expiration_admin_assignment,
            &new.expiration_admin_assignment,
        ),
    ] {
        out.expiration(rule_id, what, o, n);
    }
    for (rule_id, what, o, n) in [
        (
            "Enablement_EndUser_Assignment",
            "Activation",
            &old.enablement_end_user_assignment,
            &new.enablement_end_user_assignment,
        ),
        (
            "Enablement_Admin_Eligibility",
            "Eligible assignment",
            &old.enablement_admin_eligibility,
            &new.enablement_admin_eligibility,
        ),
        (
            "Enablement_Admin_Assignment",
            "Active assignment",
            &old.enablement_admin_assignment,
            &new.enablement_admin_assignment,
        ),
    ] {
        out.enablement(rule_id, what, o, n);
    }
    out.approval(
        &old.approval_end_user_assignment,
        &new.approval_end_user_assignment,
    );
    let (o, n) = (
        &old.authentication_context_end_user_assignment,
        &new.authentication_context_end_user_assignment,
    );
    const AUTH_CONTEXT: &str = "AuthenticationContext_EndUser_Assignment";
    out.yes_no(
        AUTH_CONTEXT,
        "Activation requires an authentication context",
        o.is_enabled,
        n.is_enabled,
    );
    out.push(
        AUTH_CONTEXT,
        "Activation authentication context",
        o.claim_value.clone().unwrap_or_default(),
        n.claim_value.clone().unwrap_or_default(),
        ValueKind::Text,
    );
    for (id, n) in &new.notifications {
        let o = old
            .notifications
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, r)| r);
        out.notification(id, o, n);
    }
    // Whatever else differs (an approver's description, a notification's type) is still a
    // change: its rule as Graph writes it, so no save is recorded without what it changed.
    let (old_graph, new_graph) = (old.to_graph(), new.to_graph());
    for n in &new_graph {
        let id = n["id"].as_str().unwrap_or_default();
        let o = old_graph.iter().find(|o| o["id"] == n["id"]);
        if o != Some(n) && !out.0.iter().any(|c| c.rule_id == id) {
            out.push(
                id,
                id,
                o.map(|o| o.to_string()).unwrap_or_default(),
                n.to_string(),
                ValueKind::Text,
            );
        }
    }
    out.0
}

struct Changes(Vec<Change>);

impl Changes {
    fn push(&mut self, rule_id: &str, setting: &str, old: String, new: String, kind: ValueKind) {
        if old != new {
            self.0.push(Change {
                rule_id: rule_id.to_string(),
                setting: setting.to_string(),
                old,
                new,
                kind,
            });
        }
    }

    fn yes_no(&mut self, rule_id: &str, setting: &str, old: bool, new: bool) {
        self.push(rule_id, setting, yes_no(old), yes_no(new), ValueKind::YesNo);
    }

    fn number(&mut self, rule_id: &str, setting: &str, old: Option<u32>, new: Option<u32>) {
        let text = |n: Option<u32>| n.map(|n| n.to_string()).unwrap_or_default();
        self.push(rule_id, setting, text(old), text(new), ValueKind::Number);
    }

    fn expiration(&mut self, rule_id: &str, what: &str, o: &ExpirationRule, n: &ExpirationRule) {
        self.yes_no(
            rule_id,
            &format!("{what} expiration required"),
            o.is_expiration_required,
            n.is_expiration_required,
        );
        self.push(
            rule_id,
            &format!("{what} maximum duration"),
            format_duration(o.maximum_duration),
            format_duration(n.maximum_duration),
            ValueKind::Duration,
        );
    }

    fn enablement(&mut self, rule_id: &str, what: &str, o: &[Enablement], n: &[Enablement]) {
        for (e, words) in [
            (
                Enablement::MultiFactorAuthentication,
                "multifactor authentication",
            ),
            (Enablement::Justification, "justification"),
            (Enablement::Ticketing, "ticket information"),
        ] {
            self.yes_no(
                rule_id,
                &format!("{what} requires {words}"),
                o.contains(&e),
                n.contains(&e),
            );
        }
    }

    fn approval(&mut self, o: &ApprovalSetting, n: &ApprovalSetting) {
        const RULE: &str = "Approval_EndUser_Assignment";
        self.yes_no(
            RULE,
            "Activation requires approval",
            o.is_approval_required,
            n.is_approval_required,
        );
        self.yes_no(
            RULE,
            "Extension requires approval",
            o.is_approval_required_for_extension,
            n.is_approval_required_for_extension,
        );
        self.yes_no(
            RULE,
            "Requestor justification required",
            o.is_requestor_justification_required,
            n.is_requestor_justification_required,
        );
        self.push(
            RULE,
            "Approval mode",
            o.approval_mode.clone(),
            n.approval_mode.clone(),
            ValueKind::Text,
        );
        self.number(
            RULE,
            "Approval stages",
            Some(o.approval_stages.len() as u32),
            Some(n.approval_stages.len() as u32),
        );
        let stages = o.approval_stages.len().max(n.approval_stages.len());
        for i in 0..stages {
            self.stage(i + 1, o.approval_stages.get(i), n.approval_stages.get(i));
        }
    }

    /// One approval stage; a stage added or removed has no old or new values.
    fn stage(&mut self, number: usize, o: Option<&ApprovalStage>, n: Option<&ApprovalStage>) {
        const RULE: &str = "Approval_EndUser_Assignment";
        let s = |name: &str| format!("{name} (stage {number})");
        let approvers = |stage: Option<&ApprovalStage>, escalation: bool| {
            stage
                .map(|st| {
                    approvers_text(if escalation {
                        &st.escalation_approvers
                    } else {
                        &st.primary_approvers
                    })
                })
                .unwrap_or_default()
        };
        self.push(
            RULE,
            &s("Approvers"),
            approvers(o, false),
            approvers(n, false),
            ValueKind::Approvers,
        );
        self.number(
            RULE,
            &s("Minimum approvals"),
            o.map(|st| st.minimum_approvals),
            n.map(|st| st.minimum_approvals),
        );
        self.number(
            RULE,
            &s("Approval timeout in days"),
            o.map(|st| st.approval_stage_time_out_in_days),
            n.map(|st| st.approval_stage_time_out_in_days),
        );
        let flag = |st: Option<&ApprovalStage>, f: fn(&ApprovalStage) -> bool| {
            st.map(|st| yes_no(f(st))).unwrap_or_default()
        };
        self.push(
            RULE,
            &s("Approver justification required"),
            flag(o, |st| st.is_approver_justification_required),
            flag(n, |st| st.is_approver_justification_required),
            ValueKind::YesNo,
        );
        self.push(
            RULE,
            &s("Escalation"),
            flag(o, |st| st.is_escalation_enabled),
            flag(n, |st| st.is_escalation_enabled),
            ValueKind::YesNo,
        );
        self.number(
            RULE,
            &s("Escalation after minutes"),
            o.map(|st| st.escalation_time_in_minutes),
            n.map(|st| st.escalation_time_in_minutes),
        );
        self.push(
            RULE,
            &s("Escalation approvers"),
            approvers(o, true),
            approvers(n, true),
            ValueKind::Approvers,
        );
    }

    fn notification(&mut self, rule_id: &str, o: Option<&NotificationRule>, n: &NotificationRule) {
        let mut parts = rule_id.split('_').skip(1);
        let recipient = match parts.next() {
            Some("Admin") => "admins",
            Some("Requestor") => "the requestor",
            Some("Approver") => "approvers",
            _ => "recipients",
        };
        let when = match parts.collect::<Vec<_>>().join("_").as_str() {
            "Admin_Eligibility" => "a member is assigned as eligible",
            "Admin_Assignment" => "a member is assigned as active",
            _ => "an eligible member activates",
        };
        let s = |what: &str| format!("Notify {recipient} when {when}: {what}");
        self.push(
            rule_id,
            &s("level"),
            o.map(|r| r.notification_level.clone()).unwrap_or_default(),
            n.notification_level.clone(),
            ValueKind::Text,
        );
        self.push(
            rule_id,
            &s("default recipients"),
            o.map(|r| yes_no(r.is_default_recipients_enabled))
                .unwrap_or_default(),
            yes_no(n.is_default_recipients_enabled),
            ValueKind::YesNo,
        );
        self.push(
            rule_id,
            &s("additional recipients"),
            o.map(|r| r.notification_recipients.join(", "))
                .unwrap_or_default(),
            n.notification_recipients.join(", "),
            ValueKind::Text,
        );
    }
}

fn yes_no(b: bool) -> String {
    if b { "Yes" } else { "No" }.to_string()
}

/// What the audit page shows for the requestor's manager (ids are resolved to names there).
pub const REQUESTOR_MANAGER: &str = "Requestor's manager";

/// Approvers as text: user and group ids (the reader resolves them to names) and the manager.
pub fn approvers_text(approvers: &[Approver]) -> String {
    approvers
        .iter()
        .map(|a| match a {
            Approver::SingleUser { user_id, .. } => user_id.to_string(),
            Approver::GroupMembers { group_id, .. } => group_id.to_string(),
            Approver::RequestorManager { manager_level } if *manager_level <= 1 => {
                REQUESTOR_MANAGER.to_string()
            }
            Approver::RequestorManager { manager_level } => {
                format!("{REQUESTOR_MANAGER} (level {manager_level})")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;
    use uuid::Uuid;

    use super::*;

    fn settings(c: &[Change]) -> Vec<(&str, &str, &str)> {
        c.iter()
            .map(|c| (c.setting.as_str(), c.old.as_str(), c.new.as_str()))
            .collect()
    }

    #[test]
    fn the_same_rules_change_nothing() {
        let rules = PolicyRules::default();
        assert!(changes(&rules, &rules.clone()).is_empty());
    }

    #[test]
    fn each_changed_setting_is_named_in_words_with_old_and_new() {
        let old = PolicyRules::default();
        let mut new = old.clone();
        new.expiration_end_user_assignment.maximum_duration = TimeDelta::hours(3);
        new.enablement_end_user_assignment
            .retain(|e| *e != Enablement::MultiFactorAuthentication);
        new.enablement_end_user_assignment
            .push(Enablement::Ticketing);
        let approver = Uuid::from_u128(7);
        let group = Uuid::from_u128(9);
        new.approval_end_user_assignment.is_approval_required = true;
        new.approval_end_user_assignment.approval_stages[0].primary_approvers = vec![
            Approver::SingleUser {
                user_id: approver,
                description: None,
            },
            Approver::GroupMembers {
                group_id: group,
                description: None,
            },
            Approver::RequestorManager { manager_level: 1 },
        ];
        let c = changes(&old, &new);
        assert_eq!(
            settings(&c),
            [
                ("Activation maximum duration", "PT8H", "PT3H"),
                (
                    "Activation requires multifactor authentication",
                    "Yes",
                    "No"
                ),
                ("Activation requires ticket information", "No", "Yes"),
                ("Activation requires approval", "No", "Yes"),
                (
                    "Approvers (stage 1)",
                    "",
                    &*format!("{approver}, {group}, Requestor's manager")
                ),
            ]
        );
        assert_eq!(c[0].rule_id, "Expiration_EndUser_Assignment");
        assert_eq!(c[0].kind, ValueKind::Duration);
        assert_eq!(c[4].kind, ValueKind::Approvers);
    }

    #[test]
    fn an_added_stage_has_no_old_values_and_a_removed_one_no_new_ones() {
        let old = PolicyRules::default();
        let mut new = old.clone();
        let mut second = new.approval_end_user_assignment.approval_stages[0].clone();
        second.minimum_approvals = 2;
        new.approval_end_user_assignment
            .approval_stages
            .push(second);
        let added = changes(&old, &new);
        assert_eq!(
            settings(&added),
            [
                ("Approval stages", "1", "2"),
                ("Minimum approvals (stage 2)", "", "2"),
                ("Approval timeout in days (stage 2)", "", "1"),
                ("Approver justification required (stage 2)", "", "Yes"),
                ("Escalation (stage 2)", "", "No"),
                ("Escalation after minutes (stage 2)", "", "0"),
            ]
        );
        let removed = changes(&new, &old);
        assert!(
            removed
                .iter()
                .all(|c| c.setting == "Approval stages" || c.new.is_empty())
        );
    }

    #[test]
    fn a_difference_without_words_is_recorded_as_its_rule() {
        let old = PolicyRules::default();
        let mut new = old.clone();
        new.notifications[1].1.notification_type = "Teams".into();
        let c = changes(&old, &new);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].setting, "Notification_Requestor_Admin_Eligibility");
        assert!(c[0].old.contains("\"Email\"") && c[0].new.contains("\"Teams\""));
    }

    #[test]
    fn notifications_and_admin_rules_are_named_for_whom_and_when() {
        let old = PolicyRules::default();
        let mut new = old.clone();
        new.notifications[0].1.notification_recipients = vec!["soc@contoso.example".into()];
        new.expiration_admin_eligibility.is_expiration_required = false;
        new.enablement_admin_assignment.clear();
        assert_eq!(
            settings(&changes(&old, &new)),
            [
                ("Eligible assignment expiration required", "Yes", "No"),
                ("Active assignment requires justification", "Yes", "No"),
                (
                    "Notify admins when a member is assigned as eligible: additional recipients",
                    "",
                    "soc@contoso.example"
                ),
            ]
        );
    }
}
