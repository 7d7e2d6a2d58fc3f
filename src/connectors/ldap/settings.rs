//! The LDAP connector's settings: what they are, their defaults, and their validation (every
//! problem reported with its camelCase field name).

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::dn;
use super::import_settings::ImportSettings;
use crate::config::Secret;
use crate::connectors::SettingError;

/// Settings fields holding secrets (never shown back, never logged).
pub const SECRET_FIELDS: &[&str] = &["bindPassword"];

/// How to reach and use one LDAP directory (OpenLDAP, Active Directory, ...). `Debug` never
/// shows the bind password.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LdapSettings {
    /// `ldap://host[:port]` or `ldaps://host[:port]`.
    pub url: String,
    /// Upgrade an `ldap://` connection with StartTLS (refused with `ldaps://`).
    #[serde(default)]
    pub start_tls: bool,
    pub bind_dn: String,
    pub bind_password: Secret,
    /// Where users are searched (subtree).
    pub user_base_dn: String,
    /// The LDAP attribute users are matched on.
    #[serde(default)]
    pub user_attribute: UserAttribute,
    /// Which of Eligo's fields supplies the value matched.
    #[serde(default)]
    pub match_on: MatchOn,
    #[serde(default)]
    pub group_type: GroupType,
    /// The DN put into a groupOfNames when its last real member leaves (the schema requires a
    /// `member`); the bind DN when absent. Never reported as a member.
    #[serde(default)]
    pub empty_group_placeholder: Option<String>,
    /// A PEM CA certificate (or several) to trust, instead of the system's roots, for ldaps://
    /// and StartTLS.
    #[serde(default)]
    pub ca_certificate_pem: Option<String>,
    /// Bound on each operation, connecting included (1..=120).
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
    /// Read people and groups from this directory into Eligo (the connector is then also a
    /// source); absent: the connector only pushes memberships.
    #[serde(default)]
    pub import: Option<ImportSettings>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum UserAttribute {
    #[default]
    #[serde(rename = "uid")]
    Uid,
    #[serde(rename = "mail")]
    Mail,
    #[serde(rename = "userPrincipalName")]
    UserPrincipalName,
    #[serde(rename = "sAMAccountName")]
    SAmAccountName,
    #[serde(rename = "cn")]
    Cn,
}

