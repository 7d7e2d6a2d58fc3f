//! What a signed-in person reads about their own access packages (the portal's "My access"):
//! their assignments, the requests made for them or by them, and the packages and policies
//! those name; and the approvals waiting on them with the package each is for. Nothing here
//! needs an entitlement role: every record is reached from the caller's own assignments,
//! requests, or an approval `approve` already let them see, so nobody reads another person's.

use std::collections::{BTreeMap, BTreeSet};

use eligo_core::entitlement::assignment::Assignment;
use eligo_core::entitlement::package::AccessPackage;
use eligo_core::entitlement::policy::AssignmentPolicy;
use eligo_core::entitlement::request::AssignmentRequest;
use eligo_store::{AssignmentQuery, AssignmentRequestQuery, Tx};
use uuid::Uuid;

use super::assignments::approve::{self, ApprovalView};
use crate::app::App;
use crate::auth::Caller;
use crate::failure::UseCaseResult;

/// The caller's assignments and requests, with the packages and policies they name.
pub struct MyAccess {
    /// Newest first.
    pub assignments: Vec<Assignment>,
    /// For the caller or made by them, newest first, each once.
    pub requests: Vec<AssignmentRequest>,
    pub packages: BTreeMap<Uuid, AccessPackage>,
    pub policies: BTreeMap<Uuid, AssignmentPolicy>,
}

/// Reads the packages and policies `ids` name (those that still exist).
async fn named(
    tx: &mut dyn Tx,
    packages: BTreeSet<Uuid>,
    policies: BTreeSet<Uuid>,
) -> UseCaseResult<(
    BTreeMap<Uuid, AccessPackage>,
    BTreeMap<Uuid, AssignmentPolicy>,
)> {
    let mut p = BTreeMap::new();
    for id in packages {
        if let Some(pkg) = tx.get_package(id).await? {
            p.insert(id, pkg);
        }
    }
    let mut q = BTreeMap::new();
    for id in policies {
        if let Some(pol) = tx.get_assignment_policy(id).await? {
            q.insert(id, pol);
        }
    }
    Ok((p, q))
}

pub async fn my_access(app: &App, caller: &Caller) -> UseCaseResult<MyAccess> {
    let mut tx = app.store.read().await?;
    let mut assignments = tx
        .list_assignments(&AssignmentQuery {
            target: Some(caller.id),
            ..Default::default()
        })
        .await?;
    assignments.sort_by_key(|a| std::cmp::Reverse(a.created_date_time));
    let mut requests = tx
        .list_assignment_requests(&AssignmentRequestQuery {
            target: Some(caller.id),
            ..Default::default()
        })
        .await?;
    for r in tx
        .list_assignment_requests(&AssignmentRequestQuery {
            requestor: Some(caller.id),
            ..Default::default()
        })
        .await?
    {
        if !requests.iter().any(|o| o.id == r.id) {
            requests.push(r);
        }
    }
    requests.sort_by_key(|r| std::cmp::Reverse(r.created_date_time));
    let packages = assignments
        .iter()
        .map(|a| a.access_package_id)
        .chain(requests.iter().map(|r| r.access_package_id))
        .collect();
    let policies = assignments
        .iter()
        .map(|a| a.assignment_policy_id)
        .chain(requests.iter().filter_map(|r| r.assignment_policy_id))
        .collect();
    let (packages, policies) = named(&mut *tx, packages, policies).await?;
    Ok(MyAccess {
        assignments,
        requests,
        packages,
        policies,
    })
}

/// An approval the caller may see (`approve::get_approval` decides: 404 otherwise), with its
/// package and the policy it was asked under.
pub struct ApprovalDetails {
    pub approval: ApprovalView,
    pub package: Option<AccessPackage>,
    pub policy: Option<AssignmentPolicy>,
}

pub async fn approval(app: &App, caller: &Caller, id: Uuid) -> UseCaseResult<ApprovalDetails> {
    let approval = approve::get_approval(app, caller, id).await?;
    with_package(app, vec![approval])
        .await
        .map(|mut v| v.remove(0))
}

/// The approvals waiting on the caller's decision (`filterByCurrentUser(on='approver')`),
/// each with its package.
pub async fn waiting_on_me(app: &App, caller: &Caller) -> UseCaseResult<Vec<ApprovalDetails>> {
    let waiting = approve::waiting_on_me(app, caller).await?;
    with_package(app, waiting).await
}

async fn with_package(
    app: &App,
    approvals: Vec<ApprovalView>,
) -> UseCaseResult<Vec<ApprovalDetails>> {
    let mut tx = app.store.read().await?;
    let (packages, policies) = named(
        &mut *tx,
        approvals
            .iter()
            .map(|a| a.request.access_package_id)
            .collect(),
        approvals
            .iter()
            .filter_map(|a| a.request.assignment_policy_id)
            .collect(),
    )
    .await?;
    Ok(approvals
        .into_iter()
        .map(|approval| ApprovalDetails {
            package: packages.get(&approval.request.access_package_id).cloned(),
            policy: approval
                .request
                .assignment_policy_id
                .and_then(|p| policies.get(&p).cloned()),
            approval,
        })
        .collect())
}
