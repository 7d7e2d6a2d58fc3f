//! Alert configurations (Graph's `unifiedRoleManagementAlertConfiguration` and its typed
//! subtypes): `isEnabled` on all, the thresholds of the configurable ones, with their defaults
//! and the validation of a PATCH (every problem an `Invalid` naming its field; nothing clamped).

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::{AlertKind, SCOPE_ID, SCOPE_TYPE};
use crate::duration::{format_duration, parse_duration};
use crate::invalid::Invalid;

/// A definition's configuration. Only the fields of its kind are present.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Configuration {
    pub is_enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global_admin_count_threshold: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percentage_of_global_admins_out_of_roles_threshold: Option<u32>,
    /// ISO 8601 (`P30D`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequential_activation_counter_threshold: Option<u32>,
    /// ISO 8601 (`PT1H`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_interval_between_activations: Option<String>,
}

pub const DEFAULT_GLOBAL_ADMIN_COUNT: u32 = 5;
pub const DEFAULT_GLOBAL_ADMIN_PERCENTAGE: u32 = 50;
pub const DEFAULT_DURATION: &str = "P30D";
pub const DEFAULT_SEQUENTIAL_COUNT: u32 = 2;
pub const DEFAULT_SEQUENTIAL_INTERVAL: &str = "PT1H";

/// The bounds a PATCH is held to (inclusive).
const COUNT_BOUNDS: (u64, u64) = (1, 10_000);
const PERCENT_BOUNDS: (u64, u64) = (1, 100);
const SEQUENTIAL_BOUNDS: (u64, u64) = (2, 100);

impl Configuration {
    /// The configuration before anyone changed it.
    pub fn default_for(kind: AlertKind) -> Self {
        let mut c = Self {
            is_enabled: true,
            global_admin_count_threshold: None,
            percentage_of_global_admins_out_of_roles_threshold: None,
            duration: None,
            sequential_activation_counter_threshold: None,
            time_interval_between_activations: None,
        };
        match kind {
            AlertKind::TooManyGlobalAdmins => {
                c.global_admin_count_threshold = Some(DEFAULT_GLOBAL_ADMIN_COUNT);
                c.percentage_of_global_admins_out_of_roles_threshold =
                    Some(DEFAULT_GLOBAL_ADMIN_PERCENTAGE);
            }
            AlertKind::RedundantAssignment | AlertKind::StaleSignIn => {
                c.duration = Some(DEFAULT_DURATION.into());
            }
            AlertKind::SequentialActivationRenewals => {
                c.sequential_activation_counter_threshold = Some(DEFAULT_SEQUENTIAL_COUNT);
                c.time_interval_between_activations = Some(DEFAULT_SEQUENTIAL_INTERVAL.into());
            }
            _ => {}
        }
        c
    }

