//! A SCIM connector's settings, as an administrator gives them (JSON, camelCase), checked field
//! by field so that every problem is answered at once, each named by its field.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::config::Secret;
use crate::connectors::SettingError;

/// Settings fields holding secrets (never shown back, never logged).
pub const SECRET_FIELDS: &[&str] = &["bearerToken"];

const FIELDS: &[&str] = &[
    "baseUrl",
    "bearerToken",
    "userNameFrom",
    "timeoutSeconds",
    "caCertificatePem",
];

/// The longest group id or displayName accepted as a target.
const MAX_TARGET_LEN: usize = 256;
const MAX_URL_LEN: usize = 2048;
const MAX_TOKEN_LEN: usize = 8192;
const DEFAULT_TIMEOUT_SECONDS: u64 = 10;
const TIMEOUT_RANGE: std::ops::RangeInclusive<u64> = 1..=120;

/// Which Eligo attribute is the SCIM `userName` downstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum UserNameFrom {
    #[default]
    UserPrincipalName,
    Mail,
}

/// How to reach one SCIM 2.0 service provider. Build it with [`ScimSettings::parse`], which checks
/// every field; `Debug` never shows the bearer token.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScimSettings {
    /// The SCIM base URL (`https://app.example/scim/v2`): `/Users` and `/Groups` live under it.
    pub base_url: String,
    pub bearer_token: Secret,
    #[serde(default)]
    pub user_name_from: UserNameFrom,
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
    /// PEM certificate(s) of a private CA to trust in addition to the system's.
    #[serde(default)]
    pub ca_certificate_pem: Option<String>,
}

fn default_timeout() -> u64 {
    DEFAULT_TIMEOUT_SECONDS
}

impl ScimSettings {
    /// Checks `value` and returns the settings, or every problem found, each named by its
    /// camelCase field.
    pub fn parse(value: &Value) -> Result<Self, Vec<SettingError>> {
        let Some(obj) = value.as_object() else {
            return Err(vec![SettingError::new("settings", "must be a JSON object")]);
        };
        let mut errors: Vec<SettingError> = obj
            .keys()
            .filter(|k| !FIELDS.contains(&k.as_str()))
            .map(|k| SettingError::new(k, "unknown setting"))
            .collect();
        let mut check = |field: &str, result: Result<(), String>| {
            if let Err(message) = result {
                errors.push(SettingError::new(field, message));
            }
        };
        check(
            "baseUrl",
            required_string(obj, "baseUrl").and_then(check_base_url),
        );
        check(
            "bearerToken",
            required_string(obj, "bearerToken").and_then(check_token),
        );
        check(
            "userNameFrom",
            check_user_name_from(obj.get("userNameFrom")),
        );
        check("timeoutSeconds", check_timeout(obj.get("timeoutSeconds")));
        check("caCertificatePem", check_ca(obj.get("caCertificatePem")));
        if !errors.is_empty() {
            return Err(errors);
        }
        serde_json::from_value(value.clone())
            .map_err(|e| vec![SettingError::new("settings", e.to_string())])
    }

    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.timeout_seconds)
    }
}

/// A target is a SCIM Group id or displayName.
pub fn validate_target(target: &str) -> Result<(), String> {
    if target.trim().is_empty() {
        return Err("the SCIM group (id or displayName) must not be empty".into());
    }
    if target.len() > MAX_TARGET_LEN {
        return Err(format!(
            "the SCIM group must be at most {MAX_TARGET_LEN} bytes"
        ));
    }
    if target.chars().any(char::is_control) {
        return Err("the SCIM group must not contain control characters".into());
    }
    if target.trim() != target {
        return Err("the SCIM group must not start or end with whitespace".into());
    }
    Ok(())
}

fn required_string<'a>(obj: &'a Map<String, Value>, field: &str) -> Result<&'a str, String> {
    match obj.get(field) {
        None | Some(Value::Null) => Err("is required".into()),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err("must be a string".into()),
    }
}

fn check_base_url(url: &str) -> Result<(), String> {
    if url.len() > MAX_URL_LEN {
        return Err(format!("must be at most {MAX_URL_LEN} characters"));
    }
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("is not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err("must be an http or https URL".into());
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err("must name a host".into());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("must not carry credentials (use bearerToken)".into());
    }
    if parsed.query().is_some() {
        return Err("must not have a query".into());
    }
    if parsed.fragment().is_some() {
        return Err("must not have a fragment".into());
    }
    Ok(())
}

fn check_token(token: &str) -> Result<(), String> {
    if token.is_empty() {
        return Err("must not be empty".into());
    }
    if token.len() > MAX_TOKEN_LEN {
        return Err(format!("must be at most {MAX_TOKEN_LEN} characters"));
    }
    // It travels in an HTTP header: visible ASCII only (RFC 6750's b64token and more).
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("must be printable ASCII without spaces".into());
    }
    Ok(())
}

fn check_user_name_from(value: Option<&Value>) -> Result<(), String> {
    match value {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(s)) if s == "userPrincipalName" || s == "mail" => Ok(()),
        Some(_) => Err("must be \"userPrincipalName\" or \"mail\"".into()),
    }
}

fn check_timeout(value: Option<&Value>) -> Result<(), String> {
    let range = || {
        format!(
            "must be a whole number of seconds from {} to {}",
            TIMEOUT_RANGE.start(),
            TIMEOUT_RANGE.end()
        )
    };
    match value {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(s) if TIMEOUT_RANGE.contains(&s) => Ok(()),
            _ => Err(range()),
        },
        Some(_) => Err(range()),
    }
}

fn check_ca(value: Option<&Value>) -> Result<(), String> {
    match value {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(pem)) => parse_ca(pem).map(|_| ()),
        Some(_) => Err("must be a string (PEM)".into()),
    }
}

/// The certificates of a PEM bundle (at least one).
pub(super) fn parse_ca(pem: &str) -> Result<Vec<reqwest::Certificate>, String> {
    let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
        .map_err(|e| format!("is not a PEM certificate: {e}"))?;
    if certs.is_empty() {
        return Err("holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into());
    }
    Ok(certs)
}
