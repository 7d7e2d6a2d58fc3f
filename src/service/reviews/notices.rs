//! Telling reviewers: when a stage starts, each reviewer with decisions in it is mailed once
//! (when the definition's `mailNotificationsEnabled`), and `sendReminder` mails those who still
//! have undecided ones. The mails are outbox jobs written in the transaction that started the
//! stage, each with a once key naming the stage and the reviewer.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use eligo_core::review::{Decision, DecisionItem, Definition, Instance};
use eligo_store::Tx;
use uuid::Uuid;

use crate::app::App;
use crate::failure::UseCaseResult;
use crate::notify::review_mail::ReviewNotice;
use crate::outbox::jobs::Payload;
use crate::service::notices::address_of;

/// How many decisions each reviewer has among `items` (only undecided ones when `open_only`).
fn per_reviewer(items: &[DecisionItem], open_only: bool) -> BTreeMap<Uuid, usize> {
    let mut out = BTreeMap::new();
    for item in items
        .iter()
        .filter(|i| !open_only || i.decision == Decision::NotReviewed)
    {
        for r in &item.reviewers {
            *out.entry(*r).or_insert(0) += 1;
        }
    }
    out
}

async fn mail(
    app: &App,
    tx: &mut dyn Tx,
    def: &Definition,
    instance: &Instance,
    counts: BTreeMap<Uuid, usize>,
    occasion: &str,
    now: DateTime<Utc>,
) -> UseCaseResult<usize> {
    if app.config.smtp_url.is_none() {
        return Ok(0);
    }
    let stage = instance.stages.get(instance.current_stage);
    let mut sent = 0;
    for (reviewer, decisions) in counts {
        let Some((_, to)) = address_of(tx, reviewer).await? else {
            continue;
        };
        let notice = ReviewNotice {
            id: Uuid::new_v4(),
            review: def.display_name.clone(),
            description_for_reviewers: def.description_for_reviewers.clone(),
            instance_id: instance.id,
            decisions,
            ends_at: stage.map_or(instance.end_date_time, |s| s.end_date_time),
            stage: Some((instance.current_stage + 1, instance.stages.len())),
            reminder: occasion.starts_with("reminder"),
        };
        let once = format!("review:{}:{occasion}:{reviewer}", instance.id);
        let payload = Payload::ReviewMail {
            to,
            notice: Box::new(notice),
        };
        tx.enqueue_job(&payload.job(now, Some(once)), now).await?;
        sent += 1;
    }
    Ok(sent)
}

/// A stage started with `items`: their reviewers are asked to review.
pub async fn stage_started(
    app: &App,
    tx: &mut dyn Tx,
    def: &Definition,
    instance: &Instance,
    items: &[DecisionItem],
    now: DateTime<Utc>,
) -> UseCaseResult<()> {
    if !def.settings.mail_notifications_enabled {
        return Ok(());
    }
    let occasion = format!("stage{}", instance.current_stage);
    mail(
        app,
        tx,
        def,
        instance,
        per_reviewer(items, false),
        &occasion,
        now,
    )
    .await?;
    Ok(())
}

/// `sendReminder`: reviewers with undecided decisions in the running stage are reminded.
/// Returns how many were mailed.
pub async fn remind(
    app: &App,
    tx: &mut dyn Tx,
    def: &Definition,
    instance: &Instance,
    now: DateTime<Utc>,
) -> UseCaseResult<usize> {
    let items = tx
        .list_review_decisions(instance.id, Some(instance.current_stage))
        .await?;
    let occasion = format!("reminder:{}", now.timestamp_micros());
    mail(
        app,
        tx,
        def,
        instance,
        per_reviewer(&items, true),
        &occasion,
        now,
    )
    .await
}

/// The reviewers of the running stage and how many decisions each has (`contactedReviewers`).
pub async fn contacted(tx: &mut dyn Tx, instance: &Instance) -> UseCaseResult<Vec<(Uuid, usize)>> {
    let items = tx
        .list_review_decisions(instance.id, Some(instance.current_stage))
        .await?;
    Ok(per_reviewer(&items, false).into_iter().collect())
}
