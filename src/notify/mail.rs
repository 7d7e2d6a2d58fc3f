//! E-mail over SMTP: one pooled transport built from `ELIGO_SMTP_URL`, sending multipart
//! (text + HTML) mails and telling a failure worth retrying (connection trouble, 4xx) from one
//! that is not (5xx, a refused address).

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// How long connecting and each SMTP command may take.
const TIMEOUT: Duration = Duration::from_secs(20);
/// Open connections kept to the relay.
const POOL_SIZE: u32 = 4;
/// An idle pooled connection is closed after this long.
const POOL_IDLE: Duration = Duration::from_secs(60);

/// One mail to send: a text and an HTML rendering of the same content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The Message-ID, with or without its angle brackets (`<id@host>`).
    pub message_id: String,
}

/// Why a mail was not sent. Messages never carry the SMTP credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// Worth retrying later: the relay could not be reached, timed out, or answered 4xx.
    #[error("temporary mail failure: {0}")]
    Transient(String),
    /// Retrying will not help: the relay answered 5xx, or the mail itself is unusable.
    #[error("permanent mail failure: {0}")]
    Permanent(String),
}

impl MailError {
    pub fn is_transient(&self) -> bool {
        matches!(self, MailError::Transient(_))
    }
}

/// Sends Eligo's mail through one SMTP relay.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The user name and password of the URL, scrubbed from every error message.
    secrets: Vec<String>,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// A mailer for `smtp_url`: `smtp://host:port` (plain), `smtps://host` (implicit TLS),
    /// `smtp://host:587?tls=required` (StartTLS), with `user:password@` for authentication.
    /// Must be called inside a Tokio runtime (the connection pool runs a cleanup task).
    pub fn from_config(smtp_url: &str, from: &str) -> Result<Mailer, String> {
        let secrets = url_secrets(smtp_url);
        let from: Mailbox = from
            .parse()
            .map_err(|e| format!("the mail From address {from:?} is not valid: {e}"))?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url)
            .map_err(|e| {
                format!(
                    "the SMTP URL is not usable (smtp://host:port, smtps://host, \
                     smtp://host?tls=required): {}",
                    scrub(&e.to_string(), &secrets)
                )
            })?
            .timeout(Some(TIMEOUT))
            .pool_config(
                PoolConfig::new()
                    .max_size(POOL_SIZE)
                    .idle_timeout(POOL_IDLE),
            )
            .build();
        Ok(Mailer {
            transport,
            from,
            secrets,
        })
    }

    /// The From mailbox.
    pub fn from_address(&self) -> String {
        self.from.to_string()
    }

    /// Sends `mail` as multipart/alternative (text, then HTML).
    pub async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        let message = self.build(mail)?;
        self.transport.send(message).await.map(|_| ()).map_err(|e| {
            let text = scrub(&describe(&e), &self.secrets);
            if e.is_permanent() {
                MailError::Permanent(text)
            } else if e.is_transient() {
                MailError::Transient(text)
            } else if e.is_client() || e.is_response() {
                // Our side or the relay's answer made no sense: retrying the same bytes won't help.
                MailError::Permanent(text)
            } else {
                // Connection, network, TLS, timeout, shutdown: the relay may be back later.
                MailError::Transient(text)
            }
        })
    }

    fn build(&self, mail: &OutgoingMail) -> Result<Message, MailError> {
        if mail.to.is_empty() {
            return Err(MailError::Permanent("the mail has no recipient".into()));
        }
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(one_line(&mail.subject));
        for to in &mail.to {
            let mailbox: Mailbox = to.parse().map_err(|e| {
                MailError::Permanent(format!("recipient {to:?} is not a mail address: {e}"))
            })?;
            builder = builder.to(mailbox);
        }
        let id = mail.message_id.trim();
        if !id.is_empty() {
            let id = if id.starts_with('<') {
                id.to_string()
            } else {
                format!("<{id}>")
            };
            builder = builder.message_id(Some(id));
        }
        builder
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(mail.text.clone()),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(mail.html.clone()),
                    ),
            )
            .map_err(|e| MailError::Permanent(format!("the mail cannot be built: {e}")))
    }
}

/// A subject on one line: control characters (a display name may hold them) become spaces.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The error with its chain of causes ("connection error: Connection refused (os error 111)").
fn describe(e: &lettre::transport::smtp::Error) -> String {
    let mut out = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}

/// The user name and password in `scheme://user:password@host...`, raw and percent-decoded.
fn url_secrets(url: &str) -> Vec<String> {
    let Some((_, rest)) = url.split_once("://") else {
        return Vec::new();
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let Some((userinfo, _)) = authority.rsplit_once('@') else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for part in userinfo.splitn(2, ':') {
        if part.len() >= 3 {
            out.push(part.to_string());
            let decoded = percent_encoding::percent_decode_str(part)
                .decode_utf8_lossy()
                .into_owned();
            if decoded != part {
                out.push(decoded);
            }
        }
    }
    out
}

fn scrub(message: &str, secrets: &[String]) -> String {
    secrets
        .iter()
        .fold(message.to_string(), |m, s| m.replace(s.as_str(), "***"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_of_a_url_are_found_and_scrubbed() {
        let secrets = url_secrets("smtps://mailer:s%40cret!@smtp.example:465/eligo?tls=x");
        assert!(secrets.contains(&"mailer".to_string()));
        assert!(secrets.contains(&"s%40cret!".to_string()));
        assert!(secrets.contains(&"s@cret!".to_string()));
        assert_eq!(
            scrub("auth failed for mailer with s@cret!", &secrets),
            "auth failed for *** with ***"
        );
        assert!(url_secrets("smtp://127.0.0.1:25").is_empty());
    }

    #[test]
    fn subjects_stay_on_one_line() {
        assert_eq!(one_line("a\r\nBcc: x"), "a  Bcc: x");
    }

    #[tokio::test]
    async fn bad_configuration_is_refused_without_the_password() {
        let e = Mailer::from_config("ftp://u:hunter22@host", "eligo@example.com").unwrap_err();
        assert!(!e.contains("hunter22"), "{e}");
        assert!(Mailer::from_config("smtp://127.0.0.1:25", "not an address").is_err());
        let m = Mailer::from_config("smtp://127.0.0.1:25", "Eligo <eligo@example.com>").unwrap();
        assert_eq!(m.from_address(), "Eligo <eligo@example.com>");
    }

    #[tokio::test]
    async fn mails_without_a_usable_recipient_are_permanent_failures() {
        let m = Mailer::from_config("smtp://127.0.0.1:9", "eligo@example.com").unwrap();
        let mut mail = OutgoingMail {
            to: vec![],
            subject: "s".into(),
            text: "t".into(),
            html: "<p>h</p>".into(),
            message_id: "x@eligo".into(),
        };
        assert!(matches!(m.send(&mail).await, Err(MailError::Permanent(_))));
        mail.to = vec!["not-an-address".into()];
        assert!(matches!(m.send(&mail).await, Err(MailError::Permanent(_))));
    }
}
