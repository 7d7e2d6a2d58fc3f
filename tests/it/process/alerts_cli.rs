//! `eligo alerts` against a real `serve --demo`: an administrator turns off MFA for User
//! Administrator's activation, refreshes, lists the alerts (active ones, or all) with their
//! incidents, and remediates the incident by a prefix of its id; the fix is read back from the
//! API. Someone without `alerts/read` is refused. Output is read as a person would read it.

use eligo_core::roles::ids::USER_ADMINISTRATOR;
use serde_json::{Value, json};

use super::support::*;
use crate::harness::*;

fn line_with<'a>(text: &'a str, parts: &[&str]) -> Option<&'a str> {
    text.lines().find(|l| parts.iter().all(|p| l.contains(p)))
}

#[tokio::test]
async fn help_lists_the_alerts_commands() {
    let out = run(&["alerts", "--help"], &[]).await;
    assert_eq!(out.code(), Some(0), "{}", out.show());
    for c in ["list", "refresh", "remediate"] {
        assert!(
            out.stdout.lines().any(|l| l.trim_start().starts_with(c)),
            "{c} missing: {}",
            out.stdout
        );
    }
}

#[tokio::test]
async fn alerts_are_listed_refreshed_and_remediated_from_the_terminal() {
    let dir = temp_dir("proc-alerts-cli");
    let server = Server::start(&Spec::sqlite(&dir).args(&["--demo"])).await;
    let admin = Terminal::new(&dir, "admin");
    admin
        .ok(&["use-token", "--server", &server.base, "--token", BOOTSTRAP])
        .await;
    let api = server.client();
    let rule = format!(
        "/v1/policies/roleManagementPolicies/DirectoryRole_{USER_ADMINISTRATOR}/rules/Enablement_EndUser_Assignment"
    );
    let (status, body) = api
        .call(
            reqwest::Method::PATCH,
            &rule,
            Some(BOOTSTRAP),
            Some(json!({ "enabledRules": ["Justification"] })),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");

    let out = admin.ok(&["alerts", "refresh"]).await;
    assert!(
        out.stdout.contains("every alert scanned:"),
        "{}",
        out.show()
    );
    assert!(out.stdout.contains("active"), "{}", out.show());

    // Active alerts only: the MFA alert with its one incident, not an alert with none.
    let out = admin.ok(&["alerts", "list"]).await;
    assert!(
        line_with(
            &out.stdout,
            &["NoMfaOnRoleActivationAlert", "medium", " 1 "]
        )
        .is_some(),
        "{}",
        out.show()
    );
    assert!(
        !out.stdout.contains("SequentialActivationRenewalsAlert"),
        "{}",
        out.show()
    );
    // The MFA incident names only its role (an incident of another alert may name the role
    // and its holder).
    let incident_line = out
        .stdout
        .lines()
        .find(|l| {
            l.trim().split_once("  ").map(|(_, what)| what) == Some("role User Administrator")
        })
        .unwrap_or_else(|| panic!("the incident: {}", out.show()));
    let prefix = incident_line.split_whitespace().next().unwrap().to_string();
    assert_eq!(prefix.len(), 8, "{incident_line}");
    let out = admin.ok(&["alerts", "list", "--all"]).await;
    assert!(
        line_with(
            &out.stdout,
            &["SequentialActivationRenewalsAlert", "medium", " 0 "]
        )
        .is_some(),
        "{}",
        out.show()
    );
    let out = admin.ok(&["alerts", "list", "--json"]).await;
    let v: Value = serde_json::from_str(&out.stdout).expect("JSON");
    let mfa = v["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| {
            a["id"]
                .as_str()
                .unwrap()
                .ends_with("_NoMfaOnRoleActivationAlert")
        })
        .expect("the MFA alert");
    assert_eq!(mfa["alertIncidents"].as_array().unwrap().len(), 1);
    assert_eq!(mfa["alertDefinition"]["isRemediatable"], true);

    // Remediation by the prefix: the rule asks for MFA again, the incident is resolved.
    let out = admin.fails(&["alerts", "remediate", "zzzzzzzz"]).await;
    assert!(
        out.stderr.contains("no open incident 'zzzzzzzz'"),
        "{}",
        out.show()
    );
    let out = admin
        .ok(&[
            "alerts",
            "remediate",
            &prefix,
            "--alert",
            "NoMfaOnRoleActivationAlert",
        ])
        .await;
    assert!(
        out.stdout.contains(&format!(
            "remediated incident {prefix} of NoMfaOnRoleActivationAlert"
        )) && out.stdout.contains("0 open incidents now"),
        "{}",
        out.show()
    );
    let (_, after) = api.get(&rule, BOOTSTRAP).await;
    assert!(
        after["enabledRules"]
            .as_array()
            .unwrap()
            .contains(&json!("MultiFactorAuthentication")),
        "{after}"
    );
    let out = admin.ok(&["alerts", "list"]).await;
    assert!(
        !out.stdout.contains("NoMfaOnRoleActivationAlert"),
        "{}",
        out.show()
    );

    // Erin holds no role: refused.
    let erin = Terminal::new(&dir, "erin");
    erin.ok(&[
        "login",
        "--server",
        &server.base,
        "-u",
        "erin@contoso.example",
    ])
    .await;
    let out = erin.fails(&["alerts", "list"]).await;
    assert!(out.stderr.contains("answered 403"), "{}", out.show());
    assert_eq!(server.stop().await.code(), Some(0));
    clean(&dir);
}
