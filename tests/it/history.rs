//! Sign-in and activation history (issue 17): a successful sign-in is recorded with the
//! clock's time and a refused one records nothing; activations of a role and of a group
//! membership are recorded when granted (at once, or at the approval); the reads reviews and
//! alerts make (last activation, counts in `[from, to)`, the bulk forms); and Graph's
//! `signInActivity` on users, answered only to callers who may read the audit log.

use axum::http::{Method, StatusCode};
use chrono::TimeDelta;
use eligo::service::history;
use eligo_core::roles::ids;
use eligo_core::target::{GroupAccess, Target};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::access::new_group;
use crate::harness::*;

const ROLE: &str = ids::SECURITY_ADMINISTRATOR;

fn role_target() -> Target {
    Target::Role {
        role: Uuid::parse_str(ROLE).unwrap(),
        scope: "/".into(),
    }
}

async fn sign_in_activity(t: &TestApp, user: Uuid) -> Value {
    let (status, body) = t
        .get(
            &format!("/v1/users/{user}?$select=signInActivity"),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["signInActivity"].clone()
}

#[tokio::test]
async fn a_sign_in_is_recorded_with_the_clock_and_a_refused_one_is_not() {
    let t = TestApp::new().await;
    let ada = t.user("ada").await;
    assert_eq!(
        sign_in_activity(&t, ada).await,
        json!({ "lastSignInDateTime": null, "lastNonInteractiveSignInDateTime": null })
    );

    // A wrong password records nothing.
    let (status, _) = t
        .call(
            Method::POST,
            "/v1/auth/token",
            None,
            Some(json!({ "username": "ada@contoso.example", "password": "not the password" })),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        sign_in_activity(&t, ada).await["lastSignInDateTime"],
        Value::Null
    );

    t.clock.advance(TimeDelta::minutes(5));
    let first = t.clock.now_utc();
    t.password_sign_in("ada").await;
    assert_eq!(
        sign_in_activity(&t, ada).await,
        json!({ "lastSignInDateTime": first, "lastNonInteractiveSignInDateTime": null })
    );
    t.clock.advance(TimeDelta::hours(3));
    let second = t.clock.now_utc();
    t.password_sign_in("ada").await;
    // A later wrong password leaves the last successful one.
    t.clock.advance(TimeDelta::hours(1));
    let (status, _) = t
        .call(
            Method::POST,
            "/v1/auth/token",
            None,
            Some(json!({ "username": "ada@contoso.example", "password": "wrong again" })),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        sign_in_activity(&t, ada).await["lastSignInDateTime"],
        json!(second)
    );

    // A service principal's client credentials are a non-interactive sign-in.
    let (status, sp) = t
        .post(
            "/v1/servicePrincipals",
            BOOTSTRAP,
            json!({ "displayName": "Deploy pipeline" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{sp}");
    let sp_id = id_of(&sp);
    let (status, _) = t
        .call(
            Method::POST,
            "/v1/auth/token",
            None,
            Some(json!({ "clientId": sp["appId"], "clientSecret": "wrong" })),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let h = history::for_system(&t.app);
    assert_eq!(h.last_sign_in(sp_id).await.unwrap(), Default::default());
    let (status, body) = t
        .call(
            Method::POST,
            "/v1/auth/token",
            None,
            Some(json!({ "clientId": sp["appId"], "clientSecret": sp["secret"] })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let robot = h.last_sign_in(sp_id).await.unwrap();
    assert_eq!(robot.last_interactive, None);
    assert_eq!(robot.last_non_interactive, Some(t.clock.now_utc()));
    let all = h.all_last_sign_ins().await.unwrap();
    assert_eq!(all[&ada].last_interactive, Some(second));
    assert_eq!(all[&sp_id], robot);
}

#[tokio::test]
async fn activations_of_a_role_and_of_a_group_membership_are_recorded_and_counted() {
    let t = TestApp::new().await;
    let p = t.person("pat").await;
    t.make_eligible(p.id, ROLE).await;
    let group = new_group(&t, "Prod operators", false).await;
    let (status, body) = t
        .post(
            "/v1/identityGovernance/privilegedAccess/group/eligibilityScheduleRequests",
            BOOTSTRAP,
            json!({ "action": "adminAssign", "principalId": p.id, "groupId": group,
                    "accessId": "member", "justification": "on-call rota",
                    "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "P30D" } } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let member = Target::Group {
        group,
        access: GroupAccess::Member,
    };
    let h = history::for_system(&t.app);
    assert_eq!(h.last_activation(p.id, &role_target()).await.unwrap(), None);

    // A refused activation (no justification) records nothing.
    t.step_up(&p).await;
    let (status, body) = t
        .activate(&p, ROLE, "PT1H", json!({ "justification": null }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(h.last_activation(p.id, &role_target()).await.unwrap(), None);

    // Three activations of the role, a day apart (each on a fresh session); one of the
    // membership.
    let start = t.clock.now_utc();
    let mut times = Vec::new();
    let mut p = p;
    for _ in 0..3 {
        p = Person {
            token: t.sign_in("pat").await,
            ..p
        };
        let (status, body) = t.activate(&p, ROLE, "PT1H", json!({})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["status"], "Provisioned", "{body}");
        times.push(t.clock.now_utc());
        t.tick(TimeDelta::days(1)).await;
    }
    let p = Person {
        token: t.sign_in("pat").await,
        ..p
    };
    let (status, body) = t
        .post(
            "/v1/identityGovernance/privilegedAccess/group/assignmentScheduleRequests",
            &p.token,
            json!({ "action": "selfActivate", "principalId": p.id, "groupId": group,
                    "accessId": "member", "justification": "deploying the hotfix",
                    "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "PT2H" } } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let member_at = t.clock.now_utc();

    let last = h
        .last_activation(p.id, &role_target())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(last.activated_at, times[2]);
    // The schedule it names is pat's activation (ended by now).
    let schedule = {
        let mut tx = t.app.store.read().await.unwrap();
        tx.get_role_schedule(last.schedule_id)
            .await
            .unwrap()
            .unwrap()
    };
    assert_eq!(schedule.principal_id, p.id);
    assert_eq!(schedule.target(), role_target());
    assert_eq!(
        schedule.assignment_type,
        eligo_core::schedule::AssignmentType::Activated
    );
    let group_last = h.last_activation(p.id, &member).await.unwrap().unwrap();
    assert_eq!(group_last.activated_at, member_at);
    assert_eq!(
        h.last_activation(
            p.id,
            &Target::Group {
                group,
                access: GroupAccess::Owner
            }
        )
        .await
        .unwrap(),
        None
    );

    // Counts over [from, to): the start included, the end not.
    let role = role_target();
    let count = |from, to| h.activations_between(p.id, &role, from, to);
    assert_eq!(count(start, member_at).await.unwrap(), 3);
    assert_eq!(count(times[0], times[2]).await.unwrap(), 2);
    assert_eq!(
        count(times[0], times[2] + TimeDelta::microseconds(1))
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        count(times[0] + TimeDelta::microseconds(1), times[2])
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        h.activations_between(p.id, &member, start, member_at + TimeDelta::seconds(1))
            .await
            .unwrap(),
        1
    );

    let all = h.all_last_activations().await.unwrap();
    assert_eq!(all.len(), 2, "{all:?}");
    assert_eq!(all[&(p.id, role_target())].count, 3);
    assert_eq!(all[&(p.id, role_target())].activated_at, times[2]);
    assert_eq!(all[&(p.id, member.clone())].activated_at, member_at);
}

#[tokio::test]
async fn an_activation_that_needed_approval_is_recorded_at_the_approval() {
    let t = TestApp::new().await;
    let approver = t.person("appr").await;
    t.set_rule(
        ROLE,
        "Approval_EndUser_Assignment",
        json!({ "setting": { "isApprovalRequired": true, "approvalStages": [
            { "primaryApprovers": [{ "@odata.type": "#microsoft.graph.singleUser", "userId": approver.id }] }
        ] } }),
    )
    .await;
    let p = t.person("req").await;
    t.make_eligible(p.id, ROLE).await;
    t.step_up(&p).await;
    let (status, body) = t.activate(&p, ROLE, "PT1H", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["status"], "PendingApproval");
    let h = history::for_system(&t.app);
    // Waiting is not an activation.
    assert_eq!(h.last_activation(p.id, &role_target()).await.unwrap(), None);

    t.clock.advance(TimeDelta::minutes(20));
    t.step_up(&approver).await;
    let url = format!(
        "/v1/roleManagement/directory/roleAssignmentApprovals/{}",
        body["approvalId"].as_str().unwrap()
    );
    let (status, approval) = t.get(&url, &approver.token).await;
    assert_eq!(status, StatusCode::OK, "{approval}");
    let step = approval["steps"][0]["id"].as_str().unwrap();
    let (status, answer) = t
        .patch(
            &format!("{url}/steps/{step}"),
            &approver.token,
            json!({ "reviewResult": "Approve", "justification": "reviewed" }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{answer}");
    let approved_at = t.clock.now_utc();
    let last = h
        .last_activation(p.id, &role_target())
        .await
        .unwrap()
        .expect("recorded at the approval");
    assert_eq!(last.activated_at, approved_at);
    assert_eq!(
        h.activations_between(
            p.id,
            &role_target(),
            approved_at - TimeDelta::days(1),
            approved_at + TimeDelta::seconds(1)
        )
        .await
        .unwrap(),
        1
    );
}

#[tokio::test]
async fn sign_in_activity_is_read_only_by_those_who_may_read_the_audit_log() {
    let t = TestApp::new().await;
    let ada = t.user("ada").await;
    t.password_sign_in("ada").await;
    let signed_in = t.clock.now_utc();
    t.user("bob").await;

    // A helpdesk administrator reads users, but not their sign-ins.
    let (_, helpdesk) = t.admin("helpdesk", ids::HELPDESK_ADMINISTRATOR).await;
    let (status, body) = t.get("/v1/users?$select=displayName", &helpdesk).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["value"][0].get("signInActivity").is_none(), "{body}");
    for path in [
        "/v1/users?$select=displayName,signInActivity".to_string(),
        format!("/v1/users/{ada}?$select=signInActivity"),
    ] {
        let (status, body) = t.get(&path, &helpdesk).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
        assert_eq!(code(&body), "Authorization_RequestDenied", "{body}");
    }
    // Not even one's own.
    let ada_token = t.password_sign_in("ada").await;
    let signed_in_again = t.clock.now_utc();
    let (status, _) = t
        .get(
            &format!("/v1/users/{ada}?$select=signInActivity"),
            &ada_token,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        t.get(&format!("/v1/users/{ada}"), &ada_token).await.0,
        StatusCode::OK
    );

    // A security reader may; the list answers each user's, null when never.
    let (_, reader) = t.admin("reader", ids::SECURITY_READER).await;
    let (status, body) = t
        .get("/v1/users?$select=displayName,signInActivity", &reader)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let by_name = |name: &str| {
        body["value"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["displayName"] == name)
            .unwrap_or_else(|| panic!("{name} in {body}"))["signInActivity"]
            .clone()
    };
    assert!(signed_in <= signed_in_again);
    assert_eq!(
        by_name("ada"),
        json!({ "lastSignInDateTime": signed_in_again, "lastNonInteractiveSignInDateTime": null })
    );
    assert_eq!(
        by_name("bob"),
        json!({ "lastSignInDateTime": null, "lastNonInteractiveSignInDateTime": null })
    );
    let (status, body) = t
        .get(&format!("/v1/users/{ada}?$select=signInActivity"), &reader)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["signInActivity"]["lastSignInDateTime"],
        json!(signed_in_again)
    );
}

#[tokio::test]
async fn a_portal_sign_in_is_recorded_and_a_wrong_password_there_is_not() {
    let t = TestApp::new().await;
    let zed = t.user("zed").await;
    let mut b = crate::portal::browser::Browser::new(&t);
    let page = b
        .sign_in("zed@contoso.example", "not the password", None)
        .await;
    assert_ne!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(
        sign_in_activity(&t, zed).await["lastSignInDateTime"],
        Value::Null
    );
    t.clock.advance(TimeDelta::minutes(7));
    let page = b.sign_in("zed@contoso.example", PASSWORD, None).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(
        sign_in_activity(&t, zed).await["lastSignInDateTime"],
        json!(t.clock.now_utc())
    );
}

#[tokio::test]
async fn a_group_membership_approved_later_is_recorded_at_the_approval() {
    let t = TestApp::new().await;
    let approver = t.person("appr").await;
    let group = new_group(&t, "Payroll admins", false).await;
    let policy = format!("Group_{group}_member");
    let (status, answer) = t
        .patch(
            &format!(
                "/v1/policies/roleManagementPolicies/{policy}/rules/Approval_EndUser_Assignment"
            ),
            BOOTSTRAP,
            json!({ "setting": { "isApprovalRequired": true, "approvalStages": [
                { "primaryApprovers": [{ "@odata.type": "#microsoft.graph.singleUser", "userId": approver.id }] }
            ] } }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let p = t.person("req").await;
    let (status, body) = t
        .post(
            "/v1/identityGovernance/privilegedAccess/group/eligibilityScheduleRequests",
            BOOTSTRAP,
            json!({ "action": "adminAssign", "principalId": p.id, "groupId": group,
                    "accessId": "member", "justification": "payroll run",
                    "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "P30D" } } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    t.step_up(&p).await;
    let (status, body) = t
        .post(
            "/v1/identityGovernance/privilegedAccess/group/assignmentScheduleRequests",
            &p.token,
            json!({ "action": "selfActivate", "principalId": p.id, "groupId": group,
                    "accessId": "member", "justification": "payroll run",
                    "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "PT2H" } } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["status"], "PendingApproval", "{body}");
    let member = Target::Group {
        group,
        access: GroupAccess::Member,
    };
    let h = history::for_system(&t.app);
    assert_eq!(h.last_activation(p.id, &member).await.unwrap(), None);

    t.clock.advance(TimeDelta::minutes(45));
    t.step_up(&approver).await;
    let url = format!(
        "/v1/identityGovernance/privilegedAccess/group/assignmentApprovals/{}",
        body["approvalId"].as_str().unwrap()
    );
    let (status, approval) = t.get(&url, &approver.token).await;
    assert_eq!(status, StatusCode::OK, "{approval}");
    let step = approval["steps"][0]["id"].as_str().unwrap();
    let (status, answer) = t
        .patch(
            &format!("{url}/steps/{step}"),
            &approver.token,
            json!({ "reviewResult": "Approve", "justification": "reviewed" }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{answer}");
    let last = h
        .last_activation(p.id, &member)
        .await
        .unwrap()
        .expect("recorded at the approval");
    assert_eq!(last.activated_at, t.clock.now_utc());
}
