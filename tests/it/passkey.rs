//! Passkeys (WebAuthn) as a second factor, in process, with a software authenticator written
//! here (ES256 with ring, attestation "none", CBOR by hand: the formats are small). Each rule of
//! the brief's security design is a test: registration needs the signed-in owner and a fresh
//! second factor, ceremonies are single use, bound and expire, a passkey replaces the code at
//! sign-in and step-up, and a foreign, removed, replayed, mis-signed or mis-addressed answer is
//! refused and audited. The main ceremonies run on SQLite and on PostgreSQL (the ceremonies
//! and the passkeys live in the shared store, so any server finishes what another began).

use axum::http::{Method, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::TimeDelta;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::harness::{NowUtc, PASSWORD, TestApp, code};

const ORIGIN: &str = "http://localhost:8400";

/// A software authenticator holding one credential.
pub struct SoftKey {
    pair: EcdsaKeyPair,
    pub id: Vec<u8>,
    /// The signature counter's last value (an assertion sends it plus one).
    pub counter: u32,
    /// Whether the authenticator says it verified the user (PIN, biometrics): the UV flag.
    pub verifies_user: bool,
    /// The origin the "browser" reports.
    pub origin: String,
    pub rp_id: String,
}

fn cbor_bytes(out: &mut Vec<u8>, b: &[u8]) {
    match b.len() {
        n if n < 24 => out.push(0x40 | u8::try_from(n).unwrap()),
        n if n < 256 => out.extend([0x58, u8::try_from(n).unwrap()]),
        n => {
            out.push(0x59);
            out.extend(u16::try_from(n).unwrap().to_be_bytes());
        }
    }
    out.extend(b);
}

fn cbor_text(out: &mut Vec<u8>, s: &str) {
    assert!(s.len() < 24);
    out.push(0x60 | u8::try_from(s.len()).unwrap());
    out.extend(s.as_bytes());
}

impl SoftKey {
    pub fn new() -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        Self {
            pair,
            id: uuid::Uuid::new_v4().as_bytes().to_vec(),
            counter: 0,
            verifies_user: true,
            origin: ORIGIN.into(),
            rp_id: "localhost".into(),
        }
    }

    fn client_data(&self, kind: &str, options: &Value) -> Vec<u8> {
        let challenge = options["publicKey"]["challenge"]
            .as_str()
            .expect("a challenge");
        json!({ "type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": false })
            .to_string()
            .into_bytes()
    }

    fn auth_data(&mut self, attested: bool) -> Vec<u8> {
        self.counter += 1;
        let mut d = Sha256::digest(self.rp_id.as_bytes()).to_vec();
        let uv = if self.verifies_user { 0x04 } else { 0 };
        d.push(if attested { 0x41 } else { 0x01 } | uv); // UP, UV (and AT)
        d.extend(self.counter.to_be_bytes());
        if attested {
            d.extend([0xAA; 16]); // AAGUID
            d.extend(u16::try_from(self.id.len()).unwrap().to_be_bytes());
            d.extend(&self.id);
            let point = self.pair.public_key().as_ref();
            // COSE_Key {1: 2 (EC2), 3: -7 (ES256), -1: 1 (P-256), -2: x, -3: y}
            d.extend([0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21]);
            cbor_bytes(&mut d, &point[1..33]);
            d.push(0x22);
            cbor_bytes(&mut d, &point[33..65]);
        }
        d
    }

    /// `navigator.credentials.create` answered: the attestation for `options`.
    pub fn create(&mut self, options: &Value) -> Value {
        let client = self.client_data("webauthn.create", options);
        let auth = self.auth_data(true);
        let mut att = vec![0xa3];
        cbor_text(&mut att, "fmt");
        cbor_text(&mut att, "none");
        cbor_text(&mut att, "attStmt");
        att.push(0xa0);
        cbor_text(&mut att, "authData");
        cbor_bytes(&mut att, &auth);
        json!({
            "id": B64.encode(&self.id),
            "rawId": B64.encode(&self.id),
            "type": "public-key",
            "response": {
                "attestationObject": B64.encode(&att),
                "clientDataJSON": B64.encode(&client),
            },
            "clientExtensionResults": {},
        })
    }

    /// `navigator.credentials.get` answered: the assertion for `options`.
    pub fn get(&mut self, options: &Value) -> Value {
        let client = self.client_data("webauthn.get", options);
        let auth = self.auth_data(false);
        let mut signed = auth.clone();
        signed.extend(Sha256::digest(&client));
        let sig = self.pair.sign(&SystemRandom::new(), &signed).unwrap();
        json!({
            "id": B64.encode(&self.id),
            "rawId": B64.encode(&self.id),
            "type": "public-key",
            "response": {
                "authenticatorData": B64.encode(&auth),
                "clientDataJSON": B64.encode(&client),
                "signature": B64.encode(sig.as_ref()),
                "userHandle": null,
            },
            "clientExtensionResults": {},
        })
    }
}

