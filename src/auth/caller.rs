//! Who is calling: resolves a bearer token (read from the request by the extractor in
//! `crate::api::caller`) to a live session and the principal behind it, with the roles that
//! principal holds *at this moment*. Nothing about a
//! caller's access is cached across requests, so a role that has ended stops working at once.

use chrono::{DateTime, Utc};
use eligo_core::audit::{Actor, Initiator};
use eligo_core::authz::Grants;
use eligo_core::directory::PrincipalKind;
use eligo_store::TokenRecord;
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::token;
use crate::error::{ApiError, ApiResult};
use crate::service::access;

#[derive(Debug, Clone)]
pub struct Caller {
    pub id: Uuid,
    pub kind: PrincipalKind,
    pub display_name: String,
    pub upn: Option<String>,
    pub session: TokenRecord,
    pub grants: Grants,
}

impl Caller {
    pub fn initiator(&self) -> Initiator {
        let actor = Actor {
            id: Some(self.id),
            display_name: self.display_name.clone(),
            user_principal_name: self.upn.clone(),
        };
        match self.kind {
            PrincipalKind::ServicePrincipal => Initiator::App(actor),
            _ => Initiator::User(actor),
        }
    }

    /// Has this session proved a second factor within `freshness`?
    pub fn mfa_is_fresh(&self, now: DateTime<Utc>, freshness: chrono::TimeDelta) -> bool {
        self.session
            .last_mfa_at
            .is_some_and(|at| now - at <= freshness && at <= now)
    }

    /// The authentication context the provider vouched for, if it did so within `freshness`
    /// (as a second factor must be): a context proved hours ago proves nothing now.
    pub fn fresh_acr(&self, now: DateTime<Utc>, freshness: chrono::TimeDelta) -> Option<&str> {
        let at = self.session.acr_at?;
        (now - at <= freshness && at <= now).then_some(self.session.acr.as_deref())?
    }
}

impl Caller {
    /// The live portal session a cookie names. Only sessions issued by the portal's sign-in
    /// (which demanded the second factor) count: an API token pasted into the cookie is refused,
    /// or it would skip the portal's own demands.
    pub async fn from_portal_cookie(app: &AppState, raw: &str) -> ApiResult<Caller> {
        let caller = Caller::from_token(app, raw).await?;
        if caller.session.channel != eligo_store::SessionChannel::Portal {
            return Err(ApiError::unauthorized(
                "InvalidAuthenticationToken",
                "this is not a portal session",
            ));
        }
        Ok(caller)
    }

    /// As [`Caller::from_token`], from the session table and the index without a database read
    /// when this server is current within `ELIGO_MAX_STALENESS` and knows the token; otherwise
    /// (a token it has not seen, a server behind) exactly `from_token`.
    pub async fn from_table(app: &AppState, raw: &str) -> ApiResult<Caller> {
        let hash = token::digest(raw);
        let known = access::feed::is_fresh(app)
            .then(|| app.sessions.get(&hash))
            .flatten()
            .and_then(|session| {
                let principal = app.access.summary(session.principal_id)?;
                Some((session, principal))
            });
        let Some((session, principal)) = known else {
            return Caller::from_token(app, raw).await;
        };
        Caller::admit(app, session, principal)
    }

    /// The live session a raw token names (bearer header or portal cookie), with the roles
    /// its principal holds now; 401 when the token is unknown, revoked or expired.
    pub async fn from_token(app: &AppState, raw: &str) -> ApiResult<Caller> {
        let invalid = || {
            ApiError::unauthorized(
                "InvalidAuthenticationToken",
                "the access token is invalid or has expired",
            )
        };
        let now = app.clock.now();
        let hash = token::digest(raw);
        let mut tx = app.store.read().await?;
        let session = tx.get_token(&hash).await?.ok_or_else(invalid)?;
        if session.revoked_at.is_some() || session.expires_at.is_some_and(|end| now >= end) {
            return Err(invalid());
        }
        let principal = access::principal_summary(&mut *tx, session.principal_id)
            .await?
            .ok_or_else(invalid)?;
        // Every commit before this snapshot, on any server, is in the index before the
        // caller's grants are read from it (503 if it cannot be within the staleness bound).
        let head = tx.change_head().await?;
        drop(tx);
        access::feed::caught_up(app, head).await?;
        Caller::admit(app, session, principal)
    }

    /// The caller of a live `session` of `principal`: 401 when the session is revoked or
    /// expired or the account disabled, else with the roles it holds now.
    fn admit(
        app: &AppState,
        session: TokenRecord,
        principal: access::PrincipalSummary,
    ) -> ApiResult<Caller> {
        let now = app.clock.now();
        if session.revoked_at.is_some() || session.expires_at.is_some_and(|end| now >= end) {
            return Err(ApiError::unauthorized(
                "InvalidAuthenticationToken",
                "the access token is invalid or has expired",
            ));
        }
        if !principal.enabled {
            return Err(ApiError::unauthorized(
                "AccountDisabled",
                "this account is disabled",
            ));
        }
        let grants = app.access.grants(session.principal_id, now);
        Ok(Caller {
            id: session.principal_id,
            kind: principal.kind,
            display_name: principal.display_name,
            upn: principal.upn,
            session,
            grants,
        })
    }
}
