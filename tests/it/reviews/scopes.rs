//! The other scopes and reviewer kinds: a role's holders eligible and active (never the
//! break-glass account), active assignments only, PIM for Groups eligibilities, the
//! inactive-users scope, and a group's members as reviewers.

use axum::http::StatusCode;
use chrono::TimeDelta;
use eligo_core::roles::ids::{GLOBAL_ADMINISTRATOR, HELPDESK_ADMINISTRATOR};
use eligo_core::schedule::ScheduleKind;
use serde_json::json;

use super::support::*;
use crate::harness::*;

const G: &str = "/v1/identityGovernance/privilegedAccess/group";

#[tokio::test]
async fn a_whole_role_review_leaves_the_break_glass_account_out_and_removes_active_assignments() {
    let t = TestApp::new().await;
    let rev = t.person("rev").await;
    let eli = t.user("eli").await;
    let act = t.user("act").await;
    t.eligible_for_a_year(eli, GLOBAL_ADMINISTRATOR).await;
    t.grant(
        act,
        GLOBAL_ADMINISTRATOR,
        ScheduleKind::Active,
        Some(TimeDelta::days(90)),
    )
    .await;
    let def = t
        .review(
            BOOTSTRAP,
            json!({ "displayName": "All GA", "reviewers": [user_reviewer(rev.id)],
                    "scope": { "query": format!("/roleManagement/directory/roleDefinitions/{GLOBAL_ADMINISTRATOR}") },
                    "settings": { "instanceDurationInDays": 1, "defaultDecisionEnabled": true,
                                  "defaultDecision": "Deny", "autoApplyDecisionsEnabled": true } }),
        )
        .await;
    let def_id = id_of(&def);
    let instance = id_of(&t.instance(def_id).await);
    let items = t.decisions(BOOTSTRAP, def_id, instance).await;
    // The break-glass account holds Global Administrator too, and is not reviewed.
    let who: Vec<&str> = items
        .iter()
        .map(|d| d["principal"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(items.len(), 2, "{items:?}");
    assert!(who.contains(&eli.to_string().as_str()) && who.contains(&act.to_string().as_str()));
    // Nobody decides: the default Deny removes both at the end, and the break-glass token
    // still works.
    t.tick(TimeDelta::days(1)).await;
    assert!(t.eligible_for(eli).await.is_empty());
    let (_, active) = t
        .get(
            &format!("/v1/roleManagement/directory/roleAssignmentScheduleInstances?$filter=principalId eq '{act}'"),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(active["value"], json!([]), "{active}");
    let (s, _) = t.get("/v1/users", BOOTSTRAP).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn active_only_and_inactive_users_scopes_take_only_what_they_name() {
    let t = TestApp::new().await;
    let rev = t.person("rev").await;
    let eligible = t.user("eligible").await;
    let active = t.user("active").await;
    t.eligible_for_a_year(eligible, HELPDESK_ADMINISTRATOR)
        .await;
    t.grant(active, HELPDESK_ADMINISTRATOR, ScheduleKind::Active, None)
        .await;
    let def = t
        .review(
            BOOTSTRAP,
            json!({ "displayName": "Active helpdesk", "reviewers": [user_reviewer(rev.id)],
                    "scope": { "query": format!("/roleManagement/directory/roleAssignmentScheduleInstances?$filter=assignmentType eq 'Assigned' and roleDefinitionId eq '{HELPDESK_ADMINISTRATOR}'") } }),
        )
        .await;
    let items = t
        .decisions(
            BOOTSTRAP,
            id_of(&def),
            id_of(&t.instance(id_of(&def)).await),
        )
        .await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["principal"]["id"], active.to_string());

    // Inactive users: only who has not signed in for 30 days.
    let team = t.group("Sleepers").await;
    let (awake, asleep) = (t.user("awake").await, t.user("asleep").await);
    t.add_member(team, awake).await;
    t.add_member(team, asleep).await;
    t.clock.advance(TimeDelta::days(45));
    t.password_sign_in("awake").await;
    let rev = Person {
        token: t.sign_in("rev").await,
        ..rev
    };
    let def = t
        .review(
            BOOTSTRAP,
            json!({ "displayName": "Sleepers", "reviewers": [user_reviewer(rev.id)],
                    "scope": { "@odata.type": "#microsoft.graph.accessReviewInactiveUsersQueryScope",
                               "query": format!("/groups/{team}/members"), "inactiveDuration": "P30D" } }),
        )
        .await;
    let items = t
        .my_decisions(
            &rev.token,
            id_of(&def),
            id_of(&t.instance(id_of(&def)).await),
        )
        .await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["principal"]["id"], asleep.to_string());
}

#[tokio::test]
async fn a_pim_for_groups_eligibility_review_by_a_groups_members_removes_the_eligibility() {
    let t = TestApp::new().await;
    let team = t.group("Reviewers").await;
    let r1 = t.person("r1").await;
    let r2 = t.person("r2").await;
    t.add_member(team, r1.id).await;
    t.add_member(team, r2.id).await;
    let target = t.group("Payroll Admins").await;
    let gus = t.user("gus").await;
    let (s, b) = t
        .post(
            &format!("{G}/eligibilityScheduleRequests"),
            BOOTSTRAP,
            json!({ "action": "adminAssign", "principalId": gus, "groupId": target, "accessId": "member",
                    "justification": "rota",
                    "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "P90D" } } }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let def = t
        .review(
            BOOTSTRAP,
            json!({ "displayName": "Payroll eligibility",
                    "scope": { "query": format!("/identityGovernance/privilegedAccess/group/eligibilityScheduleInstances?$filter=groupId eq '{target}'") },
                    "reviewers": [{ "query": format!("/groups/{team}/transitiveMembers") }],
                    "settings": { "instanceDurationInDays": 2, "autoApplyDecisionsEnabled": true,
                                  "recommendationsEnabled": true } }),
        )
        .await;
    let def_id = id_of(&def);
    let instance = id_of(&t.instance(def_id).await);
    // Either member of the reviewers' group may decide.
    let items = t.my_decisions(&r2.token, def_id, instance).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["recommendation"], "NoInfoAvailable");
    assert_eq!(t.my_decisions(&r1.token, def_id, instance).await.len(), 1);
    let (s, b) = t
        .review_decide(&r2.token, def_id, instance, id_of(&items[0]), "Deny")
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let eligible = |t: &TestApp| {
        let t = t.app.clone();
        async move {
            let mut tx = t.store.read().await.unwrap();
            tx.list_role_schedules(&eligo_store::ScheduleQuery {
                kind: Some(ScheduleKind::Eligible),
                principal_ids: Some(vec![gus]),
                targets: eligo_store::Targets::Groups,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_iter()
            .filter(|s| !s.has_ended(eligo::clock::Clock::now(&*t.clock)))
            .count()
        }
    };
    assert_eq!(eligible(&t).await, 1);
    t.tick(TimeDelta::days(2)).await;
    assert_eq!(eligible(&t).await, 0);
    let all = t.decisions(BOOTSTRAP, def_id, instance).await;
    assert_eq!(all[0]["applyResult"], "AppliedSuccessfully");
    assert_eq!(all[0]["reviewedBy"]["id"], r2.id.to_string());
}
