//! `eligo reviews` against a real `serve --demo`: an administrator starts a review of a group
//! with Alice as reviewer; Alice lists what waits on her with the recommendations, decides one
//! with a fresh second factor and accepts the rest; the administrator stops the review, applies
//! it and the denied member is gone from the group.

use serde_json::json;

use super::support::*;
use crate::harness::*;

#[tokio::test]
async fn a_reviewer_decides_from_the_terminal_and_the_administrator_applies() {
    let dir = temp_dir("proc-reviews-cli");
    let server = Server::start(&Spec::sqlite(&dir).args(&["--demo"])).await;
    let api = server.client();
    let (_, users) = api
        .get(
            "/v1/users?$filter=userPrincipalName eq 'alice@contoso.example'",
            BOOTSTRAP,
        )
        .await;
    let alice_id = users["value"][0]["id"].as_str().unwrap().to_string();
    let mut ids = Vec::new();
    for nick in ["rita", "sam"] {
        let (s, u) = api
            .post(
                "/v1/users",
                BOOTSTRAP,
                json!({ "userPrincipalName": format!("{nick}@contoso.example"), "displayName": nick,
                        "passwordProfile": { "password": DEMO_PASSWORD } }),
            )
            .await;
        assert_eq!(s, 201, "{u}");
        ids.push(u["id"].as_str().unwrap().to_string());
    }
    let (s, g) = api
        .post(
            "/v1/groups",
            BOOTSTRAP,
            json!({ "displayName": "Print Operators", "mailNickname": "printops", "securityEnabled": true }),
        )
        .await;
    assert_eq!(s, 201, "{g}");
    let group = g["id"].as_str().unwrap().to_string();
    for id in &ids {
        let (s, b) = api
            .post(
                &format!("/v1/groups/{group}/members/$ref"),
                BOOTSTRAP,
                json!({ "@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{id}") }),
            )
            .await;
        assert_eq!(s, 204, "{b}");
    }
    let (s, b) = api
        .post(
            "/v1/identityGovernance/accessReviews/definitions",
            BOOTSTRAP,
            json!({ "displayName": "Print Operators review",
                    "scope": { "query": format!("/groups/{group}/members"), "queryType": "MicrosoftGraph" },
                    "reviewers": [{ "query": format!("/users/{alice_id}"), "queryType": "MicrosoftGraph" }],
                    "settings": { "recommendationsEnabled": true, "instanceDurationInDays": 7 } }),
        )
        .await;
    assert_eq!(s, 201, "{b}");

    let alice = Terminal::new(&dir, "alice");
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
    let out = alice.ok(&["reviews", "list"]).await;
    for upn in ["rita@contoso.example", "sam@contoso.example"] {
        assert!(
            out.stdout.lines().any(|l| l.contains(upn)
                && l.contains("NoInfoAvailable (access given less than 30 days ago")),
            "{}",
            out.show()
        );
    }
    let rita_line = out
        .stdout
        .lines()
        .find(|l| l.contains("rita@contoso.example"))
        .unwrap();
    let rita_decision = rita_line.split_whitespace().next().unwrap().to_string();
    let sam_decision = out
        .stdout
        .lines()
        .find(|l| l.contains("sam@contoso.example"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_string();
    let out = alice
        .ok(&[
            "reviews",
            "decide",
            &rita_decision,
            "approve",
            "-j",
            "still prints payslips",
        ])
        .await;
    assert!(
        out.stdout.contains("rita@contoso.example: Approve"),
        "{}",
        out.show()
    );
    // Signed in with a code a moment ago: her second factor is fresh, no --otp needed.
    let out = alice.ok(&["reviews", "decide", "--recommended"]).await;
    assert!(
        out.stdout.contains(
            "recommendations accepted: 1 of 2 decisions decided (1 left without a recommendation)"
        ),
        "{}",
        out.show()
    );
    let out = alice
        .ok(&["reviews", "decide", &sam_decision, "deny"])
        .await;
    assert!(
        out.stdout.contains("sam@contoso.example: Deny"),
        "{}",
        out.show()
    );

    let admin = Terminal::new(&dir, "admin");
    admin
        .ok(&["use-token", "--server", &server.base, "--token", BOOTSTRAP])
        .await;
    let out = admin.ok(&["reviews", "list", "--all"]).await;
    assert!(
        out.stdout
            .lines()
            .any(|l| l.contains("Print Operators review") && l.contains("2/2 decided")),
        "{}",
        out.show()
    );
    admin
        .ok(&["reviews", "stop", "print operators review"])
        .await;
    let out = admin
        .ok(&["reviews", "apply", "Print Operators review"])
        .await;
    assert!(
        out.stdout
            .contains("access removed from sam@contoso.example"),
        "{}",
        out.show()
    );
    let (_, members) = api
        .get(&format!("/v1/groups/{group}/members"), BOOTSTRAP)
        .await;
    let left: Vec<&str> = members["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(left, [ids[0].as_str()]);
}
