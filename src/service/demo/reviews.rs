//! The demo tenant's access review (governance.md section 2): "Global Administrator
//! eligibility — quarterly", reviewed by each eligible person's manager with Dave as fallback,
//! recommendations from activations over 30 days, the recommendation taken for whoever is not
//! reviewed and the result applied at the end. So that the review has something to say, two
//! more people have been eligible for Global Administrator for half a year: Grace activated
//! three days ago (recommended Approve), Frank never did (recommended Deny). The first instance
//! starts at seeding, so Ada, their manager, finds it under My reviews and in her mail.
//!
//! Runs after the rest of the demo is committed: the review's snapshot and its "./manager"
//! reviewers read the access index, which sees only committed people.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use eligo_core::audit::{AuditEvent, Category, Initiator};
use eligo_core::directory::{PrincipalKind, User};
use eligo_core::review::{Definition, Party};
use eligo_core::roles::ids;
use eligo_core::schedule::{AssignmentType, RoleSchedule, ScheduleKind};
use eligo_store::{Activation, Tx};
use serde_json::json;
use uuid::Uuid;

use super::{DEMO_PASSWORD, DOMAIN};
use crate::app::App;
use crate::auth::password;
use crate::service::reviews::lifecycle;
use crate::service::sessions;

pub const REVIEW: &str = "Global Administrator eligibility — quarterly";
/// Eligible for Global Administrator for half a year and never activated it.
pub const STALE: &str = "frank";
/// Eligible as long, and activated it three days ago.
pub const ACTIVE: &str = "grace";

/// How long ago Frank and Grace became eligible (and joined).
const ELIGIBLE_FOR_DAYS: i64 = 180;

pub async fn load(app: &App, ids_by_nick: &HashMap<&str, Uuid>) -> anyhow::Result<()> {
    let now = app.clock.now();
    let ada = ids_by_nick["ada"];
    let since = now - TimeDelta::days(ELIGIBLE_FOR_DAYS);
    let mut tx = app.store.write().await?;
    for (nick, name) in [(STALE, "Frank Former-Admin"), (ACTIVE, "Grace Global-Ops")] {
        let user = person(&mut *tx, nick, name, ada, since).await?;
        let eligibility = global_admin(&mut *tx, user, ScheduleKind::Eligible, since, 365).await?;
        if nick == ACTIVE {
            activated(&mut *tx, user, eligibility, now - TimeDelta::days(3)).await?;
        }
    }
    tx.commit().await?;

    let body = json!({
        "displayName": REVIEW,
        "descriptionForAdmins": "Every quarter, managers confirm who still needs to be able to become Global Administrator.",
        "descriptionForReviewers": "Keep Global Administrator eligibility only for those who still need it: the recommendation says whether they activated it in the last 30 days.",
        "scope": {
            "@odata.type": "#microsoft.graph.accessReviewQueryScope",
            "queryType": "MicrosoftGraph",
            "query": format!("/roleManagement/directory/roleEligibilityScheduleInstances?$filter=roleDefinitionId eq '{}'", ids::GLOBAL_ADMINISTRATOR),
        },
        "reviewers": [{ "query": "./manager", "queryType": "MicrosoftGraph", "queryRoot": "decisions" }],
        "fallbackReviewers": [{ "query": format!("/users/{}", ids_by_nick["dave"]), "queryType": "MicrosoftGraph" }],
        "settings": {
            "instanceDurationInDays": 14,
            "recurrence": {
                "pattern": { "type": "absoluteMonthly", "interval": 3 },
                "range": { "type": "noEnd", "startDate": now.date_naive().to_string() },
            },
            "recommendationsEnabled": true,
            "recommendationLookBackDuration": "P30D",
            "defaultDecisionEnabled": true,
            "defaultDecision": "Recommendation",
            "autoApplyDecisionsEnabled": true,
            "justificationRequiredOnApproval": false,
            "mailNotificationsEnabled": true,
            "reminderNotificationsEnabled": true,
        },
    });
    let creator = Party {
        id: ada,
        display_name: "Ada Administrator".into(),
        user_principal_name: Some(format!("ada@{DOMAIN}")),
        kind: PrincipalKind::User,
    };
    let mut def = Definition::read(&body, Uuid::new_v4(), creator, now)
        .map_err(|e| anyhow::anyhow!("demo access review: {e:?}"))?;
    let mut tx = app.store.write().await?;
    tx.insert_review_definition(&def).await?;
    tx.append_audit(
        lifecycle::event(&def, now, "Create access review", Initiator::system())
            .detail("reason", "demo tenant"),
    )
    .await?;
    let instance = lifecycle::start(app, &mut *tx, &mut def, now)
        .await
        .map_err(|e| anyhow::anyhow!("starting the demo access review: {e:?}"))?;
    tx.commit().await?;
    app.scheduler.due_at(instance.due_at());
    app.scheduler.due_at(def.next_start);
    Ok(())
}

