//! The PIM commands of the CLI against a real server on a loopback port, as people run them:
//! an administrator sets role settings and assigns eligibility, people see their roles,
//! activate (with step-up MFA from a TOTP code when the policy asks), extend, deactivate,
//! cancel, and approvers approve or deny. Output is read as a person would read it.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use eligo::clock::{Clock, SystemClock};
use eligo_core::roles::ids;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use super::support::*;
use crate::harness::*;

/// One person at a terminal: their own config directory (session file) on one server.
struct Person {
    config: PathBuf,
    /// Every line this person's commands printed, to check no bearer token ever shows.
    seen: std::sync::Mutex<String>,
}

impl Person {
    fn new(dir: &Path, name: &str) -> Self {
        Self {
            config: dir.join(format!("config-{name}")),
            seen: Default::default(),
        }
    }

    /// `eligo ARGS` with this person's session, optionally with standard input.
    async fn run(&self, args: &[&str], stdin: Option<&str>) -> Out {
        let mut cmd = eligo();
        cmd.args(args)
            .env("ELIGO_CONFIG_DIR", &self.config)
            .env("ELIGO_PASSWORD", DEMO_PASSWORD)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if stdin.is_some() {
            cmd.stdin(Stdio::piped());
        }
        let mut child = cmd.spawn().expect("spawning eligo");
        if let Some(input) = stdin {
            let mut pipe = child.stdin.take().expect("stdin piped");
            pipe.write_all(input.as_bytes())
                .await
                .expect("writing stdin");
            drop(pipe);
        }
        let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("eligo {args:?} did not finish within 60 s"))
            .expect("waiting for eligo");
        let out = Out {
            status: output.status,
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        let mut seen = self.seen.lock().unwrap();
        seen.push_str(&out.stdout);
        seen.push_str(&out.stderr);
        out
    }

    /// A command that must succeed.
    async fn ok(&self, args: &[&str]) -> Out {
        let out = self.run(args, None).await;
        assert_eq!(out.code(), Some(0), "eligo {args:?}: {}", out.show());
        out
    }

    /// A command that must fail (non-zero, with a message on stderr).
    async fn fails(&self, args: &[&str]) -> Out {
        let out = self.run(args, None).await;
        assert!(!out.ok(), "eligo {args:?} succeeded: {}", out.show());
        assert!(
            out.stderr.contains("error"),
            "eligo {args:?} failed silently: {}",
            out.show()
        );
        out
    }

    async fn login(&self, server: &Server, upn: &str) {
        self.ok(&["login", "--server", &server.base, "-u", upn])
            .await;
    }

    async fn use_bootstrap(&self, server: &Server) {
        self.ok(&["use-token", "--server", &server.base, "--token", BOOTSTRAP])
            .await;
    }

    fn token(&self) -> String {
        let text = std::fs::read_to_string(self.config.join("session.json")).expect("a session");
        let v: Value = serde_json::from_str(&text).expect("session.json is JSON");
        v["token"].as_str().expect("a token").to_string()
    }

    /// Nothing this person ran printed their bearer token (or the bootstrap token).
    fn assert_no_token_shown(&self) {
        let seen = self.seen.lock().unwrap();
        let token = self.token();
        assert!(!seen.contains(&token), "a bearer token was printed");
        assert!(!seen.contains(BOOTSTRAP), "the bootstrap token was printed");
    }

    /// `eligo roles --json`: (role or group name, kind, end) of each.
    async fn roles(&self) -> Vec<(String, String, Option<DateTime<Utc>>)> {
        let out = self.ok(&["roles", "--json"]).await;
        let v: Value = serde_json::from_str(&out.stdout).expect("roles --json is JSON");
        v["value"]
            .as_array()
            .expect("a value array")
            .iter()
            .map(|r| {
                (
                    r["roleDisplayName"]
                        .as_str()
                        .or(r["groupDisplayName"].as_str())
                        .unwrap()
                        .to_string(),
                    r["kind"].as_str().unwrap().to_string(),
                    r["endDateTime"]
                        .as_str()
                        .map(|t| DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&Utc)),
                )
            })
            .collect()
    }

    async fn active_end(&self, role: &str) -> Option<DateTime<Utc>> {
        self.roles()
            .await
            .into_iter()
            .find(|(name, kind, _)| name == role && kind == "active")
            .map(|(_, _, end)| end.expect("an activation has an end"))
    }
}

