//! The client's line to a server: the saved session, calls that keep the server's error whole
//! and name the server that answered, and transport failures said plainly ("cannot reach
//! http://127.0.0.1:8400: connection refused").

use std::fmt;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, anyhow, bail};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What every client command says when there is no saved session.
pub const NOT_SIGNED_IN: &str = "not signed in: run eligo login";

/// The session `eligo login` (or `use-token`) saved.
#[derive(Serialize, Deserialize)]
pub struct Session {
    pub server: String,
    pub token: String,
}

pub fn session_path() -> anyhow::Result<PathBuf> {
    let dir = match std::env::var_os("ELIGO_CONFIG_DIR") {
        Some(d) => PathBuf::from(d),
        None => dirs::config_dir()
            .context("this account has no config directory: set ELIGO_CONFIG_DIR")?
            .join("eligo"),
    };
    Ok(dir.join("session.json"))
}

/// Writes the session file, readable by its owner only (mode 0600, also when it existed).
pub fn save_session(s: &Session) -> anyhow::Result<()> {
    let path = session_path()?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
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

/// The saved session; no session file (or none that holds a session) is [`NOT_SIGNED_IN`].
pub fn load_session() -> anyhow::Result<Session> {
    let Ok(path) = session_path() else {
        bail!(NOT_SIGNED_IN)
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(NOT_SIGNED_IN),
        Err(e) => bail!("cannot read the session in {}: {e}", path.display()),
    };
    match serde_json::from_str::<Session>(&text) {
        Ok(s) if !s.server.is_empty() && !s.token.is_empty() => Ok(s),
        _ => bail!("{NOT_SIGNED_IN} ({} holds no session)", path.display()),
    }
}

/// Forgets the saved session (nothing to forget is fine).
pub fn forget_session() -> anyhow::Result<()> {
    let path = session_path()?;
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("removing {}", path.display()))
        }
        _ => Ok(()),
    }
}

/// An error answer of the server, as it sent it, with the server that sent it.
#[derive(Debug)]
pub struct Refusal {
    pub server: String,
    pub status: u16,
    pub code: String,
    pub message: String,
    /// (code, target, message) of each detail.
    pub details: Vec<(String, String, String)>,
}

impl Refusal {
    fn from_answer(server: &str, status: u16, body: &Value) -> Self {
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        let error = &body["error"];
        let message = match (error["message"].as_str(), body.as_str()) {
            (Some(m), _) => m.to_string(),
            (None, Some(raw)) => raw.chars().take(300).collect(),
            (None, None) => String::new(),
        };
        Self {
            server: server.to_string(),
            status,
            code: error["code"].as_str().unwrap_or("error").to_string(),
            message,
            details: error["details"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|d| (text(&d["code"]), text(&d["target"]), text(&d["message"])))
                .collect(),
        }
    }

    /// Does a detail carry this code (e.g. `MfaRule`)?
    pub fn has_detail(&self, code: &str) -> bool {
        self.details.iter().any(|(c, _, _)| c == code)
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reason = reqwest::StatusCode::from_u16(self.status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("");
        write!(
            f,
            "{} answered {} {reason}: {}",
            self.server, self.status, self.code
        )?;
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        for (code, target, message) in &self.details {
            write!(f, "\n  - {code}")?;
            if !message.is_empty() {
                write!(f, ": {message}")?;
            }
            if !target.is_empty() {
                write!(f, " ({target})")?;
            }
        }
        if self.code == "InvalidAuthenticationToken" {
            write!(f, "\n  the session has ended: run eligo login")?;
        }
        Ok(())
    }
}

impl std::error::Error for Refusal {}

/// A transport failure, naming the server: it could not be reached, it stopped answering, or
/// the address is not one.
pub fn transport(server: &str, e: &reqwest::Error) -> anyhow::Error {
    let why = cause(e);
    if e.is_builder() {
        anyhow!("{server} is not a server address (e.g. http://127.0.0.1:8400): {why}")
    } else if e.is_connect() {
        anyhow!("cannot reach {server}: {why}")
    } else if e.is_timeout() {
        anyhow!("{server} did not answer in time")
    } else {
        anyhow!("lost the connection to {server}: {why}")
    }
}

/// The innermost cause, in words: an I/O error by its kind ("connection refused"), anything
/// else as it says itself, without the OS error number.
fn cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut innermost: &(dyn std::error::Error + 'static) = e;
    let mut current = Some(e);
    while let Some(err) = current {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            let said = match io.kind() {
                ConnectionRefused => "connection refused",
                ConnectionReset => "connection reset",
                ConnectionAborted => "connection aborted",
                TimedOut => "timed out",
                AddrNotAvailable => "address not available",
                _ => "",
            };
            if !said.is_empty() {
                return said.to_string();
            }
        }
        innermost = err;
        current = err.source();
    }
    let text = innermost.to_string();
    let text = match text.rfind(" (os error ") {
        Some(at) => text[..at].to_string(),
        None => text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => "no reason given".to_string(),
    }
}

