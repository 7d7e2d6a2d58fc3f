//! The client half of the CLI: signs in to a running server, keeps the bearer token in the
//! user's config directory (mode 0600), and calls the HTTP API.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Subcommand;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Subcommand)]
pub enum ClientCommand {
    /// Sign in and remember the session (password from $ELIGO_PASSWORD or standard input).
    Login {
        /// The server's base URL.
        #[arg(long, default_value = "http://127.0.0.1:8400", env = "ELIGO_SERVER")]
        server: String,
        /// Your userPrincipalName.
        #[arg(long, short = 'u')]
        username: String,
        /// A TOTP code, to sign in with MFA.
        #[arg(long)]
        otp: Option<String>,
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
    /// Show who you are signed in as.
    Whoami,
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
    /// List users (optionally with an OData $filter).
    List {
        #[arg(long)]
        filter: Option<String>,
    },
    /// Show one user by id or userPrincipalName.
    Show { user: String },
    /// Create a user (initial password from $ELIGO_NEW_PASSWORD, if set).
    Create {
        #[arg(long)]
        upn: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        mail: Option<String>,
    },
    /// Delete a user by id or userPrincipalName.
    Delete { user: String },
}

#[derive(Subcommand)]
pub enum GroupsCommand {
    /// List groups.
    List {
        #[arg(long)]
        filter: Option<String>,
    },
    /// Show one group by id or display name.
    Show { group: String },
    /// Create a security group.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        description: Option<String>,
        /// The group can hold roles (fixed at creation).
        #[arg(long)]
        role_assignable: bool,
    },
    /// List a group's direct members.
    Members { group: String },
    /// Add a member (user by id or UPN, or a group id).
    AddMember { group: String, member: String },
    /// Remove a member.
    RemoveMember { group: String, member: String },
    /// Delete a group.
    Delete { group: String },
}

#[derive(Serialize, Deserialize)]
pub(super) struct Session {
    pub(super) server: String,
    pub(super) token: String,
}

fn session_path() -> anyhow::Result<PathBuf> {
    let dir = match std::env::var_os("ELIGO_CONFIG_DIR") {
        Some(d) => PathBuf::from(d),
        None => dirs::config_dir()
            .context("no config directory for this user")?
            .join("eligo"),
    };
    Ok(dir.join("session.json"))
}

fn save_session(s: &Session) -> anyhow::Result<()> {
    let path = session_path()?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options
        .open(&path)
        .with_context(|| format!("writing {}", path.display()))?;
    // `mode` applies only to a new file: tighten one that already existed, before writing.
    #[cfg(unix)]
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    f.write_all(serde_json::to_string(s)?.as_bytes())?;
    Ok(())
}

pub(super) fn load_session() -> anyhow::Result<Session> {
    let path = session_path()?;
    let text =
        std::fs::read_to_string(&path).with_context(|| "not signed in: run `eligo login` first")?;
    Ok(serde_json::from_str(&text)?)
}

struct Api {
    http: reqwest::Client,
    session: Session,
}

