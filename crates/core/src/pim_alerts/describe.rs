//! One incident said in a line for people (mails, the portal, the CLI): who it names, what they
//! hold, and the counts it carries, read from the incident's Graph fields so every kind —
//! Eligo's own included — is said without a case per kind.

use serde_json::Value;

/// The fields naming a person or an account, the first present wins.
const WHO: [&str; 5] = [
    "assigneeDisplayName",
    "principalDisplayName",
    "accountUserPrincipalName",
    "memberDisplayName",
    "downstreamMember",
];

/// The user names shown beside a display name.
const UPN: [&str; 2] = ["assigneeUserPrincipalName", "principalUserPrincipalName"];

/// The fields naming what is held, each shown when present.
const WHAT: [(&str, &str); 6] = [
    ("roleDisplayName", "role"),
    ("accessPackageDisplayName", "access package"),
    (
        "conflictingAccessPackageDisplayName",
        "conflicts with access package",
    ),
    ("conflictingGroupDisplayName", "conflicts with group"),
    ("groupDisplayName", "group"),
    ("downstreamGroup", "downstream group"),
];

/// Counts and times worth a reader's eye.
const EXTRA: [(&str, &str); 5] = [
    ("activationCount", "activations"),
    ("lastSignInDateTime", "last sign-in"),
    ("lastActivationDateTime", "last activation"),
    ("usedDateTime", "used"),
    ("ipAddress", "from"),
];

fn text(data: &Value, key: &str) -> Option<String> {
    match &data[key] {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `Ada Lovelace (ada@contoso.example) · role Global Administrator · activations 3`.
pub fn describe(data: &Value) -> String {
    let mut parts = Vec::new();
    if let Some(who) = WHO.iter().find_map(|k| text(data, k)) {
        match UPN.iter().find_map(|k| text(data, k)) {
            Some(upn) if upn != who => parts.push(format!("{who} ({upn})")),
            _ => parts.push(who),
        }
    }
    for (key, label) in WHAT.iter().chain(EXTRA.iter()) {
        if let Some(v) = text(data, key) {
            parts.push(format!("{label} {v}"));
        }
    }
    // A never-signed-in holder has a null last sign-in: say so rather than nothing.
    if data.get("lastSignInDateTime").is_some_and(Value::is_null) {
        parts.push("never signed in".into());
    }
    if parts.is_empty() {
        "(no details)".into()
    } else {
        parts.join(" · ")
    }
}

#[cfg(test)]
mod tests {
    use super::describe;
    use serde_json::json;

    #[test]
    fn names_the_person_the_role_and_the_counts() {
        let d = describe(&json!({
            "assigneeDisplayName": "Ada", "assigneeUserPrincipalName": "ada@contoso.example",
            "roleDisplayName": "Global Administrator", "activationCount": 3,
        }));
        assert_eq!(
            d,
            "Ada (ada@contoso.example) · role Global Administrator · activations 3"
        );
    }

    #[test]
    fn a_role_only_incident_and_a_never_signed_in_holder() {
        assert_eq!(
            describe(&json!({ "roleDisplayName": "Helpdesk Administrator" })),
            "role Helpdesk Administrator"
        );
        assert_eq!(
            describe(&json!({ "assigneeDisplayName": "Bo", "lastSignInDateTime": null })),
            "Bo · never signed in"
        );
        assert_eq!(describe(&json!({})), "(no details)");
    }
}