async fn person(
    tx: &mut dyn Tx,
    nick: &str,
    name: &str,
    manager: Uuid,
    since: DateTime<Utc>,
) -> anyhow::Result<Uuid> {
    let upn = format!("{nick}@{DOMAIN}");
    let user = User {
        id: Uuid::new_v4(),
        user_principal_name: upn.clone(),
        display_name: name.into(),
        mail: Some(upn.clone()),
        mail_nickname: Some(nick.into()),
        manager_id: Some(manager),
        account_enabled: true,
        created_date_time: since,
    };
    tx.insert_user(&user).await?;
    tx.put_credential(
        user.id,
        sessions::PASSWORD,
        &json!({ "hash": password::hash(DEMO_PASSWORD) }),
        since.timestamp_micros(),
    )
    .await?;
    tx.append_audit(
        AuditEvent::new(
            since,
            Category::UserManagement,
            "Add user",
            Initiator::system(),
        )
        .target(user.id, "User", Some(&upn))
        .detail("reason", "demo tenant"),
    )
    .await?;
    Ok(user.id)
}

/// A Global Administrator schedule of `kind` from `start` for `days`; returns its id.
async fn global_admin(
    tx: &mut dyn Tx,
    principal: Uuid,
    kind: ScheduleKind,
    start: DateTime<Utc>,
    days: i64,
) -> anyhow::Result<Uuid> {
    let role = Uuid::parse_str(ids::GLOBAL_ADMINISTRATOR)?;
    let schedule = RoleSchedule::new(
        Uuid::new_v4(),
        kind,
        principal,
        role,
        "/",
        (start, Some(start + TimeDelta::days(days))),
        AssignmentType::Assigned,
        None,
        start,
    );
    tx.insert_role_schedule(&schedule).await?;
    tx.append_audit(
        AuditEvent::new(
            start,
            Category::RoleManagement,
            "Add eligible member to role",
            Initiator::system(),
        )
        .target(role, "Role", None)
        .target(principal, "User", None)
        .detail("reason", "demo tenant"),
    )
    .await?;
    Ok(schedule.id)
}

/// A one-hour activation of the eligibility at `at`, long over, and its place in the
/// activation history that recommendations read.
async fn activated(
    tx: &mut dyn Tx,
    principal: Uuid,
    eligibility: Uuid,
    at: DateTime<Utc>,
) -> anyhow::Result<()> {
    let role = Uuid::parse_str(ids::GLOBAL_ADMINISTRATOR)?;
    let mut schedule = RoleSchedule::new(
        Uuid::new_v4(),
        ScheduleKind::Active,
        principal,
        role,
        "/",
        (at, Some(at + TimeDelta::hours(1))),
        AssignmentType::Activated,
        Some(principal),
        at,
    );
    schedule.linked_eligibility_id = Some(eligibility);
    // Its end passed three days ago and was seen then (audited below): nothing is left for
    // the scheduler.
    schedule.end_pending = false;
    tx.insert_role_schedule(&schedule).await?;
    tx.record_activation(&Activation {
        principal_id: principal,
        target: schedule.target(),
        schedule_id: schedule.id,
        activated_at: at,
    })
    .await?;
    tx.append_audit(
        AuditEvent::new(
            at,
            Category::RoleManagement,
            "Add member to role completed (PIM activation)",
            Initiator::system(),
        )
        .target(role, "Role", None)
        .target(principal, "User", None)
        .detail("reason", "demo tenant"),
    )
    .await?;
    tx.append_audit(
        AuditEvent::new(
            at + TimeDelta::hours(1),
            Category::RoleManagement,
            "Remove member from role (PIM activation expired)",
            Initiator::system(),
        )
        .target(role, "Role", None)
        .target(principal, "User", None)
        .detail("reason", "demo tenant"),
    )
    .await?;
    Ok(())
}
