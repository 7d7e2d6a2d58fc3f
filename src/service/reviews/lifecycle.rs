//! An instance's life on the scheduler: it starts (a snapshot of who is in scope, one decision
//! each, reviewers resolved and told), each stage ends (the decisions named by
//! `decisionsThatWillMoveToNextStage` go on, the others are final), and the instance completes
//! (unreviewed decisions take the default; with auto-apply, denied access is removed in the
//! same transaction). Each step happens in one write transaction with its audit entry, and
//! what makes it due (the definition's next start, the instance's stage end) changes in the
//! same transaction, so a crash leaves it due or done: never done twice.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use eligo_core::audit::{Actor, AuditEvent, Category, Initiator};
use eligo_core::review::decide::{self, UsageKind};
use eligo_core::review::{
    Access, DecisionItem, Definition, DefinitionStatus, Instance, InstanceStatus, Party, StageRun,
};
use eligo_store::Tx;
use uuid::Uuid;

use super::snapshot::{self, Candidate, Reviewers};
use super::{apply, notices};
use crate::app::App;
use crate::failure::UseCaseResult;

/// The review as the initiator of what Eligo does for it (removals and their cascades), so
/// every entry it causes names the review.
pub fn initiator(def: &Definition) -> Initiator {
    Initiator::App(Actor {
        id: Some(def.id),
        display_name: format!("Access review: {}", def.display_name),
        user_principal_name: None,
    })
}

pub fn event(def: &Definition, now: DateTime<Utc>, activity: &str, by: Initiator) -> AuditEvent {
    AuditEvent::new(now, Category::AccessReviews, activity, by).target(
        def.id,
        "AccessReview",
        Some(&def.display_name),
    )
}

/// Starts the definition's next instance now; the definition moves on to its next start.
pub async fn start(
    app: &App,
    tx: &mut dyn Tx,
    def: &mut Definition,
    now: DateTime<Utc>,
) -> UseCaseResult<Instance> {
    let stages = def.stages();
    let mut at = now;
    let runs: Vec<StageRun> = stages
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let start = at;
            at = start + TimeDelta::days(s.duration_in_days.into());
            StageRun {
                id: Uuid::new_v4(),
                stage_id: s.stage_id.clone(),
                start_date_time: start,
                end_date_time: at,
                status: if i == 0 {
                    InstanceStatus::InProgress
                } else {
                    InstanceStatus::NotStarted
                },
            }
        })
        .collect();
    let mut instance = Instance {
        id: Uuid::new_v4(),
        definition_id: def.id,
        start_date_time: now,
        end_date_time: at,
        status: InstanceStatus::InProgress,
        stages: runs,
        current_stage: 0,
        remind_at: None,
    };
    instance.plan_reminder(reminders(def));
    let candidates = snapshot::in_scope(app, tx, def, now).await?;
    let resource = snapshot::resource_of(tx, &def.scope_query.reviewed).await?;
    let mut reviewers = Reviewers::default();
    let mut parties: HashMap<Uuid, Party> = HashMap::new();
    let mut items = Vec::with_capacity(candidates.len());
    for c in &candidates {
        let who = reviewers
            .for_decision(app, tx, &stages[0], c.principal, now)
            .await?;
        if let std::collections::hash_map::Entry::Vacant(e) = parties.entry(c.principal) {
            e.insert(snapshot::party(tx, c.principal).await?);
        }
        items.push(snapshot::decision(
            Uuid::new_v4(),
            &instance,
            0,
            &stages[0],
            def.settings.look_back(),
            parties[&c.principal].clone(),
            resource.clone(),
            c,
            who,
            now,
        ));
    }
    tx.insert_review_instance(&instance).await?;
    tx.insert_review_decisions(&items).await?;
    // The next start; occurrences missed while Eligo was down are skipped, not run late.
    def.instances_started += 1;
    let mut next = def.occurrence_after(def.instances_started);
    while next.is_some_and(|n| n <= now) {
        def.instances_started += 1;
        next = def.occurrence_after(def.instances_started);
    }
    def.next_start = next;
    def.status = DefinitionStatus::InProgress;
    tx.update_review_definition(def).await?;
    tx.append_audit(
        event(def, now, "Access review started", Initiator::system())
            .target(resource.id, &resource.kind, Some(&resource.display_name))
            .detail("accessReviewInstanceId", instance.id.to_string())
            .detail("decisions", items.len().to_string()),
    )
    .await?;
    notices::stage_started(app, tx, def, &instance, &items, now).await?;
    Ok(instance)
}

fn candidate_of(item: &DecisionItem) -> Candidate {
    let usage = match item.access {
        Access::RoleEligible { .. } | Access::GroupEligible { .. } => UsageKind::Activation,
        _ => UsageKind::SignIn,
    };
    Candidate {
        principal: item.principal.id,
        access: item.access.clone(),
        granted_at: item.granted_at,
        usage,
        last_used: item.last_used_at,
    }
}

