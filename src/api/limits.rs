//! Request body limits per route (threat-model rule 9): the sign-in and authentication routes,
//! which anyone can reach before proving anything, read at most `max_auth_body_bytes` (16 KiB);
//! the bulk and administration routes (batches of access checks, connectors with their CA
//! bundles, whole role settings) up to `max_admin_body_bytes` (1 MiB; a route may hold its own
//! lower limit, as the batch check does); everything else `max_body_bytes` (64 KiB).
//!
//! A body announced larger than its route's limit is refused before anything else runs — no
//! extractor, no session lookup, no audit entry: 413 `PayloadTooLarge` changes nothing. A body
//! without a length (chunked) is cut at the limit while it is read, and the handler's extractor
//! answers the same 413.

use axum::body::{Body, HttpBody};
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::config::Config;
use crate::error::ApiError;

/// Which limit a path gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyClass {
    /// Sign-in, step-up, authenticator enrolment (TOTP and passkeys), the approval links'
    /// confirmation.
    Auth,
    /// Bulk and administration: batches of access checks, connectors, role management
    /// policies.
    Admin,
    Default,
}

/// The class of `path`.
pub fn class_of(path: &str) -> BodyClass {
    const AUTH: [&str; 7] = [
        "/v1/auth/",
        "/v1/me/authenticationMethods/",
        "/portal/sign-in",
        "/portal/sign-out",
        "/portal/step-up",
        "/portal/security",
        "/approvals/",
    ];
    const ADMIN: [&str; 5] = [
        "/v1/access/check",
        // SCIM groups carry their members: a thousand fit.
        "/scim/v2/",
        "/v1/connectors",
        "/v1/policies/",
        "/v1/identityGovernance/entitlementManagement/assignmentPolicies",
    ];
    if AUTH.iter().any(|p| path.starts_with(p)) {
        BodyClass::Auth
    } else if ADMIN.iter().any(|p| path.starts_with(p)) {
        BodyClass::Admin
    } else {
        BodyClass::Default
    }
}

/// The three limits of a configuration.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    pub auth: usize,
    pub admin: usize,
    pub default: usize,
}

impl BodyLimits {
    pub fn of(config: &Config) -> Self {
        Self {
            auth: config.max_auth_body_bytes,
            admin: config.max_admin_body_bytes,
            default: config.max_body_bytes,
        }
    }

    /// The limit of `path`.
    pub fn for_path(&self, path: &str) -> usize {
        match class_of(path) {
            BodyClass::Auth => self.auth,
            BodyClass::Admin => self.admin,
            BodyClass::Default => self.default,
        }
    }

    /// The largest limit of any route (the router's own backstop).
    pub fn largest(&self) -> usize {
        self.auth.max(self.admin).max(self.default)
    }

    /// Refuses a body announced larger than its route's limit (413, before anything else
    /// runs), and caps one that may still come (chunked, or announced within the limit) so
    /// it is cut at the limit while it is read. A request with nothing to read passes as is.
    pub fn cap(&self, req: Request) -> Result<Request, TooLarge> {
        let limit = self.for_path(req.uri().path());
        let announced = req
            .headers()
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if announced.is_some_and(|n| n > limit as u64) {
            metrics::counter!("eligo_request_bodies_refused_total").increment(1);
            return Err(TooLarge(limit));
        }
        if req.body().is_end_stream() {
            return Ok(req);
        }
        let (parts, body) = req.into_parts();
        let capped = Body::new(http_body_util::Limited::new(body, limit));
        Ok(Request::from_parts(parts, capped))
    }
}

/// A body announced larger than the limit it holds: 413 `PayloadTooLarge`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge(pub usize);

impl IntoResponse for TooLarge {
    fn into_response(self) -> Response {
        ApiError::of_status(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PayloadTooLarge",
            format!(
                "the request body is too large (this endpoint reads at most {} bytes)",
                self.0
            ),
        )
        .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        for auth in [
            "/v1/auth/token",
            "/v1/auth/stepup",
            "/v1/me/authenticationMethods/totp/verify",
            "/v1/me/authenticationMethods/passkeys",
            "/v1/me/authenticationMethods/passkeys/registrationOptions",
            "/v1/auth/passkeys/signInOptions",
            "/v1/auth/passkeys/signIn",
            "/v1/auth/passkeys/stepUp",
            "/portal/sign-in",
            "/portal/sign-in/pass",
            "/portal/step-up",
            "/approvals/decide",
        ] {
            assert_eq!(class_of(auth), BodyClass::Auth, "{auth}");
        }
        for admin in [
            "/v1/access/check",
            "/v1/connectors",
            "/v1/connectors/abc",
            "/v1/policies/roleManagementPolicies/x/rules/y",
            "/v1/identityGovernance/entitlementManagement/assignmentPolicies",
        ] {
            assert_eq!(class_of(admin), BodyClass::Admin, "{admin}");
        }
        for other in [
            "/v1/users",
            "/v1/groups/x/members",
            "/v1/me",
            "/portal/roles",
        ] {
            assert_eq!(class_of(other), BodyClass::Default, "{other}");
        }
    }
}
