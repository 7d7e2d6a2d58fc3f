//! A review from its start to the removal of denied access, on the scheduler: the manager
//! reviews their reports, the fallback reviewer whoever has no manager, recommendations from
//! activations, the default decision for what nobody decided, auto-apply through the
//! administrators' own removal, each step once across restarts.

use axum::http::StatusCode;
use chrono::TimeDelta;
use eligo_core::roles::ids::USER_ADMINISTRATOR;
use serde_json::json;

use super::support::*;
use crate::harness::*;

#[tokio::test]
async fn a_role_eligibility_review_by_managers_removes_what_they_deny_and_what_nobody_decided() {
    let t = TestApp::new().await;
    let ann = t.person("ann").await;
    let bob = t.user("bob").await;
    let cam = t.user("cam").await;
    for p in [ann.id, bob, cam] {
        t.eligible_for_a_year(p, USER_ADMINISTRATOR).await;
    }
    // Sixty days later Ann uses her eligibility; Bob and Cam never do.
    t.clock.advance(TimeDelta::days(60));
    let ann = Person {
        token: t.sign_in("ann").await,
        ..ann
    };
    let mia = t.person("mia").await;
    let fay = t.person("fay").await;
    t.set_manager(ann.id, mia.id).await;
    t.set_manager(bob, mia.id).await;
    let (s, b) = t
        .activate(&ann, USER_ADMINISTRATOR, "PT1H", json!({}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");

    let def = t
        .review(
            BOOTSTRAP,
            json!({
                "displayName": "User Administrator eligibility",
                "descriptionForReviewers": "Keep only who still needs it.",
                "scope": eligibility_scope(USER_ADMINISTRATOR),
                "reviewers": [manager_reviewer()],
                "fallbackReviewers": [user_reviewer(fay.id)],
                "settings": {
                    "instanceDurationInDays": 7, "recommendationsEnabled": true,
                    "recommendationLookBackDuration": "P30D",
                    "defaultDecisionEnabled": true, "defaultDecision": "Recommendation",
                    "autoApplyDecisionsEnabled": true, "mailNotificationsEnabled": true,
                }
            }),
        )
        .await;
    assert_eq!(def["status"], "InProgress");
    let def_id = id_of(&def);
    let instance = t.instance(def_id).await;
    assert_eq!(instance["status"], "InProgress");
    let instance_id = id_of(&instance);
    let all = t.decisions(BOOTSTRAP, def_id, instance_id).await;
    assert_eq!(all.len(), 3, "{all:?}");
    let ann_item = about(&all, ann.id);
    assert_eq!(ann_item["recommendation"], "Approve");
    assert_eq!(about(&all, bob)["recommendation"], "Deny");
    assert_eq!(
        about(&all, bob)["recommendationReason"],
        "no activation in the last 30 days (never)"
    );

    // The manager sees her two reports; the fallback reviewer the one without a manager.
    let mine = t.my_decisions(&mia.token, def_id, instance_id).await;
    assert_eq!(mine.len(), 2, "{mine:?}");
    let fays = t.my_decisions(&fay.token, def_id, instance_id).await;
    assert_eq!(fays.len(), 1);
    assert_eq!(fays[0]["principal"]["id"], cam.to_string());
    // Ann sees nothing to review, and cannot decide her own access.
    assert!(
        t.my_decisions(&ann.token, def_id, instance_id)
            .await
            .is_empty()
    );
    let (s, b) = t
        .review_decide(&ann.token, def_id, instance_id, id_of(&ann_item), "Approve")
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
    // Mia cannot decide Cam's.
    let cam_item = id_of(&fays[0]);
    let (s, b) = t
        .review_decide(&mia.token, def_id, instance_id, cam_item, "Approve")
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert_eq!(code(&b), "NotAReviewer");

    // Mia accepts the recommendations: Ann kept, Bob denied; Cam is left undecided.
    t.step_up(&mia).await;
    let (s, b) = t
        .post(
            &ar(&format!(
                "/definitions/{def_id}/instances/{instance_id}/acceptRecommendations"
            )),
            &mia.token,
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let all = t.decisions(BOOTSTRAP, def_id, instance_id).await;
    assert_eq!(about(&all, ann.id)["decision"], "Approve");
    assert_eq!(about(&all, bob)["decision"], "Deny");
    assert_eq!(about(&all, bob)["reviewedBy"]["id"], mia.id.to_string());
    assert_eq!(about(&all, cam)["decision"], "NotReviewed");
    // Nothing is removed before the end.
    assert_eq!(t.eligible_for(bob).await, [USER_ADMINISTRATOR]);

    // The end: Cam takes the recommendation (Deny), Bob's and Cam's eligibility are removed by
    // the review, Ann's stays.
    let pass = t.tick(TimeDelta::days(7)).await;
    assert_eq!(pass.review_stages_ended, 1);
    let instance = t.instance(def_id).await;
    assert_eq!(instance["status"], "Applied");
    let all = t.decisions(BOOTSTRAP, def_id, instance_id).await;
    assert_eq!(about(&all, cam)["decision"], "Deny");
    for p in [bob, cam] {
        assert!(t.eligible_for(p).await.is_empty());
        assert_eq!(about(&all, p)["applyResult"], "AppliedSuccessfully");
    }
    assert_eq!(about(&all, ann.id)["applyResult"], "New");
    assert_eq!(t.eligible_for(ann.id).await, [USER_ADMINISTRATOR]);
    // Each removal is audited with the review as its initiator.
    let removals = t
        .audited_as("Remove eligible member from role in PIM completed")
        .await;
    let by_review: Vec<_> = removals
        .iter()
        .filter(|e| e["initiatedBy"]["app"]["id"] == def_id.to_string())
        .collect();
    assert_eq!(by_review.len(), 2, "{removals:?}");

    // After the end nobody decides any more, and nothing is applied twice.
    let mia = Person {
        token: t.sign_in("mia").await,
        ..mia
    };
    let (s, b) = t
        .review_decide(&mia.token, def_id, instance_id, id_of(&ann_item), "Deny")
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert_eq!(code(&b), "ReviewNotInProgress");
    let restarted = t.restarted(t.clock.now_utc()).await;
    restarted.tick(TimeDelta::days(30)).await;
    let again = restarted
        .audited_as("Remove eligible member from role in PIM completed")
        .await;
    assert_eq!(again.len(), removals.len());
    assert_eq!(restarted.eligible_for(ann.id).await, [USER_ADMINISTRATOR]);
    // A one-time review is completed with its instance.
    let (_, def) = restarted
        .get(&ar(&format!("/definitions/{def_id}")), BOOTSTRAP)
        .await;
    assert_eq!(def["status"], "Completed");
}

/// A role-assignable group reviewed for its role is reviewed by nobody who holds the role
/// through it: its members do not decide their own access.
#[tokio::test]
async fn members_of_a_reviewed_group_do_not_review_it() {
    let t = TestApp::new().await;
    let alice = t.person("alice").await;
    let carl = t.person("carl").await;
    let admins = crate::access::new_group(&t, "Tier 0 Admins", true).await;
    let reviewers = crate::access::new_group(&t, "Reviewers", false).await;
    crate::access::add_member(&t, admins, alice.id).await;
    for who in [alice.id, carl.id] {
        crate::access::add_member(&t, reviewers, who).await;
    }
    t.eligible_for_a_year(admins, USER_ADMINISTRATOR).await;
    let def = t
        .review(
            BOOTSTRAP,
            json!({
                "displayName": "Tier 0",
                "scope": {
                    "@odata.type": "#microsoft.graph.accessReviewQueryScope",
                    "queryType": "MicrosoftGraph",
                    "query": format!("/roleManagement/directory/roleEligibilityScheduleInstances?$filter=roleDefinitionId eq '{USER_ADMINISTRATOR}'"),
                },
                "reviewers": [{ "query": format!("/groups/{reviewers}/transitiveMembers"), "queryType": "MicrosoftGraph" }],
                "settings": { "instanceDurationInDays": 3 },
            }),
        )
        .await;
    let def_id = id_of(&def);
    let instance = id_of(&t.instance(def_id).await);
    let items = t.decisions(BOOTSTRAP, def_id, instance).await;
    let item = id_of(&about(&items, admins));
    // Alice holds the role through the group: she has nothing to decide, and may not.
    assert!(
        t.my_decisions(&alice.token, def_id, instance)
            .await
            .is_empty()
    );
    t.step_up(&alice).await;
    let (status, body) = t
        .review_decide(&alice.token, def_id, instance, item, "Approve")
        .await;
    assert!(status.is_client_error(), "{status}: {body}");
    // Carl, in the reviewers' group but not in the reviewed one, decides.
    assert_eq!(t.my_decisions(&carl.token, def_id, instance).await.len(), 1);
    t.step_up(&carl).await;
    let (status, body) = t
        .review_decide(&carl.token, def_id, instance, item, "Approve")
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
}

#[tokio::test]
async fn a_group_review_with_owners_as_reviewers_removes_denied_direct_members_only() {
    let t = TestApp::new().await;
    let olga = t.person("olga").await;
    let team = t.group("Ops Team").await;
    let nested = t.group("Ops Contractors").await;
    let (dan, eve, kim) = (
        t.user("dan").await,
        t.user("eve").await,
        t.user("kim").await,
    );
    t.add_member(team, dan).await;
    t.add_member(team, eve).await;
    t.add_member(team, nested).await;
    t.add_member(nested, kim).await;
    let (s, b) = t
        .post(
            &format!("/v1/groups/{team}/owners/$ref"),
            BOOTSTRAP,
            json!({ "@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{}", olga.id) }),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let def = t
        .review(
            BOOTSTRAP,
            json!({
                "displayName": "Ops Team members",
                "scope": group_scope(team),
                "reviewers": [{ "query": format!("/groups/{team}/owners"), "queryType": "MicrosoftGraph" }],
                "settings": { "instanceDurationInDays": 3 }
            }),
        )
        .await;
    let def_id = id_of(&def);
    let instance_id = id_of(&t.instance(def_id).await);
    // Transitive members are flattened: Kim is reviewed, the nested group is not.
    let items = t.my_decisions(&olga.token, def_id, instance_id).await;
    assert_eq!(items.len(), 3, "{items:?}");
    t.step_up(&olga).await;
    for p in [dan, kim] {
        let item = id_of(&about(&items, p));
        let (s, b) = t
            .review_decide(&olga.token, def_id, instance_id, item, "Deny")
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    }
    let (s, b) = t
        .review_decide(
            &olga.token,
            def_id,
            instance_id,
            id_of(&about(&items, eve)),
            "Approve",
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    // Without auto-apply the end changes nothing; applyDecisions does.
    t.tick(TimeDelta::days(3)).await;
    assert_eq!(t.instance(def_id).await["status"], "Completed");
    assert!(t.members(team).await.contains(&dan));
    let (s, b) = t
        .post(
            &ar(&format!(
                "/definitions/{def_id}/instances/{instance_id}/applyDecisions"
            )),
            BOOTSTRAP,
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let now = t.members(team).await;
    assert!(!now.contains(&dan));
    assert!(now.contains(&eve));
    assert!(now.contains(&nested));
    let all = t.decisions(BOOTSTRAP, def_id, instance_id).await;
    assert_eq!(about(&all, dan)["applyResult"], "AppliedSuccessfully");
    // Kim is a member only through the nested group: not removable from this group.
    assert_eq!(about(&all, kim)["applyResult"], "ApplyNotSupported");
    let removed = t.audited_as("Remove member from group").await;
    assert!(removed.iter().any(|e| {
        e["initiatedBy"]["app"]["id"] == def_id.to_string()
            && e["additionalDetails"]
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d["key"] == "accessReviewInstanceId")
    }));
}

#[tokio::test]
async fn a_weekly_review_starts_each_week_until_its_count_and_a_stale_member_is_recommended_deny() {
    let t = TestApp::new().await;
    let rev = t.person("rev").await;
    let team = t.group("Weekly Team").await;
    let active = t.user("active").await;
    let stale = t.user("stale").await;
    t.add_member(team, active).await;
    t.add_member(team, stale).await;
    t.clock.advance(TimeDelta::days(40));
    // Signing in is what "use" means for a membership.
    t.password_sign_in("active").await;
    let today = t.clock.now_utc().date_naive().to_string();
    let def = t
        .review(
            BOOTSTRAP,
            json!({
                "displayName": "Weekly",
                "scope": group_scope(team),
                "reviewers": [user_reviewer(rev.id)],
                "settings": {
                    "instanceDurationInDays": 2, "recommendationsEnabled": true,
                    "recurrence": { "pattern": { "type": "weekly", "interval": 1 },
                                    "range": { "type": "numbered", "numberOfOccurrences": 2, "startDate": today } }
                }
            }),
        )
        .await;
    let def_id = id_of(&def);
    let first = t.instance(def_id).await;
    let items = t.decisions(BOOTSTRAP, def_id, id_of(&first)).await;
    assert_eq!(about(&items, active)["recommendation"], "Approve");
    assert_eq!(about(&items, stale)["recommendation"], "Deny");
    let pass = t.tick(TimeDelta::days(2)).await;
    assert_eq!(pass.review_stages_ended, 1);
    let pass = t.tick(TimeDelta::days(5)).await;
    assert_eq!(pass.reviews_started, 1);
    assert_eq!(t.instances(BOOTSTRAP, def_id).await.len(), 2);
    t.tick(TimeDelta::days(7)).await;
    t.tick(TimeDelta::days(7)).await;
    assert_eq!(t.instances(BOOTSTRAP, def_id).await.len(), 2);
    let (_, def) = t
        .get(&ar(&format!("/definitions/{def_id}")), BOOTSTRAP)
        .await;
    assert_eq!(def["status"], "Completed");
}
