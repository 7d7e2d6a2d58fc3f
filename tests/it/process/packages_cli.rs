//! `eligo access` and `eligo packages` against a real `serve --demo`, as the README's
//! access-package tour runs them: Erin asks for Insider Risk Management, her manager Alice
//! approves from the terminal, Erin holds it, asks for more, is refused the incompatible
//! package, gives access up; an administrator reads the history and the rules, and makes,
//! assigns and deletes a package and a catalog. Output is read as a person would read it.

use chrono::TimeDelta;
use eligo::clock::{Clock, SystemClock};
use serde_json::{Value, json};

use super::support::*;
use crate::harness::*;

fn has_line(text: &str, parts: &[&str]) -> bool {
    text.lines().any(|l| parts.iter().all(|p| l.contains(p)))
}

/// The id printed as "(request ID)".
fn request_id(out: &Out) -> String {
    let at = out
        .stdout
        .find("(request ")
        .unwrap_or_else(|| panic!("no request id printed: {}", out.show()));
    let rest = &out.stdout[at + "(request ".len()..];
    rest[..rest.find(')').unwrap()].to_string()
}

#[tokio::test]
async fn help_lists_the_access_package_commands() {
    let out = run(&["access", "--help"], &[]).await;
    assert_eq!(out.code(), Some(0), "{}", out.show());
    for c in [
        "list",
        "request",
        "remove",
        "extend",
        "requests",
        "cancel",
        "approvals",
        "approve",
        "deny",
    ] {
        assert!(
            out.stdout.lines().any(|l| l.trim_start().starts_with(c)),
            "{c} missing: {}",
            out.stdout
        );
    }
    let out = run(&["packages", "--help"], &[]).await;
    assert_eq!(out.code(), Some(0), "{}", out.show());
    for c in [
        "list",
        "show",
        "create",
        "delete",
        "catalogs",
        "assign",
        "unassign",
        "requests",
        "conflicts",
    ] {
        assert!(
            out.stdout.lines().any(|l| l.trim_start().starts_with(c)),
            "{c} missing: {}",
            out.stdout
        );
    }
}

