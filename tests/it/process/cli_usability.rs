//! The CLI as people and scripts use it on day one (issue 15, item 12), against a real
//! `eligo serve --demo`: enrolling an authenticator from the QR code's secret and stepping up,
//! activating a group's membership by the group's name, request and approval ids by a unique
//! prefix, errors that name the server (and "not signed in"), and `--json` that parses.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use chrono::TimeDelta;
use eligo::clock::{Clock, SystemClock};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use super::pim_cli::enrol_on;
use super::support::*;
use crate::harness::*;

/// One person at a terminal: their own config directory (the session file).
struct Person {
    config: PathBuf,
}

impl Person {
    fn new(dir: &Path, name: &str) -> Self {
        Self {
            config: dir.join(format!("config-{name}")),
        }
    }

    fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = eligo();
        cmd.args(args)
            .env("ELIGO_CONFIG_DIR", &self.config)
            .env("ELIGO_PASSWORD", DEMO_PASSWORD)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    async fn run(&self, args: &[&str]) -> Out {
        let output = tokio::time::timeout(Duration::from_secs(60), self.command(args).output())
            .await
            .unwrap_or_else(|_| panic!("eligo {args:?} did not finish within 60 s"))
            .expect("running eligo");
        Out {
            status: output.status,
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    async fn ok(&self, args: &[&str]) -> Out {
        let out = self.run(args).await;
        assert_eq!(out.code(), Some(0), "eligo {args:?}: {}", out.show());
        out
    }

    async fn fails(&self, args: &[&str]) -> Out {
        let out = self.run(args).await;
        assert!(!out.ok(), "eligo {args:?} succeeded: {}", out.show());
        assert!(
            out.stderr.contains("error: "),
            "eligo {args:?} failed without an error: {}",
            out.show()
        );
        out
    }

    /// `eligo ARGS` with `input` on standard input.
    async fn run_with_stdin(&self, args: &[&str], input: &str) -> Out {
        let mut cmd = self.command(args);
        cmd.stdin(Stdio::piped());
        let mut child = cmd.spawn().expect("spawning eligo");
        let mut stdin = child.stdin.take().expect("stdin piped");
        stdin.write_all(input.as_bytes()).await.expect("typing");
        drop(stdin);
        let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("eligo {args:?} did not finish within 60 s"))
            .expect("waiting for eligo");
        Out {
            status: output.status,
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// A command that must succeed and print one JSON document.
    async fn json(&self, args: &[&str]) -> Value {
        let out = self.ok(args).await;
        serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("eligo {args:?} printed no JSON ({e}): {}", out.show()))
    }

    async fn login(&self, server: &Server, upn: &str) {
        self.ok(&["login", "--server", &server.base, "-u", upn])
            .await;
    }

    fn token(&self) -> String {
        let text = std::fs::read_to_string(self.config.join("session.json")).expect("a session");
        let v: Value = serde_json::from_str(&text).expect("session.json is JSON");
        v["token"].as_str().expect("a token").to_string()
    }

    /// Runs `eligo ARGS` interactively: reads standard output until a line satisfies `until`,
    /// hands everything read so far to `answer`, types its answer, and waits for the end.
    async fn converse(
        &self,
        args: &[&str],
        until: impl Fn(&str) -> bool,
        answer: impl FnOnce(&str) -> String,
    ) -> Out {
        let mut cmd = self.command(args);
        cmd.stdin(Stdio::piped());
        let mut child = cmd.spawn().expect("spawning eligo");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout piped"));
        let mut seen = String::new();
        let read = async {
            loop {
                let mut line = String::new();
                let n = stdout.read_line(&mut line).await.expect("reading stdout");
                seen.push_str(&line);
                if n == 0 || until(&line) {
                    break;
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(60), read)
            .await
            .unwrap_or_else(|_| panic!("eligo {args:?} printed no answerable line"));
        let typed = answer(&seen);
        let mut stdin = child.stdin.take().expect("stdin piped");
        stdin
            .write_all(format!("{typed}\n").as_bytes())
            .await
            .expect("typing");
        drop(stdin);
        let mut rest = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut stdout, &mut rest)
            .await
            .expect("reading stdout");
        let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("eligo {args:?} did not finish within 60 s"))
            .expect("waiting for eligo");
        Out {
            status: output.status,
            stdout: seen + &rest,
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// The current code, or the one a step later (one step of skew is accepted, and a code the
/// server has seen is not accepted twice).
fn code(secret: &str, steps_ahead: i64) -> String {
    eligo::auth::totp::code_at(
        secret,
        SystemClock.now() + TimeDelta::seconds(30 * steps_ahead),
    )
    .expect("a code")
}

/// A line of `text` that contains every one of `parts`.
fn has_line(text: &str, parts: &[&str]) -> bool {
    text.lines().any(|l| parts.iter().all(|p| l.contains(p)))
}

/// The request id a command printed as "(request ID)".
fn request_id(out: &Out) -> String {
    let at = out
        .stdout
        .find("(request ")
        .unwrap_or_else(|| panic!("no request id printed: {}", out.show()));
    let rest = &out.stdout[at + "(request ".len()..];
    rest[..rest.find(')').expect("a closing parenthesis")].to_string()
}

#[tokio::test]
async fn mfa_enrol_from_the_printed_secret_and_step_up() {
    let dir = temp_dir("cli-mfa");
    let server = Server::start(&Spec::sqlite(&dir.join("data")).args(&["--demo"])).await;

    // Erin has no authenticator: she enrols one, typing the code her app would show.
    let erin = Person::new(&dir, "erin");
    erin.login(&server, "erin@contoso.example").await;
    let out = erin
        .converse(
            &["mfa", "enrol"],
            |line| line.starts_with("otpauth URI:"),
            |seen| {
                let secret = seen
                    .lines()
                    .find_map(|l| l.strip_prefix("Or type in the secret: "))
                    .expect("the secret is printed");
                code(secret, 0)
            },
        )
        .await;
    assert_eq!(out.code(), Some(0), "{}", out.show());
    assert!(
        out.stdout.contains("Scan this with your authenticator app")
            && out.stdout.contains('\u{2588}')
            && out.stdout.contains("otpauth://totp/")
            && out.stderr.contains("Code from the app")
            && out.stdout.contains("authenticator on"),
        "{}",
        out.show()
    );
    let secret = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("Or type in the secret: "))
        .unwrap()
        .to_string();
    // It is on: the password alone no longer opens a session.
    let (status, _) = server
        .client()
        .sign_in("erin@contoso.example", DEMO_PASSWORD)
        .await;
    assert_eq!(status, 401, "the password alone still signs Erin in");

    // Step-up with --otp, as JSON; the same code again is refused, naming the server.
    let used = code(&secret, 1);
    let stepped = erin
        .json(&["mfa", "stepup", "--otp", &used, "--json"])
        .await;
    assert!(stepped["lastMfaDateTime"].is_string(), "{stepped}");
    let out = erin.fails(&["mfa", "stepup", "--otp", &used]).await;
    assert!(
        out.stderr.contains("step-up MFA failed")
            && out
                .stderr
                .contains(&format!("{} answered 401 Unauthorized", server.base)),
        "{}",
        out.show()
    );
    let out = erin.fails(&["mfa", "stepup"]).await;
    assert!(out.stderr.contains("--otp"), "{}", out.show());

    // Bob, for a script: --json prints the server's answer; with nothing typed the enrolment
    // waits, and `--otp` finishes it.
    let bob = Person::new(&dir, "bob");
    bob.login(&server, "bob@contoso.example").await;
    let out = bob.run(&["mfa", "enrol", "--json"]).await;
    assert!(!out.ok(), "{}", out.show());
    assert!(
        out.stderr.contains("eligo mfa enrol --otp CODE"),
        "{}",
        out.show()
    );
    let begun: Value = serde_json::from_str(&out.stdout).expect("mfa enrol --json is JSON");
    let bob_secret = begun["secret"].as_str().expect("a secret").to_string();
    assert!(
        begun["otpauthUri"]
            .as_str()
            .is_some_and(|u| u.starts_with("otpauth://totp/") && u.contains(&bob_secret)),
        "{begun}"
    );
    let done = bob
        .json(&["mfa", "enrol", "--otp", &code(&bob_secret, 0), "--json"])
        .await;
    assert_eq!(done["verified"], true, "{done}");
    let (status, _) = server
        .client()
        .sign_in("bob@contoso.example", DEMO_PASSWORD)
        .await;
    assert_eq!(status, 401, "Bob's authenticator is not on");
    // Step-up with the code typed when asked.
    let out = bob
        .run_with_stdin(&["mfa", "stepup"], &format!("{}\n", code(&bob_secret, 1)))
        .await;
    assert_eq!(out.code(), Some(0), "{}", out.show());
    assert!(
        out.stderr.contains("TOTP code") && out.stdout.contains("fresh MFA recorded"),
        "{}",
        out.show()
    );
    // The US spelling works too, and a session's whoami shows the second factor.
    let me = bob.json(&["whoami", "--json"]).await;
    assert!(me["session"]["lastMfaDateTime"].is_string(), "{me}");
    let out = run(&["mfa", "enroll", "--help"], &[]).await;
    assert_eq!(out.code(), Some(0), "{}", out.show());

    assert_eq!(server.stop().await.code(), Some(0));
    clean(&dir);
}

#[tokio::test]
async fn activate_a_group_membership_by_the_groups_name() {
    let dir = temp_dir("cli-group");
    // A one-second minimum, so that the activation may end within the test.
    let config = dir.join("eligo.toml");
    std::fs::write(&config, "min_duration = \"PT1S\"\n").unwrap();
    let config = config.display().to_string();
    let server =
        Server::start(&Spec::sqlite(&dir.join("data")).args(&["--demo", "-c", &config])).await;
    let group = "Compliance Portal Admins";

    // Bob is eligible for the group's membership (demo tenant); its policy wants a fresh MFA,
    // which enrolling an authenticator on his session proves.
    let bob = Person::new(&dir, "bob");
    bob.login(&server, "bob@contoso.example").await;
    enrol_on(&server, &bob.token()).await;
    let out = bob.ok(&["roles"]).await;
    assert!(
        has_line(
            &out.stdout,
            &[&format!("member of group {group}"), "eligible"]
        ),
        "{}",
        out.show()
    );

    // Neither a role nor a group, or both: a usage error.
    let out = bob.run(&["activate", "-d", "1h"]).await;
    assert_eq!(out.code(), Some(2), "{}", out.show());
    let out = bob
        .run(&["activate", "Global Reader", "--group", group, "-d", "1h"])
        .await;
    assert_eq!(out.code(), Some(2), "{}", out.show());
    let out = bob
        .fails(&[
            "activate",
            "--group",
            "No Such Group",
            "-d",
            "1h",
            "-j",
            "x",
        ])
        .await;
    assert!(
        out.stderr
            .contains("no group 'No Such Group' among your group accesses"),
        "{}",
        out.show()
    );

    // By name, in any case, as `roles` lists it.
    let out = bob
        .ok(&[
            "activate",
            "--group",
            "compliance portal admins",
            "--access",
            "member",
            "-d",
            "1h",
            "-j",
            "quarterly export",
        ])
        .await;
    assert!(
        out.stdout
            .contains(&format!("member of group {group} is active until")),
        "{}",
        out.show()
    );
    let id = request_id(&out);
    let mine = bob.json(&["roles", "--json"]).await;
    let active = mine["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["groupDisplayName"] == group && r["kind"] == "active")
        .unwrap_or_else(|| panic!("no active membership in {mine}"))
        .clone();
    let group_id = active["groupId"].as_str().unwrap().to_string();
    assert_eq!(active["accessId"], "member", "{active}");
    let out = bob.ok(&["requests"]).await;
    assert!(
        has_line(
            &out.stdout,
            &[
                &id[..8],
                "selfActivate",
                &format!("member of group {group}"),
                "Provisioned"
            ]
        ),
        "{}",
        out.show()
    );

    // Extend and deactivate by the group's id, as JSON.
    let extended = bob
        .json(&[
            "extend", "--group", &group_id, "-d", "2h", "-j", "more", "--json",
        ])
        .await;
    assert_eq!(extended["action"], "selfExtend", "{extended}");
    assert_eq!(extended["groupId"], group_id.as_str(), "{extended}");
    assert_eq!(extended["status"], "Provisioned", "{extended}");
    let mut deactivated = bob.run(&["deactivate", "--group", group, "--json"]).await;
    for _ in 0..40 {
        if deactivated.ok() {
            break;
        }
        assert!(
            deactivated.stderr.contains("ActiveDurationTooShort"),
            "{}",
            deactivated.show()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
        deactivated = bob.run(&["deactivate", "--group", group, "--json"]).await;
    }
    assert_eq!(deactivated.code(), Some(0), "{}", deactivated.show());
    let request: Value = serde_json::from_str(&deactivated.stdout).expect("deactivate --json");
    assert_eq!(request["action"], "selfDeactivate", "{request}");
    assert_eq!(request["accessId"], "member", "{request}");
    let mine = bob.json(&["roles", "--json"]).await;
    assert!(
        !mine["value"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["groupDisplayName"] == group && r["kind"] == "active"),
        "{mine}"
    );
    let out = bob.fails(&["deactivate", "--group", group]).await;
    assert!(
        out.stderr
            .contains(&format!("deactivating member of group {group}")),
        "{}",
        out.show()
    );

    assert_eq!(server.stop().await.code(), Some(0));
    clean(&dir);
}

#[tokio::test]
async fn request_and_approval_ids_by_unique_prefix() {
    let dir = temp_dir("cli-prefix");
    let server = Server::start(&Spec::sqlite(&dir.join("data")).args(&["--demo"])).await;
    let admin = Person::new(&dir, "admin");
    admin
        .ok(&["use-token", "--server", &server.base, "--token", BOOTSTRAP])
        .await;
    let security = "Security Administrator";
    let exchange = "Exchange Administrator";
    for role in [security, exchange] {
        let policy = admin
            .json(&[
                "policy",
                "set",
                role,
                "--require",
                "justification",
                "--approval",
                "on",
                "--approver",
                "ada@contoso.example",
                "--json",
            ])
            .await;
        let approval = policy["rules"]
            .as_array()
            .expect("the policy's rules")
            .iter()
            .find(|r| r["id"] == "Approval_EndUser_Assignment")
            .unwrap_or_else(|| panic!("no approval rule in {policy}"));
        assert_eq!(approval["setting"]["isApprovalRequired"], true, "{policy}");
    }

    // Alice asks and cancels until two of her requests' ids start alike (at most 17 times:
    // there are 16 hex digits).
    let alice = Person::new(&dir, "alice");
    alice.login(&server, "alice@contoso.example").await;
    let mut ids: Vec<String> = Vec::new();
    let shared = loop {
        assert!(ids.len() <= 16, "{ids:?}");
        let out = alice
            .ok(&["activate", security, "-d", "1h", "-j", "incident 42"])
            .await;
        let id = request_id(&out);
        let first = id[..1].to_string();
        // Canceled by the first 8 characters, as the tables show them; --json is the request.
        let canceled = alice.json(&["cancel", &id[..8], "--json"]).await;
        assert_eq!(canceled["id"], id.as_str(), "{canceled}");
        assert_eq!(canceled["status"], "Canceled", "{canceled}");
        let seen = ids.iter().any(|known| known.starts_with(&first));
        ids.push(id);
        if seen {
            break first;
        }
    };
    let out = alice.ok(&["requests"]).await;
    for id in &ids {
        assert!(
            has_line(
                &out.stdout,
                &[&id[..8], "selfActivate", security, "Canceled"]
            ),
            "{}",
            out.show()
        );
        assert!(
            !out.stdout.contains(id.as_str()),
            "whole ids in the table: {}",
            out.show()
        );
    }
    // Ambiguous: every candidate is listed, and nothing is done.
    let out = alice.fails(&["cancel", &shared]).await;
    let candidates: Vec<&String> = ids.iter().filter(|i| i.starts_with(&shared)).collect();
    assert!(
        out.stderr.contains(&format!(
            "'{shared}' is the start of {} ids",
            candidates.len()
        )),
        "{}",
        out.show()
    );
    for id in candidates {
        assert!(
            has_line(&out.stderr, &[id, security, "Canceled"]),
            "{}",
            out.show()
        );
    }
    // Unknown: says so, and where to look.
    let unused = "0123456789abcdef"
        .chars()
        .find(|c| !ids.iter().any(|i| i.starts_with(*c)))
        .unwrap()
        .to_string();
    let out = alice.fails(&["cancel", &unused]).await;
    assert!(
        out.stderr.contains(&format!(
            "no request of yours has an id starting with '{unused}'"
        )) && out.stderr.contains("eligo requests"),
        "{}",
        out.show()
    );

    // Approvals by prefix: Ada approves Alice's request and denies Bob's.
    let out = alice
        .ok(&["activate", security, "-d", "1h", "-j", "incident 43"])
        .await;
    let alices = request_id(&out);
    let bob = Person::new(&dir, "bob");
    bob.login(&server, "bob@contoso.example").await;
    let out = bob
        .ok(&["activate", exchange, "-d", "1h", "-j", "mailbox move"])
        .await;
    let bobs = request_id(&out);
    let ada = Person::new(&dir, "ada");
    ada.login(&server, "ada@contoso.example").await;
    enrol_on(&server, &ada.token()).await;
    let out = ada.ok(&["approvals"]).await;
    assert!(
        has_line(&out.stdout, &[&alices[..8], "Alice", security])
            && has_line(&out.stdout, &[&bobs[..8], "Bob", exchange])
            && !out.stdout.contains(alices.as_str()),
        "{}",
        out.show()
    );
    let waiting = ada.json(&["approvals", "--json"]).await;
    assert_eq!(waiting["value"].as_array().unwrap().len(), 2, "{waiting}");
    let unused = "0123456789abcdef"
        .chars()
        .find(|c| !alices.starts_with(*c) && !bobs.starts_with(*c))
        .unwrap()
        .to_string();
    let out = ada.fails(&["approve", &unused, "-j", "ok"]).await;
    assert!(
        out.stderr.contains(&format!(
            "nothing waiting on your approval has an id starting with '{unused}'"
        )) && out.stderr.contains("eligo approvals"),
        "{}",
        out.show()
    );
    let approved = ada
        .json(&["approve", &alices[..8], "-j", "incident is real", "--json"])
        .await;
    assert_eq!(approved["id"], alices.as_str(), "{approved}");
    assert_eq!(approved["status"], "Provisioned", "{approved}");
    assert_eq!(
        approved["steps"][0]["reviewResult"], "Approve",
        "{approved}"
    );
    let denied = ada
        .json(&[
            "deny",
            &bobs[..6].to_uppercase(),
            "-j",
            "not today",
            "--json",
        ])
        .await;
    assert_eq!(denied["id"], bobs.as_str(), "{denied}");
    assert_eq!(denied["status"], "Denied", "{denied}");
    let out = ada.ok(&["approvals"]).await;
    assert!(out.stdout.contains("nothing waits"), "{}", out.show());

    assert_eq!(server.stop().await.code(), Some(0));
    clean(&dir);
}

#[tokio::test]
async fn errors_name_the_server_and_json_parses() {
    let dir = temp_dir("cli-errors");
    let server = Server::start(&Spec::sqlite(&dir.join("data")).args(&["--demo"])).await;
    let nobody = Person::new(&dir, "nobody");

    // No session: one sentence, never an OS error, non-zero.
    for args in [
        &["whoami"][..],
        &["roles"],
        &["requests"],
        &["users", "list"],
        &["mfa", "stepup", "--otp", "123456"],
        &["cancel", "abcd"],
        &["logout"],
    ] {
        let out = nobody.run(args).await;
        assert!(!out.ok(), "eligo {args:?}: {}", out.show());
        assert_eq!(
            out.stderr.trim(),
            "error: not signed in: run eligo login",
            "eligo {args:?}: {}",
            out.show()
        );
    }

    // Nobody listens there: the server is named, and why.
    let dead = format!("http://127.0.0.1:{}", eligo_testkit::free_port());
    let out = nobody
        .fails(&["login", "--server", &dead, "-u", "alice@contoso.example"])
        .await;
    assert!(
        out.stderr
            .contains(&format!("cannot reach {dead}: connection refused")),
        "{}",
        out.show()
    );
    std::fs::create_dir_all(&nobody.config).unwrap();
    std::fs::write(
        nobody.config.join("session.json"),
        serde_json::json!({ "server": dead, "token": "stale" }).to_string(),
    )
    .unwrap();
    for args in [&["whoami"][..], &["roles"], &["approvals"]] {
        let out = nobody.fails(args).await;
        assert!(
            out.stderr
                .contains(&format!("cannot reach {dead}: connection refused")),
            "eligo {args:?}: {}",
            out.show()
        );
    }
    // A session the server does not know: its answer, and what to do.
    std::fs::write(
        nobody.config.join("session.json"),
        serde_json::json!({ "server": server.base, "token": "stale" }).to_string(),
    )
    .unwrap();
    let out = nobody.fails(&["whoami"]).await;
    assert!(
        out.stderr.contains(&format!(
            "{} answered 401 Unauthorized: InvalidAuthenticationToken",
            server.base
        )) && out.stderr.contains("run eligo login"),
        "{}",
        out.show()
    );

    // A wrong password and a refusal name the server too.
    let erin = Person::new(&dir, "erin");
    let out = erin
        .command(&[
            "login",
            "--server",
            &server.base,
            "-u",
            "erin@contoso.example",
        ])
        .env("ELIGO_PASSWORD", "Not-the-password-1")
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && stderr.contains(&format!(
                "{} answered 401 Unauthorized: InvalidCredentials",
                server.base
            )),
        "{stderr}"
    );
    erin.login(&server, "erin@contoso.example").await;
    let out = erin.fails(&["users", "list"]).await;
    assert!(
        out.stderr
            .contains(&format!("{} answered 403 Forbidden: ", server.base)),
        "{}",
        out.show()
    );

    // --json on what prints a result: whoami, and an administrator's assign and unassign.
    let me = erin.json(&["whoami", "--json"]).await;
    assert_eq!(me["userPrincipalName"], "erin@contoso.example", "{me}");
    let admin = Person::new(&dir, "admin");
    admin
        .ok(&["use-token", "--server", &server.base, "--token", BOOTSTRAP])
        .await;
    let helpdesk = "Helpdesk Administrator";
    let assigned = admin
        .json(&[
            "assign",
            "--eligible",
            helpdesk,
            "erin@contoso.example",
            "-d",
            "30d",
            "-j",
            "joins the helpdesk",
            "--json",
        ])
        .await;
    assert_eq!(assigned["action"], "adminAssign", "{assigned}");
    assert_eq!(assigned["principalId"], me["id"], "{assigned}");
    assert_eq!(assigned["status"], "Provisioned", "{assigned}");
    let removed = admin
        .json(&[
            "unassign",
            "--eligible",
            helpdesk,
            "erin@contoso.example",
            "--json",
        ])
        .await;
    assert_eq!(removed["action"], "adminRemove", "{removed}");
    assert_eq!(removed["principalId"], me["id"], "{removed}");
    let users = admin.json(&["users", "list", "--json"]).await;
    assert!(
        users["value"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["userPrincipalName"] == "erin@contoso.example"),
        "{users}"
    );
    let groups = admin.json(&["groups", "list", "--json"]).await;
    assert!(
        groups["value"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["displayName"] == "Compliance Portal Admins"),
        "{groups}"
    );

    // Signed out: the session is gone, and so is "signed in".
    let out = erin.ok(&["logout"]).await;
    assert!(
        out.stderr
            .contains(&format!("signed out of {}", server.base)),
        "{}",
        out.show()
    );
    let out = erin.fails(&["whoami"]).await;
    assert_eq!(
        out.stderr.trim(),
        "error: not signed in: run eligo login",
        "{}",
        out.show()
    );

    assert_eq!(server.stop().await.code(), Some(0));
    clean(&dir);
}
