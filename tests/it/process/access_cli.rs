//! `eligo exposure` and `eligo check` against a real `eligo serve --demo`, as an administrator
//! runs them with the bootstrap token: who can reach Global Administrator (the break-glass
//! account stands), and `check`'s answer in its exit status (0 allowed, 1 not, 2 could not ask).

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use eligo_core::roles::ids;
use serde_json::Value;

use super::support::*;
use crate::harness::*;

/// `eligo ARGS` with the session kept in `config`, and more environment.
async fn eligo_in(config: &Path, args: &[&str], env: &[(&str, &str)]) -> Out {
    let mut cmd = eligo();
    cmd.args(args)
        .envs(env.iter().copied())
        .env("ELIGO_CONFIG_DIR", config)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let output = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .unwrap_or_else(|_| panic!("eligo {args:?} did not finish within 60 s"))
        .expect("running eligo");
    Out {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A line of `text` that contains every one of `parts`.
fn has_line(text: &str, parts: &[&str]) -> bool {
    text.lines().any(|l| parts.iter().all(|p| l.contains(p)))
}

const BREAKGLASS: &str = "Emergency access (break-glass)";

#[tokio::test]
async fn exposure_and_check_from_the_command_line() {
    let dir = temp_dir("access-cli");
    let server = Server::start(&Spec::sqlite(&dir).args(&["--demo"])).await;
    let config = dir.join("config");
    let run = |args: &'static [&'static str]| eligo_in(&config, args, &[]);

    // Not signed in yet: `check` could not ask, which is neither allowed nor denied.
    let out = run(&[
        "check",
        "erin@contoso.example",
        "--role",
        "Global Administrator",
    ])
    .await;
    assert_eq!(out.code(), Some(2), "{}", out.show());
    assert!(out.stderr.contains("not signed in"), "{}", out.show());

    let out = eligo_in(
        &config,
        &["use-token", "--server", &server.base, "--token", BOOTSTRAP],
        &[],
    )
    .await;
    assert!(out.ok(), "{}", out.show());

    // The table: the break-glass account holds Global Administrator standing, directly and
    // permanently; Ada stands too; Carol could activate it.
    let out = run(&["exposure", "Global Administrator"]).await;
    assert_eq!(out.code(), Some(0), "{}", out.show());
    let header = out.stdout.lines().next().unwrap_or_default();
    for column in ["PRINCIPAL", "TYPE", "EXPOSURE", "VIA", "SCOPE", "UNTIL"] {
        assert!(header.contains(column), "{column} in {}", out.show());
    }
    assert!(
        has_line(
            &out.stdout,
            &[BREAKGLASS, "User", "standing", " - ", "/", "permanent"]
        ),
        "{}",
        out.show()
    );
    assert!(
        has_line(&out.stdout, &["Ada Administrator", "standing"]),
        "{}",
        out.show()
    );
    assert!(
        has_line(&out.stdout, &["Carol Security", "eligible"]),
        "{}",
        out.show()
    );
    assert!(!has_line(&out.stdout, &["Erin"]), "{}", out.show());
    let summary = out.stdout.lines().last().unwrap_or_default();
    assert!(
        summary.starts_with("Global Administrator: ")
            && summary.contains(" standing, ")
            && summary.ends_with(" eligible"),
        "{}",
        out.show()
    );

    // --json is the server's report; the role may be named by id as well.
    let out = run(&["exposure", ids::GLOBAL_ADMINISTRATOR, "--json"]).await;
    assert_eq!(out.code(), Some(0), "{}", out.show());
    let report: Value = serde_json::from_str(&out.stdout).expect("exposure --json is JSON");
    assert_eq!(report["roleDefinitionId"], ids::GLOBAL_ADMINISTRATOR);
    let breakglass = report["value"]
        .as_array()
        .expect("a value array")
        .iter()
        .find(|e| e["displayName"] == BREAKGLASS)
        .unwrap_or_else(|| panic!("no break-glass entry in {report}"));
    assert_eq!(breakglass["exposure"], "standing", "{report}");
    assert!(breakglass["endDateTime"].is_null(), "{report}");
    let standing = report["summary"]["standing"].as_u64().unwrap();
    assert!(standing >= 2, "{report}");
    assert!(
        summary.contains(&format!("{standing} standing")),
        "the table's summary agrees with the report: {summary} vs {report}"
    );

    let out = run(&["exposure", "No Such Role"]).await;
    assert!(!out.ok(), "{}", out.show());
    assert!(out.stderr.contains("no role named"), "{}", out.show());

    // check: allowed is 0, with how; not allowed is 1.
    let out = run(&[
        "check",
        "breakglass@eligo.local",
        "--role",
        "Global Administrator",
    ])
    .await;
    assert_eq!(out.code(), Some(0), "{}", out.show());
    assert!(out.stdout.starts_with("allowed: "), "{}", out.show());
    assert!(
        has_line(&out.stdout, &["until: permanent"]),
        "{}",
        out.show()
    );
    assert!(
        has_line(
            &out.stdout,
            &["  - active assignment at /", "held directly", "permanently"]
        ),
        "{}",
        out.show()
    );

    let out = run(&[
        "check",
        "erin@contoso.example",
        "--role",
        "Global Administrator",
    ])
    .await;
    assert_eq!(out.code(), Some(1), "{}", out.show());
    assert!(out.stdout.starts_with("not allowed: "), "{}", out.show());
    assert!(out.stderr.is_empty(), "{}", out.show());

    // Eligible is not holding: Carol could activate it but does not hold it now.
    let out = run(&[
        "check",
        "carol@contoso.example",
        "--role",
        "Global Administrator",
    ])
    .await;
    assert_eq!(out.code(), Some(1), "{}", out.show());

    let out = run(&[
        "check",
        "erin@contoso.example",
        "--role",
        "Global Administrator",
        "--json",
    ])
    .await;
    assert_eq!(out.code(), Some(1), "{}", out.show());
    let answer: Value = serde_json::from_str(&out.stdout).expect("check --json is JSON");
    assert_eq!(answer["allowed"], false, "{answer}");

    // Groups: membership and ownership.
    let out = run(&["check", "erin@contoso.example", "--group", "Helpdesk Team"]).await;
    assert_eq!(out.code(), Some(0), "{}", out.show());
    assert!(
        out.stdout
            .starts_with("allowed: erin@contoso.example is a member of group Helpdesk Team"),
        "{}",
        out.show()
    );
    let out = run(&[
        "check",
        "erin@contoso.example",
        "--group",
        "Helpdesk Team",
        "--access",
        "owner",
    ])
    .await;
    assert_eq!(out.code(), Some(1), "{}", out.show());
    let out = run(&[
        "check",
        "ada@contoso.example",
        "--group",
        "Helpdesk Team",
        "--access",
        "owner",
    ])
    .await;
    assert_eq!(out.code(), Some(0), "{}", out.show());

    // Could not ask: 2, with the reason.
    let out = run(&[
        "check",
        "nobody@contoso.example",
        "--role",
        "Global Administrator",
    ])
    .await;
    assert_eq!(out.code(), Some(2), "{}", out.show());
    assert!(
        out.stderr
            .contains("error: no user, group or service principal"),
        "{}",
        out.show()
    );
    let out = run(&["check", "erin@contoso.example", "--role", "No Such Role"]).await;
    assert_eq!(out.code(), Some(2), "{}", out.show());
    let out = run(&["check", "erin@contoso.example"]).await;
    assert_eq!(
        out.code(),
        Some(2),
        "neither --role nor --group: {}",
        out.show()
    );

    // Someone without a role that reads role assignments may ask about themselves only.
    let out = eligo_in(
        &config,
        &[
            "login",
            "--server",
            &server.base,
            "-u",
            "erin@contoso.example",
        ],
        &[("ELIGO_PASSWORD", DEMO_PASSWORD)],
    )
    .await;
    assert!(out.ok(), "{}", out.show());
    let out = run(&[
        "check",
        "erin@contoso.example",
        "--role",
        "Global Administrator",
    ])
    .await;
    assert_eq!(out.code(), Some(1), "{}", out.show());
    let out = run(&[
        "check",
        "ada@contoso.example",
        "--role",
        "Global Administrator",
    ])
    .await;
    assert_eq!(out.code(), Some(2), "{}", out.show());
    assert!(out.stderr.contains("403"), "{}", out.show());
    let out = run(&["exposure", "Global Administrator"]).await;
    assert!(!out.ok(), "{}", out.show());
    assert!(out.stderr.contains("403"), "{}", out.show());

    server.stop().await;
    clean(&dir);
}

#[tokio::test]
async fn help_names_the_commands_and_the_exit_status() {
    let out = run(&["--help"], &[]).await;
    assert_eq!(out.code(), Some(0), "{}", out.show());
    for command in ["exposure", "check"] {
        assert!(
            out.stdout
                .lines()
                .any(|l| l.trim_start().starts_with(command)),
            "{command} missing from --help: {}",
            out.stdout
        );
    }
    let out = run(&["check", "--help"], &[]).await;
    assert_eq!(out.code(), Some(0), "{}", out.show());
    assert!(
        out.stdout.contains(
            "Exit status: 0 allowed, 1 not allowed, 2 the question could not be answered"
        ),
        "{}",
        out.show()
    );
    for option in ["--role", "--scope", "--group", "--access", "--json"] {
        assert!(out.stdout.contains(option), "{option}: {}", out.show());
    }
}
