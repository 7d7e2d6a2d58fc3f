//! Decisions: reading them (readers see all, a reviewer their own) and a reviewer's acts: a
//! decision (`PATCH`), `batchRecordDecisions`, `acceptRecommendations`. Every act needs a
//! fresh second factor (threat model rule 4) and is refused, changing nothing, for a decision
//! the caller does not review or once its stage is over.

use eligo_core::review::decide::{self, Refusal};
use eligo_core::review::{Decision, DecisionItem};
use uuid::Uuid;

use super::instances::visible;
use super::lifecycle::event;
use super::{CATEGORY, party_of};
use crate::app::App;
use crate::auth::Caller;
use crate::failure::{Failure, Kind, UseCaseResult};
use crate::service::authorize;

fn refusal(r: Refusal) -> Failure {
    let kind = match r {
        Refusal::NotReviewer => Kind::Denied,
        Refusal::NotInProgress | Refusal::MovedOn => Kind::Conflict,
        Refusal::JustificationRequired | Refusal::InvalidDecision => Kind::Invalid,
    };
    Failure::new(kind, r.code(), r.message())
}

/// Which decisions a listing shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// The latest decision about each access (the running stage's, or where it stopped).
    Latest,
    /// One stage's decisions, by the stage's run id.
    Stage(Uuid),
}

/// An instance's decisions: all for readers, the caller's own for a reviewer.
pub async fn list(
    app: &App,
    caller: &Caller,
    def_id: Uuid,
    id: Uuid,
    which: Which,
    mine_only: bool,
) -> UseCaseResult<Vec<DecisionItem>> {
    let mut tx = app.store.read().await?;
    let v = match visible(app, &mut *tx, caller, def_id, id).await {
        // filterByCurrentUser: nothing waits on someone who reviews nothing here.
        Err(e) if mine_only && e.kind == Kind::NotFound => return Ok(Vec::new()),
        other => other?,
    };
    let mut items = match which {
        Which::Latest => {
            let mut all = tx.list_review_decisions(id, None).await?;
            all.retain(|d| d.is_final);
            all
        }
        Which::Stage(stage) => {
            let index = v
                .instance
                .stages
                .iter()
                .position(|s| s.id == stage)
                .ok_or_else(|| Failure::not_found("access review stage"))?;
            tx.list_review_decisions(id, Some(index)).await?
        }
    };
    if mine_only || !v.all {
        items.retain(|d| d.reviewers.contains(&caller.id));
    }
    Ok(items)
}

/// The earlier stages' decisions about the same access, for each decision of a later stage:
/// shown to its reviewers when the definition's `decisionHistoriesForReviewersEnabled` is on,
/// and always to those who read the whole review. Keyed by the later decision's id.
pub async fn histories(
    app: &App,
    caller: &Caller,
    def_id: Uuid,
    id: Uuid,
) -> UseCaseResult<std::collections::HashMap<Uuid, Vec<DecisionItem>>> {
    let mut tx = app.store.read().await?;
    let v = match visible(app, &mut *tx, caller, def_id, id).await {
        Err(e) if e.kind == Kind::NotFound => return Ok(Default::default()),
        other => other?,
    };
    let mut out = std::collections::HashMap::new();
    if !v.all && !v.def.settings.decision_histories_for_reviewers_enabled {
        return Ok(out);
    }
    let all = tx.list_review_decisions(id, None).await?;
    for later in all.iter().filter(|d| d.stage > 0) {
        let earlier: Vec<DecisionItem> = all
            .iter()
            .filter(|d| {
                d.stage < later.stage
                    && d.principal.id == later.principal.id
                    && d.access == later.access
            })
            .cloned()
            .collect();
        if !earlier.is_empty() {
            out.insert(later.id, earlier);
        }
    }
    Ok(out)
}

/// `accessReviews/decisions/filterByCurrentUser(on='reviewer')`: the caller's decisions in
/// every instance in progress.
pub async fn mine_everywhere(app: &App, caller: &Caller) -> UseCaseResult<Vec<DecisionItem>> {
    let mut tx = app.store.read().await?;
    // Each instance read once: a reviewer may have thousands of decisions in a few instances.
    let mut running: std::collections::HashMap<Uuid, Option<usize>> =
        std::collections::HashMap::new();
    let mut out = Vec::new();
    for item in tx.review_decisions_of_reviewer(caller.id, None).await? {
        let stage = match running.get(&item.instance_id) {
            Some(s) => *s,
            None => {
                let s = tx
                    .get_review_instance(item.instance_id)
                    .await?
                    .filter(|i| i.is_in_progress())
                    .map(|i| i.current_stage);
                running.insert(item.instance_id, s);
                s
            }
        };
        if stage == Some(item.stage) {
            out.push(item);
        }
    }
    Ok(out)
}

