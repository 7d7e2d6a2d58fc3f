//! The client half of the CLI: signs in to a running server, keeps the bearer token in the
//! user's config directory (mode 0600), and calls the HTTP API: who am I, users, groups, and
//! the second factor (`mfa`).

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use serde_json::{Value, json};

use super::mfa::{self, MfaCommand};
use super::net::{Conn, Session, encode, forget_session, save_session};

#[derive(Subcommand)]
pub enum ClientCommand {
    /// Sign in and remember the session (password from $ELIGO_PASSWORD or standard input), or
    /// with `--sso` through the server's identity provider in a browser.
    Login {
        /// The server's base URL.
        #[arg(long, default_value = "http://127.0.0.1:8400", env = "ELIGO_SERVER")]
        server: String,
        /// Your userPrincipalName.
        #[arg(long, short = 'u', required_unless_present = "sso")]
        username: Option<String>,
        /// A TOTP code, to sign in with MFA.
        #[arg(long, conflicts_with = "sso")]
        otp: Option<String>,
        /// Sign in through the server's single sign-on provider (OpenID Connect) in a browser.
        #[arg(long, conflicts_with = "username")]
        sso: bool,
        /// Which provider, when the server has several.
        #[arg(long, requires = "sso")]
        provider: Option<String>,
    },
    /// Use a bearer token you already have (e.g. the bootstrap token).
    UseToken {
        #[arg(long, default_value = "http://127.0.0.1:8400", env = "ELIGO_SERVER")]
        server: String,
        /// The token (or $ELIGO_TOKEN).
        #[arg(long, env = "ELIGO_TOKEN", hide_env_values = true)]
        token: String,
    },
    /// End the session on the server and forget it here.
    Logout,
    /// Show who you are signed in as, on which server, and what your session proves.
    Whoami {
        /// Print the server's JSON (GET /v1/me) instead of a summary.
        #[arg(long)]
        json: bool,
    },
    /// Your second factor: enrol a TOTP authenticator app, or prove a fresh MFA (step-up).
    Mfa {
        #[command(subcommand)]
        command: MfaCommand,
    },
    /// Manage users.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Manage groups.
    Groups {
        #[command(subcommand)]
        command: GroupsCommand,
    },
}

#[derive(Subcommand)]
pub enum UsersCommand {
    /// List users (optionally with an OData $filter): id, userPrincipalName, display name.
    List {
        #[arg(long)]
        filter: Option<String>,
        /// Print the server's JSON (every page, as one `value` list) instead of rows.
        #[arg(long)]
        json: bool,
    },
    /// Show one user by id or userPrincipalName (as JSON).
    Show {
        user: String,
        /// The server's JSON, which this prints anyway (accepted for scripts).
        #[arg(long)]
        json: bool,
    },
    /// Create a user (initial password from $ELIGO_NEW_PASSWORD, if set); prints it as JSON.
    Create {
        #[arg(long)]
        upn: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        mail: Option<String>,
        /// The server's JSON, which this prints anyway (accepted for scripts).
        #[arg(long)]
        json: bool,
    },
    /// Delete a user by id or userPrincipalName.
    Delete { user: String },
}

#[derive(Subcommand)]
pub enum GroupsCommand {
    /// List groups: id, display name, role-assignable.
    List {
        #[arg(long)]
        filter: Option<String>,
        /// Print the server's JSON (every page, as one `value` list) instead of rows.
        #[arg(long)]
        json: bool,
    },
    /// Show one group by id or display name (as JSON).
    Show {
        group: String,
        /// The server's JSON, which this prints anyway (accepted for scripts).
        #[arg(long)]
        json: bool,
    },
    /// Create a security group; prints it as JSON.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        description: Option<String>,
        /// The group can hold roles (fixed at creation).
        #[arg(long)]
        role_assignable: bool,
        /// The server's JSON, which this prints anyway (accepted for scripts).
        #[arg(long)]
        json: bool,
    },
    /// List a group's direct members.
    Members {
        group: String,
        /// Print the server's JSON instead of rows.
        #[arg(long)]
        json: bool,
    },
    /// Add a member (user by id or UPN, or a group id).
    AddMember { group: String, member: String },
    /// Remove a member.
    RemoveMember { group: String, member: String },
    /// Delete a group.
    Delete { group: String },
}

/// A signed-in connection with the directory lookups the commands need.
struct Api {
    conn: Conn,
}

