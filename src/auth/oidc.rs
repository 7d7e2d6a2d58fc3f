//! OpenID Connect relying party (issue 19, item 1): the authorization code flow with PKCE
//! (S256) and a nonce, for the portal and the CLI. What it must never do: accept an ID token
//! that is unsigned, signed with the client secret (HS256), for another audience or issuer,
//! expired, or without the nonce of the request it answers; nor let a state be used twice,
//! late, or from another browser. State, nonce and PKCE verifier live in the store (any server
//! may finish a sign-in another started) under the state's SHA-256, taken once by the
//! callback. Tokens and the client secret are never logged.
//!
//! The crate's HTTP goes through Eligo's reqwest (rustls, ring) with redirects off.

use base64::Engine;
use chrono::{DateTime, TimeDelta, Utc};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdTokenVerifier, CoreJwsSigningAlgorithm,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use serde::{Deserialize, Serialize};

use crate::app::App;
pub use crate::auth::oidc_provider::OidcError;
use crate::auth::oidc_provider::{chain, send};
use crate::auth::token;
use crate::config::oidc::OidcProvider;
use eligo_store::SessionChannel;

/// How long a started sign-in may take to come back.
pub const PENDING_LIFETIME: TimeDelta = TimeDelta::minutes(10);
/// Clock difference tolerated for `iat` in the future.
const SKEW: TimeDelta = TimeDelta::seconds(60);

/// A sign-in under way, as kept in the store.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Pending {
    provider: String,
    nonce: String,
    pkce_verifier: String,
    redirect_uri: String,
    /// SHA-256 of the value that binds the sign-in to who started it (the portal's cookie, the
    /// CLI's secret).
    binding: String,
    next: String,
    channel: SessionChannel,
}

/// What a started sign-in hands back: where to send the person, and the binding value the
/// starter keeps (a cookie; the CLI's memory) and presents at the callback.
pub struct Started {
    pub authorize_url: String,
    pub state: String,
    pub binding: String,
}

/// What a verified ID token says about the person.
#[derive(Debug, Clone)]
pub struct Verified {
    pub provider: String,
    pub channel: SessionChannel,
    pub next: String,
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub preferred_username: Option<String>,
    pub upn: Option<String>,
    pub name: Option<String>,
    pub amr: Vec<String>,
    pub acr: Option<String>,
    pub auth_time: Option<DateTime<Utc>>,
    pub issued_at: DateTime<Utc>,
}

pub fn hash(value: &str) -> String {
    token::digest(value)
}

pub fn provider<'a>(app: &'a App, name: Option<&str>) -> Result<&'a OidcProvider, OidcError> {
    match name {
        Some(n) => app.config.oidc.iter().find(|p| p.name == n),
        None => app.config.oidc.first(),
    }
    .ok_or(OidcError::UnknownProvider)
}

/// The portal's redirect URI.
pub fn portal_redirect_uri(app: &App) -> String {
    format!("{}/auth/oidc/callback", app.config.public_url)
}

/// Starts a sign-in: a fresh state, nonce and PKCE pair, kept in the store for
/// `PENDING_LIFETIME`; answers the provider's authorization URL.
pub async fn begin(
    app: &App,
    provider: &OidcProvider,
    channel: SessionChannel,
    redirect_uri: String,
    next: String,
    acr: Option<&str>,
    address: Option<&str>,
) -> Result<Started, OidcError> {
    let now = app.clock.now();
    // Before anything is read from the provider or written to the store.
    if !app.oidc.starts.allow(address, now) {
        return Err(OidcError::TooManyStarts);
    }
    let meta = app.oidc.metadata(provider, now, false).await?;
    let redirect = RedirectUrl::new(redirect_uri.clone())
        .map_err(|e| OidcError::Unavailable(format!("redirect URI: {e}")))?;
    let client = CoreClient::from_provider_metadata(
        (*meta).clone(),
        ClientId::new(provider.client_id.clone()),
        None,
    )
    .set_redirect_uri(redirect);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scopes(provider.scopes.iter().cloned().map(Scope::new))
        .set_pkce_challenge(challenge);
    // An authentication context a policy asks for (step-up at the provider), proved anew: with
    // `max_age` the provider re-authenticates a sign-in older than the freshness window and must
    // send `auth_time`, without which the context would not count.
    if let Some(acr) = acr.filter(|a| valid_acr(a)) {
        request = request
            .add_auth_context_value(openidconnect::AuthenticationContextClass::new(
                acr.to_string(),
            ))
            .set_max_age(app.config.mfa_freshness.to_std().unwrap_or_default());
    }
    let (url, state, nonce) = request.url();
    let binding = token::generate("");
    let pending = Pending {
        provider: provider.name.clone(),
        nonce: nonce.secret().clone(),
        pkce_verifier: verifier.secret().clone(),
        redirect_uri,
        binding: hash(&binding),
        next,
        channel,
    };
    let data = serde_json::to_value(&pending).expect("pending sign-in serializes");
    app.store
        .oidc_pending_put(&hash(state.secret()), now + PENDING_LIFETIME, &data, now)
        .await
        .map_err(|e| OidcError::Unavailable(format!("store: {e}")))?;
    Ok(Started {
        authorize_url: url.to_string(),
        state: state.secret().clone(),
        binding,
    })
}

