//! Access package assignment requests and assignments: `submit` decides and delivers (or takes
//! back) in the request's transaction, `delivery` gives and takes back exactly what an
//! assignment gives, `expiry` is the scheduler's removal at the end; here the reads, cancel
//! and reprocess.
//!
//! Reading every request or assignment needs the entitlement read action; anyone reads their
//! own (as target or requestor) and cancels their own waiting request; reprocess is an
//! administrator's repair.

pub mod approve;
pub(crate) mod approvers;
pub mod callouts;
pub(crate) mod delivery;
pub mod expiry;
mod record;
pub mod scheduled;
mod submit;

use eligo_core::authz::actions;
use eligo_core::entitlement::assignment::Assignment;
use eligo_core::entitlement::package::AccessPackage;
use eligo_core::entitlement::request::{AssignmentRequest, RequestState};
use eligo_store::{AssignmentQuery, AssignmentRequestQuery};
use uuid::Uuid;

pub use submit::submit;

use super::{CATEGORY, event, may_manage};
use crate::app::App;
use crate::auth::Caller;
use crate::failure::{Failure, UseCaseResult};
use crate::service::access::{PrincipalSummary, principal_summary};
use crate::service::authorize;

/// Whose requests `filterByCurrentUser` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mine {
    Target,
    CreatedBy,
}

/// A request with what `$expand` may ask for.
pub struct RequestView {
    pub request: AssignmentRequest,
    pub requestor: Option<PrincipalSummary>,
    pub package: Option<AccessPackage>,
    pub assignment: Option<Assignment>,
}

/// An assignment with its target's names.
pub struct AssignmentView {
    pub assignment: Assignment,
    pub target: Option<PrincipalSummary>,
}

fn is_mine(caller: &Caller, r: &AssignmentRequest) -> bool {
    r.requestor_id == caller.id || r.target_id == caller.id
}

/// Every request (newest first): administrators and readers of entitlement management.
pub async fn list_requests(app: &App, caller: &Caller) -> UseCaseResult<Vec<AssignmentRequest>> {
    authorize::act(app, caller, actions::ENTITLEMENT_READ, false)?;
    let mut tx = app.store.read().await?;
    Ok(tx
        .list_assignment_requests(&AssignmentRequestQuery::default())
        .await?)
}

/// The caller's own requests: those for them, or those they made.
pub async fn my_requests(
    app: &App,
    caller: &Caller,
    on: Mine,
) -> UseCaseResult<Vec<AssignmentRequest>> {
    let mut q = AssignmentRequestQuery::default();
    match on {
        Mine::Target => q.target = Some(caller.id),
        Mine::CreatedBy => q.requestor = Some(caller.id),
    }
    let mut tx = app.store.read().await?;
    Ok(tx.list_assignment_requests(&q).await?)
}

/// One request with its requestor, package and assignment: the caller's own, or any for a
/// reader (a refusal is audited; an unknown id is 404 for everyone).
pub async fn get_request(app: &App, caller: &Caller, id: Uuid) -> UseCaseResult<RequestView> {
    let mut tx = app.store.read().await?;
    let request = tx
        .get_assignment_request(id)
        .await?
        .ok_or_else(|| Failure::not_found("assignment request"))?;
    if !is_mine(caller, &request) {
        drop(tx);
        authorize::audited(
            app,
            caller,
            "Read access package assignment request",
            CATEGORY,
            async {
                Ok(authorize::act(
                    app,
                    caller,
                    actions::ENTITLEMENT_READ,
                    false,
                )?)
            },
        )
        .await?;
        tx = app.store.read().await?;
    }
    let requestor = principal_summary(&mut *tx, request.requestor_id).await?;
    let package = tx.get_package(request.access_package_id).await?;
    let assignment = match request.assignment_id {
        Some(a) => tx.get_assignment(a).await?,
        None => None,
    };
    Ok(RequestView {
        request,
        requestor,
        package,
        assignment,
    })
}

