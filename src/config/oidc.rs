//! OpenID Connect providers for single sign-on (issue 19, item 1): one from the environment
//! (`ELIGO_OIDC_*`), or several from the TOML file (`[[oidc]]`). The client secret is read
//! from a file only (`ELIGO_OIDC_CLIENT_SECRET_FILE`, `client_secret_file`): never from the
//! environment itself, and it never reaches `Debug` output or logs.

use std::path::PathBuf;

use anyhow::{Context, bail};
use serde::Deserialize;

use super::Secret;

/// Which claim of the ID token names the Eligo user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalClaim {
    /// The user whose mail (or, failing that, user principal name) is this address; only when
    /// the provider says `email_verified: true`.
    Email,
    /// The user whose user principal name is this (case-insensitive).
    PreferredUsername,
    /// Entra ID's `upn`: the user whose user principal name is this (case-insensitive).
    Upn,
    /// The user whose user principal name is exactly the subject.
    Sub,
}

impl PrincipalClaim {
    pub fn parse(v: &str) -> anyhow::Result<Self> {
        Ok(match v {
            "email" => Self::Email,
            "preferred_username" => Self::PreferredUsername,
            "upn" => Self::Upn,
            "sub" => Self::Sub,
            _ => bail!("ELIGO_OIDC_PRINCIPAL_CLAIM must be email, preferred_username, upn or sub"),
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::PreferredUsername => "preferred_username",
            Self::Upn => "upn",
            Self::Sub => "sub",
        }
    }
}

/// One identity provider.
#[derive(Debug, Clone)]
pub struct OidcProvider {
    /// Short name in URLs and the audit trail (`/auth/oidc/start?provider=NAME`).
    pub name: String,
    /// What the sign-in page says: "Sign in with {display_name}".
    pub display_name: String,
    /// The issuer URL; its `/.well-known/openid-configuration` is read.
    pub issuer: String,
    pub client_id: String,
    /// None: a public client (PKCE only).
    pub client_secret: Option<Secret>,
    /// Scopes asked for besides `openid`.
    pub scopes: Vec<String>,
    pub principal_claim: PrincipalClaim,
    /// Create an ordinary user (no roles) at the first sign-in of an unknown person.
    pub auto_create: bool,
}

/// `[[oidc]]` in the TOML file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileProvider {
    name: Option<String>,
    display_name: Option<String>,
    issuer: String,
    client_id: String,
    client_secret_file: Option<PathBuf>,
    scopes: Option<String>,
    principal_claim: Option<PrincipalClaim>,
    auto_create: Option<bool>,
}

fn scopes(v: &str) -> Vec<String> {
    v.split([' ', ','])
        .map(str::trim)
        .filter(|s| !s.is_empty() && *s != "openid")
        .map(String::from)
        .collect()
}

fn default_scopes() -> Vec<String> {
    vec!["email".into(), "profile".into()]
}

fn read_secret(path: &std::path::Path, what: &str) -> anyhow::Result<Secret> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading {what} {}", path.display()))?;
    Ok(Secret::new(text.trim_end_matches(['\n', '\r'])))
}

fn boolean(name: &str, v: &str) -> anyhow::Result<bool> {
    match v {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => bail!("{name} must be true or false"),
    }
}

pub fn from_file(list: Vec<FileProvider>) -> anyhow::Result<Vec<OidcProvider>> {
    list.into_iter()
        .enumerate()
        .map(|(i, f)| {
            let name = f.name.unwrap_or_else(|| {
                if i == 0 {
                    "default".into()
                } else {
                    format!("provider{}", i + 1)
                }
            });
            Ok(OidcProvider {
                display_name: f.display_name.unwrap_or_else(|| name.clone()),
                name,
                issuer: f.issuer,
                client_id: f.client_id,
                client_secret: f
                    .client_secret_file
                    .as_deref()
                    .map(|p| read_secret(p, "client_secret_file"))
                    .transpose()?,
                scopes: f
                    .scopes
                    .as_deref()
                    .map(scopes)
                    .unwrap_or_else(default_scopes),
                principal_claim: f.principal_claim.unwrap_or(PrincipalClaim::Email),
                auto_create: f.auto_create.unwrap_or(false),
            })
        })
        .collect()
}