/// One server, with or without a session's bearer token.
pub struct Conn {
    http: reqwest::Client,
    /// The base URL, without a trailing slash.
    pub server: String,
    token: Option<String>,
}

impl Conn {
    pub fn new(server: &str, token: Option<String>) -> anyhow::Result<Self> {
        Ok(Self {
            http: reqwest::Client::builder().build()?,
            server: server.trim_end_matches('/').to_string(),
            token,
        })
    }

    /// The saved session's server and token.
    pub fn signed_in() -> anyhow::Result<Self> {
        let s = load_session()?;
        Self::new(&s.server, Some(s.token))
    }

    /// The session to save for this connection.
    pub fn session(&self) -> Option<Session> {
        Some(Session {
            server: self.server.clone(),
            token: self.token.clone()?,
        })
    }

    /// One call; `Err` for transport failures (and answers that are not JSON), the server's
    /// refusals are `Ok(Err(..))`.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Result<Value, Refusal>> {
        let url = format!("{}{}", self.server, path);
        let mut req = self.http.request(method, &url);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.map_err(|e| transport(&self.server, &e))?;
        let status = resp.status();
        let text = resp.text().await.map_err(|e| transport(&self.server, &e))?;
        let parsed = serde_json::from_str::<Value>(&text);
        if status.is_success() {
            return match parsed {
                Ok(v) => Ok(Ok(v)),
                Err(_) if text.trim().is_empty() => Ok(Ok(Value::Null)),
                Err(_) => bail!(
                    "{} answered {} with something that is not JSON: is it an Eligo server?",
                    self.server,
                    status.as_u16()
                ),
            };
        }
        let body = parsed.unwrap_or(Value::String(text));
        Ok(Err(Refusal::from_answer(
            &self.server,
            status.as_u16(),
            &body,
        )))
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        Ok(self.send(method, path, body).await??)
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    /// Every row of a paged collection, following `@odata.nextLink`.
    pub async fn all(&self, path: &str) -> anyhow::Result<Vec<Value>> {
        let mut rows = Vec::new();
        let mut next = Some(path.to_string());
        while let Some(path) = next.take() {
            let page = self.get(&path).await?;
            rows.extend(page["value"].as_array().into_iter().flatten().cloned());
            next = page["@odata.nextLink"]
                .as_str()
                .map(|link| self.relative(link));
        }
        Ok(rows)
    }

    /// A next link as a path on this server (links may be absolute).
    fn relative(&self, link: &str) -> String {
        match link.strip_prefix(&self.server) {
            Some(path) => path.to_string(),
            None if link.starts_with('/') => link.to_string(),
            None => match link
                .find("://")
                .and_then(|i| link[i + 3..].find('/').map(|j| i + 3 + j))
            {
                Some(at) => link[at..].to_string(),
                None => link.to_string(),
            },
        }
    }
}

pub fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn refusals_name_the_server() {
        let r = Refusal::from_answer(
            "http://127.0.0.1:8400",
            403,
            &json!({"error": {"code": "Authorization_RequestDenied", "message": "no",
                "details": [{"code": "MfaRequired", "target": "", "message": "a fresh MFA"}]}}),
        );
        assert_eq!(
            r.to_string(),
            "http://127.0.0.1:8400 answered 403 Forbidden: Authorization_RequestDenied: no\n  - MfaRequired: a fresh MFA"
        );
        let r = Refusal::from_answer(
            "http://h",
            401,
            &json!({"error": {"code": "InvalidAuthenticationToken"}}),
        );
        assert!(r.to_string().contains("run eligo login"), "{r}");
        let r = Refusal::from_answer("http://h", 502, &json!("<html>bad gateway</html>"));
        assert_eq!(
            r.to_string(),
            "http://h answered 502 Bad Gateway: error: <html>bad gateway</html>"
        );
    }

    #[test]
    fn next_links_become_paths() {
        let c = Conn::new("http://127.0.0.1:8400/", None).unwrap();
        assert_eq!(c.server, "http://127.0.0.1:8400");
        assert_eq!(
            c.relative("http://127.0.0.1:8400/v1/users?$skiptoken=x"),
            "/v1/users?$skiptoken=x"
        );
        assert_eq!(
            c.relative("/v1/users?$skiptoken=x"),
            "/v1/users?$skiptoken=x"
        );
        assert_eq!(c.relative("http://localhost:8400/v1/users"), "/v1/users");
    }
}