#[tokio::test]
async fn the_readme_access_package_tour() {
    let dir = temp_dir("proc-packages-cli");
    let server = Server::start(&Spec::sqlite(&dir).args(&["--demo"])).await;
    let erin = Terminal::new(&dir, "erin");
    let alice = Terminal::new(&dir, "alice");
    let admin = Terminal::new(&dir, "admin");
    erin.ok(&[
        "login",
        "--server",
        &server.base,
        "-u",
        "erin@contoso.example",
    ])
    .await;

    // Erin sees what she may request, and asks.
    let out = erin.ok(&["access", "list"]).await;
    for p in [
        "Insider Risk Management",
        "Compliance Officer",
        "Help Desk Technician",
    ] {
        assert!(out.stdout.contains(p), "{p}: {}", out.show());
    }
    assert!(out.stdout.contains("no access package assignments"));
    let out = erin
        .fails(&["access", "request", "Insider Risk Management"])
        .await;
    assert!(
        out.stderr.contains("JustificationRequired"),
        "{}",
        out.show()
    );
    let out = erin
        .fails(&["access", "request", "Insider Risk Managers", "-j", "x"])
        .await;
    assert!(
        out.stderr
            .contains("no access package you may request named 'Insider Risk Managers'"),
        "{}",
        out.show()
    );
    let out = erin
        .ok(&[
            "access",
            "request",
            "insider risk management",
            "--justification",
            "Case IRM-42",
        ])
        .await;
    assert!(
        out.stdout
            .contains("Insider Risk Management: waiting for approval"),
        "{}",
        out.show()
    );
    let request = request_id(&out);
    let out = erin.ok(&["access", "requests"]).await;
    assert!(
        has_line(
            &out.stdout,
            &[
                &request[..8],
                "Insider Risk Management",
                "userAdd",
                "pendingApproval"
            ]
        ),
        "{}",
        out.show()
    );

    // Alice, her manager, approves with a fresh second factor.
    let api = server.client();
    let (_, signed_in) = api.sign_in("alice@contoso.example", DEMO_PASSWORD).await;
    let secret =
        super::pim_cli::enrol_on(&server, signed_in["access_token"].as_str().unwrap()).await;
    alice
        .ok(&[
            "login",
            "--server",
            &server.base,
            "-u",
            "alice@contoso.example",
            "--otp",
            &code_now(&secret, 1),
        ])
        .await;
    let out = alice.ok(&["access", "approvals"]).await;
    assert!(
        has_line(
            &out.stdout,
            &[&request[..8], &request, "Stage 1", "InProgress"]
        ),
        "{}",
        out.show()
    );
    let out = alice
        .ok(&[
            "access",
            "approve",
            &request[..8],
            "-j",
            "Erin is on the case",
        ])
        .await;
    assert!(
        out.stdout.contains("approved Stage 1 of request")
            && out.stdout.contains("the access is delivered"),
        "{}",
        out.show()
    );
    let out = alice.ok(&["access", "approvals"]).await;
    assert!(
        out.stdout
            .contains("no access package requests wait on you")
    );

    // Erin holds it for 30 days.
    let out = erin.ok(&["access", "list"]).await;
    let end = (SystemClock.now() + TimeDelta::days(30))
        .format("%Y-%m-%d")
        .to_string();
    assert!(
        has_line(&out.stdout, &["Insider Risk Management", "delivered", &end]),
        "{}",
        out.show()
    );
    // An extension waits for Alice again; Erin changes her mind.
    let out = erin
        .ok(&[
            "access",
            "extend",
            "Insider Risk Management",
            "--duration",
            "7d",
            "-j",
            "case continues",
        ])
        .await;
    assert!(
        out.stdout.contains("waiting for approval"),
        "{}",
        out.show()
    );
    let update = request_id(&out);
    let out = erin.ok(&["access", "cancel", &update[..8]]).await;
    assert!(out.stdout.contains("canceled"), "{}", out.show());

    // Self-service, then the incompatible package is refused with the server's reason.
    let out = erin
        .ok(&["access", "request", "Help Desk Technician", "-j", "rota"])
        .await;
    assert!(
        out.stdout
            .contains("Help Desk Technician: delivered, until"),
        "{}",
        out.show()
    );
    let out = erin
        .fails(&["access", "request", "Compliance Officer", "-j", "audit"])
        .await;
    assert!(
        out.stderr.contains("IncompatibleAccessPackage"),
        "{}",
        out.show()
    );
    let out = erin.ok(&["access", "remove", "Help Desk Technician"]).await;
    assert!(out.stdout.contains("removed"), "{}", out.show());
    let out = erin.ok(&["access", "list", "--json"]).await;
    let v: Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(v["assignments"].as_array().unwrap().len(), 1, "{v}");

    // The administrator: history, rules, and a package made, assigned and deleted.
    admin
        .ok(&["use-token", "--server", &server.base, "--token", BOOTSTRAP])
        .await;
    let out = admin.ok(&["packages", "list"]).await;
    assert!(
        has_line(&out.stdout, &["Insider Risk Management", "Compliance"]),
        "{}",
        out.show()
    );
    let out = admin
        .ok(&["packages", "show", "Insider Risk Management"])
        .await;
    assert!(
        out.stdout
            .contains("Member of group Insider Risk Management Admins"),
        "{}",
        out.show()
    );
    assert!(
        out.stdout.contains("approval (1 stage(s))") && out.stdout.contains("ends after 30d"),
        "{}",
        out.show()
    );
    let out = admin
        .ok(&["packages", "requests", "Insider Risk Management"])
        .await;
    assert!(
        has_line(
            &out.stdout,
            &["erin@contoso.example", "userAdd", "delivered"]
        ),
        "{}",
        out.show()
    );
    let out = admin
        .ok(&["packages", "conflicts", "Compliance Officer"])
        .await;
    assert!(
        has_line(&out.stdout, &["package", "Help Desk Technician"]),
        "{}",
        out.show()
    );

    admin
        .ok(&["packages", "catalogs", "create", "Finance"])
        .await;
    let policy = dir.join("open.json");
    std::fs::write(
        &policy,
        json!({ "displayName": "Anyone", "allowedTargetScope": "allMemberUsers",
                "expiration": { "type": "afterDuration", "duration": "P7D" },
                "requestorSettings": { "enableTargetsToSelfAddAccess": true } })
        .to_string(),
    )
    .unwrap();
    let out = admin
        .ok(&[
            "packages",
            "create",
            "Payroll Readers",
            "--catalog",
            "Finance",
            "--group",
            "Helpdesk Team",
            "--policy-file",
            policy.to_str().unwrap(),
        ])
        .await;
    assert!(out.stdout.contains("created in Finance"), "{}", out.show());
    let out = admin
        .ok(&[
            "packages",
            "assign",
            "Payroll Readers",
            "dave@contoso.example",
        ])
        .await;
    assert!(out.stdout.contains("delivered"), "{}", out.show());
    let out = admin
        .ok(&[
            "packages",
            "unassign",
            "Payroll Readers",
            "dave@contoso.example",
        ])
        .await;
    assert!(out.stdout.contains("removed"), "{}", out.show());
    let out = admin
        .fails(&[
            "packages",
            "unassign",
            "Payroll Readers",
            "dave@contoso.example",
        ])
        .await;
    assert!(out.stderr.contains("holds no assignment"), "{}", out.show());
    let out = admin
        .fails(&["packages", "catalogs", "delete", "Finance"])
        .await;
    assert!(out.stderr.contains("answered 409"), "{}", out.show());
    admin.ok(&["packages", "delete", "Payroll Readers"]).await;
    admin
        .ok(&["packages", "catalogs", "delete", "Finance"])
        .await;
    let out = admin.ok(&["packages", "catalogs", "list"]).await;
    assert!(!out.stdout.contains("Finance"), "{}", out.show());

    // Erin may not administer.
    let out = erin.fails(&["packages", "list"]).await;
    assert!(out.stderr.contains("answered 403"), "{}", out.show());
    assert_eq!(server.stop().await.code(), Some(0));
    clean(&dir);
}