/// Cancels a request still waiting (for approval, or `scheduled` for its start): its requestor, its target, or an
/// administrator. A decided request is a 409.
pub async fn cancel(app: &App, caller: &Caller, id: Uuid) -> UseCaseResult<()> {
    let activity = "Cancel access package assignment request";
    authorize::audited(app, caller, activity, CATEGORY, async {
        let now = app.clock.now();
        let mut tx = app.store.write().await?;
        let mut request = tx
            .get_assignment_request(id)
            .await?
            .ok_or_else(|| Failure::not_found("assignment request"))?;
        if !is_mine(caller, &request) {
            may_manage(app, caller)?;
        }
        if !request.is_waiting() {
            return Err(Failure::conflict(
                "RequestNotCancelable",
                format!(
                    "the request is {} and can no longer be canceled",
                    request.state.as_str()
                ),
            ));
        }
        request.state = RequestState::Canceled;
        request.status = "Canceled".into();
        request.completed_date_time = Some(now);
        tx.update_assignment_request(&request).await?;
        tx.append_audit(
            event(app, caller, activity)
                .target(request.id, "AccessPackageAssignmentRequest", None)
                .target(request.access_package_id, "AccessPackage", None),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    })
    .await
}

/// Repairs a partial delivery of the request's assignment (an administrator's action).
pub async fn reprocess_request(app: &App, caller: &Caller, id: Uuid) -> UseCaseResult<()> {
    let assignment = {
        let mut tx = app.store.read().await?;
        let request = tx
            .get_assignment_request(id)
            .await?
            .ok_or_else(|| Failure::not_found("assignment request"))?;
        request.assignment_id
    };
    match assignment {
        Some(a) => reprocess_assignment(app, caller, a).await,
        None => {
            authorize::audited(
                app,
                caller,
                "Reprocess access package assignment request",
                CATEGORY,
                async {
                    may_manage(app, caller)?;
                    Err(Failure::conflict(
                        "NothingToReprocess",
                        "this request has no assignment to deliver",
                    ))
                },
            )
            .await
        }
    }
}

/// Delivers again what a live assignment gives and is not true (a group or role that was
/// missing, a relation removed by hand); takes back again for an expired one. Idempotent.
pub async fn reprocess_assignment(app: &App, caller: &Caller, id: Uuid) -> UseCaseResult<()> {
    let activity = "Reprocess access package assignment";
    authorize::audited(app, caller, activity, CATEGORY, async {
        may_manage(app, caller)?;
        let now = app.clock.now();
        let mut tx = app.store.write().await?;
        let mut a = tx
            .get_assignment(id)
            .await?
            .ok_or_else(|| Failure::not_found("access package assignment"))?;
        let package = super::packages::load(&mut *tx, a.access_package_id).await?;
        if a.is_live() {
            delivery::deliver(&mut *tx, &mut a, &caller.initiator(), now).await?;
            match tx.get_assignment_request(a.last_request).await? {
                Some(mut r) => {
                    record::settle_delivery(&mut r, &mut a, now);
                    tx.update_assignment_request(&r).await?;
                }
                None => a.state = a.delivery_state(),
            }
        } else {
            delivery::take_back_all(app, &mut *tx, &mut a, &caller.initiator(), now).await?;
        }
        tx.update_assignment(&a).await?;
        tx.append_audit(record::assignment_event(
            event(app, caller, activity),
            &a,
            &package,
        ))
        .await?;
        tx.commit().await?;
        Ok(())
    })
    .await
}

async fn views(app: &App, all: Vec<Assignment>) -> UseCaseResult<Vec<AssignmentView>> {
    let mut tx = app.store.read().await?;
    let mut out = Vec::with_capacity(all.len());
    for assignment in all {
        let target = principal_summary(&mut *tx, assignment.target_id).await?;
        out.push(AssignmentView { assignment, target });
    }
    Ok(out)
}

/// Assignments as `query` filters them: readers of entitlement management.
pub async fn list_assignments(
    app: &App,
    caller: &Caller,
    query: AssignmentQuery,
) -> UseCaseResult<Vec<AssignmentView>> {
    authorize::act(app, caller, actions::ENTITLEMENT_READ, false)?;
    let all = {
        let mut tx = app.store.read().await?;
        tx.list_assignments(&query).await?
    };
    views(app, all).await
}

/// The caller's own assignments (`filterByCurrentUser(on='target')`).
pub async fn my_assignments(app: &App, caller: &Caller) -> UseCaseResult<Vec<AssignmentView>> {
    let all = {
        let mut tx = app.store.read().await?;
        tx.list_assignments(&AssignmentQuery {
            target: Some(caller.id),
            ..Default::default()
        })
        .await?
    };
    views(app, all).await
}

/// One assignment: its target's, or any for a reader.
pub async fn get_assignment(app: &App, caller: &Caller, id: Uuid) -> UseCaseResult<AssignmentView> {
    let a = {
        let mut tx = app.store.read().await?;
        tx.get_assignment(id)
            .await?
            .ok_or_else(|| Failure::not_found("access package assignment"))?
    };
    if a.target_id != caller.id {
        authorize::audited(
            app,
            caller,
            "Read access package assignment",
            CATEGORY,
            async {
                Ok(authorize::act(
                    app,
                    caller,
                    actions::ENTITLEMENT_READ,
                    false,
                )?)
            },
        )
        .await?;
    }
    Ok(views(app, vec![a]).await?.remove(0))
}
