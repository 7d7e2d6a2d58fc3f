//! `provision.member` jobs claimed together are delivered together, mapping by mapping: the
//! mapping and its connector are loaded once, the mapping's shared lock is taken once, and what
//! Eligo knows of every member (the user, the reference pushed for it, the group's name) is read
//! in one transaction of three statements, where each job used to open two transactions of its
//! own (a thousand expiries: about ten thousand statements fewer on the critical path). The
//! pushes then run side by side, as before, each reported as soon as it is done.
//!
//! Two jobs for the same member in one batch (the removal queued for the end and the one the
//! scheduler's expiry writes) are delivered once: each asks for the member to match what Eligo
//! says now, which one delivery does; the other is answered with its outcome (nothing done, or
//! the same failure, so it is retried too) and never removes or audits a second time.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use eligo_store::Principal;
use tokio::sync::Semaphore;
use uuid::Uuid;

use crate::app::AppState;
use crate::outbox::delivery::{Delivery, Effect, Failure};
use crate::provisioning::deliver::{Known, Loaded, load, push_member};

/// One claimed `provision.member` job of a mapping.
#[derive(Debug, Clone, Copy)]
pub struct MemberJob {
    pub principal: Uuid,
    pub cause_at: DateTime<Utc>,
}

/// Delivers `jobs` (all of `mapping_id`), one push per member at a time under `limit`; each
/// job's delivery is handed to `report` with the job's index as soon as its push is done (so
/// the worker can record it while the others are still on their way).
pub async fn deliver(
    app: &AppState,
    mapping_id: Uuid,
    jobs: &[MemberJob],
    limit: Arc<Semaphore>,
    report: &mut (dyn FnMut(usize, Delivery) + Send),
) {
    let mut every = |make: &dyn Fn() -> Delivery| {
        for i in 0..jobs.len() {
            report(i, make());
        }
    };
    let loaded = match load(app, mapping_id).await {
        Ok(Some(l)) => Arc::new(l),
        // Unmapped since: nothing to do.
        Ok(None) => return every(&Delivery::default),
        Err(f) => return every(&|| Delivery::failed(f.clone(), None)),
    };
    let connector = Some(loaded.connector.id);
    // Held until every push of this batch is done: a whole-group job or a reconciliation of
    // the mapping waits for them, and they never wait for it.
    let _turn = app.connectors.shared(mapping_id).await;
    // Each member once, with the earliest cause (the latency is counted from it); `jobs_of`
    // lists the jobs each push answers, the first of them the one that gets its effects.
    let mut slot_of: HashMap<Uuid, usize> = HashMap::new();
    let mut members: Vec<MemberJob> = Vec::new();
    let mut jobs_of: Vec<Vec<usize>> = Vec::new();
    for (i, job) in jobs.iter().enumerate() {
        let slot = *slot_of.entry(job.principal).or_insert_with(|| {
            members.push(*job);
            jobs_of.push(Vec::new());
            members.len() - 1
        });
        members[slot].cause_at = members[slot].cause_at.min(job.cause_at);
        jobs_of[slot].push(i);
    }
    let principals: Vec<Uuid> = members.iter().map(|m| m.principal).collect();
    let mut known = match read_known(app, &loaded, &principals).await {
        Ok(k) => k,
        Err(f) => return every(&|| Delivery::failed(f.clone(), connector)),
    };
    let mut set = tokio::task::JoinSet::new();
    for (slot, member) in members.iter().enumerate() {
        let app = app.clone();
        let loaded = loaded.clone();
        let limit = limit.clone();
        let known = known.remove(&member.principal).unwrap_or(Known {
            user: None,
            pushed: None,
            group_name: None,
        });
        let member = *member;
        set.spawn(async move {
            let _permit = limit.acquire_owned().await;
            let outcome =
                push_member(&app, &loaded, member.principal, known, member.cause_at).await;
            (slot, outcome)
        });
    }
    let mut answer = |slot: usize, mut outcome: Option<Result<Vec<Effect>, Failure>>| {
        for (k, job) in jobs_of[slot].iter().enumerate() {
            let delivery = match &mut outcome {
                Some(Ok(effects)) if k == 0 => Delivery::done(std::mem::take(effects), connector),
                Some(Ok(_)) => Delivery::done(Vec::new(), connector),
                Some(Err(f)) => Delivery::failed(f.clone(), connector),
                None => Delivery::failed(Failure::new("the provisioning push panicked"), connector),
            };
            report(*job, delivery);
        }
    };
    let mut answered = vec![false; members.len()];
    while let Some(done) = set.join_next().await {
        match done {
            Ok((slot, outcome)) => {
                answered[slot] = true;
                answer(slot, Some(outcome));
            }
            Err(e) => tracing::error!(error = %e, "a provisioning push panicked"),
        }
    }
    // A push that panicked fails its jobs, to be retried.
    for (slot, done) in answered.into_iter().enumerate() {
        if !done {
            answer(slot, None);
        }
    }
}

/// What Eligo knows of `principals` in `loaded`'s mapping, in one read transaction.
async fn read_known(
    app: &AppState,
    loaded: &Loaded,
    principals: &[Uuid],
) -> Result<HashMap<Uuid, Known>, Failure> {
    let store_failure = |e: eligo_store::StoreError| Failure::new(e.to_string());
    let mut tx = app.store.read().await.map_err(store_failure)?;
    let users = tx.get_principals(principals).await.map_err(store_failure)?;
    let mut pushed = tx
        .provisioned_refs(loaded.mapping.id, principals)
        .await
        .map_err(store_failure)?;
    let group_name = tx
        .get_group(loaded.mapping.group_id)
        .await
        .map_err(store_failure)?
        .map(|g| g.display_name);
    let mut users: HashMap<Uuid, _> = users
        .into_iter()
        .filter_map(|p| match p {
            Principal::User(u) => Some((u.id, u)),
            _ => None,
        })
        .collect();
    Ok(principals
        .iter()
        .map(|p| {
            (
                *p,
                Known {
                    user: users.remove(p),
                    pushed: pushed.remove(p),
                    group_name: group_name.clone(),
                },
            )
        })
        .collect())
}
