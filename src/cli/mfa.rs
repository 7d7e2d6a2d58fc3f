//! `eligo mfa enrol` (a TOTP authenticator app: QR code in the terminal, the secret and the
//! otpauth URI, then a code from the app turns it on) and `eligo mfa stepup` (a fresh second
//! factor on this session).

use std::io::{IsTerminal, Write};

use anyhow::{Context, bail};
use clap::Subcommand;
use qrcode::QrCode;
use qrcode::render::unicode::Dense1x2;
use serde_json::{Value, json};

use super::client::print_json;
use super::net::{Conn, Refusal};
use super::term;

const BEGIN: &str = "/v1/me/authenticationMethods/totp";
const VERIFY: &str = "/v1/me/authenticationMethods/totp/verify";
const STEP_UP: &str = "/v1/auth/stepup";

#[derive(Subcommand)]
pub enum MfaCommand {
    /// Register a TOTP authenticator app for yourself.
    ///
    /// Shows a QR code to scan, the secret (to type in by hand) and the otpauth URI, then asks
    /// for the code the app shows and turns the authenticator on; that also counts as a fresh
    /// MFA on this session. Afterwards every sign-in needs a code (`eligo login --otp`).
    /// With --otp CODE it finishes an enrolment begun earlier on this session instead (within
    /// 10 minutes), without a new secret.
    #[command(visible_alias = "enroll")]
    Enrol {
        /// Finish the enrolment begun on this session with this code from the app.
        #[arg(long)]
        otp: Option<String>,
        /// Print the server's JSON (`secret`, `otpauthUri`) instead of the QR code; the prompt
        /// and what follows go to stderr.
        #[arg(long)]
        json: bool,
    },
    /// Prove a fresh second factor on this session with a code from your authenticator.
    ///
    /// Approving, changing role settings, assigning roles and administering groups need one
    /// proved within the last minutes (the server's ELIGO_MFA_FRESHNESS); `activate` asks by
    /// itself when a role's policy wants it.
    #[command(visible_alias = "step-up")]
    Stepup {
        /// The code (asked for on the terminal otherwise).
        #[arg(long)]
        otp: Option<String>,
        /// Print the server's JSON answer instead of a sentence.
        #[arg(long)]
        json: bool,
    },
}

macro_rules! out {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

pub async fn run(conn: Conn, command: MfaCommand) -> anyhow::Result<()> {
    match command {
        MfaCommand::Enrol { otp, json } => enrol(&conn, otp, json).await,
        MfaCommand::Stepup { otp, json } => step_up(&conn, otp, json).await,
    }
}

/// The QR code of `text` in block characters, two modules a line; light modules are drawn, so
/// that it reads on a dark terminal, and on a terminal it is painted black on white so that it
/// reads on any.
pub fn qr(text: &str, colour: bool) -> Option<String> {
    let code = QrCode::new(text.as_bytes()).ok()?;
    let image = code
        .render::<Dense1x2>()
        .dark_color(Dense1x2::Light)
        .light_color(Dense1x2::Dark)
        .quiet_zone(true)
        .build();
    if !colour {
        return Some(image);
    }
    Some(
        image
            .lines()
            .map(|line| format!("\x1b[97;40m{line}\x1b[0m"))
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

async fn verify(conn: &Conn, code: &str) -> anyhow::Result<Result<Value, Refusal>> {
    conn.send(
        reqwest::Method::POST,
        VERIFY,
        Some(&json!({ "otp": code.trim() })),
    )
    .await
}

async fn enrol(conn: &Conn, otp: Option<String>, json: bool) -> anyhow::Result<()> {
    if let Some(code) = otp {
        verify(conn, &code)
            .await?
            .map_err(|r| anyhow::Error::new(r).context("turning the authenticator on"))?;
        if json {
            print_json(&json!({ "verified": true }));
        } else {
            out!("authenticator on: sign-ins now need a code from it");
        }
        return Ok(());
    }
    let begun = conn
        .call(reqwest::Method::POST, BEGIN, None)
        .await
        .context("beginning TOTP enrolment")?;
    let secret = begun["secret"]
        .as_str()
        .with_context(|| format!("{} sent no secret", conn.server))?;
    let uri = begun["otpauthUri"].as_str().unwrap_or_default();
    if json {
        print_json(&begun);
    } else {
        if let Some(picture) = qr(uri, std::io::stdout().is_terminal()) {
            out!("Scan this with your authenticator app:\n\n{picture}\n");
        }
        out!("Or type in the secret: {secret}");
        out!("otpauth URI: {uri}");
    }
    let _ = std::io::stdout().flush();
    // Someone at a terminal may mistype: three tries.
    let tries = if term::interactive() { 3 } else { 1 };
    for attempt in 1..=tries {
        let Some(code) = term::ask("Code from the app: ")? else {
            bail!(
                "no code given: the authenticator is not on yet; finish within 10 minutes with \
                 eligo mfa enrol --otp CODE"
            );
        };
        match verify(conn, &code).await? {
            Ok(_) => {
                let done = "authenticator on: sign-ins now need a code from it";
                if json {
                    eprintln!("{done}");
                } else {
                    out!("{done}");
                }
                return Ok(());
            }
            Err(r) if attempt < tries && r.status == 400 => eprintln!("error: {r}"),
            Err(r) => return Err(anyhow::Error::new(r).context("turning the authenticator on")),
        }
    }
    unreachable!("the last try returns")
}

async fn step_up(conn: &Conn, otp: Option<String>, json: bool) -> anyhow::Result<()> {
    let code = match otp {
        Some(code) => code,
        None => term::ask("TOTP code: ")?
            .context("no code given: give --otp CODE, or type the code from your authenticator")?,
    };
    let answer = conn
        .post(STEP_UP, &json!({ "otp": code.trim() }))
        .await
        .context("step-up MFA failed")?;
    if json {
        print_json(&answer);
    } else {
        out!(
            "fresh MFA recorded on this session at {}",
            super::pim::when(&answer["lastMfaDateTime"])
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_qr_code_in_block_characters() {
        let picture = qr("otpauth://totp/Eligo:a@b?secret=JBSWY3DPEHPK3PXP", false).unwrap();
        let lines: Vec<&str> = picture.lines().collect();
        assert!(lines.len() > 10, "{picture}");
        // Square: two modules a line, as wide as tall.
        let width = lines[0].chars().count();
        assert!(lines.iter().all(|l| l.chars().count() == width));
        assert!(
            width.abs_diff(lines.len() * 2) <= 1,
            "{width} x {}",
            lines.len()
        );
        // The quiet zone is light, so drawn: the first line is all full blocks.
        assert!(lines[0].chars().all(|c| c == '\u{2588}'), "{}", lines[0]);
        let painted = qr("x", true).unwrap();
        assert!(painted.starts_with("\x1b[97;40m") && painted.ends_with("\x1b[0m"));
    }
}
