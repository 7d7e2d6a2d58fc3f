//! Entitlement management use cases: administering catalogs and their resources, access
//! packages with their resource roles and separation-of-duties rules, and assignment policies
//! (each write with its audit entry, category `EntitlementManagement`, in one transaction); and
//! what any signed-in person may ask: which packages they may request, under which policies.
//!
//! Administration needs Identity Governance Administrator's `entitlementManagement` actions
//! (Global Administrator has them) and a fresh second factor; reads need the read action. The
//! decisions are the core's (`eligo_core::entitlement`), authorization `service::authorize`'s.

pub mod assignments;
pub mod catalogs;
pub mod extensions;
pub mod hand_out;
pub mod mine;
pub mod notices;
pub mod packages;
pub mod policies;
pub mod protect;
mod reads;
pub mod requestable;

use eligo_core::audit::{AuditEvent, Category};
use eligo_core::authz::actions;
use eligo_core::invalid::Invalid;

use crate::app::App;
use crate::auth::Caller;
use crate::failure::{Failure, UseCaseResult};
use crate::service::authorize;

/// Every write here is filed under this category.
pub const CATEGORY: Category = Category::EntitlementManagement;

/// May the caller administer entitlement management (with a fresh second factor)?
pub(crate) fn may_manage(app: &App, caller: &Caller) -> UseCaseResult<()> {
    Ok(authorize::act(
        app,
        caller,
        actions::ENTITLEMENT_UPDATE,
        true,
    )?)
}

/// An audit entry of `activity` by the caller, now.
pub(crate) fn event(app: &App, caller: &Caller, activity: &str) -> AuditEvent {
    AuditEvent::new(app.clock.now(), CATEGORY, activity, caller.initiator())
}

/// Every broken rule of a body, as one 400 with a detail per rule.
pub(crate) fn invalid(code: &'static str, what: &str, problems: Vec<Invalid>) -> Failure {
    let summary: Vec<String> = problems.iter().map(ToString::to_string).collect();
    Failure::invalid_all(
        code,
        &format!("the {what} is invalid: {}", summary.join("; ")),
        problems,
    )
}

/// Reads entitlement management for a caller who may: obtained from [`reader`] only, so
/// nothing reads it without the decision.
pub struct Reader<'a> {
    pub(crate) app: &'a App,
}

pub fn reader<'a>(app: &'a App, caller: &Caller) -> UseCaseResult<Reader<'a>> {
    authorize::act(app, caller, actions::ENTITLEMENT_READ, false)?;
    Ok(Reader { app })
}

impl Reader<'_> {
    /// A read transaction over entitlement management.
    pub async fn tx(&self) -> UseCaseResult<Box<dyn eligo_store::Tx>> {
        Ok(self.app.store.read().await?)
    }
}