/// The request id a command printed as "(request ID)".
fn request_id(out: &Out) -> String {
    let at = out
        .stdout
        .find("(request ")
        .unwrap_or_else(|| panic!("no request id printed: {}", out.show()));
    let rest = &out.stdout[at + "(request ".len()..];
    let id = &rest[..rest.find(')').expect("a closing parenthesis")];
    uuid::Uuid::parse_str(id).unwrap_or_else(|_| panic!("not an id: {id}"));
    id.to_string()
}

/// An id as the tables show it (commands take any unique prefix).
fn short(id: &str) -> &str {
    &id[..8]
}

/// A line of the output that contains every one of `parts`.
fn has_line(text: &str, parts: &[&str]) -> bool {
    text.lines().any(|l| parts.iter().all(|p| l.contains(p)))
}

fn now() -> DateTime<Utc> {
    SystemClock.now()
}

/// `at` lies within a minute of `expected` (the CLI runs in real time).
fn near(at: DateTime<Utc>, expected: DateTime<Utc>) -> bool {
    (at - expected).abs() < TimeDelta::minutes(1)
}

const HELPDESK: &str = "Helpdesk Administrator";

#[tokio::test]
async fn help_lists_the_pim_commands() {
    let out = run(&["--help"], &[]).await;
    assert_eq!(out.code(), Some(0), "{}", out.show());
    for command in [
        "roles",
        "activate",
        "deactivate",
        "extend",
        "requests",
        "cancel",
        "approvals",
        "approve",
        "deny",
        "assign",
        "unassign",
        "policy",
    ] {
        assert!(
            out.stdout
                .lines()
                .any(|l| l.trim_start().starts_with(command)),
            "{command} missing from --help: {}",
            out.stdout
        );
    }
    let out = run(&["activate", "--help"], &[]).await;
    assert!(
        out.stdout.contains("TOTP") && out.stdout.contains("--duration"),
        "{}",
        out.show()
    );
    let out = run(&["policy", "set", "--help"], &[]).await;
    assert!(out.stdout.contains("--max-activation"), "{}", out.show());
    // assign needs --eligible or --active, and not both.
    let out = run(&["assign", "Some Role", "someone@example.com"], &[]).await;
    assert_eq!(out.code(), Some(2), "{}", out.show());
    let out = run(
        &[
            "assign",
            "--eligible",
            "--active",
            "R",
            "someone@example.com",
        ],
        &[],
    )
    .await;
    assert_eq!(out.code(), Some(2), "{}", out.show());
}

