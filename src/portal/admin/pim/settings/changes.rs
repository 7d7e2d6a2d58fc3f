//! The confirmation after a save says what changed, in the words the audit log records
//! ("Activation maximum duration: 8 hours → 3 hours."): the core's `policy_changes`, which the
//! use case returns with the saved policy, said with names (`audit::changes::Names`).

use eligo_core::policy_changes::Change;

use crate::portal::audit::changes::Names;

/// One sentence per changed setting.
pub fn lines(changes: &[Change], names: &Names) -> Vec<String> {
    changes
        .iter()
        .map(|c| {
            format!(
                "{}: {} → {}.",
                c.setting,
                names.said(&c.old),
                names.said(&c.new)
            )
        })
        .collect()
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
    use eligo_core::policy::{Enablement, PolicyRules};
    use eligo_core::policy_changes::changes;

    use super::*;

    #[test]
    fn the_confirmation_says_what_changed_in_words() {
        let before = PolicyRules::default();
        let mut after = before.clone();
        after.expiration_end_user_assignment.maximum_duration = TimeDelta::hours(3);
        after
            .enablement_end_user_assignment
            .push(Enablement::Ticketing);
        let lines = lines(&changes(&before, &after), &Names::default());
        assert_eq!(
            confirmation(2, &lines),
            "Saved. Activation maximum duration: 8 hours → 3 hours. Activation requires ticket information: No → Yes."
        );
        assert_eq!(confirmation(0, &[]), "Nothing changed.");
    }

    #[test]
    fn a_long_list_is_cut_short() {
        let lines: Vec<String> = (1..=11).map(|i| format!("Change {i}.")).collect();
        let text = confirmation(11, &lines);
        assert!(text.ends_with("Change 8. And 3 more changes."), "{text}");
    }
}
