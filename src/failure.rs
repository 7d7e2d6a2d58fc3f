//! Why a use case did not do what was asked, in the use case's own words: a kind, a stable code,
//! a message and the details (which field, which rule). Nothing here knows HTTP; `error.rs` is the
//! one place that maps a kind to a status for the API, and the portal turns the same value into a
//! page. Failures that are Eligo's own fault are logged with their context where they are made and
//! reach the client only as a bare "internal error".

use eligo_core::invalid::Invalid;
use eligo_store::StoreError;
use serde::Serialize;

/// What went wrong, as far as the caller is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The request itself is wrong: a field, a rule of the policy, a query.
    Invalid,
    /// Who is calling is unknown: no session, a bad or expired one, wrong credentials.
    Unauthenticated,
    /// The caller is known and may not do this (authorization, rules 1 to 6).
    Denied,
    /// What the request names does not exist (or the caller may not know it does).
    NotFound,
    /// It clashes with the current state (it exists already, it moved on, it was used).
    Conflict,
    /// It existed and is over for good (an expired link or approval).
    Gone,
    /// Too many attempts: try again after `retry_after_secs`.
    Throttled,
    /// Eligo cannot answer right now (busy, or a dependency is down).
    Unavailable,
    /// The request took too long.
    Timeout,
    /// The body is larger than accepted.
    TooLarge,
    /// The body is not in a format Eligo reads.
    UnsupportedMedia,
    /// The resource exists but not with this method.
    MethodNotAllowed,
    /// Eligo's own fault.
    Internal,
}

#[derive(Debug)]
pub struct Failure {
    pub kind: Kind,
    pub code: &'static str,
    pub message: String,
    pub details: Vec<Detail>,
    pub retry_after_secs: Option<u64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Detail {
    pub code: String,
    pub target: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
}

pub type UseCaseResult<T> = Result<T, Failure>;

impl Failure {
    pub fn new(kind: Kind, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind,
            code,
            message: message.into(),
            details: Vec::new(),
            retry_after_secs: None,
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Kind::Invalid, code, message)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            Kind::NotFound,
            "Request_ResourceNotFound",
            format!("{what} does not exist"),
        )
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(Kind::Denied, "Authorization_RequestDenied", message)
    }

    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Kind::Unauthenticated, code, message)
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Kind::Conflict, code, message)
    }

    pub fn with_detail(mut self, code: impl Into<String>, target: impl Into<String>) -> Self {
        self.details.push(Detail {
            code: code.into(),
            target: target.into(),
            message: String::new(),
        });
        self
    }

    /// Eligo cannot answer now (its database is unreachable, its access index behind it):
    /// 503 with `Retry-After`, never a stale or guessed answer.
    pub fn unavailable(message: impl Into<String>) -> Self {
        let mut e = Self::new(Kind::Unavailable, "ServiceUnavailable", message);
        e.retry_after_secs = Some(1);
        e
    }

    /// A failure that is Eligo's fault: logged in full, answered bare.
    pub fn internal(context: &str, err: impl std::fmt::Display) -> Self {
        tracing::error!(error = %err, "{context}");
        Self::new(
            Kind::Internal,
            "InternalServerError",
            "an internal error occurred",
        )
    }

    /// Several broken input rules reported at once.
    pub fn invalid_all(code: &'static str, message: &str, all: Vec<Invalid>) -> Self {
        let mut e = Self::bad_request(code, message);
        e.details = all
            .into_iter()
            .map(|i| Detail {
                code: i.code.into(),
                target: i.target,
                message: i.message,
            })
            .collect();
        e
    }

    /// Is this the caller's mistake (as opposed to Eligo's or its dependencies')?
    pub fn is_callers(&self) -> bool {
        !matches!(
            self.kind,
            Kind::Internal | Kind::Unavailable | Kind::Timeout
        )
    }
}

impl From<Invalid> for Failure {
    fn from(i: Invalid) -> Self {
        let message = format!("{}: {}", i.target, i.message);
        let mut e = Self::bad_request(i.code, message);
        e.details.push(Detail {
            code: i.code.into(),
            target: i.target,
            message: String::new(),
        });
        e
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => Failure::conflict(
                "Request_MultipleObjectsWithSameKeyValue",
                format!("another object with the same value for property {what} already exists"),
            )
            .with_detail("ObjectConflict", what),
            // What the inputs' own checks let through and the database cannot hold.
            other if other.is_unstorable_text() => Failure::bad_request(
                "Request_BadRequest",
                "a text value holds a character that cannot be stored or searched for (NUL)",
            ),
            other if other.is_unreachable() => {
                tracing::warn!(error = %other, "the database is unreachable");
                Failure::unavailable("the database is unreachable; try again in a moment")
            }
            other => Failure::internal("store failure", other),
        }
    }
}

/// Refusals of the authorization layer, with a code that names the rule.
impl From<eligo_core::authz::Denied> for Failure {
    fn from(d: eligo_core::authz::Denied) -> Self {
        use eligo_core::authz::Denied;
        let e = Failure::new(Kind::Denied, d.code(), d.to_string());
        match d {
            Denied::MfaRequired => e.with_detail("MfaRequired", "otp"),
            Denied::SelfEscalation => e.with_detail("SelfEscalationDenied", "id"),
            _ => e,
        }
    }
}

impl From<eligo_core::filter::FilterError> for Failure {
    fn from(e: eligo_core::filter::FilterError) -> Self {
        Failure::bad_request("Request_UnsupportedQuery", e.to_string())
            .with_detail("InvalidFilter", "$filter")
    }
}
