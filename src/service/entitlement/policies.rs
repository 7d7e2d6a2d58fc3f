//! Assignment policies: create one for a package, replace or patch it, delete it. The whole
//! policy is read again on every change (the core reports every broken rule), and whoever it
//! names (users, service principals, groups) must exist.

use eligo_core::directory::PrincipalKind;
use eligo_core::entitlement::policy::{AssignmentPolicy, Placement, package_of};
use eligo_core::entitlement::subject_set::NamedKind;
use eligo_core::invalid::Invalid;
use eligo_store::Tx;
use serde_json::Value;
use uuid::Uuid;

use super::{event, invalid, may_manage};
use crate::app::App;
use crate::auth::Caller;
use crate::failure::{Failure, UseCaseResult};
use crate::service::{authorize, reviews};

const KIND: &str = "AccessPackageAssignmentPolicy";
const WHAT: &str = "assignment policy";
const CODE: &str = "InvalidAssignmentPolicy";

pub async fn create(app: &App, caller: &Caller, body: Value) -> UseCaseResult<AssignmentPolicy> {
    let activity = "Create access package assignment policy";
    authorize::audited(app, caller, activity, super::CATEGORY, async {
        may_manage(app, caller)?;
        let now = app.clock.now();
        let mut tx = app.store.write().await?;
        let package = match package_of(&body) {
            Ok(id) => tx.get_package(id).await?.ok_or_else(|| {
                Invalid::new(
                    "UnknownAccessPackage",
                    "accessPackage.id",
                    "no access package has this id",
                )
            }),
            Err(e) => Err(e),
        };
        let at = Placement {
            id: Uuid::new_v4(),
            // As the body names it, so that an unknown package is reported once (above).
            access_package_id: package_of(&body).unwrap_or_default(),
            catalog_id: package.as_ref().map(|p| p.catalog_id).unwrap_or_default(),
            created: now,
            now,
        };
        let read = AssignmentPolicy::read(at, &body, || Uuid::new_v4().to_string());
        let policy = match (package, read) {
            (Ok(_), Ok(policy)) => policy,
            (package, read) => {
                let mut problems: Vec<Invalid> = package.err().into_iter().collect();
                problems.extend(read.err().unwrap_or_default());
                return Err(invalid(CODE, WHAT, problems));
            }
        };
        super::hand_out::may_hand_out(app, &mut *tx, caller, policy.access_package_id).await?;
        names_exist(&mut *tx, &policy).await?;
        tx.insert_assignment_policy(&policy).await?;
        tx.append_audit(audit(app, caller, activity, &policy))
            .await?;
        reviews::packages::follow_policy(app, &mut *tx, caller, &policy, now)
            .await?
            .map_err(|p| invalid(CODE, WHAT, p))?;
        tx.commit().await?;
        Ok(policy)
    })
    .await
}

/// PUT (`patch: false`) replaces the policy with the body; PATCH merges the body's fields onto
/// it first. Either way the result is read whole again.
pub async fn update(
    app: &App,
    caller: &Caller,
    id: UseCaseResult<Uuid>,
    body: Value,
    patch: bool,
) -> UseCaseResult<AssignmentPolicy> {
    let activity = "Update access package assignment policy";
    authorize::audited(app, caller, activity, super::CATEGORY, async {
        may_manage(app, caller)?;
        let mut tx = app.store.write().await?;
        let old = load(&mut *tx, id?).await?;
        super::hand_out::may_hand_out(app, &mut *tx, caller, old.access_package_id).await?;
        let body = if patch {
            old.merged(&body).map_err(|p| invalid(CODE, WHAT, p))?
        } else {
            body
        };
        let at = Placement {
            id: old.id,
            access_package_id: old.access_package_id,
            catalog_id: old.catalog_id,
            created: old.created_date_time,
            now: app.clock.now(),
        };
        let policy = AssignmentPolicy::read(at, &body, || Uuid::new_v4().to_string())
            .map_err(|p| invalid(CODE, WHAT, p))?;
        names_exist(&mut *tx, &policy).await?;
        tx.update_assignment_policy(&policy).await?;
        reviews::packages::follow_policy(app, &mut *tx, caller, &policy, app.clock.now())
            .await?
            .map_err(|p| invalid(CODE, WHAT, p))?;
        tx.append_audit(
            audit(app, caller, activity, &policy)
                .detail("note", "applies to requests made from now on"),
        )
        .await?;
        tx.commit().await?;
        Ok(policy)
    })
    .await
}

pub async fn delete(app: &App, caller: &Caller, id: UseCaseResult<Uuid>) -> UseCaseResult<()> {
    let activity = "Delete access package assignment policy";
    authorize::audited(app, caller, activity, super::CATEGORY, async {
        may_manage(app, caller)?;
        let mut tx = app.store.write().await?;
        let policy = load(&mut *tx, id?).await?;
        super::hand_out::may_hand_out(app, &mut *tx, caller, policy.access_package_id).await?;
        tx.delete_assignment_policy(policy.id).await?;
        reviews::packages::policy_deleted(app, &mut *tx, caller, policy.id, app.clock.now())
            .await?;
        tx.append_audit(audit(app, caller, activity, &policy))
            .await?;
        tx.commit().await?;
        Ok(())
    })
    .await
}

async fn load(tx: &mut dyn Tx, id: Uuid) -> UseCaseResult<AssignmentPolicy> {
    tx.get_assignment_policy(id)
        .await?
        .ok_or_else(|| Failure::not_found("assignment policy"))
}

fn audit(
    app: &App,
    caller: &Caller,
    activity: &str,
    policy: &AssignmentPolicy,
) -> eligo_core::audit::AuditEvent {
    event(app, caller, activity)
        .target(policy.id, KIND, Some(&policy.display_name))
        .target(policy.access_package_id, "AccessPackage", None)
}

/// Each user, service principal and group a policy names exists, as the kind it is named as,
/// and each custom extension it calls is its catalog's.
async fn names_exist(tx: &mut dyn Tx, policy: &AssignmentPolicy) -> UseCaseResult<()> {
    let mut problems = Vec::new();
    for (at, set) in policy.subject_sets() {
        let Some((id, kind)) = set.names() else {
            continue;
        };
        let expected = match kind {
            NamedKind::User => PrincipalKind::User,
            NamedKind::ServicePrincipal => PrincipalKind::ServicePrincipal,
            NamedKind::Group => PrincipalKind::Group,
        };
        if tx.principal_kind(id).await? != Some(expected) {
            problems.push(Invalid::new(
                "UnknownPrincipal",
                at,
                format!("no {} has the id {id}", expected.as_str()),
            ));
        }
    }
    // Every custom extension a stage calls is one of the package's catalog.
    let known = tx
        .list_custom_extensions(policy.catalog_id)
        .await?
        .iter()
        .map(|e| e.id)
        .collect();
    if let Err(p) = policy.check_custom_extensions(&known) {
        problems.extend(p);
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(invalid(CODE, WHAT, problems))
    }
}
