//! Single sign-on identities: an account is bound to the provider's subject at its first single
//! sign-on, and from then on no other provider, nor another person the provider later gives
//! the same address, signs in to it by a claim. Administrators read and change the binding
//! through Graph's `identities` (a credential change: rule 2, rule 6). Two real providers
//! (npm oidc-provider) where the sign-in itself is tried.

use axum::http::StatusCode;
use eligo::clock::Clock;
use eligo::config::oidc::{OidcProvider, PrincipalClaim};
use eligo_core::roles::ids;
use eligo_testkit::oidc::{OidcProvider as Idp, oidc_provider};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::harness::*;
use crate::oidc::{
    PUBLIC_URL, Sso, cookie_value, eligo, local, provider_config, session_of, through_provider,
};

fn provider_dir() -> &'static std::path::Path {
    std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oidc"))
}

/// Two providers, `test` (first, the default) and `other`, and an Eligo that trusts both.
struct TwoProviders {
    t: TestApp,
    a: Idp,
    b: Idp,
}

impl TwoProviders {
    async fn start() -> Option<Self> {
        let redirect = [format!("{PUBLIC_URL}/auth/oidc/callback")];
        let a = oidc_provider(provider_dir(), &redirect).await?;
        let b = oidc_provider(provider_dir(), &redirect).await?;
        let mut other = provider_config(&b);
        other.name = "other".into();
        other.display_name = "Other IdP".into();
        let first = provider_config(&a);
        let t = TestApp::configured(|c| {
            c.public_url = PUBLIC_URL.into();
            c.oidc = vec![first, other];
        })
        .await;
        t.clock.set(eligo::clock::SystemClock.now());
        Some(Self { t, a, b })
    }
}

/// Who `idp` signs in next: `subject`, claiming `email` (verified), with a second factor.
async fn login(idp: &Idp, subject: &str, email: &str) {
    let login = json!({
        "account": subject,
        "claims": { "email": email, "email_verified": true, "name": email },
        "amr": ["pwd", "mfa"],
    });
    idp.set_login(&login.to_string()).await;
}

/// One portal sign-in through `provider`: the session's raw token, or the refusal's body.
async fn sso(t: &TestApp, provider: &str) -> Result<String, String> {
    let start = eligo(
        t,
        &format!("/auth/oidc/start?provider={provider}&next=/portal"),
        None,
    )
    .await;
    assert_eq!(start.status, StatusCode::SEE_OTHER, "{}", start.body);
    let binding = cookie_value(&start.cookies, "eligo_oidc").expect("binding cookie");
    let back = through_provider(start.location.as_deref().unwrap()).await;
    let answer = eligo(t, &local(&back), Some(&format!("eligo_oidc={binding}"))).await;
    match cookie_value(&answer.cookies, "eligo_session") {
        Some(raw) => Ok(raw),
        None => {
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
            Err(answer.body)
        }
    }
}

