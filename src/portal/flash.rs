//! One-shot messages across a redirect ("Helpdesk Administrator is active until 14:00"). After
//! a form post the portal redirects (so a reload does not post twice) and the next page shows
//! what happened. The message rides in a short-lived cookie signed like the CSRF tokens, so
//! nobody can plant text on an Eligo page.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::portal::csrf;

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum Tone {
    Success,
    Info,
    Warning,
}

impl Tone {
    /// The CSS class suffix and the word screen readers hear first.
    pub fn as_str(&self) -> &'static str {
        match self {
            Tone::Success => "success",
            Tone::Info => "info",
            Tone::Warning => "warning",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Flash {
    pub tone: Tone,
    pub text: String,
}

impl Flash {
    pub fn success(text: impl Into<String>) -> Self {
        Self {
            tone: Tone::Success,
            text: text.into(),
        }
    }

    pub fn info(text: impl Into<String>) -> Self {
        Self {
            tone: Tone::Info,
            text: text.into(),
        }
    }

    pub fn warning(text: impl Into<String>) -> Self {
        Self {
            tone: Tone::Warning,
            text: text.into(),
        }
    }

    /// The cookie value: the message, then its signature.
    pub fn seal(&self, key: &[u8; 32]) -> String {
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default());
        let sig = csrf::token(key, "flash", &body);
        format!("{body}.{sig}")
    }

    /// The message of a cookie value Eligo signed; None for anything else.
    pub fn open(key: &[u8; 32], value: &str) -> Option<Self> {
        let (body, sig) = value.split_once('.')?;
        if !csrf::verify(key, "flash", body, sig) {
            return None;
        }
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).ok()?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_message_opens_and_a_changed_one_does_not() {
        let key = [1u8; 32];
        let sealed = Flash::success("done").seal(&key);
        assert_eq!(Flash::open(&key, &sealed), Some(Flash::success("done")));
        let forged = Flash::warning("pay here").seal(&[2u8; 32]);
        assert_eq!(Flash::open(&key, &forged), None);
        assert_eq!(Flash::open(&key, "garbage"), None);
    }
}