impl UserAttribute {
    /// The LDAP attribute name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Uid => "uid",
            Self::Mail => "mail",
            Self::UserPrincipalName => "userPrincipalName",
            Self::SAmAccountName => "sAMAccountName",
            Self::Cn => "cn",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MatchOn {
    /// The part of the userPrincipalName before `@`.
    #[default]
    UpnPrefix,
    UserPrincipalName,
    Mail,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum GroupType {
    /// `member` holds member DNs; at least one is required.
    #[default]
    GroupOfNames,
    /// `memberUid` holds uids.
    PosixGroup,
}

fn default_timeout() -> u64 {
    10
}

const FIELDS: &[&str] = &[
    "url",
    "startTls",
    "bindDn",
    "bindPassword",
    "userBaseDn",
    "userAttribute",
    "matchOn",
    "groupType",
    "emptyGroupPlaceholder",
    "caCertificatePem",
    "timeoutSeconds",
    "import",
];

impl LdapSettings {
    /// Reads and checks settings; every problem found is reported, each with its field.
    pub fn parse(value: &Value) -> Result<Self, Vec<SettingError>> {
        let Some(object) = value.as_object() else {
            return Err(vec![SettingError::new("settings", "must be a JSON object")]);
        };
        let mut errors: Vec<SettingError> = object
            .keys()
            .filter(|key| !FIELDS.contains(&key.as_str()))
            .map(|key| {
                SettingError::new(key, format!("unknown field; known: {}", FIELDS.join(", ")))
            })
            .collect();
        let mut fields = Fields {
            object,
            errors: &mut errors,
        };
        let url: Option<String> = fields.required("url");
        let start_tls: Option<bool> = fields.optional("startTls");
        let bind_dn: Option<String> = fields.required("bindDn");
        let bind_password: Option<String> = fields.required("bindPassword");
        let user_base_dn: Option<String> = fields.required("userBaseDn");
        let _: Option<UserAttribute> = fields.optional("userAttribute");
        let _: Option<MatchOn> = fields.optional("matchOn");
        let _: Option<GroupType> = fields.optional("groupType");
        let placeholder: Option<String> = fields.optional("emptyGroupPlaceholder");
        let ca: Option<String> = fields.optional("caCertificatePem");
        let timeout: Option<u64> = fields.optional("timeoutSeconds");
        if let Some(import) = object.get("import") {
            ImportSettings::check(import, &mut errors);
        }

        if let Some(url) = &url {
            match check_url(url) {
                Err(e) => errors.push(SettingError::new("url", e)),
                Ok(true) if start_tls == Some(true) => errors.push(SettingError::new(
                    "startTls",
                    "StartTLS cannot be used with ldaps:// (already TLS); use ldap:// with \
                     startTls, or ldaps:// without",
                )),
                Ok(tls) => {
                    if ca.is_some() && !tls && start_tls != Some(true) {
                        errors.push(SettingError::new(
                            "caCertificatePem",
                            "a CA certificate is only used over TLS: use ldaps:// or startTls",
                        ));
                    }
                }
            }
        }
        for (field, dn) in [
            ("bindDn", &bind_dn),
            ("userBaseDn", &user_base_dn),
            ("emptyGroupPlaceholder", &placeholder),
        ] {
            if let Some(dn) = dn
                && let Err(e) = dn::validate(dn)
            {
                errors.push(SettingError::new(field, format!("not a valid DN: {e}")));
            }
        }
        if bind_password.as_deref().is_some_and(str::is_empty) {
            errors.push(SettingError::new(
                "bindPassword",
                "must not be empty (an empty password is an unauthenticated bind)",
            ));
        }
        if let Some(pem) = &ca
            && let Err(e) = tls_config(pem)
        {
            errors.push(SettingError::new("caCertificatePem", e));
        }
        if let Some(t) = timeout
            && !(1..=120).contains(&t)
        {
            errors.push(SettingError::new(
                "timeoutSeconds",
                "must be between 1 and 120",
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        serde_json::from_value(value.clone())
            .map_err(|e| vec![SettingError::new("settings", e.to_string())])
    }

    /// The DN kept in an otherwise empty groupOfNames.
    pub fn placeholder(&self) -> &str {
        self.empty_group_placeholder
            .as_deref()
            .unwrap_or(&self.bind_dn)
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_seconds)
    }
}

/// Reads fields one by one, so that every bad one is reported.
struct Fields<'a> {
    object: &'a Map<String, Value>,
    errors: &'a mut Vec<SettingError>,
}

impl Fields<'_> {
    fn optional<T: DeserializeOwned>(&mut self, name: &str) -> Option<T> {
        let value = self.object.get(name)?;
        match T::deserialize(value) {
            Ok(v) => Some(v),
            Err(e) => {
                self.errors.push(SettingError::new(name, e.to_string()));
                None
            }
        }
    }

    fn required<T: DeserializeOwned>(&mut self, name: &str) -> Option<T> {
        if !self.object.contains_key(name) {
            self.errors.push(SettingError::new(name, "required"));
            return None;
        }
        self.optional(name)
    }
}

/// `Ok(is_ldaps)` for `ldap://host[:port][/]` or `ldaps://host[:port][/]`.
fn check_url(url: &str) -> Result<bool, String> {
    let parsed =
        reqwest::Url::parse(url).map_err(|e| format!("not a URL ({e}); like ldaps://host:636"))?;
    let tls = match parsed.scheme() {
        "ldap" => false,
        "ldaps" => true,
        other => return Err(format!("scheme must be ldap or ldaps, not {other}")),
    };
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err("has no host".into());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("must not carry credentials (use bindDn and bindPassword)".into());
    }
    if !matches!(parsed.path(), "" | "/") || parsed.query().is_some() || parsed.fragment().is_some()
    {
        return Err("must be only scheme://host[:port] (no DN, attributes or filter)".into());
    }
    Ok(tls)
}

/// A rustls client configuration trusting exactly the CA certificates in `pem`.
pub(super) fn tls_config(pem: &str) -> Result<Arc<rustls::ClientConfig>, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;

    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        let cert = cert.map_err(|e| format!("unreadable PEM: {e}"))?;
        roots
            .add(cert)
            .map_err(|e| format!("not a usable CA certificate: {e}"))?;
    }
    if roots.is_empty() {
        return Err("holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into());
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| format!("TLS setup failed: {e}"))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Arc::new(config))
}
