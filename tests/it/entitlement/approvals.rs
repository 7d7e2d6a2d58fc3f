//! Approvals of access package requests (`accessPackageAssignmentApprovals`): stages in order,
//! approvers resolved at the review (the target's manager, fallback, escalation), distinct
//! approvers, self-approval, a fresh second factor, denial, timeouts, a decision again at
//! approval (separation of duties), and races.

use axum::http::StatusCode;
use chrono::TimeDelta;
use serde_json::{Value, json};
use uuid::Uuid;

use super::support::*;
use crate::harness::*;

const APPROVALS: &str = "/accessPackageAssignmentApprovals";

fn manager(level: u8) -> Value {
    json!({ "@odata.type": "#microsoft.graph.requestorManager", "managerLevel": level })
}

fn single(user: Uuid) -> Value {
    json!({ "@odata.type": "#microsoft.graph.singleUser", "userId": user })
}

fn stage(primary: Vec<Value>, extra: Value) -> Value {
    let mut s = json!({ "durationBeforeAutomaticDenial": "P2D", "primaryApprovers": primary });
    if let (Some(b), Some(e)) = (s.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    s
}

fn approval(stages: Vec<Value>) -> Value {
    json!({ "requestApprovalSettings": { "isApprovalRequiredForAdd": true, "stages": stages } })
}

impl TestApp {
    async fn approval_of(&self, token: &str, request: &str) -> (StatusCode, Value) {
        self.get(&em(&format!("{APPROVALS}/{request}")), token)
            .await
    }

    /// Decides the stage `index` of `request`'s approval as `token`.
    async fn decide(
        &self,
        token: &str,
        request: &str,
        index: usize,
        result: &str,
    ) -> (StatusCode, Value) {
        let (s, a) = self.approval_of(BOOTSTRAP, request).await;
        assert_eq!(s, StatusCode::OK, "{a}");
        let stage = a["stages"][index]["id"].as_str().unwrap().to_string();
        self.patch(
            &em(&format!("{APPROVALS}/{request}/stages/{stage}")),
            token,
            json!({ "reviewResult": result, "justification": "known work" }),
        )
        .await
    }

    async fn request_state(&self, request: &str) -> Value {
        let (s, r) = self
            .get(&em(&format!("{REQUESTS}/{request}")), BOOTSTRAP)
            .await;
        assert_eq!(s, StatusCode::OK, "{r}");
        r
    }
}

/// Alice asks for membership of a group; `extra` is the policy's approval.
async fn setup(t: &TestApp, extra: Value) -> (Uuid, String, Uuid, GroupPackage) {
    let alice = t.user("alice").await;
    let token = t.sign_in("alice").await;
    let group = t.group("IRM Admins").await;
    let catalog = t.catalog(BOOTSTRAP, "Compliance").await;
    let p = t.group_package(catalog, "IRM", group, extra).await;
    (alice, token, group, p)
}

async fn ask(t: &TestApp, token: &str, p: &GroupPackage) -> String {
    let (s, r) = t.ask(token, "userAdd", p, None, json!({})).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    assert_eq!(r["state"], "pendingApproval", "{r}");
    r["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn the_targets_manager_approves_and_the_membership_is_delivered() {
    let t = TestApp::new().await;
    let (alice, token, group, p) =
        setup(&t, approval(vec![stage(vec![manager(1)], json!({}))])).await;
    let boss = t.person("boss").await;
    t.set_manager(alice, boss.id).await;
    let id = ask(&t, &token, &p).await;

    // The requestor sees the stage, not assigned to them; the manager sees it assigned.
    let (s, a) = t.approval_of(&token, &id).await;
    assert_eq!(s, StatusCode::OK, "{a}");
    assert_eq!(a["stages"][0]["status"], "InProgress");
    assert_eq!(a["stages"][0]["assignedToMe"], false);
    let (_, a) = t.approval_of(&boss.token, &id).await;
    assert_eq!(a["stages"][0]["assignedToMe"], true, "{a}");
    let (s, mine) = t
        .get(
            &em(&format!("{APPROVALS}/filterByCurrentUser(on='approver')")),
            &boss.token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{mine}");
    assert_eq!(mine["value"][0]["id"], json!(id));
    let (_, none) = t
        .get(
            &em(&format!("{APPROVALS}/filterByCurrentUser(on='approver')")),
            &token,
        )
        .await;
    assert_eq!(none["value"], json!([]));

    // The target never approves their own request.
    let (s, b) = t.decide(&token, &id, 0, "Approve").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert!(t.members(group).await.is_empty());

    let (s, b) = t.decide(&boss.token, &id, 0, "Approve").await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let r = t.request_state(&id).await;
    assert_eq!(r["state"], "delivered", "{r}");
    assert_eq!(t.members(group).await, [alice]);
    let (_, a) = t.approval_of(&boss.token, &id).await;
    assert_eq!(a["stages"][0]["status"], "Completed");
    assert_eq!(a["stages"][0]["reviewResult"], "Approved");
    assert_eq!(a["stages"][0]["reviewedBy"]["id"], json!(boss.id));
    assert_eq!(a["stages"][0]["justification"], "known work");
    // The clock of the assignment starts at the approval: 30 days from now.
    let assignment = t.assignment(assignment_of(&r)).await;
    let end = assignment["schedule"]["expiration"]["endDateTime"]
        .as_str()
        .map(|e| chrono::DateTime::parse_from_rfc3339(e).unwrap().to_utc());
    assert_eq!(
        end,
        Some(t.clock.now_utc() + TimeDelta::days(30)),
        "{assignment}"
    );

    // Decided: a second decision and a cancel are 409.
    let (s, b) = t.decide(&boss.token, &id, 0, "Deny").await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    let (s, b) = t
        .post(&em(&format!("{REQUESTS}/{id}/cancel")), &token, json!({}))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
}

#[tokio::test]
async fn a_denial_ends_the_request_and_gives_nothing() {
    let t = TestApp::new().await;
    let (alice, token, group, p) =
        setup(&t, approval(vec![stage(vec![manager(1)], json!({}))])).await;
    let boss = t.person("boss").await;
    t.set_manager(alice, boss.id).await;
    let id = ask(&t, &token, &p).await;
    let (s, b) = t.decide(&boss.token, &id, 0, "Denied").await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let r = t.request_state(&id).await;
    assert_eq!(r["state"], "denied", "{r}");
    assert!(t.members(group).await.is_empty());
    let (_, a) = t.approval_of(&token, &id).await;
    assert_eq!(a["stages"][0]["reviewResult"], "Denied");
}

#[tokio::test]
async fn two_stages_in_order_and_a_stage_needing_two_approvers() {
    let t = TestApp::new().await;
    let first = t.person("first").await;
    let second = t.person("second").await;
    let third = t.person("third").await;
    // Stage 1 needs first and second, stage 2 third.
    let (alice, token, group, p) = setup(
        &t,
        approval(vec![
            stage(
                vec![single(first.id), single(second.id)],
                json!({ "minimumApprovals": 2 }),
            ),
            stage(vec![single(third.id)], json!({})),
        ]),
    )
    .await;
    let id = ask(&t, &token, &p).await;
    // Stage 2 has not started: its approver cannot decide it yet.
    let (s, b) = t.decide(&third.token, &id, 1, "Approve").await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    let (s, b) = t.decide(&first.token, &id, 0, "Approve").await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let (_, a) = t.approval_of(&token, &id).await;
    assert_eq!(a["stages"][0]["status"], "InProgress", "{a}");
    // Nobody counts twice.
    let (s, b) = t.decide(&first.token, &id, 0, "Approve").await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    let (s, b) = t.decide(&second.token, &id, 0, "Approve").await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let (_, a) = t.approval_of(&token, &id).await;
    assert_eq!(a["stages"][0]["status"], "Completed", "{a}");
    assert_eq!(a["stages"][1]["status"], "InProgress", "{a}");
    assert!(t.members(group).await.is_empty());
    let (s, b) = t.decide(&third.token, &id, 1, "Approve").await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    assert_eq!(t.request_state(&id).await["state"], "delivered");
    assert_eq!(t.members(group).await, [alice]);
}

#[tokio::test]
async fn fallback_approvers_decide_when_the_target_has_no_manager() {
    let t = TestApp::new().await;
    let fallback = t.person("fallback").await;
    let (alice, token, group, p) = setup(
        &t,
        approval(vec![stage(
            vec![manager(1)],
            json!({ "fallbackPrimaryApprovers": [single(fallback.id)] }),
        )]),
    )
    .await;
    let id = ask(&t, &token, &p).await;
    let (s, b) = t.decide(&fallback.token, &id, 0, "Approve").await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    assert_eq!(t.members(group).await, [alice]);
}

#[tokio::test]
async fn a_request_nobody_could_approve_is_refused_and_nothing_waits() {
    let t = TestApp::new().await;
    // Stage 2 is the target's manager with no fallback, and Alice has no manager; stage 1's
    // only approver is Alice herself, who never approves her own request.
    let (alice, token, group, p) = setup(&t, json!({})).await;
    let (s, b) = t
        .patch(
            &em(&format!("/assignmentPolicies/{}", p.policy)),
            BOOTSTRAP,
            approval(vec![
                stage(vec![single(alice)], json!({})),
                stage(vec![manager(1)], json!({})),
            ]),
        )
        .await;
    assert!(s.is_success(), "{b}");
    let (s, r) = t.ask(&token, "userAdd", &p, None, json!({})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{r}");
    let details = r["error"]["details"].as_array().unwrap();
    assert_eq!(details.len(), 1, "{r}");
    assert_eq!(details[0]["code"], "NoApprover", "{r}");
    let message = details[0]["message"].as_str().unwrap();
    assert!(message.contains("stage 1 and stage 2"), "{message}");
    let (_, mine) = t
        .get(
            &em(&format!("{REQUESTS}/filterByCurrentUser(on='target')")),
            &token,
        )
        .await;
    assert_eq!(mine["value"].as_array().unwrap().len(), 0, "{mine}");
    assert!(t.members(group).await.is_empty());

    // Once Alice has a manager, stage 2 resolves; stage 1 still names only her.
    let boss = t.person("boss").await;
    t.set_manager(alice, boss.id).await;
    let (s, r) = t.ask(&token, "userAdd", &p, None, json!({})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{r}");
    let message = r["error"]["details"][0]["message"].as_str().unwrap();
    assert!(message.contains("stage 1 of"), "{message}");
}

#[tokio::test]
async fn escalation_approvers_join_after_the_duration() {
    let t = TestApp::new().await;
    let boss = t.person("boss").await;
    let deputy = t.person("deputy").await;
    let (alice, token, group, p) = setup(&t, json!({})).await;
    t.set_manager(alice, boss.id).await;
    let (s, b) = t
        .patch(
            &em(&format!("/assignmentPolicies/{}", p.policy)),
            BOOTSTRAP,
            approval(vec![stage(
                vec![manager(1)],
                json!({ "isEscalationEnabled": true, "durationBeforeEscalation": "PT4H",
                        "escalationApprovers": [single(deputy.id)] }),
            )]),
        )
        .await;
    assert!(s.is_success(), "{b}");
    let id = ask(&t, &token, &p).await;
    let (s, b) = t.decide(&deputy.token, &id, 0, "Approve").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    t.clock.advance(TimeDelta::hours(4));
    t.step_up(&deputy).await;
    let (s, b) = t.decide(&deputy.token, &id, 0, "Approve").await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    assert_eq!(t.members(group).await, [alice]);
}

#[tokio::test]
async fn an_approver_needs_a_fresh_second_factor_and_the_requestor_never_approves() {
    let t = TestApp::new().await;
    let boss = t.user("boss").await;
    let boss_token = t.sign_in("boss").await;
    let (alice, _token, group, p) = setup(&t, json!({})).await;
    t.set_manager(alice, boss).await;
    // A second approver, so that the request filed by the manager can be decided by someone.
    let deputy = t.user("deputy").await;
    let (s, b) = t
        .patch(
            &em(&format!("/assignmentPolicies/{}", p.policy)),
            BOOTSTRAP,
            json!({ "requestorSettings": { "enableTargetsToSelfAddAccess": true,
                                            "enableOnBehalfRequestorsToAddAccess": true,
                                            "onBehalfRequestors": [manager(1)] },
                    "requestApprovalSettings": { "isApprovalRequiredForAdd": true,
                        "stages": [stage(vec![manager(1), single(deputy)], json!({}))] } }),
        )
        .await;
    assert!(s.is_success(), "{b}");
    // The manager asks for their report: they filed it, so they do not approve it.
    let (s, r) = t
        .ask(&boss_token, "onBehalfAdd", &p, Some(alice), json!({}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let id = r["id"].as_str().unwrap().to_string();
    let (s, b) = t.decide(&boss_token, &id, 0, "Approve").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert!(t.members(group).await.is_empty());
    // Someone else asks instead: the manager, password only, is refused (audited).
    let (s, _) = t
        .post(
            &em(&format!("{REQUESTS}/{id}/cancel")),
            &boss_token,
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let alice_token = t.sign_in("alice").await;
    let id = ask(&t, &alice_token, &p).await;
    let (s, b) = t.decide(&boss_token, &id, 0, "Approve").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert!(t.members(group).await.is_empty());
    assert_eq!(t.request_state(&id).await["state"], "pendingApproval");
}

#[tokio::test]
async fn approval_decides_again_and_refuses_a_conflict_acquired_meanwhile() {
    let t = TestApp::new().await;
    let boss = t.person("boss").await;
    let (alice, token, officers, officer) =
        setup(&t, approval(vec![stage(vec![manager(1)], json!({}))])).await;
    t.set_manager(alice, boss.id).await;
    let helpdesk_group = t.group("Help desk").await;
    let helpdesk = t
        .group_package(
            officer.catalog,
            "Help Desk Technician",
            helpdesk_group,
            json!({}),
        )
        .await;
    let (s, b) = t
        .post(
            &em(&format!(
                "/accessPackages/{}/incompatibleAccessPackages/$ref",
                officer.package
            )),
            BOOTSTRAP,
            json!({ "@odata.id": format!("https://graph.microsoft.com/v1.0/identityGovernance/entitlementManagement/accessPackages/{}", helpdesk.package) }),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let id = ask(&t, &token, &officer).await;
    let (s, r) = t.ask(&token, "userAdd", &helpdesk, None, json!({})).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let (s, b) = t.decide(&boss.token, &id, 0, "Approve").await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let r = t.request_state(&id).await;
    assert_eq!(r["state"], "denied", "{r}");
    let status = r["status"].as_str().unwrap();
    assert!(
        status.contains("IncompatibleAccessPackage") && status.contains("Help Desk Technician"),
        "{r}"
    );
    assert!(t.members(officers).await.is_empty());
}

#[tokio::test]
async fn two_approvers_at_once_deliver_exactly_once() {
    let t = TestApp::new().await;
    let one = t.person("one").await;
    let two = t.person("two").await;
    let (alice, token, group, p) = setup(&t, json!({})).await;
    let (s, b) = t
        .patch(
            &em(&format!("/assignmentPolicies/{}", p.policy)),
            BOOTSTRAP,
            approval(vec![stage(vec![single(one.id), single(two.id)], json!({}))]),
        )
        .await;
    assert!(s.is_success(), "{b}");
    let id = ask(&t, &token, &p).await;
    let (a, b) = tokio::join!(
        t.decide(&one.token, &id, 0, "Approve"),
        t.decide(&two.token, &id, 0, "Approve")
    );
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::NO_CONTENT, StatusCode::CONFLICT],
        "{a:?} {b:?}"
    );
    assert_eq!(t.members(group).await, [alice]);
    let (s, all) = t
        .get(
            &em(&format!(
                "/assignments?$filter=accessPackage/id eq '{}'",
                p.package
            )),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{all}");
    assert_eq!(all["value"].as_array().unwrap().len(), 1, "{all}");
}

#[tokio::test]
async fn an_undecided_stage_times_out_on_the_scheduler_once_even_across_a_restart() {
    let t = TestApp::new().await;
    let boss = t.person("boss").await;
    let (alice, token, group, p) = setup(
        &t,
        approval(vec![stage(
            vec![manager(1)],
            json!({ "durationBeforeAutomaticDenial": "PT12H" }),
        )]),
    )
    .await;
    t.set_manager(alice, boss.id).await;
    let id = ask(&t, &token, &p).await;
    let run = || eligo::service::pim::scheduler::run_due(&t.app);
    t.clock.advance(TimeDelta::hours(11));
    assert_eq!(run().await.unwrap().timed_out_package_requests, 0);
    assert_eq!(t.request_state(&id).await["state"], "pendingApproval");
    // Down past the deadline: the restarted server denies it, once.
    let later = t.restarted(t.clock.now_utc() + TimeDelta::hours(2)).await;
    let run = || eligo::service::pim::scheduler::run_due(&later.app);
    assert_eq!(run().await.unwrap().timed_out_package_requests, 1);
    assert_eq!(run().await.unwrap().timed_out_package_requests, 0);
    let r = later.request_state(&id).await;
    assert_eq!(r["state"], "denied", "{r}");
    assert_eq!(r["status"], "TimedOut", "{r}");
    let (_, a) = later.approval_of(BOOTSTRAP, &id).await;
    assert_eq!(a["stages"][0]["status"], "Expired", "{a}");
    assert!(later.members(group).await.is_empty());
    // Too late to approve.
    t.clock.set(later.clock.now_utc());
    let boss_now = t.sign_in("boss").await;
    let (s, b) = t.decide(&boss_now, &id, 0, "Approve").await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert_eq!(
        later
            .audited_as("Access package assignment request timed out")
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn past_its_deadline_a_stage_is_not_approved_before_the_scheduler_runs() {
    let t = TestApp::new().await;
    let boss = t.person("boss").await;
    let (alice, token, group, p) = setup(
        &t,
        approval(vec![stage(
            vec![manager(1)],
            json!({ "durationBeforeAutomaticDenial": "PT1H" }),
        )]),
    )
    .await;
    t.set_manager(alice, boss.id).await;
    let id = ask(&t, &token, &p).await;
    t.clock.advance(TimeDelta::hours(2));
    t.step_up(&boss).await;
    let (s, b) = t.decide(&boss.token, &id, 0, "Approve").await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert_eq!(code(&b), "ApprovalExpired");
    assert!(t.members(group).await.is_empty());
}

#[tokio::test]
async fn approve_and_cancel_at_once_one_wins_and_the_other_is_a_conflict() {
    let t = TestApp::new().await;
    let boss = t.person("boss").await;
    let (alice, token, group, p) =
        setup(&t, approval(vec![stage(vec![manager(1)], json!({}))])).await;
    t.set_manager(alice, boss.id).await;
    let id = ask(&t, &token, &p).await;
    let cancel = em(&format!("{REQUESTS}/{id}/cancel"));
    let (approved, canceled) = tokio::join!(
        t.decide(&boss.token, &id, 0, "Approve"),
        t.post(&cancel, &token, json!({}))
    );
    let state = t.request_state(&id).await;
    match state["state"].as_str().unwrap() {
        "delivered" => {
            assert_eq!(approved.0, StatusCode::NO_CONTENT, "{approved:?}");
            assert_eq!(canceled.0, StatusCode::CONFLICT, "{canceled:?}");
            assert_eq!(t.members(group).await, [alice]);
        }
        "canceled" => {
            assert_eq!(canceled.0, StatusCode::NO_CONTENT, "{canceled:?}");
            assert_eq!(approved.0, StatusCode::CONFLICT, "{approved:?}");
            assert!(t.members(group).await.is_empty());
        }
        other => panic!("unexpected state {other}: {state}"),
    }
}

#[tokio::test]
async fn group_members_approve_through_nesting_the_second_manager_too_and_justification_is_enforced()
 {
    let t = TestApp::new().await;
    let nested = t.person("nested").await;
    let grand = t.person("grand").await;
    let boss = t.user("boss").await;
    let approvers = t.group("Approvers").await;
    let inner = t.group("Inner approvers").await;
    t.add_member(approvers, inner).await;
    t.add_member(inner, nested.id).await;
    let (alice, token, group, p) = setup(
        &t,
        approval(vec![
            stage(
                vec![
                    json!({ "@odata.type": "#microsoft.graph.groupMembers", "groupId": approvers }),
                ],
                json!({ "isApproverJustificationRequired": true }),
            ),
            stage(vec![manager(2)], json!({})),
        ]),
    )
    .await;
    t.set_manager(alice, boss).await;
    t.set_manager(boss, grand.id).await;
    let id = ask(&t, &token, &p).await;
    let (_, a) = t.approval_of(BOOTSTRAP, &id).await;
    let stage0 = a["stages"][0]["id"].as_str().unwrap().to_string();
    let (s, b) = t
        .patch(
            &em(&format!("{APPROVALS}/{id}/stages/{stage0}")),
            &nested.token,
            json!({ "reviewResult": "Approve" }),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(code(&b), "ApproverJustificationRequired");
    let (s, b) = t.decide(&nested.token, &id, 0, "Approve").await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let (s, b) = t.decide(&grand.token, &id, 1, "Approve").await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    assert_eq!(t.members(group).await, [alice]);
}

#[tokio::test]
async fn someone_who_is_not_an_approver_is_refused_and_audited() {
    let t = TestApp::new().await;
    let boss = t.person("boss").await;
    let other = t.person("other").await;
    let (alice, token, group, p) =
        setup(&t, approval(vec![stage(vec![manager(1)], json!({}))])).await;
    t.set_manager(alice, boss.id).await;
    let id = ask(&t, &token, &p).await;
    // Someone with no part in it does not learn that the approval exists.
    let (s, _) = t.approval_of(&other.token, &id).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // An entitlement reader sees it but is no approver of it: 403, audited as a failure.
    let (s, b) = t.decide(BOOTSTRAP, &id, 0, "Approve").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    let entries = t
        .audited_as("Review access package assignment request")
        .await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["result"], "failure", "{}", entries[0]);
    assert!(t.members(group).await.is_empty());
}
