//! The client half of the CLI against a real server: sign in, manage users and groups, sign
//! out; the session file is private.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::Value;

use super::support::*;
use crate::harness::*;

/// `eligo ARGS` as a client with its own config directory (and a password in the environment).
async fn cli(config: &Path, password: Option<&str>, args: &[&str]) -> Out {
    let dir = config.display().to_string();
    let mut env = vec![("ELIGO_CONFIG_DIR", dir.as_str())];
    if let Some(p) = password {
        env.push(("ELIGO_PASSWORD", p));
    }
    run(args, &env).await
}

/// Runs a client command that must succeed.
async fn ok(config: &Path, args: &[&str]) -> Out {
    let out = cli(config, None, args).await;
    assert_eq!(out.code(), Some(0), "eligo {args:?}: {}", out.show());
    out
}

/// A line of `text` that contains every one of `parts`.
fn has_line(text: &str, parts: &[&str]) -> bool {
    text.lines().any(|l| parts.iter().all(|p| l.contains(p)))
}

/// The file's permission bits in octal, e.g. "600".
fn mode(path: &Path) -> String {
    let mode = std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode();
    format!("{:o}", mode & 0o777)
}

fn session_token(config: &Path) -> String {
    let text = std::fs::read_to_string(config.join("session.json")).expect("session.json");
    let v: Value = serde_json::from_str(&text).expect("session.json is JSON");
    v["token"]
        .as_str()
        .expect("a token in session.json")
        .to_string()
}