impl Api {
    fn open() -> anyhow::Result<Self> {
        Ok(Self {
            conn: Conn::signed_in()?,
        })
    }

    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.conn.get(path).await
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        self.conn.call(method, path, body.as_ref()).await
    }

    /// A user id from an id or a userPrincipalName.
    async fn user_id(&self, user: &str) -> anyhow::Result<String> {
        if uuid::Uuid::parse_str(user).is_ok() {
            return Ok(user.to_string());
        }
        let filter = format!("userPrincipalName eq '{}'", user.replace('\'', "''"));
        let found = self
            .get(&format!("/v1/users?$filter={}", encode(&filter)))
            .await?;
        first_id(&found).with_context(|| format!("no user {user}"))
    }

    async fn group_id(&self, group: &str) -> anyhow::Result<String> {
        if uuid::Uuid::parse_str(group).is_ok() {
            return Ok(group.to_string());
        }
        let filter = format!("displayName eq '{}'", group.replace('\'', "''"));
        let found = self
            .get(&format!("/v1/groups?$filter={}", encode(&filter)))
            .await?;
        first_id(&found).with_context(|| format!("no group named {group}"))
    }

    /// A collection path with an optional `$filter`.
    fn filtered(path: &str, filter: Option<&str>) -> String {
        match filter {
            Some(f) => format!("{path}?$filter={}", encode(f)),
            None => path.to_string(),
        }
    }
}

fn first_id(collection: &Value) -> Option<String> {
    collection["value"].get(0)?["id"].as_str().map(String::from)
}

