//! Assignment requests delivered and taken back: the group membership appears at once (members
//! and the audit log), the holder removes it, what someone else gave survives, two packages
//! giving the same group keep it until the last goes, expiry on the scheduler (once, across a
//! restart), a directory role package yields an eligibility its holder activates, reprocess
//! repairs, and a package with live assignments is not deleted.

use axum::http::StatusCode;
use chrono::TimeDelta;
use eligo_core::roles::ids;
use serde_json::json;
use uuid::Uuid;

use super::support::*;
use crate::harness::*;

async fn setup(t: &TestApp) -> (Uuid, GroupPackage) {
    let group = t.group("IRM Admins").await;
    let catalog = t.catalog(BOOTSTRAP, "Compliance").await;
    let p = t
        .group_package(catalog, "Insider Risk Management", group, json!({}))
        .await;
    (group, p)
}

#[tokio::test]
async fn a_request_delivers_membership_at_once_and_the_holder_removes_it() {
    let t = TestApp::new().await;
    let alice = t.user("alice").await;
    let token = t.sign_in("alice").await;
    let (group, p) = setup(&t).await;

    let (s, r) = t.ask(&token, "UserAdd", &p, None, json!({})).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    assert_eq!(r["state"], "delivered", "{r}");
    assert_eq!(r["status"], "Delivered");
    assert_eq!(r["requestType"], "userAdd");
    assert_eq!(t.members(group).await, [alice]);
    let added = t.audited_as("Add member to group").await;
    assert_eq!(added.len(), 1, "{added:?}");
    assert_eq!(
        t.audited_as("Fulfill access package assignment request")
            .await
            .len(),
        1
    );

    let assignment = assignment_of(&r);
    let a = t.assignment(assignment).await;
    assert_eq!(a["state"], "delivered", "{a}");
    assert_eq!(a["target"]["objectId"], json!(alice));
    assert_eq!(a["target"]["displayName"], "alice");
    assert_eq!(a["accessPackage"]["id"], json!(p.package));
    let end = (t.clock.now_utc() + TimeDelta::days(30))
        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
    assert_eq!(
        a["schedule"]["expiration"]["endDateTime"].as_str().unwrap()[..19],
        end[..19]
    );

    // The person reads their own requests and assignments, expanded.
    let (s, mine) = t
        .get(
            &em("/assignmentRequests/filterByCurrentUser(on='target')"),
            &token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{mine}");
    assert_eq!(mine["value"].as_array().unwrap().len(), 1);
    let (s, one) = t
        .get(
            &em(&format!(
                "/assignmentRequests/{}?$expand=requestor,accessPackage,assignment",
                r["id"].as_str().unwrap()
            )),
            &token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{one}");
    assert_eq!(one["requestor"]["displayName"], "alice");
    assert_eq!(
        one["accessPackage"]["displayName"],
        "Insider Risk Management"
    );
    assert_eq!(one["assignment"]["state"], "delivered");
    let (_, held) = t
        .get(&em("/assignments/filterByCurrentUser(on='target')"), &token)
        .await;
    assert_eq!(held["value"][0]["id"], json!(assignment));
    let (_, filtered) = t
        .get(
            &em(&format!(
                "/assignments?$filter=accessPackage/id eq '{}' and state eq 'Delivered'",
                p.package
            )),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(filtered["value"].as_array().unwrap().len(), 1, "{filtered}");

    // Asking again is a duplicate; a removal takes it away.
    let (s, again) = t.ask(&token, "userAdd", &p, None, json!({})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{again}");
    assert_eq!(detail_codes(&again), ["AssignmentExists"]);
    let (s, removed) = t.remove_assignment(&token, "UserRemove", assignment).await;
    assert_eq!(s, StatusCode::CREATED, "{removed}");
    assert_eq!(removed["requestType"], "userRemove");
    assert_eq!(removed["state"], "delivered");
    assert_eq!(removed["status"], "Delivered");
    assert!(t.members(group).await.is_empty());
    let gone = t.assignment(assignment).await;
    assert_eq!(gone["state"], "expired", "{gone}");
    assert_eq!(gone["status"], "Removed");
    assert!(gone["expiredDateTime"].is_string());
    assert_eq!(t.audited_as("Remove member from group").await.len(), 1);
    assert_eq!(
        t.audited_as("Remove access package assignment").await.len(),
        1
    );
    let (s, twice) = t.remove_assignment(&token, "userRemove", assignment).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{twice}");
    assert_eq!(detail_codes(&twice), ["UnknownAssignment"]);
}

#[tokio::test]
async fn removal_never_takes_what_someone_else_gave() {
    let t = TestApp::new().await;
    let alice = t.user("alice").await;
    let bob = t.user("bob").await;
    let alice_token = t.sign_in("alice").await;
    let bob_token = t.sign_in("bob").await;
    let (group, p) = setup(&t).await;
    let other = t
        .group_package(p.catalog, "Also IRM", group, json!({}))
        .await;

    // Alice was a member before: her package's removal leaves her there.
    t.add_member(group, alice).await;
    let (s, r) = t.ask(&alice_token, "userAdd", &p, None, json!({})).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let (s, _) = t
        .remove_assignment(&alice_token, "userRemove", assignment_of(&r))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(
        t.members(group).await,
        [alice],
        "the direct membership survives"
    );

    // Bob holds two packages giving the group: the first removal keeps him in, the last not.
    let (_, first) = t.ask(&bob_token, "userAdd", &p, None, json!({})).await;
    let (s, second) = t.ask(&bob_token, "userAdd", &other, None, json!({})).await;
    assert_eq!(s, StatusCode::CREATED, "{second}");
    let mut members = t.members(group).await;
    members.sort();
    let mut both = vec![alice, bob];
    both.sort();
    assert_eq!(members, both);
    t.remove_assignment(&bob_token, "userRemove", assignment_of(&first))
        .await;
    assert!(
        t.members(group).await.contains(&bob),
        "the other package still gives it"
    );
    t.remove_assignment(&bob_token, "userRemove", assignment_of(&second))
        .await;
    assert_eq!(t.members(group).await, [alice]);

    // A user cannot remove another's assignment, nor read it.
    let (_, again) = t.ask(&bob_token, "userAdd", &p, None, json!({})).await;
    let bobs = assignment_of(&again);
    let (s, refused) = t.remove_assignment(&alice_token, "userRemove", bobs).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(detail_codes(&refused), ["NotAllowedRequestor"]);
    let (s, _) = t.remove_assignment(&alice_token, "adminRemove", bobs).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = t
        .get(&em(&format!("/assignments/{bobs}")), &alice_token)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(t.members(group).await.contains(&bob));
    assert_eq!(t.assignment(bobs).await["state"], "delivered");
}

#[tokio::test]
async fn assignments_expire_on_the_scheduler_once_even_across_a_restart() {
    expiry(TestApp::new().await).await;
}

#[tokio::test]
async fn assignments_expire_once_on_postgresql_too() {
    if let Some(t) = TestApp::postgres().await {
        expiry(t).await;
    }
}

async fn expiry(t: TestApp) {
    let alice = t.user("alice").await;
    let bob = t.user("bob").await;
    let group = t.group("IRM Admins").await;
    let catalog = t.catalog(BOOTSTRAP, "Compliance").await;
    let p = t
        .group_package(
            catalog,
            "One hour",
            group,
            json!({ "expiration": { "type": "afterDuration", "duration": "PT1H" } }),
        )
        .await;
    let (_, r) = t
        .ask(&t.sign_in("alice").await, "userAdd", &p, None, json!({}))
        .await;
    let assignment = assignment_of(&r);
    assert_eq!(t.members(group).await, [alice]);

    assert_eq!(
        t.tick(TimeDelta::minutes(59)).await.expired_assignments,
        0,
        "not yet"
    );
    let pass = t.tick(TimeDelta::minutes(1)).await;
    assert_eq!(pass.expired_assignments, 1);
    assert!(t.members(group).await.is_empty());
    let a = t.assignment(assignment).await;
    assert_eq!(a["state"], "expired", "{a}");
    assert_eq!(a["status"], "Expired");
    assert_eq!(
        t.tick(TimeDelta::minutes(1)).await.expired_assignments,
        0,
        "never twice"
    );
    assert_eq!(
        t.audited_as("Remove access package assignment (expired)")
            .await
            .len(),
        1
    );
    let (_, requests) = t.get(&em(REQUESTS), BOOTSTRAP).await;
    assert_eq!(
        requests["value"][0]["requestType"], "systemRemove",
        "{requests}"
    );

    // Granted, then the server is down past the end: the restarted one removes it, once.
    let (_, r) = t
        .ask(&t.sign_in("bob").await, "userAdd", &p, None, json!({}))
        .await;
    assert_eq!(r["state"], "delivered", "{r}");
    assert_eq!(t.members(group).await, [bob]);
    let later = t.restarted(t.clock.now_utc() + TimeDelta::hours(2)).await;
    let run = || eligo::service::pim::scheduler::run_due(&later.app);
    assert_eq!(run().await.unwrap().expired_assignments, 1);
    assert_eq!(run().await.unwrap().expired_assignments, 0);
    assert!(later.members(group).await.is_empty());
    assert_eq!(
        later
            .audited_as("Remove access package assignment (expired)")
            .await
            .len(),
        2
    );
}

#[tokio::test]
async fn a_role_package_gives_an_eligibility_its_holder_activates() {
    let t = TestApp::new().await;
    let role = ids::HELPDESK_ADMINISTRATOR;
    let dana = t.person("dana").await;
    let catalog = t.catalog(BOOTSTRAP, "Support").await;
    let package = t.package(BOOTSTRAP, catalog, "Helpdesk on demand").await;
    t.add_role_scope(catalog, package, role, "DirectoryRole", "Eligible")
        .await;
    let policy = t.policy(BOOTSTRAP, package, open_policy(json!({}))).await;
    let p = GroupPackage {
        catalog,
        package,
        policy: id_of(&policy),
    };
    let (s, r) = t.ask(&dana.token, "userAdd", &p, None, json!({})).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    assert_eq!(r["state"], "delivered", "{r}");

    t.step_up(&dana).await;
    let (s, body) = t.activate(&dana, role, "PT1H", json!({})).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(t.active_roles(&dana.token).await, [role]);

    // The package's removal ends the eligibility and what was activated from it.
    let (s, removed) = t
        .remove_assignment(BOOTSTRAP, "AdminRemove", assignment_of(&r))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{removed}");
    assert!(t.active_roles(&dana.token).await.is_empty());
    let (s, again) = t.activate(&dana, role, "PT1H", json!({})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{again}");
}

#[tokio::test]
async fn administrators_assign_reprocess_and_cannot_delete_a_package_in_use() {
    let t = TestApp::new().await;
    let bob = t.user("bob").await;
    let group = t.group("Auditors").await;
    let catalog = t.catalog(BOOTSTRAP, "Audit").await;
    let p = t
        .group_package(
            catalog,
            "Auditors",
            group,
            json!({ "allowedTargetScope": "notSpecified", "requestorSettings": {} }),
        )
        .await;
    let (s, r) = t.ask(BOOTSTRAP, "AdminAdd", &p, Some(bob), json!({})).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    assert_eq!(t.members(group).await, [bob]);
    let assignment = assignment_of(&r);

    // Someone took the membership away by hand: reprocess puts it back.
    let (s, _) = t
        .delete(&format!("/v1/groups/{group}/members/{bob}/$ref"), BOOTSTRAP)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, b) = t
        .post(
            &em(&format!("/assignments/{assignment}/reprocess")),
            BOOTSTRAP,
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    assert_eq!(t.members(group).await, [bob]);
    let (s, _) = t
        .post(
            &em(&format!(
                "/assignmentRequests/{}/reprocess",
                r["id"].as_str().unwrap()
            )),
            BOOTSTRAP,
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    assert_eq!(t.members(group).await, [bob], "idempotent");

    let (s, refused) = t
        .delete(&em(&format!("/accessPackages/{}", p.package)), BOOTSTRAP)
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{refused}");
    assert_eq!(code(&refused), "AccessPackageHasAssignments");
    t.remove_assignment(BOOTSTRAP, "adminRemove", assignment)
        .await;
    let (s, _) = t
        .delete(&em(&format!("/accessPackages/{}", p.package)), BOOTSTRAP)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_request_needing_approval_waits_and_its_requestor_cancels_it() {
    let t = TestApp::new().await;
    let alice = t.user("alice").await;
    let boss = t.user("boss").await;
    t.set_manager(alice, boss).await;
    let token = t.sign_in("alice").await;
    let group = t.group("IRM Admins").await;
    let catalog = t.catalog(BOOTSTRAP, "Compliance").await;
    let p = t
        .group_package(
            catalog,
            "Approved",
            group,
            json!({ "requestApprovalSettings": { "isApprovalRequiredForAdd": true, "stages": [{
                "durationBeforeAutomaticDenial": "P2D",
                "primaryApprovers": [{ "@odata.type": "#microsoft.graph.requestorManager", "managerLevel": 1 }] }] } }),
        )
        .await;
    let (s, r) = t.ask(&token, "userAdd", &p, None, json!({})).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    assert_eq!(r["state"], "pendingApproval");
    assert_eq!(r["assignment"], json!(null));
    assert!(t.members(group).await.is_empty());
    let (s, again) = t.ask(&token, "userAdd", &p, None, json!({})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(detail_codes(&again), ["PendingRequestExists"]);
    let id = r["id"].as_str().unwrap();
    let (s, _) = t
        .post(
            &em(&format!("/assignmentRequests/{id}/cancel")),
            &token,
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, b) = t
        .post(
            &em(&format!("/assignmentRequests/{id}/cancel")),
            &token,
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    let (_, read) = t
        .get(&em(&format!("/assignmentRequests/{id}")), &token)
        .await;
    assert_eq!(read["state"], "canceled");
}

#[tokio::test]
async fn holders_extend_within_the_policy_and_managers_ask_for_their_reports() {
    let t = TestApp::new().await;
    let alice = t.user("alice").await;
    let boss = t.user("boss").await;
    t.set_manager(alice, boss).await;
    let token = t.sign_in("alice").await;
    let boss_token = t.sign_in("boss").await;
    let group = t.group("IRM Admins").await;
    let catalog = t.catalog(BOOTSTRAP, "Compliance").await;
    let p = t
        .group_package(
            catalog,
            "A day at most",
            group,
            json!({ "expiration": { "type": "afterDuration", "duration": "P1D" },
                    "requestorSettings": { "enableTargetsToSelfAddAccess": true, "enableTargetsToSelfUpdateAccess": true,
                        "allowCustomAssignmentSchedule": true, "enableOnBehalfRequestorsToAddAccess": true,
                        "onBehalfRequestors": [{ "@odata.type": "#microsoft.graph.requestorManager", "managerLevel": 1 }] } }),
        )
        .await;
    let two_hours =
        json!({ "schedule": { "expiration": { "type": "afterDuration", "duration": "PT2H" } } });
    // The manager asks for Alice; she is not theirs to ask for themselves.
    let (s, r) = t
        .ask(
            &boss_token,
            "OnBehalfAdd",
            &p,
            Some(alice),
            two_hours.clone(),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    assert_eq!(t.members(group).await, [alice]);
    let (s, refused) = t
        .ask(&token, "onBehalfAdd", &p, Some(boss), json!({}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(detail_codes(&refused), ["NotAllowedRequestor"]);
    let (_, made) = t
        .get(
            &em("/assignmentRequests/filterByCurrentUser(on='createdBy')"),
            &boss_token,
        )
        .await;
    assert_eq!(made["value"].as_array().unwrap().len(), 1, "{made}");

    // Alice extends to the policy's limit, not beyond; her access stays as it was meanwhile.
    let assignment = assignment_of(&r);
    let update = |duration: &str| {
        json!({ "requestType": "userUpdate", "assignment": { "id": assignment },
                "schedule": { "expiration": { "type": "afterDuration", "duration": duration } } })
    };
    let (s, refused) = t.post(&em(REQUESTS), &token, update("P2D")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(detail_codes(&refused), ["ExpirationRule"]);
    let (s, ok) = t.post(&em(REQUESTS), &token, update("PT20H")).await;
    assert_eq!(s, StatusCode::CREATED, "{ok}");
    assert_eq!(ok["state"], "delivered", "{ok}");
    assert_eq!(assignment_of(&ok), assignment);
    assert_eq!(
        t.tick(TimeDelta::hours(3)).await.expired_assignments,
        0,
        "extended"
    );
    assert_eq!(t.members(group).await, [alice]);
    assert_eq!(t.tick(TimeDelta::hours(17)).await.expired_assignments, 1);
    assert!(t.members(group).await.is_empty());
}

#[tokio::test]
async fn a_delivered_membership_is_pushed_downstream_through_the_outbox() {
    use crate::provisioning::{connector, jobs, map};
    let t = TestApp::new().await;
    t.user("alice").await;
    let token = t.sign_in("alice").await;
    let (group, p) = setup(&t).await;
    let ldap = connector(
        &t,
        "ldap",
        json!({ "url": "ldap://127.0.0.1:9", "bindDn": "cn=admin,dc=example,dc=org",
                "bindPassword": "secret", "userBaseDn": "ou=people,dc=example,dc=org" }),
    )
    .await;
    map(&t, group, ldap, "cn=irm,ou=groups,dc=example,dc=org").await;
    let before = jobs(&t, "pending").await.len();
    let (s, r) = t.ask(&token, "userAdd", &p, None, json!({})).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let queued = jobs(&t, "pending").await;
    assert!(
        queued.len() > before,
        "the delivery queued the push: {queued:?}"
    );
}

#[tokio::test]
async fn two_requests_at_once_make_one_assignment() {
    let t = TestApp::new().await;
    let alice = t.user("alice").await;
    let token = t.sign_in("alice").await;
    let (group, p) = setup(&t).await;
    let (first, second) = tokio::join!(
        t.ask(&token, "userAdd", &p, None, json!({})),
        t.ask(&token, "userAdd", &p, None, json!({}))
    );
    let mut statuses = [first.0, second.0];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::CREATED, StatusCode::BAD_REQUEST],
        "{first:?} {second:?}"
    );
    let refused = if first.0 == StatusCode::CREATED {
        &second.1
    } else {
        &first.1
    };
    assert_eq!(
        refused["error"]["details"][0]["code"], "AssignmentExists",
        "{refused}"
    );
    assert_eq!(t.members(group).await, [alice]);
    let (s, mine) = t
        .get(&em("/assignments/filterByCurrentUser(on='target')"), &token)
        .await;
    assert_eq!(s, StatusCode::OK, "{mine}");
    assert_eq!(mine["value"].as_array().unwrap().len(), 1, "{mine}");
}

/// An update stays under the assignment's own policy: naming another policy of the same
/// package (a longer duration, approval to add but none to extend) is refused with
/// `PolicyMismatch` and changes nothing; the assignment keeps its policy and its end.
#[tokio::test]
async fn an_update_naming_another_policy_is_refused_and_moves_nothing() {
    let t = TestApp::new().await;
    let alice = t.user("alice").await;
    let boss = t.user("boss").await;
    let token = t.sign_in("alice").await;
    let group = t.group("IRM Admins").await;
    let catalog = t.catalog(BOOTSTRAP, "Compliance").await;
    // P1: self-service for a week, no approval.
    let p1 = t
        .group_package(
            catalog,
            "Insider Risk Management",
            group,
            json!({ "displayName": "A week", "expiration": { "type": "afterDuration", "duration": "P7D" } }),
        )
        .await;
    // P2: a year, approval to add, extended by the holder without approval.
    let p2 = id_of(
        &t.policy(
            BOOTSTRAP,
            p1.package,
            json!({ "displayName": "A year, approved",
                "allowedTargetScope": "allMemberUsers",
                "expiration": { "type": "afterDuration", "duration": "P365D" },
                "requestorSettings": { "enableTargetsToSelfAddAccess": true,
                    "enableTargetsToSelfUpdateAccess": true, "allowCustomAssignmentSchedule": true },
                "requestApprovalSettings": { "isApprovalRequiredForAdd": true,
                    "isApprovalRequiredForUpdate": false, "stages": [
                    { "durationBeforeAutomaticDenial": "P2D", "primaryApprovers": [
                        { "@odata.type": "#microsoft.graph.singleUser", "userId": boss }] }] } }),
        )
        .await,
    );
    let (s, r) = t.ask(&token, "userAdd", &p1, None, json!({})).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    assert_eq!(r["state"], "delivered", "{r}");
    let assignment = assignment_of(&r);
    let before = t.assignment(assignment).await;
    assert_eq!(before["assignmentPolicy"]["id"], json!(p1.policy));
    let week_end = before["schedule"]["expiration"]["endDateTime"].clone();
    assert!(week_end.is_string(), "{before}");

    // Alice names P2 in her extension; an administrator's update naming it is refused too.
    let naming_p2 = |kind: &str| {
        json!({ "requestType": kind, "justification": "longer",
                "assignment": { "id": assignment, "assignmentPolicyId": p2 } })
    };
    let (s, refused) = t.post(&em(REQUESTS), &token, naming_p2("userUpdate")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(detail_codes(&refused), ["PolicyMismatch"], "{refused}");
    let (s, refused) = t
        .post(&em(REQUESTS), BOOTSTRAP, naming_p2("adminUpdate"))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(detail_codes(&refused), ["PolicyMismatch"], "{refused}");
    let after = t.assignment(assignment).await;
    assert_eq!(after["assignmentPolicy"]["id"], json!(p1.policy), "{after}");
    assert_eq!(after["schedule"]["expiration"]["endDateTime"], week_end);
    let (_, mine) = t
        .get(
            &em("/assignmentRequests/filterByCurrentUser(on='createdBy')"),
            &token,
        )
        .await;
    assert_eq!(
        mine["value"].as_array().unwrap().len(),
        1,
        "no request kept: {mine}"
    );

    // Her own policy, named, extends by its week from now.
    t.clock.advance(TimeDelta::hours(1));
    let (s, ok) = t
        .post(
            &em(REQUESTS),
            &token,
            json!({ "requestType": "userUpdate",
                    "assignment": { "id": assignment, "assignmentPolicyId": p1.policy } }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{ok}");
    assert_eq!(ok["state"], "delivered", "{ok}");
    let extended = t.assignment(assignment).await;
    assert_eq!(extended["assignmentPolicy"]["id"], json!(p1.policy));
    assert_ne!(extended["schedule"]["expiration"]["endDateTime"], week_end);
    assert_eq!(t.members(group).await, [alice]);
}
