//! The demo tenant (`eligo serve --demo`, first start only): people and groups from
//! docs/scenarios.md, so the README's tour works on a fresh machine. Every user's password is
//! `DEMO_PASSWORD`; it is printed in the README and must never be used outside a demo. Its
//! PIM alerts are scanned once it is loaded (`alerts`), with "too many Global Administrators"
//! configured for its size, so the Alerts page is not empty on first start.

use chrono::TimeDelta;
use eligo_core::audit::{AuditEvent, Category, Initiator};
use eligo_core::directory::{Group, Relation, User};
use eligo_core::policy::{RolePolicy, ScopeType};
use eligo_core::roles::ids;
use eligo_core::schedule::{AssignmentType, RoleSchedule, ScheduleKind};
use eligo_core::target::{GroupAccess, Target as AccessTarget};
use eligo_store::Tx;
use serde_json::json;
use uuid::Uuid;

use crate::app::App;
use crate::auth::password;
use crate::service::sessions;

mod alerts;
mod packages;
pub use alerts::{GLOBAL_ADMIN_COUNT, GLOBAL_ADMIN_PERCENTAGE};
pub mod reviews;
pub use packages::{CATALOG, HELPDESK_PACKAGE, IRM_GROUP, IRM_PACKAGE, OFFICER_PACKAGE};

pub const DEMO_PASSWORD: &str = "Eligo-demo-2026!";

/// Alice's eligibility for Security Administrator ends this many days after the demo starts,
/// so My roles shows "Request extension" and the role's page "Extend" (within 14 days);
/// every other demo assignment lasts a year.
pub const ENDING_SOON_DAYS: i64 = 10;
pub const DOMAIN: &str = "contoso.example";

struct Person {
    nick: &'static str,
    name: &'static str,
    /// (role id, eligible?) — eligible people hold nothing until they activate.
    roles: &'static [(&'static str, bool)],
}

const PEOPLE: &[Person] = &[
    Person {
        nick: "ada",
        name: "Ada Administrator",
        roles: &[(ids::GLOBAL_ADMINISTRATOR, false)],
    },
    Person {
        nick: "uma",
        name: "Uma User-Admin",
        roles: &[(ids::USER_ADMINISTRATOR, false)],
    },
    Person {
        nick: "dave",
        name: "Dave Auditor",
        roles: &[(ids::GLOBAL_READER, false)],
    },
    Person {
        nick: "alice",
        name: "Alice Helpdesk-Lead",
        roles: &[
            (ids::HELPDESK_ADMINISTRATOR, true),
            (ids::SECURITY_ADMINISTRATOR, true),
        ],
    },
    Person {
        nick: "bob",
        name: "Bob Exchange",
        roles: &[(ids::EXCHANGE_ADMINISTRATOR, true)],
    },
    Person {
        nick: "carol",
        name: "Carol Security",
        roles: &[(ids::GLOBAL_ADMINISTRATOR, true)],
    },
    Person {
        nick: "erin",
        name: "Erin Employee",
        roles: &[],
    },
];

/// Everyone reports to Ada, but Erin to Alice: Erin asks for the Insider Risk Management
/// package and her manager Alice approves (Ada, the policy's fallback approver, otherwise).
fn manager_of(nick: &str) -> &'static str {
    match nick {
        "erin" => "alice",
        _ => "ada",
    }
}