#[tokio::test]
async fn assign_activate_extend_deactivate() {
    let dir = temp_dir("proc-pim-self");
    let server = Server::start(&Spec::sqlite(&dir.join("data")).args(&["--demo"])).await;
    let admin = Person::new(&dir, "admin");
    admin.use_bootstrap(&server).await;

    // Role settings: justification only (no MFA), at most 8 h. Names are case-insensitive.
    let out = admin
        .ok(&[
            "policy",
            "set",
            "helpdesk administrator",
            "--require",
            "justification",
            "--max-activation",
            "8h",
        ])
        .await;
    assert!(out.stdout.contains("at most 8h"), "{}", out.show());
    assert!(
        has_line(&out.stdout, &["requires:", "justification"])
            && !has_line(&out.stdout, &["requires:", "MFA"]),
        "{}",
        out.show()
    );
    // The server has it, and a role id works as well as its name.
    let policy = format!(
        "/v1/policies/roleManagementPolicies/DirectoryRole_{}/rules",
        ids::HELPDESK_ADMINISTRATOR
    );
    let (status, rules) = server.client().get(&policy, BOOTSTRAP).await;
    assert_eq!(status, 200, "{rules}");
    let rule = |id: &str| {
        rules["value"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .cloned()
            .unwrap()
    };
    assert_eq!(
        rule("Enablement_EndUser_Assignment")["enabledRules"],
        json!(["Justification"])
    );
    assert_eq!(
        rule("Expiration_EndUser_Assignment")["maximumDuration"],
        "PT8H"
    );
    let out = admin
        .ok(&["policy", "show", ids::HELPDESK_ADMINISTRATOR])
        .await;
    assert!(
        out.stdout.contains(HELPDESK) && out.stdout.contains("approval:   not required"),
        "{}",
        out.show()
    );
    let out = admin.fails(&["policy", "show", "No Such Role"]).await;
    assert!(out.stderr.contains("no role named"), "{}", out.show());

    // Erin holds nothing; the administrator makes her eligible for 30 days.
    let out = admin
        .ok(&[
            "assign",
            "--eligible",
            HELPDESK,
            "erin@contoso.example",
            "--duration",
            "30d",
            "--justification",
            "joins the helpdesk",
        ])
        .await;
    assert!(
        out.stdout
            .contains("erin@contoso.example is eligible for Helpdesk Administrator"),
        "{}",
        out.show()
    );
    request_id(&out);
    // A second one is refused with the broken rule, and no principal is a clear error.
    let out = admin
        .fails(&[
            "assign",
            "--eligible",
            HELPDESK,
            "erin@contoso.example",
            "--duration",
            "30d",
        ])
        .await;
    assert!(
        out.stderr.contains("RoleAssignmentExists"),
        "{}",
        out.show()
    );
    let out = admin
        .fails(&["assign", "--eligible", HELPDESK, "nobody@contoso.example"])
        .await;
    assert!(
        out.stderr.contains("nobody@contoso.example"),
        "{}",
        out.show()
    );

    let erin = Person::new(&dir, "erin");
    erin.login(&server, "erin@contoso.example").await;
    let out = erin.ok(&["roles"]).await;
    assert!(
        has_line(&out.stdout, &[HELPDESK, "eligible", "direct"]),
        "{}",
        out.show()
    );
    assert!(!out.stdout.contains("active"), "{}", out.show());

    // Too long and without a justification: every broken rule, non-zero.
    let out = erin
        .fails(&["activate", HELPDESK, "--duration", "9h"])
        .await;
    assert!(
        out.stderr
            .contains("RoleAssignmentRequestPolicyValidationFailed")
            && out.stderr.contains("ExpirationRule")
            && out.stderr.contains("maximum of 8 hours")
            && out.stderr.contains("JustificationRule"),
        "{}",
        out.show()
    );
    let out = erin
        .fails(&["activate", HELPDESK, "--duration", "an hour", "-j", "x"])
        .await;
    assert!(out.stderr.contains("not a duration"), "{}", out.show());
    assert!(erin.active_end(HELPDESK).await.is_none());

    // Activate for an hour.
    let asked = now();
    let out = erin
        .ok(&[
            "activate",
            HELPDESK,
            "--duration",
            "1h",
            "--justification",
            "ticket triage",
        ])
        .await;
    assert!(
        out.stdout
            .contains("Helpdesk Administrator is active until"),
        "{}",
        out.show()
    );
    let activation = request_id(&out);
    let end = erin.active_end(HELPDESK).await.expect("active now");
    assert!(near(end, asked + TimeDelta::hours(1)), "ends {end}");
    let out = erin.ok(&["roles"]).await;
    assert!(
        has_line(&out.stdout, &[HELPDESK, "active", "direct"])
            && has_line(&out.stdout, &[HELPDESK, "eligible"]),
        "{}",
        out.show()
    );
    // The role works: a Helpdesk Administrator reads users.
    let out = erin.ok(&["users", "list"]).await;
    assert!(out.stdout.contains("ada@contoso.example"), "{}", out.show());
    // Activating again is a duplicate.
    let out = erin
        .fails(&["activate", HELPDESK, "--duration", "1h", "-j", "again"])
        .await;
    assert!(
        out.stderr.contains("RoleAssignmentExists"),
        "{}",
        out.show()
    );

    // Extend: it then ends two hours from now (ISO durations work too).
    let asked = now();
    let out = erin
        .ok(&["extend", HELPDESK, "--duration", "PT2H", "-j", "more work"])
        .await;
    assert!(out.stdout.contains("is active until"), "{}", out.show());
    let end = erin.active_end(HELPDESK).await.expect("still active");
    assert!(near(end, asked + TimeDelta::hours(2)), "ends {end}");

    // Deactivating before the server's minimum (PT5M) is refused with its reason.
    let out = erin.fails(&["deactivate", HELPDESK]).await;
    assert!(
        out.stderr.contains("ActiveDurationTooShort")
            && out.stderr.contains("5 minutes after it started"),
        "{}",
        out.show()
    );
    assert!(erin.active_end(HELPDESK).await.is_some());

    // Her requests, newest first.
    let out = erin.ok(&["requests"]).await;
    assert!(
        has_line(
            &out.stdout,
            &[short(&activation), "selfActivate", HELPDESK, "Provisioned"]
        ),
        "{}",
        out.show()
    );
    assert!(
        has_line(&out.stdout, &["selfExtend", HELPDESK]),
        "{}",
        out.show()
    );
    let out = erin.ok(&["requests", "--status", "pendingapproval"]).await;
    assert!(!out.stdout.contains(short(&activation)), "{}", out.show());
    let out = erin.fails(&["requests", "--status", "Sideways"]).await;
    assert!(out.stderr.contains("--status"), "{}", out.show());

    // The administrator revokes the active role: the activation ends at once.
    let out = admin
        .ok(&["unassign", "--active", HELPDESK, "erin@contoso.example"])
        .await;
    assert!(out.stdout.contains("no longer active in"), "{}", out.show());
    assert!(erin.active_end(HELPDESK).await.is_none());
    let out = erin.fails(&["users", "list"]).await;
    assert!(out.stderr.contains("403"), "{}", out.show());

    // An activation that starts later can be deactivated before it starts.
    let start = (now() + TimeDelta::hours(1)).to_rfc3339();
    let out = erin
        .ok(&[
            "activate", HELPDESK, "-d", "30m", "-j", "tonight", "--start", &start,
        ])
        .await;
    assert!(out.stdout.contains("will be active from"), "{}", out.show());
    let out = erin.ok(&["roles"]).await;
    assert!(
        has_line(&out.stdout, &[HELPDESK, "active", "starts"]),
        "{}",
        out.show()
    );
    let out = erin.ok(&["deactivate", HELPDESK]).await;
    assert!(out.stdout.contains("deactivated"), "{}", out.show());
    assert!(erin.active_end(HELPDESK).await.is_none());
    let out = erin.ok(&["requests", "--status", "Revoked"]).await;
    assert!(
        has_line(&out.stdout, &["selfDeactivate", HELPDESK]),
        "{}",
        out.show()
    );

    // Removing the eligibility leaves her nothing.
    admin
        .ok(&["unassign", "--eligible", HELPDESK, "erin@contoso.example"])
        .await;
    let out = erin.ok(&["roles"]).await;
    assert!(
        out.stdout.contains("no eligible or active roles"),
        "{}",
        out.show()
    );
    let out = erin
        .fails(&["activate", HELPDESK, "-d", "1h", "-j", "x"])
        .await;
    assert!(out.stderr.contains("NoEligibility"), "{}", out.show());

    // Everyone's requests, for an administrator, name the principal.
    let out = admin.ok(&["requests", "--all"]).await;
    assert!(
        has_line(&out.stdout, &[short(&activation), "erin@contoso.example"]),
        "{}",
        out.show()
    );

    erin.assert_no_token_shown();
    admin.assert_no_token_shown();
    let (status, verdict) = server.client().get("/v1/auditLogs/verify", BOOTSTRAP).await;
    assert_eq!(status, 200);
    assert_eq!(verdict["valid"], true, "{verdict}");
    assert_eq!(server.stop().await.code(), Some(0));
    clean(&dir);
}

#[tokio::test]
async fn approval_cancel_approve_and_deny() {
    let dir = temp_dir("proc-pim-approval");
    let server = Server::start(&Spec::sqlite(&dir.join("data")).args(&["--demo"])).await;
    let admin = Person::new(&dir, "admin");
    admin.use_bootstrap(&server).await;
    let security = "Security Administrator";
    let exchange = "Exchange Administrator";
    for role in [security, exchange] {
        let out = admin
            .ok(&[
                "policy",
                "set",
                role,
                "--require",
                "justification",
                "--approval",
                "on",
                "--approver",
                "ada@contoso.example",
            ])
            .await;
        assert!(
            out.stdout.contains("approval:   required")
                && has_line(
                    &out.stdout,
                    &["stage 1:", "1 approval from ada@contoso.example"]
                ),
            "{}",
            out.show()
        );
    }

    // Alice (eligible in the demo tenant) asks; the request waits. She cancels it.
    let alice = Person::new(&dir, "alice");
    alice.login(&server, "alice@contoso.example").await;
    let out = alice
        .ok(&["activate", security, "-d", "1h", "-j", "incident 42"])
        .await;
    assert!(
        out.stdout.contains("waiting for approval"),
        "{}",
        out.show()
    );
    let first = request_id(&out);
    let out = alice.ok(&["requests", "--status", "PendingApproval"]).await;
    assert!(out.stdout.contains(short(&first)), "{}", out.show());
    let out = alice.ok(&["cancel", &first]).await;
    assert!(out.stdout.contains("canceled"), "{}", out.show());
    let out = alice.ok(&["requests", "--status", "Canceled"]).await;
    assert!(out.stdout.contains(short(&first)), "{}", out.show());

    // She asks again; she may not approve her own request.
    let out = alice
        .ok(&["activate", security, "-d", "1h", "-j", "incident 42"])
        .await;
    let second = request_id(&out);
    let out = alice.fails(&["approve", &second, "-j", "me"]).await;
    assert!(
        out.stderr.contains("waits on your decision"),
        "{}",
        out.show()
    );
    assert!(
        !alice
            .roles()
            .await
            .iter()
            .any(|(n, k, _)| n == security && k == "active")
    );

    // Ada sees it waiting on her and approves.
    let ada = Person::new(&dir, "ada");
    ada.login(&server, "ada@contoso.example").await;
    // Deciding needs a fresh second factor: enrolling one on this session proves it.
    enrol_on(&server, &ada.token()).await;
    let out = ada.ok(&["approvals"]).await;
    assert!(
        has_line(
            &out.stdout,
            &[short(&second), "Alice", security, "1h", "incident 42"]
        ),
        "{}",
        out.show()
    );
    assert!(!out.stdout.contains(short(&first)), "{}", out.show());
    let out = ada
        .fails(&["approve", &uuid::Uuid::new_v4().to_string(), "-j", "ok"])
        .await;
    assert!(out.stderr.contains("404"), "{}", out.show());
    let out = ada.ok(&["approve", &second, "--justification", "ok"]).await;
    assert!(
        out.stdout.contains("approved") && out.stdout.contains("now Provisioned"),
        "{}",
        out.show()
    );
    let out = ada.ok(&["approvals"]).await;
    assert!(out.stdout.contains("nothing waits"), "{}", out.show());
    let out = ada.fails(&["approve", &second, "-j", "twice"]).await;
    assert!(
        out.stderr.contains("waits on your decision"),
        "{}",
        out.show()
    );
    let end = alice
        .active_end(security)
        .await
        .expect("active once approved");
    assert!(near(end, now() + TimeDelta::hours(1)), "ends {end}");
    let out = alice.ok(&["roles"]).await;
    assert!(
        has_line(&out.stdout, &[security, "active"]),
        "{}",
        out.show()
    );

    // Bob's request for Exchange Administrator is denied.
    let bob = Person::new(&dir, "bob");
    bob.login(&server, "bob@contoso.example").await;
    let out = bob
        .ok(&["activate", exchange, "-d", "1h", "-j", "mailbox move"])
        .await;
    let third = request_id(&out);
    // Role settings are checked by the server: every problem is reported.
    let out = admin
        .fails(&["policy", "set", exchange, "--min-approvals", "9"])
        .await;
    assert!(out.stderr.contains("minimumApprovals"), "{}", out.show());
    let out = admin.fails(&["policy", "set", exchange]).await;
    assert!(out.stderr.contains("nothing to change"), "{}", out.show());
    let out = ada.ok(&["deny", &third, "-j", "not today"]).await;
    assert!(
        out.stdout.contains("denied") && out.stdout.contains("now Denied"),
        "{}",
        out.show()
    );
    let out = bob.ok(&["requests"]).await;
    assert!(
        has_line(&out.stdout, &[short(&third), "Denied"]),
        "{}",
        out.show()
    );
    assert!(bob.active_end(exchange).await.is_none());

    for p in [&admin, &alice, &ada, &bob] {
        p.assert_no_token_shown();
    }
    assert_eq!(server.stop().await.code(), Some(0));
    clean(&dir);
}

/// Enrols a TOTP authenticator for `upn` through the API; returns its secret.
async fn enrol_totp(server: &Server, upn: &str) -> String {
    let api = server.client();
    let (status, signed_in) = api.sign_in(upn, DEMO_PASSWORD).await;
    assert_eq!(status, 200, "{signed_in}");
    let token = signed_in["access_token"].as_str().unwrap().to_string();
    enrol_on(server, &token).await
}

/// Enrols an authenticator on the session `token` (which then has a fresh second factor).
pub async fn enrol_on(server: &Server, token: &str) -> String {
    let api = server.client();
    let token = token.to_string();
    let (status, begun) = api
        .post("/v1/me/authenticationMethods/totp", &token, json!({}))
        .await;
    assert_eq!(status, 200, "{begun}");
    let secret = begun["secret"].as_str().unwrap().to_string();
    let code = eligo::auth::totp::code_at(&secret, now()).unwrap();
    let (status, body) = api
        .post(
            "/v1/me/authenticationMethods/totp/verify",
            &token,
            json!({ "otp": code }),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    secret
}

/// A code the server has not seen: the next step's (one step of skew is accepted).
fn next_code(secret: &str) -> String {
    eligo::auth::totp::code_at(secret, now() + TimeDelta::seconds(30)).unwrap()
}

#[tokio::test]
async fn step_up_with_a_totp_code_when_the_policy_demands_mfa() {
    let dir = temp_dir("proc-pim-mfa");
    let server = Server::start(&Spec::sqlite(&dir.join("data")).args(&["--demo"])).await;
    let admin = Person::new(&dir, "admin");
    admin.use_bootstrap(&server).await;
    let exchange = "Exchange Administrator";
    for role in [HELPDESK, exchange] {
        let out = admin
            .ok(&["policy", "set", role, "--require", "mfa,justification"])
            .await;
        assert!(
            has_line(&out.stdout, &["requires:", "MFA, justification"]),
            "{}",
            out.show()
        );
    }

    // Alice signs in with her password only (before she has an authenticator: afterwards the
    // password alone opens no session), then enrols one elsewhere: this session has no MFA.
    let alice = Person::new(&dir, "alice");
    alice.login(&server, "alice@contoso.example").await;
    let alice_secret = enrol_totp(&server, "alice@contoso.example").await;

    // No code to be had (standard input closed): asked, then a clear failure.
    let out = alice
        .fails(&["activate", HELPDESK, "-d", "1h", "-j", "printer queue"])
        .await;
    assert!(
        out.stderr.contains("TOTP code") && out.stderr.contains("--otp"),
        "{}",
        out.show()
    );
    // MFA is not asked for while another rule is broken too: every broken rule is listed.
    let out = alice.fails(&["activate", HELPDESK, "-d", "1h"]).await;
    assert!(
        out.stderr.contains("MfaRule")
            && out.stderr.contains("JustificationRule")
            && !out.stderr.contains("TOTP code"),
        "{}",
        out.show()
    );

    // --otp: stepped up and sent again.
    let code = next_code(&alice_secret);
    let out = alice
        .ok(&[
            "activate",
            HELPDESK,
            "-d",
            "1h",
            "-j",
            "printer queue",
            "--otp",
            &code,
        ])
        .await;
    assert!(out.stdout.contains("is active until"), "{}", out.show());
    assert!(!out.stderr.contains("TOTP code"), "{}", out.show());
    assert!(alice.active_end(HELPDESK).await.is_some());

    // Bob types his code when asked; a wrong one first.
    let bob = Person::new(&dir, "bob");
    bob.login(&server, "bob@contoso.example").await;
    let bob_secret = enrol_totp(&server, "bob@contoso.example").await;
    let valid: Vec<String> = (-1..=2)
        .map(|k| {
            eligo::auth::totp::code_at(&bob_secret, now() + TimeDelta::seconds(30 * k)).unwrap()
        })
        .collect();
    let wrong = (0..10u32)
        .map(|d| format!("{d}{d}{d}{d}{d}{d}"))
        .find(|c| !valid.contains(c))
        .unwrap();
    let args = ["activate", exchange, "-d", "1h", "-j", "mailbox move"];
    let out = bob.run(&args, Some(&format!("{wrong}\n"))).await;
    assert!(!out.ok(), "{}", out.show());
    assert!(
        out.stderr.contains("TOTP code")
            && out.stderr.contains("step-up MFA failed")
            && out.stderr.contains("InvalidCredentials"),
        "{}",
        out.show()
    );
    assert!(bob.active_end(exchange).await.is_none());
    let code = next_code(&bob_secret);
    let out = bob.run(&args, Some(&format!("{code}\n"))).await;
    assert_eq!(out.code(), Some(0), "{}", out.show());
    assert!(
        out.stderr.contains("TOTP code") && out.stdout.contains("is active until"),
        "{}",
        out.show()
    );
    assert!(bob.active_end(exchange).await.is_some());

    for p in [&admin, &alice, &bob] {
        p.assert_no_token_shown();
    }
    assert_eq!(server.stop().await.code(), Some(0));
    clean(&dir);
}

#[tokio::test]
async fn deactivate_a_running_activation() {
    let dir = temp_dir("proc-pim-deactivate");
    // A one-second minimum (the floor), so that the activation may end early within the test.
    let config = dir.join("eligo.toml");
    std::fs::write(&config, "min_duration = \"PT1S\"\n").unwrap();
    let config = config.display().to_string();
    let server =
        Server::start(&Spec::sqlite(&dir.join("data")).args(&["--demo", "-c", &config])).await;
    let admin = Person::new(&dir, "admin");
    admin.use_bootstrap(&server).await;
    admin
        .ok(&["policy", "set", HELPDESK, "--require", "justification"])
        .await;
    let alice = Person::new(&dir, "alice");
    alice.login(&server, "alice@contoso.example").await;
    alice
        .ok(&["activate", HELPDESK, "-d", "1h", "-j", "password resets"])
        .await;
    assert!(alice.active_end(HELPDESK).await.is_some());
    alice.ok(&["users", "list"]).await;

    // Once it has run a second, she ends it (retried while the server says it is too soon).
    let mut out = alice.run(&["deactivate", HELPDESK], None).await;
    for _ in 0..40 {
        if out.ok() {
            break;
        }
        assert!(
            out.stderr.contains("ActiveDurationTooShort"),
            "{}",
            out.show()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
        out = alice.run(&["deactivate", HELPDESK], None).await;
    }
    assert_eq!(out.code(), Some(0), "{}", out.show());
    assert!(
        out.stdout.contains("Helpdesk Administrator deactivated"),
        "{}",
        out.show()
    );
    assert!(alice.active_end(HELPDESK).await.is_none());
    let out = alice.fails(&["users", "list"]).await;
    assert!(out.stderr.contains("403"), "{}", out.show());
    let out = alice.ok(&["requests"]).await;
    assert!(
        has_line(&out.stdout, &["selfDeactivate", HELPDESK, "Revoked"]),
        "{}",
        out.show()
    );
    // Nothing left to deactivate: the server's code and message, non-zero.
    let out = alice.fails(&["deactivate", HELPDESK]).await;
    assert!(
        out.stderr.contains("RoleAssignmentDoesNotExist"),
        "{}",
        out.show()
    );
    alice.assert_no_token_shown();
    assert_eq!(server.stop().await.code(), Some(0));
    clean(&dir);
}

/// A decision needs a fresh second factor: once it is stale, `approve` asks for the code (or
/// takes `--otp`), steps up and decides; without one it decides nothing.
#[tokio::test]
async fn approving_with_a_stale_second_factor_asks_for_the_code() {
    let dir = temp_dir("proc-pim-stale");
    let spec = Spec::sqlite(&dir.join("data"))
        .args(&["--demo"])
        .setting("ELIGO_MFA_FRESHNESS", "PT2S");
    let server = Server::start(&spec).await;
    let admin = Person::new(&dir, "admin");
    admin.use_bootstrap(&server).await;
    let security = "Security Administrator";
    admin
        .ok(&[
            "policy",
            "set",
            security,
            "--require",
            "justification",
            "--approval",
            "on",
            "--approver",
            "ada@contoso.example",
        ])
        .await;
    let alice = Person::new(&dir, "alice");
    alice.login(&server, "alice@contoso.example").await;
    let out = alice
        .ok(&["activate", security, "-d", "1h", "-j", "incident 42"])
        .await;
    let id = request_id(&out);
    let ada = Person::new(&dir, "ada");
    ada.login(&server, "ada@contoso.example").await;
    let secret = enrol_on(&server, &ada.token()).await;
    // Real time: the server's freshness is two seconds.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let out = ada.fails(&["approve", &id, "-j", "ok"]).await;
    assert!(out.stderr.contains("fresh MFA"), "{}", out.show());
    let out = ada
        .ok(&["approve", &id, "-j", "ok", "--otp", &next_code(&secret)])
        .await;
    assert!(
        out.stdout.contains("approved") && out.stdout.contains("now Provisioned"),
        "{}",
        out.show()
    );
    assert_eq!(server.stop().await.code(), Some(0));
    clean(&dir);
}
