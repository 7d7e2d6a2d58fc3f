//! The weekly digest mailed to the Global and Privileged Role Administrators (active or
//! eligible): what to look at this week, in sections. Each section is computed by one small
//! function returning a [`DigestSection`]; [`assemble`] lists them in order, so a new part
//! (pending access reviews) is one more function and one more line there.
//!
//! It is sent once per period of `ELIGO_DIGEST_INTERVAL` (a week by default; `0` disables):
//! the periods are counted from the Unix epoch, and the sending transaction first records the
//! period as the server secret `digest-sent:{seconds}s:{period}` (its value the time it was
//! sent) — an insert that fails when the period is recorded already, so a restart, a second
//! server or a retried pass never sends a period twice, and the mails (outbox jobs) are written
//! in that same transaction.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use eligo_core::entitlement::request::RequestState;
use eligo_core::pim_alerts::AlertKind;
use eligo_core::request::RequestStatus;
use eligo_core::target::Target;
use eligo_store::{AssignmentRequestQuery, Page, RequestQuery, Tx};
use uuid::Uuid;

use crate::app::{App, AppState};
use crate::failure::UseCaseResult;
pub use crate::notify::digest::{Digest, DigestSection};
use crate::notify::templates::format_time;
use crate::outbox::jobs::Payload;
use crate::service::notices::party;
use crate::service::pim_alerts::notices::addresses;

/// How far back the activations section looks.
pub const LOOK_BACK: TimeDelta = TimeDelta::days(7);
/// The most activated roles and groups named.
const TOP_ROLES: usize = 5;

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Every section, in the order the mail shows them.
pub async fn assemble(tx: &mut dyn Tx, now: DateTime<Utc>) -> UseCaseResult<Digest> {
    let since = now - LOOK_BACK;
    let sections = vec![
        active_alerts(tx).await?,
        activations(tx, since, now).await?,
        pending_pim_approvals(tx).await?,
        pending_package_approvals(tx).await?,
        pending_reviews(tx).await?,
    ];
    Ok(Digest {
        id: Uuid::new_v4(),
        generated_at: now,
        since,
        sections,
    })
}

/// The PIM alerts active now, each with its unresolved incidents' count, most severe first.
async fn active_alerts(tx: &mut dyn Tx) -> UseCaseResult<DigestSection> {
    let mut active = Vec::new();
    for kind in AlertKind::ALL {
        let open = tx.list_alert_incidents(kind, true).await?.len();
        if open > 0 {
            active.push((kind, open));
        }
    }
    // High before medium before low; the definitions' order within a severity.
    active.sort_by_key(|(k, _)| std::cmp::Reverse(k.severity() as u8));
    let lines = active
        .iter()
        .map(|(k, n)| {
            format!(
                "{} ({} severity): {}",
                k.display_name(),
                k.severity().as_str(),
                plural(*n, "incident", "incidents")
            )
        })
        .collect();
    let summary = match active.len() {
        0 => "No PIM alert is active.".to_string(),
        n => format!("{} active.", plural(n, "PIM alert is", "PIM alerts are")),
    };
    Ok(DigestSection::new(
        "alerts",
        "Active alerts",
        active.len(),
        summary,
        lines,
    ))
}