/// The provider of `ELIGO_OIDC_*`, when `ELIGO_OIDC_ISSUER` is set; it replaces a file's
/// provider of the same name (`ELIGO_OIDC_NAME`, default `default`).
pub fn from_env(var: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Option<OidcProvider>> {
    let Some(issuer) = var("ELIGO_OIDC_ISSUER") else {
        if var("ELIGO_OIDC_CLIENT_ID").is_some() {
            bail!("ELIGO_OIDC_CLIENT_ID is set but ELIGO_OIDC_ISSUER is not");
        }
        return Ok(None);
    };
    if var("ELIGO_OIDC_CLIENT_SECRET").is_some() {
        bail!(
            "ELIGO_OIDC_CLIENT_SECRET is not read: put the secret in a file and name it in ELIGO_OIDC_CLIENT_SECRET_FILE"
        );
    }
    let client_id = var("ELIGO_OIDC_CLIENT_ID")
        .context("ELIGO_OIDC_ISSUER is set: ELIGO_OIDC_CLIENT_ID is needed too")?;
    let name = var("ELIGO_OIDC_NAME").unwrap_or_else(|| "default".into());
    Ok(Some(OidcProvider {
        display_name: var("ELIGO_OIDC_DISPLAY_NAME").unwrap_or_else(|| name.clone()),
        name,
        issuer,
        client_id,
        client_secret: var("ELIGO_OIDC_CLIENT_SECRET_FILE")
            .map(|p| read_secret(std::path::Path::new(&p), "ELIGO_OIDC_CLIENT_SECRET_FILE"))
            .transpose()?,
        scopes: var("ELIGO_OIDC_SCOPES")
            .as_deref()
            .map(scopes)
            .unwrap_or_else(default_scopes),
        principal_claim: var("ELIGO_OIDC_PRINCIPAL_CLAIM")
            .as_deref()
            .map(PrincipalClaim::parse)
            .transpose()?
            .unwrap_or(PrincipalClaim::Email),
        auto_create: var("ELIGO_OIDC_AUTO_CREATE")
            .as_deref()
            .map(|v| boolean("ELIGO_OIDC_AUTO_CREATE", v))
            .transpose()?
            .unwrap_or(false),
    }))
}

pub fn password_sign_in(v: &str) -> anyhow::Result<bool> {
    boolean("ELIGO_PASSWORD_SIGNIN", v)
}

/// Names are unique and URL-safe; issuers are URLs.
pub fn check(list: &[OidcProvider]) -> anyhow::Result<()> {
    for (i, p) in list.iter().enumerate() {
        if p.name.is_empty()
            || !p
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            bail!(
                "OIDC provider name {:?}: letters, digits, - and _ only",
                p.name
            );
        }
        if list[..i].iter().any(|q| q.name == p.name) {
            bail!("two OIDC providers are named {:?}", p.name);
        }
        if !issuer_is_safe(&p.issuer) {
            bail!(
                "OIDC provider {:?}: the issuer must be an https URL (plain http only on a \
                 loopback address, for a provider on this machine): its keys decide who signs in",
                p.name
            );
        }
        if p.client_id.is_empty() {
            bail!("OIDC provider {:?}: the client id is empty", p.name);
        }
    }
    Ok(())
}

/// An issuer whose documents and keys cannot be changed on the way: https, or plain http to
/// this machine's loopback only.
fn issuer_is_safe(issuer: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(issuer) else {
        return false;
    };
    match url.scheme() {
        "https" => url.host().is_some(),
        "http" => url.host_str().is_some_and(|host| {
            host.eq_ignore_ascii_case("localhost")
                || host
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_issuer_is_https_or_on_loopback() {
        for ok in [
            "https://login.microsoftonline.com/t/v2.0",
            "http://127.0.0.1:8080",
            "http://localhost:9000/realms/x",
            "http://[::1]:80",
        ] {
            assert!(issuer_is_safe(ok), "{ok}");
        }
        for bad in [
            "http://idp.example",
            "http://10.0.0.5",
            "http://127.0.0.1.evil.example",
            "ftp://idp.example",
            "idp.example",
            "https://",
        ] {
            assert!(!issuer_is_safe(bad), "{bad}");
        }
    }

    #[test]
    fn env_provider_reads_the_secret_from_a_file_only() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secret");
        std::fs::write(&file, "s3cret\n").unwrap();
        let path = file.to_string_lossy().to_string();
        let env = |k: &str| match k {
            "ELIGO_OIDC_ISSUER" => Some("https://idp.example".to_string()),
            "ELIGO_OIDC_CLIENT_ID" => Some("eligo".to_string()),
            "ELIGO_OIDC_CLIENT_SECRET_FILE" => Some(path.clone()),
            "ELIGO_OIDC_SCOPES" => Some("openid email,profile".to_string()),
            "ELIGO_OIDC_PRINCIPAL_CLAIM" => Some("upn".to_string()),
            _ => None,
        };
        let p = from_env(&env).unwrap().unwrap();
        assert_eq!(p.client_secret.as_ref().unwrap().expose(), "s3cret");
        assert_eq!(p.scopes, ["email", "profile"]);
        assert_eq!(p.principal_claim, PrincipalClaim::Upn);
        assert!(!p.auto_create);
        assert!(!format!("{p:?}").contains("s3cret"));
        let inline = |k: &str| match k {
            "ELIGO_OIDC_CLIENT_SECRET" => Some("x".to_string()),
            other => env(other),
        };
        assert!(from_env(&inline).is_err());
        let bad = |k: &str| match k {
            "ELIGO_OIDC_PRINCIPAL_CLAIM" => Some("name".to_string()),
            other => env(other),
        };
        assert!(from_env(&bad).is_err());
    }
}
