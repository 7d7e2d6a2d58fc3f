//! Passkeys in the portal, driven in-process through its forms with the software authenticator
//! of `tests/it/passkey.rs` standing in for `assets/passkey.js` and the browser: Security info
//! adds, lists and removes them; the sign-in page takes one after the password (so a person
//! whose only second factor is a passkey gets a portal session); step-up, activation and
//! approval take one where they take a code. Then the attacks: another person's ceremony, a
//! replayed answer, a step-up answer used to sign in (and the reverse), removal without a fresh
//! second factor, and posts without the anti-forgery token, each refused with nothing changed.

use axum::http::StatusCode;
use chrono::TimeDelta;
use eligo::service::demo::DEMO_PASSWORD;
use eligo_core::roles::ids;
use serde_json::Value;

use super::browser::{Browser, Page};
use crate::harness::{PASSWORD, TestApp};
use crate::passkey::{SoftKey, app};

const ORIGIN: &str = "http://localhost:8400";

fn json_of(page: &Page) -> Value {
    serde_json::from_str(&page.body).unwrap_or_else(|e| panic!("{e}: {}", page.body))
}

fn upn(nick: &str) -> String {
    format!("{nick}@contoso.example")
}

fn has_session(b: &Browser<'_>) -> bool {
    b.cookies.contains_key("eligo_session")
}

/// Adds a passkey from Security info (the two posts `assets/passkey.js` makes); the answer to
/// the second post.
async fn add_passkey(b: &mut Browser<'_>, name: &str, key: &mut SoftKey) -> Page {
    b.get("/portal/security").await;
    let page = b
        .submit("/portal/security/passkeys/options", &[("name", name)])
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let credential = key.create(&json_of(&page)).to_string();
    b.submit(
        "/portal/security/passkeys",
        &[("name", name), ("credential", &credential)],
    )
    .await
}

async fn added(b: &mut Browser<'_>, name: &str) -> SoftKey {
    let mut key = SoftKey::new();
    let done = add_passkey(b, name, &mut key).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), Some("/portal/security"));
    key
}

/// The sign-in challenge for `nick` after their password, as the page's script asks for it.
async fn sign_in_options(b: &mut Browser<'_>, nick: &str, password: &str) -> Page {
    b.get("/portal/sign-in").await;
    b.submit(
        "/portal/sign-in/passkey/options",
        &[("username", &upn(nick)), ("password", password)],
    )
    .await
}

/// Posts the sign-in form with a passkey answer for `ceremony`.
async fn sign_in_with(b: &mut Browser<'_>, nick: &str, ceremony: &str, answer: &Value) -> Page {
    b.submit(
        "/portal/sign-in",
        &[
            ("username", &upn(nick)),
            ("method", "passkey"),
            ("ceremony_id", ceremony),
            ("passkey", &answer.to_string()),
        ],
    )
    .await
}

/// Password, then the passkey: the answer to the sign-in post.
async fn passkey_sign_in(
    b: &mut Browser<'_>,
    nick: &str,
    password: &str,
    key: &mut SoftKey,
) -> Page {
    let options = sign_in_options(b, nick, password).await;
    assert_eq!(options.status, StatusCode::OK, "{}", options.body);
    let options = json_of(&options);
    let answer = key.get(&options);
    sign_in_with(b, nick, options["ceremonyId"].as_str().unwrap(), &answer).await
}