/// An `acr` value worth passing on: short, printable, no spaces.
pub fn valid_acr(acr: &str) -> bool {
    !acr.is_empty() && acr.len() <= 200 && acr.bytes().all(|b| b.is_ascii_graphic())
}

const ASYMMETRIC: [CoreJwsSigningAlgorithm; 9] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EdDsa,
];

/// Finishes a sign-in: takes the pending state (once), checks it belongs to `binding` and is
/// not too old, redeems the code with the PKCE verifier, and verifies the ID token.
pub async fn finish(
    app: &App,
    state: &str,
    code: &str,
    binding: Option<&str>,
    iss: Option<&str>,
) -> Result<Verified, OidcError> {
    let now = app.clock.now();
    let taken = app
        .store
        .oidc_pending_take(&hash(state))
        .await
        .map_err(|e| OidcError::Unavailable(format!("store: {e}")))?;
    let Some((expires_at, data)) = taken else {
        return Err(OidcError::State("unknownState"));
    };
    let pending: Pending = serde_json::from_value(data)
        .map_err(|e| OidcError::Unavailable(format!("stored sign-in: {e}")))?;
    if binding.is_none_or(|b| !token::digests_equal(&hash(b), &pending.binding)) {
        return Err(OidcError::State("stateFromAnotherBrowser"));
    }
    if now >= expires_at {
        return Err(OidcError::State("stateExpired"));
    }
    let provider = provider(app, Some(&pending.provider))?;
    let meta = app.oidc.metadata(provider, now, false).await?;
    // RFC 9207: a provider that names itself in the response must be the one asked (a mix-up
    // between several providers sends one's code to another).
    if let Some(iss) = iss
        && iss != meta.issuer().as_str()
    {
        return Err(OidcError::IdToken(format!(
            "the authorization response came from {iss:?}, not the provider asked"
        )));
    }
    let redirect = RedirectUrl::new(pending.redirect_uri.clone())
        .map_err(|e| OidcError::Unavailable(format!("redirect URI: {e}")))?;
    let client = CoreClient::from_provider_metadata(
        (*meta).clone(),
        ClientId::new(provider.client_id.clone()),
        provider
            .client_secret
            .as_ref()
            .map(|s| ClientSecret::new(s.expose().to_string())),
    )
    .set_redirect_uri(redirect);
    let http = app.oidc.http.clone();
    let http_client = move |req| send(http.clone(), req);
    let response = client
        .exchange_code(AuthorizationCode::new(code.to_string()))
        .map_err(|e| OidcError::Unavailable(format!("token endpoint: {e}")))?
        .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
        .request_async(&http_client)
        .await
        .map_err(|e| match e {
            openidconnect::RequestTokenError::ServerResponse(r) => {
                OidcError::CodeRejected(r.error().to_string())
            }
            openidconnect::RequestTokenError::Request(e) => {
                OidcError::Unavailable(format!("token endpoint: {e}"))
            }
            other => OidcError::Unavailable(format!("token endpoint: {}", chain(&other))),
        })?;
    let _ = response.access_token();
    let id_token = response
        .id_token()
        .ok_or_else(|| OidcError::IdToken("the token response has no ID token".into()))?;
    let clock = app.clock.clone();
    let iat_clock = app.clock.clone();
    // A public-client verifier: it never accepts a MAC keyed with the client secret.
    let verifier = CoreIdTokenVerifier::new_public_client(
        ClientId::new(provider.client_id.clone()),
        meta.issuer().clone(),
        meta.jwks().clone(),
    )
    .set_allowed_algs(ASYMMETRIC)
    .set_time_fn(move || clock.now())
    .set_issue_time_verifier_fn(move |iat| {
        let now = iat_clock.now();
        if iat > now + SKEW {
            Err(format!("issued in the future ({iat})"))
        } else if iat < now - PENDING_LIFETIME {
            Err(format!("issued too long ago ({iat})"))
        } else {
            Ok(())
        }
    });
    let claims = id_token
        .claims(&verifier, &Nonce::new(pending.nonce.clone()))
        .map_err(|e| OidcError::IdToken(e.to_string()))?;
    // `upn` (Entra ID) is not a standard claim: read from the payload whose signature was
    // verified just above.
    let upn = payload_claim(&id_token.to_string(), "upn");
    let text = |c: Option<&openidconnect::EndUserEmail>| c.map(|v| v.as_str().to_string());
    Ok(Verified {
        provider: provider.name.clone(),
        channel: pending.channel,
        next: pending.next,
        subject: claims.subject().as_str().to_string(),
        email: text(claims.email()),
        email_verified: claims.email_verified() == Some(true),
        preferred_username: claims.preferred_username().map(|u| u.as_str().to_string()),
        upn,
        name: claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_string()),
        amr: claims
            .auth_method_refs()
            .map(|v| v.iter().map(|m| m.as_str().to_string()).collect())
            .unwrap_or_default(),
        acr: claims.auth_context_ref().map(|a| a.as_str().to_string()),
        auth_time: claims.auth_time(),
        issued_at: claims.issue_time(),
    })
}