pub async fn app() -> TestApp {
    TestApp::configured(|c| c.public_url = ORIGIN.into()).await
}

/// The same on PostgreSQL (None, after the testkit's loud message, where there is none; under
/// CI the testkit starts one or fails).
async fn postgres_app() -> Option<TestApp> {
    TestApp::postgres_configured(|c| c.public_url = ORIGIN.into()).await
}

/// Registers a new passkey for the holder of `token` (who must be allowed to).
pub async fn register(t: &TestApp, token: &str, name: &str) -> (SoftKey, Value) {
    let mut key = SoftKey::new();
    let (status, options) = t
        .post(
            "/v1/me/authenticationMethods/passkeys/registrationOptions",
            token,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{options}");
    let (status, body) = t
        .post(
            "/v1/me/authenticationMethods/passkeys",
            token,
            json!({ "displayName": name, "publicKeyCredential": key.create(&options) }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    (key, body)
}

async fn anonymous(t: &TestApp, path: &str, body: Value) -> (StatusCode, Value) {
    t.call(Method::POST, path, None, Some(body)).await
}

async fn sign_in_options(t: &TestApp, nick: &str) -> (StatusCode, Value) {
    anonymous(
        t,
        "/v1/auth/passkeys/signInOptions",
        json!({ "username": format!("{nick}@contoso.example"), "password": PASSWORD }),
    )
    .await
}

async fn sign_in_with(
    t: &TestApp,
    nick: &str,
    options: &Value,
    answer: Value,
) -> (StatusCode, Value) {
    anonymous(
        t,
        "/v1/auth/passkeys/signIn",
        json!({ "username": format!("{nick}@contoso.example"), "ceremonyId": options["ceremonyId"], "publicKeyCredential": answer }),
    )
    .await
}

/// An API session of `nick` that proved a second factor just now (as the harness writes them).
async fn fresh_session(t: &TestApp, nick: &str) -> String {
    t.secrets
        .lock()
        .unwrap()
        .entry(nick.to_string())
        .or_default();
    t.sign_in(nick).await
}

async fn failures(t: &TestApp, activity: &str) -> Vec<Value> {
    let (_, body) = t
        .get(
            "/v1/auditLogs/directoryAudits?$top=999",
            crate::harness::BOOTSTRAP,
        )
        .await;
    body["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["activityDisplayName"] == activity && e["result"] == "failure")
        .cloned()
        .collect()
}

#[tokio::test]
async fn passkey_register_list_sign_in_and_step_up() {
    register_list_sign_in_and_step_up(app().await).await;
}

#[tokio::test]
async fn passkey_register_list_sign_in_and_step_up_on_postgres() {
    let Some(t) = postgres_app().await else {
        return;
    };
    register_list_sign_in_and_step_up(t).await;
}

async fn register_list_sign_in_and_step_up(t: TestApp) {
    // A person without any second factor registers a first passkey (the default policy lets
    // them), with a password session.
    t.user("ann").await;
    let token = t.password_sign_in("ann").await;
    let (mut key, created) = register(&t, &token, "YubiKey 5").await;
    assert_eq!(created["displayName"], "YubiKey 5");
    assert_eq!(created["aaGuid"], "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa");
    assert_eq!(
        created["@odata.type"],
        "#microsoft.graph.fido2AuthenticationMethod"
    );
    let (status, list) = t.get("/v1/me/authenticationMethods/passkeys", &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["value"].as_array().unwrap().len(), 1);
    assert!(
        list["value"][0].get("passkey").is_none(),
        "the key is not shown"
    );

    // Now the password alone no longer opens a session, on the API.
    let (status, body) = anonymous(
        &t,
        "/v1/auth/token",
        json!({ "username": "ann@contoso.example", "password": PASSWORD }),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");

    // Password, then the passkey: a session with MFA now.
    let (status, options) = sign_in_options(&t, "ann").await;
    assert_eq!(status, StatusCode::OK, "{options}");
    let answer = key.get(&options);
    let (status, body) = sign_in_with(&t, "ann", &options, answer).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["amr"], json!(["pwd", "fido"]));
    let session = body["access_token"].as_str().unwrap().to_string();
    let (_, me) = t.get("/v1/me", &session).await;
    assert_eq!(me["session"]["amr"], json!(["pwd", "fido"]));
    assert!(me["session"]["lastMfaDateTime"].is_string());

    // Later, the MFA is stale; a passkey step-up makes it fresh again.
    t.clock.advance(TimeDelta::minutes(30));
    let (status, options) = t
        .post("/v1/auth/passkeys/stepUpOptions", &session, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{options}");
    let (status, body) = t
        .post(
            "/v1/auth/passkeys/stepUp",
            &session,
            json!({ "publicKeyCredential": key.get(&options) }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["amr"], json!(["pwd", "fido"]));
    let (_, me) = t.get("/v1/me", &session).await;
    assert_eq!(
        me["session"]["lastMfaDateTime"]
            .as_str()
            .map(|s| s.parse::<chrono::DateTime<chrono::Utc>>().unwrap()),
        Some(t.clock.now_utc())
    );
    let (_, list) = t
        .get("/v1/me/authenticationMethods/passkeys", &session)
        .await;
    assert!(list["value"][0]["lastUsedDateTime"].is_string());
}

#[tokio::test]
async fn passkey_registration_needs_fresh_mfa_of_an_existing_factor() {
    let t = app().await;
    let p = t.person("bob").await; // TOTP, fresh
    t.clock.advance(TimeDelta::minutes(30));
    let (status, body) = t
        .post(
            "/v1/me/authenticationMethods/passkeys/registrationOptions",
            &p.token,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // Options taken while fresh, answered when stale: refused, nothing stored.
    let token = t.sign_in("bob").await;
    t.clock.advance(TimeDelta::minutes(9));
    let (status, options) = t
        .post(
            "/v1/me/authenticationMethods/passkeys/registrationOptions",
            &token,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{options}");
    t.clock.advance(TimeDelta::minutes(2));
    let mut key = SoftKey::new();
    let (status, body) = t
        .post(
            "/v1/me/authenticationMethods/passkeys",
            &token,
            json!({ "publicKeyCredential": key.create(&options) }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (_, list) = t.get("/v1/me/authenticationMethods/passkeys", &token).await;
    assert_eq!(list["value"], json!([]));
    // With a fresh step-up, it works; other sessions of the account end (a factor changed).
    let other = t.sign_in("bob").await;
    let fresh = t.sign_in("bob").await;
    register(&t, &fresh, "second").await;
    let (status, _) = t.get("/v1/me", &other).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn passkey_ceremonies_are_single_use_bound_and_expire() {
    ceremonies_are_single_use_bound_and_expire(app().await).await;
}

#[tokio::test]
async fn passkey_ceremonies_are_single_use_bound_and_expire_on_postgres() {
    let Some(t) = postgres_app().await else {
        return;
    };
    ceremonies_are_single_use_bound_and_expire(t).await;
}

async fn ceremonies_are_single_use_bound_and_expire(t: TestApp) {
    t.user("cat").await;
    t.user("dan").await;
    let cat = t.password_sign_in("cat").await;
    let dan = t.password_sign_in("dan").await;

    // A registration begun by Cat's session cannot be completed by Dan's.
    let (_, options) = t
        .post(
            "/v1/me/authenticationMethods/passkeys/registrationOptions",
            &cat,
            json!({}),
        )
        .await;
    let mut key = SoftKey::new();
    let answer = key.create(&options);
    let (status, body) = t
        .post(
            "/v1/me/authenticationMethods/passkeys",
            &dan,
            json!({ "publicKeyCredential": answer.clone() }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(code(&body), "NoPendingCeremony");
    // Nor by another session of Cat's.
    let cat2 = t.password_sign_in("cat").await;
    let (status, _) = t
        .post(
            "/v1/me/authenticationMethods/passkeys",
            &cat2,
            json!({ "publicKeyCredential": answer.clone() }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Expired after 5 minutes.
    t.clock.advance(TimeDelta::minutes(6));
    let (status, body) = t
        .post(
            "/v1/me/authenticationMethods/passkeys",
            &cat,
            json!({ "publicKeyCredential": answer }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(code(&body), "NoPendingCeremony");
    let (_, list) = t.get("/v1/me/authenticationMethods/passkeys", &cat).await;
    assert_eq!(list["value"], json!([]));

    // A registration answered twice: the second is refused.
    let (_, options) = t
        .post(
            "/v1/me/authenticationMethods/passkeys/registrationOptions",
            &cat,
            json!({}),
        )
        .await;
    let answer = key.create(&options);
    let (status, _) = t
        .post(
            "/v1/me/authenticationMethods/passkeys",
            &cat,
            json!({ "publicKeyCredential": answer.clone() }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = t
        .post(
            "/v1/me/authenticationMethods/passkeys",
            &cat,
            json!({ "publicKeyCredential": answer }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // A sign-in assertion replayed: refused.
    let (_, options) = sign_in_options(&t, "cat").await;
    let answer = key.get(&options);
    let (status, _) = sign_in_with(&t, "cat", &options, answer.clone()).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = sign_in_with(&t, "cat", &options, answer).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(code(&body), "InvalidCredentials");

    // Cat's ceremony answered under Dan's name: refused.
    let (_, options) = sign_in_options(&t, "cat").await;
    let answer = key.get(&options);
    let (status, _) = sign_in_with(&t, "dan", &options, answer).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // A step-up assertion replayed: the ceremony is spent.
    let (_, options) = t
        .post("/v1/auth/passkeys/stepUpOptions", &cat, json!({}))
        .await;
    let answer = key.get(&options);
    let (status, _) = t
        .post(
            "/v1/auth/passkeys/stepUp",
            &cat,
            json!({ "publicKeyCredential": answer.clone() }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = t
        .post(
            "/v1/auth/passkeys/stepUp",
            &cat,
            json!({ "publicKeyCredential": answer }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(code(&body), "NoPendingCeremony");
}

#[tokio::test]
async fn passkey_foreign_removed_mis_signed_or_mis_addressed_answers_are_refused() {
    foreign_removed_mis_signed_or_mis_addressed_answers_are_refused(app().await).await;
}

#[tokio::test]
async fn passkey_foreign_removed_mis_signed_or_mis_addressed_answers_are_refused_on_postgres() {
    let Some(t) = postgres_app().await else {
        return;
    };
    foreign_removed_mis_signed_or_mis_addressed_answers_are_refused(t).await;
}

async fn foreign_removed_mis_signed_or_mis_addressed_answers_are_refused(t: TestApp) {
    t.user("eve").await;
    t.user("fay").await;
    let eve = t.password_sign_in("eve").await;
    let fay = t.password_sign_in("fay").await;
    let (mut eve_key, _) = register(&t, &eve, "eve's").await;
    let (_fay_key, _) = register(&t, &fay, "fay's").await;

    // Eve's passkey answering Fay's sign-in (Eve knows Fay's password).
    let (status, options) = sign_in_options(&t, "fay").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = sign_in_with(&t, "fay", &options, eve_key.get(&options)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // A wrong origin (a phishing site), a wrong RP ID, a bad signature.
    let (_, options) = sign_in_options(&t, "eve").await;
    eve_key.origin = "http://localhost.evil.example:8400".into();
    let (status, _) = sign_in_with(&t, "eve", &options, eve_key.get(&options)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    eve_key.origin = ORIGIN.into();
    let (_, options) = sign_in_options(&t, "eve").await;
    eve_key.rp_id = "evil.example".into();
    let (status, _) = sign_in_with(&t, "eve", &options, eve_key.get(&options)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    eve_key.rp_id = "localhost".into();
    let (_, options) = sign_in_options(&t, "eve").await;
    let mut answer = eve_key.get(&options);
    let sig = answer["response"]["signature"]
        .as_str()
        .unwrap()
        .to_string();
    let mut raw = B64.decode(sig).unwrap();
    let last = raw.len() - 1;
    raw[last] ^= 1;
    answer["response"]["signature"] = json!(B64.encode(&raw));
    let (status, _) = sign_in_with(&t, "eve", &options, answer).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Audited (repeats of a burst are counted into one entry, written at once or later).
    let audited = failures(&t, "User sign-in failed").await;
    for who in ["eve", "fay"] {
        assert!(
            audited
                .iter()
                .any(|e| e["initiatedBy"]["user"]["displayName"] == who
                    && e["additionalDetails"]
                        .to_string()
                        .contains("invalidAssertion")),
            "{who}'s refused assertion is audited: {audited:?}"
        );
    }

    // A removed passkey no longer works (Eve registers a second one to be allowed to remove).
    let (status, options) = sign_in_options(&t, "eve").await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = sign_in_with(&t, "eve", &options, eve_key.get(&options)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let session = body["access_token"].as_str().unwrap().to_string();
    let (mut second, _) = register(&t, &session, "second").await;
    let (_, list) = t
        .get("/v1/me/authenticationMethods/passkeys", &session)
        .await;
    let first = list["value"][0]["id"].as_str().unwrap().to_string();
    let (status, body) = t
        .delete(
            &format!("/v1/me/authenticationMethods/passkeys/{first}"),
            &session,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, options) = sign_in_options(&t, "eve").await;
    let (status, _) = sign_in_with(&t, "eve", &options, eve_key.get(&options)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, options) = sign_in_options(&t, "eve").await;
    let (status, _) = sign_in_with(&t, "eve", &options, second.get(&options)).await;
    assert_eq!(status, StatusCode::OK);

    // Step-up with a foreign passkey: refused and audited.
    let (_, options) = t
        .post("/v1/auth/passkeys/stepUpOptions", &fay, json!({}))
        .await;
    let (status, _) = t
        .post(
            "/v1/auth/passkeys/stepUp",
            &fay,
            json!({ "publicKeyCredential": second.get(&options) }),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(!failures(&t, "Step-up authentication").await.is_empty());
}

/// An assertion without user verification (a key merely touched, no PIN or biometrics) is not
/// a second factor, and a signature counter that goes back (a cloned key) is refused.
#[tokio::test]
async fn passkey_answers_without_user_verification_or_with_a_counter_gone_back_are_refused() {
    let t = app().await;
    t.user("gil").await;
    let gil = t.password_sign_in("gil").await;
    let (mut key, _) = register(&t, &gil, "gil's").await;
    let (_, options) = sign_in_options(&t, "gil").await;
    let (status, body) = sign_in_with(&t, "gil", &options, key.get(&options)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    key.verifies_user = false;
    let (_, options) = sign_in_options(&t, "gil").await;
    let (status, body) = sign_in_with(&t, "gil", &options, key.get(&options)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body.get("access_token").is_none());
    key.verifies_user = true;
    // A copy of the key that never saw the last sign-ins answers with a lower counter.
    key.counter = 0;
    let (_, options) = sign_in_options(&t, "gil").await;
    let (status, body) = sign_in_with(&t, "gil", &options, key.get(&options)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    key.counter = 100;
    let (_, options) = sign_in_options(&t, "gil").await;
    let (status, body) = sign_in_with(&t, "gil", &options, key.get(&options)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn passkey_removal_needs_fresh_mfa_and_keeps_the_last_factor() {
    let t = app().await;
    t.user("gus").await;
    let token = t.password_sign_in("gus").await;
    let (_, only) = register(&t, &token, "only").await;
    let id = only["id"].as_str().unwrap();
    // The password session has no fresh MFA.
    let (status, body) = t
        .delete(
            &format!("/v1/me/authenticationMethods/passkeys/{id}"),
            &token,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // Fresh, but the last second factor stays.
    let fresh = fresh_session(&t, "gus").await;
    let (status, body) = t
        .delete(
            &format!("/v1/me/authenticationMethods/passkeys/{id}"),
            &fresh,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(code(&body), "LastAuthenticationMethod");
    // Someone else's passkey id: not found.
    t.user("hal").await;
    let hal = t.password_sign_in("hal").await;
    let (status, _) = t
        .delete(&format!("/v1/me/authenticationMethods/passkeys/{id}"), &hal)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn passkey_wrong_answers_are_throttled_like_wrong_codes() {
    let t = app().await;
    t.user("ivy").await;
    let token = t.password_sign_in("ivy").await;
    let (mut key, _) = register(&t, &token, "k").await;
    let mut throttled = false;
    for _ in 0..30 {
        let (status, options) = t
            .post("/v1/auth/passkeys/stepUpOptions", &token, json!({}))
            .await;
        assert_eq!(status, StatusCode::OK);
        let mut answer = key.get(&options);
        answer["response"]["signature"] =
            json!(B64.encode([0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]));
        let (status, _) = t
            .post(
                "/v1/auth/passkeys/stepUp",
                &token,
                json!({ "publicKeyCredential": answer }),
            )
            .await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            throttled = true;
            break;
        }
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    assert!(throttled, "wrong passkey answers are throttled");
}

#[tokio::test]
async fn passkeys_are_off_without_a_host_name() {
    // The default public URL is an IP address: WebAuthn cannot use it; the rest works.
    let t = TestApp::new().await;
    t.user("joe").await;
    let token = t.password_sign_in("joe").await;
    let (status, body) = t
        .post(
            "/v1/me/authenticationMethods/passkeys/registrationOptions",
            &token,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(code(&body), "PasskeysUnavailable");
    let (status, body) = t.get("/v1/me/authenticationMethods/passkeys", &token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The portal offers none: no "Use a passkey" at sign-in, no "Add a passkey".
    let mut b = crate::portal::browser::Browser::new(&t);
    assert!(!b.get("/portal/sign-in").await.has("Use a passkey"));
    let mut b =
        crate::portal::browser::Browser::signed_in(&t, "joe@contoso.example", PASSWORD).await;
    let page = b.get("/portal/security").await;
    assert!(page.has("Passkeys are not available on this server") && !page.has("Add a passkey"));
}

/// The routes by kind of caller (the self-service rows of the authorization matrix): nobody
/// but a signed-in person registers, lists, removes or steps up with a passkey of their own.
#[tokio::test]
async fn passkey_routes_by_caller() {
    let t = app().await;
    let me_routes = [
        (
            Method::POST,
            "/v1/me/authenticationMethods/passkeys/registrationOptions",
        ),
        (Method::POST, "/v1/me/authenticationMethods/passkeys"),
        (Method::GET, "/v1/me/authenticationMethods/passkeys"),
        (
            Method::DELETE,
            "/v1/me/authenticationMethods/passkeys/00000000-0000-0000-0000-000000000001",
        ),
        (Method::POST, "/v1/auth/passkeys/stepUpOptions"),
        (Method::POST, "/v1/auth/passkeys/stepUp"),
    ];
    for (method, path) in &me_routes {
        let (status, body) = t.call(method.clone(), path, None, Some(json!({}))).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "anonymous {method} {path}: {body}"
        );
    }
    // A service principal has no passkeys to register.
    let (status, sp) = t
        .post(
            "/v1/servicePrincipals",
            crate::harness::BOOTSTRAP,
            json!({ "displayName": "Deploy pipeline" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{sp}");
    let (status, issued) = anonymous(
        &t,
        "/v1/auth/token",
        json!({ "clientId": sp["appId"], "clientSecret": sp["secret"] }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{issued}");
    let sp_token = issued["access_token"].as_str().unwrap().to_string();
    for token in [sp_token.as_str()] {
        let (status, body) = t
            .post(
                "/v1/me/authenticationMethods/passkeys/registrationOptions",
                token,
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(code(&body), "NotSupported");
        let (status, body) = t
            .post("/v1/auth/passkeys/stepUpOptions", token, json!({}))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(code(&body), "MfaNotEnrolled");
    }
    // Anonymous sign-in with an unknown account or a wrong password: the generic refusal.
    let (status, body) = anonymous(
        &t,
        "/v1/auth/passkeys/signInOptions",
        json!({ "username": "nobody@contoso.example", "password": PASSWORD }),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    t.user("kim").await;
    let (status, body) = anonymous(
        &t,
        "/v1/auth/passkeys/signInOptions",
        json!({ "username": "kim@contoso.example", "password": "wrong" }),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(code(&body), "InvalidCredentials");
    // Right password, no passkey: the same answer (it tells nothing about the password).
    let (status, again) = sign_in_options(&t, "kim").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(again["error"]["message"], body["error"]["message"]);
}

/// Where single sign-on is the only way in, a password followed by a passkey opens no more
/// than a password followed by a code: the break-glass account alone.
#[tokio::test]
async fn passkey_sign_in_is_off_where_password_sign_in_is() {
    let t = TestApp::configured(|c| {
        c.public_url = ORIGIN.into();
        c.password_sign_in = false;
    })
    .await;
    t.user("lee").await;
    let (status, body) = sign_in_options(&t, "lee").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(code(&body), "PasswordSignInDisabled");
    assert!(
        !failures(&t, "User sign-in failed").await.is_empty(),
        "the refusal is audited"
    );
}

/// A passkey is a second factor like an authenticator app: adding an authenticator beside it
/// needs the passkey proved recently (a stolen session whose proof has gone stale must not
/// enrol the thief's authenticator and with it a fresh MFA), and it ends the other sessions.
#[tokio::test]
async fn an_authenticator_beside_a_passkey_needs_the_passkey_proved() {
    let t = app().await;
    t.user("pia").await;
    let first = fresh_session(&t, "pia").await;
    register(&t, &first, "laptop").await;
    t.clock.advance(TimeDelta::minutes(30));
    let (status, body) = t
        .post("/v1/me/authenticationMethods/totp", &first, json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.to_string().contains("MfaRequired"), "{body}");
    // Fresh: it works, and the account's other sessions end.
    let other = fresh_session(&t, "pia").await;
    let token = fresh_session(&t, "pia").await;
    let (status, started) = t
        .post("/v1/me/authenticationMethods/totp", &token, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let secret = started["secret"].as_str().unwrap().to_string();
    let code = eligo::auth::totp::code_at(&secret, t.clock.now_utc()).unwrap();
    let (status, body) = t
        .post(
            "/v1/me/authenticationMethods/totp/verify",
            &token,
            json!({ "otp": code }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, _) = t.get("/v1/me", &other).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
