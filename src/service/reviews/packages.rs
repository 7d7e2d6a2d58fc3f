//! Access package policies' `reviewSettings`: each enabled one keeps an access review
//! definition of the policy's assignments (made, replaced or stopped with the policy, in its
//! transaction), run like any other review.

use chrono::{DateTime, Utc};
use eligo_core::entitlement::policy::AssignmentPolicy;
use eligo_core::invalid::Invalid;
use eligo_core::review::definition::Origin;
use eligo_core::review::{Definition, DefinitionStatus, package};
use eligo_store::Tx;
use uuid::Uuid;

use super::lifecycle::{self, event};
use super::party_of;
use crate::app::App;
use crate::auth::Caller;
use crate::failure::UseCaseResult;

/// The definition a policy keeps, if any.
async fn of_policy(tx: &mut dyn Tx, policy: Uuid) -> UseCaseResult<Option<Definition>> {
    Ok(tx.list_review_definitions().await?.into_iter().find(|d| {
        d.origin
            .as_ref()
            .is_some_and(|o| o.assignment_policy_id == policy)
    }))
}

fn under_review_settings(problems: Vec<Invalid>) -> Vec<Invalid> {
    problems
        .into_iter()
        .map(|p| {
            let target = if p.target.starts_with("reviewSettings") {
                p.target
            } else {
                format!("reviewSettings ({})", p.target)
            };
            Invalid { target, ..p }
        })
        .collect()
}

/// After `policy` was written by `caller`: its review definition follows its `reviewSettings`
/// (created, replaced, or stopped when reviews are off). Problems are the policy's.
pub async fn follow_policy(
    app: &App,
    tx: &mut dyn Tx,
    caller: &Caller,
    policy: &AssignmentPolicy,
    now: DateTime<Utc>,
) -> UseCaseResult<Result<(), Vec<Invalid>>> {
    let existing = of_policy(tx, policy.id).await?;
    let settings = policy.review_settings.as_ref().filter(|s| s.is_enabled);
    let Some(settings) = settings else {
        if let Some(mut def) = existing {
            stop(app, tx, caller, &mut def, now).await?;
        }
        return Ok(Ok(()));
    };
    let package_name = tx
        .get_package(policy.access_package_id)
        .await?
        .map(|p| p.display_name)
        .unwrap_or_default();
    let body = match package::definition_body(
        policy.access_package_id,
        &package_name,
        &policy.display_name,
        settings,
        now,
    ) {
        Ok(b) => b,
        Err(p) => return Ok(Err(p)),
    };
    let def = match &existing {
        Some(old) if old.status != DefinitionStatus::Completed => old.update(&body, now),
        _ => Definition::read(&body, Uuid::new_v4(), party_of(caller), now).map(|mut d| {
            d.origin = Some(Origin {
                assignment_policy_id: policy.id,
            });
            d
        }),
    };
    let mut def = match def {
        Ok(d) => d,
        Err(p) => return Ok(Err(under_review_settings(p))),
    };
    let fresh = existing
        .as_ref()
        .is_none_or(|old| old.status == DefinitionStatus::Completed || old.id != def.id);
    if fresh {
        tx.insert_review_definition(&def).await?;
        tx.append_audit(event(&def, now, "Create access review", caller.initiator()))
            .await?;
    } else {
        tx.update_review_definition(&def).await?;
        tx.append_audit(event(&def, now, "Update access review", caller.initiator()))
            .await?;
    }
    if def.next_start.is_some_and(|s| s <= now) {
        let instance = lifecycle::start(app, tx, &mut def, now).await?;
        app.scheduler.due_at(instance.due_at());
    }
    app.scheduler.due_at(def.next_start);
    Ok(Ok(()))
}

/// The policy is gone or no longer reviewed: its review stops (a running instance completes).
pub async fn stop(
    app: &App,
    tx: &mut dyn Tx,
    caller: &Caller,
    def: &mut Definition,
    now: DateTime<Utc>,
) -> UseCaseResult<()> {
    if def.status == DefinitionStatus::Completed {
        return Ok(());
    }
    def.next_start = None;
    for mut instance in tx.list_review_instances(def.id).await? {
        if instance.is_in_progress() {
            lifecycle::complete(app, tx, def, &mut instance, caller.initiator(), now).await?;
        }
    }
    def.status = DefinitionStatus::Completed;
    tx.update_review_definition(def).await?;
    tx.append_audit(event(def, now, "Stop access review", caller.initiator()))
        .await?;
    Ok(())
}

/// The policy was deleted.
pub async fn policy_deleted(
    app: &App,
    tx: &mut dyn Tx,
    caller: &Caller,
    policy: Uuid,
    now: DateTime<Utc>,
) -> UseCaseResult<()> {
    if let Some(mut def) = of_policy(tx, policy).await? {
        stop(app, tx, caller, &mut def, now).await?;
    }
    Ok(())
}