/// The step-up challenge of the browser's session.
async fn step_up_options(b: &mut Browser<'_>) -> Value {
    let page = b.submit("/portal/step-up/passkey/options", &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    json_of(&page)
}

fn passkey_rows(page: &Page) -> usize {
    page.body.matches("id=\"passkey-").count()
}

/// The id of the first passkey Security info lists.
fn first_passkey(page: &Page) -> String {
    let at = page.body.find("id=\"passkey-").expect("a passkey row") + "id=\"passkey-".len();
    let end = page.body[at..].find('"').unwrap();
    page.body[at..at + end].to_string()
}

#[tokio::test]
async fn a_passkey_is_added_used_to_sign_in_and_step_up_and_removed_in_the_portal() {
    let t = app().await;
    t.user("ann").await;
    let mut b = Browser::signed_in(&t, &upn("ann"), PASSWORD).await;
    let page = b.get("/portal/security").await;
    assert!(page.has("You have no passkeys.") && page.has("Add a passkey"));
    assert!(page.has("data-passkey-register"));
    assert!(page.has("/portal/static/passkey.js"));

    // A first passkey needs no earlier factor (the default enrolment policy).
    let mut laptop = added(&mut b, "Laptop").await;
    let page = b.get("/portal/security").await;
    assert!(
        page.has("Passkey &quot;Laptop&quot; added") || page.has("Passkey &#34;Laptop&#34; added"),
        "{}",
        page.body
    );
    assert_eq!(passkey_rows(&page), 1);
    assert!(page.has("Laptop") && page.has("Never"));

    // Signed out, the password alone no longer opens a portal session...
    b.submit("/portal/sign-out", &[]).await;
    let form = b.get("/portal/sign-in").await;
    assert!(form.has("Use a passkey") && form.has("data-passkey-sign-in"));
    let refused = b.sign_in(&upn("ann"), PASSWORD, None).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.body);
    assert!(!has_session(&b));
    // ... the password and the passkey do: the person whose only factor is a passkey gets in.
    let done = passkey_sign_in(&mut b, "ann", PASSWORD, &mut laptop).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), Some("/portal/roles"));
    assert!(has_session(&b));
    let page = b.get("/portal/security").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.has("Never"), "last used is shown: {}", page.body);

    // Later (the second factor's 10 minutes of freshness gone, the portal session still
    // alive), the step-up page offers the passkey (and no code: Ann has no authenticator app).
    t.clock.advance(TimeDelta::minutes(11));
    let form = b.get("/portal/step-up?next=%2Fportal%2Fsecurity").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.has("data-passkey-proof") && form.has("name=\"passkey\""));
    assert!(!form.has("name=\"code\""));
    // Removing needs a fresh second factor: stale, it sends Ann to verify first.
    let page = b.get("/portal/security").await;
    let id = first_passkey(&page);
    let stale = b
        .submit(&format!("/portal/security/passkeys/{id}/remove"), &[])
        .await;
    assert_eq!(stale.status, StatusCode::SEE_OTHER);
    assert!(stale.location().unwrap().starts_with("/portal/step-up"));
    assert_eq!(passkey_rows(&b.get("/portal/security").await), 1);
    let options = step_up_options(&mut b).await;
    let answer = laptop.get(&options).to_string();
    let verified = b
        .submit(
            "/portal/step-up",
            &[("next", "/portal/security"), ("passkey", &answer)],
        )
        .await;
    assert_eq!(verified.status, StatusCode::SEE_OTHER, "{}", verified.body);
    assert_eq!(verified.location(), Some("/portal/security"));

    // Fresh now, but the only second factor stays.
    let kept = b
        .submit(&format!("/portal/security/passkeys/{id}/remove"), &[])
        .await;
    assert_eq!(kept.status, StatusCode::SEE_OTHER);
    let page = b.follow(&kept).await;
    assert!(page.has("your only second factor"), "{}", page.body);
    assert_eq!(passkey_rows(&page), 1);
    // With a second passkey, the first goes, and no longer signs in.
    let mut phone = added(&mut b, "Phone").await;
    let removed = b
        .submit(&format!("/portal/security/passkeys/{id}/remove"), &[])
        .await;
    let page = b.follow(&removed).await;
    assert!(page.has("Passkey removed"), "{}", page.body);
    assert_eq!(passkey_rows(&page), 1);
    assert!(page.has("Phone") && !page.has("Laptop"));
    let mut other = Browser::new(&t);
    let refused = passkey_sign_in(&mut other, "ann", PASSWORD, &mut laptop).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.body);
    assert!(!has_session(&other));
    let done = passkey_sign_in(&mut other, "ann", PASSWORD, &mut phone).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
}