impl Api {
    fn new(session: Session) -> anyhow::Result<Self> {
        Ok(Self {
            http: reqwest::Client::builder().build()?,
            session,
        })
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let url = format!("{}{}", self.session.server.trim_end_matches('/'), path);
        let mut req = self
            .http
            .request(method, &url)
            .bearer_auth(&self.session.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.with_context(|| format!("calling {url}"))?;
        answer(resp).await
    }

    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.call(reqwest::Method::GET, path, None).await
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
}

fn first_id(collection: &Value) -> Option<String> {
    collection["value"].get(0)?["id"].as_str().map(String::from)
}

fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

async fn answer(resp: reqwest::Response) -> anyhow::Result<Value> {
    let status = resp.status();
    let text = resp.text().await?;
    let body: Value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    if !status.is_success() {
        let code = body["error"]["code"].as_str().unwrap_or("error");
        let message = body["error"]["message"].as_str().unwrap_or("");
        bail!("{} {code}: {message}", status.as_u16());
    }
    Ok(body)
}

fn read_password() -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("ELIGO_PASSWORD") {
        return Ok(p);
    }
    eprint!("Password: ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

fn print_rows(collection: &Value, columns: &[&str]) {
    for row in collection["value"].as_array().into_iter().flatten() {
        let cells: Vec<String> = columns
            .iter()
            .map(|c| {
                row[*c]
                    .as_str()
                    .map(String::from)
                    .unwrap_or_else(|| row[*c].to_string())
            })
            .collect();
        println!("{}", cells.join("\t"));
    }
}

fn print_json(v: &Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

pub async fn run(command: ClientCommand) -> anyhow::Result<ExitCode> {
    match command {
        ClientCommand::Login {
            server,
            username,
            otp,
        } => {
            let password = read_password()?;
            let http = reqwest::Client::new();
            let mut body = json!({ "username": username, "password": password });
            if let Some(otp) = otp {
                body["otp"] = json!(otp);
            }
            let url = format!("{}/v1/auth/token", server.trim_end_matches('/'));
            let got = answer(
                http.post(&url)
                    .json(&body)
                    .send()
                    .await
                    .with_context(|| format!("calling {url}"))?,
            )
            .await?;
            let token = got["access_token"]
                .as_str()
                .context("the server sent no token")?
                .to_string();
            save_session(&Session { server, token })?;
            eprintln!("signed in as {username} ({})", got["amr"]);
        }
        ClientCommand::UseToken { server, token } => {
            let api = Api::new(Session { server, token })?;
            let me = api.get("/v1/me").await?;
            save_session(&api.session)?;
            eprintln!(
                "using the token of {}",
                me["userPrincipalName"]
                    .as_str()
                    .or(me["displayName"].as_str())
                    .unwrap_or("?")
            );
        }
        ClientCommand::Logout => {
            let api = Api::new(load_session()?)?;
            api.call(reqwest::Method::POST, "/v1/auth/logout", None)
                .await?;
            std::fs::remove_file(session_path()?)?;
            eprintln!("signed out");
        }
        ClientCommand::Whoami => {
            let api = Api::new(load_session()?)?;
            print_json(&api.get("/v1/me").await?);
        }
        ClientCommand::Users { command } => users(Api::new(load_session()?)?, command).await?,
        ClientCommand::Groups { command } => groups(Api::new(load_session()?)?, command).await?,
    }
    Ok(ExitCode::SUCCESS)
}

async fn users(api: Api, command: UsersCommand) -> anyhow::Result<()> {
    match command {
        UsersCommand::List { filter } => {
            let path = match filter {
                Some(f) => format!("/v1/users?$filter={}", encode(&f)),
                None => "/v1/users".into(),
            };
            print_rows(
                &api.get(&path).await?,
                &["id", "userPrincipalName", "displayName"],
            );
        }
        UsersCommand::Show { user } => {
            let id = api.user_id(&user).await?;
            print_json(&api.get(&format!("/v1/users/{id}")).await?);
        }
        UsersCommand::Create { upn, name, mail } => {
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
        GroupsCommand::List { filter } => {
            let path = match filter {
                Some(f) => format!("/v1/groups?$filter={}", encode(&f)),
                None => "/v1/groups".into(),
            };
            print_rows(
                &api.get(&path).await?,
                &["id", "displayName", "isAssignableToRole"],
            );
        }
        GroupsCommand::Show { group } => {
            let id = api.group_id(&group).await?;
            print_json(&api.get(&format!("/v1/groups/{id}")).await?);
        }
        GroupsCommand::Create {
            name,
            description,
            role_assignable,
        } => {
            let body = json!({ "displayName": name, "description": description, "securityEnabled": true, "isAssignableToRole": role_assignable });
            print_json(
                &api.call(reqwest::Method::POST, "/v1/groups", Some(body))
                    .await?,
            );
        }
        GroupsCommand::Members { group } => {
            let id = api.group_id(&group).await?;
            print_rows(
                &api.get(&format!("/v1/groups/{id}/members")).await?,
                &["id", "@odata.type", "displayName"],
            );
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
