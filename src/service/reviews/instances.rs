//! Access review instances: reading them (readers see all; a reviewer sees the instances they
//! review in) and an administrator's actions on one: stop, sendReminder, resetDecisions and
//! applyDecisions.

use eligo_core::review::decide;
use eligo_core::review::{Definition, Instance, InstanceStatus};
use eligo_store::Tx;
use uuid::Uuid;

use super::lifecycle::{self, event};
use super::{CATEGORY, authorize_manage, notices, party_of, visible_definition};
use crate::app::App;
use crate::auth::Caller;
use crate::failure::{Failure, UseCaseResult};
use crate::service::authorize;

/// An instance of a definition the caller may see; `all`: they may read all of it.
pub(crate) struct Visible {
    pub def: Definition,
    pub instance: Instance,
    pub all: bool,
}

pub(crate) async fn visible(
    app: &App,
    tx: &mut dyn Tx,
    caller: &Caller,
    def_id: Uuid,
    id: Uuid,
) -> UseCaseResult<Visible> {
    let (def, all) = visible_definition(app, tx, caller, def_id).await?;
    let instance = tx
        .get_review_instance(id)
        .await?
        .filter(|i| i.definition_id == def_id)
        .ok_or_else(|| Failure::not_found("access review instance"))?;
    if !all
        && !tx
            .review_instances_of_reviewer(caller.id)
            .await?
            .contains(&id)
    {
        return Err(Failure::not_found("access review instance"));
    }
    Ok(Visible { def, instance, all })
}

/// A definition's instances the caller may see.
pub async fn list(app: &App, caller: &Caller, def_id: Uuid) -> UseCaseResult<Vec<Instance>> {
    let mut tx = app.store.read().await?;
    let (_, all) = visible_definition(app, &mut *tx, caller, def_id).await?;
    let mut instances = tx.list_review_instances(def_id).await?;
    if !all {
        let mine = tx.review_instances_of_reviewer(caller.id).await?;
        instances.retain(|i| mine.contains(&i.id));
    }
    Ok(instances)
}

pub async fn get(app: &App, caller: &Caller, def_id: Uuid, id: Uuid) -> UseCaseResult<Instance> {
    let mut tx = app.store.read().await?;
    Ok(visible(app, &mut *tx, caller, def_id, id).await?.instance)
}

/// `instances/filterByCurrentUser(on='reviewer')` (of one definition when given): the
/// instances in which the caller reviews, with their definitions.
pub async fn mine(
    app: &App,
    caller: &Caller,
    def_id: Option<Uuid>,
) -> UseCaseResult<Vec<(Definition, Instance)>> {
    let mut tx = app.store.read().await?;
    let mut out = Vec::new();
    for id in tx.review_instances_of_reviewer(caller.id).await? {
        let Some(instance) = tx.get_review_instance(id).await? else {
            continue;
        };
        if def_id.is_some_and(|d| d != instance.definition_id) {
            continue;
        }
        if let Some(def) = tx.get_review_definition(instance.definition_id).await? {
            out.push((def, instance));
        }
    }
    out.sort_by_key(|(_, i)| std::cmp::Reverse(i.start_date_time));
    Ok(out)
}

/// The instance for an administrator's action (authorized, fresh second factor).
async fn managed(
    app: &App,
    tx: &mut dyn Tx,
    caller: &Caller,
    def_id: Uuid,
    id: Uuid,
) -> UseCaseResult<(Definition, Instance)> {
    let v = visible(app, tx, caller, def_id, id).await?;
    if !v.all {
        return Err(Failure::forbidden(
            "reviewers decide; only those who may run this review act on its instances",
        ));
    }
    authorize_manage(app, tx, caller, &v.def.scope_query.reviewed).await?;
    Ok((v.def, v.instance))
}

fn not_in_progress() -> Failure {
    Failure::conflict(
        "ReviewNotInProgress",
        "the review instance is not in progress",
    )
}