#[tokio::test]
async fn an_activation_takes_a_passkey_where_it_takes_a_code() {
    let t = TestApp::demo_configured(|c| c.public_url = ORIGIN.into()).await;
    let helpdesk = ids::HELPDESK_ADMINISTRATOR;
    let mut b = Browser::signed_in(&t, &upn("alice"), DEMO_PASSWORD).await;
    let mut key = added(&mut b, "Security key").await;
    // The password session has no fresh second factor: the form offers the passkey.
    let form = b
        .get(&format!("/portal/roles/activate?role={helpdesk}&scope=/"))
        .await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.has("data-passkey-proof") && form.has("Needs your passkey."));
    assert!(!form.has("name=\"code\""), "Alice has no authenticator app");
    fn fields(answer: &str) -> [(&'static str, &str); 5] {
        [
            ("role", ids::HELPDESK_ADMINISTRATOR),
            ("scope", "/"),
            ("duration", "PT1H"),
            ("justification", "on call"),
            ("passkey", answer),
        ]
    }
    // Nothing proved: refused, nothing active.
    let refused = b.submit("/portal/roles/activate", &fields("")).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(refused.has("Use your passkey"));
    assert!(refused.has("on call"), "what was typed is kept");

    let options = step_up_options(&mut b).await;
    let answer = key.get(&options).to_string();
    let right = fields(&answer);
    let done = b.submit("/portal/roles/activate", &right).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let page = b.follow(&done).await;
    assert!(
        page.has("Helpdesk Administrator is active until"),
        "{}",
        page.body
    );

    // The same answer again: its ceremony is spent.
    b.get("/portal/security").await;
    let replayed = b
        .submit(
            "/portal/step-up",
            &[("next", "/portal/roles"), ("passkey", &answer)],
        )
        .await;
    assert_eq!(
        replayed.status,
        StatusCode::BAD_REQUEST,
        "{}",
        replayed.body
    );
    assert!(
        replayed.has("expired or was already answered"),
        "{}",
        replayed.body
    );
}

/// Approves the request at `path` (its stage `step`) with `passkey` as the proof.
async fn approve(b: &mut Browser<'_>, path: &str, step: &str, passkey: &str) -> Page {
    b.submit(
        path,
        &[
            ("step", step),
            ("justification", "Confirmed with the SOC"),
            ("decision", "approve"),
            ("passkey", passkey),
        ],
    )
    .await
}

#[tokio::test]
async fn an_approval_takes_a_passkey_where_it_takes_a_code() {
    let t = TestApp::demo_configured(|c| c.public_url = ORIGIN.into()).await;
    let (_, _, request) = super::approvals::alice_requests(&t).await;
    let id = request["id"].as_str().unwrap().to_string();
    let mut ada = Browser::signed_in(&t, &upn("ada"), DEMO_PASSWORD).await;
    let mut key = added(&mut ada, "Ada's key").await;
    let page = ada.get(&format!("/portal/approvals/{id}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.has("data-passkey-proof") && page.has("name=\"passkey\""));
    let step = page.input_value("step").unwrap();
    let path = format!("/portal/approvals/{id}");
    // Without a proof: refused, still waiting.
    let refused = approve(&mut ada, &path, &step, "").await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(refused.has("use your passkey"), "{}", refused.body);
    assert_eq!(
        super::approvals::request_status(&t, &id).await,
        "PendingApproval"
    );
    // Another person's passkey answering Ada's challenge: refused.
    let options = step_up_options(&mut ada).await;
    let foreign = SoftKey::new().get(&options).to_string();
    let refused = approve(&mut ada, &path, &step, &foreign).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert_eq!(
        super::approvals::request_status(&t, &id).await,
        "PendingApproval"
    );
    // Her own: approved.
    let options = step_up_options(&mut ada).await;
    let own = key.get(&options).to_string();
    let done = approve(&mut ada, &path, &step, &own).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_ne!(
        super::approvals::request_status(&t, &id).await,
        "PendingApproval"
    );
}