/// The running stage ended (at its end, or early when `stop`ped): the decisions it names go
/// on to the next stage, or the instance completes.
pub async fn end_stage(
    app: &App,
    tx: &mut dyn Tx,
    def: &mut Definition,
    instance: &mut Instance,
    by: Initiator,
    now: DateTime<Utc>,
) -> UseCaseResult<()> {
    let stages = def.stages();
    let current = instance.current_stage;
    let next = current + 1;
    let has_next = next < instance.stages.len() && next < stages.len();
    if !has_next {
        return complete(app, tx, def, instance, by, now).await;
    }
    let moving = &stages[current].decisions_that_will_move_to_next_stage;
    let mut items = tx.list_review_decisions(instance.id, Some(current)).await?;
    let mut moved = Vec::new();
    let mut reviewers = Reviewers::default();
    for item in items.iter_mut().filter(|i| decide::moves_on(i, moving)) {
        item.is_final = false;
        let who = reviewers
            .for_decision(app, tx, &stages[next], item.principal.id, now)
            .await?;
        moved.push(snapshot::decision(
            Uuid::new_v4(),
            instance,
            next,
            &stages[next],
            def.settings.look_back(),
            item.principal.clone(),
            item.resource.clone(),
            &candidate_of(item),
            who,
            now,
        ));
    }
    instance.stages[current].status = InstanceStatus::Completed;
    instance.stages[current].end_date_time = now;
    if moved.is_empty() {
        // Nothing left to decide later: the instance is done.
        return complete(app, tx, def, instance, by, now).await;
    }
    let changed: Vec<DecisionItem> = items.into_iter().filter(|i| !i.is_final).collect();
    tx.update_review_decisions(&changed).await?;
    tx.insert_review_decisions(&moved).await?;
    let duration = TimeDelta::days(stages[next].duration_in_days.into());
    let run = &mut instance.stages[next];
    run.status = InstanceStatus::InProgress;
    run.start_date_time = now;
    run.end_date_time = now + duration;
    instance.current_stage = next;
    instance.plan_reminder(reminders(def));
    tx.update_review_instance(instance).await?;
    tx.append_audit(
        event(def, now, "Access review stage started", by)
            .detail("accessReviewInstanceId", instance.id.to_string())
            .detail("stageId", stages[next].stage_id.clone())
            .detail("decisions", moved.len().to_string()),
    )
    .await?;
    notices::stage_started(app, tx, def, instance, &moved, now).await
}

/// Completes the instance: unreviewed final decisions take the default decision, and with
/// auto-apply every final Deny is applied now.
pub async fn complete(
    app: &App,
    tx: &mut dyn Tx,
    def: &mut Definition,
    instance: &mut Instance,
    by: Initiator,
    now: DateTime<Utc>,
) -> UseCaseResult<()> {
    for run in &mut instance.stages {
        if run.status == InstanceStatus::InProgress {
            run.end_date_time = now;
        }
        if run.status != InstanceStatus::NotStarted {
            run.status = InstanceStatus::Completed;
        }
    }
    instance.status = InstanceStatus::Completed;
    instance.end_date_time = instance.end_date_time.min(now);
    instance.remind_at = None;
    let mut items = tx.list_review_decisions(instance.id, None).await?;
    let mut settled = Vec::new();
    for item in items.iter_mut().filter(|i| i.is_final) {
        let before = item.decision;
        decide::settle(item, &def.settings, now);
        if item.decision != before {
            settled.push(item.clone());
        }
    }
    tx.update_review_decisions(&settled).await?;
    tx.update_review_instance(instance).await?;
    if def.next_start.is_none() {
        def.status = DefinitionStatus::Completed;
        tx.update_review_definition(def).await?;
    }
    tx.append_audit(
        event(def, now, "Access review completed", by)
            .detail("accessReviewInstanceId", instance.id.to_string())
            .detail("defaultDecisions", settled.len().to_string()),
    )
    .await?;
    if def.settings.auto_apply_decisions_enabled {
        apply::apply(app, tx, def, instance, None, now).await?;
    }
    Ok(())
}

/// Does the definition send reminders (its mails on, reminders on)?
fn reminders(def: &Definition) -> bool {
    def.settings.mail_notifications_enabled && def.settings.reminder_notifications_enabled
}

/// What one scheduler pass did for access reviews.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub started: usize,
    pub stages_ended: usize,
    pub reminded: usize,
}

/// Starts the instances and ends the stages due at `now`, in the scheduler's transaction.
pub async fn run_due(
    app: &App,
    tx: &mut dyn Tx,
    now: DateTime<Utc>,
    limit: i64,
) -> UseCaseResult<Pass> {
    let mut pass = Pass::default();
    for mut def in tx.due_review_definitions(now, limit).await? {
        if def.next_start.is_none_or(|n| n > now) {
            continue;
        }
        start(app, tx, &mut def, now).await?;
        pass.started += 1;
    }
    for mut instance in tx.due_review_instances(now, limit).await? {
        if instance.due_at().is_none_or(|d| d > now) {
            continue;
        }
        let Some(mut def) = tx.get_review_definition(instance.definition_id).await? else {
            continue;
        };
        if instance.reminder_due(now) {
            notices::remind(app, tx, &def, &instance, now).await?;
            instance.remind_at = None;
            tx.update_review_instance(&instance).await?;
            pass.reminded += 1;
            continue;
        }
        end_stage(app, tx, &mut def, &mut instance, Initiator::system(), now).await?;
        pass.stages_ended += 1;
    }
    Ok(pass)
}

/// Anything due for reviews (the scheduler's loop asks before opening its batch).
pub async fn any_due(tx: &mut dyn Tx, now: DateTime<Utc>) -> UseCaseResult<bool> {
    Ok(!tx.due_review_definitions(now, 1).await?.is_empty()
        || !tx.due_review_instances(now, 1).await?.is_empty())
}