pub async fn load(app: &App) -> anyhow::Result<()> {
    let now = app.clock.now();
    let tenant = alerts::tenant(app).await?;
    let hash = password::hash(DEMO_PASSWORD);
    let mut tx = app.store.write().await?;
    let demo = |activity: &str| {
        AuditEvent::new(now, Category::UserManagement, activity, Initiator::system())
            .detail("reason", "demo tenant")
    };
    let mut ids_by_nick = std::collections::HashMap::new();
    for p in PEOPLE {
        let upn = format!("{}@{DOMAIN}", p.nick);
        let user = User {
            id: Uuid::new_v4(),
            user_principal_name: upn.clone(),
            display_name: p.name.into(),
            mail: Some(upn.clone()),
            mail_nickname: Some(p.nick.into()),
            manager_id: ids_by_nick.get(manager_of(p.nick)).copied(),
            account_enabled: true,
            created_date_time: now,
        };
        tx.insert_user(&user).await?;
        tx.put_credential(
            user.id,
            sessions::PASSWORD,
            &json!({ "hash": hash }),
            now.timestamp_micros(),
        )
        .await?;
        tx.append_audit(demo("Add user").target(user.id, "User", Some(&upn)))
            .await?;
        for (role, eligible) in p.roles {
            let days = if p.nick == "alice" && *role == ids::SECURITY_ADMINISTRATOR {
                ENDING_SOON_DAYS
            } else {
                365
            };
            assign(&mut *tx, user.id, role, *eligible, (now, days)).await?;
        }
        ids_by_nick.insert(p.nick, user.id);
    }
    // Groups, their direct members, and who is eligible for membership (PIM for Groups): the
    // compliance portal's admin group stays empty at rest and Bob activates membership when he
    // needs it; Carol can join Tier 0 (which can activate Privileged Role Administrator).
    let mut group_ids = std::collections::HashMap::new();
    let groups = [
        ("Helpdesk Team", false, vec!["alice", "erin"], vec![]),
        ("Tier 0 Operators", true, vec![], vec!["carol"]),
        ("Compliance Portal Admins", false, vec![], vec!["bob"]),
    ];
    for (name, role_assignable, members, eligible_members) in groups {
        let group = Group {
            id: Uuid::new_v4(),
            display_name: name.into(),
            description: Some(format!("Demo group: {name}")),
            mail_nickname: None,
            security_enabled: true,
            is_assignable_to_role: role_assignable,
            created_date_time: now,
        };
        tx.insert_group(&group).await?;
        group_ids.insert(name, group.id);
        tx.append_audit(demo("Add group").target(group.id, "Group", Some(name)))
            .await?;
        for nick in members {
            tx.add_relation(
                group.id,
                ids_by_nick[nick],
                Relation::Member,
                now.timestamp_micros(),
            )
            .await?;
            tx.append_audit(
                demo("Add member to group")
                    .target(group.id, "Group", Some(name))
                    .target(ids_by_nick[nick], "User", None),
            )
            .await?;
        }
        tx.add_relation(
            group.id,
            ids_by_nick["ada"],
            Relation::Owner,
            now.timestamp_micros(),
        )
        .await?;
        for nick in eligible_members {
            let (role, scope) = AccessTarget::Group {
                group: group.id,
                access: GroupAccess::Member,
            }
            .fields();
            let schedule = RoleSchedule::new(
                Uuid::new_v4(),
                ScheduleKind::Eligible,
                ids_by_nick[nick],
                role,
                scope,
                (now, Some(now + TimeDelta::days(365))),
                AssignmentType::Assigned,
                None,
                now,
            );
            tx.insert_role_schedule(&schedule).await?;
            tx.append_audit(
                AuditEvent::new(
                    now,
                    Category::GroupManagement,
                    "Add eligible member to group in PIM completed (timebound)",
                    Initiator::system(),
                )
                .target(group.id, "Group", Some(name))
                .target(ids_by_nick[nick], "User", None)
                .detail("reason", "demo tenant"),
            )
            .await?;
        }
        if role_assignable {
            assign(
                &mut *tx,
                group.id,
                ids::PRIVILEGED_ROLE_ADMINISTRATOR,
                true,
                (now, 365),
            )
            .await?;
        }
    }
    role_settings(&mut *tx, ids_by_nick["ada"], now).await?;
    let seed = packages::Seed {
        owner: ids_by_nick["ada"],
        fallback_approver: ids_by_nick["ada"],
    };
    packages::load(&mut *tx, &seed, now).await?;
    alerts::configure(&mut *tx, tenant, now).await?;
    tx.commit().await?;
    reviews::load(app, &ids_by_nick).await?;
    alerts::scan(app).await?;
    Ok(())
}

