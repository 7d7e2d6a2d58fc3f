//! An alert's configuration form: `isEnabled` and the thresholds its definition has, read back
//! into the API's PATCH body. Values are passed as typed (a number when it reads as one), so the
//! core's validation judges them and its refusals land on their fields.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::portal::admin::directory::ticked;

/// A threshold the form shows when the alert's configuration has it: the Graph field (also the
/// form field's name), its label and whether it is a count.
pub struct Threshold {
    pub name: &'static str,
    pub label: &'static str,
    pub numeric: bool,
}

pub const THRESHOLDS: [Threshold; 5] = [
    Threshold {
        name: "globalAdminCountThreshold",
        label: "Raise when the Global Administrators number at least",
        numeric: true,
    },
    Threshold {
        name: "percentageOfGlobalAdminsOutOfRolesThreshold",
        label: "and are at least this percentage of everyone holding a role",
        numeric: true,
    },
    Threshold {
        name: "duration",
        label: "Look-back period (ISO 8601, e.g. P30D)",
        numeric: false,
    },
    Threshold {
        name: "sequentialActivationCounterThreshold",
        label: "Raise at this many activations in a row",
        numeric: true,
    },
    Threshold {
        name: "timeIntervalBetweenActivations",
        label: "each within this long of the one before (ISO 8601, e.g. PT1H)",
        numeric: false,
    },
];

/// A refusal's target (the Graph field) as the form field it came from.
pub fn field_of(target: &str) -> Option<&'static str> {
    if target == "isEnabled" {
        return Some("isEnabled");
    }
    THRESHOLDS.iter().find(|t| t.name == target).map(|t| t.name)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigForm {
    is_enabled: Option<String>,
    global_admin_count_threshold: Option<String>,
    percentage_of_global_admins_out_of_roles_threshold: Option<String>,
    duration: Option<String>,
    sequential_activation_counter_threshold: Option<String>,
    time_interval_between_activations: Option<String>,
}

impl ConfigForm {
    fn value(&self, name: &str) -> Option<&str> {
        match name {
            "globalAdminCountThreshold" => self.global_admin_count_threshold.as_deref(),
            "percentageOfGlobalAdminsOutOfRolesThreshold" => self
                .percentage_of_global_admins_out_of_roles_threshold
                .as_deref(),
            "duration" => self.duration.as_deref(),
            "sequentialActivationCounterThreshold" => {
                self.sequential_activation_counter_threshold.as_deref()
            }
            "timeIntervalBetweenActivations" => self.time_interval_between_activations.as_deref(),
            _ => None,
        }
    }

    /// The PATCH body: `isEnabled` from the box, and each threshold `current` has (the
    /// alert's configuration as the API answers it), as typed.
    pub fn body(&self, current: &Value) -> Value {
        let mut body = Map::new();
        body.insert("isEnabled".into(), json!(ticked(&self.is_enabled)));
        for t in THRESHOLDS.iter().filter(|t| current.get(t.name).is_some()) {
            let raw = self.value(t.name).unwrap_or("").trim();
            let v = match raw.parse::<u64>() {
                Ok(n) if t.numeric => json!(n),
                _ => json!(raw),
            };
            body.insert(t.name.into(), v);
        }
        Value::Object(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_alerts_own_thresholds_are_sent_as_typed() {
        let form = ConfigForm {
            is_enabled: None,
            global_admin_count_threshold: Some(" 3 ".into()),
            percentage_of_global_admins_out_of_roles_threshold: Some("many".into()),
            duration: Some("P10D".into()),
            sequential_activation_counter_threshold: None,
            time_interval_between_activations: None,
        };
        let current = json!({ "isEnabled": true, "globalAdminCountThreshold": 5,
                              "percentageOfGlobalAdminsOutOfRolesThreshold": 50 });
        assert_eq!(
            form.body(&current),
            json!({ "isEnabled": false, "globalAdminCountThreshold": 3,
                    "percentageOfGlobalAdminsOutOfRolesThreshold": "many" })
        );
    }
}
