//! The Notification tab: who gets mail for which event (an eligible or active assignment, an
//! activation), to the default recipients or not, to which other addresses, and whether only
//! the critical ones.

use eligo_core::policy::{NOTIFICATION_RULE_IDS, NotificationRule, PolicyRules, RolePolicy};
use eligo_store::Tx;
use serde_json::{Value, json};

use super::form::{Ctx, Group, Values, flag, on, put_rows, row_field, rows_of, text};
use super::principals;
use crate::error::ApiResult;
use crate::portal::page::FieldErrors;
use crate::service::directory::Kinds;

/// The rules this tab writes; saving it never sends another.
pub const RULES: [&str; 9] = NOTIFICATION_RULE_IDS;

const LEVELS: [(&str, &str); 3] = [
    ("All", "All notifications"),
    ("Critical", "Critical only"),
    ("None", "None (off)"),
];

/// What a rule is about: the event (with the heading of its part of the tab) and who it
/// goes to.
struct About {
    heading: &'static str,
    recipient: &'static str,
}

fn about(rule_id: &str) -> About {
    let heading = if rule_id.ends_with("Admin_Eligibility") {
        "When members are assigned as eligible"
    } else if rule_id.ends_with("Admin_Assignment") {
        "When members are assigned as active"
    } else {
        "When eligible members activate"
    };
    let recipient = match rule_id.split('_').nth(1) {
        Some("Admin") => "Alert to administrators",
        Some("Requestor") => "Notice to the assignee",
        _ => "Request to approvers",
    };
    About { heading, recipient }
}

fn field(i: usize, what: &str) -> String {
    format!("n{i}_{what}")
}

/// The lists of recipients the form shows (for "Add another recipient").
pub fn lists() -> Vec<String> {
    (0..NOTIFICATION_RULE_IDS.len())
        .map(|i| field(i, "recipients"))
        .collect()
}

/// The policy's notification rules in the order the tab shows them (its own order).
fn rules(policy: &PolicyRules) -> impl Iterator<Item = (usize, &str, &NotificationRule)> {
    NOTIFICATION_RULE_IDS
        .iter()
        .enumerate()
        .filter_map(|(i, id)| {
            policy
                .notifications
                .iter()
                .find(|(k, _)| k == id)
                .map(|(_, n)| (i, *id, n))
        })
}

/// The form's values for a stored policy.
pub fn values_of(policy: &RolePolicy) -> Values {
    let mut v = Values::new();
    for (i, _, n) in rules(&policy.rules) {
        v.insert(field(i, "level"), n.notification_level.clone());
        v.insert(field(i, "default"), flag(n.is_default_recipients_enabled));
        put_rows(
            &mut v,
            &field(i, "recipients"),
            n.notification_recipients.clone(),
        );
    }
    v
}

/// This tab's rules as the form sets them, or its field errors.
pub async fn rules_of(
    tx: &mut dyn Tx,
    listable: Kinds,
    policy: &RolePolicy,
    v: &Values,
    errors: &mut FieldErrors,
) -> ApiResult<Vec<(String, Value)>> {
    let mut out = Vec::new();
    for (i, id, n) in rules(&policy.rules) {
        let level = text(v, &field(i, "level"));
        if !LEVELS.iter().any(|(l, _)| *l == level) {
            errors.add(
                &field(i, "level"),
                "Choose all notifications, critical only or none.",
            );
        }
        let list = field(i, "recipients");
        let mut recipients: Vec<String> = Vec::new();
        for (position, (index, typed)) in rows_of(v, &list).into_iter().enumerate() {
            if typed.trim().is_empty() {
                continue;
            }
            let row = row_field(&list, index);
            match principals::recipient(tx, listable, &typed).await? {
                Ok(address) if eligo_core::directory::validate_mail(&address).is_err() => {
                    errors.add(
                        &row,
                        format!(
                            "Recipient {}: '{address}' is not an email address. Enter one such as soc@contoso.example.",
                            position + 1
                        ),
                    );
                }
                Ok(address) if recipients.contains(&address) => {}
                Ok(address) => recipients.push(address),
                Err(message) => errors.add(&row, format!("Recipient {}: {message}", position + 1)),
            }
        }
        out.push((
            id.to_string(),
            json!({
                "notificationType": n.notification_type,
                "recipientType": n.recipient_type,
                "notificationLevel": level,
                "isDefaultRecipientsEnabled": on(v, &field(i, "default")),
                "notificationRecipients": recipients,
            }),
        ));
    }
    Ok(out)
}

/// The field a refusal detail of the policy's validation belongs to.
pub fn field_of(rule: &str, inner: &str) -> Option<String> {
    let i = NOTIFICATION_RULE_IDS.iter().position(|n| *n == rule)?;
    Some(if inner.contains("Recipients") {
        field(i, "recipients")
    } else {
        field(i, "level")
    })
}

/// The tab's fieldsets: one per rule, under a heading per event.
pub fn groups(c: &Ctx) -> Vec<Group> {
    let mut out = Vec::new();
    let mut last_heading = "";
    for (i, id) in NOTIFICATION_RULE_IDS.iter().enumerate() {
        let a = about(id);
        let mut group = Group::new(
            a.recipient,
            vec![
                c.select(&field(i, "level"), "Which notifications", LEVELS.to_vec()),
                c.check(&field(i, "default"), "Send to the default recipients"),
                c.rows(
                    &field(i, "recipients"),
                    "Additional recipients",
                    "Recipient",
                    "Add another recipient",
                )
                .hint("An email address, or a user (the mail goes to their address)."),
            ],
        );
        if a.heading != last_heading {
            group.heading = Some(a.heading.to_string());
            last_heading = a.heading;
        }
        out.push(group);
    }
    out
}
