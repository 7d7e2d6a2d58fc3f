//! An identity provider as this server knows it: its discovered metadata and keys (cached), the
//! HTTP client that reads them, and why talking to it failed. Held by the server for its whole
//! life (`App`), below the sign-in flow that uses it (`crate::auth::oidc`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use openidconnect::IssuerUrl;
use openidconnect::core::CoreProviderMetadata;

use crate::config::oidc::OidcProvider;

/// How long discovered provider metadata (and its keys) is used before it is read again.
const METADATA_TTL: TimeDelta = TimeDelta::minutes(5);

/// Why a sign-in through a provider failed. `reason` is the audit trail's word for it.
#[derive(Debug)]
pub enum OidcError {
    /// No provider of that name is configured.
    UnknownProvider,
    /// The provider could not be reached, or answered nonsense (discovery, keys, token).
    Unavailable(String),
    /// The callback's state is unknown, already used, from another browser, or too old.
    State(&'static str),
    /// The provider sent the person back with an error (`access_denied`, ...).
    Denied(String),
    /// The provider refused the code (used already, expired, PKCE mismatch).
    CodeRejected(String),
    /// The ID token failed verification (signature, issuer, audience, expiry, nonce, ...).
    IdToken(String),
    /// Too many sign-ins started from this address, or from all, this minute
    /// (`auth::oidc_starts`).
    TooManyStarts,
}

impl OidcError {
    pub fn reason(&self) -> &'static str {
        match self {
            Self::UnknownProvider => "unknownProvider",
            Self::Unavailable(_) => "providerUnavailable",
            Self::State(r) => r,
            Self::Denied(_) => "providerDenied",
            Self::CodeRejected(_) => "codeRejected",
            Self::IdToken(_) => "idTokenInvalid",
            Self::TooManyStarts => "tooManyStarts",
        }
    }

    /// What a person (or the CLI) is told.
    pub fn message(&self) -> String {
        match self {
            Self::UnknownProvider => "There is no such single sign-on provider.".into(),
            Self::Unavailable(_) => "The identity provider cannot be reached right now. Try again later, or sign in another way.".into(),
            Self::State("stateExpired") => "The sign-in took too long. Start again.".into(),
            Self::State(_) => "This sign-in is not known here, was finished already, or was started in another browser. Start again.".into(),
            Self::Denied(e) => format!("The identity provider did not sign you in ({e})."),
            Self::CodeRejected(_) => "The identity provider refused to complete this sign-in (the code was used already or has expired). Start again.".into(),
            Self::IdToken(_) => "The identity provider's answer could not be verified, so you were not signed in.".into(),
            Self::TooManyStarts => "Too many sign-ins were started from your network just now. Wait a minute and try again.".into(),
        }
    }

    /// Detail for the audit trail and the log (never a token or secret).
    pub fn detail(&self) -> Option<&str> {
        match self {
            Self::Unavailable(d) | Self::Denied(d) | Self::CodeRejected(d) | Self::IdToken(d) => {
                Some(d)
            }
            _ => None,
        }
    }
}

/// A provider's metadata (with its keys) and when it was read.
type Discovered = (DateTime<Utc>, Arc<CoreProviderMetadata>);

/// Discovered metadata per provider, and the HTTP client that reads it.
pub struct Providers {
    pub(crate) http: reqwest::Client,
    /// How many sign-ins may start, per address and in all (threat-model rule 9).
    pub starts: crate::auth::oidc_starts::StartLimit,
    cache: Mutex<HashMap<String, Discovered>>,
}

impl Default for Providers {
    fn default() -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("Eligo/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the OIDC HTTP client builds with the ring TLS provider");
        Self {
            http,
            starts: Default::default(),
            cache: Mutex::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HttpError(String);

pub(crate) async fn send(
    http: reqwest::Client,
    req: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, HttpError> {
    let (parts, body) = req.into_parts();
    let resp = http
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await
        .map_err(|e| HttpError(without_url(e)))?;
    let mut out = axum::http::Response::builder().status(resp.status());
    for (k, v) in resp.headers() {
        out = out.header(k, v);
    }
    let body = resp.bytes().await.map_err(|e| HttpError(without_url(e)))?;
    out.body(body.to_vec())
        .map_err(|e| HttpError(e.to_string()))
}

fn without_url(e: reqwest::Error) -> String {
    let kind = if e.is_connect() {
        "connection failed"
    } else if e.is_timeout() {
        "timed out"
    } else {
        "request failed"
    };
    format!("{kind}: {}", chain(&e.without_url()))
}

impl Providers {
    /// The provider's metadata and keys, from the cache while fresh.
    pub(crate) async fn metadata(
        &self,
        provider: &OidcProvider,
        now: DateTime<Utc>,
        refresh: bool,
    ) -> Result<Arc<CoreProviderMetadata>, OidcError> {
        if !refresh
            && let Some((at, meta)) = self.cache.lock().expect("oidc cache").get(&provider.name)
            && now - *at < METADATA_TTL
            && *at <= now
        {
            return Ok(meta.clone());
        }
        let issuer = IssuerUrl::new(provider.issuer.clone())
            .map_err(|e| OidcError::Unavailable(format!("issuer URL: {e}")))?;
        let http = self.http.clone();
        let client = move |req| send(http.clone(), req);
        let meta = CoreProviderMetadata::discover_async(issuer, &client)
            .await
            .map_err(|e| OidcError::Unavailable(format!("discovery: {}", chain(&e))))?;
        let meta = Arc::new(meta);
        self.cache
            .lock()
            .expect("oidc cache")
            .insert(provider.name.clone(), (now, meta.clone()));
        Ok(meta)
    }
}

pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(inner) = cur {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        cur = inner.source();
    }
    s
}
