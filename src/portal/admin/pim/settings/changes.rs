//! The confirmation after a save says what changed, in the form's own words ("Activation
//! maximum duration: 8 hours → 3 hours."). It is worked out here from the policy before and
//! after the save, by each tab's `describe`; `what_changed` is the one function to replace
//! once the use case reports its changes itself.

use std::fmt::Display;

use eligo_core::policy::PolicyRules;

use super::principals::Names;
use super::{activation, assignment, notification};

/// The changes found so far, one sentence each.
#[derive(Default)]
pub struct Changes(Vec<String>);

impl Changes {
    /// "Label: off → on." when the switch moved.
    pub fn flag(&mut self, label: &str, before: bool, after: bool) {
        self.value(label, on_off(before), on_off(after));
    }

    /// "Label: before → after." when they differ.
    pub fn value(&mut self, label: &str, before: impl Display, after: impl Display) {
        let (before, after) = (before.to_string(), after.to_string());
        if before != after {
            self.0.push(format!("{label}: {before} → {after}."));
        }
    }

    /// A sentence of its own ("Approval stage 2 removed.").
    pub fn say(&mut self, sentence: String) {
        self.0.push(sentence);
    }
}

fn on_off(b: bool) -> &'static str {
    if b { "on" } else { "off" }
}

/// Every difference between two versions of a policy's rules, in words.
pub fn what_changed(before: &PolicyRules, after: &PolicyRules, names: &Names) -> Vec<String> {
    let mut c = Changes::default();
    activation::describe(before, after, names, &mut c);
    assignment::describe(before, after, &mut c);
    notification::describe(before, after, &mut c);
    c.0
}

/// The most sentences the message lists; it rides in a cookie, so it stays short.
const SHOWN: usize = 8;

/// The message after a save: "Saved. A. B." (at most `SHOWN` changes, then how many more),
/// or "Nothing changed." when the save changed nothing.
pub fn confirmation(changed_rules: usize, lines: &[String]) -> String {
    if changed_rules == 0 {
        return "Nothing changed.".into();
    }
    let mut text = String::from("Saved.");
    for line in lines.iter().take(SHOWN) {
        text.push(' ');
        text.push_str(line);
    }
    if lines.len() > SHOWN {
        let more = lines.len() - SHOWN;
        text.push_str(&format!(
            " And {more} more change{}.",
            if more == 1 { "" } else { "s" }
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;
    use eligo_core::policy::{Approver, Enablement};

    use super::*;

    #[test]
    fn the_confirmation_says_what_changed_in_words() {
        let before = PolicyRules::default();
        let mut after = before.clone();
        after.expiration_end_user_assignment.maximum_duration = TimeDelta::hours(3);
        after
            .enablement_end_user_assignment
            .push(Enablement::Ticketing);
        let lines = what_changed(&before, &after, &Names::default());
        assert_eq!(
            confirmation(2, &lines),
            "Saved. Activation maximum duration: 8 hours → 3 hours. Require ticket information on activation: off → on."
        );
        assert_eq!(confirmation(0, &[]), "Nothing changed.");
        assert!(what_changed(&before, &before, &Names::default()).is_empty());
    }

    #[test]
    fn stages_added_and_removed_are_named() {
        let before = PolicyRules::default();
        let mut after = before.clone();
        let approval = &mut after.approval_end_user_assignment;
        approval.is_approval_required = true;
        let mut second = approval.approval_stages[0].clone();
        second.primary_approvers = vec![Approver::RequestorManager { manager_level: 1 }];
        approval.approval_stages.push(second);
        let lines = what_changed(&before, &after, &Names::default());
        assert_eq!(
            lines,
            vec![
                "Require approval to activate: off → on.",
                "Approval stages: 1 → 2.",
                "Approval stage 2 added, approved by the requestor's manager.",
            ]
        );
        let back = what_changed(&after, &before, &Names::default());
        assert!(
            back.contains(&"Approval stage 2 removed.".to_string()),
            "{back:?}"
        );
    }

    #[test]
    fn a_long_list_is_cut_short() {
        let lines: Vec<String> = (1..=11).map(|i| format!("Change {i}.")).collect();
        let text = confirmation(11, &lines);
        assert!(text.ends_with("Change 8. And 3 more changes."), "{text}");
    }
}