fn read_password() -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("ELIGO_PASSWORD") {
        return Ok(p);
    }
    eprint!("Password: ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::stdin().lock(), &mut line)?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

fn print_rows(rows: &[Value], columns: &[&str]) {
    let mut out = std::io::stdout().lock();
    for row in rows {
        let cells: Vec<String> = columns
            .iter()
            .map(|c| {
                row[*c]
                    .as_str()
                    .map(String::from)
                    .unwrap_or_else(|| row[*c].to_string())
            })
            .collect();
        // A reader that went away (`eligo users list | head`) is not an error.
        if writeln!(out, "{}", cells.join("\t")).is_err() {
            return;
        }
    }
}

pub(super) fn print_json(v: &Value) {
    let _ = writeln!(
        std::io::stdout().lock(),
        "{}",
        serde_json::to_string_pretty(v).unwrap_or_default()
    );
}

/// Every row of a collection, as rows or as the server's JSON (all pages in one `value`).
async fn list(api: &Api, path: &str, columns: &[&str], json: bool) -> anyhow::Result<()> {
    let rows = api.conn.all(path).await?;
    if json {
        print_json(&json!({ "value": rows }));
    } else {
        print_rows(&rows, columns);
    }
    Ok(())
}

pub async fn run(command: ClientCommand) -> anyhow::Result<ExitCode> {
    match command {
        ClientCommand::Login {
            server,
            username,
            otp,
            sso,
            provider,
        } => {
            let conn = Conn::new(&server, None)?;
            let got = if sso {
                super::sso::login(&conn, provider.as_deref()).await?
            } else {
                let password = read_password()?;
                let mut body = json!({ "username": username, "password": password });
                if let Some(otp) = otp {
                    body["otp"] = json!(otp);
                }
                conn.post("/v1/auth/token", &body).await?
            };
            let username = match username {
                Some(u) => u,
                None => Conn::new(&conn.server, got["access_token"].as_str().map(String::from))?
                    .get("/v1/me")
                    .await?["userPrincipalName"]
                    .as_str()
                    .unwrap_or("?")
                    .to_string(),
            };
            let token = got["access_token"]
                .as_str()
                .with_context(|| format!("{} sent no token", conn.server))?
                .to_string();
            save_session(&Session {
                server: conn.server.clone(),
                token,
            })?;
            let amr: Vec<&str> = got["amr"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            eprintln!(
                "signed in to {} as {username} ({})",
                conn.server,
                amr.join(", ")
            );
        }
        ClientCommand::UseToken { server, token } => {
            let conn = Conn::new(&server, Some(token))?;
            let me = conn.get("/v1/me").await?;
            if let Some(session) = conn.session() {
                save_session(&session)?;
            }
            eprintln!(
                "using the token of {} on {}",
                me["userPrincipalName"]
                    .as_str()
                    .or(me["displayName"].as_str())
                    .unwrap_or("?"),
                conn.server
            );
        }
        ClientCommand::Logout => {
            let api = Api::open()?;
            api.call(reqwest::Method::POST, "/v1/auth/logout", None)
                .await?;
            forget_session()?;
            eprintln!("signed out of {}", api.conn.server);
        }
        ClientCommand::Whoami { json } => {
            let api = Api::open()?;
            let me = api.get("/v1/me").await?;
            if json {
                print_json(&me);
            } else {
                whoami(&api.conn.server, &me);
            }
        }
        ClientCommand::Mfa { command } => mfa::run(Conn::signed_in()?, command).await?,
        ClientCommand::Users { command } => users(Api::open()?, command).await?,
        ClientCommand::Groups { command } => groups(Api::open()?, command).await?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `uma@contoso.example (Uma Usman)` and what the session proves, for people.
fn whoami(server: &str, me: &Value) {
    let name = me["displayName"].as_str().unwrap_or("");
    let who = match me["userPrincipalName"].as_str() {
        Some(upn) if name.is_empty() => upn.to_string(),
        Some(upn) => format!("{upn} ({name})"),
        None => name.to_string(),
    };
    let kind = me["@odata.type"]
        .as_str()
        .map(|t| t.trim_start_matches("#microsoft.graph.").to_string())
        .unwrap_or_default();
    let session = &me["session"];
    let amr: Vec<&str> = session["amr"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let text = super::pim::when;
    let mut lines = vec![
        who,
        format!("id:        {}", me["id"].as_str().unwrap_or("?")),
    ];
    if !kind.is_empty() {
        lines.push(format!("type:      {kind}"));
    }
    lines.push(format!("server:    {server}"));
    lines.push(format!(
        "signed in: {}",
        if amr.is_empty() {
            "?".to_string()
        } else {
            amr.join(", ")
        }
    ));
    lines.push(format!(
        "last MFA:  {}",
        if session["lastMfaDateTime"].is_null() {
            "none on this session".to_string()
        } else {
            text(&session["lastMfaDateTime"])
        }
    ));
    lines.push(format!(
        "session:   ends {}",
        if session["expiresDateTime"].is_null() {
            "never".to_string()
        } else {
            text(&session["expiresDateTime"])
        }
    ));
    let _ = writeln!(std::io::stdout().lock(), "{}", lines.join("\n"));
}

async fn users(api: Api, command: UsersCommand) -> anyhow::Result<()> {
    match command {
        UsersCommand::List { filter, json } => {
            let path = Api::filtered("/v1/users", filter.as_deref());
            list(
                &api,
                &path,
                &["id", "userPrincipalName", "displayName"],
                json,
            )
            .await?;
        }
        UsersCommand::Show { user, .. } => {
            let id = api.user_id(&user).await?;
            print_json(&api.get(&format!("/v1/users/{id}")).await?);
        }
        UsersCommand::Create {
            upn, name, mail, ..
        } => {
            let mut body = json!({ "userPrincipalName": upn, "displayName": name, "mail": mail });
            if let Ok(p) = std::env::var("ELIGO_NEW_PASSWORD") {
                body["passwordProfile"] = json!({ "password": p });
            }
            print_json(
                &api.call(reqwest::Method::POST, "/v1/users", Some(body))
                    .await?,
            );
        }
        UsersCommand::Delete { user } => {
            let id = api.user_id(&user).await?;
            api.call(reqwest::Method::DELETE, &format!("/v1/users/{id}"), None)
                .await?;
            eprintln!("deleted {user}");
        }
    }
    Ok(())
}

async fn groups(api: Api, command: GroupsCommand) -> anyhow::Result<()> {
    match command {
        GroupsCommand::List { filter, json } => {
            let path = Api::filtered("/v1/groups", filter.as_deref());
            list(
                &api,
                &path,
                &["id", "displayName", "isAssignableToRole"],
                json,
            )
            .await?;
        }
        GroupsCommand::Show { group, .. } => {
            let id = api.group_id(&group).await?;
            print_json(&api.get(&format!("/v1/groups/{id}")).await?);
        }
        GroupsCommand::Create {
            name,
            description,
            role_assignable,
            ..
        } => {
            let body = json!({ "displayName": name, "description": description, "securityEnabled": true, "isAssignableToRole": role_assignable });
            print_json(
                &api.call(reqwest::Method::POST, "/v1/groups", Some(body))
                    .await?,
            );
        }
        GroupsCommand::Members { group, json } => {
            let id = api.group_id(&group).await?;
            list(
                &api,
                &format!("/v1/groups/{id}/members"),
                &["id", "@odata.type", "displayName"],
                json,
            )
            .await?;
        }
        GroupsCommand::AddMember { group, member } => {
            let id = api.group_id(&group).await?;
            let member = if uuid::Uuid::parse_str(&member).is_ok() {
                member
            } else {
                api.user_id(&member).await?
            };
            api.call(
                reqwest::Method::POST,
                &format!("/v1/groups/{id}/members"),
                Some(json!({ "id": member })),
            )
            .await?;
            eprintln!("added");
        }
        GroupsCommand::RemoveMember { group, member } => {
            let id = api.group_id(&group).await?;
            let member = if uuid::Uuid::parse_str(&member).is_ok() {
                member
            } else {
                api.user_id(&member).await?
            };
            api.call(
                reqwest::Method::DELETE,
                &format!("/v1/groups/{id}/members/{member}"),
                None,
            )
            .await?;
            eprintln!("removed");
        }
        GroupsCommand::Delete { group } => {
            let id = api.group_id(&group).await?;
            api.call(reqwest::Method::DELETE, &format!("/v1/groups/{id}"), None)
                .await?;
            eprintln!("deleted {group}");
        }
    }
    Ok(())
}
