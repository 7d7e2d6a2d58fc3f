//! The signed-in person behind a portal request. `Viewer` reads the session cookie, resolves it
//! exactly as the API resolves a bearer token (roles as held at this moment), slides the idle
//! timeout forward and computes the anti-forgery token of the page's forms. Without a session,
//! a page redirects to sign-in and comes back; a form post says the session ended and changes
//! nothing.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use chrono::TimeDelta;

use crate::app::{App, AppState};
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::portal::cookies;
use crate::portal::csrf;
use crate::portal::flash::Flash;
use crate::portal::page::{Chrome, PageError, Section};
use crate::service::authorize::{self, Capabilities};

/// The idle timeout is written back at most this often (not on every page view).
const SLIDE_GRANULARITY: TimeDelta = TimeDelta::minutes(1);

pub struct Viewer {
    pub caller: Caller,
    /// What the viewer may do, as `service::authorize` answers it: only to show what they can
    /// use (each page and use case still decides for itself).
    pub can: Capabilities,
    /// The anti-forgery token of this session's forms.
    pub csrf: String,
    /// A message left by the previous request's redirect.
    pub flash: Option<Flash>,
    /// How many requests wait on the viewer's decision (the count beside Approvals); read for
    /// pages only, not for form posts.
    pub waiting: usize,
    /// How many access review decisions wait on the viewer (the count beside My reviews);
    /// for pages only, like `waiting`.
    pub reviews_waiting: usize,
}

impl Viewer {
    /// The chrome of a page in `section`.
    pub fn chrome(&self, section: Section) -> Chrome {
        Chrome::new(
            &self.caller,
            &self.can,
            self.csrf.clone(),
            self.flash.clone(),
            section,
            self.waiting,
            self.reviews_waiting,
        )
    }
}

/// The CSRF token of the session whose hash is `session_hash`.
pub fn csrf_for(app: &App, session_hash: &str) -> String {
    csrf::token(&app.link_key, "session", session_hash)
}

/// Moves the session's end to `idle timeout` from now (never past its absolute end), when
/// enough time has passed since the last move to be worth a write.
async fn slide(app: &App, caller: &Caller) -> ApiResult<()> {
    let now = app.clock.now();
    let absolute = caller.session.created_at + app.config.token_lifetime;
    let wanted = (now + app.config.portal_idle_timeout).min(absolute);
    let Some(current) = caller.session.expires_at else {
        return Ok(());
    };
    if wanted - current < SLIDE_GRANULARITY {
        return Ok(());
    }
    let mut session = caller.session.clone();
    session.expires_at = Some(wanted);
    let mut tx = app.store.write().await?;
    tx.update_token(&session).await?;
    tx.commit().await?;
    Ok(())
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, PageError> {
        let reading = parts.method == Method::GET || parts.method == Method::HEAD;
        let next = || {
            reading.then(|| {
                parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str().to_string())
                    .unwrap_or_default()
            })
        };
        let Some(raw) = cookies::get(&parts.headers, cookies::session_name(app)) else {
            return Err(if reading {
                PageError::SignIn { next: next() }
            } else {
                PageError::SessionEnded
            });
        };
        let caller = match Caller::from_portal_cookie(app, raw).await {
            Ok(c) => c,
            Err(e) if e.status() == StatusCode::UNAUTHORIZED => {
                return Err(if reading {
                    PageError::SignIn { next: next() }
                } else {
                    PageError::SessionEnded
                });
            }
            Err(e) => return Err(e.into()),
        };
        slide(app, &caller).await?;
        let flash = cookies::get(&parts.headers, cookies::FLASH)
            .and_then(|v| Flash::open(&app.link_key, v));
        let waiting = if reading {
            // Role and group requests, and access package requests, both wait on decisions.
            crate::service::pim::approve::waiting_on(app, &caller)
                .await?
                .len()
                + crate::service::entitlement::assignments::approve::waiting_on_me(app, &caller)
                    .await?
                    .len()
        } else {
            0
        };
        let reviews_waiting = if reading {
            crate::service::reviews::decisions::mine_everywhere(app, &caller)
                .await?
                .iter()
                .filter(|d| d.decision == eligo_core::review::Decision::NotReviewed)
                .count()
        } else {
            0
        };
        Ok(Viewer {
            csrf: csrf_for(app, &caller.session.token_hash),
            can: authorize::capabilities(app, &caller),
            caller,
            flash,
            waiting,
            reviews_waiting,
        })
    }
}
