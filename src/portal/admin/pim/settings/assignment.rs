//! The Assignment tab: how long administrators may make someone eligible or active (or
//! whether permanently), and what they must give when they do.

use chrono::TimeDelta;
use eligo_core::policy::{Enablement, ExpirationRule, PolicyRules, RolePolicy};
use serde_json::{Value, json};

use super::form::{Bounds, Ctx, Group, Values, flag, on, put_duration, read_duration, words};
use crate::portal::page::FieldErrors;

/// The rules this tab writes; saving it never sends another.
pub const RULES: [&str; 4] = [
    "Expiration_Admin_Eligibility",
    "Expiration_Admin_Assignment",
    "Enablement_Admin_Eligibility",
    "Enablement_Admin_Assignment",
];

/// One kind of assignment (eligible, active), with the words of its inputs.
struct Kind {
    prefix: &'static str,
    legend: &'static str,
    permanent: &'static str,
    max: &'static str,
    enablement: [(&'static str, Enablement, &'static str); 3],
    expiration_rule: &'static str,
    enablement_rule: &'static str,
}

const KINDS: [Kind; 2] = [
    Kind {
        prefix: "elig",
        legend: "Eligible assignments",
        permanent: "Allow permanent eligible assignment",
        max: "Expire eligible assignments after",
        enablement: [
            (
                "mfa",
                Enablement::MultiFactorAuthentication,
                "Require multi-factor authentication to make someone eligible",
            ),
            (
                "justification",
                Enablement::Justification,
                "Require justification to make someone eligible",
            ),
            (
                "ticket",
                Enablement::Ticketing,
                "Require ticket information to make someone eligible",
            ),
        ],
        expiration_rule: "Expiration_Admin_Eligibility",
        enablement_rule: "Enablement_Admin_Eligibility",
    },
    Kind {
        prefix: "asg",
        legend: "Active assignments",
        permanent: "Allow permanent active assignment",
        max: "Expire active assignments after",
        enablement: [
            (
                "mfa",
                Enablement::MultiFactorAuthentication,
                "Require multi-factor authentication on active assignment",
            ),
            (
                "justification",
                Enablement::Justification,
                "Require justification on active assignment",
            ),
            (
                "ticket",
                Enablement::Ticketing,
                "Require ticket information on active assignment",
            ),
        ],
        expiration_rule: "Expiration_Admin_Assignment",
        enablement_rule: "Enablement_Admin_Assignment",
    },
];

/// The policy's own bound on any maximum duration (the API's validation says the same).
const LONGEST: TimeDelta = TimeDelta::days(3650);

fn rules_of_kind<'a>(
    rules: &'a PolicyRules,
    kind: &Kind,
) -> (&'a ExpirationRule, &'a Vec<Enablement>) {
    if kind.prefix == "elig" {
        (
            &rules.expiration_admin_eligibility,
            &rules.enablement_admin_eligibility,
        )
    } else {
        (
            &rules.expiration_admin_assignment,
            &rules.enablement_admin_assignment,
        )
    }
}

fn field(kind: &Kind, what: &str) -> String {
    format!("{}_{what}", kind.prefix)
}

/// The form's values for a stored policy.
pub fn values_of(policy: &RolePolicy) -> Values {
    let mut v = Values::new();
    for kind in &KINDS {
        let (expiration, enabled) = rules_of_kind(&policy.rules, kind);
        v.insert(
            field(kind, "permanent"),
            flag(!expiration.is_expiration_required),
        );
        put_duration(&mut v, &field(kind, "max"), expiration.maximum_duration);
        for (what, e, _) in &kind.enablement {
            v.insert(field(kind, what), flag(enabled.contains(e)));
        }
    }
    v
}

/// This tab's rules as the form sets them, or its field errors.
pub fn rules_of(v: &Values, least: TimeDelta, errors: &mut FieldErrors) -> Vec<(String, Value)> {
    let bounds = Bounds {
        least,
        most: LONGEST,
        what: "a maximum",
    };
    let mut out = Vec::new();
    for kind in &KINDS {
        if let Some(d) = read_duration(v, &field(kind, "max"), &bounds, errors) {
            out.push((
                kind.expiration_rule.to_string(),
                json!({
                    "isExpirationRequired": !on(v, &field(kind, "permanent")),
                    "maximumDuration": eligo_core::duration::format_duration(d),
                }),
            ));
        }
        let enabled: Vec<Enablement> = kind
            .enablement
            .iter()
            .filter(|(what, _, _)| on(v, &field(kind, what)))
            .map(|(_, e, _)| *e)
            .collect();
        out.push((
            kind.enablement_rule.to_string(),
            json!({ "enabledRules": enabled }),
        ));
    }
    out
}

/// The field a refusal detail of the policy's validation belongs to.
pub fn field_of(rule: &str) -> Option<String> {
    KINDS.iter().find_map(|k| {
        if rule == k.expiration_rule {
            Some(field(k, "max"))
        } else if rule == k.enablement_rule {
            Some(field(k, "mfa"))
        } else {
            None
        }
    })
}

/// The tab's fieldsets.
pub fn groups(c: &Ctx, least: TimeDelta) -> Vec<Group> {
    KINDS
        .iter()
        .map(|kind| {
            let mut fields = vec![
                c.check(&field(kind, "permanent"), kind.permanent),
                c.duration(&field(kind, "max"), kind.max).hint(&format!(
                    "At most; from {} to {}. With permanent assignment allowed, this bounds the ones that do end.",
                    words(least),
                    words(LONGEST)
                )),
            ];
            fields.extend(
                kind.enablement
                    .iter()
                    .map(|(what, _, label)| c.check(&field(kind, what), label)),
            );
            Group::new(kind.legend, fields)
        })
        .collect()
}