    /// The fields a PATCH of this kind may change (besides `@odata.type`).
    fn fields(kind: AlertKind) -> &'static [&'static str] {
        match kind {
            AlertKind::TooManyGlobalAdmins => &[
                "isEnabled",
                "globalAdminCountThreshold",
                "percentageOfGlobalAdminsOutOfRolesThreshold",
            ],
            AlertKind::RedundantAssignment | AlertKind::StaleSignIn => &["isEnabled", "duration"],
            AlertKind::SequentialActivationRenewals => &[
                "isEnabled",
                "sequentialActivationCounterThreshold",
                "timeIntervalBetweenActivations",
            ],
            _ => &["isEnabled"],
        }
    }

    /// Applies a PATCH body: every field is checked, and on any problem nothing changes and
    /// every problem is answered. Unknown or read-only fields are refused, values are never
    /// clamped, `@odata.type` (with or without `#microsoft.graph.`) must be this kind's.
    pub fn patch(&mut self, kind: AlertKind, body: &Value) -> Result<(), Vec<Invalid>> {
        let Some(obj) = body.as_object() else {
            return Err(vec![Invalid::new(
                "InvalidValue",
                "body",
                "the body must be a JSON object",
            )]);
        };
        let mut next = self.clone();
        let mut broken = Vec::new();
        let allowed = Self::fields(kind);
        for (key, value) in obj {
            if key == "@odata.type" {
                let expected = kind.configuration_type();
                let ok = value.as_str().is_some_and(|t| {
                    let t = t.trim_start_matches('#');
                    t.eq_ignore_ascii_case(&expected[1..])
                        || t.eq_ignore_ascii_case(expected.trim_start_matches("#microsoft.graph."))
                });
                if !ok {
                    broken.push(Invalid::new(
                        "InvalidValue",
                        "@odata.type",
                        format!("this configuration is a {expected}"),
                    ));
                }
                continue;
            }
            if !allowed.contains(&key.as_str()) {
                broken.push(Invalid::new(
                    "UnknownField",
                    key.clone(),
                    format!("{key} is not a setting of this alert's configuration"),
                ));
                continue;
            }
            match key.as_str() {
                "isEnabled" => match value.as_bool() {
                    Some(b) => next.is_enabled = b,
                    None => broken.push(Invalid::new(
                        "InvalidValue",
                        key.clone(),
                        "isEnabled must be true or false",
                    )),
                },
                "globalAdminCountThreshold" => {
                    if let Some(n) = integer(key, value, COUNT_BOUNDS, &mut broken) {
                        next.global_admin_count_threshold = Some(n);
                    }
                }
                "percentageOfGlobalAdminsOutOfRolesThreshold" => {
                    if let Some(n) = integer(key, value, PERCENT_BOUNDS, &mut broken) {
                        next.percentage_of_global_admins_out_of_roles_threshold = Some(n);
                    }
                }
                "sequentialActivationCounterThreshold" => {
                    if let Some(n) = integer(key, value, SEQUENTIAL_BOUNDS, &mut broken) {
                        next.sequential_activation_counter_threshold = Some(n);
                    }
                }
                "duration" => {
                    if let Some(d) = duration(
                        key,
                        value,
                        (TimeDelta::days(1), TimeDelta::days(365)),
                        &mut broken,
                    ) {
                        next.duration = Some(d);
                    }
                }
                "timeIntervalBetweenActivations" => {
                    if let Some(d) = duration(
                        key,
                        value,
                        (TimeDelta::minutes(1), TimeDelta::days(1)),
                        &mut broken,
                    ) {
                        next.time_interval_between_activations = Some(d);
                    }
                }
                _ => {}
            }
        }
        if broken.is_empty() {
            *self = next;
            Ok(())
        } else {
            Err(broken)
        }
    }

    /// As Graph's typed configuration, with the alert's id.
    pub fn to_graph(&self, tenant: Uuid, kind: AlertKind) -> Value {
        let mut out = Map::new();
        out.insert("@odata.type".into(), json!(kind.configuration_type()));
        out.insert("id".into(), json!(kind.id(tenant)));
        out.insert("alertDefinitionId".into(), json!(kind.id(tenant)));
        out.insert("scopeId".into(), json!(SCOPE_ID));
        out.insert("scopeType".into(), json!(SCOPE_TYPE));
        if let Value::Object(fields) = json!(self) {
            out.extend(fields);
        }
        Value::Object(out)
    }

    /// `globalAdminCountThreshold`, or its default.
    pub fn count_threshold(&self) -> u32 {
        self.global_admin_count_threshold
            .unwrap_or(DEFAULT_GLOBAL_ADMIN_COUNT)
    }

    /// `duration` (stale sign-ins, redundant assignments), or its default.
    pub fn duration(&self) -> TimeDelta {
        self.duration
            .as_deref()
            .and_then(|d| parse_duration(d).ok())
            .unwrap_or(TimeDelta::days(30))
    }

    /// `sequentialActivationCounterThreshold`, or its default.
    pub fn sequential_count(&self) -> u32 {
        self.sequential_activation_counter_threshold
            .unwrap_or(DEFAULT_SEQUENTIAL_COUNT)
    }

    /// `timeIntervalBetweenActivations`, or its default.
    pub fn sequential_interval(&self) -> TimeDelta {
        self.time_interval_between_activations
            .as_deref()
            .and_then(|d| parse_duration(d).ok())
            .unwrap_or(TimeDelta::hours(1))
    }

    /// `percentageOfGlobalAdminsOutOfRolesThreshold`, or its default.
    pub fn percentage_threshold(&self) -> u32 {
        self.percentage_of_global_admins_out_of_roles_threshold
            .unwrap_or(DEFAULT_GLOBAL_ADMIN_PERCENTAGE)
    }
}

fn integer(
    key: &str,
    value: &Value,
    (lo, hi): (u64, u64),
    broken: &mut Vec<Invalid>,
) -> Option<u32> {
    match value.as_u64().filter(|n| (lo..=hi).contains(n)) {
        Some(n) => u32::try_from(n).ok(),
        None => {
            broken.push(Invalid::new(
                "InvalidValue",
                key,
                format!("{key} must be a whole number from {lo} to {hi}"),
            ));
            None
        }
    }
}

fn duration(
    key: &str,
    value: &Value,
    (lo, hi): (TimeDelta, TimeDelta),
    broken: &mut Vec<Invalid>,
) -> Option<String> {
    let parsed = value
        .as_str()
        .and_then(|s| parse_duration(s).ok())
        .filter(|d| *d >= lo && *d <= hi);
    match parsed {
        Some(d) => Some(format_duration(d)),
        None => {
            broken.push(Invalid::new(
                "InvalidValue",
                key,
                format!(
                    "{key} must be an ISO 8601 duration from {} to {}",
                    format_duration(lo),
                    format_duration(hi)
                ),
            ));
            None
        }
    }
}