#[tokio::test]
async fn cli_client_tour() {
    let dir = temp_dir("proc-cli");
    let server = Server::start(&Spec::sqlite(&dir.join("data")).args(&["--demo"])).await;
    let config = dir.join("config");
    let url = server.base.clone();

    // Wrong password: non-zero exit, the server's error code on stderr, no session written.
    let out = cli(
        &config,
        Some("Not-the-password-1"),
        &["login", "--server", &url, "-u", "uma@contoso.example"],
    )
    .await;
    assert!(!out.ok(), "{}", out.show());
    assert!(out.stderr.contains("InvalidCredentials"), "{}", out.show());
    assert!(!config.join("session.json").exists());

    // Not signed in yet: whoami fails, and says what to do.
    let out = cli(&config, None, &["whoami"]).await;
    assert!(!out.ok(), "{}", out.show());
    assert_eq!(
        out.stderr.trim(),
        "error: not signed in: run eligo login",
        "{}",
        out.show()
    );

    let out = cli(
        &config,
        Some(DEMO_PASSWORD),
        &["login", "--server", &url, "-u", "uma@contoso.example"],
    )
    .await;
    assert_eq!(out.code(), Some(0), "{}", out.show());
    assert!(
        !out.stdout.contains(&session_token(&config))
            && !out.stderr.contains(&session_token(&config)),
        "login printed the token: {}",
        out.show()
    );
    assert_eq!(mode(&config.join("session.json")), "600");

    let out = ok(&config, &["whoami"]).await;
    assert!(
        out.stdout.starts_with("uma@contoso.example (")
            && has_line(&out.stdout, &["server:", &url])
            && has_line(&out.stdout, &["signed in:", "pwd"]),
        "{}",
        out.show()
    );
    let out = ok(&config, &["whoami", "--json"]).await;
    let me: Value = serde_json::from_str(&out.stdout).expect("whoami --json prints JSON");
    assert_eq!(me["userPrincipalName"], "uma@contoso.example", "{me}");

    // Users.
    let upn = "tour@contoso.example";
    let out = ok(
        &config,
        &["users", "create", "--upn", upn, "--name", "Tour Guide"],
    )
    .await;
    let created: Value = serde_json::from_str(&out.stdout).expect("users create prints JSON");
    let user_id = created["id"].as_str().expect("an id").to_string();
    assert_eq!(created["userPrincipalName"], upn, "{created}");
    let out = ok(&config, &["users", "list"]).await;
    assert!(
        out.stdout
            .lines()
            .any(|l| l.contains(&user_id) && l.contains(upn) && l.contains("Tour Guide")),
        "{}",
        out.show()
    );
    let out = ok(
        &config,
        &[
            "users",
            "list",
            "--filter",
            &format!("userPrincipalName eq '{upn}'"),
        ],
    )
    .await;
    assert_eq!(out.stdout.lines().count(), 1, "{}", out.show());
    let out = ok(&config, &["users", "list", "--json"]).await;
    let listed: Value = serde_json::from_str(&out.stdout).expect("users list --json is JSON");
    assert!(
        listed["value"]
            .as_array()
            .expect("a value array")
            .iter()
            .any(|u| u["id"] == user_id.as_str() && u["userPrincipalName"] == upn),
        "{listed}"
    );
    let out = ok(&config, &["users", "show", upn]).await;
    let shown: Value = serde_json::from_str(&out.stdout).expect("users show prints JSON");
    assert_eq!(shown["id"], user_id.as_str(), "{shown}");
    assert_eq!(shown["displayName"], "Tour Guide", "{shown}");
    let out = ok(&config, &["users", "show", &user_id]).await;
    assert!(out.stdout.contains(upn), "{}", out.show());

    // Groups: administration needs a fresh second factor; uma enrols an authenticator on
    // this session, which proves one.
    crate::process::pim_cli::enrol_on(&server, &session_token(&config)).await;
    let group = "Tour Group";
    let out = ok(&config, &["groups", "create", "--name", group]).await;
    let g: Value = serde_json::from_str(&out.stdout).expect("groups create prints JSON");
    let group_id = g["id"].as_str().expect("an id").to_string();
    assert_eq!(g["isAssignableToRole"], false, "{g}");
    let out = ok(&config, &["groups", "list"]).await;
    assert!(out.stdout.contains(&group_id), "{}", out.show());
    let out = ok(&config, &["groups", "list", "--json"]).await;
    let listed: Value = serde_json::from_str(&out.stdout).expect("groups list --json is JSON");
    assert!(
        listed["value"]
            .as_array()
            .expect("a value array")
            .iter()
            .any(|g| g["id"] == group_id.as_str() && g["displayName"] == group),
        "{listed}"
    );
    // A User Administrator may not create a role-assignable group.
    let out = cli(
        &config,
        None,
        &[
            "groups",
            "create",
            "--name",
            "Tour Admins",
            "--role-assignable",
        ],
    )
    .await;
    assert!(!out.ok(), "{}", out.show());
    assert!(out.stderr.contains("403"), "{}", out.show());

    let out = ok(&config, &["groups", "members", group]).await;
    assert!(!out.stdout.contains(&user_id), "{}", out.show());
    ok(&config, &["groups", "add-member", group, upn]).await;
    let out = ok(&config, &["groups", "members", group]).await;
    assert!(out.stdout.contains(&user_id), "{}", out.show());
    assert_eq!(out.stdout.lines().count(), 1, "{}", out.show());
    let out = ok(&config, &["groups", "members", group, "--json"]).await;
    let members: Value = serde_json::from_str(&out.stdout).expect("members --json is JSON");
    assert_eq!(members["value"][0]["id"], user_id.as_str(), "{members}");
    ok(&config, &["groups", "remove-member", &group_id, &user_id]).await;
    let out = ok(&config, &["groups", "members", &group_id]).await;
    assert!(!out.stdout.contains(&user_id), "{}", out.show());
    ok(&config, &["groups", "delete", group]).await;
    let out = ok(&config, &["groups", "list"]).await;
    assert!(!out.stdout.contains(&group_id), "{}", out.show());
    let out = cli(&config, None, &["groups", "members", group]).await;
    assert!(!out.ok(), "members of a deleted group: {}", out.show());

    ok(&config, &["users", "delete", upn]).await;
    let out = cli(&config, None, &["users", "show", upn]).await;
    assert!(!out.ok(), "a deleted user is still shown: {}", out.show());

    // Logout revokes the session on the server and forgets it here.
    let token = session_token(&config);
    ok(&config, &["logout"]).await;
    assert!(!config.join("session.json").exists());
    let out = cli(&config, None, &["whoami"]).await;
    assert!(!out.ok(), "whoami after logout: {}", out.show());
    let (status, _) = server.client().get("/v1/me", &token).await;
    assert_eq!(status, 401, "the token still works after logout");

    // use-token with the bootstrap token.
    let out = cli(
        &config,
        None,
        &["use-token", "--server", &url, "--token", BOOTSTRAP],
    )
    .await;
    assert_eq!(out.code(), Some(0), "{}", out.show());
    assert_eq!(mode(&config.join("session.json")), "600");
    let out = ok(&config, &["whoami"]).await;
    assert!(
        out.stdout.contains("breakglass@eligo.local"),
        "{}",
        out.show()
    );

    // The audit trail recorded the tour.
    let (status, verdict) = server.client().get("/v1/auditLogs/verify", BOOTSTRAP).await;
    assert_eq!(status, 200);
    assert_eq!(verdict["valid"], true, "{verdict}");
    let out = server.stop().await;
    assert_eq!(out.code(), Some(0), "{}", out.show());
    clean(&dir);
}

#[tokio::test]
async fn session_file_is_private_even_if_it_existed() {
    let dir = temp_dir("proc-cli-mode");
    let server = Server::start(&Spec::sqlite(&dir.join("data")).args(&["--demo"])).await;
    let config = dir.join("config");
    std::fs::create_dir_all(&config).unwrap();
    let session = config.join("session.json");
    std::fs::write(&session, "{}").unwrap();
    std::fs::set_permissions(&session, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = cli(
        &config,
        Some(DEMO_PASSWORD),
        &[
            "login",
            "--server",
            &server.base,
            "-u",
            "dave@contoso.example",
        ],
    )
    .await;
    assert_eq!(out.code(), Some(0), "{}", out.show());
    assert_eq!(
        mode(&session),
        "600",
        "session.json holding a bearer token is readable by others"
    );
    assert_eq!(server.stop().await.code(), Some(0));
    clean(&dir);
}