async fn identities(t: &TestApp, user: Uuid) -> Vec<Value> {
    let (status, body) = t
        .get(&format!("/v1/users/{user}?$select=identities"), BOOTSTRAP)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["identities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["signInType"] == "federated")
        .cloned()
        .collect()
}

fn federated(issuer: &str, subject: &str) -> Value {
    json!({ "signInType": "federated", "issuer": issuer, "issuerAssignedId": subject })
}

fn refused_as_bound_elsewhere(result: Result<String, String>) {
    let body = result.expect_err("no session");
    assert!(body.contains("another single sign-on identity"), "{body}");
}

#[tokio::test]
async fn another_provider_or_a_reused_address_never_opens_a_bound_account() {
    let Some(s) = TwoProviders::start().await else {
        return;
    };
    let t = &s.t;
    let alice = t.user("alice").await;
    let email = "alice@contoso.example";
    assert!(identities(t, alice).await.is_empty(), "unbound at first");

    // The first single sign-on binds the account to the provider's subject.
    login(&s.a, "a-alice", email).await;
    let raw = sso(t, "test").await.expect("alice signs in");
    assert_eq!(session_of(t, &raw).await.principal_id, alice);
    assert_eq!(
        identities(t, alice).await,
        [federated(&s.a.issuer(), "a-alice")]
    );
    let bound = t.audited_as("Update user").await;
    assert!(
        bound.iter().any(|e| {
            let text = e.to_string();
            text.contains("first single sign-on") && text.contains("a-alice")
        }),
        "{bound:?}"
    );

    // The other provider vouches for the same verified address: refused.
    login(&s.b, "b-mallory", email).await;
    refused_as_bound_elsewhere(sso(t, "other").await);
    // The same provider gives the address to another person (another subject): refused.
    login(&s.a, "a-newcomer", email).await;
    refused_as_bound_elsewhere(sso(t, "test").await);
    let failed = t.audited_as("User sign-in failed").await;
    assert!(
        failed
            .iter()
            .filter(|e| e.to_string().contains("identityMismatch"))
            .count()
            >= 2,
        "{failed:?}"
    );
    assert_eq!(
        identities(t, alice).await,
        [federated(&s.a.issuer(), "a-alice")],
        "a refusal binds nothing"
    );

    // The bound subject keeps its account whatever address it claims now.
    login(&s.a, "a-alice", "alice.renamed@contoso.example").await;
    let raw = sso(t, "test").await.expect("the bound subject signs in");
    assert_eq!(session_of(t, &raw).await.principal_id, alice);

    // An administrator moves the account to the other provider: the old subject is refused
    // (it names nobody now and its address names a bound account), the new one signs in.
    let (status, body) = t
        .patch(
            &format!("/v1/users/{alice}"),
            BOOTSTRAP,
            json!({ "identities": [federated(&s.b.issuer(), "b-alice")] }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    login(&s.a, "a-alice", email).await;
    refused_as_bound_elsewhere(sso(t, "test").await);
    login(&s.b, "b-alice", "whatever@elsewhere.example").await;
    let raw = sso(t, "other").await.expect("bound by the administrator");
    assert_eq!(session_of(t, &raw).await.principal_id, alice);

    // Unbound again, the next first sign-in binds it anew.
    let (status, body) = t
        .patch(
            &format!("/v1/users/{alice}"),
            BOOTSTRAP,
            json!({ "identities": [] }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert!(identities(t, alice).await.is_empty());
    login(&s.a, "a-alice", email).await;
    sso(t, "test").await.expect("rebinds");
    assert_eq!(
        identities(t, alice).await,
        [federated(&s.a.issuer(), "a-alice")]
    );
}

#[tokio::test]
async fn a_created_account_is_bound_to_the_subject_that_created_it() {
    let Some(s) = Sso::start(|_, p| p.auto_create = true).await else {
        return;
    };
    let t = &s.t;
    login(&s.idp, "a-ivan", "ivan@contoso.example").await;
    let raw = sso(t, "test").await.expect("created");
    let ivan = session_of(t, &raw).await.principal_id;
    assert_eq!(
        identities(t, ivan).await,
        [federated(&s.idp.issuer(), "a-ivan")]
    );
    // Another subject claiming the address finds the account bound, and creates nothing.
    login(&s.idp, "a-imposter", "ivan@contoso.example").await;
    refused_as_bound_elsewhere(sso(t, "test").await);
    let (_, users) = t
        .get(
            "/v1/users?$filter=startswith(displayName, 'ivan')",
            BOOTSTRAP,
        )
        .await;
    assert_eq!(users["value"].as_array().unwrap().len(), 1, "{users}");
}

/// An Eligo that trusts a provider it never calls (binding needs none of its answers).
async fn with_a_provider() -> TestApp {
    TestApp::configured(|c| {
        c.oidc = vec![OidcProvider {
            name: "corp".into(),
            display_name: "Corp".into(),
            issuer: ISSUER.into(),
            client_id: "eligo".into(),
            client_secret: None,
            scopes: vec!["email".into()],
            principal_claim: PrincipalClaim::Email,
            auto_create: false,
        }];
    })
    .await
}

const ISSUER: &str = "https://login.corp.example";

#[tokio::test]
async fn identities_are_checked_and_changed_as_credentials() {
    let t = with_a_provider().await;
    let bob = t.user("bob").await;
    let carol = t.user("carol").await;
    let url = format!("/v1/users/{bob}");
    // Bad lists: 400, nothing bound.
    for (list, why) in [
        (
            json!([federated("https://evil.example", "x")]),
            "not one of the configured",
        ),
        (json!([federated(ISSUER, "")]), "issuerAssignedId"),
        (
            json!([federated(ISSUER, &"x".repeat(256))]),
            "issuerAssignedId",
        ),
        (json!([federated(ISSUER, "a\u{0}b")]), "issuerAssignedId"),
        (
            json!([federated(ISSUER, "a"), federated(ISSUER, "b")]),
            "one single sign-on identity",
        ),
        (
            json!([{ "signInType": "emailAddress", "issuer": ISSUER, "issuerAssignedId": "bob@x" }]),
            "not supported",
        ),
        (
            json!([{ "signInType": "userPrincipalName", "issuer": "contoso.example", "issuerAssignedId": "carol@contoso.example" }]),
            "userPrincipalName",
        ),
        (
            json!([{ "signInType": "federated", "issuer": ISSUER, "issuerAssignedId": "x", "extra": 1 }]),
            "",
        ),
        (json!(null), ""),
    ] {
        let (status, body) = t
            .patch(&url, BOOTSTRAP, json!({ "identities": list }))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{list}: {body}");
        assert!(body.to_string().contains(why), "{list}: {body}");
        assert!(identities(&t, bob).await.is_empty(), "{list}");
    }

    // What a Graph client reads back (its userPrincipalName entry included) is accepted.
    let (status, read) = t.get(&format!("{url}?$select=identities"), BOOTSTRAP).await;
    assert_eq!(status, StatusCode::OK);
    let mut list = read["identities"].as_array().unwrap().clone();
    assert_eq!(list[0]["signInType"], "userPrincipalName");
    assert_eq!(list[0]["issuerAssignedId"], "bob@contoso.example");
    list.push(federated(ISSUER, "sub-bob"));
    let bob_session = t.sign_in("bob").await;
    let (status, body) = t
        .patch(&url, BOOTSTRAP, json!({ "identities": list }))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(identities(&t, bob).await, [federated(ISSUER, "sub-bob")]);
    // Rule 6: a credential change ends the account's sessions.
    let (status, _) = t.get("/v1/me", &bob_session).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let changed = t.audited_as("Update user").await;
    assert!(
        changed.iter().any(|e| e
            .to_string()
            .contains("federated https://login.corp.example sub-bob")),
        "{changed:?}"
    );

    // One account per identity: 409, and carol stays unbound.
    let (status, body) = t
        .patch(
            &format!("/v1/users/{carol}"),
            BOOTSTRAP,
            json!({ "identities": [federated(ISSUER, "sub-bob")] }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(identities(&t, carol).await.is_empty());

    // The emergency-access account is never bound.
    let breakglass = {
        let mut tx = t.app.store.read().await.unwrap();
        tx.find_user_by_upn("breakglass@eligo.local")
            .await
            .unwrap()
            .unwrap()
            .id
    };
    let (status, body) = t
        .patch(
            &format!("/v1/users/{breakglass}"),
            BOOTSTRAP,
            json!({ "identities": [federated(ISSUER, "sub-bg")] }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(identities(&t, breakglass).await.is_empty());
}

/// Rule 2: binding a privileged account to an identity an attacker controls is taking it over,
/// so a User Administrator may bind ordinary accounts only; a Privileged Authentication
/// Administrator may bind anyone. Readers see the binding and change nothing.
#[tokio::test]
async fn only_from_above_for_privileged_accounts() {
    let t = with_a_provider().await;
    let (_, uad) = t.admin("uad", ids::USER_ADMINISTRATOR).await;
    let (_, paa) = t
        .admin("paa", ids::PRIVILEGED_AUTHENTICATION_ADMINISTRATOR)
        .await;
    let (_, reader) = t.admin("reader", ids::GLOBAL_READER).await;
    let plain = t.user("plain").await;
    let boss = t.user("boss").await;
    t.make_eligible(boss, ids::GLOBAL_ADMINISTRATOR).await;

    let bind = |who: Uuid, subject: &str| {
        (
            format!("/v1/users/{who}"),
            json!({ "identities": [federated(ISSUER, subject)] }),
        )
    };
    let (url, body) = bind(boss, "attacker");
    let (status, answer) = t.patch(&url, &uad, body).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert!(identities(&t, boss).await.is_empty());
    let (url, body) = bind(boss, "attacker");
    let (status, answer) = t.patch(&url, &reader, body).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    let (status, read) = t
        .get(&format!("/v1/users/{boss}?$select=identities"), &reader)
        .await;
    assert_eq!(status, StatusCode::OK, "{read}");
    // Unbinding a privileged account is a change of its credentials too.
    let (url, body) = bind(boss, "boss-sub");
    let (status, answer) = t.patch(&url, &paa, body).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{answer}");
    let (status, answer) = t.patch(&url, &uad, json!({ "identities": [] })).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert_eq!(identities(&t, boss).await, [federated(ISSUER, "boss-sub")]);
    // An ordinary account is the User Administrator's.
    let (url, body) = bind(plain, "plain-sub");
    let (status, answer) = t.patch(&url, &uad, body).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{answer}");
    // A person may not bind their own account (it is an administrator's act).
    let own = t.sign_in("plain").await;
    let (status, answer) = t
        .patch(
            &format!("/v1/users/{plain}"),
            &own,
            json!({ "identities": [] }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert_eq!(
        identities(&t, plain).await,
        [federated(ISSUER, "plain-sub")]
    );
}

/// An address that names two accounts (one's user principal name and another's mail, as a
/// provisioning client could arrange by naming a new account after someone's address, or the
/// mail of two) signs nobody in and binds nothing.
#[tokio::test]
async fn an_address_naming_two_accounts_signs_nobody_in() {
    let Some(s) = Sso::start(|_, p| p.auto_create = true).await else {
        return;
    };
    let t = &s.t;
    let create = |upn: &'static str, mail: Option<&'static str>| async move {
        let (status, body) = t
            .post(
                "/v1/users",
                BOOTSTRAP,
                json!({ "userPrincipalName": upn, "displayName": upn, "mail": mail }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        id_of(&body)
    };
    let alice = create("alice.smith@contoso.example", Some("alice@contoso.example")).await;
    // Alone, her mail names her.
    login(&s.idp, "sub-alice", "alice@contoso.example").await;
    let raw = sso(t, "test").await.expect("alice by her mail");
    assert_eq!(session_of(t, &raw).await.principal_id, alice);

    // Someone else's account named after a new address, and that address's owner by mail.
    let puppet = create("carol@contoso.example", None).await;
    let carol = create("carol.jones@contoso.example", Some("carol@contoso.example")).await;
    login(&s.idp, "sub-carol", "carol@contoso.example").await;
    let body = sso(t, "test").await.expect_err("ambiguous");
    assert!(body.contains("more than one Eligo account"), "{body}");
    // Two accounts with one mail.
    let dave = create("dave@contoso.example", Some("d@contoso.example")).await;
    let dave2 = create("dave2@contoso.example", Some("d@contoso.example")).await;
    login(&s.idp, "sub-d", "d@contoso.example").await;
    sso(t, "test").await.expect_err("ambiguous");
    for who in [puppet, carol, dave, dave2] {
        assert!(identities(t, who).await.is_empty(), "nothing bound");
    }
    let failed = t.audited_as("User sign-in failed").await;
    assert!(
        failed
            .iter()
            .filter(|e| e.to_string().contains("ambiguousUser"))
            .count()
            >= 1,
        "{failed:?}"
    );
    // auto_create made no third account either.
    let (_, users) = t
        .get("/v1/users?$filter=startswith(displayName, 'd')", BOOTSTRAP)
        .await;
    assert_eq!(users["value"].as_array().unwrap().len(), 2, "{users}");
}