/// The role settings of docs/scenarios.md: Global Administrator needs MFA, justification, a
/// ticket and another Global Administrator's approval, for at most an hour; Exchange
/// Administrator MFA, justification and ticket for 2 hours; Helpdesk Administrator MFA only
/// for 8 hours; Security Administrator needs approval.
async fn role_settings(
    tx: &mut dyn Tx,
    approver: Uuid,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<()> {
    let approval = json!({ "setting": {
        "isApprovalRequired": true, "isRequestorJustificationRequired": true,
        "approvalStages": [{ "approvalStageTimeOutInDays": 1, "isApproverJustificationRequired": true,
            "primaryApprovers": [{ "@odata.type": "#microsoft.graph.singleUser", "userId": approver }] }],
    }});
    let all_three =
        json!({ "enabledRules": ["MultiFactorAuthentication", "Justification", "Ticketing"] });
    let max = |d: &str| json!({ "isExpirationRequired": true, "maximumDuration": d });
    let settings = [
        (
            ids::GLOBAL_ADMINISTRATOR,
            vec![
                ("Enablement_EndUser_Assignment", all_three.clone()),
                ("Expiration_EndUser_Assignment", max("PT1H")),
                ("Approval_EndUser_Assignment", approval.clone()),
            ],
        ),
        (
            ids::EXCHANGE_ADMINISTRATOR,
            vec![
                ("Enablement_EndUser_Assignment", all_three),
                ("Expiration_EndUser_Assignment", max("PT2H")),
            ],
        ),
        (
            ids::HELPDESK_ADMINISTRATOR,
            vec![
                (
                    "Enablement_EndUser_Assignment",
                    json!({ "enabledRules": ["MultiFactorAuthentication"] }),
                ),
                ("Expiration_EndUser_Assignment", max("PT8H")),
            ],
        ),
        (
            ids::SECURITY_ADMINISTRATOR,
            vec![("Approval_EndUser_Assignment", approval)],
        ),
    ];
    for (role, rules) in settings {
        let mut policy = RolePolicy::default_for(ScopeType::DirectoryRole, "/", role);
        for (rule, body) in rules {
            policy
                .rules
                .apply(rule, &body)
                .map_err(|e| anyhow::anyhow!("demo rule {rule}: {e:?}"))?;
        }
        policy.last_modified_date_time = Some(now);
        tx.put_policy(&policy, now.timestamp_micros()).await?;
        tx.append_audit(
            AuditEvent::new(
                now,
                Category::Policy,
                "Update role setting in PIM",
                Initiator::system(),
            )
            .target(&policy.id, "Policy", None)
            .modified_all(eligo_core::policy_changes::changes(
                &RolePolicy::default_for(ScopeType::DirectoryRole, "/", role).rules,
                &policy.rules,
            ))
            .detail("reason", "demo tenant"),
        )
        .await?;
    }
    Ok(())
}

async fn assign(
    tx: &mut dyn Tx,
    principal: Uuid,
    role: &str,
    eligible: bool,
    (now, days): (chrono::DateTime<chrono::Utc>, i64),
) -> anyhow::Result<()> {
    let role_id = Uuid::parse_str(role)?;
    let kind = if eligible {
        ScheduleKind::Eligible
    } else {
        ScheduleKind::Active
    };
    let schedule = RoleSchedule::new(
        Uuid::new_v4(),
        kind,
        principal,
        role_id,
        "/",
        (now, Some(now + TimeDelta::days(days))),
        AssignmentType::Assigned,
        None,
        now,
    );
    tx.insert_role_schedule(&schedule).await?;
    let activity = if eligible {
        "Add eligible member to role"
    } else {
        "Add member to role"
    };
    tx.append_audit(
        AuditEvent::new(now, Category::RoleManagement, activity, Initiator::system())
            .target(role_id, "Role", None)
            .target(principal, "User", None)
            .detail("reason", "demo tenant"),
    )
    .await?;
    Ok(())
}