#[tokio::test]
async fn portal_passkey_ceremonies_cannot_be_borrowed_replayed_or_swapped() {
    let t = app().await;
    t.user("eve").await;
    t.user("fay").await;
    let mut eve = Browser::signed_in(&t, &upn("eve"), PASSWORD).await;
    let mut eve_key = added(&mut eve, "eve's").await;
    let mut fay = Browser::signed_in(&t, &upn("fay"), PASSWORD).await;
    let _fay_key = added(&mut fay, "fay's").await;

    // Eve's own ceremony and answer, posted under Fay's name: no session.
    let mut mallory = Browser::new(&t);
    let options = json_of(&sign_in_options(&mut mallory, "eve", PASSWORD).await);
    let answer = eve_key.get(&options);
    let ceremony = options["ceremonyId"].as_str().unwrap().to_string();
    let refused = sign_in_with(&mut mallory, "fay", &ceremony, &answer).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.body);
    assert!(!has_session(&mallory));
    // Fay's ceremony (Eve knows Fay's password) answered with Eve's passkey: no session.
    let options = json_of(&sign_in_options(&mut mallory, "fay", PASSWORD).await);
    let answer = eve_key.get(&options);
    let refused = sign_in_with(
        &mut mallory,
        "fay",
        options["ceremonyId"].as_str().unwrap(),
        &answer,
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.body);
    assert!(!has_session(&mallory));

    // A sign-in answer that worked, replayed from another browser: refused.
    let mut first = Browser::new(&t);
    let options = json_of(&sign_in_options(&mut first, "eve", PASSWORD).await);
    let answer = eve_key.get(&options);
    let ceremony = options["ceremonyId"].as_str().unwrap().to_string();
    let done = sign_in_with(&mut first, "eve", &ceremony, &answer).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let mut replay = Browser::new(&t);
    replay.get("/portal/sign-in").await;
    let refused = sign_in_with(&mut replay, "eve", &ceremony, &answer).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.body);
    assert!(!has_session(&replay));

    // A step-up answer (a challenge Eve's session asked for) used to sign in: its challenge
    // is not the sign-in ceremony's, so nothing opens (and that ceremony is spent).
    first.get("/portal/security").await;
    let step_up = step_up_options(&mut first).await;
    let stolen = eve_key.get(&step_up);
    let mut thief = Browser::new(&t);
    let options = json_of(&sign_in_options(&mut thief, "eve", PASSWORD).await);
    let ceremony = options["ceremonyId"].as_str().unwrap().to_string();
    let refused = sign_in_with(&mut thief, "eve", &ceremony, &stolen).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.body);
    assert!(!has_session(&thief));
    let late = eve_key.get(&options);
    let refused = sign_in_with(&mut thief, "eve", &ceremony, &late).await;
    assert_eq!(
        refused.status,
        StatusCode::UNAUTHORIZED,
        "spent: {}",
        refused.body
    );
    // And the reverse: a sign-in answer posted as a step-up proves nothing.
    let options = json_of(&sign_in_options(&mut thief, "eve", PASSWORD).await);
    let sign_in_answer = eve_key.get(&options).to_string();
    step_up_options(&mut first).await;
    let refused = first
        .submit(
            "/portal/step-up",
            &[("next", "/portal/security"), ("passkey", &sign_in_answer)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(refused.has("was refused"), "{}", refused.body);
    // Nor does a step-up answer for another session (Fay's browser posting Eve's answer).
    fay.get("/portal/security").await;
    let options = step_up_options(&mut first).await;
    let eves = eve_key.get(&options).to_string();
    let refused = fay
        .submit(
            "/portal/step-up",
            &[("next", "/portal/security"), ("passkey", &eves)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
}

#[tokio::test]
async fn portal_passkey_posts_need_the_anti_forgery_token() {
    let t = app().await;
    t.user("gus").await;
    let mut b = Browser::signed_in(&t, &upn("gus"), PASSWORD).await;
    let mut key = added(&mut b, "one").await;
    let page = b.get("/portal/security").await;
    assert_eq!(passkey_rows(&page), 1);
    let id = first_passkey(&page);

    // Every passkey post without the session's token: refused, nothing begun or changed.
    for path in [
        "/portal/security/passkeys/options".to_string(),
        "/portal/security/passkeys".to_string(),
        format!("/portal/security/passkeys/{id}/remove"),
        "/portal/step-up/passkey/options".to_string(),
    ] {
        let page = b.post_raw(&path, &[("name", "forged")]).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}: {}", page.body);
        let page = b
            .post_raw(&path, &[("csrf", "forged"), ("name", "x")])
            .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}: {}", page.body);
    }
    assert_eq!(passkey_rows(&b.get("/portal/security").await), 1);

    // The sign-in halves without the pre-session token: refused, no ceremony, no session.
    let mut other = Browser::new(&t);
    other.get("/portal/sign-in").await;
    let page = other
        .post_raw(
            "/portal/sign-in/passkey/options",
            &[("username", &upn("gus")), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    assert!(page.body.contains("expired"), "{}", page.body);
    let options = json_of(&sign_in_options(&mut other, "gus", PASSWORD).await);
    let answer = key.get(&options).to_string();
    let ceremony = options["ceremonyId"].as_str().unwrap().to_string();
    let forged = other
        .post_raw(
            "/portal/sign-in",
            &[
                ("username", &upn("gus")),
                ("method", "passkey"),
                ("ceremony_id", &ceremony),
                ("passkey", &answer),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
    assert!(!has_session(&other));
}

#[tokio::test]
async fn where_passwords_are_off_a_passkey_does_not_open_them() {
    let t = TestApp::configured(|c| {
        c.public_url = ORIGIN.into();
        c.password_sign_in = false;
    })
    .await;
    t.user("hal").await;
    let mut b = Browser::new(&t);
    let page = sign_in_options(&mut b, "hal", PASSWORD).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    assert_eq!(json_of(&page)["error"]["code"], "PasswordSignInDisabled");
    assert!(!has_session(&b));
}