fn payload_claim(jwt: &str, name: &str) -> Option<String> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    value.get(name)?.as_str().map(String::from)
}

/// RFC 8176 methods (and two common vendor ones) that prove more than a password.
const MFA_METHODS: &[&str] = &[
    "mfa", "mca", "otp", "hwk", "swk", "fido", "face", "fpt", "iris", "retina", "vbm", "sc", "pop",
    "sms", "tel", "ngcmfa",
];

/// Every RFC 8176 value, plus the vendor ones above: what a session records of the provider's
/// `amr` (nothing else, so a provider cannot name one of Eligo's own methods).
const KNOWN_METHODS: &[&str] = &[
    "face", "fpt", "geo", "hwk", "iris", "kba", "mca", "mfa", "otp", "pin", "pop", "pwd", "rba",
    "retina", "sc", "sms", "swk", "tel", "user", "vbm", "wia", "fido", "ngcmfa",
];

/// Did the provider say it used a second factor?
pub fn proves_mfa(amr: &[String]) -> bool {
    amr.iter().any(|m| MFA_METHODS.contains(&m.as_str()))
}

/// What the session records as its methods: `fed` (federated), then the provider's known ones.
pub fn session_amr(amr: &[String]) -> Vec<String> {
    let mut out = vec!["fed".to_string()];
    for m in amr {
        if KNOWN_METHODS.contains(&m.as_str()) && !out.contains(m) {
            out.push(m.clone());
        }
    }
    out
}

/// When the user authenticated at the provider: its `auth_time`, never later than now. None
/// without one: a token's issue time says when it was minted, and a provider re-issues tokens
/// from a sign-in hours old without asking anything, so it proves no recent factor.
pub fn auth_time(v: &Verified, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    v.auth_time.map(|at| at.min(now))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_second_factors_count() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(!proves_mfa(&v(&["pwd"])));
        assert!(!proves_mfa(&v(&[])));
        assert!(proves_mfa(&v(&["pwd", "otp"])));
        assert!(proves_mfa(&v(&["mfa"])));
        assert!(proves_mfa(&v(&["hwk"])));
        assert!(!proves_mfa(&v(&["bootstrap", "tap", "secret"])));
        assert_eq!(
            session_amr(&v(&["pwd", "tap", "bootstrap", "otp"])),
            ["fed", "pwd", "otp"]
        );
    }
}