pub async fn get(
    app: &App,
    caller: &Caller,
    def_id: Uuid,
    id: Uuid,
    decision_id: Uuid,
) -> UseCaseResult<DecisionItem> {
    let mut tx = app.store.read().await?;
    let v = visible(app, &mut *tx, caller, def_id, id).await?;
    tx.get_review_decision(decision_id)
        .await?
        .filter(|d| d.instance_id == id)
        .filter(|d| v.all || d.reviewers.contains(&caller.id))
        .ok_or_else(|| Failure::not_found("access review decision"))
}

/// `PATCH decisions/{id}` `{decision, justification}` by a reviewer of that decision.
pub async fn record(
    app: &App,
    caller: &Caller,
    def_id: Uuid,
    id: Uuid,
    decision_id: Uuid,
    decision: Decision,
    justification: Option<String>,
) -> UseCaseResult<DecisionItem> {
    authorize::audited(app, caller, "Review access", CATEGORY, async {
        authorize::require_strong(app, caller)?;
        let now = app.clock.now();
        let mut tx = app.store.write().await?;
        let v = visible(app, &mut *tx, caller, def_id, id).await?;
        let mut item = tx
            .get_review_decision(decision_id)
            .await?
            .filter(|d| d.instance_id == id)
            .ok_or_else(|| Failure::not_found("access review decision"))?;
        decide::may_decide(&v.instance, &item, caller.id).map_err(refusal)?;
        decide::record(
            &mut item,
            &v.def.settings,
            decision,
            justification,
            party_of(caller),
            now,
        )
        .map_err(refusal)?;
        tx.update_review_decisions(std::slice::from_ref(&item))
            .await?;
        tx.append_audit(
            event(&v.def, now, "Review access", caller.initiator())
                .target(
                    item.principal.id,
                    "DirectoryObject",
                    Some(&item.principal.display_name),
                )
                .detail("accessReviewInstanceId", id.to_string())
                .detail("decision", item.decision.as_str()),
        )
        .await?;
        tx.commit().await?;
        Ok(item)
    })
    .await
}

/// What a batch covers.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    pub decision: Option<Decision>,
    pub justification: Option<String>,
    pub principal_id: Option<Uuid>,
    pub resource_id: Option<Uuid>,
    /// `acceptRecommendations`: each undecided decision takes its recommendation.
    pub accept_recommendations: bool,
}

/// `batchRecordDecisions` and `acceptRecommendations`: the caller's decisions in the running
/// stage (those matching the principal and resource when given; for recommendations, the
/// undecided ones with an Approve or Deny recommendation). Returns how many were recorded.
pub async fn batch(
    app: &App,
    caller: &Caller,
    def_id: Uuid,
    id: Uuid,
    batch: Batch,
) -> UseCaseResult<usize> {
    let activity = if batch.accept_recommendations {
        "Accept access review recommendations"
    } else {
        "Review access (batch)"
    };
    authorize::audited(app, caller, activity, CATEGORY, async {
        authorize::require_strong(app, caller)?;
        let now = app.clock.now();
        let mut tx = app.store.write().await?;
        let v = visible(app, &mut *tx, caller, def_id, id).await?;
        if !v.instance.is_in_progress() {
            return Err(refusal(Refusal::NotInProgress));
        }
        let mut items = tx.review_decisions_of_reviewer(caller.id, Some(id)).await?;
        items.retain(|d| {
            d.stage == v.instance.current_stage
                && batch.principal_id.is_none_or(|p| d.principal.id == p)
                && batch.resource_id.is_none_or(|r| d.resource.id == r)
        });
        let mut changed = Vec::new();
        for mut item in items {
            let (decision, justification) = if batch.accept_recommendations {
                match item.recommendation.as_decision() {
                    Some(d) if item.decision == Decision::NotReviewed => (
                        d,
                        Some(format!(
                            "recommendation accepted: {}",
                            item.recommendation_reason
                        )),
                    ),
                    _ => continue,
                }
            } else {
                let Some(d) = batch.decision else {
                    return Err(refusal(Refusal::InvalidDecision));
                };
                (d, batch.justification.clone())
            };
            decide::may_decide(&v.instance, &item, caller.id).map_err(refusal)?;
            decide::record(
                &mut item,
                &v.def.settings,
                decision,
                justification,
                party_of(caller),
                now,
            )
            .map_err(refusal)?;
            changed.push(item);
        }
        tx.update_review_decisions(&changed).await?;
        tx.append_audit(
            event(&v.def, now, activity, caller.initiator())
                .detail("accessReviewInstanceId", id.to_string())
                .detail("decisions", changed.len().to_string()),
        )
        .await?;
        tx.commit().await?;
        Ok(changed.len())
    })
    .await
}