/// How many activations `[from, to]` saw, and the roles and groups activated most.
async fn activations(
    tx: &mut dyn Tx,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> UseCaseResult<DigestSection> {
    let all = tx
        .activations_between(from, to + TimeDelta::microseconds(1))
        .await?;
    let mut by_target: BTreeMap<String, usize> = BTreeMap::new();
    for a in &all {
        let name = target_name(tx, &a.target).await?;
        *by_target.entry(name).or_default() += 1;
    }
    let mut top: Vec<(String, usize)> = by_target.into_iter().collect();
    // Most activated first; by name among equals, so the mail is stable.
    top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    top.truncate(TOP_ROLES);
    let lines = top
        .into_iter()
        .map(|(name, n)| format!("{name}: {}", plural(n, "activation", "activations")))
        .collect();
    let summary = format!(
        "{} since {}.",
        plural(all.len(), "activation", "activations"),
        format_time(from)
    );
    Ok(DigestSection::new(
        "activations",
        "Activations in the last 7 days",
        all.len(),
        summary,
        lines,
    ))
}

/// PIM requests (roles and groups) waiting for an approver's decision, oldest first.
async fn pending_pim_approvals(tx: &mut dyn Tx) -> UseCaseResult<DigestSection> {
    let mut waiting = tx
        .list_schedule_requests(
            &RequestQuery {
                status: Some(RequestStatus::PendingApproval),
                ..Default::default()
            },
            Page::ALL,
        )
        .await?;
    waiting.sort_by_key(|r| r.created_date_time);
    let mut lines = Vec::new();
    for r in &waiting {
        let who = party(tx, r.principal_id).await?.display_name;
        let what =
            target_name(tx, &Target::of(r.role_definition_id, &r.directory_scope_id)).await?;
        lines.push(format!(
            "{who} asks for {what} (since {})",
            format_time(r.created_date_time)
        ));
    }
    let summary = format!(
        "{} waiting for approval.",
        plural(waiting.len(), "PIM request is", "PIM requests are")
    );
    Ok(DigestSection::new(
        "pimApprovals",
        "PIM requests waiting for approval",
        waiting.len(),
        summary,
        lines,
    ))
}

/// Access package requests waiting for an approver's decision, oldest first.
async fn pending_package_approvals(tx: &mut dyn Tx) -> UseCaseResult<DigestSection> {
    let mut waiting = tx
        .list_assignment_requests(&AssignmentRequestQuery {
            state: Some(RequestState::PendingApproval),
            ..Default::default()
        })
        .await?;
    waiting.sort_by_key(|r| r.created_date_time);
    let mut lines = Vec::new();
    for r in &waiting {
        let who = party(tx, r.target_id).await?.display_name;
        let package = tx
            .get_package(r.access_package_id)
            .await?
            .map_or_else(|| r.access_package_id.to_string(), |p| p.display_name);
        lines.push(format!(
            "{who} asks for access package {package} (since {})",
            format_time(r.created_date_time)
        ));
    }
    let summary = format!(
        "{} waiting for approval.",
        plural(
            waiting.len(),
            "access package request is",
            "access package requests are"
        )
    );
    Ok(DigestSection::new(
        "packageApprovals",
        "Access package requests waiting for approval",
        waiting.len(),
        summary,
        lines,
    ))
}

/// Access reviews in progress with decisions nobody has made yet, the soonest end first.
async fn pending_reviews(tx: &mut dyn Tx) -> UseCaseResult<DigestSection> {
    let mut running = Vec::new();
    for def in tx.list_review_definitions().await? {
        for instance in tx.list_review_instances(def.id).await? {
            if !instance.is_in_progress() {
                continue;
            }
            let items = tx
                .list_review_decisions(instance.id, Some(instance.current_stage))
                .await?;
            let open = items
                .iter()
                .filter(|d| d.decision == eligo_core::review::Decision::NotReviewed)
                .count();
            if open > 0 {
                let end = instance
                    .stages
                    .get(instance.current_stage)
                    .map_or(instance.end_date_time, |s| s.end_date_time);
                running.push((end, def.display_name.clone(), open, items.len()));
            }
        }
    }
    running.sort();
    let undecided: usize = running.iter().map(|r| r.2).sum();
    let lines = running
        .iter()
        .map(|(end, name, open, total)| {
            format!(
                "{name}: {open} of {total} decisions not made yet (ends {})",
                format_time(*end)
            )
        })
        .collect();
    let summary = format!(
        "{} in {} waiting for reviewers.",
        plural(
            undecided,
            "access review decision",
            "access review decisions"
        ),
        plural(running.len(), "review", "reviews")
    );
    Ok(DigestSection::new(
        "reviews",
        "Access reviews waiting for decisions",
        undecided,
        summary,
        lines,
    ))
}

/// `Global Administrator`, `group Finance (member)`; an id when the role or group is gone.
async fn target_name(tx: &mut dyn Tx, target: &Target) -> UseCaseResult<String> {
    Ok(match target {
        Target::Role { role, .. } => tx
            .get_role_definition(*role)
            .await?
            .map_or_else(|| role.to_string(), |r| r.display_name),
        Target::Group { group, access } => {
            let name = tx
                .get_group(*group)
                .await?
                .map_or_else(|| group.to_string(), |g| g.display_name);
            format!("group {name} ({})", access.as_str())
        }
    })
}

/// The server secret recording that the period holding `now` had its digest.
fn period_secret(now: DateTime<Utc>, every: TimeDelta) -> String {
    let secs = every.num_seconds().max(1);
    format!("digest-sent:{secs}s:{}", now.timestamp().div_euclid(secs))
}

/// Sends the digest when this period has not had one: `None` when disabled
/// (`ELIGO_DIGEST_INTERVAL` 0), mail is not configured, or the period was sent already;
/// otherwise how many mails were written. Tests call it with the mock clock.
pub async fn send_due(app: &App) -> UseCaseResult<Option<usize>> {
    let every = app.config.digest_interval;
    if every <= TimeDelta::zero() || app.config.smtp_url.is_none() {
        return Ok(None);
    }
    let now = app.clock.now();
    let mut tx = app.store.write().await?;
    let fresh = tx
        .put_server_secret(
            &period_secret(now, every),
            now.to_rfc3339().as_bytes(),
            now.timestamp_micros(),
        )
        .await?;
    if !fresh {
        return Ok(None);
    }
    let digest = assemble(&mut *tx, now).await?;
    let mut sent = 0;
    for to in addresses(app, &mut *tx, now).await? {
        let once = format!(
            "digest:{}:mail:{}",
            period_secret(now, every),
            to.to_lowercase()
        );
        let payload = Payload::DigestMail {
            to,
            digest: Box::new(digest.clone()),
        };
        tx.enqueue_job(&payload.job(now, Some(once)), now).await?;
        sent += 1;
    }
    tx.commit().await?;
    Ok(Some(sent))
}

/// Checks hourly (or every interval, when shorter) whether the period's digest is due, the first
/// time one check after start.
pub async fn run_forever(app: AppState) {
    let every = app.config.digest_interval;
    if every <= TimeDelta::zero() {
        return;
    }
    let check = every
        .min(TimeDelta::hours(1))
        .to_std()
        .unwrap_or(std::time::Duration::from_secs(3600));
    loop {
        tokio::time::sleep(check).await;
        if let Err(e) = send_due(&app).await {
            tracing::error!(error = ?e.message, "the weekly digest failed");
        }
    }
}
