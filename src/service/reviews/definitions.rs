//! Access review definitions: create (the first instance starts at once when its start has
//! come), read, replace, delete and stop.

use eligo_core::invalid::Invalid;
use eligo_core::review::query::ReviewerQuery;
use eligo_core::review::{Definition, DefinitionStatus, Reviewed};
use eligo_store::Tx;
use serde_json::Value;
use uuid::Uuid;

use super::lifecycle::{self, event};
use super::{CATEGORY, authorize_manage, party_of, visible_definition};
use crate::app::App;
use crate::auth::Caller;
use crate::failure::{Failure, UseCaseResult};
use crate::service::authorize;

fn refused(problems: Vec<Invalid>) -> Failure {
    Failure::invalid_all(
        "InvalidAccessReview",
        "the access review is not valid",
        problems,
    )
}

/// Everything the definition names must exist: what it reviews and its named reviewers.
async fn check_references(tx: &mut dyn Tx, def: &Definition) -> UseCaseResult<()> {
    let mut problems = Vec::new();
    let id = def.scope_query.reviewed.resource_id();
    let exists = match def.scope_query.reviewed {
        Reviewed::GroupMembers { .. } | Reviewed::GroupEligibility { .. } => {
            tx.get_group(id).await?.is_some()
        }
        Reviewed::Role { .. } => tx.get_role_definition(id).await?.is_some(),
        Reviewed::PackageAssignments { .. } => tx.get_package(id).await?.is_some(),
    };
    if !exists {
        problems.push(Invalid::new(
            "UnknownResource",
            "scope.query",
            format!("{id} does not exist"),
        ));
    }
    let mut sets: Vec<(String, &eligo_core::review::ReviewerSet)> = Vec::new();
    for (i, s) in def.reviewers.iter().enumerate() {
        sets.push((format!("reviewers[{i}]"), s));
    }
    for (i, s) in def.fallback_reviewers.iter().enumerate() {
        sets.push((format!("fallbackReviewers[{i}]"), s));
    }
    for (n, stage) in def.stage_settings.iter().enumerate() {
        for (i, s) in stage.reviewers.iter().enumerate() {
            sets.push((format!("stageSettings[{n}].reviewers[{i}]"), s));
        }
        for (i, s) in stage.fallback_reviewers.iter().enumerate() {
            sets.push((format!("stageSettings[{n}].fallbackReviewers[{i}]"), s));
        }
    }
    for (at, set) in sets {
        let found = match set.meaning() {
            Some(ReviewerQuery::User { user_id }) => tx.get_user(user_id).await?.is_some(),
            Some(ReviewerQuery::GroupOwners { group_id })
            | Some(ReviewerQuery::GroupMembers { group_id }) => {
                tx.get_group(group_id).await?.is_some()
            }
            _ => true,
        };
        if !found {
            problems.push(Invalid::new(
                "UnknownReviewer",
                at,
                format!("{} names nobody who exists", set.query),
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(refused(problems))
    }
}

/// `POST definitions`.
pub async fn create(app: &App, caller: &Caller, body: Value) -> UseCaseResult<Definition> {
    authorize::audited(app, caller, "Create access review", CATEGORY, async {
        let now = app.clock.now();
        let mut def =
            Definition::read(&body, Uuid::new_v4(), party_of(caller), now).map_err(refused)?;
        let mut tx = app.store.write().await?;
        authorize_manage(app, &mut *tx, caller, &def.scope_query.reviewed).await?;
        check_references(&mut *tx, &def).await?;
        tx.insert_review_definition(&def).await?;
        tx.append_audit(
            event(&def, now, "Create access review", caller.initiator()).detail(
                "scope",
                def.scope["query"].as_str().unwrap_or("").to_string(),
            ),
        )
        .await?;
        if def.next_start.is_some_and(|s| s <= now) {
            let instance = lifecycle::start(app, &mut *tx, &mut def, now).await?;
            app.scheduler.due_at(instance.due_at());
        }
        tx.commit().await?;
        app.scheduler.due_at(def.next_start);
        Ok(def)
    })
    .await
}

/// Definitions the caller may read (all of them for readers; those they review in otherwise).
pub async fn list(app: &App, caller: &Caller) -> UseCaseResult<Vec<Definition>> {
    let mut tx = app.store.read().await?;
    let all = tx.list_review_definitions().await?;
    let mine = tx.review_instances_of_reviewer(caller.id).await?;
    let mut reviewed_defs = std::collections::HashSet::new();
    for i in mine {
        if let Some(i) = tx.get_review_instance(i).await? {
            reviewed_defs.insert(i.definition_id);
        }
    }
    let mut out = Vec::new();
    for def in all {
        if reviewed_defs.contains(&def.id)
            || super::may_read_all(app, &mut *tx, caller, &def).await?
        {
            out.push(def);
        }
    }
    Ok(out)
}

/// `definitions/filterByCurrentUser(on='reviewer')`: the definitions with an instance in which
/// the caller reviews.
pub async fn mine(app: &App, caller: &Caller) -> UseCaseResult<Vec<Definition>> {
    let mut tx = app.store.read().await?;
    let mut ids = Vec::new();
    for i in tx.review_instances_of_reviewer(caller.id).await? {
        if let Some(i) = tx.get_review_instance(i).await?
            && !ids.contains(&i.definition_id)
        {
            ids.push(i.definition_id);
        }
    }
    let mut out = Vec::new();
    for id in ids {
        out.extend(tx.get_review_definition(id).await?);
    }
    Ok(out)
}

pub async fn get(app: &App, caller: &Caller, id: Uuid) -> UseCaseResult<Definition> {
    let mut tx = app.store.read().await?;
    Ok(visible_definition(app, &mut *tx, caller, id).await?.0)
}

/// The definition for a change by a caller who may manage it (404 for one who may not even
/// read it).
async fn managed(
    app: &App,
    tx: &mut dyn Tx,
    caller: &Caller,
    id: Uuid,
) -> UseCaseResult<Definition> {
    let (def, all) = visible_definition(app, tx, caller, id).await?;
    if !all {
        return Err(Failure::forbidden(
            "reviewers decide; only those who may run this review change it",
        ));
    }
    authorize_manage(app, tx, caller, &def.scope_query.reviewed).await?;
    Ok(def)
}

/// `PUT definitions/{id}`: everything but the scope; running instances keep their snapshot.
pub async fn replace(
    app: &App,
    caller: &Caller,
    id: Uuid,
    body: Value,
) -> UseCaseResult<Definition> {
    authorize::audited(app, caller, "Update access review", CATEGORY, async {
        let now = app.clock.now();
        let mut tx = app.store.write().await?;
        let old = managed(app, &mut *tx, caller, id).await?;
        let def = old.update(&body, now).map_err(refused)?;
        check_references(&mut *tx, &def).await?;
        tx.update_review_definition(&def).await?;
        tx.append_audit(event(&def, now, "Update access review", caller.initiator()))
            .await?;
        tx.commit().await?;
        app.scheduler.due_at(def.next_start);
        Ok(def)
    })
    .await
}

/// `DELETE definitions/{id}`: with its instances and decisions (nothing is applied).
pub async fn delete(app: &App, caller: &Caller, id: Uuid) -> UseCaseResult<()> {
    authorize::audited(app, caller, "Delete access review", CATEGORY, async {
        let now = app.clock.now();
        let mut tx = app.store.write().await?;
        let def = managed(app, &mut *tx, caller, id).await?;
        tx.delete_review_definition(id).await?;
        tx.append_audit(event(&def, now, "Delete access review", caller.initiator()))
            .await?;
        tx.commit().await?;
        Ok(())
    })
    .await
}

/// `POST definitions/{id}/stop`: the running instance completes now (its defaults and
/// auto-apply as at its end) and no further instance starts.
pub async fn stop(app: &App, caller: &Caller, id: Uuid) -> UseCaseResult<()> {
    authorize::audited(app, caller, "Stop access review", CATEGORY, async {
        let now = app.clock.now();
        let mut tx = app.store.write().await?;
        let mut def = managed(app, &mut *tx, caller, id).await?;
        if def.status == DefinitionStatus::Completed {
            return Err(Failure::conflict(
                "ReviewNotInProgress",
                "the access review is completed already",
            ));
        }
        def.next_start = None;
        tx.update_review_definition(&def).await?;
        for mut instance in tx.list_review_instances(id).await? {
            if instance.is_in_progress() {
                lifecycle::complete(
                    app,
                    &mut *tx,
                    &mut def,
                    &mut instance,
                    caller.initiator(),
                    now,
                )
                .await?;
            }
        }
        def.status = DefinitionStatus::Completed;
        tx.update_review_definition(&def).await?;
        tx.append_audit(event(&def, now, "Stop access review", caller.initiator()))
            .await?;
        tx.commit().await?;
        Ok(())
    })
    .await
}