/// `POST instances/{id}/stop`: completes the instance now, as at its end.
pub async fn stop(app: &App, caller: &Caller, def_id: Uuid, id: Uuid) -> UseCaseResult<()> {
    authorize::audited(app, caller, "Stop access review", CATEGORY, async {
        let now = app.clock.now();
        let mut tx = app.store.write().await?;
        let (mut def, mut instance) = managed(app, &mut *tx, caller, def_id, id).await?;
        if !instance.is_in_progress() {
            return Err(not_in_progress());
        }
        lifecycle::complete(
            app,
            &mut *tx,
            &mut def,
            &mut instance,
            caller.initiator(),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    })
    .await
}

/// `POST instances/{id}/sendReminder`: reviewers with undecided decisions are mailed.
pub async fn send_reminder(
    app: &App,
    caller: &Caller,
    def_id: Uuid,
    id: Uuid,
) -> UseCaseResult<usize> {
    authorize::audited(
        app,
        caller,
        "Send access review reminder",
        CATEGORY,
        async {
            let now = app.clock.now();
            let mut tx = app.store.write().await?;
            let (def, instance) = managed(app, &mut *tx, caller, def_id, id).await?;
            if !instance.is_in_progress() {
                return Err(not_in_progress());
            }
            let sent = notices::remind(app, &mut *tx, &def, &instance, now).await?;
            tx.append_audit(
                event(&def, now, "Send access review reminder", caller.initiator())
                    .detail("accessReviewInstanceId", id.to_string())
                    .detail("reviewers", sent.to_string()),
            )
            .await?;
            tx.commit().await?;
            Ok(sent)
        },
    )
    .await
}

/// `POST instances/{id}/resetDecisions`: every decision of the running stage is NotReviewed
/// again.
pub async fn reset(app: &App, caller: &Caller, def_id: Uuid, id: Uuid) -> UseCaseResult<()> {
    authorize::audited(
        app,
        caller,
        "Reset access review decisions",
        CATEGORY,
        async {
            let now = app.clock.now();
            let mut tx = app.store.write().await?;
            let (def, instance) = managed(app, &mut *tx, caller, def_id, id).await?;
            if !instance.is_in_progress() {
                return Err(not_in_progress());
            }
            let mut items = tx
                .list_review_decisions(id, Some(instance.current_stage))
                .await?;
            items.iter_mut().for_each(decide::reset);
            tx.update_review_decisions(&items).await?;
            tx.append_audit(
                event(
                    &def,
                    now,
                    "Reset access review decisions",
                    caller.initiator(),
                )
                .detail("accessReviewInstanceId", id.to_string())
                .detail("decisions", items.len().to_string()),
            )
            .await?;
            tx.commit().await?;
            Ok(())
        },
    )
    .await
}

/// `POST instances/{id}/applyDecisions`: on a completed instance, every final Deny not applied
/// yet removes its access. Returns how many accesses were removed.
pub async fn apply(app: &App, caller: &Caller, def_id: Uuid, id: Uuid) -> UseCaseResult<usize> {
    authorize::audited(app, caller, "Apply access review decisions", CATEGORY, async {
        let now = app.clock.now();
        let mut tx = app.store.write().await?;
        let (def, mut instance) = managed(app, &mut *tx, caller, def_id, id).await?;
        if !matches!(
            instance.status,
            InstanceStatus::Completed | InstanceStatus::Applied
        ) {
            return Err(Failure::conflict(
                "ReviewNotCompleted",
                "decisions are applied once the instance is completed (stop it first to apply early)",
            ));
        }
        let removed =
            super::apply::apply(app, &mut *tx, &def, &mut instance, Some(party_of(caller)), now)
                .await?;
        tx.commit().await?;
        Ok(removed)
    })
    .await
}

/// `instances/{id}/contactedReviewers`: who reviews in the running (or last) stage, with how
/// many decisions each has.
pub async fn contacted_reviewers(
    app: &App,
    caller: &Caller,
    def_id: Uuid,
    id: Uuid,
) -> UseCaseResult<Vec<(eligo_core::review::Party, usize)>> {
    let mut tx = app.store.read().await?;
    let v = visible(app, &mut *tx, caller, def_id, id).await?;
    if !v.all {
        return Err(Failure::forbidden(
            "only those who may read the whole review see its reviewers",
        ));
    }
    let mut out = Vec::new();
    for (reviewer, count) in notices::contacted(&mut *tx, &v.instance).await? {
        out.push((super::snapshot::party(&mut *tx, reviewer).await?, count));
    }
    Ok(out)
}
